#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# iperf3 -c in the guest, redirected, against iperf3 -s on the peer: 2 MiB
# each way (-n 2M, then -R).  Proof: the peer's server accepted its
# connections from 198.18.0.2, the client reports 198.18.0.2 as its local
# address, the netserver's port moved the packets, the guest's Linux NIC
# did not.
#
# Known differences, not failures: iperf3 reads TCP_INFO, TCP_CONGESTION and
# TCP_MAXSEG, which Joyride answers with ENOPROTOOPT (sockets.md): it prints
# "getsockopt - Protocol not available" and meaningless Retr/Cwnd columns.

. "$(dirname "$0")/lib.sh"
compat_init iperf3

port=5201
peer_start iperf3-s "exec iperf3 -s -B $JR_PEER_IP -p $port --forceflush"
peer_port tcp "$port"

linux_mark
ns_mark
up=$(iperf3 -c "$JR_PEER_IP" -p "$port" -n "$PAYLOAD" 2>&1) || fail "iperf3 -c failed:
$up"
say "$(echo "$up" | grep -E 'connected to|sender|receiver')"
down=$(iperf3 -c "$JR_PEER_IP" -p "$port" -n "$PAYLOAD" -R 2>&1) || fail "iperf3 -c -R failed:
$down"
say "$(echo "$down" | grep -E 'connected to|sender|receiver')"
ns_check "$((2 * PAYLOAD))"
linux_check $((2 * PAYLOAD))

expect_in "$up" "iperf3 -c" "local $JR_JOYRIDE_IP port [0-9]+ connected to $JR_PEER_IP port $port"
expect_in "$down" "iperf3 -c -R" "local $JR_JOYRIDE_IP port [0-9]+ connected to $JR_PEER_IP port $port"
expect_in "$up" "iperf3 -c" "2\\.00 MBytes .* sender"
expect_in "$down" "iperf3 -c -R" "2\\.00 MBytes .* receiver"
log=$(peer_stop iperf3-s)
expect_in "$log" "the peer's iperf3 -s" "Accepted connection from $JR_JOYRIDE_IP"
peer_saw_joyride "$log" "the peer's iperf3 -s"
say "ok: iperf3 -c moved $PAYLOAD bytes each way through Joyride"
