"""A UDP relay on loopback between a device and its server, for tests of what a link does.

The device sends to relay_port (RTP) and relay_port + 1 (RTCP); the relay forwards to the
server's port and port + 1. RTCP goes both ways untouched (the server's RTCP back to the
address the device's came from). Each RTP packet goes through `rtp(data)`, which returns
the copies to send as (delay in seconds, bytes): [] drops it, [(0, data)] forwards it at
once, a delay holds it that long, so packets may overtake each other as on a jittery
link. `counts` has the packets seen per direction.
"""
import heapq
import socket
import threading
import time


def _udp(bind_port=0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", bind_port))
    s.settimeout(0.2)
    return s


class Relay:
    def __init__(self, port, relay_port, rtp):
        self.port, self.rtp = port, rtp
        self.rtp_in, self.rtcp_in = _udp(relay_port), _udp(relay_port + 1)
        self.rtp_out, self.rtcp_out = _udp(), _udp()
        self.device_rtcp = None
        self.counts = {"rtp": 0, "rtp_sent": 0, "rtcp_up": 0, "rtcp_down": 0}
        self.stop = threading.Event()
        self.queue, self.order = [], 0  # (send at, order, bytes): a heap
        self.wake = threading.Condition()
        self.threads = [threading.Thread(target=f, daemon=True)
                        for f in (self._rtp_in, self._rtp_out, self._rtcp_up, self._rtcp_down)]
        for t in self.threads:
            t.start()

    def close(self):
        self.stop.set()
        with self.wake:
            self.wake.notify()
        for t in self.threads:
            t.join(timeout=5)

    def _received(self, sock):
        """The datagrams `sock` receives, with their sender, until the relay stops."""
        while not self.stop.is_set():
            try:
                yield sock.recvfrom(65536)
            except socket.timeout:
                continue

    def _rtp_in(self):
        for data, _ in self._received(self.rtp_in):
            self.counts["rtp"] += 1
            now = time.monotonic()
            with self.wake:
                for delay, copy in self.rtp(data):
                    heapq.heappush(self.queue, (now + delay, self.order, copy))
                    self.order += 1
                self.wake.notify()

    def _rtp_out(self):
        while not self.stop.is_set():
            with self.wake:
                while not self.stop.is_set() and (not self.queue or self.queue[0][0] > time.monotonic()):
                    self.wake.wait(timeout=(self.queue[0][0] - time.monotonic()) if self.queue else 0.2)
                if self.stop.is_set():
                    return
                _, _, data = heapq.heappop(self.queue)
            self.rtp_out.sendto(data, ("127.0.0.1", self.port))
            self.counts["rtp_sent"] += 1

    def _rtcp_up(self):
        for data, addr in self._received(self.rtcp_in):
            self.device_rtcp = addr
            self.counts["rtcp_up"] += 1
            self.rtcp_out.sendto(data, ("127.0.0.1", self.port + 1))

    def _rtcp_down(self):
        for data, _ in self._received(self.rtcp_out):
            if self.device_rtcp:
                self.counts["rtcp_down"] += 1
                self.rtcp_in.sendto(data, self.device_rtcp)
