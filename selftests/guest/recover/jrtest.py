# SPDX-License-Identifier: GPL-2.0
"""Helpers for the guest's recovery tests (test_recover_NN.py).

Each test runs in a guest booted with `tools/jr-vm run --netserver`, kills
the netserver with SIGKILL through $JR_NETSERVER_CTL and starts a new one,
and checks what the applications saw.  Joyride sockets are reached from the
guest's own Linux stack through the peer's namespace (Linux NIC -> peer ->
DPDK NIC), so every connection crosses real stacks on both sides.
"""
import errno
import glob
import os
import select
import socket
import subprocess
import sys
import threading
import time

AF_JOYRIDE = 25
SKIP = 77


def skip(why):
    print("skipped: " + why)
    sys.exit(SKIP)


def fail(why):
    print("FAIL: " + why)
    # What is everyone waiting for?  Blocked tasks go to the kernel log,
    # which the runner shows.
    try:
        open("/proc/sysrq-trigger", "w").write("w")
        print(open("/proc/net/joyride").read())
        print(open("/proc/net/joyride_engines").read())
    except OSError:
        pass
    # Each netserver process's last words (tools/jr-vm-netserver's logs).
    for log in sorted(glob.glob("/tmp/jr-netserver*.log")):
        try:
            lines = open(log, errors="replace").read().splitlines()[-15:]
        except OSError:
            continue
        print("--- %s (last %d lines)" % (log, len(lines)))
        print("\n".join(lines))
    # Again last: a report that keeps only the end of the output keeps it.
    print("FAIL: " + why)
    sys.exit(1)


def check(cond, why):
    if not cond:
        fail(why)
    print("ok: " + why)


def require_netserver():
    if not os.environ.get("JR_NETSERVER_CTL") or not os.environ.get("JR_JOYRIDE_IP"):
        skip("needs tools/jr-vm run --netserver (JR_NETSERVER_CTL unset)")


JR_IP = os.environ.get("JR_JOYRIDE_IP", "198.18.0.2")
LINUX_IP = os.environ.get("JR_GUEST_LINUX_IP", "198.18.1.2")


def jr_socket(kind=socket.SOCK_STREAM):
    """An AF_JOYRIDE socket that Python addresses as AF_INET."""
    return socket.socket(socket.AF_INET, kind, 0,
                         socket.socket(AF_JOYRIDE, kind).detach())


def ctl(*args):
    return subprocess.run([os.environ["JR_NETSERVER_CTL"]] + list(args),
                          check=True, stdout=subprocess.PIPE, text=True).stdout.strip()


def set_survival(on):
    """net.joyride.survival for this test; back to the default (1) at exit."""
    import atexit
    path = "/proc/sys/net/joyride/survival"
    with open(path, "w") as f:
        f.write("1" if on else "0")
    atexit.register(lambda: open(path, "w").write("1"))


def kill_netserver():
    ctl("kill", "9")


def start_netserver():
    ctl("start")


def wait_until(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    fail("timed out after %.0f s waiting for %s" % (timeout, what))


def linux_connect(port, timeout=30):
    """A Linux TCP connection to a Joyride listener, retried while the
    netserver comes back (ARP, SYN retransmits)."""
    deadline = time.monotonic() + timeout
    while True:
        s = socket.socket()
        s.settimeout(5)
        try:
            s.connect((JR_IP, port))
            s.settimeout(None)
            return s
        except OSError:
            s.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def proc_sockets():
    """/proc/net/joyride as a list of dicts (flags as a set)."""
    lines = open("/proc/net/joyride").read().splitlines()[1:]
    out = []
    for line in lines:
        f = line.split()
        out.append({"proto": f[0], "state": f[1], "slot": int(f[2]),
                    "rxq": int(f[3]), "txq": int(f[4]),
                    "local": f[5], "peer": f[6], "flags": set(f[7:])})
    return out


def require_engines(n):
    """Skip unless tools/jr-vm runs n engines (--engines n)."""
    require_netserver()
    if int(os.environ.get("JR_NETSERVER_ENGINES", "0")) != n:
        skip("needs tools/jr-vm run --engines %d (JR_NETSERVER_ENGINES=%s)"
             % (n, os.environ.get("JR_NETSERVER_ENGINES", "0")))


def engine_of(peer_port=None, local_port=None):
    """The engine=N of the connection whose peer (or local) port is given."""
    for s in proc_sockets():
        addr = s["peer"] if peer_port else s["local"]
        want = peer_port or local_port
        if addr.endswith(":%d" % want) and s["state"] == "ESTAB":
            for flag in s["flags"]:
                if flag.startswith("engine="):
                    return int(flag[7:])
    return None


def engines():
    """/proc/net/joyride_engines: {index: (state, pid)} and the standbys' pids."""
    out, standby = {}, []
    for line in open("/proc/net/joyride_engines").read().splitlines()[1:]:
        f = line.split()
        if f[0] == "-":
            standby.append(int(f[2]))
        else:
            out[int(f[0])] = (f[1], int(f[2]))
    return out, standby


def end_streams(stop, pairs, threads, listener):
    """Stop the threads streaming over pairs of sockets (stop: an Event
    they watch), close everything, and check that no Joyride socket is
    left."""
    stop.set()
    for pair in pairs:
        for s in pair:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
    for t in threads:
        t.join(30)
    for pair in pairs:
        for s in pair:
            s.close()
    listener.close()
    wait_until(lambda: not proc_sockets(), 10, "no Joyride sockets left")
    print("ok: nothing leaked")


def listening(port):
    return [s for s in proc_sockets() if s["state"] == "LISTEN"
            and s["local"].endswith(":%d" % port)]


class Thread(threading.Thread):
    """Run fn in a thread; keep its result or the exception it raised."""

    def __init__(self, fn):
        super().__init__(daemon=True)
        self.fn, self.result, self.error = fn, None, None

    def run(self):
        try:
            self.result = self.fn()
        except Exception as e:  # the test inspects it
            self.error = e


def errname(e):
    return errno.errorcode.get(getattr(e, "errno", None), repr(e))
