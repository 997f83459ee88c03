#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# redis-server in the guest, redirected, driven by redis-benchmark on the
# peer (2000 SETs and 2000 GETs of 1000 bytes), then redis-cli in the guest
# over 127.0.0.1 (redirected too: the netserver's loopback).  Proof: the
# listener is in /proc/net/joyride with the flag inet, the peer reached it
# at 198.18.0.2, redis logged the peer as 198.18.0.1, the guest's Linux NIC
# did not carry the data.
#
# The instance is this test's own (port 6390, its own directory, no
# persistence); a redis-server service of the host is never touched.
# --bind 0.0.0.0: redis' default binds "::" as well, an AF_INET6 socket the
# redirect leaves to Linux.

. "$(dirname "$0")/lib.sh"
compat_init redis-server redis-cli

port=6390
requests=2000
size=1000
bg_start "$T/redis.log" redis-server --port "$port" --bind 0.0.0.0 --save '' \
	--appendonly no --protected-mode no --dir "$T" --loglevel verbose
jr_wait_listener tcp "$port"

linux_mark
ns_mark
out=$(peer_run --timeout 240 "redis-benchmark -h $JR_JOYRIDE_IP -p $port -n $requests -c 4 -d $size -t set,get -q | tr '\\r' '\\n' | grep 'requests per second'") ||
	fail "the peer's redis-benchmark failed:
$out"
ns_check "$((2 * requests * size))"
linux_check $((2 * requests * size))
say "peer's redis-benchmark: $(echo "$out" | tr '\n' ' ')"
expect_in "$out" "the peer's redis-benchmark" "^SET: .*requests per second"
expect_in "$out" "the peer's redis-benchmark" "^GET: .*requests per second"
log=$(cat "$T/redis.log")
expect_in "$log" "the guest's redis log" "Accepted $JR_PEER_IP:[0-9]+"

# A redirected client over loopback meets the redirected server inside the
# netserver (lwIP's loopif).  A Linux socket could not: Linux's 127.0.0.1
# has no listener on the port, the only one is the netserver's.
n=$(redis-cli -h 127.0.0.1 -p "$port" dbsize) || fail "redis-cli over 127.0.0.1 failed: $n"
say "redis-cli -h 127.0.0.1 dbsize: $n"
[ "$n" -ge 1 ] || fail "redis holds no key after the benchmark's SETs"
expect_in "$(cat "$T/redis.log")" "the guest's redis log" "Accepted 127\\.0\\.0\\.1:[0-9]+"
say "ok: redis-server served redis-benchmark and redis-cli through Joyride"
