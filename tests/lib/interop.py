"""Helpers of the interop suite: the data sets every peer is tested with,
netascii on the wire, running a peer (or our) client to completion, and
waiting for our server's per-transfer log line.

Environment (tests/interop/meson.build): TFTPD, TFTP (our binaries),
TFTP_PEERS_DIR (where tests/interop/get-peers.sh unpacked atftpd),
PYTHONPATH with tests/lib.
"""
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

from tftptest import TftpdServer, pattern, scaled

# Sizes every peer moves both ways: empty, one byte, exactly one block
# (so a final empty DATA follows), one block and a byte, 1 MiB.
SIZES = (0, 1, 512, 513, 1 << 20)

# 65537 full 512-byte blocks and a final empty one: the wire block number
# goes 65535 -> 0 -> 1 -> 2 (a 16-bit counter that wraps).
WRAP_SIZE = 65537 * 512  # 33,554,944 bytes


def text_data():
    """A text file that exercises netascii: LF line ends, CR LF, lone CRs,
    a CR at the very end, and line breaks that straddle 512-byte block
    boundaries once encoded."""
    lines = []
    for i in range(160):
        lines.append(b"line %d %s" % (i, b"x" * (i % 37)))
    body = b"\n".join(lines) + b"\n"
    return body + b"crlf\r\nlone\rcr\n\n\rend\r"


def netascii(data):
    """The netascii wire form of local bytes: CR -> CR NUL, LF -> CR LF."""
    return data.replace(b"\r", b"\r\0").replace(b"\n", b"\r\n")


def data_for(size, seed=0):
    return pattern(size, seed)


def need_env(name):
    v = os.environ.get(name)
    if not v:
        raise AssertionError("%s is not set: run through meson test --suite interop" % name)
    return v


def our_tftp():
    return need_env("TFTP")


def run(argv, timeout=60, cwd=None, stdin=None):
    """Run a client to completion; stdout/stderr as text. A hang is a
    failure (TimeoutExpired propagates)."""
    p = subprocess.run([str(a) for a in argv], cwd=cwd,
                       input=stdin,
                       stdin=None if stdin is not None else subprocess.DEVNULL,
                       capture_output=True, timeout=scaled(timeout))
    p.out = (p.stdout.decode("utf-8", "replace") if isinstance(p.stdout, bytes)
             else p.stdout) + (p.stderr.decode("utf-8", "replace")
                               if isinstance(p.stderr, bytes) else p.stderr)
    return p


def run_ours(*args, timeout=60, cwd=None):
    return run([our_tftp()] + list(args), timeout=timeout, cwd=cwd)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)
    return path


def log_mark(srv):
    """Where our server's log ends now (for transfer_line's since)."""
    return len(srv.log())


def transfer_line(srv, op, name, since=0, timeout=5.0):
    """Our server's log line of a transfer of name that ended after the log
    mark since (-v logs one per transfer: '... RRQ name octet: N bytes ...,
    blksize B, window W, ...'). An upload's line may come after the client
    has exited (the server dallies), hence the bounded wait."""
    rx = re.compile(r"%s %s(?: (\S+))?: (.*)$" % (op, re.escape(name)), re.M)
    end = time.monotonic() + scaled(timeout)
    while True:
        m = rx.search(srv.log()[since:])
        if m or time.monotonic() > end:
            break
        time.sleep(0.02)
    if not m:
        raise AssertionError("no log line for %s %s:\n%s" % (op, name, srv.log()[-2000:]))
    return m.group(0)


def negotiated(line):
    """(blksize, window) from a transfer log line."""
    m = re.search(r"blksize (\d+), window (\d+)", line)
    if not m:
        raise AssertionError("no blksize/window in %r" % line)
    return int(m.group(1)), int(m.group(2))


class WorkdirCase(unittest.TestCase):
    """A test case with a private scratch directory for local files."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="interop-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def local(self, name):
        return os.path.join(self.dir, name)

    def assertSameBytes(self, got, want, what):
        if got != want:
            n = next((i for i in range(min(len(got), len(want))) if got[i] != want[i]),
                     min(len(got), len(want)))
            self.fail("%s: %d bytes, expected %d; first difference at offset %d"
                      % (what, len(got), len(want), n))

    def assertNoFile(self, path, what=""):
        self.assertFalse(os.path.lexists(path), "%s exists %s" % (path, what))


class OurServerCase(WorkdirCase):
    """Our tftpd (one per class, uploads and overwrite allowed) against a
    peer client. A subclass implements get() and put() for its client and
    returns the finished process; ok(p) says whether the client reported
    success (exit status, and for clients whose status lies, their output).
    """

    server_args = ("-w", "--overwrite")
    client = "peer"

    @classmethod
    def setUpClass(cls):
        cls.srv = TftpdServer(*cls.server_args)
        cls.srv.__enter__()
        for size in SIZES:
            cls.srv.write("s%d.bin" % size, data_for(size, seed=size))
        cls.srv.write("text.txt", text_data())
        cls.srv.write("empty.txt", b"")

    @classmethod
    def tearDownClass(cls):
        cls.srv.__exit__(None, None, None)

    def setUp(self):
        super().setUp()
        self.pending = []
        self.addCleanup(self.verify_uploads)

    def verify_uploads(self):
        """Every upload of the test ended 'ok' in our server's log, with
        the blksize and window expected."""
        pending, self.pending = self.pending, []
        for mark, remote, expect in pending:
            line = transfer_line(self.srv, "WRQ", remote, since=mark, timeout=15)
            self.assertTrue(line.endswith(": ok"), line)
            if expect is not None:
                self.assertEqual(negotiated(line), expect, line)

    def ok(self, p):
        return p.returncode == 0

    def remote_name(self, tag):
        return "%s-%s" % (self.client, tag)

    def check_get(self, name, want, tag, expect=None, **opts):
        """Download name with the client; the local file must hold want.
        expect: (blksize, window) our server must have used."""
        local = self.local(tag)
        mark = log_mark(self.srv)
        p = self.get(name, local, **opts)
        self.assertTrue(self.ok(p), "%s get %s %r failed: rc %d\n%s"
                        % (self.client, name, opts, p.returncode, p.out[-2000:]))
        self.assertSameBytes(read(local), want, "%s get %s %r" % (self.client, name, opts))
        line = transfer_line(self.srv, "RRQ", name, since=mark)
        self.assertTrue(line.endswith(": ok"), line)
        if expect is not None:
            self.assertEqual(negotiated(line), expect, line)
        os.unlink(local)
        return p

    def check_put(self, data, tag, expect=None, stored=None, **opts):
        """Upload data with the client; the server's file must hold stored
        (default: data)."""
        local = write(self.local(tag), data)
        remote = self.remote_name(tag)
        mark = log_mark(self.srv)
        p = self.put(local, remote, **opts)
        self.assertTrue(self.ok(p), "%s put %s %r failed: rc %d\n%s"
                        % (self.client, remote, opts, p.returncode, p.out[-2000:]))
        # The upload is in place under its name once the last block is in;
        # the server's log line only comes after it has dallied, so that
        # is checked at the end of the test (verify_uploads).
        self.assertSameBytes(self.srv.read(remote), data if stored is None else stored,
                             "%s put %s %r" % (self.client, remote, opts))
        self.pending.append((mark, remote, expect))
        self.assertEqual(self.srv.temp_files(), [])
        os.unlink(self.srv.path(remote))
        return p

    def check_sizes_blksizes(self, put_seed):
        """A get and a put of every size of SIZES at the default block size
        and 512, 1428, 8192, 65464, lockstep; the uploads' content is
        data_for(size, seed=put_seed + size)."""
        for blk in (None, 512, 1428, 8192, 65464):
            for size in SIZES:
                with self.subTest(blksize=blk, size=size):
                    exp = (blk or 512, 1)
                    self.check_get("s%d.bin" % size, data_for(size, seed=size),
                                   "g%d-%s" % (size, blk), expect=exp, blksize=blk)
                    self.check_put(data_for(size, seed=put_seed + size),
                                   "p%d-%s" % (size, blk), expect=exp, blksize=blk)

    def wrap_file(self):
        """The file past block 65535 at 512 bytes, written once per class."""
        cls = type(self)
        if not getattr(cls, "_wrap", None):
            cls._wrap = data_for(WRAP_SIZE, seed=65537)
            self.srv.write("wrap.bin", cls._wrap)
        return cls._wrap
