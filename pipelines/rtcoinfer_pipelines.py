"""Device and server pipeline descriptions for gst-rtcoinfer, and a small runner.

The descriptions are plain gst-launch-1.0 syntax (print them with --print and paste
them into a shell); the runner adds what a one-liner cannot: a summary of the
elements' stats at the end, live result lines, and an idle timeout for the server.
"""
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import warnings

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402

TWCC_URI = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_MODEL = os.path.join(REPO, "models", "zoo", "fashion-mnist-swcnn.rcib")
RTP_CAPS = ("application/x-rtp,media=application,clock-rate=90000,encoding-name=X-GST,payload=96,"
            'extmap-5=(string)"%s"' % TWCC_URI)


def source_description(args):
    """The camera part of the device pipeline, ending in raw video."""
    n = "num-buffers=%d" % args.frames if args.frames > 0 else ""
    kind = args.source
    if kind == "dataset":
        # --frames N is N frames: past the split's end the images start over (loop)
        return ("rtcoinfer-datasetsrc is-live=%s framerate=%s split=%s%s %s"
                % ("true" if args.live else "false", args.framerate, args.split,
                   " loop=true" if args.frames > 0 else "", n))
    if kind == "videotestsrc":
        return "videotestsrc is-live=true %s ! video/x-raw,framerate=%s" % (n, args.framerate)
    if kind.startswith("v4l2"):
        dev = kind.partition(":")[2] or "/dev/video0"
        return "v4l2src device=%s %s" % (dev, n)
    if kind.startswith("file:"):
        return "filesrc location=%s ! decodebin" % kind[5:]
    if kind.startswith("rtsp://"):
        return "rtspsrc location=%s latency=0 ! decodebin" % kind
    raise SystemExit("unknown --source %r (dataset, videotestsrc, v4l2[:DEV], file:PATH, rtsp://...)" % kind)


# --policy of pipelines/device: the controller's and the evaluation's baselines.
POLICY_HELP = ("none (the head's setup stays fixed), mpc, rate or fixed[:CxB] (rtcoinfer-mpcrate); the baselines: "
               "offload:png, offload:jpeg[:Q] (send the image; the server runs the whole model), local (the whole "
               "model on the device, nothing sent; see --compute-scale), spinn:T[:CxB] (early exit answers frames at "
               "confidence >= T, the rest go at CxB or --setup; needs --exit), clio:B (B-bit progressive channel "
               "slices, as many as the rate policy allows; the server answers at its slice deadline), oracle "
               "(replay a per-frame plan made offline; needs --schedule). The grammar is the C++ one "
               "(gst/control/policy_spec.h), read through rtcoinfer-policy")


def policy_tool():
    """rtcoinfer-policy: $RTCOINFER_POLICY_TOOL, the build tree's, or the one on PATH."""
    for path in (os.environ.get("RTCOINFER_POLICY_TOOL", ""), os.path.join(REPO, "build", "tools", "rtcoinfer-policy")):
        if path and os.access(path, os.X_OK):
            return path
    found = shutil.which("rtcoinfer-policy")
    if not found:
        raise SystemExit("rtcoinfer-policy not found (scripts/build.sh builds it into build/tools)")
    return found


_parsed = {}


def parse_policy_spec(text):
    """The policy as the C++ grammar reads it: a dict (kind, and setup, codec, quality, bits,
    threshold where they apply), or SystemExit with its one-line reason."""
    if text not in _parsed:
        r = subprocess.run([policy_tool(), text], capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(r.stderr.strip() or "unknown --policy %r: %s" % (text, POLICY_HELP))
        _parsed[text] = json.loads(r.stdout.splitlines()[0])
    return _parsed[text]


def parse_policy(text):
    """(kind, parameter) of a --policy: offload -> (codec, quality), spinn -> threshold,
    clio -> bits, others -> None."""
    p = parse_policy_spec(text)
    kind = p["kind"]
    if kind == "offload":
        return kind, (p["codec"], p.get("quality", 85))
    if kind == "spinn":
        return kind, p["threshold"]
    if kind == "clio":
        return kind, p["bits"]
    return kind, None


def policy_setup(args):
    """The setup the policy names (fixed:CxB, spinn:T:CxB), else --setup."""
    return parse_policy_spec(args.policy).get("setup") or args.setup


def rate_control_description(args):
    """What decides each frame's setup between compress and the payloader: rtcoinfer-mpcrate,
    the oracle's rtcoinfer-schedule, or nothing without a controller."""
    kind, param = parse_policy(args.policy)
    if kind == "oracle":  # the plan decides every frame (rtcoinferbaselines)
        if not getattr(args, "schedule", ""):
            raise SystemExit("--policy oracle needs --schedule (one line per frame: CxB or skip)")
        return "! rtcoinfer-schedule name=rate model=%s schedule=%s " % (args.model, args.schedule)
    if kind not in ("mpc", "rate", "fixed", "clio"):
        return ""
    setup = policy_setup(args)
    extra = " setup=%s" % setup if kind == "fixed" and setup else ""
    if kind == "clio":  # CLIO-style: the rate policy picks how many B-bit slices to send
        kind, extra = "rate", " bits=%d" % param  # the slicer answers what each frame costs sliced
    return ("! rtcoinfer-mpcrate name=rate model=%s policy=%s deadline=%g%s "
            % (args.model, kind, args.deadline, extra))


def link_description(args):
    """An in-process bottleneck in front of the UDP sink (--link RATE_KBPS or --link-trace FILE)."""
    if getattr(args, "link_trace", ""):
        return ("! rtcoinfer-bottleneck name=link trace=%s trace-scale=%g delay=%g queue-size=%d "
                % (args.link_trace, args.link_scale, args.link_delay, args.link_queue))
    if getattr(args, "link", 0) > 0:
        return ("! rtcoinfer-bottleneck name=link rate=%g delay=%g queue-size=%d "
                % (args.link, args.link_delay, args.link_queue))
    return ""


def slow_device_description(args):
    """rtcoinfer-classify's emulation of a slower device (--compute-scale, --compute-time)."""
    return "compute-scale=%g compute-time=%g " % (getattr(args, "compute_scale", 1.0), getattr(args, "compute_time", 0.0))


def schedule_first_setup(path):
    """The first setup a schedule file sends (the head starts there), or None."""
    for line in open(path):
        line = line.strip()
        if line and not line.startswith("#") and line != "skip":
            return line
    return None


def encoder_description(args):
    """Raw video in, what the policy sends out (feature frames or image frames)."""
    kind, param = parse_policy(args.policy)
    if policy_setup(args) == "all":
        raise SystemExit("--policy fixed:all is the trace study's; a pipeline runs one setup (fixed:CxB)")
    args.setup = policy_setup(args) or ""
    if kind == "oracle" and getattr(args, "schedule", "") and not args.setup:
        args.setup = schedule_first_setup(args.schedule) or ""
    head = ("rtcoinfer-head name=head model={model} {setup} threads={threads} "
            .format(model=args.model, setup="setup=%s" % args.setup if args.setup else "", threads=args.threads))
    if kind == "offload":
        codec, quality = param
        return "rtcoinfer-imageenc name=enc codec=%s quality=%d " % (codec, quality)
    if kind == "spinn":
        if not getattr(args, "exit", ""):
            raise SystemExit("--policy spinn:T needs --exit (a folder written by rtcoinfer-train exit)")
        head = ("rtcoinfer-earlyexit name=exit model=%s exit=%s exit-threshold=%g threads=%d ! "
                % (args.model, args.exit, param, args.threads)) + head
    out = head + "! rtcoinfer-compress name=compress entropy=%s " % args.entropy + rate_control_description(args)
    if kind == "clio":
        out += "! rtcoinfer-slicer name=slicer model=%s " % args.model
    return out


# The policies the device bin runs (rtcoinfer-mpcrate's); the others are the evaluation's
# experiments, composed of elements below.
BIN_POLICIES = ("mpc", "rate", "fixed")


def device_bin_description(args):
    """The product device: the rtcoinfersink bin. Its RTCP leaves from a free port of its
    own (rtcp-port 0, the bin's default), where the server's RTCP comes back."""
    kind, _ = parse_policy(args.policy)
    setup = policy_setup(args)
    if setup == "all":
        raise SystemExit("--policy fixed:all is the trace study's; a pipeline runs one setup (fixed:CxB)")
    host = "[%s]" % args.server if ":" in args.server else args.server
    return ("{src} ! videoconvert ! rtcoinfersink name=device model={model} server={host}:{port} "
            "policy={policy} deadline={deadline:g} threads={threads} entropy={entropy}{setup}{rtcp}{name}{server_latency}"
            "{fec}"
            .format(src=source_description(args), model=args.model, host=host, port=args.port,
                    policy=kind, deadline=args.deadline, threads=args.threads, entropy=args.entropy,
                    server_latency=(" server-latency=%s" % args.server_latency
                                    if getattr(args, "server_latency", "auto") != "auto" else ""),
                    setup=" setup=%s" % setup if setup else "",
                    rtcp=" rtcp-port=%d" % args.rtcp_port if getattr(args, "rtcp_port", 0) else "",
                    name=" stream-id=%s" % shlex.quote(args.stream_id) if getattr(args, "stream_id", "") else "",
                    fec=" fec=false" if getattr(args, "no_fec", False) else ""))


def link_element(args):
    """--link / --link-trace as an rtcoinfer-bottleneck for rtcoinfersink's rtp-filter, or None."""
    props = {}
    if getattr(args, "link_trace", ""):
        props = {"trace": args.link_trace, "trace-scale": args.link_scale}
    elif getattr(args, "link", 0) > 0:
        props = {"rate": args.link}
    if not props:
        return None
    link = Gst.ElementFactory.make("rtcoinfer-bottleneck", "link")
    if link is None:
        raise SystemExit("--link needs rtcoinfer-bottleneck (the rtcoinfertest plugin)")
    for k, v in {**props, "delay": args.link_delay, "queue-size": args.link_queue}.items():
        link.set_property(k, v)
    return link


def device_description(args):
    kind, _ = parse_policy(args.policy)
    if kind in BIN_POLICIES:
        return device_bin_description(args)
    camera = "{src} ! queue name=camera max-size-buffers=4 ! videoconvert ! ".format(src=source_description(args))
    if kind == "local":
        return camera + ("rtcoinfer-classify name=head model={model} threads={threads} {slow}"
                         "! fakesink name=results sync=false async=false"
                         .format(model=args.model, threads=args.threads, slow=slow_device_description(args)))
    return camera + (
        "{encoder}"
        "! rtpgstpay pt=96 mtu=1200 config-interval=1 "
        "! application/x-rtp,extmap-5=(string)\"{uri}\" ! rtp.send_rtp_sink_0 "
        "rtpbin name=rtp rtp-profile=avpf "
        "rtp.send_rtp_src_0 {link}! udpsink name=rtpsink host={server} port={port} sync=false async=false "
        "rtp.send_rtcp_src_0 ! udpsink name=rtcpsink host={server} port={rtcp} sync=false async=false "
        "udpsrc address={bind} port={rtcp_back} ! rtp.recv_rtcp_sink_0"
    ).format(encoder=encoder_description(args), uri=TWCC_URI, link=link_description(args),
             server=args.server, port=args.port, rtcp=args.port + 1, bind=args.bind, rtcp_back=args.port + 5)


def results_sink(args):
    return "filesink location=%s" % args.results if args.results else "fakesink sync=false async=false"


def http_properties(args):
    """--http-port/--http-address/--http-token as the results service's properties."""
    if not getattr(args, "http_port", 0):
        return ""
    http = "http-port=%d http-address=%s " % (args.http_port, args.http_address)
    if args.http_token:
        http += "http-token=%s " % args.http_token
    return http


def server_bin_description(args):
    """The product server: the rtcoinfersrc bin, any number of devices on one port."""
    return ("rtcoinfersrc name=server model={model} address={bind} port={port} latency={jitter} "
            "max-latency={max_latency:g} threads={threads} rtcp-bandwidth={bw:g} idle-timeout={idle:g} "
            "stream-timeout={stream_timeout:g} max-queue={max_queue} max-batch={max_batch} "
            "batch-timeout={batch_timeout:g} {http}! {sink}"
            .format(model=args.model, bind=args.bind, port=args.port, jitter=args.jitter,
                    max_latency=args.max_latency, threads=args.threads, bw=args.rtcp_bandwidth,
                    idle=args.idle_exit, stream_timeout=args.stream_timeout, max_queue=args.max_queue,
                    max_batch=args.max_batch, batch_timeout=args.batch_timeout,
                    http=http_properties(args), sink=results_sink(args)))


def server_description(args, link_rtpbin=True):
    """The baselines' server (image offload, CLIO-style slices), one stream: composed of
    elements, with the rtpbin's RTP source pad left for the caller to link when
    link_rtpbin is False (pipelines/server relinks it for a new stream)."""
    sink = results_sink(args)
    http = http_properties(args)
    kind, _ = parse_policy(getattr(args, "policy", "none"))
    if kind == "offload":  # image frames: decoded, then the whole model (rtcoinferbaselines)
        if http:
            raise SystemExit("--http-port serves rtcoinfer-tail's results; image offload is answered by "
                             "rtcoinfer-classify, which has no results service")
        answer = ("rtcoinfer-imagedec name=imagedec ! rtcoinfer-classify name=tail model={model} threads={threads} "
                  .format(model=args.model, threads=args.threads))
    else:
        answer = ("rtcoinfer-tail name=tail model={model} threads={threads} max-latency={max_latency} {http}"
                  .format(model=args.model, threads=args.threads, max_latency=args.max_latency, http=http))
        if kind == "clio":  # slices are joined before the tail (rtcoinferbaselines)
            answer = ("rtcoinfer-sliceassembler name=assembler model={model} slice-deadline={deadline} ! "
                      .format(model=args.model, deadline=getattr(args, "slice_deadline", 140.0))) + answer
    return (
        "udpsrc address={bind} port={port} buffer-size=8388608 caps=\"{caps}\" ! rtp.recv_rtp_sink_0 "
        "rtpbin name=rtp rtp-profile=avpf latency={jitter} {link}"
        "rtpgstdepay name=depay ! {answer}! {sink} "
        "udpsrc address={bind} port={rtcp} ! rtp.recv_rtcp_sink_0 "
        "rtp.send_rtcp_src_0 ! udpsink host={device} port={rtcp_back} sync=false async=false"
    ).format(bind=args.bind, port=args.port, caps=RTP_CAPS.replace('"', '\\"'), jitter=args.jitter,
             link="! " if link_rtpbin else "", answer=answer, sink=sink,
             rtcp=args.port + 1, device=args.device, rtcp_back=args.port + 5)


def dashboard_url(args):
    """Where the server's results service answers, or None without --http-port."""
    if not getattr(args, "http_port", 0):
        return None
    host = "127.0.0.1" if args.http_address in ("0.0.0.0", "::") else args.http_address
    host = "[%s]" % host if ":" in host else host
    return "http://%s:%d/" % (host, args.http_port) + ("?token=%s" % args.http_token if args.http_token else "")


def add_common_arguments(parser):
    parser.add_argument("--model", default=DEFAULT_MODEL, help="model bundle (default: the shipped one)")
    parser.add_argument("--port", type=int, default=5000,
                        help="RTP port on the server; RTCP uses port+1 (to the server) and port+5 (to the device)")
    parser.add_argument("--bind", default="127.0.0.1", help="local address to listen on")
    parser.add_argument("--threads", type=int, default=1, help="LibTorch threads for head/tail")
    parser.add_argument("--print", action="store_true", help="print the gst-launch-1.0 description and exit")


def structure_to_dict(s):
    """GstStructure -> dict, through its serialization-independent fields."""
    out = {}
    for i in range(s.n_fields()):
        name = s.nth_field_name(i)
        try:
            value = s.get_value(name)
        except TypeError:  # GstValueArray has no Python mapping: go through GValueArray
            ok, arr = s.get_array(name)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                items = [arr.get_nth(k) for k in range(arr.n_values)] if ok else []
            value = [structure_to_dict(v) if isinstance(v, Gst.Structure) else v for v in items]
        if isinstance(value, Gst.Structure):
            value = structure_to_dict(value)
        elif not isinstance(value, (int, float, str, bool, list)):
            value = str(value)
        out[name] = value
    return out


def element_stats(pipeline, name):
    element = pipeline.get_by_name(name)
    return structure_to_dict(element.get_property("stats")) if element else {}


# RTCP bandwidth (bytes/s) of the server's receiving session. rtpsession sends the TWCC
# feedback inside RTCP, early when a later packet arrives but at most one early packet
# per regular interval, and that interval follows the RTCP bandwidth, by default 5 % of
# the stream's: a 20 kbit/s stream got feedback every 300 ms (p90 600 ms), a 250 kbit/s
# one every 67 ms, and mpcrate read the silence as a stuck queue. With 20 000 bytes/s the
# feedback comes every 34 ms (p90 65 ms) at any stream rate; what is really sent stays
# one compound packet per feedback, about 3 kB/s. gst-launch cannot set it (it is a
# property of the session, not of rtpbin): an application does it as below.
FEEDBACK_RTCP_BANDWIDTH = 20000.0


def set_rtcp_bandwidth(pipeline, bytes_per_s, rtpbin_name="rtp"):
    """Sets session 0's rtcp-fraction (an absolute bandwidth above 1.0) of the rtpbin
    called rtpbin_name; 0 leaves GStreamer's default."""
    rtpbin = pipeline.get_by_name(rtpbin_name)
    if not bytes_per_s or rtpbin is None:
        return
    session = rtpbin.emit("get-session", 0)
    if session is None:
        raise SystemExit("set_rtcp_bandwidth: %s has no session 0" % rtpbin_name)
    session.set_property("rtcp-fraction", float(bytes_per_s))


class Runner:
    """Runs one pipeline until EOS, error, a signal or an idle timeout."""

    def __init__(self, description, on_element_message=None):
        Gst.init(None)
        try:
            self.pipeline = Gst.parse_launch(description)
        except GLib.Error as e:
            raise SystemExit("cannot build pipeline: %s" % e.message)
        self.loop = GLib.MainLoop()
        self.on_element_message = on_element_message
        self.error = None
        self.stopping = False
        bus = self.pipeline.get_bus()
        bus.add_signal_watch()
        bus.connect("message", self._on_message)
        for sig in (signal.SIGINT, signal.SIGTERM):
            GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, self._on_signal)
        self._guard_rtcp_eos()

    # rtpsession (GStreamer 1.22) forwards EOS to send_rtcp_src only if, when it sends the
    # BYE, the send_rtp_sink pad already carries the EOS flag. GstPad sets that flag after
    # the event function returns, and the event function itself schedules the BYE, so a
    # busy machine can send the BYE first: the RTCP sink then never gets EOS and the
    # pipeline never posts it, although every packet went out. Once the RTP sink has its
    # EOS, the RTCP sink gets one too if rtpsession has not sent it within this time.
    RTCP_EOS_GRACE_MS = 1000

    def _guard_rtcp_eos(self):
        if self.pipeline.get_by_name("device"):  # rtcoinfersink guards itself
            return
        rtp_sink = self.pipeline.get_by_name("rtpsink")
        rtcp_sink = self.pipeline.get_by_name("rtcpsink")
        if not rtp_sink or not rtcp_sink:
            return
        rtcp_pad = rtcp_sink.get_static_pad("sink")

        def finish_rtcp():
            if rtcp_pad.get_sticky_event(Gst.EventType.EOS, 0) is None:
                print("note: rtpbin did not end its RTCP stream after the BYE (GStreamer 1.22 race); "
                      "ending it", file=sys.stderr, flush=True)
                rtcp_pad.send_event(Gst.Event.new_eos())
            return GLib.SOURCE_REMOVE

        def on_rtp_event(pad, info):
            if info.get_event().type == Gst.EventType.EOS:
                GLib.timeout_add(self.RTCP_EOS_GRACE_MS, finish_rtcp)
            return Gst.PadProbeReturn.OK

        rtp_sink.get_static_pad("sink").add_probe(Gst.PadProbeType.EVENT_DOWNSTREAM, on_rtp_event)

    # On SIGINT/SIGTERM the pipeline gets an EOS, as gst-launch-1.0 -e gives it: a device
    # sends its last frames and its BYE (its final frame count), a server counts each
    # stream up to its newest frame and tells the device where its next server begins.
    # It ends at that EOS, at a second signal, or after this many seconds.
    STOP_GRACE_S = 5

    def _on_signal(self):
        if self.stopping:
            self.loop.quit()
            return GLib.SOURCE_CONTINUE
        self.stopping = True
        self.pipeline.send_event(Gst.Event.new_eos())
        GLib.timeout_add_seconds(self.STOP_GRACE_S, self._on_stop_timeout)
        return GLib.SOURCE_CONTINUE

    def _on_stop_timeout(self):
        print("note: the pipeline did not end within %d s of the stop signal; stopping it" % self.STOP_GRACE_S,
              file=sys.stderr, flush=True)
        self.loop.quit()
        return GLib.SOURCE_REMOVE

    def _on_message(self, bus, msg):
        if msg.type == Gst.MessageType.EOS:
            self.loop.quit()
        elif msg.type == Gst.MessageType.ERROR:
            err, debug = msg.parse_error()
            self.error = "%s: %s" % (msg.src.get_name(), err.message)
            print("ERROR from %s: %s\n  %s" % (msg.src.get_name(), err.message, debug or ""), file=sys.stderr)
            self.loop.quit()
        elif msg.type == Gst.MessageType.WARNING:
            err, debug = msg.parse_warning()
            print("WARNING from %s: %s" % (msg.src.get_name(), err.message), file=sys.stderr)
        elif msg.type == Gst.MessageType.ELEMENT and self.on_element_message:
            self.on_element_message(msg)

    def run(self):
        if self.pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
            # the element's own error message says why; the loop never ran, so print it here
            bus = self.pipeline.get_bus()
            while True:
                msg = bus.pop_filtered(Gst.MessageType.ERROR)
                if msg is None:
                    break
                self._on_message(bus, msg)
            if self.error is None:
                self.error = "the pipeline did not start"
                print("ERROR: the pipeline did not start (no element said why)", file=sys.stderr)
            self.pipeline.set_state(Gst.State.NULL)
            return False
        self.loop.run()
        return self.error is None

    def stop(self):
        self.pipeline.set_state(Gst.State.NULL)


def print_summary(role, stats):
    print(json.dumps({"role": role, **stats}), flush=True)
