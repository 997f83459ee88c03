#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# A port keeper and two engines on one NIC with RSS (tools/jr-vm --engines 2),
# the engines serving user frontends:
#
#   tools/jr-vm run --engines 2 --env 'JR_NETSERVER_FRONTEND=--listen /tmp/jr-engine%K.sock' \
#       --peer-cmd "python3 $PWD/selftests/guest/peer.py" -- selftests/guest/test_engines_ufront.sh
#
# Checks, with real parts (QEMU's virtio-net RSS, DPDK's virtio PMD, lwIP):
# - each engine connects out to the peer's echo service: engine 1's ARP
#   reply arrives on queue 0 and reaches it through engine 0's relay ring,
#   and the source ports it picks bring the SYN-ACKs back to its own queue
#   (a wrong one would leave the connect hanging);
# - SYNs from the peer (the guest's Linux stack, through the peer
#   namespace) spread over both queues, and for every one the software
#   Toeplitz hash agrees with the queue the NIC chose;
# - the keeper's per-queue counters show traffic on both queues;
# - engine 1 killed with SIGKILL leaves the port working (bus mastering on)
#   for engine 0, and a new engine 1 serves its queue: standby 0 if there is
#   one (--standby 1 and JR_NETSERVER_STANDBY_FRONTEND='--listen
#   /tmp/jr-standby%S.sock'), else engine 1 started again.
# Skips unless run that way.

set -u

skip() { echo "skipped: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

[ "${JR_NETSERVER_ENGINES:-0}" -ge 2 ] ||
	skip "needs tools/jr-vm run --engines 2 (JR_NETSERVER_ENGINES=${JR_NETSERVER_ENGINES:-unset})"
for k in 0 1; do
	[ -S "/tmp/jr-engine$k.sock" ] ||
		skip "engine $k serves no user frontend at /tmp/jr-engine$k.sock (JR_NETSERVER_FRONTEND)"
done
ctl=$JR_NETSERVER_CTL
echo_bin=$JR_BUILD_DIR/selftests/netserver/jr-ns-echo
logbase=${JR_NETSERVER_LOG%.log}
conns=${JR_ENGINES_CONNS:-16}
syns=${JR_ENGINES_SYNS:-64}

# Statistics of one instance on SIGHUP: the first line matching $2 after now.
stats() {
	inst=$1 pattern=$2
	log=$logbase-$inst.log
	lines=$(wc -l <"$log")
	pid=$("$ctl" pid "$inst") || fail "no $inst is running"
	kill -HUP "$pid" || fail "cannot signal $inst ($pid)"
	i=0
	while [ "$i" -lt 50 ]; do
		out=$(tail -n +"$((lines + 1))" "$log" | grep -E "$pattern")
		[ -z "$out" ] || { echo "$out"; return 0; }
		sleep 0.1
		i=$((i + 1))
	done
	fail "no statistics in $log after SIGHUP"
}

counter() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

grep -h "up:\|keeper:" "$logbase"-keeper.log "$logbase"-engine*.log

for k in 1 0; do
	echo "engine $k: $conns connections out to the peer's echo service"
	"$echo_bin" client --sock "/tmp/jr-engine$k.sock" --connect "$JR_PEER_IP:7" \
		--conns "$conns" || fail "engine $k could not open and use $conns connections"
done

echo "$syns SYNs from the guest's Linux stack to $JR_JOYRIDE_IP:5999 (nothing listens)"
python3 - "$JR_JOYRIDE_IP" "$syns" <<'EOF' || fail "SYNs were not answered"
import socket, sys
ip, n = sys.argv[1], int(sys.argv[2])
refused = 0
for i in range(n):
    s = socket.socket()
    s.settimeout(5)
    try:
        s.connect((ip, 5999))
    except ConnectionRefusedError:
        refused += 1
    finally:
        s.close()
print("refused: %d of %d" % (refused, n))
sys.exit(0 if refused == n else 1)
EOF

total=0
for k in 0 1; do
	line=$(stats "engine$k" '^  counters: ')
	checked=$(counter "$line" rss_syn_checked)
	other=$(counter "$line" rss_syn_other_queue)
	relayed_in=$(counter "$line" relayed_in)
	relayed_out=$(counter "$line" relayed_out)
	tried=$(counter "$line" rss_ports_tried)
	echo "engine $k: SYNs $checked (hashed elsewhere: $other), relayed out $relayed_out in $relayed_in, source ports passed over $tried"
	[ "${other:-1}" = 0 ] || fail "engine $k got SYNs that the software hash sends to another queue"
	[ "${checked:-0}" -gt 0 ] || fail "engine $k got none of the $syns SYNs: RSS does not spread them"
	total=$((total + checked))
done
[ "$total" -ge "$syns" ] || fail "the engines saw $total SYNs of $syns"
[ "$(counter "$(stats engine1 '^  counters: ')" relayed_in)" -gt 0 ] ||
	fail "engine 1 took no ARP/ND from engine 0's relay"
stats keeper '^  queue [0-9]+: rx' >/tmp/jr-engines-queues
cat /tmp/jr-engines-queues
for q in 0 1; do
	rx=$(sed -n "s/^  queue $q: rx \([0-9]*\) .*/\1/p" /tmp/jr-engines-queues)
	[ "${rx:-0}" -gt 0 ] || fail "the keeper counts no packets received on queue $q"
done
# An engine killed outright must not take the port down for the others:
# uio_pci_generic turns bus mastering off when a process's /dev/uio file is
# released, unless the keeper holds a reference to it.
command_reg() { od -An -tx2 -j4 -N2 "/sys/bus/pci/devices/$JR_NETSERVER_PCI/config" | tr -d ' '; }
before=$(command_reg)
"$ctl" kill KILL engine1 || fail "cannot kill engine 1"
after=$(command_reg)
echo "PCI command register: $before before, $after after engine 1 was killed"
[ $((0x$after & 4)) -ne 0 ] || fail "bus mastering is off after engine 1 died"
"$echo_bin" client --sock /tmp/jr-engine0.sock --connect "$JR_PEER_IP:7" --conns 4 ||
	fail "engine 0 no longer connects after engine 1 died"
if [ -S /tmp/jr-standby0.sock ]; then
	# A standby watching the keeper's table takes engine 1's queue.
	i=0
	until grep -q '^jr-netserver: serving engine 1$' "$logbase-standby0.log"; do
		[ "$i" -lt 100 ] || fail "standby 0 did not take engine 1 over within 10 s"
		sleep 0.1
		i=$((i + 1))
	done
	grep 'standby:' "$logbase-standby0.log"
	sock=/tmp/jr-standby0.sock
else
	rm -f /tmp/jr-engine1.sock
	"$ctl" start-one engine1 >/dev/null || fail "engine 1 did not start again"
	sock=/tmp/jr-engine1.sock
fi
"$echo_bin" client --sock "$sock" --connect "$JR_PEER_IP:7" --conns 4 ||
	fail "the new engine 1 cannot connect out"
stats keeper '^  engine [0-9]+: ' | sed 's/^/keeper: /'
echo "ok"
