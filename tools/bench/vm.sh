#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# tools/joyride bench vm: AF_JOYRIDE against AF_INET in one guest boot.
#
# The guest runs jr-netserver on its first NIC (DPDK virtio PMD) and keeps
# its second NIC for its own Linux stack; the peer, in the runner's network
# namespace, serves both paths with the same programs, so each pair of rows
# differs only in the stack the guest used.  See tools/bench/vm-guest.py for
# the cases and Documentation/benchmarks.md for what the emulated CPU does
# to the numbers.
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

# JR_NETSERVER_ARGS (e.g. "--offloads none") reaches the guest's netserver.
exec "$src/tools/jr-vm" run --netserver --timeout 2400 \
	${JR_NETSERVER_ARGS:+--netserver-args "$JR_NETSERVER_ARGS"} \
	--env "JR_BENCH_SECONDS=${JR_BENCH_SECONDS:-5}" \
	--env "JR_BENCH_ROUNDS=${JR_BENCH_ROUNDS:-3}" \
	--peer-cmd "$peer" -- "$src/tools/bench/vm-guest.py"
