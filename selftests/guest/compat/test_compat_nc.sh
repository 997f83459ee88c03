#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# nc (netcat-openbsd), redirected, against nc on the peer: TCP client and
# server (2 MiB each way), UDP client and server.  Proof: the peer's nc saw
# the guest's connections and datagrams come from 198.18.0.2 and reached
# the guest's servers at 198.18.0.2, the guest's listeners are in
# /proc/net/joyride with the flag inet, the netserver's port moved the
# packets, the guest's Linux NIC did not.
#
# The guest's servers use -4: without it nc may pick "::" (AF_INET6), which
# the redirect leaves to Linux by design.

. "$(dirname "$0")/lib.sh"
compat_init nc

make_blob "$T/blob"
want_up=$(sha "$T/blob")
want_down=$(peer_blob nc) || exit 1
linux_mark
ns_mark

say "TCP client: guest nc -> peer nc -l"
peer_start nc-tcp "exec nc -n -v -l $JR_PEER_IP 7801 >nc/recv"
peer_port tcp 7801
nc -N "$JR_PEER_IP" 7801 <"$T/blob" || fail "nc to the peer failed"
log=$(peer_stop nc-tcp)
peer_saw_joyride "$log" "the peer's nc -l"
[ "$(peer_sha nc/recv)" = "$want_up" ] ||
	fail "the peer received other data"

say "TCP server: peer nc -> guest nc -l"
bg_start "$T/recv" nc -4 -n -l 7802
server=$bg_pid
jr_wait_listener tcp 7802
out=$(peer_run --timeout 120 "nc -N $JR_JOYRIDE_IP 7802 <nc/blob") ||
	fail "the peer's nc to $JR_JOYRIDE_IP failed: $out"
wait "$server" || fail "the guest's nc -l failed: $(head -c 300 "$T/recv")"
[ "$(sha "$T/recv")" = "$want_down" ] || fail "the guest's nc -l received other data"

say "UDP client: guest nc -u -> peer nc -u -l"
peer_start nc-udp "exec nc -n -v -u -l $JR_PEER_IP 7803"
peer_port udp 7803
echo hello-from-guest | nc -u -w 1 "$JR_PEER_IP" 7803 || fail "nc -u failed"
sleep 0.5
log=$(peer_stop nc-udp)
expect_in "$log" "the peer's nc -u -l" "^hello-from-guest$"
peer_saw_joyride "$log" "the peer's nc -u -l"

say "UDP server: peer nc -u -> guest nc -u -l"
bg_start "$T/udp" nc -4 -n -u -l 7804
jr_wait_listener udp 7804
peer_run "echo hello-from-peer | nc -u -w 1 $JR_JOYRIDE_IP 7804" >/dev/null ||
	fail "the peer's nc -u failed"
deadline 10
until grep -q '^hello-from-peer$' "$T/udp"; do
	before_deadline || fail "the guest's nc -u -l got no datagram: $(cat "$T/udp")"
	sleep 0.1
done

ns_check "$((2 * PAYLOAD))"
linux_check $((2 * PAYLOAD))
say "ok: nc TCP and UDP, client and server, through Joyride"
