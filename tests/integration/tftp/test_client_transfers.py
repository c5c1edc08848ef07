#!/usr/bin/env python3
"""The real tftp client against the real tftpd on loopback: every size
around the block boundaries with every option combination, both ways,
byte-identical; the block-number wrap; netascii round trip; stdin and
stdout; URL form and IPv6 literals."""
import os
import shutil
import subprocess
import tempfile
import unittest

from clienttest import hostport, leftovers, run_tftp, tftp_argv
from tftptest import TftpdServer, have_ipv6_loopback, main, pattern, scaled

SIZES = [0, 1, 511, 512, 513, 1 << 20]

# name -> (command-line options, blksize in force, sizes to try)
OPTSETS = {
    "default": ([], 1428, None),
    "no-options": (["--no-options"], 512, None),
    "blksize8": (["-b", "8"], 8, [0, 1, 7, 8, 9, 4000]),
    "blksize1428": (["-b", "1428"], 1428, None),
    "blksize65464": (["-b", "65464"], 65464, None),
    "window1": (["-W", "1"], 1428, None),
    "window16": (["-W", "16"], 1428, None),
    "window64": (["-b", "65464", "-W", "64"], 65464, None),
    "tsize": (["-T"], 1428, None),
    "timeout": (["-t", "2"], 1428, None),
    "all": (["-b", "8192", "-W", "16", "-T", "-t", "3"], 8192, None),
}


def sizes_for(blksize, fixed):
    if fixed:
        return fixed
    return sorted(set(SIZES + [blksize - 1, blksize, blksize + 1, 3 * blksize]))


class ClientTransfers(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = TftpdServer("-w", "--overwrite").start()
        cls.hp = hostport(cls.srv)

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop_and_cleanup()

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tftp-client-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def local(self, name):
        return os.path.join(self.dir, name)

    def ok(self, *args, stdin=None):
        p = run_tftp(*args, stdin=stdin)
        self.assertEqual(p.returncode, 0, "tftp %s: %s" % (args, p.stderr))
        return p

    def test_get_matrix(self):
        for optname, (opts, bs, fixed) in OPTSETS.items():
            for size in sizes_for(bs, fixed):
                with self.subTest(opts=optname, size=size):
                    name = "g-%s-%d.bin" % (optname, size)
                    content = pattern(size, seed=size)
                    self.srv.write(name, content)
                    out = self.local(name)
                    self.ok("get", "-q", *opts, self.hp, name, out)
                    with open(out, "rb") as f:
                        self.assertTrue(f.read() == content, "content differs")
        self.assertEqual(leftovers(self.dir), [])

    def test_put_matrix(self):
        for optname, (opts, bs, fixed) in OPTSETS.items():
            for size in sizes_for(bs, fixed):
                with self.subTest(opts=optname, size=size):
                    name = "p-%s-%d.bin" % (optname, size)
                    content = pattern(size, seed=size + 7)
                    src = self.local(name)
                    with open(src, "wb") as f:
                        f.write(content)
                    self.ok("put", "-q", *opts, self.hp, src)
                    self.assertTrue(self.srv.read(name) == content, "content differs")
        self.assertEqual(self.srv.temp_files(), [])

    def test_block_number_wrap(self):
        # 65537 blocks of 512: the wire block number wraps 65535 -> 0.
        size = 33554944
        content = pattern(size, seed=33)
        self.srv.write("wrap.bin", content)
        out = self.local("wrap.bin")
        self.ok("get", "-b", "512", "-W", "16", self.hp, "wrap.bin", out)
        with open(out, "rb") as f:
            self.assertTrue(f.read() == content, "get: content differs")
        self.ok("put", "-b", "512", "-W", "16", self.hp, out, "wrap-up.bin")
        self.assertTrue(self.srv.read("wrap-up.bin") == content, "put: content differs")

    def test_verbose_reports_options_and_summary(self):
        self.srv.write("v.bin", pattern(5000, seed=3))
        p = self.ok("get", "-v", "-T", "-b", "1000", "-W", "4", self.hp, "v.bin",
                    self.local("v.bin"))
        self.assertIn("options accepted: blksize 1000 tsize 5000 windowsize 4",
                      p.stderr)
        self.assertRegex(p.stderr, r"received 5000 bytes in \d+(\.\d+)? (us|ms|s) \(.*/s\), "
                                   r"blksize 1000, window 4, \d+ packets sent, "
                                   r"\d+ retransmits")
        q = self.ok("get", "-q", self.hp, "v.bin", self.local("q.bin"))
        self.assertEqual(q.stderr, "")
        self.assertEqual(q.stdout, b"")

    def test_trace_prints_packets(self):
        self.srv.write("tr.bin", pattern(1000, seed=4))
        p = self.ok("get", "--trace", "-b", "600", self.hp, "tr.bin", self.local("tr.bin"))
        lines = [l for l in p.stderr.splitlines() if l.startswith("tftp: > ")
                 or l.startswith("tftp: < ")]
        self.assertEqual(lines, [
            'tftp: > RRQ "tr.bin" octet blksize=600',
            "tftp: < OACK blksize=600",
            "tftp: > ACK 0",
            "tftp: < DATA 1, 600 bytes",
            "tftp: > ACK 1",
            "tftp: < DATA 2, 400 bytes",
            "tftp: > ACK 2",
        ])

    def test_progress_forced(self):
        content = pattern(200000, seed=15)
        self.srv.write("pg.bin", content)
        # A forced bar asks for tsize on a get, so it can show percent.
        p = self.ok("get", "--progress", "--trace", self.hp, "pg.bin", self.local("pg.bin"))
        self.assertIn('tftp: > RRQ "pg.bin" octet blksize=1428 tsize=0', p.stderr)
        last = p.stderr.split("\r")[-1]
        self.assertRegex(last, r"^pg\.bin +\[=+\] 100%  195\.3 KiB  .*/s *\n")
        src = self.local("pg.bin")
        p = self.ok("put", "--progress", self.hp, src, "pg-up.bin")
        self.assertRegex(p.stderr.split("\r")[-1], r"^pg-up\.bin +\[=+\] 100%  195\.3 KiB")
        # Without a size: bytes and rate only.
        p = self.ok("get", "--progress", "--no-options", self.hp, "pg.bin", "-")
        self.assertRegex(p.stderr.split("\r")[-1], r"^pg\.bin  195\.3 KiB  .*/s *\n")
        # Not a terminal and not forced: no bar.
        p = self.ok("get", self.hp, "pg.bin", self.local("pg2.bin"))
        self.assertEqual(p.stderr, "")
        p = self.ok("get", "--progress", "--no-progress", self.hp, "pg.bin", self.local("pg2.bin"))
        self.assertEqual(p.stderr, "")

    def test_netascii_round_trip(self):
        text = b"line one\nline two\r\nbare cr\rend\n\n\rx" * 300 + b"tail\r"
        src = self.local("text.txt")
        with open(src, "wb") as f:
            f.write(text)
        for opts in ([], ["-b", "8"], ["-W", "8", "-b", "100"], ["--no-options"]):
            with self.subTest(opts=opts):
                self.ok("put", "-m", "netascii", *opts, self.hp, src, "text.txt")
                # The server decodes netascii back to its own line endings.
                self.assertTrue(self.srv.read("text.txt") == text, "server copy differs")
                out = self.local("back.txt")
                self.ok("get", "--mode", "netascii", *opts, self.hp, "text.txt", out)
                with open(out, "rb") as f:
                    self.assertTrue(f.read() == text, "round trip differs")

    def test_stdout(self):
        content = pattern(300000, seed=5)
        self.srv.write("so.bin", content)
        p = self.ok("get", self.hp, "so.bin", "-")
        self.assertTrue(p.stdout == content, "stdout differs")
        self.assertEqual(os.listdir(self.dir), [])

    def test_stdin_pipe_and_redirect(self):
        content = pattern(700000, seed=6)
        for opts in ([], ["-W", "16"], ["-b", "65464", "-W", "8"], ["-T"]):
            with self.subTest(pipe=True, opts=opts):
                self.ok("put", *opts, self.hp, "-", "si.bin", stdin=content)
                self.assertTrue(self.srv.read("si.bin") == content, "pipe differs")
        src = self.local("redir.bin")
        with open(src, "wb") as f:
            f.write(content)
        with open(src, "rb") as f:
            p = subprocess.run(tftp_argv("put", "-T", self.hp, "-", "sr.bin"), stdin=f,
                               capture_output=True, timeout=scaled(60))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(self.srv.read("sr.bin") == content, "redirect differs")

    def test_stdin_netascii(self):
        text = b"a\nb\rc\r\n" * 5000
        self.ok("put", "-m", "netascii", "-W", "4", "-b", "512", self.hp, "-",
                "sn.txt", stdin=text)
        self.assertTrue(self.srv.read("sn.txt") == text, "differs")

    def test_default_names(self):
        content = pattern(2000, seed=8)
        self.srv.write("dir/base.bin", content)
        # LOCAL defaults to REMOTE's last component, in the working directory.
        p = run_tftp("get", self.hp, "dir/base.bin", cwd=self.dir)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(self.local("base.bin"), "rb") as f:
            self.assertTrue(f.read() == content)
        # LOCAL naming a directory: the file goes inside it.
        os.mkdir(self.local("sub"))
        self.ok("get", self.hp, "dir/base.bin", self.local("sub"))
        with open(self.local("sub/base.bin"), "rb") as f:
            self.assertTrue(f.read() == content)
        # REMOTE defaults to LOCAL's last component.
        self.ok("put", self.hp, self.local("sub/base.bin"))
        self.assertTrue(self.srv.read("base.bin") == content)

    def test_get_replaces_existing_and_keeps_mode(self):
        content = pattern(3000, seed=9)
        self.srv.write("rep.bin", content)
        out = self.local("rep.bin")
        with open(out, "wb") as f:
            f.write(b"old contents that are longer than nothing" * 200)
        os.chmod(out, 0o640)
        self.ok("get", self.hp, "rep.bin", out)
        with open(out, "rb") as f:
            self.assertTrue(f.read() == content)
        self.assertEqual(os.stat(out).st_mode & 0o777, 0o640)
        self.assertEqual(leftovers(self.dir), [])

    def test_get_through_symlink(self):
        # Like cp: the file the link points to is replaced, the link stays.
        content = pattern(2500, seed=14)
        self.srv.write("ln.bin", content)
        os.mkdir(self.local("real"))
        target = self.local("real/target.bin")
        with open(target, "wb") as f:
            f.write(b"old")
        link = self.local("link.bin")
        os.symlink(target, link)
        self.ok("get", self.hp, "ln.bin", link)
        self.assertTrue(os.path.islink(link))
        with open(target, "rb") as f:
            self.assertTrue(f.read() == content)
        self.assertEqual(leftovers(self.dir), [])
        self.assertEqual(leftovers(self.local("real")), [])

    def test_get_into_device(self):
        # Written in place: renaming over /dev/null would replace the node.
        self.srv.write("null.bin", pattern(100000, seed=10))
        self.ok("get", self.hp, "null.bin", "/dev/null")
        self.assertTrue(os.path.exists("/dev/null"))
        import stat
        self.assertTrue(stat.S_ISCHR(os.stat("/dev/null").st_mode))

    def test_url_form(self):
        content = pattern(4000, seed=11)
        self.srv.write("url dir/u.bin", content)
        out = self.local("u.bin")
        self.ok("get", "tftp://%s/url%%20dir/u.bin" % self.hp, out)
        with open(out, "rb") as f:
            self.assertTrue(f.read() == content)
        self.ok("put", out, "tftp://%s/u-up.bin" % self.hp)
        self.assertTrue(self.srv.read("u-up.bin") == content)
        # RFC 3617's ;mode= suffix.
        self.srv.write("m.txt", b"x\ny\n")
        self.ok("get", "tftp://%s/m.txt;mode=netascii" % self.hp, self.local("m.txt"))
        with open(self.local("m.txt"), "rb") as f:
            self.assertEqual(f.read(), b"x\ny\n")

    def test_host_name(self):
        # "localhost" may resolve to ::1 first while the server is on
        # 127.0.0.1 only: the refused address is left for the next one.
        content = pattern(3000, seed=17)
        self.srv.write("name.bin", content)
        out = self.local("name.bin")
        p = run_tftp("get", "-v", "localhost:%d" % self.srv.port, "name.bin", out,
                     timeout=20)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(out, "rb") as f:
            self.assertTrue(f.read() == content)

    def test_options_after_operands(self):
        content = pattern(1500, seed=12)
        self.srv.write("late.bin", content)
        self.ok("get", self.hp, "late.bin", self.local("late.bin"), "-b", "700", "-q")
        with open(self.local("late.bin"), "rb") as f:
            self.assertTrue(f.read() == content)


@unittest.skipUnless(have_ipv6_loopback(), "no IPv6 loopback")
class ClientIPv6(unittest.TestCase):
    def test_v6_literal_and_url(self):
        with TftpdServer("-w", host="::1") as srv:
            content = pattern(10000, seed=13)
            srv.write("six.bin", content)
            d = tempfile.mkdtemp(prefix="tftp-client6-")
            try:
                out = os.path.join(d, "six.bin")
                p = run_tftp("get", "-6", "[::1]:%d" % srv.port, "six.bin", out)
                self.assertEqual(p.returncode, 0, p.stderr)
                with open(out, "rb") as f:
                    self.assertTrue(f.read() == content)
                p = run_tftp("put", out, "tftp://[::1]:%d/six-up.bin" % srv.port)
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertTrue(srv.read("six-up.bin") == content)
            finally:
                shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
