#!/usr/bin/env python3
"""tftp-hpa's habits (issue 13, items 9-12) against the real in.tftpd:
"tftp HOST PORT -c get FILE", "-m binary HOST PORT -c put FILE", a piped
interactive session, several files in one get/put, exit codes (ours: not
0 on errors, as tftp-hpa's client has), and the mistakes explained:
"get HOST PORT FILE", an unbracketed IPv6 address with a port, a put with
the URL first, a host that does not resolve vs a port that refuses."""
import os
import shutil
import tempfile
import unittest

import peers
from clienttest import run_tftp
from tftptest import free_udp_port, main, pattern


class Hpa(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = peers.InTftpd(create=True).start()
        cls.port = str(cls.srv.port)

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tftp-hpa-cli-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def local(self, name):
        return os.path.join(self.dir, name)

    def serve(self, name, data):
        p = os.path.join(self.srv.root, name)
        with open(p, "wb") as f:
            f.write(data)
        os.chmod(p, 0o666)

    def test_c_get(self):
        data = pattern(3000, seed=1)
        self.serve("a.bin", data)
        p = run_tftp("127.0.0.1", self.port, "-c", "get", "a.bin", self.local("a.bin"))
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(self.local("a.bin"), "rb") as f:
            self.assertEqual(f.read(), data)

    def test_c_get_default_local_name(self):
        self.serve("d.bin", b"default")
        p = run_tftp("127.0.0.1", self.port, "-c", "get", "d.bin", cwd=self.dir)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(self.local("d.bin"), "rb") as f:
            self.assertEqual(f.read(), b"default")

    def test_mode_binary_c_put(self):
        """The switch-backup line: tftp -m binary HOST PORT -c put FILE."""
        data = pattern(2000, seed=2)
        with open(self.local("sw1.cfg"), "wb") as f:
            f.write(data)
        p = run_tftp("-m", "binary", "127.0.0.1", self.port, "-c", "put",
                     "sw1.cfg", cwd=self.dir)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(self.srv.root, "sw1.cfg"), "rb") as f:
            self.assertEqual(f.read(), data)

    def test_c_error_exit_code(self):
        """tftp-hpa's client exits 0 here; ours exits 1 (a TFTP error)."""
        p = run_tftp("127.0.0.1", self.port, "-c", "get", "missing.bin",
                     self.local("m"))
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("(TFTP error 1)", p.stderr)
        self.assertFalse(os.path.exists(self.local("m")))

    def test_piped_session(self):
        self.serve("one.txt", b"one\n")
        self.serve("two.txt", b"two\n")
        self.serve("three.txt", b"three\n")
        with open(self.local("up.txt"), "wb") as f:
            f.write(b"up\n")
        script = ("connect 127.0.0.1 %s\nbinary\nstatus\n"
                  "get one.txt\nget two.txt three.txt one.txt\n"
                  "put up.txt up-remote.txt\nverbose\nascii\nget one.txt one.ascii\n"
                  "quit\n" % self.port)
        p = run_tftp(stdin=script.encode(), cwd=self.dir)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(b"Mode: octet", p.stdout)
        for n, want in (("one.txt", b"one\n"), ("two.txt", b"two\n"),
                        ("three.txt", b"three\n"), ("one.ascii", b"one\n")):
            with open(self.local(n), "rb") as f:
                self.assertEqual(f.read(), want, n)
        with open(os.path.join(self.srv.root, "up-remote.txt"), "rb") as f:
            self.assertEqual(f.read(), b"up\n")

    def test_piped_session_exit_code_of_last_failure(self):
        self.serve("ok.txt", b"ok")
        script = ("connect 127.0.0.1 %s\nget nope.txt\nget ok.txt\nquit\n"
                  % self.port)
        p = run_tftp(stdin=script.encode(), cwd=self.dir)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertTrue(os.path.exists(self.local("ok.txt")))

    def test_host_on_command_line_then_piped_commands(self):
        self.serve("h.txt", b"hello")
        p = run_tftp("127.0.0.1", self.port, stdin=b"get h.txt\n", cwd=self.dir)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(self.local("h.txt"), "rb") as f:
            self.assertEqual(f.read(), b"hello")

    def test_put_several_into_dir(self):
        os.makedirs(os.path.join(self.srv.root, "cfg"), exist_ok=True)
        os.chmod(os.path.join(self.srv.root, "cfg"), 0o777)
        for n in ("a.cfg", "b.cfg"):
            with open(self.local(n), "wb") as f:
                f.write(n.encode())
        p = run_tftp("127.0.0.1", self.port, "-c", "put", "a.cfg", "b.cfg", "cfg",
                     cwd=self.dir)
        self.assertEqual(p.returncode, 0, p.stderr)
        for n in ("a.cfg", "b.cfg"):
            with open(os.path.join(self.srv.root, "cfg", n), "rb") as f:
                self.assertEqual(f.read(), n.encode())

    def test_unknown_command(self):
        p = run_tftp(stdin=b"frobnicate\n")
        self.assertEqual(p.returncode, 64, p.stderr)
        self.assertIn("Invalid command", p.stderr)

    def test_get_without_connect(self):
        p = run_tftp(stdin=b"get x\n")
        self.assertEqual(p.returncode, 64, p.stderr)
        self.assertIn("connect", p.stderr)


class Mistakes(unittest.TestCase):
    def test_get_host_port_file_explained(self):
        p = run_tftp("get", "127.0.0.1", "6969", "boot.img")
        self.assertEqual(p.returncode, 64, p.stderr)
        self.assertIn("tftp get 127.0.0.1:6969 boot.img", p.stderr)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1)

    def test_unbracketed_ipv6_with_port(self):
        for argv in (("get", "::1:6969", "f"), ("::1:6969", "-c", "get", "f")):
            p = run_tftp(*argv)
            self.assertEqual(p.returncode, 64, (argv, p.stderr))
            self.assertIn("[::1]:6969", p.stderr)

    def test_put_url_first(self):
        p = run_tftp("put", "tftp://127.0.0.1/x.bin", "x.bin")
        self.assertEqual(p.returncode, 64, p.stderr)
        self.assertIn("tftp put LOCAL tftp://127.0.0.1/x.bin", p.stderr)

    def test_unresolvable_vs_refused(self):
        d = tempfile.mkdtemp(prefix="tftp-hpa-res-")
        try:
            p = run_tftp("get", "no-such-host.invalid", "f", os.path.join(d, "f"))
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn("cannot resolve", p.stderr)
            port = free_udp_port()
            q = run_tftp("get", "127.0.0.1:%d" % port, "f", os.path.join(d, "f"))
            self.assertEqual(q.returncode, 2, q.stderr)
            self.assertIn("Connection refused", q.stderr)
            self.assertNotIn("resolve", q.stderr)
        finally:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
