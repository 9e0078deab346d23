#!/usr/bin/python3
"""Device and server on different bundles: every frame is dropped by the tail as
wrong-model and counted, the server says why, and both processes keep running.
Usage: test_wrong_model.py TRAIN_BINARY PORT"""
import os
import shutil
import subprocess
import sys
import tempfile

from harness import MODEL, PIPELINES, check, fail, summary

train, port = sys.argv[1], int(sys.argv[2])
other = os.path.join(tempfile.mkdtemp(), "other.rcib")
shutil.copy(MODEL, other)
# Re-measuring one setup on 100 images rewrites the copy's metadata: same weights, new model id.
ev = subprocess.run([train, "eval", "--model", other, "--setups", "1x1", "--test-limit", "100",
                     "--plot", other + ".png", "--write-metadata", "true"], capture_output=True, text=True)
if ev.returncode != 0:
    fail("eval failed: " + ev.stderr)
check(open(other, "rb").read() != open(MODEL, "rb").read(), "the copy is a different bundle")

server = subprocess.Popen([os.path.join(PIPELINES, "server"), "--model", MODEL, "--port", str(port),
                           "--idle-exit", "3"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
server.stdout.readline()
device = subprocess.Popen([os.path.join(PIPELINES, "device"), "--model", other, "--port", str(port),
                           "--frames", "60", "--framerate", "60/1"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
dev, _ = summary(device, "device")
srv, srv_err = summary(server, "server")
t = srv["tail"]
check(dev["ok"] and srv["ok"], "both pipelines ended cleanly")
check(t["results"] == 0, "no results from another model's frames")
check(t["drops"]["wrong-model"] + t["missing"] == dev["compress"]["frames"],
      "all %d frames counted as wrong-model (%d) or missing (%d)"
      % (dev["compress"]["frames"], t["drops"]["wrong-model"], t["missing"]))
check("another model" in srv_err, "the server says the sender uses another model")
