#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Peer agent: runs commands in the VM runner's namespace for guest tests.

Server (on the host, inside the namespace of `tools/jr-vm run`):

    tools/jr-vm run --redirect \\
        --peer-cmd "python3 $PWD/selftests/guest/peer_agent.py" -- ...

It listens on 198.18.1.1:7700, the peer's address on the guest's Linux NIC,
and only takes control connections that come from the guest's Linux
address (198.18.1.2): the tests' control traffic must never go through
Joyride, whose address is 198.18.0.2.  It only ever runs inside the test
namespace, as root, and runs what the guest asks: it is a test fixture, not
a service.

Client (in the guest, from the tests; selftests/guest/compat/lib.sh):

    peer_agent.py client run [--timeout S] -- COMMAND...
    peer_agent.py client start NAME -- COMMAND...
    peer_agent.py client wait NAME TEXT [--timeout S]
    peer_agent.py client port tcp|udp PORT [--timeout S]
    peer_agent.py client output NAME
    peer_agent.py client stop NAME [--signal SIG] [--timeout S]
    peer_agent.py client ping
    peer_agent.py client raw LINE

`raw` sends one protocol line and prints the reply as it comes.

`run` prints the command's output and exits with its status; `stop` prints
the background command's output and exits with its status (a command that
had to be killed reports 128 + the signal); the others exit 0 on success.
The client's connection must stay on the guest's Linux stack whatever
the redirect takes.  net.joyride.redirect_inet and redirect_inet6 take
TCP sockets of protocol 0 or IPPROTO_TCP only, so the client uses MPTCP
(IPPROTO_MPTCP), which the agent's plain TCP listener makes fall back to
TCP.  Where the guest has no MPTCP, it uses AF_INET6 and the IPv4-mapped
address ::ffff:198.18.1.1, which escapes redirect_inet only.

Protocol: one request line per connection, one reply.  Words are separated
by a space; a COMMAND is the rest of the line, run with `sh -c`.

    PING                          -> OK
    RUN <timeout> <command>       -> STATUS <status> <n>, then n bytes of
                                     output (stdout and stderr merged)
    START <name> <command>        -> OK <pid>
    WAIT <name> <timeout> <text>  -> OK when the output of <name> contains
                                     <text>; ERR ... on timeout or exit
    PORT tcp|udp <port> <timeout> -> OK when something in the namespace
                                     listens on (TCP) or is bound to (UDP)
                                     <port>, from /proc/net/{tcp,udp}{,6}
    OUTPUT <name>                 -> STATUS running|<status> <n>, then output
    STOP <name> <signal> <timeout>-> STATUS <status> <n>, then the output;
                                     <signal> (TERM, INT, ...) goes to the
                                     command's process group; after
                                     <timeout> s it gets SIGKILL
    ERR <why>                     -> any failure

Every command runs in a session of its own, in the agent's private
directory (also $JR_AGENT_DIR), with stdin from /dev/null.  Bounds: 16
connections at a time, 16 background commands, 1 MiB of output kept per
command (the rest is counted and dropped), a request line of 64 KiB,
timeouts of at most 600 s.  On SIGTERM or SIGINT it kills every command's
process group, removes its directory and exits.
"""

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

DEFAULT_HOST = "198.18.1.1"
DEFAULT_PORT = 7700
DEFAULT_SOURCE = "198.18.1.2"
MAX_CONNECTIONS = 16
MAX_JOBS = 16
MAX_OUTPUT = 1 << 20
MAX_LINE = 64 << 10
MAX_TIMEOUT = 600.0
NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
IPPROTO_MPTCP = getattr(socket, "IPPROTO_MPTCP", 262)


def log(msg):
    print("peer_agent: %s" % msg, file=sys.stderr, flush=True)


class Job:
    """A command in a session of its own; a thread collects its output
    (bounded), another waits for it."""

    def __init__(self, name, command, cwd):
        self.name = name
        self.command = command
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.output = bytearray()
        self.dropped = 0
        self.status = None
        self.proc = subprocess.Popen(
            ["sh", "-c", command], cwd=cwd, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True, close_fds=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        threading.Thread(target=self._wait, daemon=True).start()

    def _read(self):
        fd = self.proc.stdout.fileno()
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            with self.lock:
                room = max(MAX_OUTPUT - len(self.output), 0)
                self.output += chunk[:room]
                self.dropped += max(len(chunk) - room, 0)
                self.changed.notify_all()
            if not chunk:
                break
        self.proc.stdout.close()

    def _wait(self):
        status = self.proc.wait()
        with self.lock:
            self.status = 128 - status if status < 0 else status
            self.changed.notify_all()

    def signal_group(self, sig):
        try:
            os.killpg(self.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def wait_done(self, timeout):
        deadline = time.monotonic() + timeout
        with self.lock:
            while self.status is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.changed.wait(left)
        return True

    def wait_text(self, text, timeout):
        deadline = time.monotonic() + timeout
        with self.lock:
            while text not in self.output:
                if self.status is not None:
                    return "exited with status %d" % self.status
                left = deadline - time.monotonic()
                if left <= 0:
                    return "not seen within %g s" % timeout
                self.changed.wait(left)
        return None

    def snapshot(self):
        with self.lock:
            out = bytes(self.output)
            if self.dropped:
                out += b"\n[peer_agent: %d more bytes dropped]\n" % self.dropped
            return self.status, out

    def finish(self):
        """The command is done: kill what it left in its group, let the
        reader take the rest of the output (a process that left the group
        may hold the pipe: not waited for long)."""
        self.signal_group(signal.SIGKILL)
        self.reader.join(2)
        return self.snapshot()

    def stop(self, sig, timeout):
        """Signal the group, wait for the command, SIGKILL after timeout."""
        if self.status is None:
            self.signal_group(sig)
            if not self.wait_done(timeout):
                self.signal_group(signal.SIGKILL)
                self.wait_done(10)
        return self.finish()


class Agent:
    def __init__(self, workdir, source):
        self.workdir = workdir
        self.source = source
        self.jobs = {}
        self.jobs_lock = threading.Lock()
        self.slots = threading.BoundedSemaphore(MAX_CONNECTIONS)

    # ---- commands

    def cmd_ping(self, _args):
        return b"OK\n"

    def cmd_run(self, args):
        timeout, command = self._split(args, 2, "RUN <timeout> <command>")
        timeout = self._timeout(timeout)
        job = Job("run", command, self.workdir)
        if not job.wait_done(timeout):
            _, out = job.stop(signal.SIGKILL, 5)
            out += b"\n[peer_agent: killed after %g s]\n" % timeout
            return self._status_reply(124, out)
        status, out = job.finish()
        return self._status_reply(status, out)

    def cmd_start(self, args):
        name, command = self._split(args, 2, "START <name> <command>")
        self._check_name(name)
        with self.jobs_lock:
            old = self.jobs.get(name)
            if old is not None and old.status is None:
                raise ValueError("%s is still running (STOP it first)" % name)
            if old is None and len(self.jobs) >= MAX_JOBS:
                self._forget_finished()
                if len(self.jobs) >= MAX_JOBS:
                    raise ValueError("too many background commands (%d)" % MAX_JOBS)
            job = Job(name, command, self.workdir)
            self.jobs[name] = job
        log("started %s (pid %d): %s" % (name, job.proc.pid, command))
        return b"OK %d\n" % job.proc.pid

    def cmd_wait(self, args):
        name, timeout, text = self._split(args, 3, "WAIT <name> <timeout> <text>")
        job = self._job(name)
        why = job.wait_text(text.encode(), self._timeout(timeout))
        if why:
            raise ValueError("%s: %r %s" % (name, text, why))
        return b"OK\n"

    def cmd_port(self, args):
        proto, port, timeout = self._split(args, 3, "PORT tcp|udp <port> <timeout>")
        if proto not in ("tcp", "udp") or not port.isdigit():
            raise ValueError("usage: PORT tcp|udp <port> <timeout>")
        deadline = time.monotonic() + self._timeout(timeout)
        while not port_in_use(proto, int(port)):
            if time.monotonic() >= deadline:
                raise ValueError("nothing on %s port %s within %s s" % (proto, port, timeout))
            time.sleep(0.05)
        return b"OK\n"

    def cmd_output(self, args):
        (name,) = self._split(args, 1, "OUTPUT <name>")
        status, out = self._job(name).snapshot()
        return self._status_reply("running" if status is None else status, out)

    def cmd_stop(self, args):
        name, sig, timeout = self._split(args, 3, "STOP <name> <signal> <timeout>")
        try:
            signum = signal.Signals["SIG" + sig.upper().removeprefix("SIG")]
        except KeyError:
            raise ValueError("unknown signal %s" % sig) from None
        job = self._job(name)
        status, out = job.stop(signum, self._timeout(timeout))
        with self.jobs_lock:
            if self.jobs.get(name) is job:
                del self.jobs[name]
        log("stopped %s: status %s" % (name, status))
        return self._status_reply(status, out)

    # ---- helpers

    @staticmethod
    def _split(args, n, usage):
        parts = args.split(" ", n - 1) if n > 1 else [args]
        if len(parts) != n or not all(parts):
            raise ValueError("usage: " + usage)
        return parts

    @staticmethod
    def _timeout(text):
        try:
            value = float(text)
        except ValueError:
            raise ValueError("bad timeout %r" % text) from None
        if not 0 < value <= MAX_TIMEOUT:
            raise ValueError("timeout must be in (0, %g]" % MAX_TIMEOUT)
        return value

    @staticmethod
    def _check_name(name):
        if not NAME_RE.match(name):
            raise ValueError("bad name %r" % name)

    @staticmethod
    def _status_reply(status, out):
        return b"STATUS %s %d\n" % (str(status).encode(), len(out)) + out

    def _job(self, name):
        with self.jobs_lock:
            job = self.jobs.get(name)
        if job is None:
            raise ValueError("no background command named %s" % name)
        return job

    def _forget_finished(self):
        for name in [n for n, j in self.jobs.items() if j.status is not None]:
            del self.jobs[name]

    def stop_all(self):
        with self.jobs_lock:
            jobs = list(self.jobs.values())
        for job in jobs:
            job.signal_group(signal.SIGKILL)

    # ---- connections

    COMMANDS = {
        "PING": cmd_ping, "RUN": cmd_run, "START": cmd_start,
        "WAIT": cmd_wait, "PORT": cmd_port, "OUTPUT": cmd_output,
        "STOP": cmd_stop,
    }

    def serve_one(self, conn, addr):
        try:
            conn.settimeout(30)
            line = read_line(conn)
            conn.settimeout(None)
            verb, _, args = line.partition(" ")
            handler = self.COMMANDS.get(verb.upper())
            if handler is None:
                raise ValueError("unknown command %r" % verb)
            reply = handler(self, args)
        except (ValueError, OSError, subprocess.SubprocessError) as e:
            reply = b"ERR %s\n" % str(e).replace("\n", " ").encode()
        except Exception as e:  # a bug here must not take the agent down
            log("internal error for %s: %r" % (addr, e))
            reply = b"ERR internal error: %r\n" % e
        try:
            conn.settimeout(30)
            conn.sendall(reply)
        except OSError as e:
            log("cannot reply to %s: %s" % (addr, e))
        finally:
            conn.close()
            self.slots.release()

    def serve(self, listener):
        while True:
            try:
                conn, addr = listener.accept()
            except OSError as e:  # EMFILE, ECONNABORTED...: keep serving
                log("accept: %s" % e)
                time.sleep(0.1)
                continue
            if self.source and addr[0] != self.source:
                # Control traffic that came through Joyride (198.18.0.2)
                # or from anywhere else is a test bug: say so and refuse.
                log("refused control connection from %s (want %s)" % (addr[0], self.source))
                try:
                    conn.sendall(b"ERR control connection from %s, not %s: it must use "
                                 b"the guest's Linux NIC\n" % (addr[0].encode(), self.source.encode()))
                except OSError:
                    pass
                conn.close()
                continue
            if not self.slots.acquire(timeout=5):
                try:
                    conn.sendall(b"ERR busy: %d connections\n" % MAX_CONNECTIONS)
                except OSError:
                    pass
                conn.close()
                continue
            threading.Thread(target=self.serve_one, args=(conn, addr), daemon=True).start()


def read_line(conn):
    data = b""
    while b"\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            raise ValueError("no request line")
        data += chunk
        if len(data) > MAX_LINE:
            raise ValueError("request line longer than %d bytes" % MAX_LINE)
    return data.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", "replace")


def port_in_use(proto, port):
    """Whether a TCP socket listens on / a UDP socket is bound to port."""
    want = ":%04X" % port
    for name in (proto, proto + "6"):
        try:
            with open("/proc/net/" + name) as f:
                next(f, None)
                for line in f:
                    fields = line.split()
                    if len(fields) > 3 and fields[1].endswith(want) and \
                            (proto == "udp" or fields[3] == "0A"):
                        return True
        except OSError:
            pass
    return False


def listen(host, port, wait_s):
    """Bind, retrying while the address is not there yet."""
    deadline = time.monotonic() + wait_s
    while True:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
            s.listen(64)
            return s
        except OSError as e:
            s.close()
            if time.monotonic() >= deadline:
                raise SystemExit("peer_agent: cannot listen on %s:%d: %s" % (host, port, e))
            time.sleep(0.1)


def server_main(opts):
    workdir = tempfile.mkdtemp(prefix="jr-peer-agent.")
    os.environ["JR_AGENT_DIR"] = workdir
    agent = Agent(workdir, opts.source)

    def quit_(signum, _frame):
        agent.stop_all()
        shutil.rmtree(workdir, ignore_errors=True)
        os._exit(0 if signum in (signal.SIGTERM, signal.SIGINT) else 1)

    signal.signal(signal.SIGTERM, quit_)
    signal.signal(signal.SIGINT, quit_)
    signal.signal(signal.SIGHUP, quit_)
    listener = listen(opts.host, opts.port, 10)
    log("listening on %s:%d, work directory %s" % (opts.host, opts.port, workdir))
    try:
        agent.serve(listener)
    finally:
        agent.stop_all()
        shutil.rmtree(workdir, ignore_errors=True)


# ------------------------------------------------------------------ client

def control_socket(host, port):
    """A TCP socket that no redirect makes Joyride's, and the address to
    connect it to (see the module's docstring)."""
    try:
        return (socket.socket(socket.AF_INET, socket.SOCK_STREAM, IPPROTO_MPTCP),
                (host, port))
    except OSError:
        return socket.socket(socket.AF_INET6, socket.SOCK_STREAM), ("::ffff:" + host, port)


def request(opts, line, io_timeout):
    """Send one request, return the reply; retry the connection until the
    agent answers (it may start after the guest)."""
    deadline = time.monotonic() + opts.connect_timeout
    while True:
        s, addr = control_socket(opts.host, opts.port)
        s.settimeout(5)
        try:
            s.connect(addr)
            break
        except OSError as e:
            s.close()
            if time.monotonic() >= deadline:
                raise SystemExit("peer_agent client: cannot reach the agent at %s:%d: %s"
                                 % (opts.host, opts.port, e))
            time.sleep(0.2)
    with s:
        s.settimeout(io_timeout)
        s.sendall(line.encode() + b"\n")
        reply = bytearray()
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            reply += chunk
    return bytes(reply)


def parse_status(reply):
    head, _, rest = reply.partition(b"\n")
    words = head.decode("utf-8", "replace").split()
    if len(words) != 3 or words[0] != "STATUS":
        raise SystemExit("peer_agent client: %s" % head.decode("utf-8", "replace"))
    return words[1], rest[:int(words[2])]


def client_main(argv):
    p = argparse.ArgumentParser(prog="peer_agent.py client")
    p.add_argument("--host", default=os.environ.get("JR_AGENT_HOST", DEFAULT_HOST))
    p.add_argument("--port", type=int, default=int(os.environ.get("JR_AGENT_PORT", DEFAULT_PORT)))
    p.add_argument("--connect-timeout", type=float, default=30)
    sub = p.add_subparsers(dest="op", required=True)
    sub.add_parser("ping")
    s = sub.add_parser("raw")
    s.add_argument("line")
    s.add_argument("--timeout", type=float, default=900)
    s = sub.add_parser("run")
    s.add_argument("--timeout", type=float, default=60)
    s.add_argument("command", nargs=argparse.REMAINDER)
    s = sub.add_parser("start")
    s.add_argument("name")
    s.add_argument("command", nargs=argparse.REMAINDER)
    s = sub.add_parser("wait")
    s.add_argument("name")
    s.add_argument("text")
    s.add_argument("--timeout", type=float, default=30)
    s = sub.add_parser("port")
    s.add_argument("proto", choices=("tcp", "udp"))
    s.add_argument("number", type=int, metavar="port")
    s.add_argument("--timeout", type=float, default=30)
    s = sub.add_parser("output")
    s.add_argument("name")
    s = sub.add_parser("stop")
    s.add_argument("name")
    s.add_argument("--signal", default="TERM")
    s.add_argument("--timeout", type=float, default=10)
    opts = p.parse_args(argv)

    def command_line():
        words = opts.command[1:] if opts.command[:1] == ["--"] else opts.command
        if not words:
            p.error("no command")
        # One word is a shell command line as is; several are quoted.
        return words[0] if len(words) == 1 else " ".join(shell_quote(w) for w in words)

    out = sys.stdout.buffer
    if opts.op == "ping":
        reply = request(opts, "PING", 10)
    elif opts.op == "raw":
        out.write(request(opts, opts.line, opts.timeout))
        out.flush()
        return 0
    elif opts.op == "run":
        status, data = parse_status(request(opts, "RUN %g %s" % (opts.timeout, command_line()),
                                            opts.timeout + 30))
        out.write(data)
        out.flush()
        return int(status)
    elif opts.op == "start":
        reply = request(opts, "START %s %s" % (opts.name, command_line()), 30)
    elif opts.op == "wait":
        reply = request(opts, "WAIT %s %g %s" % (opts.name, opts.timeout, opts.text),
                        opts.timeout + 30)
    elif opts.op == "port":
        reply = request(opts, "PORT %s %d %g" % (opts.proto, opts.number, opts.timeout),
                        opts.timeout + 30)
    elif opts.op == "output":
        status, data = parse_status(request(opts, "OUTPUT %s" % opts.name, 30))
        out.write(data)
        out.flush()
        return 0
    elif opts.op == "stop":
        status, data = parse_status(request(opts, "STOP %s %s %g" % (
            opts.name, opts.signal, opts.timeout), opts.timeout + 40))
        out.write(data)
        out.flush()
        return int(status) if status.isdigit() else 1
    if not reply.startswith(b"OK"):
        sys.stderr.write("peer_agent client: %s" % reply.decode("utf-8", "replace"))
        return 1
    return 0


def shell_quote(word):
    if word and re.match(r"^[A-Za-z0-9_@%+=:,./-]+$", word):
        return word
    return "'" + word.replace("'", "'\\''") + "'"


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "client":
        sys.exit(client_main(sys.argv[2:]))
    p = argparse.ArgumentParser(description="Peer agent for the guest's compat tests.")
    p.add_argument("--host", default=DEFAULT_HOST, help="address to listen on (%(default)s)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help="TCP port (%(default)s)")
    p.add_argument("--source", default=DEFAULT_SOURCE,
                   help="the only client address allowed (%(default)s; empty: any)")
    server_main(p.parse_args())


if __name__ == "__main__":
    main()
