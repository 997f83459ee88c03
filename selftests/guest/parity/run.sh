#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run.sh: Linux's own socket selftests (tools/testing/selftests/net/ of
# linux-source-6.1, built by CMakeLists.txt here) on Linux and redirected
# to Joyride, in one guest boot; the guest side of `tools/joyride bench
# parity` (tools/bench/parity.sh) and of its test in parity.list.
#
#   tools/jr-vm run --redirect [--share DIR] -- \
#       selftests/guest/parity/run.sh [--test] [--out DIR] [NAME...]
#
# For every program of programs.list that has "run" cases (or the NAMEs
# given), each case runs first with net.joyride.redirect_inet and
# redirect_inet6 at 0 (the reference: Linux's stack), then at 1 (Joyride,
# served by the boot's netserver), each under a time limit
# (JR_PARITY_TIMEOUT seconds, default 15; then its process group is
# killed and its status is 124).  A program is the same as Linux when
# every case exits with the same status in both runs, what its "check"
# expression picks out of the output (the program's own pass/fail lines)
# is the same, and the redirect really took its sockets: kprobe events on
# Joyride's AF_INET/AF_INET6 socket constructors (jr_create_inet,
# jr_create_inet6) and on Linux's (inet_create, inet6_create), counted
# for user-space sockets (kern == 0) of the program's processes (by name),
# say how many of its sockets each stack created.  A Joyride run that
# created no Joyride socket is "not redirected", not a match; a reference
# run that created one is not a match either.
#
# Output: one line per program,
#   NAME: same (J of N sockets redirected; S s on Linux, S s on Joyride)
#   NAME: differs: case K `CMD`: ...; ... (J of N sockets redirected; ...)
#   NAME: not redirected: ...
#   NAME: n/a: REASON
# and last
#   parity: <same> of <total> kernel net selftests same as Linux
# Each case's output is kept in DIR/NAME/{linux,joyride}.K.out, what its
# check expression picked in .lines (DIR: --out, default /tmp/jr-parity).
#
# --test (tools/joyride test, compat.list): only the programs that have no
# "expect" line in programs.list (unless NAMEs are given), and exit 1 if
# one of them is not the same as Linux; skip (77) without joyride.ko's
# redirect or a netserver.  Otherwise the exit status is 0 once every
# program ran, whatever the parity.
#
# Under TCG every process start costs tens of milliseconds, more on a
# busy host: per case the runner itself starts none (the watchdog sleeps
# in `read -t` on a FIFO nobody writes, the pass/fail lines are picked
# with the shell's own regular expressions).
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
list=$here/programs.list
build=${JR_BUILD_DIR:-$(cd "$here/../../.." && pwd)/build}
dir=$build/selftests/guest/parity
bin=$dir/bin
out=/tmp/jr-parity
test_mode=0
timeout_s=${JR_PARITY_TIMEOUT:-15}
only=()

usage() {
	echo "usage: $0 [--test] [--out DIR] [NAME...]" >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
	--test) test_mode=1 ;;
	--out) [ $# -ge 2 ] || usage; out=$2; shift ;;
	-h|--help) usage ;;
	-*) usage ;;
	*) only+=("$1") ;;
	esac
	shift
done

cannot_run() {
	if [ "$test_mode" = 1 ]; then
		echo "skipped: $*"
		exit 77
	fi
	echo "parity: cannot run: $*" >&2
	exit 2
}

inet=/proc/sys/net/joyride/redirect_inet
inet6=/proc/sys/net/joyride/redirect_inet6
[ -e "$inet" ] || cannot_run "no $inet: joyride.ko is not loaded"
[ -e "$inet6" ] || cannot_run "no $inet6: this joyride.ko does not redirect AF_INET6"
read -r v <"$inet"
[ "$v" = 1 ] ||
	cannot_run "net.joyride.redirect_inet is not 1: run under tools/jr-vm run --redirect"
if [ -z "${JR_NETSERVER_CTL:-}" ] || ! "$JR_NETSERVER_CTL" pid >/dev/null 2>&1; then
	cannot_run "no netserver is running: run under tools/jr-vm run --redirect"
fi
[ -d "$bin" ] || {
	echo "parity: $bin is not built (cmake --build; tools/joyride build)" >&2
	exit 1
}

# ------------------------------------------------------------ the table

declare -a names=()
declare -A seen=() runs=() checks=() expects=() nas=()
while IFS= read -r line; do
	case $line in
	'' | '#'*) continue ;;
	esac
	name=${line%%: *}
	rest=${line#*: }
	kind=${rest%%: *}
	text=${rest#*: }
	if [ -z "${seen[$name]:-}" ]; then
		names+=("$name")
		seen[$name]=1
	fi
	case $kind in
	run) runs[$name]+=$text$'\n' ;;
	check) checks[$name]=$text ;;
	expect) expects[$name]=$text ;;
	n/a) nas[$name]=$text ;;
	*) echo "parity: $list: unknown kind '$kind' for $name" >&2; exit 2 ;;
	esac
done <"$list"

if [ ${#only[@]} -gt 0 ]; then
	for name in "${only[@]}"; do
		[ -n "${seen[$name]:-}" ] || { echo "parity: $name is not in $list" >&2; exit 2; }
	done
	names=("${only[@]}")
fi

# Programs of linux-source's directory that the table does not know.
for src in "$dir"/selftests/net/*.c; do
	[ -e "$src" ] || continue
	name=${src##*/}
	name=${name%.c}
	[ -n "${seen[$name]:-}" ] ||
		echo "parity: warning: $name.c of linux-source is not in programs.list"
done

# Process names (comm, 15 characters) whose sockets are counted.
comms=
for name in "${!runs[@]}"; do
	comms+=" ${name:0:15}"
done

# ------------------------------------------------------------ helpers

# fd 3: a FIFO nobody writes, so that `read -t` sleeps without a process.
fifo=/tmp/jr-parity.fifo.$$
mkfifo "$fifo" && exec 3<>"$fifo" && rm -f "$fifo" || exit 2
# nap S: sleep S seconds, or less if a line comes (run_case's watchdog).
nap() {
	read -r -t "$1" -u 3 _
}

# shellcheck disable=SC2317 # port_bound and pair are called from the cases
# port_bound PORT: a TCP listener or an unconnected UDP socket on PORT, on
# Linux (/proc/net/{tcp,udp}{,6}) or on Joyride (/proc/net/joyride).
port_bound() {
	local hex f loc rem st state
	printf -v hex '%04X' "$1"
	for f in /proc/net/tcp /proc/net/tcp6 /proc/net/udp /proc/net/udp6; do
		while read -r _ loc rem st _; do
			[[ $loc == *:$hex && $rem =~ ^0+:0000$ && ($st == 0A || $st == 07) ]] &&
				return 0
		done <"$f"
	done
	[ -r /proc/net/joyride ] || return 1
	while read -r _ state _ _ _ loc _; do
		[[ ($state == LISTEN || $state == UNCONN) && $loc == *:"$1" ]] && return 0
	done </proc/net/joyride
	return 1
}

# For the cases: pair RECEIVER SENDER runs the receiver in the background
# and the sender once the receiver is bound (port $PAIR_PORT, default 8000,
# msg_zerocopy's and io_uring_zerocopy_tx's), as msg_zerocopy.sh and
# io_uring_zerocopy_tx.sh run them.  Prints "pair: receiver exit N, sender
# exit N"; returns the sender's status, or the receiver's if the sender
# succeeded.  A receiver still running 10 s after the sender is killed.
# shellcheck disable=SC2317
pair() {
	local rx_pid rc_rx rc_tx i
	eval "$1" &
	rx_pid=$!
	for ((i = 0; i < 100; i++)); do
		port_bound "${PAIR_PORT:-8000}" && break
		nap 0.1
	done
	eval "$2"
	rc_tx=$?
	for ((i = 0; i < 100; i++)); do
		kill -0 "$rx_pid" 2>/dev/null || break
		nap 0.1
	done
	kill "$rx_pid" 2>/dev/null
	wait "$rx_pid"
	rc_rx=$?
	echo "pair: receiver exit $rc_rx, sender exit $rc_tx"
	[ "$rc_tx" -ne 0 ] && return "$rc_tx"
	return "$rc_rx"
}

# pick FILE REGEX: the first match of REGEX in each line of FILE (grep -oE,
# one match a line).
pick() {
	local line
	while IFS= read -r line || [ -n "$line" ]; do
		[[ $line =~ $2 ]] && printf '%s\n' "${BASH_REMATCH[0]}"
	done <"$1"
}

# last_words FILE: for the report, its last error message ("program: ...",
# as error(3) and perror(3) print them), else its last line that says
# something.
last_words() {
	local line last='' error=''
	while IFS= read -r line || [ -n "$line" ]; do
		[[ -z ${line// /} || $line == "pair: "* ]] && continue
		last=$line
		[[ $line =~ ^[A-Za-z0-9_]+:\  ]] && error=$line
	done <"$1"
	last=${error:-$last}
	printf '%s' "${last:0:160}"
}

# usecs: now, in microseconds.
usecs() {
	local t=${EPOCHREALTIME/,/.}
	echo "${t/./}"
}

# secs A B: B - A microseconds in seconds, one decimal.
secs() {
	local d=$((($2 - $1 + 50000) / 100000))
	echo "$((d / 10)).$((d % 10))"
}

# ------------------------------------------------------------ tracing

tr=/sys/kernel/tracing
# event:symbol; each records the process name and the constructor's kern
# argument (the fourth of (net, sock, protocol, kern)).
probes="jr_inet:joyride:jr_create_inet jr_inet6:joyride:jr_create_inet6 linux_inet:inet_create linux_inet6:inet6_create"

trace_stop() {
	[ -e "$tr/events/jrparity/enable" ] || return 0
	echo 0 >"$tr/events/jrparity/enable"
	for p in $probes; do
		echo "-:jrparity/${p%%:*}" >>"$tr/kprobe_events"
	done 2>/dev/null
}

trace_start() {
	local p
	[ -w "$tr/kprobe_events" ] || { echo "no $tr/kprobe_events"; return 1; }
	trace_stop
	for p in $probes; do
		# shellcheck disable=SC2016 # $comm and $arg4 are the tracer's
		echo "p:jrparity/${p%%:*} ${p#*:} comm=\$comm kern=\$arg4:s32" >>"$tr/kprobe_events" ||
			{ echo "cannot add kprobe event ${p#*:}"; return 1; }
	done
	: >"$tr/trace"
	echo 1 >"$tr/events/jrparity/enable" || { echo "cannot enable the events"; return 1; }
	echo 1 >"$tr/tracing_on"
}

# trace_counts NAME: "J0 L0 J1 L1": user-space sockets that the counted
# processes created on Joyride (J) and on Linux (L) during NAME's Linux
# (0) and Joyride (1) runs, which begin with a trace marker each.
trace_counts() {
	awk -v names="$comms" -v prog="$1" '
		BEGIN { n = split(names, a, " "); for (i = 1; i <= n; i++) want[a[i]] = 1; run = -1 }
		/tracing_mark_write: jrparity-run / {
			run = ($(NF - 1) == prog) ? $NF : -1
			next
		}
		run >= 0 && / (jr|linux)_inet6?: / && / kern=0/ {
			if (!match($0, /comm="[^"]*"/))
				next
			c = substr($0, RSTART + 6, RLENGTH - 7)
			if (!(c in want))
				next
			if ($0 ~ / jr_inet6?: /)
				j[run]++
			else
				l[run]++
		}
		END { print j[0] + 0, l[0] + 0, j[1] + 0, l[1] + 0 }' "$tr/trace"
}

# ------------------------------------------------------------ state

set_redirect() {
	echo "$1" >"$inet" && echo "$1" >"$inet6"
}

# What cases change (the sysctls of the kernel's wrapper scripts, lo's
# MTU and udpgso's route), put back after each, with the shell's builtins.
state_sysctls="net/ipv6/auto_flowlabels net/ipv4/ip_local_port_range net/ipv4/ip_autobind_reuse"
declare -A saved=()
for s in $state_sysctls; do
	IFS= read -r "saved[$s]" <"/proc/sys/$s"
done
IFS= read -r saved_lo_mtu </sys/class/net/lo/mtu

restore_state() {
	local s v ifc dest rest
	for s in $state_sysctls; do
		IFS= read -r v <"/proc/sys/$s"
		[ "$v" = "${saved[$s]}" ] || echo "${saved[$s]}" >"/proc/sys/$s"
	done
	IFS= read -r v </sys/class/net/lo/mtu
	[ "$v" = "$saved_lo_mtu" ] || echo "$saved_lo_mtu" >/sys/class/net/lo/mtu
	# udpgso -c: "ip route add dev lo mtu 1500 127.0.0.3/32"
	while read -r ifc dest rest; do
		if [ "$ifc" = lo ] && [ "$dest" = 0300007F ]; then
			ip route del 127.0.0.3/32 dev lo table main
			break
		fi
	done </proc/net/route
}

# Only by this shell: a subshell that a signal reaches before it has reset
# the traps it inherited would run them too.
main_pid=$BASHPID
# shellcheck disable=SC2317 # run by the trap
cleanup() {
	[ "$BASHPID" = "$main_pid" ] || return 0
	trace_stop
	set_redirect 1 2>/dev/null
	restore_state 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------ a case

# Each case is a job of its own (job control: its own process group), so
# that the watchdog and the clean-up after it reach whatever it started.
set -m
work=/tmp/jr-parity-work
mkdir -p "$work"
timedout=/tmp/jr-parity.timedout
: >"$timedout"

# run_case RUN(0|1) NAME K CMD: runs it, writes
# $out/NAME/{linux,joyride}.K.{out,lines}, sets case_rc and case_lines.
run_case() {
	local run=$1 name=$2 k=$3 cmd=$4 label=linux f pid wd t
	[ "$run" = 1 ] && label=joyride
	f=$out/$name/$label.$k
	echo "jr-parity: $name, $label, case $k: $cmd" >/dev/kmsg 2>/dev/null
	(
		cd "$work" || exit 125
		export PARITY_RUN=$run PATH=$bin:$PATH
		eval "$cmd"
	) >"$f.out" 2>&1 </dev/null &
	pid=$!
	# The watchdog: a line on the FIFO (below) ends it; nothing for
	# timeout_s seconds, it stops the case.
	(
		nap "$timeout_s" && exit 0
		echo "$pid" >"$timedout"
		kill -TERM -- "-$pid"
		nap 5 && exit 0
		kill -KILL -- "-$pid"
	) </dev/null >/dev/null 2>&1 &
	wd=$!
	wait "$pid" 2>/dev/null
	case_rc=$?
	echo >&3
	wait "$wd" 2>/dev/null
	kill -KILL -- "-$pid" 2>/dev/null	# what it left running
	read -r t <"$timedout"
	if [ "$t" = "$pid" ]; then
		case_rc=124
		echo "parity: timed out after $timeout_s s" >>"$f.out"
	fi
	restore_state
	case_lines=
	[ -z "${checks[$name]:-}" ] || case_lines=$(pick "$f.out" "${checks[$name]}")
	printf '%s' "${case_lines:+$case_lines$'\n'}" >"$f.lines"
}

# ------------------------------------------------------------ the runs

mkdir -p "$out" || exit 2
trace_ok=0
if why=$(trace_start); then
	trace_ok=1
else
	echo "parity: warning: no kprobe events ($why): the redirect of each program cannot be verified"
fi

same=0
total=0
unexpected=()
not_run=()
for name in "${names[@]}"; do
	if [ -n "${nas[$name]:-}" ]; then
		[ "$test_mode" = 1 ] || echo "$name: n/a: ${nas[$name]}"
		continue
	fi
	[ -n "${runs[$name]:-}" ] || continue
	if [ "$test_mode" = 1 ] && [ ${#only[@]} = 0 ] && [ -n "${expects[$name]:-}" ]; then
		not_run+=("$name")
		continue
	fi
	total=$((total + 1))
	rm -rf "${out:?}/$name"
	mkdir -p "$out/$name"
	# (No process substitution: the guest has no /dev/fd.)
	mapfile -t cases <<<"${runs[$name]%$'\n'}"
	if [ ! -x "$bin/$name" ]; then
		verdict="differs: $bin/$name is not built"
	else
		declare -A took=() rcs=() lines=()
		for run in 0 1; do
			set_redirect "$run" || { echo "parity: cannot set the redirect to $run" >&2; exit 2; }
			[ "$trace_ok" = 0 ] || echo "jrparity-run $name $run" >"$tr/trace_marker"
			t0=$(usecs)
			for k in "${!cases[@]}"; do
				run_case "$run" "$name" "$((k + 1))" "${cases[$k]}"
				rcs[$run.$k]=$case_rc
				lines[$run.$k]=$case_lines
			done
			took[$run]=$(secs "$t0" "$(usecs)")
		done
		set_redirect 1
		diffs=
		failing=
		for k in "${!cases[@]}"; do
			n=$((k + 1))
			[ "${rcs[0.$k]}" = 0 ] || failing=", fails on Linux too"
			if [ "${rcs[0.$k]}" != "${rcs[1.$k]}" ]; then
				diffs+="; case $n \`${cases[$k]}\`: exit ${rcs[1.$k]}, Linux ${rcs[0.$k]}: \"$(last_words "$out/$name/joyride.$n.out")\""
			elif [ "${lines[0.$k]}" != "${lines[1.$k]}" ]; then
				mapfile -t a <<<"${lines[0.$k]}"
				mapfile -t b <<<"${lines[1.$k]}"
				for ((i = 0; i < ${#a[@]} || i < ${#b[@]}; i++)); do
					[ "${a[i]:-}" = "${b[i]:-}" ] || break
				done
				diffs+="; case $n \`${cases[$k]}\`: exit ${rcs[1.$k]} as on Linux, but its results differ: \"${b[i]:-(nothing)}\", Linux \"${a[i]:-(nothing)}\""
			fi
		done
		times="${took[0]} s on Linux, ${took[1]} s on Joyride"
		if [ "$trace_ok" = 1 ]; then
			read -r j0 _ j1 l1 <<<"$(trace_counts "$name")"
			sockets="$j1 of $((j1 + l1)) sockets redirected"
		else
			j0=0 j1=0 l1=0
			sockets="redirect not verified"
		fi
		if [ "$trace_ok" = 1 ] && [ "$j0" != 0 ]; then
			verdict="differs: the Linux run created $j0 Joyride sockets: the redirect was not off ($times)"
		elif [ "$trace_ok" = 1 ] && [ "$j1" = 0 ]; then
			if [ "$l1" = 0 ]; then
				verdict="not redirected: it created no AF_INET/AF_INET6 socket in the Joyride run ($times)"
			else
				verdict="not redirected: all its $l1 AF_INET/AF_INET6 sockets stayed on Linux ($times)"
			fi
		elif [ "$trace_ok" = 0 ]; then
			verdict="differs: ${diffs:+${diffs#; }; }$sockets, so not counted as the same ($times)"
		elif [ -n "$diffs" ]; then
			verdict="differs: ${diffs#; } ($sockets; $times)"
		else
			verdict="same ($sockets$failing; $times)"
		fi
	fi
	echo "$name: $verdict"
	case $verdict in
	same*)
		same=$((same + 1))
		[ -z "${expects[$name]:-}" ] ||
			echo "  ($name is listed as expected to differ but is the same now: drop its expect line)"
		;;
	*)
		if [ -n "${expects[$name]:-}" ]; then
			echo "  (expected: ${expects[$name]})"
		else
			unexpected+=("$name")
		fi
		;;
	esac
done

[ ${#not_run[@]} = 0 ] ||
	echo "parity: expected to differ, so not run by --test (tools/joyride bench parity runs them): ${not_run[*]}"
echo "parity: $same of $total kernel net selftests same as Linux"
if [ "$test_mode" = 1 ] && [ ${#unexpected[@]} -gt 0 ]; then
	echo "parity: not the same as Linux, and not expected to differ: ${unexpected[*]}"
	exit 1
fi
exit 0
