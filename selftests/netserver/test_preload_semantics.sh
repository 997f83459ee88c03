#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test_preload_semantics.sh VARIANT - the socket calls of one program
# behave the same on Linux and under libjr-preload.so.
#
# preload_test (a kselftest-harness program, see its header) runs twice in
# the namespace against the same Linux peer (linux_peer.py echo-server on
# LX_IP:7007, udp-echo on LX_IP:7008, nothing on 7999):
#   1. plain: its sockets are the kernel's, its own address LX_IP.  This
#      pass proves that every expectation in it is what Linux does.
#   2. preloaded (LD_PRELOAD, JR_NETSERVER_SOCKET): the netserver serves
#      them, its own address JR_IP.  JR_PRELOAD_EXPECT=1 makes its first
#      test require the preload's descriptors and JR_IP as the source of
#      its connections, so a preload that fell back to the kernel fails.
# Both passes must pass every test.  Afterwards the netserver must have
# let go of every frontend the preloaded test processes attached.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

: "${JR_PRELOAD:=$JR_SRC_DIR/build/libjr/libjr-preload.so}"
PROG=$JR_TEST_BIN/preload_test

[[ -x $PROG ]] || jr_fail "no $PROG (build the preload_test target)"
[[ -f $JR_PRELOAD ]] || jr_fail "no preload library at $JR_PRELOAD (build the jr-preload target)"
jr_need_tools timeout
jr_setup "${1:-}"

jr_bg echo "${JR_PEER[@]}" echo-server --bind "$LX_IP:7007"
jr_bg udpecho "${JR_PEER[@]}" udp-echo --bind "$LX_IP:7008"
jr_wait_listen tcp 7007
jr_wait_listen udp 7008

# run_pass NAME SELF-IP [ENV...]: one run of preload_test; its TAP output
# in full on failure, its summary line otherwise.
run_pass() {
	local name=$1 own=$2 rc=0
	shift 2

	jr_ns timeout -k 5 120 env JR_TEST_PEER="$LX_IP" JR_TEST_SELF="$own" "$@" \
		"$PROG" >"$JR_TMP/$name.tap" 2>&1 || rc=$?
	if (( rc != 0 )); then
		jr_log "$name pass: preload_test exited with status $rc; its output:"
		sed "s/^/  $name: /" "$JR_TMP/$name.tap" >&2
		return 1
	fi
	jr_log "$name pass: $(grep -E '^# (PASSED|FAILED)' "$JR_TMP/$name.tap" || echo 'no summary')"
	grep -q '^ok ' "$JR_TMP/$name.tap" || {
		jr_log "$name pass: no test ran"
		return 1
	}
	if grep -q '# SKIP' "$JR_TMP/$name.tap"; then
		jr_log "$name pass: a test skipped:"
		grep '# SKIP' "$JR_TMP/$name.tap" >&2
		return 1
	fi
}

failed=()
run_pass linux "$LX_IP" || failed+=(linux)
run_pass preload "$JR_IP" LD_PRELOAD="$JR_PRELOAD" JR_NETSERVER_SOCKET="$JR_SOCK" \
	JR_PRELOAD_EXPECT=1 || failed+=(preload)
(( ${#failed[@]} == 0 )) || jr_fail "failed passes: ${failed[*]}"

jr_kill_bg echo
jr_kill_bg udpecho
jr_wait_stat frontends 0 10
jr_finish
