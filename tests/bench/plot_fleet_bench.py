#!/usr/bin/python3
"""Plots a `fleet_bench.py --rising --keep DIR` run: for each mode (auto, fixed30), the
server time the devices were told over the run (the median over the cameras running,
per second, from their rate logs) and how many cameras ran, and the frame bytes they
chose. Usage: plot_fleet_bench.py DIR OUT.png"""
import glob
import json
import os
import statistics
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def series(folder):
    """Per second since the first decision: (median reported server ms, cameras, median frame bytes)."""
    logs = sorted(glob.glob(os.path.join(folder, "rate*.jsonl")))
    if not logs:
        sys.exit("plot-fleet-bench: no rate logs in %s" % folder)
    rows = []
    for path in logs:
        with open(path) as f:
            rows += [(r["wall"], path, r.get("reported-server-ms", 0), r["frame-bytes"])
                     for r in map(json.loads, f) if "wall" in r]
    t0 = min(r[0] for r in rows)
    by_s = {}
    for wall, cam, server_ms, size in rows:
        by_s.setdefault(int(wall - t0), []).append((cam, server_ms, size))
    out = []
    for s in sorted(by_s):
        told = [v for _, v, _ in by_s[s] if v > 0]
        out.append((s, statistics.median(told) if told else float("nan"), len({c for c, _, _ in by_s[s]}),
                    statistics.median(b for _, _, b in by_s[s])))
    return out


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    run, out = sys.argv[1], sys.argv[2]
    modes = [("auto", "server-latency=auto"), ("fixed30", "server-latency=30")]
    fig, axes = plt.subplots(3, 1, figsize=(8, 7.5), sharex=True)
    for folder, label in modes:
        data = series(os.path.join(run, folder))
        t = [d[0] for d in data]
        axes[0].plot(t, [d[1] for d in data], label=label)
        axes[1].plot(t, [d[2] for d in data], label=label)
        axes[2].plot(t, [d[3] for d in data], label=label)
    axes[0].set_ylabel("server time told (ms)\nmedian over cameras")
    axes[1].set_ylabel("cameras running")
    axes[2].set_ylabel("frame bytes\n(median)")
    axes[2].set_xlabel("seconds since the first camera")
    for ax, where in zip(axes, ("upper left", "lower right", "lower left")):
        ax.grid(alpha=0.3)
        ax.legend(loc=where)
    axes[0].set_title("fleet-bench --rising: cameras join one server; what the devices were told")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print("plot-fleet-bench: wrote %s" % out)


if __name__ == "__main__":
    main()
