#!/usr/bin/python3
"""Frames survive a lossy link: a loopback relay drops 10 % of the device's RTP packets at
random. The device (policy mpc, the default loss protection) sees the loss in its TWCC
feedback, prefers frames of fewer packets and sends each packet with a ULPFEC copy; the
server rebuilds lost packets from their copies. At least 80 % of the 300 frames (30 fps,
150 ms deadline) must be answered correctly and on time (measured 61 % before loss
protection, ~90 % with it), and every frame is accounted for.
Usage: test_loss_protection.py PORT"""
import json
import sys

from harness import check
from lossy_link import run

r = run(int(sys.argv[1]), 0.10)
st = r["stream"]
print("relay:", r["relay"])
print("stream:", json.dumps(st))
print("device controller:", json.dumps(r["rate"]))
print("10 %% loss: %d results, %d on time, %d correct and on time: %.1f %% effective; p50 %.1f ms, p99 %.1f ms"
      % (r["results"], r["on_time"], r["correct_on_time"], r["effective"], r["p50_ms"], r["p99_ms"]))
check(r["relay"]["rtp_sent"] < r["relay"]["rtp"] * 0.95, "the relay dropped packets (%d of %d sent)"
      % (r["relay"]["rtp_sent"], r["relay"]["rtp"]))
check(r["numbered"] == 300 and st["device-frames"] == 300, "the device numbered its 300 frames, the server knows")
check(st["results"] + st["dropped"] + st["missing"] == 300,
      "exact: %d results + %d dropped + %d missing = 300" % (st["results"], st["dropped"], st["missing"]))
check(r["rate"]["protected-frames"] > 0 and st["fec-recovered"] > 0,
      "the device protected %d frames and the server rebuilt %d packets"
      % (r["rate"]["protected-frames"], st["fec-recovered"]))
check(r["effective"] >= 80.0, "%.1f %% of frames correct and on time through 10 %% loss (at least 80 %%)"
      % r["effective"])
