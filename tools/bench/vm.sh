#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# tools/joyride bench vm: AF_JOYRIDE against AF_INET in one guest boot,
# then engines (a port keeper and engines on a multi-queue NIC) in two more:
# one engine, and two engines with three standbys.
#
# The guest runs jr-netserver on its first NIC (DPDK virtio PMD) and keeps
# its second NIC for its own Linux stack; the peer, in the runner's network
# namespace, serves both paths with the same programs, so each pair of rows
# differs only in the stack the guest used.  See tools/bench/vm-guest.py for
# the cases and Documentation/benchmarks.md for what the emulated CPU does
# to the numbers.
#
# JR_BENCH_RESULTS (a directory): the guest scripts also write what they
# measured there, as JSON lines (guestlib.Results), for tools/bench/plot.py;
# the guest gets it as a read-write share.  JR_BENCH_SWEEP_SECONDS: the
# length of each run of the throughput-by-write-size sweep (0: none).
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${JR_BUILD_DIR:-$src/build}
bench=$build/tools/bench/jr-tcp-bench
[ -x "$bench" ] || { echo "bench vm: $bench is not built" >&2; exit 1; }

# Peer services on 0.0.0.0, reached from the guest through Joyride
# (198.18.0.1) and through the guest's Linux NIC (198.18.1.1).
peer="$bench --backend linux rr-server --port 5001 >/dev/null &
$bench --backend linux stream-server --port 5002 >/dev/null &
iperf3 -s -p 5201 >/dev/null 2>&1 &
redis-server --port 6390 --bind 0.0.0.0 --save '' --appendonly no --protected-mode no >/dev/null &
wait"

results=()
if [ -n "${JR_BENCH_RESULTS:-}" ]; then
	mkdir -p "$JR_BENCH_RESULTS"
	results=(--share "$JR_BENCH_RESULTS" --env "JR_BENCH_RESULTS=$(realpath "$JR_BENCH_RESULTS")")
fi

# JR_NETSERVER_ARGS (e.g. "--offloads none") reaches the guest's netserver.
boot() {
	"$src/tools/jr-vm" run --timeout 2400 \
		${JR_NETSERVER_ARGS:+--netserver-args "$JR_NETSERVER_ARGS"} \
		--env "JR_BENCH_SECONDS=${JR_BENCH_SECONDS:-5}" \
		--env "JR_BENCH_ROUNDS=${JR_BENCH_ROUNDS:-3}" \
		--env "JR_BENCH_SWEEP_SECONDS=${JR_BENCH_SWEEP_SECONDS:-2}" \
		"${results[@]}" --peer-cmd "$peer" "$@"
}

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
boot --netserver -- "$src/tools/bench/vm-guest.py" | tee "$out/single"
# Engines: rr64 with one engine and with two (each against Linux in its own
# boot, so the ratio of ratios cancels a boot's luck), and the recovery
# with a standby (three kills, three standbys).
boot --engines 1 -- "$src/tools/bench/vm-engines-guest.py" | tee "$out/one"
boot --engines 2 --standby 3 -- "$src/tools/bench/vm-engines-guest.py" | tee "$out/two"

python3 - "$out" <<'PY'
import os, re, statistics, sys
d = sys.argv[1]
def rr64(name):
    rows = [tuple(map(float, m.groups())) for m in re.finditer(
        r"engines-rr64: \d+ engines joyride (\S+) inet (\S+)", open(os.path.join(d, name)).read())]
    return [j / i for j, i in rows if i], [j for j, _ in rows]
r1, j1 = rr64("one")
r2, j2 = rr64("two")
if r1 and r2:
    ratios = [b / a for a in r1 for b in r2]
    print("engines: rr64 %.2fx with 2 engines vs 1 (%.2f-%.2f; joyride/inet %.2f vs %.2f; "
          "%.0f vs %.0f trans/s)" % (statistics.median(r2) / statistics.median(r1),
                                    min(ratios), max(ratios), statistics.median(r2),
                                    statistics.median(r1), statistics.median(j2), statistics.median(j1)))
m = re.search(r"standby kills: (.*) ms", open(os.path.join(d, "two")).read())
cold = re.search(r"recovery cold start: (\S+) ms", open(os.path.join(d, "single")).read())
def survival(name, what):
    m = re.search(r"survival %s: (.*)" % what, open(os.path.join(d, name)).read())
    if not m:
        return None
    k = [tuple(map(float, x)) for x in re.findall(
        r"(\d+)/(\d+) kept, blackout (\d+) ms \((\d+) ms before the kill\)", m.group(1))]
    return k
s_hot, s_cold = survival("two", "standby"), survival("single", "cold start")
if s_hot:
    print("survival: %d/%d connections kept, blackout %.0f ms (median of %d kills with 16 "
          "connections under load, a standby taking over: %s ms; the longest gap in the 2 s "
          "before each kill: %s ms; cold start: %s)" % (
              min(x[0] for x in s_hot), s_hot[0][1], statistics.median(x[2] for x in s_hot), len(s_hot),
              ", ".join("%.0f" % x[2] for x in s_hot), ", ".join("%.0f" % x[3] for x in s_hot),
              "%d/%d kept, blackout %.0f ms" % (min(x[0] for x in s_cold), s_cold[0][1],
                                                 statistics.median(x[2] for x in s_cold))
              if s_cold else "?"))
if m:
    kills = [float(x) for x in m.group(1).split(",")]
    print("recovery: %.0f ms to first accept (median of %d kills with a standby: %s; "
          "cold start %s ms)" % (statistics.median(kills), len(kills), m.group(1),
                                 cold.group(1) if cold else "?"))
PY
