#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# redis-benchmark in the guest, redirected, against a redis-server on the
# peer (2000 SETs and 2000 GETs of 1000 bytes).  Proof: redis on the peer
# logged every client as 198.18.0.2, the netserver's port moved the
# packets, the guest's Linux NIC did not.
#
# The peer's redis-server is this test's own (port 6391 in the runner's
# namespace, its own directory, no persistence); a redis-server service of
# the host is never touched.

. "$(dirname "$0")/lib.sh"
compat_init redis-benchmark

port=6391
requests=2000
size=1000
compat_peer_dirs=" redis"
peer_start redis-peer "mkdir -p redis && exec redis-server --port $port --bind $JR_PEER_IP --save '' --appendonly no --protected-mode no --dir redis --loglevel verbose"
peer_port tcp "$port"

linux_mark
ns_mark
out=$(redis-benchmark -h "$JR_PEER_IP" -p "$port" -n "$requests" -c 4 -d "$size" -t set,get -q 2>&1) ||
	fail "redis-benchmark failed:
$out"
out=$(echo "$out" | tr '\r' '\n' | grep 'requests per second')
ns_check "$((2 * requests * size))"
linux_check $((2 * requests * size))
say "redis-benchmark: $(echo "$out" | tr '\n' ' ')"
expect_in "$out" "redis-benchmark" "^SET: .*requests per second"
expect_in "$out" "redis-benchmark" "^GET: .*requests per second"
log=$(peer_stop redis-peer)
expect_in "$log" "the peer's redis log" "Accepted $JR_JOYRIDE_IP:[0-9]+"
peer_saw_joyride "$(echo "$log" | grep Accepted)" "the peer's redis log"
say "ok: redis-benchmark ran through Joyride"
