#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Two engines on one NIC, end to end (tools/jr-vm run --engines 2
--standby 1: a port keeper, engines 0 and 1 on the two RSS queues of a
multi-queue virtio-net NIC, and a standby).

- connections from the peer spread over both engines, and a listener
  accepts on both (/proc/net/joyride says each socket's engine);
- outgoing connections from both engines work (each engine picks source
  ports that RSS brings back to it) and carry data byte-exact;
- connections to the netserver's own address and to 127.0.0.1 work from
  both engines;
- kill -9 engine 1 under load: with net.joyride.survival off its
  connections reset, engine 0's transfer goes on byte-exact, the standby
  takes index 1, and the listener accepts on both engines again;
- the same kill with survival on: the second standby takes index 1 and
  both engines' transfers go on byte-exact; the port keeper never
  restarts;
- standbys park at the takeover's nice (-10), and engines are back at
  nice 0 once their start or takeover is over.
"""
import hashlib
import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "recover"))
from jrtest import *  # noqa: E402,F403

require_engines(2)
set_survival(False)

PEER_IP = "198.18.0.1"
ECHO = 7           # peer.py's TCP echo
PORT = 9600


def echo_roundtrip(s, size=65536):
    """Send size bytes through the peer's echo; True if they came back intact."""
    data = os.urandom(size)
    got = bytearray()
    t = threading.Thread(target=lambda: s.sendall(data))
    t.start()
    while len(got) < size:
        chunk = s.recv(size - len(got))
        if not chunk:
            break
        got += chunk
    t.join()
    return bytes(got) == data


def nice_of(pid):
    """The nice value of pid's main thread (the engine's loop)."""
    stat = open("/proc/%d/stat" % pid).read()
    return int(stat.rsplit(")", 1)[1].split()[16])


state, standbys = engines()
check(state.get(0, ("",))[0] == "live" and state.get(1, ("",))[0] == "live",
      "engines 0 and 1 serve: %s" % state)
# A takeover runs ahead of the applications (--takeover-nice, -10 by
# default): parked standbys wait at that nice; engines whose start is over
# are back at their own.
check(standbys and all(nice_of(p) == -10 for p in standbys),
      "the parked standbys wait at nice -10: %s" % [nice_of(p) for p in standbys])
wait_until(lambda: nice_of(state[0][1]) == 0 and nice_of(state[1][1]) == 0, 10,
           "engines 0 and 1 back at nice 0")
keeper = int(ctl("pid", "keeper"))

# 1. A listener accepts on both engines: 16 connections from the peer side
#    (the guest's Linux stack, through the peer's namespace, into the NIC).
l = jr_socket()
l.bind(("0.0.0.0", PORT))
l.listen(64)
seen, conns = set(), []
for i in range(16):
    c = linux_connect(PORT)
    a, peer = l.accept()
    seen.add(engine_of(peer_port=peer[1]))
    conns.append((c, a))
check(seen == {0, 1}, "16 accepted connections came through both engines: %s" % seen)
intact = 0
for c, a in conns:
    c.sendall(b"x" * 100)
    intact += a.recv(100, socket.MSG_WAITALL) == b"x" * 100
    c.close()
    a.close()
check(intact == len(conns), "data arrived on all %d accepted connections" % len(conns))

# 2. Outgoing connections from both engines reach the peer and echo.
out = []
for i in range(8):
    s = jr_socket()
    s.settimeout(20)
    s.connect((PEER_IP, ECHO))
    out.append(s)
used = {engine_of(local_port=s.getsockname()[1]) for s in out}
check(used == {0, 1}, "outgoing connections were made by both engines: %s" % used)
check(all(echo_roundtrip(s) for s in out), "64 KiB echoed byte-exact on each of 8 connections")
for s in out:
    s.close()

# 3. Own address and loopback, from sockets of both engines.
for dst in (JR_IP, "127.0.0.1"):
    engs, intact = set(), 0
    for i in range(4):
        c = jr_socket()
        c.settimeout(20)
        c.connect((dst, PORT))
        a, _ = l.accept()
        engs.add(engine_of(local_port=c.getsockname()[1]))
        c.sendall(b"own")
        intact += a.recv(3, socket.MSG_WAITALL) == b"own"
        c.close()
        a.close()
    check(engs == {0, 1} and intact == 4,
          "4 connections to %s from both engines (%s) carried data" % (dst, engs))

# 4. kill -9 engine 1 under load.  A stream on each engine (outgoing to the
#    peer's echo), checked byte for byte by hash.
def stream_per_engine():
    """{engine: socket}: one outgoing connection to the peer's echo on each."""
    out = {}
    while len(out) < 2:
        s = jr_socket()
        s.connect((PEER_IP, ECHO))
        e = engine_of(local_port=s.getsockname()[1])
        if e in out:
            s.close()
            continue
        out[e] = s
    return out


streams = stream_per_engine()
result = {}


def stream(e, s, seconds):
    sent, got = hashlib.sha256(), hashlib.sha256()
    n_sent = n_got = 0
    deadline = time.monotonic() + seconds
    try:
        s.settimeout(30)
        while time.monotonic() < deadline:
            block = os.urandom(16384)
            s.sendall(block)
            sent.update(block)
            n_sent += len(block)
            while n_got < n_sent:
                chunk = s.recv(n_sent - n_got)
                if not chunk:
                    raise ConnectionResetError("EOF")
                got.update(chunk)
                n_got += len(chunk)
        result[e] = ("ok", sent.hexdigest() == got.hexdigest(), n_sent)
    except OSError as ex:
        result[e] = ("error", errname(ex), n_sent)


threads = [threading.Thread(target=stream, args=(e, s, 6)) for e, s in streams.items()]
for t in threads:
    t.start()
time.sleep(2)  # both streams are under way
victim = int(ctl("pid", "engine1"))
ctl("expect", "engine1")    # its death is ours, not a failure
t_kill = time.monotonic()
os.kill(victim, 9)
wait_until(lambda: engines()[0].get(1, ("",))[0] == "live"
           and engines()[0][1][1] in standbys, 10, "the standby to serve index 1")
t_live = time.monotonic()
successor = engines()[0][1][1]
wait_until(lambda: nice_of(successor) == 0, 10,
           "the standby that took index 1 back at nice 0 after the replay")
for t in threads:
    t.join(60)
print("engine 0 stream: %s; engine 1 stream: %s" % (result.get(0), result.get(1)))
if result.get(0, ("",))[0] != "ok":
    # Where is engine 0?  Its state and its counters (SIGHUP: to its log).
    pid = ctl("pid", "engine0")
    print(open("/proc/%s/stat" % pid).read())
    os.kill(int(pid), 1)
    time.sleep(1)
    log = os.environ.get("JR_NETSERVER_LOG", "/tmp/jr-netserver.log")
    for inst in ("keeper", "engine0", "engine1", "standby0"):
        path = log[:-4] + "-" + inst + ".log"
        try:
            print("--- %s\n%s" % (path, "".join(open(path).readlines()[-25:])))
        except OSError:
            pass
check(result.get(0, ("",))[0] == "ok" and result[0][1],
      "engine 0's transfer went on through the kill, byte-exact (%d bytes)" % result[0][2])
check(result.get(1, ("",))[0] == "error" and result[1][1] in ("ECONNRESET", "EPIPE"),
      "engine 1's connection was reset")
print("ok: the standby served index 1 %.0f ms after the kill" % ((t_live - t_kill) * 1000))

# The listener accepts on both engines again.
seen = set()
deadline = time.monotonic() + 30
while seen != {0, 1} and time.monotonic() < deadline:
    c = linux_connect(PORT)
    a, peer = l.accept()
    seen.add(engine_of(peer_port=peer[1]))
    c.close()
    a.close()
check(seen == {0, 1}, "after the kill the listener accepts on both engines")
for s in streams.values():
    s.close()

# 5. The same kill with net.joyride.survival on: the second standby takes
#    index 1 and engine 1's connection goes on, byte-exact, as engine 0's.
set_survival(True)
_, standbys = engines()
check(len(standbys) >= 1, "a second standby waits (%s)" % standbys)
streams = stream_per_engine()
result = {}
threads = [threading.Thread(target=stream, args=(e, s, 6)) for e, s in streams.items()]
for t in threads:
    t.start()
time.sleep(2)
victim = engines()[0][1][1]
for inst in ("standby0", "standby1", "engine1"):
    r = subprocess.run([os.environ["JR_NETSERVER_CTL"], "pid", inst],
                       capture_output=True, text=True)
    if r.returncode == 0 and r.stdout.strip() == str(victim):
        ctl("expect", inst)
        break
t_kill = time.monotonic()
os.kill(victim, 9)
wait_until(lambda: engines()[0].get(1, ("",))[0] == "live"
           and engines()[0][1][1] in standbys, 10, "the second standby to serve index 1")
print("ok: the second standby served index 1 %.0f ms after the kill"
      % ((time.monotonic() - t_kill) * 1000))
for t in threads:
    t.join(60)
print("engine 0 stream: %s; engine 1 stream: %s" % (result.get(0), result.get(1)))
for e in (0, 1):
    check(result.get(e, ("",))[0] == "ok" and result[e][1],
          "engine %d's transfer went on through the kill, byte-exact (%s)" % (e, result.get(e)))
check(int(ctl("pid", "keeper")) == keeper, "the port keeper never restarted")
l.close()
for s in streams.values():
    s.close()
wait_until(lambda: not proc_sockets(), 10, "no Joyride sockets left")
print("ok: nothing leaked")
