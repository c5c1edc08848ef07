#!/usr/bin/env python3
"""tftprelay: a TID-aware UDP relay that injects network faults into TFTP.

Put it in front of any TFTP server; point any client at the relay. Neither
program is changed:

    client  --->  relay listen port  --->  server listen port       (request)
    client  <---  relay port D_T     <---  server TID T             (replies)
    client  --->  relay port D_T     --->  server TID T             (rest)

For every client (address, port) the relay opens one upstream socket U that
talks to the server, and for every transfer ID T the server answers from it
opens one downstream socket D_T, so the client sees D_T as the server's TID
exactly as it would see T. Two server TIDs for one client (a duplicated
request answered twice) give two D sockets, and whatever the client answers
to either (ERROR 5, ...) reaches the matching server TID.

Faults are drawn per packet and per direction (c2s: client to server, s2c:
server to client) from random.Random streams seeded with the seed and the
direction, so a run is reproducible for a given packet sequence:

  drop     the packet is discarded
  dup      the packet is sent twice
  reorder  the packet is held back until the next packet of the same flow has
           gone out (or --reorder-ms has passed), so that one overtakes it
  delay    the packet is delayed by a uniform 0..--delay-ms milliseconds
  latency  every packet is delayed by a fixed --latency-ms (slow link)

--reject-options answers every RRQ/WRQ that carries options with ERROR 8
(from a fresh port, as a server would) and forwards option-less requests:
a middlebox or old server that refuses RFC 2347, in front of a real server.

Command line (the listening port is printed on stdout as
"listening HOST PORT"):

  tftprelay.py --server 127.0.0.1:6969 --drop 0.1 --dup 0.05 \\
               --reorder 0.05 --seed 7 --stats stats.json

SIGTERM or SIGINT stops it and writes the counters (JSON) to --stats;
--stats-every SEC also rewrites that file while it runs. Only loopback
addresses are accepted unless --any-address is given.

Python API for tests (tests/lib on PYTHONPATH):

  with RelayProcess(server_port, drop=0.1, dup=0.05, reorder=0.05,
                    seed=1) as r:        # a subprocess; or RelayThread(...)
      ... point the client at 127.0.0.1:r.port ...
      r.stats()                          # counters so far
  r.final                                # counters after stop()

Keyword arguments: drop, dup, reorder, delay (both directions) and
drop_c2s, drop_s2c, ... (one direction), seed, latency_ms, delay_ms,
reorder_ms, reject_options, spare, server_host, trace (a file path).
"""

import argparse
import heapq
import ipaddress
import json
import os
import random
import selectors
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback

OP_RRQ, OP_WRQ, OP_DATA, OP_ACK, OP_ERROR, OP_OACK = 1, 2, 3, 4, 5, 6
OPNAMES = {1: "RRQ", 2: "WRQ", 3: "DATA", 4: "ACK", 5: "ERROR", 6: "OACK"}
DIRECTIONS = ("c2s", "s2c")
FAULTS = ("drop", "dup", "reorder", "delay")
# unsent: copies that were to be forwarded but never left (a send error,
# their session collected, or still waiting when the relay stopped), so
# that forwarded + unsent == packets - dropped + duplicated always holds.
COUNTERS = ("packets", "bytes", "forwarded", "dropped", "duplicated", "held",
            "reordered", "delayed", "unsent")


def parse_hostport(s):
    """'127.0.0.1:69', '[::1]:69' -> (host, port)."""
    if s.startswith("["):
        host, _, rest = s[1:].partition("]")
        return host, int(rest.lstrip(":"))
    host, _, port = s.rpartition(":")
    return host, int(port)


def opcode(pkt):
    return struct.unpack("!H", pkt[:2])[0] if len(pkt) >= 2 else None


def request_has_options(pkt):
    """An RRQ/WRQ with anything after filename NUL mode NUL."""
    parts = pkt[2:].split(b"\0")
    # filename, mode, [opt, val]..., '' (trailing NUL)
    return len(parts) > 3 and any(parts[2:])


def describe(pkt):
    if len(pkt) < 2:
        return "runt(%d)" % len(pkt)
    op = opcode(pkt)
    name = OPNAMES.get(op, "op%d" % op)
    if op in (OP_DATA, OP_ACK) and len(pkt) >= 4:
        blk = struct.unpack("!H", pkt[2:4])[0]
        return "%s %d len %d" % (name, blk, len(pkt) - 4)
    if op == OP_ERROR and len(pkt) >= 4:
        code = struct.unpack("!H", pkt[2:4])[0]
        return "ERROR %d %r" % (code, pkt[4:].split(b"\0")[0][:60])
    if op in (OP_RRQ, OP_WRQ, OP_OACK):
        return "%s %r" % (name, pkt[2:].split(b"\0")[:12])
    return name


class Faults:
    """Fault probabilities for one direction."""

    def __init__(self, drop=0.0, dup=0.0, reorder=0.0, delay=0.0):
        for name, v in (("drop", drop), ("dup", dup), ("reorder", reorder),
                        ("delay", delay)):
            if not 0.0 <= float(v) <= 1.0:
                raise ValueError("%s probability %r not in [0, 1]" % (name, v))
        self.drop, self.dup = float(drop), float(dup)
        self.reorder, self.delay = float(reorder), float(delay)

    def __repr__(self):
        return "drop=%g dup=%g reorder=%g delay=%g" % (
            self.drop, self.dup, self.reorder, self.delay)


class Session:
    """One client (address, port): its upstream socket and its server TIDs."""

    def __init__(self, client, up):
        self.client = client
        self.up = up
        self.downs = {}        # server TID (addr, port) -> downstream socket
        self.last = time.monotonic()
        self.seen = {"c2s": 0, "s2c": 0}   # packets per direction


class Relay:
    """The relay itself: run() is its event loop (one thread), which ends
    when .running is set to False (any thread) or at the deadline."""

    def __init__(self, listen, server, c2s, s2c, seed=0, latency_ms=0.0,
                 delay_ms=20.0, reorder_ms=30.0, reject_options=False,
                 idle_s=300.0, trace=None, spare=0):
        self.server = server
        self.spare = spare
        self.family = socket.AF_INET6 if ":" in listen[0] else socket.AF_INET
        self.host = listen[0]
        self.faults = {"c2s": c2s, "s2c": s2c}
        self.rng = {d: random.Random("%s/%s" % (seed, d)) for d in DIRECTIONS}
        self.latency = latency_ms / 1000.0
        self.delay_max = delay_ms / 1000.0
        self.reorder_max = reorder_ms / 1000.0
        self.reject_options = reject_options
        self.idle_s = idle_s
        self.trace = trace
        self.sel = selectors.DefaultSelector()
        self.listen = self._socket(listen[1])
        self.port = self.listen.getsockname()[1]
        self.sel.register(self.listen, selectors.EVENT_READ, ("listen", None, None))
        self.sessions = {}         # client addr -> Session
        self.timers = []           # heap of (due, seq, kind, payload)
        self.seq = 0
        self.held = {}             # flow (sock, dest) -> (pkt, d, seq, copies)
        self.running = True
        self.stats = {d: dict.fromkeys(COUNTERS, 0) for d in DIRECTIONS}
        for d in DIRECTIONS:
            self.stats[d]["ops"] = {}
        self.stats.update({"sessions": 0, "server_tids": 0,
                           "rejected_requests": 0, "strangers": 0,
                           "send_errors": 0, "internal_errors": 0,
                           "seed": str(seed), "faults": {
                               d: vars(self.faults[d]).copy() for d in DIRECTIONS}})

    def _socket(self, port=0):
        s = socket.socket(self.family, socket.SOCK_DGRAM)
        for opt, size in ((socket.SO_RCVBUF, 4 << 20), (socket.SO_SNDBUF, 4 << 20)):
            try:
                s.setsockopt(socket.SOL_SOCKET, opt, size)
            except OSError:
                pass
        s.bind((self.host, port))
        s.setblocking(False)
        return s

    def snapshot(self):
        """A deep copy of the counters (safe to call from another thread)."""
        return json.loads(json.dumps(self.stats))

    # -- output with faults -------------------------------------------------

    def _send_now(self, sock, pkt, dest, d):
        if sock.fileno() < 0:
            self.stats[d]["unsent"] += 1
            return              # its session was collected meanwhile
        try:
            sock.sendto(pkt, dest)
            self.stats[d]["forwarded"] += 1
        except OSError:
            self.stats["send_errors"] += 1
            self.stats[d]["unsent"] += 1
        if self.trace:
            self.trace.write("%.6f %s %s -> %s %s\n" % (
                time.monotonic(), d, sock.getsockname()[1], dest[1],
                describe(pkt)))

    def _schedule(self, due, kind, payload):
        self.seq += 1
        heapq.heappush(self.timers, (due, self.seq, kind, payload))

    def _out(self, sock, pkt, dest, d, when):
        if when <= time.monotonic():
            self._send_now(sock, pkt, dest, d)
        else:
            self._schedule(when, "send", (sock, pkt, dest, d))

    def emit(self, sock, pkt, dest, d, sess=None):
        f, r, st = self.faults[d], self.rng[d], self.stats[d]
        st["packets"] += 1
        st["bytes"] += len(pkt)
        name = OPNAMES.get(opcode(pkt), "other")
        st["ops"][name] = st["ops"].get(name, 0) + 1
        if sess is not None:
            sess.seen[d] += 1
            if sess.seen[d] <= self.spare:
                # The session's first packets (the handshake) pass as
                # they are, without a draw.
                st["spared"] = st.get("spared", 0) + 1
                self._out(sock, pkt, dest, d, time.monotonic() + self.latency)
                return
        # Draw every decision each time so the stream stays aligned.
        u_drop, u_dup, u_reo, u_del, u_amt = (r.random() for _ in range(5))
        if u_drop < f.drop:
            st["dropped"] += 1
            if self.trace:
                self.trace.write("%.6f %s DROP %s\n" % (time.monotonic(), d,
                                                         describe(pkt)))
            return
        when = time.monotonic() + self.latency
        if u_del < f.delay:
            st["delayed"] += 1
            when += u_amt * self.delay_max
        copies = 2 if u_dup < f.dup else 1
        if copies == 2:
            st["duplicated"] += 1
        flow = (sock, dest)
        if u_reo < f.reorder and flow not in self.held:
            # Hold it back; the next packet of this flow goes first.
            st["held"] += 1
            self.seq += 1
            self.held[flow] = (pkt, d, self.seq, copies)
            self._schedule(when + self.reorder_max, "release", (flow, self.seq))
            return
        for _ in range(copies):
            self._out(sock, pkt, dest, d, when)
        held = self.held.pop(flow, None)
        if held:
            hpkt, hd, _, hcopies = held
            self.stats[hd]["reordered"] += 1
            for _ in range(hcopies):
                self._out(sock, hpkt, dest, hd, when)

    def _run_timers(self):
        now = time.monotonic()
        while self.timers and self.timers[0][0] <= now:
            _, _, kind, payload = heapq.heappop(self.timers)
            if kind == "release":
                # Nothing overtook the held packet in time: send it now.
                flow, seq = payload
                held = self.held.get(flow)
                if held and held[2] == seq:
                    del self.held[flow]
                    hpkt, hd, _, hcopies = held
                    for _ in range(hcopies):
                        self._send_now(flow[0], hpkt, flow[1], hd)
            else:
                self._send_now(*payload)

    # -- input --------------------------------------------------------------

    def _reject(self, client):
        self.stats["rejected_requests"] += 1
        s = self._socket()
        err = struct.pack("!HH", OP_ERROR, 8) + b"options refused by relay\0"
        try:
            s.sendto(err, client)
        except OSError:
            self.stats["send_errors"] += 1
        s.close()

    def _on_listen(self, pkt, src):
        if self.reject_options and opcode(pkt) in (OP_RRQ, OP_WRQ) and \
                request_has_options(pkt):
            self._reject(src)
            return
        sess = self.sessions.get(src)
        if sess is None:
            sess = Session(src, self._socket())
            self.sessions[src] = sess
            self.stats["sessions"] += 1
            self.sel.register(sess.up, selectors.EVENT_READ, ("up", sess, None))
        sess.last = time.monotonic()
        self.emit(sess.up, pkt, self.server, "c2s", sess)

    def _on_up(self, sess, pkt, src):
        if src[0] != self.server[0]:
            self.stats["strangers"] += 1
            return
        down = sess.downs.get(src)
        if down is None:
            down = self._socket()
            sess.downs[src] = down
            self.stats["server_tids"] += 1
            self.sel.register(down, selectors.EVENT_READ, ("down", sess, src))
        sess.last = time.monotonic()
        self.emit(down, pkt, sess.client, "s2c", sess)

    def _on_down(self, sess, tid, pkt, src):
        if src != sess.client:
            self.stats["strangers"] += 1
            return
        sess.last = time.monotonic()
        self.emit(sess.up, pkt, tid, "c2s", sess)

    def _gc(self):
        now = time.monotonic()
        for addr, sess in list(self.sessions.items()):
            if now - sess.last > self.idle_s:
                for s in [sess.up] + list(sess.downs.values()):
                    self.sel.unregister(s)
                    for flow in [f for f in self.held if f[0] is s]:
                        self._discard_held(flow)
                    s.close()
                del self.sessions[addr]

    def _handle(self, kind, sess, tid, pkt, src):
        try:
            if kind == "listen":
                self._on_listen(pkt, src)
            elif kind == "up":
                self._on_up(sess, pkt, src)
            else:
                self._on_down(sess, tid, pkt, src)
        except Exception:       # keep relaying; the counter shows it
            self.stats["internal_errors"] += 1
            if self.stats["internal_errors"] <= 3:
                traceback.print_exc()

    def run(self, until=None, on_tick=None, tick_s=1.0):
        last_gc = last_tick = time.monotonic()
        while self.running:
            now = time.monotonic()
            if until is not None and now >= until:
                break
            timeout = 0.1
            if self.timers:
                timeout = max(0.0, min(timeout, self.timers[0][0] - now))
            for key, _ in self.sel.select(timeout):
                kind, sess, tid = key.data
                sock = key.fileobj
                for _ in range(64):     # drain a burst, bounded
                    try:
                        pkt, src = sock.recvfrom(65536)
                    except (BlockingIOError, InterruptedError):
                        break
                    except OSError:
                        break           # e.g. ICMP refused on a socket
                    self._handle(kind, sess, tid, pkt, src[:2])
                    if self.timers and self.timers[0][0] <= time.monotonic():
                        self._run_timers()
            self._run_timers()
            now = time.monotonic()
            if now - last_gc > 5:
                self._gc()
                last_gc = now
            if on_tick is not None and now - last_tick >= tick_s:
                on_tick()
                last_tick = now

    def _discard_held(self, flow):
        _, hd, _, hcopies = self.held.pop(flow)
        self.stats[hd]["unsent"] += hcopies

    def close(self):
        # What still waits (delayed or held back) will never be sent.
        for _, _, kind, payload in self.timers:
            if kind == "send":
                self.stats[payload[3]]["unsent"] += 1
        self.timers = []
        for flow in list(self.held):
            self._discard_held(flow)
        for s in [self.listen] + [x for sess in self.sessions.values()
                                  for x in [sess.up] + list(sess.downs.values())]:
            try:
                s.close()
            except OSError:
                pass
        self.sel.close()


def totals(stats):
    """Both directions added up: {'packets': .., 'dropped': .., ...}."""
    return {k: stats["c2s"][k] + stats["s2c"][k] for k in COUNTERS}


def summary(stats):
    """One line for a test log."""
    t = totals(stats)
    return ("%(packets)d packets: %(dropped)d dropped, %(duplicated)d "
            "duplicated, %(reordered)d reordered (%(held)d held), "
            "%(delayed)d delayed" % t) + \
        ", %d server TIDs, %d internal errors" % (
            stats["server_tids"], stats["internal_errors"])


def write_json(path, stats):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(stats, f, indent=1, sort_keys=True)
    os.replace(tmp, path)


# -- Python API -----------------------------------------------------------------

def _split_kw(kw):
    """Keyword arguments -> ({'c2s': Faults, 's2c': Faults}, rest)."""
    kw = dict(kw)
    both = {n: kw.pop(n, 0.0) for n in FAULTS}
    per = {}
    for d in DIRECTIONS:
        per[d] = Faults(**{n: (both[n] if kw.get("%s_%s" % (n, d)) is None
                               else kw["%s_%s" % (n, d)]) for n in FAULTS})
        for n in FAULTS:
            kw.pop("%s_%s" % (n, d), None)
    return per, kw


class _RelayBase:
    host = "127.0.0.1"
    final = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class RelayThread(_RelayBase):
    """The relay in a thread of this process (for tests of the relay and
    light traffic; heavy transfers want RelayProcess, away from the GIL)."""

    def __init__(self, server_port, server_host="127.0.0.1", seed=0,
                 latency_ms=0.0, delay_ms=20.0, reorder_ms=30.0,
                 reject_options=False, trace=None, spare=0, **faults):
        per, rest = _split_kw(faults)
        if rest:
            raise TypeError("unknown arguments %r" % sorted(rest))
        self._trace = open(trace, "w") if trace else None
        self.relay = Relay((self.host, 0), (server_host, server_port),
                           per["c2s"], per["s2c"], seed=seed,
                           latency_ms=latency_ms, delay_ms=delay_ms,
                           reorder_ms=reorder_ms,
                           reject_options=reject_options, trace=self._trace,
                           spare=spare)
        self.port = self.relay.port
        self.thread = None

    def start(self):
        self.thread = threading.Thread(target=self.relay.run, daemon=True,
                                       kwargs={"until": time.monotonic() + 3600})
        self.thread.start()
        return self

    def stats(self):
        return self.relay.snapshot()

    def stop(self):
        if self.thread is not None:
            self.relay.running = False
            self.thread.join(10)
            if self.thread.is_alive():
                raise AssertionError("relay thread did not stop")
            self.thread = None
            self.relay.close()
            if self._trace:
                self._trace.close()
            self.final = self.relay.snapshot()
        return self.final


class RelayProcess(_RelayBase):
    """tftprelay.py as a subprocess; stats() reads the counters it rewrites
    every stats_every seconds, stop() (SIGTERM) the final ones."""

    def __init__(self, server_port, server_host="127.0.0.1", seed=0,
                 latency_ms=0.0, delay_ms=20.0, reorder_ms=30.0,
                 reject_options=False, trace=None, stats_every=0.2,
                 duration=900, spare=0, **faults):
        per, rest = _split_kw(faults)
        if rest:
            raise TypeError("unknown arguments %r" % sorted(rest))
        self.dir = tempfile.mkdtemp(prefix="tftprelay-")
        self.stats_path = os.path.join(self.dir, "stats.json")
        self.argv = [sys.executable, os.path.abspath(__file__),
                     "--listen", "%s:0" % self.host,
                     "--server", "%s:%d" % (server_host, server_port),
                     "--seed", str(seed), "--latency-ms", str(latency_ms),
                     "--delay-ms", str(delay_ms), "--reorder-ms", str(reorder_ms),
                     "--stats", self.stats_path,
                     "--stats-every", str(stats_every),
                     "--duration", str(duration), "--spare", str(spare)]
        for d in DIRECTIONS:
            for n in FAULTS:
                self.argv += ["--%s-%s" % (n, d), repr(getattr(per[d], n))]
        if reject_options:
            self.argv.append("--reject-options")
        if trace:
            self.argv += ["--trace", trace]
        self.proc = None
        self.port = None
        self.errlog = os.path.join(self.dir, "stderr")

    def start(self, timeout=10.0):
        err = open(self.errlog, "wb")
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=err)
        err.close()
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        line = b""
        while not line.endswith(b"\n") and time.monotonic() < deadline:
            if sel.select(max(0.0, deadline - time.monotonic())):
                chunk = os.read(self.proc.stdout.fileno(), 200)
                if not chunk:
                    break
                line += chunk
        sel.close()
        parts = line.split()
        if len(parts) != 3 or parts[0] != b"listening":
            self.stop()
            raise AssertionError("tftprelay did not start: %r %s" % (
                line, self.stderr()))
        self.port = int(parts[2])
        return self

    def stderr(self):
        try:
            with open(self.errlog, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stats(self):
        try:
            with open(self.stats_path) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(10)
            rc = self.proc.returncode
            self.proc.stdout.close()
            self.proc = None
            self.final = self.stats()
            err = self.stderr()
            import shutil
            shutil.rmtree(self.dir, ignore_errors=True)
            if rc != 0 or self.final is None:
                raise AssertionError("tftprelay exited %s: %s" % (rc, err[-2000:]))
        return self.final


# -- command line -----------------------------------------------------------------

def _prob(s):
    v = float(s)
    if not 0.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError("probability must be in [0, 1]")
    return v


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="TID-aware TFTP relay with seeded fault injection")
    ap.add_argument("--listen", default="127.0.0.1:0",
                    help="HOST:PORT to listen on (default 127.0.0.1:0)")
    ap.add_argument("--server", required=True, help="server HOST:PORT")
    for name in FAULTS:
        ap.add_argument("--" + name, type=_prob, default=0.0,
                        help="probability per packet, both directions")
        for d in DIRECTIONS:
            ap.add_argument("--%s-%s" % (name, d), type=_prob, default=None,
                            help="probability per packet, %s only" % d)
    ap.add_argument("--delay-ms", type=float, default=20.0,
                    help="maximum random delay (default 20)")
    ap.add_argument("--reorder-ms", type=float, default=30.0,
                    help="longest a held packet waits to be overtaken")
    ap.add_argument("--latency-ms", type=float, default=0.0,
                    help="fixed delay added to every packet")
    ap.add_argument("--seed", default="0")
    ap.add_argument("--spare", type=int, default=0,
                    help="let the first N packets of each direction of each "
                    "client session pass without faults (a handshake)")
    ap.add_argument("--reject-options", action="store_true",
                    help="answer requests with options with ERROR 8")
    ap.add_argument("--stats", help="write counters (JSON) here on exit")
    ap.add_argument("--stats-every", type=float, default=0.0,
                    help="also rewrite --stats every SEC seconds")
    ap.add_argument("--trace", help="log every packet to this file")
    ap.add_argument("--duration", type=float, default=3600.0,
                    help="exit after this many seconds (default 3600)")
    ap.add_argument("--any-address", action="store_true",
                    help="allow non-loopback addresses")
    a = ap.parse_args(argv)

    try:
        listen = parse_hostport(a.listen)
        server = parse_hostport(a.server)
        if not a.any_address:
            for h in (listen[0], server[0]):
                if not ipaddress.ip_address(h).is_loopback:
                    ap.error("%s is not a loopback address" % h)
    except ValueError as e:
        ap.error(str(e))

    def faults(d):
        kw = {}
        for name in FAULTS:
            v = getattr(a, "%s_%s" % (name, d))
            kw[name] = getattr(a, name) if v is None else v
        return Faults(**kw)

    trace = open(a.trace, "w") if a.trace else None
    relay = Relay(listen, server, faults("c2s"), faults("s2c"), seed=a.seed,
                  latency_ms=a.latency_ms, delay_ms=a.delay_ms,
                  reorder_ms=a.reorder_ms, reject_options=a.reject_options,
                  trace=trace, spare=a.spare)

    def stop(*_):
        relay.running = False
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    tick = None
    if a.stats and a.stats_every > 0:
        def tick():
            write_json(a.stats, relay.stats)
        tick()

    print("listening %s %d" % (listen[0], relay.port), flush=True)
    sys.stderr.write("tftprelay: %s:%d -> %s:%d c2s(%r) s2c(%r) seed %s\n" % (
        listen[0], relay.port, server[0], server[1], relay.faults["c2s"],
        relay.faults["s2c"], a.seed))
    try:
        relay.run(until=time.monotonic() + a.duration, on_tick=tick,
                  tick_s=a.stats_every or 1.0)
    finally:
        relay.close()
        if trace:
            trace.close()
        if a.stats:
            write_json(a.stats, relay.stats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
