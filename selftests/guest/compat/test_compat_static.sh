#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# A statically linked C client (selftests/guest/static_client.c: glibc
# static, plain socket(AF_INET, ...)), redirected: 2 MiB over TCP to the
# peer, which answers with the count, and a UDP round trip.  Proof: the
# program's own getsockname() says 198.18.0.2 while SO_DOMAIN says AF_INET,
# the peer logged 198.18.0.2, the netserver's port moved the packets, the
# guest's Linux NIC did not.

. "$(dirname "$0")/lib.sh"
compat_init socat

client=$JR_BUILD_DIR/selftests/guest/static_client
[ -x "$client" ] || skip "$client is not built"
ldd "$client" >/dev/null 2>&1 && fail "$client is dynamically linked"

linux_mark
ns_mark
peer_start static-tcp "exec socat -d -d -t 10 TCP4-LISTEN:7821,bind=$JR_PEER_IP,reuseaddr SYSTEM:'wc -c'"
peer_port tcp 7821
out=$("$client" tcp "$JR_PEER_IP" 7821 "$PAYLOAD") || fail "static_client tcp failed: $out"
say "$out"
expect_in "$out" "static_client tcp" "^domain 2 local $JR_JOYRIDE_IP:[0-9]+ peer $JR_PEER_IP:7821\$"
expect_in "$out" "static_client tcp" "^reply: *$PAYLOAD\$"
log=$(peer_stop static-tcp)
expect_in "$log" "the peer's socat" "accepting connection from AF=2 $JR_JOYRIDE_IP:"
peer_saw_joyride "$log" "the peer's socat"

peer_start static-udp "exec socat -d -d UDP4-LISTEN:7822,bind=$JR_PEER_IP PIPE"
peer_port udp 7822
out=$("$client" udp "$JR_PEER_IP" 7822) || fail "static_client udp failed: $out"
say "$out"
# A connected UDP socket's getsockname() says 0.0.0.0 where Linux says the
# route's source address: test_compat_udp_getsockname.sh checks that.
expect_in "$out" "static_client udp" "^domain 2 local ($JR_JOYRIDE_IP|0\\.0\\.0\\.0):[0-9]+ peer $JR_PEER_IP:7822\$"
expect_in "$out" "static_client udp" "^reply: ping from static_client\$"
log=$(peer_stop static-udp)
peer_saw_joyride "$log" "the peer's socat"

ns_check "$PAYLOAD"
linux_check "$PAYLOAD"
say "ok: a static glibc program's TCP and UDP sockets went through Joyride"
