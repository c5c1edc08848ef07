#!/usr/bin/env python3
"""Resource exhaustion.

- A flood of 10,000 well-formed RRQs (and, mixed in, 2,500 WRQs and 2,500
  malformed requests) from 100 source ports: --max-transfers and
  --max-per-client hold (watched through the server's open file
  descriptors), memory stays bounded during the flood (VmRSS sampled after
  every batch) and after it, everything is released afterwards,
  and a legitimate transfer started during the flood completes.
- Running out of file descriptors (the server started with RLIMIT_NOFILE
  32) gives ERROR 0 to new requests, never a crash, and the server serves
  again once descriptors are free."""
import os
import select
import socket
import threading
import time

from sectest import (DATA, ERROR, UNDER_VALGRIND, Client, Server, ServerCase, error,
                     log, main, rrq, scaled, wrq)
from tftptest import have_ipv6_loopback

FLOOD = 10000
SOCKETS = 100
TIMEOUT = 1
RETRIES = 1
RSS_GROWTH_MB = int(os.environ.get("SEC_RSS_GROWTH_MB", "48"))


class Flood(ServerCase):
    def setUp(self):
        super().setUp()
        with open(os.path.join(self.root, "big.bin"), "wb") as f:
            f.write(os.urandom(1 << 20))

    def start(self, *extra):
        """The server on 127.0.0.1 and ::1, so a legitimate client can come
        from a different address than the flood."""
        args = ["-t", str(TIMEOUT), "--retries", str(RETRIES)] + list(extra)
        self.server = None
        if self.have_ipv6():
            try:
                self.server = Server(self.root, args, ipv6=True).start()
            except AssertionError as e:
                log("flood: tftpd does not take a second -a (%s); IPv4 only"
                    % str(e).splitlines()[0])
        if self.server is None:
            self.server = Server(self.root, args).start()
        self.base_fds = self.server.fd_count()
        self.base_rss = self.server.rss_kb()

    have_ipv6 = staticmethod(have_ipv6_loopback)

    def flood(self, family, host, fd_bound, legit=None):
        """FLOOD well-formed RRQs (with WRQs and junk mixed in) from SOCKETS
        source ports, in batches, draining replies. Returns (max fds seen,
        replies by kind)."""
        socks = [Client(family, host) for _ in range(SOCKETS)]
        kinds = {}
        tids = set()
        max_fds = 0
        max_rss = 0
        names = [rrq("big.bin"), rrq("big.bin", opts=[("blksize", "8")]), rrq("nope"),
                 wrq("w.bin"), b"\x00\x01junk", rrq("pub.bin")]
        is_rrq = [True, True, True, False, False, True]
        t0 = time.monotonic()
        deadline = t0 + scaled(90)
        sent = rrqs = 0
        legit_thread = None
        try:
            while rrqs < FLOOD and time.monotonic() < deadline:
                for i in range(200):
                    s = socks[(sent + i) % SOCKETS]
                    k = (sent + i) % len(names)
                    s.send(names[k], self.server.port)
                    rrqs += is_rrq[k]
                sent += 200
                if legit and legit_thread is None and rrqs >= FLOOD // 2:
                    legit_thread = threading.Thread(target=legit, daemon=True)
                    legit_thread.start()
                # Drain the replies for 30 ms: a flood, but one the server
                # has time to answer rather than lose in its socket buffer.
                end = time.monotonic() + 0.03
                while time.monotonic() < end:
                    r, _, _ = select.select([s.sock for s in socks], [], [], 0.005)
                    if not r:
                        continue
                    for sock in r:
                        try:
                            raw, addr = sock.recvfrom(70000)
                        except OSError:
                            continue
                        op = int.from_bytes(raw[:2], "big")
                        code = int.from_bytes(raw[2:4], "big") if op == ERROR else None
                        k = "DATA" if op == DATA else "ERROR %s" % code if op == ERROR else str(op)
                        kinds[k] = kinds.get(k, 0) + 1
                        if op == DATA:
                            tids.add(addr[1])
                fds = self.server.fd_count()
                max_fds = max(max_fds, fds)
                self.assertLessEqual(fds, fd_bound, "fds %d > %d after %d requests"
                                     % (fds, fd_bound, sent))
                rss = self.server.rss_kb()
                max_rss = max(max_rss, rss)
                if not UNDER_VALGRIND:
                    self.assertLess(rss - self.base_rss, RSS_GROWTH_MB * 1024,
                                    "VmRSS %d kB (from %d) after %d requests"
                                    % (rss, self.base_rss, sent))
                self.assertTrue(self.server.alive(), "tftpd died in the flood")
            if legit_thread is not None:
                legit_thread.join(scaled(60))
                self.assertFalse(legit_thread.is_alive(), "legitimate transfer hung")
        finally:
            for s in socks:
                s.close()
        dt = time.monotonic() - t0
        log("flood: %d datagrams (%d RRQs) from %d ports in %.1f s; server fds %d -> max %d "
            "(bound %d); VmRSS %d -> max %d kB; replies %s; %d transfers started"
            % (sent, rrqs, SOCKETS, dt, self.base_fds, max_fds, fd_bound, self.base_rss,
               max_rss, kinds, len(tids)))
        self.assertGreaterEqual(rrqs, FLOOD, "flood did not finish in time")
        return max_fds, kinds

    def settle(self):
        """Transfers time out and everything is given back."""
        end = time.monotonic() + scaled((RETRIES + 2) * TIMEOUT * 4 + 5)
        fds = None
        while time.monotonic() < end:
            fds = self.server.fd_count()
            if fds <= self.base_fds:
                break
            time.sleep(0.2)
        self.assertEqual(fds, self.base_fds, "file descriptors leaked")
        rss = self.server.rss_kb()
        log("memory: VmRSS %d kB before, %d kB after (limit +%d MB)"
            % (self.base_rss, rss, RSS_GROWTH_MB))
        if not UNDER_VALGRIND:
            self.assertLess(rss - self.base_rss, RSS_GROWTH_MB * 1024, "memory grew")

    def legit(self, family, host):
        result = {}

        def run():
            try:
                with Client(family, host) as c:
                    got, _ = c.get(self.server.port, "pub.bin", timeout=5)
                result["ok"] = got == self.pub
            except AssertionError as e:
                result["error"] = str(e)
        return run, result

    def test_per_client_limit_holds_and_others_are_served(self):
        per_client = 5
        self.start("-m", "50", "--max-per-client", str(per_client), "-w")
        v6 = self.server.ipv6
        # Each transfer holds a socket, a file and (an upload) perhaps its
        # directory; slack for the log and the like.
        bound = self.base_fds + 3 * per_client + 4
        run, result = self.legit(socket.AF_INET6 if v6 else socket.AF_INET,
                                 "::1" if v6 else "127.0.0.1")
        if v6:
            _, kinds = self.flood(socket.AF_INET, "127.0.0.1", bound, legit=run)
            self.assertEqual(result.get("ok"), True, "legitimate transfer: %s" % result)
        else:
            log("flood: no IPv6 loopback, the legitimate client is checked after the flood")
            _, kinds = self.flood(socket.AF_INET, "127.0.0.1", bound)
        self.assertGreater(kinds.get("ERROR 0", 0), 0, "no busy error: limits not reached?")
        self.settle()
        self.assertEqual(sorted(os.listdir(self.root)), ["big.bin", "pub.bin"],
                         "uploads cut off by the flood left files behind")
        self.assert_serving("the flood")

    def test_max_transfers_holds(self):
        limit = 12
        self.start("-m", str(limit), "--max-per-client", "1000")
        bound = self.base_fds + 3 * limit + 4
        _, kinds = self.flood(socket.AF_INET, "127.0.0.1", bound)
        self.assertGreater(kinds.get("ERROR 0", 0), 0, "no busy error")
        self.settle()
        self.assert_serving("the flood")


class LowFds(ServerCase):
    NOFILE = 32

    def test_out_of_descriptors_gives_error_0(self):
        if UNDER_VALGRIND:
            self.skipTest("valgrind needs descriptors of its own under RLIMIT_NOFILE")
        with open(os.path.join(self.root, "big.bin"), "wb") as f:
            f.write(os.urandom(1 << 20))
        self.server = Server(self.root, ["-w", "--max-per-client", "1000", "-t", "3",
                                         "--retries", "2"], nofile=self.NOFILE).start()
        clients = [Client() for _ in range(40)]
        try:
            for round_, req in enumerate((lambda i: rrq("big.bin"),
                                          lambda i: wrq("up%d.bin" % i))):
                for i, c in enumerate(clients):
                    c.send(req(i), self.server.port)
                    time.sleep(0.005)
                firsts = []
                for c in clients:
                    p = c.recv(3)
                    self.assertIsNotNone(p, "a request got no answer at all")
                    firsts.append(p)
                kinds = {}
                for p in firsts:
                    k = "ERROR %d" % p.code if p.op == ERROR else "%d" % p.op
                    kinds[k] = kinds.get(k, 0) + 1
                log("RLIMIT_NOFILE %d, round %d: first replies %s"
                    % (self.NOFILE, round_, kinds))
                self.assertTrue(self.server.alive(), "tftpd died out of descriptors")
                errors = [p for p in firsts if p.op == ERROR]
                self.assertTrue(errors, "40 transfers fit in %d descriptors?" % self.NOFILE)
                for p in errors:
                    self.assertEqual(p.code, 0, repr(p))
                self.assertGreater(len(firsts) - len(errors), 0, "nothing served at all")
                # Let them go; the server must recover.
                for c, p in zip(clients, firsts):
                    if p.op != ERROR:
                        c.send(error(0, "bye"), p.port)
                self.server.wait_idle()
                self.assert_serving("running out of descriptors")
        finally:
            for c in clients:
                c.close()


if __name__ == "__main__":
    main()
