#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The guest half of tools/bench/vm.sh's engines boots (tools/jr-vm
--engines N [--standby S]): a port keeper and N engines on the RSS queues
of one multi-queue NIC.

  rr64      64-byte request/response on 64 connections at once, AF_JOYRIDE
            and AF_INET alternating per round (JR_BENCH_ROUNDS): prints
            "engines-rr64: N engines joyride <tps> inet <tps>" per round;
            vm.sh compares the boots with 1 and 2 engines.
  recovery  with standbys: kill -9 the process serving engine 1 (once per
            standby, at most 3) under a listener whose replicas listen on
            every engine, and time from the kill to the first connection
            accepted on engine 1 again (the other engine accepts all along);
            prints "standby kills: <ms>, ..." and the time the kernel took
            from the death to the standby's end of replay.
  survival  with standbys: 16 connections streaming into Joyride (spread
            over the engines by RSS) through 3 kill -9s of the process
            serving engine 1, a new standby started after each:
            connections kept and the longest gap in delivered data
            (guestlib.survival); prints "survival standby: ...".
With JR_BENCH_RESULTS, also writes the rounds, the kills and the survival
kills' timelines to vm-engines-<N>.jsonl there (guestlib.Results).
"""
import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from guestlib import STACK, Results, engine_of, fields, run, survival, tcp_bench  # noqa: E402

ENGINES = int(os.environ.get("JR_NETSERVER_ENGINES", "0"))
STANDBYS = int(os.environ.get("JR_NETSERVER_STANDBY", "0"))
ROUNDS = int(os.environ.get("JR_BENCH_ROUNDS", "3"))
CTL = os.environ["JR_NETSERVER_CTL"]
JR_IP = os.environ["JR_JOYRIDE_IP"]
PORT = 9500
if not ENGINES:
    sys.exit("bench: vm-engines-guest.py needs tools/jr-vm --engines N")
results = Results("vm-engines-%d" % ENGINES, bench="vm-engines", engines=ENGINES)
results.add("meta", seconds=float(os.environ.get("JR_BENCH_SECONDS", "5")), rounds=ROUNDS,
            standbys=STANDBYS, cpus=os.cpu_count())

# Engines poll on every CPU here; the clients share them (there is no
# spare CPU on these machines), on both families alike.
for r in range(ROUNDS):
    got = {}
    for fam in (("inet", "joyride") if r % 2 == 0 else ("joyride", "inet")):
        got[fam] = fields(tcp_bench(fam, "rr-client", 5001, "--conns", "64", pin=False),
                          "rr:")["tps"]
    print("engines-rr64: %d engines joyride %.0f inet %.0f" % (ENGINES, got["joyride"], got["inet"]))
    sys.stdout.flush()
    for fam in got:
        results.add("rr64", round=r + 1, stack=STACK[fam], tps=got[fam])


def engines():
    """/proc/net/joyride_engines: {index: (state, pid)}."""
    out = {}
    for line in open("/proc/net/joyride_engines").read().splitlines()[1:]:
        f = line.split()
        if f[0] != "-":
            out[int(f[0])] = (f[1], int(f[2]))
    return out


def instance_of(pid):
    """The tools/jr-vm-netserver instance whose process is pid."""
    names = ["engine%d" % i for i in range(ENGINES)] + ["standby%d" % i for i in range(STANDBYS)]
    for name in names:
        r = subprocess.run([CTL, "pid", name], capture_output=True, text=True)
        if r.returncode == 0 and r.stdout.strip() == str(pid):
            return name
    sys.exit("bench: no instance runs pid %d" % pid)


if STANDBYS and ENGINES >= 2:
    AF_JOYRIDE = 25
    l = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 0,
                      socket.socket(AF_JOYRIDE, socket.SOCK_STREAM).detach())
    l.bind(("0.0.0.0", PORT))
    l.listen(64)
    accepted = []           # (monotonic time, engine)

    def acceptor():
        while True:
            try:
                c, peer = l.accept()
            except OSError:
                return
            accepted.append((time.monotonic(), engine_of(peer[1])))
            c.close()

    threading.Thread(target=acceptor, daemon=True).start()
    times = []
    for k in range(min(STANDBYS, 3)):
        state = engines()
        if state.get(1, ("",))[0] != "live":
            sys.exit("bench: engine 1 is not live before kill %d: %s" % (k + 1, state))
        victim = state[1][1]
        run([CTL, "expect", instance_of(victim)])
        del accepted[:]
        t0 = time.monotonic()
        os.kill(victim, 9)
        # New connections from the guest's Linux stack, each from a new
        # port: RSS spreads them, and those for queue 1 are accepted once
        # the standby serves it.
        while not any(e == 1 for _, e in accepted) and time.monotonic() - t0 < 60:
            s = socket.socket()
            s.settimeout(0.2)
            try:
                s.connect((JR_IP, PORT))
            except OSError:
                pass
            s.close()
        hits = [t for t, e in accepted if e == 1]
        if not hits:
            sys.exit("bench: no accept on engine 1 within 60 s of kill %d" % (k + 1))
        times.append((hits[0] - t0) * 1000)
        # Wait for the victim to be gone before the next kill.
        while os.path.exists("/proc/%d" % victim):
            time.sleep(0.01)
    l.close()
    print("standby kills: %s ms" % ", ".join("%.0f" % t for t in times))
    results.add("recovery", kind="standby", ms=times)
    log = run(["dmesg"])
    print("".join(x + "\n" for x in log.splitlines()
                  if "joyride: engine 1" in x or "standby" in x)[-2000:], end="")


killed = []    # (instance, pid) of the last kill_engine1()


def kill_engine1():
    victim = engines()[1][1]
    killed[:] = [(instance_of(victim), victim)]
    run([CTL, "expect", killed[0][0]])
    t_kill = time.monotonic()
    os.kill(victim, 9)
    return t_kill


def new_standby():
    # The killed instance (a standby that had taken index 1) starts again
    # as a standby; an index a standby took is not missing.  Once its exit
    # is recorded: until then `start` counts it as running.
    for inst, pid in killed:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and subprocess.run(
                [CTL, "pid", inst], capture_output=True, text=True).stdout.strip() == str(pid):
            time.sleep(0.05)
    subprocess.run([CTL, "start"], check=True, stdout=subprocess.DEVNULL)


if STANDBYS and ENGINES >= 2:
    new_standby()
    timelines = []
    kills = survival(kill_engine1, refill=new_standby, timelines=timelines)
    print("survival standby: %s" % "; ".join(
        "%d/%d kept, blackout %.0f ms (%.0f ms before the kill)" % k for k in kills))
    for n, ((kept, total, blackout, steady), timeline) in enumerate(zip(kills, timelines)):
        results.add("survival", kind="standby", kill=n + 1, kept=kept, total=total,
                    blackout_ms=blackout, steady_ms=steady, **timeline)
