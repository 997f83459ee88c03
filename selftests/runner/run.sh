#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Tests of the VM runner itself: it reports the guest command's status, and
# it fails a run whose guest kernel log shows a warning even when the
# command succeeded.  Each case is one boot.
set -uo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
vm="$src/tools/jr-vm"
passed=0
failed=0

check() {	# name, expected ("ok" or "fail"), command...
	local name=$1 want=$2 out rc=0 start=$SECONDS
	shift 2
	out=$("$@" 2>&1) || rc=$?
	if { [ "$want" = ok ] && [ $rc -eq 0 ]; } ||
	   { [ "$want" = fail ] && [ $rc -ne 0 ]; }; then
		echo "ok $name ($((SECONDS - start)) s)"
		passed=$((passed + 1))
		LAST_OUT=$out
		return 0
	fi
	echo "not ok $name (exit $rc, $((SECONDS - start)) s)"
	printf '%s\n' "$out" | tail -n 20 | sed 's/^/# /'
	failed=$((failed + 1))
	LAST_OUT=$out
	return 1
}

if check runner_reports_hostname ok "$vm" run --no-module -- \
	python3 -c 'import socket; print(socket.gethostname())'; then
	if ! grep -qx 'jr-guest' <<<"$LAST_OUT"; then
		echo "not ok runner_prints_guest_output (no 'jr-guest' line)"
		passed=$((passed - 1))
		failed=$((failed + 1))
	fi
fi
check runner_propagates_failure fail "$vm" run --no-module -- false
check runner_fails_on_kernel_warning fail "$vm" run --no-module -- \
	sh -c 'echo "WARNING: CPU: 0 PID: 1 at selftest" > /dev/kmsg'

# The netserver topology: a netserver that dies unasked fails the run (121);
# one that cannot start fails it before the command runs (125).
check runner_netserver_crash_fails fail "$vm" run --netserver -- \
	sh -c 'kill -9 $JR_NETSERVER_PID'
check runner_netserver_bad_args_fail fail "$vm" run --netserver \
	--netserver-args "--slots 3" -- true

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
