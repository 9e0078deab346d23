#!/usr/bin/python3
"""Plots codec-bench output: encode and decode throughput per bit depth and channel
count (32x112x112 tensor), relative to memcpy measured in the same run.
Usage: plot_codec_bench.py codec-bench.txt out.png"""
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

rows = [l.split() for l in open(sys.argv[1]) if l.startswith("32x112x112") and "memcpy" not in l]
fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
for ax, col, title in ((axes[0], 6, "encode / memcpy"), (axes[1], 7, "decode / memcpy")):
    for zstd, style in (("no", "-"), ("yes", "--")):
        for bits in ("16", "8", "4", "2", "1"):
            pts = [(int(r[1].split("x")[0]), float(r[col])) for r in rows if r[2] == zstd and r[1].endswith("x" + bits)]
            pts.sort()
            ax.plot([p[0] for p in pts], [p[1] for p in pts], style, marker="o", ms=3,
                    label="%s bit%s" % (bits, ", zstd" if zstd == "yes" else ""))
    ax.set_xscale("log", base=2)
    ax.set_xlabel("channels kept (of 32), 112x112 plane")
    ax.set_title(title)
    ax.grid(alpha=0.3)
axes[0].set_ylabel("throughput / memcpy (same run)")
axes[1].legend(fontsize=7, ncol=2)
fig.tight_layout()
fig.savefig(sys.argv[2], dpi=110)
