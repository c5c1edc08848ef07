#!/usr/bin/env python3
"""The HTTP origin, side by side with the local root: coalescing of a cold
boot storm, and warm-cache throughput.

    python3 bench/origin.py                 # 5 rounds, 200 clients x 32 MiB
                                            # (about 6 min on 2 cores)
    python3 bench/origin.py --rounds 9 --clients 300 --size-mib 64
    python3 bench/origin.py --quick         # 20 clients x 4 MiB, 1 round

The script starts nginx (/usr/sbin/nginx, Debian's nginx-light will do) as
the origin, on a free loopback port with a configuration, logs and
temporary directories of its own, serving one generated random file of
--size-mib MiB under a new name (a hard link) for every storm, so that
every storm asks for a name the tftpd has never seen. GETs are counted per
name from nginx's access log. Everything runs on 127.0.0.1 with the files,
the caches and tftpd's spools ($TMPDIR) on tmpfs (/dev/shm). In each
round, in turns (each round starts with the next one):

  1  cold storm, --cache: a fresh tftpd --origin --cache (an empty cache
     directory) and --clients clients of bench/loadgen all at once, each
     on a loopback address of its own (127.1.x.y), 1 s client timeout,
     blksize 1468 + windowsize 4, every byte verified. Recorded: the
     makespan, the clients' p50/p99/max, failures, amplification, and the
     GETs nginx answered for the name (the goal: exactly one).
  2  the same storm against a tftpd serving the same file from its root
     (no origin): the baseline the makespans are compared with.
  3  the cold storm with --origin but no --cache (the body in a spool).
  4  (1) and (2) again in lockstep (blksize 1468, windowsize 1), unless
     --no-lockstep.
  5  warm-cache throughput: one client (build/tftp/tftp, the file to
     /dev/null) fetching the file from the local root and from the warm
     cache of the tftpd of (1) (--cache-ttl 86400: no revalidation), in
     turns, at blksize 1468 window 1 and at blksize 65464 window 16. Each
     server's copy is first downloaded once by loadgen, every byte
     compared; the timed runs are not compared (as run.py's 2n).

Every tftpd runs with --metrics (all alike); its cache lookups (miss,
joined, hit) tell the clients that joined the one fetch from those that
came after it. A body just fetched is shared while any transfer still
reads it; a request after the last one has finished starts a new GET
without --cache (and is a cache hit with it).

Medians over the rounds, the ratios origin/local, and the issue's goals
(one GET per cold storm; warm cache within 20% of the local root) marked
met or NOT MET are printed and written to
bench/results/YYYY-MM-DD-HHMM-origin.txt. Like run.py this is a
measurement, not a test: the exit status is 0, but a transfer that fails,
a server that dies, or a storm that costs more than one GET is reported.
"""
import argparse
import datetime
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from run import (OurServer, ensure_build, free_tcp_port, rotate,  # noqa: E402
                 write_results)
from storm import run_loadgen  # noqa: E402

MiB = 1 << 20
NGINX = "/usr/sbin/nginx"
TTL = 86400            # the warm cache is never revalidated during the run


# ---- the origin -----------------------------------------------------------

class Nginx:
    """nginx in the foreground on 127.0.0.1:free port, everything it
    writes under `prefix`, serving `www`."""

    def __init__(self, prefix, www, exe=NGINX):
        self.prefix, self.www, self.exe = prefix, www, exe
        self.proc = None
        self.port = None
        self.log = os.path.join(prefix, "access.log")
        self.err = os.path.join(prefix, "error.log")

    def conf(self):
        p = self.prefix
        user = "user root root;\n" if os.getuid() == 0 else ""
        return user + """daemon off;
worker_processes 1;
pid %(p)s/nginx.pid;
error_log %(p)s/error.log warn;
events { worker_connections 1024; }
http {
    log_format bench '$request_method $status $body_bytes_sent $request_time $msec $uri';
    access_log %(p)s/access.log bench;
    client_body_temp_path %(p)s/body;
    proxy_temp_path %(p)s/proxy;
    fastcgi_temp_path %(p)s/fastcgi;
    uwsgi_temp_path %(p)s/uwsgi;
    scgi_temp_path %(p)s/scgi;
    default_type application/octet-stream;
    sendfile on;
    server {
        listen 127.0.0.1:%(port)d;
        root %(www)s;
    }
}
""" % {"p": p, "port": self.port, "www": self.www}

    def start(self):
        if not os.access(self.exe, os.X_OK):
            raise SystemExit("origin.py: %s not found (apt-get install "
                             "nginx-light)" % self.exe)
        for _ in range(5):
            self.port = free_tcp_port()
            conf = os.path.join(self.prefix, "nginx.conf")
            with open(conf, "w") as f:
                f.write(self.conf())
            self.out = open(os.path.join(self.prefix, "stderr"), "wb")
            self.proc = subprocess.Popen(
                [self.exe, "-p", self.prefix, "-e", self.err, "-c", conf],
                stdin=subprocess.DEVNULL, stdout=self.out, stderr=self.out)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    socket.create_connection(("127.0.0.1", self.port),
                                             0.5).close()
                    return self
                except OSError:
                    time.sleep(0.05)
            self.stop()     # the port was taken meanwhile, or it failed
        raise SystemExit("origin.py: nginx did not start:\n" + self.errors())

    def errors(self):
        try:
            with open(self.err, errors="replace") as f:
                return f.read()[-1000:]
        except OSError:
            return ""

    def requests(self, name):
        """(method, status, bytes, seconds, end) of every request for
        /name; end: when nginx sent its last byte (Unix time)."""
        out = []
        try:
            with open(self.log) as f:
                for line in f:
                    x = line.split()
                    if len(x) == 6 and x[5] == "/" + name:
                        out.append((x[0], int(x[1]), int(x[2]), float(x[3]),
                                    float(x[4])))
        except OSError:
            pass
        return out

    def gets(self, name, settle=2.0):
        """The GETs for /name. nginx logs a request when it has sent the
        last byte, before tftpd has passed it on, so this is complete by
        the time a storm has ended; up to `settle` s are allowed anyway
        for a line that has not appeared yet."""
        deadline = time.monotonic() + settle
        while True:
            r = [x for x in self.requests(name) if x[0] == "GET"]
            if r or time.monotonic() >= deadline:
                return r
            time.sleep(0.05)

    def stop(self):
        if self.proc is None:
            return
        # Its worker is its child: noted before the master goes.
        workers = []
        try:
            with open("/proc/%d/task/%d/children" % (self.proc.pid,
                                                      self.proc.pid)) as f:
                workers = [int(w) for w in f.read().split()]
        except OSError:
            pass
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        for w in workers:
            try:
                with open("/proc/%d/comm" % w) as f:
                    if f.read().strip() == "nginx":
                        os.kill(w, signal.SIGKILL)
            except OSError:
                pass
        self.proc = None
        self.out.close()


def nginx_version(exe=NGINX):
    p = subprocess.run([exe, "-v"], capture_output=True, text=True,
                       timeout=10)
    return (p.stderr or p.stdout).strip().replace("nginx version: ", "")


def diff(after, before):
    """Counters: after - before (an error, if either has one)."""
    if "error" in after or "error" in before:
        return {"error": after.get("error") or before.get("error")}
    return {k: v - before.get(k, 0) for k, v in after.items()}


def shown(lookups):
    return ", ".join("%s %s" % kv for kv in sorted(lookups.items())
                     if kv[1]) or "none"


# ---- the run --------------------------------------------------------------

class Bench:
    def __init__(self, a):
        self.a = a
        self.t0 = time.monotonic()
        self.started = datetime.datetime.utcnow()
        self.build = os.path.abspath(a.build)
        self.work = tempfile.mkdtemp(prefix="tftp-origin-", dir="/dev/shm")
        self.www = os.path.join(self.work, "www")       # the origin's files
        self.local = os.path.join(self.work, "local")   # the local root
        self.empty = os.path.join(self.work, "empty")   # the origin tftpds'
        self.spool = os.path.join(self.work, "spool")   # their $TMPDIR
        for d in (self.www, self.local, self.empty, self.spool):
            os.makedirs(d)
            os.chmod(d, 0o777)
        self.size = a.size_mib * MiB
        self.master = os.path.join(self.work, "image.bin")
        self.lines = []
        self.res = {}         # (what, variant) -> [dict of figures]
        self.gets = {}        # variant -> [GET count per round]
        self.getinfo = {}     # variant -> [(status, bytes, seconds)]
        self.joins = {}       # variant -> [cache lookups by result]
        self.rates = {}       # (options, "local" | "cache") -> [B/s]
        self.failures = []
        self.seq = 0
        # A storm that takes longer counts as failed.
        self.storm_timeout = 120 if a.quick else 300
        self.nginx = Nginx(os.path.join(self.work, "nginx"), self.www)
        os.makedirs(self.nginx.prefix)

    # -- output
    def say(self, s=""):
        print(s, flush=True)
        self.lines.append(s)

    def fail(self, what, detail):
        msg = "FAILED %s: %s" % (what, detail.strip()[-400:])
        self.failures.append(msg)
        self.say("    " + msg)

    # -- files and servers
    def make_file(self):
        with open(self.master, "wb") as f:
            for _ in range(self.a.size_mib):
                f.write(os.urandom(MiB))
        os.chmod(self.master, 0o644)

    def new_name(self, tag):
        """A name no tftpd has seen: a hard link to the file, both in the
        origin's directory and in the local root (loadgen's reference
        copy is the origin's)."""
        self.seq += 1
        name = "%s-%03d.bin" % (tag, self.seq)
        os.link(self.master, os.path.join(self.www, name))
        os.link(self.master, os.path.join(self.local, name))
        return name

    def origin_server(self, cache):
        """A fresh tftpd on the origin; with a fresh, empty cache dir."""
        extra = ["--origin", "http://127.0.0.1:%d/" % self.nginx.port]
        cdir = None
        if cache:
            cdir = tempfile.mkdtemp(prefix="cache-", dir=self.work)
            extra += ["--cache", cdir, "--cache-ttl", str(TTL)]
        srv = OurServer(self.build, self.empty, extra + self.metrics_opt())
        srv.cache_dir = cdir
        return srv.start()

    def local_server(self):
        srv = OurServer(self.build, self.local, self.metrics_opt())
        return srv.start()

    def metrics_opt(self):
        """--metrics on every server, ours and the local root's alike:
        the cache lookups tell a storm's clients that joined the one
        fetch from those that came after it (cache hits)."""
        return ["--metrics", "127.0.0.1:%d" % free_tcp_port()]

    def lookups(self, srv):
        """tftp_cache_lookups_total by result, from the server's /metrics."""
        i = srv.argv(0).index("--metrics")
        url = "http://%s/metrics" % srv.argv(0)[i + 1]
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                text = r.read().decode()
        except OSError as e:
            return {"error": str(e)}
        return {m.group(1): int(float(m.group(2))) for m in re.finditer(
            r'^tftp_cache_lookups_total\{result="(\w+)"\} (\S+)', text,
            re.M)}

    def stop(self, srv):
        srv.cleanup()
        if getattr(srv, "cache_dir", None):
            shutil.rmtree(srv.cache_dir, ignore_errors=True)

    def alive(self, srv, what):
        if srv.proc is not None and srv.proc.poll() is not None:
            self.fail(what, "the server died (exit status %s): %s" % (
                srv.proc.poll(), srv.log()[-300:]))
            return False
        return True

    # -- the storm
    def storm(self, variant, opts, srv, name, origin):
        """One storm against srv; its figures under (storm, variant)."""
        n = self.a.clients
        before = self.lookups(srv) if origin else {}
        r, why = run_loadgen(self.build, self.www, srv.port, n, name,
                               opts, self.storm_timeout)
        alive = self.alive(srv, "storm %s" % variant)
        gets = self.nginx.gets(name) if origin else []
        figs = ""
        if r:
            self.res.setdefault(("storm", variant), []).append(r)
            figs = ("makespan %6.2f s  p50 %6.2f  p99 %6.2f  failed %d  "
                    "timeouts %d  ampl. %.3f" % (
                        r["seconds"], r["p50"], r["p99"], r["failed"],
                        r["timeouts"], r["amplification"]))
        if origin:
            self.gets.setdefault(variant, []).append(len(gets))
            self.getinfo.setdefault(variant, []).extend(
                (s, b, t) for _, s, b, t, _ in gets)
            others = [x for x in self.nginx.requests(name) if x[0] != "GET"]
            lk = diff(self.lookups(srv), before)
            self.joins.setdefault(variant, []).append(lk)
            figs += "  origin GETs %d%s%s" % (
                len(gets), " (%s)" % ", ".join(
                    "%d, %d bytes, %.2f s" % (s, b, t)
                    for _, s, b, t, _ in gets) if gets else "",
                "; other requests %d" % len(others) if others else "")
            figs += "\n  %-22s cache lookups: %s" % ("", shown(lk))
        self.say("  %-22s %s" % (variant, figs or "no result"))
        if not r:
            self.fail("storm %s" % variant, why)
        elif r["failed"] or r["ok"] != n:
            self.fail("storm %s" % variant, "%d of %d clients verified, %d "
                      "failed: %s" % (r["ok"], n, r["failed"], why))
        if origin and len(gets) != 1:
            # When each GET began and ended, from the first's start.
            t0 = min((e - t for _, _, _, t, e in gets), default=0)
            self.fail("storm %s" % variant, "%d origin GETs for %s, "
                      "expected 1 (nginx: %s; tftpd cache lookups: %s; "
                      "client timeouts: %s)" % (
                          len(gets), name, ", ".join(
                              "GET %d from %.3f to %.3f s" % (
                                  i + 1, e - t - t0, e - t0)
                              for i, (_, _, _, t, e) in enumerate(gets)),
                          shown(lk), int(r["timeouts"]) if r else "-"))
        return r is not None and alive

    # -- single-client throughput
    def verify(self, what, srv, name):
        """One download by loadgen, every byte compared (untimed)."""
        argv = [os.path.join(self.build, "bench", "loadgen"), "-d", self.www,
                "-f", name, "-n", "1", "-c", "1", "-b", "65464", "-w", "16",
                "127.0.0.1:%d" % srv.port]
        try:
            p = subprocess.run(argv, capture_output=True, text=True,
                               timeout=60)
            ok = p.returncode == 0 and "RESULT ok=1 failed=0" in p.stdout
            out = p.stdout + p.stderr
        except subprocess.TimeoutExpired:
            ok, out = False, "did not finish in 60 s"
        if not ok:
            self.fail("verify %s" % what, out)
        return ok

    def timed_get(self, srv, name, opts):
        argv = [os.path.join(self.build, "tftp", "tftp"), "get", "-q"] + \
            opts + ["127.0.0.1:%d" % srv.port, name, "-"]
        t0 = time.monotonic()
        try:
            p = subprocess.run(argv, stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, timeout=60)
            rc, err = p.returncode, p.stderr.decode("utf-8", "replace")
        except subprocess.TimeoutExpired:
            rc, err = -1, "timed out after 60 s"
        return time.monotonic() - t0, rc, err

    def warm(self, rnd, local, cached, name):
        """Local root and warm cache in turns, each option set."""
        pair = rotate([("local", local), ("cache", cached)], rnd)
        for label, opts, reps in (("1468 w1", ["-b", "1468"], 3),
                                  ("65464 w16", ["-b", "65464", "-W", "16"],
                                   11)):
            shown = {}
            for _ in range(reps):
                for key, srv in pair:
                    t, rc, err = self.timed_get(srv, name, opts)
                    if rc != 0:
                        self.fail("warm %s %s" % (label, key),
                                  "tftp exit %d: %s" % (rc, err))
                        continue
                    self.rates.setdefault((label, key), []).append(
                        self.size / t)
                    shown.setdefault(key, []).append(self.size / t / 1e6)
            self.say("  warm %-9s local %s MB/s; cache %s MB/s" % (
                label, " ".join("%.0f" % v for v in shown.get("local", [])),
                " ".join("%.0f" % v for v in shown.get("cache", []))))

    # -- one round
    def round(self, rnd):
        a = self.a
        self.say("round %d/%d" % (rnd + 1, a.rounds))
        w4 = ["-b", "1468", "-w", "4"]
        w1 = ["-b", "1468"]
        local = self.local_server()
        keep = None         # the --cache server of the first storm
        keep_name = None
        try:
            plan = [("cache", w4, "w4"), ("local", w4, "w4"),
                    ("spool", w4, "w4")]
            plan = rotate(plan, rnd)
            if not a.no_lockstep:
                plan += rotate([("cache", w1, "w1"), ("local", w1, "w1")],
                               rnd)
            for kind, opts, win in plan:
                variant = "%s %s" % (kind, win)
                name = self.new_name("%s-%s" % (kind, win))
                if kind == "local":
                    self.storm(variant, opts, local, name, False)
                    continue
                srv = self.origin_server(kind == "cache")
                ok = self.storm(variant, opts, srv, name, True)
                if kind == "cache" and win == "w4" and ok:
                    keep, keep_name = srv, name
                else:
                    self.stop(srv)
            if keep is None:
                self.fail("warm", "no cache was filled in this round")
                return
            # The warm cache and the local root, on the same name.
            before = self.lookups(keep)
            if self.verify("local", local, keep_name) and \
                    self.verify("warm cache", keep, keep_name):
                self.warm(rnd, local, keep, keep_name)
            lk = diff(self.lookups(keep), before)
            self.warm_lookups.append(lk)
            self.say("  warm cache lookups: %s" % shown(lk))
            extra = len(self.nginx.requests(keep_name)) - 1
            self.warm_extra.append(extra)
            if extra:
                self.fail("warm", "%d more origin requests for %s while it "
                          "was served from the warm cache: %s" % (
                              extra, keep_name,
                              self.nginx.requests(keep_name)[1:]))
            self.alive(keep, "warm cache")
        finally:
            if keep is not None:
                self.stop(keep)
            self.stop(local)
            for d in (self.www, self.local):
                for f in os.listdir(d):
                    os.unlink(os.path.join(d, f))

    def run(self):
        a = self.a
        self.header()
        self.make_file()
        os.environ["TMPDIR"] = self.spool      # the servers' spools: tmpfs
        self.warm_extra = []
        self.warm_lookups = []
        self.nginx.start()
        self.say("origin: %s on 127.0.0.1:%d (sendfile on, 1 worker)"
                 % (nginx_version(), self.nginx.port))
        self.say()
        try:
            for rnd in range(a.rounds):
                self.round(rnd)
        finally:
            self.nginx.stop()
        self.report()
        self.say("run took %.0f s" % (time.monotonic() - self.t0))

    def header(self):
        a = self.a
        rev = subprocess.run(["git", "-C", TOP, "describe", "--always",
                              "--dirty"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL).stdout.decode().strip()
        cpu = "?"
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        self.say("origin benchmark %s  (%s)" % (
            self.started.strftime("%Y-%m-%d %H:%M UTC"),
            "quick" if a.quick else "full"))
        self.say("commit %s; %s; %d CPUs (%s); %d round(s)" % (
            rev, platform.release(), os.cpu_count(), cpu, a.rounds))
        self.say("command: python3 bench/origin.py %s" % " ".join(sys.argv[1:]))
        self.say("file %d MiB (random); storms of %d clients at once, each on "
                 "its own 127.1.x.y, 1 s client timeout, every byte verified "
                 "(bench/loadgen -A -T 1000); files, caches and spools on "
                 "tmpfs" % (a.size_mib, a.clients))
        self.say("tftpd: -m 4000 --max-per-client 4000 (as in run.py) and "
                 "--metrics, every server alike; origin: --origin "
                 "http://127.0.0.1:PORT/, with --cache (empty) --cache-ttl %d "
                 "or without (spool in $TMPDIR)" % TTL)

    # -- report
    def med(self, variant, field):
        v = [r[field] for r in self.res.get(("storm", variant), [])]
        return statistics.median(v) if v else None

    def report(self):
        s = self.say
        a = self.a
        s()
        s("=" * 78)
        variants = [("cache", "tftpd --origin --cache, cold"),
                    ("local", "tftpd, local root"),
                    ("spool", "tftpd --origin, no cache")]
        wins = [("w4", "blksize 1468 windowsize 4")]
        if not a.no_lockstep:
            wins.append(("w1", "blksize 1468 windowsize 1 (lockstep)"))
        n = 1
        for win, title in wins:
            s("%d. cold storm, %d clients x %d MiB, %s (medians)" % (
                n, a.clients, a.size_mib, title))
            n += 1
            s("  %-30s %8s %7s %7s %7s %6s %6s  %s" % (
                "server", "makespan", "p50", "p99", "max", "failed", "ampl.",
                "origin GETs per round"))
            for kind, label in variants:
                v = "%s %s" % (kind, win)
                runs = self.res.get(("storm", v), [])
                if not runs and v not in self.gets:
                    continue
                spread = "[%s]" % " ".join("%.2f" % r["seconds"] for r in runs)
                if runs:
                    s("  %-30s %7.2fs %6.2fs %6.2fs %6.2fs %6d %6.3f  %s" % (
                        label, self.med(v, "seconds"), self.med(v, "p50"),
                        self.med(v, "p99"), self.med(v, "max"),
                        int(max(r["failed"] for r in runs)),
                        self.med(v, "amplification"),
                        " ".join(str(g) for g in self.gets[v])
                        if v in self.gets else "-"))
                    s("  %-30s makespans %s" % ("", spread))
                else:
                    s("  %-30s no storm finished" % label)
            base = self.med("local " + win, "seconds")
            for kind, label in variants:
                m = self.med("%s %s" % (kind, win), "seconds")
                if kind != "local" and m and base:
                    s("  makespan %s / local root: %.2fx" % (
                        "origin+cache" if kind == "cache" else
                        "origin, no cache", m / base))
            for kind, label in variants:
                lks = self.joins.get("%s %s" % (kind, win))
                if lks:
                    s("  cache lookups per storm, %s: %s" % (
                        "--cache" if kind == "cache" else "no cache",
                        "; ".join(shown(x) for x in lks)))
            info = self.getinfo.get("cache " + win, [])
            if info:
                s("  the origin GET (nginx): status %s, %s bytes, median "
                  "%.2f s from request to last byte" % (
                      "/".join(sorted({str(x[0]) for x in info})),
                      "/".join(sorted({str(x[1]) for x in info})),
                      statistics.median(x[2] for x in info)))
            s()
        s("%d. warm cache vs local root, one client (build/tftp/tftp, file "
          "to /dev/null), %d MiB (medians; each time includes starting the "
          "client)" % (n, a.size_mib))
        ratios = {}
        for label in ("1468 w1", "65464 w16"):
            lo = self.rates.get((label, "local"), [])
            ca = self.rates.get((label, "cache"), [])
            if not lo or not ca:
                s("  %-10s no result" % label)
                continue
            ml, mc = statistics.median(lo), statistics.median(ca)
            ratios[label] = mc / ml
            s("  %-10s local root  %8.1f MB/s [%s]" % (
                label, ml / 1e6, " ".join("%.0f" % (x / 1e6) for x in lo)))
            s("  %-10s warm cache  %8.1f MB/s [%s]  cache/local %.2fx" % (
                "", mc / 1e6, " ".join("%.0f" % (x / 1e6) for x in ca),
                mc / ml))
        s("  origin requests while the warm cache was served, per round: %s"
          % (" ".join(str(x) for x in self.warm_extra) or "-"))
        s("  cache lookups meanwhile, per round: %s" % (
            "; ".join(shown(x) for x in self.warm_lookups) or "-"))
        s()
        self.goals(ratios)
        if self.failures:
            s("%d FAILED:" % len(self.failures))
            for f in self.failures:
                s("  " + f)
        else:
            s("every transfer verified, every server alive")

    def goals(self, ratios):
        s, a = self.say, self.a
        s("goals (from the figures above)")

        def line(ok, what, detail):
            s("  %s  %-50s %s" % ("n/a    " if ok is None else
                                  "met    " if ok else "NOT MET", what,
                                  detail))
        full = a.clients >= 200 and a.size_mib >= 32
        scale = "" if full else " (this run: %d x %d MiB, not the issue's " \
            "200 x 32)" % (a.clients, a.size_mib)
        for win in ("w4",) + (() if a.no_lockstep else ("w1",)):
            g = self.gets.get("cache " + win, [])
            runs = self.res.get(("storm", "cache " + win), [])
            ok = len(g) == a.rounds and all(x == 1 for x in g) and \
                len(runs) == a.rounds and \
                all(r["ok"] == a.clients for r in runs)
            if ok and not full:
                ok = None       # too small to say
            line(ok, "cold storm (--cache, %s): exactly 1 origin GET" % win,
                 "GETs per round %s, clients failed %s%s" % (
                     " ".join(map(str, g)) or "-",
                     " ".join("%d" % r["failed"] for r in runs) or "-", scale))
        g = self.gets.get("spool w4", [])
        runs = self.res.get(("storm", "spool w4"), [])
        ok = len(g) == a.rounds and all(x == 1 for x in g) and \
            len(runs) == a.rounds and all(r["ok"] == a.clients for r in runs)
        if ok and not full:
            ok = None
        line(ok, "cold storm (no cache, w4): exactly 1 origin GET",
             "GETs per round %s, clients failed %s%s" % (
                 " ".join(map(str, g)) or "-",
                 " ".join("%d" % r["failed"] for r in runs) or "-", scale))
        for label in ("1468 w1", "65464 w16"):
            r = ratios.get(label)
            line(r is not None and r >= 0.8,
                 "warm cache >= 0.8x local root (%s)" % label,
                 "cache/local %s" % ("%.2fx" % r if r is not None else "-"))
        s()

    def save(self):
        write_results(self.a.out, self.started,
                      "-origin-quick" if self.a.quick else "-origin", self.lines)

    def cleanup(self):
        shutil.rmtree(self.work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--clients", type=int, default=200)
    ap.add_argument("--size-mib", type=int, default=32)
    ap.add_argument("--quick", action="store_true",
                    help="20 clients x 4 MiB and one round: a smoke run")
    ap.add_argument("--no-lockstep", action="store_true",
                    help="skip the lockstep (windowsize 1) storms")
    ap.add_argument("--build", default=os.path.join(TOP, "build-bench"),
                    help="meson build directory (default build-bench)")
    ap.add_argument("--out", default=os.path.join(TOP, "bench", "results"))
    a = ap.parse_args()
    given = " ".join(sys.argv[1:])
    if a.quick:
        if "--rounds" not in given:
            a.rounds = 1
        if "--clients" not in given:
            a.clients = 20
        if "--size-mib" not in given:
            a.size_mib = 4
    if a.rounds < 1 or a.clients < 1 or a.size_mib < 1:
        ap.error("--rounds, --clients and --size-mib must be at least 1")
    ensure_build(a.build)
    b = Bench(a)
    try:
        b.run()
        b.save()
    finally:
        b.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
