#!/usr/bin/env python3
"""Confinement to the root, for RRQ and WRQ, with both resolvers
(openat2 and the component walk, forced with TFTPD_NO_OPENAT2=1).

The tree: base/secret.txt and base/root-private/secret.txt (the sibling a
string-prefix check would let through) are outside; base/root is served.
inotify watches the secrets (never opened) and the directories outside
(nothing created); every reply is checked for the secret."""
import os
import stat
import shutil
import tempfile
import time
import unittest

from tftptest import (DATA, ERROR, UNDER_VALGRIND, Endpoint, Inotify, TftpdServer,
                      main, pack_ack, pack_data, pack_error, pack_rrq, pack_wrq,
                      pattern, scaled)

SECRET = b"SECRET-" + os.urandom(8).hex().encode() + b"\n"


class Confinement(unittest.TestCase):
    env = {}
    # Whether the server is expected to use openat2. valgrind 3.19 does not
    # know the syscall (ENOSYS): tftpd then uses the walk, and says so in
    # its start-up line, which the tests follow.
    openat2 = True

    def uses_openat2(self):
        """The resolver the server reports at start-up."""
        log = self.srv.log()
        walk = "component-walk confinement" in log
        self.assertNotEqual("openat2 confinement" in log, walk, log[-2000:])
        if not self.openat2 or not UNDER_VALGRIND:
            self.assertEqual(not walk, self.openat2, log[-2000:])
        return not walk

    def setUp(self):
        self.base = tempfile.mkdtemp(prefix="tftpd-conf-")
        b = self.base
        self.root = os.path.join(b, "root")
        self.private = self.root + "-private"
        os.mkdir(self.root)
        os.mkdir(self.private)
        self.secrets = [os.path.join(b, "secret.txt"),
                        os.path.join(self.private, "secret.txt")]
        for s in self.secrets:
            with open(s, "wb") as f:
                f.write(SECRET)
        r = self.root
        self.pub = pattern(1500, seed=1)
        for name, data in (("pub.bin", self.pub), ("a/inner.txt", b"inner\n"),
                           ("etc/passwd", b"root-of-the-tftp-tree\n")):
            os.makedirs(os.path.dirname(os.path.join(r, name)), exist_ok=True)
            with open(os.path.join(r, name), "wb") as f:
                f.write(data)
        os.mkdir(os.path.join(r, "sub"))
        os.symlink("../secret.txt", os.path.join(r, "link-out"))
        os.symlink(self.secrets[0], os.path.join(r, "link-abs"))
        os.symlink("../root-private", os.path.join(r, "dirlink"))
        os.symlink(self.private, os.path.join(r, "dirlink-abs"))
        os.symlink("pub.bin", os.path.join(r, "link-in"))
        os.symlink("/dev/null", os.path.join(r, "devnull"))
        os.mkfifo(os.path.join(r, "fifo"))
        self.have_node = True
        try:
            os.mknod(os.path.join(r, "node"), stat.S_IFCHR | 0o666, os.makedev(1, 3))
        except OSError:
            self.have_node = False
        self.srv = TftpdServer("-w", "--overwrite", root=self.root, env=self.env).start()
        self.watch = Inotify()
        for s in self.secrets:
            self.watch.add(s, Inotify.OPEN | Inotify.ACCESS | Inotify.MODIFY)
        for d in (self.base, self.private):
            self.watch.add(d, Inotify.CREATE | Inotify.MOVED_TO | Inotify.DELETE)

    def tearDown(self):
        try:
            self.assert_outside_untouched()
            self.assertEqual(self.srv.temp_files(), [])
            self.uses_openat2()
            self.srv.stop()
        finally:
            self.watch.close()
            shutil.rmtree(self.base, ignore_errors=True)

    def assert_outside_untouched(self):
        self.assertEqual(self.watch.events(), [], "something outside the root was touched")
        self.assertEqual(sorted(os.listdir(self.base)), ["root", "root-private", "secret.txt"])
        self.assertEqual(os.listdir(self.private), ["secret.txt"])
        for s in self.secrets:
            with open(s, "rb") as f:
                self.assertEqual(f.read(), SECRET)
        self.watch.events()  # our own reads just now

    def request(self, pkt):
        """Send a request; returns every reply (answering a transfer with
        ERROR so it ends)."""
        with Endpoint() as e:
            e.send(pkt, self.srv.port)
            replies = e.recv_all(quiet=0.3, limit=5)
            for p in replies:
                self.assertNotIn(SECRET.strip(), p.raw, "the secret leaked")
                if p.op != ERROR:
                    e.send(pack_error(0, "test over"), p.port)
            return replies

    def assert_refused(self, pkt, code, what):
        t0 = time.monotonic()
        replies = self.request(pkt)
        self.assertLess(time.monotonic() - t0, scaled(4), "%s was slow" % what)
        self.assertEqual(len(replies), 1, "%s: %r" % (what, replies))
        self.assertEqual((replies[0].op, replies[0].code), (ERROR, code),
                         "%s: %r" % (what, replies[0]))

    def rrq_cases(self):
        b = self.base
        cases = [
            ("../secret.txt", 2), ("a/../../secret.txt", 2), ("a/../pub.bin", 2),
            ("../root-private/secret.txt", 2), ("//../secret.txt", 2), ("..", 2),
            (os.path.join(b, "secret.txt"), 1),
            (os.path.join(self.private, "secret.txt"), 1),
            ("//secret.txt", 1), ("..\\secret.txt", 1), ("a\\..\\..\\secret.txt", 1),
            ("..\\root-private\\secret.txt", 1),
            ("link-out", 2), ("link-abs", 2), ("dirlink/secret.txt", 2),
            ("dirlink-abs/secret.txt", 2), ("devnull", 2), ("fifo", 2),
            ("sub", 2), ("sub/", 2), ("/", 2), (".", 2), ("//", 2),
            ("no-such-file", 1), ("a/inner.txt/x", 1), ("nodir/x", 1),
            (".tftpd-0123456789abcdef", 2), ("bad\x01name", 2),
        ]
        if self.have_node:
            cases.append(("node", 2))
        return cases

    def test_read_escapes_are_refused(self):
        for name, code in self.rrq_cases():
            with self.subTest(name=name):
                self.assert_refused(pack_rrq(name), code, "RRQ %r" % name)
        self.assert_outside_untouched()

    def test_absolute_names_are_the_roots(self):
        with self.srv.client() as c:
            self.assertEqual(c.get("/etc/passwd").data, b"root-of-the-tftp-tree\n")
            self.assertEqual(c.get("//a//inner.txt").data, b"inner\n")
            self.assertEqual(c.get("/pub.bin").data, self.pub)

    def test_symlink_inside_the_root(self):
        """openat2 follows a symlink that stays inside; the walk follows
        none and refuses it."""
        with self.srv.client() as c:
            if self.uses_openat2():
                self.assertEqual(c.get("link-in").data, self.pub)
            else:
                with self.assertRaises(AssertionError) as e:
                    c.get("link-in")
                self.assertEqual(getattr(e.exception, "code", None), 2)

    def test_fifo_does_not_block_the_server(self):
        """A FIFO request is refused at once and the server goes on
        serving (a blocking open would hang the loop)."""
        for _ in range(3):
            self.assert_refused(pack_rrq("fifo"), 2, "RRQ fifo")
            with self.srv.client() as c:
                self.assertEqual(c.get("pub.bin").data, self.pub)
        self.assertTrue(stat.S_ISFIFO(os.lstat(os.path.join(self.root, "fifo")).st_mode))

    def test_write_escapes_are_refused(self):
        b = self.base
        cases = [
            ("../evil.txt", 2), ("a/../../evil.txt", 2), ("../root-private/evil.txt", 2),
            ("//../evil.txt", 2), (os.path.join(b, "evil.txt"), 1),
            (os.path.join(self.private, "evil.txt"), 1),
            ("dirlink/evil.txt", 2), ("dirlink-abs/evil.txt", 2),
            ("dirlink/secret.txt", 2), ("link-out", 2), ("link-abs", 2),
            ("devnull", 2), ("fifo", 2), ("sub", 2), ("/", 2), ("missingdir/x", 1),
            (".tftpd-0123456789abcdef", 2),
        ]
        if self.have_node:
            cases.append(("node", 2))
        for name, code in cases:
            with self.subTest(name=name):
                self.assert_refused(pack_wrq(name), code, "WRQ %r" % name)
        # Links and special files are still what they were.
        self.assertEqual(os.readlink(os.path.join(self.root, "link-out")), "../secret.txt")
        self.assertTrue(stat.S_ISFIFO(os.lstat(os.path.join(self.root, "fifo")).st_mode))
        self.assert_outside_untouched()

    def test_backslash_names_are_plain_names_inside(self):
        """A backslash is an ordinary character: the file lands inside."""
        with self.srv.client() as c:
            c.put("..\\evil.txt", b"harmless\n")
        self.assertEqual(self.srv.read("..\\evil.txt"), b"harmless\n")

    def test_upload_through_symlinked_directory_is_refused_midway(self):
        """The directory is resolved once, at the request: data that
        follows cannot be steered outside."""
        with Endpoint() as e:
            e.send(pack_wrq("a/new.txt"), self.srv.port)
            p = e.recv(3)
            self.assertEqual((p.op, p.block), (4, 0), repr(p))
            # Swap a/ for a symlink to the private directory mid-upload.
            os.rename(os.path.join(self.root, "a"), os.path.join(self.root, "a.moved"))
            os.symlink(self.private, os.path.join(self.root, "a"))
            e.send(pack_data(1, b"data\n"), p.port)
            r = e.recv(3)
            self.assertEqual((r.op, r.block), (4, 1), repr(r))
        self.assertEqual(self.srv.read("a.moved/new.txt"), b"data\n")
        self.assertFalse(os.path.exists(os.path.join(self.private, "new.txt")))


class ConfinementWalk(Confinement):
    """The same with the component walk and hidden temporary names."""
    env = {"TFTPD_NO_OPENAT2": "1", "TFTPD_NO_TMPFILE": "1"}
    openat2 = False


if __name__ == "__main__":
    main()
