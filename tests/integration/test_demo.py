#!/usr/bin/python3
"""README's main job, pipelines/demo, shortened: two cameras into one server on loopback,
each behind its own in-process link. The demo must end with exit 0 and print, for each
camera, the server's account of its frames: results + drops + missing = frames coded,
exactly, with every camera a stream of its own; and the dashboard URL it prints must
answer while it runs.
Usage: test_demo.py PORT"""
import json
import os
import re
import subprocess
import sys

from harness import PIPELINES, check, fail, http_get

port = int(sys.argv[1])
http_port = port + 3000
demo = subprocess.Popen([os.path.join(PIPELINES, "demo"), "--frames", "150", "--port", str(port), "--http-port",
                         str(http_port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
out = []
streams_seen = 0
for line in demo.stdout:
    out.append(line)
    if line.startswith("t=") and not streams_seen:
        try:
            streams_seen = len(json.loads(http_get(http_port, "/api/streams")[2])["streams"])
        except OSError:
            pass
try:
    demo.wait(timeout=120)
except subprocess.TimeoutExpired:
    demo.kill()
    fail("the demo did not end:\n" + "".join(out)[-3000:])
text = "".join(out)
print(text[-2500:])
check(demo.returncode == 0, "the demo exits 0")
check(re.search(r"^dashboard: http://127\.0\.0\.1:%d/" % http_port, text, re.M) and streams_seen >= 1,
      "the dashboard URL is printed and its API answers while the demo runs")
accounts = re.findall(r"^camera (\d) \(stream ([^)]+)\): coded (\d+) frames.*\n  server: results=(\d+) dropped=(\d+) "
                      r"missing=(\d+) \(skipped by the controller (\d+), lost (\d+)\) -> accounted (\d+) of (\d+) coded",
                      text, re.M)
check(len(accounts) == 2 and {a[1] for a in accounts} == {"camera-1", "camera-2"},
      "two cameras, each a stream of its own, under the name it gave (stream-id)")
for cam, stream, coded, results, dropped, missing, skipped, lost, accounted, of in accounts:
    check(int(coded) == 150 and int(results) + int(dropped) + int(missing) == int(accounted) == int(of) == 150
          and int(skipped) + int(lost) == int(missing),
          "camera %s: every one of its 150 frames is accounted on the server (missing = skipped + lost)" % cam)
check(len(re.findall(r"^t=.*stream camera-\d ", text, re.M)) >= 2, "live lines for the cameras")
back = [int(n) for n in re.findall(r"^  results back at the camera: (\d+), capture -> received p50", text, re.M)]
check(len(back) == 2 and all(0 < n <= 150 for n in back), "each camera got its results back (%s)" % back)
