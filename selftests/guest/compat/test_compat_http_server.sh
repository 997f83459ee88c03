#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# python3 -m http.server in the guest, redirected, serving 2 MiB to curl on
# the peer.  Proof: its listener is in /proc/net/joyride with the flag
# inet, the peer reached it at 198.18.0.2 (only the netserver answers
# there), it logged the peer as 198.18.0.1, and the guest's Linux NIC did
# not carry the file.
#
# --bind 0.0.0.0: without it http.server listens on "::" (AF_INET6,
# dual-stack), which the redirect leaves to Linux by design.

. "$(dirname "$0")/lib.sh"
compat_init python3

port=8000
mkdir "$T/www" && make_blob "$T/www/blob"
want=$(sha "$T/www/blob")
bg_start "$T/server.log" python3 -u -m http.server --bind 0.0.0.0 --directory "$T/www" "$port"
jr_wait_listener tcp "$port"

linux_mark
ns_mark
got=$(peer_run --timeout 120 "curl -sS --retry 3 -o http.blob -w '%{http_code} %{size_download} remote %{remote_ip}\\n' http://$JR_JOYRIDE_IP:$port/blob && sha256sum <http.blob | cut -d' ' -f1; rm -f http.blob") ||
	fail "the peer's curl failed: $got"
ns_check "$PAYLOAD"
linux_check "$PAYLOAD"
say "peer's curl: $(echo "$got" | head -n1)"
expect_in "$got" "the peer's curl" "^200 $PAYLOAD remote $JR_JOYRIDE_IP\$"
[ "$(echo "$got" | tail -n1)" = "$want" ] || fail "the peer received other data"
log=$(cat "$T/server.log")
expect_in "$log" "the guest server's log" "^$JR_PEER_IP - - .*\"GET /blob HTTP/1.1\" 200"
say "ok: python3 -m http.server served $PAYLOAD bytes through Joyride"
