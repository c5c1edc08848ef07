"""Helpers of the security suite: run the real tftpd on loopback, speak raw
TFTP to it, and look at the process from outside (/proc).

Environment:
  TFTPD           the server binary (set by meson)
  TFTPD_WRAPPER   a command line put in front of the server, e.g.
                  "valgrind --error-exitcode=99 --leak-check=full
                  --errors-for-leak-kinds=definite". Waits are stretched
                  (SEC_TIME_SCALE, default 1, or 10 under valgrind) and the
                  checks that measure memory are relaxed.
  SEC_TIME_SCALE  multiply every wait by this (slow machines, sanitizers)

Only 127.0.0.1 and ::1 are ever used. Every wait is bounded.
"""
import os
import re
import resource
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

import tftptest
# What is the same as in the other suites comes from tests/lib/tftptest.py.
from tftptest import (ACK, DATA, ERROR, OACK, OPNAMES, RRQ, WRQ,  # noqa: F401
                      SANITIZER_MARKS, UNDER_VALGRIND, WRAPPER, TftpError,
                      free_udp_port, main, process_loopback, scaled,
                      wait_for)

SCALE = float(os.environ.get("SEC_TIME_SCALE", "10" if UNDER_VALGRIND else "1"))
# scaled() and Endpoint.recv() read tftptest.SCALE: this suite's own setting.
tftptest.SCALE = SCALE


def log(*args):
    print(*args, file=sys.stderr, flush=True)


# ---- packets ---------------------------------------------------------------

def cstr(s):
    return (s.encode() if isinstance(s, str) else s) + b"\0"


def request(op, name, mode="octet", opts=()):
    """RRQ/WRQ with options given as (name, value) pairs (str or bytes)."""
    b = struct.pack(">H", op) + cstr(name) + cstr(mode)
    for k, v in opts:
        b += cstr(k) + cstr(v)
    return b


def rrq(name, mode="octet", opts=()):
    return request(RRQ, name, mode, opts)


def wrq(name, mode="octet", opts=()):
    return request(WRQ, name, mode, opts)


def ack(block):
    return struct.pack(">HH", ACK, block & 0xFFFF)


def data(block, payload):
    return struct.pack(">HH", DATA, block & 0xFFFF) + payload


def error(code, msg=b"", nul=True):
    m = msg.encode() if isinstance(msg, str) else msg
    return struct.pack(">HH", ERROR, code) + m + (b"\0" if nul else b"")


class Packet(tftptest.Packet):
    """A datagram from the server, parsed strictly (a malformed reply fails
    the test: the server must only ever send well-formed packets, and never
    a request)."""

    def __init__(self, raw, addr):
        if len(raw) < 4:
            raise AssertionError("runt reply of %d bytes: %r" % (len(raw), raw))
        super().__init__(raw, addr)
        if self.op not in (DATA, ACK, ERROR, OACK):
            raise AssertionError("server sent opcode %d: %r" % (self.op, raw[:32]))


class Client(tftptest.Endpoint):
    """One UDP socket (one client TID) on loopback, with raw get/put."""

    packet_class = Packet

    def __init__(self, family=socket.AF_INET, host="127.0.0.1"):
        # Requests come from this process's own loopback address: the
        # security tests open thousands of sockets one after another, and
        # one that got a port another test had just closed on 127.0.0.1
        # would take that test's late packets for the server's answer.
        super().__init__(host, bind=process_loopback() if host == "127.0.0.1" else None)
        if self.sock.family != family:
            raise ValueError("family %r does not match host %r" % (family, host))

    def recv_all(self, quiet=1.0, limit=30.0):
        """Every datagram until none came for quiet seconds (at most limit).
        quiet is stretched at most 1.5 times: a reply leaves the server in
        milliseconds even under valgrind, and callers choose a quiet below
        the server's 1 s retransmit timeout when retransmissions must not
        be counted."""
        out = []
        end = time.monotonic() + scaled(limit)
        quiet = quiet * min(SCALE, 1.5) / SCALE  # recv() scales it again
        while time.monotonic() < end:
            p = self.recv(min(quiet, max(0.01, (end - time.monotonic()) / SCALE)))
            if p is None:
                break
            out.append(p)
        return out

    def get(self, port, name, mode="octet", opts=(), timeout=3.0, max_bytes=1 << 30):
        """A complete lockstep-or-windowed RRQ. Returns (bytes, oack_dict) or
        raises AssertionError with the server's ERROR."""
        self.send(rrq(name, mode, opts), port)
        blksize, window = 512, 1
        got = bytearray()
        expected = 1
        tid = None
        oack = None
        gap_acked = False
        while True:
            p = self.recv(timeout)
            if p is None:
                raise AssertionError("get %r: no reply (expected block %d)" % (name, expected))
            if tid is None:
                tid = p.port
            elif p.port != tid:
                raise AssertionError("reply from a second TID %d (first %d)" % (p.port, tid))
            if p.op == ERROR:
                raise TftpError(p.code, p.msg)
            if p.op == OACK:
                if oack is not None or expected != 1:
                    continue
                oack = p.optdict()
                blksize = int(oack.get("blksize", 512))
                window = int(oack.get("windowsize", 1))
                self.send(ack(0), tid)
                continue
            if p.op != DATA:
                raise AssertionError("unexpected %r" % p)
            if p.block != expected & 0xFFFF:
                # A gap or a repeat: ACK what we have, once per gap, so
                # the sender goes back there (RFC 7440).
                if not gap_acked:
                    gap_acked = True
                    self.send(ack(expected - 1), tid)
                continue
            gap_acked = False
            if len(p.payload) > blksize:
                raise AssertionError("DATA %d of %d bytes > blksize %d"
                                     % (expected, len(p.payload), blksize))
            got += p.payload
            if len(got) > max_bytes:
                raise AssertionError("more than %d bytes" % max_bytes)
            last = len(p.payload) < blksize
            if last or expected % window == 0:
                self.send(ack(expected), tid)
            if last:
                return bytes(got), oack
            expected += 1

    def put(self, port, name, content, mode="octet", opts=(), timeout=3.0):
        """A complete WRQ, windowed when the OACK grants a windowsize (a
        receiver ACKs only the last block of each window, RFC 7440).
        Returns the OACK dict (or None); raises TftpError on the server's
        ERROR."""
        self.send(wrq(name, mode, opts), port)
        blksize, window = 512, 1
        p = self.recv(timeout)
        if p is None:
            raise AssertionError("put %r: no reply" % name)
        if p.op == ERROR:
            raise TftpError(p.code, p.msg)
        tid = p.port
        oack = None
        if p.op == OACK:
            oack = p.optdict()
            blksize = int(oack.get("blksize", 512))
            window = int(oack.get("windowsize", 1))
        elif not (p.op == ACK and p.block == 0):
            raise AssertionError("WRQ answered with %r" % p)
        nblocks = len(content) // blksize + 1  # the last one is short
        base = 1  # first block not yet acknowledged
        tries = 0
        while base <= nblocks:
            last = min(base + window - 1, nblocks)
            for b in range(base, last + 1):
                self.send(data(b, content[(b - 1) * blksize:b * blksize]), tid)
            acked = None
            while True:
                r = self.recv(timeout)
                if r is None:
                    break
                if r.op == ERROR:
                    raise TftpError(r.code, r.msg)
                if r.op != ACK:
                    continue
                # Map the 16-bit number into [base - 1, last].
                n = base - 1 + ((r.block - (base - 1)) & 0xFFFF)
                if n <= last:
                    acked = n
                    break
            if acked is None or acked < base:
                tries += 1
                if tries > 6:
                    raise AssertionError("put %r: block %d never ACKed" % (name, base))
                continue
            tries = 0
            base = acked + 1
        return oack


# ---- the server -------------------------------------------------------------

def _udp_ports_bound():
    ports = set()
    for f in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            with open(f) as fh:
                next(fh)
                for line in fh:
                    local = line.split()[1]
                    ports.add(int(local.rsplit(":", 1)[1], 16))
        except OSError:
            pass
    return ports


class Server:
    """tftpd on 127.0.0.1:PORT (and [::1]:PORT with ipv6=True) serving root."""

    def __init__(self, root, extra=(), nofile=None, ipv6=False, verbose=True,
                 env=None):
        self.root = root
        self.extra = list(extra)
        self.nofile = nofile
        self.ipv6 = ipv6
        self.verbose = verbose
        self.env = env
        self.proc = None
        self.port = None
        self.stderr_path = None

    def argv(self, port):
        exe = os.environ.get("TFTPD")
        if not exe:
            raise unittest.SkipTest("TFTPD is not set (run through meson test)")
        argv = [exe, "-r", self.root, "-a", "127.0.0.1:%d" % port]
        if self.ipv6:
            argv += ["-a", "[::1]:%d" % port]
        if self.verbose:
            argv.append("-v")
        return WRAPPER + argv + tftptest.as_root_permissive(self.extra) + self.extra

    def start(self):
        fd, self.stderr_path = tempfile.mkstemp(prefix="tftpd-sec-", suffix=".log")
        os.close(fd)
        env = dict(os.environ)
        # A small ASan quarantine keeps memory measurements meaningful.
        asan = env.get("ASAN_OPTIONS", "")
        env["ASAN_OPTIONS"] = (asan + ":" if asan else "") + "quarantine_size_mb=16"
        if self.env:
            env.update(self.env)
        nofile = self.nofile

        def limits():
            if nofile is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
        for attempt in range(5):
            port = free_udp_port()
            self.errf = open(self.stderr_path, "wb")
            self.proc = subprocess.Popen(self.argv(port), stdin=subprocess.DEVNULL,
                                         stdout=self.errf, stderr=self.errf,
                                         env=env, preexec_fn=limits)
            end = time.monotonic() + scaled(10)
            while time.monotonic() < end:
                if self.proc.poll() is not None:
                    break
                # Bound, and (with -v) past its "serving" line, which it logs
                # once its SIGTERM handler is in place: a SIGTERM before that
                # would kill it by the default action (seen under valgrind).
                if (port in _udp_ports_bound() and self._owns_port(port)
                        and (not self.verbose or "serving " in self.log_text())):
                    self.port = port
                    return self
                time.sleep(0.02)
            self.errf.close()
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(10)
            text = self.log_text()
            if "in use" not in text:
                raise AssertionError("tftpd did not start (%s):\n%s"
                                     % (self.proc.returncode, text[-3000:]))
        raise AssertionError("tftpd: no free port after 5 attempts")

    def _owns_port(self, port):
        """Whether one of the process's sockets is bound to port."""
        inodes = set()
        try:
            for fd in os.listdir("/proc/%d/fd" % self.proc.pid):
                try:
                    t = os.readlink("/proc/%d/fd/%s" % (self.proc.pid, fd))
                except OSError:
                    continue
                m = re.match(r"socket:\[(\d+)\]", t)
                if m:
                    inodes.add(m.group(1))
        except OSError:
            return False
        for f in ("/proc/net/udp", "/proc/net/udp6"):
            try:
                with open(f) as fh:
                    next(fh)
                    for line in fh:
                        cols = line.split()
                        if int(cols[1].rsplit(":", 1)[1], 16) == port and cols[9] in inodes:
                            return True
            except OSError:
                pass
        return False

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_text(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def fd_count(self):
        return len(os.listdir("/proc/%d/fd" % self.proc.pid))

    def sockets(self):
        """The server's sockets: its listening ones and one a transfer."""
        d = "/proc/%d/fd" % self.proc.pid
        n = 0
        for fd in os.listdir(d):
            try:
                n += os.readlink(os.path.join(d, fd)).startswith("socket:")
            except OSError:
                pass  # closed meanwhile
        return n

    def wait_idle(self, listeners=1, timeout=10):
        """Until no transfer is left (only the listening sockets)."""
        wait_for(lambda: self.sockets() <= listeners, timeout,
                 "every transfer to end")

    def rss_kb(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def stop(self, expect_ok=True):
        """SIGTERM; the server must exit 0 (valgrind: no leak, no error) with
        no sanitizer report. Returns the log."""
        if self.proc is None:
            return ""
        rc = self.proc.poll()
        if rc is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(scaled(15))
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
                rc = "hung after SIGTERM"
        self.errf.close()
        text = self.log_text()
        os.unlink(self.stderr_path)
        self.proc = None
        if expect_ok:
            bad = [m for m in SANITIZER_MARKS if m in text]
            if rc != 0 or bad:
                raise AssertionError("tftpd exited %s %s; log tail:\n%s"
                                     % (rc, bad, text[-6000:]))
        return text

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, *rest):
        self.stop(expect_ok=exc_type is None)


class ServerCase(unittest.TestCase):
    """A test case with a temp tree: base/root (served), base/root-private
    (the sibling directory) and base/secret.txt, each holding a secret
    token that must never come back from the server."""

    server_args = ()
    SECRET = b"TOP-SECRET-" + os.urandom(8).hex().encode() + b"\n"

    def setUp(self):
        self.base = tempfile.mkdtemp(prefix="tftpsec-")
        self.root = os.path.join(self.base, "root")
        self.private = self.root + "-private"
        os.mkdir(self.root)
        os.mkdir(self.private)
        for p in (os.path.join(self.base, "secret.txt"),
                  os.path.join(self.private, "secret.txt")):
            with open(p, "wb") as f:
                f.write(self.SECRET)
        self.pub = bytes((i * 7 + 3) & 0xFF for i in range(3000))
        with open(os.path.join(self.root, "pub.bin"), "wb") as f:
            f.write(self.pub)
        self.server = None

    def tearDown(self):
        try:
            if self.server is not None:
                # Exit 0 on SIGTERM, no sanitizer or valgrind report.
                self.server.stop(expect_ok=True)
        finally:
            shutil.rmtree(self.base, ignore_errors=True)

    def start_server(self, *extra, **kw):
        self.server = Server(self.root, list(self.server_args) + list(extra), **kw).start()
        return self.server

    def assert_serving(self, msg=""):
        """The server is alive and a good transfer works."""
        self.assertTrue(self.server.alive(), "tftpd died %s\n%s"
                        % (msg, self.server.log_text()[-3000:]))
        with Client() as c:
            got, _ = c.get(self.server.port, "pub.bin")
        self.assertEqual(got, self.pub, "good transfer after %s" % msg)

    def assert_no_secret(self, packets, what):
        for p in packets:
            self.assertNotIn(self.SECRET.strip(), p.raw, "%s leaked the secret" % what)

