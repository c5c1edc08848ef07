#!/usr/bin/env python3
"""Error paths across peers.

* A missing file: each peer client against our tftpd, and our client
  against in.tftpd, atftpd (and our tftpd).
* A refused write: our tftpd without -w against each peer client; in.tftpd
  without -c, and atftpd into a directory that does not exist, against our
  client.
* Option rejection: a server that answers any option with ERROR 8
  (tests/lib/tftprelay.py --reject-options in front of in.tftpd, atftpd
  and our tftpd) -- our client must ask again without options; in.tftpd
  -r blksize, which leaves blksize out of the OACK (or sends no OACK).
* Our tftpd with caps (-B, --max-window) and with --no-options, faced with
  peer clients asking for more.
"""
import os
import re
import time

from interop import (WorkdirCase, data_for, log_mark, negotiated, read, run,
                     run_ours, transfer_line, write)
from peers import Atftpd, InTftpd, client_path
from tftprelay import RelayProcess
from tftptest import TftpdServer, main, scaled

DATA = data_for(200000, seed=99)   # 391 blocks of 512, 25 of 8192


def peer_get(client, port, remote, local, blksize=None, window=None):
    """Download with a peer client: the finished process."""
    hp = ["127.0.0.1", str(port)]
    if client == "hpa":
        return run([client_path("tftp"), "-m", "binary"] + hp + ["-c", "get", remote, local])
    if client == "atftp":
        opts = (["--option", "blksize %d" % blksize] if blksize else []) + \
               (["--option", "windowsize %d" % window] if window else [])
        return run([client_path("atftp"), "-g", "-r", remote, "-l", local] + opts + hp)
    if client == "curl":
        opts = ["--tftp-blksize", str(blksize)] if blksize else []
        return run([client_path("curl"), "-sS", "--max-time", "60"] + opts
                   + ["-o", local, "tftp://127.0.0.1:%d/%s" % (port, remote)])
    if client == "busybox":
        opts = ["-b", str(blksize)] if blksize else []
        return run([client_path("busybox"), "tftp"] + opts
                   + ["-g", "-r", remote, "-l", local] + hp)
    raise ValueError(client)


def peer_put(client, port, local, remote):
    hp = ["127.0.0.1", str(port)]
    if client == "hpa":
        return run([client_path("tftp"), "-m", "binary"] + hp + ["-c", "put", local, remote])
    if client == "atftp":
        return run([client_path("atftp"), "-p", "-l", local, "-r", remote] + hp)
    if client == "curl":
        return run([client_path("curl"), "-sS", "--max-time", "60", "-T", local,
                    "tftp://127.0.0.1:%d/%s" % (port, remote)])
    if client == "busybox":
        return run([client_path("busybox"), "tftp", "-p", "-l", local, "-r", remote] + hp)
    raise ValueError(client)


PEER_CLIENTS = ("hpa", "atftp", "curl", "busybox")


def reported_error(client, p, code):
    """Did the peer client report the server's ERROR? tftp-hpa exits 0
    after an ERROR (it prints 'Error code N: ...'); the others exit
    non-zero (curl: 68 not found, 69 permission)."""
    if client == "hpa":
        return p.returncode == 0 and ("Error code %d:" % code) in p.out
    return p.returncode != 0


class PeerClientsOurServer(WorkdirCase):
    """Each peer client against our tftpd: a missing file, and a write to
    a server without -w."""

    @classmethod
    def setUpClass(cls):
        cls.ro = TftpdServer()            # read-only: no -w
        cls.ro.__enter__()
        cls.ro.write("there.bin", DATA)

    @classmethod
    def tearDownClass(cls):
        cls.ro.__exit__(None, None, None)

    def test_missing_file(self):
        for c in PEER_CLIENTS:
            with self.subTest(client=c):
                local = self.local("missing-" + c)
                mark = log_mark(self.ro)
                p = peer_get(c, self.ro.port, "no-such-file", local)
                self.assertTrue(reported_error(c, p, 1), "%s: rc %d\n%s"
                                % (c, p.returncode, p.out[-1000:]))
                if c in ("hpa", "atftp"):
                    # Both create the local file before the request: it
                    # stays behind, empty.
                    self.assertEqual(read(local) if os.path.exists(local) else b"", b"")
                else:
                    self.assertNoFile(local, "(%s)" % c)
                line = transfer_line(self.ro, "RRQ", "no-such-file", since=mark)
                self.assertIn("ERROR 1", line)

    def test_refused_write(self):
        for c in PEER_CLIENTS:
            with self.subTest(client=c):
                local = write(self.local("up-" + c), DATA)
                mark = log_mark(self.ro)
                p = peer_put(c, self.ro.port, local, "up-" + c)
                self.assertTrue(reported_error(c, p, 2), "%s: rc %d\n%s"
                                % (c, p.returncode, p.out[-1000:]))
                self.assertEqual(sorted(os.listdir(self.ro.root)), ["there.bin"])
                line = transfer_line(self.ro, "WRQ", "up-" + c, since=mark)
                self.assertIn("ERROR 2", line)


def one_line_error(testcase, p, needle):
    """Our client failed with exit 1 and said so in one line that carries
    the server's message."""
    testcase.assertEqual(p.returncode, 1, p.out[-1000:])
    lines = [l for l in p.stderr.decode().splitlines() if l.strip()]
    testcase.assertEqual(len(lines), 1, lines)
    testcase.assertIn(needle, lines[0])
    testcase.assertIn("TFTP error", lines[0])


class OurClientErrors(WorkdirCase):
    """Our client against in.tftpd and atftpd (and our tftpd): a missing
    file, a refused upload."""

    def check_missing(self, srv, needle):
        local = self.local("got")
        p = run_ours("get", "-q", "127.0.0.1:%d" % srv.port, "no-such-file", local)
        needle = "no-such-file: %s (TFTP error 1)" % needle
        one_line_error(self, p, needle)
        self.assertEqual(os.listdir(self.dir), [])  # no file, no temp file

    def test_missing_file(self):
        with InTftpd() as srv:
            self.check_missing(srv, "File not found")
        with Atftpd() as srv:
            self.check_missing(srv, "File not found")
        with TftpdServer() as srv:
            self.check_missing(srv, "File not found")

    def test_refused_write(self):
        local = write(self.local("up.bin"), DATA)
        # in.tftpd without -c creates no files (it answers ERROR 1).
        with InTftpd(create=False) as srv:
            p = run_ours("put", "-q", "127.0.0.1:%d" % srv.port, local, "new.bin")
            one_line_error(self, p, "new.bin: File not found (TFTP error 1)")
            self.assertEqual(os.listdir(srv.root), [])
        # atftpd: no such directory.
        with Atftpd() as srv:
            p = run_ours("put", "-q", "127.0.0.1:%d" % srv.port, local, "no-dir/new.bin")
            one_line_error(self, p, "no-dir/new.bin: Access violation (TFTP error 2)")
            self.assertEqual(os.listdir(srv.root), [])
        # Ours without -w.
        with TftpdServer() as srv:
            p = run_ours("put", "-q", "127.0.0.1:%d" % srv.port, local, "new.bin")
            one_line_error(self, p, "new.bin: ")
            self.assertEqual(os.listdir(srv.root), [])
        self.assertEqual(read(local), DATA)


class OptionRejection(WorkdirCase):
    """Our client against servers that will not take options."""

    def summary(self, p):
        m = re.search(r"(?:received|sent) \d+ bytes .*blksize (\d+), window (\d+)", p.out)
        self.assertIsNotNone(m, p.out[-1500:])
        return int(m.group(1)), int(m.group(2))

    def round_trip(self, srv, port, tag, args, expect):
        local = self.local(tag)
        p = run_ours("get", "-v", "--no-progress", *args, "127.0.0.1:%d" % port,
                     "src.bin", local)
        self.assertEqual(p.returncode, 0, p.out[-2000:])
        self.assertEqual(read(local), DATA)
        self.assertEqual(self.summary(p), expect)
        p = run_ours("put", "-v", "--no-progress", *args, "127.0.0.1:%d" % port,
                     local, "up-" + tag)
        self.assertEqual(p.returncode, 0, p.out[-2000:])
        self.assertEqual(self.summary(p), expect)
        os.unlink(local)
        return p

    def wait_stored(self, srv, name):
        # atftpd writes the tail of an upload after its last ACK.
        end = time.monotonic() + scaled(5)
        while time.monotonic() < end:
            if os.path.exists(srv.path(name)) and len(srv.read(name)) >= len(DATA):
                break
            time.sleep(0.01)
        self.assertEqual(srv.read(name), DATA)

    def test_error8_fallback(self):
        # The relay answers every request with options with ERROR 8 and
        # forwards option-less ones: the transfer must still happen, in
        # plain RFC 1350 (512-byte lockstep).
        servers = (("in.tftpd", lambda: InTftpd(create=True)),
                   ("atftpd", Atftpd),
                   ("tftpd", lambda: TftpdServer("-w")))
        for name, make in servers:
            with self.subTest(server=name), make() as srv:
                srv.write("src.bin", DATA)
                with RelayProcess(srv.port, reject_options=True) as relay:
                    tag = "e8-" + name
                    self.round_trip(srv, relay.port, tag,
                                    ("-b", "8192", "-W", "16", "-T"), (512, 1))
                    self.wait_stored(srv, "up-" + tag)
                # Both requests with options were refused, then repeated.
                self.assertEqual(relay.final["rejected_requests"], 2, relay.final)

    def test_in_tftpd_refuses_blksize(self):
        # in.tftpd -r blksize: with only blksize asked there is no OACK
        # at all (DATA 1 / ACK 0 answers the request); with tsize too, the
        # OACK carries tsize alone. Either way: 512-byte blocks.
        with InTftpd(create=True, extra=["-r", "blksize"]) as srv:
            srv.write("src.bin", DATA)
            self.round_trip(srv, srv.port, "rb1", ("-b", "8192"), (512, 1))
            self.wait_stored(srv, "up-rb1")
            p = self.round_trip(srv, srv.port, "rb2", ("-b", "8192", "-T"), (512, 1))
            self.assertRegex(p.out, r"options accepted: tsize %d" % len(DATA))
            self.wait_stored(srv, "up-rb2")


class OurServerCaps(WorkdirCase):
    """Peer clients asking our tftpd for more than it grants (-B 1024,
    --max-window 4), or for anything at all (--no-options)."""

    def fetch(self, srv, client, tag, expect, **opts):
        local = self.local(tag)
        mark = log_mark(srv)
        p = peer_get(client, srv.port, "src.bin", local, **opts)
        self.assertEqual(p.returncode, 0, "%s %r: %s" % (client, opts, p.out[-1500:]))
        self.assertNotIn("Error", p.out)
        self.assertEqual(read(local), DATA, "%s %r" % (client, opts))
        line = transfer_line(srv, "RRQ", "src.bin", since=mark)
        self.assertTrue(line.endswith(": ok"), line)
        self.assertEqual(negotiated(line), expect, line)

    def test_capped(self):
        with TftpdServer("-B", "1024", "--max-window", "4") as srv:
            srv.write("src.bin", DATA)
            self.fetch(srv, "atftp", "a1", (1024, 4), blksize=8192, window=16)
            self.fetch(srv, "atftp", "a2", (1024, 1), blksize=65464)
            self.fetch(srv, "curl", "c1", (1024, 1), blksize=65464)
            self.fetch(srv, "busybox", "b1", (1024, 1), blksize=65464)

    def test_default_window_cap(self):
        # A window far beyond the default cap (64), and blksize 65464 with
        # it: atftp must keep to the OACK's 64.
        with TftpdServer() as srv:
            srv.write("src.bin", DATA)
            self.fetch(srv, "atftp", "a1", (65464, 64), blksize=65464, window=1000)
            self.fetch(srv, "atftp", "a2", (512, 64), window=65535)

    def test_no_options(self):
        with TftpdServer("--no-options") as srv:
            srv.write("src.bin", DATA)
            self.fetch(srv, "atftp", "a1", (512, 1), blksize=8192, window=16)
            self.fetch(srv, "curl", "c1", (512, 1), blksize=8192)
            self.fetch(srv, "busybox", "b1", (512, 1), blksize=8192)
            self.fetch(srv, "hpa", "h1", (512, 1))


if __name__ == "__main__":
    main()
