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

. "$(dirname "$0")/lib.sh"
compat_init iperf3

port=5202
bg_start "$T/server.log" iperf3 -s -4 -p "$port" --forceflush
jr_wait_listener tcp "$port"

linux_mark
ns_mark
out=$(peer_run --timeout 120 "iperf3 -c $JR_JOYRIDE_IP -p $port -n $PAYLOAD && iperf3 -c $JR_JOYRIDE_IP -p $port -n $PAYLOAD -R") ||
	fail "the peer's iperf3 -c failed:
$out"
ns_check "$(payload_packets $((2 * PAYLOAD)))"
linux_check $((2 * PAYLOAD))
say "$(echo "$out" | grep -E 'connected to|sender|receiver')"
[ "$(echo "$out" | grep -cE "connected to $JR_JOYRIDE_IP port $port")" -ge 2 ] ||
	fail "the peer's iperf3 -c did not connect to $JR_JOYRIDE_IP twice:
$out"
log=$(cat "$T/server.log")
[ "$(echo "$log" | grep -c "Accepted connection from $JR_PEER_IP")" -ge 2 ] ||
	fail "the guest's iperf3 -s did not accept $JR_PEER_IP twice:
$log"
say "ok: iperf3 -s moved $PAYLOAD bytes each way through Joyride"
