# SPDX-License-Identifier: GPL-2.0
"""Helpers shared by the guest halves of tools/bench/vm.sh (vm-guest.py,
vm-engines-guest.py): running a client, parsing its result line, recording
results for tools/bench/plot.py."""
import bisect
import json
import os
import subprocess
import sys

S = os.environ.get("JR_BENCH_SECONDS", "5")
BENCH = os.path.join(os.environ["JR_BUILD_DIR"], "tools/bench/jr-tcp-bench")
PATHS = {"inet": os.environ["JR_PEER_LINUX_IP"], "joyride": os.environ["JR_PEER_IP"]}


# The netserver polls on the last CPU (tools/jr-vm-netserver); clients of
# both families run on the others, so that the application never competes
# with the engine for its CPU (Documentation/operations.md says why).
NCPU = os.cpu_count() or 1
PIN = ["taskset", "-c", "0-%d" % (NCPU - 2)] if NCPU >= 2 else []


def run(args, env=None, pin=False):
    if pin:
        args = PIN + args
    r = subprocess.run(args, capture_output=True, text=True, env=env, timeout=600)
    if r.returncode:
        sys.exit("bench: %s failed: %s" % (" ".join(args), (r.stderr or r.stdout)[-500:]))
    return r.stdout


def fields(out, prefix):
    line = [l for l in out.splitlines() if l.startswith(prefix)][-1]
    return {k: float(v) for k, v in (kv.split("=") for kv in line.split()[1:])}


def hist(out):
    """jr-tcp-bench --hist's "rr-hist:" line: [[upper_us, count], ...]."""
    line = [l for l in out.splitlines() if l.startswith("rr-hist:")][-1]
    return [[float(end), int(n)] for end, n in (b.split(":") for b in line.split()[1:])]


class Results:
    """Machine-readable results: one JSON object a line in
    $JR_BENCH_RESULTS/<name>.jsonl (a directory tools/bench/vm.sh shares
    with the guest), each with `common` and a "case"; tools/bench/plot.py
    reads them.  Without JR_BENCH_RESULTS, nothing is written."""

    def __init__(self, name, **common):
        where = os.environ.get("JR_BENCH_RESULTS")
        self.path = os.path.join(where, name + ".jsonl") if where else None
        self.common = common
        if self.path:
            open(self.path, "w").close()

    def add(self, case, **values):
        if not self.path:
            return
        with open(self.path, "a") as f:
            f.write(json.dumps(dict(self.common, case=case, **values)) + "\n")


STACK = {"inet": "linux", "joyride": "joyride"}   # families as the results name them


def tcp_bench(family, mode, port, *extra, pin=True):
    return run([BENCH, "--backend", "linux", "--family", family, mode,
                "--connect", "%s:%d" % (PATHS[family], port), "--seconds", S] + list(extra),
               pin=pin)


def summary(values):
    """median (low-high) of one ratio over the rounds"""
    import statistics
    return "%.2fx (%.2f-%.2f)" % (statistics.median(values), min(values), max(values))


TIMELINE_BIN = 0.010       # s
TIMELINE_BEFORE = 0.5      # s of the timeline before a kill


def delivered(bins, start, end):
    """Bytes received in each TIMELINE_BIN from start to end, summed over
    the connections; bins: (when, bytes) in the order they came, each
    TIMELINE_BIN long (jr-tcp-bench stream-gaps' "bin" lines)."""
    out = [0] * int((end - start) / TIMELINE_BIN + 1)
    bins = list(bins)   # the reader thread goes on appending
    for when, n in bins[bisect.bisect_left(bins, start, key=lambda r: r[0]):]:
        if when >= end:
            break
        out[int((when - start) / TIMELINE_BIN)] += n
    return out


# How long after the settle time a connection may take to deliver again.
LATE_S = 30.0


def explain_losses(ports):
    """What the kernel says of lost connections (stderr): their lines in
    /proc/net/joyride, its survival counters, and its recent messages."""

    def read(path):
        try:
            with open(path) as f:
                return f.read().splitlines()
        except OSError as e:
            return ["(%s: %s)" % (path, e.strerror)]

    wanted = ("conns_", "rejected.", "recover")
    for line in read("/proc/net/joyride_stat"):
        if line.startswith(wanted):
            print("survival:   joyride_stat %s" % line, file=sys.stderr)
    for line in read("/proc/net/joyride"):
        if any(":%d " % p in line for p in ports):
            print("survival:   %s" % line.strip(), file=sys.stderr)
    # The Linux sender's side: its retransmission timer and back-off.
    for p in ports:
        ss = subprocess.run(["ss", "-tin", "sport = :%d" % p], capture_output=True,
                            text=True).stdout.splitlines()
        for line in ss[1:]:
            print("survival:   ss %s" % line.strip(), file=sys.stderr)
    dmesg = subprocess.run(["dmesg"], capture_output=True, text=True).stdout.splitlines()
    for line in [l for l in dmesg if "joyride" in l][-12:]:
        print("survival:   dmesg %s" % line, file=sys.stderr)


def engine_of(peer_port):
    """engine=N of the Joyride connection from peer_port (/proc/net/joyride)."""
    for line in open("/proc/net/joyride").read().splitlines()[1:]:
        f = line.split()
        if len(f) > 6 and f[6].endswith(":%d" % peer_port):
            for flag in f[7:]:
                if flag.startswith("engine="):
                    return int(flag[7:])
    return None


def survival(kill, kills=3, conns=16, port=9510, settle=2.0, refill=None, timelines=None):
    """Connection survival under load (net.joyride.survival): `conns`
    connections from the guest's Linux stack to a Joyride listener, each
    streaming Linux -> Joyride, through `kills` calls of kill() (which
    kills the netserver, or an engine, and returns once a successor was
    started, with the time.monotonic() of the kill or None).  Per kill: how many connections deliver data again after it
    and again after `settle` seconds (within LATE_S more), and the
    blackout, the longest gap between two receives on any of them that
    ended after the kill; refill() runs after each measurement (a
    new standby).  Returns
    [(kept, total, blackout_ms, steady_ms), ...], steady_ms the longest
    gap in the `settle` seconds before the kill.  With a list as `timelines`, appends
    to it per kill the bytes delivered per 10 ms from TIMELINE_BEFORE
    before the kill until `settle` after the last connection recovered:
    {"start_ms", "bin_ms", "bytes", "successor_ms"} (ms from the kill)."""
    import threading
    import time

    # One C process streams and timestamps every receive (stream-gaps): a
    # Python thread per socket measured its own scheduling (the GIL, 32
    # threads on 2 CPUs), gaps of 200-600 ms with nothing killed.
    load = subprocess.Popen([BENCH, "--backend", "linux", "--family", "joyride", "stream-gaps",
                             "--port", str(port), "--connect",
                             "%s:%d" % (os.environ["JR_JOYRIDE_IP"], port),
                             "--conns", str(conns), "--chunk", "16384"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    ready = load.stdout.readline().split()
    if not ready or ready[0] != "ready":
        sys.exit("bench: jr-tcp-bench stream-gaps did not connect (exit %s)" % load.wait())
    ports = [int(p) for p in ready[1:]]
    last = [time.monotonic()] * conns      # the last receive, per connection
    gaps = [[] for _ in range(conns)]      # (when, gap) per connection, gaps >= a bin
    bins = []                              # (when, bytes), TIMELINE_BIN each
    failed = [None] * conns
    reported = [False] * conns

    def reader():
        for line in load.stdout:
            kind, rest = line.split(None, 1)
            if kind == "bin":
                when, n, mask = rest.split()
                when, mask = int(when) / 1e9, int(mask, 16)
                bins.append((when, int(n)))
                for i in range(conns):
                    if mask >> i & 1:
                        last[i] = max(last[i], when)
            elif kind == "gap":
                i, when, gap = map(int, rest.split())
                gaps[i].append((when / 1e9, gap / 1e9))
                last[i] = max(last[i], when / 1e9)
            elif kind == "fail":
                i, why = rest.split(None, 1)
                failed[int(i)] = failed[int(i)] or why.strip()

    threading.Thread(target=reader, daemon=True).start()
    results = []
    for _ in range(kills):
        time.sleep(settle)
        # The kill's own moment, if kill() knows it (it may run a program
        # first, hundreds of milliseconds under TCG).
        t0 = time.monotonic()
        t0 = kill() or t0
        # Each connection delivers again after the successor started, or
        # has failed, or 60 s pass.
        started = time.monotonic()
        deadline = started + 60
        while time.monotonic() < deadline and not all(
                failed[i] or last[i] > started for i in range(conns)):
            time.sleep(0.05)
        time.sleep(settle)
        # Kept: delivering again after the successor started, and again
        # after the settle time (not one segment and then a stall for
        # good).  After a long outage a Linux sender may pause once more
        # for its backed-off retransmission timer: waited for (at most
        # LATE_S), and that pause counts in the blackout.
        settled = time.monotonic()
        deadline = settled + LATE_S
        while time.monotonic() < deadline and not all(
                failed[i] or last[i] > settled for i in range(conns)):
            time.sleep(0.05)
        kept = [i for i in range(conns) if not failed[i] and last[i] > settled]
        # Say what became of the others (stderr: the tables stay as they are).
        lost = []
        for i in range(conns):
            if i not in kept and not reported[i]:
                reported[i] = True
                lost.append(ports[i])
                print("survival: connection %d (port %d) lost: %s" % (
                    i, ports[i],
                    failed[i] or "no data since %.1f s after the kill, %.1f s ago"
                    % (last[i] - t0, time.monotonic() - last[i])), file=sys.stderr)
        if lost:
            explain_losses(lost)
        # The longest gap that ended after the kill: it spans the outage.
        worst = max((g for i in kept for w, g in gaps[i] if w > t0), default=0.0)
        # Where it was, and when each connection delivered again (stderr).
        where = max(((g, w, i) for i in kept for w, g in gaps[i] if w > t0), default=None)
        if where:
            g, w, i = where
            spans = sorted(max(((g2, w2) for w2, g2 in gaps[j] if w2 > t0), default=(0.0, t0))
                           for j in kept)
            print("survival: the longest gap: connection %d (port %d, engine %s), from %+.0f to "
                  "%+.0f ms around the kill; each connection's longest: %s" % (
                      i, ports[i], engine_of(ports[i]), (w - g - t0) * 1000, (w - t0) * 1000,
                      " ".join("%+.0f..%+.0f" % ((w2 - g2 - t0) * 1000, (w2 - t0) * 1000)
                               for g2, w2 in spans)), file=sys.stderr)
        # The same measure over the settle time before the kill: what the
        # load, the machine and the engines make of a gap with nothing
        # killed (the floor under a blackout).
        steady = max((g for i in range(conns) for w, g in gaps[i]
                      if t0 - settle < w <= t0), default=0.0)
        results.append((len(kept), conns, worst * 1000, steady * 1000))
        if timelines is not None:
            timelines.append({"start_ms": -TIMELINE_BEFORE * 1000, "bin_ms": TIMELINE_BIN * 1000,
                              "bytes": delivered(bins, t0 - TIMELINE_BEFORE, time.monotonic()),
                              "successor_ms": (started - t0) * 1000})
        if refill:
            refill()
    load.stdin.close()
    load.wait()
    return results
