#!/usr/bin/env python3
"""Boot storms, side by side: our tftpd, tftp-hpa's in.tftpd and atftpd
under the same load from bench/loadgen, one scenario at a time, the
servers taking turns (each round starts with the next one).

    python3 bench/storm.py                  # scenarios a-e, 3 rounds
    python3 bench/storm.py --storms abcdef --rounds 5
    python3 bench/storm.py --quick          # 20 clients, 1 MiB: a smoke run

Each client is a machine of its own: its own loopback address
(127.1.x.y), a 1 s retransmit timeout like firmware, and in the
scenarios with a probe the PXE habit of asking for the size first
(tsize, then ERROR 8 and a new request from a new port, or a new request
from the same port). Loss is simulated on the path to the clients
(loadgen -L). Per run: the makespan, each client's time (p50, p99, max),
failures, timeouts that fired in the clients, and amplification (DATA
bytes that reached the clients over the file bytes they needed).
Medians over the rounds go to bench/results/YYYY-MM-DD-HHMM-storm.txt.

Not here yet: dnsmasq (it serves on port 69 only; the interop suite runs
it in a network namespace of its own).
"""
import argparse
import datetime
import os
import re
import statistics
import subprocess
import sys
import tempfile

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from run import AtftpdServer, HpaServer, OurServer  # noqa: E402

MiB = 1 << 20

# name: (clients, file MiB, loadgen options, what it is)
STORMS = {
    "a": (100, 8, ["-b", "1468", "-P", "error8"],
          "1468, window 1, probe"),
    "b": (100, 8, ["-b", "1468", "-w", "8", "-L", "1", "-P", "error8"],
          "1468, window 8, 1% loss, probe"),
    "c": (300, 8, ["-b", "1468", "-w", "4", "-L", "0.5", "-P", "rerrq"],
          "1468, window 4, 0.5% loss, probe (re-ask from the same port)"),
    "d": (50, 2, ["-L", "1"], "no options, 1% loss"),
    "e": (100, 8, ["-b", "1468", "-w", "4", "-L", "0.5", "-P", "rerrq", "-R"],
          "as c, clients that re-ACK every repeated block"),
    "f": (1000, 8, ["-b", "1468", "-w", "4", "-L", "0.5", "-P", "error8"],
          "1468, window 4, 0.5% loss, probe"),
}

FIELDS = ("ok", "failed", "seconds", "p50", "p99", "max", "timeouts",
          "amplification")


def loadgen(build, root, port, clients, size_name, opts, timeout):
    argv = [os.path.join(build, "bench", "loadgen"), "-d", root, "-n", "1",
            "-f", size_name, "-c", str(clients), "-t", str(clients),
            "-T", "1000", "-A"] + opts + ["127.0.0.1:%d" % port]
    try:
        p = subprocess.run(argv, capture_output=True, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, "did not finish in %d s" % timeout
    m = re.search(r"RESULT (.*)", p.stdout)
    if not m:
        return None, (p.stdout + p.stderr)[-300:]
    kv = dict(x.split("=") for x in m.group(1).split())
    errs = sorted(set(re.findall(r"failed: (.*)", p.stderr)))
    return {k: float(kv[k]) for k in FIELDS}, "; ".join(errs[:3])


def make_files(root, sizes):
    for mib in sizes:
        path = os.path.join(root, "storm%d.bin" % mib)
        with open(path, "wb") as f:
            f.write(os.urandom(mib * MiB))
        os.chmod(path, 0o666)


def servers(build, root):
    ours = OurServer(build, root)
    return [("tftpd (ours)", ours), ("in.tftpd", HpaServer(root)),
            ("atftpd", AtftpdServer(root))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--storms", default="abcde")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--build", default=os.path.join(TOP, "build-bench"))
    ap.add_argument("--timeout", type=int, default=300,
                    help="seconds a run may take before it counts as failed")
    ap.add_argument("--out", default=os.path.join(TOP, "bench", "results"))
    a = ap.parse_args()
    if not os.path.exists(os.path.join(a.build, "build.ninja")):
        subprocess.run(["meson", "setup", a.build, "--buildtype=release"],
                       cwd=TOP, check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["ninja", "-C", a.build], check=True, stdout=subprocess.DEVNULL)
    root = tempfile.mkdtemp(prefix="storm-", dir="/dev/shm")
    os.chmod(root, 0o777)
    plan = {k: STORMS[k] for k in a.storms}
    if a.quick:
        plan = {k: (min(v[0], 20), 1, v[2], v[3]) for k, v in plan.items()}
    make_files(root, {v[1] for v in plan.values()})
    impls = servers(a.build, root)
    for _, s in impls:
        s.start()
    out = []

    def say(line=""):
        print(line, flush=True)
        out.append(line)
    say("storm benchmark %s UTC, %d round(s)%s" % (
        datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M"), a.rounds,
        " (quick)" if a.quick else ""))
    say("command: " + " ".join(sys.argv))
    res = {}
    try:
        for rnd in range(a.rounds):
            order = impls[rnd % len(impls):] + impls[:rnd % len(impls)]
            for key, (n, mib, opts, _) in plan.items():
                for label, srv in order:
                    r, why = loadgen(a.build, root, srv.port, n,
                                     "storm%d.bin" % mib, opts, a.timeout)
                    if srv.proc.poll() is not None:
                        # Said in the results, and up again for the next.
                        why = "the server died (exit status %s)%s" % (
                            srv.proc.poll(), "; " + why if why else "")
                        srv.stop()
                        srv.start()
                    res.setdefault((key, label), []).append((r, why))
    finally:
        for _, s in impls:
            s.stop()
    report(say, plan, impls, res)
    os.makedirs(a.out, exist_ok=True)
    name = datetime.datetime.utcnow().strftime("%Y-%m-%d-%H%M") + \
        ("-storm-quick.txt" if a.quick else "-storm.txt")
    with open(os.path.join(a.out, name), "w") as f:
        f.write("\n".join(out) + "\n")
    print("written to", os.path.join("bench", "results", name))
    return 0


def med(runs, field):
    vals = [r[field] for r, _ in runs if r]
    return statistics.median(vals) if vals else None


def report(say, plan, impls, res):
    for key, (n, mib, opts, what) in plan.items():
        say()
        say("(%s) %d clients x %d MiB: %s   [loadgen %s]" % (
            key, n, mib, what, " ".join(opts)))
        say("  %-14s %8s %7s %7s %7s %6s %8s %6s" % (
            "server", "makespan", "p50", "p99", "max", "failed", "timeouts",
            "ampl."))
        for label, _ in impls:
            runs = res.get((key, label), [])
            if not any(r for r, _ in runs):
                say("  %-14s no run finished: %s" % (label, runs[0][1] if runs else "-"))
                continue
            say("  %-14s %7.2fs %6.2fs %6.2fs %6.2fs %6d %8d %6.3f%s" % (
                label, med(runs, "seconds"), med(runs, "p50"), med(runs, "p99"),
                med(runs, "max"), int(max(r["failed"] for r, _ in runs if r)),
                int(med(runs, "timeouts")), med(runs, "amplification"),
                "   " + "; ".join(w for _, w in runs if w)[:120]
                if any(w for _, w in runs) else ""))


if __name__ == "__main__":
    sys.exit(main())
