#!/usr/bin/env python3
"""Our tftp client with tftp-hpa's server (in.tftpd 5.2, -c: uploads may
create files). in.tftpd has blksize and tsize but no windowsize: asked for
one, our client must go on in lockstep from the OACK."""
import ourclient
from peers import InTftpd
from tftptest import main


class ClientInTftpd(ourclient.OurClientCase):
    server_name = "in.tftpd"
    ungranted_window = 16

    @classmethod
    def make_server(cls):
        return InTftpd(create=True)


if __name__ == "__main__":
    main()
