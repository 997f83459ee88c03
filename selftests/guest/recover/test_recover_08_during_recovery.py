#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A crash during recovery: after the netserver is killed under 40
listeners, a netserver that attaches as a restart answers only the first
requests of the replay and dies (fake_netserver, at a point the test
chooses).  The kernel puts every listener back among the survivors; the next
real netserver replays them all, and they accept."""
import os
import subprocess
from jrtest import *

require_netserver()
BASE, N = 9200, 40
ls = []
for i in range(N):
    l = jr_socket(); l.bind(("0.0.0.0", BASE + i)); l.listen(2)
    ls.append(l)
kill_netserver()

fake = os.path.join(os.environ["JR_BUILD_DIR"], "selftests/guest/fake_netserver")
out = subprocess.run([fake, "25"], capture_output=True, text=True, timeout=60)
print(out.stdout.strip())
check("recovering=1" in out.stdout, "the fake netserver was handed a replay")
check("answered 25" in out.stdout, "it answered 25 replay requests, then died")
wait_until(lambda: "died during recovery" in
           subprocess.run(["dmesg"], capture_output=True, text=True).stdout, 15,
           "the kernel to see it die mid-replay")
print("ok: the kernel saw it die mid-replay")
check(len([s for s in proc_sockets() if s["state"] == "LISTEN"
           and "recovering" in s["flags"]]) == N, "all %d listeners wait again" % N)

start_netserver()
wait_until(lambda: len([s for s in proc_sockets() if s["state"] == "LISTEN"
                        and "recovering" not in s["flags"]]) == N, 30,
           "all %d listeners replayed" % N)
print("ok: all %d listeners replayed by the next netserver" % N)
for i in (0, N // 2, N - 1):
    t = Thread(lambda: ls[i].accept()); t.start()
    c = linux_connect(BASE + i)
    t.join(30)
    check(t.error is None and t.result, "listener %d accepts" % (BASE + i))
    t.result[0].close(); c.close()
for l in ls:
    l.close()
wait_until(lambda: not proc_sockets(), 10, "no Joyride sockets left")
print("ok: nothing leaked")
