#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Established connections survive a kill -9 of the netserver
(net.joyride.survival, the default).  Two connections from the guest's
Linux stack to a Joyride listener: one streams 24 MiB each way at once,
the other is idle.  Between the kill and the restart both stay ESTAB
(/proc says "surviving") and a send() on the idle one is queued; after the
restart the stream completes byte-exact in both directions (sha256 on each
end), the idle one delivers what was queued and carries data both ways,
and nothing reset on either side."""
import hashlib
import re
import socket
import subprocess
import time
from jrtest import *

require_netserver()
set_survival(True)
PORT = 9110
TOTAL = 24 << 20
CHUNK = 64 << 10


def pattern(seed, n):
    """n bytes that differ per stream and per offset."""
    block = hashlib.sha256(seed).digest() * (CHUNK // 32)
    return block[:n]


def send_all(s, seed, counter):
    h = hashlib.sha256()
    sent = 0
    while sent < TOTAL:
        n = min(CHUNK, TOTAL - sent)
        data = pattern(seed + sent.to_bytes(8, "little"), n)
        s.sendall(data)
        h.update(data)
        sent += n
        counter[0] = sent
    return h.hexdigest()


def recv_all(s, counter):
    h = hashlib.sha256()
    got = 0
    while got < TOTAL:
        data = s.recv(min(CHUNK, TOTAL - got))
        if not data:
            raise EOFError("end of stream after %d bytes" % got)
        h.update(data)
        got += len(data)
        counter[0] = got
    return h.hexdigest()


l = jr_socket()
l.bind(("0.0.0.0", PORT))
l.listen(4)
linux_stream = linux_connect(PORT)
jr_stream, _ = l.accept()
linux_idle = linux_connect(PORT)
jr_idle, _ = l.accept()
for s in (linux_stream, jr_stream, linux_idle, jr_idle):
    s.settimeout(120)
linux_idle.sendall(b"hello")
check(jr_idle.recv(100) == b"hello", "the idle connection carries data before the kill")

# Both directions of one connection at once.
progress = {k: [0] for k in ("l2j_sent", "l2j_got", "j2l_sent", "j2l_got")}
threads = {
    "l2j_sent": Thread(lambda: send_all(linux_stream, b"l2j", progress["l2j_sent"])),
    "l2j_got": Thread(lambda: recv_all(jr_stream, progress["l2j_got"])),
    "j2l_sent": Thread(lambda: send_all(jr_stream, b"j2l", progress["j2l_sent"])),
    "j2l_got": Thread(lambda: recv_all(linux_stream, progress["j2l_got"])),
}
for t in threads.values():
    t.start()
wait_until(lambda: progress["l2j_got"][0] > TOTAL // 4 and progress["j2l_got"][0] > TOTAL // 4,
           60, "a quarter of each direction to arrive")

open("/dev/kmsg", "w").write("jrtest: test_recover_10 kills the netserver\n")
kill_netserver()
at_kill = {k: v[0] for k, v in progress.items()}
wait_until(lambda: len([s for s in proc_sockets() if "surviving" in s["flags"]]) == 2,
           15, "both connections to survive the netserver")
conns = [s for s in proc_sockets() if s["state"] != "LISTEN"]
check(len(conns) == 2 and all(s["state"] == "ESTAB" for s in conns),
      "both are ESTAB while no netserver runs")
check(jr_idle.send(b"queued") == 6, "send() on a surviving connection is queued")
print("ok: at the kill: %s" % at_kill)

t0 = time.monotonic()
start_netserver()
wait_until(lambda: not [s for s in proc_sockets() if "surviving" in s["flags"]
                        or "recovering" in s["flags"]], 30,
           "the new netserver to take both connections over")
print("ok: taken over %.2f s after the start" % (time.monotonic() - t0))

check(linux_idle.recv(100) == b"queued", "what was queued during the outage arrives")
linux_idle.sendall(b"after")
check(jr_idle.recv(100) == b"after", "the idle connection carries data after the restart")
jr_idle.sendall(b"back")
check(linux_idle.recv(100) == b"back", "both ways")

for name, t in threads.items():
    t.join(120)
    check(not t.is_alive() and t.error is None,
          "%s finished (%s)" % (name, t.error or "%d bytes" % progress[name][0]))
check(threads["l2j_sent"].result == threads["l2j_got"].result,
      "Linux -> Joyride: %d MiB byte-exact across the kill" % (TOTAL >> 20))
check(threads["j2l_sent"].result == threads["j2l_got"].result,
      "Joyride -> Linux: %d MiB byte-exact across the kill" % (TOTAL >> 20))

log = subprocess.run(["dmesg"], capture_output=True, text=True).stdout
log = log[log.rindex("test_recover_10 kills"):]
restored = sum(int(m.group(1)) for m in re.finditer(r"(\d+) of them connections \(0 failed\)", log))
check(restored == 2 and "not restored" not in log,
      "the kernel restored both connections (%d)" % restored)
for s in (linux_stream, jr_stream, linux_idle, jr_idle):
    s.close()
l.close()
wait_until(lambda: not proc_sockets(), 10, "no Joyride sockets left")
print("ok: nothing leaked")
