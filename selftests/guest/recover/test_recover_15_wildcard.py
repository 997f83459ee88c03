#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A connection accepted on a wildcard listener (0.0.0.0) survives a
kill -9 of the netserver although its application never asked for its
local address.  The kernel used to give such a connection the listener's
address, 0.0.0.0, until a getsockname() asked the netserver; a successor
then rebuilt the connection on 0.0.0.0, no segment matched it, and once
the replay was over it answered the peer's segments with a reset.
CPython calls getsockname() on every descriptor it wraps in a socket
object, so tests written with accept() never saw it; a C server that
only accept()s, reads and writes did (bench vm's survival load: the 8
connections of the killed engine reset, every kill).  Since ABI 2.3
(JR_F_ACCEPT_LOCAL) the ACCEPT reply carries the local address.  Here
the connection is accepted with the raw accept() and used through its
descriptor only, until after the restart."""
import os
import select
import socket
from jrtest import *

require_netserver()
set_survival(True)
PORT = 9150


def read_fd(fd, n, timeout=30):
    if not select.select([fd], [], [], timeout)[0]:
        fail("nothing to read on the accepted connection within %d s" % timeout)
    try:
        return os.read(fd, n)
    except OSError as e:
        fail("read on the accepted connection: %s" % errname(e))


def proc_local(peer_port):
    for s in proc_sockets():
        if s["state"] == "ESTAB" and s["peer"].endswith(":%d" % peer_port):
            return s["local"]
    fail("no Joyride connection from port %d" % peer_port)


l = jr_socket()
l.bind(("0.0.0.0", PORT))
l.listen(4)
c = linux_connect(PORT)
c.settimeout(30)
# socket._accept(): accept(2) and nothing more (no getsockname()).
fd, _ = l._accept()
peer_port = c.getsockname()[1]
check(proc_local(peer_port) == "%s:%d" % (JR_IP, PORT),
      "the kernel knows the address the peer reached (%s), not the listener's 0.0.0.0"
      % proc_local(peer_port))

c.sendall(b"before")
check(read_fd(fd, 100) == b"before", "the connection carries data before the kill")
os.write(fd, b"back")
check(c.recv(100) == b"back", "and back")

kill_netserver()
start_netserver()
wait_until(lambda: not [s for s in proc_sockets() if "surviving" in s["flags"]], 30,
           "the connection to be taken over")

# After the replay: a successor that rebuilt it on 0.0.0.0 resets it now.
try:
    c.sendall(b"after the restart")
    got = read_fd(fd, 100)
    os.write(fd, got[::-1])
    back = c.recv(100)
except OSError as e:
    fail("the connection after the restart: %s" % errname(e))
check(got == b"after the restart" and back == got[::-1],
      "the connection carries data both ways after the restart")

j = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 0, fd)
check(j.getsockname() == (JR_IP, PORT),
      "getsockname() says %s:%d after the restart" % j.getsockname())
c.close()
j.close()
l.close()
wait_until(lambda: not proc_sockets(), 10, "no Joyride sockets left")
print("ok: nothing leaked")
