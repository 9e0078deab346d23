#!/usr/bin/python3
"""docs/pipelines.md's one-liners run exactly as written.

Takes the ```sh block under "## One-liners": a line M=... and two gst-launch-1.0 lines,
the server's and a camera's. Each gst-launch line must be at most 120 characters. The
test runs the block's lines through bash, as a user pastes them, from a folder where
models/ exists: the server in the background, then the camera; while the camera runs,
the server's dashboard port lists its stream; both must exit 0 without an error, and
results.jsonl must hold the camera's frames, all of one stream.
Usage: test_doc_lines.py"""
import json
import os
import re
import subprocess
import tempfile
import time

from harness import REPO, check, fail, http_get

MAX_CHARS = 120
doc = open(os.path.join(REPO, "docs", "pipelines.md")).read()
m = re.search(r"^## One-liners\n.*?```sh\n(.*?)```", doc, re.S | re.M)
if not m:
    fail("docs/pipelines.md has no ```sh block under '## One-liners'")
lines = [line for line in m.group(1).splitlines() if line.strip()]
assignments = [line for line in lines if re.match(r"^[A-Z]+=\S+$", line)]
server_line, device_line = [line for line in lines if line.startswith("gst-launch-1.0")]
check(len(assignments) + 2 == len(lines), "the block is variables and two gst-launch-1.0 lines")
for name, line in (("server", server_line), ("device", device_line)):
    check(len(line) <= MAX_CHARS, "the %s line is %d characters (at most %d)" % (name, len(line), MAX_CHARS))
http_port = int(re.search(r"http-port=(\d+)", server_line).group(1))
frames = int(re.search(r"num-buffers=(\d+)", device_line).group(1))

work = tempfile.mkdtemp()
os.symlink(os.path.join(REPO, "models"), os.path.join(work, "models"))
prelude = "\n".join(assignments) + "\n"


def bash(line):
    return subprocess.Popen(["bash", "-c", prelude + line], cwd=work, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


server = bash(server_line)
end = time.time() + 60
while True:  # the dashboard port answers once the server is up
    try:
        if http_get(http_port, "/api/streams")[0] == 200:
            break
    except OSError:
        pass
    if server.poll() is not None or time.time() > end:
        fail("the server line did not start:\n" + server.communicate()[0][-3000:])
    time.sleep(0.2)
device = bash(device_line)
seen = []
end = time.time() + 120
while device.poll() is None and time.time() < end:
    try:
        seen = json.loads(http_get(http_port, "/api/streams")[2])["streams"] or seen
    except OSError:
        pass
    time.sleep(0.5)
try:
    device_out = device.communicate(timeout=60)[0]
    server_out = server.communicate(timeout=60)[0]
except subprocess.TimeoutExpired:
    device.kill()
    server.kill()
    fail("the one-liners did not end (the server ends 3 s after the camera's last packet)")
check(device.returncode == 0 and "ERROR" not in device_out, "the camera line ran to its end (rc %d)%s"
      % (device.returncode, "" if device.returncode == 0 else "\n" + device_out[-2000:]))
check(server.returncode == 0 and "ERROR" not in server_out, "the server line ended by itself (rc %d)%s"
      % (server.returncode, "" if server.returncode == 0 else "\n" + server_out[-2000:]))
check(len(seen) == 1 and seen[0]["results"] > 0, "while the camera ran, /api/streams listed its stream")
results = [json.loads(line) for line in open(os.path.join(work, "results.jsonl"))]
streams = {r["stream"] for r in results}
# the controller may skip a frame or two when the machine is busy; each one it sends is answered
check(0.9 * frames <= len(results) <= frames and streams == {seen[0]["stream"]},
      "results.jsonl holds the camera's frames (%d of %d), all of stream %s" % (len(results), frames, streams))
check(len({r["seq"] for r in results}) == len(results), "each frame answered once")
