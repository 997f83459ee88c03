#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test_many_conns.sh VARIANT - 1000 concurrent TCP connections each way,
# and no slot leaks afterwards.
#
#   1. Linux -> jr: jr-ns-echo server (client library) listens; the Linux
#      peer opens 1000 connections and keeps them all open, sends a line on
#      each, checks each echo, closes them all.  The jr side must then be
#      back to what a bare listener holds (jr_client_open_sockets() as
#      right after listen(): the listener and the ACCEPTs the library keeps
#      posted), and to 0 once the listener is closed; with the client still
#      attached, the netserver's statistics must agree: 0 slots in use, no
#      TCP connection counted open.
#   2. jr -> Linux: jr-ns-echo client opens 1000 connections to a Linux
#      echo server, all open at once, echoes a line on each, closes all;
#      then 0 sockets open on the jr side, and 0 slots in use and no TCP
#      connection counted open in the netserver while the client is still
#      attached.
# After each client detaches, the netserver must report no frontend.
# JR_MANY_CONNS overrides 1000.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

N=${JR_MANY_CONNS:-1000}
jr_setup "${1:-}"

# 1. Linux -> jr.  The jr program holds (stays attached) until released, so
# that the statistics are read while its sockets would still count.
jr_bg_held server "$JR_TEST_BIN/jr-ns-echo" server --sock "$JR_SOCK" --port 7 --conns "$N" \
	--ready "$JR_TMP/server.ready" --hold
jr_wait_file "$JR_TMP/server.ready" 10 "the jr echo server to listen" server
jr_bg linux "${JR_PEER[@]}" many-client --connect "$JR_IP:7" --conns "$N"
jr_wait_bg linux 40 || jr_fail "Linux -> jr: the Linux client failed"
jr_wait_output server '^holding$' 20
grep -q '^open sockets 0 ' "$JR_TMP/server.out" || jr_fail "jr server: $(cat "$JR_TMP/server.out")"
jr_wait_stat frontends 1 5
jr_wait_stat slots_in_use 0 10
jr_wait_stat tcp_open 0 10
jr_log "Linux -> jr: $(sed -n 's/.*server: //p' "$JR_TMP/server.err")"
jr_log "Linux -> jr: back to the bare listener, then $(head -n 1 "$JR_TMP/server.out");" \
	"netserver: 0 slots in use, 0 connections open"
jr_release server
jr_wait_bg server 10 || jr_fail "the jr echo server failed"
jr_wait_stat frontends 0 5

# 2. jr -> Linux
jr_bg pyecho "${JR_PEER[@]}" echo-server --bind "$LX_IP:7" --ready "$JR_TMP/pyecho.ready"
jr_wait_file "$JR_TMP/pyecho.ready" 10 "the Linux echo server" pyecho
jr_bg_held client "$JR_TEST_BIN/jr-ns-echo" client --sock "$JR_SOCK" --connect "$LX_IP:7" \
	--conns "$N" --hold
jr_wait_output client '^holding$' 40
grep -q '^open sockets 0$' "$JR_TMP/client.out" || jr_fail "jr client: $(cat "$JR_TMP/client.out")"
jr_wait_stat frontends 1 5
jr_wait_stat slots_in_use 0 10
jr_wait_stat tcp_open 0 10
jr_log "jr -> Linux: $(grep 'closed in' "$JR_TMP/client.err" | sed 's/.*client: //')"
jr_log "jr -> Linux: afterwards 0 slots in use, 0 connections open"
jr_release client
jr_wait_bg client 10 || jr_fail "the jr echo client failed"
jr_kill_bg pyecho
jr_wait_stat frontends 0 5

jr_finish
