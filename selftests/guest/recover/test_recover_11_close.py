#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Connections in the middle of a close survive a kill -9 of the
netserver.  Two connections from the guest's Linux stack to a Joyride
listener, each with more sent by Joyride than the Linux side has read (the
bytes wait in the transmit ring): one is closed by its application just
before the kill (its CLOSE is draining the ring), the other while no
netserver runs.  After the restart the Linux side reads every byte of
both, byte-exact, then an orderly end of file: no reset, nothing lost,
and nothing left behind."""
import hashlib
import socket
import time
from jrtest import *

require_netserver()
set_survival(True)
PORT = 9111


def fill(s):
    """Send until the rings and the peer's buffer are full; what was sent."""
    s.setblocking(False)
    h, sent, n = hashlib.sha256(), 0, 0
    while True:
        data = bytes([(n * 7 + i) & 0xff for i in range(251)]) * 64
        try:
            k = s.send(data)
        except BlockingIOError:
            break
        h.update(data[:k])
        sent += k
        n += 1
    s.setblocking(True)
    return sent, h.hexdigest()


def read_to_eof(s):
    h, got = hashlib.sha256(), 0
    while True:
        data = s.recv(1 << 16)
        if not data:
            return got, h.hexdigest()
        h.update(data)
        got += len(data)


l = jr_socket()
l.bind(("0.0.0.0", PORT))
l.listen(4)
linux_a = linux_connect(PORT)
jr_a, _ = l.accept()
linux_b = linux_connect(PORT)
jr_b, _ = l.accept()
for s in (linux_a, linux_b):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.settimeout(60)
time.sleep(0.2)
sent_a = fill(jr_a)
sent_b = fill(jr_b)
check(sent_a[0] > 0 and sent_b[0] > 0,
      "both connections have bytes the peer has not read (%d, %d)" % (sent_a[0], sent_b[0]))
queued = [s for s in proc_sockets() if s["state"] == "ESTAB"]
print("ok: before the kill: %s" % [(s["local"], s["peer"]) for s in queued])

jr_a.close()
kill_netserver()
wait_until(lambda: len([s for s in proc_sockets() if "surviving" in s["flags"]]) == 2,
           15, "both connections (one closed already) to survive")
jr_b.close()
check(len([s for s in proc_sockets() if "surviving" in s["flags"]]) == 2,
      "a connection closed while no netserver runs still survives")

start_netserver()
got_a = read_to_eof(linux_a)
check(got_a == sent_a, "closed before the kill: %d bytes byte-exact, then end of file (got %d)"
      % (sent_a[0], got_a[0]))
got_b = read_to_eof(linux_b)
check(got_b == sent_b, "closed during the outage: %d bytes byte-exact, then end of file (got %d)"
      % (sent_b[0], got_b[0]))
linux_a.close(); linux_b.close(); l.close()
wait_until(lambda: not proc_sockets(), 20, "no Joyride sockets left")
print("ok: nothing leaked")
