"""Shared helpers for the integration tests: start the pipelines/ scripts as separate
processes on loopback, read their JSON summaries, and fail with their output."""
import json
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PIPELINES = os.path.join(REPO, "pipelines")
MODEL = os.environ.get("RTCOINFER_TEST_MODEL", os.path.join(REPO, "models", "zoo", "fashion-mnist-swcnn.rcib"))


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr, flush=True)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)
    print("ok: " + msg, flush=True)


def start_server(port, *extra):
    """Starts pipelines/server and waits for its 'listening' line."""
    p = subprocess.Popen([os.path.join(PIPELINES, "server"), "--model", MODEL, "--port", str(port), *extra],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    if not line:
        fail("server did not start: " + p.stderr.read())
    return p


def start_device(port, *extra):
    return subprocess.Popen([os.path.join(PIPELINES, "device"), "--model", MODEL, "--port", str(port), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


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
