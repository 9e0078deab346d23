#!/usr/bin/python3
"""Process failures on loopback.
1. The server is killed (kill -9) mid-stream and restarted: the device keeps running,
   results resume at the new server, and the new server counts the device's frames from
   where the dead one last said it had counted (RCIA): device frames = frames the dead
   server took + the new server's count.
2. The server is stopped (SIGTERM) mid-stream and restarted: the old server hands the
   stream over, and the two servers' counts add up to the device's frames exactly, each
   exact on its own, and every result of both comes back to the device.
3. The device is killed mid-stream: the server stays up, reports the stall, and serves
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


def server_summary(lines):
    summ = [x for x in lines if x.get("role") == "server" and "tail" in x]
    check(summ, "the server printed its summary")
    return summ[0]


def only_stream(summ, who):
    check(len(summ["streams"]) == 1, "%s served one stream: %s" % (who, json.dumps(summ["streams"])))
    st = next(iter(summ["streams"].values()))
    check(st["results"] + st["dropped"] + st["missing"] == st["device-frames"] and st["device-frames"] > 0,
          "%s's ledger is exact on its own: %d results + %d dropped + %d missing = %d device frames"
          % (who, st["results"], st["dropped"], st["missing"], st["device-frames"]))
    return st


def restart(stop, frames):
    """A device (the rtcoinfersink bin) streams `frames` at 60 fps; its server gets `stop`
    after 30 results and a new one starts on the same port. Returns the old server's
    stream counts (None when it was killed), the new one's and the device's summary."""
    lines_a = []
    server_a = start_server(port, "--print-results")
    reader = collect(server_a, lines_a)
    device = start_device(port, "--frames", str(frames), "--framerate", "60/1", "--policy", "mpc")
    check(wait_for(lambda: len(results(lines_a)) >= 30, 60), "first server produces results")
    server_a.send_signal(stop)
    server_a.wait(timeout=30)
    reader.join(timeout=10)
    old = None
    if stop != signal.SIGKILL:
        old = only_stream(server_summary(lines_a), "the stopped server")
        check(old["handed-over"], "the stopped server handed the running stream over")
    time.sleep(0.5)
    check(device.poll() is None, "device keeps running after its server went")
    lines_b = []
    server_b = start_server(port, "--print-results", "--idle-exit", "3")
    reader = collect(server_b, lines_b)
    check(wait_for(lambda: len(results(lines_b)) >= 30, 30), "results resume at the restarted server")
    dev, _ = summary(device, "device")
    check(dev["ok"] and dev["rate"]["frames"] == frames, "device finished all %d frames" % frames)
    server_b.wait(timeout=60)
    reader.join(timeout=10)
    new = only_stream(server_summary(lines_b), "the restarted server")
    back = dev["returned"]
    check(back["server-changes"] == 1, "the device saw one change of server: %s" % json.dumps(back))
    check(back["counted-by-earlier-servers"] + new["device-frames"] == frames,
          "the device's %d frames: %d counted by the first server + %d by the restarted one"
          % (frames, back["counted-by-earlier-servers"], new["device-frames"]))
    return old, new, dev


# --- 1. server killed and restarted
_, new, dev = restart(signal.SIGKILL, 900)
check(new["missing"] >= 30, "the frames sent while no server ran are counted lost by the new one (%d)" % new["missing"])

# --- 2. server stopped and restarted: the old one hands the stream over
old, new, dev = restart(signal.SIGTERM, 600)
back = dev["returned"]
check(old["device-frames"] == back["counted-by-earlier-servers"] and old["device-frames"] + new["device-frames"] == 600,
      "the two servers counted %d + %d = 600 frames, each once" % (old["device-frames"], new["device-frames"]))
# the stopped server returns its last results with its handover; the device's own EOS
# waits for the new server's last ones until they stop coming (at most 2 s)
check(old["results"] + new["results"] - 3 <= back["results-received"] <= old["results"] + new["results"]
      and old["returned"] == old["results"],
      "the device received the results of both servers: %d of %d + %d (the stopped one returned all its %d)"
      % (back["results-received"], old["results"], new["results"], old["returned"]))

# --- 3. device killed; server stays up and reports the gap
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
