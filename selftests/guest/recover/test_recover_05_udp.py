#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""kill -9 the netserver with a UDP socket bound: the socket survives with
its port, and after the restart it receives datagrams again."""
import socket
import time
from jrtest import *

require_netserver()
PORT = 9105
u = jr_socket(socket.SOCK_DGRAM)
u.bind(("0.0.0.0", PORT))
tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)


def received(payload, timeout):
    """Send until one arrives: UDP may be lost while ARP settles."""
    u.settimeout(0.5)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tx.sendto(payload, (JR_IP, PORT))
        try:
            data, peer = u.recvfrom(100)
            if data == payload:
                return peer
        except socket.timeout:
            pass
    return None


check(received(b"before", 20), "the bound UDP socket receives before the kill")
kill_netserver()
wait_until(lambda: any(s["proto"] == "udp" and "recovering" in s["flags"]
                       for s in proc_sockets()), 10, "the UDP socket listed as recovering")
start_netserver()
peer = received(b"after", 30)
check(peer is not None, "the same socket receives after the restart")
check(peer[0] == LINUX_IP, "from the guest's Linux side (%s)" % (peer and peer[0]))
u.close(); tx.close()
wait_until(lambda: not proc_sockets(), 10, "no Joyride sockets left")
print("ok: nothing leaked")
