#!/usr/bin/python3
"""The device pipeline reads an RTSP stream served by gst-rtsp-server (Fashion-MNIST
frames as JPEG over RTP) and results arrive at the server over RTP.
Usage: test_rtsp.py RTSP_PORT RTP_PORT"""
import json
import signal
import sys
import threading
import time

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

from harness import check, start_device, start_server  # noqa: E402

rtsp_port, port = sys.argv[1], int(sys.argv[2])
Gst.init(None)
rtsp = GstRtspServer.RTSPServer()
rtsp.set_service(rtsp_port)
factory = GstRtspServer.RTSPMediaFactory()
# RTP/JPEG needs sizes in multiples of 8: 28x28 is scaled to 64x64; the head scales back.
factory.set_launch("( rtcoinfer-datasetsrc is-live=true framerate=30/1 loop=true ! videoconvert ! videoscale "
                   "! video/x-raw,width=64,height=64,format=I420 ! jpegenc ! rtpjpegpay name=pay0 pt=26 )")
factory.set_shared(True)
rtsp.get_mount_points().add_factory("/fmnist", factory)
rtsp.attach(None)
loop = GLib.MainLoop()
threading.Thread(target=loop.run, daemon=True).start()

lines = []
server = start_server(port, "--print-results")


def read():
    for line in server.stdout:
        try:
            lines.append(json.loads(line))
        except ValueError:
            pass


threading.Thread(target=read, daemon=True).start()
device = start_device(port, "--source", "rtsp://127.0.0.1:%s/fmnist" % rtsp_port)
end = time.time() + 60
while time.time() < end and len([x for x in lines if "latency_ms" in x]) < 30:
    time.sleep(0.2)
got = len([x for x in lines if "latency_ms" in x])
device.send_signal(signal.SIGTERM)
server.send_signal(signal.SIGTERM)
device.wait(timeout=30)
server.wait(timeout=30)
loop.quit()
check(got >= 30, "results arrive from an rtspsrc device pipeline (%d)" % got)
