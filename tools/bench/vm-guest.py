#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The guest half of tools/bench/vm.sh (runs under tools/jr-vm --netserver).

Cases, each on AF_INET (the guest's Linux NIC, peer JR_PEER_LINUX_IP) and on
AF_JOYRIDE (the netserver's NIC, peer JR_PEER_IP), in the same boot:
  rr      64-byte request/response on one connection: transactions/s, p50, p99
  stream  one-stream throughput, the guest sending
  cps     connect + one request + close, sequentially: connections/s
  rr64    64-byte request/response on 64 connections at once: transactions/s
  apps    unmodified iperf3 and redis-benchmark, with net.joyride.redirect_inet
          off (Linux) and on (Joyride)
  recovery  kill -9 the netserver under a listener, start a new one: time to
          the first accepted connection (median of 3)
  survival  16 connections streaming into Joyride through 3 kill -9s of the
          netserver, each followed by a cold start: connections kept and
          the longest gap in delivered data (guestlib.survival)
  sweep   one-stream throughput by write size (64 B to 64 KiB), shorter
          runs: JR_BENCH_SWEEP_SECONDS each (default 2; 0 leaves it out)
Each case runs JR_BENCH_ROUNDS times (default 3) on both families, the
order alternating per round; each ratio is the median of the rounds' ratios,
printed with its range.  Prints the tables, the netserver's counters per MB
of the first AF_JOYRIDE stream, and three lines: vm:, apps:, recovery:.
With JR_BENCH_RESULTS, also writes every round's numbers, the round trips'
histograms and the survival kills' timelines to vm.jsonl there
(guestlib.Results, for tools/bench/plot.py).
"""
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from guestlib import (PATHS, S, STACK, Results, fields, hist, run, summary,  # noqa: E402
                      survival, tcp_bench)


def redirect(on):
    run(["sysctl", "-q", "-w", "net.joyride.redirect_inet=%d" % on])


ROUNDS = int(os.environ.get("JR_BENCH_ROUNDS", "3"))
CTL = os.environ["JR_NETSERVER_CTL"]
NS_LOG = os.environ.get("JR_NETSERVER_LOG", "/tmp/jr-netserver.log")
SWEEP_SIZES = (64, 512, 4096, 16384, 65536)
SWEEP_S = os.environ.get("JR_BENCH_SWEEP_SECONDS", "2")
results = Results("vm", bench="vm")
results.add("meta", seconds=float(S), rounds=ROUNDS, sweep_seconds=float(SWEEP_S),
            cpus=os.cpu_count(), netserver_args=os.environ.get("JR_NETSERVER_ARGS", ""))


def netserver_counters():
    """The netserver's statistics (SIGHUP prints them to its log)."""
    pid = run([CTL, "pid"]).strip()
    with open(NS_LOG) as f:
        before = f.read().count("jr-netserver statistics")
    os.kill(int(pid), 1)
    for _ in range(200):
        with open(NS_LOG) as f:
            text = f.read()
        if text.count("jr-netserver statistics") > before:
            block = text[text.rindex("jr-netserver statistics"):]
            if "frontends:" in block:
                out = {}
                for line in block.splitlines()[1:]:
                    for k, v in re.findall(r"([a-z_]+)=(\d+)", line):
                        out[k] = out.get(k, 0) + int(v)
                    if line.strip().startswith("frontends:"):
                        return out
        time.sleep(0.05)
    sys.exit("bench: the netserver printed no statistics after SIGHUP")


def one_round(fam, stats=None):
    out = tcp_bench(fam, "rr-client", 5001, "--hist")
    rr = fields(out, "rr:")
    rr_hist = hist(out)
    before = netserver_counters() if stats is not None else None
    st = fields(tcp_bench(fam, "stream-client", 5002), "stream:")
    if stats is not None:
        after = netserver_counters()
        stats.update({k: after[k] - before.get(k, 0) for k in after})
        stats["stream_bytes"] = st["bytes"]
    cps = fields(tcp_bench(fam, "cps-client", 5001), "cps:")
    rr64 = fields(tcp_bench(fam, "rr-client", 5001, "--conns", "64"), "rr:")
    return {"tps": rr["tps"], "p50": rr["p50_us"], "p99": rr["p99_us"], "hist": rr_hist,
            "stream": st["bytes_per_s"], "cps": cps["cps"], "rr64": rr64["tps"]}


def record_round(n, fam, x):
    at = {"round": n + 1, "stack": STACK[fam]}
    results.add("rr", tps=x["tps"], p50_us=x["p50"], p99_us=x["p99"], hist_us=x["hist"], **at)
    results.add("stream", bytes_per_s=x["stream"], **at)
    results.add("cps", cps=x["cps"], **at)
    results.add("rr64", tps=x["rr64"], **at)


def one_app_round(fam, on):
    redirect(on)
    try:
        ip = PATHS[fam]
        j = json.loads(run(["iperf3", "-c", ip, "-p", "5201", "-t", S, "-J"], pin=True))
        iperf = j["end"]["sum_received"]["bits_per_second"]
        out = run(["redis-benchmark", "-h", ip, "-p", "6390", "-n", "20000",
                   "-c", "10", "-t", "set,get", "--csv"], pin=True)
        rps = [float(l.split(",")[1].strip('"')) for l in out.splitlines()
               if l.startswith('"SET"') or l.startswith('"GET"')]
        return {"iperf3": iperf, "redis": statistics.mean(rps)}
    finally:
        redirect(0)


# Rounds alternate which family goes first, so that drift in the machine's
# load falls on both sides; every ratio is taken within one round.
rounds, app_rounds, sweep_rounds, ns_stats = [], [], [], {}
for r in range(ROUNDS):
    order = ("inet", "joyride") if r % 2 == 0 else ("joyride", "inet")
    rounds.append({fam: one_round(fam, ns_stats if (r == 0 and fam == "joyride") else None)
                   for fam in order})
    for fam in order:
        record_round(r, fam, rounds[-1][fam])
for r in range(ROUNDS):
    order = (("inet", 0), ("joyride", 1)) if r % 2 == 0 else (("joyride", 1), ("inet", 0))
    app_rounds.append({fam: one_app_round(fam, on) for fam, on in order})
    for fam, _ in order:
        at = {"round": r + 1, "stack": STACK[fam]}
        results.add("iperf3", bits_per_s=app_rounds[-1][fam]["iperf3"], **at)
        results.add("redis", req_per_s=app_rounds[-1][fam]["redis"], **at)
for r in range(ROUNDS if float(SWEEP_S) > 0 else 0):
    got = {}
    for fam in (("inet", "joyride") if r % 2 == 0 else ("joyride", "inet")):
        for size in SWEEP_SIZES:
            got[fam, size] = fields(tcp_bench(fam, "stream-client", 5002, "--chunk", str(size),
                                              "--seconds", SWEEP_S), "stream:")["bytes_per_s"]
            results.add("stream_size", round=r + 1, stack=STACK[fam], size=size,
                        bytes_per_s=got[fam, size])
    sweep_rounds.append(got)

# Recovery: kill -9 under a live listener; time to the first accept.
AF_JOYRIDE = 25
ctl = CTL
me = os.environ["JR_JOYRIDE_IP"]
l = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 0,
                  socket.socket(AF_JOYRIDE, socket.SOCK_STREAM).detach())
l.bind(("0.0.0.0", 9500))
l.listen(8)
times = []
for _ in range(3):
    got = {}

    def accept():
        c, _ = l.accept()
        got["t"] = time.monotonic()
        c.close()

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    t0 = time.monotonic()
    run([ctl, "kill", "9"])
    subprocess.Popen([ctl, "start"], stdout=subprocess.DEVNULL)
    while "t" not in got and time.monotonic() - t0 < 120:
        s = socket.socket()
        s.settimeout(1)
        try:
            s.connect((me, 9500))
        except OSError:
            time.sleep(0.05)
        s.close()
        t.join(0.05)
    if "t" not in got:
        sys.exit("bench: no accept within 120 s of the kill")
    times.append((got["t"] - t0) * 1000)
    # Let the starter finish before the next kill.
    for _ in range(600):
        if subprocess.run([ctl, "pid"], capture_output=True).returncode == 0:
            break
        time.sleep(0.1)
l.close()


def ratio(a, b):
    return a / b if b else 0.0


def ratios(rs, key, inverse=False):
    out = []
    for r in rs:
        a, b = r["joyride"][key], r["inet"][key]
        out.append(ratio(b, a) if inverse else ratio(a, b))
    return out


with open(NS_LOG) as f:
    ports = [l.strip() for l in f if " up: " in l and "offloads" in l]
if ports:
    print(ports[-1])
print("round  case         rr trans/s  p50 us  p99 us  stream MB/s  conn/s  rr64 trans/s")
for n, r in enumerate(rounds):
    for fam in ("inet", "joyride"):
        x = r[fam]
        print("%-6d %-12s %10.0f %7.0f %7.0f %12.1f %7.0f %13.0f" % (
            n + 1, "AF_INET" if fam == "inet" else "AF_JOYRIDE", x["tps"], x["p50"],
            x["p99"], x["stream"] / 1e6, x["cps"], x["rr64"]))
print("round  app          iperf3 Mbit/s  redis req/s")
for n, r in enumerate(app_rounds):
    for fam in ("inet", "joyride"):
        print("%-6d %-12s %13.1f %12.0f" % (
            n + 1, "Linux" if fam == "inet" else "redirected",
            r[fam]["iperf3"] / 1e6, r[fam]["redis"]))
if sweep_rounds:
    print("size      AF_INET MB/s  AF_JOYRIDE MB/s  joyride/inet (stream by write size, "
          "median of %d rounds)" % len(sweep_rounds))
    for size in SWEEP_SIZES:
        mb = {fam: statistics.median(g[fam, size] for g in sweep_rounds) / 1e6
              for fam in ("inet", "joyride")}
        print("%-8s %13.1f %16.1f  %s" % (
            "%d B" % size if size < 1024 else "%d KiB" % (size // 1024), mb["inet"],
            mb["joyride"], summary([ratio(g["joyride", size], g["inet", size])
                                    for g in sweep_rounds])))
if ns_stats.get("stream_bytes"):
    mb = ns_stats["stream_bytes"] / 1e6
    print("netserver during the first AF_JOYRIDE stream (%.0f MB), per MB:" % mb)
    print("  " + ", ".join("%s %.1f" % (k, v / mb) for k, v in sorted(ns_stats.items())
                           if k not in ("stream_bytes", "idle_us", "mbufs_free") and v))
print("recovery kills: %s ms" % ", ".join("%.0f" % t for t in times))
# p99 is Joyride's over AF_INET's (below 1 is better); the others, Joyride's
# rate over AF_INET's (above 1 is better).
p99 = [ratio(r["joyride"]["p99"], r["inet"]["p99"]) for r in rounds]
print("vm: rr %s inet, stream %s inet, cps %s inet, rr64 %s inet, p99 %s inet" % (
    summary(ratios(rounds, "tps")), summary(ratios(rounds, "stream")),
    summary(ratios(rounds, "cps")), summary(ratios(rounds, "rr64")), summary(p99)))
print("apps: iperf3 %s inet, redis %s inet" % (
    summary(ratios(app_rounds, "iperf3")), summary(ratios(app_rounds, "redis"))))
# The engines boot (vm-engines-guest.py) prints the recovery: line, with a
# standby; this is a whole netserver's restart.
print("recovery cold start: %.0f ms to first accept (median of %d kills)" % (
    statistics.median(times), len(times)))
results.add("recovery", kind="cold start", ms=times)


def cold_kill():
    subprocess.run([CTL, "kill", "9"], check=True)
    subprocess.run([CTL, "start"], check=True, stdout=subprocess.DEVNULL)


timelines = []
kills = survival(cold_kill, timelines=timelines)
print("survival cold start: %s" % "; ".join(
    "%d/%d kept, blackout %.0f ms (%.0f ms before the kill)" % k for k in kills))
for n, ((kept, total, blackout, steady), timeline) in enumerate(zip(kills, timelines)):
    results.add("survival", kind="cold start", kill=n + 1, kept=kept, total=total,
                blackout_ms=blackout, steady_ms=steady, **timeline)
