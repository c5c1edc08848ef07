#!/usr/bin/env python3
"""The permission model (issue 12): started as root without -u, tftpd
drops to the "tftp" user (or "nobody"), serves only files readable by
others and replaces only files writable by others unless -p; it refuses to
start if that user cannot enter the root. Names ending in "/" are refused
like directories. Switch-config backups: a pre-created world-writable file
in a directory the server may not write is replaced in place, keeping its
inode, mode and owner, and only after the whole upload arrived. The log
says why a request was refused. Temporary files left by a killed server
are removed at the next start."""
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import unittest

from tftptest import (DATA, ERROR, Endpoint, TftpdServer, TftpError, main,
                      free_udp_port, pack_data, pack_error, pack_rrq, pack_wrq, pattern,
                      run_tftpd, scaled, wait_for, ACK)


def dropped_user():
    for name in ("tftp", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            pass
    return None


class Base(unittest.TestCase):
    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("needs root (the default user drop)")
        self.user = dropped_user()
        if self.user is None:
            self.skipTest("no tftp or nobody user")
        self.top = tempfile.mkdtemp(prefix="tftpd-perm-")
        os.chmod(self.top, 0o755)
        self.root = os.path.join(self.top, "root")
        os.mkdir(self.root, 0o755)
        os.chmod(self.root, 0o755)

    def tearDown(self):
        shutil.rmtree(self.top, ignore_errors=True)

    def file(self, name, data, mode, uid=0, gid=0):
        p = os.path.join(self.root, name)
        with open(p, "wb") as f:
            f.write(data)
        os.chmod(p, mode)
        os.chown(p, uid, gid)
        return p

    def server(self, *args):
        return TftpdServer(*args, root=self.root, plain=True)


class Defaults(Base):
    def test_drops_root_and_serves_only_world_readable(self):
        self.file("public.bin", b"public", 0o644)
        self.file("secret.bin", b"secret", 0o600)
        self.file("group.bin", b"group", 0o640)
        with self.server() as srv:
            st = os.stat("/proc/%d" % srv.proc.pid)
            self.assertEqual(st.st_uid, self.user.pw_uid, "still root")
            self.assertEqual(srv.client().get("public.bin").data, b"public")
            for name in ("secret.bin", "group.bin"):
                with self.assertRaises(TftpError) as cm:
                    srv.client().get(name)
                self.assertEqual(cm.exception.code, 2)
            log = srv.stop()
        self.assertRegex(log, r"secret\.bin: refused, sent ERROR 2 \(Access violation\): "
                              r"(not readable by others|permission denied)")

    def test_explicit_root_and_permissive(self):
        self.file("secret.bin", b"secret", 0o600)
        with self.server("-u", "root") as srv:
            with self.assertRaises(TftpError):
                srv.client().get("secret.bin")
            log = srv.stop()
        self.assertIn("not readable by others (-p serves it)", log)
        with self.server("-u", "root", "-p") as srv:
            self.assertEqual(srv.client().get("secret.bin").data, b"secret")
            srv.stop()

    def test_overwrite_needs_world_writable(self):
        os.chmod(self.root, 0o777)
        self.file("mine.cfg", b"old", 0o644)
        self.file("open.cfg", b"old", 0o666)
        with self.server("-w", "--overwrite") as srv:
            with self.assertRaises(TftpError) as cm:
                srv.client().put("mine.cfg", b"new")
            self.assertEqual(cm.exception.code, 2)
            srv.client().put("open.cfg", b"new")
            log = srv.stop()
        self.assertIn("not writable by others (-p replaces it)", log)
        with open(os.path.join(self.root, "mine.cfg"), "rb") as f:
            self.assertEqual(f.read(), b"old")
        with open(os.path.join(self.root, "open.cfg"), "rb") as f:
            self.assertEqual(f.read(), b"new")
        # The replaced file kept its mode (its owner needs root to keep).
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(self.root, "open.cfg")).st_mode),
                         0o666)

    def test_root_the_user_cannot_enter(self):
        os.chmod(self.root, 0o700)
        r = run_tftpd("-r", self.root, "-a", "127.0.0.1:%d" % free_udp_port())
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("cannot enter it", r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)


class Names(Base):
    def test_trailing_slash_is_a_directory(self):
        self.file("small.txt", b"small", 0o644)
        os.chmod(self.root, 0o777)
        with self.server("-w") as srv:
            for name in ("small.txt/", "small.txt/.", "/small.txt//"):
                with self.assertRaises(TftpError, msg=name) as cm:
                    srv.client().get(name)
                self.assertEqual(cm.exception.code, 2)
            with self.assertRaises(TftpError):
                srv.client().put("x/", b"data")
            self.assertFalse(os.path.exists(os.path.join(self.root, "x")))
            log = srv.stop()
        self.assertIn("ends in '/' or '/.' (a directory)", log)

    def test_refusals_say_why(self):
        os.mkdir(os.path.join(self.root, "d"), 0o755)
        with self.server("-w") as srv:
            for name in ("../etc/passwd", "d", "missing.bin"):
                with self.assertRaises(TftpError):
                    srv.client().get(name)
            with self.assertRaises(TftpError):
                srv.client().put("d/new.bin", b"x")  # d: 0755 root
            log = srv.stop()
        self.assertIn("'..' component", log)
        self.assertRegex(log, r"RRQ d: refused, sent ERROR 2 \(Not a regular file\): a directory")
        self.assertIn("missing.bin: refused, sent ERROR 1 (File not found): no such file", log)
        self.assertRegex(log, r"WRQ d/new\.bin: refused, sent ERROR 2 .*permission denied")


class SwitchBackup(Base):
    """The habit: the admin pre-creates sw1.cfg, world-writable, in a
    root-owned 0755 directory; the switch overwrites it."""

    def setUp(self):
        super().setUp()
        self.cfg = self.file("sw1.cfg", b"old config\n" * 50, 0o666, 0, 0)
        self.ino = os.stat(self.cfg).st_ino

    def test_replaced_in_place(self):
        new = pattern(3000)
        with self.server("-w", "--overwrite") as srv:
            srv.client().put("sw1.cfg", new)
            srv.stop()
        st = os.stat(self.cfg)
        with open(self.cfg, "rb") as f:
            self.assertEqual(f.read(), new)
        self.assertEqual((st.st_ino, st.st_uid, stat.S_IMODE(st.st_mode)),
                         (self.ino, 0, 0o666))
        self.assertEqual(sorted(os.listdir(self.root)), ["sw1.cfg"])

    def test_failed_upload_leaves_it_untouched(self):
        with self.server("-w", "--overwrite") as srv:
            with Endpoint() as e:
                e.send(pack_wrq("sw1.cfg"), srv.port)
                a = e.recv(3)
                self.assertEqual((a.op, a.block), (ACK, 0))
                e.send(pack_data(1, b"N" * 512), a.port)
                self.assertEqual(e.recv(3).block, 1)
                e.send(pack_error(0, "switch rebooted"), a.port)
            wait_for(lambda: "switch rebooted" in srv.log(), 5, "the abort")
            srv.stop()
        with open(self.cfg, "rb") as f:
            self.assertEqual(f.read(), b"old config\n" * 50)


class Ownership(Base):
    def test_atomic_replace_keeps_mode_and_owner(self):
        """As root with a writable directory: replaced atomically (a new
        inode) with the old file's mode and owner."""
        p = self.file("fw.bin", b"old", 0o640, 1234, 2345)
        with self.server("-u", "root", "-p", "-w", "--overwrite") as srv:
            srv.client().put("fw.bin", b"new firmware")
            srv.stop()
        st = os.stat(p)
        self.assertEqual((st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)),
                         (1234, 2345, 0o640))
        with open(p, "rb") as f:
            self.assertEqual(f.read(), b"new firmware")


class TempFiles(Base):
    def test_stale_temp_files_removed_at_start(self):
        os.chmod(self.root, 0o777)
        # A dead process's temporary name, a live one's, and a look-alike.
        dead = subprocess.Popen(["true"])
        dead.wait()
        names = [".tftpd-%d-00000000deadbeef" % dead.pid,
                 ".tftpd-%d-00000000cafecafe" % os.getpid(),
                 ".tftpd-notapid"]
        os.mkdir(os.path.join(self.root, "sub"))
        os.chmod(os.path.join(self.root, "sub"), 0o777)
        for n in names:
            self.file(n, b"x", 0o644)
            self.file(os.path.join("sub", n), b"x", 0o644)
        with self.server("-w") as srv:
            log = srv.stop()
        left = sorted(os.listdir(self.root))
        self.assertIn("removed 2 temporary upload file(s)", log)
        self.assertNotIn(names[0], left)
        self.assertIn(names[1], left)
        self.assertIn(names[2], left)
        self.assertNotIn(names[0], os.listdir(os.path.join(self.root, "sub")))

    def test_sigkill_then_restart_leaves_nothing(self):
        os.chmod(self.root, 0o777)
        env = {"TFTPD_NO_TMPFILE": "1"}
        srv = TftpdServer("-w", root=self.root, plain=True, env=env).start()
        try:
            with Endpoint() as e:
                e.send(pack_wrq("big.bin"), srv.port)
                a = e.recv(3)
                e.send(pack_data(1, b"x" * 512), a.port)
                self.assertEqual(e.recv(3).block, 1)
                tmp = [n for n in os.listdir(self.root) if n.startswith(".tftpd-")]
                self.assertEqual(len(tmp), 1)
                self.assertRegex(tmp[0], r"^\.tftpd-%d-[0-9a-f]{16}$" % srv.proc.pid)
                srv.proc.kill()
                srv.proc.wait()
        finally:
            srv.cleanup()
        with self.server("-w") as srv2:
            srv2.stop()
        self.assertEqual([n for n in os.listdir(self.root) if n.startswith(".tftpd-")], [])


if __name__ == "__main__":
    main()
