#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Network namespaces: each namespace has its own netserver, sockets,
/proc/net/joyride, redirect switches and recovery.

The guest's netserver (started by tools/jr-vm run --netserver) serves the
initial namespace.  This test makes two more:
  A: a second jr-netserver on a veth pair (DPDK af_packet on one end, the
     namespace's Linux stack on the other), serving A's Joyride sockets;
  B: no netserver at all.
and checks that every socket goes to its own namespace's netserver, that
the switches and /proc are per namespace, and that killing and restarting
A's netserver disturbs nothing in the initial namespace.
"""
import ctypes
import errno
import os
import socket
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "recover"))
from jrtest import *  # noqa: E402,F403

NS_A = "jrt-netns-a"
NS_B = "jrt-netns-b"
A_JR_IP = "198.19.5.2"      # netserver A's address in namespace A
A_LX_IP = "198.19.5.1"      # namespace A's Linux end of the veth
PREFIX = 24
CLONE_NEWNET = 0x40000000
SRC = os.environ.get("JR_SRC_DIR", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
libc = ctypes.CDLL(None, use_errno=True)


def run(*cmd, ns=None, env=None, check_rc=True):
    if ns:
        cmd = ("ip", "netns", "exec", ns) + cmd
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, env=env)
    if check_rc and r.returncode:
        fail("%s exited with %d: %s" % (" ".join(cmd), r.returncode, r.stdout.strip()))
    return r


def setns(fd):
    if libc.setns(fd, CLONE_NEWNET):
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


class netns:
    """with netns(NAME): this thread's new sockets, /proc/net and
    /proc/sys/net are NAME's until the block ends."""

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self.home = os.open("/proc/self/ns/net", os.O_RDONLY)
        fd = os.open("/run/netns/" + self.name, os.O_RDONLY)
        try:
            setns(fd)
        finally:
            os.close(fd)

    def __exit__(self, *exc):
        try:
            setns(self.home)
        finally:
            os.close(self.home)


def sysctl(name, value=None):
    path = "/proc/sys/net/joyride/" + name
    if value is not None:
        with open(path, "w") as f:
            f.write(str(value))
    with open(path) as f:
        return int(f.read())


def ports(socks):
    return sorted(int(s["local"].rsplit(":", 1)[1]) for s in socks)


# Netserver A, through the guest's own control script with a state
# directory of its own, so that the runner's netserver is left alone.
A_ENV = dict(os.environ,
             JR_NETSERVER_STATE="/run/jr-netserver-" + NS_A,
             JR_NETSERVER_LOG="/tmp/jr-netserver-%s.log" % NS_A,
             JR_NETSERVER_PCI="none",
             JR_NETSERVER_IP="%s/%d" % (A_JR_IP, PREFIX),
             JR_NETSERVER_GATEWAY="", JR_NETSERVER_IP6="", JR_NETSERVER_GATEWAY6="",
             JR_NETSERVER_ARGS=(
                 '--eal "--no-huge -m 256 --no-pci --no-shconf --file-prefix jrnsa '
                 '-l 0 --log-level=*:error --vdev net_af_packet0,iface=jrnsa0" '
                 '--slots 64 --rx-buf 64k --tx-buf 64k'))


def netserver_a(*args):
    return run(os.environ["JR_NETSERVER_CTL"], *args, ns=NS_A, env=A_ENV)


def remove_namespaces():
    for ns in (NS_A, NS_B):
        if os.path.exists("/run/netns/" + ns):
            run("ip", "netns", "delete", ns, check_rc=False)


def make_namespaces():
    remove_namespaces()
    run("modprobe", "-q", "veth", check_rc=False)  # built in on some kernels
    for ns in (NS_A, NS_B):
        run("ip", "netns", "add", ns)
        run("ip", "link", "set", "lo", "up", ns=ns)
        run("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
            "net.ipv6.conf.default.disable_ipv6=1", ns=ns)
    run("ip", "link", "add", "jrnsa0", "type", "veth", "peer", "name", "jrnsa1", ns=NS_A)
    run("ip", "link", "set", "jrnsa0", "up", ns=NS_A)
    run("ip", "addr", "add", "%s/%d" % (A_LX_IP, PREFIX), "dev", "jrnsa1", ns=NS_A)
    run("ip", "link", "set", "jrnsa1", "up", ns=NS_A)
    # The af_packet port gets the frames as Linux hands them to the veth:
    # with finished checksums only if Linux does not leave them to it.
    run("python3", os.path.join(SRC, "selftests/netserver/linux_peer.py"),
        "tx-csum-off", "jrnsa1", ns=NS_A)


def main():
    require_netserver()
    make_namespaces()
    try:
        cases()
    finally:
        run(os.environ["JR_NETSERVER_CTL"], "stop", ns=NS_A, env=A_ENV, check_rc=False)
        remove_namespaces()


def cases():
    init_redirect = sysctl("redirect_inet")

    # --- B: no netserver.  Joyride is down there, whatever the switch says.
    with netns(NS_B):
        try:
            socket.socket(AF_JOYRIDE, socket.SOCK_STREAM).close()
            fail("socket(AF_JOYRIDE) succeeded in a namespace without a netserver")
        except OSError as e:
            check(e.errno == errno.ENETDOWN,
                  "socket(AF_JOYRIDE) in a namespace without a netserver: ENETDOWN (%s)"
                  % errname(e))
        check(sysctl("redirect_inet", 1) == 1, "namespace B sets its own redirect_inet")
        ls = socket.socket()
        ls.bind(("127.0.0.1", 0))
        ls.listen(1)
        c = socket.create_connection(ls.getsockname(), timeout=10)
        check(not proc_sockets(),
              "with no netserver there, B's AF_INET sockets stay with Linux "
              "(its /proc/net/joyride is empty)")
        c.close()
        ls.close()
    check(sysctl("redirect_inet") == init_redirect,
          "the initial namespace's redirect_inet is still %d" % init_redirect)

    # --- The initial namespace's netserver serves a connection throughout.
    l0 = jr_socket()
    l0.bind(("0.0.0.0", 9201))
    l0.listen(4)
    c0 = linux_connect(9201)
    c0.sendall(b"init")
    s0, _ = l0.accept()
    check(s0.recv(100) == b"init", "a connection through the initial namespace's netserver")
    init_socks = proc_sockets()
    l0_slot = listening(9201)[0]["slot"]

    # --- A: its own netserver.
    netserver_a("start")
    with netns(NS_A):
        l1 = jr_socket()
        l1.bind((A_JR_IP, 9202))
        l1.listen(4)
        c1 = socket.create_connection((A_JR_IP, 9202), timeout=30)
        c1.sendall(b"namespace A")
        s1, peer = l1.accept()
        check(peer[0] == A_LX_IP,
              "A's Joyride listener accepted from A's Linux end (%s)" % peer[0])
        check(s1.recv(100) == b"namespace A", "data arrived through A's netserver")
        s1.sendall(b"back")
        check(c1.recv(100) == b"back", "and went back")
        a_socks = proc_sockets()
        check(ports(a_socks) == [9202, 9202],
              "A's /proc/net/joyride lists A's listener and connection only (%s)"
              % ports(a_socks))
        s1.close()
        c1.close()
    check(ports(proc_sockets()) == ports(init_socks),
          "the initial namespace's /proc/net/joyride does not list A's sockets")

    # --- The switches are per namespace.
    with netns(NS_A):
        sysctl("redirect_inet", 1)
        r = socket.socket()
        r.bind(("0.0.0.0", 9203))
        r.listen(1)
        check(9203 in ports(listening(9203)),
              "with A's switch on, socket(AF_INET) in A is a Joyride socket of A")
        r.close()
        sysctl("redirect_inet", 0)
    if init_redirect == 0:
        r = socket.socket()
        r.bind(("0.0.0.0", 9204))
        r.listen(1)
        check(not listening(9204),
              "the initial namespace's switch (off) still leaves its AF_INET sockets to Linux")
        r.close()

    # --- A's netserver dies: only A's sockets notice.
    netserver_a("kill", "9")
    with netns(NS_A):
        wait_until(lambda: listening(9202) and "recovering" in listening(9202)[0]["flags"],
                   10, "A's listener to wait for recovery")
    check(not ({"recovering", "server-dead"} & listening(9201)[0]["flags"]),
          "the initial namespace's listener is untouched")
    c0.sendall(b"still")
    check(s0.recv(100) == b"still", "the initial namespace's connection still carries data")
    s0.sendall(b"both ways")
    check(c0.recv(100) == b"both ways", "both ways")
    fresh = jr_socket()
    fresh.close()
    print("ok: new Joyride sockets in the initial namespace meanwhile")

    # --- A's netserver is back: A's listener is replayed there, and only it.
    netserver_a("start")
    with netns(NS_A):
        wait_until(lambda: listening(9202) and "recovering" not in listening(9202)[0]["flags"],
                   20, "A's listener to be replayed")
        c1 = socket.create_connection((A_JR_IP, 9202), timeout=30)
        c1.sendall(b"again")
        s1, _ = l1.accept()
        check(s1.recv(100) == b"again", "A's listener accepts through A's new netserver")
        s1.close()
        c1.close()
        l1.close()
        wait_until(lambda: not proc_sockets(), 10, "A's sockets to be gone")
    check(listening(9201)[0]["slot"] == l0_slot,
          "the initial namespace's listener kept its slot (it was not replayed)")
    netserver_a("stop")
    print("ok: A's netserver stopped cleanly")

    c0.close()
    s0.close()
    l0.close()
    wait_until(lambda: not proc_sockets(), 10, "no Joyride sockets left")


if __name__ == "__main__":
    main()
