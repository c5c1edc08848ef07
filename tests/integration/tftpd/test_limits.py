#!/usr/bin/env python3
"""Limits as a site sees them (issue 12, item 15): --max-per-client and
--max-transfers hold for the whole server with --workers (not per worker);
IPv6 clients count per /64 (--client-prefix6); -a takes a v4-mapped IPv6
address. Runs in a network namespace of its own with fd00:77::1 and
fd00:77::2 (one /64) and fd00:78::1 (another) on its loopback device."""
import subprocess
import time
import unittest

import peers
from tftptest import (DATA, ERROR, Endpoint, TftpdServer, main, pack_error,
                      pack_rrq, pattern, scaled, wait_for, free_udp_port,
                      tftpd_path, Client)

BUSY = "server busy"


def first_replies(srv, sources, name="f.bin"):
    """One RRQ from each endpoint, held (never ACKed); the first reply of
    each, or None."""
    out = []
    for e in sources:
        e.send(pack_rrq(name), srv.port)
        out.append(e.recv(3))
    return out


def release(eps, replies):
    for e, p in zip(eps, replies):
        if p is not None and p.op == DATA:
            e.send(pack_error(0, "done"), p.port)


class Workers(unittest.TestCase):
    def test_per_client_limit_across_workers(self):
        """--workers 2 --max-per-client 2: four held transfers from four
        ports of one address: exactly two run, two are busy (SO_REUSEPORT
        spreads the ports over both workers, so per-worker counting would
        grant up to four)."""
        with TftpdServer("--workers", "2", "--max-per-client", "2") as srv:
            srv.write("f.bin", pattern(5000))
            eps = [Endpoint() for _ in range(8)]
            try:
                replies = first_replies(srv, eps)
                ops = [(p.op, p.msg if p.op == ERROR else "") for p in replies]
                self.assertEqual(sum(1 for o in ops if o[0] == DATA), 2, ops)
                self.assertEqual(sum(1 for o in ops if o == (ERROR, BUSY)), 6, ops)
                release(eps, replies)
            finally:
                for e in eps:
                    e.close()
            srv.stop()

    def test_total_limit_across_workers(self):
        with TftpdServer("--workers", "2", "-m", "3") as srv:
            srv.write("f.bin", pattern(5000))
            eps = [Endpoint() for _ in range(8)]
            try:
                replies = first_replies(srv, eps)
                self.assertEqual(sum(1 for p in replies if p.op == DATA), 3)
                release(eps, replies)
                # the slots come back when the transfers end
                wait_for(lambda: srv.log().count("client sent ERROR 0") == 3,
                         5, "the three ends")
                with srv.client() as c:
                    self.assertEqual(len(c.get("f.bin").data), 5000)
            finally:
                for e in eps:
                    e.close()
            srv.stop()


class Prefix6(unittest.TestCase):
    def held(self, srv, addrs):
        eps = [Endpoint(host=srv.host, bind=a) for a in addrs]
        try:
            replies = first_replies(srv, eps)
            release(eps, replies)
            return [p.op == DATA for p in replies]
        finally:
            for e in eps:
                e.close()

    def test_one_64_is_one_client(self):
        with TftpdServer("--max-per-client", "1", host="fd00:77::1") as srv:
            srv.write("f.bin", pattern(3000))
            got = self.held(srv, ["fd00:77::1", "fd00:77::2", "fd00:78::1"])
            self.assertEqual(got, [True, False, True])
            srv.stop()

    def test_prefix_128_counts_addresses(self):
        with TftpdServer("--max-per-client", "1", "--client-prefix6", "128",
                         host="fd00:77::1") as srv:
            srv.write("f.bin", pattern(3000))
            got = self.held(srv, ["fd00:77::1", "fd00:77::2"])
            self.assertEqual(got, [True, True])
            srv.stop()


class Mapped(unittest.TestCase):
    def test_v4_mapped_listen_address(self):
        """-a [::ffff:127.0.0.1]:PORT used to fail (EINVAL on an IPv6-only
        socket); it listens on 127.0.0.1."""
        with TftpdServer(host="127.0.0.1") as ref:
            root = ref.root
            ref.write("m.bin", b"mapped")
            port = free_udp_port()
            p = subprocess.Popen([tftpd_path(), "-r", root, "-u", "root", "-p",
                                  "-a", "[::ffff:127.0.0.1]:%d" % port],
                                 stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
            try:
                data = None
                end = time.monotonic() + scaled(5)
                while data is None and time.monotonic() < end and p.poll() is None:
                    try:
                        with Client(port, timeout=0.3, retries=1) as c:
                            data = c.get("m.bin").data
                    except AssertionError:
                        pass
                self.assertEqual(data, b"mapped", p.stderr.read1() if p.poll() is not None else "")
            finally:
                p.terminate()
                p.wait(scaled(10))
            ref.stop()


if __name__ == "__main__":
    peers.enter_own_netns(addrs=("fd00:77::1/64", "fd00:77::2/64", "fd00:78::1/64"))
    main()
