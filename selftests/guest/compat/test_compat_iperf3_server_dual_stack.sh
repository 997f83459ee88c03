#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# iperf3 -s in the guest without -4: it listens on "::" with IPV6_V6ONLY
# off (AF_INET6, net.joyride.redirect_inet6).  The peer's iperf3 -c -R
# has it send 2 MiB over IPv6, then 2 MiB over IPv4.  Proof: the listener
# is in /proc/net/joyride, the peer reached it at 2001:2::2 and at
# 198.18.0.2 (only the netserver answers there), the server accepted the
# peer as 2001:2::1 and 198.18.0.1 (iperf3 prints v4-mapped peers as
# IPv4), and the guest's Linux NIC did not carry the data.  iperf3's bytes
# are not checkable, their count is: the peer received exactly 2 MiB.
#
# As in test_compat_iperf3_server.sh, the second client waits for
# "Server listening ... (test #2)".

. "$(dirname "$0")/lib.sh"
compat_init6 iperf3

port=5206
bg_start "$T/server.log" iperf3 -s -p "$port" --forceflush
jr_wait_listeners "$port"

server_fail() {
	fail "$1
the guest's iperf3 -s said:
$(cat "$T/server.log")"
}

# receive TEST SERVER CLIENT: the peer (CLIENT) receives PAYLOAD bytes from
# the guest's iperf3 -s at SERVER, in the server's test number TEST.
receive() {
	deadline 30
	until grep -q "^Server listening on $port (test #$1)" "$T/server.log"; do
		before_deadline || server_fail "iperf3 -s did not listen for test #$1"
		sleep 0.1
	done
	out=$(peer_run --timeout 120 "iperf3 -c $2 -p $port -n $PAYLOAD -R") ||
		server_fail "the peer's iperf3 -c $2 -R failed:
$out"
	say "$(echo "$out" | grep -E 'connected to|sender|receiver')"
	expect_in "$out" "the peer's iperf3 -c $2 -R" "local $3 port [0-9]+ connected to $2 port $port"
	expect_in "$out" "the peer's iperf3 -c $2 -R" "2\\.00 MBytes .* receiver"
}

linux_mark
ns_mark
receive 1 "$JR_JOYRIDE_IP6" "$JR_PEER_IP6"
receive 2 "$JR_JOYRIDE_IP" "$JR_PEER_IP"
ns_check $((2 * PAYLOAD))
linux_check $((2 * PAYLOAD))

log=$(cat "$T/server.log")
expect_in "$log" "the guest's iperf3 -s" "Accepted connection from $JR_PEER_IP6, port"
expect_in "$log" "the guest's iperf3 -s" "Accepted connection from $JR_PEER_IP, port"
expect_in "$log" "the guest's iperf3 -s" "local $JR_JOYRIDE_IP6 port $port connected to $JR_PEER_IP6 port"
expect_in "$log" "the guest's iperf3 -s" "local $JR_JOYRIDE_IP port $port connected to $JR_PEER_IP port"
say "ok: iperf3 -s on :: sent $PAYLOAD bytes over IPv6 and over IPv4 through Joyride"
