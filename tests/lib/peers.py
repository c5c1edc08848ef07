"""The real peers the interop and fault suites run against.

Servers run in the foreground on 127.0.0.1 and a free port with a root of
their own; the clients are the Debian binaries. A missing peer FAILS the
test (AssertionError): CI installs them all (.ci/run), and a skipped
interop test would prove nothing.

    with InTftpd(create=True) as srv:          # tftp-hpa in.tftpd
        srv.write("a.bin", data); ... srv.port ...
    with Atftpd() as srv: ...                  # atftpd, unpacked into .peers
    enter_own_netns(); with Dnsmasq() as srv:  # dnsmasq, port 69: see below

Where the binaries are:
  in.tftpd  /usr/sbin/in.tftpd (package tftpd-hpa)
  atftpd    $TFTP_PEERS_DIR/usr/sbin/atftpd, TFTP_PEERS_DIR defaulting to
            .peers at the top of the tree (tests/interop/get-peers.sh puts
            it there; the atftpd package conflicts with tftpd-hpa)
  dnsmasq   /usr/sbin/dnsmasq (package dnsmasq-base: the binary, no service)
  clients   tftp (tftp-hpa), atftp, curl, busybox on PATH

dnsmasq's TFTP server has no option for its port: it listens on 69. A test
that runs it first calls enter_own_netns(), which re-runs the test program
under `unshare --net` (root only; not being root FAILS, CI runs as root):
the server and our client then share a loopback no one else sees.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from tftptest import ServerRoot, free_udp_port, probe_server, scaled

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def peers_dir():
    return os.environ.get("TFTP_PEERS_DIR") or os.path.join(TOP, ".peers")


def need(path, what, how):
    if not (path and os.path.isfile(path) and os.access(path, os.X_OK)):
        raise AssertionError("%s not found at %r: %s" % (what, path, how))
    return path


def in_tftpd_path():
    return need("/usr/sbin/in.tftpd", "tftp-hpa server",
                "apt-get install tftpd-hpa (as .ci/run does)")


def atftpd_path():
    """atftpd, unpacked by tests/interop/get-peers.sh; fetched here on first
    use if it is not there yet (a newcomer's plain `meson test`), under a
    lock so that parallel tests fetch it once."""
    path = os.path.join(peers_dir(), "usr", "sbin", "atftpd")
    if not os.access(path, os.X_OK):
        import fcntl
        os.makedirs(peers_dir(), exist_ok=True)
        with open(os.path.join(peers_dir(), ".fetch.lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not os.access(path, os.X_OK):
                script = os.path.join(TOP, "tests", "interop", "get-peers.sh")
                subprocess.run(["bash", script, peers_dir()], stdin=subprocess.DEVNULL,
                               capture_output=True, timeout=scaled(300))
    return need(path, "atftpd",
                "tests/interop/get-peers.sh could not fetch it (it needs the "
                "Debian mirrors: apt-get download atftpd)")


def dnsmasq_path():
    return need("/usr/sbin/dnsmasq", "dnsmasq",
                "apt-get install dnsmasq-base (as .ci/run does)")


def client_path(name):
    """tftp (tftp-hpa), atftp, curl or busybox."""
    pkg = {"tftp": "tftp-hpa"}.get(name, name)
    return need(shutil.which(name), name, "apt-get install " + pkg)


class PeerServer(ServerRoot):
    """A foreign TFTP server process on 127.0.0.1:port with a temp root."""

    name = "peer"
    file_mode = 0o666  # servers that drop to nobody can read (and overwrite)
    PROBE = "peers-probe-no-such-file"

    def __init__(self, root=None, host="127.0.0.1"):
        self.own_root = root is None
        self.root = root or tempfile.mkdtemp(prefix="peer-root-")
        os.chmod(self.root, 0o777)  # servers that drop to nobody can write
        self.host = host
        self.proc = None
        self.port = None
        self._log = None
        self._probe_ep = None

    def argv(self, port):
        raise NotImplementedError

    def _answers(self, deadline):
        self._probe_ep = probe_server(self.host, self.port, self.proc,
                                      self.PROBE, deadline, 0.2)
        return self._probe_ep is not None

    def start(self):
        for _ in range(5):
            self.port = free_udp_port(self.host)
            self._log = tempfile.TemporaryFile()
            self.proc = subprocess.Popen(self.argv(self.port), stdin=subprocess.DEVNULL,
                                         stdout=self._log, stderr=self._log)
            if self._answers(time.monotonic() + scaled(10)):
                return self
            self.stop()
        raise AssertionError("%s did not start:\n%s" % (self.name, self.log()))

    def log(self):
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")

    def stop(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(scaled(5))
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(scaled(5))
            self.proc = None
        if self._probe_ep is not None:
            self._probe_ep.close()
            self._probe_ep = None

    def cleanup(self):
        self.stop()
        if self._log is not None:
            self._log.close()
            self._log = None
        if self.own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def __exit__(self, *exc):
        self.cleanup()


class InTftpd(PeerServer):
    """tftp-hpa's in.tftpd in the foreground (-L). create: accept WRQ for
    new files (-c). It supports blksize (max 65464), tsize, timeout,
    utimeout; not windowsize."""

    name = "in.tftpd"

    def __init__(self, root=None, create=False, extra=()):
        super().__init__(root)
        self.create = create
        self.extra = list(extra)

    def argv(self, port):
        a = [in_tftpd_path(), "-L", "-a", "%s:%d" % (self.host, port),
             "-u", "root", "-p", "-v", "-s", self.root]
        if self.create:
            a.append("-c")
        return a + self.extra


class Atftpd(PeerServer):
    """atftpd in the foreground (--daemon --no-fork). It supports blksize,
    tsize, timeout, windowsize; it accepts WRQ into a writable root."""

    name = "atftpd"

    def __init__(self, root=None, extra=()):
        super().__init__(root)
        self.extra = list(extra)

    def argv(self, port):
        return [atftpd_path(), "--daemon", "--no-fork", "--port", str(port),
                "--bind-address", self.host, "--user", "root", "--group", "root",
                "--logfile", "-", "--verbose=5"] + self.extra + [self.root]


# ---- a network namespace of our own (for servers bound to port 69) --------

NETNS_ENV = "TFTP_TEST_OWN_NETNS"


def in_own_netns():
    """Whether enter_own_netns() has moved this process out of the network
    namespace it started in (whose id it left in the environment; PID 1's
    may not be readable, even by root)."""
    started = os.environ.get(NETNS_ENV)
    try:
        return bool(started) and os.readlink("/proc/self/ns/net") != started
    except OSError:
        return False


def enter_own_netns(addrs=()):
    """Re-run this test program (sys.argv) in a new network namespace with
    `unshare --net`, then bring its loopback up and add addrs (e.g.
    "127.0.0.2/8") to it. Call it first thing in __main__. Not root, or
    no namespace to be had: exit 1 with the reason (a failure, not a skip:
    CI runs as root)."""
    if not os.environ.get(NETNS_ENV):
        why = None
        unshare = shutil.which("unshare") or "/usr/bin/unshare"
        if os.geteuid() != 0:
            why = "it must run as root (euid is %d)" % os.geteuid()
        elif not os.access(unshare, os.X_OK):
            why = "unshare(1) (util-linux) is not installed"
        else:
            p = subprocess.run([unshare, "--net", "true"], stdin=subprocess.DEVNULL,
                               capture_output=True, timeout=scaled(10))
            if p.returncode != 0:
                why = "`unshare --net true` failed (rc %d): %s" % (
                    p.returncode, p.stderr.decode("utf-8", "replace").strip())
        if why:
            sys.exit("FAIL: %s needs a network namespace of its own (the server "
                     "listens on port 69 only), but %s" % (os.path.basename(sys.argv[0]), why))
        os.environ[NETNS_ENV] = os.readlink("/proc/self/ns/net")
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(unshare, [unshare, "--net", "--", sys.executable] + sys.argv)
    if not in_own_netns():
        sys.exit("FAIL: %s is set but this process is still in the network "
                 "namespace it names" % NETNS_ENV)
    ip = need(shutil.which("ip") or "/usr/sbin/ip", "ip", "apt-get install iproute2")
    subprocess.run([ip, "link", "set", "lo", "up"], check=True, timeout=scaled(10))
    for a in addrs:
        subprocess.run([ip, "addr", "add", a, "dev", "lo"], check=True, timeout=scaled(10))


def run(*argv, ns=None, check=True, timeout=10):
    """Run a command (in the network namespace held by process ns, if
    given); CompletedProcess with text output."""
    if ns is not None:
        argv = ("nsenter", "-t", str(ns), "-n") + argv
    return subprocess.run(argv, capture_output=True, text=True, check=check,
                          timeout=scaled(timeout), stdin=subprocess.DEVNULL)


def new_netns():
    """A process holding a fresh network namespace (nsenter -t PID -n
    enters it); it is killed to free the namespace."""
    mine = os.readlink("/proc/self/ns/net")
    p = subprocess.Popen(["unshare", "--net", "sleep", "600"],
                         preexec_fn=_die_with_parent)
    end = time.monotonic() + scaled(5)
    while os.readlink("/proc/%d/ns/net" % p.pid) == mine:
        if time.monotonic() > end:
            p.kill()
            raise AssertionError("unshare made no namespace")
        time.sleep(0.02)
    return p


def _die_with_parent():
    """In the child before exec: SIGTERM when the test process dies (a
    test killed on timeout must not leave a server behind)."""
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG


class Dnsmasq(PeerServer):
    """dnsmasq's read-only TFTP server in the foreground, DNS off (--port=0),
    on host:69 -- only inside a network namespace of this process's own
    (enter_own_netns), never on the host's. It has blksize (capped at its
    packet buffer less 4: 2263 by default, 65464 with packet_max 65535),
    tsize (octet only) and the timeout option (ignored, not in the OACK);
    no windowsize; netascii; every WRQ gets ERROR 4.

    single_port: --tftp-single-port, the transfer's packets come from port
    69 too. That needs dnsmasq's wildcard socket (without --bind-interfaces
    its sends fail with ENETUNREACH on a loopback-only namespace), so no
    other dnsmasq may be running in the namespace then."""

    name = "dnsmasq"

    def __init__(self, root=None, host="127.0.0.1", packet_max=65535,
                 single_port=False, extra=()):
        super().__init__(root, host)
        self.packet_max = packet_max
        self.single_port = single_port
        self.extra = list(extra)

    def argv(self, port):
        a = [dnsmasq_path(), "--keep-in-foreground", "--port=0", "--conf-file=/dev/null",
             "--pid-file=", "--user=root", "--group=root", "--log-facility=-",
             "--listen-address=" + self.host, "--enable-tftp", "--tftp-root=" + self.root]
        a.append("--tftp-single-port" if self.single_port else "--bind-interfaces")
        if self.packet_max:
            # blksize is capped at the packet buffer, which follows this.
            a.append("--edns-packet-max=%d" % self.packet_max)
        return a + self.extra

    def start(self):
        if not in_own_netns():
            raise AssertionError("dnsmasq would listen on the host's port 69: "
                                 "call peers.enter_own_netns() first")
        self.port = 69
        self._log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(self.argv(self.port), stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=self._log,
                                     preexec_fn=_die_with_parent)
        if self._answers(time.monotonic() + scaled(10)):
            return self
        self.stop()
        raise AssertionError("dnsmasq did not start:\n%s" % self.log())
