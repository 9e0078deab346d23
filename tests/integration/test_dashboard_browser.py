#!/usr/bin/python3
"""The results dashboard and the per-stream API in a real browser (headless Debian
Chromium) during a live run of two cameras into one server.

Two devices at different fixed setups stream to one pipelines/server (the rtcoinfersrc
bin) with http-port. The test checks /api/streams, the ?stream= filters of /api/results,
/api/stats and /api/events, and the `stream` label of /metrics. Then Chromium loads the
dashboard for one picked stream twice, a second apart, and the test reads what the page
plotted from its DOM (the page mirrors it into data-* attributes of #dashboard and of
each canvas): the picked stream's results only, and moving on. Without ?stream= the page
picks the first stream listed. Then Chromium saves a screenshot.
Fails when chromium is not installed: the README promises this test, so it never skips.
Usage: test_dashboard_browser.py RTP_PORT HTTP_PORT SCREENSHOT.png"""
import html.parser
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse

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


def load_page(query=""):
    p = subprocess.run(CHROMIUM + ["--dump-dom", url + query], capture_output=True, text=True, timeout=120)
    if p.returncode != 0 or "<html" not in p.stdout:
        fail("chromium --dump-dom failed (rc %d):\n%s" % (p.returncode, p.stderr[-2000:]))
    a = Attributes()
    a.feed(p.stdout)
    return a.by_id


def events_of(path, n):
    """The first n result events of an /api/events stream, as parsed JSON."""
    conn = http.client.HTTPConnection("127.0.0.1", http_port, timeout=30)
    conn.request("GET", path)
    r = conn.getresponse()
    out = []
    while len(out) < n:
        line = r.fp.readline().decode()
        if not line:
            break
        if line.startswith("data: ") and '"seq"' in line:
            out.append(json.loads(line[6:]))
    conn.close()
    return out


def streams():
    return json.loads(http_get(http_port, "/api/streams")[2])["streams"]


server = start_server(rtp_port, "--http-port", str(http_port), "--idle-exit", "3")
wait_http(http_port, server)
# until the test ends them; two cores share both devices, the server and Chromium
devices = [start_device(rtp_port, "--frames", "-1", "--framerate", "15/1", "--policy", "fixed:" + setup)
           for setup in ("32x8", "2x4")]
wait_until(lambda: len(streams()) == 2 and all(s["results"] >= 30 for s in streams()), 90,
           "30 results of each camera")
by_setup = {s["setup"]: s["stream"] for s in streams()}
check(sorted(by_setup) == ["2x4", "32x8"] and all(s["active"] for s in streams()),
      "/api/streams lists both cameras, active, each at its setup: %s" % by_setup)
picked = by_setup["2x4"]
q = "stream=" + urllib.parse.quote(picked)
rs = json.loads(http_get(http_port, "/api/results?limit=20&" + q)[2])["results"]
check(len(rs) == 20 and all(r["stream"] == picked and r["setup"] == "2x4" for r in rs),
      "/api/results?stream= gives that camera's results only")
one = json.loads(http_get(http_port, "/api/stats?" + q)[2])
everything = json.loads(http_get(http_port, "/api/stats")[2])
check(one["stream"] == picked and 0 < one["results"] < everything["results"] and everything["streams"] == 2,
      "/api/stats?stream= counts one camera, /api/stats both")
check(http_get(http_port, "/api/stats?stream=nobody")[0] == 404, "an unknown stream is 404")
ev = events_of("/api/events?" + q, 10)
check(len(ev) == 10 and all(e["stream"] == picked for e in ev), "/api/events?stream= carries that camera's only")
metrics = http_get(http_port, "/metrics")[2].decode()
for sid in by_setup.values():
    check('rtcoinfer_results_total{stream="%s"} ' % sid in metrics, "/metrics has stream=\"%s\"" % sid)

first = load_page("?" + q)
time.sleep(1.0)
second = load_page("?" + q)
d1, d2 = first["dashboard"], second["dashboard"]
print("first load: %s\nsecond load: %s" % (d1, d2))
check(d2["stream"] == picked and d2["streams"] == "2" and d2["result-streams"] == picked,
      "the page shows the picked camera's results only, and lists both")
check(d2["setup"] == "2x4", "the picked camera's setup")
check(int(d1["updates"]) >= 2 and int(d2["updates"]) >= 2, "the page updated itself while loaded")
check(int(d2["results"]) > int(d1["results"]) and int(d2["last-seq"]) > int(d1["last-seq"]),
      "results and the last plotted seq moved on (%s -> %s)" % (d1["last-seq"], d2["last-seq"]))
for plot in ("latency", "setup", "bytes", "accuracy"):
    check(int(second[plot]["points"]) > 0 and second[plot]["last"] != "", "the %s plot has points" % plot)
check(float(d2["latency-ms"]) > 0 and int(d2["bytes"]) > 0, "latest latency and bytes")
check(0 <= float(d2["accuracy"]) <= 100, "accuracy shown (%s %%)" % d2["accuracy"])
default = load_page()["dashboard"]
check(default["stream"] == streams()[0]["stream"] and default["result-streams"] == default["stream"],
      "without ?stream= the page picks the first stream listed")

os.makedirs(os.path.dirname(os.path.abspath(screenshot)), exist_ok=True)
p = subprocess.run(CHROMIUM + ["--screenshot=" + os.path.abspath(screenshot), url + "?" + q], capture_output=True,
                   text=True, timeout=120)
check(p.returncode == 0 and os.path.getsize(screenshot) > 10000, "screenshot saved to " + screenshot)

for device in devices:
    device.terminate()
    dev, _ = summary(device, "device")
    check(dev["ok"], "the device ended cleanly")
srv, _ = summary(server, "server")
check(srv["ok"] and len(srv["streams"]) == 2, "the server ended cleanly with both streams counted")
shutil.rmtree(profile, ignore_errors=True)
