#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test_errors.sh VARIANT - what the network reports reaches the sockets it
# concerns, as on Linux; TCP_SYNCNT; the local address a connect reports;
# connect(AF_UNSPEC).
#
# The netserver's gateway is the Linux side, which forwards and answers
# for four networks behind it (jr_errors.c lists the cases):
#   198.51.100.0/24  no route            ICMP net unreachable (Linux)
#   203.0.113.0/24   route "unreachable" ICMP host unreachable (Linux)
#   203.0.114.0/24   route "prohibit"    ICMP communication prohibited (Linux)
#   192.0.2.0/24     route "blackhole"   crafted ICMP by port, from
#                                        linux_peer.py icmp-responder
# and UDP port 9 on the Linux address has no socket (ICMP port unreachable).
# jr-ns-errors runs every case; here the responder's count of SYNs checks
# that TCP_SYNCNT 1 sent exactly one retransmission.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

jr_setup "${1:-}" --gateway "$LX_IP"

jr_ns sysctl -qw net.ipv4.ip_forward=1
jr_ns ip route add unreachable 203.0.113.0/24
jr_ns ip route add prohibit 203.0.114.0/24
jr_ns ip route add blackhole 192.0.2.0/24
# Linux rate-limits ICMP errors per destination host (a burst of two on
# current kernels): this test wants each one.
jr_ns sysctl -qw net.ipv4.icmp_ratelimit=0

jr_bg icmp "${JR_PEER[@]}" icmp-responder --iface "$LX_IF" --net 192.0.2.0/24 \
	--ready "$JR_TMP/icmp.ready"
jr_wait_file "$JR_TMP/icmp.ready" 10 "the ICMP responder" icmp
jr_bg pyecho "${JR_PEER[@]}" echo-server --bind "$LX_IP:7" --ready "$JR_TMP/pyecho.ready"
jr_wait_file "$JR_TMP/pyecho.ready" 10 "the Linux echo server" pyecho

jr_bg errors "$JR_TEST_BIN/jr-ns-errors" --sock "$JR_SOCK" --local "$JR_IP" \
	--echo "$LX_IP:7" --closed "$LX_IP:9"
jr_wait_bg errors 60 || jr_fail "jr-ns-errors failed"
sed 's/^/  /' "$JR_TMP/errors.err" >&2

syns=$(grep -c '^syn 66$' "$JR_TMP/icmp.out" || true)
(( syns == 2 )) ||
	jr_fail "TCP_SYNCNT 1: the responder saw $syns SYNs to port 66, want 2 (one retransmission)"
jr_log "TCP_SYNCNT 1: one SYN and one retransmission, then ETIMEDOUT"

jr_kill_bg icmp
jr_kill_bg pyecho
jr_wait_stat frontends 0 5
jr_wait_stat slots_in_use 0 5
jr_finish
