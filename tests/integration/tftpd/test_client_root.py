#!/usr/bin/env python3
"""Per-client files and upload placement, with real sockets:

  --client-root ip    ROOT/<client address>/NAME first, then ROOT/NAME
  --client-root mac   ROOT/01-aa-bb-cc-dd-ee-ff/NAME (the kernel's
                      neighbour table; a client in a namespace of its own
                      behind a veth pair, IPv4 and IPv6)
  --client-root-map   per network: a directory and option caps
  --refuse OPTION     never granted
  --windows-names     C:\\Boot\\BCD, any case; listings cached
  --upload-dir, --mkdir, and two uploads of one name at once.

The whole file runs in a network namespace of its own (peers.py); the
clients use several loopback addresses (127.0.0.0/8 is all local)."""
import os
import shutil
import stat
import subprocess
import tempfile
import time
import unittest

from httporigin import Nginx
from peers import enter_own_netns, new_netns, run
from tftptest import (ACK, ERROR, OACK, Client, Endpoint, Inotify, TftpError,
                      TftpdServer, main, pack_data, pack_wrq, pattern,
                      run_tftpd, wait_for, free_udp_port)


def get(srv, name, src="127.0.0.1", opts=None):
    with Client(srv.port, bind=src) as c:
        return c.get(name, opts=opts)


def refused(srv, name, src="127.0.0.1"):
    """The ERROR code a download of name gets."""
    try:
        get(srv, name, src)
    except TftpError as e:
        return e.code
    raise AssertionError("%s was served" % name)


class ClientRootIp(unittest.TestCase):
    def test_own_directory_first_then_the_root(self):
        with TftpdServer("--client-root", "ip") as srv:
            srv.write("a.txt", b"root's")
            srv.write("b.txt", b"only in the root")
            srv.write("127.0.0.1/a.txt", b"127.0.0.1's")
            srv.write("127.0.0.2/a.txt", b"127.0.0.2's")
            self.assertEqual(get(srv, "a.txt").data, b"127.0.0.1's")
            self.assertEqual(get(srv, "a.txt", "127.0.0.2").data, b"127.0.0.2's")
            self.assertEqual(get(srv, "a.txt", "127.0.0.3").data, b"root's")
            self.assertEqual(get(srv, "b.txt").data, b"only in the root")
            # A subdirectory of one's own, and a name with a leading slash.
            srv.write("127.0.0.1/pxelinux.cfg/default", b"menu")
            self.assertEqual(get(srv, "/pxelinux.cfg/default").data, b"menu")
            self.assertEqual(refused(srv, "missing"), 1)

    def test_confined(self):
        """A client directory that is a symlink out of the root is not
        followed: ERROR 2, and no fallback that would hide it."""
        outside = tempfile.mkdtemp(prefix="outside-")
        try:
            with open(os.path.join(outside, "secret"), "wb") as f:
                f.write(b"secret")
            with TftpdServer("--client-root", "ip") as srv:
                srv.write("secret", b"public")
                os.symlink(outside, srv.path("127.0.0.4"))
                self.assertEqual(refused(srv, "secret", "127.0.0.4"), 2)
                self.assertEqual(refused(srv, "../secret", "127.0.0.1"), 2)
        finally:
            shutil.rmtree(outside)


class ClientRootMap(unittest.TestCase):
    MAP = ("# network        dir   caps\n"
           "127.0.0.2/32     lab   blksize=600 windowsize=2 refuse=tsize\n"
           "127.0.0.0/8      -     blksize=1000   # everyone else\n"
           "::1              v6\n")

    def serve(self, text, *args):
        fd, path = tempfile.mkstemp(prefix="cmap-")
        os.write(fd, text.encode())
        os.close(fd)
        self.addCleanup(os.unlink, path)
        return TftpdServer("--client-root-map", path, *args)

    def test_directories_and_caps_by_network(self):
        asked = {"blksize": "1468", "windowsize": "8", "tsize": "0"}
        with self.serve(self.MAP) as srv:
            data = pattern(5000, seed=1)
            srv.write("f.bin", data)
            srv.write("lab/f.bin", data[::-1])
            r = get(srv, "f.bin", "127.0.0.2", asked)
            self.assertEqual(r.data, data[::-1])
            self.assertEqual(r.oack, {"blksize": "600", "windowsize": "2"})
            r = get(srv, "f.bin", "127.0.0.1", asked)
            self.assertEqual(r.data, data)
            self.assertEqual(r.oack, {"blksize": "1000", "windowsize": "8",
                                      "tsize": "5000"})
            log = srv.stop()
            self.assertIn("client map", log)
            self.assertIn("3 networks", log)

    def test_sighup_reads_it_again(self):
        import signal
        fd, path = tempfile.mkstemp(prefix="cmap-")
        os.write(fd, b"127.0.0.2 one\n")
        os.close(fd)
        self.addCleanup(os.unlink, path)
        with TftpdServer("--client-root-map", path) as srv:
            srv.write("one/f", b"1")
            srv.write("two/f", b"2")
            self.assertEqual(get(srv, "f", "127.0.0.2").data, b"1")
            for text, data, said in ((b"127.0.0.2 two\n", b"2", "1 networks"),
                                     (b"127.0.0.2 ../x\n", b"2", "stay")):
                with open(path, "wb") as f:
                    f.write(text)
                n = srv.log().count("SIGHUP: client map")
                srv.send_signal(signal.SIGHUP)
                wait_for(lambda: srv.log().count("SIGHUP: client map") > n, 10,
                         "the reload")
                line = [x for x in srv.log().splitlines()
                        if "SIGHUP: client map" in x][-1]
                self.assertIn(said, line)
                self.assertEqual(get(srv, "f", "127.0.0.2").data, data)

    def test_bad_map_is_a_start_up_error(self):
        for text, words in (("10.0.0.0/33 x\n", "line 1"),
                            ("# ok\n10.0.0.0/8 ../up\n", "line 2"),
                            ("10.0.0.0/8 lab blksize=4\n", "blksize=4"),
                            ("10.0.0.0/8 lab refuse=bogus\n", "refuse=bogus"),
                            ("10.0.0.0/8\n", "directory")):
            with self.subTest(text=text):
                fd, path = tempfile.mkstemp(prefix="cmap-")
                os.write(fd, text.encode())
                os.close(fd)
                try:
                    r = run_tftpd("-r", "/tmp", "-a",
                                  "127.0.0.1:%d" % free_udp_port(),
                                  "--client-root-map", path)
                finally:
                    os.unlink(path)
                self.assertEqual(r.returncode, 1, r.stderr)
                self.assertIn(words, r.stderr)

    def test_refuse_for_all(self):
        with TftpdServer("--refuse", "tsize", "--refuse", "windowsize") as srv:
            srv.write("f.bin", b"x" * 3000)
            r = get(srv, "f.bin", opts={"tsize": "0", "windowsize": "4",
                                        "blksize": "1024"})
            self.assertEqual(r.oack, {"blksize": "1024"})
        r = run_tftpd("--refuse", "bogus")
        self.assertEqual(r.returncode, 64)
        self.assertIn("bogus", r.stderr)


class WindowsNames(unittest.TestCase):
    def test_backslashes_drive_and_case(self):
        with TftpdServer("--windows-names") as srv:
            srv.write("Boot/BCD", b"bcd")
            srv.write("Boot/x64/wdsmgfw.efi", b"efi")
            for name in ("\\Boot\\BCD", "C:\\boot\\bcd", "boot/BCD", "BOOT\\bcd",
                         "/boot/X64/WDSMGFW.EFI"):
                with self.subTest(name=name):
                    want = b"efi" if "efi" in name.lower() else b"bcd"
                    self.assertEqual(get(srv, name).data, want)
            self.assertEqual(refused(srv, "boot/nothere"), 1)

    def test_off_by_default(self):
        with TftpdServer() as srv:
            srv.write("Boot/BCD", b"bcd")
            self.assertEqual(refused(srv, "boot/bcd"), 1)

    def test_listings_cached_until_the_directory_changes(self):
        """20 requests in the wrong case list the directory once; a file
        added later is found (the changed mtime drops the listing)."""
        with TftpdServer("--windows-names") as srv:
            srv.write("Boot/BCD", b"bcd")
            ino = Inotify()
            try:
                ino.add(srv.path("Boot"), Inotify.ACCESS)
                for _ in range(20):
                    self.assertEqual(get(srv, "boot/bcd").data, b"bcd")
                reads = [e for e in ino.events() if e[1] == ""]
                self.assertLessEqual(len(reads), 2, reads)
                time.sleep(0.01)  # a new mtime even on coarse clocks
                srv.write("Boot/New.bin", b"new")
                self.assertEqual(get(srv, "BOOT/NEW.BIN").data, b"new")
            finally:
                ino.close()


def put(srv, name, data, src="127.0.0.1"):
    with Client(srv.port, bind=src) as c:
        return c.put(name, data)


def put_error(srv, name, data=b"x"):
    try:
        put(srv, name, data)
    except TftpError as e:
        return e.code, e.msg
    raise AssertionError("upload of %s accepted" % name)


class Uploads(unittest.TestCase):
    def test_upload_dir(self):
        up = tempfile.mkdtemp(prefix="updir-")
        self.addCleanup(shutil.rmtree, up)
        with TftpdServer("-w", "--upload-dir", up) as srv:
            put(srv, "cfg.txt", b"config")
            with open(os.path.join(up, "cfg.txt"), "rb") as f:
                self.assertEqual(f.read(), b"config")
            self.assertFalse(os.path.exists(srv.path("cfg.txt")))
            # Reads stay on the root.
            self.assertEqual(refused(srv, "cfg.txt"), 1)
            # No --mkdir: a missing directory refuses, with the reason.
            code, _ = put_error(srv, "a/b/c.txt")
            self.assertIn(code, (1, 2))
            log = srv.stop()
        self.assertIn("WRQ a/b/c.txt: refused", log)
        r = run_tftpd("--upload-dir", up)
        self.assertEqual(r.returncode, 64)

    def test_mkdir_with_umask_and_confined(self):
        up = tempfile.mkdtemp(prefix="updir-")
        outside = tempfile.mkdtemp(prefix="outside-")
        self.addCleanup(shutil.rmtree, up)
        self.addCleanup(shutil.rmtree, outside)
        os.symlink(outside, os.path.join(up, "escape"))
        with TftpdServer("-w", "--upload-dir", up, "--mkdir", "-U", "027") as srv:
            put(srv, "sw/core/1.cfg", b"one")
            with open(os.path.join(up, "sw/core/1.cfg"), "rb") as f:
                self.assertEqual(f.read(), b"one")
            for d in ("sw", "sw/core"):
                mode = stat.S_IMODE(os.stat(os.path.join(up, d)).st_mode)
                self.assertEqual(mode, 0o750, d)
            code, _ = put_error(srv, "escape/new/x.cfg")
            self.assertEqual(code, 2)
        self.assertEqual(os.listdir(outside), [])

    def test_client_directory_for_uploads(self):
        with TftpdServer("-w", "--client-root", "ip", "--mkdir") as srv:
            os.makedirs(srv.path("127.0.0.2"))
            put(srv, "bk/a.cfg", b"two", "127.0.0.2")
            put(srv, "bk/a.cfg", b"one", "127.0.0.1")
            self.assertEqual(srv.read("127.0.0.2/bk/a.cfg"), b"two")
            # No directory of its own: as named (--mkdir does not make it).
            self.assertEqual(srv.read("bk/a.cfg"), b"one")
            self.assertFalse(os.path.exists(srv.path("127.0.0.1")))

    def test_two_uploads_of_one_name(self):
        """A second WRQ for a name being uploaded (Cisco IOS resends its
        WRQ from a new port) gets ERROR 2 and writes nothing; the first
        completes; with two workers just the same."""
        for args in ((), ("--workers", "2")):
            with self.subTest(args=args), TftpdServer("-w", *args) as srv:
                with Endpoint() as a:
                    a.send(pack_wrq("same.cfg"), srv.port)
                    p = a.recv()
                    self.assertEqual((p.op, p.block), (ACK, 0))
                    tid = p.port
                    for _ in range(3):  # whichever worker each reaches
                        with Endpoint() as b:
                            b.send(pack_wrq("same.cfg"), srv.port)
                            e = b.recv()
                            self.assertEqual((e.op, e.code), (ERROR, 2), e)
                            self.assertIn("being written", e.msg)
                    a.send(pack_data(1, b"first"), tid)
                    p = a.recv()
                    self.assertEqual((p.op, p.block), (ACK, 1))
                self.assertEqual(srv.read("same.cfg"), b"first")
                # Now it exists: no --overwrite, ERROR 6.
                self.assertEqual(put_error(srv, "same.cfg")[0], 6)
                log = srv.stop()
                self.assertIn("another upload of this file is in progress", log)
                self.assertEqual(srv.temp_files(), [])


class ClientRootMac(unittest.TestCase):
    """The server in this namespace on a veth pair, the client in its
    own namespace with a set hardware address."""
    MAC = "02:00:00:aa:bb:cc"
    DIR = "01-02-00-00-aa-bb-cc"

    def setUp(self):
        self.ns = new_netns()
        self.addCleanup(self.ns.wait)
        self.addCleanup(self.ns.kill)
        pid = self.ns.pid
        run("ip", "link", "add", "tcr-s", "type", "veth", "peer", "name", "tcr-c")
        self.addCleanup(run, "ip", "link", "del", "tcr-s", check=False)
        run("ip", "link", "set", "tcr-c", "netns", str(pid))
        run("ip", "addr", "add", "10.98.0.1/24", "dev", "tcr-s")
        run("ip", "-6", "addr", "add", "fd98::1/64", "dev", "tcr-s", "nodad")
        run("ip", "link", "set", "tcr-s", "up")
        run("ip", "link", "set", "tcr-c", "address", self.MAC, ns=pid)
        run("ip", "addr", "add", "10.98.0.2/24", "dev", "tcr-c", ns=pid)
        run("ip", "-6", "addr", "add", "fd98::2/64", "dev", "tcr-c", "nodad", ns=pid)
        run("ip", "link", "set", "tcr-c", "up", ns=pid)
        run("ip", "link", "set", "lo", "up", ns=pid)

    def fetch(self, host, port, name):
        out = tempfile.mktemp(prefix="mac-get-")
        r = run(os.environ["TFTP"], "get", host + ":%d" % port if ":" not in host
                else "[%s]:%d" % (host, port), name, out, ns=self.ns.pid,
                check=False, timeout=20)
        try:
            with open(out, "rb") as f:
                return f.read()
        except FileNotFoundError:
            return r.stdout + r.stderr
        finally:
            if os.path.exists(out):
                os.unlink(out)

    def test_hardware_address_directory(self):
        with TftpdServer("--client-root", "mac", host="0.0.0.0", probe=False) as srv:
            self._serve(srv, "10.98.0.1")

    def test_hardware_address_directory_ipv6(self):
        with TftpdServer("--client-root", "mac", host="::", probe=False) as srv:
            self._serve(srv, "fd98::1")

    def test_origin_url_with_the_hardware_address(self):
        """--origin http://.../{mac}/{file}: the client's own file from
        the origin; a client with no hardware address (loopback) gets
        ERROR 1 and the origin no request."""
        www = tempfile.mkdtemp(prefix="mac-www-")
        self.addCleanup(shutil.rmtree, www, True)
        os.makedirs(os.path.join(www, self.DIR))
        with open(os.path.join(www, self.DIR, "pxelinux.cfg"), "wb") as f:
            f.write(b"this machine's menu, from the origin")
        with Nginx(www, dav=False) as n, \
                TftpdServer("--origin", n.url("/{mac}/{file}"), "--origin-only",
                            host="0.0.0.0", probe=False) as srv:
            wait_for(lambda: "serving" in srv.log(), 10, "tftpd to start")
            self.assertEqual(self.fetch("10.98.0.1", srv.port, "pxelinux.cfg"),
                             b"this machine's menu, from the origin")
            before = len(n.seen("GET"))
            with self.assertRaises(TftpError) as e:
                get(srv, "pxelinux.cfg")
            self.assertEqual(e.exception.code, 1)
            self.assertEqual(len(n.seen("GET")), before)

    def _serve(self, srv, addr):
        srv.write(self.DIR + "/pxelinux.cfg", b"this machine's menu")
        srv.write("pxelinux.cfg", b"the default menu")
        srv.write("other", b"shared")
        wait_for(lambda: "serving" in srv.log(), 10, "tftpd to start")
        self.assertEqual(self.fetch(addr, srv.port, "pxelinux.cfg"),
                         b"this machine's menu")
        self.assertEqual(self.fetch(addr, srv.port, "other"), b"shared")
        if ":" not in addr:
            # On loopback there is no hardware address: the root.
            self.assertEqual(get(srv, "pxelinux.cfg").data, b"the default menu")


if __name__ == "__main__":
    enter_own_netns(addrs=("127.0.0.2/8",))
    main()
