#!/usr/bin/env python3
"""A peer killed (SIGKILL) mid-transfer: the survivor gives up after its
retries, frees the transfer, and an upload leaves nothing under its final
name. The relay (a little latency, no loss) keeps each transfer slow
enough to be caught in the middle, and shows when it is."""
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

from tftptest import TftpdServer, Client, main, scaled
from peers import InTftpd, Atftpd
import faultlib as F
from tftprelay import RelayProcess

SIZE = 8 * F.MIB


def data_packets(r, d):
    st = r.stats() or {}
    return st.get(d, {}).get("ops", {}).get("DATA", 0)


class OurServerSurvives(unittest.TestCase):
    """Our tftpd with a peer client killed mid-download and mid-upload."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="faults-death-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def gone(self, srv, op, name):
        """The server logs the transfer as timed out, stays up, serves."""
        rx = re.compile(r"%s %s.*failed, timed out" % (op, re.escape(name)))
        self.assertTrue(F.wait_until(lambda: rx.search(srv.log()), 30),
                        srv.log()[-2000:])
        self.assertTrue(srv.alive())
        srv.write("next.bin", b"next" * 1000)
        c = srv.client()
        self.assertEqual(c.get("next.bin").data, b"next" * 1000)
        c.close()

    def test_tftp_hpa_client_killed_mid_download(self):
        with TftpdServer("-w", "--retries", "3") as srv:
            srv.write("big.bin", F.pattern(SIZE, 1))
            with RelayProcess(srv.port, latency_ms=1) as r:
                p = subprocess.Popen(F.hpa_argv(r.port), cwd=self.dir,
                                     stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
                p.stdin.write(F.hpa_script("get big.bin got.bin"))
                p.stdin.flush()
                self.assertTrue(F.wait_until(lambda: data_packets(r, "s2c") > 200, 20))
                F.kill_tree(p.pid)
                p.wait(scaled(10))
                p.stdin.close()
                self.gone(srv, "RRQ", "big.bin")
            got = os.path.getsize(os.path.join(self.dir, "got.bin"))
            self.assertTrue(0 < got < SIZE)     # it really was mid-transfer

    def test_atftp_client_killed_mid_upload(self):
        src = os.path.join(self.dir, "up.bin")
        with open(src, "wb") as f:
            f.write(F.pattern(SIZE, 2))
        with TftpdServer("-w", "--retries", "3") as srv:
            with RelayProcess(srv.port, latency_ms=1) as r:
                p = subprocess.Popen(F.atftp_argv(r.port, "put", "up.bin", src),
                                     stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
                self.assertTrue(F.wait_until(lambda: data_packets(r, "c2s") > 200, 20))
                F.kill_tree(p.pid)
                p.wait(scaled(10))
                self.gone(srv, "WRQ", "up.bin")
            self.assertFalse(os.path.exists(srv.path("up.bin")))
            self.assertEqual(srv.temp_files(), [])
            self.assertEqual(os.listdir(srv.root), ["next.bin"])


class OurClientSurvives(unittest.TestCase):
    """Our tftp with the server (in.tftpd, atftpd, our tftpd) killed."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="faults-death-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def client_gives_up(self, srv, op, peer_pid, direction):
        local = os.path.join(self.dir, "got.bin" if op == "get" else "src.bin")
        if op == "put":
            with open(local, "wb") as f:
                f.write(F.pattern(SIZE, 3))
        with RelayProcess(srv.port, latency_ms=1) as r:
            argv = F.our_client(op, r.port, "big.bin" if op == "get" else "up.bin",
                                local, "--retries", "3", "-b", "1428")
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            try:
                self.assertTrue(F.wait_until(lambda: data_packets(r, direction) > 200, 20))
                self.assertIsNone(p.poll())
                t = time.monotonic()
                F.kill_tree(peer_pid())
                out, err = p.communicate(timeout=scaled(30))
                took = time.monotonic() - t
            finally:
                if p.poll() is None:
                    p.kill()
                    p.wait()
        self.assertEqual(p.returncode, 2, err)
        self.assertLess(took, scaled(20))
        if op == "get":
            # no partial file, not even a hidden temporary one
            self.assertEqual(os.listdir(self.dir), [])
        else:
            self.assertEqual(os.listdir(self.dir), ["src.bin"])
        return err

    def in_tftpd_child(self, srv):
        def pid():
            kids = F.children(srv.proc.pid)
            self.assertTrue(kids, "in.tftpd has no child serving the transfer")
            return kids[0]
        return pid

    def test_in_tftpd_killed_mid_get(self):
        with InTftpd() as srv:
            srv.write("big.bin", F.pattern(SIZE, 4))
            self.client_gives_up(srv, "get", self.in_tftpd_child(srv), "s2c")

    def test_in_tftpd_killed_mid_put(self):
        with InTftpd(create=True) as srv:
            self.client_gives_up(srv, "put", self.in_tftpd_child(srv), "c2s")

    def test_atftpd_killed_mid_get(self):
        with Atftpd() as srv:
            srv.write("big.bin", F.pattern(SIZE, 5))
            self.client_gives_up(srv, "get", lambda: srv.proc.pid, "s2c")

    def test_atftpd_killed_mid_put(self):
        with Atftpd() as srv:
            self.client_gives_up(srv, "put", lambda: srv.proc.pid, "c2s")

    def test_our_server_killed_mid_get(self):
        srv = TftpdServer()
        with srv:
            srv.write("big.bin", F.pattern(SIZE, 6))
            self.client_gives_up(srv, "get", lambda: srv.proc.pid, "s2c")
            srv.stop(expect_rc=None)


if __name__ == "__main__":
    main()
