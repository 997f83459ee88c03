#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# jrctl supervise: restarts a failing child with back-off, gives up after
# too many quick failures (exit 1, saying why), stops on a clean exit, and
# passes SIGTERM on and ends supervision.  A shell command stands in for
# the netserver here; the guest recovery tests supervise the real one.
set -euo pipefail

jrctl=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# 1. A child that always fails: 1 + 3 restarts, then give up with status 1.
rc=0
"$jrctl" supervise --delay-ms 10 --max-failures 3 --window 30 -- \
	sh -c "echo run >> $tmp/runs; exit 7" 2> "$tmp/log1" || rc=$?
[ "$rc" -eq 1 ] || fail "gave up with status $rc, expected 1"
[ "$(wc -l < "$tmp/runs")" -eq 4 ] || fail "ran $(wc -l < "$tmp/runs") times, expected 4"
grep -q 'giving up: 4 failures within 30 s' "$tmp/log1" || fail "no reason logged"
grep -q 'restart 2/3 in 20 ms' "$tmp/log1" || fail "back-off did not double"

# 2. A crash (signal) then a clean exit: one restart, supervision ends 0.
rm -f "$tmp/runs"
"$jrctl" supervise --delay-ms 10 -- \
	sh -c "echo run >> $tmp/runs; [ \$(wc -l < $tmp/runs) -ge 2 ] && exit 0; kill -9 \$\$" \
	2> "$tmp/log2" || fail "clean exit after a crash returned non-zero"
grep -q 'killed by signal 9' "$tmp/log2" || fail "crash not reported"
[ "$(wc -l < "$tmp/runs")" -eq 2 ] || fail "expected exactly one restart"

# 3. SIGTERM reaches the child and ends supervision (no restart).
"$jrctl" supervise --pidfile "$tmp/pid" -- sleep 30 2> "$tmp/log3" &
sup=$!
for _ in $(seq 100); do [ -s "$tmp/pid" ] && break; sleep 0.05; done
[ -s "$tmp/pid" ] || fail "no pidfile written"
child=$(cat "$tmp/pid")
kill -TERM "$sup"
wait "$sup" || true
kill -0 "$child" 2>/dev/null && fail "child $child still running after SIGTERM"
grep -q 'supervision ends' "$tmp/log3" || fail "supervision did not end on SIGTERM"
echo "jrctl: all cases passed"
