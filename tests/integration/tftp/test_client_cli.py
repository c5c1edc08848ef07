#!/usr/bin/env python3
"""The tftp command line: --help and --version, usage errors exit 64
without touching the network, every long option in --help is in the man
page."""
import os
import re
import unittest

from clienttest import run_tftp
from tftptest import main

MAN = os.path.join(os.path.dirname(__file__), "..", "..", "..", "docs", "tftp.1")


class ClientCli(unittest.TestCase):
    def test_help(self):
        p = run_tftp("--help")
        self.assertEqual(p.returncode, 0)
        text = p.stdout.decode()
        self.assertIn("Usage: tftp get", text)
        self.assertRegex(text, r"0 success, 1 TFTP error from the server, 2 timeout")
        self.assertIn("3 local file error, 64 usage error", text)
        self.assertEqual(p.stderr, "")

    def test_version(self):
        p = run_tftp("--version")
        self.assertEqual(p.returncode, 0)
        self.assertRegex(p.stdout.decode(), r"^tftp \d+\.\d+\.\d+\n$")

    def test_usage_errors_exit_64(self):
        cases = [
            # (no arguments: commands are read from stdin, as tftp-hpa does)
            ["fetch", "h", "f"],                  # tftp-hpa's syntax: port "h"
            ["get"],
            ["get", "127.0.0.1"],
            ["get", "127.0.0.1", "a", "b", "c"],
            ["put", "127.0.0.1"],
            ["put", "127.0.0.1", "-"],            # no REMOTE for stdin
            ["get", "127.0.0.1:0", "f"],
            ["get", "127.0.0.1:70000", "f"],
            ["get", "[::1", "f"],
            ["get", "127.0.0.1", "dir/"],         # no name for LOCAL
            ["get", "-b", "7", "127.0.0.1", "f"],
            ["get", "-b", "65465", "127.0.0.1", "f"],
            ["get", "-W", "0", "127.0.0.1", "f"],
            ["get", "-t", "0", "127.0.0.1", "f"],
            ["get", "-t", "256", "127.0.0.1", "f"],
            ["get", "-m", "mail", "127.0.0.1", "f"],
            ["get", "-p", "9:1", "127.0.0.1", "f"],
            ["get", "--no-options", "-b", "1024", "127.0.0.1", "f"],
            ["get", "--bogus", "127.0.0.1", "f"],
            ["get", "127.0.0.1", "f", "-b"],
            ["get", "tftp://127.0.0.1/"],
            ["get", "tftp://127.0.0.1/a%zz"],
        ]
        for args in cases:
            with self.subTest(args=args):
                p = run_tftp(*args, timeout=10)
                self.assertEqual(p.returncode, 64, p.stderr)
                self.assertTrue(p.stderr.startswith("tftp: "), p.stderr)
                self.assertIn("tftp --help", p.stderr)
                self.assertEqual(p.stdout, b"")

    def test_man_page_documents_every_option(self):
        with open(MAN) as f:
            man = f.read().replace("\\-", "-")
        text = run_tftp("--help").stdout.decode()
        longs = set(re.findall(r"--[a-z][a-z0-9-]+", text))
        self.assertGreater(len(longs), 10)
        for opt in sorted(longs):
            with self.subTest(opt=opt):
                self.assertIn(opt, man)
        for code in ("64", "130"):
            self.assertIn(code, man)


if __name__ == "__main__":
    main()
