#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A listener is replayed before the connections it accepted, whatever
their slots: the kernel visits a dead netserver's sockets in slot order,
and slots are handed out round the table, so after enough sockets an
accepted connection holds a lower slot than its listener.  Were it
restored first, the listener's replayed bind would find the port in use
in the new stack (lwIP, as Linux, refuses a bind to a port with a
connection on it unless both set SO_REUSEADDR; this listener does not)
and the listener would fail with EADDRINUSE.  Here: a listener, sockets
made and closed until the slots come round below it, connections
accepted into those lower slots, a kill -9, a restart; then the listener
accepts again and every connection carries data both ways, byte-exact."""
import os
import socket
from jrtest import *

require_netserver()
set_survival(True)
PORT = 9140
CONNS = 4
MAX_CHURN = 4096


def slot_of(sock):
    """The /proc/net/joyride slot of one of our sockets (by inode)."""
    ino = "ino=%d" % os.fstat(sock.fileno()).st_ino
    for s in proc_sockets():
        if ino in s["flags"]:
            return s["slot"]
    fail("socket with %s is not in /proc/net/joyride" % ino)


def slot_by_peer(port):
    for s in proc_sockets():
        if s["state"] == "ESTAB" and s["peer"].endswith(":%d" % port):
            return s["slot"]
    fail("no Joyride connection from port %d" % port)


def churn_until(done):
    """Make and close sockets until done(slot of the last one)."""
    for n in range(MAX_CHURN):
        s = jr_socket()
        slot = slot_of(s)
        s.close()
        if done(slot):
            return n + 1, slot
    fail("the slot allocator did not get where wanted in %d sockets" % MAX_CHURN)


# Room below the listener for the connections to come.
churn_until(lambda slot: slot >= 8 * CONNS)
l = jr_socket()
l.bind(("0.0.0.0", PORT))
l.listen(CONNS)
listener_slot = slot_of(l)

# The listener's pre-posted children hold the slots after its own; the
# first connections take those, and their replacements are made where
# the allocator is then.  Bring it round to just below the listener.
n, slot = churn_until(lambda slot: listener_slot - 4 * CONNS <= slot < listener_slot - 2 * CONNS)
print("ok: slots came round after %d sockets (listener in slot %d, last %d)"
      % (n, listener_slot, slot))

pairs = []
for _ in range(2 * CONNS):
    c = linux_connect(PORT)
    j, _ = l.accept()
    c.settimeout(60)
    j.settimeout(60)
    pairs.append((c, j))
below = [p for p in pairs if slot_by_peer(p[0].getsockname()[1]) < listener_slot]
check(below, "some accepted connections hold lower slots than their listener (%d)"
      % listener_slot)
print("ok: %d of %d connections below the listener's slot" % (len(below), len(pairs)))
for i, (c, j) in enumerate(pairs):
    c.sendall(b"before %d" % i)
    check(j.recv(100) == b"before %d" % i, "connection %d carries data before the kill" % i)

kill_netserver()
start_netserver()

# The listener listens again: a new connection is accepted.
try:
    c = linux_connect(PORT)
except OSError as e:
    fail("nothing listens on port %d after the restart (%s): the listener's replay "
         "failed (dmesg: 'replayed ... (1 failed)')" % (PORT, errname(e)))
l.settimeout(30)
try:
    j, _ = l.accept()
except OSError as e:
    fail("the listener does not accept after the restart: %s" % errname(e))
c.sendall(b"new")
check(j.recv(10) == b"new", "a connection accepted after the restart carries data")
c.close()
j.close()
print("ok: the listener accepts after the restart")

for i, (c, j) in enumerate(pairs):
    msg = b"after %d" % i
    try:
        c.sendall(msg)
        got = j.recv(100)
        j.sendall(msg[::-1])
        back = c.recv(100)
    except OSError as e:
        fail("connection %d after the restart: %s" % (i, errname(e)))
    check(got == msg and back == msg[::-1],
          "connection %d carries data both ways after the restart" % i)
print("ok: all %d connections survived, those below the listener's slot too" % len(pairs))

for c, j in pairs:
    c.close()
    j.close()
l.close()
wait_until(lambda: not proc_sockets(), 10, "no Joyride sockets left")
print("ok: nothing leaked")
