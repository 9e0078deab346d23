#!/usr/bin/python3
"""rtcoinfer-tracesim as a user runs it: a folder of traces in the ../shared/traces
format, every policy, the output files and the plots; then the errors a user can make.
Usage: test_tracesim.py TRACESIM PLOT_SCRIPT MODEL TRAIN_BINARY"""
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "integration"))
from harness import check, write_synthetic_traces  # noqa: E402

tracesim, plot, model, train = sys.argv[1:5]


def run(*args):
    return subprocess.run([tracesim, "--model", model, *args], capture_output=True, text=True, timeout=600)


tmp = tempfile.mkdtemp()
traces = os.path.join(tmp, "traces", "set")
write_synthetic_traces(traces)

out = os.path.join(tmp, "out")
r = run("--traces", os.path.join(tmp, "traces"), "--scale", "1", "--out", out, "--frames", "step", "-j", "2")
check(r.returncode == 0, "tracesim runs over a folder (rc %d: %s)" % (r.returncode, r.stderr[-500:]))
check("traces=2 " in r.stdout, "both traces found, recursively")
rows = list(csv.DictReader(open(os.path.join(out, "summary.csv"))))
names = [x["policy"] for x in rows]
check(len(rows) == 52 and "mpc" in names and "rate" in names and "fixed:32x8" in names and "fixed:1x1" in names,
      "summary.csv has mpc, rate and all 50 fixed setups (%d rows)" % len(rows))
eff = {x["policy"]: float(x["effective_accuracy"]) for x in rows}
check(all(0 <= v <= 100 for v in eff.values()), "effective accuracies are percentages")
check(eff["mpc"] > eff["rate"], "mpc %.2f beats rate %.2f on these links" % (eff["mpc"], eff["rate"]))
check(eff["mpc"] > eff["fixed:32x8"] and eff["mpc"] > eff["fixed:1x1"],
      "mpc beats the largest and the smallest fixed setup")
per = list(csv.DictReader(open(os.path.join(out, "per-trace.csv"))))
check(len(per) == 2 * 52, "per-trace.csv: one row per trace and policy")
frames = list(csv.DictReader(open(os.path.join(out, "frames-step.csv"))))
check(len(frames) == 52 * 900, "frames-step.csv: 900 frames (30 s at 30 fps) per policy (%d rows)" % len(frames))
check(open(os.path.join(out, "summary.md")).read().startswith("| policy |"), "summary.md is a Markdown table")

again = run("--traces", os.path.join(tmp, "traces"), "--scale", "1", "-j", "1")
check(again.returncode == 0 and again.stdout == r.stdout, "deterministic: the same table with 1 job as with 2")

p = subprocess.run([plot, out, os.path.join(tmp, "plot")], capture_output=True, text=True, timeout=300)
check(p.returncode == 0, "plot-tracesim runs (%s)" % p.stderr[-300:])
for png in ("plot-policies.png", "plot-step.png"):
    path = os.path.join(tmp, png)
    check(os.path.exists(path) and open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n", "%s is a PNG" % png)

# the baselines beside mpc: the oracle, local-only, image offload (bytes and accuracy
# measured on 500 test images)
b = run("--traces", os.path.join(tmp, "traces"), "--scale", "1", "--out", os.path.join(tmp, "base"),
        "--frames", "wave", "--test-limit", "500",
        "--policies", "mpc,oracle,local,offload:png,offload:jpeg:50,fixed:1x1,clio:4")
check(b.returncode == 0, "tracesim runs the baselines (rc %d: %s)" % (b.returncode, b.stderr[-500:]))
check("baselines images=500 " in b.stdout, "the baselines are measured on the 500 images asked for")
beff = {x["policy"]: x for x in csv.DictReader(open(os.path.join(tmp, "base", "summary.csv")))}
check(sorted(beff) == sorted(["mpc", "oracle", "local", "offload:png", "offload:jpeg:50", "fixed:1x1", "clio:4"]),
      "summary.csv has one row per baseline")
check(float(beff["oracle"]["effective_accuracy"]) >= float(beff["mpc"]["effective_accuracy"]),
      "the oracle (%s) is at least mpc (%s)" % (beff["oracle"]["effective_accuracy"], beff["mpc"]["effective_accuracy"]))
check(float(beff["oracle"]["hit_rate"]) == 100 - float(beff["oracle"]["skipped_pct"]),
      "every frame the oracle sends is on time")
check(float(beff["local"]["bytes_per_frame"]) == 0, "local-only sends nothing")
check(float(beff["offload:png"]["bytes_per_frame"]) > 100, "a PNG frame has a real size (%s B)"
      % beff["offload:png"]["bytes_per_frame"])
wave = list(csv.DictReader(open(os.path.join(tmp, "base", "frames-wave.csv"))))
labels = {x["policy"]: x["setup"] for x in wave if x["setup"] != "skip"}
check(labels.get("offload:jpeg:50") == "jpeg:50" and labels.get("local") == "whole-model",
      "frames CSV names the baselines' frames (%s)" % labels)
clio = {x["setup"] for x in wave if x["policy"] == "clio:4" and x["setup"] != "skip"}
check(clio and all(x.endswith("x4") for x in clio), "clio:4 sends 4-bit channel slices (%s)" % sorted(clio))

# SPINN-style: an early exit trained on the bundle (a small budget: 3000 images, 2 epochs)
exit_dir = os.path.join(tmp, "exit")
t = subprocess.run([train, "exit", "--model", model, "--out", exit_dir, "--epochs", "2", "--train-limit", "3000", "--lr", "0.01",
                    "--test-limit", "500", "--setups", "1x2,2x4", "--threads", "1"],
                   capture_output=True, text=True, timeout=600)
check(t.returncode == 0 and "exit top1=" in t.stdout, "rtcoinfer-train exit runs (%s)" % t.stderr[-300:])
rows = list(csv.DictReader(open(os.path.join(exit_dir, "exit-test.csv"))))
check(len(rows) == 500 and "correct_2x4" in rows[0] and 0 <= float(rows[0]["exit_confidence"]) <= 1,
      "exit-test.csv: one row per test image with the exit's confidence and the setups' correctness")
sp = run("--traces", traces, "--scale", "1", "--exit", exit_dir, "--out", os.path.join(tmp, "spinn"),
         "--frames", "wave", "--policies", "spinn:0.5:2x4,spinn:1.0:2x4,fixed:2x4")
check(sp.returncode == 0 and "baseline=spinn:0.5:2x4 exits=" in sp.stdout,
      "tracesim runs spinn policies (%s)" % sp.stderr[-300:])
frames = list(csv.DictReader(open(os.path.join(tmp, "spinn", "frames-wave.csv"))))
exits = sum(1 for x in frames if x["policy"] == "spinn:0.5:2x4" and x["setup"] == "exit")
check(exits > 0, "frames answered by the exit are marked 'exit' (%d)" % exits)
strict = sum(1 for x in frames if x["policy"] == "spinn:1.0:2x4" and x["setup"] == "exit")
check(strict < exits, "a stricter threshold exits less (%d < %d)" % (strict, exits))
sb = {x["policy"]: x for x in csv.DictReader(open(os.path.join(tmp, "spinn", "summary.csv")))}
check(float(sb["spinn:0.5:2x4"]["bytes_per_frame"]) < float(sb["fixed:2x4"]["bytes_per_frame"]),
      "exits save bytes against the same fixed setup")
other = os.path.join(tmp, "exit-other")
shutil.copytree(exit_dir, other)
with open(os.path.join(other, "exit.json")) as f:
    info = f.read().replace(json.load(open(os.path.join(exit_dir, "exit.json")))["model_id"], "0" * 64)
with open(os.path.join(other, "exit.json"), "w") as f:
    f.write(info)

# errors name what is wrong, with exit status 1, never a crash
bad = os.path.join(tmp, "bad")
os.makedirs(bad)
with open(os.path.join(bad, "broken.txt"), "w") as f:
    f.write("0 1\n1 lots\n")
for args, words in [
    (["--traces", bad, "--scale", "1"], "broken.txt:2"),
    (["--traces", os.path.join(tmp, "nowhere"), "--scale", "1"], "no such trace"),
    (["--traces", traces, "--scale", "1", "--policies", "mpc,greedy"], "policy 'greedy': unknown policy"),
    (["--traces", traces, "--scale", "1", "--policies", "fixed:64x8"], "no setup 64x8"),
    (["--traces", traces, "--scale", "1", "--policies", "offload:gif"], "image codec must be png or jpeg"),
    (["--traces", traces, "--scale", "1", "--policies", "offload:jpeg:0"], "JPEG quality must be an integer 1..100"),
    (["--traces", traces, "--scale", "1", "--policies", "clio:3"], "no 3-bit setups"),
    (["--traces", traces, "--scale", "1", "--policies", "spinn:0.9:2x4"], "need --exit"),
    (["--traces", traces, "--scale", "1", "--policies", "spinn:1.5:2x4"], "exit threshold must be a number 0..1"),
    (["--traces", traces, "--scale", "1", "--policies", "spinn:0.9:4x4", "--exit", exit_dir], "no correct_4x4"),
    (["--traces", traces, "--scale", "1", "--policies", "spinn:0.9:2x4", "--exit", other], "another model"),
    (["--traces", traces, "--scale", "1", "--frames", "nosuch", "--out", out], "--frames nosuch"),
]:
    e = run(*args)
    check(e.returncode == 1 and words in e.stderr, "error for %s names '%s' (%s)" % (args[-1], words, e.stderr.strip()))
e = subprocess.run([tracesim, "--model", os.path.join(tmp, "traces", "set", "step.txt"), "--traces", traces,
                    "--scale", "1"], capture_output=True, text=True)
check(e.returncode == 1 and "rtcoinfer-tracesim:" in e.stderr, "a non-bundle model is refused: %s" % e.stderr.strip())
e = run("--traces", traces, "--scale", "-1")
check(e.returncode != 0 and e.returncode < 128, "a negative scale is refused")
