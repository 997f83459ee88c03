#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# wget, redirected: fetch 2 MiB from an HTTP server on the peer
# (python3 -m http.server on 198.18.0.1).  Proof: the server logs the
# request from 198.18.0.2, /proc/net/joyride listed wget's connection with
# the flag inet, the netserver's port moved the packets, the guest's Linux
# NIC did not.

. "$(dirname "$0")/lib.sh"
compat_init wget

port=8082
want=$(peer_blob wget) || exit 1
peer_start wget-http "exec python3 -u -m http.server --bind $JR_PEER_IP --directory wget $port"
peer_port tcp "$port"

linux_mark
ns_mark
jr_watch_start
# At 1 MB/s the transfer lasts long enough for the sampler to see it.
wget -nv --tries=3 --limit-rate=1m -O "$T/blob" "http://$JR_PEER_IP:$port/blob" || fail "wget failed"
jr_watch_stop
ns_check "$PAYLOAD"
linux_check "$PAYLOAD"
jr_watch_check "$port"

[ "$(sha "$T/blob")" = "$want" ] || fail "the downloaded file differs from the peer's"
log=$(peer_stop wget-http)
peer_saw_joyride "$log" "the peer's HTTP server log"
expect_in "$log" "the peer's HTTP server log" '"GET /blob HTTP/1.1" 200'
say "ok: wget fetched $PAYLOAD bytes through Joyride"
