#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Unmodified programs through the redirect (net.joyride.redirect_inet)
keep their connections across kill -9s of the netserver
(net.joyride.survival): an iperf3 client streaming to the guest's Linux
iperf3 server runs through three kills and ends without error, the bytes
its server counted matching the bytes the client sent (up to what was in
flight when the test ended); a redis-benchmark against the guest's Linux
redis-server runs through one kill and reports every request done, none
failed.  Both peers are reached through the peer namespace's forwarding,
so each connection crosses Joyride and the real Linux stack."""
import json
import shutil
import subprocess
import time
from jrtest import *

require_netserver()
set_survival(True)
for prog in ("iperf3", "redis-server", "redis-benchmark"):
    if not shutil.which(prog):
        skip("%s is not installed" % prog)


def redirect(on):
    subprocess.run(["sysctl", "-q", "-w", "net.joyride.redirect_inet=%d" % on], check=True)


def listening_linux(port):
    return subprocess.run(["sh", "-c", "ss -ltn | grep -q ':%d '" % port]).returncode == 0


def joyride_conns():
    return [s for s in proc_sockets() if "inet" in s["flags"] and s["state"] == "ESTAB"]


# --- iperf3 through three kills.
server = subprocess.Popen(["iperf3", "-s", "-B", LINUX_IP, "-p", "5302", "-1", "-J"],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
wait_until(lambda: listening_linux(5302), 20, "iperf3 -s to listen")
redirect(1)
try:
    client = subprocess.Popen(["iperf3", "-c", LINUX_IP, "-p", "5302", "-t", "45", "-J"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wait_until(lambda: len(joyride_conns()) >= 2, 30, "iperf3 streaming over Joyride")
    redirect(0)
    for n in (1, 2, 3):
        time.sleep(3)
        check(client.poll() is None, "iperf3 still runs before kill %d" % n)
        kill_netserver()
        start_netserver()
        wait_until(lambda: not [s for s in proc_sockets() if "surviving" in s["flags"]],
                   30, "the connections to be taken over after kill %d" % n)
        print("ok: kill %d: %d connections taken over" % (n, len(joyride_conns())))
    try:
        out, _ = client.communicate(timeout=120)
        sout, _ = server.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        client.kill(); server.kill()
        fail("iperf3 did not finish")
    report, sreport = json.loads(out), json.loads(sout)
    # Per-second throughput on both ends: where a takeover stalled, and
    # what each side said if one of them ended in error.
    for name, rep in (("client", report), ("server", sreport)):
        mbit = ["%.0f" % (i["sum"]["bits_per_second"] / 1e6) for i in rep.get("intervals", [])]
        print("%s Mbit/s per second: %s%s" % (name, " ".join(mbit),
              "; error: " + rep["error"] if "error" in rep else ""))
    check(client.returncode == 0 and "error" not in report,
          "iperf3 finished through three kills (exit %d%s)"
          % (client.returncode, ", " + report["error"] if "error" in report else ""))
    sent = report["end"]["sum_sent"]["bytes"]
    got = sreport["end"]["sum_received"]["bytes"]
    # iperf3's server stops counting when the client's end-of-test
    # message arrives, so what was still in flight then is not in its
    # total; a lost or duplicated byte would be (test_recover_10 checks
    # the bytes themselves).
    check(sent > 0 and sent - (4 << 20) <= got <= sent,
          "the server received what the client sent, but for the last window "
          "(%d of %d)" % (got, sent))
finally:
    redirect(0)
    server.kill()

# --- redis-benchmark through one kill.
redis = subprocess.Popen(["redis-server", "--bind", LINUX_IP, "--port", "6391", "--save", "",
                          "--appendonly", "no", "--protected-mode", "no"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    wait_until(lambda: listening_linux(6391), 20, "redis-server to listen")
    redirect(1)
    bench = subprocess.Popen(["redis-benchmark", "-h", LINUX_IP, "-p", "6391", "-c", "16",
                              "-n", "60000", "-t", "set,get", "-q"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wait_until(lambda: len(joyride_conns()) >= 8, 30, "redis-benchmark's connections over Joyride")
    redirect(0)
    time.sleep(1)
    check(bench.poll() is None, "redis-benchmark still runs at the kill")
    kill_netserver()
    start_netserver()
    try:
        out, _ = bench.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        bench.kill()
        fail("redis-benchmark did not finish")
    print(out.strip()[-400:])
    check(bench.returncode == 0 and "rror" not in out and "SET:" in out and "GET:" in out,
          "redis-benchmark finished its SETs and GETs through the kill, no error")
finally:
    redirect(0)
    redis.kill()
wait_until(lambda: not proc_sockets(), 20, "no Joyride sockets left")
print("ok: nothing leaked")
