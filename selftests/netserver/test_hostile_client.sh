#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test_hostile_client.sh VARIANT - a client that breaks the protocol only
# loses its own sockets.
#
# jr-ns-hostile runs a well-behaved client (client library) that echoes
# through a Linux echo server for the whole test, and meanwhile attaches
# raw frontends (jr_ufront_connect) that post malformed SQEs (bad op, slot,
# flags, family, reserved bytes, random bytes), lie about ring indices (SQ
# producer, CQ consumer, a socket's tx producer and rx consumer, a
# datagram header; then keep posting on the failed socket, or lie while a
# CLOSE drains it), never consume completions, vanish with live
# connections, or connect and never answer the hand-over.  Each case
# checks the contract (frontend dropped, or only the one socket failed
# with -EIO, once, and its CLOSE still answered) and that the good client
# kept making progress; the last one
# also that the good client never paused for more than 500 ms.  Here: the netserver must still run, every frontend must be
# gone at the end, and it must stop in order.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

jr_setup "${1:-}"

jr_bg pyecho "${JR_PEER[@]}" echo-server --bind "$LX_IP:7" --ready "$JR_TMP/pyecho.ready"
jr_wait_file "$JR_TMP/pyecho.ready" 10 "the Linux echo server" pyecho
jr_bg hostile "$JR_TEST_BIN/jr-ns-hostile" --sock "$JR_SOCK" --echo "$LX_IP:7"
jr_wait_bg hostile 60 || jr_fail "jr-ns-hostile failed"
sed 's/^/  /' "$JR_TMP/hostile.err" >&2
kill -0 "$JR_PID" || jr_fail "jr-netserver died"
jr_wait_stat frontends 0 5
jr_wait_stat slots_in_use 0 5
warnings=$(grep -c 'warn' "$JR_TMP/netserver.err" || true)
jr_log "the netserver logged $warnings warnings about hostile input and kept serving"
jr_kill_bg pyecho
jr_finish
