#!/usr/bin/env python3
"""Field behaviours (issue 12), each with a scripted peer in real time:
a client that goes quiet for seconds after a fast start, a client that
ACKs 40 ms late, a peer silent after ACK 0 of a large window, a forged
timeout=255, an upload's final ACK lost with a negotiated timeout, option
leniency, abandoned tsize probes, and a stranger's ERROR."""
import signal
import time
import unittest

from tftptest import (ACK, DATA, ERROR, OACK, Endpoint, TftpdServer, main,
                      pack_ack, pack_data, pack_error, pack_request, pack_rrq,
                      pack_wrq, pattern, scaled, wait_for)


def next_of(e, op, tid=None, timeout=3.0):
    """The next packet of opcode op (from tid, if given), or None."""
    end = time.monotonic() + scaled(timeout)
    while time.monotonic() < end:
        p = e.recv(max(0.05, end - time.monotonic()))
        if p is None:
            return None
        if p.op == op and (tid is None or p.port == tid):
            return p
    return None


class Timers(unittest.TestCase):
    def test_quiet_client_is_not_abandoned(self):
        """RRQ, ACK blocks 1-4 at once (the RTO adapts to ~10 ms), then 3 s
        of silence: the transfer must go on (it used to end after ~0.3 s
        of fast retransmissions)."""
        data = pattern(512 * 12 + 7)
        with TftpdServer() as srv:
            srv.write("f.bin", data)
            with Endpoint() as e:
                e.send(pack_rrq("f.bin"), srv.port)
                p = next_of(e, DATA)
                self.assertIsNotNone(p)
                tid = p.port
                got = bytearray(p.payload)
                block = 1
                for _ in range(4):
                    e.send(pack_ack(block), tid)
                    p = next_of(e, DATA, tid)
                    self.assertEqual(p.block, block + 1)
                    got += p.payload
                    block += 1
                time.sleep(3.0)  # the pause under test, not a synchronisation
                # repeats of the unacknowledged block are queued; the
                # transfer is still alive: go on from there
                while len(p.payload) == 512 or p.block != block:
                    e.send(pack_ack(block), tid)
                    q = next_of(e, DATA, tid)
                    self.assertIsNotNone(q, "server gave up after block %d" % block)
                    if q.block == (block + 1) & 0xFFFF:
                        got += q.payload
                        block += 1
                        p = q
                        if len(q.payload) < 512:
                            break
                e.send(pack_ack(block), tid)
                self.assertEqual(bytes(got), data)
            log = srv.stop()
        self.assertNotIn("timed out", log)

    def test_slow_acker_gets_few_duplicates(self):
        """Every ACK 40 ms after its DATA: at most 10% duplicate DATA."""
        n = 60
        data = pattern(512 * n + 1)
        with TftpdServer() as srv:
            srv.write("s.bin", data)
            with Endpoint() as e:
                e.send(pack_rrq("s.bin"), srv.port)
                p = next_of(e, DATA)
                tid = p.port
                seen = {}
                block = p.block
                got = bytearray(p.payload)
                seen[block] = 1
                while True:
                    time.sleep(0.04)  # the client's own delay under test
                    e.send(pack_ack(block), tid)
                    if len(p.payload) < 512 and p.block == block:
                        break
                    while True:
                        q = next_of(e, DATA, tid)
                        self.assertIsNotNone(q)
                        seen[q.block] = seen.get(q.block, 0) + 1
                        if q.block == (block + 1) & 0xFFFF:
                            break
                    block += 1
                    got += q.payload
                    p = q
                # late duplicates still in the socket count too
                for q in e.recv_all(quiet=0.3, limit=2):
                    if q.op == DATA:
                        seen[q.block] = seen.get(q.block, 0) + 1
            srv.stop()
        self.assertEqual(bytes(got), data)
        dups = sum(v - 1 for v in seen.values())
        self.assertLessEqual(dups * 10, len(seen), "%d duplicates" % dups)

    def test_silent_peer_gets_at_most_two_windows(self):
        """blksize 65464 windowsize 64 and silence after ACK 0: the whole
        exchange sends at most two windows of DATA, and ends within
        1 s x 5 of silence."""
        blk, win = 65464, 64
        with TftpdServer("--max-window", "64") as srv:
            with open(srv.path("big.bin"), "wb") as f:
                f.truncate(blk * win * 3)
            with Endpoint() as e:
                e.send(pack_rrq("big.bin", opts={"blksize": blk,
                                                 "windowsize": win}), srv.port)
                o = next_of(e, OACK)
                self.assertIsNotNone(o)
                t0 = time.monotonic()
                e.send(pack_ack(0), o.port)
                total = 0
                last = t0
                while True:
                    p = e.recv(2.5)
                    if p is None:
                        break
                    if p.op == DATA:
                        total += len(p.payload)
                        last = time.monotonic()
                self.assertLessEqual(total, 2 * win * blk)
                self.assertLess(last - t0, scaled(6.0))
            wait_for(lambda: "timed out" in srv.log(), 10, "the give-up")
            srv.stop()

    def test_forged_timeout_255_declined(self):
        """A timeout above --max-timeout (default 10) is not acknowledged,
        and the silent requester is released within 1 s x 5."""
        with TftpdServer() as srv:
            srv.write("a.txt", b"x" * 100)
            with Endpoint() as e:
                e.send(pack_rrq("a.txt", opts={"timeout": 255, "tsize": 0}),
                       srv.port)
                o = next_of(e, OACK)
                self.assertIsNotNone(o)
                self.assertNotIn("timeout", o.optdict())
                t0 = time.monotonic()
                wait_for(lambda: "timed out" in srv.log(), 9, "release")
                self.assertLess(time.monotonic() - t0, scaled(7.0))
                old = o.port
                with Endpoint() as e2:
                    e2.send(pack_rrq("a.txt", opts={"timeout": 10}), srv.port)
                    o = next_of(e2, OACK)
                    self.assertNotEqual(o.port, old)
                    self.assertEqual(o.optdict().get("timeout"), "10")
                    e2.send(pack_error(0, "done"), o.port)
            srv.stop()

    def test_upload_dally_covers_negotiated_timeout(self):
        """WRQ with timeout 3: the final ACK is "lost", the client repeats
        its last DATA 3 s later and must still be ACKed."""
        with TftpdServer("-w") as srv:
            with Endpoint() as e:
                e.send(pack_wrq("up.bin", opts={"timeout": 3}), srv.port)
                o = next_of(e, OACK)
                self.assertIsNotNone(o)
                e.send(pack_data(1, b"hello"), o.port)
                a = next_of(e, ACK, o.port)
                self.assertEqual(a.block, 1)
                time.sleep(3.0)  # the client's retransmit period under test
                e.send(pack_data(1, b"hello"), o.port)
                a = next_of(e, ACK, o.port)
                self.assertIsNotNone(a, "no ACK for the repeated last block")
                self.assertEqual(a.block, 1)
            self.assertEqual(srv.read("up.bin"), b"hello")
            srv.stop()


class Requests(unittest.TestCase):
    def test_lenient_options(self):
        """A valueless last option, 17+ options and blksize 70000 are
        served like tftp-hpa does, not refused with ERROR 4 (8)."""
        data = pattern(3000)
        with TftpdServer() as srv:
            srv.write("l.bin", data)
            cases = [
                pack_rrq("l.bin", opts={"blksize": 1024}) + b"tsize\x00",
                pack_rrq("l.bin", opts=[("x%d" % i, "1") for i in range(20)]),
                pack_rrq("l.bin", opts={"blksize": 70000}),
            ]
            for raw in cases:
                with Endpoint() as e:
                    e.send(raw, srv.port)
                    p = e.recv(3)
                    self.assertIsNotNone(p)
                    self.assertIn(p.op, (DATA, OACK), repr(p))
                    if p.op == OACK and "blksize" in p.optdict():
                        self.assertIn(p.optdict()["blksize"],
                                      ("1024", "65464"))
                    e.send(pack_error(0, "enough"), p.port)
            srv.stop()

    def test_abandoned_probe_replaced(self):
        """RRQ+tsize, take the OACK, then a new RRQ (blksize) from the same
        port without ERROR 8: answered each time (5/5)."""
        data = pattern(5000)
        with TftpdServer() as srv:
            srv.write("boot.efi", data)
            answered = 0
            for _ in range(5):
                with Endpoint() as e:
                    e.send(pack_rrq("boot.efi", opts={"tsize": 0}), srv.port)
                    o = next_of(e, OACK)
                    self.assertEqual(o.optdict()["tsize"], "5000")
                    # an identical retransmission is still ignored
                    e.send(pack_rrq("boot.efi", opts={"tsize": 0}), srv.port)
                    e.send(pack_rrq("boot.efi", opts={"blksize": 1468}),
                           srv.port)
                    o2 = next_of(e, OACK, timeout=2)
                    if o2 is not None and o2.optdict().get("blksize") == "1468":
                        answered += 1
                        self.assertNotEqual(o2.port, o.port)
                        e.send(pack_ack(0), o2.port)
                        d = next_of(e, DATA, o2.port)
                        self.assertEqual(d.block, 1)
                        e.send(pack_error(0, "enough"), o2.port)
                    # nothing from the replaced session: no ERROR at all
                    for p in e.recv_all(quiet=0.3, limit=1.5):
                        self.assertNotEqual(p.port, o.port, repr(p))
            self.assertEqual(answered, 5)
            log = srv.stop()
        self.assertIn("size probe, replaced", log)

    def test_next_request_from_the_same_port(self):
        """A client that reuses its port for the next command (tftp-hpa's
        prompt does) sends its final ACK and at once the next RRQ, which
        the server may read first: it is answered, not ignored as a
        repeat of the transfer that is ending. The server is stopped
        while both are sent so that it finds them queued together, the
        RRQ first, 20 times (one RRQ each, never retransmitted)."""
        with TftpdServer() as srv:
            # Two blocks each: the client has answered the transfer (ACK
            # 1) before its final ACK, so the next request cannot be
            # taken for a replaced size probe.
            srv.write("a.bin", b"a" * 600)
            srv.write("b.bin", b"b" * 600)
            # Five transfers that wait for their clients keep the server
            # from spinning on its few sockets (which would read the ACK
            # first): it reads what epoll reports, in that order.
            idle = [Endpoint() for _ in range(5)]
            for x in idle:
                x.send(pack_rrq("a.bin"), srv.port)
                self.assertIsNotNone(next_of(x, DATA))
            with Endpoint() as e:
                name = "a.bin"
                e.send(pack_rrq(name), srv.port)
                for i in range(20):
                    d = next_of(e, DATA)
                    self.assertIsNotNone(d, "request %d unanswered" % i)
                    self.assertEqual(d.payload, name[:1].encode() * 512)
                    e.send(pack_ack(1), d.port)
                    d = next_of(e, DATA, d.port)
                    self.assertEqual((d.block, d.payload),
                                     (2, name[:1].encode() * 88))
                    name = "b.bin" if name == "a.bin" else "a.bin"
                    # Both queued before the server runs again; the RRQ
                    # sent first, so that it is read first.
                    srv.send_signal(signal.SIGSTOP)
                    try:
                        if i < 19:
                            e.send(pack_rrq(name), srv.port)
                        e.send(pack_ack(2), d.port)
                    finally:
                        srv.send_signal(signal.SIGCONT)
            for x in idle:
                x.close()

    def test_probe_ended_by_error8_logged_as_probe(self):
        with TftpdServer() as srv:
            srv.write("k", b"k" * 10)
            with Endpoint() as e:
                e.send(pack_rrq("k", opts={"tsize": 0}), srv.port)
                o = next_of(e, OACK)
                e.send(pack_error(8, "tsize probe"), o.port)
            wait_for(lambda: "size probe, ended by the client" in srv.log(),
                     5, "the probe's log line")
            log = srv.stop()
        line = [l for l in log.splitlines() if "size probe" in l][0]
        self.assertNotIn("failed", line)


class Logs(unittest.TestCase):
    def test_names_escaped_in_log(self):
        """Bytes of a name that are not printable ASCII never reach the
        log raw (a terminal tailing it would obey escape sequences)."""
        with TftpdServer() as srv:
            srv.write("caf\u00e9.txt", b"x" * 10)
            with Endpoint() as e:
                e.send(pack_rrq(b"bad\x1b]0;owned\x07.bin"), srv.port)
                p = e.recv(3)
                self.assertEqual(p.op, ERROR)
                e.send(pack_rrq("caf\u00e9.txt".encode()), srv.port)
                d = next_of(e, DATA)
                e.send(pack_ack(1), d.port)
            wait_for(lambda: "caf\\xc3\\xa9.txt" in srv.log(), 5, "the log line")
            log = srv.stop()
        self.assertIn("bad\\x1b]0;owned\\x07.bin", log)
        self.assertNotIn("\x1b", log)
        self.assertNotIn("\u00e9", log)


class Peers(unittest.TestCase):
    def test_stranger_error_not_answered(self):
        """An ERROR from a stranger to a session port gets nothing back
        (two hosts answering ERRORs with ERRORs ping-pong for ever)."""
        with TftpdServer() as srv:
            srv.write("f", pattern(4000))
            with Endpoint() as e, Endpoint() as stranger:
                e.send(pack_rrq("f"), srv.port)
                d = next_of(e, DATA)
                stranger.send(pack_error(5, "Unknown transfer ID"), d.port)
                self.assertIsNone(stranger.recv(1.0))
                # a stranger's DATA still gets the RFC's ERROR 5
                stranger.send(pack_data(1, b"x"), d.port)
                p = stranger.recv(2.0)
                self.assertIsNotNone(p)
                self.assertEqual((p.op, p.code), (ERROR, 5))
                e.send(pack_error(0, "done"), d.port)
            srv.stop()


class Signals(unittest.TestCase):
    def _hup_during_transfer(self, *args):
        data = pattern(512 * 6 + 3)
        with TftpdServer(*args) as srv:
            srv.write("h.bin", data)
            with Endpoint() as e:
                e.send(pack_rrq("h.bin"), srv.port)
                p = next_of(e, DATA)
                got = bytearray(p.payload)
                srv.send_signal(signal.SIGHUP)
                wait_for(lambda: "SIGHUP: reopened" in srv.log(), 5,
                         "the reload's log line")
                self.assertTrue(srv.alive())
                block = 1
                while len(p.payload) == 512:
                    e.send(pack_ack(block), p.port)
                    q = next_of(e, DATA, p.port)
                    self.assertIsNotNone(q, "transfer dropped by SIGHUP")
                    if q.block == block + 1:
                        got += q.payload
                        block += 1
                        p = q
                e.send(pack_ack(block), p.port)
            self.assertEqual(bytes(got), data)
            # still serving new requests after the reload
            self.assertEqual(srv.client().get("h.bin").data, data)
            srv.stop()

    def test_sighup_keeps_serving(self):
        """SIGHUP used to kill tftpd; now it reopens and goes on."""
        self._hup_during_transfer()

    def test_sighup_with_workers(self):
        """The supervisor passes HUP on; no worker dies of it."""
        self._hup_during_transfer("--workers", "2")


if __name__ == "__main__":
    main()
