#!/usr/bin/env python3
"""Observability: --metrics (scraped with curl, exact counter values,
checked by promtool, whole-server counts with --workers), --log-format
json (every line parsed; names with quotes, backslashes, control and
non-UTF-8 bytes), --on-complete (once per transfer with the right
environment; a hook that sleeps does not slow transfers; a hook past its
timeout is killed) and the client's --json."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

from interop import run_ours
from tftptest import (DATA, ERROR, Client, Endpoint, TftpError, TftpdServer,
                      free_tcp_port,
                      main, pack_ack, pack_error, pack_rrq, pattern, scaled,
                      wait_for)


def scrape(port):
    r = subprocess.run(["curl", "-sS", "--max-time", "5",
                        "http://127.0.0.1:%d/metrics" % port],
                       capture_output=True, text=True, timeout=scaled(10))
    if r.returncode != 0:
        raise AssertionError("curl: " + r.stderr)
    return r.stdout


def samples(text):
    """{'name{labels}': value} of every sample line."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            k, v = line.rsplit(" ", 1)
            out[k] = float(v)
    return out


class Metrics(unittest.TestCase):
    def serve(self, *args):
        self.mport = free_tcp_port()
        return TftpdServer("--metrics", "127.0.0.1:%d" % self.mport, *args)

    def test_exact_counts_and_promtool(self):
        sizes = [0, 1000, 70000]
        with self.serve("-w", "--max-per-client", "2") as srv:
            for i, n in enumerate(sizes):
                srv.write("f%d" % i, pattern(n, seed=i))
            with srv.client() as c:
                for i in range(3):
                    c.get("f%d" % i, opts={"blksize": "1468", "windowsize": "8"}
                          if i == 2 else None)
                c.put("up.bin", b"u" * 3000)
                with self.assertRaises(TftpError):
                    c.get("missing")
            # One aborted by its client, one held while a third request
            # from the address is refused by --max-per-client.
            with Endpoint() as a, Endpoint() as b, Endpoint() as x:
                a.send(pack_rrq("f2"), srv.port)
                d = a.recv()
                a.send(pack_error(0, "abort"), d.port)
                wait_for(lambda: samples(scrape(self.mport)).get(
                    'tftp_transfers_total{op="rrq",result="client_abort"}') == 1,
                    10, "the abort")
                b.send(pack_rrq("f2"), srv.port)
                self.assertEqual(b.recv().op, DATA)
                c2 = Endpoint()
                c2.send(pack_rrq("f2"), srv.port)
                self.assertEqual(c2.recv().op, DATA)
                x.send(pack_rrq("f1"), srv.port)
                e = x.recv()
                self.assertEqual((e.op, e.msg), (ERROR, "server busy"))
                m = samples(scrape(self.mport))
                self.assertEqual(m["tftp_transfers_active"], 2)
                c2.close()
            wait_for(lambda: samples(scrape(self.mport))
                     ["tftp_transfers_active"] == 0, 15, "the held ones to time out")
            text = scrape(self.mport)
            log = srv.stop()
        m = samples(text)
        probes = log.count("tftptest-probe-no-such-file: refused")
        sent = sum(int(x) for x in re.findall(r" RRQ \S+ octet: (\d+) bytes", log))
        want = {
            'tftp_transfers_started_total{op="rrq"}': 6,
            'tftp_transfers_started_total{op="wrq"}': 1,
            'tftp_transfers_total{op="rrq",result="ok"}': 3,
            'tftp_transfers_total{op="wrq",result="ok"}': 1,
            'tftp_transfers_total{op="rrq",result="client_abort"}': 1,
            'tftp_transfers_total{op="rrq",result="timeout"}': 2,
            'tftp_requests_refused_total{op="rrq",reason="not_found"}': 1 + probes,
            'tftp_requests_refused_total{op="rrq",reason="limit"}': 1,
            'tftp_sent_bytes_total': sent,
            'tftp_received_bytes_total': 3000,
            'tftp_transfer_duration_seconds_count': 7,
            'tftp_granted_blksize_bytes_count': 7,
            'tftp_granted_blksize_bytes_bucket{le="1468"}': 7,
            'tftp_granted_blksize_bytes_bucket{le="512"}': 6,
            'tftp_granted_windowsize_blocks_bucket{le="1"}': 6,
            'tftp_granted_windowsize_blocks_bucket{le="8"}': 7,
        }
        for k, v in want.items():
            self.assertEqual(m.get(k), v, k)
        self.assertGreaterEqual(sent, sum(sizes))
        promtool = shutil.which("promtool")
        self.assertIsNotNone(promtool, "promtool (Debian: prometheus) is needed")
        r = subprocess.run([promtool, "check", "metrics"], input=text,
                           capture_output=True, text=True, timeout=scaled(30))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_only_metrics_and_get(self):
        with self.serve() as srv:
            base = "http://127.0.0.1:%d" % self.mport
            for args, code in ((["/other"], "404"), (["-X", "POST", "/metrics"], "501")):
                r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w",
                                    "%{http_code}"] + args[:-1] + [base + args[-1]],
                                   capture_output=True, text=True, timeout=scaled(10))
                self.assertEqual(r.stdout, code)
            self.assertIn("metrics on http://127.0.0.1:%d/metrics" % self.mport,
                          srv.stop())

    def test_workers_count_for_the_whole_server(self):
        with self.serve("--workers", "2") as srv:
            srv.write("f", b"x" * 100)
            for _ in range(10):
                with srv.client() as c:
                    c.get("f")
            seen = {samples(scrape(self.mport))
                    ['tftp_transfers_total{op="rrq",result="ok"}'] for _ in range(8)}
            self.assertEqual(seen, {10})


class JsonLog(unittest.TestCase):
    NAMES = [b'q"uote', b"back\\slash", b"caf\xe9", b"\xff\xfe", b"sp ace"]

    def test_every_line_parses(self):
        with TftpdServer("--log-format", "json", "-w") as srv:
            for n in self.NAMES:
                with open(os.path.join(srv.root.encode(), n), "wb") as f:
                    f.write(n)
            for n in self.NAMES:
                with Endpoint() as e:
                    e.send(b"\x00\x01" + n + b"\x00octet\x00", srv.port)
                    d = e.recv()
                    self.assertEqual((d.op, d.payload), (DATA, n))
                    e.send(pack_ack(1), d.port)
            with Endpoint() as e:  # a control byte: refused, still JSON
                e.send(b"\x00\x01bad\x01\x1b[2J\x00octet\x00", srv.port)
                self.assertEqual(e.recv().op, ERROR)
            with srv.client() as c:
                c.put("up", b"z" * 700)
            log = srv.stop()
        events = [json.loads(line) for line in log.splitlines()]
        done = [e for e in events if e.get("event") == "transfer"]
        files = [e["file"].encode("latin-1") for e in done if e["op"] == "RRQ"]
        self.assertEqual(sorted(files), sorted(self.NAMES))
        up = [e for e in done if e["op"] == "WRQ"][0]
        self.assertEqual((up["bytes"], up["result"], up["client"]), (700, "ok", "127.0.0.1"))
        for k in ("time", "port", "mode", "blksize", "window", "seconds", "retransmits"):
            self.assertIn(k, up)
        bad = [e for e in events if e.get("event") == "refused" and "bad" in e.get("file", "")]
        self.assertEqual(bad[0]["file"].encode("latin-1"), b"bad\x01\x1b[2J")
        self.assertEqual(bad[0]["error_code"], 2)
        self.assertTrue(any(e.get("level") == "info" and "listening" in e["msg"]
                            for e in events))


class Hook(unittest.TestCase):
    def script(self, body):
        fd, path = tempfile.mkstemp(prefix="hook-", suffix=".sh")
        os.write(fd, b"#!/bin/sh\n" + body.encode())
        os.close(fd)
        os.chmod(path, 0o755)
        self.addCleanup(os.unlink, path)
        return path

    def test_once_per_transfer_with_its_fields(self):
        out = tempfile.mkdtemp(prefix="hook-out-")
        self.addCleanup(shutil.rmtree, out)
        hook = self.script('env | grep "^TFTP_" > "%s/$TFTP_PORT.$TFTP_OP"\n' % out)
        with TftpdServer("-w", "--on-complete", hook) as srv:
            srv.write("a.bin", b"a" * 1234)
            with srv.client() as c:
                c.get("a.bin")
                port = c.port
                c.put("b.bin", b"b" * 10)
                with self.assertRaises(TftpError):
                    c.get("none")
            wait_for(lambda: len(os.listdir(out)) >= 2, 10, "the hooks")
            srv.stop()
        self.assertEqual(sorted(os.listdir(out)), ["%d.RRQ" % port, "%d.WRQ" % port])
        with open(os.path.join(out, "%d.RRQ" % port)) as f:
            env = dict(line.rstrip("\n").split("=", 1) for line in f)
        self.assertEqual({k: env[k] for k in ("TFTP_OP", "TFTP_FILE", "TFTP_CLIENT",
                                               "TFTP_BYTES", "TFTP_RESULT", "TFTP_MODE")},
                         {"TFTP_OP": "RRQ", "TFTP_FILE": "a.bin", "TFTP_CLIENT": "127.0.0.1",
                          "TFTP_BYTES": "1234", "TFTP_RESULT": "ok", "TFTP_MODE": "octet"})
        self.assertEqual(env["TFTP_PORT"], str(port))
        self.assertRegex(env["TFTP_SECONDS"], r"^\d+\.\d{6}$")

    def test_sleeping_hooks_do_not_slow_transfers(self):
        tag = "tftpd-test-sleeper-%d" % os.getpid()
        hook = self.script("exec sleep 30 # %s\n" % tag)
        self.addCleanup(subprocess.run, ["pkill", "-f", tag])
        took = {}
        for args in ((), ("--on-complete", hook, "--on-complete-max", "4")):
            with TftpdServer(*args) as srv:
                srv.write("f", b"f" * 3000)
                t0 = time.monotonic()
                with srv.client() as c:
                    for _ in range(100):
                        self.assertEqual(c.get("f").data, b"f" * 3000)
                took[bool(args)] = time.monotonic() - t0
        sys.stderr.write("100 transfers: %.2f s without a hook, %.2f s with one "
                         "that sleeps 30 s\n" % (took[False], took[True]))
        self.assertLess(took[True], 2 * took[False] + scaled(1), took)
        # At most 4 ran at once; the rest waited (and were dropped at exit).
        r = subprocess.run(["pgrep", "-fc", tag], capture_output=True, text=True)
        self.assertLessEqual(int(r.stdout.strip() or 0), 4)

    def test_a_hook_past_its_timeout_is_killed(self):
        hook = self.script("exec sleep 30\n")
        with TftpdServer("--on-complete", hook, "--on-complete-timeout", "1") as srv:
            srv.write("f", b"1")
            with srv.client() as c:
                c.get("f")
            wait_for(lambda: "killed" in srv.log(), 10, "the hook to be killed")
            log = srv.stop()
        self.assertIn("still running after 1 s, killed", log)

    def test_a_failing_or_missing_hook_is_logged(self):
        fails = self.script("exit 3\n")
        for cmd, words in ((fails, "exit status 3"),
                           ("/nonexistent/hook", "cannot run /nonexistent/hook")):
            with TftpdServer("--on-complete", cmd) as srv:
                srv.write("f", b"1")
                with srv.client() as c:
                    c.get("f")
                    c.get("f")
                wait_for(lambda: words in srv.log(), 10, words)
                srv.stop()

    def test_shell(self):
        out = tempfile.mktemp(prefix="hook-shell-")
        self.addCleanup(lambda: os.path.exists(out) and os.unlink(out))
        with TftpdServer("--on-complete", 'echo "$TFTP_FILE:$TFTP_BYTES" > ' + out,
                         "--on-complete-shell") as srv:
            srv.write("f", b"12345")
            with srv.client() as c:
                c.get("f")
            wait_for(lambda: os.path.exists(out) and os.path.getsize(out) > 0, 10,
                     "the shell hook")
        with open(out) as f:
            self.assertEqual(f.read(), "f:5\n")


class ClientJson(unittest.TestCase):
    def test_summary(self):
        with TftpdServer() as srv:
            srv.write("g.bin", b"g" * 5000)
            d = tempfile.mkdtemp(prefix="cj-")
            self.addCleanup(shutil.rmtree, d)
            p = run_ours("get", "--json", "-b", "1000", "127.0.0.1:%d" % srv.port,
                         "g.bin", os.path.join(d, "g.bin"))
            j = json.loads(p.stdout)
            self.assertEqual((j["result"], j["exit_code"], j["bytes"], j["blksize"]),
                             ("ok", 0, 5000, 1000))
            p = run_ours("get", "--json", "127.0.0.1:%d" % srv.port, "nope",
                         os.path.join(d, "n"))
            j = json.loads(p.stdout)
            self.assertEqual((p.returncode, j["result"], j["tftp_error"], j["error"]),
                             (1, "failed", 1, "File not found"))
            p = run_ours("get", "--json", "127.0.0.1:%d" % srv.port, "g.bin", "-")
            self.assertEqual(p.stdout, b"g" * 5000)
            self.assertEqual(json.loads(p.stderr)["bytes"], 5000)


if __name__ == "__main__":
    main()
