"""Shared helpers of the Python test suites: raw TFTP packets, the real
tftpd on loopback, and a small pure-Python TFTP client.

Environment (set by meson's integration_env):
  TFTPD              the server binary
  TFTP               the client binary
  TFTPD_WRAPPER      a command put in front of tftpd (e.g. valgrind ...)
  TFTP_TEST_TIME_SCALE
                     multiply every wait (default 1, or 10 under valgrind)

Rules the helpers keep: only 127.0.0.1 and ::1 are used, ports are chosen
by the kernel (port 0), and every wait is bounded.
"""
import os
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
import unittest

RRQ, WRQ, DATA, ACK, ERROR, OACK = 1, 2, 3, 4, 5, 6
OPNAMES = {RRQ: "RRQ", WRQ: "WRQ", DATA: "DATA", ACK: "ACK", ERROR: "ERROR",
           OACK: "OACK"}

WRAPPER = shlex.split(os.environ.get("TFTPD_WRAPPER", ""))
# Options every TftpdServer gets, e.g. TFTPD_EXTRA_ARGS=--single-port to
# run a suite against that mode.
EXTRA_ARGS = shlex.split(os.environ.get("TFTPD_EXTRA_ARGS", ""))
UNDER_VALGRIND = any("valgrind" in os.path.basename(w) for w in WRAPPER)
SCALE = float(os.environ.get("TFTP_TEST_TIME_SCALE",
                             "10" if UNDER_VALGRIND else "1"))

# Reports that fail a test when they show up in the server's output.
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:",
                   "UndefinedBehaviorSanitizer", "Invalid read", "Invalid write",
                   "definitely lost in", "Conditional jump")


def scaled(seconds):
    return seconds * SCALE


# ---- packets ----------------------------------------------------------------

def _b(s):
    return s.encode("latin-1") if isinstance(s, str) else bytes(s)


def _opts_items(opts):
    if opts is None:
        return []
    if isinstance(opts, dict):
        return list(opts.items())
    return list(opts)


def pack_request(op, name, mode="octet", opts=None):
    """RRQ/WRQ; opts is a dict or a list of (name, value) pairs."""
    b = struct.pack(">H", op) + _b(name) + b"\0" + _b(mode) + b"\0"
    for k, v in _opts_items(opts):
        b += _b(k) + b"\0" + _b(str(v) if isinstance(v, int) else v) + b"\0"
    return b


def pack_rrq(name, mode="octet", opts=None):
    return pack_request(RRQ, name, mode, opts)


def pack_wrq(name, mode="octet", opts=None):
    return pack_request(WRQ, name, mode, opts)


def pack_data(block, payload):
    return struct.pack(">HH", DATA, block & 0xFFFF) + bytes(payload)


def pack_ack(block):
    return struct.pack(">HH", ACK, block & 0xFFFF)


def pack_error(code, msg=""):
    return struct.pack(">HH", ERROR, code) + _b(msg) + b"\0"


def pack_oack(opts):
    b = struct.pack(">H", OACK)
    for k, v in _opts_items(opts):
        b += _b(k) + b"\0" + _b(str(v)) + b"\0"
    return b


class Packet:
    """A datagram parsed strictly: anything malformed raises AssertionError
    (the server must only ever send well-formed packets)."""

    def __init__(self, raw, addr=None):
        self.raw, self.addr = bytes(raw), addr
        if len(raw) < 2:
            raise AssertionError("runt datagram %r" % (raw,))
        self.op = struct.unpack(">H", raw[:2])[0]
        self.block = self.code = None
        self.payload = b""
        self.msg = ""
        self.opts = []
        self.filename = self.mode = None
        if self.op in (DATA, ACK):
            if len(raw) < 4:
                raise AssertionError("runt %s %r" % (OPNAMES[self.op], raw))
            self.block = struct.unpack(">H", raw[2:4])[0]
            self.payload = raw[4:]
            if self.op == ACK and len(raw) != 4:
                raise AssertionError("ACK of %d bytes" % len(raw))
        elif self.op == ERROR:
            if len(raw) < 5:
                raise AssertionError("runt ERROR %r" % (raw,))
            self.code = struct.unpack(">H", raw[2:4])[0]
            if not raw.endswith(b"\0") or b"\0" in raw[4:-1]:
                raise AssertionError("ERROR message not NUL-terminated: %r" % (raw,))
            self.msg = raw[4:-1].decode("latin-1")
        elif self.op in (OACK, RRQ, WRQ):
            parts = raw[2:].split(b"\0")
            if parts[-1] != b"" or len(parts) % 2 != 1:
                raise AssertionError("malformed %s %r" % (OPNAMES[self.op], raw))
            parts = [p.decode("latin-1") for p in parts[:-1]]
            if self.op != OACK:
                if len(parts) < 2:
                    raise AssertionError("request without mode %r" % (raw,))
                self.filename, self.mode = parts[0], parts[1]
                parts = parts[2:]
            self.opts = [(parts[i], parts[i + 1]) for i in range(0, len(parts), 2)]
        else:
            raise AssertionError("opcode %d: %r" % (self.op, raw[:32]))

    @property
    def port(self):
        return self.addr[1] if self.addr else None

    def optdict(self):
        return {k.lower(): v for k, v in self.opts}

    def __eq__(self, other):
        return isinstance(other, Packet) and self.raw == other.raw

    def __repr__(self):
        if self.op == DATA:
            return "DATA %d (%d bytes)" % (self.block, len(self.payload))
        if self.op == ACK:
            return "ACK %d" % self.block
        if self.op == ERROR:
            return "ERROR %d %r" % (self.code, self.msg)
        if self.op == OACK:
            return "OACK %r" % (self.opts,)
        return "%s %r %r %r" % (OPNAMES[self.op], self.filename, self.mode, self.opts)


def parse(raw, addr=None):
    return Packet(raw, addr)


class TftpError(AssertionError):
    """The server answered with ERROR code msg."""

    def __init__(self, code, msg):
        super().__init__("ERROR %d %r" % (code, msg))
        self.code, self.msg = code, msg


# ---- a UDP endpoint -----------------------------------------------------------

def process_loopback():
    """An IPv4 loopback address of this process's own (127.A.B.C from the
    pid; all of 127/8 is loopback). A socket bound there cannot be handed
    a port some other test process just closed, so it never receives the
    late datagrams (retransmissions, answers to probes) that another
    test's server still sends to that port on 127.0.0.1."""
    pid = os.getpid()
    return "127.%d.%d.%d" % (64 | ((pid >> 16) & 63), (pid >> 8) & 255, pid & 255)


class Endpoint:
    """One UDP socket on loopback: one client TID. It talks to host;
    bind: the local address, if not host (e.g. process_loopback())."""

    packet_class = Packet  # what recv() parses datagrams with

    def __init__(self, host="127.0.0.1", bind=None):
        self.host = host
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_DGRAM)
        # Room for a whole window of large blocks.
        for opt in (getattr(socket, "SO_RCVBUFFORCE", None), socket.SO_RCVBUF):
            if opt is None:
                continue
            try:
                self.sock.setsockopt(socket.SOL_SOCKET, opt, 8 << 20)
                break
            except OSError:
                pass
        self.sock.bind((bind or host, 0))

    @property
    def port(self):
        return self.sock.getsockname()[1]

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, raw, port):
        self.sock.sendto(raw, (self.host, port))

    def recv(self, timeout=2.0):
        """The next datagram as a Packet, or None after timeout seconds."""
        end = time.monotonic() + scaled(timeout)
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                raw, addr = self.sock.recvfrom(70000)
            except socket.timeout:
                return None
            except ConnectionRefusedError:
                continue  # an ICMP error for an earlier send
            return self.packet_class(raw, addr)

    def recv_all(self, quiet=0.5, limit=10.0):
        """Every datagram until none came for quiet seconds (at most limit)."""
        out = []
        end = time.monotonic() + scaled(limit)
        while time.monotonic() < end:
            p = self.recv(quiet)
            if p is None:
                break
            out.append(p)
        return out


def probe_server(host, port, proc, name, deadline, interval):
    """Send RRQs for a missing file until the server answers with an
    ERROR. Returns the Endpoint, still open: a slow starter answers every
    queued probe, and the late answers must land on this socket, not on
    one a test opens next (the kernel may give it the same port). The
    caller closes it when the server is stopped. None if no answer."""
    e = Endpoint(host)
    while time.monotonic() < deadline and proc.poll() is None:
        e.send(pack_rrq(name), port)
        p = e.recv(interval)
        if p is not None and p.op == ERROR:
            return e
    e.close()
    return None


# ---- the pure-Python client ---------------------------------------------------

class Result:
    def __init__(self):
        self.data = b""
        self.oack = None        # dict of the OACK, or None
        self.tid = None         # the server's transfer port
        self.packets = 0        # datagrams received from the server
        self.retransmits = 0    # our own timeouts


class Client(Endpoint):
    """A small but complete TFTP client: options, windows (RFC 7440),
    retransmission on timeout, block number wrap-around, netascii on the
    wire left as is (the caller compares wire bytes).

    timeout: seconds before repeating our last packet(s); retries: how many
    times in a row before giving up (AssertionError)."""

    def __init__(self, port, host="127.0.0.1", timeout=1.0, retries=5,
                 bind=None):
        super().__init__(host, bind=bind)
        self.server_port = port
        self.timeout = timeout
        self.retries = retries

    # How often the request itself is repeated (None: retries times).
    request_retries = None

    def on_stranger(self, p, res):
        """A packet from another port than the transfer's: RFC 1350 says
        answer ERROR 5 and go on."""
        self.send(pack_error(5, "Unknown transfer ID"), p.port)

    def _first_reply(self, req, res):
        tries = self.retries if self.request_retries is None \
            else self.request_retries
        for _ in range(tries + 1):
            self.send(req, self.server_port)
            p = self.recv(self.timeout)
            if p is not None:
                res.tid = p.port
                res.packets += 1
                if p.op == ERROR:
                    raise TftpError(p.code, p.msg)
                return p
            res.retransmits += 1
        raise AssertionError("no reply to the request")

    @staticmethod
    def _take_oack(p, opts, res):
        """Record the OACK p in res (it must hold only options we asked
        for); returns the (blksize, windowsize) it grants."""
        asked = {k.lower(): v for k, v in _opts_items(opts)}
        res.oack = p.optdict()
        for k in res.oack:
            if k not in asked:
                raise AssertionError("OACK has %r, not asked" % k)
        return int(res.oack.get("blksize", 512)), int(res.oack.get("windowsize", 1))

    def _recv_tid(self, res):
        """The next packet from the transfer's TID (a stranger's packet is
        answered with ERROR 5, as RFC 1350 says), or None on timeout."""
        end = time.monotonic() + scaled(self.timeout)
        while True:
            left = (end - time.monotonic()) / SCALE
            if left <= 0:
                return None
            p = self.recv(left)
            if p is None:
                return None
            if p.port != res.tid:
                self.on_stranger(p, res)
                continue
            res.packets += 1
            if p.op == ERROR:
                raise TftpError(p.code, p.msg)
            return p

    def get(self, name, mode="octet", opts=None, max_bytes=1 << 36):
        """Download; returns a Result (data as sent on the wire)."""
        res = Result()
        blksize, window = 512, 1
        p = self._first_reply(pack_rrq(name, mode, opts), res)
        got = bytearray()
        expected = 1
        last_sent = None
        if p.op == OACK:
            blksize, window = self._take_oack(p, opts, res)
            last_sent = pack_ack(0)
            self.send(last_sent, res.tid)
            p = None
        misses = 0
        gap_acked = False
        while True:
            if p is None:
                p = self._recv_tid(res)
            if p is None:
                misses += 1
                res.retransmits += 1
                if misses > self.retries:
                    raise AssertionError("get %r: timed out at block %d" % (name, expected))
                # Our ACK (or ACK of the OACK) may have been lost.
                self.send(last_sent if last_sent else pack_ack(expected - 1), res.tid)
                continue
            misses = 0
            if p.op == OACK and expected == 1 and res.oack is not None:
                self.send(pack_ack(0), res.tid)  # our ACK 0 was lost
                p = None
                continue
            if p.op != DATA:
                raise AssertionError("get %r: unexpected %r" % (name, p))
            if p.block != expected & 0xFFFF:
                # A gap or a repeat: ACK what we have, once per gap, so the
                # sender goes back there (RFC 7440).
                if not gap_acked:
                    gap_acked = True
                    last_sent = pack_ack(expected - 1)
                    self.send(last_sent, res.tid)
                p = None
                continue
            gap_acked = False
            if len(p.payload) > blksize:
                raise AssertionError("DATA %d of %d bytes > blksize %d"
                                     % (expected, len(p.payload), blksize))
            got += p.payload
            if len(got) > max_bytes:
                raise AssertionError("more than %d bytes" % max_bytes)
            final = len(p.payload) < blksize
            if final or expected % window == 0:
                last_sent = pack_ack(expected)
                self.send(last_sent, res.tid)
            if final:
                res.data = bytes(got)
                return res
            expected += 1
            p = None

    def put(self, name, content, mode="octet", opts=None):
        """Upload content; returns a Result (oack, tid)."""
        res = Result()
        content = bytes(content)
        blksize, window = 512, 1
        p = self._first_reply(pack_wrq(name, mode, opts), res)
        if p.op == OACK:
            blksize, window = self._take_oack(p, opts, res)
        elif not (p.op == ACK and p.block == 0):
            raise AssertionError("WRQ answered with %r" % p)
        nblocks = len(content) // blksize + 1  # the last one is short
        base = 1                               # first block not acknowledged
        misses = 0
        while base <= nblocks:
            for b in range(base, min(base + window, nblocks + 1)):
                off = (b - 1) * blksize
                self.send(pack_data(b, content[off:off + blksize]), res.tid)
            # Wait for an ACK that moves base.
            while True:
                r = self._recv_tid(res)
                if r is None:
                    misses += 1
                    res.retransmits += 1
                    if misses > self.retries:
                        raise AssertionError("put %r: block %d never ACKed" % (name, base))
                    break  # resend the window
                if r.op != ACK:
                    continue
                # Map the 16-bit number into the window in flight.
                n = (base - 1) + ((r.block - (base - 1)) & 0xFFFF)
                if n < base or n > min(base + window - 1, nblocks):
                    continue  # a stale or duplicate ACK
                misses = 0
                base = n + 1
                break
        return res


# ---- the server -----------------------------------------------------------------

def free_tcp_port(host="127.0.0.1"):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def free_udp_port(host="127.0.0.1"):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def fd_targets(pid):
    """What each of a process's descriptors refers to (readlink)."""
    d = "/proc/%d/fd" % pid
    out = []
    for n in os.listdir(d):
        try:
            out.append(os.readlink(os.path.join(d, n)))
        except OSError:
            pass  # closed meanwhile
    return out


def owns_udp_port(pid, port):
    """Whether one of the process's sockets is bound to UDP port."""
    try:
        inodes = {t[8:-1] for t in fd_targets(pid) if t.startswith("socket:[")}
    except OSError:
        return False
    for f in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            with open(f) as fh:
                next(fh)
                for line in fh:
                    cols = line.split()
                    if int(cols[1].rsplit(":", 1)[1], 16) == port and \
                            cols[9] in inodes:
                        return True
        except OSError:
            pass
    return False


def have_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def tftpd_path():
    exe = os.environ.get("TFTPD")
    if not exe:
        raise unittest.SkipTest("TFTPD is not set (run through meson test)")
    return exe


class ServerRoot:
    """What a server process with a root directory (self.root, self.proc,
    start() and cleanup()) offers: its files, whether it runs, and a with
    block. file_mode: the mode write() gives a file (None: umask's)."""

    file_mode = None

    def path(self, name):
        return os.path.join(self.root, name)

    def write(self, name, data):
        p = self.path(name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
        if self.file_mode is not None:
            os.chmod(p, self.file_mode)
        return p

    def read(self, name):
        with open(self.path(name), "rb") as f:
            return f.read()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.cleanup()
            raise


class TftpdServer(ServerRoot):
    """The real tftpd on 127.0.0.1 (or ::1) with a port of its own and a
    temporary root (or the given one).

        with TftpdServer("-w") as srv:
            srv.write("a.bin", b"...")
            Client(srv.port).get("a.bin")

    start() waits until the server answers (a probe RRQ of a missing file
    gets ERROR 1); stop() sends SIGTERM and asserts exit status 0 and no
    sanitizer report, returning the server's log."""

    PROBE = "tftptest-probe-no-such-file"

    def __init__(self, *args, root=None, host="127.0.0.1", env=None,
                 verbose=True, probe=True, plain=False):
        self.args = list(args)
        self.plain = plain
        self.own_root = root is None
        self.root = root
        self.host = host
        self.env = env
        self.verbose = verbose
        self.probe = probe
        self.proc = None
        self.port = None
        self._logf = None
        self._logpath = None
        self._probe_ep = None

    def temp_files(self):
        """Leftover temporary upload files anywhere under the root."""
        out = []
        for d, _, files in os.walk(self.root):
            out += [os.path.join(d, f) for f in files if f.startswith(".tftpd-")]
        return out

    def client(self, **kw):
        return Client(self.port, host=self.host, **kw)

    def argv(self, port):
        hostport = "[%s]:%d" % (self.host, port) if ":" in self.host else \
            "%s:%d" % (self.host, port)
        argv = [tftpd_path(), "-r", self.root, "-a", hostport]
        if self.verbose:
            argv.append("-v")
        return WRAPPER + argv + self.privileges() + EXTRA_ARGS + self.args

    def privileges(self):
        return [] if self.plain else as_root_permissive(self.args)

    def _probe(self, deadline):
        self._probe_ep = probe_server(self.host, self.port, self.proc,
                                      self.PROBE, deadline, 0.1)
        return self._probe_ep is not None

    def start(self):
        if self.root is None:
            self.root = tempfile.mkdtemp(prefix="tftpd-root-")
        for _ in range(5):
            self.port = free_udp_port(self.host)
            fd, self._logpath = tempfile.mkstemp(prefix="tftpd-", suffix=".log")
            os.close(fd)
            self._logf = open(self._logpath, "wb")
            env = dict(os.environ)
            if self.env:
                env.update(self.env)
            self.proc = subprocess.Popen(self.argv(self.port), stdin=subprocess.DEVNULL,
                                         stdout=self._logf, stderr=self._logf, env=env,
                                         preexec_fn=self.preexec)
            deadline = time.monotonic() + scaled(10)
            if self.probe:
                ok = self._probe(deadline)
            else:
                ok = self._wait_bound(deadline)
            if ok:
                return self
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait(scaled(10))
            self._logf.close()
            text = self.log()
            os.unlink(self._logpath)
            self.proc = None
            if "in use" not in text:
                raise AssertionError("tftpd did not start:\n" + text[-3000:])
        raise AssertionError("tftpd: no free port after 5 attempts")

    # No resource limits by default; a subclass may set some in the child.
    preexec = None

    def _wait_bound(self, deadline):
        """Without a probe (it would show in the logs): wait until the
        server's own socket holds the port and, with -v, it has logged its
        "serving" line, which comes once its SIGTERM handler is in place (a
        SIGTERM before that would kill it by the default action, as seen
        under valgrind)."""
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            if (owns_udp_port(self.proc.pid, self.port)
                    and (not self.verbose or "serving " in self.log())):
                return True
            time.sleep(0.02)  # polling the process's state
        return False

    # -- what the server holds (from /proc)
    def fd_count(self):
        return len(os.listdir("/proc/%d/fd" % self.proc.pid))

    def sockets(self):
        """The server's sockets: its listening ones and one a transfer."""
        return sum(t.startswith("socket:") for t in fd_targets(self.proc.pid))

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

    def log(self):
        try:
            with open(self._logpath, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except (OSError, TypeError):
            return ""

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout=15):
        """Wait for the process to exit; returns its status."""
        return self.proc.wait(scaled(timeout))

    def stop(self, expect_rc=0, sig=signal.SIGTERM, timeout=15):
        """Signal the server and wait; assert the exit status (None: any)
        and a clean log. Returns the log."""
        if self.proc is None:
            return ""
        rc = self.proc.poll()
        if rc is None:
            self.proc.send_signal(sig)
            try:
                rc = self.proc.wait(scaled(timeout))
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(scaled(10))
                rc = "hung after signal %d" % sig
        self._close_probe()
        self._logf.close()
        text = self.log()
        os.unlink(self._logpath)
        self.proc = None
        bad = [m for m in SANITIZER_MARKS if m in text]
        if expect_rc is not None and (rc != expect_rc or bad):
            raise AssertionError("tftpd exited %s (expected %s) %s; log tail:\n%s"
                                 % (rc, expect_rc, bad, text[-4000:]))
        return text

    def stop_and_cleanup(self):
        """stop() (exit 0, clean log asserted), then remove our root."""
        try:
            self.stop()
        finally:
            self.cleanup()

    def _close_probe(self):
        if self._probe_ep is not None:
            self._probe_ep.close()
            self._probe_ep = None

    def cleanup(self):
        self._close_probe()
        if self.own_root and self.root:
            shutil.rmtree(self.root, ignore_errors=True)

    def __exit__(self, exc_type, *rest):
        try:
            self.stop(expect_rc=0 if exc_type is None else None)
        finally:
            self.cleanup()


def wait_for(pred, timeout, what):
    """Poll pred() until true; AssertionError after timeout (scaled) s."""
    end = time.monotonic() + scaled(timeout)
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def as_root_permissive(args):
    """The flags that keep a test's tftpd as it was before it dropped to
    nobody by default and served only world-readable files: "-u root
    --permissive", unless the test chose a user or -p itself. Tests of
    the real defaults pass plain=True."""
    args = list(args)
    out = []
    if not any(a in ("-u", "--user") or a.startswith("--user=") for a in args):
        out += ["-u", "root"]
    if not any(a in ("-p", "--permissive") for a in args):
        out += ["--permissive"]
    return out


def run_tftpd(*args, timeout=10):
    """Run tftpd to completion (for --help, bad usage); returns
    CompletedProcess with text stdout/stderr."""
    return subprocess.run([tftpd_path()] + list(args), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=scaled(timeout))


class Inotify:
    """Watch paths for events (open, create, ...) with inotify, to prove
    that something was not touched rather than only not returned."""
    ACCESS, MODIFY, OPEN = 0x1, 0x2, 0x20
    MOVED_TO, CREATE, DELETE = 0x80, 0x100, 0x200

    def __init__(self):
        import ctypes
        self._libc = ctypes.CDLL(None, use_errno=True)
        self._ctypes = ctypes
        self.fd = self._libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        self.names = {}

    def add(self, path, mask):
        wd = self._libc.inotify_add_watch(self.fd, os.fsencode(path), mask)
        if wd < 0:
            raise OSError(self._ctypes.get_errno(), "inotify_add_watch %s" % path)
        self.names[wd] = path

    def events(self):
        """[(watched path, entry name, mask)] since the last call."""
        out = []
        while True:
            try:
                buf = os.read(self.fd, 65536)
            except BlockingIOError:
                return out
            i = 0
            while i < len(buf):
                wd, mask, _, n = struct.unpack_from("iIII", buf, i)
                name = buf[i + 16:i + 16 + n].rstrip(b"\0").decode(errors="replace")
                out.append((self.names.get(wd, "?"), name, mask))
                i += 16 + n

    def close(self):
        os.close(self.fd)


def pattern(n, seed=0):
    """n deterministic pseudo-random bytes (a misplaced block shows)."""
    import random
    return random.Random(seed).randbytes(n)


def main():
    unittest.main(verbosity=2)
