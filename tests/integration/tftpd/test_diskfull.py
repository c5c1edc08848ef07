#!/usr/bin/env python3
"""A full disk: the root is a 256 KiB tmpfs. An upload that runs out of
space gets ERROR 3 and leaves nothing (the space comes back); a WRQ whose
tsize exceeds the free space gets ERROR 3 before any data; after both,
an upload that fits still works.

The tmpfs is mounted in a mount namespace of this test's own (unshare -m,
or unshare -rm without root), so nothing is mounted on the host; without
namespaces the test is skipped."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from tftptest import (ACK, ERROR, Endpoint, TftpdServer, TftpError, main,
                      pack_wrq, pattern, scaled, wait_for)

IN_NS = os.environ.get("TFTPD_TEST_IN_MNTNS") == "1"
SIZE = 256 * 1024
TMPFILE_MODES = {"O_TMPFILE": None, "hidden names": {"TFTPD_NO_TMPFILE": "1"}}


def free_bytes(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


@unittest.skipUnless(IN_NS, "runs inside a mount namespace (see Namespace)")
class InMountNs(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="tftpd-full-")
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%d,mode=0755" % SIZE,
                        "tftpd-test", self.root], check=True)

    def tearDown(self):
        subprocess.run(["umount", self.root], check=False)
        os.rmdir(self.root)

    def test_disk_full(self):
        for mode, env in TMPFILE_MODES.items():
            with self.subTest(mode=mode):
                srv = TftpdServer("-w", root=self.root, env=env).start()
                try:
                    empty = free_bytes(self.root)
                    # Out of space half-way: ERROR 3, nothing left.
                    with srv.client() as c, self.assertRaises(TftpError) as cm:
                        c.put("big.bin", pattern(2 * SIZE), opts={"blksize": "1024"})
                    self.assertEqual((cm.exception.code, cm.exception.msg),
                                     (3, "Disk full or allocation exceeded"))
                    wait_for(lambda: free_bytes(self.root) == empty, 5, "space to come back")
                    self.assertEqual(os.listdir(self.root), [])
                    # Announced too large: refused before any data.
                    with Endpoint() as e:
                        e.send(pack_wrq("big.bin", opts={"tsize": str(2 * SIZE)}), srv.port)
                        p = e.recv(3)
                        self.assertEqual(p.raw, b"\x00\x05\x00\x03Not enough free space\x00")
                    self.assertEqual(os.listdir(self.root), [])
                    # What fits still goes through.
                    with srv.client() as c:
                        c.put("small.bin", pattern(SIZE // 4), opts={"tsize": str(SIZE // 4)})
                    self.assertEqual(srv.read("small.bin"), pattern(SIZE // 4))
                    log = srv.stop()
                    self.assertIn("failed, sent ERROR 3 (Disk full or allocation exceeded)", log)
                    os.unlink(srv.path("small.bin"))
                finally:
                    if srv.proc is not None:
                        srv.stop(expect_rc=None)


class Namespace(unittest.TestCase):
    def test_disk_full_in_namespace(self):
        if IN_NS:
            self.skipTest("already inside")
        tool = shutil.which("unshare")
        if not tool:
            self.skipTest("no unshare(1)")
        cmd = [tool, "-m", "--propagation", "private"] if os.geteuid() == 0 \
            else [tool, "-rm", "--propagation", "private"]
        if subprocess.run(cmd + ["true"], capture_output=True).returncode != 0:
            self.skipTest("cannot create a mount namespace here")
        env = dict(os.environ, TFTPD_TEST_IN_MNTNS="1")
        r = subprocess.run(cmd + [sys.executable, os.path.abspath(__file__), "InMountNs"],
                           env=env, capture_output=True, text=True, timeout=scaled(120))
        sys.stderr.write(r.stderr)
        self.assertEqual(r.returncode, 0, r.stderr[-4000:])
        self.assertNotIn("skipped", r.stderr)


if __name__ == "__main__":
    main()
