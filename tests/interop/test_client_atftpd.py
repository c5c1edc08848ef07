#!/usr/bin/env python3
"""Our tftp client with atftpd 0.8: blksize up to 65464, windowsize 16 and
64 (RFC 7440), tsize, netascii, and a windowed transfer past block 65535."""
import ourclient
from peers import Atftpd
from tftptest import main


class ClientAtftpd(ourclient.OurClientCase):
    server_name = "atftpd"
    windows = (16, 64)

    @classmethod
    def make_server(cls):
        return Atftpd()


if __name__ == "__main__":
    main()
