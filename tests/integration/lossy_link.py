"""One device streaming into one server through a loopback relay that drops each RTP
packet at random with probability `loss` (RTCP goes both ways untouched), and what came
of its frames. Used by test_loss_protection.py and tests/bench/loss_bench.py."""
import json
import random

from harness import fail, start_device, start_server, summary
from relay import Relay


def run(port, loss, frames=300, deadline_ms=150, seed=7, device_args=()):
    """Runs the device (pipelines/device, 30 fps, policy mpc, Fashion-MNIST test images)
    through the relay on port + 10 into pipelines/server on `port`. Returns a dict:
    frames, results, on_time and correct_on_time (capture -> result within the deadline,
    as the server measures it), effective (correct and on time over every frame, %),
    p50/p99 latency, the server's stream counters (`stream`), the device's controller
    counters (`rate`) and the relay's packet counts."""
    rng = random.Random(seed)
    relay = Relay(port, port + 10, lambda data: [] if rng.random() < loss else [(0, data)])
    try:
        server = start_server(port, "--idle-exit", "3", "--print-results")
        device = start_device(port + 10, "--policy", "mpc", "--frames", str(frames), "--framerate", "30/1",
                              "--deadline", str(deadline_ms), *device_args)
        dev, _ = summary(device, "device", timeout=300)
        out = server.communicate(timeout=120)[0]
    finally:
        relay.close()
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    servers = [x for x in lines if x.get("role") == "server" and "streams" in x]
    if not servers or len(servers[-1]["streams"]) != 1:
        fail("no server summary with one stream")
    (stream,) = servers[-1]["streams"].values()
    results = [x for x in lines if "latency_ms" in x]
    on_time = [r for r in results if r["latency_ms"] <= deadline_ms]
    correct = [r for r in on_time if r.get("correct")]
    lat = sorted(r["latency_ms"] for r in results) or [0.0]
    return {"loss": loss, "frames": frames, "numbered": dev["rate"]["frames"], "results": len(results),
            "on_time": len(on_time), "correct_on_time": len(correct),
            "effective": 100.0 * len(correct) / frames, "p50_ms": lat[len(lat) // 2],
            "p99_ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))], "stream": stream, "rate": dev["rate"],
            "relay": dict(relay.counts)}
