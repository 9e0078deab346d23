#!/usr/bin/python3
"""Loopback pipeline benchmark: the real device and server processes over RTP.
(1) capture->result latency p50/p99 at 30 fps; (2) the highest frame rate the two
processes sustain (frames offered at 1000 fps, camera-paced; results per second of
wall time). Prints one line per figure and a final `loopback-bench:` line.
Usage: loopback_bench.py MODEL [SETUP]"""
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PIPELINES = os.path.join(HERE, "..", "..", "pipelines")
model = sys.argv[1]
setup = sys.argv[2] if len(sys.argv) > 2 else "32x8"


def run(frames, fps, port):
    """Returns the tail's stats, the device's summary, and the result rate (results per
    second between the first and the last result the server printed)."""
    # the server's queue may hold every frame: this measures what the pair sustains, not
    # what the server sheds (busy) when it cannot keep up
    server = subprocess.Popen([os.path.join(PIPELINES, "server"), "--model", model, "--port", str(port),
                               "--idle-exit", "2", "--print-results", "--max-queue", str(frames)],
                              stdout=subprocess.PIPE, text=True)
    server.stdout.readline()
    device = subprocess.Popen([os.path.join(PIPELINES, "device"), "--model", model, "--port", str(port),
                               "--frames", str(frames), "--framerate", "%d/1" % fps, "--setup", setup],
                              stdout=subprocess.PIPE, text=True)
    arrivals, latencies, tail = [], [], None
    for line in server.stdout:
        r = json.loads(line)
        if "latency_ms" in r:
            arrivals.append(time.time())
            latencies.append((r["seq"], r["latency_ms"]))
        elif "tail" in r:
            tail = r["tail"]
    # the first second is warm-up (LibTorch's first forward passes, the jitterbuffer)
    steady = sorted(l for seq, l in latencies if seq >= 30)
    tail["steady-p50-ms"] = steady[len(steady) // 2] if steady else 0
    tail["steady-p99-ms"] = steady[int(0.99 * (len(steady) - 1))] if steady else 0
    server.wait()
    summary = json.loads(device.communicate()[0].strip().splitlines()[-1])
    rate = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0]) if len(arrivals) > 1 else 0.0
    return tail, summary, rate


tail, device, _ = run(900, 30, 6100)
print("30 fps, %d frames at %s: latency p50 %.1f ms, p99 %.1f ms after the first second (all frames: p50 %.1f, "
      "p99 %.1f); results %d, dropped %d, missing %d"
      % (900, setup, tail["steady-p50-ms"], tail["steady-p99-ms"], tail["latency-p50-ms"], tail["latency-p99-ms"],
         tail["results"], tail["dropped"], tail["missing"]))
tail2, device2, fps = run(3000, 1000, 6110)
print("offered 1000 fps, %d frames: %.0f results/s (device head %.2f ms/frame); results %d, dropped %d, missing %d"
      % (3000, fps, device2["head"]["mean-head-ms"], tail2["results"], tail2["dropped"], tail2["missing"]))
print("loopback-bench: latency_p50_ms=%.1f latency_p99_ms=%.1f max_fps=%.0f"
      % (tail["steady-p50-ms"], tail["steady-p99-ms"], fps))
