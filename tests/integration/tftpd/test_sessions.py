#!/usr/bin/env python3
"""Transfer IDs and limits: a stranger gets exactly ERROR 5 while the
transfer goes on undisturbed; a retransmitted request from a live
transfer's address:port starts nothing; --max-transfers and
--max-per-client answer ERROR 0 "server busy" from the listening port;
--port-range puts every transfer socket inside the range."""
import random
import socket
import time
import unittest

from tftptest import (ACK, DATA, ERROR, Endpoint, TftpdServer, main, pack_ack,
                      pack_data, pack_error, pack_rrq, pack_wrq, pattern, scaled,
                      wait_for)

BUSY = b"\x00\x05\x00\x00server busy\x00"
BADTID = b"\x00\x05\x00\x05Unknown transfer ID\x00"


def finish_rrq(e, tid, first, content):
    """Complete a window-1, blksize-512 download whose DATA 1 is first;
    returns the bytes received."""
    got = bytearray(first.payload)
    block = 1
    last = first
    while len(last.payload) == 512:
        e.send(pack_ack(block), tid)
        while True:
            p = e.recv(3)
            assert p is not None, "DATA %d never came" % (block + 1)
            if p.port == tid and p.op == DATA and p.block == (block + 1) & 0xFFFF:
                break
        block += 1
        got += p.payload
        last = p
    e.send(pack_ack(block), tid)
    return bytes(got)


def port_free(port):
    """Nobody holds 127.0.0.1:port (UDP)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


class Held:
    """Downloads started and held open by never acknowledging DATA 1."""

    def __init__(self, srv, n, name="f.bin"):
        self.eps, self.tids = [], []
        for _ in range(n):
            e = Endpoint()
            e.send(pack_rrq(name), srv.port)
            p = e.recv(3)
            assert p is not None and (p.op, p.block) == (DATA, 1), p
            self.eps.append(e)
            self.tids.append(p.port)

    def release(self, i):
        self.eps[i].send(pack_error(0, "done"), self.tids[i])

    def close(self):
        for e in self.eps:
            e.close()


class StrangerAndDuplicates(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = TftpdServer("-w", "-t", "3", "--retries", "50").start()
        cls.content = pattern(512 * 6 + 100, seed=5)
        cls.srv.write("f.bin", cls.content)

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop_and_cleanup()

    def assert_only(self, packets, tid, op, block):
        """packets are nothing but repeats of (op, block) from tid."""
        for p in packets:
            self.assertEqual((p.port, p.op, p.block), (tid, op, block))

    def test_stranger_gets_error_5_transfer_continues(self):
        with Endpoint() as e, Endpoint() as stranger:
            e.send(pack_rrq("f.bin"), self.srv.port)
            first = e.recv(3)
            self.assertEqual((first.op, first.block), (DATA, 1))
            tid = first.port
            # A stranger's ACK 1, DATA and a garbage datagram: each answered
            # with exactly ERROR 5, from the transfer's port.
            for raw in (pack_ack(1), pack_data(1, b"x" * 10), b"\x00\x63junk"):
                stranger.send(raw, tid)
                p = stranger.recv(3)
                self.assertIsNotNone(p, "no ERROR 5 for %r" % raw)
                self.assertEqual(p.raw, BADTID)
                self.assertEqual(p.port, tid)
            # The stranger's ACK 1 moved nothing: the client hears no DATA 2
            # (at most DATA 1 again, if the timer ran out meanwhile).
            self.assert_only(e.recv_all(quiet=0.5, limit=1), tid, DATA, 1)
            self.assertEqual(finish_rrq(e, tid, first, self.content), self.content)
            self.assertIsNone(stranger.recv(0.2))
            # A stranger of the same IP and another port, during an upload.
            e.send(pack_wrq("up.bin"), self.srv.port)
            p = e.recv(3)
            self.assertEqual((p.op, p.block), (ACK, 0))
            utid = p.port
            e.send(pack_data(1, b"a" * 512), utid)
            self.assertEqual(e.recv(3).block, 1)
            stranger.send(pack_data(2, b"evil"), utid)
            self.assertEqual(stranger.recv(3).raw, BADTID)
            e.send(pack_data(2, b"good"), utid)
            p = e.recv(3)
            self.assertEqual((p.op, p.block), (ACK, 2))
        self.assertEqual(self.srv.read("up.bin"), b"a" * 512 + b"good")

    def test_retransmitted_rrq_starts_nothing(self):
        with Endpoint() as e:
            e.send(pack_rrq("f.bin"), self.srv.port)
            first = e.recv(3)
            self.assertEqual((first.op, first.block), (DATA, 1))
            tid = first.port
            for _ in range(3):
                e.send(pack_rrq("f.bin"), self.srv.port)
            # No second transfer answers the repeats (the first may repeat
            # its DATA 1 if slowed down, under valgrind).
            self.assert_only(e.recv_all(quiet=0.7, limit=2), tid, DATA, 1)
            self.assertEqual(finish_rrq(e, tid, first, self.content), self.content)
            # Right after the final ACK, the same port may start another
            # (the server reads that ACK before the new request).
            e.send(pack_rrq("f.bin"), self.srv.port)
            again = e.recv(3)
            self.assertEqual((again.op, again.block), (DATA, 1))
            self.assertNotEqual(again.port, tid)
            self.assertEqual(finish_rrq(e, again.port, again, self.content), self.content)

    def test_retransmitted_wrq_starts_nothing(self):
        with Endpoint() as e:
            e.send(pack_wrq("dup.bin"), self.srv.port)
            p = e.recv(3)
            self.assertEqual((p.op, p.block), (ACK, 0))
            tid = p.port
            e.send(pack_wrq("dup.bin"), self.srv.port)
            self.assert_only(e.recv_all(quiet=0.7, limit=2), tid, ACK, 0)
            e.send(pack_data(1, b"once"), tid)
            p = e.recv(3)
            while p is not None and (p.op, p.block) == (ACK, 0):
                p = e.recv(3)
            self.assertEqual((p.op, p.block, p.port), (ACK, 1, tid))
        self.assertEqual(self.srv.read("dup.bin"), b"once")


class Limits(unittest.TestCase):
    def test_max_transfers(self):
        # -t 5 --retries 5: held transfers live far longer than the test.
        with TftpdServer("-w", "-m", "2", "-t", "5", "--retries", "5") as srv:
            srv.write("f.bin", pattern(2000))
            held = Held(srv, 2)
            try:
                for op in (pack_rrq("f.bin"), pack_wrq("x.bin"), pack_rrq("missing")):
                    with Endpoint() as e:
                        e.send(op, srv.port)
                        p = e.recv(3)
                        self.assertIsNotNone(p)
                        self.assertEqual(p.raw, BUSY)
                        self.assertEqual(p.port, srv.port)
                # One ends: there is room again.
                held.release(0)
                wait_for(lambda: "client sent ERROR 0 (done)" in srv.log(), 5,
                         "the released transfer to end")
                with srv.client() as c:
                    self.assertEqual(c.get("f.bin").data, pattern(2000))
                self.assertIn("refused, sent ERROR 0 (server busy)", srv.log())
            finally:
                held.close()

    def test_max_per_client(self):
        with TftpdServer("-m", "10", "--max-per-client", "2", "-t", "5") as srv:
            srv.write("f.bin", pattern(700))
            held = Held(srv, 2)
            try:
                with Endpoint() as e:
                    e.send(pack_rrq("f.bin"), srv.port)
                    self.assertEqual(e.recv(3).raw, BUSY)
                # Another client address is not limited by this one.
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                    s.bind(("127.0.0.2", 0))
                    s.settimeout(scaled(3))
                    s.sendto(pack_rrq("f.bin"), ("127.0.0.1", srv.port))
                    raw, addr = s.recvfrom(1024)
                    self.assertEqual(raw[:4], b"\x00\x03\x00\x01")
                    s.sendto(pack_ack(1), addr)
                    raw, _ = s.recvfrom(1024)
                    self.assertEqual(raw, b"\x00\x03\x00\x02" + pattern(700)[512:])
                    s.sendto(pack_ack(2), addr)
            finally:
                held.close()


class PortRange(unittest.TestCase):
    def free_range(self, n):
        """n consecutive ports that are free now, below the kernel's
        ephemeral range (so other tests' sockets do not land there)."""
        for _ in range(50):
            lo = random.randrange(20000, 30000 - n)
            socks = []
            try:
                for p in range(lo, lo + n):
                    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    socks.append(s)
                    s.bind(("127.0.0.1", p))
                return lo, lo + n - 1
            except OSError:
                continue
            finally:
                for s in socks:
                    s.close()
        raise AssertionError("no free port range")

    def test_port_range(self):
        lo, hi = self.free_range(3)
        with TftpdServer("-w", "-R", "%d:%d" % (lo, hi)) as srv:
            content = pattern(1500, seed=7)
            srv.write("f.bin", content)
            seen = set()
            for i in range(6):
                with srv.client() as c:
                    if i % 2:
                        res = c.put("u%d.bin" % i, content)
                    else:
                        res = c.get("f.bin")
                        self.assertEqual(res.data, content)
                self.assertTrue(lo <= res.tid <= hi, "TID %d outside %d:%d" % (res.tid, lo, hi))
                seen.add(res.tid)
            self.assertGreater(len(seen), 1)  # spread over the range
            # The last upload dallies three timeouts (3 s) on its port:
            # wait until every port of the range is free again.
            wait_for(lambda: all(port_free(p) for p in range(lo, hi + 1)),
                     10, "the last upload's dally to end")
            # Every port of the range taken: the next request is turned away.
            held = Held(srv, 3)
            try:
                self.assertEqual(sorted(held.tids), list(range(lo, hi + 1)))
                with Endpoint() as e:
                    e.send(pack_rrq("f.bin"), srv.port)
                    p = e.recv(3)
                    self.assertEqual((p.op, p.code, p.port), (ERROR, 0, srv.port))
            finally:
                held.close()


if __name__ == "__main__":
    main()
