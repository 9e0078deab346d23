#!/usr/bin/python3
"""Plots a `soak_bench.py --keep DIR` run: each process's resident memory and open fds
over the run (a line per process life; the server and device restarts marked), and the
capture -> result latency p99 (and p50) per window.
Usage: plot_soak_bench.py DIR OUT.png"""
import csv
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def samples(folder):
    """process -> (kind, [(minutes, rss MB, fds)])."""
    out = {}
    with open(os.path.join(folder, "samples.csv")) as f:
        for r in csv.DictReader(f):
            out.setdefault(r["process"], (r["kind"], []))[1].append(
                (float(r["t_s"]) / 60, float(r["rss_mb"]), int(r["fds"])))
    if not out:
        sys.exit("plot-soak-bench: no samples in %s" % folder)
    return out


def windows(folder):
    path = os.path.join(folder, "windows.csv")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [(float(r["start_min"]), float(r["end_min"]), float(r["p50_ms"]), float(r["p99_ms"]))
                for r in csv.DictReader(f) if int(r["results"]) > 0]


def restarts(folder):
    """(minutes, what) for the bench's stops of a running process (not the end)."""
    path = os.path.join(folder, "soak.json")
    if not os.path.exists(path):
        return [], None
    with open(path) as f:
        soak = json.load(f)
    marks = [(a["t_s"] / 60, "%s restarted" % a.get("process", "?")) for a in soak["actions"]
             if a["action"] in ("server stopped", "device stopped")]
    return marks, soak


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    folder, out = sys.argv[1], sys.argv[2]
    lives = samples(folder)
    marks, soak = restarts(folder)
    fig, axes = plt.subplots(3, 1, figsize=(9, 9), sharex=True)
    servers = [p for p, (kind, _) in lives.items() if kind == "server"]
    devices = [p for p, (kind, _) in lives.items() if kind == "device"]
    server_colour = {p: c for p, c in zip(servers, ("black", "dimgray", "gray", "silver"))}
    cmap = plt.get_cmap("tab10")
    device_colour = {p: cmap(i % 10) for i, p in enumerate(devices)}
    for p, (kind, rows) in lives.items():
        colour = server_colour.get(p) or device_colour.get(p)
        style = "-" if kind == "server" else "--" if "-" in p else "-"
        t = [r[0] for r in rows]
        axes[0].plot(t, [r[1] for r in rows], style, color=colour, marker=".", label=p)
        axes[1].plot(t, [r[2] for r in rows], style, color=colour, marker=".", label=p)
    for start, end, p50, p99 in windows(folder):
        axes[2].plot([start, end], [p99, p99], color="tab:red", lw=2)
        axes[2].plot([start, end], [p50, p50], color="tab:blue", lw=2)
    axes[2].plot([], [], color="tab:red", lw=2, label="p99")
    axes[2].plot([], [], color="tab:blue", lw=2, label="p50")
    for ax in axes:
        for t, what in marks:
            ax.axvline(t, color="tab:orange", ls=":", lw=1.2)
        ax.grid(alpha=0.3)
    for t, what in marks:
        axes[0].annotate(what, (t, 1.0), xycoords=("data", "axes fraction"), xytext=(3, -12),
                         textcoords="offset points", fontsize=8, color="tab:orange")
    axes[0].set_ylabel("RSS (MB)")
    axes[1].set_ylabel("open fds")
    axes[2].set_ylabel("capture -> result\nlatency (ms)")
    axes[2].set_xlabel("minutes since the start")
    axes[0].legend(fontsize=7, ncol=4, loc="center right")
    axes[2].legend(fontsize=8, loc="upper right")
    title = "soak-bench"
    if soak:
        a = soak["args"]
        title += ": %d cameras, %g %% loss, 0-%g ms jitter, %g min; unaccounted %d" % (
            a["cameras"], a["loss"], a["jitter_ms"], a["minutes"], soak["unaccounted"])
    axes[0].set_title(title)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print("plot-soak-bench: wrote %s" % out)


if __name__ == "__main__":
    main()
