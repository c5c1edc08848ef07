#!/usr/bin/env python3
"""Our tftpd behind the fault relay, driven by the pure-Python client:
1 MiB get and put, lockstep and windowsize 16, at 10% and 30% loss with
5% duplication and reordering. Byte-identical, in bounded time."""
import time
import unittest

from tftptest import TftpdServer, Client, main
import faultlib as F


class ServerPythonClient(unittest.TestCase):
    def case(self, op, loss, window, seed):
        data = F.pattern(F.MIB, seed)
        # Lockstep at 30% pays a timeout on half the round trips: larger
        # blocks keep it to 128 of them.
        opts = {"blksize": 8192 if (loss == 30 and window == 1) else 1428}
        if window > 1:
            opts["windowsize"] = window
        with TftpdServer("-w", "--retries", "30") as srv:
            if op == "get":
                srv.write("f.bin", data)
            with F.relay(srv.port, loss, seed) as r:
                t = time.monotonic()
                c = Client(r.port, timeout=0.02, retries=200)
                try:
                    if op == "get":
                        got = c.get("f.bin", opts=opts).data
                    else:
                        c.put("f.bin", data, opts=opts)
                finally:
                    c.close()
                took = time.monotonic() - t
            if op == "put":
                F.wait_until(lambda: not srv.temp_files(), 5)
                got = srv.read("f.bin")
            self.assertEqual(got, data)
            self.assertLess(took, F.scaled(90))
            self.assertEqual(srv.temp_files(), [])
        F.note(self.id(), "%s %d%% w%d" % (op, loss, window), r.final, took)
        self.assertGreater(r.final["c2s"]["dropped"] + r.final["s2c"]["dropped"], 0)


def add(op, loss, window, seed):
    setattr(ServerPythonClient, "test_%s_loss%d_w%d" % (op, loss, window),
            lambda self: self.case(op, loss, window, seed))


for i, (op, loss, window) in enumerate(
        (o, l, w) for o in ("get", "put") for l in (10, 30) for w in (1, 16)):
    add(op, loss, window, 100 + i)

if __name__ == "__main__":
    main()
