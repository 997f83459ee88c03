#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""kill -9 the netserver while an unmodified iperf3 client streams through
Joyride (net.joyride.redirect_inet): iperf3 ends with an error within
seconds instead of hanging; the guest's Linux iperf3 server is the peer
(reached through the peer namespace's forwarding).  With
net.joyride.survival=0 (test_recover_10 has the connection survive)."""
import shutil
import subprocess
import time
from jrtest import *

require_netserver()
set_survival(False)
if not shutil.which("iperf3"):
    skip("iperf3 is not installed")
server = subprocess.Popen(["iperf3", "-s", "-B", LINUX_IP, "-p", "5301", "-1"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
wait_until(lambda: subprocess.run(["sh", "-c", "ss -ltn | grep -q ':5301 '"]).returncode == 0,
           20, "iperf3 -s to listen")
subprocess.run(["sysctl", "-q", "-w", "net.joyride.redirect_inet=1"], check=True)
try:
    client = subprocess.Popen(["iperf3", "-c", LINUX_IP, "-p", "5301", "-t", "60"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wait_until(lambda: any("inet" in s["flags"] and s["state"] == "ESTAB"
                           for s in proc_sockets()), 20, "iperf3 streaming over Joyride")
    time.sleep(2)
    t0 = time.monotonic()
    kill_netserver()
    try:
        out, _ = client.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        client.kill()
        fail("iperf3 still running 30 s after the netserver died")
    took = time.monotonic() - t0
    print(out[-600:])
    check(client.returncode != 0, "iperf3 reported the failure (exit %d) after %.1f s"
          % (client.returncode, took))
finally:
    subprocess.run(["sysctl", "-q", "-w", "net.joyride.redirect_inet=0"])
    server.kill()
start_netserver()
wait_until(lambda: not proc_sockets(), 10, "no Joyride sockets left")
print("ok: nothing leaked")
