#!/usr/bin/env python3
"""tftpd as in.tftpd: tftp-hpa's command line, unchanged, runs our server.

Debian's invocation (--listen --user --address --secure --create
--map-file DIR) daemonizes, writes its pid file and serves remapped names
and new uploads; without -c only existing, world-writable files may be
written; run by inetd the socket is stdin and the server leaves after -t
idle seconds; -r, -B and -T keep their meanings; an unknown flag is a
usage error (64)."""
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
import unittest

from tftptest import (ACK, DATA, ERROR, OACK, Endpoint, free_udp_port, main,
                      owns_udp_port, pack_ack, pack_data, pack_error,
                      pack_rrq, pack_wrq,
                      scaled, tftpd_path, wait_for, WRAPPER)


def hpa_user():
    for name in ("tftp", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            pass
    return None


class Hpa(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="hpa-")
        os.chmod(self.dir, 0o777)
        self.exe = os.path.join(self.dir, "in.tftpd")
        os.symlink(os.path.abspath(tftpd_path()), self.exe)
        self.root = os.path.join(self.dir, "root")
        os.mkdir(self.root)
        os.chmod(self.root, 0o777)
        self.put_file("pxelinux.0", b"pxe" * 300, 0o644)
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait(scaled(10))
        shutil.rmtree(self.dir, ignore_errors=True)

    @staticmethod
    def _finish(p, timeout):
        p.wait(timeout)
        p.stdout.seek(0)
        p.stderr.seek(0)
        return p.stdout.read(), p.stderr.read()

    def put_file(self, name, data, mode):
        p = os.path.join(self.root, name)
        with open(p, "wb") as f:
            f.write(data)
        os.chmod(p, mode)

    def run_hpa(self, *args, **kw):
        """in.tftpd with args; its output goes to files (a pipe nobody
        reads could fill and stop it)."""
        out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
        # -s as root chroots: an ASan build's leak check cannot read /proc
        # there at exit and fails (as in security_privileges).
        env = dict(os.environ)
        asan = env.get("ASAN_OPTIONS", "")
        env["ASAN_OPTIONS"] = (asan + ":" if asan else "") + "detect_leaks=0"
        p = subprocess.Popen(WRAPPER + [self.exe] + list(args),
                             stdout=out, stderr=err, env=env, **kw)
        p.stdout, p.stderr = out, err
        p.communicate = lambda timeout=None: self._finish(p, timeout)
        self.procs.append(p)
        return p

    def get(self, port, name, opts=None):
        with Endpoint() as e:
            e.send(pack_rrq(name, opts=opts), port)
            p = e.recv(3)
            self.assertIsNotNone(p, "no answer to RRQ %s" % name)
            if p.op == ERROR:
                return p
            got, tid = b"", p.port
            if p.op == OACK:
                e.send(pack_ack(0), tid)
                p = e.recv(3)
            while p.op == DATA:
                got += p.payload
                e.send(pack_ack(p.block), tid)
                if len(p.payload) < 512:
                    return got
                p = e.recv(3)
            self.fail("odd reply %r" % p)

    def put(self, port, name, data):
        with Endpoint() as e:
            e.send(pack_wrq(name), port)
            p = e.recv(3)
            self.assertIsNotNone(p, "no answer to WRQ %s" % name)
            if p.op == ERROR:
                return p
            self.assertEqual((p.op, p.block), (ACK, 0))
            e.send(pack_data(1, data), p.port)
            p = e.recv(3)
            self.assertEqual((p.op, p.block), (ACK, 1))
            return None

    def test_debian_invocation_unchanged(self):
        user = hpa_user()
        if user is None:
            self.skipTest("no tftp or nobody user")
        mapfile = os.path.join(self.dir, "tftpd.remap")
        with open(mapfile, "w") as f:
            f.write("rg \\\\ /\nri ^/?PXELINUX\\.0$ pxelinux.0\n")
        pidfile = os.path.join(self.dir, "tftpd.pid")
        port = free_udp_port()
        p = self.run_hpa("--listen", "--user", user, "--address",
                         "127.0.0.1:%d" % port, "--secure", "--create",
                         "--map-file", mapfile, "--pidfile", pidfile,
                         self.root)
        # --listen: the parent returns once the server is bound.
        out, err = p.communicate(timeout=scaled(20))
        self.assertEqual(p.returncode, 0, err)
        wait_for(lambda: os.path.exists(pidfile) and
                 open(pidfile).read().strip().isdigit(), 10, "the pid file")
        pid = int(open(pidfile).read())
        try:
            wait_for(lambda: owns_udp_port(pid, port), 10, "the port")
            self.assertEqual(self.get(port, "\\PXELINUX.0"), b"pxe" * 300)
            self.assertIsNone(self.put(port, "new.bin", b"fresh"))
            st = os.stat(os.path.join(self.root, "new.bin"))
            # tftp-hpa's default umask 0: anyone may read and write it.
            self.assertEqual(stat.S_IMODE(st.st_mode), 0o666)
            self.assertEqual(st.st_uid, pwd.getpwnam(user).pw_uid)
        finally:
            os.kill(pid, signal.SIGTERM)
        wait_for(lambda: not os.path.exists("/proc/%d" % pid), 15,
                 "the daemon to exit")

    def foreground(self, *args):
        port = free_udp_port()
        p = self.run_hpa("-L", "-a", "127.0.0.1:%d" % port, "-u", "root",
                         *args)
        wait_for(lambda: p.poll() is not None or owns_udp_port(p.pid, port),
                 10, "in.tftpd to listen")
        if p.poll() is not None:
            p.stderr.seek(0)
            self.fail("in.tftpd exited %s: %s" % (p.returncode,
                                                  p.stderr.read().decode()))
        return p, port

    def test_writes_without_create(self):
        self.put_file("open.bin", b"old", 0o666)
        self.put_file("closed.bin", b"old", 0o644)
        p, port = self.foreground("-s", self.root)
        self.assertIsNone(self.put(port, "open.bin", b"new"))
        with open(os.path.join(self.root, "open.bin"), "rb") as f:
            self.assertEqual(f.read(), b"new")
        e = self.put(port, "closed.bin", b"new")
        self.assertEqual(e.code, 2, e)
        e = self.put(port, "absent.bin", b"new")
        self.assertEqual(e.code, 1, e)
        self.assertFalse(os.path.exists(os.path.join(self.root, "absent.bin")))

    def test_refuse_blocksize_retransmit(self):
        p, port = self.foreground("-s", "-r", "tsize", "-B", "1024", "-T",
                                  "200000", self.root)
        with Endpoint() as e:
            e.send(pack_rrq("pxelinux.0", opts={"blksize": 1400, "tsize": 0}),
                   port)
            o = e.recv(3)
            self.assertEqual(o.op, OACK)
            self.assertEqual(o.optdict(), {"blksize": "1024"})
            e.send(pack_ack(0), o.port)
            d1 = e.recv(3)
            t0 = time.monotonic()
            again = e.recv(3)
            took = time.monotonic() - t0
        self.assertEqual((d1.block, again.block), (1, 1))
        # -T 200000: the first retransmission after ~0.2 s, not 1 s.
        self.assertLess(took, scaled(0.8))

    def test_hpa_own_options(self):
        """blksize2, utimeout and rollover, as tftp-hpa grants them."""
        p, port = self.foreground("-s", self.root)
        with Endpoint() as e:
            e.send(pack_rrq("pxelinux.0", opts={"blksize2": 700,
                                                "utimeout": 200000,
                                                "rollover": 0}), port)
            o = e.recv(3)
            self.assertEqual(o.op, OACK)
            self.assertEqual(o.optdict(), {"blksize2": "512",
                                           "utimeout": "200000",
                                           "rollover": "0"})
            e.send(pack_ack(0), o.port)
            d1 = e.recv(3)
            self.assertEqual((d1.block, len(d1.payload)), (1, 512))
            t0 = time.monotonic()
            again = e.recv(3)
            took = time.monotonic() - t0
        self.assertEqual(again.block, 1)
        self.assertLess(took, scaled(0.8))  # utimeout 0.2 s, not 1 s
        with Endpoint() as e:
            # rollover 1 is declined: no OACK for it alone.
            e.send(pack_rrq("pxelinux.0", opts={"rollover": 1}), port)
            d = e.recv(3)
            self.assertEqual((d.op, d.block), (DATA, 1))
            e.send(pack_error(0, "enough"), d.port)

    def test_directories_without_secure(self):
        other = os.path.join(self.dir, "other")
        os.mkdir(other)
        os.chmod(other, 0o755)
        with open(os.path.join(other, "o.txt"), "wb") as f:
            f.write(b"other")
        os.chmod(os.path.join(other, "o.txt"), 0o644)
        p, port = self.foreground(self.root)
        self.assertEqual(self.get(port, self.root + "/pxelinux.0"),
                         b"pxe" * 300)
        e = self.get(port, other + "/o.txt")
        self.assertEqual(e.code, 2, e)
        e = self.get(port, "pxelinux.0")
        self.assertEqual((e.code, e.msg), (2, "Only absolute filenames allowed"))

    def test_inetd_mode(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        try:
            p = self.run_hpa("-s", "-u", "root", "-t", "1", self.root,
                             stdin=s.fileno())
        finally:
            s.close()
        self.assertEqual(self.get(port, "pxelinux.0"), b"pxe" * 300)
        # Idle for -t 1 s after its transfer: it leaves, status 0.
        self.assertEqual(p.wait(scaled(15)), 0)

    def test_unknown_flag_is_a_usage_error(self):
        for args in (["-Z"], ["--listen", "-w", self.root], ["--bogus"],
                     ["-s"], ["-r", "nosuchoption", "-s", self.root],
                     ["-a", "127.0.0.1:1", "-s", self.root]):
            with self.subTest(args=args):
                p = self.run_hpa(*args)
                out, err = p.communicate(timeout=scaled(10))
                self.assertEqual(p.returncode, 64, err)
                self.assertEqual(len(err.decode().strip().splitlines()), 1, err)
                self.assertTrue(err.startswith(b"in.tftpd: "), err)


if __name__ == "__main__":
    main()
