#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# redis-server in the guest with "bind * -::*": one AF_INET listener on
# 0.0.0.0 and one AF_INET6 listener on "::" (redis sets IPV6_V6ONLY on
# it), redirected by net.joyride.redirect_inet and redirect_inet6.  The
# peer's redis-cli SETs 2 MiB of random bytes over IPv6 and GETs them back
# over IPv4, then the other way round; what comes back must be the same
# bytes.  Proof: both listeners are in /proc/net/joyride, the peer reached
# them at 2001:2::2 and 198.18.0.2 (only the netserver answers there),
# redis logged the peer as 2001:2::1 and 198.18.0.1, and the guest's Linux
# NIC did not carry the data.
#
# The instance is this test's own (port 6396, its own directory, no
# persistence); a redis-server service of the host is never touched.

. "$(dirname "$0")/lib.sh"
compat_init6 redis-server redis-cli

port=6396
bg_start "$T/redis.log" redis-server --port "$port" --bind '* -::*' --save '' \
	--appendonly no --protected-mode no --dir "$T" --loglevel verbose
jr_wait_listeners "$port" 2
want=$(peer_blob redis6)

# set_then_get KEY SET_HOST GET_HOST: SET KEY to the blob at SET_HOST, GET
# it back at GET_HOST; the bytes must be the blob's.
set_then_get() {
	out=$(peer_run --timeout 180 "redis-cli -h $2 -p $port -x SET $1 <redis6/blob && redis-cli -h $3 -p $port --raw GET $1 | head -c $PAYLOAD | sha256sum | cut -d' ' -f1") ||
		fail "the peer's redis-cli failed (SET at $2, GET at $3):
$out"
	say "peer's redis-cli: SET at $2, GET at $3: $(echo "$out" | tr '\n' ' ')"
	expect_in "$out" "the peer's redis-cli SET at $2" "^OK\$"
	[ "$(echo "$out" | tail -n1)" = "$want" ] ||
		fail "GET at $3 returned other bytes than SET at $2 stored"
}

linux_mark
ns_mark
set_then_get k6 "$JR_JOYRIDE_IP6" "$JR_JOYRIDE_IP"
set_then_get k4 "$JR_JOYRIDE_IP" "$JR_JOYRIDE_IP6"
ns_check $((4 * PAYLOAD))
linux_check $((4 * PAYLOAD))
log=$(cat "$T/redis.log")
expect_in "$log" "the guest's redis log" "Accepted $JR_PEER_IP6:[0-9]+"
expect_in "$log" "the guest's redis log" "Accepted $JR_PEER_IP:[0-9]+"
say "ok: redis-server on 0.0.0.0 and :: stored and returned $PAYLOAD bytes over IPv6 and IPv4 through Joyride"
