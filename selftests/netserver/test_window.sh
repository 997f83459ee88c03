#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test_window.sh VARIANT - the TCP window a connection advertises is its
# socket's receive ring (--rx-buf), not a compile-time constant.
#
# The netserver runs with --rx-buf 32k.  A jr receiver accepts a connection
# from Linux and reads nothing until told to; Linux sends 1 MiB without
# blocking until the window closes and reads from TCP_INFO what the
# receiver acknowledged: the 32 KiB ring, and never more than the 64 KiB
# its SYN-ACK announced before the connection knew its ring.  (With lwIP's
# window fixed at 256 KiB the netserver acknowledged 256 KiB and held what
# did not fit the ring in its own memory.)  Then the receiver reads it all
# and checks every byte, so the window also reopens as the ring drains.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

RING=32768
BYTES=1048576
SYNACK_WINDOW=65535

jr_setup "${1:-}" --rx-buf 32k
port=5100

jr_bg recv "$JR_TEST_BIN/jr-ns-stream" recv --sock "$JR_SOCK" --listen $port \
	--bytes $BYTES --seed 31 --wait-for "$JR_TMP/go" --ready "$JR_TMP/ready"
jr_wait_file "$JR_TMP/ready" 10 "the jr receiver to listen" recv
jr_bg probe "${JR_PEER[@]}" window --connect "$JR_IP:$port" --bytes $BYTES \
	--seed 31 --go "$JR_TMP/go"
jr_wait_bg probe 60 ||
	jr_fail "the Linux sender failed: $(cat "$JR_TMP/probe.err"); the jr receiver: $(cat "$JR_TMP/recv.err")"
jr_wait_bg recv 30 || jr_fail "the jr receiver failed: $(cat "$JR_TMP/recv.err")"

acked=$(sed -n 's/^acked \([0-9]*\)$/\1/p' "$JR_TMP/probe.out")
[[ -n $acked ]] || jr_fail "no figure from the Linux sender: $(cat "$JR_TMP/probe.out")"
jr_log "a receiver with a $RING-byte ring that read nothing let in $acked bytes"
(( acked >= RING / 2 )) ||
	jr_fail "only $acked bytes acknowledged: the window did not open to the ring"
(( acked <= SYNACK_WINDOW )) ||
	jr_fail "$acked bytes acknowledged: more than the $RING-byte ring and the SYN-ACK's window"
jr_log "then all $BYTES bytes arrived, checked ($(sed -n 's/.*received //p' "$JR_TMP/recv.err"))"
jr_finish
