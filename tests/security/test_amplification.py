#!/usr/bin/env python3
"""Reflection amplification: a request with a spoofed source address is
never acknowledged, so everything the server sends for it lands on the
victim. The server must send only the first packet (OACK or DATA 1) and its
retries, paced by the timeout, and nothing for a repeated request from the
same address and port. Prints the bytes-out / bytes-in ratio."""
import os
import time

from sectest import (DATA, ERROR, OACK, Client, ServerCase, log, main, rrq,
                     scaled)

RETRIES = 3
TIMEOUT = 1


class Amplification(ServerCase):
    server_args = ("-t", str(TIMEOUT), "--retries", str(RETRIES))
    retries = RETRIES

    def setUp(self):
        super().setUp()
        with open(os.path.join(self.root, "big.bin"), "wb") as f:
            f.write(os.urandom(4 << 20))
        self.start_server()

    def victim(self, requests, what):
        """Send requests (all from one socket), never ACK; return what came
        back until the server gives up."""
        with Client() as c:
            t0 = time.monotonic()
            bytes_in = 0
            for r in requests:
                c.send(r, self.server.port)
                bytes_in += len(r)
            got = []
            times = []
            end = t0 + scaled((self.retries + 3) * TIMEOUT * 2 + 5)
            while time.monotonic() < end:
                p = c.recv(TIMEOUT * 2.5)
                if p is None:
                    break
                got.append(p)
                times.append(time.monotonic() - t0)
        bytes_out = sum(len(p.raw) for p in got)
        log("amplification: %-38s in %6d B (%d datagrams), out %7d B (%d datagrams), "
            "ratio %.1f, at %s s" % (what, bytes_in, len(requests), bytes_out, len(got),
                                     bytes_out / bytes_in,
                                     ", ".join("%.2f" % t for t in times)))
        self.assertTrue(got, "%s: no reply at all" % what)
        self.assertLessEqual(len({p.port for p in got}), 1, "%s: several transfers" % what)
        self.assertLessEqual(len(got), self.retries + 1, "%s: %r" % (what, got))
        # Paced by the timer, not a burst.
        for a, b in zip(times, times[1:]):
            self.assertGreater(b - a, 0.3 * TIMEOUT, "%s: retries too fast %s" % (what, times))
        return got

    def test_plain_request(self):
        got = self.victim([rrq("big.bin")], "RRQ big.bin")
        for p in got:
            self.assertEqual((p.op, p.block, len(p.payload)), (DATA, 1, 512), repr(p))

    def test_largest_block_and_window_asked(self):
        opts = [("blksize", "65464"), ("windowsize", "65535"), ("tsize", "0")]
        got = self.victim([rrq("big.bin", opts=opts)], "RRQ blksize 65464 window 65535")
        for p in got:
            self.assertEqual(p.op, OACK, repr(p))

    def test_window_without_blksize(self):
        got = self.victim([rrq("big.bin", opts=[("windowsize", "64")])], "RRQ windowsize 64")
        for p in got:
            self.assertEqual(p.op, OACK, repr(p))

    def test_repeated_request_from_one_port(self):
        """Twenty copies of the request: still one transfer, one packet plus
        its retries."""
        got = self.victim([rrq("big.bin")] * 20, "20 x RRQ from one port")
        for p in got:
            self.assertEqual((p.op, p.block), (DATA, 1), repr(p))

    def test_missing_file(self):
        got = self.victim([rrq("no-such-file")], "RRQ of a missing file")
        self.assertEqual(len(got), 1)
        self.assertEqual((got[0].op, got[0].code), (ERROR, 1))


class AmplificationDefaults(Amplification):
    """The figure an operator gets: tftpd's defaults (timeout 1 s, 5
    retries), the worst request (a plain RRQ: a full 516-byte DATA 1)."""
    server_args = ()
    retries = 5

    def test_plain_request(self):
        got = self.victim([rrq("big.bin")], "defaults: RRQ big.bin")
        for p in got:
            self.assertEqual((p.op, p.block, len(p.payload)), (DATA, 1, 512), repr(p))

    # The other cases add nothing with the defaults.
    test_largest_block_and_window_asked = None
    test_window_without_blksize = None
    test_repeated_request_from_one_port = None
    test_missing_file = None


if __name__ == "__main__":
    main()
