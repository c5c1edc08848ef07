#!/usr/bin/env python3
"""Side-by-side benchmark: our tftpd and tftp against tftp-hpa and atftpd.

    python3 bench/run.py                     # the full run: 5 rounds,
                                             # 10-15 min on 2 cores
    python3 bench/run.py --quick             # small sizes, one round (~1 min)

The script sets up build-bench (meson, --buildtype=release) if it does
not exist and runs ninja in it first. Everything runs on 127.0.0.1 with
the files on tmpfs (/dev/shm), so the disk is out of the picture. Just
before each timed bulk transfer into a file (2, 3) the script touches and
frees a little more memory than the transfer writes (see warm_memory:
this VM's host takes freed pages back, and the first touch of one costs
more than the transfer itself). In
every round the implementations take turns (ours, tftp-hpa, atftpd, ours,
...; each round starts with the next one, so none always goes first), and
each round also measures the loopback itself with bench/udpraw,
so every figure is shown as a share of what the machine can do in the
same run. Medians over the rounds are
printed and written to bench/results/YYYY-MM-DD-HHMM.txt.

Scenarios
  1  lockstep download, no options (512-byte blocks), 32 MiB
  2  bulk download, 1 GiB, each pair at its best options: ours blksize
     65464 + windowsize 64; in.tftpd blksize 65464 (it has no windowsize)
     with the atftp and the curl client; atftpd + atftp blksize 65464
     alone and with windowsize 2 (larger windows stall, see Atftp)
  3  bulk upload, the same
  4  200 concurrent 1 MiB downloads by bench/loadgen (one process, every
     byte verified): (a) no options, (b) blksize 1468 + windowsize 16
     (in.tftpd grants the blksize only)
  5  server CPU seconds per GiB served (utime+stime of the server's
     process tree, forked children sampled while they live: in scenario
     2 and 4b over one extra, untimed run per implementation and round,
     as the sampling slows what it measures), and memory with 1,000
     concurrent slow transfers (loadgen holding every ACK 200 ms): our
     server's peak RSS (VmHWM), and each server's PSS summed over its
     processes while all 1,000 are running

The report ends with the issue's targets, each "met" or "NOT MET" from
the medians. These are measurements, not tests: nothing here passes or
fails (the exit status is 0), but a transfer that does not verify, or a
server that dies, is reported and counted as failed.
"""
import argparse
import datetime
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))

from peers import PeerServer, atftpd_path, client_path, in_tftpd_path  # noqa: E402

MiB = 1 << 20
GiB = 1 << 30
TICK = os.sysconf("SC_CLK_TCK")


# ---- servers ------------------------------------------------------------

class OurServer(PeerServer):
    name = "tftpd"

    def __init__(self, build, root, extra=()):
        super().__init__(root)
        self.exe = os.path.join(build, "tftpd", "tftpd")
        self.extra = list(extra)

    def argv(self, port):
        # Limits raised for the crowd scenarios (all clients are 127.0.0.1).
        return [self.exe, "-r", self.root, "-a", "127.0.0.1:%d" % port,
                "-w", "--overwrite", "-m", "4000", "--max-per-client", "4000",
                # as root, like the peers it is compared with
                "-u", "root", "--permissive"] + self.extra


class HpaServer(PeerServer):
    name = "in.tftpd"

    def argv(self, port):
        # -c: uploads may create files; no -v (a log line per transfer).
        return [in_tftpd_path(), "-L", "-a", "127.0.0.1:%d" % port,
                "-u", "root", "-p", "-c", "-s", self.root]


class AtftpdServer(PeerServer):
    name = "atftpd"

    def argv(self, port):
        return [atftpd_path(), "--daemon", "--no-fork", "--port", str(port),
                "--bind-address", "127.0.0.1", "--user", "root",
                "--group", "root", "--logfile", "/dev/null",
                "--verbose=1", "--maxthread", "4000", self.root]


def write_results(out, started, suffix, lines):
    """lines into OUT/YYYY-MM-DD-HHMM<suffix>.txt (the run's start)."""
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, started.strftime("%Y-%m-%d-%H%M") + suffix + ".txt")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("written to %s" % os.path.relpath(path, TOP))
    return path


def ensure_build(build):
    """Set up (release) or bring up to date the build a run measures."""
    if not os.path.exists(os.path.join(build, "build.ninja")):
        subprocess.run(["meson", "setup", build, "--buildtype=release"],
                       cwd=TOP, check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["ninja", "-C", build], check=True,
                   stdout=subprocess.DEVNULL)


# ---- process accounting -------------------------------------------------

def _children(pid):
    kids = []
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                kids += [int(k) for k in f.read().split()]
    except OSError:
        pass
    return kids


def tree(pid):
    """pid and all its descendants."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += _children(p)
    return out


def _stat_ticks(pid):
    """utime+stime and cutime+cstime of one process, in ticks."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            x = [int(v) for v in f.read().rsplit(")", 1)[1].split()[11:15]]
        return x[0] + x[1], x[2] + x[3]
    except (OSError, IndexError, ValueError):
        return None


class CpuMeter(threading.Thread):
    """CPU time a server's process tree uses while it runs. Children are
    sampled while they live (every `every` s), because a server that
    ignores SIGCHLD (in.tftpd) never has their time in its cutime; a
    child's last moments (< one interval) are lost, the rest is counted."""

    def __init__(self, pid, every):
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.seen = {}
        self.halt = threading.Event()

    def sample(self):
        for p in tree(self.pid):
            t = _stat_ticks(p)
            if t is not None:
                # the root's reaped children are in its cutime
                self.seen[p] = t[0] + (t[1] if p == self.pid else 0)

    def run(self):
        while not self.halt.wait(self.every):
            self.sample()

    def __enter__(self):
        self.sample()
        self.base = dict(self.seen)
        self.start()
        return self

    def __exit__(self, *exc):
        self.halt.set()
        self.join()
        self.sample()

    def seconds(self):
        return sum(v - self.base.get(p, 0) for p, v in self.seen.items()) / TICK


def status_kib(pid, key):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss_kib(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


# ---- implementations: a server and the client commands that go with it --

class Impl:
    def __init__(self, key, label, server_cls):
        self.key, self.label, self.server_cls = key, label, server_cls
        self.server_label = server_cls.name + (" (ours)" if key == "ours"
                                               else "")

    def server(self, args, root):
        raise NotImplementedError


class Ours(Impl):
    def __init__(self, build, workers):
        super().__init__("ours", "tftpd + tftp (ours)", OurServer)
        self.build = build
        self.workers = workers
        self.client = os.path.join(build, "tftp", "tftp")

    def server(self, root):
        extra = ["--workers", str(self.workers)] if self.workers > 1 else []
        return OurServer(self.build, root, extra)

    def get_plain(self, port, remote, local):
        return [self.client, "get", "--no-options",
                "127.0.0.1:%d" % port, remote, local]

    def get_bulk(self, port, remote, local):
        return [self.client, "get", "-b", "65464", "-W", "64",
                "127.0.0.1:%d" % port, remote, local]

    def put_bulk(self, port, local, remote):
        return [self.client, "put", "-b", "65464", "-W", "64",
                "127.0.0.1:%d" % port, local, remote]


class BaselineServer(OurServer):
    name = "tftpd (before)"


class Baseline(Ours):
    """Our tftpd and tftp from another build (--baseline DIR): the same
    scenarios before and after a change, taking turns in one run."""

    def __init__(self, build, workers, rev):
        super().__init__(build, workers)
        self.key = "base"
        self.label = "tftpd + tftp (%s)" % rev
        self.server_cls = BaselineServer
        self.server_label = "tftpd (%s)" % rev

    def server(self, root):
        extra = ["--workers", str(self.workers)] if self.workers > 1 else []
        return BaselineServer(self.build, root, extra)


class VariantServer(OurServer):
    name = "tftpd (variant)"


class Variant(Ours):
    """Our tftpd with extra options (e.g. --single-port, --metrics) and
    our client: side by side with the plain server, in one run."""

    def __init__(self, build, workers, key, flags, shown):
        super().__init__(build, workers)
        self.key = key
        self.flags = list(flags)
        self.label = "tftpd %s + tftp" % shown
        self.server_label = "tftpd %s" % shown
        self.server_cls = type("VariantServer_" + key, (VariantServer,),
                               {"name": self.server_label})

    def server(self, root):
        extra = ["--workers", str(self.workers)] if self.workers > 1 else []
        return self.server_cls(self.build, root, extra + self.flags)


def free_tcp_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Hpa(Impl):
    """in.tftpd with the tftp-hpa client (lockstep), and at its best
    (blksize, no windowsize) with the atftp or the curl client."""

    def __init__(self, bulk_client):
        label = "in.tftpd + tftp-hpa" if bulk_client is None else \
            "in.tftpd + %s" % bulk_client
        super().__init__("hpa" if bulk_client is None else "hpa-" + bulk_client,
                         label, HpaServer)
        self.bulk_client = bulk_client

    def server(self, root):
        return HpaServer(root)

    def get_plain(self, port, remote, local):
        return [client_path("tftp"), "-m", "binary", "127.0.0.1", str(port),
                "-c", "get", remote, local]

    def get_bulk(self, port, remote, local):
        if self.bulk_client == "curl":
            return [client_path("curl"), "-s", "-S", "--tftp-blksize", "65464",
                    "-o", local, "tftp://127.0.0.1:%d/%s" % (port, remote)]
        return [client_path("atftp"), "--option", "blksize 65464", "-g",
                "-r", remote, "-l", local, "127.0.0.1", str(port)]

    def put_bulk(self, port, local, remote):
        if self.bulk_client == "curl":
            return [client_path("curl"), "-s", "-S", "--tftp-blksize", "65464",
                    "-T", local, "tftp://127.0.0.1:%d/%s" % (port, remote)]
        return [client_path("atftp"), "--option", "blksize 65464", "-p",
                "-r", remote, "-l", local, "127.0.0.1", str(port)]


class Atftp(Impl):
    """atftpd with the atftp client. In bulk, blksize 65464 alone (window
    None) or with a small windowsize: with windowsize 4 and up (64 is what
    it is meant for) the atftp client loses part of every window and a
    transfer crawls from timeout to timeout (64 MiB took 15 s at 64 and
    did not finish in 60 s at 4 or 8 here), so those are not run."""

    def __init__(self, window=None):
        key = "atftpd" if window is None else "atftpd-w%d" % window
        label = "atftpd + atftp" + ("" if window is None
                                    else " w%d" % window)
        super().__init__(key, label, AtftpdServer)
        self.window = window

    def server(self, root):
        return AtftpdServer(root)

    def get_plain(self, port, remote, local):
        return [client_path("atftp"), "-g", "-r", remote, "-l", local,
                "127.0.0.1", str(port)]

    def _bulk(self, flag, port, remote, local):
        win = [] if self.window is None else \
            ["--option", "windowsize %d" % self.window]
        return [client_path("atftp"), "--option", "blksize 65464"] + win + \
            [flag, "-r", remote, "-l", local, "127.0.0.1", str(port)]

    def get_bulk(self, port, remote, local):
        return self._bulk("-g", port, remote, local)

    def put_bulk(self, port, local, remote):
        return self._bulk("-p", port, remote, local)


# ---- the run --------------------------------------------------------------

def rotate(seq, n):
    """seq starting at its element n (mod its length)."""
    n %= len(seq)
    return list(seq[n:]) + list(seq[:n])


class Bench:
    def __init__(self, args):
        self.args = args
        self.t0 = time.monotonic()
        self.started = datetime.datetime.utcnow()   # names the results file
        self.build = os.path.abspath(args.build)
        self.work = tempfile.mkdtemp(prefix="tftp-bench-", dir="/dev/shm")
        self.root = os.path.join(self.work, "root")
        self.local = os.path.join(self.work, "local")
        os.makedirs(self.root)
        os.makedirs(self.local)
        os.chmod(self.root, 0o777)
        q = args.quick
        self.s1_size = 2 * MiB if q else 32 * MiB
        self.bulk_size = 64 * MiB if q else GiB
        self.crowd = 200
        self.crowd_size = 256 << 10 if q else MiB
        self.slow_n = 200 if q else 1000
        self.hold_s = 4 if q else 10
        self.raw_s = 0.5 if q else 2.0
        # A client run that takes longer than this is counted as failed
        # (a stalled peer must not eat the whole run).
        self.run_timeout = 30 if q else 120
        self.impls = []
        self.servers = {}
        self.results = {}     # (scenario, impl key) -> [values]
        self.notes = []
        self.failures = []
        self.lines = []
        self.warm_s = []      # seconds each warm_memory took

    # -- output
    def say(self, s=""):
        print(s, flush=True)
        self.lines.append(s)

    def record(self, scen, key, value):
        self.results.setdefault((scen, key), []).append(value)

    def med(self, scen, key):
        v = self.results.get((scen, key))
        return statistics.median(v) if v else None

    # -- files
    def make_file(self, path, size):
        with open(path, "wb") as f:
            chunk = os.urandom(MiB)
            left = size
            while left > 0:
                n = min(left, len(chunk))
                f.write(chunk[:n])
                left -= n
                # vary the content from MiB to MiB
                chunk = chunk[1:] + chunk[:1]
        os.chmod(path, 0o666)

    def prepare(self):
        a = self.args.scenarios
        if "1" in a:
            self.make_file(os.path.join(self.root, "s1.bin"), self.s1_size)
        if "2" in a:
            self.make_file(os.path.join(self.root, "s2.bin"), self.bulk_size)
        if "3" in a:
            self.make_file(os.path.join(self.local, "up.bin"), self.bulk_size)
        for i in range(self.crowd):
            p = os.path.join(self.root, "f%d.bin" % i)
            with open(p, "wb") as f:
                f.write(os.urandom(self.crowd_size))
            os.chmod(p, 0o666)

    def start_servers(self):
        for impl in self.impls:
            if impl.server_cls not in self.servers:
                self.servers[impl.server_cls] = impl.server(self.root).start()

    def stop_servers(self):
        for s in self.servers.values():
            s.cleanup()
        self.servers = {}

    def port(self, impl):
        return self.servers[impl.server_cls].port

    def pid(self, impl):
        return self.servers[impl.server_cls].proc.pid

    # -- one timed client run
    def timed(self, argv, timeout, sink=False):
        """Run a client; sink: its standard output (the file) goes to
        /dev/null and only its standard error is kept."""
        t0 = time.monotonic()
        try:
            p = subprocess.run(argv, stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL if sink
                               else subprocess.PIPE,
                               stderr=subprocess.PIPE if sink
                               else subprocess.STDOUT,
                               timeout=timeout)
            out = p.stderr if sink else p.stdout
            rc, out = p.returncode, out.decode("utf-8", "replace")
        except subprocess.TimeoutExpired:
            rc, out = -1, "timed out after %d s" % timeout
        return time.monotonic() - t0, rc, out

    def warm_memory(self):
        """Touch a little more memory than a bulk transfer will write, and
        free it, just before the transfer. This VM's balloon reports freed
        pages to the host (virtio free page reporting), which takes them
        back; the next first touch of such a page costs a fault in the
        host: ~2-3 s per GiB, several times the transfer itself, and it
        fell on whichever implementation came first after a pause. Pages
        freed a moment ago are handed out again before they are reported,
        so every implementation now writes into memory the host backs."""
        path = os.path.join(self.work, "warm")
        t0 = time.monotonic()
        # Written, not fallocated: tmpfs leaves fallocated pages
        # untouched until first use.
        chunk = b"\1" * MiB
        fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
        try:
            for _ in range((self.bulk_size + (256 << 20)) // MiB):
                os.write(fd, chunk)
        finally:
            os.close(fd)
            os.unlink(path)
        self.warm_s.append(time.monotonic() - t0)

    def same(self, a, b):
        return subprocess.run(["cmp", "-s", a, b]).returncode == 0

    def fail(self, what, out):
        msg = "FAILED %s: %s" % (what, out.strip()[-300:])
        self.failures.append(msg)
        self.say("  " + msg)

    # -- raw loopback
    def raw(self):
        udpraw = os.path.join(self.build, "bench", "udpraw")
        s = str(self.raw_s)
        for key, argv in (("pingpong", ["pingpong", "-S", s]),
                          ("pingpong-busy", ["pingpong", "-b", "-S", s]),
                          ("blast", ["blast", "-S", s]),
                          ("blast-plain", ["blast", "-p", "-S", s])):
            out = subprocess.run([udpraw] + argv, stdout=subprocess.PIPE,
                                 check=True).stdout.decode()
            m = re.search(r"payload_Bps=(\d+)", out)
            self.record("raw", key, float(m.group(1)))

    # -- scenarios
    def download(self, scen, impl, argv_fn, remote, size, cpu=False):
        """A timed download, verified. cpu: instead of timing it, measure
        the server's CPU (the sampling thread slows a fast transfer by
        up to half on 2 cores, so the two are never taken together)."""
        out_path = os.path.join(self.local, "down-%s.bin" % impl.key)
        if os.path.exists(out_path):
            os.unlink(out_path)
        argv = argv_fn(self.port(impl), remote, out_path)
        meter = CpuMeter(self.pid(impl), 0.02)
        if size >= self.bulk_size:
            self.warm_memory()
        if cpu:
            with meter:
                t, rc, out = self.timed(argv, self.run_timeout)
                time.sleep(0.1)   # let a forked server's child finish
        else:
            t, rc, out = self.timed(argv, self.run_timeout)
        ok = rc == 0 and self.same(out_path, os.path.join(self.root, remote))
        if os.path.exists(out_path):
            os.unlink(out_path)
        if not ok:
            self.fail("%s %s" % (scen, impl.label), out)
            return
        if cpu:
            self.record("cpu", impl.key, meter.seconds() / (size / GiB))
        else:
            self.record(scen, impl.key, size / t)

    def download_null(self, scen, impl, remote, size):
        """Scenario 2 with the file thrown away (/dev/null, or standard
        output to /dev/null for ours): the transfer without the cost of
        writing a new tmpfs file, which is high on this VM. The bytes are
        not compared here; scenario 2 verifies the same transfer."""
        local = "-" if isinstance(impl, Ours) else "/dev/null"
        argv = impl.get_bulk(self.port(impl), remote, local)
        t, rc, out = self.timed(argv, self.run_timeout, sink=True)
        if rc != 0:
            self.fail("%s %s" % (scen, impl.label), out)
            return
        self.record(scen, impl.key, size / t)

    def upload(self, scen, impl, size, rnd):
        remote = "up-%s-%d.bin" % (impl.key, rnd)
        dest = os.path.join(self.root, remote)
        if os.path.exists(dest):
            os.unlink(dest)
        src = os.path.join(self.local, "up.bin")
        self.warm_memory()
        t, rc, out = self.timed(impl.put_bulk(self.port(impl), src, remote),
                                self.run_timeout)
        ok = rc == 0 and os.path.exists(dest) and self.same(src, dest)
        if os.path.exists(dest):
            os.unlink(dest)
        if not ok:
            self.fail("%s %s" % (scen, impl.label), out)
            return
        self.record(scen, impl.key, size / t)

    def loadgen(self, port, extra, timeout=600):
        argv = [os.path.join(self.build, "bench", "loadgen"), "-d", self.root,
                "-n", str(self.crowd)] + extra + ["127.0.0.1:%d" % port]
        t, rc, out = self.timed(argv, timeout)
        m = re.search(r"RESULT ok=(\d+) failed=(\d+) held=(\d+) bytes=(\d+) "
                      r"seconds=([\d.]+)", out)
        return rc, out, m

    def crowd_run(self, scen, impl, opts, cpu=False):
        """Timed, or (cpu) untimed with the server's CPU measured."""
        argv = ["-c", str(self.crowd)] + opts
        if cpu:
            with CpuMeter(self.pid(impl), 0.1) as meter:
                rc, out, m = self.loadgen(self.port(impl), argv)
                time.sleep(0.1)
        else:
            rc, out, m = self.loadgen(self.port(impl), argv)
        if rc != 0 or not m or int(m.group(1)) != self.crowd:
            self.fail("%s %s" % (scen, impl.label), out)
            return
        if cpu:
            total = self.crowd * self.crowd_size
            self.record("cpu4", impl.key, meter.seconds() / (total / GiB))
        else:
            self.record(scen, impl.key, float(m.group(5)))

    def slow_memory(self, impl):
        """A fresh server, 1,000 transfers held open; memory sampled while
        they all run."""
        srv = impl.server(self.root).start()
        try:
            argv = [os.path.join(self.build, "bench", "loadgen"), "-d",
                    self.root, "-n", str(self.crowd), "-c", str(self.slow_n),
                    "-a", "200", "-D", str(self.hold_s),
                    "127.0.0.1:%d" % srv.port]
            lg = subprocess.Popen(argv, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT)
            time.sleep(self.hold_s - 1.5)
            procs = tree(srv.proc.pid)
            pss = sum(pss_kib(p) for p in procs)
            hwm = sum(status_kib(p, "VmHWM") for p in procs)
            alive = srv.proc.poll() is None
            out = lg.communicate(timeout=60)[0].decode("utf-8", "replace")
            m = re.search(r"held=(\d+)", out)
            held = int(m.group(1)) if m else 0
            if not alive or srv.proc.poll() is not None:
                # atftpd aborts past 1,024 descriptors (select's FD_SETSIZE)
                self.fail("5 memory %s: the server died (exit status %s) "
                          "with %d transfers asked for" % (
                              impl.server_label, srv.proc.poll(),
                              self.slow_n), srv.log()[-300:] or out)
                return
            if held != self.slow_n:
                self.fail("5 memory %s (%d of %d transfers receiving data)"
                          % (impl.label, held, self.slow_n), out)
            self.record("pss", impl.key, pss / 1024)
            self.record("hwm", impl.key, hwm / 1024)
            self.record("procs", impl.key, len(procs))
        finally:
            srv.cleanup()

    # -- driving
    def run(self):
        a = self.args
        ours = Ours(self.build, a.workers)
        hpa, hpa_atftp, hpa_curl, atftp = (Hpa(None), Hpa("atftp"),
                                           Hpa("curl"), Atftp())
        self.impls = [ours, hpa, atftp]
        bulk = [ours, hpa_atftp, hpa_curl, atftp, Atftp(2)]
        if a.baseline:
            rev = subprocess.run(["git", "-C", a.baseline, "describe",
                                  "--always", "--dirty"],
                                 capture_output=True, text=True).stdout.strip()
            base = Baseline(a.baseline, a.workers, rev or "before")
            self.impls.append(base)
            bulk.append(base)
        variants = []
        if a.single_port:
            variants.append(Variant(self.build, a.workers, "sp", ["--single-port"],
                                    "--single-port"))
        if a.metrics:
            variants.append(Variant(self.build, a.workers, "mx", [
                "--metrics", "127.0.0.1:%d" % free_tcp_port()], "--metrics"))
        for v in variants:
            self.impls.append(v)
            bulk.append(v)
        self.header()
        self.prepare()
        self.start_servers()
        try:
            impls0, bulk0 = self.impls, bulk
            for rnd in range(a.rounds):
                self.say("round %d/%d" % (rnd + 1, a.rounds))
                self.raw()
                # Each round starts with another implementation, so none
                # always runs first (right after the raw blast, or after
                # another's 1 GiB file was freed).
                self.impls = rotate(impls0, rnd)
                bulk = rotate(bulk0, rnd)
                if "1" in a.scenarios:
                    for impl in self.impls:
                        self.download("1", impl, impl.get_plain, "s1.bin",
                                      self.s1_size)
                if "2" in a.scenarios:
                    for impl in bulk:
                        self.download("2", impl, impl.get_bulk, "s2.bin",
                                      self.bulk_size)
                    for impl in bulk:   # 5a, untimed
                        self.download("2", impl, impl.get_bulk, "s2.bin",
                                      self.bulk_size, cpu=True)
                if "2" in a.scenarios:
                    for impl in bulk:
                        self.download_null("2n", impl, "s2.bin",
                                           self.bulk_size)
                if "3" in a.scenarios:
                    for impl in bulk:
                        self.upload("3", impl, self.bulk_size, rnd)
                if "4" in a.scenarios:
                    for impl in self.impls:
                        self.crowd_run("4a", impl, [])
                    for impl in self.impls:
                        self.crowd_run("4b", impl, ["-b", "1468", "-w", "16"])
                    for impl in self.impls:   # 5a, untimed
                        self.crowd_run("4b", impl, ["-b", "1468", "-w", "16"],
                                       cpu=True)
        finally:
            self.stop_servers()
        self.impls, bulk = impls0, bulk0
        if "5" in a.scenarios:
            for impl in self.impls:
                self.slow_memory(impl)
        self.report(ours, hpa, atftp, bulk)
        if a.baseline:
            self.before_after(ours)
        if a.single_port:
            self.before_after(ours, "sp", "normal mode / --single-port")
        if a.metrics:
            self.before_after(ours, "mx", "without / with --metrics")
        if self.warm_s:
            w = sorted(self.warm_s)
            self.say("memory warm-up before bulk transfers: %d times, median "
                     "%.2f s, longest %.2f s (%d MiB each)"
                     % (len(w), w[len(w) // 2], w[-1],
                        (self.bulk_size + (256 << 20)) >> 20))
        self.say("run took %.0f s" % (time.monotonic() - self.t0))

    def header(self):
        rev = subprocess.run(["git", "-C", TOP, "describe", "--always",
                              "--dirty"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL).stdout.decode().strip()
        cpu = "?"
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        self.say("tftp benchmark %s  (%s)" % (
            self.started.strftime("%Y-%m-%d %H:%M UTC"),
            "quick" if self.args.quick else "full"))
        self.say("commit %s; %s; %d CPUs (%s); %d round(s)%s" % (
            rev, platform.release(), os.cpu_count(), cpu, self.args.rounds,
            "; tftpd --workers %d" % self.args.workers
            if self.args.workers > 1 else ""))
        self.say("command: python3 bench/run.py %s" % " ".join(sys.argv[1:]))
        self.say("sizes: s1 %d MiB, s2/s3 %d MiB, s4 %d x %d KiB, s5 %d slow "
                 "transfers" % (self.s1_size // MiB, self.bulk_size // MiB,
                                self.crowd, self.crowd_size >> 10, self.slow_n))
        self.say()

    # -- report
    def fmt_rate(self, v):
        return "%8.1f MB/s" % (v / 1e6) if v is not None else "       -    "

    def table(self, title, scen, impls, ours, unit="rate", raw=None,
              higher_better=True, by_server=False):
        self.say(title)
        mine = self.med(scen, ours.key)
        for impl in impls:
            v = self.med(scen, impl.key)
            vals = self.results.get((scen, impl.key), [])
            if unit == "rate":
                shown = self.fmt_rate(v)
                spread = "[%s]" % " ".join("%.1f" % (x / 1e6) for x in vals)
            else:
                shown = "%8.2f s   " % v if v is not None else "       -    "
                spread = "[%s]" % " ".join("%.2f" % x for x in vals)
            extra = ""
            if impl is not ours and v and mine:
                r = mine / v if higher_better else v / mine
                extra += "  ours is %.2fx" % r
            if raw and v:
                extra += "  " + "  ".join("%.1f%% of %s" % (100 * v / rv, rk)
                                          for rk, rv in raw if rv)
            label = impl.server_label if by_server else impl.label
            self.say("  %-24s %s %s%s" % (label, shown, spread, extra))
        self.say()

    def before_after(self, ours, other="base",
                     what="before/after (--baseline): this build / baseline"):
        """--baseline: every scenario's median, this build over the other
        (for times, the other over this: above 1 is faster either way).
        --single-port: the normal mode over --single-port, the same way."""
        self.say(what + ", medians; > 1 is better for the first")
        for (scen, key), vals in sorted(self.results.items()):
            if key != ours.key or not vals:
                continue
            mine, base = self.med(scen, "ours"), self.med(scen, other)
            if not mine or not base:
                continue
            lower_better = scen in ("4a", "4b") or scen.startswith("cpu") \
                or scen in ("pss", "hwm", "procs")
            r = base / mine if lower_better else mine / base
            self.say("  %-8s %6.3f  (%+.1f%%)" % (scen, r, 100 * (r - 1)))
        self.say()

    def report(self, ours, hpa, atftp, bulk):
        s = self.say
        s()
        s("=" * 78)
        raw = {k: self.med("raw", k) for k in ("pingpong", "pingpong-busy",
                                                "blast", "blast-plain")}
        s("loopback limits (bench/udpraw, medians; payload bytes beyond a "
          "4-byte header)")
        s("  ping-pong 516/4 bytes, sleeping in recv  %s" %
          self.fmt_rate(raw["pingpong"]))
        s("  ping-pong 516/4 bytes, spinning          %s" %
          self.fmt_rate(raw["pingpong-busy"]))
        s("  blast 64 x 65468 bytes, sendmmsg/recvmmsg %s" %
          self.fmt_rate(raw["blast"]))
        s("  blast 64 x 65468 bytes, send/recv        %s" %
          self.fmt_rate(raw["blast-plain"]))
        s()
        pp = [("ping-pong", raw["pingpong"]),
              ("spinning ping-pong", raw["pingpong-busy"])]
        best_blast = max(v for v in (raw["blast"], raw["blast-plain"]) if v)
        bl = [("blast", best_blast)]
        a = self.args.scenarios
        if "1" in a:
            self.table("1. lockstep download, no options, %d MiB" %
                       (self.s1_size // MiB), "1", self.impls, ours, raw=pp)
        if "2" in a:
            self.table("2. bulk download, %d MiB, best options" %
                       (self.bulk_size // MiB), "2", bulk, ours, raw=bl)
        if "2" in a:
            self.table("2n. the same, the file written to /dev/null (no "
                       "new tmpfs file to fill)", "2n", bulk, ours, raw=bl)
        if "3" in a:
            self.table("3. bulk upload, %d MiB, best options" %
                       (self.bulk_size // MiB), "3", bulk, ours, raw=bl)
        if "4" in a:
            self.table("4a. %d concurrent %d KiB downloads, no options: "
                       "total time" % (self.crowd, self.crowd_size >> 10),
                       "4a", self.impls, ours, unit="s", higher_better=False,
                       by_server=True)
            self.table("4b. %d concurrent %d KiB downloads, blksize 1468 "
                       "windowsize 16: total time" %
                       (self.crowd, self.crowd_size >> 10),
                       "4b", self.impls, ours, unit="s", higher_better=False,
                       by_server=True)
        if "2" in a:
            s("5a. server CPU seconds per GiB served in scenario 2 (process "
              "tree; lower is better)")
            for impl in bulk:
                c = self.med("cpu", impl.key)
                s("  %-24s %s" % (impl.label, "%6.3f s" % c if c is not None
                                  else "     -"))
            s()
        if "4" in a:
            s("5a. server CPU seconds per GiB served in scenario 4b")
            for impl in self.impls:
                c = self.med("cpu4", impl.key)
                s("  %-24s %s" % (impl.server_label, "%6.3f s" % c
                                  if c is not None else "     -"))
            s()
        if "5" in a:
            s("5b. memory with %d concurrent slow transfers" % self.slow_n)
            for impl in self.impls:
                if self.med("pss", impl.key) is None:
                    s("  %-24s -  (did not run them all: see FAILED)" %
                      impl.server_label)
                    continue
                s("  %-24s PSS %7.1f MiB over %d process(es); "
                  "sum of VmHWM %7.1f MiB" % (
                      impl.server_label, self.med("pss", impl.key) or 0,
                      self.med("procs", impl.key) or 0,
                      self.med("hwm", impl.key) or 0))
            s()
        self.verdicts(ours, hpa, atftp, bulk, raw)
        if self.failures:
            s("%d FAILED run(s):" % len(self.failures))
            for f in self.failures:
                s("  " + f)
        else:
            s("every transfer verified")

    def verdicts(self, ours, hpa, atftp, bulk, raw):
        """The issue's targets, checked against the medians above."""
        s, a, med = self.say, self.args.scenarios, self.med
        s("targets (from the medians above)")

        def line(what, ok, detail):
            verdict = "n/a    " if ok is None else \
                ("met    " if ok else "NOT MET")
            s("  %s  %-44s %s" % (verdict, what, detail))

        def ratio(x, y):
            return x / y if x and y else None

        def fmt(r, unit="x"):
            return "%.2f%s" % (r, unit) if r is not None else "-"

        if "1" in a:
            mine = med("1", ours.key)
            r = ratio(mine, med("1", hpa.key))
            line("1. >= 1.3x tftp-hpa throughput", r and r >= 1.3,
                 "ours/tftp-hpa = %s" % fmt(r))
            lim = max(v for v in (raw["pingpong"], raw["pingpong-busy"], 0)
                      if v is not None)
            r = ratio(mine, lim)
            line("1. >= 85% of the raw ping-pong limit", r and r >= 0.85,
                 "%s of the better ping-pong (%s)" % (
                     fmt(r and 100 * r, "%"), self.fmt_rate(lim).strip()))
        for scen, what in (("2", "download"), ("3", "upload")):
            if scen not in a:
                continue
            mine = med(scen, ours.key)
            line("%s. bulk %s >= 2 GB/s" % (scen, what),
                 mine is not None and mine >= 2e9,
                 "ours %s" % self.fmt_rate(mine).strip())
            best = max([v for v in (med(scen, i.key) for i in bulk
                                    if isinstance(i, Atftp)) if v] or [0])
            r = ratio(mine, best)
            line("%s. bulk %s >= 5x atftpd's best" % (scen, what),
                 r and r >= 5, "ours/atftpd best = %s" % fmt(r))
        if "4" in a:
            for scen in ("4a", "4b"):
                mine = med(scen, ours.key)
                rs = [ratio(med(scen, i.key), mine) for i in (hpa, atftp)]
                ok = all(r is not None and r >= 2 for r in rs)
                line("%s. >= 2x faster than both peers" % scen, ok,
                     "in.tftpd/ours = %s, atftpd/ours = %s" % (
                         fmt(rs[0]), fmt(rs[1])))
        for scen, key, impls in (("2", "cpu", bulk), ("4", "cpu4",
                                                         self.impls)):
            if scen not in a:
                continue
            mine = med(key, ours.key)
            others = {}
            for i in impls:
                v = med(key, i.key)
                if i is not ours and v is not None:
                    n = i.server_cls.name
                    others[n] = min(v, others.get(n, v))
            ok = mine is not None and all(mine < v for v in others.values())
            line("5. lowest server CPU/GiB (scenario %s)" % scen, ok,
                 "ours %s, %s" % (
                     "%.3f s" % mine if mine is not None else "-",
                     ", ".join("%s %.3f s" % kv for kv in sorted(
                         others.items()))))
        if "5" in a:
            hwm = med("hwm", ours.key)
            line("5. <= 64 MiB RSS for %d concurrent transfers" %
                 self.slow_n, hwm is not None and hwm <= 64,
                 "ours peak RSS (sum of VmHWM) %.1f MiB" % (hwm or 0))
        s()

    def save(self):
        write_results(self.args.out, self.started,
                      "-quick" if self.args.quick else "", self.lines)

    def cleanup(self):
        shutil.rmtree(self.work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--quick", action="store_true",
                    help="small sizes and one round: a smoke test")
    ap.add_argument("--build", default=os.path.join(TOP, "build-bench"),
                    help="meson build directory (default build-bench)")
    # 1: on this 2-core machine the load generator of scenario 4 needs a
    # core of its own; with 2 workers the three processes share two cores
    # and 200 x 1 MiB lockstep took 3.6-4.5 s instead of 3.2-3.3 s
    # (measured alternating; windowed 4b: the same either way).
    ap.add_argument("--workers", type=int, default=1,
                    help="tftpd --workers (default 1, see the comment)")
    ap.add_argument("--scenarios", default="12345",
                    help="which scenarios, e.g. 14 (default all)")
    ap.add_argument("--single-port", action="store_true",
                    help="also run our tftpd with --single-port, side by "
                         "side with its normal mode")
    ap.add_argument("--metrics", action="store_true",
                    help="also run our tftpd with --metrics, side by side "
                         "without")
    ap.add_argument("--out", default=os.path.join(TOP, "bench", "results"))
    ap.add_argument("--baseline", default=None, metavar="BUILD",
                    help="also run tftpd and tftp from this other build "
                         "directory (e.g. of the commit before a change): "
                         "before and after in one run")
    args = ap.parse_args()
    if args.quick and "--rounds" not in " ".join(sys.argv):
        args.rounds = 1
    ensure_build(args.build)
    b = Bench(args)
    try:
        b.run()
        b.save()
    finally:
        b.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
