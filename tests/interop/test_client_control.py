#!/usr/bin/env python3
"""The control: our tftp client with our tftpd, through the same test body
as the peers (test_client_in_tftpd.py, test_client_atftpd.py)."""
import ourclient
from tftptest import TftpdServer, main


class ClientOurServer(ourclient.OurClientCase):
    server_name = "tftpd"
    windows = (16, 64)

    @classmethod
    def make_server(cls):
        return TftpdServer("-w", "--overwrite")


if __name__ == "__main__":
    main()
