#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test_ping.sh VARIANT - the netserver answers ICMP echo and ARP.
#
# VARIANT is the port: tap (net_tap) or af_packet (net_af_packet on a veth).
# From the Linux side of the test namespace:
#   - `ping -c 3` to the netserver's address gets 3 replies (0% loss);
#   - `arping -c 2 -I <iface>` (iputils) gets 2 replies, from the MAC the
#     netserver reported on start-up.
# The netserver must then still run and stop in order.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

jr_need_tools ping arping
jr_setup "${1:-}" --poll adaptive

out=$(jr_ns ping -c 3 -i 0.2 -W 2 "$JR_IP") || { echo "$out" >&2; jr_fail "ping failed"; }
grep -q ' 3 received, 0% packet loss' <<<"$out" || { echo "$out" >&2; jr_fail "ping: not 3 replies"; }
jr_log "ping: $(grep -o 'rtt .*' <<<"$out")"

mac=$(sed -n 's/.* mac \([0-9a-f:]*\),.*/\1/p' "$JR_TMP/netserver.err")
[[ -n $mac ]] || jr_fail "no MAC in the netserver's start-up log"
out=$(jr_ns arping -c 2 -w 5 -I "$LX_IF" "$JR_IP") || { echo "$out" >&2; jr_fail "arping failed"; }
grep -q 'Received 2 response' <<<"$out" || { echo "$out" >&2; jr_fail "arping: not 2 replies"; }
grep -qi "\[$mac\]" <<<"$out" || { echo "$out" >&2; jr_fail "arping: replies not from $mac"; }
jr_log "arping: 2 replies from $mac"

jr_finish
