#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Two crashes in a row: the listener survives both, and accepts after the
second restart."""
from jrtest import *

require_netserver()
PORT = 9107
l = jr_socket(); l.bind(("0.0.0.0", PORT)); l.listen(4)
for n in (1, 2):
    kill_netserver()
    start_netserver()
    check(listening(PORT) and "recovering" not in listening(PORT)[0]["flags"],
          "the listener is replayed after crash %d" % n)
t = Thread(lambda: l.accept()); t.start()
c = linux_connect(PORT)
t.join(30)
check(t.error is None and t.result, "it accepts after two crashes")
t.result[0].close(); c.close(); l.close()
wait_until(lambda: not proc_sockets(), 10, "no Joyride sockets left")
print("ok: nothing leaked")
