#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# jrctl status, sockets and stats read recorded /proc files (a unit test:
# jrctl_fixture/ stands in for the kernel's /proc/net/joyride*, in the
# format jr_stat_show() and jr_seq_show() print; JRCTL_PROC_ROOT points
# jrctl there).  It checks the parsing, the filters, the three output
# forms and the exit statuses.  The guest test selftests/guest/
# jrctl_test.py runs the same commands against the real module and
# netserver.
set -euo pipefail

jrctl=$1
fixture=$(cd "$(dirname "$0")" && pwd)/jrctl_fixture
export JRCTL_PROC_ROOT=$fixture
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
has() { grep -qF -- "$2" "$1" || { cat "$1"; fail "no '$2' in $(basename "$1")"; }; }

# status: the summary, and JSON with every engine and user.
"$jrctl" status > "$tmp/status"
has "$tmp/status" "Joyride: live, epoch 4"
has "$tmp/status" "Engines: 2 attached, 0 awaited, 1 standby"
has "$tmp/status" "engine 1  live      pid 312"
has "$tmp/status" "standby   parked    pid 313"
has "$tmp/status" "uid 65534"
has "$tmp/status" "the last took 87 ms, 40 s ago"
has "$tmp/status" "net.joyride.survival = 1"
"$jrctl" status --json > "$tmp/status.json"
python3 - "$tmp/status.json" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["state"] == "live" and s["epoch"] == 4, s
assert [e["engine"] for e in s["engines"]] == [0, 1], s["engines"]
assert s["engines"][1]["pid"] == 312 and s["engines"][1]["slots_used"] == 4
assert [b["pid"] for b in s["standbys"]] == [313]
assert {u["uid"]: u["slots"] for u in s["users"]} == {0: 5, 65534: 2}
assert s["recovery"] == {"count": 2, "recovering_ms": 0, "last_ms": 87, "last_age_s": 40,
                         "conns_kept": 16, "conns_restored": 16, "conns_reset": 1}, s["recovery"]
assert s["sysctl"]["redirect_inet"] == 1
EOF
echo "ok: status, text and --json"

# stats: the table (total and per engine), nested JSON, Prometheus text.
"$jrctl" stats > "$tmp/stats"
grep -Eq '^requests +3000 +1000 +2000$' "$tmp/stats" || { cat "$tmp/stats"; fail "requests row"; }
grep -Eq '^rejected.malformed +2 +0 +2$' "$tmp/stats" || fail "rejected.malformed row"
grep -Eq '^conns_kept +16$' "$tmp/stats" || fail "device-wide conns_kept row"
! grep -q '^serving_s' "$tmp/stats" || fail "a gauge that does not add up is in the table"
"$jrctl" stats -e 1 | grep -Eq '^ns.rx_bytes +7001000$' || fail "stats -e 1"
"$jrctl" stats --json > "$tmp/stats.json"
python3 - "$tmp/stats.json" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["engine"]["1"]["rejected"]["malformed"] == 2
assert s["engine"]["0"]["ns"]["tx_bytes"] == 6000000
assert s["rejected"] == {"ring_position": 0, "checkpoint": 1}
assert s["user"]["65534"]["slots"] == 2
EOF
"$jrctl" stats --prometheus > "$tmp/prom"
python3 - "$tmp/prom" <<'EOF'
import re, sys
sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? '
                    r'[0-9]+(\.[0-9]+)?$')
typed, seen, current = {}, set(), None
for line in open(sys.argv[1]).read().splitlines():
    if line.startswith("# TYPE "):
        _, _, name, kind = line.split()
        assert name not in typed, "two TYPE lines for " + name
        assert kind in ("counter", "gauge")
        assert kind == "gauge" or name.endswith("_total"), name
        typed[name] = kind
        current = name
        continue
    m = sample.match(line)
    assert m, "not text format: %r" % line
    assert m.group(1) == current, "%s outside its group" % m.group(1)
    seen.add(m.group(1))
assert seen == set(typed), set(typed) - seen
for want in ('joyride_engine_rx_bytes_total{engine="1"} 7001000',
             'joyride_engine_rejected_total{engine="1",reason="malformed"} 2',
             'joyride_last_recovery_seconds 0.087', 'joyride_user_slots{uid="0"} 5',
             'joyride_state{state="live"} 1'):
    assert want in open(sys.argv[1]).read(), want
EOF
"$jrctl" stats -i 0.1 -c 2 --json > "$tmp/rates"
python3 - "$tmp/rates" <<'EOF'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 2, lines
for l in lines:
    s = json.loads(l)
    assert 0.05 < s["interval_s"] < 1, s["interval_s"]
    # The files do not change: every counter's rate is 0, gauges stay.
    assert s["engine"]["1"]["ns"]["rx_bytes"] == 0 and s["engine"]["1"]["pid"] == 312
EOF
echo "ok: stats, table, --json, --prometheus and -i"

# sockets: ss's defaults and filters.
"$jrctl" sockets -n > "$tmp/s"
[ "$(grep -c ESTAB "$tmp/s")" -eq 3 ] && ! grep -q LISTEN "$tmp/s" || fail "default: connected sockets only"
[ "$("$jrctl" sockets -l | grep -c -E 'LISTEN|UNCONN')" -eq 2 ] || fail "-l: the listener and the unbound UDP socket"
[ "$("$jrctl" sockets -lu | grep -c UNCONN)" -eq 1 ] || fail "-lu"
"$jrctl" sockets -an --sport 80 > "$tmp/s80"
[ "$(grep -c '198.18.0.2:80 ' "$tmp/s80")" -eq 2 ] || fail "--sport 80"
"$jrctl" sockets -ti > "$tmp/si"
has "$tmp/si" "rtt:1.500ms cwnd:14600 retrans:0"
"$jrctl" sockets -e > "$tmp/se"
has "$tmp/se" "uid:65534 ino:4243 slot:5 engine:1"
"$jrctl" sockets --state surviving --json > "$tmp/surv.json"
python3 - "$tmp/surv.json" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
assert len(s) == 1 and s[0]["slot"] == 6 and s[0]["retrans"] == 1, s
EOF
echo "ok: sockets, filters and forms"

# Errors: usage is 2, no module is 1 with a message that says so.
for args in "sockets --state close-wait" "stats -c 2" "stats --json --prometheus" "sockets --sport 70000" "status extra" "top -d 0"; do
	rc=0
	# shellcheck disable=SC2086
	"$jrctl" $args > /dev/null 2>&1 || rc=$?
	[ "$rc" -eq 2 ] || fail "jrctl $args exited $rc, expected 2"
done
rc=0
JRCTL_PROC_ROOT=$tmp/none "$jrctl" status 2> "$tmp/err" || rc=$?
[ "$rc" -eq 1 ] || fail "without the module: status $rc, expected 1"
has "$tmp/err" "joyride module not loaded"
echo "ok: exit statuses"
