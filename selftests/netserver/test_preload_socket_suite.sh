#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test_preload_socket_suite.sh VARIANT - the socket semantics suite
# (selftests/guest/socket_test.c, its AF_INET variant "sock.inet") run
# twice in the namespace against the same peer, selftests/guest/peer.py:
#   1. plain: the program's sockets are Linux's.  This pass shows that the
#      suite's expectations hold on this machine.
#   2. preloaded (LD_PRELOAD=libjr-preload.so): every AF_INET socket of the
#      program is the netserver's, through the user frontend.
# Both passes must pass every sock.inet test, except the few named below,
# each with its reason; a named test that passes fails this test too, so
# the lists (and Documentation/preload.md) stay true.  The netserver's port
# must have carried the preloaded pass's traffic.  (sock.joyride.* skip in
# both: they need AF_JOYRIDE, the kernel module, which the host has not.)
#
# The namespace is one Linux stack for both the program (plain pass) and
# the peer, so, as in the guest, its forwarding is on and the netserver's
# gateway is LX_IP: a connect beyond 198.18.0.0/24 gets ICMP network
# unreachable from it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

: "${JR_PRELOAD:=$JR_SRC_DIR/build/libjr/libjr-preload.so}"
: "${JR_SOCKET_TEST:=$JR_SRC_DIR/build/selftests/guest/socket_test}"

# Fail on Linux here, for a reason of this set-up, not of Linux.
declare -A LINUX_ENV=(
	[multicast_from_peer_is_received_until_dropped]="peer.py sends with IP_MULTICAST_LOOP off, and here it shares the program's stack"
	[multicast_reaches_every_socket_bound_to_the_port]="the same: the peer's multicast never reaches a socket of its own stack"
)
# Fail under the preload: its documented limits (Documentation/preload.md).
declare -A PRELOAD_LIMITS=(
	[scm_rights_passed_socket_works]="a socket passed with SCM_RIGHTS is an eventfd to the receiver"
	[io_uring_send_and_recv]="io_uring's requests go to the kernel, which sees an eventfd"
)
# Skip on Linux: the option sweep compares Linux with Joyride, so it runs in
# the preloaded pass only (JR_PRELOAD_SWEEP).
declare -A LINUX_SKIPS=(
	[every_option_errno_matches_linux]="compares Linux's sockets with the preload's"
)
declare -A PRELOAD_SKIPS=()

[[ -x $JR_SOCKET_TEST ]] || jr_fail "no $JR_SOCKET_TEST (build the socket_test target)"
[[ -f $JR_PRELOAD ]] || jr_fail "no preload library at $JR_PRELOAD (build the jr-preload target)"
jr_need_tools timeout
jr_setup "${1:-}" --gateway "$LX_IP"
jr_ns sysctl -qw net.ipv4.ip_forward=1

jr_bg peer "$JR_PYTHON" "$JR_SRC_DIR/selftests/guest/peer.py"
jr_wait_listen tcp 7000

# The outcome of each sock.inet test, "NAME ok|fail|skip" a line: the
# harness names a test on its RUN line, not on a skip's "ok N # SKIP".
outcomes() {
	awk '/^#  RUN +sock\.inet\./ { name = $3; sub(/^sock\.inet\./, "", name); next }
	     /^(not )?ok [0-9]+/ && name != "" {
		print name, /^not ok/ ? "fail" : /# SKIP/ ? "skip" : "ok"; name = "" }' "$1"
}

# run_pass NAME EXPECTED-FAILURES-ARRAY EXPECTED-SKIPS-ARRAY [ENV...]: one
# run of the suite, judged test by test.
run_pass() {
	local name=$1 tap=$JR_TMP/$1.tap rc=0 t outcome
	local -n expected=$2 skips=$3
	local -a bad=()
	local -A seen=()
	shift 3

	jr_ns timeout -k 5 600 env JR_PEER_LINUX_IP="$LX_IP" "$@" \
		"$JR_SOCKET_TEST" >"$tap" 2>&1 || rc=$?
	grep -q '^ok .* sock\.inet\.' "$tap" || {
		jr_log "$name pass (exit $rc): no sock.inet test passed; the output:"
		sed "s/^/  $name: /" "$tap" >&2
		return 1
	}
	while read -r t outcome; do
		seen[$t]=$outcome
		case $outcome in
		fail)	[[ -n ${expected[$t]+x} ]] || bad+=("$t: failed") ;;
		skip)	[[ -n ${skips[$t]+x} ]] ||
				bad+=("$t: skipped ($(grep -A2 -E "^#  RUN +sock\.inet\.$t " "$tap" |
					sed -n 's/^#  *SKIP *//p' | head -n1))") ;;
		ok)	[[ -z ${expected[$t]+x} ]] ||
				bad+=("$t: passed, but is listed as failing here (${expected[$t]}): take it off the list")
			[[ -z ${skips[$t]+x} ]] ||
				bad+=("$t: ran, but is listed as skipping here (${skips[$t]})") ;;
		esac
	done < <(outcomes "$tap")
	for t in "${!expected[@]}" "${!skips[@]}"; do
		[[ -n ${seen[$t]+x} ]] || bad+=("$t: listed, but did not run")
	done
	if (( ${#bad[@]} )); then
		jr_log "$name pass: ${#bad[@]} test(s) not as expected:"
		printf '  %s\n' "${bad[@]}" >&2
		jr_log "$name pass: the failures' output:"
		awk '/^#  RUN/ { buf = "" } { buf = buf $0 "\n" } /^not ok/ { printf "%s", buf }' \
			"$tap" | sed "s/^/  $name: /" >&2
		return 1
	fi
	jr_log "$name pass: ${#seen[@]} sock.inet tests as expected:" \
		"$(grep -c ' ok$' < <(outcomes "$tap")) passed," \
		"${#expected[@]} known failures ($(IFS=,; echo "${!expected[*]}")), ${#skips[@]} skipped"
}

failed=()
run_pass linux LINUX_ENV LINUX_SKIPS JR_GUEST_LINUX_IF="$LX_IF" || failed+=(linux)
jr_mark_port
run_pass preload PRELOAD_LIMITS PRELOAD_SKIPS LD_PRELOAD="$JR_PRELOAD" \
	JR_NETSERVER_SOCKET="$JR_SOCK" JR_PRELOAD_SWEEP=1 || failed+=(preload)
# A suite of a few hundred connections and datagrams: far more than this.
jr_carried "the preloaded suite" 100000 100000 1000 1000
jr_log "the netserver's port carried the preloaded pass: $PORT_MOVED"
(( ${#failed[@]} == 0 )) || jr_fail "failed passes: ${failed[*]}"

jr_kill_bg peer
jr_wait_stat frontends 0 10
jr_finish
