#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test_idle_cpu.sh VARIANT - an idle netserver with --poll adaptive sleeps.
#
# With no traffic, the netserver must not spin: its CPU time (utime +
# stime of the whole process, from /proc/PID/stat) over a 3 s window must
# stay below JR_IDLE_MAX_PCT percent of one core.  Measured twice: with no
# frontend attached, and with one client attached that holds a listening
# socket (the sleep then also waits on that client's doorbell).  Both
# figures are printed.
#
# The limit is 5% on tap, whose PMD has an RX interrupt the netserver
# sleeps on (it measures ~0%).  The af_packet PMD has none, so the
# netserver wakes every millisecond to look at the port: that costs 2-4%
# on a quiet machine and more on a busy one, hence 10% there.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

WINDOW_S=3

jr_setup "${1:-}" --poll adaptive
if [[ $JR_VARIANT == af_packet ]]; then
	MAX_PCT=${JR_IDLE_MAX_PCT:-10}
else
	MAX_PCT=${JR_IDLE_MAX_PCT:-5}
fi

# utime + stime in clock ticks; the command name may hold blanks, so the
# fields are counted after its closing parenthesis.
cpu_ticks() {
	local stat rest

	stat=$(<"/proc/$JR_PID/stat")
	rest=${stat##*) }
	awk '{ print $12 + $13 }' <<<"$rest"
}

# measure LABEL: percent of one core over WINDOW_S, checked against MAX_PCT.
measure() {
	local label=$1 t0 t1 c0 c1 hz pct

	hz=$(getconf CLK_TCK)
	c0=$(cpu_ticks)
	t0=$(jr_now_us)
	# The measurement is the waiting: nothing to poll for here.
	sleep "$WINDOW_S"
	c1=$(cpu_ticks)
	t1=$(jr_now_us)
	pct=$(awk -v dc=$((c1 - c0)) -v hz="$hz" -v dt=$((t1 - t0)) \
		'BEGIN { printf "%.2f", dc / hz / (dt / 1e6) * 100 }')
	jr_log "idle CPU ($JR_VARIANT, $label): $pct% of one core over ${WINDOW_S} s ($((c1 - c0)) ticks at $hz Hz)"
	awk -v p="$pct" -v m="$MAX_PCT" 'BEGIN { exit !(p < m) }' ||
		jr_fail "idle netserver ($label) used $pct% of a core (limit $MAX_PCT%)"
}

measure "no frontend"

jr_bg_held client "$JR_TEST_BIN/jr-ns-echo" server --sock "$JR_SOCK" --port 7 --conns 0 \
	--ready "$JR_TMP/client.ready" --hold
jr_wait_file "$JR_TMP/client.ready" 10 "the idle client to listen" client
jr_wait_stat frontends 1 5
measure "one idle client attached"
jr_release client
jr_wait_bg client 10 || jr_fail "the idle client failed"

jr_finish
