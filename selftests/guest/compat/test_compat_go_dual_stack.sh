#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# A Go server (selftests/guest/compat/compat_go.go, CGO_ENABLED=0: its own
# system calls) on net.Listen("tcp", ":7834"), Go's default: after probing
# the system (AF_INET6 sockets bound to ::1 and ::ffff:127.0.0.1, both
# Joyride's here), one AF_INET6 socket on "::" with IPV6_V6ONLY off,
# redirected by net.joyride.redirect_inet6.  The peer sends it 2 MiB over
# IPv6, then 2 MiB over IPv4; the server answers with the count and the
# SHA-256 of what it read, which must be the blob's.  Proof: the listener
# is in /proc/net/joyride, the peer reached it at 2001:2::2 and at
# 198.18.0.2 (only the netserver answers there), the program's own
# addresses say so, and the guest's Linux NIC did not carry the data.

. "$(dirname "$0")/lib.sh"
compat_init6 socat

prog=$JR_BUILD_DIR/selftests/guest/compat_go
[ -x "$prog" ] ||
	skip "$prog is not built (needs Go: tools/jr-deps installs golang-go, then rebuild)"
port=7834
want=$(peer_blob go6)

linux_mark
ns_mark
bg_start "$T/server.log" "$prog" dualserver "$port" "$PAYLOAD" 2
server=$bg_pid
jr_wait_listeners "$port"

# send SOCAT_ADDRESS: the peer sends the blob there; the reply must be its
# length and SHA-256.
send() {
	got=$(peer_run --timeout 120 "socat -t 10 - '$1' <go6/blob") ||
		fail "the peer's socat to $1 failed: $got"
	say "the server's reply to $1: $got"
	[ "$got" = "$PAYLOAD $want" ] ||
		fail "the server read other bytes from $1 than the peer sent:
$(cat "$T/server.log")"
}

send "TCP6:[$JR_JOYRIDE_IP6]:$port"
send "TCP4:$JR_JOYRIDE_IP:$port"
wait "$server" || fail "compat_go dualserver failed: $(cat "$T/server.log")"
log=$(cat "$T/server.log")
say "$log"
expect_in "$log" "compat_go dualserver" "^listening on \[::\]:$port\$"
expect_in "$log" "compat_go dualserver" "^accepted local \[$JR_JOYRIDE_IP6\]:$port remote \[$JR_PEER_IP6\]:[0-9]+\$"
expect_in "$log" "compat_go dualserver" "^accepted local $JR_JOYRIDE_IP:$port remote $JR_PEER_IP:[0-9]+\$"
ns_check $((2 * PAYLOAD))
linux_check $((2 * PAYLOAD))
say "ok: a Go server on \"tcp\" \":$port\" read $PAYLOAD bytes over IPv6 and over IPv4 through Joyride"
