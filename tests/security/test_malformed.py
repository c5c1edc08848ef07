#!/usr/bin/env python3
"""Malformed datagrams to the listening port and to a transfer port.

The server answers per the RFC (an ERROR, for a request it cannot parse) or
stays silent; it never answers a DATA, ACK, ERROR or OACK sent to the
listening port (no reflection, no loops); it never starts a transfer for a
malformed request; and after every case it keeps serving (a good transfer
completes)."""
import os
import time

from sectest import (ACK, DATA, ERROR, OACK, Client, ServerCase, ack, data,
                     error, log, main, rrq, wrq)

# (name, datagram, error codes allowed if the server answers). A request
# whose options alone are broken (no value, cut short, past the 16th) is
# served with the options read so far, as tftp-hpa and atftpd do.
BAD_REQUESTS = [
    ("empty datagram", b"", (0, 4)),
    ("1 byte", b"\x00", (0, 4)),
    ("2 bytes RRQ opcode", b"\x00\x01", (0, 4)),
    ("3 bytes", b"\x00\x01p", (0, 4)),
    ("opcode 0", b"\x00\x00pub.bin\x00octet\x00", (0, 4)),
    ("opcode 7", b"\x00\x07pub.bin\x00octet\x00", (0, 4)),
    ("opcode 0xffff", b"\xff\xffpub.bin\x00octet\x00", (0, 4)),
    ("opcode 0x0101", b"\x01\x01pub.bin\x00octet\x00", (0, 4)),
    ("filename without NUL", b"\x00\x01pub.bin", (0, 4)),
    ("mode without NUL", b"\x00\x01pub.bin\x00octet", (0, 4)),
    ("last option value without NUL", b"\x00\x01pub.bin\x00octet\x00blksize\x00512", "transfer"),
    ("option name without NUL", b"\x00\x01pub.bin\x00octet\x00blksize", "transfer"),
    ("option without value", b"\x00\x01pub.bin\x00octet\x00blksize\x00", "transfer"),
    ("empty filename", b"\x00\x01\x00octet\x00", (0, 1, 2, 4)),
    ("empty mode", b"\x00\x01pub.bin\x00\x00", (0, 4)),
    ("mode mail", rrq("pub.bin", "mail"), (0, 4)),
    ("mode binary", rrq("pub.bin", "binary"), (0, 4)),
    ("60000-byte filename", rrq("a" * 60000), (0, 1, 2, 4)),
    ("60000-byte filename without NUL", b"\x00\x01" + b"a" * 60000, (0, 4)),
    ("1025-byte filename", rrq("b" * 1025), (0, 1, 2, 4)),
    ("60000-byte mode", b"\x00\x01pub.bin\x00" + b"o" * 60000 + b"\x00", (0, 4)),
    ("60000-byte option value", rrq("pub.bin", opts=[("blksize", "9" * 60000)]), "transfer"),
    ("17 options", rrq("pub.bin", opts=[("x%d" % i, "1") for i in range(17)]), "transfer"),
    ("200 options", rrq("pub.bin", opts=[("blksize", "512")] * 200), "transfer"),
    ("NUL-only filename run", b"\x00\x01" + b"\x00" * 100, (0, 1, 2, 4)),
    ("WRQ without -w, malformed", b"\x00\x02x", (0, 2, 4)),
]

# Packets that are never a request: the listening port must not answer.
NOT_REQUESTS = [
    ("DATA", data(1, b"hello")),
    ("DATA empty", data(0, b"")),
    ("ACK 0", ack(0)),
    ("ACK 1", ack(1)),
    ("ERROR", error(0, "oops")),
    ("ERROR 5", error(5, "unknown transfer ID")),
    ("ERROR runt", b"\x00\x05\x00"),
    ("ERROR without NUL", b"\x00\x05\x00\x01abc"),
    ("OACK", b"\x00\x06blksize\x001024\x00"),
]


class Malformed(ServerCase):
    def setUp(self):
        super().setUp()
        self.start_server()

    def check_reply(self, name, replies, allowed):
        """At most one reply; if any, an ERROR with an allowed code.
        allowed == "transfer": a well-formed request whose bad option is
        ignored; the transfer may start (it is aborted here)."""
        if allowed == "transfer":
            for p in replies:
                if p.op in (DATA, OACK):
                    with Client() as c:
                        c.send(error(0, "test over"), p.port)
            self.assertTrue(all(p.op in (DATA, OACK, ERROR) for p in replies))
            return
        self.assertLessEqual(len(replies), 1, "%s: %d replies %r" % (name, len(replies), replies))
        for p in replies:
            self.assertNotIn(p.op, (DATA, OACK), "%s started a transfer: %r" % (name, p))
            self.assertEqual(p.op, ERROR, "%s: %r" % (name, p))
            if allowed is not None:
                self.assertIn(p.code, allowed, "%s: %r" % (name, p))

    def test_bad_requests_to_listening_port(self):
        for name, pkt, allowed in BAD_REQUESTS:
            with self.subTest(name), Client() as c:
                c.send(pkt, self.server.port)
                replies = c.recv_all(quiet=0.4, limit=5)
                log("  %-34s -> %s" % (name, replies or "silence"))
                self.check_reply(name, replies, allowed)
                self.assertTrue(self.server.alive(), "tftpd died on %s" % name)
                # End a transfer a request started, so that its
                # retransmissions cannot reach a later case's socket
                # (the kernel may give it the same port).
                for p in replies:
                    if p.op in (DATA, OACK):
                        c.send(error(0, "done"), p.port)
        self.assert_serving("malformed requests")

    def test_non_requests_get_no_reply(self):
        for name, pkt in NOT_REQUESTS:
            with self.subTest(name), Client() as c:
                c.send(pkt, self.server.port)
                replies = c.recv_all(quiet=0.5, limit=5)
                log("  %-34s -> %s" % (name, replies or "silence"))
                self.assertEqual(replies, [], "%s to the listening port was answered" % name)
        self.assert_serving("non-requests")

    def test_every_truncation_of_a_request(self):
        """Every prefix of a request with options: never a crash, never more
        than one reply, a DATA/OACK only for a prefix that is complete."""
        full = rrq("pub.bin", opts=[("blksize", "1024"), ("tsize", "0"), ("windowsize", "4")])
        with Client() as c:
            for n in range(len(full) + 1):
                c.send(full[:n], self.server.port)
                replies = c.recv_all(quiet=0.15, limit=3)
                # One reply, or one transfer's first packet and its timer
                # retransmissions (seen when waits are stretched).
                self.assertLessEqual(len({(p.port, p.raw) for p in replies}), 1,
                                     "prefix %d: %r" % (n, replies))
                for p in replies:
                    if p.op == ERROR:
                        continue
                    # A transfer started: the prefix must hold the whole
                    # file name and mode (a broken option is ignored).
                    self.assertGreaterEqual(n, len(rrq("pub.bin")),
                                            "prefix %d started %r" % (n, p))
                    # Abort it so the next prefix is a new request.
                    c.send(error(0, "test"), p.port)
        self.assert_serving("truncated requests")


class TransferPort(ServerCase):
    """Garbage sent to a live transfer's port, by the peer and by strangers."""

    def setUp(self):
        super().setUp()
        self.start_server()

    def begin(self, c):
        c.send(rrq("pub.bin"), self.server.port)
        p = c.recv(3)
        self.assertIsNotNone(p, "no DATA 1")
        self.assertEqual((p.op, p.block), (DATA, 1), repr(p))
        return p.port, bytearray(p.payload)

    def finish(self, c, tid, got, block=1):
        """ACK through to the end; returns the file as received."""
        c.send(ack(block), tid)
        expected = block + 1
        for _ in range(100):
            p = c.recv(3)
            self.assertIsNotNone(p, "transfer stalled at block %d" % expected)
            self.assertNotEqual(p.op, ERROR, "transfer aborted: %r" % p)
            self.assertEqual(p.op, DATA, repr(p))
            if p.block != expected:
                continue  # a retransmission of the previous block
            got += p.payload
            c.send(ack(expected), tid)
            if len(p.payload) < 512:
                return bytes(got)
            expected += 1
        self.fail("too many packets")

    GARBAGE = [
        ("empty", b""),
        ("1 byte", b"\x00"),
        ("2 bytes", b"\x00\x04"),
        ("3 bytes", b"\x00\x04\x00"),
        ("opcode 0", b"\x00\x00\x00\x01"),
        ("opcode 9", b"\x00\x09\x00\x01"),
        ("ACK with a trailing byte", b"\x00\x04\x00\x07\x00"),
        ("ACK of a block not sent", ack(40)),
        ("DATA from the reader", data(1, b"x" * 10)),
        ("RRQ to the transfer port", rrq("pub.bin")),
        ("WRQ to the transfer port", wrq("evil")),
        ("OACK from the client", b"\x00\x06blksize\x0016\x00"),
        ("runt ERROR 2 bytes", b"\x00\x05"),
        ("runt ERROR 3 bytes", b"\x00\x05\x00"),
    ]

    def test_garbage_from_the_peer_is_ignored(self):
        """Malformed packets on the transfer port are dropped: the transfer
        goes on to the end with the right bytes."""
        with Client() as c:
            tid, got = self.begin(c)
            for name, pkt in self.GARBAGE:
                c.send(pkt, tid)
            replies = c.recv_all(quiet=0.5, limit=5)
            log("  replies to garbage: %r" % replies)
            for p in replies:
                self.assertEqual((p.op, p.block), (DATA, 1),
                                 "garbage answered with %r" % p)
            self.assertEqual(self.finish(c, tid, got), self.pub)
        self.assert_serving("garbage on a transfer port")

    def test_stranger_gets_error_5(self):
        """A stranger's packet on a transfer port gets ERROR 5 from that
        port, and the transfer goes on; but never an answer to an ERROR
        (two hosts doing so would ping-pong for ever), nor to a runt (an
        answer larger than the packet would make the port a reflector)."""
        with Client() as c, Client() as stranger:
            tid, got = self.begin(c)
            # All at once and in this order, from one socket: the server
            # reads them in order, so an answer to the ERROR or the runt
            # would be one answer too many. Quick, so that the transfer,
            # waiting for c, does not give up meanwhile.
            for pkt in (error(0, "stop"), ack(1), data(1, b"x"), b"\x00"):
                stranger.send(pkt, tid)
            answers = stranger.recv_all(quiet=0.2, limit=5)
            self.assertEqual(len(answers), 2, answers)
            for p in answers:
                self.assertEqual((p.op, p.code), (ERROR, 5), repr(p))
                self.assertEqual(p.port, tid)
            self.assertEqual(self.finish(c, tid, got), self.pub)
        self.assert_serving("strangers")

    def test_runt_errors_mid_transfer(self):
        """An ERROR too short to parse does not end the transfer."""
        with Client() as c:
            tid, got = self.begin(c)
            # Read in order on the transfer's socket: the runts before
            # the ACK that goes on.
            for runt in (b"\x00\x05", b"\x00\x05\x00"):
                c.send(runt, tid)
            self.assertEqual(self.finish(c, tid, got), self.pub)
        self.assert_serving("runt ERRORs")

    def _ended(self, c, tid):
        """After an ERROR the server sends nothing more on tid."""
        replies = c.recv_all(quiet=2.5, limit=12)
        extra = [p for p in replies if p.port == tid and not (p.op == DATA and p.block == 1)]
        self.assertEqual(extra, [], "server went on after the ERROR: %r" % extra)
        # No retransmissions of DATA 1 after the ERROR arrived (the one
        # already in flight when it was sent aside): at most one.
        retx = [p for p in replies if p.op == DATA]
        self.assertLessEqual(len(retx), 1, "DATA after the ERROR: %r" % retx)

    def test_overlong_error_ends_the_transfer(self):
        """A well-formed ERROR of 65,000 bytes ends the transfer cleanly."""
        with Client() as c:
            tid, _ = self.begin(c)
            c.send(error(0, b"A" * 65000), tid)
            self._ended(c, tid)
        self.assert_serving("an over-long ERROR")

    def test_overlong_error_without_nul(self):
        """An ERROR whose message runs off the datagram: ignored or taken
        as an ERROR; either way no crash, and the server keeps serving."""
        with Client() as c:
            tid, got = self.begin(c)
            c.send(error(3, b"B" * 65000, nul=False), tid)
            replies = c.recv_all(quiet=0.5, limit=3)
            for p in replies:
                self.assertEqual((p.op, p.block), (DATA, 1), repr(p))
            # Whether the transfer still runs, the server must not answer an
            # ACK with anything but DATA (or silence if it ended).
            c.send(ack(1), tid)
            p = c.recv(2)
            if p is not None:
                self.assertEqual(p.op, DATA, repr(p))
        self.assert_serving("an ERROR without NUL")

    def test_error_from_peer_on_a_write(self):
        with Client() as c:
            self.server.stop()
            self.start_server("-w")
            c.send(wrq("up.bin"), self.server.port)
            p = c.recv(3)
            self.assertEqual((p.op, p.block), (ACK, 0), repr(p))
            tid = p.port
            c.send(data(1, b"x" * 512), tid)
            p = c.recv(3)
            self.assertEqual((p.op, p.block), (ACK, 1), repr(p))
            for runt in (b"\x00\x05", b"\x00\x05\x00", b"", b"\x00"):
                c.send(runt, tid)
            c.send(error(0, b"C" * 65000), tid)
            replies = c.recv_all(quiet=2.5, limit=12)
            self.assertTrue(all(p.op == ACK and p.block == 1 for p in replies),
                            "after the ERROR: %r" % replies)
        self.server.wait_idle()
        self.assertFalse(os.path.exists(os.path.join(self.root, "up.bin")),
                         "an aborted upload appeared under its name")
        self.assert_serving("an ERROR during a write")


if __name__ == "__main__":
    main()
