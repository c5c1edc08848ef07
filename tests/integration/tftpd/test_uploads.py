#!/usr/bin/env python3
"""The write policy and the life of an upload: WRQ refused without -w
(ERROR 2), --overwrite (without it an existing file gets ERROR 6 and stays
as it was; with it the file is replaced atomically), --max-upload (by the
data, and by a tsize announced in the WRQ before any data), -U, and
aborted uploads (ERROR from the client, a client gone silent) that leave
nothing under the final name and no temporary file. Each upload case runs
with O_TMPFILE and with hidden temporary names (TFTPD_NO_TMPFILE=1)."""
import os
import time
import re
import stat
import unittest

from tftptest import (scaled, ACK, ERROR, Endpoint, Inotify, TftpdServer, TftpError,
                      main, pack_data, pack_error, pack_wrq, pattern,
                      wait_for)

TMPFILE_MODES = {"O_TMPFILE": None, "hidden names": {"TFTPD_NO_TMPFILE": "1"}}


def listing(root):
    """Every entry under root, relative, sorted (hidden ones included)."""
    out = []
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            out.append(os.path.relpath(os.path.join(d, n), root))
    return sorted(out)


class RawUpload:
    """A WRQ driven packet by packet (blksize 512, window 1)."""

    def __init__(self, srv, name, opts=None):
        self.e = Endpoint()
        self.e.send(pack_wrq(name, opts=opts), srv.port)
        p = self.e.recv(3)
        assert p is not None, "no answer to the WRQ"
        if p.op == ERROR:
            self.e.close()
            raise TftpError(p.code, p.msg)
        assert (p.op, p.block) == (ACK, 0), p
        self.tid = p.port

    def block(self, n, payload):
        self.e.send(pack_data(n, payload), self.tid)
        p = self.e.recv(3)
        assert p is not None, "no answer to DATA %d" % n
        return p

    def close(self):
        self.e.close()


class WriteRefused(unittest.TestCase):
    def test_wrq_without_w_is_error_2(self):
        with TftpdServer() as srv:
            srv.write("exists.bin", b"old")
            ino = Inotify()
            try:
                ino.add(srv.root, Inotify.CREATE | Inotify.MOVED_TO |
                        Inotify.MODIFY | Inotify.OPEN)
                for name in ("new.bin", "exists.bin", "sub/new.bin"):
                    with self.subTest(name=name), Endpoint() as e:
                        e.send(pack_wrq(name, opts={"tsize": "3"}), srv.port)
                        p = e.recv(3)
                        self.assertIsNotNone(p)
                        self.assertEqual(p.raw, b"\x00\x05\x00\x02Writes are not allowed\x00")
                        # From the listening port: no transfer was set up.
                        self.assertEqual(p.port, srv.port)
                        self.assertIsNone(e.recv(0.3))
                self.assertEqual(ino.events(), [])
            finally:
                ino.close()
            self.assertEqual(listing(srv.root), ["exists.bin"])
            self.assertEqual(srv.read("exists.bin"), b"old")


class Overwrite(unittest.TestCase):
    def test_existing_file_without_overwrite(self):
        for mode, env in TMPFILE_MODES.items():
            with self.subTest(mode=mode), TftpdServer("-w", env=env) as srv:
                path = srv.write("f.bin", b"original")
                before = os.stat(path)
                with srv.client() as c, self.assertRaises(TftpError) as cm:
                    c.put("f.bin", pattern(2000))
                self.assertEqual((cm.exception.code, cm.exception.msg),
                                 (6, "File already exists"))
                after = os.stat(path)
                self.assertEqual(srv.read("f.bin"), b"original")
                self.assertEqual((after.st_ino, after.st_mtime_ns),
                                 (before.st_ino, before.st_mtime_ns))
                # A new name is fine.
                with srv.client() as c:
                    c.put("g.bin", pattern(2000))
                self.assertEqual(srv.read("g.bin"), pattern(2000))
                self.assertEqual(listing(srv.root), ["f.bin", "g.bin"])

    def test_file_appearing_mid_upload_is_not_replaced(self):
        """Without --overwrite the check is repeated at commit: a file
        that appeared while the data came in wins, the client gets
        ERROR 6 instead of the final ACK."""
        for mode, env in TMPFILE_MODES.items():
            with self.subTest(mode=mode), TftpdServer("-w", env=env) as srv:
                up = RawUpload(srv, "race.bin")
                try:
                    self.assertEqual(up.block(1, b"a" * 512).block, 1)
                    srv.write("race.bin", b"someone else")
                    p = up.block(2, b"b" * 10)
                    self.assertEqual((p.op, p.code), (ERROR, 6))
                finally:
                    up.close()
                self.assertEqual(srv.read("race.bin"), b"someone else")
                wait_for(lambda: srv.temp_files() == [], 5, "temp file removal")
                self.assertEqual(listing(srv.root), ["race.bin"])

    def test_overwrite_replaces_atomically(self):
        old, new = pattern(5000, seed=1), pattern(3000, seed=2)
        for mode, env in TMPFILE_MODES.items():
            with self.subTest(mode=mode), \
                    TftpdServer("-w", "--overwrite", env=env) as srv:
                path = srv.write("f.bin", old)
                ino = os.stat(path).st_ino
                with open(path, "rb") as held:
                    up = RawUpload(srv, "f.bin")
                    try:
                        for b in range(1, 6):
                            self.assertEqual(up.block(b, new[(b - 1) * 512:b * 512]).block, b)
                        # Half-way, the name still gives the whole old file.
                        self.assertEqual(srv.read("f.bin"), old)
                        blocks = len(new) // 512 + 1
                        for b in range(6, blocks + 1):
                            p = up.block(b, new[(b - 1) * 512:b * 512])
                            self.assertEqual((p.op, p.block), (ACK, b))
                    finally:
                        up.close()
                    # The final ACK came after the new file was in place.
                    self.assertEqual(srv.read("f.bin"), new)
                    # A new inode took the name: the old file was never
                    # rewritten in place (whoever had it open still has it).
                    self.assertNotEqual(os.stat(path).st_ino, ino)
                    self.assertEqual(held.read(), old)
                wait_for(lambda: srv.temp_files() == [], 5, "temp file removal")
                self.assertEqual(listing(srv.root), ["f.bin"])

    def test_overwrite_never_replaces_non_regular(self):
        with TftpdServer("-w", "--overwrite") as srv:
            os.mkdir(srv.path("d"))
            with srv.client() as c, self.assertRaises(TftpError) as cm:
                c.put("d", b"x")
            self.assertEqual(cm.exception.code, 2)
            self.assertTrue(os.path.isdir(srv.path("d")))


class MaxUpload(unittest.TestCase):
    def test_limit_by_data(self):
        for mode, env in TMPFILE_MODES.items():
            with self.subTest(mode=mode), \
                    TftpdServer("-w", "--max-upload", "2000", env=env) as srv:
                with srv.client() as c:
                    c.put("exact.bin", pattern(2000))
                self.assertEqual(srv.read("exact.bin"), pattern(2000))
                up = RawUpload(srv, "big.bin")
                try:
                    for b in range(1, 4):
                        self.assertEqual(up.block(b, b"z" * 512).block, b)
                    # 2048 > 2000: refused at the fourth block.
                    p = up.block(4, b"z" * 512)
                    self.assertEqual(p.raw, b"\x00\x05\x00\x03File too large\x00")
                finally:
                    up.close()
                wait_for(lambda: srv.temp_files() == [], 5, "temp file removal")
                self.assertEqual(listing(srv.root), ["exact.bin"])

    def test_tsize_over_limit_refused_before_data(self):
        with TftpdServer("-w", "--max-upload", "1K") as srv:
            ino = Inotify()
            try:
                ino.add(srv.root, Inotify.CREATE | Inotify.MOVED_TO |
                        Inotify.MODIFY | Inotify.OPEN)
                with Endpoint() as e:
                    e.send(pack_wrq("t.bin", opts={"tsize": "1025", "blksize": "1024"}),
                           srv.port)
                    p = e.recv(3)
                    self.assertIsNotNone(p)
                    self.assertEqual(p.raw, b"\x00\x05\x00\x03File too large\x00")
                    self.assertIsNone(e.recv(0.3))
                self.assertEqual(ino.events(), [])
            finally:
                ino.close()
            self.assertEqual(listing(srv.root), [])
            # At the limit it goes through, tsize echoed.
            with srv.client() as c:
                res = c.put("t.bin", pattern(1024), opts={"tsize": "1024"})
            self.assertEqual(res.oack, {"tsize": "1024"})
            self.assertEqual(srv.read("t.bin"), pattern(1024))

    def test_no_options_ignores_tsize(self):
        """A pure RFC 1350 server does not read the tsize: the WRQ is
        accepted with ACK 0 and the data alone is held to the limit."""
        with TftpdServer("-w", "--no-options", "--max-upload", "1000") as srv:
            with srv.client() as c:
                res = c.put("small.bin", b"s" * 600, opts={"tsize": "5000"})
            self.assertIsNone(res.oack)
            self.assertEqual(srv.read("small.bin"), b"s" * 600)
            with srv.client() as c, self.assertRaises(TftpError) as cm:
                c.put("big.bin", pattern(1500), opts={"tsize": "1500"})
            self.assertEqual(cm.exception.code, 3)
            self.assertFalse(os.path.exists(srv.path("big.bin")))

    def test_tsize_over_free_space_refused_before_data(self):
        with TftpdServer("-w") as srv:
            with Endpoint() as e:
                e.send(pack_wrq("huge.bin", opts={"tsize": str(1 << 62)}), srv.port)
                p = e.recv(3)
                self.assertIsNotNone(p)
                self.assertEqual((p.op, p.code), (ERROR, 3))
                self.assertIsNone(e.recv(0.3))
            self.assertEqual(listing(srv.root), [])


class Umask(unittest.TestCase):
    def test_umask(self):
        for args, want in (((), 0o644), (("-U", "077"), 0o600), (("-U", "0"), 0o666)):
            with self.subTest(args=args), TftpdServer("-w", *args) as srv:
                with srv.client() as c:
                    c.put("m.bin", b"mode")
                self.assertEqual(stat.S_IMODE(os.stat(srv.path("m.bin")).st_mode), want)


class Aborted(unittest.TestCase):
    """Cut-off uploads leave nothing: neither the final name nor a
    temporary file, and the server says why in its log."""

    def start_upload(self, srv):
        up = RawUpload(srv, "sub/cut.bin")
        for b in range(1, 4):
            self.assertEqual(up.block(b, pattern(512, seed=b)).block, b)
        self.assertFalse(os.path.exists(srv.path("sub/cut.bin")))
        return up

    def check_clean(self, srv, mode):
        self.assertEqual(srv.temp_files(), [], mode)
        self.assertEqual(listing(srv.root), ["sub"], mode)

    def test_client_sends_error(self):
        for mode, env in TMPFILE_MODES.items():
            with self.subTest(mode=mode), TftpdServer("-w", env=env) as srv:
                os.mkdir(srv.path("sub"))
                up = self.start_upload(srv)
                try:
                    if env:
                        self.assertEqual(len(srv.temp_files()), 1)
                    up.e.send(pack_error(0, "user cancelled"), up.tid)
                    wait_for(lambda: "client sent ERROR 0 (user cancelled)" in srv.log(),
                             5, "the abort in the log")
                    # No answer to an ERROR.
                    self.assertIsNone(up.e.recv(0.2))
                finally:
                    up.close()
                self.check_clean(srv, mode)

    def test_client_goes_silent(self):
        for mode, env in TMPFILE_MODES.items():
            with self.subTest(mode=mode), \
                    TftpdServer("-w", "-t", "1", "--retries", "2", env=env) as srv:
                os.mkdir(srv.path("sub"))
                up = self.start_upload(srv)
                try:
                    if env:
                        self.assertEqual(len(srv.temp_files()), 1)
                    # The server repeats ACK 3, backing off from its
                    # adapted timeout to the 1 s cap, until 1 s x 2 of
                    # silence have passed: a handful, then nothing.
                    t0 = time.monotonic()
                    got = up.e.recv_all(quiet=2.5, limit=15)
                    self.assertTrue(got, "no retransmission")
                    self.assertTrue(all((p.op, p.block) == (ACK, 3) for p in got), got)
                    self.assertLessEqual(len(got), 10)
                    # recv_all waited for the quiet (scaled) after the last.
                    self.assertLess(time.monotonic() - t0, scaled(2.0 + 2.5 + 1.0))
                    wait_for(lambda: re.search(r"WRQ sub/cut.bin .*failed, timed out",
                                               srv.log()), 10, "the timeout in the log")
                finally:
                    up.close()
                self.check_clean(srv, mode)


if __name__ == "__main__":
    main()
