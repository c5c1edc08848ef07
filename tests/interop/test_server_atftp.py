#!/usr/bin/env python3
"""Our tftpd with atftp's client (atftp 0.8): blksize 512..65464, windowsize
16 (RFC 7440, also across block 65535), tsize, unusual options (blksize 8,
timeout 1), and netascii through its interactive 'mode netascii' (the batch
command line has no mode switch)."""
import re

from interop import (SIZES, OurServerCase, data_for, log_mark, read, run,
                     text_data, transfer_line)
from peers import client_path
from tftptest import main


def atftp_opts(blksize=None, window=None, tsize=False, timeout=None):
    a = []
    if blksize:
        a += ["--option", "blksize %d" % blksize]
    if window:
        a += ["--option", "windowsize %d" % window]
    if tsize:
        a += ["--option", "tsize 0"]
    if timeout:
        a += ["--option", "timeout %d" % timeout]
    return a


class AtftpClient(OurServerCase):
    client = "atftp"

    def get(self, remote, local, trace=False, **opts):
        return run([client_path("atftp")] + (["--trace"] if trace else [])
                   + ["-g", "-r", remote, "-l", local] + atftp_opts(**opts)
                   + ["127.0.0.1", self.srv.port])

    def put(self, local, remote, trace=False, **opts):
        return run([client_path("atftp")] + (["--trace"] if trace else [])
                   + ["-p", "-l", local, "-r", remote] + atftp_opts(**opts)
                   + ["127.0.0.1", self.srv.port])

    def ok(self, p):
        return p.returncode == 0 and "error" not in p.out.lower()

    def test_get_put_sizes_blksizes(self):
        self.check_sizes_blksizes(put_seed=7)

    def test_windowsize_16(self):
        for blk in (512, 1428, 65464):
            for size in SIZES:
                with self.subTest(blksize=blk, size=size):
                    self.check_get("s%d.bin" % size, data_for(size, seed=size),
                                   "wg%d-%d" % (size, blk), expect=(blk, 16),
                                   blksize=blk, window=16)
                    self.check_put(data_for(size, seed=9 + size), "wp%d-%d" % (size, blk),
                                   expect=(blk, 16), blksize=blk, window=16)

    def test_tsize(self):
        # The OACK of a read carries the file's size; atftp's write request
        # carries the local file's size, which is echoed.
        for size in SIZES:
            with self.subTest(size=size):
                p = self.check_get("s%d.bin" % size, data_for(size, seed=size),
                                   "tg%d" % size, trace=True, tsize=True, blksize=1428)
                m = re.search(r"received OACK <([^>]*)>", p.out)
                self.assertIsNotNone(m, p.out[:400])
                self.assertIn("tsize: %d," % size, m.group(1))
                p = self.check_put(data_for(size, seed=11), "tp%d" % size, trace=True,
                                   tsize=True)
                self.assertIn("sent WRQ <file: atftp-tp%d, mode: octet <tsize: %d>>"
                              % (size, size), p.out[:400])
                self.assertIn("received OACK <tsize: %d," % size, p.out[:400])

    def test_unusual_options(self):
        # blksize 8 (the smallest RFC 2348 allows) and timeout 1.
        data = data_for(5000, seed=3)
        self.srv.write("u.bin", data)
        p = self.check_get("u.bin", data, "u8", expect=(8, 1), trace=True,
                           blksize=8, timeout=1)
        self.assertRegex(p.out[:600], r"received OACK <[^>]*blksize: 8,")
        self.assertRegex(p.out[:600], r"received OACK <[^>]*timeout: 1,")
        self.check_put(data, "u8", expect=(8, 1), blksize=8, timeout=1)

    def interactive(self, *commands):
        script = "connect 127.0.0.1 %d\nmode netascii\n%s\nquit\n" % (
            self.srv.port, "\n".join(commands))
        return run([client_path("atftp")], stdin=script.encode(), cwd=self.dir)

    def test_netascii(self):
        # atftp converts both ways: what arrives is the local text again.
        text = text_data()
        mark = log_mark(self.srv)
        p = self.interactive("get text.txt got.txt")
        self.assertNotIn("error", p.out.lower(), p.out[-2000:])
        self.assertIn(" netascii: ", transfer_line(self.srv, "RRQ", "text.txt", since=mark))
        self.assertSameBytes(read(self.local("got.txt")), text,
                             "atftp netascii get")
        with open(self.local("up.txt"), "wb") as f:
            f.write(text)
        p = self.interactive("put up.txt atftp-up.txt")
        self.assertNotIn("error", p.out.lower(), p.out[-2000:])
        line = transfer_line(self.srv, "WRQ", "atftp-up.txt")
        self.assertIn("netascii", line)
        self.assertSameBytes(self.srv.read("atftp-up.txt"), text, "atftp netascii put")

    def test_wrap_windowsize_16(self):
        # Past block 65535 at 512 bytes with a window of 16 both ways.
        data = self.wrap_file()
        self.check_get("wrap.bin", data, "gw", expect=(512, 16), window=16)
        self.check_put(data, "pw", expect=(512, 16), window=16)


if __name__ == "__main__":
    main()
