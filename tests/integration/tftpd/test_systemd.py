#!/usr/bin/env python3
"""systemd: socket activation (the sockets of a tftpd.socket, passed in
LISTEN_FDS) and Type=notify readiness and status, run with the real
systemd-socket-activate and a notification socket of the test's own.

Socket activation: the server serves on the passed socket (and says so),
ignores -a then, and refuses a socket that is not UDP with a clear message
and exit status 1. Notify: READY=1 once it serves, STOPPING=1 on SIGTERM."""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from tftptest import (Client, TftpdServer, as_root_permissive, free_udp_port,
                      main, scaled, tftpd_path, wait_for, WRAPPER)

ACTIVATE = shutil.which("systemd-socket-activate")


class Activated:
    """tftpd started by systemd-socket-activate on 127.0.0.1:port."""

    def __init__(self, root, *args, datagram=True):
        self.port = free_udp_port()
        argv = [ACTIVATE, "-l", "127.0.0.1:%d" % self.port]
        if datagram:
            argv.append("--datagram")
        argv += WRAPPER + [tftpd_path(), "-r", root, "-v"] + \
            as_root_permissive(args) + list(args)
        self.log = tempfile.TemporaryFile()
        # Its own process group: systemd-socket-activate execs tftpd in
        # place, and everything it started goes with a group kill.
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=self.log,
                                     start_new_session=True)

    def text(self):
        if self.log.closed:
            return self.final
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(scaled(15))
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(scaled(15))
        self.final = self.text()
        self.log.close()


@unittest.skipUnless(ACTIVATE, "systemd-socket-activate is not installed")
class SocketActivation(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="tftpd-sd-")
        self.data = os.urandom(3000)
        with open(os.path.join(self.root, "a.bin"), "wb") as f:
            f.write(self.data)

    def tearDown(self):
        shutil.rmtree(self.root, ignore_errors=True)

    def get_until_served(self, port):
        """The first RRQ starts the server (systemd-socket-activate waits
        for a datagram); it is served from the passed socket, whose queue
        kept it."""
        with Client(port) as c:
            return c.get("a.bin").data

    def test_serves_on_the_passed_socket(self):
        a = Activated(self.root)
        try:
            self.assertEqual(self.get_until_served(a.port), self.data)
            wait_for(lambda: "listening on 127.0.0.1:%d" % a.port in a.text(),
                     10, "the listening line")
        finally:
            a.stop()
        self.assertEqual(a.proc.returncode, 0, a.text())

    def test_address_option_ignored_with_passed_sockets(self):
        other = free_udp_port()
        a = Activated(self.root, "-a", "127.0.0.1:%d" % other)
        try:
            self.assertEqual(self.get_until_served(a.port), self.data)
            wait_for(lambda: "sockets from systemd: -a ignored" in a.text(),
                     10, "the -a note")
            # Nothing was bound on the -a port: we can bind it ourselves.
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.bind(("127.0.0.1", other))
        finally:
            a.stop()

    def test_stream_socket_refused(self):
        a = Activated(self.root, datagram=False)
        try:
            # A connection makes systemd-socket-activate start tftpd with
            # the listening TCP socket.
            deadline = time.monotonic() + scaled(10)
            while time.monotonic() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", a.port),
                                             timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.05)  # not listening yet: poll again
            a.proc.wait(scaled(15))
        finally:
            a.stop()
        self.assertEqual(a.proc.returncode, 1, a.text())
        self.assertIn("not a UDP socket", a.text())


class Notify(unittest.TestCase):
    def test_ready_then_stopping(self):
        d = tempfile.mkdtemp(prefix="tftpd-notify-")
        path = os.path.join(d, "notify")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            sock.bind(path)
            sock.settimeout(scaled(10))
            srv = TftpdServer(env={"NOTIFY_SOCKET": path})
            with srv:
                ready = sock.recv(4096).split(b"\n")
                self.assertEqual(ready[0], b"READY=1")
                self.assertEqual(ready[1], ("STATUS=serving %s on 1 socket(s)"
                                            % srv.root).encode())
                srv.write("x", b"x")
                with srv.client() as c:
                    self.assertEqual(c.get("x").data, b"x")
                srv.stop()
                self.assertEqual(sock.recv(4096), b"STOPPING=1")
        finally:
            sock.close()
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
