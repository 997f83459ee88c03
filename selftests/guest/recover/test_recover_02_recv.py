#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""kill -9 the netserver while a client is blocked in recv() on an
established connection: recv() wakes with ECONNRESET (as on a reset), a
send fails with EPIPE, poll() reports POLLERR|POLLHUP, and close() leaves no
socket behind.  With net.joyride.survival=0: what a connection that cannot
survive (no valid checkpoint) sees."""
import select
import time
from jrtest import *

require_netserver()
set_survival(False)
PORT = 9102
l = jr_socket()
l.bind(("0.0.0.0", PORT))
l.listen(4)
c = linux_connect(PORT)
conn, _ = l.accept()
t = Thread(lambda: conn.recv(100))
t.start()
time.sleep(0.5)
check(t.is_alive(), "recv() blocks on an idle connection")

t0 = time.monotonic()
kill_netserver()
t.join(15)
check(not t.is_alive(), "recv() woke up after the kill (%.2f s)" % (time.monotonic() - t0))
check(t.error is not None and errname(t.error) == "ECONNRESET",
      "recv() failed with ECONNRESET (got %s)" % (errname(t.error) if t.error else t.result))
p = select.poll()
p.register(conn, select.POLLIN | select.POLLOUT)
ev = dict(p.poll(0)).get(conn.fileno(), 0)
check(ev & select.POLLHUP, "poll() reports POLLHUP (events 0x%x)" % ev)
try:
    conn.send(b"x")
    fail("send() on a reset connection succeeded")
except OSError as e:
    check(errname(e) == "EPIPE", "send() fails with EPIPE (got %s)" % errname(e))
conn.close(); c.close()
start_netserver()
l2 = Thread(lambda: l.accept()); l2.start()
c2 = linux_connect(PORT)
l2.join(30)
check(l2.error is None and l2.result, "the listener accepts after the restart")
l2.result[0].close(); c2.close(); l.close()
wait_until(lambda: not proc_sockets(), 10, "no Joyride sockets left")
print("ok: nothing leaked")
