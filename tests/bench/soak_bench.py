#!/usr/bin/python3
"""soak-bench: four cameras into one server for an hour, over a lossy, jittery link, with
a server restart and a device restart along the way.

--cameras pipelines/device processes (the rtcoinfersink bin, policy mpc, --fps, the
dataset's images looping) stream into one pipelines/server (the rtcoinfersrc bin) on
loopback, each through a UDP relay of its own (tests/integration/relay.py) that drops
--loss of its RTP packets at random and holds each of the others a uniform
0..--jitter-ms, so packets overtake each other; RTCP passes untouched. At 40 % of the run
the server gets SIGTERM (it hands its streams over) and a new one starts on the same
port; at 70 % the last camera gets SIGTERM (its last frames and its final count go out)
and starts again, a stream of its own (a new SSRC and stream-id). At the end the cameras
stop, then the server.

It reports:
- each process's resident memory (VmRSS) and open fds, every --sample-seconds
  (samples.csv), and its RSS growth in MB/hour: a least-squares line through its samples
  after its first --warmup-minutes (and, to tell a leak from a one-off step, the slope
  with a step allowed at each restart: "steady"). Growth is judged (on the plain line)
  only for processes that lived --judge-minutes past their warm-up; a short run reports
  what it measured, unjudged;
- capture -> result latency as the server measures it (one clock), p50/p99 per window
  of --window-minutes (windows.csv; every result's latency in results.csv);
- the ledger per stream: each device run's numbered frames against results + drops +
  missing summed over the server instances that counted it. Unaccounted must be 0.

Last line: soak-bench: minutes=60 cameras=4 frames=... unaccounted=0 server_rss_mb_per_h=...
device_rss_mb_per_h=... fds_growth=... p99_ms_max=... judged=yes
Exit status 1 if a frame is unaccounted, a process failed, or (judged) an RSS grew by
--rss-limit MB/hour or more.

Loopback only, no root; not in the test suite (an hour). A trial: soak_bench.py --minutes 3
(restarts, samples and windows scale with the run). Plot: plot_soak_bench.py KEEP_DIR OUT.png.
"""
import argparse
import csv
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from relay import Relay  # noqa: E402  (tests/integration/relay.py)

PIPELINES = os.path.join(ROOT, "pipelines")
SERVER_RESTART_AT, DEVICE_RESTART_AT = 0.4, 0.7  # fractions of the run
STOP_WAIT_S = 60  # a stopped process that is still there after this is killed (and the run failed)


class BenchFailure(Exception):
    pass


def now_s(t0):
    return time.time() - t0


def rss_and_fds(pid):
    """(VmRSS in MB, open fds) of a live process, or None."""
    try:
        with open("/proc/%d/status" % pid) as f:
            rss = next((int(line.split()[1]) / 1024.0 for line in f if line.startswith("VmRSS:")), None)
        fds = len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return None
    return (rss, fds) if rss is not None else None


def percentile(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(p * (len(v) - 1) + 0.5))]


def slope_per_hour(points):
    """Least-squares slope of [(seconds, value)] in value per hour, or None."""
    if len(points) < 2:
        return None
    n = len(points)
    mx = sum(t for t, _ in points) / n
    my = sum(v for _, v in points) / n
    sxx = sum((t - mx) ** 2 for t, _ in points)
    if sxx <= 0:
        return None
    return 3600.0 * sum((t - mx) * (v - my) for t, v in points) / sxx


def steady_slope_per_hour(points, boundaries):
    """The slope of [(seconds, value)] in value per hour with a step allowed at each
    boundary: one least-squares line per stretch between boundaries, a common slope."""
    stretches = {}
    for t, v in points:
        stretches.setdefault(sum(1 for b in boundaries if b <= t), []).append((t, v))
    sxy = sxx = 0.0
    for pts in stretches.values():
        mx = sum(t for t, _ in pts) / len(pts)
        my = sum(v for _, v in pts) / len(pts)
        sxy += sum((t - mx) * (v - my) for t, v in pts)
        sxx += sum((t - mx) ** 2 for t, _ in pts)
    return 3600.0 * sxy / sxx if sxx > 0 else None


class Latencies:
    """The server's results as they arrive: each one's latency to results.csv, and
    p50/p99 per window of arrival time. Only the open window's latencies stay in memory."""

    def __init__(self, folder, t0, window_s, windows, deadline_ms):
        self.t0, self.window_s, self.windows, self.deadline_ms = t0, window_s, windows, deadline_ms
        self.f = open(os.path.join(folder, "results.csv"), "w")
        self.f.write("t_s,server,stream,seq,latency_ms\n")
        self.lock = threading.Lock()
        self.open_window, self.current = 0, []
        self.rows = {}  # window -> its figures
        self.printed = {}  # (server, stream name) -> results printed
        self.total = 0

    def add(self, server, result):
        t = now_s(self.t0)
        w = min(int(t // self.window_s), self.windows - 1)  # the stop's last results count in the last window
        lat = float(result["latency_ms"])
        stream = str(result.get("stream", ""))
        with self.lock:
            if w > self.open_window:
                self._close()
                self.open_window = w
            self.current.append(lat)
            key = (server, stream)
            self.printed[key] = self.printed.get(key, 0) + 1
            self.total += 1
            self.f.write("%.3f,%s,%s,%s,%.2f\n" % (t, server, stream, result.get("seq", ""), lat))

    def _close(self):
        v = self.current
        self.rows[self.open_window] = {
            "window": self.open_window, "start_min": round(self.open_window * self.window_s / 60, 2),
            "end_min": round((self.open_window + 1) * self.window_s / 60, 2), "results": len(v),
            "p50_ms": round(percentile(v, 0.50), 1), "p99_ms": round(percentile(v, 0.99), 1),
            "max_ms": round(max(v), 1) if v else float("nan"),
            "on_time_pct": round(100.0 * sum(1 for x in v if x <= self.deadline_ms) / len(v), 2) if v else float("nan")}
        self.current = []

    def last_p99(self):
        with self.lock:
            return self.rows[max(self.rows)]["p99_ms"] if self.rows else float("nan")

    def finish(self, folder):
        with self.lock:
            self._close()
            self.f.close()
            for w in range(self.windows):  # windows without a result (e.g. while no server ran)
                if w not in self.rows:
                    self.current, self.open_window = [], w
                    self._close()
            rows = [self.rows[w] for w in sorted(self.rows)]
        with open(os.path.join(folder, "windows.csv"), "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
            w.writeheader()
            w.writerows(rows)
        return rows


class Life:
    """One process's life: a server or a device run, its log files, its samples."""

    def __init__(self, kind, label, cmd, folder, t0, pipe_stdout):
        self.kind, self.label, self.t0 = kind, label, t0
        self.err = open(os.path.join(folder, label + ".err"), "w")
        self.out = open(os.path.join(folder, label + ".out"), "w")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE if pipe_stdout else self.out, stderr=self.err,
                                     text=True, start_new_session=True)  # a Ctrl-C reaches the bench only
        self.start_s, self.end_s = now_s(t0), None
        self.samples = []  # (bench seconds, age seconds, rss MB, fds)
        self.summary = None
        self.stopping = False  # the bench stopped it: its exit is expected
        self.signalled = False

    def alive(self):
        return self.proc.poll() is None

    def send_stop(self, sig=signal.SIGTERM):
        """One stop signal: a second one would make pipelines/ quit at once, without its EOS."""
        self.stopping = True
        if not self.signalled and self.alive():
            self.signalled = True
            self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM):
        """Sends `sig` (once) and waits; kills it after STOP_WAIT_S. True if it ended on its own."""
        self.send_stop(sig)
        try:
            self.proc.wait(STOP_WAIT_S)
            clean = True
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            clean = False
        self.end_s = now_s(self.t0)
        return clean

    def close_logs(self):
        for f in (self.err, self.out):
            if not f.closed:
                f.close()


class Server(Life):
    """pipelines/server; its stdout is read in a thread as it comes (a result line per
    frame for an hour): results go to Latencies, events to events.jsonl."""

    def __init__(self, args, label, folder, t0, latencies, events):
        cmd = [os.path.join(PIPELINES, "server"), "--model", args.model, "--port", str(args.port),
               "--print-results", *args.server_arg]
        super().__init__("server", label, cmd, folder, t0, pipe_stdout=True)
        self.latencies, self.events = latencies, events
        self.listening = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                r = json.loads(line)
            except ValueError:
                if not self.out.closed:
                    self.out.write(line)
                continue
            if "latency_ms" in r:
                self.latencies.add(self.label, r)
            elif r.get("role") == "server" and "listening" in r:
                self.listening.set()
            elif r.get("role") == "server" and "streams" in r:
                self.summary = r
                if not self.out.closed:
                    self.out.write(line)
            else:
                self.events.write(dict(r, server=self.label))

    def wait_listening(self, timeout=180):
        end = time.time() + timeout
        while not self.listening.wait(0.5):
            if not self.alive() or time.time() > end:
                raise BenchFailure("%s did not start (see %s)" % (self.label, self.err.name))

    def finish(self):
        clean = self.stop(signal.SIGTERM)
        self.reader.join(30)
        self.close_logs()
        return clean


class Device(Life):
    def __init__(self, args, label, relay_port, folder, t0):
        frames = int(args.fps * (args.minutes * 60 + 600))  # a bound; the bench stops it before
        cmd = [os.path.join(PIPELINES, "device"), "--model", args.model, "--port", str(relay_port), "--policy",
               args.policy, "--frames", str(frames), "--framerate", "%d/1" % args.fps, "--deadline",
               "%g" % args.deadline, "--stream-id", label, *args.device_arg]
        super().__init__("device", label, cmd, folder, t0, pipe_stdout=False)

    def finish(self):
        clean = self.stop(signal.SIGTERM)
        self.close_logs()
        with open(self.out.name) as f:
            lines = [x for x in f.read().splitlines() if x.startswith("{")]
        for line in reversed(lines):
            s = json.loads(line)
            if s.get("role") == "device":
                self.summary = s
                break
        return clean


class Events:
    """events.jsonl: the servers' event lines and the bench's own actions, with their time."""

    def __init__(self, folder, t0):
        self.t0 = t0
        self.f = open(os.path.join(folder, "events.jsonl"), "w")
        self.lock = threading.Lock()
        self.actions = []

    def write(self, record):
        with self.lock:
            self.f.write(json.dumps({"t_s": round(now_s(self.t0), 3), **record}) + "\n")
            self.f.flush()

    def action(self, what, **fields):
        self.actions.append({"t_s": round(now_s(self.t0), 3), "action": what, **fields})
        self.write({"action": what, **fields})
        print("soak-bench: %6.2f min: %s %s" % (now_s(self.t0) / 60, what, " ".join(
            "%s=%s" % kv for kv in fields.items())), flush=True)


class Soak:
    def __init__(self, args, folder):
        self.args, self.folder = args, folder
        self.t0 = time.time()
        self.duration_s = args.minutes * 60.0
        self.window_s = args.window_minutes * 60.0
        windows = max(1, int(round(self.duration_s / self.window_s)))
        self.events = Events(folder, self.t0)
        self.latencies = Latencies(folder, self.t0, self.window_s, windows, args.deadline)
        self.lives = []  # every process started, in order
        self.lives_lock = threading.Lock()
        self.server = None
        self.devices = {}  # camera index -> its current Device
        self.relays = []
        self.samples_f = open(os.path.join(folder, "samples.csv"), "w")
        self.samples_f.write("t_s,process,kind,pid,age_s,rss_mb,fds\n")
        self.stop_sampling = threading.Event()
        self.sample_lock = threading.Lock()  # the sampler thread and the restarts' own samples
        self.failures = []
        self.relay_counts = []

    # --- processes
    def _add(self, life):
        with self.lives_lock:
            self.lives.append(life)
        return life

    def start_server(self):
        n = sum(1 for x in self.lives if x.kind == "server") + 1
        self.server = self._add(Server(self.args, "server%d" % n, self.folder, self.t0, self.latencies, self.events))
        self.server.wait_listening()
        self.events.action("server started", process=self.server.label, pid=self.server.proc.pid)

    def start_device(self, i, run):
        label = "camera%d" % i if run == 1 else "camera%d-%d" % (i, run)
        self.devices[i] = self._add(Device(self.args, label, self.relay_port(i), self.folder, self.t0))
        self.events.action("device started", process=label, pid=self.devices[i].proc.pid)

    def relay_port(self, i):
        return self.args.port + 10 + 2 * i  # the relay listens on it and the next one

    def check_alive(self):
        for life in [self.server, *self.devices.values()]:
            if life and not life.alive() and not life.stopping:
                raise BenchFailure("%s exited by itself (rc %s; see %s)" % (life.label, life.proc.returncode,
                                                                            life.err.name))

    # --- samples
    def sample(self):
        with self.sample_lock:
            if self.samples_f.closed:
                return []
            return self._sample()

    def _sample(self):
        with self.lives_lock:
            live = [x for x in self.lives if x.alive()]
        t = now_s(self.t0)
        for life in live:
            if life.samples and t - life.samples[-1][0] < 1.0:  # the sampler and a restart's own sample met
                continue
            m = rss_and_fds(life.proc.pid)
            if m is None:
                continue
            age = t - life.start_s
            life.samples.append((t, age, m[0], m[1]))
            self.samples_f.write("%.1f,%s,%s,%d,%.1f,%.2f,%d\n" % (t, life.label, life.kind, life.proc.pid, age,
                                                                    m[0], m[1]))
        self.samples_f.flush()
        return live

    def _sampler(self):
        n = 1
        while not self.stop_sampling.wait(max(0.0, self.t0 + n * self.args.sample_seconds - time.time())):
            live = self.sample()
            n += 1
            srv = [x for x in live if x.kind == "server"]
            dev = [x.samples[-1][2] for x in live if x.kind == "device" and x.samples]
            print("soak-bench: %6.2f min: server %s; devices RSS %s MB; results %d; last window p99 %s ms"
                  % (now_s(self.t0) / 60,
                     ", ".join("%s RSS %.1f MB fds %d" % (s.label, s.samples[-1][2], s.samples[-1][3])
                               for s in srv if s.samples) or "none",
                     "/".join("%.0f" % mb for mb in dev), self.latencies.total, self.latencies.last_p99()),
                  flush=True)

    # --- the run
    def wait_until(self, at_s):
        while now_s(self.t0) < at_s:
            self.check_alive()
            time.sleep(min(1.0, max(0.05, at_s - now_s(self.t0))))

    def run(self):
        a = self.args
        for i in range(1, a.cameras + 1):
            rng = random.Random(a.seed * 100 + i)
            self.relays.append(Relay(a.port, self.relay_port(i), self._link(rng)))
        self.start_server()
        threading.Thread(target=self._sampler, daemon=True).start()
        for i in range(1, a.cameras + 1):
            self.start_device(i, 1)
            time.sleep(1.0)  # their LibTorch start-ups one after the other
        self.wait_until(SERVER_RESTART_AT * self.duration_s)
        self.sample()  # the last point of the old server's life
        old = self.server
        self.finish(old)
        self.events.action("server stopped", process=old.label, rc=old.proc.returncode)
        time.sleep(0.5)
        self.start_server()
        self.wait_until(DEVICE_RESTART_AT * self.duration_s)
        self.sample()
        i = a.cameras
        dev = self.devices[i]
        self.finish(dev)
        self.events.action("device stopped", process=dev.label, rc=dev.proc.returncode)
        self.start_device(i, 2)
        self.wait_until(self.duration_s)
        self.sample()
        self.stop_sampling.set()
        self.events.action("stopping")
        for dev in self.devices.values():  # all at once: each sends its last frames and its count
            dev.send_stop(signal.SIGTERM)
        for dev in self.devices.values():
            self.finish(dev)
        time.sleep(2)  # the devices' last RTCP reaches the server
        self.finish(self.server)
        self.events.action("stopped")

    def finish(self, life):
        """Stops a process the way the bench means to (SIGTERM: EOS, its last counts);
        a kill, or an exit status that says its pipeline failed, fails the run."""
        if not life.finish():
            self.failures.append("%s did not end within %d s of SIGTERM (killed)" % (life.label, STOP_WAIT_S))
        elif life.proc.returncode != 0:
            self.failures.append("%s ended with status %d (see %s)" % (life.label, life.proc.returncode,
                                                                      life.err.name))

    def _link(self, rng):
        loss, jitter = self.args.loss / 100.0, self.args.jitter_ms / 1000.0

        def rtp(data):
            if rng.random() < loss:
                return []
            return [(rng.uniform(0, jitter), data)]
        return rtp

    def cleanup(self):
        """Every process still running ends (SIGTERM, then SIGKILL), and the relays."""
        self.stop_sampling.set()
        with self.lives_lock:
            live = [x for x in self.lives if x.alive()]
        for life in live:
            life.send_stop(signal.SIGTERM)
        end = time.time() + 10
        for life in live:
            try:
                life.proc.wait(max(0.1, end - time.time()))
            except subprocess.TimeoutExpired:
                life.proc.kill()
                life.proc.wait()
        for life in self.lives:
            life.close_logs()
        for r in self.relays:
            r.close()
        if self.relays:
            self.relay_counts = [dict(r.counts) for r in self.relays]
        self.relays = []
        with self.sample_lock:
            if not self.samples_f.closed:
                self.samples_f.close()

    # --- the report
    def ledger(self):
        """Per device run: its numbered frames against its stream's counts summed over the
        servers (matched by SSRC); and the servers' streams no device run claims."""
        servers = [x for x in self.lives if x.kind == "server"]
        for s in servers:
            if s.summary is None:
                self.failures.append("%s printed no summary: its counts are missing (see %s)" % (s.label, s.err.name))
        claimed, rows, unaccounted = set(), [], 0
        for d in (x for x in self.lives if x.kind == "device"):
            row = {"stream": d.label, "ssrc": None, "numbered": None, "results": 0, "dropped": 0, "missing": 0,
                   "device_frames": 0, "drops": {}, "skipped": 0, "lost": 0, "servers": [], "printed": 0,
                   "returned_to_device": None}
            if d.summary is None:
                self.failures.append("%s printed no summary (see %s)" % (d.label, d.err.name))
                rows.append(row)
                continue
            row["ssrc"] = str(d.summary.get("ssrc"))
            row["numbered"] = d.summary["returned"]["frames-numbered"]
            row["camera_frames"] = d.summary.get("rate", {}).get("frames")
            row["returned_to_device"] = d.summary["returned"].get("results-received")
            for s in servers:
                st = (s.summary or {}).get("streams", {}).get(row["ssrc"])
                if st is None:
                    continue
                claimed.add((s.label, row["ssrc"]))
                row["servers"].append(s.label)
                for k, field in (("results", "results"), ("dropped", "dropped"), ("missing", "missing"),
                                 ("device_frames", "device-frames"), ("skipped", "skipped"), ("lost", "lost")):
                    row[k] += st.get(field, 0)
                for reason, n in st.get("drops", {}).items():
                    if n:
                        row["drops"][reason] = row["drops"].get(reason, 0) + n
                # a stream's first results may carry its SSRC, before its stream-id has come
                names = {st.get("name", ""), row["ssrc"]}
                row["printed"] += sum(self.latencies.printed.get((s.label, n), 0) for n in names)
            row["unaccounted"] = abs(row["numbered"] - (row["results"] + row["dropped"] + row["missing"]))
            unaccounted += row["unaccounted"]
            rows.append(row)
        strays = []
        for s in servers:
            for ssrc, st in (s.summary or {}).get("streams", {}).items():
                if (s.label, ssrc) in claimed:
                    continue
                off = abs(st.get("device-frames", 0) - (st["results"] + st["dropped"] + st["missing"]))
                unaccounted += off
                strays.append({"server": s.label, "ssrc": ssrc, "name": st.get("name"), "results": st["results"],
                               "dropped": st["dropped"], "missing": st["missing"],
                               "device_frames": st.get("device-frames"), "unaccounted": off})
        return rows, strays, unaccounted

    def growth(self):
        """Per process: RSS MB/hour and fds growth after its warm-up, and whether judged."""
        warm, judge = self.args.warmup_minutes * 60.0, self.args.judge_minutes * 60.0
        restarts = [a["t_s"] for a in self.events.actions if a["action"] in ("server stopped", "device stopped")]
        rows = []
        for life in self.lives:
            if not life.samples:
                continue
            lived = (life.end_s if life.end_s is not None else now_s(self.t0)) - life.start_s
            post = [s for s in life.samples if s[1] >= warm]
            basis = "after %g min warm-up" % self.args.warmup_minutes
            if len(post) < 2:  # a short life: what there is, past the first sample (the start itself)
                post, basis = life.samples[1:] if len(life.samples) > 2 else life.samples, "no warm-up (short life)"
            slope = slope_per_hour([(s[1], s[2]) for s in post])
            steady = steady_slope_per_hour([(s[0], s[2]) for s in post], restarts)
            rows.append({"process": life.label, "kind": life.kind, "lived_min": round(lived / 60, 2),
                         "samples": len(life.samples), "basis": basis,
                         "rss_mb_first": round(post[0][2], 1), "rss_mb_last": round(post[-1][2], 1),
                         "rss_mb_peak": round(max(s[2] for s in life.samples), 1),
                         "rss_mb_per_h": round(slope, 3) if slope is not None else None,
                         "rss_mb_per_h_steady": round(steady, 3) if steady is not None else None,
                         "fds_first": post[0][3], "fds_last": post[-1][3], "fds_growth": post[-1][3] - post[0][3],
                         "judged": lived - warm >= judge and len([s for s in life.samples if s[1] >= warm]) >= 3})
        return rows


def fmt(v, spec="%.2f"):
    return "nan" if v is None or v != v else spec % v


def report(soak, args, folder):
    rows, strays, unaccounted = soak.ledger()
    windows = soak.latencies.finish(folder)
    growth = soak.growth()
    print("soak-bench: ledger per stream (numbered frames = results + dropped + missing, over the servers that "
          "counted it)")
    for r in rows:
        if r["numbered"] is None:
            print("  %-10s no summary" % r["stream"])
            continue
        print("  %-10s ssrc %-10s numbered %7d = results %7d + dropped %5d %s + missing %5d (skipped %d, lost %d); "
              "device frames on the servers %d; unaccounted %d; servers %s; results printed %d, returned to the "
              "device %s" % (r["stream"], r["ssrc"], r["numbered"], r["results"], r["dropped"], r["drops"] or "",
                             r["missing"], r["skipped"], r["lost"], r["device_frames"], r["unaccounted"],
                             "+".join(r["servers"]) or "none", r["printed"], r["returned_to_device"]))
    for s in strays:
        print("  stream no device run claims: %s" % json.dumps(s))
    for r in rows:
        if r["numbered"] is not None and r["printed"] != r["results"]:
            print("  note: %s: the servers printed %d results and counted %d" % (r["stream"], r["printed"],
                                                                                 r["results"]))
    print("soak-bench: capture -> result latency at the server, per %g-minute window" % args.window_minutes)
    for w in windows:
        print("  %6.2f-%6.2f min: %7d results, p50 %6s ms, p99 %6s ms, max %6s ms, on time (<= %g ms) %s %%"
              % (w["start_min"], w["end_min"], w["results"], fmt(w["p50_ms"], "%.1f"), fmt(w["p99_ms"], "%.1f"),
                 fmt(w["max_ms"], "%.1f"), args.deadline, fmt(w["on_time_pct"])))
    print("soak-bench: memory and fds (a least-squares line through each process's samples; 'steady': with a step "
          "allowed at each restart)")
    for g in growth:
        print("  %-10s lived %6.2f min, %3d samples, %s: RSS %7.1f -> %7.1f MB (peak %.1f), %s MB/h (steady %s); "
              "fds %d -> %d%s"
              % (g["process"], g["lived_min"], g["samples"], g["basis"], g["rss_mb_first"], g["rss_mb_last"],
                 g["rss_mb_peak"], fmt(g["rss_mb_per_h"]), fmt(g["rss_mb_per_h_steady"]), g["fds_first"],
                 g["fds_last"],
                 "" if g["judged"] else " (not judged: shorter than %g + %g min)" % (args.warmup_minutes,
                                                                                    args.judge_minutes)))
    judged = any(g["judged"] for g in growth)
    pool = [g for g in growth if g["judged"]] if judged else growth

    def worst(kind, field):
        vals = [g[field] for g in pool if g["kind"] == kind and g[field] is not None]
        return max(vals) if vals else None
    server_growth, device_growth = worst("server", "rss_mb_per_h"), worst("device", "rss_mb_per_h")
    fds_growth = max([g["fds_growth"] for g in pool] or [0])
    p99s = [w["p99_ms"] for w in windows if w["results"]]
    frames = sum(r["numbered"] or 0 for r in rows)
    over = [g for g in pool if judged and g["rss_mb_per_h"] is not None and g["rss_mb_per_h"] >= args.rss_limit]
    if not judged:
        print("soak-bench: no process lived %g min past its %g-min warm-up: the growth figures are what was "
              "measured, not judged" % (args.judge_minutes, args.warmup_minutes))
    for g in over:
        print("soak-bench: %s grew %.2f MB/h (limit %g)" % (g["process"], g["rss_mb_per_h"], args.rss_limit))
    for f in soak.failures:
        print("soak-bench: FAILED: " + f)
    relays = soak.relay_counts
    last = ("soak-bench: minutes=%g cameras=%d frames=%d unaccounted=%d server_rss_mb_per_h=%s device_rss_mb_per_h=%s "
            "fds_growth=%d p99_ms_max=%s judged=%s"
            % (args.minutes, args.cameras, frames, unaccounted, fmt(server_growth), fmt(device_growth), fds_growth,
               fmt(max(p99s) if p99s else None, "%.1f"), "yes" if judged else "no"))
    with open(os.path.join(folder, "soak.json"), "w") as f:
        json.dump({"args": vars(args), "t0_wall": soak.t0, "actions": soak.events.actions,
                   "processes": [{"process": x.label, "kind": x.kind, "pid": x.proc.pid, "start_s": round(x.start_s, 2),
                                  "end_s": round(x.end_s, 2) if x.end_s is not None else None,
                                  "rc": x.proc.returncode} for x in soak.lives],
                   "ledger": rows, "strays": strays, "unaccounted": unaccounted, "windows": windows,
                   "growth": growth, "relays": relays, "failures": soak.failures, "last_line": last}, f, indent=1)
    print("soak-bench: relays (RTP in / forwarded per camera): %s"
          % ", ".join("%d/%d" % (r["rtp"], r["rtp_sent"]) for r in relays))
    print(last, flush=True)
    return 0 if unaccounted == 0 and not over and not soak.failures else 1


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--minutes", type=float, default=60, help="length of the run (the restarts scale with it)")
    p.add_argument("--cameras", type=int, default=4)
    p.add_argument("--fps", type=int, default=30, help="each camera's frame rate")
    p.add_argument("--policy", default="mpc", help="the devices' --policy")
    p.add_argument("--deadline", type=float, default=150, help="the devices' frame deadline, ms (and 'on time')")
    p.add_argument("--loss", type=float, default=5.0, help="%% of RTP packets each relay drops at random")
    p.add_argument("--jitter-ms", type=float, default=30.0, help="each RTP packet is held a uniform 0..this ms")
    p.add_argument("--seed", type=int, default=19, help="the relays' random seed")
    p.add_argument("--sample-seconds", type=float, default=None,
                   help="RSS/fds sample interval (default 60 s; runs under 20 min: a twentieth of the run)")
    p.add_argument("--window-minutes", type=float, default=None,
                   help="latency window (default 10 min; runs under 60 min: a sixth of the run)")
    p.add_argument("--warmup-minutes", type=float, default=5, help="each process's samples ignored at its start")
    p.add_argument("--judge-minutes", type=float, default=10,
                   help="growth is judged for processes that lived this long past their warm-up")
    p.add_argument("--rss-limit", type=float, default=1.0, help="MB/hour of RSS growth that fails the run")
    p.add_argument("--model", default=os.path.join(ROOT, "models", "zoo", "fashion-mnist-swcnn.rcib"))
    p.add_argument("--port", type=int, default=6500, help="the server's port; the relays listen on port+12 and up")
    p.add_argument("--server-arg", action="append", default=[], help="one more pipelines/server argument (repeat)")
    p.add_argument("--device-arg", action="append", default=[], help="one more pipelines/device argument (repeat)")
    p.add_argument("--keep", default="", help="keep the logs, samples and results in this folder")
    args = p.parse_args()
    if args.sample_seconds is None:
        args.sample_seconds = 60.0 if args.minutes >= 20 else max(3.0, args.minutes * 3.0)
    if args.window_minutes is None:
        args.window_minutes = min(10.0, args.minutes / 6.0)
    if args.minutes <= 0 or args.cameras < 1 or args.sample_seconds <= 0 or args.window_minutes <= 0:
        p.error("--minutes, --cameras, --sample-seconds and --window-minutes must be positive")
    if not os.path.exists(args.model):
        sys.exit("soak-bench: no model %s" % args.model)
    # the plugins of this checkout, as the integration tests use them
    os.environ.setdefault("GST_PLUGIN_PATH", os.path.join(ROOT, "build", "plugins"))
    folder = args.keep or tempfile.mkdtemp(prefix="soak-bench-")
    os.makedirs(folder, exist_ok=True)
    print("soak-bench: %g min, %d cameras at %d fps (policy %s) through relays with %g %% loss and 0-%g ms jitter; "
          "server restart at %.1f min, device restart at %.1f min; samples every %g s, %g-min windows; logs in %s"
          % (args.minutes, args.cameras, args.fps, args.policy, args.loss, args.jitter_ms,
             SERVER_RESTART_AT * args.minutes, DEVICE_RESTART_AT * args.minutes, args.sample_seconds,
             args.window_minutes, folder), flush=True)

    def on_term(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)
    soak = Soak(args, folder)
    rc = 1
    try:
        soak.run()
        soak.cleanup()
        rc = report(soak, args, folder)
    except BenchFailure as e:
        soak.cleanup()
        print("soak-bench: FAILED: %s" % e, flush=True)
    except KeyboardInterrupt:
        print("soak-bench: interrupted; stopping every process", flush=True)
    finally:
        soak.cleanup()
    if not args.keep and rc == 0:
        shutil.rmtree(folder, ignore_errors=True)
    elif not args.keep:
        print("soak-bench: logs kept in %s" % folder)
    return rc


if __name__ == "__main__":
    sys.exit(main())
