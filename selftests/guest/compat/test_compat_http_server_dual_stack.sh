#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# python3 -m http.server --bind :: in the guest, redirected (AF_INET6:
# net.joyride.redirect_inet6), serving 2 MiB to curl on the peer over IPv6
# and over IPv4.  Its DualStackServer turns IPV6_V6ONLY off, so one socket
# takes both; IPv4 clients appear v4-mapped, as on Linux.  Proof: its
# listener is in /proc/net/joyride, the peer reached it at 2001:2::2 and
# at 198.18.0.2 (only the netserver answers there), it logged the peer as
# 2001:2::1 and ::ffff:198.18.0.1, and the guest's Linux NIC did not carry
# the file.
#
# --bind ::: without it http.server takes the first passive address
# getaddrinfo() gives, which Debian 12's glibc orders 0.0.0.0 first.

. "$(dirname "$0")/lib.sh"
compat_init6 python3 curl

port=8006
mkdir "$T/www" && make_blob "$T/www/blob"
want=$(sha "$T/www/blob")
bg_start "$T/server.log" python3 -u -m http.server --bind :: --directory "$T/www" "$port"
jr_wait_listeners "$port"

# fetch URL ADDRESS: the peer's curl gets the blob from URL, at ADDRESS.
fetch() {
	got=$(peer_run --timeout 120 "curl -sS -g --retry 3 -o http.blob -w '%{http_code} %{size_download} remote %{remote_ip}\\n' '$1' && sha256sum <http.blob | cut -d' ' -f1; rm -f http.blob") ||
		fail "the peer's curl $1 failed: $got"
	say "peer's curl $1: $(echo "$got" | head -n1)"
	expect_in "$got" "the peer's curl $1" "^200 $PAYLOAD remote $2\$"
	[ "$(echo "$got" | tail -n1)" = "$want" ] || fail "the peer received other data from $1"
}

linux_mark
ns_mark
fetch "http://[$JR_JOYRIDE_IP6]:$port/blob" "$JR_JOYRIDE_IP6"
fetch "http://$JR_JOYRIDE_IP:$port/blob" "$JR_JOYRIDE_IP"
ns_check $((2 * PAYLOAD))
linux_check $((2 * PAYLOAD))
log=$(cat "$T/server.log")
expect_in "$log" "the guest server's log" "^Serving HTTP on :: port $port "
expect_in "$log" "the guest server's log" "^$JR_PEER_IP6 - - .*\"GET /blob HTTP/1.1\" 200"
expect_in "$log" "the guest server's log" "^::ffff:$JR_PEER_IP - - .*\"GET /blob HTTP/1.1\" 200"
say "ok: python3 -m http.server on :: served $PAYLOAD bytes over IPv6 and IPv4 through Joyride"
