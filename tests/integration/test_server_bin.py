#!/usr/bin/python3
"""rtcoinfersrc, the server bin, on loopback: three devices (rtcoinfersink, each with its
own RTCP port) stream to one server on one port at once. Each gets TWCC feedback of its
own (its mpcrate sees feedback), each stream gets its own results (tagged with its
SSRC), a device killed with SIGKILL costs the others no frame, and garbage sent to the
server's ports (random bytes, RTP headers of a new SSRC with junk payloads, and packets
that reuse the live streams' SSRCs from another address, as a replay would) changes
nothing for them.
Usage: test_server_bin.py PORT"""
import collections
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time

from harness import MODEL, check, fail, start_device, summary, wait_until

port = int(sys.argv[1])
tmp = tempfile.mkdtemp()
results = os.path.join(tmp, "results.jsonl")
server = subprocess.Popen(["gst-launch-1.0", "-e", "rtcoinfersrc", "name=server", "model=" + MODEL,
                           "address=127.0.0.1", "port=%d" % port, "idle-timeout=3", "!", "filesink",
                           "buffer-mode=unbuffered", "location=" + results], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
time.sleep(1.0)
if server.poll() is not None:
    fail("server did not start: " + server.stderr.read())

frames = {"a": 240, "b": 180}
devices = {name: start_device(port, "--frames", str(n), "--policy", "mpc")
           for name, n in frames.items()}
victim = start_device(port, "--frames", "900", "--policy", "mpc")

# garbage while they stream: random datagrams to both ports, and RTP of a new SSRC
junk = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
rng = random.Random(7)
time.sleep(1.5)
for i in range(300):
    junk.sendto(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400))), ("127.0.0.1", port + i % 2))
    header = bytes([0x80, 96, i >> 8 & 0xff, i & 0xff, 0, 0, 0, i & 0xff, 0xde, 0xad, 0xbe, 0xef])
    junk.sendto(header + bytes(rng.randrange(256) for _ in range(100)), ("127.0.0.1", port))


def streams_so_far():
    with open(results) as f:
        return {json.loads(line).get("stream") for line in f if line.endswith("\n")}


# kill the third device only once it has a stream of its own (it may start last)
wait_until(lambda: len(streams_so_far()) >= 3, 60, "all three devices' results")
victim.send_signal(signal.SIGKILL)

# a replay aimed at every live stream: its SSRC, plausible sequence numbers, from another
# address (the server must keep each SSRC to the address it first came from)
for ssrc in [int(x) for x in streams_so_far() if x]:
    for i in range(200):
        header = bytes([0x80, 96]) + (i * 7 & 0xffff).to_bytes(2, "big") + (i * 3000).to_bytes(4, "big")
        junk.sendto(header + ssrc.to_bytes(4, "big") + bytes(rng.randrange(256) for _ in range(120)),
                    ("127.0.0.1", port))
# (not RTCP with their SSRCs: on loopback the spoofer is on the device's host, and RTCP
# is pinned to the host of the SSRC's RTP and to the first port it came from; a spoof
# from that host before the device's first RTCP would take its feedback. SRTCP is the
# cure, issue 18.)
victim.wait()

sums = {name: summary(p, "device", timeout=120)[0] for name, p in devices.items()}
try:
    out, err = server.communicate(timeout=60)
except subprocess.TimeoutExpired:
    server.kill()
    out, err = server.communicate()
    fail("the server did not end after its idle timeout:\n" + err[-2000:])
check(server.returncode == 0 and "ERROR" not in out + err,
      "the server ran to its idle timeout without an error (rc %s)%s" % (server.returncode, err[-1500:]))

rows = [json.loads(line) for line in open(results)]
by_stream = collections.defaultdict(list)
for r in rows:
    by_stream[r.get("stream")].append(r)
check(None not in by_stream, "every result names its stream")
for name, s in sums.items():
    check(s["ok"], "device %s ended cleanly" % name)
    fb = s["rate"]["feedback"]
    check(fb > 50, "device %s got TWCC feedback of its own (%d reports)" % (name, fb))
# the two finished devices: a stream each with exactly their frames, in order, no gap
sizes = sorted(len(v) for v in by_stream.values())
for name, n in frames.items():
    sent = n - sums[name]["rate"]["skips"]
    match = [k for k, v in by_stream.items() if len(v) == sent]
    check(match, "device %s: a stream with all its %d sent frames (streams have %s results)" % (name, sent, sizes))
    seqs = [r["seq"] for r in by_stream[match[0]]]
    check(all(a < b for a, b in zip(seqs, seqs[1:])) and seqs[-1] - seqs[0] < n,
          "device %s: its results are its own frames, in order" % name)
    check(all(r["setup"] != "" for r in by_stream[match[0]]), "device %s: results carry their setups" % name)
check(len(by_stream) >= 3, "the killed device had a stream of its own too (%d streams)" % len(by_stream))
print("ok: %d streams, results per stream %s" % (len(by_stream), sizes))
