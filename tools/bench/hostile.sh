#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# tools/joyride bench hostile: the seeded random adversary
# (selftests/guest/hostile_random) in its bench mode, in one guest boot with
# the module to itself (no netserver): a netserver that lies while
# application threads use sockets, for JR_HOSTILE_ENTRIES netserver-written
# entries (default 1000000), bounded by JR_HOSTILE_SECONDS of hostile phase
# (default 510, so that boot, settling and the kernel log check fit in
# 10 minutes under TCG).  JR_HOSTILE_SEED repeats a seed; JR_HOSTILE_ARGS
# passes more options to the program; JR_HOSTILE_DEBUG_KERNEL=1 boots the
# debug kernel (KASAN, lockdep, kmemleak; tools/jr-debug-kernel) instead of
# Debian's.  Ends with the
# program's line
#
#   hostile: <entries> entries, <warnings> kernel warnings, <leaked> leaked slots
#
# and "bench hostile: <s> s in the guest, <s> s in all".  Exit status is the
# program's (1 on a kernel warning, a leak or a stuck call), or jr-vm's.
# See Documentation/testing.md.
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${JR_BUILD_DIR:-$src/build}
prog=$build/selftests/guest/hostile_random
[ -x "$prog" ] || { echo "bench hostile: $prog is not built" >&2; exit 1; }

entries=${JR_HOSTILE_ENTRIES:-1000000}
seconds=${JR_HOSTILE_SECONDS:-510}
args=(--bench --entries "$entries" --seconds "$seconds")
[ -z "${JR_HOSTILE_SEED:-}" ] || args+=(--seed "$JR_HOSTILE_SEED")
# More options for the program (e.g. "--recover 0"), word-split.
# shellcheck disable=SC2206
args+=(${JR_HOSTILE_ARGS:-})

vm_args=(--nics 1)
[ "${JR_HOSTILE_DEBUG_KERNEL:-0}" = 0 ] || vm_args+=(--debug-kernel)

# The whole console is kept: after a kernel problem it says what happened.
console=$build/bench-hostile.console
start=$SECONDS
rc=0
# The guest's own time is the program's; the rest is the boot and the
# runner's kernel log check.
# shellcheck disable=SC2016 # expanded by the guest's shell
# The guest's limit keeps the whole bench under 10 minutes even when the
# kernel wedges: the hostile phase, at most 15 s of settling and the joins.
"$src/tools/jr-vm" run "${vm_args[@]}" --timeout $((seconds + 85)) --log "$console" -- \
	/bin/sh -c 'start=$(cut -d" " -f1 /proc/uptime)
		"$@"; rc=$?
		echo "bench hostile: $(awk -v s="$start" "{ printf \"%.0f\", \$1 - s }" /proc/uptime) s in the guest"
		exit $rc' hostile-bench "$prog" "${args[@]}" || rc=$?
echo "bench hostile: $((SECONDS - start)) s in all (boot included); guest console: $console"
exit "$rc"
