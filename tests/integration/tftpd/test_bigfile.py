#!/usr/bin/env python3
"""33,554,944 bytes (65,537 blocks of 512 and an empty final block): the
16-bit block number wraps 65535 -> 0 and the file still arrives intact,
download and upload, lockstep and windowed. Larger blocks would not wrap,
so these run at the default 512."""
import hashlib
import unittest

from tftptest import TftpdServer, main, pattern

SIZE = 33554944
assert SIZE // 512 == 65537


def digest(b):
    return hashlib.sha256(b).hexdigest()


class BigFile(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.content = pattern(SIZE, seed=65537)
        cls.sha = digest(cls.content)
        cls.srv = TftpdServer("-w").start()
        cls.srv.write("big.bin", cls.content)

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop_and_cleanup()

    def get(self, opts, want_oack):
        with self.srv.client() as c:
            res = c.get("big.bin", opts=opts)
        self.assertEqual(res.oack, want_oack)
        self.assertEqual(len(res.data), SIZE)
        self.assertEqual(digest(res.data), self.sha)
        return res

    def put(self, name, opts, want_oack):
        with self.srv.client() as c:
            res = c.put(name, self.content, opts=opts)
        self.assertEqual(res.oack, want_oack)
        self.assertEqual(digest(self.srv.read(name)), self.sha)
        return res

    def test_rrq_lockstep(self):
        self.get(None, None)

    def test_rrq_windowed(self):
        self.get([("windowsize", "16"), ("tsize", "0")],
                 {"windowsize": "16", "tsize": str(SIZE)})

    def test_wrq_lockstep(self):
        self.put("up-lockstep.bin", None, None)

    def test_wrq_windowed(self):
        self.put("up-windowed.bin", [("windowsize", "16"), ("tsize", str(SIZE))],
                 {"windowsize": "16", "tsize": str(SIZE)})


if __name__ == "__main__":
    main()
