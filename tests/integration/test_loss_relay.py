#!/usr/bin/python3
"""The per-stream ledger is exact across a lossy, corrupting link.

A UDP relay on loopback sits between a device (pipelines/device, the rtcoinfersink bin,
policy mpc) and the server (pipelines/server, the rtcoinfersrc bin). It forwards RTCP
both ways untouched, and of the device's RTP it drops the first packets (the first
one carries the stream's caps, so the frames until the caps come again cannot be
depayloaded), every packet after 9 s (the stream's last second), 10 % of the packets in
between, and flips one byte in 5 % of them. The server's count of the stream must then
be exact: results + drops + missing = the frames the device numbered (its RTCP report)
= the device's own count, missing = skipped + lost, no frame answered twice, and the
relay's damage shows as loss and as malformed or unreadable frames, not as restarts.
Usage: test_loss_relay.py PORT"""
import json
import random
import sys
import time

from harness import check, fail, start_device, start_server, summary
from relay import Relay

port = int(sys.argv[1])  # the server; the relay listens on port + 10 and + 11
relay_port = port + 10
FRAMES, FIRST_DROPPED, LAST_AFTER_S = 300, 8, 9.0
rng = random.Random(14)
counts = {"rtp": 0, "dropped": 0, "corrupted": 0}
first_at = [None]


def damage(data):
    counts["rtp"] += 1
    first_at[0] = first_at[0] or time.time()
    late = time.time() - first_at[0] > LAST_AFTER_S
    if counts["rtp"] <= FIRST_DROPPED or late or rng.random() < 0.10:
        counts["dropped"] += 1
        return []
    if rng.random() < 0.05 and len(data) > 13:
        b = bytearray(data)
        b[rng.randrange(12, len(b))] ^= 1 << rng.randrange(8)  # anywhere after the RTP header
        data = bytes(b)
        counts["corrupted"] += 1
    return [(0, data)]


relay = Relay(port, relay_port, damage)
server = start_server(port, "--idle-exit", "3", "--print-results")
device = start_device(relay_port, "--policy", "mpc", "--frames", str(FRAMES), "--framerate", "30/1")
dev, _ = summary(device, "device", timeout=120)
srv_out = server.communicate(timeout=60)[0]
relay.close()
counts.update(rtcp_down=relay.counts["rtcp_down"])
lines = [json.loads(line) for line in srv_out.splitlines() if line.startswith("{")]
srv = [x for x in lines if x.get("role") == "server" and "streams" in x]
if not srv:
    fail("no server summary")
srv = srv[-1]
print("relay:", counts)
check(dev["ok"] and srv["ok"], "device and server ended cleanly")
check(counts["dropped"] > FIRST_DROPPED and counts["corrupted"] > 0 and counts["rtcp_down"] > 0,
      "the relay dropped %d packets, corrupted %d, and carried RTCP both ways" % (counts["dropped"],
                                                                               counts["corrupted"]))
check(len(srv["streams"]) == 1, "one stream")
(st,) = srv["streams"].values()
print("stream:", json.dumps(st))
numbered, skips = dev["rate"]["frames"], dev["rate"]["skips"]
check(numbered == FRAMES, "the device numbered its %d frames" % FRAMES)
check(st["device-frames"] == numbered and st["skipped"] == skips,
      "the server has the device's count: %d frames, %d skipped" % (st["device-frames"], st["skipped"]))
check(st["results"] + st["dropped"] + st["missing"] == numbered,
      "exact: %d results + %d dropped + %d missing = %d frames" % (st["results"], st["dropped"], st["missing"],
                                                                  numbered))
check(st["skipped"] + st["lost"] == st["missing"] and st["lost"] > 0, "missing = %d skipped + %d lost"
      % (st["skipped"], st["lost"]))
check(st["restarts"] == 0, "the damage caused no restart")
results = [x for x in lines if "latency_ms" in x]
check(len(results) == st["results"] and len({r["seq"] for r in results}) == len(results),
      "each result once (%d)" % len(results))
check(results[0]["seq"] > 0 and results[-1]["seq"] < FRAMES - 1,
      "the first and the last frames were lost on the link (results span %d..%d), and counted"
      % (results[0]["seq"], results[-1]["seq"]))
check(st["drops"]["malformed"] + st["unreadable"] > 0,
      "corrupted frames arrived as malformed (%d) or unreadable (%d)" % (st["drops"]["malformed"], st["unreadable"]))
