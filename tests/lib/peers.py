"""The real peers the interop and fault suites run against.

Servers run in the foreground on 127.0.0.1 and a free port with a root of
their own; the clients are the Debian binaries. A missing peer FAILS the
test (AssertionError): CI installs them all (.ci/run), and a skipped
interop test would prove nothing.

    with InTftpd(create=True) as srv:          # tftp-hpa in.tftpd
        srv.write("a.bin", data); ... srv.port ...
    with Atftpd() as srv: ...                  # atftpd, unpacked into .peers

Where the binaries are:
  in.tftpd  /usr/sbin/in.tftpd (package tftpd-hpa)
  atftpd    $TFTP_PEERS_DIR/usr/sbin/atftpd, TFTP_PEERS_DIR defaulting to
            .peers at the top of the tree (tests/interop/get-peers.sh puts
            it there; the atftpd package conflicts with tftpd-hpa)
  clients   tftp (tftp-hpa), atftp, curl, busybox on PATH
"""
import os
import shutil
import signal
import subprocess
import tempfile
import time

from tftptest import ERROR, Endpoint, free_udp_port, pack_rrq, scaled

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
    return need(os.path.join(peers_dir(), "usr", "sbin", "atftpd"), "atftpd",
                "run tests/interop/get-peers.sh (as .ci/run does)")


def client_path(name):
    """tftp (tftp-hpa), atftp, curl or busybox."""
    pkg = {"tftp": "tftp-hpa"}.get(name, name)
    return need(shutil.which(name), name, "apt-get install " + pkg)


class PeerServer:
    """A foreign TFTP server process on 127.0.0.1:port with a temp root."""

    name = "peer"
    PROBE = "peers-probe-no-such-file"

    def __init__(self, root=None, host="127.0.0.1"):
        self.own_root = root is None
        self.root = root or tempfile.mkdtemp(prefix="peer-root-")
        os.chmod(self.root, 0o777)  # servers that drop to nobody can write
        self.host = host
        self.proc = None
        self.port = None
        self._log = None

    def argv(self, port):
        raise NotImplementedError

    def path(self, name):
        return os.path.join(self.root, name)

    def write(self, name, data):
        p = self.path(name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
        os.chmod(p, 0o666)
        return p

    def read(self, name):
        with open(self.path(name), "rb") as f:
            return f.read()

    def _answers(self, deadline):
        with Endpoint(self.host) as e:
            while time.monotonic() < deadline and self.proc.poll() is None:
                e.send(pack_rrq(self.PROBE), self.port)
                p = e.recv(0.2)
                if p is not None and p.op == ERROR:
                    return True
        return False

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

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

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

    def cleanup(self):
        self.stop()
        if self._log is not None:
            self._log.close()
            self._log = None
        if self.own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.cleanup()
            raise

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
