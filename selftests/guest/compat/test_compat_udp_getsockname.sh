#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# getsockname() of a connected, unbound UDP socket, redirected.  Linux
# picks the source address when the socket connects (the route's, here
# 198.18.0.2 through Joyride) and getsockname() reports it; programs use
# "connect a UDP socket, getsockname()" to learn their outgoing address.
# A netserver that replies to CONNECT with lwIP's pcb->local_ip as
# udp_connect() leaves it (IP_ANY: lwIP picks the source per datagram)
# makes it 0.0.0.0 instead: this test fails then.
# (selftests/guest/static_client.c, against a UDP echo on the peer.)

. "$(dirname "$0")/lib.sh"
compat_init socat

client=$JR_BUILD_DIR/selftests/guest/static_client
[ -x "$client" ] || skip "$client is not built"

peer_start udp-echo "exec socat -d -d UDP4-LISTEN:7841,bind=$JR_PEER_IP PIPE"
peer_port udp 7841
out=$("$client" udp "$JR_PEER_IP" 7841) || fail "static_client udp failed: $out"
say "$out"
expect_in "$out" "static_client udp" "^reply: ping from static_client\$"
log=$(peer_stop udp-echo)
peer_saw_joyride "$log" "the peer's socat"
case $out in
*"local $JR_JOYRIDE_IP:"*)
	say "ok: a connected UDP socket reports its source address $JR_JOYRIDE_IP, as on Linux" ;;
*"local 0.0.0.0:"*)
	fail "getsockname() of a connected UDP socket says 0.0.0.0, Linux says the source address ($JR_JOYRIDE_IP): the netserver's CONNECT reply carries lwIP's unset pcb->local_ip (netserver/service.c, op_connect)" ;;
*)
	fail "unexpected local address: $out" ;;
esac
