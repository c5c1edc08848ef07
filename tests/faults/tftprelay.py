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
server to client) from random.Random(seed) streams, one per direction:

  drop     the packet is discarded
  dup      the packet is sent twice
  reorder  the packet is held back until the next packet of the same flow has
           gone out (or --reorder-ms has passed), so that one overtakes it
  delay    the packet is delayed by a uniform 0..--delay-ms milliseconds
  latency  every packet is delayed by a fixed --latency-ms (slow link)

--reject-options answers every RRQ/WRQ that carries options with ERROR 8
(from a fresh port, as a server would) and forwards option-less requests:
a middlebox or old server that refuses RFC 2347, in front of a real server.

Usage (the listening port is printed on stdout as "listening HOST PORT"):

  tftprelay.py --server 127.0.0.1:6969 --drop 0.1 --dup 0.05 \
               --reorder 0.05 --seed 7 --stats stats.json

SIGTERM or SIGINT stops it and writes the counters (JSON) to --stats.
Only loopback addresses are accepted unless --any-address is given.
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
import sys
import time

OP_RRQ, OP_WRQ, OP_DATA, OP_ACK, OP_ERROR, OP_OACK = 1, 2, 3, 4, 5, 6
OPNAMES = {1: "RRQ", 2: "WRQ", 3: "DATA", 4: "ACK", 5: "ERROR", 6: "OACK"}


def parse_hostport(s):
    """'127.0.0.1:69', '[::1]:69' -> (host, port)."""
    if s.startswith("["):
        host, _, rest = s[1:].partition("]")
        return host, int(rest.lstrip(":"))
    host, _, port = s.rpartition(":")
    return host, int(port)


def request_has_options(pkt):
    """An RRQ/WRQ with anything after filename NUL mode NUL."""
    parts = pkt[2:].split(b"\0")
    # filename, mode, [opt, val]..., '' (trailing NUL)
    return len(parts) > 3 and any(parts[2:])


def describe(pkt):
    if len(pkt) < 2:
        return "runt(%d)" % len(pkt)
    op = struct.unpack("!H", pkt[:2])[0]
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
        self.drop, self.dup, self.reorder, self.delay = drop, dup, reorder, delay

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


class Relay:
    def __init__(self, listen, server, c2s, s2c, seed=0, latency_ms=0.0,
                 delay_ms=20.0, reorder_ms=30.0, reject_options=False,
                 idle_s=300.0, trace=None):
        self.server = server
        self.family = socket.AF_INET6 if ":" in listen[0] else socket.AF_INET
        self.host = listen[0]
        self.faults = {"c2s": c2s, "s2c": s2c}
        self.rng = {"c2s": random.Random("%s/c2s" % seed),
                    "s2c": random.Random("%s/s2c" % seed)}
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
        self.timers = []           # heap of (due, seq, sock, pkt, dest, dir)
        self.seq = 0
        self.held = {}             # flow (fd, dest) -> (sock, pkt, dest, dir, seq)
        self.running = True
        self.stats = {d: {"packets": 0, "bytes": 0, "forwarded": 0,
                          "dropped": 0, "duplicated": 0, "reordered": 0,
                          "delayed": 0} for d in ("c2s", "s2c")}
        self.stats.update({"sessions": 0, "server_tids": 0,
                           "rejected_requests": 0, "strangers": 0,
                           "send_errors": 0})

    def _socket(self, port=0):
        s = socket.socket(self.family, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
        s.bind((self.host, port))
        s.setblocking(False)
        return s

    # -- output with faults -------------------------------------------------

    def _send_now(self, sock, pkt, dest, d):
        try:
            sock.sendto(pkt, dest)
            self.stats[d]["forwarded"] += 1
        except OSError:
            self.stats["send_errors"] += 1
        if self.trace:
            self.trace.write("%.6f %s %s -> %s %s\n" % (
                time.monotonic(), d, sock.getsockname()[1], dest[1],
                describe(pkt)))

    def _schedule(self, due, sock, pkt, dest, d):
        self.seq += 1
        heapq.heappush(self.timers, (due, self.seq, sock, pkt, dest, d))

    def _out(self, sock, pkt, dest, d, when):
        if when <= time.monotonic():
            self._send_now(sock, pkt, dest, d)
        else:
            self._schedule(when, sock, pkt, dest, d)

    def emit(self, sock, pkt, dest, d):
        f, r, st = self.faults[d], self.rng[d], self.stats[d]
        st["packets"] += 1
        st["bytes"] += len(pkt)
        # Draw every decision each time so the stream stays aligned.
        u_drop, u_dup, u_reo, u_del, u_amt = (r.random() for _ in range(5))
        if u_drop < f.drop:
            st["dropped"] += 1
            if self.trace:
                self.trace.write("%.6f %s DROP %s\n" % (time.monotonic(), d,
                                                         describe(pkt)))
            return
        now = time.monotonic()
        when = now + self.latency
        if u_del < f.delay:
            st["delayed"] += 1
            when += u_amt * self.delay_max
        copies = 2 if u_dup < f.dup else 1
        if copies == 2:
            st["duplicated"] += 1
        flow = (sock.fileno(), dest)
        if u_reo < f.reorder and flow not in self.held:
            # Hold it back; the next packet of this flow goes first.
            st["reordered"] += 1
            self.seq += 1
            self.held[flow] = (sock, pkt, dest, d, self.seq, copies)
            self._schedule(when + self.reorder_max, None, flow, self.seq, d)
            return
        for _ in range(copies):
            self._out(sock, pkt, dest, d, when)
        held = self.held.pop(flow, None)
        if held:
            hsock, hpkt, hdest, hd, _, hcopies = held
            for _ in range(hcopies):
                self._out(hsock, hpkt, hdest, hd, when)

    def _run_timers(self):
        now = time.monotonic()
        while self.timers and self.timers[0][0] <= now:
            _, _, sock, pkt, dest, d = heapq.heappop(self.timers)
            if sock is None:
                # reorder deadline: pkt is the flow, dest the hold's seq
                held = self.held.get(pkt)
                if held and held[4] == dest:
                    del self.held[pkt]
                    hsock, hpkt, hdest, hd, _, hcopies = held
                    for _ in range(hcopies):
                        self._send_now(hsock, hpkt, hdest, hd)
                continue
            self._send_now(sock, pkt, dest, d)

    # -- input --------------------------------------------------------------

    def _reject(self, client, pkt):
        self.stats["rejected_requests"] += 1
        s = self._socket()
        err = struct.pack("!HH", OP_ERROR, 8) + b"options refused by relay\0"
        try:
            s.sendto(err, client)
        except OSError:
            self.stats["send_errors"] += 1
        s.close()

    def _on_listen(self, pkt, src):
        sess = self.sessions.get(src)
        if sess is None:
            if len(pkt) >= 2 and struct.unpack("!H", pkt[:2])[0] in (OP_RRQ, OP_WRQ) \
                    and self.reject_options and request_has_options(pkt):
                self._reject(src, pkt)
                return
            sess = Session(src, self._socket())
            self.sessions[src] = sess
            self.stats["sessions"] += 1
            self.sel.register(sess.up, selectors.EVENT_READ, ("up", sess, None))
        elif self.reject_options and len(pkt) >= 2 and \
                struct.unpack("!H", pkt[:2])[0] in (OP_RRQ, OP_WRQ) and \
                request_has_options(pkt):
            self._reject(src, pkt)
            return
        sess.last = time.monotonic()
        self.emit(sess.up, pkt, self.server, "c2s")

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
        self.emit(down, pkt, sess.client, "s2c")

    def _on_down(self, sess, tid, pkt, src):
        if src != sess.client:
            self.stats["strangers"] += 1
            return
        sess.last = time.monotonic()
        self.emit(sess.up, pkt, tid, "c2s")

    def _gc(self):
        now = time.monotonic()
        for addr, sess in list(self.sessions.items()):
            if now - sess.last > self.idle_s:
                for s in [sess.up] + list(sess.downs.values()):
                    self.sel.unregister(s)
                    s.close()
                del self.sessions[addr]

    def run(self, until=None):
        last_gc = time.monotonic()
        while self.running:
            now = time.monotonic()
            if until is not None and now >= until:
                break
            timeout = 0.2
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
                    src = src[:2]
                    if kind == "listen":
                        self._on_listen(pkt, src)
                    elif kind == "up":
                        self._on_up(sess, pkt, src)
                    else:
                        self._on_down(sess, tid, pkt, src)
            self._run_timers()
            if now - last_gc > 5:
                self._gc()
                last_gc = now

    def close(self):
        for s in [self.listen] + [x for sess in self.sessions.values()
                                  for x in [sess.up] + list(sess.downs.values())]:
            try:
                s.close()
            except OSError:
                pass


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
    for name in ("drop", "dup", "reorder", "delay"):
        ap.add_argument("--" + name, type=_prob, default=0.0,
                        help="probability per packet, both directions")
        for d in ("c2s", "s2c"):
            ap.add_argument("--%s-%s" % (name, d), type=_prob, default=None,
                            help="probability per packet, %s only" % d)
    ap.add_argument("--delay-ms", type=float, default=20.0,
                    help="maximum random delay (default 20)")
    ap.add_argument("--reorder-ms", type=float, default=30.0,
                    help="longest a held packet waits to be overtaken")
    ap.add_argument("--latency-ms", type=float, default=0.0,
                    help="fixed delay added to every packet")
    ap.add_argument("--seed", default="0")
    ap.add_argument("--reject-options", action="store_true",
                    help="answer requests with options with ERROR 8")
    ap.add_argument("--stats", help="write counters (JSON) here on exit")
    ap.add_argument("--trace", help="log every packet to this file")
    ap.add_argument("--duration", type=float, default=3600.0,
                    help="exit after this many seconds (default 3600)")
    ap.add_argument("--any-address", action="store_true",
                    help="allow non-loopback addresses")
    a = ap.parse_args(argv)

    listen = parse_hostport(a.listen)
    server = parse_hostport(a.server)
    if not a.any_address:
        for h in (listen[0], server[0]):
            if not ipaddress.ip_address(h).is_loopback:
                ap.error("%s is not a loopback address" % h)

    def faults(d):
        kw = {}
        for name in ("drop", "dup", "reorder", "delay"):
            v = getattr(a, "%s_%s" % (name, d))
            kw[name] = getattr(a, name) if v is None else v
        return Faults(**kw)

    trace = open(a.trace, "w") if a.trace else None
    relay = Relay(listen, server, faults("c2s"), faults("s2c"), seed=a.seed,
                  latency_ms=a.latency_ms, delay_ms=a.delay_ms,
                  reorder_ms=a.reorder_ms, reject_options=a.reject_options,
                  trace=trace)

    def stop(*_):
        relay.running = False
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    print("listening %s %d" % (listen[0], relay.port), flush=True)
    sys.stderr.write("tftprelay: %s:%d -> %s:%d c2s(%r) s2c(%r) seed %s\n" % (
        listen[0], relay.port, server[0], server[1], relay.faults["c2s"],
        relay.faults["s2c"], a.seed))
    try:
        relay.run(until=time.monotonic() + a.duration)
    finally:
        relay.close()
        if trace:
            trace.close()
        if a.stats:
            tmp = a.stats + ".tmp"
            with open(tmp, "w") as f:
                json.dump(relay.stats, f, indent=1, sort_keys=True)
            os.replace(tmp, a.stats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
