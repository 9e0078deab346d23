#!/usr/bin/python3
"""The results dashboard in a real browser (headless Debian Chromium) during a live run.

A server with http-port and a device at 30 fps; Chromium loads the dashboard twice, a
second apart, and the test reads the values the page plotted from its DOM (the page
mirrors them into data-* attributes of #dashboard and of each canvas): they must be
there and must have moved on. Then Chromium saves a screenshot.
Fails when chromium is not installed: the README promises this test, so it never skips.
Usage: test_dashboard_browser.py RTP_PORT HTTP_PORT SCREENSHOT.png"""
import html.parser
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from harness import check, fail, http_get, start_device, start_server, summary, wait_http, wait_until

rtp_port, http_port, screenshot = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
chromium = shutil.which("chromium")
if not chromium:
    print("FAIL: chromium is not installed (scripts/install-deps.sh installs it)")
    sys.exit(1)
url = "http://127.0.0.1:%d/" % http_port
profile = tempfile.mkdtemp()
# Root needs --no-sandbox; a fresh profile keeps runs independent. The virtual-time
# budget lets the page's timers (two polls a second) run for 3 s of page time.
CHROMIUM = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir=" + profile,
            "--window-size=1280,900", "--virtual-time-budget=3000"]


class Attributes(html.parser.HTMLParser):
    """data-* attributes of #dashboard and of every canvas, by element id."""

    def __init__(self):
        super().__init__()
        self.by_id = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id") == "dashboard" or tag == "canvas":
            self.by_id[attrs.get("id")] = {k[5:]: v for k, v in attrs.items() if k.startswith("data-")}


def load_page():
    p = subprocess.run(CHROMIUM + ["--dump-dom", url], capture_output=True, text=True, timeout=120)
    if p.returncode != 0 or "<html" not in p.stdout:
        fail("chromium --dump-dom failed (rc %d):\n%s" % (p.returncode, p.stderr[-2000:]))
    a = Attributes()
    a.feed(p.stdout)
    return a.by_id


server = start_server(rtp_port, "--http-port", str(http_port), "--idle-exit", "3")
wait_http(http_port, server)
device = start_device(rtp_port, "--frames", "-1", "--framerate", "30/1")  # until the test ends it
wait_until(lambda: json.loads(http_get(http_port, "/api/stats")[2])["results"] >= 60, 60, "the first results")

first = load_page()
time.sleep(1.0)
second = load_page()
d1, d2 = first["dashboard"], second["dashboard"]
print("first load: %s\nsecond load: %s" % (d1, d2))
check(int(d1["updates"]) >= 2 and int(d2["updates"]) >= 2, "the page updated itself while loaded")
check(int(d2["results"]) > int(d1["results"]) and int(d2["last-seq"]) > int(d1["last-seq"]),
      "results and the last plotted seq moved on (%s -> %s)" % (d1["last-seq"], d2["last-seq"]))
for plot in ("latency", "setup", "bytes", "accuracy"):
    check(int(second[plot]["points"]) > 0 and second[plot]["last"] != "", "the %s plot has points" % plot)
check(float(d2["latency-ms"]) > 0 and int(d2["bytes"]) > 0 and "x" in d2["setup"], "latest latency, bytes and setup")
check(0 <= float(d2["accuracy"]) <= 100, "accuracy shown (%s %%)" % d2["accuracy"])

os.makedirs(os.path.dirname(os.path.abspath(screenshot)), exist_ok=True)
p = subprocess.run(CHROMIUM + ["--screenshot=" + os.path.abspath(screenshot), url], capture_output=True, text=True,
                   timeout=120)
check(p.returncode == 0 and os.path.getsize(screenshot) > 10000, "screenshot saved to " + screenshot)

device.terminate()
dev, _ = summary(device, "device")
srv, _ = summary(server, "server")
check(dev["ok"] and srv["ok"], "both pipelines ended cleanly")
shutil.rmtree(profile, ignore_errors=True)
