#!/usr/bin/env python3
"""Listening addresses: -a [::1]:PORT, several -a, -4/-6; and the answer
to a request always comes from the address the request was sent to
(IP_PKTINFO / IPV6_PKTINFO): on a listener bound to the wildcard address a
request to 127.0.0.2 is answered from 127.0.0.2, both for a transfer and
for an ERROR from the listening socket.

The wildcard cases run in a network namespace of their own (unshare -n,
or unshare -rn without root), whose only interface is a loopback, so the
server is never reachable from outside; without namespaces they are
skipped."""
import fcntl
import os
import shutil
import socket
import struct
import subprocess
import sys
import unittest

from tftptest import (DATA, ERROR, WRAPPER, TftpdServer, free_udp_port,
                      have_ipv6_loopback, main, pack_ack, pack_rrq,
                      pattern, run_tftpd, scaled, tftpd_path)

IN_NETNS = os.environ.get("TFTPD_TEST_IN_NETNS") == "1"
CONTENT = pattern(1300, seed=11)


def fam_of(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def exchange(src, dst, port, name="f.bin"):
    """RRQ from a socket bound to src, sent to dst:port; the download is
    completed. Returns (address the DATA came from, port, bytes) or, for
    an ERROR, (address, port, code)."""
    with socket.socket(fam_of(dst), socket.SOCK_DGRAM) as s:
        s.bind((src, 0))
        s.settimeout(scaled(2))
        s.sendto(pack_rrq(name), (dst, port))
        got = bytearray()
        block = 0
        while True:
            try:
                raw, addr = s.recvfrom(2048)
            except socket.timeout:
                return None
            op, num = struct.unpack(">HH", raw[:4])
            if op == ERROR:
                return addr[0], addr[1], num
            assert op == DATA and num == block + 1, raw[:4]
            block = num
            got += raw[4:]
            s.sendto(pack_ack(block), addr)
            if len(raw) - 4 < 512:
                return addr[0], addr[1], bytes(got)


def no_answer(dst, port):
    """A request to dst:port gets nothing back (no listener there)."""
    with socket.socket(fam_of(dst), socket.SOCK_DGRAM) as s:
        s.bind((dst, 0))
        s.settimeout(scaled(0.5))
        s.sendto(pack_rrq("f.bin"), (dst, port))
        try:
            s.recvfrom(2048)
        except (socket.timeout, ConnectionRefusedError):
            return True
        return False


class Loopback(unittest.TestCase):
    """Explicit loopback addresses, on the host's own network."""

    @unittest.skipUnless(have_ipv6_loopback(), "no IPv6 loopback")
    def test_ipv6_address(self):
        with TftpdServer("-w", host="::1") as srv:
            srv.write("f.bin", CONTENT)
            with srv.client() as c:
                self.assertEqual(c.get("f.bin", opts={"blksize": "1000"}).data, CONTENT)
                c.put("up.bin", CONTENT)
            self.assertEqual(srv.read("up.bin"), CONTENT)
            r = exchange("::1", "::1", srv.port)
            self.assertEqual(r[0], "::1")
            self.assertEqual(r[2], CONTENT)
            self.assertIn("listening on [::1]:%d" % srv.port, srv.log())

    @unittest.skipUnless(have_ipv6_loopback(), "no IPv6 loopback")
    def test_two_addresses_and_family_flags(self):
        port = free_udp_port("127.0.0.1")
        srv = TwoAddr().start()
        try:
            srv.write("f.bin", CONTENT)
            for host in ("127.0.0.1", "::1"):
                r = exchange(host, host, srv.port)
                self.assertEqual((r[0], r[2]), (host, CONTENT))
        finally:
            srv.stop()
            srv.cleanup()
        # -4 with only an IPv6 address (and -6 with only IPv4): nothing to
        # listen on, a run-time error (not usage).
        for fam, addr in (("-4", "[::1]:%d" % port), ("-6", "127.0.0.1:%d" % port)):
            with self.subTest(flag=fam):
                r = run_tftpd("-r", "/", fam, "-a", addr)
                self.assertEqual(r.returncode, 1, r.stderr)
                self.assertIn("tftpd:", r.stderr)


class TwoAddr(TftpdServer):
    def argv(self, port):
        return WRAPPER + [tftpd_path(), "-r", self.root, "-v",
                          "-a", "127.0.0.1:%d" % port,
                          "-a", "[::1]:%d" % port] + self.privileges() + self.args


class Wildcard(TftpdServer):
    """Listening on every address (-a :PORT): only inside the namespace."""

    def argv(self, port):
        return WRAPPER + [tftpd_path(), "-r", self.root, "-v",
                          "-a", ":%d" % port] + self.privileges() + self.args


def loopback_up():
    """ip link set lo up, without needing iproute2."""
    SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        req = struct.pack("16sh22x", b"lo", 0)
        flags = struct.unpack("16sh22x", fcntl.ioctl(s, SIOCGIFFLAGS, req))[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sh22x", b"lo", flags | IFF_UP))


@unittest.skipUnless(IN_NETNS, "runs inside a network namespace (see Namespace)")
class InNetns(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        loopback_up()
        cls.v6 = have_ipv6_loopback()

    def serve(self, *args, host="127.0.0.1"):
        srv = Wildcard(*args, host=host)
        srv.start()
        srv.write("f.bin", CONTENT)
        return srv

    def test_reply_from_the_address_asked(self):
        srv = self.serve()
        try:
            for dst in ("127.0.0.1", "127.0.0.2", "127.1.2.3"):
                with self.subTest(dst=dst):
                    # Sent from 127.0.0.1: a socket bound to the wildcard
                    # would answer from 127.0.0.1 whatever was asked.
                    addr, tid, data = exchange("127.0.0.1", dst, srv.port)
                    self.assertEqual(addr, dst)
                    self.assertNotEqual(tid, srv.port)
                    self.assertEqual(data, CONTENT)
                    # An ERROR from the listening socket too.
                    addr, port, code = exchange("127.0.0.1", dst, srv.port, "missing")
                    self.assertEqual((addr, port, code), (dst, srv.port, 1))
            if self.v6:
                addr, _, data = exchange("::1", "::1", srv.port)
                self.assertEqual((addr, data), ("::1", CONTENT))
            log = srv.stop()
            self.assertIn("listening on 0.0.0.0:%d" % srv.port, log)
        finally:
            srv.cleanup()

    def test_ipv4_only(self):
        srv = self.serve("-4")
        try:
            self.assertEqual(exchange("127.0.0.1", "127.0.0.2", srv.port)[0], "127.0.0.2")
            if self.v6:
                self.assertTrue(no_answer("::1", srv.port))
            self.assertNotIn("[::]", srv.stop())
        finally:
            srv.cleanup()

    def test_ipv6_only(self):
        if not self.v6:
            self.skipTest("no IPv6 loopback")
        srv = self.serve("-6", host="::1")
        try:
            self.assertEqual(exchange("::1", "::1", srv.port)[2], CONTENT)
            self.assertTrue(no_answer("127.0.0.1", srv.port))
            self.assertNotIn("0.0.0.0", srv.stop())
        finally:
            srv.cleanup()


class Namespace(unittest.TestCase):
    """Runs InNetns in a private network namespace."""

    def test_wildcard_in_namespace(self):
        if IN_NETNS:
            self.skipTest("already inside")
        tool = shutil.which("unshare")
        if not tool:
            self.skipTest("no unshare(1)")
        cmd = [tool, "-n"] if os.geteuid() == 0 else [tool, "-rn"]
        if subprocess.run(cmd + ["true"], capture_output=True).returncode != 0:
            self.skipTest("cannot create a network namespace here")
        env = dict(os.environ, TFTPD_TEST_IN_NETNS="1")
        r = subprocess.run(cmd + [sys.executable, os.path.abspath(__file__), "InNetns"],
                           env=env, capture_output=True, text=True,
                           timeout=scaled(120))
        sys.stderr.write(r.stderr)
        self.assertEqual(r.returncode, 0, r.stderr[-4000:])
        self.assertIn("OK", r.stderr)
        self.assertNotIn("skipped 'runs inside", r.stderr)


if __name__ == "__main__":
    main()
