#!/usr/bin/env python3
"""RRQ and WRQ through the real tftpd: every size around the block
boundaries, with and without blksize / windowsize / tsize, byte-identical
results, exact OACKs; netascii both ways; option negotiation against the
server's caps, checked to the byte."""
import os

from tftptest import (ACK, DATA, ERROR, OACK, Endpoint, TftpdServer, main,
                      pack_error, pack_rrq, pack_wrq, pattern)
import unittest

SIZES = [0, 1, 511, 512, 513, 1 << 20]

# name -> (options asked, blksize in force)
OPTSETS = {
    "plain": ([], 512),
    "blksize": ([("blksize", "1428")], 1428),
    "window": ([("windowsize", "8")], 512),
    "tsize": ([("tsize", "0")], 512),
    "all": ([("blksize", "8192"), ("windowsize", "16"), ("tsize", "0")], 8192),
}


def expected_oack(opts, size):
    want = {}
    for k, v in opts:
        want[k] = str(size) if k == "tsize" else v
    return want or None


class Transfers(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = TftpdServer("-w").start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop_and_cleanup()

    def sizes_for(self, blksize):
        extra = [blksize - 1, blksize, blksize + 1, 3 * blksize]
        return sorted(set(SIZES + extra))

    def test_rrq_matrix(self):
        for optname, (opts, bs) in OPTSETS.items():
            for size in self.sizes_for(bs):
                with self.subTest(opts=optname, size=size):
                    name = "r-%s-%d.bin" % (optname, size)
                    content = pattern(size, seed=size)
                    self.srv.write(name, content)
                    with self.srv.client() as c:
                        res = c.get(name, opts=opts)
                    self.assertEqual(res.oack, expected_oack(opts, size))
                    self.assertEqual(len(res.data), size)
                    self.assertTrue(res.data == content, "content differs")

    def test_wrq_matrix(self):
        for optname, (opts, bs) in OPTSETS.items():
            for size in self.sizes_for(bs):
                with self.subTest(opts=optname, size=size):
                    name = "w-%s-%d.bin" % (optname, size)
                    content = pattern(size, seed=size + 1)
                    # A WRQ's tsize is the size being sent; it is echoed.
                    wopts = [(k, str(size) if k == "tsize" else v) for k, v in opts]
                    with self.srv.client() as c:
                        res = c.put(name, content, opts=wopts)
                    self.assertEqual(res.oack, expected_oack(opts, size))
                    # The file is in place when the final ACK arrives.
                    self.assertTrue(self.srv.read(name) == content, "content differs")
        self.assertEqual(self.srv.temp_files(), [])

    def test_subdirectories_and_leading_slash(self):
        content = pattern(3000, seed=9)
        self.srv.write("boot/pxe/pxelinux.0", content)
        for name in ("boot/pxe/pxelinux.0", "/boot/pxe/pxelinux.0",
                     "//boot//pxe/./pxelinux.0"):
            with self.subTest(name=name), self.srv.client() as c:
                self.assertEqual(c.get(name).data, content)
        with self.srv.client() as c:
            c.put("/boot/up.bin", content)
        self.assertEqual(self.srv.read("boot/up.bin"), content)

    def test_netascii(self):
        text = b"line one\nline two\r\nbare cr \r here\n" * 100 + b"end\r"
        # LF -> CR LF, CR -> CR NUL (RFC 764).
        wire = bytearray()
        for ch in text:
            if ch == 0x0A:
                wire += b"\r\n"
            elif ch == 0x0D:
                wire += b"\r\0"
            else:
                wire.append(ch)
        wire = bytes(wire)
        self.srv.write("text.txt", text)
        for opts in ([], [("blksize", "100"), ("windowsize", "4")]):
            with self.subTest(opts=opts), self.srv.client() as c:
                res = c.get("text.txt", mode="netascii", opts=opts)
                self.assertEqual(res.data, wire)
            with self.subTest(opts=opts, op="WRQ"), self.srv.client() as c:
                name = "up-%d.txt" % len(opts)
                c.put(name, wire, mode="NetAscii", opts=opts)
                self.assertEqual(self.srv.read(name), text)

    def test_netascii_read_offers_no_tsize(self):
        self.srv.write("t2.txt", b"a\nb\n")
        with self.srv.client() as c:
            res = c.get("t2.txt", mode="netascii", opts=[("tsize", "0"), ("blksize", "600")])
        self.assertEqual(res.oack, {"blksize": "600"})
        self.assertEqual(res.data, b"a\r\nb\r\n")


class ExactOack(unittest.TestCase):
    """The OACK's bytes: accepted options in the order blksize timeout
    tsize windowsize, values capped by -B and --max-window."""

    def setUp(self):
        self.content = pattern(3000, seed=3)

    def first_reply(self, srv, req):
        with Endpoint() as e:
            e.send(req, srv.port)
            p = e.recv(3)
            self.assertIsNotNone(p, "no reply")
            # End the transfer at once: a live one would keep sending to
            # this port, which the kernel may hand to the next socket.
            if p.op != ERROR:
                e.send(pack_error(0, "enough"), p.port)
            return p

    def test_caps_and_order(self):
        with TftpdServer("-B", "1024", "--max-window", "4", "-w") as srv:
            srv.write("f.bin", self.content)
            p = self.first_reply(srv, pack_rrq("f.bin", opts=[
                ("WindowSize", "64"), ("foo", "bar"), ("TSIZE", "0"),
                ("timeout", "3"), ("blksize", "4096")]))
            self.assertEqual(p.op, OACK)
            self.assertEqual(p.raw, b"\x00\x06blksize\x001024\x00timeout\x003\x00"
                                    b"tsize\x003000\x00windowsize\x004\x00")
            p = self.first_reply(srv, pack_wrq("new.bin", opts=[
                ("tsize", "77"), ("blksize", "512"), ("windowsize", "2")]))
            self.assertEqual(p.raw, b"\x00\x06blksize\x00512\x00tsize\x0077\x00"
                                    b"windowsize\x002\x00")
            # Values below the caps are granted as asked.
            p = self.first_reply(srv, pack_rrq("f.bin", opts=[("blksize", "8"),
                                                              ("windowsize", "1")]))
            self.assertEqual(p.raw, b"\x00\x06blksize\x008\x00windowsize\x001\x00")
            # Nothing acceptable: plain DATA 1, no OACK.
            p = self.first_reply(srv, pack_rrq("f.bin", opts=[("blksize", "7"),
                                                              ("foo", "1")]))
            self.assertEqual((p.op, p.block, len(p.payload)), (DATA, 1, 512))
            with self.subTest("transfer under the caps"), srv.client() as c:
                res = c.get("f.bin", opts=[("blksize", "4096"), ("windowsize", "64")])
                self.assertEqual(res.oack, {"blksize": "1024", "windowsize": "4"})
                self.assertEqual(res.data, self.content)

    def test_no_options(self):
        with TftpdServer("--no-options", "-w") as srv:
            srv.write("f.bin", self.content)
            p = self.first_reply(srv, pack_rrq("f.bin", opts=[("blksize", "1024"),
                                                              ("tsize", "0")]))
            self.assertEqual((p.op, p.block, len(p.payload)), (DATA, 1, 512))
            p = self.first_reply(srv, pack_wrq("x.bin", opts=[("blksize", "1024")]))
            self.assertEqual((p.op, p.block), (ACK, 0))
            with srv.client() as c:
                res = c.get("f.bin", opts=[("blksize", "1024"), ("windowsize", "8")])
                self.assertIsNone(res.oack)
                self.assertEqual(res.data, self.content)


if __name__ == "__main__":
    main()
