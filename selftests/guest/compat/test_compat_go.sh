#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# A Go program (selftests/guest/compat/compat_go.go, CGO_ENABLED=0: static,
# its own raw system calls, non-blocking sockets on Go's epoll poller),
# redirected: a TCP client sending 2 MiB to the peer, a UDP round trip, and
# a TCP server (tcp4) receiving 2 MiB from the peer.  Proof: the program's
# own addresses say 198.18.0.2, the peer logged 198.18.0.2 and reached the
# server at 198.18.0.2, the listener is in /proc/net/joyride with the flag
# inet, the guest's Linux NIC did not carry the data.

. "$(dirname "$0")/lib.sh"
compat_init socat

prog=$JR_BUILD_DIR/selftests/guest/compat_go
[ -x "$prog" ] ||
	skip "$prog is not built (needs Go: tools/jr-deps installs golang-go, then rebuild)"

linux_mark
ns_mark
say "TCP client"
peer_start go-tcp "exec socat -d -d -t 10 TCP4-LISTEN:7831,bind=$JR_PEER_IP,reuseaddr SYSTEM:'wc -c'"
peer_port tcp 7831
out=$("$prog" client "$JR_PEER_IP:7831" "$PAYLOAD" 2>&1) || fail "compat_go client failed: $out"
say "$out"
expect_in "$out" "compat_go client" "^tcp local $JR_JOYRIDE_IP:[0-9]+ remote $JR_PEER_IP:7831\$"
expect_in "$out" "compat_go client" "^reply: *$PAYLOAD\$"
log=$(peer_stop go-tcp)
peer_saw_joyride "$log" "the peer's socat"

say "UDP client"
peer_start go-udp "exec socat -d -d UDP4-LISTEN:7832,bind=$JR_PEER_IP PIPE"
peer_port udp 7832
out=$("$prog" udp "$JR_PEER_IP:7832" 2>&1) || fail "compat_go udp failed: $out"
say "$out"
# A connected UDP socket's getsockname() says 0.0.0.0 where Linux says the
# route's source address: test_compat_udp_getsockname.sh checks that.
expect_in "$out" "compat_go udp" "^udp local ($JR_JOYRIDE_IP|0\\.0\\.0\\.0):[0-9]+ remote $JR_PEER_IP:7832\$"
expect_in "$out" "compat_go udp" "^reply: ping from compat_go\$"
log=$(peer_stop go-udp)
peer_saw_joyride "$log" "the peer's socat"

say "TCP server"
bg_start "$T/server.log" "$prog" server 7833 "$PAYLOAD"
server=$bg_pid
jr_wait_listener tcp 7833
got=$(peer_run --timeout 120 "head -c $PAYLOAD /dev/zero | socat -t 10 - TCP4:$JR_JOYRIDE_IP:7833") ||
	fail "the peer's socat to $JR_JOYRIDE_IP failed: $got"
wait "$server" || fail "compat_go server failed: $(cat "$T/server.log")"
say "$(cat "$T/server.log")"
expect_in "$got" "the guest server's reply" "^$PAYLOAD\$"
expect_in "$(cat "$T/server.log")" "compat_go server" "^accepted local $JR_JOYRIDE_IP:7833 remote $JR_PEER_IP:[0-9]+\$"

ns_check "$((2 * PAYLOAD))"
linux_check $((2 * PAYLOAD))
say "ok: a Go program's TCP and UDP sockets, client and server, went through Joyride"
