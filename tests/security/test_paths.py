#!/usr/bin/env python3
"""Path escapes, for RRQ and WRQ.

The tree (ServerCase): base/root is served; base/secret.txt and the root's
sibling base/root-private/secret.txt hold a secret token. inotify watches
the secrets (opened?) and the directories outside the root (anything
created?): nothing outside the root is ever opened, read or written,
whatever the name asked: .., absolute paths, //, backslashes, symlinks out
of the root (file and directory), a symlink or directory swapped in while
requests run, a FIFO, a device, a directory."""
import ctypes
import os
import stat
import threading
import time

from sectest import (ACK, DATA, ERROR, OACK, Client, ServerCase, data, log, main,
                     rrq, scaled, wrq)
from tftptest import Inotify

IN_ACCESS, IN_MODIFY, IN_OPEN = 0x1, 0x2, 0x20
IN_MOVED_TO, IN_CREATE, IN_DELETE = 0x80, 0x100, 0x200
RENAME_EXCHANGE = 2
AT_FDCWD = -100

libc = ctypes.CDLL(None, use_errno=True)


def exchange(a, b):
    """Swap two names atomically (renameat2 RENAME_EXCHANGE)."""
    if libc.renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b),
                      RENAME_EXCHANGE) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


READ_ESCAPES = [
    "../secret.txt", "../root-private/secret.txt", "sub/../../secret.txt",
    "sub/../../root-private/secret.txt", "./../secret.txt", "..", "../",
    "/../secret.txt", "//../secret.txt", "/..//../secret.txt", "sub/./../../secret.txt",
    "..\\secret.txt", "sub\\..\\..\\secret.txt", "\\..\\secret.txt",
    "..\\root-private\\secret.txt", "....//secret.txt", ".../secret.txt",
    "%2e%2e/secret.txt", "..%2fsecret.txt", "link-out", "link-abs",
    "dirlink/secret.txt", "dirlink-abs/secret.txt", "sub/up/../secret.txt",
    "sub/up/../root-private/secret.txt", "sub/up/../../secret.txt",
    "a/" * 300 + "../" * 301 + "secret.txt",
]
# Names that are not regular files inside the root.
SPECIAL = ["fifo", "zero", "dev-link", "sub", "emptydir", ".", "/", "//", "loop",
           "sub/", "/sub"]


class Paths(ServerCase):
    server_args = ("-w", "--overwrite")

    def setUp(self):
        super().setUp()
        r = self.root
        os.mkdir(os.path.join(r, "sub"))
        os.mkdir(os.path.join(r, "emptydir"))
        with open(os.path.join(r, "sub", "inner.txt"), "wb") as f:
            f.write(b"inner\n")
        os.symlink("../secret.txt", os.path.join(r, "link-out"))
        os.symlink(os.path.join(self.base, "secret.txt"), os.path.join(r, "link-abs"))
        os.symlink("../root-private", os.path.join(r, "dirlink"))
        os.symlink(self.private, os.path.join(r, "dirlink-abs"))
        os.symlink("pub.bin", os.path.join(r, "link-in"))
        os.symlink("..", os.path.join(r, "sub", "up"))
        os.symlink("loop", os.path.join(r, "loop"))
        os.symlink("/dev/zero", os.path.join(r, "dev-link"))
        os.mkfifo(os.path.join(r, "fifo"))
        # A character device inside the root (/dev/zero's numbers); only
        # root may mknod, so elsewhere a symlink to it stands in.
        try:
            os.mknod(os.path.join(r, "zero"), stat.S_IFCHR | 0o666, os.makedev(1, 5))
        except OSError:
            if os.geteuid() == 0:
                raise
            os.symlink("/dev/zero", os.path.join(r, "zero"))
        # Watch from the first request on (the server's start-up is not
        # driven by a peer).
        self.start_server()
        self.watch = Inotify()  # over paths outside the root
        for s in (os.path.join(self.base, "secret.txt"),
                  os.path.join(self.private, "secret.txt")):
            self.watch.add(s, IN_OPEN | IN_ACCESS | IN_MODIFY)
        for d in (self.base, self.private):
            self.watch.add(d, IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_OPEN)

    def tearDown(self):
        try:
            self.assert_untouched()
        finally:
            self.watch.close()
            super().tearDown()

    def assert_untouched(self):
        evs = [e for e in self.watch.events()
               # the base directory itself holds root/: only its entries matter
               if not (e[0] == self.base and e[1] in ("root",))]
        self.assertEqual(evs, [], "something outside the root was touched")
        self.assertEqual(sorted(os.listdir(self.private)), ["secret.txt"])
        self.assertEqual(sorted(os.listdir(self.base)),
                         ["root", "root-private", "secret.txt"])
        for s in (os.path.join(self.base, "secret.txt"),
                  os.path.join(self.private, "secret.txt")):
            with open(s, "rb") as f:
                self.assertEqual(f.read(), self.SECRET, "%s was changed" % s)
        self.watch.events()  # our own look above

    def refused(self, c, name, pkt, codes=(1, 2)):
        if len(name) > 1024:
            # Longer than the server takes: refused as a bad request.
            codes = tuple(codes) + (4,)
        c.send(pkt, self.server.port)
        replies = c.recv_all(quiet=0.3, limit=5)
        log("  %-5s %-40r -> %s" % ("RRQ" if pkt[1] == 1 else "WRQ", name[:40], replies))
        self.assert_no_secret(replies, name)
        self.assertEqual(len(replies), 1, "%r: %r" % (name, replies))
        self.assertEqual(replies[0].op, ERROR, "%r answered %r" % (name, replies[0]))
        self.assertIn(replies[0].code, codes, "%r: %r" % (name, replies[0]))

    def test_read_escapes_are_refused(self):
        for name in READ_ESCAPES:
            with self.subTest(name=name[:60]), Client() as c:
                self.refused(c, name, rrq(name))
        self.assert_serving("read escapes")

    def test_absolute_paths_stay_in_the_root(self):
        """A leading / is the root: absolute paths outside cannot be named."""
        for name in (os.path.join(self.base, "secret.txt"),
                     os.path.join(self.private, "secret.txt"), "/etc/passwd",
                     "/proc/self/environ", "/proc/self/cwd/secret.txt"):
            with self.subTest(name=name), Client() as c:
                self.refused(c, name, rrq(name))
        with Client() as c:
            got, _ = c.get(self.server.port, "/pub.bin")
            self.assertEqual(got, self.pub)
            got, _ = c.get(self.server.port, "//sub//inner.txt")
            self.assertEqual(got, b"inner\n")

    def test_special_files_are_refused_and_do_not_hang(self):
        for name in SPECIAL:
            with self.subTest(name=name), Client() as c:
                t0 = time.monotonic()
                self.refused(c, name, rrq(name), codes=(0, 1, 2))
                self.assertLess(time.monotonic() - t0, scaled(4), "%r was slow" % name)
            self.assert_serving("RRQ %r" % name)
        for name in ("fifo", "zero", "dev-link", "sub", "emptydir", "loop"):
            with self.subTest(write=name), Client() as c:
                self.refused(c, name, wrq(name), codes=(0, 1, 2, 6))
            self.assert_serving("WRQ %r" % name)
        self.assertTrue(stat.S_ISFIFO(os.lstat(os.path.join(self.root, "fifo")).st_mode))

    def test_symlinks_inside_the_root(self):
        """A symlink that stays inside may be served or refused; if served,
        it is the right file."""
        for name in ("link-in", "sub/up/pub.bin"):
            with self.subTest(name=name), Client() as c:
                try:
                    got, _ = c.get(self.server.port, name)
                    self.assertEqual(got, self.pub)
                except AssertionError as e:
                    self.assertIn(getattr(e, "code", None), (1, 2), str(e))

    def write_attempt(self, name):
        """WRQ name; if accepted, send two blocks. Returns the first reply."""
        with Client() as c:
            c.send(wrq(name), self.server.port)
            p = c.recv(10)  # milliseconds, unless the machine is loaded
            self.assertIsNotNone(p, "WRQ %r: no reply" % name)
            log("  WRQ %-40r -> %r" % (name[:40], p))
            if p.op == ACK:
                tid = p.port
                for block, payload in ((1, b"EVIL" * 128), (2, b"evil")):
                    c.send(data(block, payload), tid)
                    r = c.recv(3)
                    self.assertIsNotNone(r)
                    if r.op == ERROR:
                        break
            return p

    def test_write_escapes_are_refused(self):
        names = [n.replace("secret", "evil") for n in READ_ESCAPES] + [
            "link-out", "link-abs", "dirlink/new.txt", "dirlink-abs/new.txt",
            os.path.join(self.base, "evil.txt"), os.path.join(self.private, "evil.txt"),
            "sub/up/../evil.txt", "dirlink/secret.txt"]
        for name in names:
            with self.subTest(name=name[:60]):
                p = self.write_attempt(name)
                if name in ("link-out", "link-abs") and p.op == ACK:
                    # Allowed only as replacing the link itself, inside the root.
                    self.assertFalse(os.path.islink(os.path.join(self.root, name)))
                elif "/" not in name and p.op == ACK:
                    # Backslashes and "%2f" are ordinary characters on a
                    # POSIX file system: one name, inside the root.
                    self.assertTrue(os.path.exists(os.path.join(self.root, name)), name)
                elif name.startswith(self.base) and p.op == ACK:
                    # Taken as relative to the root: it landed inside.
                    inside = os.path.join(self.root, name.lstrip("/"))
                    self.assertTrue(os.path.exists(inside), inside)
                else:
                    self.assertEqual(p.op, ERROR, "WRQ %r accepted" % name)
                    self.assertIn(p.code, (1, 2, 6) if len(name) <= 1024 else (1, 2, 4, 6),
                                  repr(p))
                self.assert_untouched()
        self.assert_serving("write escapes")

    def race(self, flip, attempt, rounds, seconds, served):
        """Requests (attempt) while a thread flips the name. At least
        rounds of them, and on (within the time bound) until some met each
        state: the outcome served and another one. On a loaded machine the
        flipping thread may get little CPU."""
        stop = threading.Event()
        flips = [0]

        def flipper():
            while not stop.is_set():
                flip()
                flips[0] += 1
        t = threading.Thread(target=flipper, daemon=True)
        t.start()
        outcomes = {}
        end = time.monotonic() + scaled(seconds)
        i = 0
        try:
            while time.monotonic() < end:
                if i >= rounds and served in outcomes and len(outcomes) > 1:
                    break
                k = attempt(i)
                outcomes[k] = outcomes.get(k, 0) + 1
                i += 1
        finally:
            stop.set()
            t.join(10)
        log("  %d flips, outcomes %s" % (flips[0], outcomes))
        return outcomes

    def read_once(self, name, inside):
        with Client() as c:
            c.send(rrq(name), self.server.port)
            p = c.recv(10)  # milliseconds, unless the machine is loaded
            self.assertIsNotNone(p, "no reply for %r" % name)
            self.assert_no_secret([p], name)
            if p.op == ERROR:
                self.assertIn(p.code, (1, 2))
                return "ERROR %d" % p.code
            self.assertEqual(p.op, DATA, repr(p))
            self.assertEqual(p.payload, inside)
            c.send(b"\x00\x04\x00\x01", p.port)
            return "served"

    def test_symlink_swapped_in_during_requests(self):
        """root/race flips between a file inside and a symlink to the secret
        outside, atomically, while RRQs for it run: never the secret."""
        r = self.root
        inside = b"inside, harmless\n"
        with open(os.path.join(r, "race"), "wb") as f:
            f.write(inside)
        os.symlink("../secret.txt", os.path.join(r, "race.alt"))
        out = self.race(lambda: exchange(os.path.join(r, "race"), os.path.join(r, "race.alt")),
                        lambda i: self.read_once("race", inside), 300, 20, "served")
        # The race was run: some requests met the file, some the link.
        self.assertIn("served", out, "the file inside was never met: %r" % out)
        self.assertGreater(sum(out.values()) - out["served"], 0,
                           "the symlink was never met: %r" % out)
        self.assert_serving("a symlink race")

    def test_symlink_swapped_in_during_writes(self):
        """WRQs (-w --overwrite) for root/wrace while a thread replaces it,
        atomically, with a symlink to the secret outside, then with a
        regular file inside, over and over: the secret is never opened or
        written (inotify, tearDown), every accepted upload lands inside the
        root under its own name, and no temporary file is left behind."""
        r = self.root
        name = os.path.join(r, "wrace")
        state = [0]

        def flip():
            # rename(2) over the name: it is always either a link out or
            # a file inside, never missing.
            state[0] ^= 1
            tmp = name + (".l" if state[0] else ".f")
            if state[0]:
                os.symlink("../secret.txt", tmp)
            else:
                with open(tmp, "wb") as f:
                    f.write(b"inside\n")
            os.replace(tmp, name)

        def attempt(i):
            p = self.write_attempt("wrace")
            if p.op == ERROR:
                # A symlink is never replaced nor followed: ERROR 2 (or 1).
                self.assertIn(p.code, (1, 2), repr(p))
                return "ERROR %d" % p.code
            self.assertEqual(p.op, ACK, repr(p))
            return "accepted"
        out = self.race(flip, attempt, 150, 25, "accepted")
        self.assertIn("accepted", out, "the file inside was never met: %r" % out)
        self.assertGreater(sum(out.values()) - out["accepted"], 0,
                           "the symlink was never met: %r" % out)
        self.assert_untouched()
        self.server.wait_idle()
        left = [n for n in os.listdir(r) if n.startswith(".tftpd-")]
        self.assertEqual(left, [], "temporary upload files left behind")
        self.assert_serving("a symlink race on writes")

    def test_directory_swapped_in_during_requests(self):
        """root/racedir flips between a directory inside and a symlink to the
        sibling directory that holds the secret."""
        r = self.root
        os.mkdir(os.path.join(r, "racedir"))
        decoy = b"decoy\n"
        with open(os.path.join(r, "racedir", "secret.txt"), "wb") as f:
            f.write(decoy)
        os.symlink("../root-private", os.path.join(r, "racedir.alt"))
        out = self.race(lambda: exchange(os.path.join(r, "racedir"),
                                         os.path.join(r, "racedir.alt")),
                        lambda i: self.read_once("racedir/secret.txt", decoy), 300, 20,
                        "served")
        self.assertIn("served", out, "the directory inside was never met: %r" % out)
        self.assertGreater(sum(out.values()) - out["served"], 0,
                           "the symlink was never met: %r" % out)

    def test_directory_swapped_in_during_writes(self):
        """WRQs into root/wdir while it flips to a symlink to the sibling
        directory: nothing is ever created outside the root."""
        r = self.root
        os.mkdir(os.path.join(r, "wdir"))
        os.symlink("../root-private", os.path.join(r, "wdir.alt"))

        def attempt(i):
            p = self.write_attempt("wdir/w%d.txt" % i)
            return "ERROR %d" % p.code if p.op == ERROR else "accepted"
        out = self.race(lambda: exchange(os.path.join(r, "wdir"), os.path.join(r, "wdir.alt")),
                        attempt, 150, 25, "accepted")
        self.assertIn("accepted", out, "the directory inside was never met: %r" % out)
        self.assertGreater(sum(out.values()) - out["accepted"], 0,
                           "the symlink was never met: %r" % out)
        self.assert_untouched()


if __name__ == "__main__":
    main()
