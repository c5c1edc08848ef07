#!/usr/bin/env python3
"""Our tftp client with dnsmasq 2.90's TFTP server (package dnsmasq-base).

dnsmasq listens on port 69 only, so the program re-runs itself in a network
namespace of its own (peers.enter_own_netns: `unshare --net`, root; not
root FAILS) where dnsmasq and our client share a private loopback.

What dnsmasq's TFTP server does (tested here):
  * read-only: every WRQ is answered ERROR 4 "unsupported request";
  * blksize, capped at its packet buffer less 4 bytes: 2263 by default,
    65464 with --edns-packet-max=65535 (the main server below);
  * tsize, in octet mode only (a netascii RRQ's tsize is left out);
  * timeout is read but never put in the OACK;
  * no windowsize (left out of the OACK: our client goes on in lockstep);
  * netascii (LF -> CR LF on the wire; a lone CR is sent as it is);
  * --tftp-single-port: the whole transfer on port 69.
"""
import os

import ourclient
from interop import SIZES, WorkdirCase, data_for, read, run_ours, text_data, write
from peers import Dnsmasq, enter_own_netns
from tftptest import main


class ClientDnsmasq(ourclient.OurClientCase):
    """The shared body (gets of every size and blksize up to 65464, no
    options, tsize, netascii, past block 65535), windowsize 64 asked and
    not granted, every put refused."""
    server_name = "dnsmasq"
    ungranted_window = 64
    read_only = True
    # Lockstep only: 65538 round trips whatever the size; 8-byte blocks
    # keep the file at 512 KiB.
    wrap_blksize = 8

    @classmethod
    def make_server(cls):
        return Dnsmasq(packet_max=65535)

    def one_line_error(self, p, needle):
        self.assertEqual(p.returncode, 1, p.out[-1000:])
        lines = [l for l in p.stderr.decode().splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, lines)
        self.assertIn(needle, lines[0])

    def test_missing_file(self):
        local = self.local("got")
        p = run_ours("get", "-q", self.hp(), "no-such-file", local)
        self.one_line_error(p, "no-such-file: file %s not found for 127.0.0.1 (TFTP error 1)"
                            % self.srv.path("no-such-file"))
        self.assertEqual(os.listdir(self.dir), [])  # no file, no temp file

    def test_put_refused(self):
        before = sorted(os.listdir(self.srv.root))
        data = data_for(100000, seed=7)
        for args in ((), ("--no-options",), ("-b", "65464", "-W", "64", "-T")):
            with self.subTest(args=args):
                local = write(self.local("up.bin"), data)
                p = run_ours("put", "-q", *args, self.hp(), local, "up.bin")
                self.one_line_error(p, "up.bin: unsupported request from 127.0.0.1 "
                                    "(TFTP error 4)")
                self.assertEqual(sorted(os.listdir(self.srv.root)), before)
                self.assertEqual(read(local), data)
                self.assertEqual(os.listdir(self.dir), ["up.bin"])

    def test_options_left_out(self):
        # timeout asked: not in the OACK. tsize asked in netascii: not in
        # the OACK either. Same bytes, no error.
        data = data_for(1 << 20, seed=1 << 20)
        p = self.get("s%d.bin" % (1 << 20), data, "to", (1428, 1), ("-t", "3"))
        self.assertRegex(p.out, r"options accepted: blksize 1428\n")
        p = self.get("text.txt", text_data(), "na", None, ("-m", "netascii", "-T"))
        self.assertRegex(p.out, r"options accepted: blksize 1428\n")


class ClientDnsmasqDefault(WorkdirCase):
    """dnsmasq as it comes (packet buffer 2267 bytes) on 127.0.0.2: asked
    for blksize 65464 it grants 2263, and our client takes that."""

    @classmethod
    def setUpClass(cls):
        cls.srv = Dnsmasq(host="127.0.0.2", packet_max=None)
        cls.srv.__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.srv.__exit__(None, None, None)

    def test_blksize_capped(self):
        for size in SIZES + (2263, 2264, 3 * 2263):
            data = data_for(size, seed=size + 5)
            self.srv.write("c.bin", data)
            for args in (("-b", "65464"), ("-b", "65464", "-W", "64", "-T")):
                with self.subTest(size=size, args=args):
                    local = self.local("c.bin")
                    p = run_ours("get", "-v", "--no-progress", *args,
                                 "127.0.0.2:69", "c.bin", local)
                    self.assertEqual(p.returncode, 0, p.out[-2000:])
                    self.assertSameBytes(read(local), data, "get c.bin %r" % (args,))
                    self.assertRegex(p.out, r"blksize 2263, window 1,")
                    os.unlink(local)
                    self.assertEqual(os.listdir(self.dir), [])


class ClientDnsmasqSinglePort(WorkdirCase):
    """dnsmasq --tftp-single-port: DATA, OACK and ERROR come from port 69,
    the port the request went to (the transfer ID is still the port of the
    first answer, which here is 69)."""

    @classmethod
    def setUpClass(cls):
        cls.srv = Dnsmasq(single_port=True)
        cls.srv.__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.srv.__exit__(None, None, None)

    def test_get(self):
        self.assertIn("single port mode", self.srv.log())
        for size in SIZES:
            data = data_for(size, seed=size + 9)
            self.srv.write("s.bin", data)
            for args, exp in (((), "blksize 1428, window 1"),
                              (("--no-options",), "blksize 512, window 1"),
                              (("-b", "65464", "-W", "64", "-T"), "blksize 65464, window 1")):
                with self.subTest(size=size, args=args):
                    local = self.local("s.bin")
                    p = run_ours("get", "-v", "--no-progress", *args,
                                 "127.0.0.1", "s.bin", local)
                    self.assertEqual(p.returncode, 0, p.out[-2000:])
                    self.assertSameBytes(read(local), data, "get s.bin %r" % (args,))
                    self.assertIn(exp, p.out)
                    os.unlink(local)
                    self.assertEqual(os.listdir(self.dir), [])

    def test_errors(self):
        p = run_ours("get", "-q", "127.0.0.1", "no-such-file", self.local("got"))
        self.assertEqual(p.returncode, 1, p.out)
        self.assertIn("(TFTP error 1)", p.out)
        self.assertEqual(os.listdir(self.dir), [])
        local = write(self.local("up.bin"), b"x" * 1000)
        before = sorted(os.listdir(self.srv.root))
        p = run_ours("put", "-q", "127.0.0.1", local, "up.bin")
        self.assertEqual(p.returncode, 1, p.out)
        self.assertIn("(TFTP error 4)", p.out)
        self.assertEqual(sorted(os.listdir(self.srv.root)), before)


if __name__ == "__main__":
    enter_own_netns(addrs=("127.0.0.2/8",))
    main()
