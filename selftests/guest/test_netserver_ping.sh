#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The DPDK path end to end, with real parts: the guest's Linux stack pings the
# netserver's address.  The echo request leaves through the guest's Linux NIC
# (NIC 1), is forwarded by the peer namespace from jrtap1 to jrtap0, enters
# NIC 0 under DPDK's virtio PMD and reaches lwIP in jr-netserver; the reply
# goes back through the netserver's gateway (the peer) the same way.
#
# Needs `tools/jr-vm run --netserver` (the runner starts the netserver, sets
# up the peer's forwarding and the guest's route); skips otherwise.

set -u

skip() { echo "skipped: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

[ -n "${JR_NETSERVER_PID:-}" ] ||
	skip "no netserver (run with tools/jr-vm run --netserver; JR_NETSERVER_PID unset)"
command -v ping >/dev/null || skip "ping is not installed"

ctl=${JR_NETSERVER_CTL:-$JR_SRC_DIR/tools/jr-vm-netserver}
log=$JR_NETSERVER_LOG
ip=$JR_JOYRIDE_IP

# A test before us may have restarted it: ask for the current one.
pid=$("$ctl" pid) || fail "no netserver is running (the runner started pid $JR_NETSERVER_PID)"
kill -0 "$pid" 2>/dev/null || fail "netserver $pid is not alive"
echo "netserver pid $pid"

grep -q "^jr-netserver: info: port 0 up: $ip/" "$log" ||
	fail "the netserver's log $log does not show port 0 up with $ip"
grep -q '^jr-netserver: ready$' "$log" || fail "the netserver's log has no ready line"
grep "port 0 up" "$log" | tail -n1

# The Linux stack must go through the peer, not anywhere else.
route=$(ip route get "$ip") || fail "no route to $ip"
echo "route: $route"
case $route in
*"via $JR_PEER_LINUX_IP dev $JR_GUEST_LINUX_IF"*) ;;
*) fail "$ip is not routed via $JR_PEER_LINUX_IP on $JR_GUEST_LINUX_IF" ;;
esac

# The first request waits for ARP on both hops; allow for TCG.
ping -c 3 -W 5 "$ip" || fail "no echo reply from the netserver at $ip"

# The netserver saw the traffic on its port: statistics on SIGHUP.
lines=$(wc -l <"$log")
kill -HUP "$pid" || fail "cannot signal netserver $pid"
i=0
while [ "$i" -lt 50 ]; do
	stats=$(tail -n +"$((lines + 1))" "$log" | grep -m1 '^  port 0: rx ')
	[ -z "$stats" ] || break
	sleep 0.1
	i=$((i + 1))
done
[ -n "$stats" ] || fail "no statistics in $log after SIGHUP"
echo "statistics:$stats"
rx=$(echo "$stats" | sed -n 's/^ *port 0: rx \([0-9]*\) packets.*/\1/p')
[ "${rx:-0}" -ge 3 ] || fail "the netserver counted ${rx:-no} received packets, expected at least 3"

kill -0 "$pid" 2>/dev/null || fail "netserver $pid died during the test"
echo "ok: $ip answers through DPDK and lwIP"
