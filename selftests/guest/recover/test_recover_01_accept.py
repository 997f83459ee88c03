#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""kill -9 the netserver while a server is blocked in accept(): the accept
keeps waiting (no error), the listener survives with its port, and after a
new netserver starts the same accept() returns a new connection."""
import time
from jrtest import *

require_netserver()
PORT = 9101
l = jr_socket()
l.bind(("0.0.0.0", PORT))
l.listen(16)
t = Thread(lambda: l.accept())
t.start()
time.sleep(0.5)
check(t.is_alive(), "accept() blocks before the kill")

kill_netserver()
wait_until(lambda: listening(PORT) and "recovering" in listening(PORT)[0]["flags"], 10,
           "the listener to be listed as recovering")
time.sleep(1)
check(t.is_alive() and t.error is None, "accept() still waits while no netserver runs")

start_netserver()
c = linux_connect(PORT)
c.sendall(b"after restart")
t.join(30)
check(not t.is_alive() and t.error is None, "the same accept() returned a connection")
conn, peer = t.result
check(peer[0] == LINUX_IP, "the connection comes from the guest's Linux side (%s)" % peer[0])
check(conn.recv(100) == b"after restart", "data flows on it")
conn.close(); c.close(); l.close()
wait_until(lambda: not proc_sockets(), 10, "no Joyride sockets left")
print("ok: nothing leaked")
