#!/usr/bin/env python3
"""Logging: with -v exactly one line per finished transfer, carrying the
peer, RRQ/WRQ, file, mode, bytes, duration, rate, retransmits and the
outcome (ok, the ERROR the client sent, a timeout, the ERROR code sent);
refused requests name the ERROR code sent. Without -v a successful
transfer is silent and a failed one still shows; with --syslog nothing
goes to stderr."""
import os
import re
import unittest

from tftptest import (ACK, DATA, UNDER_VALGRIND, Endpoint, TftpdServer,
                      TftpError, main, pack_ack, pack_data, pack_error,
                      pack_rrq, pack_wrq, pattern, scaled, wait_for)

LINE = re.compile(
    r"^tftpd: (?P<peer>127\.0\.0\.1:\d+) (?P<op>RRQ|WRQ) (?P<file>\S+) "
    r"(?P<mode>octet|netascii): (?P<bytes>\d+) bytes(?: \((?P<human>\d+\.\d) "
    r"(?P<hunit>KiB|MiB|GiB)\))? in (?P<dur>\d+(?:\.\d+)?) (?P<tunit>us|ms|s) "
    r"\((?P<rnum>\d+(?:\.\d)?) (?P<runit>B|KiB|MiB|GiB)/s\), blksize (?P<blksize>\d+), "
    r"window (?P<window>\d+), (?P<rexmit>\d+) retransmits: (?P<outcome>.+)$", re.M)
UNIT = {"B": 1, "KiB": 1024, "MiB": 1 << 20, "GiB": 1 << 30}
TUNIT = {"us": 1e-6, "ms": 1e-3, "s": 1.0}


def secs_of(m):
    return float(m["dur"]) * TUNIT[m["tunit"]]


def rate_of(m):
    return float(m["rnum"]) * UNIT[m["runit"]]


def lines_for(log, port):
    return [m for m in LINE.finditer(log) if m["peer"] == "127.0.0.1:%d" % port]


class TransferLines(unittest.TestCase):
    def test_one_line_per_transfer(self):
        content = pattern(100000, seed=8)
        with TftpdServer("-w", "-t", "1", "--retries", "2") as srv:
            srv.write("dir/f.bin", content)
            # ok: a download with options, an upload.
            with srv.client() as c:
                c.get("dir/f.bin", opts={"blksize": "1024", "windowsize": "4"})
                get_port = c.port
            with srv.client() as c:
                c.put("up.bin", content[:5000])
                put_port = c.port
            # A retransmission: DATA 1 left unacknowledged past the timeout.
            with Endpoint() as e:
                e.send(pack_rrq("dir/f.bin", opts={"blksize": "65000"}), srv.port)
                p1 = e.recv(3)
                self.assertEqual(p1.op, 6)  # OACK
                p2 = e.recv(3)
                self.assertEqual(p2.raw, p1.raw)  # repeated after the timeout
                e.send(pack_ack(0), p1.port)
                self.assertEqual(e.recv(3).block, 1)
                e.send(pack_ack(1), p1.port)
                p = e.recv(3)
                self.assertEqual((p.op, p.block), (DATA, 2))
                e.send(pack_ack(2), p1.port)
                rex_port = e.port
            # The client gives up with an ERROR.
            with Endpoint() as e:
                e.send(pack_wrq("cut.bin"), srv.port)
                tid = e.recv(3).port
                e.send(pack_data(1, b"c" * 512), tid)
                self.assertEqual(e.recv(3).block, 1)
                e.send(pack_error(0, "cancelled"), tid)
                err_port = e.port
            # The client goes silent.
            with Endpoint() as e:
                e.send(pack_rrq("dir/f.bin"), srv.port)
                self.assertEqual(e.recv(3).block, 1)
                silent_port = e.port
            # Refused: missing file.
            with srv.client() as c, self.assertRaises(TftpError):
                c.get("nope.bin")
            wait_for(lambda: lines_for(srv.log(), silent_port), 10, "the timeout")
            log = srv.stop()

        (get,) = lines_for(log, get_port)
        self.assertEqual((get["op"], get["file"], get["mode"], get["bytes"],
                          get["blksize"], get["window"], get["rexmit"], get["outcome"]),
                         ("RRQ", "dir/f.bin", "octet", "100000", "1024", "4", "0", "ok"))
        secs = secs_of(get)
        self.assertLess(secs, scaled(5))
        self.assertGreater(secs, 0)  # never "0.000 s": us or ms below 1 s
        self.assertEqual((get["human"], get["hunit"]), ("97.7", "KiB"))
        self.assertAlmostEqual(rate_of(get), 100000 / secs,
                               delta=100000 / secs * 0.06 + 1000)
        (put,) = lines_for(log, put_port)
        self.assertEqual((put["op"], put["file"], put["bytes"], put["outcome"]),
                         ("WRQ", "up.bin", "5000", "ok"))
        (rex,) = lines_for(log, rex_port)
        self.assertEqual((rex["bytes"], rex["blksize"], rex["outcome"]), ("100000", "65000", "ok"))
        self.assertGreaterEqual(int(rex["rexmit"]), 1)
        (err,) = lines_for(log, err_port)
        self.assertEqual((err["op"], err["bytes"], err["outcome"]),
                         ("WRQ", "512", "failed, client sent ERROR 0 (cancelled)"))
        (sil,) = lines_for(log, silent_port)
        self.assertEqual(sil["outcome"], "failed, timed out")
        # 1 s x 2 retries of silence: DATA 1 again at 1 s, given up at 2 s
        self.assertEqual(int(sil["rexmit"]), 1)
        self.assertRegex(log, r"127\.0\.0\.1:\d+ RRQ nope\.bin: refused, sent ERROR 1 "
                              r"\(File not found\)")
        # Nothing else was logged about these transfers.
        self.assertEqual(len(LINE.findall(log)), 5)

    def test_default_verbosity(self):
        with TftpdServer("-w", verbose=False) as srv:
            srv.write("f.bin", b"abc")
            with srv.client() as c:
                c.get("f.bin")
            with Endpoint() as e:
                e.send(pack_wrq("cut.bin"), srv.port)
                tid = e.recv(3).port
                e.send(pack_error(0, "bye"), tid)
                wait_for(lambda: "client sent ERROR" in srv.log(), 5, "the failure line")
            log = srv.stop()
        self.assertNotIn(": ok", log)
        self.assertEqual(len(LINE.findall(log)), 1)

    def test_startup_summary(self):
        # valgrind 3.19 answers openat2 with ENOSYS: the server says it
        # confines with the component walk there.
        resolver = "component-walk" if UNDER_VALGRIND else "openat2"
        cases = [((), None, "(read-only), %s confinement" % resolver),
                 (("-w",), None, "(writes, new files only), uploads via O_TMPFILE, "
                                 "%s confinement" % resolver),
                 (("-w", "--overwrite"), {"TFTPD_NO_TMPFILE": "1", "TFTPD_NO_OPENAT2": "1"},
                  "(writes, overwrite allowed), uploads via hidden temporary names, "
                  "component-walk confinement")]
        for args, env, want in cases:
            with self.subTest(args=args), TftpdServer(*args, env=env) as srv:
                log = srv.stop()
                # As root the tests give -u root (as_root_permissive).
                who = "root" if os.geteuid() == 0 else "the invoking user"
                self.assertIn("tftpd: serving %s %s, as %s\n"
                              % (srv.root, want, who), log)

    def test_syslog_keeps_stderr_quiet(self):
        with TftpdServer("--syslog", "-w") as srv:
            srv.write("f.bin", b"abc")
            with srv.client() as c:
                c.get("f.bin")
                c.put("new.bin", b"d")
            log = srv.stop()
        # valgrind's own notes (the setup that runs tftpd under it) are
        # not tftpd's output.
        log = "".join(l for l in log.splitlines(True)
                      if not re.match(r"(--|==)\d+(--|==) ", l))
        self.assertEqual(log, "")


if __name__ == "__main__":
    main()
