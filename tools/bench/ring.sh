#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Run jr-ring-bench and check that it ends with its headline:
#   ring: <msgs/s> msgs/s, <x>x socketpair
#
# usage: tools/bench/ring.sh [BENCH_BINARY] [SECONDS_PER_CASE]
# Defaults: build/tools/bench/jr-ring-bench, 2 s.  ctest runs it with a
# tiny duration as ring_bench_smoke: only the exit code and the format of
# the last line count there, not the numbers.
set -u

here=$(dirname "$0")
bench=${1:-$here/../../build/tools/bench/jr-ring-bench}
seconds=${2:-${JR_BENCH_SECONDS:-2}}

if [ ! -x "$bench" ]; then
	echo "ring.sh: $bench not found; build first (cmake --build build)" >&2
	exit 1
fi

out=$(JR_BENCH_SECONDS=$seconds "$bench")
rc=$?
printf '%s\n' "$out"
if [ "$rc" -ne 0 ]; then
	echo "ring.sh: jr-ring-bench exited with $rc" >&2
	exit 1
fi
if ! printf '%s\n' "$out" | tail -n 1 |
	grep -Eq '^ring: [0-9]+ msgs/s, [0-9]+\.[0-9]x socketpair$'; then
	echo "ring.sh: the last line is not the headline format" >&2
	exit 1
fi
