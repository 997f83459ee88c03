# SPDX-License-Identifier: GPL-2.0
"""Helpers shared by the guest halves of tools/bench/vm.sh (vm-guest.py,
vm-engines-guest.py): running a client, parsing its result line."""
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


def tcp_bench(family, mode, port, *extra, pin=True):
    return run([BENCH, "--backend", "linux", "--family", family, mode,
                "--connect", "%s:%d" % (PATHS[family], port), "--seconds", S] + list(extra),
               pin=pin)


def summary(values):
    """median (low-high) of one ratio over the rounds"""
    import statistics
    return "%.2fx (%.2f-%.2f)" % (statistics.median(values), min(values), max(values))
