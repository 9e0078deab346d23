#!/usr/bin/python3
"""pipelines/device --frames N sends N frames even past the end of the dataset split
(the test split has 10 000 images; the source starts over), where it used to stop at
the split's end without a word. No server listens: the device's own counts tell.
A frame rate that is no rate (0/1, which made videotestsrc send one frame) is refused
with one line.
Usage: test_device_frames.py PORT"""
import sys

from harness import check, start_device, summary

port = int(sys.argv[1])
want = 10003
d, _ = summary(start_device(port, "--frames", str(want), "--live", "0", "--policy", "fixed:1x1"), "device",
               timeout=300)
check(d["head"]["frames"] == want, "the head ran %d frames of the %d asked" % (d["head"]["frames"], want))
check(d["returned"]["frames-numbered"] == want,
      "the device numbered %d frames of the %d asked" % (d["returned"]["frames-numbered"], want))

for rate in ("0/1", "-5/1", "30/0", "fast"):
    p = start_device(port, "--source", "videotestsrc", "--frames", "30", "--framerate=" + rate)
    out, err = p.communicate(timeout=60)
    check(p.returncode == 2 and "--framerate" in err and "positive fraction" in err,
          "--framerate %s: rc %s, %s" % (rate, p.returncode, err.strip()[-300:]))
