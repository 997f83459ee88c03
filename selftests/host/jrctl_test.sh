#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# jrctl supervise: restarts a failing child with back-off, gives up after
# too many quick failures (exit 1, saying why), stops on a clean exit, and
# passes SIGTERM on and ends supervision; --device hands each start a fresh
# descriptor 3 and keeps no copy, --user drops the child to that user.  A shell command stands in for
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
# 4. --device: each start gets a fresh open file of its own as descriptor
#    3 (its offset starts at 0 although the last run wrote), and jrctl
#    keeps no copy (the kernel must see the file go when the child dies).
: > "$tmp/dev"
"$jrctl" supervise --delay-ms 10 --device "$tmp/dev" -- sh -c '
	fd3=$(readlink /proc/self/fd/3)
	pos=$(sed -n "s/^pos:[[:space:]]*//p" /proc/self/fdinfo/3)
	held=$(ls -l /proc/$PPID/fd | grep -c "$1" || true)
	echo "$fd3 $pos $held" >> "$2"
	echo written >&3
	[ "$(wc -l < "$2")" -ge 2 ] && exit 0
	exit 3' sh "$tmp/dev" "$tmp/runs4" 2> "$tmp/log4" ||
	fail "--device: supervision failed: $(cat "$tmp/log4")"
[ "$(sort -u "$tmp/runs4")" = "$tmp/dev 0 0" ] ||
	fail "--device: expected '$tmp/dev 0 0' from both runs, got: $(cat "$tmp/runs4")"

# 5. Errors name the option: a device that cannot be opened, an unknown user.
rc=0
"$jrctl" supervise --device "$tmp/missing" -- true 2> "$tmp/log5" || rc=$?
[ "$rc" -eq 1 ] || fail "--device missing: status $rc, expected 1"
grep -q "^jrctl: device: cannot open $tmp/missing" "$tmp/log5" ||
	fail "--device missing: $(cat "$tmp/log5")"
rc=0
"$jrctl" supervise --user jr-no-such-user -- true 2> "$tmp/log5" || rc=$?
[ "$rc" -eq 2 ] || fail "--user unknown: status $rc, expected 2"
grep -q "^jrctl: user: no such user 'jr-no-such-user'" "$tmp/log5" ||
	fail "--user unknown: $(cat "$tmp/log5")"

# 6. --user: the child runs as that uid, with no capabilities and
#    no_new_privs, and may raise its priority to nice -10 (RLIMIT_NICE,
#    for jr-netserver --takeover-nice).  Switching users needs root.
if [ "$(id -u)" -eq 0 ]; then
	# Raising the hard limit needs CAP_SYS_RESOURCE, which a container's
	# root may lack: then jrctl says so and the child keeps nice 0.
	if (ulimit -e 30) 2>/dev/null; then nice="Nice: -10"; else nice="Nice: 0"; fi
	"$jrctl" supervise --user 65534 -- \
		sh -c 'grep -E "^(Uid|Gid|CapPrm|CapEff|CapAmb|NoNewPrivs):" /proc/self/status
			echo "Nice: $(nice -n -10 nice 2>/dev/null)"' \
		> "$tmp/status6" 2> "$tmp/log6" || fail "--user: $(cat "$tmp/log6")"
	for want in "Uid:.65534.65534.65534.65534" "Gid:.65534.65534.65534.65534" \
		    "CapPrm:.0000000000000000" "CapEff:.0000000000000000" \
		    "CapAmb:.0000000000000000" "NoNewPrivs:.1" "$nice"; do
		grep -q "^$want\$" "$tmp/status6" ||
			fail "--user: no '$want' in: $(cat "$tmp/status6")"
	done
	if [ "$nice" != "Nice: -10" ]; then
		grep -q "^jrctl: user: cannot allow nice -10 (RLIMIT_NICE)" "$tmp/log6" ||
			fail "--user: no word on RLIMIT_NICE in: $(cat "$tmp/log6")"
	fi
else
	echo "jrctl: --user case skipped (needs root)"
fi
# 7. A set of engines: --engines 2 --standby 1 starts the command three
#    times with --engine 0, --engine 1 and --standby (the only words jrctl
#    adds), all in the pidfile, and SIGTERM stops them all.  Refilling
#    after a death reads /proc/net/joyride_engines: the guest's engine
#    tests cover it.
"$jrctl" supervise --engines 2 --standby 1 --pidfile "$tmp/pid7" -- \
	sh -c 'echo "$*" >> "$0"; exec sleep 30' "$tmp/runs7" 2> "$tmp/log7" &
sup=$!
for _ in $(seq 100); do [ "$(wc -l 2>/dev/null < "$tmp/runs7")" = 3 ] && break; sleep 0.05; done
[ "$(sort "$tmp/runs7" | tr '\n' ,)" = "--engine 0,--engine 1,--standby," ] ||
	fail "--engines: ran: $(cat "$tmp/runs7" 2>/dev/null)"
[ "$(wc -l < "$tmp/pid7")" -eq 3 ] || fail "--engines: pidfile: $(cat "$tmp/pid7")"
kill -TERM "$sup"
wait "$sup" || fail "--engines: SIGTERM ended supervision with an error: $(cat "$tmp/log7")"
while read -r pid; do
	kill -0 "$pid" 2>/dev/null && fail "--engines: pid $pid still running after SIGTERM"
done < "$tmp/pid7"
rc=0
"$jrctl" supervise --standby 1 -- true 2> "$tmp/log7" || rc=$?
[ "$rc" -eq 2 ] && grep -q "^jrctl: engines: " "$tmp/log7" ||
	fail "--standby without --engines: status $rc: $(cat "$tmp/log7")"

echo "jrctl: all cases passed"
