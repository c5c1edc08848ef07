#!/usr/bin/env python3
"""tftpd's command line: --help and --version exit 0 on stdout, every kind
of bad usage exits 64 with exactly one line on stderr and starts nothing;
a root that cannot be opened is a run-time failure (1), not usage."""
import os
import re
import tempfile
import unittest

from tftptest import main, run_tftpd

# Every long option the issue names must be in --help.
OPTIONS = ["--root", "--address", "--ipv4", "--ipv6", "--write", "--overwrite",
           "--port-range", "--max-blksize", "--max-window", "--no-options",
           "--timeout", "--retries", "--max-transfers", "--max-per-client",
           "--max-upload", "--umask", "--user", "--chroot", "--verbose",
           "--syslog", "--workers", "--help", "--version"]

BAD = [
    ["--bogus"],
    ["-x"],
    ["-vx"],
    ["--write", "-xv"],
    ["--help=x"],           # a long option given an argument it takes not
    ["--ver"],              # ambiguous: --verbose, --version
    ["-r"],                 # missing argument
    ["--root"],
    ["--root="],
    ["stray-argument"],
    ["-a", "[::1"],
    ["-a", "127.0.0.1:0"],
    ["-a", "127.0.0.1:65536"],
    ["-a", "127.0.0.1:http"],
    ["-4", "-6"],
    ["--overwrite"],        # needs -w
    ["-R", "5:3"],
    ["-R", "0:10"],
    ["-R", "100"],
    ["-B", "7"],
    ["-B", "65465"],
    ["-B", "12k"],
    ["--max-window", "0"],
    ["--max-window", "65536"],
    ["-t", "0"],
    ["-t", "256"],
    ["--retries", "0"],
    ["--retries", "-1"],
    ["-m", "0"],
    ["-m", "ten"],
    ["--max-per-client", "0"],
    ["--max-upload", "12Q"],
    ["--max-upload", ""],
    ["--max-upload", "-5"],
    ["-U", "999"],
    ["-U", "0x12"],
    ["-U", "-022"],
    ["-u", ""],
    ["--workers", "0"],
    ["--workers", "257"],
]


class Cli(unittest.TestCase):
    def setUp(self):
        # Bad usage must be refused before the root is even looked at:
        # point every attempt at a directory that exists.
        self.root = tempfile.mkdtemp(prefix="tftpd-cli-")

    def tearDown(self):
        os.rmdir(self.root)

    def test_help(self):
        for arg in ("--help", "-h"):
            with self.subTest(arg=arg):
                r = run_tftpd(arg)
                self.assertEqual(r.returncode, 0)
                self.assertEqual(r.stderr, "")
                self.assertTrue(r.stdout.startswith("Usage: tftpd"), r.stdout)
                for opt in OPTIONS:
                    self.assertIn(opt, r.stdout)

    def test_every_option_is_in_the_man_page(self):
        page = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                            "..", "..", "..", "docs", "tftpd.8")
        with open(page, encoding="utf-8") as f:
            text = f.read().replace("\\-", "-")
        helptext = run_tftpd("--help").stdout
        for opt in sorted(set(re.findall(r"--[a-z][a-z0-9-]+", helptext))):
            with self.subTest(opt=opt):
                self.assertIn(opt, text)

    def test_version(self):
        for arg in ("--version", "-V"):
            with self.subTest(arg=arg):
                r = run_tftpd(arg)
                self.assertEqual(r.returncode, 0)
                self.assertEqual(r.stderr, "")
                self.assertRegex(r.stdout, r"^tftpd \d+\.\d+\.\d+\n$")

    def test_bad_usage_exits_64_with_one_line(self):
        for args in BAD:
            with self.subTest(args=args):
                r = run_tftpd("-r", self.root, "-a", "127.0.0.1:1", *args)
                self.assertEqual(r.returncode, 64, r.stderr)
                self.assertEqual(r.stdout, "")
                self.assertTrue(r.stderr.startswith("tftpd: "), r.stderr)
                self.assertTrue(r.stderr.endswith("\n"))
                self.assertEqual(r.stderr.count("\n"), 1, r.stderr)
        # The message names the culprit.
        self.assertIn("'--help=x'", run_tftpd("--help=x").stderr)
        self.assertIn("'-x'", run_tftpd("--write", "-xv").stderr)
        self.assertIn("--max-blksize", run_tftpd("-B", "7").stderr)

    def test_unusable_root_is_not_usage(self):
        r = run_tftpd("-r", os.path.join(self.root, "missing"),
                      "-a", "127.0.0.1:1")
        self.assertEqual(r.returncode, 1)
        self.assertIn("missing", r.stderr)

    def test_port_in_use_says_who_holds_it(self):
        """Start-up that explains itself: the port taken by another
        server is named as such, exit status 1."""
        import socket
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            r = run_tftpd("-r", self.root, "-a", "127.0.0.1:%d" % port)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("Address already in use (another TFTP server holds "
                      "the port", r.stderr)


if __name__ == "__main__":
    main()
