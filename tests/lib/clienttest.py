"""Helpers of the client's integration tests: run the real tftp binary
(TFTP, with TFTP_WRAPPER in front, e.g. valgrind) and a scripted fake
server for behaviour the real tftpd never shows (ERROR 8, strangers,
stalls, raw netascii on the wire)."""
import os
import shlex
import subprocess
import threading
import time
import unittest

from tftptest import SANITIZER_MARKS, Endpoint, scaled

WRAPPER = shlex.split(os.environ.get("TFTP_WRAPPER", ""))


def tftp_path():
    exe = os.environ.get("TFTP")
    if not exe:
        raise unittest.SkipTest("TFTP is not set (run through meson test)")
    return exe


def tftp_argv(*args):
    return WRAPPER + [tftp_path()] + [str(a) for a in args]


def run_tftp(*args, stdin=None, timeout=60, cwd=None):
    """Run the client to completion; stdout as bytes, stderr as text."""
    p = subprocess.run(tftp_argv(*args), input=stdin,
                       stdin=None if stdin is not None else subprocess.DEVNULL,
                       capture_output=True, timeout=scaled(timeout), cwd=cwd)
    p.stderr = p.stderr.decode("utf-8", "replace")
    check_clean(p.stderr)
    return p


def check_clean(stderr):
    """A sanitizer or valgrind report fails the test whatever the exit."""
    bad = [m for m in SANITIZER_MARKS if m in stderr]
    if bad:
        raise AssertionError("tftp: %s in its output:\n%s" % (bad, stderr[-4000:]))


def spawn_tftp(*args, cwd=None):
    return subprocess.Popen(tftp_argv(*args), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=cwd)


def hostport(srv):
    return "[%s]:%d" % (srv.host, srv.port) if ":" in srv.host else \
        "%s:%d" % (srv.host, srv.port)


def leftovers(directory):
    """Temporary download files the client left in directory."""
    return [f for f in os.listdir(directory) if f.startswith(".tftp-")]


class FakeServer:
    """A scripted server on 127.0.0.1: script(fake) runs in a thread with
    fake.listen (the well-known port) and may open more Endpoints for TIDs.
    Whatever it raises is re-raised by join()."""

    def __init__(self, script):
        self.listen = Endpoint()
        self.port = self.listen.port
        self.script = script
        self.error = None
        self.endpoints = [self.listen]
        self.thread = threading.Thread(target=self._run, daemon=True)

    def endpoint(self):
        e = Endpoint()
        self.endpoints.append(e)
        return e

    def _run(self):
        try:
            self.script(self)
        except BaseException as e:  # reported by join()
            self.error = e

    def start(self):
        self.thread.start()
        return self

    def join(self, timeout=20):
        self.thread.join(scaled(timeout))
        for e in self.endpoints:
            e.close()
        if self.thread.is_alive():
            raise AssertionError("fake server script did not finish")
        if self.error:
            raise self.error

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.join()


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def recv_op(ep, op, timeout=5.0):
    """The next packet with opcode op on ep (others are skipped)."""
    end = time.monotonic() + scaled(timeout)
    while time.monotonic() < end:
        p = ep.recv(max(0.05, (end - time.monotonic()) / scaled(1)))
        if p is not None and p.op == op:
            return p
    raise AssertionError("no packet with opcode %d" % op)


def wait_for(pred, timeout=5.0):
    end = time.monotonic() + scaled(timeout)
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.01)
    return False
