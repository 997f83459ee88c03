# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=sh
#
# Shared by the redirect's compatibility tests (test_compat_*.sh): ordinary
# programs whose AF_INET sockets net.joyride.redirect_inet=1 hands to
# Joyride (and AF_INET6 ones, net.joyride.redirect_inet6=1, for the
# *_dual_stack tests), run against the host peer.  Run by
#
#   tools/jr-vm run --redirect \
#       --peer-cmd "python3 $PWD/selftests/guest/peer_agent.py" -- \
#       selftests/jr-guest-run --list selftests/guest/compat.list
#
# The peer side is driven through selftests/guest/peer_agent.py, whose
# control connection must stay on the guest's Linux NIC whatever the
# redirect takes: see compat_agent_address.
#
# Every test proves that Joyride carried the traffic, not Linux, with some
# of:
#   - the peer saw the guest as 198.18.0.2 (the netserver's address; a
#     Linux socket would come from 198.18.1.2), or reached a guest server
#     at 198.18.0.2 or 2001:2::2, which only the netserver answers;
#   - the program itself reports 198.18.0.2 as its local address;
#   - /proc/net/joyride listed the program's socket with the flag "inet",
#     or (AF_INET6 servers) at all: Linux's sockets are never listed there;
#   - the netserver's port moved the bytes (SIGHUP statistics);
#   - the guest's Linux NIC ($JR_GUEST_LINUX_IF) carried much less than
#     the payload.
#
# Usage in a test:
#   . "$(dirname "$0")/lib.sh"
#   compat_init curl wget          # skips (77) unless all is there
#   compat_init6 iperf3            # the same, and AF_INET6 is redirected
#   ...
# compat_init makes $T (a private directory, removed at exit); at exit the
# peer commands started with peer_start, the peer directories made with
# peer_blob and the guest commands started with bg_start go away.

set -u

JR_JOYRIDE_IP=${JR_JOYRIDE_IP:-198.18.0.2}
JR_PEER_IP=${JR_PEER_IP:-198.18.0.1}
JR_GUEST_LINUX_IP=${JR_GUEST_LINUX_IP:-198.18.1.2}
PAYLOAD=$((2 * 1024 * 1024))
JR_PEER_LINUX_IP=${JR_PEER_LINUX_IP:-198.18.1.1}
JR_JOYRIDE_IP6=${JR_JOYRIDE_IP6:-2001:2::2}
JR_PEER_IP6=${JR_PEER_IP6:-2001:2::1}
COMPAT_AGENT=${JR_SRC_DIR:-}/selftests/guest/peer_agent.py
COMPAT_AGENT_PORT=7700

# Seconds since the test started, in tenths, for the messages: under TCG
# the time a step takes is worth seeing.
uptime_ds() { read -r up _ </proc/uptime; up=${up%.*}${up#*.}; echo "${up%?}"; }
compat_t0=$(uptime_ds)
stamp() { t=$(($(uptime_ds) - compat_t0)); echo "[$((t / 10)).$((t % 10))s]"; }

# deadline S / before_deadline: loops bounded in time, not in iterations
# (under TCG an iteration takes much longer than its sleep).
deadline() { compat_deadline=$(($(uptime_ds) + $1 * 10)); }
before_deadline() { [ "$(uptime_ds)" -lt "$compat_deadline" ]; }

skip() { echo "skipped: $*"; exit 77; }
# To stderr, so that it shows from inside $(...) too.
fail() { echo "$(stamp) FAIL: $*" >&2; exit 1; }
say() { echo "$(stamp) $*"; }

T=
compat_peer_jobs=
compat_bg_pids=
compat_peer_dirs=

compat_cleanup() {
	set +e
	for name in $compat_peer_jobs; do
		agent_request "STOP $name KILL 5" >/dev/null 2>&1
	done
	for pid in $compat_bg_pids; do
		kill -KILL "$pid" 2>/dev/null
	done
	[ -z "$compat_peer_dirs" ] ||
		agent_request "RUN 30 rm -rf$compat_peer_dirs" >/dev/null 2>&1
	[ -z "$T" ] || rm -rf "$T"
}

# compat_init PROGRAM...: skip unless this is a --redirect boot with a live
# netserver, the peer agent answers and every PROGRAM is installed.
compat_init() {
	[ "${JR_GUEST:-}" = 1 ] || skip "not in a tools/jr-vm guest"
	[ "${JR_NETSERVER:-}" = 1 ] ||
		skip "no netserver: run with tools/jr-vm run --redirect"
	[ "$(cat /proc/sys/net/joyride/redirect_inet 2>/dev/null)" = 1 ] ||
		skip "net.joyride.redirect_inet is not 1: run with tools/jr-vm run --redirect"
	"$JR_NETSERVER_CTL" pid >/dev/null 2>&1 ||
		skip "no netserver is running"
	for prog in "$@"; do
		command -v "$prog" >/dev/null || skip "$prog is not installed (tools/jr-deps)"
	done
	compat_socat=0
	! command -v socat >/dev/null || compat_socat=1
	compat_agent_address
	T=$(mktemp -d /tmp/compat.XXXXXX) || fail "mktemp"
	trap compat_cleanup EXIT
	# The agent starts with the runner, before the guest: it should be
	# there, but give it a few seconds, once per boot (/tmp is the guest's).
	no_agent="no peer agent on $JR_PEER_LINUX_IP:$COMPAT_AGENT_PORT (--peer-cmd \"python3 \$PWD/selftests/guest/peer_agent.py\")"
	[ ! -e /tmp/compat-no-agent ] || skip "$no_agent"
	deadline 10
	until agent_ok PING 2>/dev/null; do
		if ! before_deadline; then
			: >/tmp/compat-no-agent
			skip "$no_agent"
		fi
		sleep 1
	done
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# compat_init6 PROGRAM...: compat_init for a server that listens on "::"
# (AF_INET6), which only net.joyride.redirect_inet6 hands to Joyride:
# skips also unless the module has that sysctl and it is 1 (tools/jr-vm
# --redirect turns it on where it exists).
compat_init6() {
	[ ! -d /proc/sys/net/joyride ] || [ -e /proc/sys/net/joyride/redirect_inet6 ] ||
		skip "this joyride.ko has no net.joyride.redirect_inet6: AF_INET6 is not redirected"
	compat_init "$@"
	[ "$(cat /proc/sys/net/joyride/redirect_inet6 2>/dev/null)" = 1 ] ||
		skip "net.joyride.redirect_inet6 is not 1: run with tools/jr-vm run --redirect"
}

# ------------------------------------------------------------ the peer

# compat_agent_address: how agent_request reaches the agent, in
# $compat_agent_socat (socat's address).  The control connection must
# stay on Linux, whatever the redirect takes.  Both redirects take TCP
# sockets of protocol 0 or IPPROTO_TCP only, so an MPTCP socket
# (IPPROTO_MPTCP, 262) is Linux's; against the agent's plain TCP listener
# it falls back to TCP.  Without MPTCP (net.mptcp.enabled=0, or the debug
# kernel), an AF_INET6 socket to ::ffff:$JR_PEER_LINUX_IP escapes
# redirect_inet but not redirect_inet6.
compat_agent_address() {
	if [ "$(cat /proc/sys/net/mptcp/enabled 2>/dev/null)" = 1 ]; then
		# socat's generic socket: domain 2 (AF_INET), protocol 262, and
		# the sockaddr_in after its family (port, address, 8 zero bytes).
		# shellcheck disable=SC2086 # split at the dots
		compat_agent_socat=$(IFS=.; set -- $JR_PEER_LINUX_IP
			printf 'SOCKET-CONNECT:2:262:x%04x%02x%02x%02x%02x0000000000000000' \
				"$COMPAT_AGENT_PORT" "$1" "$2" "$3" "$4")
		return 0
	fi
	[ "$(cat /proc/sys/net/joyride/redirect_inet6 2>/dev/null)" != 1 ] ||
		skip "no MPTCP in the guest (net.mptcp.enabled) and net.joyride.redirect_inet6=1: the peer agent's control connection would go through Joyride"
	compat_agent_socat="TCP6:[::ffff:$JR_PEER_LINUX_IP]:$COMPAT_AGENT_PORT"
}

# agent_request LINE: send one request line to the agent, print its reply
# (peer_agent.py describes the protocol).  socat starts several times
# faster than python3 under TCG; python's client is the fallback.  Both
# use a socket the redirect leaves to Linux (compat_agent_address).
agent_request() {
	case $1 in
	*"
"*) fail "agent request with a newline: $1" ;;
	esac
	if [ "$compat_socat" = 1 ]; then
		printf '%s\n' "$1" | socat -t 900 -T 900 - "$compat_agent_socat"
	else
		/usr/bin/python3 "$COMPAT_AGENT" client --port "$COMPAT_AGENT_PORT" \
			--host "$JR_PEER_LINUX_IP" raw "$1"
	fi
}

# agent_ok LINE: a request whose reply is OK; the reply goes to stderr else.
agent_ok() {
	reply=$(agent_request "$1")
	case $reply in
	OK*) return 0 ;;
	esac
	echo "peer agent: ${reply:-no reply} (to: $1)" >&2
	return 1
}

# agent_status LINE: a request answered with STATUS: print the output that
# follows, return the status (0 for "running").
agent_status() {
	agent_request "$1" >"$T/agent.reply" || return 125
	read -r word status _ <"$T/agent.reply"
	if [ "$word" != STATUS ]; then
		echo "peer agent: $(head -n1 "$T/agent.reply") (to: $1)" >&2
		return 125
	fi
	tail -n +2 "$T/agent.reply"
	case $status in
	'' | *[!0-9]*) return 0 ;;
	esac
	return "$status"
}

# peer_run [--timeout S] COMMAND: run a shell command line on the peer (in
# the agent's directory), print its output, return its status.
peer_run() {
	timeout=60
	if [ "$1" = --timeout ]; then
		timeout=$2
		shift 2
	fi
	agent_status "RUN $timeout $1"
}

# peer_start NAME COMMAND: a background command on the peer, stopped at exit.
peer_start() {
	compat_peer_jobs="$compat_peer_jobs $1"
	agent_ok "START $1 $2" || fail "peer: cannot start $1"
}

# peer_stop NAME: stop it (SIGTERM to its process group), print its output.
peer_stop() {
	agent_status "STOP $1 TERM 10"
}

# peer_blob DIR: make the peer directory DIR (in the agent's; removed at
# exit) holding "blob", PAYLOAD random bytes; print their sha256.
peer_blob() {
	compat_peer_dirs="$compat_peer_dirs $1"
	peer_run "rm -rf $1 && mkdir $1 && head -c $PAYLOAD /dev/urandom >$1/blob && sha256sum <$1/blob | cut -d' ' -f1" ||
		fail "peer: cannot make $1/blob"
}

# peer_sha FILE: the sha256 of the peer's FILE.
peer_sha() {
	peer_run "sha256sum <$1 | cut -d' ' -f1"
}

# peer_port tcp|udp PORT: wait until something on the peer listens there.
peer_port() {
	agent_ok "PORT $1 $2 30" || fail "peer: nothing on $1 port $2"
}

# ------------------------------------------------------------ the guest

# bg_start FILE COMMAND...: run COMMAND in the background, output to FILE;
# $bg_pid is its pid.  Killed at exit.
bg_start() {
	out=$1
	shift
	"$@" </dev/null >"$out" 2>&1 &
	bg_pid=$!
	compat_bg_pids="$compat_bg_pids $bg_pid"
}

# jr_sockets PATTERN: the /proc/net/joyride lines matching the extended
# regular expression PATTERN.
jr_sockets() {
	grep -E "$1" /proc/net/joyride
}

# jr_wait_socket PATTERN [S]: wait until /proc/net/joyride has a line
# matching PATTERN (at most S seconds, default 30); print it.
jr_wait_socket() {
	deadline "${2:-30}"
	while before_deadline; do
		if line=$(jr_sockets "$1"); then
			printf '%s\n' "$line"
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# jr_wait_listener tcp|udp PORT: a redirected server socket on PORT (TCP:
# LISTEN, UDP: bound), with the flag inet; fails the test if it does not
# come within 30 s.
jr_wait_listener() {
	if [ "$1" = tcp ]; then
		pattern="^tcp +LISTEN .* [0-9.]+:$2 +[0-9.]+:[0-9]+ .*\\binet\\b"
	else
		pattern="^udp +[A-Z]+ .* [0-9.]+:$2 +[0-9.]+:[0-9]+ .*\\binet\\b"
	fi
	jr_wait_socket "$pattern" >"$T/listener" ||
		fail "no redirected $1 socket on port $2 in /proc/net/joyride:
$(cat /proc/net/joyride)"
	say "/proc/net/joyride: $(cat "$T/listener")"
}

# jr_wait_listeners PORT [N]: wait until /proc/net/joyride lists N
# (default 1) TCP listeners on PORT, whatever their family and the form of
# their address (0.0.0.0:PORT, [::]:PORT ...): the server's listening
# sockets are Joyride's.  Fails the test if they do not come within 30 s.
jr_wait_listeners() {
	deadline 30
	until [ "$(awk -v port="$1" -v out="$T/listener" '
		$1 == "tcp" && $2 == "LISTEN" && $6 ~ ("[^0-9]" port "$") { print >out; n++ }
		END { print n + 0 }' /proc/net/joyride)" -ge "${2:-1}" ]; do
		before_deadline ||
			fail "not ${2:-1} Joyride listener(s) on port $1 in /proc/net/joyride:
$(cat /proc/net/joyride)"
		sleep 0.1
	done
	say "/proc/net/joyride: $(cat "$T/listener")"
}

# jr_watch_start: sample /proc/net/joyride into $T/watch every 0.1 s until
# jr_watch_stop, to catch short-lived client sockets.
jr_watch_start() {
	: >"$T/watch"
	(
		while :; do
			cat /proc/net/joyride >>"$T/watch"
			sleep 0.1
		done
	) &
	watch_pid=$!
	compat_bg_pids="$compat_bg_pids $watch_pid"
}

jr_watch_stop() {
	kill "$watch_pid" 2>/dev/null
	wait "$watch_pid" 2>/dev/null
}

# jr_watch_check PEER_PORT: the samples show a redirected TCP or UDP socket
# whose peer port is PEER_PORT.
jr_watch_check() {
	line=$(grep -E "^(tcp|udp) +[A-Z0-9_]+ +-?[0-9]+ +[0-9]+ +[0-9]+ +[0-9.]+:[0-9]+ +[0-9.]+:$1 .*\\binet\\b" "$T/watch" | head -n1)
	[ -n "$line" ] ||
		fail "/proc/net/joyride never listed a redirected socket to port $1 while the program ran"
	say "/proc/net/joyride: $line"
}

# ------------------------------------------------------------ counters

# linux_mark / linux_check PAYLOAD: the guest's Linux NIC carried less than
# a tenth of PAYLOAD (both directions together) since linux_mark.  The
# agent's control traffic and ARP are all it should carry.
linux_bytes() {
	d=/sys/class/net/${JR_GUEST_LINUX_IF:?}/statistics
	echo $(($(cat "$d/rx_bytes") + $(cat "$d/tx_bytes")))
}

linux_mark() {
	linux_before=$(linux_bytes)
}

linux_check() {
	delta=$(($(linux_bytes) - linux_before))
	say "guest Linux NIC $JR_GUEST_LINUX_IF: $delta bytes (rx + tx) for a payload of $1"
	[ "$delta" -lt $(($1 / 10)) ] ||
		fail "the guest's Linux NIC carried $delta bytes for a payload of $1: Linux carried the traffic"
}

# ns_bytes: "RX TX" bytes of frames through the netserver's port, from the
# statistics it appends to its log on SIGHUP.  Bytes, not packets: with
# TSO and LRO one frame carries up to 64 KiB.
ns_bytes() {
	pid=$("$JR_NETSERVER_CTL" pid) || fail "no netserver running"
	lines=$(wc -l <"$JR_NETSERVER_LOG")
	kill -HUP "$pid" || fail "cannot signal netserver $pid"
	deadline 10
	while before_deadline; do
		stats=$(tail -n +"$((lines + 1))" "$JR_NETSERVER_LOG" | grep -m1 '^  counters: ')
		if [ -n "$stats" ]; then
			echo "$stats" | sed -n 's/.* rx_bytes=\([0-9]*\) .* tx_bytes=\([0-9]*\) .*/\1 \2/p'
			return 0
		fi
		sleep 0.1
	done
	fail "no statistics in $JR_NETSERVER_LOG after SIGHUP"
}

ns_mark() {
	ns_before=$(ns_bytes)
}

# ns_check PAYLOAD: the netserver's port received plus sent at least
# PAYLOAD bytes since ns_mark (frames carry headers too: a lower bound).
ns_check() {
	after=$(ns_bytes)
	# shellcheck disable=SC2086 # two numbers each
	set -- "$1" $ns_before $after
	rx=$(($4 - $2))
	tx=$(($5 - $3))
	say "netserver port 0: rx +$rx tx +$tx bytes"
	[ $((rx + tx)) -ge "$1" ] ||
		fail "the netserver's port moved $((rx + tx)) bytes, expected at least $1"
}

# ------------------------------------------------------------ checks

# expect_in TEXT WHAT PATTERN: TEXT matches the extended regex PATTERN.
expect_in() {
	printf '%s\n' "$1" | grep -Eq -- "$3" ||
		fail "$2 does not show /$3/:
$1"
}

# expect_not_in TEXT WHAT PATTERN
expect_not_in() {
	! printf '%s\n' "$1" | grep -Eq -- "$3" ||
		fail "$2 shows /$3/:
$1"
}

# peer_saw_joyride TEXT WHAT: the peer's log shows the guest as Joyride's
# address and never as the Linux one.
peer_saw_joyride() {
	expect_in "$1" "$2" "(^|[^0-9])198\\.18\\.0\\.2([^0-9]|$)"
	expect_not_in "$1" "$2" "(^|[^0-9])198\\.18\\.1\\.2([^0-9]|$)"
	say "$2: the guest is $JR_JOYRIDE_IP (Joyride), never $JR_GUEST_LINUX_IP (Linux)"
}

# make_blob FILE: PAYLOAD bytes of random data.
make_blob() {
	head -c "$PAYLOAD" /dev/urandom >"$1" || fail "cannot write $1"
}

sha() {
	sha256sum <"$1" | cut -d' ' -f1
}
