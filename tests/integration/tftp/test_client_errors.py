#!/usr/bin/env python3
"""Failures and protocol behaviour of the real tftp client: exit codes and
their one-line messages, no partial file (and an existing LOCAL untouched)
after a failed or interrupted get, ERROR 5 to a stranger while the transfer
goes on, the ERROR 8 fallback, netascii as it is on the wire. Scripted fake
servers play the parts tftpd never plays."""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from clienttest import (recv_op, FakeServer, check_clean, expect, hostport, leftovers,
                        run_tftp, spawn_tftp, tftp_argv, wait_for)
from tftptest import (ACK, DATA, ERROR, RRQ, WRQ, Endpoint, TftpdServer,
                      free_udp_port, main, pack_ack, pack_data, pack_error,
                      pack_oack, pattern, scaled)

MSG = re.compile(r"^tftp: 127\.0\.0\.1: (\S+): (.*) \(TFTP error (\d+)\)$")


class ClientErrors(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tftp-client-err-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def local(self, name):
        return os.path.join(self.dir, name)

    def one_line(self, p):
        lines = p.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, p.stderr)
        return lines[0]

    # ---- against tftpd ----------------------------------------------------

    def test_missing_file_exit_1_and_nothing_written(self):
        with TftpdServer() as srv:
            out = self.local("missing.bin")
            p = run_tftp("get", hostport(srv), "missing.bin", out)
            self.assertEqual(p.returncode, 1)
            m = MSG.match(self.one_line(p))
            self.assertIsNotNone(m, p.stderr)
            self.assertEqual(m.group(1), "missing.bin")
            self.assertEqual(m.group(3), "1")
            self.assertEqual(os.listdir(self.dir), [])
            # An existing LOCAL is left exactly as it was.
            with open(out, "wb") as f:
                f.write(b"precious")
            p = run_tftp("get", hostport(srv), "missing.bin", out)
            self.assertEqual(p.returncode, 1)
            with open(out, "rb") as f:
                self.assertEqual(f.read(), b"precious")
            self.assertEqual(sorted(os.listdir(self.dir)), ["missing.bin"])

    def test_refused_write_exit_1(self):
        with TftpdServer() as srv:  # no -w
            src = self.local("up.bin")
            with open(src, "wb") as f:
                f.write(pattern(1000))
            p = run_tftp("put", hostport(srv), src, "up.bin")
            self.assertEqual(p.returncode, 1)
            m = MSG.match(self.one_line(p))
            self.assertIsNotNone(m, p.stderr)
            self.assertEqual(m.group(1), "up.bin")
            self.assertEqual(m.group(3), "2")
            self.assertFalse(os.path.exists(srv.path("up.bin")))

    def test_no_server_exit_2_at_once(self):
        # Nothing listens: the ICMP port unreachable ends it without waiting
        # for the timeouts. (The kernel's global ICMP budget could swallow
        # one under a flood from other tests, hence a second chance.)
        for attempt in range(2):
            port = free_udp_port()
            t0 = time.monotonic()
            p = run_tftp("get", "-t", "2", "--retries", "1", "127.0.0.1:%d" % port,
                         "x.bin", self.local("x.bin"))
            took = time.monotonic() - t0
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertEqual(os.listdir(self.dir), [])
            if "Connection refused" in p.stderr:
                break
            time.sleep(1)
        self.assertEqual(self.one_line(p),
                         "tftp: 127.0.0.1: x.bin: Connection refused")
        self.assertLess(took, scaled(1.5))

    def test_silent_server_exit_2_within_bound(self):
        # A socket that takes the requests and never answers.
        with Endpoint() as silent:
            t0 = time.monotonic()
            p = run_tftp("get", "-t", "1", "--retries", "2",
                         "127.0.0.1:%d" % silent.port, "x.bin", self.local("x.bin"))
            took = time.monotonic() - t0
            reqs = silent.recv_all(quiet=0.1, limit=2)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertEqual(self.one_line(p),
                         "tftp: 127.0.0.1: x.bin: no answer from the server")
        # Given up after timeout x retries = 2 s of silence, plus
        # start-up slack.
        self.assertLess(took, scaled(2) + 2.0)
        self.assertGreater(took, 1.8)
        # The request and its repeat at 1 s, identical.
        self.assertEqual(len(reqs), 2)
        self.assertEqual(len(set(r.raw for r in reqs)), 1)
        self.assertEqual(reqs[0].op, RRQ)
        self.assertEqual(os.listdir(self.dir), [])

    def test_local_errors_exit_3(self):
        with TftpdServer() as srv:
            srv.write("f.bin", pattern(100))
            # A file where a directory should be: fails even for root.
            blocker = self.local("plain")
            with open(blocker, "wb") as f:
                f.write(b"x")
            p = run_tftp("get", hostport(srv), "f.bin", os.path.join(blocker, "f.bin"))
            self.assertEqual(p.returncode, 3, p.stderr)
            self.assertIn("Not a directory", self.one_line(p))
            p = run_tftp("get", hostport(srv), "f.bin", self.local("no/such/dir/f.bin"))
            self.assertEqual(p.returncode, 3, p.stderr)
            p = run_tftp("put", hostport(srv), self.local("absent.bin"))
            self.assertEqual(p.returncode, 3, p.stderr)
            self.assertIn("No such file or directory", self.one_line(p))
            if os.geteuid() != 0:
                ro = self.local("ro")
                os.mkdir(ro, 0o500)
                p = run_tftp("get", hostport(srv), "f.bin", os.path.join(ro, "f.bin"))
                self.assertEqual(p.returncode, 3, p.stderr)
                self.assertEqual(os.listdir(ro), [])

    def test_write_error_mid_transfer_exit_3(self):
        # A file-size limit makes the write fail part way (EFBIG, not the
        # SIGXFSZ that would kill the client and strand its temp file).
        import resource

        def limit():
            resource.setrlimit(resource.RLIMIT_FSIZE, (50000, 50000))

        with TftpdServer() as srv:
            srv.write("big.bin", pattern(200000, seed=16))
            # Small blocks are gathered before they are written: here
            # the one write that fails is the flush of the last block.
            srv.write("last.bin", pattern(50100, seed=17))
            out = self.local("big.bin")
            with open(out, "wb") as f:
                f.write(b"existing")
            cases = [("big.bin", []), ("big.bin", ["-T"]), ("last.bin", ["-b", "512"])]
            for name, opts in cases:
                with self.subTest(name=name, opts=opts):
                    p = subprocess.run(tftp_argv("get", *opts, hostport(srv), name, out),
                                       stdin=subprocess.DEVNULL, capture_output=True,
                                       timeout=scaled(30), preexec_fn=limit)
                    err = p.stderr.decode()
                    check_clean(err)
                    self.assertEqual(p.returncode, 3, err)
                    self.assertEqual(err, "tftp: %s: File too large\n" % out)
                    self.assertEqual(leftovers(self.dir), [])
                    with open(out, "rb") as f:
                        self.assertEqual(f.read(), b"existing")
            # The server was told why.
            self.assertTrue(wait_for(lambda: srv.log().count("client sent ERROR 3") == 3),
                            srv.log())
            self.assertIn("RRQ last.bin octet: 50100 bytes", srv.log())

    # ---- fake servers ------------------------------------------------------

    def test_stranger_gets_error_5_and_transfer_completes(self):
        blocks = [pattern(512, seed=1), pattern(512, seed=2), b"end" * 10]
        seen = {}

        def script(fake):
            req = recv_op(fake.listen, RRQ)
            client = req.port
            tid = fake.endpoint()
            tid.send(pack_data(1, blocks[0]), client)
            expect(recv_op(tid, ACK).block == 1, "ACK 1")
            # A datagram from another port of the server's host.
            intruder = fake.endpoint()
            intruder.send(pack_data(2, b"X" * 512), client)
            err = recv_op(intruder, ERROR)
            seen["error"] = (err.code, err.port)
            tid.send(pack_data(2, blocks[1]), client)
            expect(recv_op(tid, ACK).block == 2, "ACK 2")
            tid.send(pack_data(3, blocks[2]), client)
            expect(recv_op(tid, ACK).block == 3, "ACK 3")

        out = self.local("s.bin")
        with FakeServer(script) as fake:
            p = run_tftp("get", "--no-options", "127.0.0.1:%d" % fake.port, "s.bin", out)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(seen["error"][0], 5)
        with open(out, "rb") as f:
            self.assertEqual(f.read(), b"".join(blocks))

    def test_error_8_fallback_without_options(self):
        content = pattern(700, seed=3)
        requests = []

        def script(fake):
            req = recv_op(fake.listen, RRQ)
            requests.append(req)
            fake.endpoint().send(pack_error(8, "Options not welcome"), req.port)
            req = recv_op(fake.listen, RRQ)
            requests.append(req)
            tid = fake.endpoint()
            tid.send(pack_data(1, content[:512]), req.port)
            expect(recv_op(tid, ACK).block == 1, "ACK 1")
            tid.send(pack_data(2, content[512:]), req.port)
            expect(recv_op(tid, ACK).block == 2, "ACK 2")

        out = self.local("f8.bin")
        with FakeServer(script) as fake:
            p = run_tftp("get", "-T", "-b", "1024", "127.0.0.1:%d" % fake.port,
                         "f8.bin", out)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(requests[0].optdict(), {"blksize": "1024", "tsize": "0"})
        self.assertEqual(requests[1].opts, [])
        self.assertEqual(requests[1].filename, "f8.bin")
        with open(out, "rb") as f:
            self.assertTrue(f.read() == content)

    def test_error_0_option_refused_fallback_for_put(self):
        content = pattern(100, seed=4)
        requests = []
        got = {}

        def script(fake):
            req = recv_op(fake.listen, WRQ)
            requests.append(req)
            fake.endpoint().send(pack_error(0, "Unsupported option(s) requested"),
                                 req.port)
            req = recv_op(fake.listen, WRQ)
            requests.append(req)
            tid = fake.endpoint()
            tid.send(pack_ack(0), req.port)
            d = recv_op(tid, DATA)
            got["data"] = d.payload
            tid.send(pack_ack(1), req.port)

        src = self.local("e0.bin")
        with open(src, "wb") as f:
            f.write(content)
        with FakeServer(script) as fake:
            p = run_tftp("put", "-T", "127.0.0.1:%d" % fake.port, src)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(requests[0].optdict(), {"blksize": "1428", "tsize": "100"})
        self.assertEqual(requests[1].opts, [])
        self.assertEqual(got["data"], content)

    def test_error_8_once_only(self):
        # Refused again without options: that is the server's answer.
        count = []

        def script(fake):
            for _ in range(2):
                req = recv_op(fake.listen, RRQ)
                count.append(req)
                fake.endpoint().send(pack_error(8, "no"), req.port)

        with FakeServer(script) as fake:
            p = run_tftp("get", "127.0.0.1:%d" % fake.port, "x", self.local("x"))
        self.assertEqual(p.returncode, 1)
        self.assertEqual(self.one_line(p), "tftp: 127.0.0.1: x: no (TFTP error 8)")
        self.assertEqual(len(count), 2)
        self.assertEqual(os.listdir(self.dir), [])

    def test_error_mid_transfer_leaves_nothing(self):
        def script(fake):
            req = recv_op(fake.listen, RRQ)
            tid = fake.endpoint()
            tid.send(pack_data(1, pattern(512)), req.port)
            expect(recv_op(tid, ACK).block == 1, "ACK 1")
            tid.send(pack_error(3, "Disk on fire"), req.port)

        out = self.local("mid.bin")
        with open(out, "wb") as f:
            f.write(b"keep me")
        with FakeServer(script) as fake:
            p = run_tftp("get", "--no-options", "127.0.0.1:%d" % fake.port, "mid.bin", out)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(self.one_line(p),
                         "tftp: 127.0.0.1: mid.bin: Disk on fire (TFTP error 3)")
        with open(out, "rb") as f:
            self.assertEqual(f.read(), b"keep me")
        self.assertEqual(leftovers(self.dir), [])

    def test_timeout_mid_transfer_exit_2(self):
        def script(fake):
            req = recv_op(fake.listen, RRQ)
            tid = fake.endpoint()
            tid.send(pack_data(1, pattern(512)), req.port)
            recv_op(tid, ACK)
            time.sleep(scaled(3.5))  # then silence

        out = self.local("to.bin")
        with FakeServer(script) as fake:
            p = run_tftp("get", "--no-options", "-t", "1", "--retries", "2",
                         "127.0.0.1:%d" % fake.port, "to.bin", out)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertEqual(self.one_line(p), "tftp: 127.0.0.1: to.bin: timed out")
        self.assertEqual(os.listdir(self.dir), [])

    def test_interrupt_removes_temp_file(self):
        state = {}

        def script(fake):
            req = recv_op(fake.listen, RRQ)
            tid = fake.endpoint()
            tid.send(pack_data(1, pattern(512)), req.port)
            recv_op(tid, ACK)
            state["acked"] = True
            # Stall; the client is interrupted and says so.
            err = recv_op(tid, ERROR, timeout=10)
            state["error"] = err.code

        out = self.local("int.bin")
        with open(out, "wb") as f:
            f.write(b"old")
        for sig, rc in ((signal.SIGINT, 130), (signal.SIGTERM, 143)):
            with self.subTest(sig=sig):
                state.clear()
                with FakeServer(script) as fake:
                    proc = spawn_tftp("get", "--no-options", "-t", "5",
                                      "127.0.0.1:%d" % fake.port, "int.bin", out)
                    self.assertTrue(wait_for(lambda: state.get("acked")))
                    # The download goes to an unnamed O_TMPFILE file:
                    # nothing to see while it runs, nothing to leave.
                    self.assertEqual(leftovers(self.dir), [])
                    proc.send_signal(sig)
                    _, err = proc.communicate(timeout=scaled(10))
                check_clean(err.decode("utf-8", "replace"))
                self.assertEqual(proc.returncode, rc, err)
                self.assertEqual(state.get("error"), 0)
                self.assertEqual(leftovers(self.dir), [])
                with open(out, "rb") as f:
                    self.assertEqual(f.read(), b"old")

    def test_netascii_on_the_wire(self):
        wire_in = b"one\r\ntwo\r\0three\r\n"
        got = {}

        def script(fake):
            req = recv_op(fake.listen, RRQ)
            got["mode"] = req.mode
            tid = fake.endpoint()
            tid.send(pack_data(1, wire_in), req.port)
            recv_op(tid, ACK)
            req = recv_op(fake.listen, WRQ)
            tid2 = fake.endpoint()
            tid2.send(pack_ack(0), req.port)
            d = recv_op(tid2, DATA)
            got["wire_out"] = d.payload
            tid2.send(pack_ack(1), req.port)

        out = self.local("n.txt")
        with FakeServer(script) as fake:
            p = run_tftp("get", "--no-options", "-m", "netascii",
                         "127.0.0.1:%d" % fake.port, "n.txt", out)
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(out, "rb") as f:
                self.assertEqual(f.read(), b"one\ntwo\rthree\n")
            src = self.local("m.txt")
            with open(src, "wb") as f:
                f.write(b"a\nb\rc\n")
            p = run_tftp("put", "--no-options", "-m", "netascii",
                         "127.0.0.1:%d" % fake.port, src)
            self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(got["mode"], "netascii")
        self.assertEqual(got["wire_out"], b"a\r\nb\r\0c\r\n")

    def test_local_port_range(self):
        seen = {}

        def script(fake):
            req = recv_op(fake.listen, RRQ)
            seen["port"] = req.port
            fake.endpoint().send(pack_error(1, "File not found"), req.port)

        lo = free_udp_port()
        lo = min(lo, 65000)
        with FakeServer(script) as fake:
            p = run_tftp("get", "-p", "%d:%d" % (lo, lo + 20),
                         "127.0.0.1:%d" % fake.port, "lp", self.local("lp"))
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertTrue(lo <= seen["port"] <= lo + 20, seen)

    def test_bad_oack_refused_with_error_8(self):
        got = {}

        def script(fake):
            req = recv_op(fake.listen, RRQ)
            tid = fake.endpoint()
            tid.send(pack_oack({"blksize": "4096"}), req.port)  # above asked
            got["err"] = recv_op(tid, ERROR)

        with FakeServer(script) as fake:
            p = run_tftp("get", "-b", "1024", "127.0.0.1:%d" % fake.port, "o.bin",
                         self.local("o.bin"))
        self.assertEqual(p.returncode, 1)
        self.assertEqual(got["err"].code, 8)
        self.assertIn("(sent TFTP error 8)", self.one_line(p))
        self.assertEqual(os.listdir(self.dir), [])


if __name__ == "__main__":
    main()
