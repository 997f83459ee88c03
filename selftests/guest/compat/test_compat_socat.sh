#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# socat, redirected, against socat on the peer: TCP client and server
# (2 MiB each way), a UDP round trip each way (UDP4-LISTEN ... PIPE echoes).
# Proof: the peer's socat logged the guest as 198.18.0.2 and reached the
# guest's servers at 198.18.0.2, the guest's listeners are in
# /proc/net/joyride with the flag inet, the netserver's port moved the
# packets, the guest's Linux NIC did not.

. "$(dirname "$0")/lib.sh"
compat_init socat

make_blob "$T/blob"
want_up=$(sha "$T/blob")
want_down=$(peer_blob socat) || exit 1
linux_mark
ns_mark

say "TCP client: guest socat -> peer TCP4-LISTEN"
peer_start socat-tcp "exec socat -d -d -u TCP4-LISTEN:7811,bind=$JR_PEER_IP,reuseaddr CREATE:socat/recv"
peer_port tcp 7811
socat -u "FILE:$T/blob" "TCP4:$JR_PEER_IP:7811" || fail "socat to the peer failed"
log=$(peer_stop socat-tcp)
expect_in "$log" "the peer's socat" "accepting connection from AF=2 $JR_JOYRIDE_IP:"
peer_saw_joyride "$log" "the peer's socat"
[ "$(peer_sha socat/recv)" = "$want_up" ] ||
	fail "the peer received other data"

say "TCP server: peer socat -> guest TCP4-LISTEN"
bg_start "$T/tcp.log" socat -d -d -u TCP4-LISTEN:7812,reuseaddr "CREATE:$T/recv"
server=$bg_pid
jr_wait_listener tcp 7812
out=$(peer_run --timeout 120 "socat -u FILE:socat/blob TCP4:$JR_JOYRIDE_IP:7812") ||
	fail "the peer's socat to $JR_JOYRIDE_IP failed: $out"
wait "$server" || fail "the guest's socat failed: $(cat "$T/tcp.log")"
expect_in "$(cat "$T/tcp.log")" "the guest's socat" "accepting connection from AF=2 $JR_PEER_IP:"
[ "$(sha "$T/recv")" = "$want_down" ] || fail "the guest's socat received other data"

say "UDP client: guest socat UDP4 -> peer UDP4-LISTEN PIPE (echo)"
peer_start socat-udp "exec socat -d -d UDP4-LISTEN:7813,bind=$JR_PEER_IP PIPE"
peer_port udp 7813
got=$(echo hello-from-guest | socat -t 5 - "UDP4:$JR_PEER_IP:7813") || fail "socat UDP4 failed"
[ "$got" = hello-from-guest ] || fail "the peer's echo came back as '$got'"
log=$(peer_stop socat-udp)
peer_saw_joyride "$log" "the peer's socat"

say "UDP server: peer socat UDP4 -> guest UDP4-LISTEN PIPE (echo)"
bg_start "$T/udp.log" socat -d -d UDP4-LISTEN:7814 PIPE
jr_wait_listener udp 7814
got=$(peer_run "echo hello-from-peer | socat -t 5 - UDP4:$JR_JOYRIDE_IP:7814") ||
	fail "the peer's socat UDP4 failed: $got"
[ "$got" = hello-from-peer ] || fail "the guest's echo came back as '$got'"
expect_in "$(cat "$T/udp.log")" "the guest's socat" "$JR_PEER_IP"

ns_check "$((2 * PAYLOAD))"
linux_check $((2 * PAYLOAD))
say "ok: socat TCP and UDP, client and server, through Joyride"
