#!/usr/bin/env python3
"""The fault relay itself: TID mapping, seeded and counted faults, the
stats JSON of the subprocess API, --reject-options, and robustness
against junk and a vanished server."""
import re
import socket
import struct
import time
import unittest

from tftptest import TftpdServer, Client, Endpoint, pattern, pack_rrq, \
    pack_data, pack_ack, ERROR, scaled, main, wait_for
from tftprelay import RelayThread, RelayProcess, totals
import faultlib as F


def udp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for opt in (getattr(socket, "SO_RCVBUFFORCE", None), socket.SO_RCVBUF):
        try:
            if opt is not None:
                s.setsockopt(socket.SOL_SOCKET, opt, 8 << 20)
                break
        except OSError:
            pass
    s.bind(("127.0.0.1", 0))
    s.settimeout(scaled(2))
    return s


def drain(sock, quiet=0.3):
    """Every datagram until none came for quiet seconds."""
    out = []
    sock.settimeout(scaled(quiet))
    while True:
        try:
            out.append(sock.recvfrom(70000))
        except socket.timeout:
            return out


class Relay(unittest.TestCase):
    def test_two_server_tids_map_to_two_relay_ports(self):
        listen, tid1, tid2 = udp(), udp(), udp()
        with udp() as client, RelayThread(listen.getsockname()[1]) as r:
            client.sendto(pack_rrq("x"), ("127.0.0.1", r.port))
            req, up = listen.recvfrom(100)
            self.assertEqual(req, pack_rrq("x"))
            tid1.sendto(pack_data(1, b"one"), up)
            tid2.sendto(pack_data(1, b"two"), up)
            got = {}
            for _ in range(2):
                pkt, src = client.recvfrom(100)
                got[pkt[4:]] = src
            self.assertNotEqual(got[b"one"], got[b"two"])
            self.assertNotIn(r.port, (got[b"one"][1], got[b"two"][1]))
            # Answers reach the matching server TID, from the same upstream.
            client.sendto(pack_ack(1), got[b"two"])
            pkt, src = tid2.recvfrom(100)
            self.assertEqual((pkt, src), (pack_ack(1), up))
            client.sendto(struct.pack("!HH", 5, 5) + b"x\0", got[b"one"])
            pkt, src = tid1.recvfrom(100)
            self.assertEqual(pkt[:4], struct.pack("!HH", 5, 5))
            st = r.stats()
        self.assertEqual(st["server_tids"], 2)
        self.assertEqual(st["sessions"], 1)
        for s in (listen, tid1, tid2):
            s.close()

    def burst(self, n, seed, **faults):
        """n numbered packets client -> server through a relay; returns the
        numbers in arrival order and the relay's counters."""
        with udp() as server, udp() as client:
            with RelayThread(server.getsockname()[1], seed=seed, reorder_ms=50,
                             **faults) as r:
                for i in range(n):
                    client.sendto(pack_data(i, b"p"), ("127.0.0.1", r.port))
                    if i % 50 == 49:
                        time.sleep(0.005)   # stay within socket buffers
                got = [struct.unpack("!H", p[2:4])[0] for p, _ in drain(server)]
            return got, r.final

    def test_drop_is_seeded_and_near_its_probability(self):
        a, sa = self.burst(2000, 7, drop=0.3)
        b, sb = self.burst(2000, 7, drop=0.3)
        c, _ = self.burst(2000, 8, drop=0.3)
        self.assertEqual(a, b)               # same seed, same packets: same fate
        self.assertNotEqual(a, c)
        self.assertEqual(sa["c2s"]["dropped"], 2000 - len(a))
        self.assertTrue(500 < sa["c2s"]["dropped"] < 700, sa["c2s"])
        self.assertEqual(a, sorted(a))       # dropping alone keeps order

    def test_duplicate_and_reorder(self):
        got, st = self.burst(1000, 3, dup=0.1, reorder=0.1)
        self.assertEqual(sorted(set(got)), list(range(1000)))  # nothing lost
        self.assertEqual(len(got) - 1000, st["c2s"]["duplicated"])
        self.assertTrue(50 < st["c2s"]["duplicated"] < 160, st["c2s"])
        self.assertGreater(st["c2s"]["reordered"], 30)
        inversions = sum(1 for x, y in zip(got, got[1:]) if y < x)
        self.assertGreater(inversions, 30)

    def test_transfer_through_clean_relay_counts_every_packet(self):
        data = pattern(300000, 1)
        with TftpdServer() as srv:
            srv.write("a.bin", data)
            with RelayThread(srv.port) as r:
                c = Client(r.port)
                res = c.get("a.bin", opts={"blksize": 1024, "windowsize": 4})
                c.close()
                # Until the server has the final ACK: every packet is
                # through the relay.
                wait_for(lambda: re.search(r"RRQ a\.bin .*: ok", srv.log()),
                         10, "the transfer's end at the server")
        self.assertEqual(res.data, data)
        t = totals(r.final)
        self.assertEqual(t["forwarded"], t["packets"])
        self.assertEqual(t["dropped"] + t["duplicated"] + t["held"], 0)
        blocks = len(data) // 1024 + 1
        self.assertEqual(r.final["s2c"]["ops"]["DATA"], blocks)

    def test_process_api_stats_json(self):
        data = pattern(200000, 2)
        with TftpdServer() as srv:
            srv.write("a.bin", data)
            with F.relay(srv.port, 10, seed=5) as r:
                c = Client(r.port, timeout=0.05, retries=100)
                self.assertEqual(c.get("a.bin").data, data)
                c.close()
                self.assertTrue(F.wait_until(
                    lambda: (r.stats() or {}).get("s2c", {}).get("packets", 0) > 390, 5))
            final = r.final
        self.assertEqual(final["seed"], "5")
        self.assertEqual(final["faults"]["c2s"]["drop"], 0.1)
        for d in ("c2s", "s2c"):
            self.assertGreater(final[d]["dropped"], 0)
        t = totals(final)
        # every packet is dropped, or forwarded (once or twice), or was
        # still in flight when the relay stopped
        self.assertEqual(t["forwarded"] + t["unsent"],
                         t["packets"] - t["dropped"] + t["duplicated"])
        self.assertLessEqual(t["unsent"], 4)
        self.assertEqual(final["internal_errors"], 0)

    def test_reject_options(self):
        with TftpdServer() as srv:
            srv.write("a.bin", b"hello")
            with RelayThread(srv.port, reject_options=True) as r:
                with Endpoint() as e:
                    e.send(pack_rrq("a.bin", opts={"blksize": 1024}), r.port)
                    p = e.recv(2)
                    self.assertEqual((p.op, p.code), (ERROR, 8))
                    self.assertNotEqual(p.port, r.port)
                c = Client(r.port)
                self.assertEqual(c.get("a.bin").data, b"hello")
                c.close()
            self.assertEqual(r.final["rejected_requests"], 1)

    def test_junk_and_vanished_server(self):
        dead = udp()
        port = dead.getsockname()[1]
        dead.close()                      # nothing listens: ICMP refused
        with udp() as client, RelayThread(port, dup=0.5, reorder=0.5) as r:
            for junk in (b"", b"\x00", b"\xff" * 3, b"\x00\x03" + b"z" * 65000):
                client.sendto(junk, ("127.0.0.1", r.port))
            for i in range(50):
                client.sendto(pack_ack(i), ("127.0.0.1", r.port))
            wait_for(lambda: r.stats()["c2s"]["packets"] >= 54, 10,
                     "the relay to read them all")
            self.assertTrue(r.thread.is_alive())
            st = r.stats()
        self.assertEqual(st["internal_errors"], 0)
        self.assertEqual(st["c2s"]["packets"], 54)
        # and it still relays to a server that is there
        with TftpdServer() as srv:
            srv.write("b", b"x" * 1000)
            with RelayThread(srv.port) as r2:
                c = Client(r2.port)
                self.assertEqual(c.get("b").data, b"x" * 1000)
                c.close()


if __name__ == "__main__":
    main()
