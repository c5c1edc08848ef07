"""Our tftp client against a server (a peer, or our tftpd as the control):
the shared test body. A module subclasses OurClientCase and sets
make_server, max_window (None: the server has no windowsize and our
client must fall back to lockstep) and windows to test. A read-only
server (read_only) must refuse every upload: our client exits 1 and
nothing appears in the server's root."""
import os
import re
import time

from interop import (SIZES, WRAP_SIZE, WorkdirCase, data_for, read, run_ours,
                     text_data, write)
from tftptest import scaled

BLKSIZES = (512, 1428, 8192, 65464)


class OurClientCase(WorkdirCase):
    server_name = "server"
    windows = ()            # windowsizes the server grants
    ungranted_window = None  # a windowsize asked of a server without one
    read_only = False       # the server refuses every WRQ (dnsmasq)
    wrap_blksize = 512      # test_wrap: 65537 full blocks of this and an empty one

    @classmethod
    def make_server(cls):
        raise NotImplementedError

    @classmethod
    def setUpClass(cls):
        cls.srv = cls.make_server()
        cls.srv.__enter__()
        for size in SIZES:
            cls.srv.write("s%d.bin" % size, data_for(size, seed=size))
        cls.srv.write("text.txt", text_data())

    @classmethod
    def tearDownClass(cls):
        cls.srv.__exit__(None, None, None)

    def hp(self):
        return "127.0.0.1:%d" % self.srv.port

    def summary(self, p):
        """(blksize, window) from our client's -v summary line."""
        m = re.search(r"(?:received|sent) \d+ bytes .*blksize (\d+), window (\d+)", p.out)
        self.assertIsNotNone(m, p.out[-1500:])
        return int(m.group(1)), int(m.group(2))

    def get(self, remote, want, tag, expect=None, args=()):
        local = self.local(tag)
        p = run_ours("get", "-v", "--no-progress", *args, self.hp(), remote, local)
        self.assertEqual(p.returncode, 0, "get %s %r against %s:\n%s"
                         % (remote, args, self.server_name, p.out[-2000:]))
        self.assertSameBytes(read(local), want, "get %s %r from %s"
                             % (remote, args, self.server_name))
        if expect is not None:
            self.assertEqual(self.summary(p), expect, p.out[-1500:])
        self.assertEqual([f for f in os.listdir(self.dir) if f.startswith(".")], [])
        os.unlink(local)
        return p

    def stored(self, remote, size, timeout=5.0):
        """The server's copy of an upload. atftpd sends its last ACK before
        the file's buffered tail is written (it closes the file after), so
        the bytes may show up a moment after our client has exited: wait,
        bounded, until size bytes are there."""
        end = time.monotonic() + scaled(timeout)
        while True:
            try:
                got = self.srv.read(remote)
            except FileNotFoundError:
                got = b""
            if len(got) >= size or time.monotonic() > end:
                return got
            time.sleep(0.01)

    def put(self, data, tag, expect=None, stored=None, args=()):
        local = write(self.local(tag), data)
        remote = "ours-%s" % tag
        if self.read_only:
            return self.put_refused(local, data, remote, args)
        p = run_ours("put", "-v", "--no-progress", *args, self.hp(), local, remote)
        self.assertEqual(p.returncode, 0, "put %s %r against %s:\n%s"
                         % (remote, args, self.server_name, p.out[-2000:]))
        want = data if stored is None else stored
        self.assertSameBytes(self.stored(remote, len(want)), want,
                             "put %s %r to %s" % (remote, args, self.server_name))
        if expect is not None:
            self.assertEqual(self.summary(p), expect, p.out[-1500:])
        os.unlink(local)
        return p

    def put_refused(self, local, data, remote, args=()):
        """A read-only server: our client reports its ERROR (exit 1), the
        root holds no such file, the local file is untouched."""
        before = sorted(os.listdir(self.srv.root))
        p = run_ours("put", "-v", "--no-progress", *args, self.hp(), local, remote)
        self.assertEqual(p.returncode, 1, "put %s %r against read-only %s:\n%s"
                         % (remote, args, self.server_name, p.out[-2000:]))
        self.assertRegex(p.out, r"%s: .* \(TFTP error \d+\)" % re.escape(remote))
        self.assertEqual(sorted(os.listdir(self.srv.root)), before)
        self.assertSameBytes(read(local), data, "local file after a refused put")
        os.unlink(local)
        return p

    def test_sizes_blksizes(self):
        for blk in (None,) + BLKSIZES:
            args = ("-b", str(blk)) if blk else ()
            exp = (blk or 1428, 1)  # our client asks 1428 by default
            for size in SIZES:
                with self.subTest(blksize=blk, size=size):
                    self.get("s%d.bin" % size, data_for(size, seed=size),
                             "g%d-%s" % (size, blk), exp, args)
                    self.put(data_for(size, seed=21 + size), "p%d-%s" % (size, blk),
                             exp, args=args)

    def test_no_options(self):
        for size in SIZES:
            with self.subTest(size=size):
                self.get("s%d.bin" % size, data_for(size, seed=size), "n%d" % size,
                         (512, 1), ("--no-options",))
                self.put(data_for(size, seed=31 + size), "n%d" % size, (512, 1),
                         args=("--no-options",))

    def test_windowsize(self):
        for w in self.windows:
            for blk in (512, 8192):
                args = ("-b", str(blk), "-W", str(w))
                for size in SIZES:
                    with self.subTest(window=w, blksize=blk, size=size):
                        self.get("s%d.bin" % size, data_for(size, seed=size),
                                 "w%d-%d-%d" % (w, blk, size), (blk, w), args)
                        self.put(data_for(size, seed=41 + size), "w%d-%d-%d" % (w, blk, size),
                                 (blk, w), args=args)

    def test_windowsize_not_granted(self):
        # The server's OACK leaves windowsize out: lockstep, same bytes.
        if self.ungranted_window is None:
            return
        args = ("-b", "1428", "-W", str(self.ungranted_window))
        for size in SIZES:
            with self.subTest(size=size):
                self.get("s%d.bin" % size, data_for(size, seed=size), "u%d" % size,
                         (1428, 1), args)
                self.put(data_for(size, seed=51 + size), "u%d" % size, (1428, 1),
                         args=args)

    def test_tsize(self):
        for size in SIZES:
            with self.subTest(size=size):
                p = self.get("s%d.bin" % size, data_for(size, seed=size), "t%d" % size,
                             None, ("-T",))
                self.assertRegex(p.out, r"options accepted:.* tsize %d\b" % size)
                p = self.put(data_for(size, seed=61 + size), "t%d" % size, args=("-T",))
                if not self.read_only:
                    self.assertRegex(p.out, r"options accepted:.* tsize %d\b" % size)

    def test_netascii(self):
        text = text_data()
        self.get("text.txt", text, "text.txt", args=("-m", "netascii"))
        self.put(text, "text.txt", args=("-m", "netascii"))

    def test_wrap(self):
        # Past block 65535 both ways (windowed where the server has
        # windowsize): at 512 bytes, or a smaller wrap_blksize where the
        # server is lockstep only (the packet count is what takes time).
        blk = self.wrap_blksize
        data = data_for(WRAP_SIZE // 512 * blk, seed=65537)
        self.srv.write("wrap.bin", data)
        w = self.windows[0] if self.windows else 1
        args = ("-b", str(blk), "-W", str(w))
        self.get("wrap.bin", data, "wrap", (blk, w), args)
        self.put(data, "wrap", (blk, w), args=args)
