"""Network namespaces for the tests and benchmarks whose devices need addresses of their
own: one server namespace, and per device a namespace joined to it by a veth pair,
optionally behind a tc tbf bottleneck (rate, 1600 B burst, a queue of 50 ms, then drops).
Needs root. Used by tests/integration/test_four_devices.py and tests/bench/fleet_bench.py."""
import subprocess


def run(cmd, on_error):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        on_error("%s failed: %s" % (" ".join(cmd), r.stderr.strip()))
    return r


def delete(namespaces):
    for ns in namespaces:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def make_star(server_ns, device_nss, veth, subnet, rates, on_error):
    """Device i (from 1) in device_nss[i - 1] at SUBNET.i.1 on veth VETHd<i>, the server's
    side at SUBNET.i.2 on VETHs<i>; rates: {i: tc rate} for the devices behind a
    bottleneck (device -> server)."""
    run(["ip", "netns", "add", server_ns], on_error)
    run(["ip", "-n", server_ns, "link", "set", "lo", "up"], on_error)
    for i, ns in enumerate(device_nss, 1):
        dev, srv = "%sd%d" % (veth, i), "%ss%d" % (veth, i)
        run(["ip", "netns", "add", ns], on_error)
        run(["ip", "link", "add", dev, "type", "veth", "peer", "name", srv], on_error)
        run(["ip", "link", "set", dev, "netns", ns], on_error)
        run(["ip", "link", "set", srv, "netns", server_ns], on_error)
        run(["ip", "-n", ns, "addr", "add", "%s.%d.1/24" % (subnet, i), "dev", dev], on_error)
        run(["ip", "-n", server_ns, "addr", "add", "%s.%d.2/24" % (subnet, i), "dev", srv], on_error)
        for where, link in ((ns, dev), (server_ns, srv), (ns, "lo")):
            run(["ip", "-n", where, "link", "set", link, "up"], on_error)
        if rates.get(i):
            run(["tc", "-n", ns, "qdisc", "add", "dev", dev, "root", "tbf", "rate", rates[i], "burst", "1600",
                 "latency", "50ms"], on_error)
