#!/usr/bin/python3
"""Process failures on loopback.
1. The server is killed mid-stream and restarted: the device keeps running and
   results resume at the new server.
2. The device is killed mid-stream: the server stays up, reports the stall, and serves
   the new device that connects as a stream of its own (a restarted device sends with a
   new SSRC), beside the first one's counts.
Usage: test_restart.py PORT"""
import json
import signal
import sys
import threading
import time

from harness import check, start_device, start_server, summary

port = int(sys.argv[1])


def collect(proc, sink):
    """Reads a server's stdout lines (results and events) into sink, in a thread."""
    def run():
        for line in proc.stdout:
            try:
                sink.append(json.loads(line))
            except ValueError:
                pass
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def results(lines):
    return [x for x in lines if "latency_ms" in x]


def wait_for(pred, timeout):
    end = time.time() + timeout
    while time.time() < end and not pred():
        time.sleep(0.1)
    return pred()


# --- 1. server killed and restarted
lines_a = []
server_a = start_server(port, "--print-results")
collect(server_a, lines_a)
device = start_device(port, "--frames", "900", "--framerate", "60/1")
check(wait_for(lambda: len(results(lines_a)) >= 30, 60), "first server produces results")
server_a.send_signal(signal.SIGKILL)
server_a.wait()
time.sleep(1.0)
check(device.poll() is None, "device keeps running after the server died")
lines_b = []
server_b = start_server(port, "--print-results", "--idle-exit", "3")
collect(server_b, lines_b)
check(wait_for(lambda: len(results(lines_b)) >= 30, 30), "results resume at the restarted server")
dev, _ = summary(device, "device")
check(dev["ok"] and dev["compress"]["frames"] == 900, "device finished all 900 frames")
server_b.wait(timeout=60)
summ = [x for x in lines_b if x.get("role") == "server" and "tail" in x]
check(summ and summ[0]["tail"]["results"] > 0, "restarted server summarized its results")

# --- 2. device killed; server stays up and reports the gap
lines_c = []
server_c = start_server(port, "--print-results", "--stall-report", "1.5")
collect(server_c, lines_c)
device1 = start_device(port, "--frames", "-1", "--framerate", "60/1")
check(wait_for(lambda: len(results(lines_c)) >= 30, 60), "server gets results from the first device")
device1.send_signal(signal.SIGKILL)
device1.wait()
check(wait_for(lambda: any(x.get("event") == "stalled" for x in lines_c), 10), "server reports the stall")
check(server_c.poll() is None, "server stays up after the device died")
before = len(results(lines_c))
device2 = start_device(port, "--frames", "120", "--framerate", "60/1")
check(wait_for(lambda: any(x.get("event") == "resumed" for x in lines_c), 30), "server reports the stream resumed")
summary(device2, "device")
check(wait_for(lambda: len(results(lines_c)) >= before + 60, 30), "results from the second device")
server_c.send_signal(signal.SIGTERM)
server_c.wait(timeout=30)
summ = [x for x in lines_c if x.get("role") == "server" and "tail" in x]
check(summ and len(summ[0]["streams"]) == 2, "the second device is a stream of its own")
# the first device was killed after 30 results at most a second in; the second sent 120 frames
second = max(summ[0]["streams"].values(), key=lambda s: s["frames"])
check(second["results"] + second["missing"] + second["dropped"] == 120 and second["restarts"] == 0,
      "the second device's 120 frames are all accounted in its own stream: %s" % json.dumps(summ[0]["streams"]))
