#!/usr/bin/env python3
"""The HTTP origin (--origin URL): names not under the root are fetched
over HTTP(S) and streamed to the client.

  real nginx      byte-exact fetches, local files first (no GET at the
                  origin), --origin-only, 404, tsize = Content-Length,
                  percent-encoded names, {ip}, https with --origin-ca,
                  PUT through nginx's dav module (--origin-put), one GET
                  for many concurrent clients (coalescing), the cache
                  (--cache: hits, 304 revalidation, restart, stale-if-error)
  scripted origin (tests/lib/httporigin.py) every way an origin fails:
                  slow and stalled bodies, bodies cut short, wrong
                  Content-Length, error statuses, redirect loops and
                  redirects elsewhere, chunked bodies, PUT refused
  no origin       a closed port (refused) and a port that never completes
                  a connection (--origin-connect-timeout)

The origin's own records (nginx's access log, the scripted origin's list of
requests) say how many requests tftpd made; the cache directory is looked
at for partial entries after every failure."""
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import unittest
from urllib.parse import unquote_to_bytes

from httporigin import Blackhole, Nginx, Origin, free_tcp_port
from tftptest import (DATA, ERROR, OACK, Client, Endpoint, TftpError,
                      TftpdServer, main, pack_ack, pack_rrq, pattern, scaled,
                      wait_for)

MARGIN = 1.5  # seconds a deadline may be passed by (scaled)


class Transfer:
    def __init__(self):
        self.data = b""
        self.packets = []   # (seconds since the RRQ, Packet)
        self.end = None     # the last DATA or the ERROR (None: timed out)
        self.elapsed = None

    def ops(self):
        return [p.op for _, p in self.packets]

    def __repr__(self):
        return "%d bytes in %d packets, ended by %r after %.2f s" % (
            len(self.data), len(self.packets), self.end, self.elapsed)


def raw_get(port, name, opts=None, limit=15, bind=None):
    """One RRQ, sent once (a retransmitted request would be a second
    download), then every DATA ACKed in order (windowsize 1) until the last
    DATA or an ERROR, or limit seconds. Records each packet's time."""
    t = Transfer()
    t0 = time.monotonic()
    end = t0 + scaled(limit)
    blksize = int(dict(opts or {}).get("blksize", 512))
    with Endpoint(bind=bind) as e:
        e.send(pack_rrq(name, opts=opts), port)
        tid = last = None
        data = bytearray()
        while time.monotonic() < end:
            p = e.recv(1.0)
            if p is None:
                if last is not None:
                    e.send(last, tid)  # our ACK may have been lost
                continue
            if tid is None:
                tid = p.port
            if p.port != tid:
                continue
            t.packets.append((time.monotonic() - t0, p))
            if p.op == ERROR:
                t.end = p
                break
            if p.op == OACK:
                blksize = int(p.optdict().get("blksize", 512))
                last = pack_ack(0)
            elif p.op == DATA and p.block == (len(data) // blksize + 1) & 0xFFFF:
                data += p.payload
                last = pack_ack(p.block)
                if len(p.payload) < blksize:
                    e.send(last, tid)
                    t.end = p
                    break
            if last is not None:
                e.send(last, tid)
        t.data = bytes(data)
    t.elapsed = time.monotonic() - t0
    return t


def error_code(srv, name, **kw):
    """The code of the ERROR a download of name ends with."""
    try:
        with srv.client(**kw) as c:
            c.get(name)
    except TftpError as e:
        return e.code
    raise AssertionError("%s was served" % name)


def files_under(d):
    out = []
    for dp, _, fs in os.walk(d):
        out += [os.path.join(dp, f) for f in fs]
    return out


def closed_port():
    """A loopback TCP port nothing listens on (connections are refused)."""
    return free_tcp_port()


class OriginCase(unittest.TestCase):
    """Origins and servers started by a test are stopped by its cleanups
    (the server first: cleanups run last-in first-out)."""

    def tmpdir(self, prefix):
        d = tempfile.mkdtemp(prefix=prefix)
        self.addCleanup(shutil.rmtree, d, True)
        return d

    def nginx(self, **kw):
        n = Nginx(self.tmpdir("origin-root-"), **kw)
        n.__enter__()
        self.addCleanup(n.cleanup)
        return n

    def put_file(self, nginx, name, data):
        p = os.path.join(nginx.root.encode(), name if isinstance(name, bytes)
                         else name.encode())
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)

    def origin(self, host="127.0.0.1"):
        o = Origin(host).start()
        self.addCleanup(o.stop)
        return o

    def tftpd(self, *args, **kw):
        srv = TftpdServer(*args, **kw)
        srv.__enter__()
        self.addCleanup(srv.stop_and_cleanup)
        return srv

    def assertNoPartialEntry(self, cache, complete_sizes=()):
        """No temporary file left once the transfer is over, and every
        body in the cache is a complete one."""
        wait_for(lambda: not [f for f in files_under(cache)
                              if os.path.basename(f).startswith(".tmp")],
                 5, "the cache's temporary files to go: %r" % files_under(cache))
        for f in files_under(cache):
            if f.endswith(".body"):
                self.assertIn(os.path.getsize(f), complete_sizes,
                              "partial cache entry %s" % f)

    def assertLogged(self, log, pattern):
        self.assertRegex(log, pattern, "log:\n" + log[-3000:])


# ---- nginx as the origin -------------------------------------------------------------

class CommandLine(unittest.TestCase):
    def test_usage_errors(self):
        """Each a one-line message and exit status 64, before any socket."""
        cases = [
            (["--cache", "/tmp/c"], "need --origin"),
            (["--origin", "ftp://x/"], "must start with http:// or https://"),
            (["--origin", "http://a b/"], "spaces or control characters"),
            (["--origin", "http://x/", "--origin-put", "-w"], "excludes -w"),
            (["--origin", "http://x/", "--cache-ttl", "5"], "need --cache"),
            (["--origin", "http://x/", "--origin-timeout", "0"], "--origin-timeout"),
        ]
        for argv, want in cases:
            with self.subTest(argv=argv):
                p = subprocess.run([os.environ["TFTPD"], "-r", "/tmp", "-a",
                                    "127.0.0.1:1"] + argv, capture_output=True,
                                   text=True, timeout=scaled(10))
                self.assertEqual(p.returncode, 64, p.stderr)
                self.assertIn(want, p.stderr)
                self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)


class FromNginx(OriginCase):
    def test_no_proxy_from_the_environment(self):
        """Requests go to the origin itself, whatever http_proxy says (a
        proxy there is a closed port: through it, nothing would come)."""
        n = self.nginx()
        data = pattern(30000, seed=31)
        self.put_file(n, "p.bin", data)
        dead = "http://127.0.0.1:%d" % free_tcp_port()
        srv = self.tftpd("--origin", n.url("/"), env={
            "http_proxy": dead, "HTTP_PROXY": dead, "https_proxy": dead,
            "ALL_PROXY": dead, "all_proxy": dead})
        with srv.client() as c:
            self.assertEqual(c.get("p.bin").data, data)
        self.assertEqual(n.gets("/p.bin"), 1)

    def test_fetched_byte_exact(self):
        n = self.nginx()
        data = pattern(300000, seed=1)
        self.put_file(n, "only.bin", data)
        srv = self.tftpd("--origin", n.url("/"))
        with srv.client() as c:
            self.assertEqual(c.get("only.bin", opts={"blksize": "1468"}).data, data)
        self.assertEqual([(a.method, a.status) for a in n.seen(uri="/only.bin")],
                         [("GET", 200)])
        self.assertFalse(os.path.exists(srv.path("only.bin")))
        self.assertLogged(srv.stop(), r"origin GET[^\n]*\b200\b")

    def test_local_file_first_no_request_at_the_origin(self):
        n = self.nginx()
        self.put_file(n, "both.bin", b"the origin's")
        srv = self.tftpd("--origin", n.url("/"))
        srv.write("both.bin", b"the local one")
        srv.write("sub/local.bin", b"local too")
        with srv.client() as c:
            self.assertEqual(c.get("both.bin").data, b"the local one")
            self.assertEqual(c.get("sub/local.bin").data, b"local too")
        self.assertEqual(n.seen(uri="/both.bin"), [])
        self.assertEqual(n.seen(uri="/sub/local.bin"), [])

    def test_origin_only_ignores_the_root(self):
        n = self.nginx()
        self.put_file(n, "both.bin", b"the origin's")
        srv = self.tftpd("--origin", n.url("/"), "--origin-only")
        srv.write("both.bin", b"the local one")
        srv.write("local-only.bin", b"never served")
        with srv.client() as c:
            self.assertEqual(c.get("both.bin").data, b"the origin's")
        self.assertEqual(error_code(srv, "local-only.bin"), 1)
        self.assertEqual(n.gets("/both.bin"), 1)
        self.assertEqual([a.status for a in n.seen("GET", "/local-only.bin")], [404])

    def test_404_is_error_1(self):
        n = self.nginx()
        srv = self.tftpd("--origin", n.url("/"))
        t = raw_get(srv.port, "nope.bin", opts={"tsize": "0"})
        self.assertEqual(t.ops(), [ERROR], t)  # no OACK first
        self.assertEqual(t.end.code, 1)
        self.assertEqual([a.status for a in n.seen("GET", "/nope.bin")], [404])

    def test_tsize_is_the_content_length(self):
        n = self.nginx()
        data = pattern(123457, seed=2)
        self.put_file(n, "t.bin", data)
        srv = self.tftpd("--origin", n.url("/"))
        with srv.client() as c:
            res = c.get("t.bin", opts={"tsize": "0", "blksize": "1024"})
        self.assertEqual(res.oack, {"tsize": "123457", "blksize": "1024"})
        self.assertEqual(res.data, data)

    def test_names_are_percent_encoded(self):
        """Spaces, URL delimiters, '%' and UTF-8 reach nginx encoded (it
        finds the file only if they were); '/' stays a separator."""
        names = [b"a b.bin", b"odd #?%&+;=,'!@$~.bin", b"sub dir/x y.bin",
                 "caf\u00e9 \u00fc.bin".encode()]
        n = self.nginx()
        for i, name in enumerate(names):
            self.put_file(n, name, pattern(3000 + i, seed=i))
        srv = self.tftpd("--origin", n.url("/"))
        allowed = re.compile(r"^[A-Za-z0-9\-._~/%!$&'()*+,;=:@]*$")
        for i, name in enumerate(names):
            with self.subTest(name=name):
                with srv.client() as c:
                    self.assertEqual(c.get(name.decode("latin-1")).data,
                                     pattern(3000 + i, seed=i))
                hits = [a for a in n.seen("GET")
                        if unquote_to_bytes(a.uri) == b"/" + name]
                self.assertEqual([a.status for a in hits], [200], n.access())
                self.assertRegex(hits[0].uri, allowed)
                self.assertEqual(hits[0].uri.count("/"), name.count(b"/") + 1)

    def test_ip_placeholder(self):
        n = self.nginx()
        self.put_file(n, "127.0.0.1/pxe/f.bin", b"for 127.0.0.1")
        self.put_file(n, "127.0.0.2/pxe/f.bin", b"for 127.0.0.2")
        self.put_file(n, "pxe/f.bin", b"for nobody in particular")
        srv = self.tftpd("--origin", n.url("/{ip}/{file}"))
        with Client(srv.port, bind="127.0.0.1") as c:
            self.assertEqual(c.get("pxe/f.bin").data, b"for 127.0.0.1")
        with Client(srv.port, bind="127.0.0.2") as c:
            self.assertEqual(c.get("pxe/f.bin").data, b"for 127.0.0.2")
        self.assertEqual(n.gets("/pxe/f.bin"), 0)

    def test_name_appended_without_placeholder(self):
        """No {file}: the name goes after the URL, with a '/' between."""
        n = self.nginx()
        self.put_file(n, "boot/img.bin", b"image")
        srv = self.tftpd("--origin", n.url("/boot"))
        with srv.client() as c:
            self.assertEqual(c.get("img.bin").data, b"image")
        self.assertEqual(n.gets("/boot/img.bin"), 1)


class Coalescing(OriginCase):
    def test_concurrent_cold_requests_share_one_get(self):
        """24 clients at once for a 4 MiB file not yet fetched: all get it
        byte-exact, nginx answers one GET."""
        clients = 24
        n = self.nginx()
        data = pattern(4 << 20, seed=3)
        self.put_file(n, "big.bin", data)
        srv = self.tftpd("--origin", n.url("/"))
        barrier = threading.Barrier(clients)
        results = [None] * clients

        def one(i):
            try:
                with srv.client(timeout=1, retries=8) as c:
                    barrier.wait(scaled(10))
                    results[i] = c.get("big.bin", opts={"blksize": "1468",
                                                        "windowsize": "4"}).data
            except Exception as e:  # reported below
                results[i] = e

        threads = [threading.Thread(target=one, args=(i,)) for i in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(scaled(60))
        self.assertFalse([t for t in threads if t.is_alive()], "clients hung")
        bad = [(i, r if isinstance(r, Exception) else len(r or b""))
               for i, r in enumerate(results) if r != data]
        self.assertEqual(bad, [])
        self.assertEqual([a.status for a in n.seen("GET", "/big.bin")], [200])

    def test_requests_during_a_slow_fetch_join_it(self):
        """Clients that come while the one GET is still arriving join it."""
        o = self.origin()
        data = pattern(300000, seed=4)
        o.set("/slow.bin", data, step=100000, pause=0.7)
        srv = self.tftpd("--origin", o.url("/"))
        results = []

        def one():
            try:
                with srv.client(timeout=1, retries=8) as c:
                    results.append(c.get("slow.bin").data)
            except Exception as e:
                results.append(e)

        first = threading.Thread(target=one)
        first.start()
        wait_for(lambda: o.gets("/slow.bin") == 1, 5, "the GET")
        others = [threading.Thread(target=one) for _ in range(7)]
        for t in others:
            t.start()
        for t in [first] + others:
            t.join(scaled(30))
        self.assertEqual([r == data for r in results], [True] * 8,
                         [r for r in results if r != data][:1])
        self.assertEqual(o.gets("/slow.bin"), 1)


# ---- the cache --------------------------------------------------------------------------

def scrape(port):
    r = subprocess.run(["curl", "-sS", "--max-time", "5",
                        "http://127.0.0.1:%d/metrics" % port],
                       capture_output=True, text=True, timeout=scaled(10))
    out = {}
    for line in r.stdout.splitlines():
        if line and not line.startswith("#"):
            k, v = line.rsplit(" ", 1)
            out[k] = float(v)
    return out


class Cache(OriginCase):
    def populate(self, n, cache, name, data, *args):
        """Fetch name once through a server on cache (then stopped)."""
        self.put_file(n, name, data)
        with TftpdServer("--origin", n.url("/"), "--cache", cache, *args) as srv:
            with srv.client() as c:
                self.assertEqual(c.get(name).data, data)

    def test_second_request_is_a_hit(self):
        n = self.nginx()
        cache = self.tmpdir("cache-")
        data = pattern(200000, seed=5)
        self.put_file(n, "c.bin", data)
        mport = free_tcp_port()
        srv = self.tftpd("--origin", n.url("/"), "--cache", cache,
                         "--metrics", "127.0.0.1:%d" % mport)
        for _ in range(2):
            with srv.client() as c:
                self.assertEqual(c.get("c.bin", opts={"blksize": "1468"}).data, data)
        self.assertEqual(n.gets("/c.bin"), 1)
        bodies = [f for f in files_under(cache) if f.endswith(".body")]
        self.assertEqual(len(bodies), 1, files_under(cache))
        with open(bodies[0], "rb") as f:
            self.assertEqual(f.read(), data)
        self.assertTrue(os.path.exists(bodies[0][:-5] + ".meta"))
        self.assertTrue(re.fullmatch(r"[0-9a-f]+", os.path.basename(bodies[0])[:-5]))
        m = scrape(mport)
        # every GET was a miss: c.bin's and the harness's start-up probe's
        self.assertEqual(m['tftp_cache_lookups_total{result="miss"}'],
                         len(n.seen("GET")))
        self.assertEqual(m['tftp_cache_lookups_total{result="hit"}'], 1)
        self.assertEqual(m['tftp_origin_requests_total{method="GET",result="ok"}'], 1)
        self.assertEqual(m['tftp_origin_bytes_total{direction="in"}'], len(data))

    def test_least_recently_used_goes_first(self):
        """--cache-size 100K holds two 40 KB files: after A, B, A again,
        C evicts B (used least recently), not A; B is fetched again."""
        n = self.nginx()
        cache = self.tmpdir("cache-")
        files = {k: pattern(40000, seed=20 + i) for i, k in enumerate("ABC")}
        for k, d in files.items():
            self.put_file(n, k, d)
        srv = self.tftpd("--origin", n.url("/"), "--cache", cache,
                         "--cache-size", "100K")
        for k in "ABAC":
            with srv.client() as c:
                self.assertEqual(c.get(k).data, files[k])
        kept = []
        for f in files_under(cache):
            if f.endswith(".body"):
                with open(f, "rb") as fh:
                    kept.append(fh.read())
        kept.sort()
        self.assertEqual(kept, sorted([files["A"], files["C"]]))
        self.assertEqual([n.gets("/" + k) for k in "ABC"], [1, 1, 1])
        with srv.client() as c:
            self.assertEqual(c.get("B").data, files["B"])
        self.assertEqual(n.gets("/B"), 2)
        self.assertEqual(n.gets("/A"), 1)

    def test_ttl_0_revalidates_with_304(self):
        n = self.nginx()
        cache = self.tmpdir("cache-")
        data = pattern(50000, seed=6)
        self.put_file(n, "r.bin", data)
        srv = self.tftpd("--origin", n.url("/"), "--cache", cache,
                         "--cache-ttl", "0")
        for _ in range(2):
            with srv.client() as c:
                self.assertEqual(c.get("r.bin").data, data)
        got = n.seen("GET", "/r.bin")
        self.assertEqual([a.status for a in got], [200, 304], got)
        self.assertIsNotNone(got[1].if_none_match or got[1].if_modified_since)
        # A new version (another size, so another ETag) is fetched.
        new = pattern(60000, seed=7)
        self.put_file(n, "r.bin", new)
        later = time.time() + 10  # and another Last-Modified
        os.utime(os.path.join(n.root, "r.bin"), (later, later))
        with srv.client() as c:
            self.assertEqual(c.get("r.bin").data, new)
        self.assertEqual([a.status for a in n.seen("GET", "/r.bin")], [200, 304, 200])

    def test_ttl_0_if_modified_since(self):
        """An origin with Last-Modified only: the revalidation carries
        If-Modified-Since, a 304 serves the cached copy."""
        got = self.fetch_twice("m.bin", 8, last_modified=Origin.HTTP_DATE)
        self.assertEqual(got[1].headers.get("if-modified-since"), Origin.HTTP_DATE)

    def fetch_twice(self, name, seed, **route):
        """name from a scripted origin twice with --cache-ttl 0, byte-exact
        each time; the origin's two GETs."""
        o = self.origin()
        cache = self.tmpdir("cache-")
        data = pattern(40000, seed=seed)
        o.set("/" + name, data, **route)
        srv = self.tftpd("--origin", o.url("/"), "--cache", cache,
                         "--cache-ttl", "0")
        for _ in range(2):
            with srv.client() as c:
                self.assertEqual(c.get(name).data, data)
        got = o.seen("GET", "/" + name)
        self.assertEqual(len(got), 2)
        return got

    def test_ttl_0_if_none_match(self):
        got = self.fetch_twice("e.bin", 9, etag='"v1"',
                               last_modified=Origin.HTTP_DATE)
        self.assertEqual(got[1].headers.get("if-none-match"), '"v1"')

    def test_cache_survives_restart(self):
        n = self.nginx()
        cache = self.tmpdir("cache-")
        data = pattern(100000, seed=10)
        self.populate(n, cache, "s.bin", data)
        url = n.url("/")
        n.stop()
        srv = self.tftpd("--origin", url, "--cache", cache)
        with srv.client() as c:
            self.assertEqual(c.get("s.bin").data, data)

    def test_stale_if_error(self):
        n = self.nginx()
        cache = self.tmpdir("cache-")
        data = pattern(100000, seed=11)
        self.populate(n, cache, "st.bin", data)
        url = n.url("/")
        n.stop()
        srv = self.tftpd("--origin", url, "--cache", cache, "--cache-ttl", "0",
                         "--origin-connect-timeout", "2")
        with srv.client() as c:
            self.assertEqual(c.get("st.bin").data, data)
        self.assertLogged(srv.stop(), r"stale")

    def test_uncached_with_origin_down_is_error_0(self):
        cache = self.tmpdir("cache-")
        srv = self.tftpd("--origin", "http://127.0.0.1:%d/" % closed_port(),
                         "--cache", cache, "--origin-connect-timeout", "2")
        t = raw_get(srv.port, "down.bin", limit=10)
        self.assertIsNotNone(t.end, t)
        self.assertEqual((t.end.op, t.end.code), (ERROR, 0), t)
        self.assertLess(t.elapsed, scaled(2 + MARGIN), t)
        self.assertNoPartialEntry(cache)


# ---- a scripted origin that misbehaves -----------------------------------------------

class Faults(OriginCase):
    def test_slow_body_completes(self):
        """Pauses longer than the client's timeout (1 s) but shorter than
        its patience: the transfer waits for the body and completes."""
        o = self.origin()
        data = pattern(60000, seed=12)
        o.set("/slow.bin", data, step=20000, pause=1.5)
        srv = self.tftpd("--origin", o.url("/"))
        t0 = time.monotonic()
        with srv.client(timeout=1, retries=5) as c:
            self.assertEqual(c.get("slow.bin").data, data)
        self.assertGreaterEqual(time.monotonic() - t0, 2.9)
        self.assertEqual(o.gets("/slow.bin"), 1)

    def test_streaming_starts_before_the_body_is_complete(self):
        o = self.origin()
        data = pattern(100000, seed=13)
        o.set("/st.bin", data, step=50000, pause=2.0)
        srv = self.tftpd("--origin", o.url("/"))
        t = raw_get(srv.port, "st.bin")
        self.assertEqual(t.data, data, t)
        first = [s for s, p in t.packets if p.op == DATA][0]
        self.assertLess(first, scaled(1.0), t)
        self.assertGreater(t.elapsed, 1.9, t)

    def test_body_cut_midway(self):
        o = self.origin()
        cache = self.tmpdir("cache-")
        data = pattern(200000, seed=14)
        o.set("/cut.bin", data, cut_at=50000, cut_pause=1.0)
        srv = self.tftpd("--origin", o.url("/"), "--cache", cache)
        t = raw_get(srv.port, "cut.bin")
        self.assertIsNotNone(t.end, t)
        self.assertEqual((t.end.op, t.end.code), (ERROR, 0), t)
        self.assertIn(DATA, t.ops(), t)
        self.assertGreater(len(t.data), 0)
        self.assertLessEqual(len(t.data), 50000)
        self.assertEqual(t.data, data[:len(t.data)])
        self.assertNoPartialEntry(cache)
        # Nothing was kept: the next request asks the origin again.
        o.set("/cut.bin", data)
        with srv.client() as c:
            self.assertEqual(c.get("cut.bin").data, data)
        self.assertEqual(o.gets("/cut.bin"), 2)
        self.assertNoPartialEntry(cache, {len(data)})

    def test_wrong_content_length(self):
        """Fewer bytes than announced, then the connection closes."""
        o = self.origin()
        cache = self.tmpdir("cache-")
        o.set("/short.bin", pattern(3000, seed=15), length=5000)
        srv = self.tftpd("--origin", o.url("/"), "--cache", cache)
        for _ in range(2):
            t = raw_get(srv.port, "short.bin", limit=10)
            self.assertIsNotNone(t.end, t)
            self.assertEqual((t.end.op, t.end.code), (ERROR, 0), t)
            self.assertLess(len(t.data), 3000)
            self.assertNoPartialEntry(cache)
        self.assertEqual(o.gets("/short.bin"), 2)  # never cached

    def test_statuses(self):
        o = self.origin()
        want = {500: 0, 503: 0, 404: 1, 410: 1, 401: 2, 403: 2}
        for status in want:
            o.set("/s%d.bin" % status, status=status)
        srv = self.tftpd("--origin", o.url("/"))
        for status, code in want.items():
            with self.subTest(status=status):
                t = raw_get(srv.port, "s%d.bin" % status, opts={"tsize": "0"},
                            limit=10)
                self.assertEqual(t.ops(), [ERROR], t)  # not OACK first
                self.assertEqual(t.end.code, code, t)
                self.assertGreaterEqual(o.gets("/s%d.bin" % status), 1)

    def test_redirect_on_the_same_origin_is_followed(self):
        o = self.origin()
        data = pattern(5000, seed=16)
        o.set("/old.bin", location=o.url("/new.bin"))
        o.set("/new.bin", data)
        srv = self.tftpd("--origin", o.url("/"))
        with srv.client() as c:
            self.assertEqual(c.get("old.bin").data, data)
        self.assertEqual((o.gets("/old.bin"), o.gets("/new.bin")), (1, 1))

    def test_redirect_loop_is_error_0(self):
        o = self.origin()
        o.set("/loop.bin", location=o.url("/loop.bin"))
        srv = self.tftpd("--origin", o.url("/"))
        t = raw_get(srv.port, "loop.bin", limit=10)
        self.assertIsNotNone(t.end, t)
        self.assertEqual((t.end.op, t.end.code), (ERROR, 0), t)
        self.assertIn(o.gets("/loop.bin"), range(1, 8))  # gave up, bounded

    def test_redirect_to_another_host_is_error_0(self):
        o = self.origin()
        other = self.origin("127.0.0.2")
        other.set("/x.bin", b"must not be fetched")
        o.set("/away.bin", location=other.url("/x.bin"))
        srv = self.tftpd("--origin", o.url("/"))
        self.assertEqual(error_code(srv, "away.bin"), 0)
        self.assertEqual(other.requests, [])

    def test_chunked_without_tsize(self):
        o = self.origin()
        data = pattern(150000, seed=17)
        o.set("/ch.bin", data, chunked=True, chunk=7000, step=50000, pause=0.3)
        srv = self.tftpd("--origin", o.url("/"))
        with srv.client() as c:
            res = c.get("ch.bin", opts={"tsize": "0", "blksize": "1024"})
        self.assertEqual(res.data, data)
        self.assertEqual(res.oack, {"blksize": "1024"})  # no tsize: unknown


class Timeouts(OriginCase):
    def test_connect_timeout(self):
        """An origin whose port never completes a connection."""
        with Blackhole() as b:
            srv = self.tftpd("--origin", b.url("/"), "--origin-connect-timeout",
                             "2", probe=False)
            t = raw_get(srv.port, "hang.bin", limit=10)
        self.assertIsNotNone(t.end, t)
        self.assertEqual((t.end.op, t.end.code), (ERROR, 0), t)
        self.assertGreater(t.elapsed, 1.5, t)
        self.assertLess(t.elapsed, scaled(2 + MARGIN), t)

    def test_no_body_bytes_for_too_long(self):
        o = self.origin()
        o.set("/h.bin", pattern(100000, seed=18), stall=30)
        srv = self.tftpd("--origin", o.url("/"), "--origin-timeout", "2")
        t = raw_get(srv.port, "h.bin", limit=12)
        self.assertIsNotNone(t.end, t)
        self.assertEqual((t.end.op, t.end.code), (ERROR, 0), t)
        self.assertNotIn(DATA, t.ops(), t)
        self.assertLess(t.elapsed, scaled(2 + MARGIN), t)

    def test_body_stalls_midway(self):
        o = self.origin()
        cache = self.tmpdir("cache-")
        data = pattern(100000, seed=19)
        o.set("/mid.bin", data, step=20000, pause=30)
        srv = self.tftpd("--origin", o.url("/"), "--origin-timeout", "2",
                         "--cache", cache)
        t = raw_get(srv.port, "mid.bin", limit=12)
        self.assertIsNotNone(t.end, t)
        self.assertEqual((t.end.op, t.end.code), (ERROR, 0), t)
        self.assertIn(DATA, t.ops(), t)
        self.assertEqual(t.data, data[:len(t.data)])
        self.assertLess(t.elapsed, scaled(2 + MARGIN) + 0.5, t)
        self.assertNoPartialEntry(cache)


class Tls(OriginCase):
    def test_https_with_the_ca(self):
        n = self.nginx(tls=True)
        data = pattern(70000, seed=20)
        self.put_file(n, "s.bin", data)
        srv = self.tftpd("--origin", n.url("/"), "--origin-ca", n.ca)
        with srv.client() as c:
            self.assertEqual(c.get("s.bin").data, data)
        self.assertEqual(n.gets("/s.bin"), 1)

    def test_unknown_ca_is_error_0(self):
        """Verification is always on: without --origin-ca the system's
        bundle does not know the test CA."""
        n = self.nginx(tls=True)
        self.put_file(n, "s.bin", b"secret")
        srv = self.tftpd("--origin", n.url("/"))
        self.assertEqual(error_code(srv, "s.bin"), 0)
        self.assertEqual(n.seen(uri="/s.bin"), [])


# ---- uploads to the origin --------------------------------------------------------------

class Put(OriginCase):
    def test_put_through_nginx_dav(self):
        n = self.nginx(dav=True)
        srv = self.tftpd("--origin", n.url("/"), "--origin-put")
        data = pattern(500000, seed=21)
        with srv.client() as c:
            c.put("up/new.bin", data, opts={"blksize": "1468", "windowsize": "4"})
        with open(os.path.join(n.root, "up", "new.bin"), "rb") as f:
            self.assertEqual(f.read(), data)
        self.assertEqual([a.status for a in n.seen("PUT", "/up/new.bin")], [201])
        self.assertLogged(srv.stop(), r"origin PUT[^\n]*\b201\b")

    def test_final_ack_waits_for_the_origin(self):
        o = self.origin()
        o.set("/late.bin", put_delay=1.5)
        srv = self.tftpd("--origin", o.url("/"), "--origin-put")
        data = pattern(20000, seed=22)
        with srv.client(timeout=1, retries=5) as c:
            c.put("late.bin", data)
        done = time.monotonic()
        puts = o.seen("PUT", "/late.bin")
        self.assertEqual(len(puts), 1)
        self.assertEqual(puts[0].body, data)
        self.assertIsNotNone(puts[0].answered)
        self.assertGreaterEqual(done, puts[0].answered)

    def test_put_refused_by_the_origin(self):
        o = self.origin()
        o.set("/fail.bin", put_status=500)
        o.set("/deny.bin", put_status=403)
        srv = self.tftpd("--origin", o.url("/"), "--origin-put")
        for name in ("fail.bin", "deny.bin"):
            with self.subTest(name=name):
                with srv.client() as c:
                    with self.assertRaises(TftpError) as e:
                        c.put(name, pattern(5000, seed=23))  # no final ACK
                if name == "deny.bin":
                    self.assertEqual(e.exception.code, 2)
                self.assertEqual(len(o.seen("PUT", "/" + name)), 1)
        self.assertEqual(o.uploads, {})
        self.assertLogged(srv.stop(), r"origin PUT[^\n]*\b500\b")


if __name__ == "__main__":
    main()
