#!/usr/bin/env python3
"""The server's sendfile path: octet blocks of an even size larger than
16 KiB to a peer that is not on a loopback address leave with sendfile
(the header corked in front), not pread + sendto. (An odd size would put
blocks at odd file offsets, where the kernel sums the spliced datagram
wrong and the peer drops it: those keep pread + sendto.) Loopback peers never take it, so this test
runs in a network namespace of its own with 10.77.0.1 on its loopback
device: the packets still cross lo, but the peer's address is not a
loopback one. Checked: the debug log names the path taken; every size
around the block boundaries arrives byte-identical, in lockstep and in
windows (the offsets past a block-number wrap are the engine's, the same
for both paths: tests/unit test_xfer send_file_same_packets); a file that shrinks during the
transfer ends it with a short block at the new end, as the pread path
does; netascii and small blocks keep the pread path."""
import os
import unittest

import peers
from tftptest import (ACK, DATA, OACK, Endpoint, TftpdServer, main, pack_ack,
                      pack_rrq, pattern)

ADDR = "10.77.0.1"
SENDFILE = ", DATA by sendfile"
BIG = 65464


def started_lines(log):
    return [ln for ln in log.splitlines() if ": started" in ln]


class Sendfile(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = TftpdServer("-v", host=ADDR).start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop_and_cleanup()

    def get(self, name, opts):
        with self.srv.client() as c:
            return c.get(name, opts=opts)

    def test_sizes_windows(self):
        for bs in (16386, BIG):
            for win in (1, 16):
                for size in (0, 1, bs - 1, bs, bs + 1, 3 * bs, (1 << 20) + 7):
                    with self.subTest(blksize=bs, window=win, size=size):
                        name = "s-%d-%d-%d.bin" % (bs, win, size)
                        content = pattern(size, seed=size + win)
                        self.srv.write(name, content)
                        res = self.get(name, [("blksize", str(bs)),
                                              ("windowsize", str(win))])
                        self.assertEqual(res.oack, {"blksize": str(bs),
                                                    "windowsize": str(win)})
                        self.assertTrue(res.data == content, "content differs")
        lines = [ln for ln in started_lines(self.srv.log()) if " s-" in ln]
        self.assertEqual(len(lines), 2 * 2 * 7)
        self.assertEqual([ln for ln in lines if SENDFILE not in ln], [])

    def test_other_paths_not_sendfile(self):
        content = pattern(100000, seed=3)
        self.srv.write("o.bin", content)
        self.srv.write("o.txt", b"line\n" * 20000)
        self.assertEqual(self.get("o.bin", [("blksize", "16384")]).data, content)
        self.assertEqual(self.get("o.bin", [("blksize", "16385")]).data, content)
        self.assertEqual(self.get("o.bin", [("blksize", "65463"),
                                            ("windowsize", "4")]).data, content)
        self.assertEqual(self.get("o.bin", [("blksize", "1428")]).data, content)
        self.assertEqual(self.get("o.bin", []).data, content)
        with self.srv.client() as c:
            got = c.get("o.txt", mode="netascii", opts=[("blksize", str(BIG))])
        self.assertEqual(got.data, b"line\r\n" * 20000)
        lines = [ln for ln in started_lines(self.srv.log()) if " o." in ln]
        self.assertEqual(len(lines), 6, lines)
        self.assertFalse([ln for ln in lines if SENDFILE in ln], lines)

    def shrink_during(self, new_size):
        """Hold a lockstep transfer after DATA 1, cut the file to
        new_size, go on: the data up to the new end, then a short
        block."""
        content = pattern(5 * BIG, seed=new_size)
        path = self.srv.write("shrink.bin", content)
        got = bytearray()
        with Endpoint(ADDR) as e:
            e.send(pack_rrq("shrink.bin", opts=[("blksize", str(BIG))]), self.srv.port)
            p = e.recv(3)
            self.assertEqual(p.op, OACK)
            tid = p.port
            e.send(pack_ack(0), tid)
            p = e.recv(3)
            self.assertEqual((p.op, p.block, len(p.payload)), (DATA, 1, BIG))
            got += p.payload
            os.truncate(path, new_size)
            for b in range(2, 7):
                e.send(pack_ack(b - 1), tid)
                p = e.recv(3)
                self.assertEqual((p.op, p.block), (DATA, b), p and p.raw[:40])
                got += p.payload
                if len(p.payload) < BIG:
                    e.send(pack_ack(b), tid)
                    break
            else:
                self.fail("no short block")
        self.assertEqual(bytes(got), content[:new_size])

    def test_file_shrinks_mid_block(self):
        self.shrink_during(2 * BIG + 100)

    def test_file_shrinks_to_block_boundary(self):
        self.shrink_during(2 * BIG)


class ShortSendfile(unittest.TestCase):
    """sendfile may return short (a signal, memory pressure); the test
    knob TFTPD_SENDFILE_MAX caps every call at 1000 bytes. The block is
    resumed, never sent short: a short block would end the transfer
    early (it used to)."""

    def test_capped_calls_still_whole_blocks(self):
        with TftpdServer("-v", host=ADDR, env={"TFTPD_SENDFILE_MAX": "1000"}) as srv:
            for size in (3 * BIG + 5, 2 * BIG):
                content = pattern(size, seed=size)
                srv.write("c.bin", content)
                with srv.client() as c:
                    res = c.get("c.bin", opts=[("blksize", str(BIG)),
                                               ("windowsize", "4")])
                self.assertTrue(res.data == content,
                                "%d of %d bytes" % (len(res.data), size))
            log = srv.stop()
        self.assertIn(SENDFILE, log)


if __name__ == "__main__":
    peers.enter_own_netns(addrs=(ADDR + "/32",))
    main()
