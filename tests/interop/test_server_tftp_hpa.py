#!/usr/bin/env python3
"""Our tftpd with tftp-hpa's client (tftp 5.2). That client speaks plain
RFC 1350: it has no way to ask for any option, so everything moves in
512-byte lockstep, which makes it the peer that crosses block 65535 both
ways. Its exit status is 0 even after an ERROR (see test_errors.py), so
success is judged by the bytes and by its output."""
from interop import (SIZES, OurServerCase, data_for, netascii, run, text_data)
from peers import client_path
from tftptest import main


class TftpHpaClient(OurServerCase):
    client = "hpa"

    def argv(self, mode, command):
        return [client_path("tftp"), "-m", mode, "127.0.0.1", str(self.srv.port),
                "-c"] + command

    def ok(self, p):
        return p.returncode == 0 and "Error" not in p.out and "imed out" not in p.out

    def get(self, remote, local, mode="binary"):
        return run(self.argv(mode, ["get", remote, local]))

    def put(self, local, remote, mode="binary"):
        return run(self.argv(mode, ["put", local, remote]))

    def test_get_sizes(self):
        for size in SIZES:
            with self.subTest(size=size):
                self.check_get("s%d.bin" % size, data_for(size, seed=size),
                               "g%d" % size, expect=(512, 1))

    def test_put_sizes(self):
        for size in SIZES:
            with self.subTest(size=size):
                self.check_put(data_for(size, seed=100 + size), "p%d" % size,
                               expect=(512, 1))

    def test_netascii(self):
        # The client converts both ways, so the round trip gives back the
        # local bytes exactly; our server decodes the upload to the same.
        text = text_data()
        self.check_get("text.txt", text, "gt", mode="netascii")
        self.check_get("empty.txt", b"", "ge", mode="netascii")
        self.check_put(text, "pt.txt", mode="netascii")
        # (The text is one that a skipped conversion would change.)
        self.assertNotEqual(netascii(text), text)

    def test_wrap_get_and_put_512(self):
        data = self.wrap_file()
        self.check_get("wrap.bin", data, "gw", expect=(512, 1))
        self.check_put(data, "pw", expect=(512, 1))


if __name__ == "__main__":
    main()
