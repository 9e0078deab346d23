#!/usr/bin/python3
"""loss-bench: what random packet loss costs, with and without loss protection.

One device (pipelines/device: the rtcoinfersink bin, policy mpc, 30 fps, Fashion-MNIST
test images, 150 ms deadline) streams into one server (pipelines/server) through a UDP
relay on loopback that drops each RTP packet at random with the given probability; RTCP
goes both ways untouched (tests/integration/lossy_link.py). For each loss rate it runs
the device with its default loss protection (the controller plans with the loss and may
send ULPFEC copies) and with --no-fec (loss-aware planning only), and reports the
effective accuracy (frames answered correctly within the deadline over every frame the
device captured), the frames answered, p99 latency, the frames the device protected and
the packets the server rebuilt. Every run must account for every frame.
Last line: loss-bench: eff_0=... eff_1=... eff_10=... eff_30=... (the default protection)
Usage: loss_bench.py [--losses 0,1,10,30] [--frames 300] [--port 5800] [--modes fec,no-fec]
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import fail  # noqa: E402
from lossy_link import run  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--losses", default="0,1,10,30", help="packet loss rates, percent")
    p.add_argument("--frames", type=int, default=300)
    p.add_argument("--port", type=int, default=5800)
    p.add_argument("--modes", default="fec,no-fec", help="fec (the default protection), no-fec (--no-fec)")
    args = p.parse_args()
    losses = [float(x) for x in args.losses.split(",")]
    modes = args.modes.split(",")
    print("| loss % | protection | effective % | answered | on time | p99 ms | frames protected | packets rebuilt |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    effective = {}
    for loss in losses:
        for mode in modes:
            r = run(args.port, loss / 100.0, args.frames, device_args=("--no-fec",) if mode == "no-fec" else ())
            st = r["stream"]
            if st["results"] + st["dropped"] + st["missing"] != args.frames or r["numbered"] != args.frames:
                fail("%g %% %s: %d results + %d dropped + %d missing for %d frames" % (
                    loss, mode, st["results"], st["dropped"], st["missing"], args.frames))
            print("| %g | %s | %.1f | %d | %d | %.1f | %d | %d |" % (
                loss, "ULPFEC when it pays" if mode == "fec" else "none (loss-aware plan only)", r["effective"],
                r["results"], r["on_time"], r["p99_ms"], r["rate"].get("protected-frames", 0),
                st.get("fec-recovered", 0)), flush=True)
            effective[(loss, mode)] = r["effective"]
    mode = modes[0]
    print("loss-bench: " + " ".join("eff_%g=%.1f" % (loss, effective[(loss, mode)]) for loss in losses)
          + " mode=%s frames=%d unaccounted=0" % (mode, args.frames))


if __name__ == "__main__":
    main()
