#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The netserver never comes back: new socket() calls and calls on
surviving sockets fail with ENETDOWN after net.joyride.recovery_timeout_ms,
a blocked accept() obeys its own SO_RCVTIMEO, and once every socket is
closed the module unloads cleanly (then it is loaded again and a netserver
started, for the tests that follow)."""
import os
import socket
import struct
import subprocess
import time
from jrtest import *

require_netserver()
SYSCTL = "/proc/sys/net/joyride/recovery_timeout_ms"
old = open(SYSCTL).read().strip()
open(SYSCTL, "w").write("1000")
try:
    l = jr_socket(); l.bind(("0.0.0.0", 9106)); l.listen(4)
    spare = jr_socket()
    kill_netserver()

    t0 = time.monotonic()
    try:
        socket.socket(AF_JOYRIDE, socket.SOCK_STREAM)
        fail("socket() succeeded with no netserver")
    except OSError as e:
        took = time.monotonic() - t0
        check(errname(e) == "ENETDOWN", "socket() fails with ENETDOWN (got %s)" % errname(e))
        check(0.9 <= took < 5, "after the recovery timeout (%.2f s)" % took)

    t0 = time.monotonic()
    try:
        spare.connect((os.environ.get("JR_PEER_IP", "198.18.0.1"), 9))
        fail("connect() succeeded with no netserver")
    except OSError as e:
        took = time.monotonic() - t0
        check(errname(e) == "ENETDOWN" and 0.9 <= took < 5,
              "connect() on a surviving socket: ENETDOWN after %.2f s (got %s)"
              % (took, errname(e)))

    l.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 1, 0))
    t0 = time.monotonic()
    try:
        l.accept()
        fail("accept() returned with no netserver")
    except OSError as e:
        check(errname(e) in ("EAGAIN", "EWOULDBLOCK") and time.monotonic() - t0 >= 0.9,
              "a blocked accept() ends with its own SO_RCVTIMEO (%s)" % errname(e))
    l.close(); spare.close()
    wait_until(lambda: not proc_sockets(), 10, "no Joyride sockets left")
finally:
    open(SYSCTL, "w").write(old)

ko = os.path.join(os.environ["JR_BUILD_DIR"], "kmod", "joyride.ko")
r = subprocess.run(["rmmod", "joyride"], capture_output=True, text=True)
check(r.returncode == 0, "rmmod succeeds once the sockets are closed (%s)" % r.stderr.strip())
subprocess.run(["insmod", ko], check=True)
start_netserver()
s = jr_socket(); s.close()
print("ok: the module loads again and serves a new netserver")
