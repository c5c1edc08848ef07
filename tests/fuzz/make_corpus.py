#!/usr/bin/env python3
"""Write the seed corpus of the fuzz targets into tests/fuzz/corpus/.

Each target reads its input in its own layout (see the fuzz_*.c files and
fuzz_util.h: big-endian integers, fz_range() takes 1, 2 or 4 bytes by the
width of its span). The seeds are valid packets and well-formed transfers,
so the fuzzer starts deep in the code rather than at the parser's first
check. Re-run after changing an input layout:

    python3 tests/fuzz/make_corpus.py
"""
import os
import shutil
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")

RRQ, WRQ, DATA, ACK, ERROR, OACK = 1, 2, 3, 4, 5, 6


def u8(v):
    return struct.pack(">B", v & 0xFF)


def u16(v):
    return struct.pack(">H", v & 0xFFFF)


def u32(v):
    return struct.pack(">I", v & 0xFFFFFFFF)


def u64(v):
    return struct.pack(">Q", v & 0xFFFFFFFFFFFFFFFF)


def rng(lo, hi, val):
    """The bytes fz_range(lo, hi) reads to yield val."""
    assert lo <= val <= hi, (lo, val, hi)
    span = hi - lo + 1
    if hi <= lo:
        return b""
    if span <= 0x100:
        return u8(val - lo)
    if span <= 0x10000:
        return u16(val - lo)
    return u32(val - lo)


def cstr(s):
    return (s.encode() if isinstance(s, str) else s) + b"\0"


def request(op, name, mode, *opts):
    b = u16(op) + cstr(name) + cstr(mode)
    for k, v in opts:
        b += cstr(k) + cstr(v)
    return b


def oack(*opts):
    b = u16(OACK)
    for k, v in opts:
        b += cstr(k) + cstr(v)
    return b


def optbytes(*opts):
    b = b""
    for k, v in opts:
        b += cstr(k) + cstr(v)
    return b


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


ALL_OPTS = [("blksize", "1428"), ("timeout", "3"), ("tsize", "0"),
            ("windowsize", "16")]


def packet_seeds():
    s = {
        "rrq_octet": request(RRQ, "pxelinux.0", "octet"),
        "rrq_netascii": request(RRQ, "motd.txt", "netascii"),
        "wrq_octet": request(WRQ, "upload.bin", "OCTET"),
        "rrq_all_options": request(RRQ, "f", "octet", *ALL_OPTS),
        "rrq_blksize8_all": request(RRQ, "f", "octet", ("blksize", "8"),
                                    ("tsize", "0"), ("timeout", "1"),
                                    ("windowsize", "1")),
        "wrq_tsize": request(WRQ, "dir/file", "octet", ("tsize", "123456")),
        "rrq_unknown_opt": request(RRQ, "f", "octet", ("multicast", "")),
        "rrq_mixed_case": request(RRQ, "f", "octet", ("BlkSize", "512")),
        "rrq_long_name": request(RRQ, "a" * 1024, "octet"),
        "rrq_too_long_name": request(RRQ, "a" * 1025, "octet"),
        "data_empty": u16(DATA) + u16(1),
        "data_512": u16(DATA) + u16(7) + bytes(range(256)) * 2,
        "data_wrapped": u16(DATA) + u16(0) + b"x" * 8,
        "ack_0": u16(ACK) + u16(0),
        "ack_65535": u16(ACK) + u16(65535),
        "error_empty": u16(ERROR) + u16(0) + b"\0",
        "oack_all": oack(*ALL_OPTS),
        "oack_blksize": oack(("blksize", "8")),
        # malformed: the parser's rejections
        "bad_short": u16(RRQ),
        "bad_opcode": u16(9) + b"x\0octet\0",
        "bad_no_nul_mode": u16(RRQ) + b"f\0octet",
        "bad_opt_no_value": request(RRQ, "f", "octet") + b"blksize\0",
        "bad_ack_trailing": u16(ACK) + u16(1) + b"\0",
    }
    for code in range(9):
        s["error_%d" % code] = u16(ERROR) + u16(code) + cstr("message %d" % code)
    for k, v in s.items():
        write("packet", k, v)


def options_input(flags, max_blksize, max_window, fsize, cap, rest):
    return (u8(flags) + rng(8, 65464, max_blksize) + rng(1, 65535, max_window)
            + u64(fsize) + u8(cap) + rest)


def options_seeds():
    # flags: 1 allow options, 2 read, 4 netascii, 8 raw datagram
    s = {
        "read_all": options_input(3, 65464, 64, 1000, 255, optbytes(*ALL_OPTS)),
        "read_blksize8_all": options_input(
            3, 65464, 64, 5, 255,
            optbytes(("blksize", "8"), ("tsize", "0"), ("timeout", "255"),
                     ("windowsize", "65535"))),
        "read_capped": options_input(3, 1024, 4, 77, 255,
                                     optbytes(("blksize", "65464"),
                                              ("windowsize", "64"))),
        "write_tsize": options_input(1, 512, 1, 0, 255,
                                     optbytes(("tsize", "18446744073709551615"))),
        "netascii_read_tsize": options_input(7, 512, 1, 99, 255,
                                             optbytes(("tsize", "0"),
                                                      ("blksize", "1024"))),
        "disabled": options_input(2, 512, 1, 0, 255, optbytes(*ALL_OPTS)),
        "repeated_mixed": options_input(
            3, 65464, 64, 1, 255,
            optbytes(("BLKSIZE", "7"), ("blksize", "1024"), ("TimeOut", "0"),
                     ("timeout", "9"), ("windowSIZE", "0x10"))),
        "huge_numbers": options_input(
            3, 65464, 64, 1, 255,
            optbytes(("blksize", "9" * 40), ("tsize", "18446744073709551616"),
                     ("timeout", "-1"), ("windowsize", " 4"))),
        "small_cap": options_input(3, 65464, 64, 1 << 40, 20, optbytes(*ALL_OPTS)),
        "raw_rrq": options_input(11, 65464, 64, 3, 255,
                                 request(RRQ, "x", "netascii", *ALL_OPTS)),
    }
    for k, v in s.items():
        write("options", k, v)


def oack_input(present, blksize, timeout, window, tsize, whylen, rest):
    return (u8(present) + rng(8, 65464, blksize) + rng(1, 255, timeout)
            + rng(1, 65535, window) + u64(tsize) + rng(1, 200, whylen) + rest)


def oack_seeds():
    s = {
        "all_ok": oack_input(15, 1428, 3, 16, 0, 96, optbytes(*ALL_OPTS)),
        "blksize_smaller": oack_input(1, 65464, 1, 1, 0, 96,
                                      optbytes(("blksize", "1024"))),
        "blksize_larger": oack_input(1, 512, 1, 1, 0, 96,
                                     optbytes(("blksize", "1024"))),
        "timeout_differs": oack_input(2, 512, 5, 1, 0, 96,
                                      optbytes(("timeout", "6"))),
        "not_asked": oack_input(1, 512, 5, 1, 0, 96,
                                optbytes(("windowsize", "4"))),
        "unknown": oack_input(1, 512, 5, 1, 0, 96, optbytes(("foo", "1"))),
        "empty": oack_input(15, 512, 5, 4, 0, 96, b""),
        "tsize_big": oack_input(4, 512, 5, 4, 0, 1,
                                optbytes(("TSIZE", "18446744073709551615"))),
        "repeated": oack_input(1, 512, 5, 4, 0, 8,
                               optbytes(("blksize", "512"), ("blksize", "8"))),
    }
    for k, v in s.items():
        write("oack", k, v)


def netascii_seeds():
    text = b"line one\nline two\r\nbare cr\r and nul\0 end\r"
    s = {
        "text_whole": u8(0) + text,
        "text_bytewise": u8(2) + b"\x01\x01" + text,
        "text_mixed": u8(4) + b"\x03\x01\x07\x02" + text * 3,
        "crlf_runs": u8(1) + b"\x05" + b"\r\n" * 20 + b"\r\r\r\n\n\n",
        "wire_lenient": u8(1) + b"\x02" + b"\r\0\r\n\rx\r\r\0",
        "binary": u8(3) + b"\x10\x01\x40" + bytes(range(256)),
    }
    for k, v in s.items():
        write("netascii", k, v)


# ---- fuzz_xfer -------------------------------------------------------------
# Event opcodes (op % 12): 0/1 tick at deadline, 2 advance clock (0x80: tick),
# 3 raw datagram, 4/5 ACK near window (0x80: of the highest sent),
# 6/7 DATA near window, 8 run of in-order traffic, 9 OACK, 10 ERROR, 11 abort.
EV_TICK, EV_CLOCK, EV_RAW, EV_ACK, EV_DATA, EV_RUN, EV_OACK, EV_ERR, EV_ABORT = (
    0, 2, 3, 4, 6, 8, 9, 10, 11)
OPT_BLKSIZE, OPT_TIMEOUT, OPT_TSIZE, OPT_WINDOW = 1, 2, 4, 8


def xfer_input(role_recv, client, netascii, present=0, blksize=512, timeout=1,
               window=1, tsize=0, timeout_ms=1000, rto_min=10, retries=5,
               dally=0, max_bytes=0, seed=12345, fsize=1500, fail_read=0,
               fail_write=0, filename=b"file", peer_blocks=3, now=0,
               events=b""):
    kind = (1 if role_recv else 0) | (2 if client else 0) | (4 if netascii else 0)
    optbits = present & 0x0F
    if blksize > 600:
        optbits |= 0x10
    if window > 16:
        optbits |= 0x20
    if max_bytes:
        optbits |= 0x40
    if fsize > 2048:
        optbits |= 0x80
    b = u8(kind) + u8(optbits)
    b += rng(8, 65464, blksize) if optbits & 0x10 else rng(8, 600, blksize)
    b += rng(1, 255, timeout)
    b += rng(1, 65535, window) if optbits & 0x20 else rng(1, 16, window)
    b += u64(tsize)
    b += rng(0, 5000, timeout_ms) + rng(0, 200, rto_min) + rng(0, 8, retries)
    b += rng(0, 3000, dally)
    if max_bytes:
        b += rng(1, 1 << 20, max_bytes)
    b += u64(seed)
    b += rng(0, 1 << 20, fsize) if optbits & 0x80 else rng(0, 2048, fsize)
    b += u8(0 if fail_read else 255) + (rng(1, 64, fail_read) if fail_read else b"")
    b += u8(0 if fail_write else 255) + (rng(1, 64, fail_write) if fail_write else b"")
    if client:
        b += rng(1, 47, len(filename)) + filename
    b += rng(1, 200000, peer_blocks)
    b += u16(now)
    return b + events


def ev_ack(window, d=0, highest=False):
    return u8(EV_ACK | (0x80 if highest else 0)) + rng(0, window + 3, d + 2)


def ev_data(window, d=0, oversize=False):
    return u8(EV_DATA) + rng(0, window + 3, d + 2) + u8(0xFF if oversize else 0)


def ev_run(n, big=False):
    return u8(EV_RUN | (0x80 if big else 0)) + u16(n)


def ev_tick():
    return u8(EV_TICK)


def ev_clock(ms, tick=True):
    return u8(EV_CLOCK | (0x80 if tick else 0)) + u16(ms)


def ev_error(code, msg, nul=True):
    return u8(EV_ERR | (0x80 if nul else 0)) + rng(0, 300, len(msg)) + msg + u16(code)


def ev_oack(pick, extra=b""):
    return u8(EV_OACK) + u8(pick) + extra


def xfer_seeds():
    s = {}
    # server sender (RRQ), lockstep, 3 blocks, all ACKed
    s["srv_send_plain"] = xfer_input(False, False, False, fsize=1100,
                                     events=ev_ack(1) + ev_ack(1, 1) + ev_ack(1, 1) + ev_ack(1, 1))
    s["srv_send_run"] = xfer_input(False, False, False, fsize=2048,
                                   events=ev_run(100))
    s["srv_send_oack_window"] = xfer_input(
        False, False, False, present=OPT_BLKSIZE | OPT_WINDOW | OPT_TSIZE,
        blksize=64, window=4, fsize=2000,
        events=ev_ack(4) + ev_ack(4, 1, True) + ev_ack(4, 2) + ev_tick() + ev_run(200))
    s["srv_send_wrap"] = xfer_input(False, False, False, present=OPT_BLKSIZE,
                                    blksize=8, fsize=600000,
                                    events=ev_ack(1) + ev_run(65535, True))
    s["srv_send_unacked"] = xfer_input(False, False, False, fsize=100,
                                       events=ev_tick() * 7)
    s["srv_send_netascii"] = xfer_input(False, False, True, present=OPT_BLKSIZE | OPT_WINDOW,
                                        blksize=16, window=3, fsize=300, seed=2,
                                        events=ev_ack(3) + ev_run(100) + ev_tick())
    s["srv_send_timeout_opt"] = xfer_input(False, False, False, present=OPT_TIMEOUT,
                                           timeout=2, fsize=1500,
                                           events=ev_ack(1) + ev_tick() + ev_ack(1, 1) + ev_clock(5000))
    s["srv_send_error"] = xfer_input(False, False, False, fsize=1500,
                                     events=ev_error(3, b"Disk full"))
    s["srv_send_read_fail"] = xfer_input(False, False, False, fsize=1500, fail_read=2,
                                         events=ev_run(10))
    # server receiver (WRQ)
    s["srv_recv_plain"] = xfer_input(True, False, False, peer_blocks=3,
                                     events=ev_data(1) + ev_data(1) + ev_data(1) + ev_tick())
    s["srv_recv_run_dally"] = xfer_input(True, False, False, dally=500, peer_blocks=50,
                                         events=ev_run(100) + ev_data(1, -1) + ev_tick())
    s["srv_recv_window_gap"] = xfer_input(
        True, False, False, present=OPT_BLKSIZE | OPT_WINDOW, blksize=32, window=8,
        peer_blocks=40, events=ev_data(8) + ev_data(8, 2) + ev_data(8) + ev_run(100))
    s["srv_recv_wrap"] = xfer_input(True, False, False, present=OPT_BLKSIZE, blksize=8,
                                    peer_blocks=70000, events=ev_run(65535, True))
    s["srv_recv_netascii"] = xfer_input(True, False, True, peer_blocks=5, seed=4,
                                        events=ev_run(10))
    s["srv_recv_max_bytes"] = xfer_input(True, False, False, max_bytes=1000, peer_blocks=5,
                                         events=ev_run(10))
    s["srv_recv_oversize"] = xfer_input(True, False, False, peer_blocks=5,
                                        events=ev_data(1, 0, True))
    s["srv_recv_write_fail"] = xfer_input(True, False, False, peer_blocks=5, fail_write=2,
                                          events=ev_run(10))
    # client sender (put)
    s["cli_put_plain"] = xfer_input(False, True, False, fsize=1300,
                                    events=ev_ack(1) + ev_run(10))
    s["cli_put_oack"] = xfer_input(False, True, False,
                                   present=OPT_BLKSIZE | OPT_TSIZE | OPT_WINDOW,
                                   blksize=1024, window=4, fsize=5000,
                                   events=ev_oack(0x01 | 0x04 | 0x08, u8(0) + rng(1, 4, 4)) + ev_run(20))
    s["cli_put_oack_bad"] = xfer_input(False, True, False, present=OPT_BLKSIZE,
                                       blksize=1024, events=ev_oack(0x11, u8(0)))
    # client receiver (get)
    s["cli_get_plain"] = xfer_input(True, True, False, peer_blocks=4,
                                    events=ev_run(10) + ev_tick())
    s["cli_get_oack"] = xfer_input(True, True, False,
                                   present=OPT_BLKSIZE | OPT_TSIZE | OPT_WINDOW | OPT_TIMEOUT,
                                   blksize=100, window=2, timeout=3, peer_blocks=30,
                                   events=ev_oack(0x0F, u8(0) + rng(1, 2, 2)) + ev_run(100))
    s["cli_get_request_error"] = xfer_input(True, True, False, present=OPT_BLKSIZE,
                                            blksize=8, events=ev_error(8, b"no options"))
    s["cli_get_timeouts"] = xfer_input(True, True, True, events=ev_tick() * 8)
    for k, v in s.items():
        write("xfer", k, v)


def pair_input(client_put, netascii, no_options=False, max_blksize=65464,
               max_window=64, present=0, blksize=512, timeout=1, window=1,
               dally=True, size=5000, pattern=b"hello\nworld\r\n", channel=b""):
    kind = (1 if client_put else 0) | (2 if netascii else 0) | (4 if no_options else 0)
    b = u8(kind) + rng(8, 65464, max_blksize) + rng(1, 64, max_window)
    b += u8(present) + rng(8, 1500, blksize) + rng(1, 3, timeout) + rng(1, 32, window)
    b += u8(0 if dally else 1)
    b += rng(0, 48 << 10, size) + rng(1, 64, len(pattern)) + pattern
    return b + channel


def pair_seeds():
    # channel bytes: &7 == 0 drop, 1 duplicate (+1 byte), 2 hold back
    # (+1 byte), else deliver
    s = {
        "get_plain": pair_input(False, False),
        "put_plain": pair_input(True, False),
        "get_options": pair_input(False, False, present=15, blksize=1024, window=8,
                                  timeout=2, size=40000),
        "put_options": pair_input(True, False, present=15, blksize=100, window=4,
                                  size=10000),
        "get_netascii": pair_input(False, True, present=1, blksize=64, size=3000),
        "put_netascii_window": pair_input(True, True, present=9, blksize=32, window=16,
                                          size=2000),
        "get_capped": pair_input(False, False, max_blksize=512, max_window=2,
                                 present=9, blksize=1500, window=32, size=20000),
        "no_options": pair_input(False, False, no_options=True, present=15, size=1025),
        "empty_file": pair_input(False, False, size=0),
        "lossy_get": pair_input(False, False, present=9, blksize=256, window=8, size=8000,
                                channel=bytes([3, 0, 3, 1, 5, 3, 2, 9, 0, 0, 3, 3, 4] * 8)),
        "lossy_put": pair_input(True, True, present=1, blksize=16, size=600,
                                channel=bytes([0, 3, 3, 2, 40, 3, 0, 1, 1, 3] * 10)),
    }
    for k, v in s.items():
        write("pair", k, v)


def clientmap_seeds():
    v4 = lambda a: u8(0) + bytes(int(x) for x in a.split(".")) + bytes(12)
    v6 = u8(1) + bytes(15) + u8(1)
    text = (b"# network  dir  caps\n10.0.0.0/8 lab blksize=1468\n"
            b"10.1.0.0/16 - windowsize=1 refuse=tsize,timeout\n"
            b"::1 v6\n192.0.2.7 hosts/7\n")
    addrs = v4("10.1.2.3") + v4("10.9.9.9") + v4("192.0.2.7") + v6
    write("clientmap", "site", text + b"\0" + addrs + b"C:\\Boot\\BCD")
    write("clientmap", "bad", b"10.0.0.0/33 x\n" + b"\0" + addrs)
    write("clientmap", "names", b"\0" + b"\\boot\\x64\\wdsmgfw.efi")


def demux_seeds():
    # file length, then clients: count, then (family/address byte, port
    # byte) each, then blksize and window per client; the rest drives the
    # channel (0 bytes: a perfect one).
    def clients(n, window):
        out = rng(1, 8, n)
        for i in range(n):
            out += u8((i % 4) << 1) + u8(i)
        for _ in range(n):
            out += rng(512, 1468, 1024) + rng(1, 16, window)
        return out
    write("demux", "one", rng(0, 24 << 10, 5000) + clients(1, 1))
    write("demux", "eight", rng(0, 24 << 10, 20000) + clients(8, 4))
    write("demux", "lossy", rng(0, 24 << 10, 9000) + clients(4, 8) +
          bytes([0, 3, 1, 3, 2, 5, 3, 3, 8, 3]) * 20)


def main():
    for t in ("packet", "options", "oack", "netascii", "xfer", "pair",
              "clientmap", "demux"):
        if os.path.isdir(os.path.join(OUT, t)):
            shutil.rmtree(os.path.join(OUT, t))
    clientmap_seeds()
    demux_seeds()
    packet_seeds()
    options_seeds()
    oack_seeds()
    netascii_seeds()
    xfer_seeds()
    pair_seeds()
    n = sum(len(files) for _, _, files in os.walk(OUT))
    print("wrote %d seeds under %s" % (n, os.path.relpath(OUT)), file=sys.stderr)


if __name__ == "__main__":
    main()
