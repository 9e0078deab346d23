#!/usr/bin/python3
"""The HTTP results service of a live server (the rtcoinfersrc bin), on loopback.

One server with http-port; a device that fetches its model from the server's
/models/<id> and sends 240 frames at 30 fps. While it runs, 21 clients hold
/api/events open (one records every event, 20 only count), one /api/events client never
reads, five clients never finish their request headers, and the test requests every
endpoint, oversized headers, unknown paths and path traversals. Then a second server
with http-token checks authentication.
Usage: test_results_service.py RTP_PORT HTTP_PORT"""
import hashlib
import json
import os
import socket
import sys
import tempfile
import time

from prometheus_client.parser import text_string_to_metric_families

from harness import (MODEL, EventReader, check, http_get, raw_http, start_device, start_server, summary,
                     wait_http, wait_until)

rtp_port, http_port = int(sys.argv[1]), int(sys.argv[2])
FRAMES, FPS = 240, 30
bundle = open(MODEL, "rb").read()
model_id = hashlib.sha256(bundle[:-32]).hexdigest()


def stats():
    return json.loads(http_get(http_port, "/api/stats")[2])


server = start_server(rtp_port, "--http-port", str(http_port), "--idle-exit", "4")
wait_http(http_port, server)

# --- bound to loopback only: /proc/net/tcp lists the listening socket as 127.0.0.1 (0100007F)
listening = [line.split() for line in open("/proc/net/tcp").readlines()[1:]]
listening = [f[1] for f in listening if f[3] == "0A" and f[1].endswith(":%04X" % http_port)]
check(listening and all(a.startswith("0100007F:") for a in listening),
      "the service listens on 127.0.0.1 only by default (%s)" % listening)

# --- the model the server runs, for devices
status, _, body = http_get(http_port, "/api/model")
model = json.loads(body)
check(status == 200 and model["id"] == model_id and model["bytes"] == len(bundle)
      and model["url"] == "/models/" + model_id and model["metadata"]["arch"],
      "/api/model names the bundle (id, size, url, metadata)")
status, headers, body = http_get(http_port, "/models/" + model_id)
check(status == 200 and body == bundle and headers["Content-Type"] == "application/octet-stream",
      "/models/<id> serves the bundle byte for byte")

# --- clients that misbehave for the whole run
stalled = socket.create_connection(("127.0.0.1", http_port))
stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
stalled.sendall(b"GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n")  # and never reads
slowloris = []
for i in range(5):
    s = socket.create_connection(("127.0.0.1", http_port))
    s.sendall(b"GET /api/stats HTTP/1.1\r\nHost: x\r\nX-Slow-%d: " % i)  # headers never finish
    slowloris.append(s)
main = EventReader(http_port)
others = [EventReader(http_port, keep=False) for _ in range(20)]
wait_until(lambda: stats()["service"]["event-clients"] == 22, 10, "22 open event streams")

# --- the device fetches the model from the server (into a fresh cache)
cache = tempfile.mkdtemp()
os.environ["XDG_CACHE_HOME"] = cache
url = "http://127.0.0.1:%d/models/%s" % (http_port, model_id)
device = start_device(rtp_port, "--model", url, "--frames", str(FRAMES), "--framerate", "%d/1" % FPS)
wait_until(lambda: stats()["results"] >= 30, 60, "the first results")

# --- every endpoint while frames flow
status, _, body = http_get(http_port, "/api/results?limit=5")
res = json.loads(body)["results"]
check(status == 200 and len(res) == 5 and all(b["seq"] == a["seq"] + 1 for a, b in zip(res, res[1:]))
      and all(k in res[0] for k in ("seq", "setup", "bytes", "class", "label", "score", "top_k", "latency_ms")),
      "/api/results?limit=5: the 5 latest results, in order, with every field")
check(http_get(http_port, "/api/results?limit=x")[0] == 400, "/api/results with a bad limit: 400")
s = stats()
check(s["frames"] >= 30 and s["results"] >= 30 and s["drops"] == {"malformed": 0, "wrong-model": 0, "late": 0, "incomplete": 0, "busy": 0}
      and s["model"] == model_id, "/api/stats counts frames and results, no drops")
status, headers, body = http_get(http_port, "/")
check(status == 200 and headers["Content-Type"].startswith("text/html") and b"<canvas id=\"latency\"" in body,
      "/ serves the dashboard page")
check(http_get(http_port, "/nonexistent")[0] == 404 and http_get(http_port, "/api/")[0] == 404,
      "unknown paths: 404")
for path in ["/models/../../../../etc/passwd", "/models/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
             "/models/..%2f..%2f..%2fetc%2fpasswd", "/models/%252e%252e%252fetc%252fpasswd",
             "/models/" + model_id + "/../../../etc/passwd", "/../../../etc/passwd"]:
    code, reply = raw_http(http_port, b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    check(code in (400, 404) and b"root:" not in reply, "path traversal %s: %d, nothing leaked" % (path, code))
code, _ = raw_http(http_port, b"GET /api/stats HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (1 << 20) + b"\r\n\r\n")
check(code == 0 or 400 <= code < 500, "a 1 MiB header is refused (%s)" % (code or "closed"))
check(http_get(http_port, "/api/stats")[0] == 200, "the service still answers after it")

families = {}
for fam in text_string_to_metric_families(http_get(http_port, "/metrics")[2].decode()):
    families[fam.name] = fam
check({"rtcoinfer_frames", "rtcoinfer_results", "rtcoinfer_drops", "rtcoinfer_latency_seconds",
       "rtcoinfer_feature_bytes", "rtcoinfer_setup_results"} <= set(families),
      "/metrics parses as Prometheus text with the expected families (%s)" % sorted(families))

dev, _ = summary(device, "device", timeout=60)  # 8 s of frames; a hang fails with its stderr
coded = dev["compress"]["frames"]
check(dev["ok"] and coded == FRAMES, "the device ran on the fetched model and sent all %d frames" % FRAMES)
check(open(os.path.join(cache, "rtcoinfer", model_id + ".rcib"), "rb").read() == bundle,
      "the fetched (cached) bundle is byte-identical to the server's")
wait_until(lambda: stats()["frames"] + stats()["missing"] >= coded, 10, "the last frames at the server")

# --- the event stream: every result, in order, no gaps, at the device's frame rate
s = stats()
results = [e for e in main.events if e[1] == "result"]
ids = [e[2] for e in main.events]
check(s["results"] == coded and s["missing"] == 0, "every frame gave a result (%d of %d)" % (s["results"], coded))
check(len(results) == s["results"], "one event per result (%d events, %d results)" % (len(results), s["results"]))
check(ids == list(range(ids[0], ids[0] + len(ids))), "event ids are consecutive")
check([e[3]["seq"] for e in results] == list(range(results[0][3]["seq"], results[0][3]["seq"] + len(results))),
      "result seqs arrive in order without gaps")
span = results[-1][0] - results[0][0]
rate = (len(results) - 1) / span
check(rate >= 0.9 * FPS, "results arrive at %.1f fps with 22 open event streams (device: %d fps)" % (rate, FPS))
check(s["latency-p99-ms"] < 250, "latency p99 %.1f ms: the stream was not held up" % s["latency-p99-ms"])
check(all(o.count >= len(results) for o in others), "all 20 other streams got every event (%s)"
      % sorted(o.count for o in others)[:3])

families = {f.name: f for f in text_string_to_metric_families(http_get(http_port, "/metrics")[2].decode())}
value = {(f.name, tuple(sorted(smp.labels.items())), smp.name): smp.value for f in families.values() for smp in f.samples}
(stream,) = [x["stream"] for x in json.loads(http_get(http_port, "/api/streams")[2])["streams"]]
one = (("stream", stream),)
check(value[("rtcoinfer_frames", one, "rtcoinfer_frames_total")] == s["frames"],
      "metrics: frames = stats frames, labelled with the device's stream (%s)" % stream)
check(value[("rtcoinfer_latency_seconds", (("le", "+Inf"), *one), "rtcoinfer_latency_seconds_bucket")] == s["results"]
      and value[("rtcoinfer_latency_seconds", one, "rtcoinfer_latency_seconds_count")] == s["results"],
      "metrics: the latency histogram counts every result")
check(sum(smp.value for smp in families["rtcoinfer_setup_results"].samples if smp.name.endswith("_total"))
      == s["results"], "metrics: per-setup counts add up to the results")
check(value[("rtcoinfer_drops", (("reason", "late"), *one), "rtcoinfer_drops_total")] == 0, "metrics: no late drops")

for c in [main, *others]:
    c.close()
for c in [stalled, *slowloris]:
    c.close()
srv, _ = summary(server, "server")
check(srv["ok"] and srv["tail"]["results"] == coded, "the server ended cleanly with the same count")

# --- a token protects every endpoint
server = start_server(rtp_port + 20, "--http-port", str(http_port + 1), "--http-token", "t0ken")
wait_http(http_port + 1, server)
for path in ["/", "/api/stats", "/api/results", "/api/events", "/metrics", "/api/model", "/models/" + model_id]:
    check(http_get(http_port + 1, path)[0] == 401, "token set, %s without it: 401" % path)
check(http_get(http_port + 1, "/api/stats", {"Authorization": "Bearer wrong"})[0] == 401, "a wrong token: 401")
check(http_get(http_port + 1, "/api/stats", {"Authorization": "Bearer t0ken"})[0] == 200, "the bearer token: 200")
check(http_get(http_port + 1, "/?token=t0ken")[0] == 200, "the token as a query parameter (dashboard links): 200")
server.terminate()
summary(server, "server")
