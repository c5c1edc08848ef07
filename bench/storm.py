#!/usr/bin/env python3
"""Boot storms, side by side: our tftpd, tftp-hpa's in.tftpd, atftpd and
dnsmasq under the same load from bench/loadgen, one scenario at a time,
the servers taking turns (each round starts with the next one).

    python3 bench/storm.py                  # scenarios a-e, 3 rounds
    python3 bench/storm.py --storms abcdef --rounds 3 --peer-rounds 1
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

dnsmasq serves on port 69 only, so (as root) the benchmark re-runs itself
in a network namespace of its own, as the interop suite does, and every
server and client runs there, on that namespace's loopback
(--no-dnsmasq: the three others, in the host's). Also per run: each
server's CPU seconds per GiB delivered (its whole process tree), and the
generator's own CPU share (loadgen is one thread: near 100% of a core, it
would be the bottleneck, and the figures would say so). The goals of
issue 19 are marked met or not met at the end.
"""
import argparse
import datetime
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from peers import Dnsmasq, enter_own_netns  # noqa: E402
from run import (AtftpdServer, CpuMeter, HpaServer, OurServer,  # noqa: E402
                 ensure_build, write_results)

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
    # one windowed transfer with and without loss: the share of its
    # lossless throughput it keeps (ours only: in.tftpd and dnsmasq have
    # no window, and pay a 1 s timer per lost block)
    "g": (1, 64, ["-b", "1468", "-w", "16", "-L", "1"],
          "one client, 1468, window 16, 1% loss"),
    "h": (1, 64, ["-b", "1468", "-w", "16"],
          "one client, 1468, window 16, no loss (g's baseline)"),
}
OURS_ONLY = set("gh")

FIELDS = ("ok", "failed", "seconds", "p50", "p99", "max", "timeouts",
          "amplification")


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_loadgen(build, root, port, clients, name, opts, timeout):
    """One storm by bench/loadgen: every client at once, each on an
    address of its own (-A), a 1 s timeout; the RESULT line's figures, or
    None, and why clients failed."""
    argv = [os.path.join(build, "bench", "loadgen"), "-d", root, "-n", "1",
            "-f", name, "-c", str(clients), "-t", str(clients),
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


def loadgen(build, root, srv, clients, size_name, mib, opts, timeout):
    """run_loadgen, with the server's CPU per GiB delivered and the
    generator's own CPU share."""
    gen0 = children_cpu()
    with CpuMeter(srv.proc.pid, 0.2) as cpu:
        r, why = run_loadgen(build, root, srv.port, clients, size_name, opts,
                             timeout)
    if r:
        gib = r["ok"] * mib / 1024.0
        r["cpu_gib"] = cpu.seconds() / gib if gib else float("nan")
        r["gen"] = (children_cpu() - gen0) / max(r["seconds"], 1e-6)
    return r, why


def make_files(root, sizes):
    for mib in sizes:
        path = os.path.join(root, "storm%d.bin" % mib)
        with open(path, "wb") as f:
            f.write(os.urandom(mib * MiB))
        os.chmod(path, 0o666)


def servers(build, root, dnsmasq):
    ours = OurServer(build, root)
    out = [("tftpd (ours)", ours), ("in.tftpd", HpaServer(root)),
           ("atftpd", AtftpdServer(root))]
    if dnsmasq:
        # its limit of 50 transfers at once raised, as atftpd's threads are
        out.append(("dnsmasq", Dnsmasq(root, extra=["--tftp-max=4000"])))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--storms", default="abcde")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--build", default=os.path.join(TOP, "build-bench"))
    ap.add_argument("--timeout", type=int, default=300,
                    help="seconds a run may take before it counts as failed")
    ap.add_argument("--out", default=os.path.join(TOP, "bench", "results"))
    ap.add_argument("--peer-rounds", type=int, default=None,
                    help="the peers only in the first N rounds (they take "
                    "minutes a storm); default: every round")
    ap.add_argument("--no-dnsmasq", action="store_true",
                    help="without dnsmasq, in the host's network namespace")
    a = ap.parse_args()
    if not a.no_dnsmasq:
        enter_own_netns()  # re-runs this program in a namespace of its own
        # in.tftpd resolves -a with AI_ADDRCONFIG, which wants an address
        # besides loopback's: one on a veth pair of the namespace's own.
        for argv in (["link", "add", "storm0", "type", "veth", "peer",
                      "name", "storm1"],
                     ["addr", "add", "192.0.2.1/32", "dev", "storm0"],
                     ["link", "set", "storm0", "up"],
                     ["link", "set", "storm1", "up"]):
            subprocess.run(["ip"] + argv, check=True)
    ensure_build(a.build)
    root = tempfile.mkdtemp(prefix="storm-", dir="/dev/shm")
    os.chmod(root, 0o777)
    plan = {k: STORMS[k] for k in a.storms}
    if a.quick:
        plan = {k: (min(v[0], 20), 1, v[2], v[3]) for k, v in plan.items()}
    make_files(root, {v[1] for v in plan.values()})
    impls = servers(a.build, root, not a.no_dnsmasq)
    for _, s in impls:
        s.start()
    out = []

    def say(line=""):
        print(line, flush=True)
        out.append(line)
    started = datetime.datetime.utcnow()
    say("storm benchmark %s UTC, %d round(s)%s%s" % (
        started.strftime("%Y-%m-%d %H:%M"), a.rounds,
        "" if a.peer_rounds is None else
        " (the peers in the first %d)" % a.peer_rounds,
        " (quick)" if a.quick else ""))
    say("command: " + " ".join(sys.argv))
    res = {}
    try:
        for rnd in range(a.rounds):
            order = impls[rnd % len(impls):] + impls[:rnd % len(impls)]
            for key, (n, mib, opts, _) in plan.items():
                for label, srv in order:
                    if srv is not impls[0][1] and (
                            key in OURS_ONLY or (a.peer_rounds is not None
                                                 and rnd >= a.peer_rounds)):
                        continue
                    r, why = loadgen(a.build, root, srv, n,
                                     "storm%d.bin" % mib, mib, opts, a.timeout)
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
    write_results(a.out, started, "-storm-quick" if a.quick else "-storm", out)
    return 0


def med(runs, field):
    vals = [r[field] for r, _ in runs if r]
    return statistics.median(vals) if vals else None


def report(say, plan, impls, res):
    for key, (n, mib, opts, what) in plan.items():
        say()
        say("(%s) %d clients x %d MiB: %s   [loadgen %s]" % (
            key, n, mib, what, " ".join(opts)))
        say("  %-14s %8s %7s %7s %7s %6s %8s %6s %9s %5s" % (
            "server", "makespan", "p50", "p99", "max", "failed", "timeouts",
            "ampl.", "CPU s/GiB", "gen"))
        for label, _ in impls:
            runs = res.get((key, label), [])
            if key in OURS_ONLY and label != impls[0][0]:
                continue
            if not any(r for r, _ in runs):
                say("  %-14s no run finished: %s" % (label, runs[0][1] if runs else "-"))
                continue
            say("  %-14s %7.2fs %6.2fs %6.2fs %6.2fs %6d %8d %6.3f %9.2f %4.0f%%%s" % (
                label, med(runs, "seconds"), med(runs, "p50"), med(runs, "p99"),
                med(runs, "max"), int(max(r["failed"] for r, _ in runs if r)),
                int(med(runs, "timeouts")), med(runs, "amplification"),
                med(runs, "cpu_gib"), 100 * med(runs, "gen"),
                "   " + "; ".join(w for _, w in runs if w)[:120]
                if any(w for _, w in runs) else ""))
    goals(say, plan, impls, res)


def compare_peers(say, mark, key, runs, impls, res):
    """(b), (c), (d): at least 3x better than the best peer; a peer's storm
    counts only where every client got the file."""
    if not any(res.get((key, l)) for l, _ in impls[1:]):
        say("  [n/a] (%s) makespan against the peers: they were not run "
            "(--peer-rounds 0)" % key)
        return
    peers = [med([(r, w) for r, w in res.get((key, l), [])
                  if r and r["failed"] == 0], "seconds") for l, _ in impls[1:]]
    peers = [p for p in peers if p]
    best = min(peers) if peers else None
    m = med(runs, "seconds")
    mark(best is not None and best >= 3 * m,
         "(%s) makespan at least 3x better than the best peer: %.2f s vs %s"
         % (key, m, "%.2f s (%.1fx)" % (best, best / m) if best
            else "no peer finished"))


def goals(say, plan, impls, res):
    """Issue 19's goals, each met or not, from the medians above."""
    ours = impls[0][0]
    say()
    say("goals (issue 19), from the medians:")

    def mark(ok, text):
        say("  [%s] %s" % ("met" if ok else "NOT met", text))
    for key in plan:
        runs = res.get((key, ours), [])
        done = [r for r, _ in runs if r]
        if not done:
            mark(False, "(%s) ours finished no run" % key)
            continue
        failed = max(r["failed"] for r in done)
        ok_all = failed == 0 and len(done) == len(runs)
        mark(ok_all, "(%s) no client fails (worst round: %d failed)" % (key, failed))
        if key == "a":
            t = max(r["timeouts"] for r in done)
            mark(t == 0, "(a) no client waits out a timeout in a lossless "
                 "storm (worst round: %d)" % t)
        if key in "gh":
            continue
        if key in "bcd":
            compare_peers(say, mark, key, runs, impls, res)
        if key in "bce":
            amp = med(runs, "amplification")
            mark(amp <= 1.1, "(%s) amplification <= 1.1: %.3f" % (key, amp))
        p50, p99 = med(runs, "p50"), med(runs, "p99")
        mark(p99 <= 2 * p50, "(%s) p99 <= 2 x p50 (no client starved): "
             "%.2f s vs %.2f s" % (key, p99, p50))
        gen = med(runs, "gen")
        if key == "a":
            # (a)'s goal: as fast as the generator can go
            mark(gen >= 0.85, "(a) at the generator's own ceiling: it used "
                 "%.0f%% of a core" % (100 * gen))
        else:
            mark(gen < 0.9, "(%s) the generator is not the bottleneck: it "
                 "used %.0f%% of a core" % (key, 100 * gen))
    lossy, clean = res.get(("g", ours)), res.get(("h", ours))
    if lossy and clean and med(lossy, "seconds") and med(clean, "seconds"):
        keep = med(clean, "seconds") / med(lossy, "seconds")
        size = plan["g"][1] * MiB / 1e6
        mark(keep >= 0.5, "(g/h) 1%% loss keeps >= 50%% of the lossless "
             "throughput: %.0f%% (%.0f vs %.0f MB/s)" % (
                 100 * keep, size / med(lossy, "seconds"),
                 size / med(clean, "seconds")))


if __name__ == "__main__":
    sys.exit(main())
