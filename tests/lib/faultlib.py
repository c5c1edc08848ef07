"""Helpers of the faults suite: the loss profiles, bounded runs of the
programs (ours and the peers' clients), killing a process tree, and a log
of what the relay did.

Timing: every run has a deadline (scaled()); the profiles below keep the
suite affordable on a loaded 2-core machine. The peers' clients retransmit
on whole-second timers, so the cases they drive use smaller files (said in
each test).
"""
import json
import os
import signal
import subprocess
import time

from tftptest import scaled, pattern  # noqa: F401  (re-exported)
import tftprelay

# 5% duplication and 5% reordering with 10% or 30% loss, both directions.
PROFILES = {
    10: dict(drop=0.10, dup=0.05, reorder=0.05),
    30: dict(drop=0.30, dup=0.05, reorder=0.05),
    # for a peer that gives up at 30% (in.tftpd sending: see
    # test_client_loss.py)
    20: dict(drop=0.20, dup=0.05, reorder=0.05),
}
# A held packet waits at most 10 ms for the next one of its flow: in
# lockstep nothing follows it, and 30 ms per hold was most of a run.
RELAY_DEFAULTS = dict(reorder_ms=10)
MIB = 1 << 20
# Just past 65536 blocks of 512 bytes: the block number wraps to 0.
WRAP_512 = 65537 * 512 + 100

STATS_LOG = os.environ.get("FAULTS_STATS_LOG")


def relay(server_port, loss, seed, **kw):
    """A RelayProcess with profile `loss` (10, 20 or 30; any other
    percentage: that loss with 5% dup and reorder) in front of the port."""
    args = dict(RELAY_DEFAULTS)
    args.update(PROFILES.get(loss) or dict(drop=loss / 100.0, dup=0.05,
                                           reorder=0.05))
    args.update(kw)
    return tftprelay.RelayProcess(server_port, seed=seed, **args)


def note(test, what, stats, seconds):
    """Print the relay's counters (meson keeps stdout in its log) and
    append them to $FAULTS_STATS_LOG if set."""
    line = "%s %s %.1fs: %s" % (test, what, seconds, tftprelay.summary(stats))
    print(line, flush=True)
    if STATS_LOG:
        with open(STATS_LOG, "a") as f:
            f.write(json.dumps({"test": test, "case": what, "seconds": seconds,
                                "totals": tftprelay.totals(stats)}) + "\n")
    if stats["internal_errors"]:
        raise AssertionError("relay internal errors: %r" % stats)


def run(argv, timeout, cwd=None, input=None, env=None):
    """Run to completion within timeout seconds (scaled); on expiry kill
    it and fail. Returns CompletedProcess (bytes)."""
    p = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.PIPE if input
                         else subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = p.communicate(input, timeout=scaled(timeout))
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        raise AssertionError("%s did not finish in %ss:\n%s" % (
            argv[:3], timeout, err.decode(errors="replace")[-2000:]))
    return subprocess.CompletedProcess(argv, p.returncode, out, err)


def tftp_exe():
    exe = os.environ.get("TFTP")
    if not exe:
        raise AssertionError("TFTP is not set (run through meson test)")
    return exe


def our_client(op, port, remote, local, *opts):
    """argv of our client: tftp get|put OPTS 127.0.0.1:PORT ..."""
    argv = [tftp_exe(), op, "-q", "--no-progress"] + list(opts) + \
        ["127.0.0.1:%d" % port]
    return argv + ([remote, local] if op == "get" else [local, remote])


def hpa_script(*commands):
    """stdin for tftp-hpa's client: octet mode, 1 s retransmission (its
    smallest), a 120 s total timeout, the commands."""
    return ("mode octet\nrexmt 1\ntimeout 120\n%s\nquit\n" %
            "\n".join(commands)).encode()


def hpa_argv(port):
    from peers import client_path
    return [client_path("tftp"), "127.0.0.1", str(port)]


def atftp_argv(port, op, remote, local, blksize=None, window=None,
               rexmt=None):
    """argv of atftp's client; rexmt: its retransmission timer in whole
    seconds (--tftp-timeout, default 5; it gives up after 5 in a row)."""
    from peers import client_path
    a = [client_path("atftp"), "--get" if op == "get" else "--put",
         "-r", remote, "-l", local]
    if rexmt:
        a += ["--tftp-timeout", str(rexmt)]
    if blksize:
        a += ["--option", "blksize %d" % blksize]
    if window:
        a += ["--option", "windowsize %d" % window]
    return a + ["127.0.0.1", str(port)]


def children(pid):
    """Every descendant pid of pid (from /proc)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            with open("/proc/%d/task/%d/children" % (p, p)) as f:
                kids = [int(x) for x in f.read().split()]
        except OSError:
            kids = []
        out += kids
        todo += kids
    return out


def kill_tree(pid):
    """SIGKILL pid and its descendants (each by its own id)."""
    for p in children(pid) + [pid]:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass


def wait_until(pred, timeout, step=0.02):
    end = time.monotonic() + scaled(timeout)
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return pred()


def uploaded(srv, name, size):
    """The content of an upload to srv, once name has all size bytes
    (servers that write in place may still be storing the last block when
    the client exits); AssertionError if it never does, or if anything
    else is left in the root."""
    path = srv.path(name)
    if not wait_until(lambda: os.path.exists(path) and
                      os.path.getsize(path) == size, 5):
        raise AssertionError("%s: %s bytes, not %d" % (
            name, os.path.getsize(path) if os.path.exists(path) else "no", size))
    # The file is committed (linked or renamed into place) before the
    # final ACK: no temporary name can be left once it is there.
    listing = sorted(os.listdir(srv.root))
    if listing != [name]:
        raise AssertionError("root holds %r, not only %r" % (listing, name))
    return srv.read(name)


def leftovers(directory, final_name):
    """Names in directory other than final_name's absence check: hidden
    temp files and the final name itself."""
    return sorted(n for n in os.listdir(directory)
                  if n == final_name or n.startswith("."))


def final_ack_lost(trace_path, block):
    """Whether the relay's trace (RelayProcess(trace=...)) shows that every
    ACK of `block` (the final one of an upload, 16-bit) the server sent
    was dropped: the upload is complete on the server, but its sender may
    never learn it (see 'final ACK' in docs/INTEROP.md)."""
    block %= 65536
    tail = " ACK %d len 0" % block
    dropped = forwarded = 0
    with open(trace_path) as f:
        for line in f:
            if " s2c " in line and line.rstrip("\n").endswith(tail):
                if " DROP " in line:
                    dropped += 1
                else:
                    forwarded += 1
    return dropped > 0 and forwarded == 0


def sent_after_final(trace_path, final):
    """Whether the client sent a DATA numbered past the final block (an
    empty one): atftp 0.8's windowed upload does when the ACK of the last
    block reaches it while it is repeating an earlier part of the window
    (see docs/INTEROP.md), and then waits for an ACK that cannot come."""
    tail = " DATA %d len 0" % ((final + 1) % 65536)
    with open(trace_path) as f:
        return any(" c2s " in line and line.rstrip("\n").endswith(tail)
                   for line in f)
