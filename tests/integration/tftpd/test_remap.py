#!/usr/bin/env python3
"""Remap rules, differentially: the real in.tftpd (tftp-hpa) and our server
as in.tftpd (--hpa-compat) run the same remap file over identical roots,
and the same requests go to both, from two client addresses (127.0.0.1
and 127.0.0.2, for \\i and \\x). Each outcome -- the file served, the file
an upload landed in, or the ERROR code (and an "a" rule's message) -- must
be the same. Also: a malformed rule stops start-up with file, line and
reason; SIGHUP re-reads the file and a bad new one keeps the old rules."""
import os
import shutil
import signal
import subprocess
import tempfile
import unittest

from peers import in_tftpd_path
from tftptest import (ACK, DATA, ERROR, Endpoint, TftpdServer, free_udp_port,
                      main, owns_udp_port, pack_ack, pack_data, pack_rrq,
                      pack_wrq, scaled, tftpd_path, wait_for, WRAPPER)

RULES = r"""# The rules of a site that boots Windows, PXELINUX and per-machine
# configurations, in tftp-hpa's syntax.
r    ^again$             pxelinux.0
rg   \\                  /
r    ^/+(.*)             \1
ri   ^boot/bcd$          Boot/BCD
ri   ^bootmgr\.exe$      Boot/bootmgr.exe
r    ^cfg$               \i/cfg
r    ^hex$               hex/\x
a    ^secret/
a    ^private/           Denied\ by\ rule:\ \0
rG   ^getonly$           pxelinux.0
rP   ^putonly$           incoming/put.bin
re   ^early$             menu/default
r    ^menu/default$      WRONG
rs   ^restart$           again
r4   ^v4$                pxelinux.0
r6   ^v6$                pxelinux.0
rg   ^(.*)_              \1-
r    ^case/(.*)$         \U\1\E.txt
r    ^lower/(.*)$        \L\1
a~   ^[A-Za-z0-9_./-]+$
ri   ^MENU/(.*)          menu/\1   # a comment after a rule
"""

FILES = ["pxelinux.0", "Boot/BCD", "Boot/bootmgr.exe", "127.0.0.1/cfg",
         "127.0.0.2/cfg", "hex/7F000001", "hex/7F000002", "menu/default",
         "menu/other", "WRONG", "again", "UPPER.txt", "mixed.txt",
         "a-b-c.txt", "secret/x", "private/key", "plain.txt"]
WRITABLE = ["incoming/put.bin", "exists.bin"]
DIRS = ["up", "incoming"]

READS = ["pxelinux.0", "/pxelinux.0", "//pxelinux.0", "\\Boot\\BCD",
         "\\boot\\bcd", "/BOOT/BCD", "BOOTMGR.EXE", "bootmgr.exe", "cfg",
         "hex", "secret/x", "private/key", "getonly", "putonly", "early",
         "menu/default", "restart", "again", "v4", "v6", "a_b_c.txt",
         "case/upper", "lower/MiXeD.TXT", "bad name", "x+y", "MENU/other",
         "missing.bin", "plain.txt", "WRONG", "//case/upper"]
WRITES = ["new_file.bin", "putonly", "\\up\\load.bin", "secret/w",
          "getonly", "exists.bin", "missing-dir/x.bin", "bad name.bin",
          "private/w"]


def make_root():
    root = tempfile.mkdtemp(prefix="remap-root-")
    os.chmod(root, 0o755)
    for d in DIRS:
        os.makedirs(os.path.join(root, d), mode=0o777, exist_ok=True)
        os.chmod(os.path.join(root, d), 0o777)
    for name in FILES + WRITABLE:
        p = os.path.join(root, name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(b"file " + name.encode() + b"\n")
        os.chmod(p, 0o666 if name in WRITABLE else 0o644)
    for d, _, _ in os.walk(root):
        os.chmod(d, 0o777 if os.path.relpath(d, root) in DIRS else 0o755)
    return root


def contents(root):
    """Every file of the tree: relative path -> bytes."""
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, root)] = fh.read()
    return out


class Peer:
    """A server on 127.0.0.1:port with a root of its own."""

    def __init__(self, argv_of, mapfile):
        self.root = make_root()
        self.port = free_udp_port()
        argv = argv_of(self.port, self.root, mapfile)
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=self.log)
        wait_for(lambda: self.proc.poll() is not None or
                 owns_udp_port(self.proc.pid, self.port), 10,
                 "%s to listen" % argv[0])

    def text(self):
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(scaled(15))
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(scaled(15))
        self.log.close()
        shutil.rmtree(self.root, ignore_errors=True)

    def read(self, name, src):
        """An RRQ from src: ('file', bytes) or ('error', code, msg)."""
        with Endpoint(bind=src) as e:
            e.send(pack_rrq(name), self.port)
            p = e.recv(3)
            if p is None:
                return ("no answer",)
            if p.op == ERROR:
                return ("error", p.code, p.msg)
            got = b""
            while p is not None and p.op == DATA:
                got += p.payload
                e.send(pack_ack(p.block), p.port)
                if len(p.payload) < 512:
                    return ("file", got)
                p = e.recv(3)
            return ("broken", got)

    def write(self, name, src, data):
        """A WRQ from src with data: ('stored', path) or ('error', code)."""
        before = contents(self.root)
        with Endpoint(bind=src) as e:
            e.send(pack_wrq(name), self.port)
            p = e.recv(3)
            if p is None:
                return ("no answer",)
            if p.op == ERROR:
                return ("error", p.code, p.msg)
            if (p.op, p.block) != (ACK, 0):
                return ("odd", p.op)
            e.send(pack_data(1, data), p.port)
            p = e.recv(3)
            if p is None or p.op != ACK:
                return ("no ack", p and p.op)
        changed = [k for k, v in contents(self.root).items()
                   if before.get(k) != v and v == data]
        return ("stored", changed)


def hpa_argv(port, root, mapfile):
    return [in_tftpd_path(), "-L", "-a", "127.0.0.1:%d" % port, "-u", "root",
            "-c", "-s", "-m", mapfile, root]


def ours_argv(port, root, mapfile):
    return WRAPPER + [tftpd_path(), "--hpa-compat", "-L", "-a",
                      "127.0.0.1:%d" % port, "-u", "root", "-c", "-s", "-m",
                      mapfile, root]


class Differential(unittest.TestCase):
    def setUp(self):
        if not in_tftpd_path():
            self.skipTest("in.tftpd (tftp-hpa) is not installed")
        fd, self.mapfile = tempfile.mkstemp(suffix=".remap")
        with os.fdopen(fd, "w") as f:
            f.write(RULES)
        self.hpa = Peer(hpa_argv, self.mapfile)
        self.ours = Peer(ours_argv, self.mapfile)

    def tearDown(self):
        self.hpa.stop()
        self.ours.stop()
        os.unlink(self.mapfile)

    def outcome_equal(self, a, b):
        """The same file, or the same ERROR code and text. (A ".." is
        left out: tftp-hpa resolves it inside its chroot, ours refuses it
        outright, ERROR 2 for ERROR 1; see tftpd(8).)"""
        return a == b

    def test_same_outcomes(self):
        n = 0
        for src in ("127.0.0.1", "127.0.0.2"):
            for name in READS:
                with self.subTest(op="RRQ", name=name, src=src):
                    h, o = self.hpa.read(name, src), self.ours.read(name, src)
                    print("RRQ %-20r from %s: in.tftpd %r, ours %r"
                          % (name, src, h, o))
                    self.assertTrue(self.outcome_equal(h, o), (h, o))
                n += 1
        for i, name in enumerate(WRITES):
            data = b"upload %d\n" % i
            with self.subTest(op="WRQ", name=name):
                h = self.hpa.write(name, "127.0.0.1", data)
                o = self.ours.write(name, "127.0.0.1", data)
                print("WRQ %-20r: in.tftpd %r, ours %r" % (name, h, o))
                self.assertTrue(self.outcome_equal(h, o), (h, o))
            n += 1
        rules = [ln for ln in RULES.splitlines()
                 if ln.strip() and not ln.startswith("#")]
        print("%d requests over %d rules" % (n, len(rules)))
        self.assertGreaterEqual(n, 40)
        self.assertGreaterEqual(len(rules), 12)


class Loading(unittest.TestCase):
    def test_malformed_rule_stops_startup(self):
        for body, why in (("r ^a$\n", "without a replacement"),
                          ("# ok\nrx ^a$ b\n", "unknown operation 'x'"),
                          ("r~ ^a$ b\n", "exclude each other"),
                          ("\n\ne (unclosed\n", "bad regular expression"),
                          ("r a++++++++++++ b\n", "a quantifier on a quantifier"),
                          ("r (a{200}){200} b\n", "multiply past 4096")):
            with self.subTest(why=why):
                fd, path = tempfile.mkstemp(suffix=".remap")
                with os.fdopen(fd, "w") as f:
                    f.write(body)
                try:
                    r = subprocess.run(WRAPPER + [tftpd_path(), "-r", "/tmp",
                                                  "-a", "127.0.0.1:%d" % free_udp_port(),
                                                  "-u", "root", "--remap", path],
                                       capture_output=True, text=True,
                                       timeout=scaled(20))
                finally:
                    os.unlink(path)
                self.assertEqual(r.returncode, 1, r.stderr)
                line = body.count("\n")
                self.assertIn("%s:%d: " % (path, line), r.stderr)
                self.assertIn(why, r.stderr)

    def test_sighup_rereads_and_keeps_old_rules_on_error(self):
        fd, path = tempfile.mkstemp(suffix=".remap")
        with os.fdopen(fd, "w") as f:
            f.write("r ^alias$ one.txt\n")
        try:
            with TftpdServer("--remap", path) as srv:
                srv.write("one.txt", b"one")
                srv.write("two.txt", b"two")
                with srv.client() as c:
                    self.assertEqual(c.get("alias").data, b"one")
                with open(path, "w") as f:
                    f.write("r ^alias$ two.txt\n")
                srv.send_signal(signal.SIGHUP)
                wait_for(lambda: "SIGHUP: remap file" in srv.log(), 10,
                         "the reload")
                with srv.client() as c:
                    self.assertEqual(c.get("alias").data, b"two")
                with open(path, "w") as f:
                    f.write("r ^alias$\n")  # malformed
                srv.send_signal(signal.SIGHUP)
                wait_for(lambda: "rules read before stay" in srv.log(), 10,
                         "the refused reload")
                with srv.client() as c:
                    self.assertEqual(c.get("alias").data, b"two")
        finally:
            os.unlink(path)


if __name__ == "__main__":
    main()
