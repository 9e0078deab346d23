#!/usr/bin/python3
"""End to end over RTP on loopback, two processes: N Fashion-MNIST test frames at a
fixed setup. The tail's top-1 must equal `rtcoinfer-train eval` for that setup within
0.2 points, and every frame must be accounted for (results + drops + missing = sent).
With MIN_TOP1, eval's top-1 of the bundle at SETUP must also reach it (the shipped
model's acceptance: >= 92.0 % at the full setup 32x8, >= 80 % at the smallest, 1x1).
Usage: test_rtp_loopback.py TRAIN_BINARY SETUP FRAMES PORT [MIN_TOP1]"""
import json
import os
import re
import subprocess
import sys
import tempfile

from harness import MODEL, check, fail, start_device, start_server, summary

train, setup, frames, port = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
min_top1 = float(sys.argv[5]) if len(sys.argv) > 5 else None

# eval covers the whole test split, so the stream sends all of it, in order
if frames != 10000:
    fail("the comparison with eval needs all 10000 test frames")
tmp = tempfile.mkdtemp()
ev = subprocess.run([train, "eval", "--model", MODEL, "--setups", setup, "--plot", os.path.join(tmp, "eval.png"),
                     "--write-metadata", "false"],
                    capture_output=True, text=True)
m = re.search(r"setup=%s top1=([0-9.]+) bytes=([0-9.]+)" % re.escape(setup), ev.stdout)
if ev.returncode != 0 or not m:
    fail("rtcoinfer-train eval failed:\n%s\n%s" % (ev.stdout, ev.stderr))
eval_top1 = float(m.group(1))
if min_top1 is not None:
    check(eval_top1 >= min_top1, "eval top-1 at %s is %.2f %% (>= %.1f %%) on the 10000 test images"
          % (setup, eval_top1, min_top1))

results = os.path.join(tmp, "results.jsonl")
# the device sends faster than one tail answers (250 frames/s): the server's queue may
# hold every frame, as this test measures accuracy over the whole split, not shedding
server = start_server(port, "--idle-exit", "4", "--results", results, "--max-queue", str(frames))
device = start_device(port, "--frames", str(frames), "--framerate", "250/1", "--setup", setup)
dev, dev_err = summary(device, "device")
srv, srv_err = summary(server, "server")
check(dev["ok"], "device pipeline ended cleanly")
sent = dev["compress"]["frames"]
t = srv["tail"]
check(sent == frames, "device sent all %d frames (sent %d)" % (frames, sent))
accounted = t["results"] + t["dropped"] + t["missing"]
check(accounted == sent, "results %d + drops %d + missing %d = sent %d" % (t["results"], t["dropped"], t["missing"], sent))
rows = [json.loads(line) for line in open(results)]
check(len(rows) == t["results"], "one JSON line per result (%d)" % len(rows))
# top-1 over the delivered frames only means something when (nearly) all were delivered
check(len(rows) >= 0.99 * sent, "at least 99 %% of the sent frames gave results (%d of %d)" % (len(rows), sent))
top1 = 100.0 * sum(r["class"] == r["truth"] for r in rows) / len(rows)
print("tail top-1 %.2f %% over %d JSON results, eval %.2f %%" % (top1, len(rows), eval_top1))
check(abs(top1 - eval_top1) <= 0.2, "tail top-1 within 0.2 pt of eval at %s" % setup)
