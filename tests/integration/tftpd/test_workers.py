#!/usr/bin/env python3
"""tftpd --workers N: N processes answer on one port (SO_REUSEPORT).

Many clients are served and verified, by more than one worker; a request
retransmitted from the same TID still starts one transfer; uploads work;
SIGTERM stops every worker and the supervisor exits 0; a worker that dies
takes the others down and the supervisor exits 1."""
import os
import signal
import threading
import time
import unittest

from tftptest import (DATA, Client, Endpoint, TftpdServer, main, pack_ack,
                      pack_rrq, scaled)


def children(pid):
    out = []
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
            out += [int(k) for k in f.read().split()]
    return out


def worker_pids(srv, n=2):
    """The supervisor's children (under valgrind the supervisor is the
    valgrind process itself, which forks the same way): the first worker
    may answer the start-up probe before the last one is forked, so wait
    for all n."""
    deadline = time.monotonic() + scaled(5)
    while True:
        pids = children(srv.proc.pid)
        if len(pids) >= n or time.monotonic() > deadline:
            return pids
        time.sleep(0.02)


class Workers(unittest.TestCase):
    def test_many_clients_verified(self):
        data = {"f%d.bin" % i: os.urandom(5000 + 7919 * i) for i in range(8)}
        # 40 clients at once from one address: more than the default
        # --max-per-client (32) may overlap on a loaded machine.
        with TftpdServer("--workers", "2", "--max-per-client", "64") as srv:
            for name, d in data.items():
                srv.write(name, d)
            self.assertEqual(len(worker_pids(srv)), 2)
            errors, tids = [], set()

            def one(i):
                try:
                    name = "f%d.bin" % (i % 8)
                    with srv.client() as c:
                        r = c.get(name, opts={"blksize": 1428,
                                              "windowsize": 4})
                    tids.add(r.tid)
                    if r.data != data[name]:
                        errors.append("%s differs" % name)
                except Exception as e:  # noqa: BLE001 - reported below
                    errors.append(repr(e))
            threads = [threading.Thread(target=one, args=(i,)) for i in range(40)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(scaled(60))
            self.assertEqual(errors, [])
            log = srv.stop()
        # Both workers served: their log lines carry different PIDs only
        # in syslog, so count by the transfer lines instead.
        self.assertEqual(log.count(" RRQ f"), 40, log[-2000:])

    def test_both_workers_get_requests(self):
        with TftpdServer("--workers", "2") as srv:
            srv.write("a.bin", b"x" * 100)
            pids = worker_pids(srv)
            before = {p: self.reads(p) for p in pids}
            for _ in range(100):
                with srv.client() as c:
                    self.assertEqual(c.get("a.bin").data, b"x" * 100)
            # Every transfer preads the file: the kernel's hash of 100
            # client ports over the two sockets gives both workers some.
            done = [self.reads(p) - before[p] for p in pids]
            self.assertTrue(all(d > 0 for d in done), done)

    @staticmethod
    def reads(pid):
        with open("/proc/%d/io" % pid) as f:
            for line in f:
                if line.startswith("syscr:"):
                    return int(line.split()[1])
        return 0

    def test_retransmitted_request_one_transfer(self):
        with TftpdServer("--workers", "2") as srv:
            srv.write("b.bin", os.urandom(2000))
            with Endpoint() as e:
                for _ in range(3):
                    e.send(pack_rrq("b.bin"), srv.port)
                first = e.recv(2)
                self.assertIsNotNone(first)
                self.assertEqual(first.op, DATA)
                # Every reply comes from one transfer port.
                later = e.recv_all(quiet=0.3, limit=3)
                self.assertTrue(all(p.port == first.port for p in later),
                                [(p.op, p.port) for p in later])
                e.send(pack_ack(1), first.port)

    def test_upload(self):
        payload = os.urandom(300000)
        with TftpdServer("--workers", "3", "-w") as srv:
            for i in range(6):
                with srv.client() as c:
                    c.put("u%d.bin" % i, payload,
                          opts={"blksize": 8192, "windowsize": 8})
            for i in range(6):
                self.assertEqual(srv.read("u%d.bin" % i), payload)

    def test_sigterm_stops_all(self):
        with TftpdServer("--workers", "2") as srv:
            pids = worker_pids(srv)
            srv.stop()  # asserts exit status 0
            for p in pids:
                self.assertFalse(os.path.exists("/proc/%d/stat" % p) and
                                 self.state(p) not in ("Z", "X"))

    @staticmethod
    def state(pid):
        try:
            with open("/proc/%d/stat" % pid) as f:
                return f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            return "X"

    def test_worker_death_stops_all(self):
        srv = TftpdServer("--workers", "2")
        srv.start()
        try:
            pids = worker_pids(srv)
            os.kill(pids[0], signal.SIGKILL)
            self.assertEqual(srv.wait(10), 1)
            deadline = time.monotonic() + scaled(5)
            while time.monotonic() < deadline and \
                    self.state(pids[1]) not in ("Z", "X"):
                time.sleep(0.05)
            self.assertIn(self.state(pids[1]), ("Z", "X"))
        finally:
            srv.stop(expect_rc=None)
            srv.cleanup()


if __name__ == "__main__":
    main()
