#!/usr/bin/python3
"""fleet-bench: many cameras into one server, as a fleet runs them.

N = 1, 2, 4, 8 and 16 device processes (pipelines/device: the rtcoinfersink bin, 30 fps,
policy mpc), each in a network namespace of its own with its own address, stream into
one server process (pipelines/server: the rtcoinfersrc bin, its batched tail, a server
deadline of --deadline ms after which frames are dropped as `late`). For each N it
reports, over the seconds in which all N cameras run:
- results/s;
- p50/p99 capture -> result latency, as the server measures it (one clock);
- late and busy drops, per stream where there are any;
- unaccounted frames: over the whole run, each device's numbered frames against its
  stream's ledger on the server (results + drops + missing). Must be 0.
- the server's resident memory, sampled every second: at a third of the run and at the
  end, and its peak (the largest N runs --overload-seconds, 60 by default).
Last line: fleet-bench: max_cameras_p99_100ms=... p99_ms_at_8=... unaccounted=0

--rising: the load-aware control's run. Cameras join one server, one every --step
seconds up to --cameras, each behind a --link tbf bottleneck, all ending together; run
once with server-latency=auto (the default) and once with a fixed 30 ms. It reports the
server time the devices were told (first camera alone, and at the end), and per mode the
frames answered on time (capture -> result at the server <= --deadline, over every
frame the devices captured) and the effective accuracy. Last line:
fleet-bench-rising: server_time_ms_first=... server_time_ms_last=... on_time_auto=...
on_time_fixed30=... accuracy_auto=... accuracy_fixed30=...

Needs root (ip netns, tc), like tests/integration/test_four_devices.py; without it, it
fails. Usage: fleet_bench.py [--model M] [--counts 1,2,4,8,16] [--seconds 30] ...
"""
import argparse
import atexit
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import netns  # noqa: E402  (tests/integration/netns.py)
PIPELINES = os.path.join(ROOT, "pipelines")
SRV = "rcifl-srv"
MAX_CAMERAS = 32


def ns_of(i):
    return "rcifl-d%d" % i


def bench_fail(msg):
    sys.exit("fleet-bench: " + msg)


def cleanup():
    netns.delete([SRV] + [ns_of(i) for i in range(1, MAX_CAMERAS + 1)])


def make_namespaces(n, link):
    """The server's namespace and n devices' namespaces, device i at 10.81.i.1 over a
    veth pair to the server's 10.81.i.2; with `link` (a tc rate) each device sits behind a
    tbf bottleneck that queues 50 ms, as in test_four_devices."""
    cleanup()
    netns.make_star(SRV, [ns_of(i) for i in range(1, n + 1)], "rf", "10.81",
                    {i: link for i in range(1, n + 1)} if link else {}, bench_fail)


def rss_mb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


class Server:
    """pipelines/server in the server's namespace; its result lines, with their arrival
    time, and its resident memory once a second."""

    def __init__(self, args, workdir):
        self.results, self.summary, self.rss = [], None, []
        self.err = open(os.path.join(workdir, "server.err"), "w")
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", SRV, os.path.join(PIPELINES, "server"), "--model", args.model, "--bind", "0.0.0.0",
             "--port", str(args.port), "--print-results", "--max-latency", "%g" % args.deadline, "--stream-timeout",
             "5", "--max-batch", str(args.max_batch)],
            stdout=subprocess.PIPE, stderr=self.err, text=True)
        self.started = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._sample, daemon=True).start()
        if not self.started.wait(90):
            sys.exit("fleet-bench: the server did not start (see %s)" % self.err.name)

    def _read(self):
        for line in self.proc.stdout:
            try:
                r = json.loads(line)
            except ValueError:
                continue
            if "latency_ms" in r:
                self.results.append((time.time(), r["stream"], r["seq"], r["latency_ms"], r.get("correct")))
            elif r.get("role") == "server" and "listening" in r:
                self.started.set()
            elif r.get("role") == "server" and "streams" in r:
                self.summary = r

    def _sample(self):
        t0 = time.time()
        while self.proc.poll() is None:
            mb = rss_mb(self.proc.pid)
            if mb is not None:
                self.rss.append((time.time() - t0, mb))
            time.sleep(1)

    def stop(self):
        """EOS (the first SIGINT), then its summary."""
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        end = time.time() + 5
        while self.summary is None and time.time() < end:
            time.sleep(0.1)
        self.err.close()
        if self.summary is None:
            sys.exit("fleet-bench: the server printed no summary (see %s)" % self.err.name)
        with open(os.path.join(os.path.dirname(self.err.name), "server-summary.json"), "w") as f:
            json.dump(self.summary, f, indent=1)
        return self.summary


def start_device(args, i, frames, workdir, server_latency="auto"):
    out = open(os.path.join(workdir, "device%d.out" % i), "w")
    err = open(os.path.join(workdir, "device%d.err" % i), "w")
    cmd = ["ip", "netns", "exec", ns_of(i), os.path.join(PIPELINES, "device"), "--model", args.model, "--server",
           "10.81.%d.2" % i, "--port", str(args.port), "--policy", "mpc", "--frames", str(frames), "--framerate",
           "%d/1" % args.fps, "--deadline", "%g" % args.deadline, "--server-latency", server_latency, "--stream-id",
           "camera%d" % i, "--rate-log", os.path.join(workdir, "rate%d.jsonl" % i)]
    return subprocess.Popen(cmd, stdout=out, stderr=err, text=True), out, err


def finish_devices(devices):
    summaries = {}
    for i, (proc, out, err) in devices.items():
        try:
            proc.wait(300)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        out.close()
        err.close()
        with open(out.name) as f:
            lines = [l for l in f.read().splitlines() if l.startswith("{")]
        if not lines:
            sys.exit("fleet-bench: device %d printed no summary (see %s)" % (i, err.name))
        summaries[i] = json.loads(lines[-1])
    return summaries


def percentile(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(p * (len(v) - 1) + 0.5))]


def ledger_of(summary, name):
    for key, s in summary["streams"].items():
        if s.get("name") == name:
            return s
    return None


def accounting(server_summary, devices):
    """Per camera: (numbered, ledger) and the frames not accounted for."""
    rows, unaccounted = {}, 0
    for i, d in devices.items():
        numbered = d["returned"]["frames-numbered"]
        led = ledger_of(server_summary, "camera%d" % i)
        accounted = led["results"] + led["dropped"] + led["missing"] if led else 0
        unaccounted += abs(numbered - accounted)
        rows[i] = (numbered, led)
    return rows, unaccounted


def run_fleet(args, n, seconds, workdir):
    make_namespaces(n, args.link)
    server = Server(args, workdir)
    frames = int((seconds + 0.5 * n + 3) * args.fps)  # every camera runs `seconds` with all the others
    devices = {}
    for i in range(1, n + 1):
        devices[i] = start_device(args, i, frames, workdir)
        time.sleep(0.5)  # their LibTorch start-ups one after the other
    summaries = finish_devices(devices)
    time.sleep(1)
    summary = server.stop()
    rows, unaccounted = accounting(summary, summaries)
    # the window in which every camera streams: after each one's first second, until the first one ends
    first, last = {}, {}
    for t, stream, seq, lat, _ in server.results:
        first.setdefault(stream, t)
        last[stream] = t
    start = max(first.values()) + 1 if first else 0
    end = min(last.values()) if last else 0
    window = [r for r in server.results if start <= r[0] <= end]
    lats = [r[3] for r in window]
    late = {i: led["drops"]["late"] for i, (_, led) in rows.items() if led and led["drops"]["late"]}
    busy = {i: led["drops"]["busy"] for i, (_, led) in rows.items() if led and led["drops"]["busy"]}
    answered = [led["results"] for _, led in rows.values() if led]
    rss = server.rss
    third = [mb for t, mb in rss if t >= rss[-1][0] / 3] if rss else [0]
    out = {
        "cameras": n, "seconds_all_running": round(end - start, 1),
        "results_per_s": round(len(window) / (end - start), 1) if end > start else 0,
        "p50_ms": round(percentile(lats, 0.5), 1), "p99_ms": round(percentile(lats, 0.99), 1),
        "late": sum(late.values()), "busy": sum(busy.values()), "late_per_camera": late, "busy_per_camera": busy,
        "unaccounted": unaccounted, "frames": sum(r[0] for r in rows.values()),
        "rss_mb_third": round(third[0], 1), "rss_mb_end": round(rss[-1][1], 1) if rss else 0,
        "rss_mb_peak": round(max(mb for _, mb in rss), 1) if rss else 0,
        "results_min": min(answered) if answered else 0, "results_max": max(answered) if answered else 0,
    }
    print("N=%(cameras)2d: %(results_per_s)6.1f results/s over %(seconds_all_running)ss, latency p50 %(p50_ms)s ms "
          "p99 %(p99_ms)s ms, late %(late)d, busy %(busy)d, unaccounted %(unaccounted)d of %(frames)d, server RSS "
          "%(rss_mb_third)s -> %(rss_mb_end)s MB (peak %(rss_mb_peak)s)" % out, flush=True)
    if late or busy:
        print("       late per camera: %s; busy per camera: %s; results per camera %d to %d"
              % (late, busy, out["results_min"], out["results_max"]), flush=True)
    return out


def reported_server_ms(workdir, i, t_from, t_to):
    """The server time device i was told (rate log: reported-server-ms) between two wall times."""
    vals = []
    try:
        with open(os.path.join(workdir, "rate%d.jsonl" % i)) as f:
            for line in f:
                r = json.loads(line)
                if t_from <= r["wall"] <= t_to and r.get("reported-server-ms", 0) > 0:
                    vals.append(r["reported-server-ms"])
    except OSError:
        pass
    return percentile(vals, 0.5) if vals else float("nan")


def run_rising(args, server_latency, workdir):
    n = args.cameras
    os.makedirs(workdir, exist_ok=True)
    make_namespaces(n, args.link)
    server = Server(args, workdir)
    t0 = time.time() + 2
    total = args.step * (n - 1) + args.hold  # the first camera's seconds; all end together
    devices = {}
    for i in range(1, n + 1):
        start_at = t0 + args.step * (i - 1)
        time.sleep(max(0, start_at - time.time()))
        frames = int((t0 + total - start_at) * args.fps)
        devices[i] = start_device(args, i, frames, workdir, server_latency)
    summaries = finish_devices(devices)
    time.sleep(1)
    summary = server.stop()
    rows, unaccounted = accounting(summary, summaries)
    on_time = correct = captured = 0
    by_stream = {}
    for t, stream, seq, lat, ok in server.results:
        by_stream.setdefault(stream, []).append((lat, ok))
    for i, (numbered, led) in rows.items():
        captured += numbered
        for lat, ok in by_stream.get("camera%d" % i, []):
            if lat <= args.deadline:
                on_time += 1
                correct += 1 if ok else 0
    first_ms = reported_server_ms(workdir, 1, t0, t0 + args.step)
    # with every camera running, not in the last seconds (16 devices stopping at once load the machine)
    last_ms = percentile([reported_server_ms(workdir, i, t0 + total - args.hold, t0 + total - 3)
                          for i in range(1, n + 1)], 0.5)
    out = {"mode": server_latency, "on_time": round(100.0 * on_time / max(1, captured), 2),
           "accuracy": round(100.0 * correct / max(1, captured), 2), "captured": captured,
           "unaccounted": unaccounted, "server_ms_first": round(first_ms, 1), "server_ms_last": round(last_ms, 1),
           "late": sum(led["drops"]["late"] for _, led in rows.values() if led),
           "skipped": sum(led["skipped"] for _, led in rows.values() if led)}
    print("server-latency=%(mode)s: %(on_time)s %% of %(captured)d frames on time, effective accuracy %(accuracy)s %%, "
          "late %(late)d, skipped %(skipped)d, unaccounted %(unaccounted)d; the server time the devices were told: "
          "%(server_ms_first)s ms with one camera, %(server_ms_last)s ms at the end" % out, flush=True)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default=os.path.join(ROOT, "models", "zoo", "fashion-mnist-swcnn.rcib"))
    p.add_argument("--counts", default="1,2,4,8,16", help="camera counts to run")
    p.add_argument("--seconds", type=float, default=30, help="seconds with all cameras running, per count")
    p.add_argument("--overload-seconds", type=float, default=60, help="seconds for the largest count")
    p.add_argument("--fps", type=int, default=30, help="each camera's frame rate")
    p.add_argument("--deadline", type=float, default=150, help="frame deadline, ms (the server drops later frames)")
    p.add_argument("--max-batch", type=int, default=8, help="the server's max-batch")
    p.add_argument("--link", default="", help="tc rate of each device's bottleneck (e.g. 2mbit); none by default, "
                   "2mbit with --rising")
    p.add_argument("--port", type=int, default=6300)
    p.add_argument("--rising", action="store_true", help="the rising-load run instead (see above)")
    p.add_argument("--cameras", type=int, default=16, help="--rising: cameras at the end")
    p.add_argument("--step", type=float, default=3, help="--rising: seconds between cameras joining")
    p.add_argument("--hold", type=float, default=20, help="--rising: seconds with every camera running")
    p.add_argument("--keep", default="", help="keep the logs in this folder")
    args = p.parse_args()
    if os.geteuid() != 0:
        sys.exit("fleet-bench: needs root for network namespaces and tc")
    # the plugins of this checkout, as the integration tests use them
    os.environ.setdefault("GST_PLUGIN_PATH", os.path.join(ROOT, "build", "plugins"))
    if not os.path.exists(args.model):
        sys.exit("fleet-bench: no model %s" % args.model)
    atexit.register(cleanup)
    if args.rising and not args.link:
        args.link = "2mbit"
    workdir = args.keep or tempfile.mkdtemp(prefix="fleet-bench-")
    os.makedirs(workdir, exist_ok=True)
    print("fleet-bench: model %s, deadline %g ms, link %s, logs in %s" % (args.model, args.deadline,
                                                                          args.link or "none", workdir), flush=True)
    if args.rising:
        a = run_rising(args, "auto", os.path.join(workdir, "auto"))
        f = run_rising(args, "30", os.path.join(workdir, "fixed30"))
        print("fleet-bench-rising: server_time_ms_first=%s server_time_ms_last=%s on_time_auto=%s on_time_fixed30=%s "
              "accuracy_auto=%s accuracy_fixed30=%s unaccounted=%d"
              % (a["server_ms_first"], a["server_ms_last"], a["on_time"], f["on_time"], a["accuracy"], f["accuracy"],
                 a["unaccounted"] + f["unaccounted"]))
        return 0 if a["unaccounted"] + f["unaccounted"] == 0 else 1
    counts = [int(c) for c in args.counts.split(",")]
    rows = []
    for n in counts:
        seconds = args.overload_seconds if n == max(counts) else args.seconds
        wd = os.path.join(workdir, "n%d" % n)
        os.makedirs(wd, exist_ok=True)
        rows.append(run_fleet(args, n, seconds, wd))
    held = [r["cameras"] for r in rows if r["p99_ms"] <= 100]
    at8 = [r["p99_ms"] for r in rows if r["cameras"] == 8]
    unaccounted = sum(r["unaccounted"] for r in rows)
    print("fleet-bench: max_cameras_p99_100ms=%s p99_ms_at_8=%s unaccounted=%d"
          % (max(held) if held else 0, at8[0] if at8 else "nan", unaccounted))
    return 0 if unaccounted == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
