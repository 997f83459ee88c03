#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# host.sh: TCP through Joyride against TCP through Linux, on this host, in
# one run (tools/joyride bench host).
#
#   jr     jr-netserver (--poll busy) in a network namespace, on one end of
#          a veth pair through DPDK's net_af_xdp (JR_BENCH_HOST_PMD=af_xdp,
#          the default: frames move in batches through shared rings, so
#          this measures the stack) or on net_tap (JR_BENCH_HOST_PMD=tap:
#          a readv/writev per frame, which bounds what any stack on it can
#          do); the client is jr-tcp-bench --backend jr (client library,
#          talking to the netserver over its --listen socket); the peer is
#          jr-tcp-bench --backend linux in the namespace, on the other end.
#   linux  jr-tcp-bench --backend linux on both ends of a veth pair between
#          two namespaces.
#
# Cases, JR_BENCH_SECONDS each (default 3):
#   rr      64-byte request/response on one connection: transactions/s,
#           p50 and p99 round trip
#   stream  one connection sending as fast as it can: bytes/s received
#
# CPUs: with two or more, both set-ups get the same two CPUs.  jr: the
# netserver busy-polls on CPU 1, client and peer share CPU 0.  linux: client
# on CPU 0, server on CPU 1.  Other load on the machine shows in the
# numbers; run it on a quiet machine.
#
# Output: a table per round (JR_BENCH_ROUNDS, default 3, the order of the
# two stacks alternating), then a headline, each ratio the median of the
# rounds' with its range (ratios > 1: Joyride faster):
#   host: rr <x>x (<lo>-<hi>) linux, stream <y>x (<lo>-<hi>) linux
#
# Then unmodified programs through libjr-preload.so (Documentation/
# preload.md) against the same programs on Linux, same CPUs, same rounds:
#   rr      wrk, one connection, against nginx serving 64 bytes (nginx
#           preloaded, its socket served by the netserver): requests/s
#   stream  iperf3 -c preloaded, sending to iperf3 -s on Linux: bytes/s
#   preload: rr <x>x (<lo>-<hi>) linux, stream <y>x (<lo>-<hi>) linux
# (skipped, saying so, when nginx, wrk or iperf3 is missing).
#
# Environment: JR_BUILD_DIR (default build/), JR_BENCH_SECONDS,
# JR_BENCH_HOST_PMD (af_xdp or tap), JR_BENCH_RESULTS (a directory: every
# round's numbers, with the round trips' histogram, also go to host.jsonl
# there, one JSON object a line, for tools/bench/plot.py).
# Needs root (namespaces, tap and veth devices); exits 77 otherwise.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${JR_BUILD_DIR:-$here/../../build}
netserver=$build/netserver/jr-netserver
bench=$build/tools/bench/jr-tcp-bench
preload=$build/libjr/libjr-preload.so
seconds=${JR_BENCH_SECONDS:-3}
pmd=${JR_BENCH_HOST_PMD:-af_xdp}
rounds=${JR_BENCH_ROUNDS:-3}

log() { echo "host.sh: $*" >&2; }
die() { log "$*"; exit 1; }

[[ $(id -u) == 0 ]] || { log "needs root (network namespaces, tap/veth devices)"; exit 77; }
[[ -x $netserver && -x $bench ]] || die "build first: need $netserver and $bench"

tmp=$(mktemp -d /tmp/jr-bench-host.XXXXXX)
ns_jr=jrb-jr-$$
ns_a=jrb-a-$$
ns_b=jrb-b-$$
pids=()

cleanup() {
	local rc=$? ns p i

	set +e
	trap - EXIT
	for p in "${pids[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for ((i = 0; i < 250; i++)); do
		alive=0
		for p in "${pids[@]}"; do
			kill -0 "$p" 2>/dev/null && alive=1
		done
		(( alive )) || break
		sleep 0.02
	done
	for ns in "$ns_jr" "$ns_a" "$ns_b"; do
		ip netns list | grep -qw "$ns" || continue
		p=$(ip netns pids "$ns")
		[[ -n $p ]] && kill -KILL $p
		ip netns delete "$ns"
	done
	wait 2>/dev/null
	(( rc == 0 )) || { for f in "$tmp"/*.err; do [[ -s $f ]] && { echo "--- $f" >&2; tail -n 20 "$f" >&2; }; done; }
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if (( $(nproc) >= 2 )); then
	cpu_a="taskset -c 0"
	cpu_b="taskset -c 1"
else
	cpu_a=""
	cpu_b=""
fi

# wait_line FILE REGEX PID WHAT: poll (bounded) for a line from PID.
wait_line() {
	local i

	for ((i = 0; i < 1000; i++)); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		kill -0 "$3" 2>/dev/null || die "$4 exited before it was ready"
		sleep 0.02
	done
	die "$4 not ready after 20 s"
}

# start NAME NS CPU ARGS...: a background jr-tcp-bench server in NS.
start_server() {
	local name=$1 ns=$2 cpu=$3
	shift 3

	ip netns exec "$ns" $cpu "$bench" --backend linux "$@" \
		>"$tmp/$name.out" 2>"$tmp/$name.err" &
	pids+=($!)
	wait_line "$tmp/$name.out" '^listening' $! "$name"
}

# field LINE KEY: the value of key=value in a result line.
field() {
	sed -n "s/.*\b$2=\([0-9.]*\).*/\1/p" <<<"$1"
}

results=
if [[ -n ${JR_BENCH_RESULTS:-} ]]; then
	mkdir -p "$JR_BENCH_RESULTS"
	results=$JR_BENCH_RESULTS/host.jsonl
	printf '{"bench": "host", "case": "meta", "seconds": %s, "rounds": %s, "pmd": "%s"}\n' \
		"$seconds" "$rounds" "$pmd" >"$results"
fi

# record CASE ROUND jr|lx JSON-MEMBERS: one line of host.jsonl.
record() {
	[[ -n $results ]] || return 0
	printf '{"bench": "host", "case": "%s", "round": %s, "stack": "%s", %s}\n' \
		"$1" "$2" "$([[ $3 == jr ]] && echo joyride || echo linux)" "$4" >>"$results"
}

# hist_json OUTPUT: the rr-hist: line of jr-tcp-bench --hist as JSON,
# [[upper_us, count], ...].
hist_json() {
	printf '[%s]' "$(sed -n 's/^rr-hist: //p' <<<"$1" | awk '{
		for (i = 1; i <= NF; i++) {
			split($i, bin, ":")
			printf "%s[%s, %s]", (i > 1 ? ", " : ""), bin[1], bin[2]
		} }')"
}

# ---------------------------------------------------------------- jr
ip netns add "$ns_jr"
ip -n "$ns_jr" link set lo up
ip netns exec "$ns_jr" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
sock=$tmp/netserver.sock
case $pmd in
af_xdp)
	# The Linux end keeps its address; the netserver's end is the XDP
	# socket's, up and without an address of its own.
	ip -n "$ns_jr" link add jrx0 type veth peer name jrx1
	ip -n "$ns_jr" addr add 198.18.0.1/24 dev jrx1
	ip -n "$ns_jr" link set jrx0 up
	ip -n "$ns_jr" link set jrx1 up
	# Finished checksums from Linux: XDP sees the frame as the wire would.
	ip netns exec "$ns_jr" python3 "$here/../../selftests/netserver/linux_peer.py" \
		tx-csum-off jrx1 || die "cannot turn off TX checksum offload on jrx1"
	vdev="net_af_xdp0,iface=jrx0,busy_budget=0"
	;;
tap)
	vdev="net_tap0,iface=jrtap0"
	;;
*)
	die "JR_BENCH_HOST_PMD: af_xdp or tap, not '$pmd'"
	;;
esac
ip netns exec "$ns_jr" $cpu_b "$netserver" \
	--eal "--no-huge -m 256 --no-pci --no-shconf --file-prefix jrb$$ --log-level=*:error --vdev $vdev" \
	--ip 198.18.0.2/24 --listen "$sock" --allow-root --poll busy \
	>"$tmp/netserver.out" 2>"$tmp/netserver.err" &
pids+=($!)
wait_line "$tmp/netserver.out" '^jr-netserver: ready$' $! "jr-netserver"
if [[ $pmd == tap ]]; then
	ip -n "$ns_jr" addr add 198.18.0.1/24 dev jrtap0
	ip -n "$ns_jr" link set jrtap0 up
fi

start_server jr-rr-peer "$ns_jr" "$cpu_a" rr-server --port 5001
start_server jr-stream-peer "$ns_jr" "$cpu_a" stream-server --port 5002

# ------------------------------------------------------------- linux
for ns in "$ns_a" "$ns_b"; do
	ip netns add "$ns"
	ip -n "$ns" link set lo up
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
ip -n "$ns_a" link add jrba type veth peer name jrbb netns "$ns_b"
ip -n "$ns_a" addr add 198.18.1.1/24 dev jrba
ip -n "$ns_b" addr add 198.18.1.2/24 dev jrbb
ip -n "$ns_a" link set jrba up
ip -n "$ns_b" link set jrbb up

start_server lx-rr-server "$ns_a" "$cpu_b" rr-server --port 5001
start_server lx-stream-server "$ns_a" "$cpu_b" stream-server --port 5002

# measure jr|lx rr|stream: one client run; prints its result line.
measure() {
	local who=$1 mode=$2 port out extra=()

	port=$([[ $mode == rr ]] && echo 5001 || echo 5002)
	[[ $mode != rr ]] || extra=(--hist)
	if [[ $who == jr ]]; then
		out=$($cpu_a "$bench" --backend jr --sock "$sock" "$mode-client" \
			--connect 198.18.0.1:$port --seconds "$seconds" "${extra[@]}" 2>"$tmp/jr-$mode.err") ||
			die "jr $mode-client failed: $(cat "$tmp/jr-$mode.err")"
	else
		out=$(ip netns exec "$ns_b" $cpu_a "$bench" --backend linux "$mode-client" \
			--connect 198.18.1.1:$port --seconds "$seconds" "${extra[@]}" 2>"$tmp/lx-$mode.err") ||
			die "linux $mode-client failed: $(cat "$tmp/lx-$mode.err")"
	fi
	echo "$out"
}

# ------------------------------------------------------------- rounds
# Each round measures both stacks, the order alternating, and each ratio
# is taken within a round; the headline is the median with the range.
echo "jr on $pmd"
printf '%-6s %-6s %12s %9s %9s %14s\n' round case "rr trans/s" "p50 us" "p99 us" "stream MB/s"
ratios_rr=() ratios_stream=()
for ((r = 1; r <= rounds; r++)); do
	if (( r % 2 )); then order="jr lx"; else order="lx jr"; fi
	for c in $order; do
		declare "${c}_rr=$(measure "$c" rr)"
		declare "${c}_stream=$(measure "$c" stream)"
	done
	for c in jr lx; do
		rr_var=${c}_rr
		st_var=${c}_stream
		printf '%-6s %-6s %12.0f %9.1f %9.1f %14.1f\n' "$r" \
			"$([[ $c == jr ]] && echo jr || echo linux)" \
			"$(field "${!rr_var}" tps)" "$(field "${!rr_var}" p50_us)" \
			"$(field "${!rr_var}" p99_us)" \
			"$(awk -v b="$(field "${!st_var}" bytes_per_s)" 'BEGIN { print b / 1e6 }')"
		record rr "$r" "$c" "$(printf '"tps": %s, "p50_us": %s, "p99_us": %s, "hist_us": %s' \
			"$(field "${!rr_var}" tps)" "$(field "${!rr_var}" p50_us)" \
			"$(field "${!rr_var}" p99_us)" "$(hist_json "${!rr_var}")")"
		record stream "$r" "$c" "\"bytes_per_s\": $(field "${!st_var}" bytes_per_s)"
	done
	ratios_rr+=("$(awk -v a="$(field "$jr_rr" tps)" -v b="$(field "$lx_rr" tps)" 'BEGIN { print a / b }')")
	ratios_stream+=("$(awk -v a="$(field "$jr_stream" bytes_per_s)" -v b="$(field "$lx_stream" bytes_per_s)" 'BEGIN { print a / b }')")
done

# summary RATIO...: "median (low-high)"
summary() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.2fx (%.2f-%.2f)", m, v[1], v[NR] }'
}
echo "host: rr $(summary "${ratios_rr[@]}") linux, stream $(summary "${ratios_stream[@]}") linux"

# ------------------------------------------------------------ preload
if ! command -v nginx >/dev/null || ! command -v wrk >/dev/null ||
   ! command -v iperf3 >/dev/null || [[ ! -f $preload ]]; then
	echo "preload: skipped (needs nginx, wrk, iperf3 and $preload; tools/jr-deps installs them)"
	exit 0
fi

# nginx_conf DIR ADDR: a one-process nginx serving DIR/www/f (64 bytes) on
# ADDR:8080, everything it writes kept in DIR.
nginx_conf() {
	local dir=$1 addr=$2

	mkdir -p "$dir/www"
	head -c 64 /dev/zero | tr '\0' x >"$dir/www/f"
	cat >"$dir/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
error_log $dir/error.log;
pid $dir/nginx.pid;
events { worker_connections 256; }
http {
	access_log off;
	client_body_temp_path $dir;
	proxy_temp_path $dir;
	fastcgi_temp_path $dir;
	uwsgi_temp_path $dir;
	scgi_temp_path $dir;
	server { listen $addr:8080; root $dir/www; }
}
EOF
}

# wait_http NS URL NAME PID: the server answers (bounded).
wait_http() {
	local i

	for ((i = 0; i < 500; i++)); do
		ip netns exec "$1" curl -s -o /dev/null --max-time 1 "$2" && return 0
		kill -0 "$4" 2>/dev/null || die "$3 exited before it answered"
		sleep 0.02
	done
	die "$3 does not answer $2 after 10 s"
}

nginx_conf "$tmp/nginx-jr" 0.0.0.0
ip netns exec "$ns_jr" env LD_PRELOAD="$preload" JR_NETSERVER_SOCKET="$sock" \
	$cpu_a nginx -p "$tmp/nginx-jr" -c "$tmp/nginx-jr/nginx.conf" \
	>"$tmp/nginx-jr.out" 2>"$tmp/nginx-jr.err" &
pids+=($!)
wait_http "$ns_jr" http://198.18.0.2:8080/f "nginx (preloaded)" $!
nginx_conf "$tmp/nginx-lx" 198.18.1.1
ip netns exec "$ns_a" $cpu_b nginx -p "$tmp/nginx-lx" -c "$tmp/nginx-lx/nginx.conf" \
	>"$tmp/nginx-lx.out" 2>"$tmp/nginx-lx.err" &
pids+=($!)
wait_http "$ns_b" http://198.18.1.1:8080/f "nginx (linux)" $!

# iperf_server NS ADDR CPU: iperf3 -s for one test (-1), listening.
iperf_server() {
	local ns=$1 addr=$2 cpu=$3 i

	ip netns exec "$ns" $cpu iperf3 -s -1 -B "$addr" -p 5201 >"$tmp/iperf-s.out" 2>&1 &
	pids+=($!)
	for ((i = 0; i < 500; i++)); do
		ip netns exec "$ns" ss -Hltn 'sport = :5201' | grep -q . && return 0
		sleep 0.02
	done
	die "iperf3 -s on $addr not listening after 10 s"
}

# measure_app jr|lx rr|stream: requests/s or bytes/s.
measure_app() {
	local who=$1 mode=$2 out

	if [[ $mode == rr ]]; then
		if [[ $who == jr ]]; then
			out=$(ip netns exec "$ns_jr" $cpu_a wrk -t1 -c1 -d"${seconds}s" http://198.18.0.2:8080/f 2>&1)
		else
			out=$(ip netns exec "$ns_b" $cpu_a wrk -t1 -c1 -d"${seconds}s" http://198.18.1.1:8080/f 2>&1)
		fi
		! grep -q 'Non-2xx\|Socket errors' <<<"$out" || die "wrk ($who) saw errors: $out"
		sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' <<<"$out"
	else
		if [[ $who == jr ]]; then
			iperf_server "$ns_jr" 198.18.0.1 "$cpu_a"
			out=$(ip netns exec "$ns_jr" env LD_PRELOAD="$preload" JR_NETSERVER_SOCKET="$sock" \
				$cpu_a iperf3 -c 198.18.0.1 -p 5201 -t "$seconds" -J 2>&1)
		else
			iperf_server "$ns_a" 198.18.1.1 "$cpu_b"
			out=$(ip netns exec "$ns_b" $cpu_a iperf3 -c 198.18.1.1 -p 5201 -t "$seconds" -J 2>&1)
		fi
		python3 -c 'import json, sys
d = json.loads(sys.stdin.read())
if "error" in d:
    sys.exit("iperf3: " + d["error"])
print(d["end"]["sum_received"]["bits_per_second"] / 8)' <<<"$out" ||
			die "iperf3 ($who) failed: $(tail -n 5 <<<"$out")"
	fi
}

echo "unmodified programs (jr: libjr-preload.so)"
printf '%-6s %-6s %14s %14s\n' round case "nginx req/s" "iperf3 MB/s"
app_rr=() app_stream=()
for ((r = 1; r <= rounds; r++)); do
	if (( r % 2 )); then order="jr lx"; else order="lx jr"; fi
	for c in $order; do
		declare "app_${c}_rr=$(measure_app "$c" rr)"
		declare "app_${c}_stream=$(measure_app "$c" stream)"
	done
	for c in jr lx; do
		rr_var=app_${c}_rr
		st_var=app_${c}_stream
		printf '%-6s %-6s %14.0f %14.1f\n' "$r" "$([[ $c == jr ]] && echo jr || echo linux)" \
			"${!rr_var}" "$(awk -v b="${!st_var}" 'BEGIN { print b / 1e6 }')"
		record preload-rr "$r" "$c" "\"rps\": ${!rr_var}"
		record preload-stream "$r" "$c" "\"bytes_per_s\": ${!st_var}"
	done
	app_rr+=("$(awk -v a="$app_jr_rr" -v b="$app_lx_rr" 'BEGIN { print a / b }')")
	app_stream+=("$(awk -v a="$app_jr_stream" -v b="$app_lx_stream" 'BEGIN { print a / b }')")
done
echo "preload: rr $(summary "${app_rr[@]}") linux, stream $(summary "${app_stream[@]}") linux"
