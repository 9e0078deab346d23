"""Shared helpers for the integration tests: start the pipelines/ scripts as separate
processes on loopback, read their JSON summaries, and fail with their output."""
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PIPELINES = os.path.join(REPO, "pipelines")
MODEL = os.environ.get("RTCOINFER_TEST_MODEL", os.path.join(REPO, "models", "zoo", "fashion-mnist-swcnn.rcib"))


STARTED = []  # every process start_server/start_device started: fail() ends them


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr, flush=True)
    for p in STARTED:  # a failed test leaves no server or device running on its ports
        if p.poll() is None:
            p.kill()
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)
    print("ok: " + msg, flush=True)


def write_synthetic_traces(folder):
    """Two traces in the ../shared/traces format (Mbit/s): step.txt, a 4x step down and
    back, and wave.txt, a link that moves every second."""
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "step.txt"), "w") as f:
        f.write("0\t0.6\n10\t0.15\n20\t0.6\n")
    with open(os.path.join(folder, "wave.txt"), "w") as f:
        for t in range(30):
            f.write("%d %g\n" % (t, [0.8, 0.3, 0.1, 0.4][t % 4]))


def start_server(port, *extra):
    """Starts pipelines/server and waits for its 'listening' line."""
    p = subprocess.Popen([os.path.join(PIPELINES, "server"), "--model", MODEL, "--port", str(port), *extra],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    STARTED.append(p)
    line = p.stdout.readline()
    if not line:
        fail("server did not start: " + p.stderr.read())
    return p


def start_device(port, *extra):
    p = subprocess.Popen([os.path.join(PIPELINES, "device"), "--model", MODEL, "--port", str(port), *extra],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    STARTED.append(p)
    return p


def summary(proc, role, timeout=600):
    """Waits for a pipelines/ process and returns its final JSON summary line."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        fail("%s timed out; stderr:\n%s" % (role, err[-3000:]))
    for line in reversed(out.strip().splitlines()):
        try:
            s = json.loads(line)
        except ValueError:
            continue
        if s.get("role") == role and role in ("device", "server") and ("tail" in s or "head" in s):
            return s, err
    fail("no %s summary (rc=%s); stderr:\n%s" % (role, proc.returncode, err[-3000:]))


def wait_until(pred, timeout, what):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return
        time.sleep(0.1)
    fail("timed out waiting for " + what)


def http_get(port, path, headers=None, timeout=10):
    """GET on the loopback results service: (status, headers dict, body bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        conn.close()


def raw_http(port, data, timeout=10):
    """Sends raw request bytes; returns the status code (0 if the server closed without one)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(data)
        except OSError:  # the server may close while an oversized request is still going out
            pass
        reply = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                reply += chunk
        except OSError:
            pass
    if not reply.startswith(b"HTTP/1.1 "):
        return 0, reply
    return int(reply[9:12]), reply


def wait_http(port, proc, timeout=60, headers=None):
    """Waits until the server's results service answers (the tail starts it when the
    pipeline starts, after the 'listening' line)."""
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            fail("server exited: " + proc.stderr.read()[-3000:])
        try:
            if http_get(port, "/api/stats", headers, timeout=2)[0] in (200, 401):
                return
        except OSError:
            pass
        time.sleep(0.2)
    fail("results service on port %d did not come up" % port)


class EventReader(threading.Thread):
    """Reads /api/events in a thread: (arrival time, event type, id, data) per event."""

    def __init__(self, port, keep=True):
        super().__init__(daemon=True)
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.conn.request("GET", "/api/events")
        self.response = self.conn.getresponse()
        if self.response.status != 200:
            fail("/api/events answered %d" % self.response.status)
        self.keep = keep
        self.events = []
        self.count = 0
        self.start()

    def run(self):
        record = {}
        try:
            for line in self.response:
                line = line.decode().rstrip("\n")
                if line.startswith("id: "):
                    record["id"] = int(line[4:])
                elif line.startswith("event: "):
                    record["event"] = line[7:]
                elif line.startswith("data: "):
                    record["data"] = line[6:]
                elif not line and "id" in record:
                    self.count += 1
                    if self.keep:
                        self.events.append((time.time(), record["event"], record["id"], json.loads(record["data"])))
                    record = {}
        except (OSError, ValueError, AttributeError, http.client.HTTPException):
            pass  # closed by close(), or the server ended: the events so far stand

    def close(self):
        self.conn.sock and self.conn.sock.shutdown(socket.SHUT_RDWR)
        self.conn.close()
