#!/usr/bin/python3
"""Every element's documentation runs: each `## Example launch line` in a SECTION block of
plugins/*/*.cpp is run with gst-launch-1.0, as a user would paste it, from a folder where
its relative paths exist (models/, a schedule plan.txt, an early exit in results/eval/exit
trained here). Each must end with EOS and exit 0. Every element must have one.
Usage: test_launch_lines.py TRAIN_BINARY"""
import glob
import os
import re
import shlex
import subprocess
import sys
import tempfile

from harness import MODEL, REPO, check, fail

train = sys.argv[1]
work = tempfile.mkdtemp()
os.symlink(os.path.join(REPO, "models"), os.path.join(work, "models"))
with open(os.path.join(work, "plan.txt"), "w") as f:
    f.write("32x8\nskip\n4x2\n1x1\n")
exit_dir = os.path.join(work, "results", "eval", "exit")
t = subprocess.run([train, "exit", "--model", MODEL, "--out", exit_dir, "--epochs", "1", "--train-limit", "2000",
                    "--test-limit", "200", "--lr", "0.01", "--setups", "2x4", "--threads", "2"],
                   capture_output=True, text=True)
if t.returncode != 0:
    fail("rtcoinfer-train exit failed: " + t.stderr[-1000:])

elements = set()
for source in sorted(glob.glob(os.path.join(REPO, "plugins", "*", "gst*.cpp"))):
    text = open(source).read()
    m = re.search(r"SECTION:element-([a-z-]+)", text)
    if not m:
        if "GST_ELEMENT_REGISTER_DEFINE" in text:
            fail("%s registers an element but has no SECTION:element- block" % source)
        continue
    element = m.group(1)
    elements.add(element)
    doc = text[:text.index("*/")]
    blocks = re.findall(r"\|\[\n(.*?)\]\|", doc, re.S)
    check(blocks, "%s has an example launch line" % element)
    for block in blocks:
        line = " ".join(l.strip().lstrip("*").strip().rstrip("\\").strip() for l in block.splitlines())
        argv = shlex.split(line)
        check(argv[0] == "gst-launch-1.0", "%s: the example is a gst-launch-1.0 line" % element)
        r = subprocess.run(argv[:1] + ["-e"] + argv[1:], cwd=work, capture_output=True, text=True, timeout=120)
        check(r.returncode == 0 and "ERROR" not in r.stdout + r.stderr,
              "%s: `%s` runs (rc %d)%s" % (element, line[:110] + ("..." if len(line) > 110 else ""), r.returncode,
                                           "" if r.returncode == 0 else "\n" + (r.stdout + r.stderr)[-1500:]))

registered = set()
for plugin in ("rtcoinfer", "rtcoinferbaselines", "rtcoinfertest"):
    out = subprocess.run(["gst-inspect-1.0", plugin], capture_output=True, text=True).stdout
    registered |= set(re.findall(r"^\s+(rtcoinfer[a-z-]*):", out, re.M))
check(registered and registered == elements, "every registered element has its example here (%s)"
      % ", ".join(sorted(registered ^ elements) or ["all %d" % len(registered)]))
