#!/usr/bin/env python3
"""--single-port: every packet of every transfer goes out of the listening
socket, from the address the request was sent to, and every packet from a
client comes back to it; transfers are told apart by the client's address
and port. What the ephemeral-port design gives must hold: windows, limits,
strangers left unanswered, a client's next request from the same port,
graceful shutdown; and 200 clients at once get every reply from the listen
port.

The NAT case: a client in one network namespace, the server in another, a
router between them (this test's own namespace) that masquerades the
client (nftables, else iptables; no TFTP conntrack helper). In the normal
mode the server's answer comes from a new port, conntrack does not know
it, and the client never hears it; with --single-port the same download
works, with our client and with tftp-hpa's. Where the kernel has no NAT,
the test says so and that case is skipped (the 200-client check still
runs).

The whole file runs in a network namespace of its own (peers.py)."""
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

from peers import enter_own_netns, new_netns, run
from tftptest import (ACK, DATA, ERROR, OACK, Client, Endpoint, TftpdServer,
                      WRAPPER, as_root_permissive, main, pack_ack, pack_error,
                      pack_rrq, pattern, scaled, tftpd_path, wait_for)

CONTENT = pattern(300000, seed=5)
SMALL = pattern(8000, seed=6)  # 16 blocks of 512 and a short one


class SinglePort(TftpdServer):
    def __init__(self, *args, **kw):
        super().__init__("--single-port", *args, **kw)


def next_of(e, op, timeout=2.0):
    """The next packet of opcode op on e (others are skipped), or None."""
    end = time.monotonic() + scaled(timeout)
    while time.monotonic() < end:
        p = e.recv(max(0.05, end - time.monotonic()))
        if p is not None and p.op == op:
            return p
    return None


def finish(e, d, port):
    """A lockstep download on e whose DATA d just came: ACK to the end.
    Returns the bytes."""
    got = d.payload
    while len(d.payload) == 512:
        e.send(pack_ack(d.block), port)
        d = next_of(e, DATA)
        got += d.payload
    e.send(pack_ack(d.block), port)
    return got


def storm(host, port, name, n, timeout=1.0, limit=60.0):
    """n clients download name at once, lockstep at 512 bytes, each from a
    socket of its own, driven by one select loop (a lost packet is
    repeated after timeout). Returns, per client, (bytes, the set of
    addresses the server's packets came from); AssertionError after limit
    seconds."""
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 18)
        s.bind((host, 0))
        s.setblocking(False)
        socks.append(s)
    st = {s.fileno(): {"sock": s, "got": bytearray(), "next": 1, "from": set(),
                       "last": pack_rrq(name), "to": (host, port),
                       "sent": 0.0, "done": False} for s in socks}
    try:
        for c in st.values():
            c["sock"].sendto(c["last"], c["to"])
            c["sent"] = time.monotonic()
        end = time.monotonic() + scaled(limit)
        while not all(c["done"] for c in st.values()):
            if time.monotonic() > end:
                left = sum(not c["done"] for c in st.values())
                raise AssertionError("storm: %d of %d clients unfinished" % (left, n))
            ready, _, _ = select.select([c["sock"] for c in st.values()
                                         if not c["done"]], [], [], 0.1)
            for s in ready:
                _storm_input(st[s.fileno()])
            now = time.monotonic()
            for c in st.values():
                if not c["done"] and now - c["sent"] > scaled(timeout):
                    c["sock"].sendto(c["last"], c["to"])
                    c["sent"] = now
        return [(bytes(c["got"]), c["from"]) for c in st.values()]
    finally:
        for s in socks:
            s.close()


def _storm_input(c):
    while True:
        try:
            raw, addr = c["sock"].recvfrom(2048)
        except (BlockingIOError, ConnectionRefusedError):
            return
        op, block = struct.unpack(">HH", raw[:4])
        c["from"].add(addr)
        if op == ERROR:
            raise AssertionError("storm: ERROR %d %r" % (block, raw[4:-1]))
        if op != DATA or block != c["next"] & 0xFFFF:
            continue
        c["got"] += raw[4:]
        c["next"] += 1
        c["last"], c["to"] = pack_ack(block), addr
        c["sock"].sendto(c["last"], addr)
        c["sent"] = time.monotonic()
        if len(raw) - 4 < 512:
            c["done"] = True
            return


class Transfers(unittest.TestCase):
    def test_windowed_both_ways_from_the_listen_port(self):
        """A windowed download and upload: every packet of the server's
        comes from the listening port, and the bytes are right."""
        with SinglePort("-w") as srv:
            srv.write("f.bin", CONTENT)
            with srv.client() as c:
                r = c.get("f.bin", opts={"blksize": "1468", "windowsize": "16"})
                self.assertEqual(r.data, CONTENT)
                self.assertEqual(r.tid, srv.port)
                self.assertEqual(r.oack["windowsize"], "16")
                r = c.put("up.bin", CONTENT, opts={"blksize": "1000", "windowsize": "8"})
                self.assertEqual(r.tid, srv.port)
            self.assertEqual(srv.read("up.bin"), CONTENT)
            # Large blocks (sendfile is not used on the shared socket).
            with srv.client() as c:
                r = c.get("f.bin", opts={"blksize": "65464", "windowsize": "4"})
                self.assertEqual((r.data, r.tid), (CONTENT, srv.port))
            srv.wait_idle()

    def test_200_clients_every_reply_from_the_listen_port(self):
        """200 clients at once (one address, as behind a NAT): each gets
        the file, and every packet the server sent came from the listening
        address and port; the server keeps one socket per family."""
        with SinglePort("--max-per-client", "256") as srv:
            srv.write("s.bin", SMALL)
            out = storm("127.0.0.1", srv.port, "s.bin", 200)
            self.assertEqual(len(out), 200)
            for data, sources in out:
                self.assertEqual(data, SMALL)
                self.assertEqual(sources, {("127.0.0.1", srv.port)})
            srv.wait_idle()
            log = srv.stop()
            self.assertEqual(log.count("s.bin octet: 8000 bytes"), 200, log[-2000:])

    def test_stranger_gets_no_answer_and_the_transfer_goes_on(self):
        """DATA, ACK, ERROR and garbage from an address:port with no
        transfer get nothing back (an ERROR 5 could reach a client that is
        waiting for the answer to its next request); the transfer they
        aimed at goes on."""
        with SinglePort("-v") as srv:
            srv.write("s.bin", SMALL)
            with Endpoint() as c, Endpoint() as stranger:
                c.send(pack_rrq("s.bin"), srv.port)
                d = next_of(c, DATA)
                self.assertEqual((d.block, d.port), (1, srv.port))
                for pkt in (pack_ack(1), struct.pack(">HH", DATA, 1) + b"x",
                            pack_error(0, "x"), b"\x00\x07zz", b"\x00"):
                    stranger.send(pkt, srv.port)
                self.assertEqual(stranger.recv_all(quiet=0.4, limit=2), [])
                self.assertEqual(finish(c, d, srv.port), SMALL)
            self.assertIn("packet for no transfer, ignored", srv.stop())

    def test_client_error_ends_only_its_transfer(self):
        """An ERROR from a client ends its own transfer and is never
        answered; another client's transfer is not touched."""
        with SinglePort() as srv:
            srv.write("s.bin", SMALL)
            with Endpoint() as a, Endpoint() as b:
                for e in (a, b):
                    e.send(pack_rrq("s.bin"), srv.port)
                    self.assertEqual(next_of(e, DATA).block, 1)
                a.send(pack_error(0, "user abort"), srv.port)
                b.send(pack_ack(1), srv.port)
                self.assertEqual(next_of(b, DATA).block, 2)
                a.send(pack_ack(1), srv.port)  # too late: no transfer
                self.assertEqual(a.recv_all(quiet=0.4, limit=2), [])
            log = srv.stop()
            self.assertIn("client sent ERROR 0 (user abort)", log)

    def test_per_client_limit(self):
        """--max-per-client holds: a third transfer from the address gets
        ERROR 0 "server busy", from the listening port."""
        with SinglePort("--max-per-client", "2") as srv:
            srv.write("s.bin", SMALL)
            eps = [Endpoint() for _ in range(3)]
            try:
                for e in eps[:2]:
                    e.send(pack_rrq("s.bin"), srv.port)
                    self.assertEqual(next_of(e, DATA).block, 1)
                eps[2].send(pack_rrq("s.bin"), srv.port)
                p = next_of(eps[2], ERROR)
                self.assertEqual((p.code, p.msg, p.port), (0, "server busy", srv.port))
            finally:
                for e in eps:
                    e.close()
            self.assertIn("--max-per-client reached", srv.stop())

    def test_repeated_request_starts_nothing(self):
        """The same RRQ twice before the client answered is one transfer."""
        with SinglePort("-v") as srv:
            srv.write("s.bin", SMALL)
            with Endpoint() as e:
                e.send(pack_rrq("s.bin"), srv.port)
                e.send(pack_rrq("s.bin"), srv.port)
                self.assertEqual(next_of(e, DATA).block, 1)
                e.send(pack_error(0, "done"), srv.port)
            log = srv.stop()
            self.assertEqual(log.count("RRQ s.bin octet: started"), 1, log)

    def test_next_request_before_the_final_ack(self):
        """tftp-hpa's prompt reuses its port: the next RRQ may be read
        before the final ACK of the last transfer (both wait on the one
        socket, the RRQ first). The new request is served; the old
        transfer ends; the late ACK does not disturb the new one."""
        with SinglePort() as srv:
            srv.write("a.bin", b"a" * 600)
            srv.write("b.bin", b"b" * 600)
            with Endpoint() as e:
                name = "a.bin"
                e.send(pack_rrq(name), srv.port)
                for i in range(10):
                    d = next_of(e, DATA)
                    self.assertIsNotNone(d, "request %d unanswered" % i)
                    self.assertEqual((d.block, d.payload[:1]), (1, name[:1].encode()))
                    e.send(pack_ack(1), srv.port)
                    d = next_of(e, DATA)
                    self.assertEqual((d.block, len(d.payload)), (2, 88))
                    name = "b.bin" if name == "a.bin" else "a.bin"
                    srv.send_signal(signal.SIGSTOP)
                    try:
                        e.send(pack_rrq(name), srv.port)
                        e.send(pack_ack(2), srv.port)
                    finally:
                        srv.send_signal(signal.SIGCONT)
                e.send(pack_error(0, "bye"), srv.port)

    def test_graceful_stop_keeps_the_socket_for_running_transfers(self):
        """SIGTERM: no new transfer starts, but the one running (which
        lives on the listening socket) finishes within the grace period
        and the server exits 0."""
        with SinglePort() as srv:
            srv.write("s.bin", SMALL)
            with Endpoint() as e, Endpoint() as late:
                e.send(pack_rrq("s.bin"), srv.port)
                d = next_of(e, DATA)
                srv.send_signal(signal.SIGTERM)
                wait_for(lambda: "not accepting requests" in srv.log(), 5,
                         "the server to stop accepting")
                late.send(pack_rrq("s.bin"), srv.port)
                self.assertEqual(finish(e, d, srv.port), SMALL)
                self.assertEqual(srv.wait(), 0)
                self.assertEqual([p for p in late.recv_all(quiet=0.2, limit=1)
                                  if p.op == DATA], [])

    def test_port_range_excludes_it(self):
        from tftptest import run_tftpd
        r = run_tftpd("--single-port", "-R", "5000:5010")
        self.assertEqual(r.returncode, 64)
        self.assertIn("--single-port", r.stderr)


# ---- several addresses, one wildcard listener ---------------------------------

class Wildcard(SinglePort):
    def argv(self, port):
        return WRAPPER + [tftpd_path(), "-r", self.root, "-v", "--single-port",
                          "-a", ":%d" % port] + self.privileges() + self.args[1:]


def windowed_get(src, dst, port, name, blksize=1000, window=8):
    """A windowed download from src to dst:port. Returns (bytes, the set
    of addresses the server's packets came from)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((src, 0))
        s.settimeout(scaled(2))
        opts = b"blksize\0%d\0windowsize\0%d\0" % (blksize, window)
        s.sendto(struct.pack(">H", 1) + name.encode() + b"\0octet\0" + opts, (dst, port))
        got, froms, block = bytearray(), set(), 0
        while True:
            raw, addr = s.recvfrom(70000)
            froms.add(addr)
            op, num = struct.unpack(">HH", raw[:4])
            if op == OACK:
                s.sendto(pack_ack(0), addr)
                continue
            assert op == DATA, raw[:40]
            if num != (block + 1) & 0xFFFF:
                continue
            block = num
            got += raw[4:]
            last = len(raw) - 4 < blksize
            if last or block % window == 0:
                s.sendto(pack_ack(block), addr)
            if last:
                return bytes(got), froms


class Addresses(unittest.TestCase):
    def test_reply_from_the_address_asked(self):
        """Listening on the wildcard: a request to 127.0.0.2 (sent from
        127.0.0.1) is answered, window after window, from 127.0.0.2 and
        the listening port (GSO and sendmmsg carry the source address)."""
        with Wildcard() as srv:
            srv.write("f.bin", CONTENT)
            for dst in ("127.0.0.1", "127.0.0.2"):
                with self.subTest(dst=dst):
                    data, froms = windowed_get("127.0.0.1", dst, srv.port, "f.bin")
                    self.assertEqual(data, CONTENT)
                    self.assertEqual(froms, {(dst, srv.port)})
                    data, froms = windowed_get("127.0.0.1", dst, srv.port, "f.bin",
                                               blksize=512, window=1)
                    self.assertEqual(froms, {(dst, srv.port)})


# ---- behind a NAT ---------------------------------------------------------------

def masquerade(dev):
    """Masquerade what leaves through dev: nftables, else iptables. The
    tool used, or None (with why) where the kernel has no NAT."""
    nft = shutil.which("nft")
    if nft:
        r = subprocess.run([nft, "-f", "-"], input=(
            "table ip tspnat {\n chain post {\n  type nat hook postrouting "
            "priority 100;\n  oifname \"%s\" masquerade\n }\n}\n" % dev),
            capture_output=True, text=True, timeout=scaled(10))
        if r.returncode == 0:
            return "nft", None
        why = "nft: " + r.stderr.strip()
    else:
        why = "no nft"
    ipt = shutil.which("iptables")
    if ipt:
        r = run(ipt, "-t", "nat", "-A", "POSTROUTING", "-o", dev, "-j",
                "MASQUERADE", check=False)
        if r.returncode == 0:
            return "iptables", None
        why += "; iptables: " + r.stderr.strip()
    return None, why


class Nat(unittest.TestCase):
    """client 10.99.1.2 -- (10.99.1.1 router 10.99.2.1, masquerade) --
    10.99.2.2 and 10.99.2.3 server."""

    @classmethod
    def setUpClass(cls):
        cls.holders = []
        cls.root = tempfile.mkdtemp(prefix="tftpd-nat-")
        try:
            cls._topology()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def _topology(cls):
        cls.client_ns, cls.server_ns = new_netns(), new_netns()
        cls.holders = [cls.client_ns, cls.server_ns]
        c, s = cls.client_ns.pid, cls.server_ns.pid
        run("ip", "link", "add", "tsp-rc", "type", "veth", "peer", "name", "tsp-c")
        run("ip", "link", "add", "tsp-rs", "type", "veth", "peer", "name", "tsp-s")
        run("ip", "link", "set", "tsp-c", "netns", str(c))
        run("ip", "link", "set", "tsp-s", "netns", str(s))
        run("ip", "addr", "add", "10.99.1.1/24", "dev", "tsp-rc")
        run("ip", "addr", "add", "10.99.2.1/24", "dev", "tsp-rs")
        for dev in ("tsp-rc", "tsp-rs"):
            run("ip", "link", "set", dev, "up")
        with open("/proc/sys/net/ipv4/ip_forward", "w") as f:
            f.write("1")
        for ns, dev, addrs in ((c, "tsp-c", ["10.99.1.2/24"]),
                               (s, "tsp-s", ["10.99.2.2/24", "10.99.2.3/24"])):
            run("ip", "link", "set", "lo", "up", ns=ns)
            for a in addrs:
                run("ip", "addr", "add", a, "dev", dev, ns=ns)
            run("ip", "link", "set", dev, "up", ns=ns)
        # Only the client has a route beyond its link: the server sees
        # the router's address and answers it on its own link.
        run("ip", "route", "add", "default", "via", "10.99.1.1", ns=c)
        cls.nat, cls.no_nat = masquerade("tsp-rs")
        with open(os.path.join(cls.root, "f.bin"), "wb") as f:
            f.write(CONTENT)

    @classmethod
    def tearDownClass(cls):
        for p in cls.holders:
            p.kill()
            p.wait()
        shutil.rmtree(cls.root, ignore_errors=True)

    def setUp(self):
        if not self.nat:
            sys.stderr.write("NAT case not run: the kernel here has no NAT (%s)\n"
                             % self.no_nat)
            self.skipTest("no NAT in this kernel: " + self.no_nat)
        # No TFTP conntrack helper: none is assigned by any rule, and the
        # kernel's automatic assignment is off in a new namespace.
        rules = run("nft", "list", "ruleset", check=False).stdout \
            if self.nat == "nft" else run("iptables-save", check=False).stdout
        self.assertNotIn("helper", rules)

    def serve(self, *args):
        """tftpd on every address of the server's namespace, port 69."""
        log = tempfile.TemporaryFile()
        argv = WRAPPER + [tftpd_path(), "-r", self.root, "-a", ":69", "-v", "-4"] + \
            as_root_permissive(args) + list(args)
        p = subprocess.Popen(["nsenter", "-t", str(self.server_ns.pid), "-n"] + argv,
                             stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        self.addCleanup(self._stop, p, log)

        def text():
            log.seek(0)
            return log.read().decode("utf-8", "replace")
        wait_for(lambda: "serving" in text() or p.poll() is not None, 10,
                 "tftpd to start")
        self.assertIsNone(p.poll(), text())
        return text

    @staticmethod
    def _stop(p, log):
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(scaled(10))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        log.close()

    def ours(self, dst, out, *extra):
        return run(os.environ["TFTP"], "get", "-t", "1", "--retries", "3",
                   *extra, dst, "f.bin", out, ns=self.client_ns.pid,
                   check=False, timeout=30)

    def test_normal_mode_fails_behind_nat(self):
        """Ephemeral ports: the server gets the request and answers from a
        new port, which the NAT does not let through."""
        text = self.serve()
        out = os.path.join(self.root, "out-normal")
        r = self.ours("10.99.2.2", out)
        self.assertNotEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertFalse(os.path.exists(out))
        # It got the request (masqueraded) and answered, unheard.
        wait_for(lambda: "timed out" in text(), 15, "the server to give up")
        self.assertIn("10.99.2.1:", text())
        self.assertIn("RRQ f.bin octet: 0 bytes", text())

    def test_single_port_works_behind_nat(self):
        """The same download with --single-port: our client (windowed and
        lockstep) and tftp-hpa's, to both of the server's addresses."""
        text = self.serve("--single-port")
        for dst in ("10.99.2.2", "10.99.2.3"):
            for extra in ((), ("-b", "1400", "-W", "16")):
                with self.subTest(dst=dst, client="ours", opts=extra):
                    out = os.path.join(self.root, "out-ours")
                    r = self.ours(dst, out, *extra)
                    self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                    with open(out, "rb") as f:
                        self.assertEqual(f.read(), CONTENT)
                    os.unlink(out)
            with self.subTest(dst=dst, client="tftp-hpa"):
                out = os.path.join(self.root, "out-hpa")
                hpa = shutil.which("tftp") or "/usr/bin/tftp"
                r = run(hpa, "-m", "binary", dst, "69", "-c", "get", "f.bin", out,
                        ns=self.client_ns.pid, check=False, timeout=30)
                with open(out, "rb") as f:
                    self.assertEqual(f.read(), CONTENT, r.stdout + r.stderr)
                os.unlink(out)
        self.assertNotIn("failed", text())


if __name__ == "__main__":
    enter_own_netns(addrs=("127.0.0.2/8",))
    main()
