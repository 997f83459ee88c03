#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# iperf3 -s in the guest, redirected, driven by iperf3 -c on the peer: 2 MiB
# each way (-n 2M, then -R).  Proof: the listener is in /proc/net/joyride
# with the flag inet, the peer reached it at 198.18.0.2, the server accepted
# the peer as 198.18.0.1, the guest's Linux NIC did not carry the data.
#
# -4: without it iperf3 -s listens on "::" (AF_INET6, dual-stack), which the
# redirect leaves to Linux by design.
#
# Between two tests iperf3 -s closes its listener and makes a new one; a
# client that connects meanwhile lands in the old one's queue and is reset
# when it closes (as on Linux; the window is just much longer under TCG).
# So the second client waits for "Server listening ... (test #2)".
#
# Known differences, not failures: iperf3 reads TCP_INFO, TCP_CONGESTION and
# TCP_MAXSEG, which Joyride answers with ENOPROTOOPT (sockets.md): it prints
# "getsockopt - Protocol not available" and meaningless Retr/Cwnd columns.
# The receiving server counts what arrived before the client's TEST_END, so
# it may report less than 2 MiB when the guest receives.

. "$(dirname "$0")/lib.sh"
compat_init iperf3

port=5202
bg_start "$T/server.log" iperf3 -s -4 -p "$port" --forceflush
jr_wait_listener tcp "$port"

server_fail() {
	fail "$1
the guest's iperf3 -s said:
$(cat "$T/server.log")"
}

linux_mark
ns_mark
up=$(peer_run --timeout 120 "iperf3 -c $JR_JOYRIDE_IP -p $port -n $PAYLOAD") ||
	server_fail "the peer's iperf3 -c failed:
$up"
say "$(echo "$up" | grep -E 'connected to|sender|receiver')"
deadline 30
until grep -q "^Server listening on $port (test #2)" "$T/server.log"; do
	before_deadline || server_fail "iperf3 -s did not listen again after the first test"
	sleep 0.1
done
down=$(peer_run --timeout 120 "iperf3 -c $JR_JOYRIDE_IP -p $port -n $PAYLOAD -R") ||
	server_fail "the peer's iperf3 -c -R failed:
$down"
say "$(echo "$down" | grep -E 'connected to|sender|receiver')"
ns_check "$PAYLOAD"
linux_check $((2 * PAYLOAD))

expect_in "$up" "the peer's iperf3 -c" "local $JR_PEER_IP port [0-9]+ connected to $JR_JOYRIDE_IP port $port"
expect_in "$down" "the peer's iperf3 -c -R" "local $JR_PEER_IP port [0-9]+ connected to $JR_JOYRIDE_IP port $port"
expect_in "$down" "the peer's iperf3 -c -R" "2\\.00 MBytes .* receiver"
log=$(cat "$T/server.log")
[ "$(echo "$log" | grep -c "Accepted connection from $JR_PEER_IP")" -ge 2 ] ||
	server_fail "the guest's iperf3 -s did not accept $JR_PEER_IP twice"
say "ok: iperf3 -s moved $PAYLOAD bytes each way through Joyride"
