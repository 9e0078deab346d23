#!/usr/bin/python3
"""Rate control over the real rtpbin pair with the in-process bottleneck: the link
steps down 4x (2 Mbit/s -> 0.5 Mbit/s) after 6 s. rtcoinfer-mpcrate must switch to a
smaller setup within 3 frame intervals of the first feedback that shows the drop, and
after the transition >= 99 % of frames must reach a result within 150 ms.
Usage: test_rate_step.py PORT"""
import json
import os
import sys
import tempfile

from harness import check, fail, start_device, start_server, summary

port = int(sys.argv[1])
tmp = tempfile.mkdtemp()
trace = os.path.join(tmp, "step.txt")
with open(trace, "w") as f:
    f.write("0 2.0\n6 0.5\n600 0.5\n")  # Mbit/s; stays low after the step
results, rates = os.path.join(tmp, "results.jsonl"), os.path.join(tmp, "rate.jsonl")
frames, fps = 450, 30

server = start_server(port, "--idle-exit", "4", "--results", results)
device = start_device(port, "--frames", str(frames), "--framerate", "%d/1" % fps, "--policy", "mpc",
                      "--deadline", "150", "--link-trace", trace, "--link-delay", "10", "--link-queue", "32768",
                      "--rate-log", rates)
dev, _ = summary(device, "device")
srv, _ = summary(server, "server")
check(dev["ok"], "device pipeline ended cleanly")
decisions = [json.loads(l) for l in open(rates)]
check(len(decisions) == frames, "one rtcoinfer-rate decision per frame (%d)" % len(decisions))
check(dev["rate"]["feedback"] > 50, "TWCC feedback reached mpcrate (%d events)" % dev["rate"]["feedback"])

# the first decision after the step whose newest rate sample shows the lower link
step_t = 6.0
shown = next((i for i, d in enumerate(decisions) if d["t"] > step_t and 0 < d["sample-bps"] < 1.0e6), None)
if shown is None:
    fail("no feedback after the step showed the lower rate")
# the setup mpcrate asks upstream for (a skip asks for the smallest)
before = decisions[shown - 1]["requested"]
bytes_before = decisions[shown - 1]["frame-bytes"]
switched = next((i for i in range(shown, len(decisions)) if decisions[i]["requested"] != before), None)
check(switched is not None and switched - shown <= 3,
      "switched from %s to %s within 3 frames of the feedback (frame %d, switch at %s)"
      % (before, decisions[switched]["requested"] if switched is not None else "-", shown, switched))

# after the transition (1 s after the switch): frames on time
rows = [json.loads(l) for l in open(results)]
after_seq = switched + fps
late = [r for r in rows if r["seq"] >= after_seq and r["latency_ms"] > 150]
expected = frames - after_seq
got = [r for r in rows if r["seq"] >= after_seq]
on_time = len(got) - len(late)
check(on_time >= 0.99 * expected,
      "%d of %d frames after the transition met 150 ms (%.2f %%)" % (on_time, expected, 100.0 * on_time / expected))
print("bytes per frame before %d, setups after: %s" % (bytes_before, sorted({d["requested"] for d in decisions[switched:]})))
