#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# curl, redirected: fetch 2 MiB from an HTTP server on the peer
# (python3 -m http.server on 198.18.0.1).  Proof: curl's own local address
# is 198.18.0.2, the server logs the request from 198.18.0.2, the
# netserver's port moved the packets, the guest's Linux NIC did not.

. "$(dirname "$0")/lib.sh"
compat_init curl

port=8081
want=$(peer_blob curl) || exit 1
peer_start curl-http "exec python3 -u -m http.server --bind $JR_PEER_IP --directory curl $port"
peer_port tcp "$port"

linux_mark
ns_mark
info=$(curl -sS --retry 3 -o "$T/blob" \
	-w '%{http_code} %{size_download} local %{local_ip}:%{local_port} remote %{remote_ip}:%{remote_port}' \
	"http://$JR_PEER_IP:$port/blob") || fail "curl failed: $info"
say "curl: $info"
ns_check "$PAYLOAD"
linux_check "$PAYLOAD"

expect_in "$info" "curl's -w" "^200 $PAYLOAD local $JR_JOYRIDE_IP:"
[ "$(sha "$T/blob")" = "$want" ] || fail "the downloaded file differs from the peer's"
log=$(peer_stop curl-http)
peer_saw_joyride "$log" "the peer's HTTP server log"
expect_in "$log" "the peer's HTTP server log" '"GET /blob HTTP/1.1" 200'
say "ok: curl fetched $PAYLOAD bytes through Joyride"
