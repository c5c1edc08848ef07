#!/usr/bin/env python3
"""Our tftpd with BusyBox's tftp applet (1.35): get (-g) and put (-p),
-b blksize 512..65464 (default: no blksize option, 512-byte blocks). It has
no netascii and no windowsize. It crosses block 65535 at 512 bytes on a
download."""
from interop import OurServerCase, run
from peers import client_path
from tftptest import main


class BusyboxClient(OurServerCase):
    client = "busybox"

    def argv(self, blksize):
        return [client_path("busybox"), "tftp"] + (["-b", str(blksize)] if blksize else [])

    def get(self, remote, local, blksize=None):
        return run(self.argv(blksize) + ["-g", "-r", remote, "-l", local,
                                         "127.0.0.1", self.srv.port])

    def put(self, local, remote, blksize=None):
        return run(self.argv(blksize) + ["-p", "-l", local, "-r", remote,
                                         "127.0.0.1", self.srv.port])

    def test_get_put_sizes_blksizes(self):
        self.check_sizes_blksizes(put_seed=3)

    def test_wrap_get_512(self):
        data = self.wrap_file()
        self.check_get("wrap.bin", data, "gw", expect=(512, 1))


if __name__ == "__main__":
    main()
