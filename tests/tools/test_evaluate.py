#!/usr/bin/python3
"""tools/rtcoinfer-evaluate as a user runs it, on a small trace folder with a small exit:
every baseline in the report, the figures, the copy into a docs folder, and its errors.
Usage: test_evaluate.py EVALUATE TRACESIM TRAIN_BINARY MODEL"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "integration"))
from harness import check, write_synthetic_traces  # noqa: E402

evaluate, tracesim, train, model = sys.argv[1:5]
tmp = tempfile.mkdtemp()
traces = os.path.join(tmp, "traces")
write_synthetic_traces(traces)

exit_dir = os.path.join(tmp, "exit")
t = subprocess.run([train, "exit", "--model", model, "--out", exit_dir, "--epochs", "2", "--train-limit", "3000",
                    "--lr", "0.01", "--test-limit", "500", "--setups", "1x2,2x4,4x4", "--threads", "1"],
                   capture_output=True, text=True, timeout=600)
check(t.returncode == 0, "a small exit for the SPINN sweep (%s)" % t.stderr[-300:])

out, docs = os.path.join(tmp, "out"), os.path.join(tmp, "docs")
r = subprocess.run([evaluate, "--traces", traces, "--scales", "0.5,1", "--out", out, "--docs", docs,
                    "--tracesim", tracesim, "--train", train, "--model", model, "--exit", exit_dir,
                    "--test-limit", "300", "--frames-trace", "wave", "-j", "2"],
                   capture_output=True, text=True, timeout=900)
check(r.returncode == 0, "rtcoinfer-evaluate runs (rc %d: %s)" % (r.returncode, r.stderr[-500:]))
report = open(os.path.join(out, "report.md")).read()
for section in ("## Scale x0.5 (2 traces)", "## Scale x1 (2 traces)", "## Residual rate",
                "## Effective accuracy vs bandwidth scale"):
    check(section in report, "the report has '%s'" % section)
for row in ("| mpc |", "| rate |", "| oracle (trace known) |", "| best fixed setup: fixed:", "| CLIO-style (best bits): clio:",
            "| SPINN-style (best threshold, setup): spinn:", "| offload PNG |", "| offload JPEG", "| local-only |"):
    check(report.count(row) == 2, "both scales' tables have a row '%s'" % row)
check(report.count("| policy | effective accuracy % | on time % | bytes/frame | switches/min |") == 2,
      "both scales' tables give switches per minute")
check("| SPINN-style | 0.9:2x4 |" in report and "| RTCoInfer | 1x1 |" in report,
      "the residual-rate table lists SPINN-style and RTCoInfer points")
check("rtcoinfer-tracesim --traces" in report, "the report gives the commands it ran")
pngs = ["eval-accuracy-vs-scale.png", "eval-residual-rate.png", "eval-latency-x0.5.png", "eval-latency-x1.png",
        "eval-x0.5-policies.png", "eval-x1-wave.png"]
for png in pngs:
    path = os.path.join(docs, png)
    check(os.path.exists(path) and open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n", "docs/%s is a PNG" % png)
check(open(os.path.join(docs, "evaluation-results.md")).read() == report, "the report is copied to the docs folder")

for args, words in [
    (["--traces", os.path.join(tmp, "nowhere")], "no traces at"),
    (["--traces", traces, "--scales", "fast"], "--scales takes numbers"),
    (["--traces", traces, "--tracesim", os.path.join(tmp, "none")], "no " + os.path.join(tmp, "none")),
    (["--traces", traces, "--live", os.path.join(tmp, "nowhere.txt")], "no live trace"),
]:
    e = subprocess.run([evaluate, "--tracesim", tracesim, "--out", os.path.join(tmp, "e"), *args],
                       capture_output=True, text=True, timeout=120)
    check(e.returncode != 0 and words in e.stderr, "error for %s names '%s' (%s)" % (args[-1], words, e.stderr.strip()))
