#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""kill -9 the netserver with 100 connections open: every one of them fails
with ECONNRESET, none hangs, and once closed no socket or slot is left; the
listener survives and accepts again after the restart.  With
net.joyride.survival=0: connections that cannot survive."""
import time
from jrtest import *

require_netserver()
set_survival(False)
PORT = 9104
N = 100
l = jr_socket()
l.bind(("0.0.0.0", PORT))
l.listen(128)
clients, conns = [], []
for i in range(N):
    clients.append(linux_connect(PORT))
    conns.append(l.accept()[0])
check(sum(1 for s in proc_sockets() if s["state"] == "ESTAB") == N,
      "%d connections established" % N)

kill_netserver()
errors = {}
for c in conns:
    c.settimeout(10)
    try:
        got = c.recv(10)
        errors["EOF" if got == b"" else "data"] = errors.get("EOF", 0) + 1
    except OSError as e:
        errors[errname(e)] = errors.get(errname(e), 0) + 1
check(errors == {"ECONNRESET": N}, "all %d connections failed with ECONNRESET (%s)" % (N, errors))
for c in conns + clients:
    c.close()
left = [s for s in proc_sockets() if s["state"] != "LISTEN"]
check(not left, "only the listener is left (%d others)" % len(left))

start_netserver()
t = Thread(lambda: l.accept()); t.start()
c = linux_connect(PORT)
t.join(30)
check(t.error is None and t.result, "the listener accepts after the restart")
t.result[0].close(); c.close(); l.close()
wait_until(lambda: not proc_sockets(), 10, "no Joyride sockets left")
print("ok: nothing leaked")
