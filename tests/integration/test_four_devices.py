#!/usr/bin/python3
"""Four devices in four network namespaces stream to one server at once.

Namespaces rci4-d1..d5 each reach the server's namespace rci4-srv over a veth pair of
their own (10.79.N.1 -> 10.79.N.2). Device 1's link is a 100 kbit/s tbf, device 2's a
1 Mbit/s one, devices 3 and 4 are unshaped. All four run pipelines/device (the
rtcoinfersink bin, policy mpc) against one pipelines/server (the rtcoinfersrc bin) on
one port. The test captures device 4's RTP on the server's side (an AF_PACKET socket),
kills device 3 with SIGKILL, and then a fifth source in rci4-d5 sends garbage RTP and
replays the captured packets. It checks:
- every device is a stream of its own, at its own address;
- the 100 kbit/s and the 1 Mbit/s devices run different setups at the same time (the
  feedback is per device);
- the kill costs the others nothing: no frame of devices 2 and 4 is lost; device 1's
  thin link loses its first second (mpcrate starts at the largest setup, and the
  stream's caps go with it) and, later, at most a few frames of its own;
- the fifth source changes nothing for the four: its packets are refused (foreign,
  junk) or make no results;
- the killed device's stream is torn down after --stream-timeout;
- every stream's ledger is exact: results + drops + missing = the frames its device
  numbered, and for the devices that finished, the device's own count;
- each device that finished got its own results back (RTCP APP "RCIR"), and only its
  own, with its capture -> received latency in its summary.
Needs root (ip netns, tc): without it the test fails, it does not skip.
Usage: test_four_devices.py PORT"""
import atexit
import json
import os
import random
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

import harness
import netns
from harness import MODEL, PIPELINES, check, fail

port = int(sys.argv[1])
FRAMES = 450  # 15 s at 30 fps
SRV = "rci4-srv"
DEVS = ["rci4-d%d" % i for i in range(1, 6)]
RATES = {1: "100kbit", 2: "1mbit"}
if os.geteuid() != 0:
    fail("needs root for network namespaces and tc (CI runs as root)")


def sh(*cmd, check_rc=True):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if check_rc and r.returncode != 0:
        fail("%s failed: %s" % (" ".join(cmd), r.stderr.strip()))
    return r


def cleanup():
    netns.delete([SRV, *DEVS])


cleanup()
atexit.register(cleanup)  # after harness.fail() has killed the processes
procs = harness.STARTED  # fail() kills them


try:
    # device -> server: a bottleneck that queues 50 ms, then drops
    netns.make_star(SRV, DEVS, "r4", "10.79", RATES, fail)
except SystemExit:
    cleanup()
    raise

env = dict(os.environ)
server = subprocess.Popen(["ip", "netns", "exec", SRV, os.path.join(PIPELINES, "server"), "--model", MODEL,
                           "--bind", "0.0.0.0", "--port", str(port), "--print-results", "--idle-exit", "3",
                           "--stream-timeout", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
procs.append(server)
lines = []


def read_server():
    for line in server.stdout:
        try:
            lines.append((time.time(), json.loads(line)))
        except ValueError:
            pass


threading.Thread(target=read_server, daemon=True).start()
end = time.time() + 60
while not any(x.get("role") == "server" for _, x in lines):
    if server.poll() is not None or time.time() > end:
        fail("the server did not start: " + server.stderr.read()[-2000:])
    time.sleep(0.1)
devices = {}
for i in range(1, 5):
    devices[i] = subprocess.Popen(
        ["ip", "netns", "exec", DEVS[i - 1], os.path.join(PIPELINES, "device"), "--model", MODEL, "--server",
         "10.79.%d.2" % i, "--port", str(port), "--policy", "mpc", "--frames", str(FRAMES), "--framerate", "30/1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    procs.append(devices[i])


def results():
    return [x for _, x in lines if "latency_ms" in x]


def streams_with_results():
    return {r["stream"] for r in results()}


end = time.time() + 90
while len(streams_with_results()) < 4:
    if time.time() > end:
        fail("not every device's results arrived: %s" % streams_with_results())
    time.sleep(0.2)
check(True, "four devices in four namespaces, four streams with results")

# device 4's RTP as it reaches the server, for the replay
capture = tempfile.mktemp()
sniff = ("import socket,struct,sys,time\n"
         "s=socket.socket(socket.AF_PACKET,socket.SOCK_RAW,socket.ntohs(0x0800)); s.bind(('r4s4',0)); s.settimeout(0.2)\n"
         "out=[]; end=time.time()+1.5\n"
         "while time.time()<end and len(out)<200:\n"
         "  try: p=s.recv(65535)\n"
         "  except socket.timeout: continue\n"
         "  ip=p[14:]\n"
         "  if ip[9]!=17: continue\n"
         "  u=ip[(ip[0]&15)*4:]\n"
         "  if struct.unpack('!H',u[2:4])[0]==%d: out.append(u[8:].hex())\n"
         "open(sys.argv[1],'w').write('\\n'.join(out))\n" % port)
sh("ip", "netns", "exec", SRV, "/usr/bin/python3", "-c", sniff, capture)
captured = [bytes.fromhex(h) for h in open(capture).read().split()]
check(len(captured) >= 20, "captured %d of device 4's RTP packets" % len(captured))

devices[3].send_signal(signal.SIGKILL)
devices[3].wait()
killed_at = time.time()

# the fifth source: garbage, junk RTP, RTP of a made-up stream, and the replay
rng = random.Random(7)
garbage = [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 1400))) for _ in range(100)]
junk_rtp = [bytes([0x80, 33]) + os.urandom(10) + os.urandom(200) for _ in range(50)]  # another payload type
made_up = [bytes([0x80, 96]) + struct.pack("!HII", k, k * 3000, 0xdeadbeef) + os.urandom(300) for k in range(50)]
blob = tempfile.mktemp()
with open(blob, "w") as f:
    f.write("\n".join(p.hex() for p in garbage + junk_rtp + made_up + captured))
send = ("import socket,sys,time\n"
        "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
        "for i,h in enumerate(open(sys.argv[1]).read().split()):\n"
        "  s.sendto(bytes.fromhex(h),('10.79.5.2',%d))\n"
        "  s.sendto(bytes.fromhex(h)[:8],('10.79.5.2',%d))\n"  # and RTCP-port junk
        "  time.sleep(0.002)\n" % (port, port + 1))
sh("ip", "netns", "exec", DEVS[4], "/usr/bin/python3", "-c", send, blob)

summaries = {}
for i in (1, 2, 4):
    try:
        out, err = devices[i].communicate(timeout=120)
    except subprocess.TimeoutExpired:
        fail("device %d did not finish" % i)
    s = [json.loads(line) for line in out.splitlines() if line.startswith('{"role": "device"')]
    if not s or not s[-1]["ok"]:
        fail("device %d failed:\n%s" % (i, err[-2000:]))
    summaries[i] = s[-1]
try:
    server.wait(timeout=60)
except subprocess.TimeoutExpired:
    fail("the server did not end 3 s after the devices")
srv = [x for _, x in lines if x.get("role") == "server" and "streams" in x]
if not srv:
    fail("no server summary: " + server.stderr.read()[-2000:])
srv = srv[-1]
by_address = {}
for sid, st in srv["streams"].items():
    host = st["address"].rsplit(":", 1)[0]
    by_address.setdefault(host, []).append((sid, st))
for i in range(1, 5):
    check(len(by_address.get("10.79.%d.1" % i, [])) == 1, "device %d is one stream, at 10.79.%d.1" % (i, i))
stream = {i: by_address["10.79.%d.1" % i][0] for i in range(1, 5)}  # (id, stats)
check(all(summaries[i]["ssrc"] == int(stream[i][0]) for i in (1, 2, 4)), "each stream is named by its device's SSRC")

# different setups at the same time: the seconds all four ran
t0 = min(t for t, x in lines if "latency_ms" in x) + 2
window = [(t, x) for t, x in lines if "latency_ms" in x and t0 <= t <= killed_at]
by = {i: [x["bytes"] for _, x in window if x["stream"] == stream[i][0]] for i in (1, 2)}
setups = {i: statistics.mode(x["setup"] for _, x in window if x["stream"] == stream[i][0]) for i in (1, 2)}
check(by[1] and by[2] and statistics.median(by[1]) * 2 < statistics.median(by[2]) and setups[1] != setups[2],
      "100 kbit/s and 1 Mbit/s devices at once: setups %s vs %s, median bytes %d vs %d"
      % (setups[1], setups[2], statistics.median(by[1]), statistics.median(by[2])))
check(statistics.median(by[1]) <= 100e3 / 8 / 30, "the 100 kbit/s device's frames fit its link")

# the kill and the fifth source cost the others nothing
for i in (2, 4):
    st = stream[i][1]
    check(st["lost"] == 0 and st["dropped"] == 0 and st["restarts"] == 0,
          "device %d lost no frame, none dropped (skipped by its controller: %d)" % (i, st["skipped"]))
st1 = stream[1][1]
seq1 = [x["seq"] for _, x in lines if "latency_ms" in x and x["stream"] == stream[1][0]]
gaps = [b - a - 1 for a, b in zip(seq1, seq1[1:]) if b - a > 1]
check(st1["dropped"] == 0 and st1["restarts"] == 0 and sum(gaps) <= st1["skipped"] + 0.03 * FRAMES,
      "device 1 lost %d frames on its 100 kbit/s link, most before its first result (its first second at its "
      "first setup, and the stream's caps with it); after that gaps of %d frames, its %d skips included"
      % (st1["lost"], sum(gaps), st1["skipped"]))
check(srv["foreign"] >= len(captured) and srv["junk"] >= len(junk_rtp),
      "the replay is refused as foreign (%d) and the junk as junk (%d)" % (srv["foreign"], srv["junk"]))
made = [st for sid, st in srv["streams"].items() if sid == str(0xdeadbeef)]
check(not made or made[0]["results"] == 0, "the made-up stream gave no result")
ended = [x for _, x in lines if x.get("event") == "stream-ended"]
check(any(x["stream"] == stream[3][0] for x in ended) and srv["streams"][stream[3][0]]["ended"],
      "the killed device's stream was torn down after 2 s of silence")

# exact ledgers
for i in range(1, 5):
    sid, st = stream[i]
    check(st["device-frames"] > 0 and st["results"] + st["dropped"] + st["missing"] == st["device-frames"]
          and st["skipped"] + st["lost"] == st["missing"],
          "device %d: %d results + %d dropped + %d missing (%d skipped, %d lost) = %d numbered"
          % (i, st["results"], st["dropped"], st["missing"], st["skipped"], st["lost"], st["device-frames"]))
for i in (1, 2, 4):
    st, r = stream[i][1], summaries[i]["returned"]
    check(st["results"] - 3 <= r["results-received"] <= st["results"] and r["latency-p50-ms"] > 0,
          "device %d got its own results back: %d of the server's %d, capture -> received p50 %.1f ms (server %.1f)"
          % (i, r["results-received"], st["results"], r["latency-p50-ms"], st["latency-p50-ms"]))
for i in (1, 2, 4):
    st, d = stream[i][1], summaries[i]
    check(st["device-frames"] == d["rate"]["frames"] == FRAMES and st["skipped"] == d["rate"]["skips"],
          "device %d's own count agrees: %d frames, %d skipped" % (i, d["rate"]["frames"], d["rate"]["skips"]))
for p in procs:
    if p.poll() is None:
        p.kill()
