#!/usr/bin/env python3
"""Privilege drop: started as root with -u USER (and --chroot), the server
runs every request as USER, with no supplementary groups and no
capabilities, confined to the root; it still serves and refuses escapes."""
import os
import pwd

from sectest import ERROR, Client, Server, ServerCase, log, main, rrq


def status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.split()
    return out


class Privileges(ServerCase):
    def setUp(self):
        # Root is part of this suite's environment (CI runs as root): without
        # it the privilege drop is untested, which is a failure, not a skip.
        self.assertEqual(os.geteuid(), 0, "the privilege tests must run as root")
        try:
            self.user = pwd.getpwnam("nobody")
        except KeyError:
            self.fail("no user 'nobody' to drop privileges to")
        super().setUp()
        # nobody must be able to reach the tree.
        for d in (self.base, self.root):
            os.chmod(d, 0o755)
        os.chmod(os.path.join(self.root, "pub.bin"), 0o644)

    def check_dropped(self):
        st = status(self.server.proc.pid)
        uid, gid = str(self.user.pw_uid), str(self.user.pw_gid)
        log("  Uid %s Gid %s Groups %s CapEff %s CapPrm %s" % (
            st["Uid"], st["Gid"], st.get("Groups"), st["CapEff"], st["CapPrm"]))
        self.assertEqual(st["Uid"], [uid] * 4, "real, effective, saved, fs uid")
        self.assertEqual(st["Gid"], [gid] * 4, "real, effective, saved, fs gid")
        self.assertIn(st.get("Groups", []), ([], [gid]), "supplementary groups kept")
        self.assertEqual(int(st["CapEff"][0], 16), 0, "effective capabilities kept")
        self.assertEqual(int(st["CapPrm"][0], 16), 0, "permitted capabilities kept")

    def test_user(self):
        self.server = Server(self.root, ["-u", "nobody"]).start()
        self.check_dropped()
        self.assert_serving("dropping privileges")

    def test_user_and_chroot(self):
        # LeakSanitizer reads /proc/PID/task at exit, which does not exist
        # inside the chroot, and aborts: no leak check here in an ASan build
        # (test_user and the rest of the suites check for leaks).
        self.server = Server(self.root, ["-u", "nobody", "--chroot"],
                             env={"ASAN_OPTIONS": "quarantine_size_mb=16:detect_leaks=0"}).start()
        self.check_dropped()
        self.assertEqual(os.readlink("/proc/%d/root" % self.server.proc.pid),
                         os.path.realpath(self.root))
        self.assert_serving("chroot")
        with Client() as c:
            for name in ("../secret.txt", "/../secret.txt", "../root-private/secret.txt"):
                c.send(rrq(name), self.server.port)
                p = c.recv(3)
                self.assertIsNotNone(p)
                self.assert_no_secret([p], name)
                self.assertEqual(p.op, ERROR, "%r: %r" % (name, p))


if __name__ == "__main__":
    main()
