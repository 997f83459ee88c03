#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""kill -9 the netserver with a UDP socket that joined a multicast group:
the socket survives with its membership, the replay joins the group on the
new netserver, and the group's datagrams reach the socket again.  Also
after the restart: leaving the group (which the new netserver must know
of) succeeds, and a second join is EADDRINUSE, as before the kill."""
import os
import socket
import time
from jrtest import *

require_netserver()
PORT = 9109
GROUP = "239.255.79.1"
PEER_IP = os.environ.get("JR_PEER_IP", "198.18.0.1")
CTL_IP = os.environ.get("JR_PEER_LINUX_IP")
if not CTL_IP:
    skip("no Linux path to peer.py (JR_PEER_LINUX_IP unset)")


def peer(line):
    """One command to peer.py on a connection of its own (the peer drops
    a control connection idle for 10 s, and the restart takes longer)."""
    with socket.create_connection((CTL_IP, 7000), timeout=10) as c:
        f = c.makefile("rw")
        f.write(line + "\n")
        f.flush()
        return f.readline().strip()


def peer_up():
    try:
        return peer("PING") == "OK"
    except OSError:
        return False


deadline = time.monotonic() + 30
while not peer_up():
    if time.monotonic() > deadline:
        skip("peer.py is not answering on %s:7000: run with --peer-cmd" % CTL_IP)
    time.sleep(0.2)
print("ok: peer.py answers on %s:7000" % CTL_IP)
u = jr_socket(socket.SOCK_DGRAM)
u.bind(("0.0.0.0", PORT))
mreq = socket.inet_aton(GROUP) + socket.inet_aton(JR_IP)
u.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)


def received(payload, timeout):
    """Have the peer send to the group until one arrives: the replay's
    join takes a moment after the restart."""
    u.settimeout(0.5)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reply = peer("MCAST_SEND %s %d %s %s" % (GROUP, PORT, PEER_IP, payload))
        if reply != "OK":
            # The peer's side of the link may be down while the
            # netserver restarts.
            print("peer.py: %s (retrying)" % reply)
            time.sleep(0.5)
            continue
        try:
            while True:
                data, src = u.recvfrom(100)
                if data == payload.encode():
                    return src
        except socket.timeout:
            pass
    return None


check(received("before", 20) is not None, "the member receives the group before the kill")
kill_netserver()
wait_until(lambda: any(s["proto"] == "udp" and "recovering" in s["flags"]
                       for s in proc_sockets()), 10, "the UDP socket listed as recovering")
start_netserver()
src = received("after", 30)
check(src is not None, "the same socket receives the group after the restart")
check(src[0] == PEER_IP, "from the peer (%s)" % (src and src[0]))
try:
    u.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    fail("a second join after the restart succeeded")
except OSError as e:
    check(e.errno == errno.EADDRINUSE, "a second join is EADDRINUSE (%s)" % errname(e))
u.setsockopt(socket.IPPROTO_IP, socket.IP_DROP_MEMBERSHIP, mreq)
print("ok: the replayed membership is dropped")
u.close()
wait_until(lambda: not proc_sockets(), 10, "no Joyride sockets left")
print("ok: nothing leaked")
