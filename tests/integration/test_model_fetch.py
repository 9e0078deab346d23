#!/usr/bin/python3
"""rtcoinfer-head model=http://.../models/<id>: the failures a user must understand.
A server that is down, a server that answers 404, and a server that sends a bundle
other than the one the URL names each stop the pipeline with an error that says so,
and nothing is cached. (The successful fetch, byte-identical, is in
test_results_service.py, from a live rtcoinfer-tail.)
Usage: test_model_fetch.py"""
import hashlib
import http.server
import os
import socket
import subprocess
import tempfile
import threading

from harness import MODEL, check

bundle = open(MODEL, "rb").read()
model_id = hashlib.sha256(bundle[:-32]).hexdigest()
# A valid bundle with one metadata byte changed: it hashes to another id.
other = bytearray(bundle[:-32])
other[40] ^= 0x20
other = bytes(other) + hashlib.sha256(other).digest()
cache = tempfile.mkdtemp()


def head_error(url):
    """Runs a one-frame head pipeline on url; returns (exit code, stderr)."""
    p = subprocess.run(["gst-launch-1.0", "-q", "videotestsrc", "num-buffers=1", "!", "videoconvert", "!",
                        "rtcoinfer-head", "model=" + url, "!", "fakesink"],
                       capture_output=True, text=True, timeout=120, env=dict(os.environ, XDG_CACHE_HOME=cache))
    return p.returncode, p.stderr


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path != "/models/" + model_id:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(other)))
        self.end_headers()
        self.wfile.write(other)

    def log_message(self, *args):
        pass


with socket.socket() as s:  # a port nobody listens on
    s.bind(("127.0.0.1", 0))
    free_port = s.getsockname()[1]
rc, err = head_error("http://127.0.0.1:%d/models/%s" % (free_port, model_id))
check(rc != 0 and "Cannot fetch model bundle" in err and "download failed" in err,
      "server down: the head fails and says the download failed\n  " + err.strip().splitlines()[0])

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
port = server.server_address[1]
rc, err = head_error("http://127.0.0.1:%d/models/%s" % (port, "0" * 64))
check(rc != 0 and "HTTP 404" in err, "unknown model: the head reports the server's 404")
rc, err = head_error("http://127.0.0.1:%d/models/%s" % (port, model_id))
check(rc != 0 and "content hash mismatch" in err and model_id in err
      and hashlib.sha256(other[:-32]).hexdigest() in err,
      "another bundle under this id: the head names both hashes")
rc, err = head_error("http://127.0.0.1:%d/models/latest" % port)
check(rc != 0 and "must end in /models/<model id>" in err, "a URL without the model id is refused")
server.shutdown()
check(not os.path.exists(os.path.join(cache, "rtcoinfer", model_id + ".rcib")), "nothing was cached")
