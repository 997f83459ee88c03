#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# The Linux side of the jr-netserver scenario tests: plain kernel sockets in
# the test's network namespace.  Each subcommand is the counterpart of one
# jr-ns-* program and asserts its half of the conversation; any surprise
# raises, which exits non-zero with a traceback that says what differed.
#
#   tx-csum-off IFACE                     finished checksums on a veth (af_packet peer)
#   echo-server --bind A:P [--ready F]    TCP echo, many connections, until killed
#   many-client --connect A:P --conns N   N concurrent connections, echo each, close
#   udp-echo --bind A:P [--ready F]       UDP echo until killed
#   udp-client --connect A:P [--sizes L]  datagrams of 1/100/1400/8000 bytes, whole
#   tcpclose --connect A:P                the Linux half of jr-ns-tcpclose
#   window --connect A:P --bytes N --seed S --go F
#                                         send the stream to a receiver that
#                                         holds off; print what it acknowledged
#                                         then, create F, send the rest
#   icmp-responder --iface IF --net N     crafted ICMP errors for SYNs routed into N

import argparse
import array
import asyncio
import fcntl
import ipaddress
import os
import resource
import socket
import struct
import sys
import time

MASK = (1 << 64) - 1


def mix64(x):
	"""ns_mix64() of nstest.h."""
	x = (x + 0x9e3779b97f4a7c15) & MASK
	x = ((x ^ (x >> 30)) * 0xbf58476d1ce4e5b9) & MASK
	x = ((x ^ (x >> 27)) * 0x94d049bb133111eb) & MASK
	return x ^ (x >> 31)


def stream(seed, length):
	"""Bytes [0, length) of ns_stream_fill()'s stream."""
	words = (length + 7) // 8
	base = (seed * 0x100000001b3) & MASK
	out = b"".join(struct.pack("<Q", mix64((base + i) & MASK)) for i in range(words))
	return out[:length]


def addr(s):
	host, port = s.rsplit(":", 1)
	return host, int(port)


def ready(path):
	if path:
		open(path, "w").close()


def raise_fd_limit(need):
	"""A thousand connections need more than the default 1024 descriptors."""
	soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
	if soft < need:
		# Root may raise the hard limit too.
		resource.setrlimit(resource.RLIMIT_NOFILE, (need, max(hard, need)))


def log(msg):
	print(f"linux_peer: {msg}", file=sys.stderr, flush=True)


def recv_exact(s, n):
	buf = b""
	while len(buf) < n:
		chunk = s.recv(n - len(buf))
		if not chunk:
			raise AssertionError(f"end of file after {len(buf)} of {n} bytes")
		buf += chunk
	return buf


def recv_to_eof(s):
	parts = []
	while True:
		chunk = s.recv(65536)
		if not chunk:
			return b"".join(parts)
		parts.append(chunk)


# ------------------------------------------------------------ interfaces

SIOCETHTOOL = 0x8946
ETHTOOL_STXCSUM = 0x17


def cmd_tx_csum_off(args):
	"""
	Linux leaves the TCP/UDP checksum of a packet sent on a veth to the
	receiving end (CHECKSUM_PARTIAL).  An AF_PACKET reader on the peer (the
	af_packet PMD) gets the bytes with the checksum unfilled, and lwIP
	rightly drops them.  Turning TX checksum offload off (TSO and GSO go
	with it) makes Linux send finished, MTU-sized frames, as a real NIC
	would deliver them.  This is `ethtool -K IFACE tx off` without ethtool.
	"""
	s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	value = array.array("I", [ETHTOOL_STXCSUM, 0])
	addr_, _ = value.buffer_info()
	ifreq = struct.pack("16sP", args.iface.encode(), addr_)
	fcntl.ioctl(s.fileno(), SIOCETHTOOL, ifreq)


# ----------------------------------------------------------------- TCP echo

async def echo_conn(reader, writer):
	try:
		while True:
			data = await reader.read(65536)
			if not data:
				break
			writer.write(data)
			await writer.drain()
	except ConnectionError:
		pass	# the hostile test abandons connections with a reset
	finally:
		writer.close()


async def echo_main(args):
	host, port = addr(args.bind)
	server = await asyncio.start_server(echo_conn, host, port, backlog=1024,
					    reuse_address=True)
	ready(args.ready)
	async with server:
		await server.serve_forever()


def cmd_echo_server(args):
	raise_fd_limit(4096)
	asyncio.run(echo_main(args))


def cmd_many_client(args):
	raise_fd_limit(args.conns + 64)
	target = addr(args.connect)
	t0 = time.monotonic()
	socks = []
	for i in range(args.conns):
		s = socket.create_connection(target, timeout=10)
		socks.append(s)
	log(f"{args.conns} connections open after {time.monotonic() - t0:.2f} s")
	for i, s in enumerate(socks):
		s.sendall(f"linux connection {i}\n".encode())
	for i, s in enumerate(socks):
		want = f"linux connection {i}\n".encode()
		got = recv_exact(s, len(want))
		assert got == want, f"connection {i}: echo {got!r}, want {want!r}"
	for s in socks:
		s.close()
	log(f"{args.conns} connections echoed and closed after {time.monotonic() - t0:.2f} s")


# ----------------------------------------------------------------------- UDP

def cmd_udp_echo(args):
	s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	s.bind(addr(args.bind))
	ready(args.ready)
	while True:
		data, peer = s.recvfrom(65536)
		s.sendto(data, peer)


def cmd_udp_client(args):
	target = addr(args.connect)
	s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	s.settimeout(1.0)
	for size in (int(x) for x in args.sizes.split(",")):
		payload = stream(0x5544 + size, size)
		for attempt in range(3):
			if attempt:
				log(f"no echo of {size} bytes within 1 s; retry {attempt}")
			s.sendto(payload, target)
			try:
				data, peer = s.recvfrom(65536)
			except socket.timeout:
				continue
			assert peer == target, f"echo from {peer}, want {target}"
			assert len(data) == size, f"sent one {size}-byte datagram, got {len(data)} bytes"
			assert data == payload, f"{size}-byte echo differs in content"
			log(f"{size}-byte datagram came back whole")
			break
		else:
			raise AssertionError(f"no echo of {size} bytes after 3 tries")


# -------------------------------------------------------------- TCP endings

def abort(s):
	"""close() with SO_LINGER {on, 0 s}: the kernel sends RST, not FIN."""
	s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
	s.close()


def cmd_tcpclose(args):
	target = addr(args.connect)

	# 1. reset_idle
	s = socket.create_connection(target, timeout=10)
	assert recv_exact(s, 3) == b"go\n"
	abort(s)
	log("reset_idle: aborted the connection")

	# 2. reset_after_data
	s = socket.create_connection(target, timeout=10)
	s.sendall(b"data before reset\n")
	assert recv_exact(s, 7) == b"got it\n"
	abort(s)
	log("reset_after_data: aborted the connection")

	# 3. peer_half_close: we are the peer that half-closes.
	s = socket.create_connection(target, timeout=10)
	s.sendall(stream(3, 100000))
	s.shutdown(socket.SHUT_WR)
	data = recv_to_eof(s)
	assert len(data) == 200000, f"peer_half_close: got {len(data)} of 200000 bytes"
	assert data == stream(4, 200000), "peer_half_close: data after our FIN differs"
	s.close()
	log("peer_half_close: sent and shut down, then received 200000 bytes")

	# 4. our_half_close: jr half-closes; we answer after its end of file.
	s = socket.create_connection(target, timeout=10)
	data = recv_to_eof(s)
	assert data == b"jr request\n", f"our_half_close: got {data!r} before end of file"
	s.sendall(b"linux reply after fin\n")
	s.close()
	log("our_half_close: read to end of file, answered after it")


# ---------------------------------------------------------------------- ICMP

def csum16(data):
	if len(data) % 2:
		data += b"\0"
	total = sum(struct.unpack(f"!{len(data) // 2}H", data))
	while total >> 16:
		total = (total & 0xffff) + (total >> 16)
	return ~total & 0xffff


def icmp_message(icmp_type, code, quote, bad_checksum=False):
	csum = csum16(struct.pack("!BBHI", icmp_type, code, 0, 0) + quote)
	if bad_checksum:
		csum ^= 0x5a5a
	return struct.pack("!BBHI", icmp_type, code, csum, 0) + quote


def bytes_acked(s):
	"""tcpi_bytes_acked of struct tcp_info (linux/tcp.h): the u64 at 120."""
	info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 232)
	return struct.unpack_from("<Q", info, 120)[0]


def cmd_window(args):
	"""
	How much a receiver that reads nothing lets in: send the stream without
	blocking until the socket takes no more and what the receiver has
	acknowledged stops growing (its window is closed; nothing in 0.5 s
	while we hold data to send), print "acked N", then let it read (--go)
	and send the rest.  What it acknowledged while holding off is its
	receive buffer plus at most the window it announced before knowing
	better.
	"""
	data = stream(args.seed, args.bytes)
	s = socket.create_connection(addr(args.connect), timeout=10)
	s.setblocking(False)
	off, last, since = 0, -1, time.monotonic()
	deadline = time.monotonic() + 30
	while True:
		try:
			off += s.send(data[off:off + 65536])
			continue
		except BlockingIOError:
			pass
		acked = bytes_acked(s)
		if acked != last:
			last, since = acked, time.monotonic()
		elif time.monotonic() - since >= 0.5:
			break
		if off == len(data) or time.monotonic() > deadline:
			raise AssertionError(f"the window never closed: {acked} bytes acknowledged, {off} sent")
		time.sleep(0.01)
	print(f"acked {last - 1}", flush=True)	# the SYN counts one
	open(args.go, "w").close()
	s.setblocking(True)
	s.settimeout(30)
	s.sendall(data[off:])
	s.shutdown(socket.SHUT_WR)
	if s.recv(1):
		raise AssertionError("data from a receiver that only reads")
	s.close()
	log(f"window: sent {len(data)} bytes")


def cmd_icmp_responder(args):
	"""
	Plays a router that answers the netserver's TCP SYNs into NET (routed
	here, and blackholed by Linux itself) with ICMP messages Linux's own
	routing cannot produce, chosen by the SYN's destination port:
	  2, 3  destination unreachable with that code (protocol, port): the
	        connect must fail with ENOPROTOOPT, ECONNREFUSED;
	  66    only messages that must be ignored: a bad checksum, a quoted
	        sequence number that is not the SYN's, a quote cut short of the
	        8 transport bytes, fragmentation needed, another source port,
	        time exceeded, an undefined code (16); the connect must time out;
	  other nothing.
	Prints "syn PORT" for each SYN (retransmissions too), for the script
	to count.
	"""
	net = ipaddress.ip_network(args.net)
	rx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
	rx.bind((args.iface, 0))
	tx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
	ready(args.ready)
	while True:
		frame, meta = rx.recvfrom(65535)
		if meta[2] == socket.PACKET_OUTGOING:
			continue
		ip = frame[14:]
		if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != socket.IPPROTO_TCP:
			continue
		ihl = (ip[0] & 15) * 4
		if ipaddress.ip_address(ip[16:20]) not in net or len(ip) < ihl + 20:
			continue
		tcp = ip[ihl:]
		sport, dport, seq = struct.unpack("!HHI", tcp[:8])
		flags = tcp[13]
		if not flags & 0x02 or flags & 0x10:
			continue
		print(f"syn {dport}", flush=True)
		quote = ip[:ihl] + tcp[:8]
		msgs = []
		if dport in (2, 3):
			msgs.append(icmp_message(3, dport, quote))
		elif dport == 66:
			wrong_seq = ip[:ihl] + tcp[:4] + struct.pack("!I", (seq + 1) & 0xffffffff)
			other_port = ip[:ihl] + struct.pack("!HH", sport ^ 1, dport) + tcp[4:8]
			msgs += [
				icmp_message(3, 3, quote, bad_checksum=True),
				icmp_message(3, 3, wrong_seq),
				icmp_message(3, 3, ip[:ihl] + tcp[:4]),
				icmp_message(3, 4, quote),
				icmp_message(3, 3, other_port),
				icmp_message(11, 0, quote),
				icmp_message(3, 16, quote),
			]
		for m in msgs:
			tx.sendto(m, (socket.inet_ntoa(ip[12:16]), 0))


def main():
	p = argparse.ArgumentParser()
	sub = p.add_subparsers(dest="cmd", required=True)
	for name in ("echo-server", "udp-echo"):
		sp = sub.add_parser(name)
		sp.add_argument("--bind", required=True)
		sp.add_argument("--ready")
	sp = sub.add_parser("tx-csum-off")
	sp.add_argument("iface")
	sp = sub.add_parser("many-client")
	sp.add_argument("--connect", required=True)
	sp.add_argument("--conns", type=int, default=1000)
	for name in ("udp-client", "tcpclose"):
		sp = sub.add_parser(name)
		sp.add_argument("--connect", required=True)
		if name == "udp-client":
			sp.add_argument("--sizes", default="1,100,1400,8000")
	sp = sub.add_parser("window")
	sp.add_argument("--connect", required=True)
	sp.add_argument("--bytes", type=int, required=True)
	sp.add_argument("--seed", type=int, required=True)
	sp.add_argument("--go", required=True)
	sp = sub.add_parser("icmp-responder")
	sp.add_argument("--iface", required=True)
	sp.add_argument("--net", required=True)
	sp.add_argument("--ready")
	args = p.parse_args()
	handler = {
		"icmp-responder": cmd_icmp_responder,
		"tx-csum-off": cmd_tx_csum_off,
		"echo-server": cmd_echo_server,
		"many-client": cmd_many_client,
		"udp-echo": cmd_udp_echo,
		"udp-client": cmd_udp_client,
		"tcpclose": cmd_tcpclose,
		"window": cmd_window,
	}[args.cmd]
	handler(args)


if __name__ == "__main__":
	main()
