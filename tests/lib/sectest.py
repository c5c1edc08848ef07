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
import resource
import shutil
import socket
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


# ---- packets ----------------------------------------------------------------
# The builders are tftptest's; here names given as str are UTF-8 (the
# suites send non-ASCII names as text), and an ERROR may lack its NUL.

def _utf8(s):
    return s.encode() if isinstance(s, str) else s


def request(op, name, mode="octet", opts=()):
    """RRQ/WRQ with options given as (name, value) pairs (str or bytes)."""
    return tftptest.pack_request(op, _utf8(name), _utf8(mode),
                                 [(_utf8(k), _utf8(v)) for k, v in opts])


def rrq(name, mode="octet", opts=()):
    return request(RRQ, name, mode, opts)


def wrq(name, mode="octet", opts=()):
    return request(WRQ, name, mode, opts)


ack = tftptest.pack_ack
data = tftptest.pack_data


def error(code, msg=b"", nul=True):
    e = tftptest.pack_error(code, _utf8(msg))
    return e if nul else e[:-1]


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


class Client(tftptest.Client):
    """One UDP socket (one client TID) on loopback: tftptest's client, for
    attacks: raw sends, replies parsed strictly, a reply from a second TID
    fails the test, get/put take the server's port each time and never
    repeat a request."""

    packet_class = Packet

    def __init__(self, family=socket.AF_INET, host="127.0.0.1"):
        # Requests come from this process's own loopback address: the
        # security tests open thousands of sockets one after another, and
        # one that got a port another test had just closed on 127.0.0.1
        # would take that test's late packets for the server's answer.
        tftptest.Endpoint.__init__(
            self, host, bind=process_loopback() if host == "127.0.0.1" else None)
        self.server_port = None
        self.timeout = 3.0
        self.retries = 0
        self.request_retries = 0
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

    def on_stranger(self, p, res):
        raise AssertionError("reply from a second TID %d (first %d)"
                             % (p.port, res.tid))

    @staticmethod
    def _text_opts(opts):
        """Options as tftptest takes them: names as text (the UTF-8 bytes
        read as Latin-1, so they go out as given), values as bytes."""
        return [(_utf8(k).decode("latin-1"), _utf8(v)) for k, v in opts]

    def get(self, port, name, mode="octet", opts=(), timeout=3.0, max_bytes=1 << 30):
        """A complete lockstep-or-windowed RRQ, the request sent once.
        Returns (bytes, oack_dict) or raises TftpError with the server's
        ERROR (AssertionError when it is silent)."""
        self.server_port, self.timeout, self.retries = port, timeout, 0
        res = tftptest.Client.get(self, _utf8(name), _utf8(mode),
                                  self._text_opts(opts) or None, max_bytes)
        return res.data, res.oack

    def put(self, port, name, content, mode="octet", opts=(), timeout=3.0):
        """A complete WRQ (windowed when the OACK grants a windowsize), the
        request sent once, a window at most 6 times more. Returns the OACK
        dict (or None); raises TftpError on the server's ERROR."""
        self.server_port, self.timeout, self.retries = port, timeout, 6
        res = tftptest.Client.put(self, _utf8(name), content, _utf8(mode),
                                  self._text_opts(opts) or None)
        return res.oack


# ---- the server -------------------------------------------------------------

class Server(tftptest.TftpdServer):
    """tftpd on 127.0.0.1:PORT (and [::1]:PORT with ipv6=True) serving the
    test's root: tftptest.TftpdServer without its start-up probe (these
    suites count the server's log lines and descriptors), with an optional
    RLIMIT_NOFILE and a small ASan quarantine (memory measurements stay
    meaningful)."""

    def __init__(self, root, extra=(), nofile=None, ipv6=False, verbose=True,
                 env=None):
        asan = os.environ.get("ASAN_OPTIONS", "")
        full_env = {"ASAN_OPTIONS": (asan + ":" if asan else "")
                    + "quarantine_size_mb=16"}
        full_env.update(env or {})
        super().__init__(*extra, root=root, env=full_env, verbose=verbose,
                         probe=False)
        self.nofile = nofile
        self.ipv6 = ipv6

    def argv(self, port):
        argv = super().argv(port)
        if self.ipv6:
            i = argv.index("-a") + 2
            argv[i:i] = ["-a", "[::1]:%d" % port]
        return argv

    def preexec(self):
        if self.nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE,
                               (self.nofile, self.nofile))

    def log_text(self):
        return self.log()

    def stop(self, expect_ok=True):
        """SIGTERM; the server must exit 0 (valgrind: no leak, no error) with
        no sanitizer report. Returns the log."""
        return super().stop(expect_rc=0 if expect_ok else None)

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

