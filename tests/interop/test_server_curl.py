#!/usr/bin/env python3
"""Our tftpd with curl's TFTP client (curl 7.88): download (-o) and upload
(-T), --tftp-blksize 512..65464, --tftp-no-options, and netascii through
the URL's ';mode=netascii' (curl puts the mode on the wire but converts
nothing: what it stores is the wire form, and what it sends must already be
netascii)."""
from interop import (SIZES, OurServerCase, data_for, netascii, run, text_data)
from peers import client_path
from tftptest import main


class CurlClient(OurServerCase):
    client = "curl"

    def url(self, name, mode=None):
        return "tftp://127.0.0.1:%d/%s%s" % (self.srv.port, name,
                                             ";mode=%s" % mode if mode else "")

    def opts(self, blksize=None, noopts=False):
        a = ["-sS", "--max-time", "60"]
        if blksize:
            a += ["--tftp-blksize", str(blksize)]
        if noopts:
            a.append("--tftp-no-options")
        return a

    def get(self, remote, local, mode=None, **opts):
        return run([client_path("curl")] + self.opts(**opts)
                   + ["-o", local, self.url(remote, mode)])

    def put(self, local, remote, mode=None, **opts):
        return run([client_path("curl")] + self.opts(**opts)
                   + ["-T", local, self.url(remote, mode)])

    def test_get_put_sizes_blksizes(self):
        for blk in (None, 512, 1428, 8192, 65464):
            for size in SIZES:
                with self.subTest(blksize=blk, size=size):
                    exp = (blk or 512, 1)
                    if size == 0:
                        # curl 7.88 fails to download an empty file once
                        # it has asked for options: exit 71 "getpeername()
                        # failed" (atftpd gets the same). Without options
                        # it works: test_no_options.
                        self.check_put(b"", "p0-%s" % blk, expect=exp, blksize=blk)
                        continue
                    self.check_get("s%d.bin" % size, data_for(size, seed=size),
                                   "g%d-%s" % (size, blk), expect=exp, blksize=blk)
                    self.check_put(data_for(size, seed=5 + size), "p%d-%s" % (size, blk),
                                   expect=exp, blksize=blk)

    def test_no_options(self):
        for size in SIZES:
            with self.subTest(size=size):
                self.check_get("s%d.bin" % size, data_for(size, seed=size),
                               "n%d" % size, expect=(512, 1), noopts=True)
                self.check_put(data_for(size, seed=13 + size), "n%d" % size,
                               expect=(512, 1), noopts=True)

    def test_netascii_wire_form(self):
        text = text_data()
        # Download: curl keeps the wire bytes, our server's encoding.
        self.check_get("text.txt", netascii(text), "t.txt", mode="netascii")
        # Upload: curl sends the file as it is; given the netascii form,
        # our server must store the local text.
        self.check_put(netascii(text), "t.txt", stored=text, mode="netascii")

    def test_wrap_get_512(self):
        data = self.wrap_file()
        self.check_get("wrap.bin", data, "gw", expect=(512, 1), blksize=512)


if __name__ == "__main__":
    main()
