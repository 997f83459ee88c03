#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The far end of the guest socket tests (selftests/guest/socket_test.c).

Runs on the host, inside the VM runner's network namespace, as root:

    tools/jr-vm run --nics 2 \\
        --peer-cmd "python3 $PWD/selftests/guest/peer.py" -- \\
        build/selftests/guest/socket_test

Everything listens on the IPv6 wildcard "::" with IPV6_V6ONLY off, so the
same sockets serve IPv4 and IPv6, on 198.18.0.1 and 2001:2::1 (reached
from the guest through Joyride when NIC 0 belongs to the netserver) and on
198.18.1.1 and 2001:2:0:1::1 (reached through the guest's Linux stack).
IPv4 clients look to these sockets like v4-mapped ::ffff:a.b.c.d; the peer
never reports an address in that form, only as plain a.b.c.d.  Without
IPv6 on the host it listens on 0.0.0.0 instead.  The peer is the real
Linux TCP/IP stack of the host: whatever it sees is what a Linux machine on
the wire would see.

TCP services
  7     echo: echoes until EOF, then closes.
  9     discard: reads until EOF.
  19    chargen: the first line is "N [CHUNK [DELAY_MS]]"; sends N bytes
        of the pattern byte(i) = i % 251 in CHUNK-byte writes DELAY_MS
        apart, then closes.
  7000  control: line commands, below.
  7001  reset: reads one byte, then closes with SO_LINGER {1, 0} (an RST).
        Waiting for the byte keeps the RST from racing the client's
        connect(), which would otherwise fail with ECONNRESET at times.
  7002  sink: accepts with a small receive buffer and never reads, so the
        guest's send buffer fills.  Closed when the guest goes away.
  7003  half-close: sends "hello\\n", shutdown(SHUT_WR), then reads until
        EOF.  If what it reads starts with "TOKEN <t>\\n", the outcome is
        recorded under <t> (see WAIT).
  7004  report: the first line is "TOKEN <t>"; then echoes until EOF or
        an error and records the outcome under <t>.
  7999  nothing listens: the kernel answers SYNs with RST (ECONNREFUSED).
UDP services
  7     echo: every datagram back as is, zero-length ones included.
  7999  nothing listens: the kernel answers with ICMP port unreachable.

Control commands (port 7000, one line each, one reply line each):
  PING                      -> OK
  WAIT <t> [SECONDS]        -> the outcome of the connection that sent
                               TOKEN <t>: "EOF <n>" (orderly close after n
                               bytes), "RESET <n>", "ERR <ENAME> <n>", or
                               TIMEOUT if it has not ended in SECONDS (10).
  CONNECT <ip> <port> <n>   -> connect to the guest (<ip> IPv4 or IPv6),
                               send n pattern bytes, read n bytes back, then
                               read until the guest closes: "OK <bytes read
                               back>" or "ERR <ENAME>".
  OPEN <ip> <port> <count>  -> open count connections to the guest (IPv4 or
                               IPv6) and hold them while this control
                               connection lasts: "OK <count>" once all are
                               established.
  BLACKHOLE                 -> "OK <port>": a listener that never accepts, whose
                               accept queue the peer fills itself, so further
                               SYNs to <port> are dropped (connects time out).
                               It lasts while this control connection lasts.
  MCAST_SEND <group> <port> <ifaddr> <payload> [<ttl> [<unicast ip>]]
                            -> "OK": one datagram with payload to group:port
                               (IPv4 or IPv6) out of the interface that has
                               ifaddr (one of the peer's), multicast TTL or
                               hop limit ttl (default 1); then, if a unicast
                               ip is given, "END" to that ip and the same
                               port: a marker that arrives after the
                               multicast datagram would have.
  MCAST_JOIN <group> <port> <ifaddr>
                            -> "OK": a socket bound to port that joined group
                               on the interface that has ifaddr, held while
                               this control connection lasts.
  MCAST_RECV <group> <port> <payload> [SECONDS]
                            -> "OK <source> <ttl>" once that socket got a
                               datagram with payload (others are skipped),
                               TIMEOUT after SECONDS (5).
  QUIT                      -> closes the control connection.
Anything else gets "ERR EINVAL".

Routing: the peer turns on IPv4 and IPv6 forwarding in its namespace,
which has no default route, so that it acts as a router that knows no way
to anything beyond 198.18.0.0/15 and 2001:2::/48: a packet sent to it for,
say, 198.19.255.1 (the netserver uses 198.18.0.1 as its gateway) is
answered with ICMP network unreachable, and a Linux connect() through it
fails with ENETUNREACH.  The guest's Linux stack has no default route and
fails the same connect() locally with the same errno.

Every connection runs in its own thread; at most MAX_CONNS at a time (more
are closed at once) and every wait is bounded, so a misbehaving guest
cannot wedge the peer.
"""

import errno
import os
import select
import signal
import socket
import struct
import sys
import threading
import time

MAX_CONNS = 128
IO_TIMEOUT = 10.0          # seconds any single read or write may block
SINK_LIFETIME = 60.0       # the longest a sink connection is held
OUTCOMES_KEPT = 1000

PATTERN = bytes(i % 251 for i in range(251))
IP_RECVTTL = getattr(socket, "IP_RECVTTL", 12)     # not in every Python


def pattern(offset, n):
    """n bytes of the chargen pattern starting at stream offset."""
    out = bytearray()
    start = offset % 251
    while len(out) < n:
        out += PATTERN[start:start + (n - len(out))]
        start = 0
    return bytes(out)


def log(msg):
    print("peer.py: " + msg, file=sys.stderr, flush=True)


def ename(err):
    return errno.errorcode.get(err, "E%d" % err) if err else "EIO"


def plain_address(addr):
    """An address as the peer reports it: IPv4 clients of the dual-stack
    sockets appear as ::ffff:a.b.c.d, reported as a.b.c.d."""
    host = addr[0]
    if host.lower().startswith("::ffff:") and "." in host:
        return host[7:]
    return host


def ifindex_of(addr):
    """The index of the peer's interface that has IPv6 address addr."""
    want = socket.inet_pton(socket.AF_INET6, addr).hex()
    with open("/proc/net/if_inet6") as f:
        for line in f:
            fields = line.split()
            if fields[0] == want:
                return int(fields[1], 16)
    raise OSError(errno.EADDRNOTAVAIL, "no interface has " + addr)


def dual_stack_socket(kind):
    """A socket for both IPv6 and IPv4 clients, and the wildcard to bind it
    to; an IPv4 one where the host has no IPv6."""
    if socket.has_ipv6:
        try:
            s = socket.socket(socket.AF_INET6, kind)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            return s, "::"
        except OSError:
            pass
    return socket.socket(socket.AF_INET, kind), "0.0.0.0"


class Outcomes:
    """How token-carrying connections ended, for WAIT."""

    def __init__(self):
        self.cond = threading.Condition()
        self.results = {}

    def record(self, token, result):
        with self.cond:
            self.results[token] = result
            while len(self.results) > OUTCOMES_KEPT:
                self.results.pop(next(iter(self.results)))
            self.cond.notify_all()

    def wait(self, token, seconds):
        deadline = time.monotonic() + seconds
        with self.cond:
            while token not in self.results:
                left = deadline - time.monotonic()
                if left <= 0:
                    return "TIMEOUT"
                self.cond.wait(left)
            return self.results[token]


outcomes = Outcomes()
slots = threading.BoundedSemaphore(MAX_CONNS)


def read_line(conn, limit=256):
    """One line without its newline, or None at EOF before a newline."""
    buf = bytearray()
    while len(buf) < limit:
        b = conn.recv(1)
        if not b:
            return None
        if b == b"\n":
            return buf.decode("ascii", "replace").strip()
        buf += b
    return buf.decode("ascii", "replace").strip()


def drain(conn, echo):
    """Read (and maybe echo) until EOF or error: 'EOF n', 'RESET n', 'ERR E n'."""
    n = 0
    try:
        while True:
            data = conn.recv(65536)
            if not data:
                return "EOF %d" % n
            n += len(data)
            if echo:
                conn.sendall(data)
    except ConnectionResetError:
        return "RESET %d" % n
    except socket.timeout:
        return "ERR ETIMEDOUT %d" % n
    except OSError as e:
        return "ERR %s %d" % (ename(e.errno), n)


def serve_echo(conn):
    drain(conn, echo=True)


def serve_discard(conn):
    drain(conn, echo=False)


def serve_chargen(conn):
    fields = (read_line(conn) or "0").split()
    n = int(fields[0])
    chunk = int(fields[1]) if len(fields) > 1 else 65536
    delay = int(fields[2]) / 1000.0 if len(fields) > 2 else 0.0
    sent = 0
    while sent < n:
        if sent and delay:
            time.sleep(delay)
        k = min(chunk, n - sent)
        conn.sendall(pattern(sent, k))
        sent += k


def serve_reset(conn):
    conn.recv(1)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def serve_sink(conn):
    # Never read; leave when the guest resets or closes, or after a while.
    p = select.poll()
    p.register(conn, select.POLLRDHUP | select.POLLERR | select.POLLHUP)
    deadline = time.monotonic() + SINK_LIFETIME
    while time.monotonic() < deadline:
        if p.poll(1000):
            return


def serve_half_close(conn):
    conn.sendall(b"hello\n")
    conn.shutdown(socket.SHUT_WR)
    first = read_line(conn)
    if first is None or not first.startswith("TOKEN "):
        drain(conn, echo=False)
        return
    outcomes.record(first.split()[1], drain(conn, echo=False))


def serve_report(conn):
    first = read_line(conn)
    if first is None or not first.startswith("TOKEN "):
        return
    outcomes.record(first.split()[1], drain(conn, echo=True))


class Control:
    """One control connection and what it holds open."""

    def __init__(self, conn):
        self.conn = conn
        self.held = []
        self.mcast = {}

    def reply(self, line):
        self.conn.sendall((line + "\n").encode())

    def run(self):
        try:
            while True:
                line = read_line(self.conn, limit=1024)
                if line is None:
                    return
                words = line.split()
                if not words:
                    continue
                if words[0] == "QUIT":
                    return
                self.reply(self.command(words))
        finally:
            for s in self.held:
                s.close()

    def command(self, words):
        cmd, args = words[0], words[1:]
        try:
            if cmd == "PING":
                return "OK"
            if cmd == "WAIT" and len(args) in (1, 2):
                secs = float(args[1]) if len(args) == 2 else 10.0
                return outcomes.wait(args[0], min(secs, 30.0))
            if cmd == "CONNECT" and len(args) == 3:
                return self.connect(args[0], int(args[1]), int(args[2]))
            if cmd == "OPEN" and len(args) == 3:
                return self.open(args[0], int(args[1]), int(args[2]))
            if cmd == "BLACKHOLE" and not args:
                return self.blackhole()
            if cmd == "MCAST_SEND" and 4 <= len(args) <= 6:
                return self.mcast_send(args[0], int(args[1]), args[2], args[3],
                                       int(args[4]) if len(args) > 4 else 1,
                                       args[5] if len(args) > 5 else None)
            if cmd == "MCAST_JOIN" and len(args) == 3:
                return self.mcast_join(args[0], int(args[1]), args[2])
            if cmd == "MCAST_RECV" and len(args) in (3, 4):
                secs = float(args[3]) if len(args) == 4 else 5.0
                return self.mcast_recv(args[0], int(args[1]), args[2],
                                       min(secs, 30.0))
        except ValueError:
            pass
        except OSError as e:
            return "ERR " + ename(e.errno)
        return "ERR EINVAL"

    def mcast_send(self, group, port, ifaddr, payload, ttl, unicast):
        v6 = ":" in group
        s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET,
                          socket.SOCK_DGRAM)
        with s:
            if v6:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF,
                             ifindex_of(ifaddr))
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, ttl)
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 0)
            else:
                s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF,
                             socket.inet_aton(ifaddr))
                s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, ttl)
                s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
            s.sendto(payload.encode(), (group, port))
            if unicast:
                s.sendto(b"END", (unicast, port))
        return "OK"

    def mcast_join(self, group, port, ifaddr):
        v6 = ":" in group
        s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET,
                          socket.SOCK_DGRAM)
        self.held.append(s)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if v6:
            s.bind(("::", port))
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP,
                         socket.inet_pton(socket.AF_INET6, group) +
                         struct.pack("@I", ifindex_of(ifaddr)))
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVHOPLIMIT, 1)
        else:
            s.bind(("0.0.0.0", port))
            s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                         socket.inet_aton(group) + socket.inet_aton(ifaddr))
            s.setsockopt(socket.IPPROTO_IP, IP_RECVTTL, 1)
        self.mcast[(group, port)] = s
        return "OK"

    def mcast_recv(self, group, port, payload, secs):
        s = self.mcast.get((group, port))
        if s is None:
            return "ERR ENOENT"
        want = payload.encode()
        deadline = time.monotonic() + secs
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([s], [], [], left)[0]:
                return "TIMEOUT"
            data, anc, _, src = s.recvmsg(65535, 256)
            if data != want:
                continue
            ttl = -1
            for level, kind, value in anc:
                if (level, kind) in ((socket.IPPROTO_IP, socket.IP_TTL),
                                     (socket.IPPROTO_IPV6, socket.IPV6_HOPLIMIT)):
                    ttl = struct.unpack("@i", value[:4])[0] if len(value) >= 4 \
                        else value[0]
            return "OK %s %d" % (plain_address(src), ttl)

    def connect(self, ip, port, n):
        try:
            with socket.create_connection((ip, port), timeout=5) as s:
                s.settimeout(IO_TIMEOUT)
                s.sendall(pattern(0, n))
                got = 0
                while got < n:
                    data = s.recv(65536)
                    if not data:
                        break
                    got += len(data)
                while s.recv(65536):
                    pass
                return "OK %d" % got
        except socket.timeout:
            return "ERR ETIMEDOUT"
        except OSError as e:
            return "ERR " + ename(e.errno)

    def open(self, ip, port, count):
        if count > 64:
            return "ERR EINVAL"
        try:
            for _ in range(count):
                s = socket.create_connection((ip, port), timeout=5)
                self.held.append(s)
            return "OK %d" % count
        except socket.timeout:
            return "ERR ETIMEDOUT"
        except OSError as e:
            return "ERR " + ename(e.errno)

    def blackhole(self):
        lsn, wildcard = dual_stack_socket(socket.SOCK_STREAM)
        self.held.append(lsn)
        lsn.bind((wildcard, 0))
        # A backlog of 1 admits two connections to the accept queue (Linux
        # counts "full" as more than the backlog); with those two never
        # accepted, the listener drops every further SYN.
        lsn.listen(1)
        port = lsn.getsockname()[1]
        for _ in range(2):
            filler = socket.create_connection(("127.0.0.1", port), timeout=5)
            self.held.append(filler)
        return "OK %d" % port


def serve_control(conn):
    Control(conn).run()


def handle(conn, addr, serve):
    try:
        conn.settimeout(IO_TIMEOUT)
        serve(conn)
    except Exception as e:  # one bad connection must not stop the peer
        if not isinstance(e, (OSError, ValueError)):
            log("%s from %s: %r" % (serve.__name__, plain_address(addr), e))
    finally:
        conn.close()
        slots.release()


def tcp_listener(port, serve, rcvbuf=0):
    s, wildcard = dual_stack_socket(socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if rcvbuf:
        # Set on the listener, inherited by accepted sockets, so that the
        # window it advertises from the SYN-ACK on is small.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.bind((wildcard, port))
    s.listen(64)

    def loop():
        while True:
            conn, addr = s.accept()
            if not slots.acquire(blocking=False):
                conn.close()
                continue
            threading.Thread(target=handle, args=(conn, addr, serve),
                             daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()
    return wildcard


def udp_echo(port):
    s, wildcard = dual_stack_socket(socket.SOCK_DGRAM)
    s.bind((wildcard, port))

    def loop():
        while True:
            data, addr = s.recvfrom(65535)
            try:
                s.sendto(data, addr)
            except OSError:
                pass

    threading.Thread(target=loop, daemon=True).start()


def act_as_router():
    for path in ("/proc/sys/net/ipv4/ip_forward",
                 "/proc/sys/net/ipv6/conf/all/forwarding"):
        if "ipv6" in path and not os.path.isdir("/proc/sys/net/ipv6"):
            continue
        try:
            with open(path, "w") as f:
                f.write("1\n")
        except OSError as e:
            log("cannot enable forwarding in %s (%s): unroutable "
                "destinations will time out instead of failing with "
                "ENETUNREACH" % (path, e))


def main():
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    act_as_router()
    tcp_listener(7, serve_echo)
    tcp_listener(9, serve_discard)
    tcp_listener(19, serve_chargen)
    tcp_listener(7001, serve_reset)
    tcp_listener(7002, serve_sink, rcvbuf=4096)
    tcp_listener(7003, serve_half_close)
    tcp_listener(7004, serve_report)
    udp_echo(7)
    # The control port last: once it answers, every service is up.
    wildcard = tcp_listener(7000, serve_control)
    log("listening on %s (tcp 7 9 19 7000-7004, udp 7)" %
        ("[::], IPv6 and IPv4" if wildcard == "::" else "0.0.0.0, IPv4 only"))
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
