#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# test_preload_apps.sh VARIANT - unmodified applications under the
# LD_PRELOAD frontend (libjr-preload.so), against Linux programs.
#
# A preloaded program's AF_INET TCP/UDP sockets are the netserver's
# (JR_IP); Linux programs use the kernel (LX_IP).  Each case proves that
# the netserver carried the traffic, not the kernel:
#   - a Linux server logs the preloaded client's address as JR_IP (through
#     the kernel it would be LX_IP: the kernel owns only LX_IP here);
#   - a preloaded listener has no kernel socket (`ss` shows none on its
#     port), yet Linux clients reach it at JR_IP, an address only the
#     netserver answers for, and the netserver counts it as a frontend
#     while it runs;
#   - the netserver's port counters grew by at least the data moved.
#
#   curl     preloaded curl GETs 1000003 bytes from Linux python3 http.server
#   wget     the same with preloaded wget
#   pyserver preloaded python3 http.server; Linux curl GETs from it
#   redis    preloaded redis-server; Linux redis-benchmark, preloaded
#            redis-cli SET/GET; then Linux redis-server and preloaded
#            redis-benchmark
#   nginx    preloaded nginx, master and 2 workers (fork: the master's
#            listening socket used by the workers); Linux wrk and curl
#   iperf3   preloaded client to a Linux server, then the reverse
#   netcat   TCP both ways with socat and nc (1 MiB), UDP both ways (socat)
# Data is checked byte for byte (sha256).  JR_PRELOAD_CASES (names above,
# space-separated) runs a subset, for debugging.
#
# Servers bind IPv4 explicitly (--bind 0.0.0.0, iperf3 -4, pf=ip4): the
# preload serves AF_INET only, and these programs otherwise open AF_INET6
# dual-stack sockets, which would stay the kernel's.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

: "${JR_PRELOAD:=$JR_SRC_DIR/build/libjr/libjr-preload.so}"

_jr_preload_lib() {
	[[ -f $JR_PRELOAD ]] ||
		jr_fail "no preload library at $JR_PRELOAD (build the jr-preload target)"
}

# jr_preload [-t SECONDS] CMD...: run CMD in the namespace with its AF_INET
# sockets served by the netserver; with -t it is stopped after SECONDS
# (status 124), so that a hang fails the case instead of the run.
jr_preload() {
	local limit=()

	if [[ $1 == -t ]]; then
		limit=(timeout -k 5 "$2")
		shift 2
	fi
	_jr_preload_lib
	"${limit[@]}" ip netns exec "$JR_NS" \
		env LD_PRELOAD="$JR_PRELOAD" JR_NETSERVER_SOCKET="$JR_SOCK" "$@"
}

# jr_preload_bg NAME CMD...: jr_bg with the preload.
jr_preload_bg() {
	local name=$1
	shift

	_jr_preload_lib
	jr_bg "$name" env LD_PRELOAD="$JR_PRELOAD" JR_NETSERVER_SOCKET="$JR_SOCK" "$@"
}

jr_need_tools curl wget redis-server redis-cli redis-benchmark nginx wrk iperf3 \
	nc socat sha256sum timeout
nc -h 2>&1 | grep -q OpenBSD || jr_skip "nc is not OpenBSD netcat (needs -N)"
_jr_preload_lib
jr_setup "${1:-}"

CASES=${JR_PRELOAD_CASES:-curl wget pyserver redis nginx iperf3 netcat}

sha() {
	sha256sum "$1" | cut -d' ' -f1
}

gen() {	# gen BYTES SEED FILE
	"$JR_TEST_BIN/jr-ns-stream" gen --bytes "$1" --seed "$2" >"$3"
}

# no_kernel_socket PROTO PORT: no kernel socket has the local port (a
# preloaded program's sockets are the netserver's).
no_kernel_socket() {
	local proto=$1 port=$2 flag=-t socks

	[[ $proto == udp ]] && flag=-u
	socks=$(jr_ns ss -Han "$flag" "sport = :$port")
	[[ -z $socks ]] || jr_fail "kernel $proto sockets on port $port: $socks"
}

# frontends_while WHAT: the running preloaded program(s) are attached.
frontends_while() {
	local n

	n=$(jr_stats | jr_stat_frontends)
	(( n >= 1 )) || jr_fail "$1 runs, but the netserver has $n frontends"
	FRONTENDS=$n
}

# stop_bg NAME [TIMEOUT_S]: jr_kill_bg with a bound: a program still
# running TIMEOUT_S after SIGTERM (stuck in the library) fails the case.
stop_bg() {
	local name=$1 timeout=${2:-10} pid=${JR_BG_PIDS[$1]:-} deadline

	[[ -n $pid ]] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	deadline=$(( $(jr_now_us) + timeout * 1000000 ))
	while kill -0 "$pid" 2>/dev/null; do
		(( $(jr_now_us) <= deadline )) ||
			jr_fail "$name did not stop within $timeout s of SIGTERM"
		sleep 0.02
	done
	wait "$pid" 2>/dev/null || true
	unset "JR_BG_PIDS[$name]"
}

# wait_err NAME REGEX TIMEOUT_S: a line of NAME's stderr matches, NAME
# still runs (socat -d -d logs there, unbuffered).
wait_err() {
	local name=$1 re=$2 timeout=$3

	_err_or_dead() {
		grep -q -- "$re" "$JR_TMP/$name.err" && return 0
		if ! jr_bg_alive "$name"; then
			jr_wait_bg "$name" 1 || true
			jr_fail "$name exited before logging '$re'"
		fi
		return 1
	}
	jr_wait_until "$timeout" "'$re' from $name" _err_or_dead
}

# wait_http NAME URL TIMEOUT_S: Linux curl gets URL from the preloaded
# server NAME (polling: `ss` cannot see its listener).
wait_http() {
	local name=$1 url=$2 timeout=$3

	_http_or_dead() {
		jr_ns curl -sf --noproxy '*' --max-time 2 -o /dev/null "$url" && return 0
		if ! jr_bg_alive "$name"; then
			jr_wait_bg "$name" 1 || true
			jr_fail "$name exited before serving $url"
		fi
		return 1
	}
	jr_wait_until "$timeout" "$name to serve $url" _http_or_dead
}

# A Linux python3 http.server on LX_IP:8000 serving lxwww/data.bin.
LX_SIZE=1000003
start_linux_http() {
	if [[ ! -e $JR_TMP/lxwww/data.bin ]]; then
		mkdir "$JR_TMP/lxwww"
		gen $LX_SIZE 61 "$JR_TMP/lxwww/data.bin"
	fi
	jr_bg lxhttp "$JR_PYTHON" -m http.server 8000 --bind "$LX_IP" --directory "$JR_TMP/lxwww"
	jr_wait_listen tcp 8000
}

# The Linux server logged a GET of data.bin from JR_IP (python logs
# "ADDRESS - - [date] "GET ..." 200 -").
linux_http_saw_jr() {
	grep -q "^$JR_IP - - .*\"GET /data.bin HTTP/1\.[01]\" 200" "$JR_TMP/lxhttp.err" ||
		jr_fail "$1: Linux http.server logged no GET from $JR_IP: $(cat "$JR_TMP/lxhttp.err")"
}

# 1. Preloaded curl -> Linux http.server.
case_curl() {
	local res

	start_linux_http
	jr_mark_port
	res=$(jr_preload -t 40 curl -sS --noproxy '*' --max-time 30 -o "$JR_TMP/curl.body" \
		-w '%{http_code} %{size_download}' "http://$LX_IP:8000/data.bin") ||
		jr_fail "preloaded curl failed (status $?)"
	[[ $res == "200 $LX_SIZE" ]] || jr_fail "preloaded curl: status/size '$res', want '200 $LX_SIZE'"
	[[ $(sha "$JR_TMP/curl.body") == "$(sha "$JR_TMP/lxwww/data.bin")" ]] ||
		jr_fail "preloaded curl: sha256 differs from the served file"
	linux_http_saw_jr "preloaded curl"
	jr_carried "preloaded curl" $LX_SIZE 0
	stop_bg lxhttp
	jr_wait_stat frontends 0 5
	jr_log "curl (preloaded) GET from Linux http.server: 200, $LX_SIZE bytes, sha256 matches;" \
		"the server saw $JR_IP; port $PORT_MOVED"
}

# 2. Preloaded wget -> Linux http.server.
case_wget() {
	start_linux_http
	jr_mark_port
	jr_preload -t 40 wget -q --no-proxy --tries=1 --timeout=30 -O "$JR_TMP/wget.body" \
		"http://$LX_IP:8000/data.bin" || jr_fail "preloaded wget failed (status $?)"
	[[ $(stat -c %s "$JR_TMP/wget.body") == "$LX_SIZE" &&
	   $(sha "$JR_TMP/wget.body") == "$(sha "$JR_TMP/lxwww/data.bin")" ]] ||
		jr_fail "preloaded wget: $(stat -c %s "$JR_TMP/wget.body") bytes, sha256 differs"
	linux_http_saw_jr "preloaded wget"
	jr_carried "preloaded wget" $LX_SIZE 0
	stop_bg lxhttp
	jr_wait_stat frontends 0 5
	jr_log "wget (preloaded) GET from Linux http.server: $LX_SIZE bytes, sha256 matches;" \
		"the server saw $JR_IP; port $PORT_MOVED"
}

# 3. Linux curl -> preloaded python3 http.server.
case_pyserver() {
	local size=777777 res

	mkdir "$JR_TMP/jrwww"
	gen $size 62 "$JR_TMP/jrwww/data.bin"
	jr_preload_bg jrhttp "$JR_PYTHON" -m http.server 8001 --bind 0.0.0.0 \
		--directory "$JR_TMP/jrwww"
	wait_http jrhttp "http://$JR_IP:8001/" 30
	no_kernel_socket tcp 8001
	frontends_while "python3 http.server (preloaded)"
	jr_mark_port
	res=$(jr_ns timeout 40 curl -sS --noproxy '*' --max-time 30 -o "$JR_TMP/pyget.body" \
		-w '%{http_code} %{size_download}' "http://$JR_IP:8001/data.bin") ||
		jr_fail "Linux curl from the preloaded http.server failed"
	[[ $res == "200 $size" ]] || jr_fail "Linux curl: status/size '$res', want '200 $size'"
	[[ $(sha "$JR_TMP/pyget.body") == "$(sha "$JR_TMP/jrwww/data.bin")" ]] ||
		jr_fail "Linux curl from the preloaded http.server: sha256 differs"
	grep -q "^$LX_IP - - .*\"GET /data.bin HTTP/1.1\" 200" "$JR_TMP/jrhttp.err" ||
		jr_fail "the preloaded http.server logged no GET from $LX_IP"
	jr_carried "preloaded http.server" 0 $size
	stop_bg jrhttp
	jr_wait_stat frontends 0 5
	jr_log "python3 http.server (preloaded, no kernel socket, $FRONTENDS frontend(s)) served" \
		"Linux curl: 200, $size bytes, sha256 matches; port $PORT_MOVED"
}

# redis-benchmark's -q output: a "requests per second" line for SET and
# GET, and no error.
check_benchmark() {
	local name=$1 t

	for t in SET GET; do
		tr '\r' '\n' <"$JR_TMP/$name.out" |
			grep -Eq "^$t: [0-9.]+ requests per second" ||
			jr_fail "$name: no $t result: $(tr '\r' '\n' <"$JR_TMP/$name.out" | tail -n 3)"
	done
	! grep -Eqi 'error|could not|reset|refused' "$JR_TMP/$name.out" "$JR_TMP/$name.err" ||
		jr_fail "$name reported errors: $(cat "$JR_TMP/$name.err") $(tr '\r' '\n' <"$JR_TMP/$name.out" | grep -Ei 'error|could not|reset|refused' | head -n 3)"
	BENCH=$(tr '\r' '\n' <"$JR_TMP/$name.out" |
		grep -E '^(SET|GET): [0-9.]+ requests per second' | cut -d, -f1 | paste -sd ';')
}

# 4. Preloaded redis-server <- Linux redis-benchmark, preloaded redis-cli;
#    Linux redis-server <- preloaded redis-benchmark.
case_redis() {
	local value got info

	jr_preload_bg jrredis redis-server --port 6379 --save '' --appendonly no \
		--bind 0.0.0.0 --protected-mode no --dir "$JR_TMP"
	_redis_pong() {
		[[ $(jr_ns timeout 3 redis-cli -h "$JR_IP" -p 6379 ping 2>/dev/null) == PONG ]] && return 0
		if ! jr_bg_alive jrredis; then
			jr_wait_bg jrredis 1 || true
			jr_fail "the preloaded redis-server exited"
		fi
		return 1
	}
	jr_wait_until 30 "the preloaded redis-server to answer PING" _redis_pong
	no_kernel_socket tcp 6379
	frontends_while "redis-server (preloaded)"
	jr_mark_port
	# Each request waits for its reply: at least a frame each way apiece.
	jr_bg lxbench redis-benchmark -h "$JR_IP" -p 6379 -q -n 2000 -c 4 -t set,get
	jr_wait_bg lxbench 60 || jr_fail "Linux redis-benchmark against the preloaded redis-server failed"
	check_benchmark lxbench
	jr_carried "Linux redis-benchmark -> preloaded redis-server" 0 0 4000 4000
	jr_log "redis-server (preloaded, no kernel socket, $FRONTENDS frontend(s)) served Linux" \
		"redis-benchmark without errors ($BENCH); port $PORT_MOVED"

	value="jr-$("$JR_TEST_BIN/jr-ns-stream" gen --bytes 3000 --seed 41 | sha256sum | cut -c1-48)"
	got=$(jr_preload -t 20 redis-cli -h "$JR_IP" -p 6379 SET jr:key "$value") ||
		jr_fail "preloaded redis-cli SET failed"
	[[ $got == OK ]] || jr_fail "preloaded redis-cli SET answered '$got'"
	got=$(jr_preload -t 20 redis-cli -h "$JR_IP" -p 6379 GET jr:key) ||
		jr_fail "preloaded redis-cli GET failed"
	[[ $got == "$value" ]] || jr_fail "preloaded redis-cli GET answered '$got', want '$value'"
	got=$(jr_ns timeout 10 redis-cli -h "$JR_IP" -p 6379 GET jr:key)
	[[ $got == "$value" ]] || jr_fail "Linux redis-cli GET of the preloaded SET answered '$got'"
	stop_bg jrredis
	jr_wait_stat frontends 0 5
	jr_log "redis-cli (preloaded) SET/GET against the preloaded redis-server (inside the" \
		"netserver) round-trips a value; Linux redis-cli reads it too"

	jr_bg lxredis redis-server --port 6380 --save '' --appendonly no \
		--bind "$LX_IP" --protected-mode no --dir "$JR_TMP"
	jr_wait_listen tcp 6380
	jr_mark_port
	jr_preload_bg jrbench redis-benchmark -h "$LX_IP" -p 6380 -q -n 2000 -c 4 -t set,get
	jr_wait_bg jrbench 60 || jr_fail "preloaded redis-benchmark against Linux redis-server failed"
	check_benchmark jrbench
	jr_carried "preloaded redis-benchmark -> Linux redis-server" 0 0 4000 4000
	info=$(jr_preload -t 20 redis-cli -h "$LX_IP" -p 6380 CLIENT INFO) ||
		jr_fail "preloaded redis-cli CLIENT INFO failed"
	[[ $info == *"addr=$JR_IP:"* ]] ||
		jr_fail "Linux redis-server saw the preloaded redis-cli as '$info', not from $JR_IP"
	stop_bg lxredis
	jr_wait_stat frontends 0 5
	jr_log "redis-benchmark (preloaded) against Linux redis-server without errors ($BENCH);" \
		"the server sees preloaded clients from $JR_IP; port $PORT_MOVED"
}

# 5. Preloaded nginx (master + 2 workers) <- Linux wrk and curl.
case_nginx() {
	local conf=$JR_TMP/nginx.conf m temps="" master workers res requests

	mkdir -p "$JR_TMP/www" "$JR_TMP/nginx-temp"
	gen 16384 63 "$JR_TMP/www/file"
	gen 1048576 64 "$JR_TMP/www/big.bin"
	# Every compiled-in temp path would otherwise be created under
	# /var/lib/nginx.  A module built --without has no directive.
	temps="client_body_temp_path $JR_TMP/nginx-temp/body;"
	for m in proxy fastcgi uwsgi scgi; do
		nginx -V 2>&1 | grep -q -- "--without-http_${m}_module" && continue
		temps+=" ${m}_temp_path $JR_TMP/nginx-temp/$m;"
	done
	# user root: the workers must read JR_TMP (mode 0700), and stay the
	# same user towards the netserver's socket as the master.
	cat >"$conf" <<-EOF
		daemon off;
		master_process on;
		worker_processes 2;
		user root;
		error_log $JR_TMP/nginx.err;
		pid $JR_TMP/nginx.pid;
		events { worker_connections 64; }
		http {
			access_log off;
			$temps
			server { listen 8080; root $JR_TMP/www; }
		}
	EOF
	jr_ns nginx -t -q -p "$JR_TMP" -e "$JR_TMP/nginx.err" -c "$conf" 2>"$JR_TMP/nginx-t.err" ||
		jr_fail "nginx rejects the test's configuration: $(cat "$JR_TMP/nginx-t.err")"

	jr_preload_bg nginxd nginx -p "$JR_TMP" -e "$JR_TMP/nginx.err" -c "$conf"
	wait_http nginxd "http://$JR_IP:8080/file" 30
	no_kernel_socket tcp 8080
	master=${JR_BG_PIDS[nginxd]}
	workers=$(pgrep -P "$master" | wc -l)
	(( workers == 2 )) || jr_fail "nginx master $master has $workers worker processes, want 2"
	frontends_while "nginx (preloaded)"

	jr_mark_port
	jr_bg wrk timeout -k 5 30 wrk -t2 -c8 -d3s "http://$JR_IP:8080/file"
	jr_wait_bg wrk 40 || jr_fail "wrk against the preloaded nginx failed"
	if grep -Eq 'Non-2xx or 3xx responses|Socket errors' "$JR_TMP/wrk.out"; then
		jr_fail "wrk against the preloaded nginx: $(grep -E 'Non-2xx|Socket errors' "$JR_TMP/wrk.out")"
	fi
	requests=$(sed -n 's/^ *\([0-9]*\) requests in .*/\1/p' "$JR_TMP/wrk.out")
	(( ${requests:-0} > 0 )) || jr_fail "wrk made no requests: $(cat "$JR_TMP/wrk.out")"
	jr_carried "wrk -> preloaded nginx" 0 $((requests * 16384)) "$requests" "$requests"

	for m in file big.bin; do
		res=$(jr_ns timeout 40 curl -sS --noproxy '*' --max-time 30 -o "$JR_TMP/nginx.body" \
			-w '%{http_code} %{size_download}' "http://$JR_IP:8080/$m") ||
			jr_fail "Linux curl of /$m from the preloaded nginx failed"
		[[ $res == "200 $(stat -c %s "$JR_TMP/www/$m")" ]] ||
			jr_fail "Linux curl of /$m from the preloaded nginx: status/size '$res'"
		[[ $(sha "$JR_TMP/nginx.body") == "$(sha "$JR_TMP/www/$m")" ]] ||
			jr_fail "Linux curl of /$m from the preloaded nginx: sha256 differs"
	done
	jr_bg_alive nginxd || jr_fail "nginx exited while serving"
	stop_bg nginxd
	jr_wait_stat frontends 0 10
	jr_log "nginx (preloaded; master and 2 workers, no kernel socket, $FRONTENDS frontend(s))" \
		"served wrk $requests requests, no non-2xx or socket errors, and curl /file and" \
		"/big.bin (1 MiB) with sha256 matching; port $PORT_MOVED"
}

# iperf_json FILE: "bytes-sent bytes-received local-host" of a JSON result
# without "error", or fail.
iperf_json() {
	"$JR_PYTHON" - "$1" <<-'EOF'
		import json, sys
		try:
		    d = json.load(open(sys.argv[1]))
		except ValueError as e:
		    sys.exit("no JSON result: %s" % e)
		if "error" in d:
		    sys.exit("error: %s" % d["error"])
		end = d["end"]
		print(end["sum_sent"]["bytes"], end["sum_received"]["bytes"],
		      d["start"]["connected"][0]["local_host"])
	EOF
}

# 6. iperf3: preloaded client -> Linux server, then Linux client ->
#    preloaded server.
case_iperf3() {
	local sent received local_host res

	jr_bg lxiperf iperf3 -s -B "$LX_IP" -p 5201 -1 --forceflush
	jr_wait_listen tcp 5201
	jr_mark_port
	jr_preload -t 40 iperf3 -c "$LX_IP" -p 5201 -t 3 -J >"$JR_TMP/jriperf.json" ||
		jr_log "preloaded iperf3 client exited with status $?"
	res=$(iperf_json "$JR_TMP/jriperf.json" 2>&1) ||
		jr_fail "preloaded iperf3 client: $res"
	read -r sent received local_host <<<"$res"
	(( sent > 0 && received > 0 )) || jr_fail "preloaded iperf3 client: sent $sent, received $received"
	[[ $local_host == "$JR_IP" ]] || jr_fail "preloaded iperf3 client's local address is $local_host"
	jr_wait_bg lxiperf 15 || jr_fail "Linux iperf3 server failed"
	grep -q "Accepted connection from $JR_IP," "$JR_TMP/lxiperf.out" ||
		jr_fail "Linux iperf3 server accepted no connection from $JR_IP"
	jr_carried "preloaded iperf3 -> Linux" 0 "$received"
	jr_wait_stat frontends 0 5
	jr_log "iperf3 client (preloaded) -> Linux server: $sent bytes sent, $received received," \
		"from $JR_IP, no error; port $PORT_MOVED"

	jr_preload_bg jriperf iperf3 -s -4 -p 5202 -1 --forceflush
	jr_wait_output jriperf "Server listening on 5202" 20
	no_kernel_socket tcp 5202
	frontends_while "iperf3 -s (preloaded)"
	jr_mark_port
	jr_ns timeout 40 iperf3 -c "$JR_IP" -p 5202 -t 3 -J >"$JR_TMP/lxiperf.json" ||
		jr_log "Linux iperf3 client exited with status $?"
	res=$(iperf_json "$JR_TMP/lxiperf.json" 2>&1) ||
		jr_fail "Linux iperf3 client to the preloaded server: $res"
	read -r sent received local_host <<<"$res"
	(( sent > 0 && received > 0 )) || jr_fail "Linux iperf3 client: sent $sent, received $received"
	jr_wait_bg jriperf 15 || jr_fail "preloaded iperf3 server failed"
	grep -q "Accepted connection from $LX_IP," "$JR_TMP/jriperf.out" ||
		jr_fail "the preloaded iperf3 server accepted no connection from $LX_IP"
	jr_carried "Linux iperf3 -> preloaded server" "$received" 0
	jr_wait_stat frontends 0 5
	jr_log "iperf3 server (preloaded, no kernel socket) <- Linux client: $sent bytes sent," \
		"$received received, no error; port $PORT_MOVED"
}

# 7. nc and socat, TCP both ways (1 MiB) and UDP both ways.
case_netcat() {
	local size=1048576 dsize=512

	gen $size 71 "$JR_TMP/nc.in"
	gen $dsize 72 "$JR_TMP/dgram.in"

	# Linux nc -> preloaded socat.
	jr_preload_bg jrsocat socat -d -d -u TCP-LISTEN:7000,reuseaddr,pf=ip4 \
		OPEN:"$JR_TMP/socat.out",creat,trunc
	wait_err jrsocat "listening on AF=2 0.0.0.0:7000" 20
	no_kernel_socket tcp 7000
	frontends_while "socat TCP-LISTEN (preloaded)"
	jr_mark_port
	jr_ns timeout 30 nc -N "$JR_IP" 7000 <"$JR_TMP/nc.in" ||
		jr_fail "Linux nc to the preloaded socat failed (status $?)"
	jr_wait_bg jrsocat 20 || jr_fail "the preloaded socat receiver failed"
	[[ $(sha "$JR_TMP/socat.out") == "$(sha "$JR_TMP/nc.in")" ]] ||
		jr_fail "Linux nc -> preloaded socat: $(stat -c %s "$JR_TMP/socat.out") bytes received, sha256 differs"
	grep -q "accepting connection from AF=2 $LX_IP:[0-9]* on AF=2 $JR_IP:7000" "$JR_TMP/jrsocat.err" ||
		jr_fail "the preloaded socat logged no connection from $LX_IP to $JR_IP:7000"
	jr_carried "Linux nc -> preloaded socat" $size 0
	jr_wait_stat frontends 0 5
	jr_log "Linux nc -> socat TCP-LISTEN (preloaded, no kernel socket): $size bytes," \
		"sha256 matches; port $PORT_MOVED"

	# Preloaded nc -> Linux socat.
	jr_bg lxsocat socat -d -d -u TCP-LISTEN:7001,bind="$LX_IP",reuseaddr \
		OPEN:"$JR_TMP/lxsocat.data",creat,trunc
	jr_wait_listen tcp 7001
	jr_mark_port
	jr_preload -t 30 nc -N "$LX_IP" 7001 <"$JR_TMP/nc.in" ||
		jr_fail "preloaded nc to Linux socat failed (status $?)"
	jr_wait_bg lxsocat 20 || jr_fail "the Linux socat receiver failed"
	[[ $(sha "$JR_TMP/lxsocat.data") == "$(sha "$JR_TMP/nc.in")" ]] ||
		jr_fail "preloaded nc -> Linux socat: $(stat -c %s "$JR_TMP/lxsocat.data") bytes received, sha256 differs"
	grep -q "accepting connection from AF=2 $JR_IP:" "$JR_TMP/lxsocat.err" ||
		jr_fail "Linux socat logged no connection from $JR_IP"
	jr_carried "preloaded nc -> Linux socat" 0 $size
	jr_wait_stat frontends 0 5
	jr_log "nc (preloaded) -> Linux socat: $size bytes from $JR_IP, sha256 matches; port $PORT_MOVED"

	# UDP: Linux socat -> preloaded socat UDP-RECV.  The receiver binds
	# before it logs the transfer loop.
	jr_preload_bg jrudp socat -d -d -u UDP-RECV:7002,pf=ip4 OPEN:"$JR_TMP/udp.out",creat,trunc
	wait_err jrudp "starting data transfer loop" 20
	no_kernel_socket udp 7002
	frontends_while "socat UDP-RECV (preloaded)"
	jr_ns timeout 10 socat -u - UDP-SENDTO:"$JR_IP":7002 <"$JR_TMP/dgram.in" ||
		jr_fail "Linux socat UDP-SENDTO failed"
	_udp_in() { [[ -e $JR_TMP/udp.out && $(stat -c %s "$JR_TMP/udp.out") -ge $dsize ]]; }
	jr_wait_until 10 "the datagram at the preloaded socat" _udp_in
	cmp -s "$JR_TMP/udp.out" "$JR_TMP/dgram.in" ||
		jr_fail "Linux -> preloaded UDP: received $(stat -c %s "$JR_TMP/udp.out") bytes, differ"
	grep -q "received packet with $dsize bytes from AF=2 $LX_IP:" "$JR_TMP/jrudp.err" ||
		jr_fail "the preloaded socat logged no $dsize-byte datagram from $LX_IP"
	stop_bg jrudp
	jr_wait_stat frontends 0 5
	jr_log "Linux socat UDP -> socat UDP-RECV (preloaded, no kernel socket): one $dsize-byte" \
		"datagram, byte-exact"

	# UDP: preloaded socat UDP-SENDTO -> Linux socat.
	jr_bg lxudp socat -d -d -u UDP-RECV:7003,bind="$LX_IP" OPEN:"$JR_TMP/lxudp.data",creat,trunc
	jr_wait_listen udp 7003
	jr_preload -t 10 socat -u - UDP-SENDTO:"$LX_IP":7003 <"$JR_TMP/dgram.in" ||
		jr_fail "preloaded socat UDP-SENDTO failed (status $?)"
	_udp_out() { [[ -e $JR_TMP/lxudp.data && $(stat -c %s "$JR_TMP/lxudp.data") -ge $dsize ]]; }
	jr_wait_until 10 "the datagram at Linux socat" _udp_out
	cmp -s "$JR_TMP/lxudp.data" "$JR_TMP/dgram.in" ||
		jr_fail "preloaded -> Linux UDP: received $(stat -c %s "$JR_TMP/lxudp.data") bytes, differ"
	grep -q "received packet with $dsize bytes from AF=2 $JR_IP:" "$JR_TMP/lxudp.err" ||
		jr_fail "Linux socat logged no $dsize-byte datagram from $JR_IP"
	stop_bg lxudp
	jr_wait_stat frontends 0 5
	jr_log "socat UDP-SENDTO (preloaded) -> Linux socat: one $dsize-byte datagram from" \
		"$JR_IP, byte-exact"
}

for c in $CASES; do
	declare -F "case_$c" >/dev/null || jr_fail "unknown case '$c'"
	"case_$c"
done

jr_wait_stat frontends 0 10
jr_wait_stat tcp_open 0 10
jr_finish
