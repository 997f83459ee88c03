#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The guest half of tools/bench/vm.sh (runs under tools/jr-vm --netserver).

Cases, each on AF_INET (the guest's Linux NIC, peer JR_PEER_LINUX_IP) and on
AF_JOYRIDE (the netserver's NIC, peer JR_PEER_IP), in the same boot:
  rr      64-byte request/response on one connection: transactions/s, p50, p99
  stream  one-stream throughput
  cps     connect + one request + close, sequentially: connections/s
  apps    unmodified iperf3 and redis-benchmark, with net.joyride.redirect_inet
          off (Linux) and on (Joyride)
  recovery  kill -9 the netserver under a listener, start a new one: time to
          the first accepted connection (median of 3)
Prints a table and three lines: vm:, apps:, recovery:.
"""
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time

S = os.environ.get("JR_BENCH_SECONDS", "5")
BENCH = os.path.join(os.environ["JR_BUILD_DIR"], "tools/bench/jr-tcp-bench")
PATHS = {"inet": os.environ["JR_PEER_LINUX_IP"], "joyride": os.environ["JR_PEER_IP"]}


def run(args, env=None):
    r = subprocess.run(args, capture_output=True, text=True, env=env, timeout=600)
    if r.returncode:
        sys.exit("bench: %s failed: %s" % (" ".join(args), (r.stderr or r.stdout)[-500:]))
    return r.stdout


def fields(out, prefix):
    line = [l for l in out.splitlines() if l.startswith(prefix)][-1]
    return {k: float(v) for k, v in (kv.split("=") for kv in line.split()[1:])}


def tcp_bench(family, mode, port):
    return run([BENCH, "--backend", "linux", "--family", family, mode,
                "--connect", "%s:%d" % (PATHS[family], port), "--seconds", S])


def redirect(on):
    run(["sysctl", "-q", "-w", "net.joyride.redirect_inet=%d" % on])


res = {}
for fam in ("inet", "joyride"):
    rr = fields(tcp_bench(fam, "rr-client", 5001), "rr:")
    st = fields(tcp_bench(fam, "stream-client", 5002), "stream:")
    cps = fields(tcp_bench(fam, "cps-client", 5001), "cps:")
    res[fam] = {"tps": rr["tps"], "p50": rr["p50_us"], "p99": rr["p99_us"],
                "stream": st["bytes_per_s"], "cps": cps["cps"]}

apps = {}
for fam, on in (("inet", 0), ("joyride", 1)):
    redirect(on)
    try:
        ip = PATHS[fam]
        j = json.loads(run(["iperf3", "-c", ip, "-p", "5201", "-t", S, "-J"]))
        iperf = j["end"]["sum_received"]["bits_per_second"]
        out = run(["redis-benchmark", "-h", ip, "-p", "6390", "-n", "20000",
                   "-c", "10", "-t", "set,get", "--csv"])
        rps = [float(l.split(",")[1].strip('"')) for l in out.splitlines()
               if l.startswith('"SET"') or l.startswith('"GET"')]
        apps[fam] = {"iperf3": iperf, "redis": statistics.mean(rps)}
    finally:
        redirect(0)

# Recovery: kill -9 under a live listener; time to the first accept.
AF_JOYRIDE = 25
ctl = os.environ["JR_NETSERVER_CTL"]
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


i, j = res["inet"], res["joyride"]
print("case           rr trans/s   p50 us    p99 us   stream MB/s   conn/s")
for fam in ("inet", "joyride"):
    r = res[fam]
    print("%-12s %12.0f %8.0f %9.0f %13.1f %8.0f" % (
        "AF_INET" if fam == "inet" else "AF_JOYRIDE", r["tps"], r["p50"], r["p99"],
        r["stream"] / 1e6, r["cps"]))
print("app            iperf3 Mbit/s   redis req/s")
for fam in ("inet", "joyride"):
    a = apps[fam]
    print("%-12s %15.1f %13.0f" % ("Linux" if fam == "inet" else "redirected",
                                    a["iperf3"] / 1e6, a["redis"]))
print("recovery kills: %s ms" % ", ".join("%.0f" % t for t in times))
print("vm: rr %.2fx inet, stream %.2fx inet, cps %.2fx inet" % (
    ratio(j["tps"], i["tps"]), ratio(j["stream"], i["stream"]), ratio(j["cps"], i["cps"])))
print("apps: iperf3 %.2fx inet, redis %.2fx inet" % (
    ratio(apps["joyride"]["iperf3"], apps["inet"]["iperf3"]),
    ratio(apps["joyride"]["redis"], apps["inet"]["redis"])))
print("recovery: %.0f ms to first accept" % statistics.median(times))
