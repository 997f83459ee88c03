#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""jrctl status, sockets, stats and top against the guest's real netserver.

  sockets: a redirected listener (an unmodified python3 socket(AF_INET)
           program) is listed by `jrctl sockets -tlnp` with its process,
           and by --json with its pid;
  stats:   a known transfer moves the engine's byte counters by what was
           sent plus the frames' headers (within 8 %), opens one
           connection, and moves no drop counter and no rejection;
           --prometheus is well-formed text format;
  status:  --json parses and follows a kill -9 of the netserver (state
           "recovering", the engine awaited, a surviving connection listed
           by `sockets --state surviving`) and the restart (live again, one
           more recovery with its length, a new pid and epoch, the
           connection restored);
  top:     runs in tmux, redraws, and quits on "q".
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "recover"))
from jrtest import *  # noqa: E402,F403

require_netserver()
JRCTL = os.path.join(os.environ.get("JR_BUILD_DIR", "build"), "tools", "jrctl")
if not os.access(JRCTL, os.X_OK):
    fail("jrctl not built at %s" % JRCTL)
N = 8 << 20          # bytes each way for the counter check
HEADROOM = 1.08      # Ethernet+IP+TCP headers with timestamps: 66 B per 1448


def jrctl(*args):
    r = subprocess.run([JRCTL] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=30)
    if r.returncode != 0:
        fail("jrctl %s exited %d: %s" % (" ".join(args), r.returncode, r.stderr))
    return r.stdout


def stats():
    return json.loads(jrctl("stats", "--json"))


def status():
    return json.loads(jrctl("status", "--json"))


def engine_sum(st, name):
    """A netserver counter summed over the engines."""
    return sum(e["ns"][name] for e in st.get("engine", {}).values())


def kernel_sum(st, name):
    return sum(e[name] for e in st.get("engine", {}).values())


def rejected_sum(st):
    total = sum(st.get("rejected", {}).values())
    for e in st.get("engine", {}).values():
        total += sum(e["rejected"].values())
    return total


# --- sockets -tlnp: a redirected listener and its process.
PORT = 5411
subprocess.run(["sysctl", "-q", "-w", "net.joyride.redirect_inet=1"], check=True)
try:
    child = subprocess.Popen(
        [sys.executable, "-c",
         "import socket,sys,time\n"
         "s=socket.socket()\n"
         "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
         "s.bind(('0.0.0.0', %d)); s.listen(8)\n"
         "print('ready', flush=True)\n"
         "sys.stdin.read()\n" % PORT],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    check(child.stdout.readline().strip() == "ready", "a python3 listener started")
finally:
    subprocess.run(["sysctl", "-q", "-w", "net.joyride.redirect_inet=0"], check=True)
out = jrctl("sockets", "-tlnp")
print(out)
lines = [l for l in out.splitlines() if re.search(r":%d\s" % PORT, l)]
check(len(lines) == 1, "jrctl sockets -tlnp lists the redirected listener once")
check(lines[0].split()[1] == "LISTEN", "it is LISTEN")
check('users:(("python3",pid=%d,fd=' % child.pid in lines[0],
      "with its process (python3, pid %d)" % child.pid)
js = json.loads(jrctl("sockets", "-tlp", "--json", "--sport", str(PORT)))
check(len(js) == 1 and [p["pid"] for p in js[0]["processes"]] == [child.pid],
      "sockets --json --sport names the same socket and pid")
check(js[0]["uid"] == os.getuid() and js[0]["inode"] > 0, "with its uid and inode")
out = jrctl("sockets", "-tn")
check(not re.search(r":%d\s" % PORT, out), "without -l the listener is not listed (as ss)")
child.stdin.close()
child.wait(timeout=10)

# --- stats: a known transfer, each way, through a Linux peer.
before = stats()
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((LINUX_IP, 0))
srv.listen(1)
lport = srv.getsockname()[1]
c = jr_socket()
c.connect((LINUX_IP, lport))
peer, _ = srv.accept()
payload = bytes(range(256)) * (N // 256)


def recv_exact(s, n):
    got = 0
    while got < n:
        b = s.recv(min(1 << 20, n - got))
        if not b:
            fail("EOF after %d of %d bytes" % (got, n))
        got += len(b)
    return got


def transfer(sender, receiver, counter, since, what):
    """N bytes from sender to receiver; the engines' counter once it has
    counted them (it is published every 10 ms), as a dict of stats."""
    t = Thread(lambda: recv_exact(receiver, N))
    t.start()
    sender.sendall(payload)
    t.join(60)
    check(t.result == N, "%s: the %d bytes arrived" % (what, N))
    wait_until(lambda: engine_sum(stats(), counter) - engine_sum(since, counter) >= N,
               10, "the engines' %s to count %d bytes" % (counter, N))
    now = stats()
    moved = engine_sum(now, counter) - engine_sum(since, counter)
    check(N <= moved <= N * HEADROOM, "%s moved by %d for %d bytes (headers: at most %.0f %%)"
          % (counter, moved, N, (HEADROOM - 1) * 100))
    return now


mid = transfer(c, peer, "tx_bytes", before, "Joyride to Linux")
after = transfer(peer, c, "rx_bytes", mid, "Linux to Joyride")
check(engine_sum(after, "rx_packets") - engine_sum(before, "rx_packets") >= N // 1514,
      "rx_packets moved by at least one per full frame")
check(engine_sum(after, "tcp_opened") - engine_sum(before, "tcp_opened") == 1,
      "tcp_opened moved by the one connect()")
for name in ("drop_rx_queue", "drop_tx_queue", "drop_no_mbuf", "drop_bad_csum",
             "rx_dropped", "tx_dropped"):
    check(engine_sum(after, name) == engine_sum(before, name), "%s did not move" % name)
check(rejected_sum(after) == rejected_sum(before), "the kernel rejected nothing")
check(kernel_sum(after, "requests") > kernel_sum(before, "requests") and
      kernel_sum(after, "replies") > kernel_sum(before, "replies"),
      "the kernel's request and reply counters moved")
c.close()
peer.close()
srv.close()

prom = jrctl("stats", "--prometheus")
metric = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [0-9]+(\.[0-9]+)?$')
typed = set()
for line in prom.splitlines():
    if line.startswith("# TYPE "):
        name = line.split()[2]
        if name in typed:
            fail("--prometheus: two TYPE lines for %s" % name)
        typed.add(name)
        continue
    if not metric.match(line):
        fail("not Prometheus text format: %r" % line)
check("joyride_engine_rx_bytes_total" in typed and "joyride_state" in typed,
      "--prometheus: %d metrics, well-formed" % len(typed))
rates = jrctl("stats", "-i", "0.2", "-c", "2", "--json").splitlines()
check(len(rates) == 2 and all("interval_s" in json.loads(r) for r in rates),
      "stats -i 0.2 -c 2 --json prints two samples")

# --- status through a kill and a restart, with a connection kept.
st0 = status()
check(st0["state"] == "live" and st0["engines"], "status --json: live, with engines")
pid0 = st0["engines"][0]["pid"]
epoch0 = st0["epoch"]
set_survival(True)
lst = jr_socket()
lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
lst.bind((JR_IP, 0))
lst.listen(1)
kept = linux_connect(lst.getsockname()[1])
conn, _ = lst.accept()
kill_netserver()
wait_until(lambda: status()["state"] == "recovering", 20, "status to say recovering")
st1 = status()
check(st1["engines_awaited"] >= 1, "an engine is awaited")
time.sleep(0.2)  # the outage grows: recovering_ms must be counting
check(status()["recovery"]["recovering_ms"] > 0, "recovering_ms counts the outage")
surv = json.loads(jrctl("sockets", "-t", "--json", "--state", "surviving"))
check(len(surv) >= 1, "sockets --state surviving lists the kept connection")
start_netserver()
wait_until(lambda: status()["state"] == "live", 30, "status to say live again")
wait_until(lambda: status()["recovery"]["count"] == st0["recovery"]["count"] + 1, 10,
           "one more recovery to be counted")
st2 = status()
check(st2["recovery"]["last_ms"] > 0 and st2["recovery"]["recovering_ms"] == 0,
      "the last recovery took %d ms and is over" % st2["recovery"]["last_ms"])
check(st2["engines"][0]["pid"] != pid0 and st2["epoch"] > epoch0,
      "a new pid (%d) and epoch (%d)" % (st2["engines"][0]["pid"], st2["epoch"]))
check(st2["recovery"]["conns_restored"] > st0["recovery"]["conns_restored"],
      "the kept connection was restored")
conn.sendall(b"still here")
kept.settimeout(20)
check(kept.recv(64) == b"still here", "and carries data")
for s in (kept, conn, lst):
    s.close()
text = jrctl("status")
check("Joyride: live" in text and "Recoveries:" in text, "status prints its summary")

# --- top in tmux: it redraws and quits on q.
if not shutil.which("tmux"):
    fail("tmux is not installed (tools/jr-deps installs it)")
session = "jrctl-top-%d" % os.getpid()
subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "132", "-y", "45",
                JRCTL + " top -d 0.3"], check=True)


def pane():
    r = subprocess.run(["tmux", "capture-pane", "-p", "-t", session],
                       stdout=subprocess.PIPE, text=True)
    return r.stdout if r.returncode == 0 else ""


def alive():
    return subprocess.run(["tmux", "has-session", "-t", session],
                          stderr=subprocess.DEVNULL).returncode == 0


try:
    wait_until(lambda: "jrctl top" in pane() and "rx packets/s" in pane(), 15,
               "jrctl top to draw")
    first = pane()
    wait_until(lambda: pane().splitlines()[:1] != first.splitlines()[:1], 15,
               "jrctl top to redraw (its clock to move)")
    check(True, "jrctl top draws and redraws in tmux")
    subprocess.run(["tmux", "send-keys", "-t", session, "q"], check=True)
    wait_until(lambda: not alive(), 10, "jrctl top to quit on q")
    check(True, "jrctl top quits on q")
finally:
    if alive():
        subprocess.run(["tmux", "kill-session", "-t", session])
