#!/usr/bin/python3
"""Rate control over the real rtpbin pair with the in-process bottleneck: the link
steps down 4x (0.6 Mbit/s -> 0.15 Mbit/s) after 6 s. rtcoinfer-mpcrate must switch to
a smaller setup within 3 frame intervals of the first feedback that shows the drop, and
after the transition (at least 2 s, see below) >= 99 % of frames must reach a result
within 150 ms.

The base rate is chosen so the shipped model's most accurate setup (32x4, ~1.8 kB a
frame with zstd, ~0.45 Mbit/s at 30 fps) fits before the step and not after it.
Usage: test_rate_step.py PORT"""
import json
import os
import sys
import tempfile

from harness import check, fail, start_device, start_server, summary

port = int(sys.argv[1])
BASE = 0.6e6  # bit/s before the step
tmp = tempfile.mkdtemp()
trace = os.path.join(tmp, "step.txt")
with open(trace, "w") as f:
    f.write("0 %g\n6 %g\n600 %g\n" % (BASE / 1e6, BASE / 4e6, BASE / 4e6))  # Mbit/s; stays low
results, rates = os.path.join(tmp, "results.jsonl"), os.path.join(tmp, "rate.jsonl")
frames, fps = 450, 30

server = start_server(port, "--idle-exit", "4", "--results", results)
# mpcrate's plans aim 30 ms below the deadline (its `margin`), for what the forecast
# gets wrong and what the controller does not model (CPU scheduling of the two
# processes on a loaded 2-core machine); it skips only frames predicted past 150 ms.
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
shown = next((i for i, d in enumerate(decisions) if d["t"] > step_t and 0 < d["sample-bps"] < BASE / 2), None)
if shown is None:
    fail("no feedback after the step showed the lower rate")
# the setup mpcrate asks upstream for (a skip asks for the smallest); the queue building
# up may show the drop before the first rate sample does, so the switch may come first
step_i = next(i for i, d in enumerate(decisions) if d["t"] > step_t)
before = decisions[step_i - 1]["requested"]
bytes_before = decisions[step_i - 1]["frame-bytes"]
# a switch *down*: fewer feature bits per frame (channels x bits) than the setup before the step
def feature_bits(setup):
    c, b = setup.split("x")
    return int(c) * int(b)


switched = next((i for i in range(step_i, len(decisions))
                 if feature_bits(decisions[i]["requested"]) < feature_bits(before)), None)
check(switched is not None and switched - shown <= 3,
      "switched down from %s to %s within 3 frames of the feedback (frame %d, switch at %s)"
      % (before, decisions[switched]["requested"] if switched is not None else "-", shown, switched))

# The transition ends when the controller has the new rate and the queue is empty again.
# The controller's view: the first sent frame, at or after the feedback that showed the
# drop, with nothing in flight. But that view drains the queue at the estimated rate,
# which right after the drop still mixes in samples from before it, so the bottleneck
# may hold frames for a while longer: those were queued before the drop could be seen,
# and at 0.15 Mbit/s a 32 kB queue takes up to 1.75 s to empty. So the transition is
# also at least 2 s long - the window the simulation's step test
# (test_simulation_mpc_follows_a_step) grants. From there on, frames must be on time (a
# skipped frame counts as a miss).
TRANSITION_S = 2.0
rows = [json.loads(l) for l in open(results)]
settled = next((i for i in range(shown, len(decisions))
                if not decisions[i]["skip"] and decisions[i]["in-flight-bytes"] == 0), None)
if settled is None:
    fail("the queue never drained after the step")
print("transition: step at frame %d, drop shown at %d, switch at %d, settled at %d (%.2f s after the step)"
      % (step_i, shown, switched, settled, decisions[settled]["t"] - step_t))
check(decisions[settled]["t"] - step_t <= 3.0, "settled within 3 s of the step")
after_seq = max(settled, next(i for i, d in enumerate(decisions) if d["t"] >= step_t + TRANSITION_S))
late = [r for r in rows if r["seq"] >= after_seq and r["latency_ms"] > 150]
expected = frames - after_seq
got = [r for r in rows if r["seq"] >= after_seq]
on_time = len(got) - len(late)
check(on_time >= 0.99 * expected,
      "%d of %d frames after the transition met 150 ms (%.2f %%)" % (on_time, expected, 100.0 * on_time / expected))
print("bytes per frame before %d, setups after: %s" % (bytes_before, sorted({d["requested"] for d in decisions[switched:]})))
