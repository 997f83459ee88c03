#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The guest half of `tools/joyride demo`: runs inside the VM started with
# `tools/jr-vm run --netserver`, where jr-netserver drives the guest's first
# NIC through DPDK and the host's network namespace is the peer (an HTTP
# server on $JR_PEER_IP:8080).  Says in plain words what happens.
set -eu

say() { printf '\n== %s\n' "$*"; }

say "Guest: Linux $(uname -r) under QEMU; joyride.ko loaded:"
grep '^joyride ' /proc/modules | sed 's/^/   /'
say "jr-netserver (pid $JR_NETSERVER_PID) serves $JR_JOYRIDE_IP on DPDK port $JR_NETSERVER_PCI:"
grep -E 'port 0 up|attached to' "$JR_NETSERVER_LOG" | sed 's/^/   /'

python3 - <<'PY'
import os, socket, subprocess, threading, time

AF_JOYRIDE = 25
peer = os.environ["JR_PEER_IP"]
me = os.environ["JR_JOYRIDE_IP"]

def jr(kind):
    # Python parses addresses by family; an AF_JOYRIDE socket takes
    # sockaddr_in, so hand Python the descriptor as AF_INET.
    return socket.socket(socket.AF_INET, kind, 0, socket.socket(AF_JOYRIDE, kind).detach())

JRCTL = os.path.join(os.environ.get("JR_BUILD_DIR", "build"), "tools", "jrctl")

def proc_listing(title):
    # jrctl sockets is ss for Joyride sockets (/proc/net/joyride underneath).
    print("   " + title + " (jrctl sockets -tanpe)")
    out = subprocess.run([JRCTL, "sockets", "-tanpe"], stdout=subprocess.PIPE, text=True).stdout
    for line in out.splitlines():
        print("     " + line)

print("\n== A client: AF_JOYRIDE TCP socket to the peer's HTTP server %s:8080" % peer)
t0 = time.monotonic()
s = jr(socket.SOCK_STREAM)
s.connect((peer, 8080))
t1 = time.monotonic()
print("   connected from %s:%d to %s:%d in %.1f ms (handshake through lwIP on DPDK)"
      % (s.getsockname() + s.getpeername() + ((t1 - t0) * 1000,)))
proc_listing("the kernel's view:")
s.sendall(b"GET / HTTP/1.0\r\nHost: peer\r\n\r\n")
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
s.close()
print("   received %d bytes: %s" % (len(data), data.split(b"\r\n")[0].decode()))

rtts = []
for _ in range(20):
    c = jr(socket.SOCK_STREAM)
    a = time.monotonic()
    c.connect((peer, 8080))
    rtts.append((time.monotonic() - a) * 1000)
    c.close()
rtts.sort()
print("   20 more connects: median %.2f ms (emulated CPU: slow, but real)" % rtts[10])

print("\n== A server: AF_JOYRIDE listener on %s:9000; the guest's own Linux stack" % me)
print("   connects to it through the peer's namespace (Linux NIC -> peer -> DPDK NIC)")
l = jr(socket.SOCK_STREAM)
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("0.0.0.0", 9000))
l.listen(16)
client = subprocess.Popen(["sh", "-c", "echo hello joyride | nc -q1 %s 9000" % me],
                          stdout=subprocess.PIPE)
conn, who = l.accept()
msg = conn.recv(100)
conn.sendall(msg.upper())
conn.close()
print("   accepted %s:%d, got %r, the Linux client read back %r"
      % (who + (msg, client.communicate()[0])))

print("\n== Unmodified programs: net.joyride.redirect_inet=1")
subprocess.run(["sysctl", "-q", "-w", "net.joyride.redirect_inet=1"], check=True)
r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{size_download}",
                    "http://%s:8080/" % peer], capture_output=True, text=True)
print("   curl http://%s:8080/ -> HTTP %s bytes (curl is Debian's binary, unchanged)"
      % (peer, r.stdout))
held = socket.socket()		# plain AF_INET, as any program would
held.connect((peer, 8080))
print("   a plain socket(AF_INET) reports family %d (SO_DOMAIN %d), yet Joyride carries it:"
      % (held.family, held.getsockopt(socket.SOL_SOCKET, socket.SO_DOMAIN)))
proc_listing("(flag 'inet' = redirected)")
held.close()
subprocess.run(["sysctl", "-q", "-w", "net.joyride.redirect_inet=0"], check=True)

print("\n== Restart: kill -9 the netserver under the live listener on port 9000")
result = {}
def wait_accept():
    c, who = l.accept()
    result["who"] = who
    result["data"] = c.recv(100)
    result["t"] = time.monotonic()
    c.close()
waiter = threading.Thread(target=wait_accept)
waiter.start()
ctl = os.environ["JR_NETSERVER_CTL"]
t_kill = time.monotonic()
subprocess.run([ctl, "kill", "9"], check=True)
proc_listing("after the kill: the listener survives, waiting ('recovering'):")
subprocess.run([ctl, "start"], check=True, stdout=subprocess.DEVNULL)
client = subprocess.run(["sh", "-c", "echo after the restart | nc -q1 %s 9000" % me])
waiter.join(60)
print("   the same listener, still blocked in accept(), accepted %r %.1f s after the kill"
      % (result.get("data"), result.get("t", t_kill) - t_kill))
print("   (mostly the new netserver's DPDK start-up under emulation)")
l.close()
PY

say "jrctl status: the device, the engine, the last recovery"
"$JR_BUILD_DIR/tools/jrctl" status | sed 's/^/   /'
say "Kernel log:"
dmesg | grep 'joyride:' | sed 's/^/   /'
say "Demo done: AF_JOYRIDE client and server, an unmodified curl, and a netserver restart."
