#!/usr/bin/env python3
"""Option edge cases, with exact OACK checks.

blksize 8 combined with every other option (the shape of atftpd's
CVE-2021-41054 OACK overflow), numbers that overflow 32 and 64 bits, hex,
signs, spaces, out-of-range values, repeated and mixed-case names. A value
that is not plain decimal, overflows or is out of range is ignored (never
echoed); the first of a repeated option wins; names are case-insensitive.
Every transfer is completed and its bytes compared."""
import itertools
import os

from sectest import DATA, ERROR, OACK, Client, ServerCase, TftpError, log, main, rrq, wrq

SIZE = 3000  # pub.bin
U64_OVER = str(2 ** 64 + 512)      # wraps to 512 if overflow is unchecked
U32_OVER = str(2 ** 32 + 512)
BIG = "9" * 200


class Options(ServerCase):
    server_args = ("-w", "--max-upload", "100000")

    def setUp(self):
        super().setUp()
        self.start_server()
        self.n = 0

    def get(self, opts, want, name="pub.bin", mode="octet", content=None):
        """RRQ with opts: the OACK must be exactly want (None: no OACK)."""
        content = self.pub if content is None else content
        with Client() as c:
            got, oack = c.get(self.server.port, name, mode, opts)
        log("  RRQ %-60s -> OACK %s" % (opts, oack))
        self.assertEqual(oack, want, "RRQ %r" % (opts,))
        self.assertEqual(got, content, "RRQ %r: content" % (opts,))

    def put(self, opts, want, size=SIZE):
        self.n += 1
        name = "up%d.bin" % self.n
        content = os.urandom(size)
        with Client() as c:
            oack = c.put(self.server.port, name, content, "octet", opts)
        log("  WRQ %-60s -> OACK %s" % (opts, oack))
        self.assertEqual(oack, want, "WRQ %r" % (opts,))
        with open(os.path.join(self.root, name), "rb") as f:
            self.assertEqual(f.read(), content, "WRQ %r: content" % (opts,))

    def test_blksize_8_with_every_other_option(self):
        others = [("tsize", "0", "tsize", str(SIZE)),
                  ("timeout", "1", "timeout", "1"),
                  ("windowsize", "4", "windowsize", "4"),
                  ("foo", "bar", None, None)]
        for k in range(len(others) + 1):
            for combo in itertools.combinations(others, k):
                for order in (combo, tuple(reversed(combo))):
                    opts = [("blksize", "8")] + [(a, b) for a, b, _, _ in order]
                    if order:  # blksize last as well as first
                        opts_last = opts[1:] + opts[:1]
                    want = {"blksize": "8"}
                    want.update({n: v for _, _, n, v in order if n})
                    with self.subTest(opts=opts):
                        self.get(opts, want)
                        if order:
                            self.get(opts_last, want)

    def test_blksize_8_with_every_other_option_on_write(self):
        for opts, want in [
            ([("blksize", "8"), ("tsize", "3000")], {"blksize": "8", "tsize": "3000"}),
            ([("blksize", "8"), ("timeout", "2"), ("tsize", "3000"), ("windowsize", "3")],
             {"blksize": "8", "timeout": "2", "tsize": "3000", "windowsize": "3"}),
            ([("windowsize", "2"), ("blksize", "8")], {"blksize": "8", "windowsize": "2"}),
        ]:
            with self.subTest(opts=opts):
                self.put(opts, want)

    def test_blksize_8_wraps_the_block_number(self):
        """More than 65535 blocks of 8 bytes: the 16-bit block number wraps."""
        content = bytes((i * 31 + 7) & 0xFF for i in range(65536 * 8 + 100))
        with open(os.path.join(self.root, "wrap.bin"), "wb") as f:
            f.write(content)
        self.get([("blksize", "8"), ("windowsize", "64"), ("tsize", "0")],
                 {"blksize": "8", "windowsize": "64", "tsize": str(len(content))},
                 name="wrap.bin", content=content)

    def test_numbers_that_are_not_plain_decimal_are_ignored(self):
        bad = [BIG, U64_OVER, U32_OVER, "0x200", "0X200", "-512", "+512", " 512",
               "512 ", "5 12", "", "1e3", "512.0", "0512x", "\t512", "٥١٢"]
        for v in bad:
            # A decimal blksize above 65464 that fits 64 bits is granted
            # as 65464 (RFC 2348 lets the server answer smaller).
            cap = v in (U32_OVER,)
            for name in ("blksize", "timeout", "windowsize"):
                with self.subTest(name=name, value=v):
                    self.get([(name, v)], {"blksize": "65464"}
                             if cap and name == "blksize" else None)
            with self.subTest(name="blksize+tsize", value=v):
                # A bad blksize does not spoil a good option next to it.
                want = {"tsize": str(SIZE)}
                if cap:
                    want["blksize"] = "65464"
                self.get([("blksize", v), ("tsize", "0")], want)

    def test_bad_tsize_on_write_is_ignored(self):
        for v in (BIG, U64_OVER, "-1", "0x10", " 3000", ""):
            with self.subTest(value=v):
                self.put([("tsize", v)], None)

    def test_range_edges(self):
        cases = [
            ([("blksize", "7")], None),
            ([("blksize", "65465")], {"blksize": "65464"}),  # the cap
            ([("blksize", "65464")], {"blksize": "65464"}),
            ([("blksize", "0")], None),
            ([("timeout", "0")], None),
            ([("timeout", "256")], None),
            ([("timeout", "255")], None),  # above --max-timeout 10
            ([("timeout", "10")], {"timeout": "10"}),
            ([("windowsize", "0")], None),
            ([("windowsize", "65536")], None),
            ([("windowsize", "65535")], {"windowsize": "64"}),  # the server's cap
            ([("windowsize", "1")], {"windowsize": "1"}),
            ([("tsize", "18446744073709551615")], {"tsize": str(SIZE)}),
            ([("tsize", "5")], {"tsize": str(SIZE)}),
        ]
        for opts, want in cases:
            with self.subTest(opts=opts):
                self.get(opts, want)

    def test_repeated_options_first_wins(self):
        cases = [
            ([("blksize", "1024"), ("blksize", "2048")], {"blksize": "1024"}),
            ([("BLKSIZE", "1024"), ("blksize", "16")], {"blksize": "1024"}),
            ([("timeout", "2"), ("timeout", "3"), ("TimeOut", "4")], {"timeout": "2"}),
            ([("windowsize", "8")] * 10, {"windowsize": "8"}),
            ([("tsize", "0"), ("tsize", "1"), ("blksize", "8"), ("blksize", "9")],
             {"tsize": str(SIZE), "blksize": "8"}),
        ]
        for opts, want in cases:
            with self.subTest(opts=opts):
                self.get(opts, want)

    def test_mixed_case_names(self):
        cases = [
            ([("BlKsIzE", "1024")], {"blksize": "1024"}),
            ([("TSIZE", "0"), ("WindowSize", "2"), ("TIMEOUT", "2")],
             {"tsize": str(SIZE), "windowsize": "2", "timeout": "2"}),
        ]
        for opts, want in cases:
            with self.subTest(opts=opts):
                self.get(opts, want)

    def test_unknown_options_are_ignored(self):
        self.get([("multicast", ""), ("mcast", "1"), ("x" * 40, "1")], None)
        self.get([("x" * 500, "y" * 500), ("blksize", "600")], {"blksize": "600"})

    def test_hpa_options_granted_as_tftp_hpa_does(self):
        """tftp-hpa's own options: rollover only as 0, utimeout within
        range, blksize2 as a power of 2; out of range, not at all."""
        self.get([("multicast", ""), ("rollover", "0"), ("utimeout", "100000")],
                 {"rollover": "0", "utimeout": "100000"})
        self.get([("rollover", "1"), ("utimeout", "9999")], None)
        self.get([("blksize2", "1000")], {"blksize2": "512"})
        self.get([("blksize2", "1000"), ("blksize", "600")], {"blksize": "600"})

    def test_netascii_read_has_no_tsize(self):
        text = b"one\ntwo\r\nthree\n" * 50
        with open(os.path.join(self.root, "t.txt"), "wb") as f:
            f.write(text)
        # On the wire: LF -> CR LF, CR -> CR NUL (RFC 764).
        wire = text.replace(b"\r", b"\r\0").replace(b"\n", b"\r\n")
        self.get([("tsize", "0"), ("blksize", "8")], {"blksize": "8"}, name="t.txt",
                 mode="netascii", content=wire)

    def test_upload_larger_than_allowed_is_refused_up_front(self):
        for v in ("100001", "18446744073709551615"):
            with self.subTest(tsize=v), Client() as c:
                c.send(wrq("big%s.bin" % v[:3], opts=[("tsize", v)]), self.server.port)
                p = c.recv(3)
                self.assertIsNotNone(p)
                self.assertEqual((p.op, p.code), (ERROR, 3), repr(p))
        # ... and one that lies about its size is stopped at the limit.
        with Client() as c:
            with self.assertRaises(TftpError) as e:
                c.put(self.server.port, "liar.bin", b"z" * 150000, opts=[("tsize", "10")])
            self.assertEqual(e.exception.code, 3)
        self.assertFalse(os.path.exists(os.path.join(self.root, "liar.bin")))

    def test_largest_block_and_window(self):
        content = os.urandom(1 << 20)
        with open(os.path.join(self.root, "big.bin"), "wb") as f:
            f.write(content)
        self.get([("blksize", "65464"), ("windowsize", "64"), ("tsize", "0")],
                 {"blksize": "65464", "windowsize": "64", "tsize": str(len(content))},
                 name="big.bin", content=content)


if __name__ == "__main__":
    main()
