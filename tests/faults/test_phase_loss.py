#!/usr/bin/env python3
"""One lost packet at each phase of a transfer, in real time, with
tftp-hpa's client against our server (issue 12, Done when): the request,
a DATA in the middle, the last DATA, the final ACK; and the OACK, with our
own client (tftp-hpa's cannot ask for options). tftp-hpa's client resends
after whole seconds (rexmt 1, its smallest); the server's adaptive timer
and its time-based give-up must carry each case to a complete file.

The relay here drops exactly one chosen packet and forwards everything
else unchanged, keeping the server's transfer IDs apart (one downstream
socket per server TID), so which packet is lost is certain."""
import os
import select
import shutil
import socket
import struct
import tempfile
import threading
import unittest

import faultlib as F
from tftptest import TftpdServer, main

RRQ, WRQ, DATA, ACK, ERROR, OACK = 1, 2, 3, 4, 5, 6


class DropOne(threading.Thread):
    """Relay client <-> server on 127.0.0.1 that drops the first packet
    for which pick(direction, opcode, block, payload_len) is true."""

    def __init__(self, server_port, pick):
        super().__init__(daemon=True)
        self.server_port = server_port
        self.pick = pick
        self.dropped = None
        self.listen = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.listen.bind(("127.0.0.1", 0))
        self.port = self.listen.getsockname()[1]
        self.up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.up.bind(("127.0.0.1", 0))
        self.down = {}      # server TID -> socket the client sees
        self.client = None
        self.stop_r, self.stop_w = os.pipe()

    def decide(self, direction, pkt):
        if self.dropped is not None or len(pkt) < 2:
            return False
        op = struct.unpack(">H", pkt[:2])[0]
        block = struct.unpack(">H", pkt[2:4])[0] if op in (DATA, ACK) and len(pkt) >= 4 else None
        if self.pick(direction, op, block, len(pkt) - 4):
            self.dropped = (direction, op, block)
            return True
        return False

    def run(self):
        while True:
            socks = [self.listen, self.up, self.stop_r] + list(self.down.values())
            r, _, _ = select.select(socks, [], [], 60)
            if self.stop_r in r or not r:
                return
            for s in r:
                pkt, addr = s.recvfrom(70000)
                if s is self.up:  # from the server, TID addr[1]
                    if self.decide("s2c", pkt):
                        continue
                    d = self.down.get(addr[1])
                    if d is None:
                        d = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                        d.bind(("127.0.0.1", 0))
                        self.down[addr[1]] = d
                    d.sendto(pkt, self.client)
                else:  # from the client: to the listening port or a TID
                    self.client = addr
                    if self.decide("c2s", pkt):
                        continue
                    if s is self.listen:
                        self.up.sendto(pkt, ("127.0.0.1", self.server_port))
                    else:
                        tid = [t for t, d in self.down.items() if d is s][0]
                        self.up.sendto(pkt, ("127.0.0.1", tid))

    def close(self):
        os.write(self.stop_w, b"x")
        self.join(10)
        for s in [self.listen, self.up] + list(self.down.values()):
            s.close()
        os.close(self.stop_r)
        os.close(self.stop_w)


SIZE = 512 * 6 + 100   # 7 blocks: 1 .. 6 full, 7 short
LAST = 7


class PhaseLoss(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="phase-")
        self.data = F.pattern(SIZE, 7)

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def hpa_get(self, pick):
        local = os.path.join(self.dir, "got.bin")
        with TftpdServer() as srv:
            srv.write("f.bin", self.data)
            relay = DropOne(srv.port, pick)
            relay.start()
            try:
                p = F.run(F.hpa_argv(relay.port), 60,
                          input=F.hpa_script("get f.bin %s" % local))
            finally:
                relay.close()
            log = srv.stop()
        self.assertIsNotNone(relay.dropped, "nothing was dropped")
        with open(local, "rb") as f:
            got = f.read()
        self.assertEqual(len(got), SIZE, (p.stdout, p.stderr, log))
        self.assertTrue(got == self.data, "content differs")
        self.assertNotIn(b"rror", p.stdout + p.stderr)
        return log

    def test_request_lost(self):
        self.hpa_get(lambda d, op, b, n: d == "c2s" and op == RRQ)

    def test_middle_data_lost(self):
        self.hpa_get(lambda d, op, b, n: d == "s2c" and op == DATA and b == 3)

    def test_last_data_lost(self):
        self.hpa_get(lambda d, op, b, n: d == "s2c" and op == DATA and b == LAST)

    def test_final_ack_lost(self):
        log = self.hpa_get(lambda d, op, b, n: d == "c2s" and op == ACK and b == LAST)
        # the server heard nothing more: it repeated the last block until
        # the client's (dallying) re-ACK, or gave up after its silence
        # rule; either way the file is complete on the client.
        self.assertIn("f.bin", log)

    def test_oack_lost(self):
        """Our client asks for options; the server's OACK is lost: the
        client repeats its request and the transfer completes."""
        local = os.path.join(self.dir, "got.bin")
        with TftpdServer() as srv:
            srv.write("f.bin", self.data)
            relay = DropOne(srv.port, lambda d, op, b, n: d == "s2c" and op == OACK)
            relay.start()
            try:
                p = F.run(F.our_client("get", relay.port, "f.bin", local,
                                       "-b", "1024", "-T"), 60)
            finally:
                relay.close()
            srv.stop()
        self.assertEqual(relay.dropped, ("s2c", OACK, None))
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(local, "rb") as f:
            self.assertTrue(f.read() == self.data)


if __name__ == "__main__":
    main()
