#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# jr-netserver refuses bad configuration before it starts anything (DPDK,
# the attach): status 2 and one line naming the setting and what it
# accepts, from the command line and from a --config file (with its line).
set -euo pipefail

netserver=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

# refused WANT ARGS...: status 2 and WANT as the first line of stderr.
refused() {
	local want=$1 rc=0 got
	shift
	"$netserver" "$@" > /dev/null 2> "$tmp/err" || rc=$?
	got=$(head -n 1 "$tmp/err")
	if [ "$rc" -ne 2 ] || [ "$got" != "$want" ]; then
		echo "FAIL: jr-netserver $*: status $rc, first line: $got (expected 2: $want)"
		fail=1
	fi
}

nice_range="(accepted: a nice value from -20 to 19)"
refused "jr-netserver: takeover-nice: invalid value '-21' $nice_range" \
	--takeover-nice -21 --device /dev/joyride --ip 198.18.0.2/24
refused "jr-netserver: takeover-nice: invalid value '20' $nice_range" \
	--takeover-nice 20 --device /dev/joyride --ip 198.18.0.2/24
refused "jr-netserver: takeover-nice: invalid value '-5x' $nice_range" \
	--takeover-nice -5x --device /dev/joyride --ip 198.18.0.2/24
refused "jr-netserver: slots: invalid value '1000' (accepted: a power of two from 16 to 65536)" \
	--slots 1000 --device /dev/joyride --ip 198.18.0.2/24
refused "jr-netserver: idle-us: invalid value '-1' (accepted: microseconds from 0 to 10000000)" \
	--idle-us -1 --device /dev/joyride --ip 198.18.0.2/24
refused "jr-netserver: ip: required (accepted: A.B.C.D/N)" --device /dev/joyride

# From a file, the file and line follow.
printf '# engines\nip = 198.18.0.2/24\ntakeover-nice = -30\n' > "$tmp/ns.conf"
refused "jr-netserver: takeover-nice: invalid value '-30' $nice_range" \
	--config "$tmp/ns.conf" --device /dev/joyride
grep -qx "jr-netserver: (in $tmp/ns.conf:3)" "$tmp/err" ||
	{ echo "FAIL: no file and line in: $(cat "$tmp/err")"; fail=1; }

[ "$fail" -eq 0 ] && echo "ok: bad configuration is refused, naming the setting"
exit "$fail"
