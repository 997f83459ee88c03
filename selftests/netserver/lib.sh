# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Shared set-up for the jr-netserver scenario tests (sourced, not run).
#
# A test calls `jr_setup VARIANT [netserver options]` and gets:
#   - a network namespace of its own (JR_NS, unique per run) holding both
#     ends of the link: the netserver's DPDK port and the Linux interface
#     LX_IF with LX_IP (198.18.0.1/24); the netserver has JR_IP (198.18.0.2);
#   - the link is VARIANT `tap` (net_tap: DPDK creates jrtap0 in the
#     namespace) or `af_packet` (a veth pair jrv0/jrv1; the PMD reads jrv0);
#   - jr-netserver running in the namespace (JR_PID), with its user
#     frontend socket at JR_SOCK, once it printed "jr-netserver: ready";
#   - JR_TMP, a private directory for logs, fifos and ready files.
# Everything is torn down on exit, whatever happens: background programs,
# the netserver (SIGTERM, then SIGKILL), any process left in the namespace,
# the namespace itself and JR_TMP.  On failure the logs are printed first.
#
# Programs: JR_NETSERVER (jr-netserver) and JR_TEST_BIN (the jr-ns-*
# programs); ctest passes both, and by hand they default to ./build.
#
# Exit codes: 0 pass, 1 fail, 77 skip (with the reason on stderr).

JR_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
JR_SRC_DIR=$(cd "$JR_LIB_DIR/../.." && pwd)
: "${JR_NETSERVER:=$JR_SRC_DIR/build/netserver/jr-netserver}"
: "${JR_TEST_BIN:=$JR_SRC_DIR/build/selftests/netserver}"
# The distribution's python3 directly: a version-manager shim earlier in
# PATH (pyenv) costs seconds per start on a loaded machine.
if [[ -x /usr/bin/python3 ]]; then
	JR_PYTHON=/usr/bin/python3
else
	JR_PYTHON=python3
fi
JR_PEER=("$JR_PYTHON" "$JR_LIB_DIR/linux_peer.py")

JR_IP=198.18.0.2
LX_IP=198.18.0.1
JR_PREFIX=24
JR_NS=
JR_PID=
JR_TMP=
JR_OUT=
JR_TEST_NAME=$(basename "$0" .sh)
declare -A JR_BG_PIDS=()

jr_log() {
	echo "$JR_TEST_NAME: $*" >&2
}

jr_fail() {
	echo "$JR_TEST_NAME: FAIL: $*" >&2
	exit 1
}

jr_skip() {
	echo "$JR_TEST_NAME: SKIP: $*" >&2
	exit 77
}

jr_need_tools() {
	local t

	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 ||
			jr_skip "'$t' is not installed (needed for this scenario)"
	done
}

# Microseconds on a monotonic-enough clock (bash 5).
jr_now_us() {
	local t=${EPOCHREALTIME/[.,]/}

	echo "$t"
}

# jr_wait_until TIMEOUT_S WHAT CMD...: poll CMD until it succeeds.
jr_wait_until() {
	local timeout=$1 what=$2 deadline
	shift 2

	deadline=$(( $(jr_now_us) + timeout * 1000000 ))
	until "$@"; do
		if (( $(jr_now_us) > deadline )); then
			jr_fail "timed out after ${timeout} s waiting for $what"
		fi
		if [[ -n $JR_PID ]] && ! kill -0 "$JR_PID" 2>/dev/null; then
			jr_fail "jr-netserver died while waiting for $what"
		fi
		sleep 0.02
	done
}

jr_ns() {
	ip netns exec "$JR_NS" "$@"
}

# jr_bg NAME CMD...: run CMD in the namespace in the background; its
# stdout and stderr go to $JR_TMP/NAME.out and NAME.err.
jr_bg() {
	local name=$1
	shift

	ip netns exec "$JR_NS" "$@" >"$JR_TMP/$name.out" 2>"$JR_TMP/$name.err" &
	JR_BG_PIDS[$name]=$!
}

# jr_bg_held NAME CMD...: like jr_bg, with stdin from a fifo that we hold
# open, so that CMD (a jr-ns-* program with --hold) stays attached until
# jr_release NAME closes it.  The fifo is opened for reading in the
# background child: opening it here first would wait for a writer forever.
declare -A JR_HOLD_FDS=()
jr_bg_held() {
	local name=$1 fifo=$JR_TMP/$1.hold fd
	shift

	mkfifo "$fifo"
	ip netns exec "$JR_NS" "$@" <"$fifo" >"$JR_TMP/$name.out" 2>"$JR_TMP/$name.err" &
	JR_BG_PIDS[$name]=$!
	exec {fd}>"$fifo"
	JR_HOLD_FDS[$name]=$fd
}

jr_release() {
	local fd=${JR_HOLD_FDS[$1]}

	exec {fd}>&-
	unset "JR_HOLD_FDS[$1]"
}

# jr_wait_bg NAME TIMEOUT_S: wait for a background program; returns its
# exit status (so `jr_wait_bg x 10 || jr_fail ...` works under set -e).
jr_wait_bg() {
	local name=$1 timeout=$2 pid=${JR_BG_PIDS[$1]} deadline rc=0

	deadline=$(( $(jr_now_us) + timeout * 1000000 ))
	while kill -0 "$pid" 2>/dev/null; do
		if (( $(jr_now_us) > deadline )); then
			jr_fail "$name did not finish within $timeout s"
		fi
		sleep 0.02
	done
	wait "$pid" || rc=$?
	unset "JR_BG_PIDS[$name]"
	if (( rc != 0 )); then
		jr_log "$name exited with status $rc; its stderr:"
		sed "s/^/  $name: /" "$JR_TMP/$name.err" >&2
	fi
	return "$rc"
}

# jr_kill_bg NAME: stop a background server that runs until killed.
jr_kill_bg() {
	local pid=${JR_BG_PIDS[$1]:-}

	[[ -n $pid ]] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	unset "JR_BG_PIDS[$1]"
}

jr_bg_alive() {
	kill -0 "${JR_BG_PIDS[$1]}" 2>/dev/null
}

# jr_wait_file PATH TIMEOUT_S WHAT [BG-NAME]: a ready file appeared (and
# the program that writes it did not die first).
jr_wait_file() {
	local path=$1 timeout=$2 what=$3 name=${4:-}

	_jr_file_or_dead() {
		[[ -e $path ]] && return 0
		if [[ -n $name ]] && ! jr_bg_alive "$name"; then
			jr_wait_bg "$name" 1 || true
			jr_fail "$name exited before $what"
		fi
		return 1
	}
	jr_wait_until "$timeout" "$what" _jr_file_or_dead
}

# jr_wait_output NAME REGEX TIMEOUT_S: a line of NAME's stdout matches
# (and NAME did not exit first).
jr_wait_output() {
	local name=$1 re=$2 timeout=$3

	_jr_output_or_dead() {
		grep -q -- "$re" "$JR_TMP/$name.out" && return 0
		if ! jr_bg_alive "$name"; then
			grep -q -- "$re" "$JR_TMP/$name.out" && return 0
			jr_wait_bg "$name" 1 || true
			jr_fail "$name exited before printing '$re'"
		fi
		return 1
	}
	jr_wait_until "$timeout" "'$re' from $name" _jr_output_or_dead
}

# A TCP or UDP port in the namespace is bound (for Linux-side servers
# that have no ready file, e.g. python3 -m http.server).
jr_wait_listen() {
	local proto=$1 port=$2 timeout=${3:-10}
	local flag=-t
	[[ $proto == udp ]] && flag=-u

	_jr_listening() {
		jr_ns ss -Hln "$flag" "sport = :$port" | grep -q .
	}
	jr_wait_until "$timeout" "a $proto listener on port $port" _jr_listening
}

# ---------------------------------------------------------- the netserver

_jr_stats_count() {
	grep -c '^jr-netserver statistics$' "$JR_OUT" 2>/dev/null || true
}

# The newest statistics block on the netserver's stdout.
_jr_last_stats() {
	awk '/^jr-netserver statistics$/ { blk = "" } { blk = blk $0 "\n" } END { printf "%s", blk }' \
		"$JR_OUT"
}

# Complete: as many frontend lines as the "frontends: N" line announces.
_jr_stats_complete() {
	local blk n lines

	(( $(_jr_stats_count) > JR_STATS_BEFORE )) || return 1
	blk=$(_jr_last_stats)
	n=$(sed -n 's/^  frontends: \([0-9]*\)$/\1/p' <<<"$blk")
	[[ -n $n ]] || return 1
	lines=$(grep -c 'slots in use' <<<"$blk" || true)
	(( lines == n ))
}

# jr_stats: ask for statistics (SIGHUP) and print the new block.
jr_stats() {
	JR_STATS_BEFORE=$(_jr_stats_count)
	kill -HUP "$JR_PID" || jr_fail "jr-netserver is gone (SIGHUP failed)"
	jr_wait_until 10 "the statistics after SIGHUP" _jr_stats_complete
	_jr_last_stats
}

# Fields of a statistics block (on stdin).
jr_stat_frontends() { sed -n 's/^  frontends: \([0-9]*\)$/\1/p'; }
jr_stat_tcp_open() { sed -n 's/^  tcp: \([0-9]*\) connections open$/\1/p'; }
jr_stat_slots_in_use() {
	awk '/slots in use/ { split($0, a, ": "); split(a[2], b, "/"); n += b[1] } END { print n + 0 }'
}

# The netserver port's counters: "rx_frames rx_bytes tx_frames tx_bytes".
jr_port_counters() {
	local c

	c=$(jr_stats | sed -n 's/.* rx_frames=\([0-9]*\) rx_bytes=\([0-9]*\) .* tx_frames=\([0-9]*\) tx_bytes=\([0-9]*\) .*/\1 \2 \3 \4/p')
	[[ $c =~ ^[0-9]+\ [0-9]+\ [0-9]+\ [0-9]+$ ]] ||
		jr_fail "no port counters in the netserver's statistics: $(_jr_last_stats)"
	echo "$c"
}

jr_mark_port() {
	local c

	c=$(jr_port_counters) || exit 1
	read -r MARK_RXF MARK_RXB MARK_TXF MARK_TXB <<<"$c"
}

# jr_carried WHAT MIN_RX_BYTES MIN_TX_BYTES [MIN_RX_FRAMES MIN_TX_FRAMES]: the
# port received (from Linux) and sent at least that much since jr_mark_port.
jr_carried() {
	local what=$1 min_rxb=$2 min_txb=$3 min_rxf=${4:-0} min_txf=${5:-0}
	local rxf rxb txf txb c

	c=$(jr_port_counters) || exit 1
	read -r rxf rxb txf txb <<<"$c"
	rxf=$((rxf - MARK_RXF)) rxb=$((rxb - MARK_RXB))
	txf=$((txf - MARK_TXF)) txb=$((txb - MARK_TXB))
	(( rxb >= min_rxb && txb >= min_txb && rxf >= min_rxf && txf >= min_txf )) ||
		jr_fail "$what: the netserver's port moved rx $rxf frames/$rxb bytes," \
			"tx $txf frames/$txb bytes; want at least rx $min_rxf/$min_rxb, tx $min_txf/$min_txb"
	PORT_MOVED="rx $rxb, tx $txb bytes"
}

# jr_wait_stat FIELD VALUE TIMEOUT_S: poll the statistics until FIELD
# (frontends, tcp_open, slots_in_use) has VALUE; the reaping of a
# frontend that went away is asynchronous.
jr_wait_stat() {
	local field=$1 want=$2 timeout=$3

	_jr_stat_is() {
		local got

		got=$(jr_stats | "jr_stat_$field")
		JR_LAST_STAT=$got
		[[ $got == "$want" ]]
	}
	JR_LAST_STAT=
	_jr_stat_is && return 0
	local deadline=$(( $(jr_now_us) + timeout * 1000000 ))
	while ! _jr_stat_is; do
		if (( $(jr_now_us) > deadline )); then
			jr_log "last statistics:"
			_jr_last_stats >&2
			jr_fail "netserver $field is $JR_LAST_STAT, want $want"
		fi
		sleep 0.05
	done
}

_jr_ready() {
	grep -q '^jr-netserver: ready$' "$JR_OUT" && return 0
	if ! kill -0 "$JR_PID" 2>/dev/null; then
		jr_fail "jr-netserver exited during start-up"
	fi
	return 1
}

_jr_dump_logs() {
	local f

	for f in "$JR_TMP"/*.out "$JR_TMP"/*.err; do
		[[ -s $f ]] || continue
		echo "----- $(basename "$f") (last 40 lines)" >&2
		tail -n 40 "$f" >&2
	done
}

jr_cleanup() {
	local rc=$? pid pids i

	set +e
	trap - EXIT
	if (( rc != 0 && rc != 77 )) && [[ -n $JR_TMP && -d $JR_TMP ]]; then
		_jr_dump_logs
	fi
	for pid in "${JR_BG_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	if [[ -n $JR_PID ]] && kill -0 "$JR_PID" 2>/dev/null; then
		kill -TERM "$JR_PID"
		for ((i = 0; i < 250; i++)); do
			kill -0 "$JR_PID" 2>/dev/null || break
			sleep 0.02
		done
		kill -KILL "$JR_PID" 2>/dev/null
	fi
	# Whatever still runs in the namespace is ours: the namespace is.
	if [[ -n $JR_NS ]] && ip netns list | grep -qw "$JR_NS"; then
		for ((i = 0; i < 100; i++)); do
			pids=$(ip netns pids "$JR_NS" 2>/dev/null)
			[[ -z $pids ]] && break
			kill -KILL $pids 2>/dev/null
			sleep 0.02
		done
		ip netns delete "$JR_NS"
	fi
	wait 2>/dev/null
	[[ -n $JR_TMP ]] && rm -rf "$JR_TMP"
	exit "$rc"
}

# A run killed without its EXIT trap (SIGKILL from a test timeout) leaves
# its namespace behind; its name ends in the dead shell's pid.  Remove
# those, and only those.
_jr_sweep_stale() {
	local ns pid pids

	for ns in $(ip netns list | awk '$1 ~ /^jrt-.*-[0-9]+$/ { print $1 }'); do
		pid=${ns##*-}
		kill -0 "$pid" 2>/dev/null && continue
		jr_log "removing stale namespace $ns (its test, pid $pid, is gone)"
		pids=$(ip netns pids "$ns" 2>/dev/null)
		[[ -n $pids ]] && kill -KILL $pids 2>/dev/null
		ip netns delete "$ns" 2>/dev/null || true
	done
}

# jr_setup VARIANT [netserver options...]
jr_setup() {
	local variant=${1:-${JR_NS_PORT:-tap}} vdev
	shift || true

	[[ $(id -u) == 0 ]] ||
		jr_skip "needs root (network namespaces, tap/veth devices, DPDK vdevs)"
	jr_need_tools ip ss "$JR_PYTHON"
	[[ -x $JR_NETSERVER ]] || jr_fail "no jr-netserver at $JR_NETSERVER (build first)"
	case $variant in
	tap)		vdev="net_tap0,iface=jrtap0"; LX_IF=jrtap0 ;;
	af_packet)	vdev="net_af_packet0,iface=jrv0"; LX_IF=jrv1 ;;
	*)		jr_fail "unknown port variant '$variant' (tap or af_packet)" ;;
	esac
	JR_VARIANT=$variant
	_jr_sweep_stale

	trap jr_cleanup EXIT
	trap 'exit 130' INT TERM
	JR_TMP=$(mktemp -d "/tmp/jr-ns-$JR_TEST_NAME.XXXXXX")
	JR_SOCK=$JR_TMP/netserver.sock
	JR_OUT=$JR_TMP/netserver.out
	JR_NS=jrt-${JR_TEST_NAME#test_}-$variant-$$
	JR_NS=${JR_NS//_/-}

	ip netns add "$JR_NS" || jr_fail "cannot create namespace $JR_NS"
	jr_ns ip link set lo up
	# No IPv6 chatter (router solicitations, DAD): only the test's traffic.
	jr_ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	if [[ $variant == af_packet ]]; then
		jr_ns ip link add jrv0 type veth peer name jrv1
		jr_ns ip link set jrv0 up
		jr_ns ip addr add "$LX_IP/$JR_PREFIX" dev jrv1
		jr_ns ip link set jrv1 up
		jr_ns "${JR_PEER[@]}" tx-csum-off jrv1
	fi

	# Each run has its own DPDK file prefix as well as --no-shconf, so
	# tests may run side by side.
	ip netns exec "$JR_NS" "$JR_NETSERVER" \
		--eal "--no-huge -m 256 --no-pci --no-shconf --file-prefix jrt$$ --log-level=*:error --vdev $vdev" \
		--ip "$JR_IP/$JR_PREFIX" --listen "$JR_SOCK" --allow-root "$@" \
		>"$JR_OUT" 2>"$JR_TMP/netserver.err" &
	JR_PID=$!
	jr_wait_until 20 "jr-netserver to be ready" _jr_ready

	if [[ $variant == tap ]]; then
		jr_ns ip addr add "$LX_IP/$JR_PREFIX" dev jrtap0
		jr_ns ip link set jrtap0 up
	fi
	jr_log "namespace $JR_NS, $variant port, netserver pid $JR_PID"
}

# jr_finish: the netserver must still run, and stop in order on SIGTERM.
jr_finish() {
	local i rc=0

	kill -0 "$JR_PID" 2>/dev/null || jr_fail "jr-netserver is no longer running"
	kill -TERM "$JR_PID"
	for ((i = 0; i < 500; i++)); do
		kill -0 "$JR_PID" 2>/dev/null || break
		sleep 0.02
	done
	kill -0 "$JR_PID" 2>/dev/null && jr_fail "jr-netserver did not stop within 10 s of SIGTERM"
	wait "$JR_PID" || rc=$?
	JR_PID=
	(( rc == 0 )) || jr_fail "jr-netserver exited with status $rc on SIGTERM"
	jr_log "PASS"
}
