#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# tools/joyride bench parity: Linux's own socket selftests
# (tools/testing/selftests/net/ of linux-source-6.1, built into
# build/selftests/guest/parity/bin) on Linux and redirected to Joyride, in
# one guest boot with the netserver (--redirect).  The guest side is
# selftests/guest/parity/run.sh: per program "same", "differs: ...",
# "not redirected: ..." or "n/a: ...", then
#
#   parity: <same> of <total> kernel net selftests same as Linux
#
# and here "bench parity: <s> s in the guest, <s> s in all".  Each case's
# output is kept in build/parity/<program>/, the guest console in
# build/parity.console.  JR_PARITY_TIMEOUT (seconds, default 15) bounds
# each case; program names as arguments run only those.  Exit status:
# run.sh's (0 once every program ran), or jr-vm's.  See
# Documentation/testing.md.
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${JR_BUILD_DIR:-$src/build}
bin=$build/selftests/guest/parity/bin
[ -d "$bin" ] || { echo "bench parity: $bin is not built" >&2; exit 1; }

out=$build/parity
rm -rf "$out"
mkdir -p "$out"
start=$SECONDS
rc=0
# shellcheck disable=SC2016 # expanded by the guest's shell
"$src/tools/jr-vm" run --redirect --share "$out" --timeout 1200 --log "$build/parity.console" \
	${JR_PARITY_TIMEOUT:+--env "JR_PARITY_TIMEOUT=$JR_PARITY_TIMEOUT"} -- \
	/bin/sh -c 'start=$(cut -d" " -f1 /proc/uptime)
		"$@"; rc=$?
		echo "bench parity: $(awk -v s="$start" "{ printf \"%.0f\", \$1 - s }" /proc/uptime) s in the guest"
		exit $rc' parity-bench "$src/selftests/guest/parity/run.sh" --out "$out" "$@" || rc=$?
echo "bench parity: $((SECONDS - start)) s in all (boot included); cases' output: $out, guest console: $build/parity.console"
exit "$rc"
