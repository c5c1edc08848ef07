#!/usr/bin/env python3
"""Lockstep 1 MiB through a lossy relay, side by side: 10% drop and 5%
duplication on both directions (tests/lib/tftprelay.py), default timers,
lockstep (no windowsize):

  ours      our client (get, its default request: blksize 1428) from our tftpd
  ours-512  the same with --no-options (plain RFC 1350: 512-byte blocks)
  tftp-hpa  tftp-hpa's client (rexmt 1, its smallest) from in.tftpd

Each pair runs RUNS times with the same relay seeds; the median wall time
is reported, a run that does not finish within CAP seconds counts as CAP
("did not finish"). Results are printed and written to
bench/results/<date>-lossy.txt.

    python3 bench/lossy.py [BUILD_DIR]       (default: build)
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path[:0] = [os.path.join(TOP, "tests", "lib")]

import peers  # noqa: E402
import tftprelay  # noqa: E402
from tftptest import free_udp_port, pattern, probe_server  # noqa: E402

RUNS = 3
CAP = 120.0
SIZE = 1 << 20


def start(argv):
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_up(port, proc):
    probe_server("127.0.0.1", port, proc, "probe-missing", time.monotonic() + 10, 0.1)


def timed(argv, stdin=None):
    t = time.monotonic()
    try:
        p = subprocess.run(argv, input=stdin, capture_output=True, timeout=CAP)
        ok = p.returncode == 0
    except subprocess.TimeoutExpired:
        ok = False
    return time.monotonic() - t, ok


def one(kind, build, root, seed):
    port = free_udp_port()
    if kind.startswith("ours"):
        srv = start([os.path.join(build, "tftpd", "tftpd"), "-r", root, "-u", "root",
                     "-p", "-a", "127.0.0.1:%d" % port])
    else:
        srv = start([peers.in_tftpd_path(), "-L", "-a", "127.0.0.1:%d" % port,
                     "-s", root])
    try:
        wait_up(port, srv)
        out = os.path.join(root, "out-%s-%d.bin" % (kind, seed))
        with tftprelay.RelayProcess(port, seed=seed, drop=0.10, dup=0.05) as r:
            if kind.startswith("ours"):
                extra = ["--no-options"] if kind == "ours-512" else []
                secs, ok = timed([os.path.join(build, "tftp", "tftp"), "get", "-q",
                                  "--no-progress"] + extra +
                                 ["127.0.0.1:%d" % r.port, "f.bin", out])
            else:
                script = ("mode octet\nrexmt 1\ntimeout %d\nget f.bin %s\nquit\n" %
                          (int(CAP), out)).encode()
                secs, ok = timed([peers.client_path("tftp"), "127.0.0.1", str(r.port)],
                                 script)
        ok = ok and os.path.exists(out) and os.path.getsize(out) == SIZE
        if os.path.exists(out):
            os.unlink(out)
        return secs if ok else None
    finally:
        srv.terminate()
        srv.wait(10)


def main():
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(TOP, "build"))
    root = tempfile.mkdtemp(prefix="lossy-")
    os.chmod(root, 0o755)
    with open(os.path.join(root, "f.bin"), "wb") as f:
        f.write(pattern(SIZE))
    os.chmod(os.path.join(root, "f.bin"), 0o644)
    lines = ["lossy lockstep get, 1 MiB, 10% drop + 5% dup both ways,",
             "default timers; %d runs each (relay seeds 1..%d), median wall time;" % (RUNS, RUNS),
             "a run not done in %d s counts as %d s (dnf)" % (CAP, CAP), ""]
    try:
        res = {}
        for kind in ("ours", "ours-512", "tftp-hpa"):
            times = [one(kind, build, root, seed) for seed in range(1, RUNS + 1)]
            dnf = sum(1 for t in times if t is None)
            med = statistics.median([CAP if t is None else t for t in times])
            res[kind] = med
            lines.append("%-9s median %7.2f s  runs %s  dnf %d" % (
                kind, med, " ".join("dnf" if t is None else "%.2f" % t for t in times), dnf))
        lines.append("")
        lines.append("ratio tftp-hpa/ours-512 (same blocks): at least %.1fx"
                     % (res["tftp-hpa"] / res["ours-512"]))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    text = "\n".join(lines) + "\n"
    print(text, end="")
    name = time.strftime("%Y-%m-%d-%H%M") + "-lossy.txt"
    with open(os.path.join(HERE, "results", name), "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
