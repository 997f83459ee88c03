#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test_reset_halfclose.sh VARIANT - a peer's reset and half-close, seen
# through the client library (jr-ns-tcpclose against linux_peer.py
# tcpclose; both assert their half).
#
#   1. reset_idle: the Linux peer closes with SO_LINGER {1, 0} (RST): the
#      jr side's recv() fails with ECONNRESET, a later send() fails too.
#   2. reset_after_data: the same after a request/answer exchange.
#   3. peer_half_close: Linux sends 100000 bytes and shutdown(SHUT_WR):
#      the jr side reads exactly those, then recv() == 0 (and again 0),
#      and still sends 200000 bytes, which Linux reads in full.
#   4. our_half_close: the jr side sends, shuts down its write side (a
#      send() after it fails with EPIPE); Linux reads to end of file, then
#      answers; the jr side reads the answer, then end of file.
# Afterwards no TCP connection may still be counted open by the netserver.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

jr_setup "${1:-}"

jr_bg jr "$JR_TEST_BIN/jr-ns-tcpclose" --sock "$JR_SOCK" --port 7 --ready "$JR_TMP/jr.ready"
jr_wait_file "$JR_TMP/jr.ready" 10 "jr-ns-tcpclose to listen" jr
jr_bg linux "${JR_PEER[@]}" tcpclose --connect "$JR_IP:7"
jr_wait_bg linux 30 || jr_fail "the Linux peer failed"
jr_wait_bg jr 10 || jr_fail "jr-ns-tcpclose failed"
sed 's/^/  /' "$JR_TMP/jr.err" >&2

jr_wait_stat frontends 0 5
jr_wait_stat tcp_open 0 5
jr_finish
