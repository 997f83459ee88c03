#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test_http.sh VARIANT - HTTP/1.0 both ways between Linux and the client
# library.
#
#   1. jr-ns-http serve (client library, port 80) answers two GETs with a
#      body of 1000003 bytes of the deterministic stream; Linux curl fetches
#      it twice (HTTP/1.1 and --http1.0).  Status 200, size and sha256 of
#      each download must match the stream's.
#   2. python3 -m http.server serves a 777777-byte file from the Linux side;
#      jr-ns-http get fetches it through the netserver.  Size and sha256
#      must match the file's.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

jr_need_tools curl sha256sum
jr_setup "${1:-}"

SIZE=1000003
want=$("$JR_TEST_BIN/jr-ns-stream" gen --bytes $SIZE --seed 11 | sha256sum | cut -d' ' -f1)

# 1. Linux curl -> jr HTTP server.
jr_bg server "$JR_TEST_BIN/jr-ns-http" serve --sock "$JR_SOCK" --port 80 \
	--bytes $SIZE --seed 11 --count 2 --ready "$JR_TMP/server.ready"
jr_wait_file "$JR_TMP/server.ready" 10 "the jr HTTP server to listen" server
for opt in --http1.1 --http1.0; do
	res=$(jr_ns curl -sS --max-time 20 $opt -o "$JR_TMP/curl.body" \
		-w '%{http_code} %{size_download}' "http://$JR_IP/blob") ||
		jr_fail "curl $opt failed"
	[[ $res == "200 $SIZE" ]] || jr_fail "curl $opt: status/size '$res', want '200 $SIZE'"
	got=$(sha256sum "$JR_TMP/curl.body" | cut -d' ' -f1)
	[[ $got == "$want" ]] || jr_fail "curl $opt: sha256 $got, want $want"
	jr_log "curl $opt: 200, $SIZE bytes, sha256 matches"
done
jr_wait_bg server 10 || jr_fail "the jr HTTP server failed"

# 2. jr HTTP client -> Linux python3 http.server.
mkdir "$JR_TMP/www"
"$JR_TEST_BIN/jr-ns-stream" gen --bytes 777777 --seed 12 >"$JR_TMP/www/data.bin"
want=$(sha256sum "$JR_TMP/www/data.bin" | cut -d' ' -f1)
jr_bg pyhttp "$JR_PYTHON" -m http.server 8000 --bind "$LX_IP" --directory "$JR_TMP/www"
jr_wait_listen tcp 8000
jr_bg get "$JR_TEST_BIN/jr-ns-http" get --sock "$JR_SOCK" --url "http://$LX_IP:8000/data.bin"
jr_wait_bg get 20 || jr_fail "jr-ns-http get failed"
size=$(stat -c %s "$JR_TMP/get.out")
got=$(sha256sum "$JR_TMP/get.out" | cut -d' ' -f1)
[[ $size == 777777 && $got == "$want" ]] ||
	jr_fail "jr GET: $size bytes, sha256 $got; want 777777 bytes, $want"
jr_log "jr GET from python http.server: 777777 bytes, sha256 matches"
jr_kill_bg pyhttp

jr_wait_stat frontends 0 5
jr_finish
