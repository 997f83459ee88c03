#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test_bulk.sh VARIANT - bulk TCP transfers both ways, checked by sha256.
#
# For 1 MiB and then 256 MiB (JR_BULK_BIG overrides the latter):
#   jr -> Linux: jr-ns-stream send connects to `socat -u TCP-LISTEN - |
#     sha256sum` in the namespace; the sum must equal that of the stream
#     (jr-ns-stream gen | sha256sum, no network).  jr-ns-stream send only
#     exits 0 after the peer closed, i.e. after it read everything.
#   Linux -> jr: `jr-ns-stream gen | socat -u - TCP:...` sends to
#     jr-ns-stream recv --out | sha256sum; recv also compares every byte
#     with the stream itself and insists on the exact length.
# Throughput is printed (from jr-ns-stream), not asserted.
#
# iperf3 is not used: its control protocol (JSON over a second connection)
# is more than a test peer should carry; the stream programs measure the
# same single-stream transfer with an end-to-end check iperf3 lacks.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

jr_need_tools socat sha256sum
jr_setup "${1:-}"

BIG=${JR_BULK_BIG:-256M}
port=5000

transfer() {
	local bytes=$1 seed=$2 want got

	want=$("$JR_TEST_BIN/jr-ns-stream" gen --bytes "$bytes" --seed "$seed" |
		sha256sum | cut -d' ' -f1)

	# jr -> Linux
	port=$((port + 1))
	jr_bg sink bash -c "set -o pipefail; socat -u TCP-LISTEN:$port,bind=$LX_IP,reuseaddr - | sha256sum"
	jr_wait_listen tcp $port
	jr_bg send "$JR_TEST_BIN/jr-ns-stream" send --sock "$JR_SOCK" \
		--connect "$LX_IP:$port" --bytes "$bytes" --seed "$seed"
	jr_wait_bg send 120 || jr_fail "jr -> Linux, $bytes bytes: sender failed"
	jr_wait_bg sink 20 || jr_fail "jr -> Linux, $bytes bytes: socat sink failed"
	got=$(cut -d' ' -f1 "$JR_TMP/sink.out")
	[[ $got == "$want" ]] || jr_fail "jr -> Linux, $bytes bytes: sha256 $got, want $want"
	jr_log "jr -> Linux, $bytes bytes: sha256 matches ($(sed -n 's/.*sent //p' "$JR_TMP/send.err"))"

	# Linux -> jr
	port=$((port + 1))
	jr_bg recv bash -c "set -o pipefail; '$JR_TEST_BIN/jr-ns-stream' recv --sock '$JR_SOCK' --listen $port \
		--bytes $bytes --seed $seed --out --ready '$JR_TMP/recv.$port.ready' | sha256sum"
	jr_wait_file "$JR_TMP/recv.$port.ready" 10 "the jr receiver to listen" recv
	jr_bg source bash -c "set -o pipefail; '$JR_TEST_BIN/jr-ns-stream' gen --bytes $bytes --seed $seed |
		socat -u - TCP:$JR_IP:$port"
	jr_wait_bg source 120 || jr_fail "Linux -> jr, $bytes bytes: socat source failed"
	jr_wait_bg recv 20 || jr_fail "Linux -> jr, $bytes bytes: receiver failed"
	got=$(cut -d' ' -f1 "$JR_TMP/recv.out")
	grep -q 'FAIL' "$JR_TMP/recv.err" && jr_fail "Linux -> jr: $(cat "$JR_TMP/recv.err")"
	[[ $got == "$want" ]] || jr_fail "Linux -> jr, $bytes bytes: sha256 $got, want $want"
	jr_log "Linux -> jr, $bytes bytes: sha256 matches ($(sed -n 's/.*received //p' "$JR_TMP/recv.err"))"
}

transfer 1M 21
transfer "$BIG" 22

jr_wait_stat frontends 0 5
jr_stats | grep -q '^  tcp: 0 connections open$' ||
	jr_fail "connections still counted open: $(_jr_last_stats | jr_stat_tcp_open)"
jr_finish
