#!/usr/bin/env python3
"""The client against servers that behave as real ones sometimes do
(issue 13, items 1-8), each played by a scripted server: garbage from
another port of the server's address before the first reply, an ERROR of
1500 bytes, a stranger's ERROR, a tsize that does not match the data,
escape sequences in server text, a download over a file in a read-only
directory, SIGTERM while blocked on a full stdout pipe, and kill -9 during
a download."""
import os
import shutil
import signal
import stat
import subprocess
import tempfile
import time
import unittest

from clienttest import (recv_op, FakeServer, expect, leftovers, run_tftp, tftp_argv,
                        wait_for)
from tftptest import (ACK, DATA, ERROR, RRQ, Endpoint, TftpdServer, main,
                      pack_ack, pack_data, pack_error, pack_oack, pattern,
                      scaled)


def serve_lockstep(tid, port, content, first=1):
    """Send content in 512-byte blocks from tid to port, lockstep."""
    block = first
    off = (first - 1) * 512
    while True:
        chunk = content[off:off + 512]
        tid.send(pack_data(block, chunk), port)
        end = time.monotonic() + scaled(5)
        while recv_op(tid, ACK).block != block:  # a repeated earlier ACK
            expect(time.monotonic() < end, "ACK %d" % block)
        if len(chunk) < 512:
            return
        block += 1
        off += 512


class Robust(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tftp-robust-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def local(self, name):
        return os.path.join(self.dir, name)

    def test_garbage_from_another_port_does_not_lock(self):
        """Item 1: a datagram from another port of the server's address
        that is no valid reply is ignored; the real reply is taken."""
        content = pattern(700, seed=1)

        def script(fake):
            req = recv_op(fake.listen, RRQ)
            junk = fake.endpoint()
            junk.send(b"\x00\x03\x00\x07garbage", req.port)   # DATA 7
            junk.send(b"\xff\xff", req.port)
            expect(junk.recv(0.5) is None, "the garbage was answered")
            serve_lockstep(fake.endpoint(), req.port, content)

        out = self.local("g.bin")
        with FakeServer(script) as fake:
            p = run_tftp("get", "127.0.0.1:%d" % fake.port, "g.bin", out)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(out, "rb") as f:
            self.assertEqual(f.read(), content)

    def test_oversized_error_reported(self):
        """Item 2: a 1500-byte ERROR message is the server's answer (exit
        1 with its code), not a timeout."""
        msg = "x" * 1500

        def script(fake):
            req = recv_op(fake.listen, RRQ)
            fake.endpoint().send(pack_error(2, msg), req.port)

        with FakeServer(script) as fake:
            p = run_tftp("get", "127.0.0.1:%d" % fake.port, "e.bin",
                         self.local("e.bin"))
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("(TFTP error 2)", p.stderr)
        self.assertIn("xxxxxxxx", p.stderr)
        self.assertLess(len(p.stderr), 1000)

    def test_stranger_error_not_answered(self):
        """Item 3: never answer an ERROR, even a stranger's."""
        content = pattern(1500, seed=3)
        seen = {}

        def script(fake):
            req = recv_op(fake.listen, RRQ)
            tid = fake.endpoint()
            tid.send(pack_data(1, content[:512]), req.port)
            expect(recv_op(tid, ACK).block == 1, "ACK 1")
            stranger = Endpoint(bind="127.0.0.2")
            fake.endpoints.append(stranger)
            stranger.send(pack_error(5, "who are you"), req.port)
            seen["reply"] = stranger.recv(1.0)
            serve_lockstep(tid, req.port, content, first=2)

        out = self.local("s.bin")
        with FakeServer(script) as fake:
            p = run_tftp("get", "127.0.0.1:%d" % fake.port, "s.bin", out)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIsNone(seen["reply"])

    def tsize_case(self, announced, content):
        def script(fake):
            req = recv_op(fake.listen, RRQ)
            tid = fake.endpoint()
            tid.send(pack_oack({"tsize": str(announced)}), req.port)
            expect(recv_op(tid, ACK).block == 0, "ACK 0")
            serve_lockstep(tid, req.port, content)

        out = self.local("t.bin")
        with FakeServer(script) as fake:
            p = run_tftp("get", "-T", "127.0.0.1:%d" % fake.port, "t.bin", out)
        return p, out

    def test_tsize_larger_than_data(self):
        """Item 4: 10 bytes sent after tsize 100 MiB: exit 1, no file, and
        no 100 MiB kept allocated anywhere in the directory."""
        before = shutil.disk_usage(self.dir).used
        p, out = self.tsize_case(100 << 20, b"0123456789")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("announced 104857600 bytes", p.stderr)
        self.assertFalse(os.path.exists(out))
        self.assertEqual(os.listdir(self.dir), [])
        self.assertLess(shutil.disk_usage(self.dir).used - before, 50 << 20)

    def test_tsize_matches_and_space_trimmed(self):
        content = pattern(3000, seed=4)
        p, out = self.tsize_case(3000, content)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(out, "rb") as f:
            self.assertEqual(f.read(), content)
        self.assertLessEqual(os.stat(out).st_blocks * 512, 64 << 10)

    def test_server_text_escaped(self):
        """Item 5: escape sequences in an ERROR message and in OACK option
        names reach the terminal escaped."""
        evil = "\x1b]0;owned\x07\x1b[2J"

        def script(fake):
            req = recv_op(fake.listen, RRQ)
            fake.endpoint().send(pack_error(1, "no " + evil), req.port)
            req = recv_op(fake.listen, RRQ)
            tid = fake.endpoint()
            tid.send(b"\x00\x06" + evil.encode() + b"\x001\x00", req.port)
            recv_op(tid, ERROR)

        with FakeServer(script) as fake:
            p1 = run_tftp("get", "127.0.0.1:%d" % fake.port, "a", self.local("a"))
            p2 = run_tftp("get", "-b", "1024", "--trace",
                          "127.0.0.1:%d" % fake.port, "b", self.local("b"))
        for p in (p1, p2):
            self.assertNotEqual(p.returncode, 0)
            self.assertNotIn("\x1b", p.stderr)
            self.assertNotIn("\x07", p.stderr)
        self.assertIn("]0;owned", p1.stderr)   # the text, made harmless
        self.assertIn("\\x1b", p2.stderr)

    def test_read_only_directory_writable_file(self):
        """Item 6: the file is writable, its directory is not: the download
        succeeds in place (hard link kept) and a failed one leaves it."""
        if os.geteuid() == 0:
            runner = ["setpriv", "--reuid", "65534", "--regid", "65534",
                      "--clear-groups"]
        else:
            runner = []
        d = self.local("ro")
        os.mkdir(d)
        target = os.path.join(d, "sw1.cfg")
        with open(target, "wb") as f:
            f.write(b"old")
        os.chmod(target, 0o666)
        os.link(target, self.local("hardlink"))
        os.chmod(d, 0o755)
        os.chmod(self.dir, 0o755)
        content = pattern(1200, seed=6)
        with TftpdServer() as srv:
            srv.write("sw1.cfg", content)
            p = subprocess.run(runner + tftp_argv("get", "127.0.0.1:%d" % srv.port,
                                                  "sw1.cfg", target),
                               capture_output=True, timeout=scaled(30))
            self.assertEqual(p.returncode, 0, p.stderr)
            # and a failing one (no such file) leaves it alone
            q = subprocess.run(runner + tftp_argv("get", "127.0.0.1:%d" % srv.port,
                                                  "missing", target),
                               capture_output=True, timeout=scaled(30))
            self.assertEqual(q.returncode, 1, q.stderr)
            srv.stop()
        with open(self.local("hardlink"), "rb") as f:
            self.assertEqual(f.read(), content)
        self.assertEqual(stat.S_IMODE(os.stat(target).st_mode), 0o666)
        self.assertEqual(os.listdir(d), ["sw1.cfg"])

    def test_replace_keeps_mode(self):
        """Item 6: an atomic replace carries the old file's mode over."""
        out = self.local("keep.bin")
        with open(out, "wb") as f:
            f.write(b"old")
        os.chmod(out, 0o640)
        with TftpdServer() as srv:
            srv.write("keep.bin", b"new content")
            p = run_tftp("get", "127.0.0.1:%d" % srv.port, "keep.bin", out)
            srv.stop()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(stat.S_IMODE(os.stat(out).st_mode), 0o640)

    def test_sigterm_while_stdout_blocked(self):
        """Item 7: blocked writing to a full pipe, SIGTERM ends the client
        within a second (exit 128+15)."""
        content = pattern(4 << 20, seed=7)
        with TftpdServer() as srv:
            srv.write("big.bin", content)
            r, w = os.pipe()
            p = subprocess.Popen(tftp_argv("get", "-b", "65464",
                                           "127.0.0.1:%d" % srv.port, "big.bin", "-"),
                                 stdout=w, stderr=subprocess.PIPE,
                                 stdin=subprocess.DEVNULL)
            os.close(w)
            try:
                # nobody reads: the pipe fills and the client blocks on it
                time.sleep(1.0)  # let it fill the pipe (the state under test)
                self.assertIsNone(p.poll())
                t = time.monotonic()
                p.send_signal(signal.SIGTERM)
                rc = p.wait(scaled(5))
                took = time.monotonic() - t
            finally:
                if p.poll() is None:
                    p.kill()
                    p.wait()
                os.close(r)
            srv.stop(expect_rc=None)
        self.assertEqual(rc, 128 + 15, p.stderr.read())
        self.assertLess(took, scaled(1.0) + 0.5)

    def test_kill_9_leaves_nothing(self):
        """Item 8: the download's temporary file is unnamed (O_TMPFILE):
        a SIGKILL leaves no .tftp-* file behind."""
        def script(fake):
            req = recv_op(fake.listen, RRQ)
            tid = fake.endpoint()
            tid.send(pack_data(1, b"x" * 512), req.port)
            recv_op(tid, ACK)
            fake.killed.wait(scaled(10))

        import threading
        out = self.local("k.bin")
        fake = FakeServer(script)
        fake.killed = threading.Event()
        with fake:
            p = subprocess.Popen(tftp_argv("get", "127.0.0.1:%d" % fake.port,
                                           "k.bin", out),
                                 stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)  # mid-download: block 1 is in (the state under test)
            p.kill()
            p.wait()
            fake.killed.set()
        self.assertEqual(leftovers(self.dir), [])
        self.assertEqual(os.listdir(self.dir), [])


if __name__ == "__main__":
    main()
