#!/usr/bin/python3
"""Jitter is no loss: a relay on loopback delays each of the device's RTP packets by a
uniform 0-60 ms of its own (so packets overtake each other), drops none, and carries
RTCP untouched. With the server's defaults, at least 97 % of the 300 frames (30 fps,
policy mpc, deadline 150 ms) must be answered within the deadline, and every frame is
accounted for. Measured: 294 of 300 (the first 5 frames are lost while the jitterbuffer
starts on a reordered first packet); with the old 20 ms jitterbuffer, 90 %, and without
the payload caps out of band, the first second of frames was lost too. Prints the
jitterbuffer's late and lost packets and the frames that did not come.
Usage: test_jitter.py PORT [extra server args...]"""
import json
import random
import sys

from harness import check, fail, start_device, start_server, summary
from relay import Relay

port = int(sys.argv[1])  # the server; the relay listens on port + 10 and + 11
FRAMES, DEADLINE_MS, JITTER_S = 300, 150, 0.060
rng = random.Random(21)
relay = Relay(port, port + 10, lambda data: [(rng.uniform(0, JITTER_S), data)])
server = start_server(port, "--idle-exit", "3", "--print-results", *sys.argv[2:])
device = start_device(port + 10, "--policy", "mpc", "--frames", str(FRAMES), "--framerate", "30/1",
                      "--deadline", str(DEADLINE_MS))
dev, _ = summary(device, "device", timeout=120)
srv_out = server.communicate(timeout=60)[0]
relay.close()
lines = [json.loads(line) for line in srv_out.splitlines() if line.startswith("{")]
srv = [x for x in lines if x.get("role") == "server" and "streams" in x]
if not srv:
    fail("no server summary")
(st,) = srv[-1]["streams"].values()
print("relay:", relay.counts)
print("stream:", json.dumps(st))
results = [x for x in lines if "latency_ms" in x]
on_time = sum(1 for r in results if r["latency_ms"] <= DEADLINE_MS)
seqs = sorted(r["seq"] for r in results)
print("missing seqs:", sorted(set(range(FRAMES)) - set(seqs)))
check(dev["ok"] and dev["rate"]["frames"] == FRAMES, "the device sent its %d frames" % FRAMES)
check(relay.counts["rtp_sent"] == relay.counts["rtp"], "the relay dropped nothing")
check(st["results"] + st["dropped"] + st["missing"] == FRAMES,
      "exact: %d results + %d dropped + %d missing = %d" % (st["results"], st["dropped"], st["missing"], FRAMES))
print("on time: %d of %d (%.1f %%), results %d, late packets %s, lost packets %s"
      % (on_time, FRAMES, 100.0 * on_time / FRAMES, len(results), st.get("late-packets"), st.get("lost-packets")))
check(on_time >= 0.97 * FRAMES, "%d of %d frames on time through 0-60 ms of jitter (at least 97 %%)"
      % (on_time, FRAMES))
