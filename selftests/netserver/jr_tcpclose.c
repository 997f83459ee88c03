// SPDX-License-Identifier: GPL-2.0
/*
 * jr-ns-tcpclose: how a TCP connection ends, seen from the client library.
 *
 *   jr-ns-tcpclose --sock P --port PORT [--ready FILE]
 *
 * Listens on PORT and expects four connections, in order, from the Linux
 * side (linux_peer.py tcpclose does its half of each):
 *
 *   1. reset_idle: we send "go"; the peer aborts (SO_LINGER 0 -> RST).
 *	recv() must fail with ECONNRESET, and a send() after it must fail.
 *   2. reset_after_data: the peer sends a line; we read it and answer;
 *	the peer aborts.  recv() must fail with ECONNRESET.
 *   3. peer_half_close: the peer sends 100000 bytes and shuts down its
 *	write side.  We must read exactly those bytes, then recv() == 0
 *	(and again 0: end of file stays), and can still send 200000 bytes,
 *	which the peer reads to our end of file.
 *   4. our_half_close: we send a line and shut down our write side; the
 *	peer reads to end of file and only then answers; we must receive
 *	the answer, then end of file.
 *
 * Each case closes its socket; at the end the client must be back to what a
 * bare listener holds, and to 0 sockets once the listener is closed.
 */
#include "nstest.h"

#include <getopt.h>

#define WAIT_MS		10000

static struct jr_client *c;

static ssize_t recv_wait(int sd, void *buf, size_t len, const char *what)
{
	ns_jr_wait(c, sd, JR_POLLIN, WAIT_MS, what);
	return jr_recv(c, sd, buf, len, 0);
}

static void expect_line(int sd, const char *line, const char *what)
{
	char buf[128];
	size_t len = strlen(line), got = 0;

	while (got < len) {
		ssize_t n = recv_wait(sd, buf + got, len - got, what);

		if (n <= 0)
			ns_die("%s: recv returned %zd (%s) after %zu bytes", what, n,
			       n < 0 ? strerror((int)-n) : "end of file", got);
		got += (size_t)n;
	}
	if (memcmp(buf, line, len))
		ns_die("%s: got '%.*s'", what, (int)len, buf);
}

static int accept_one(int l, const char *name)
{
	struct sockaddr_in peer;
	int sd;

	ns_jr_wait(c, l, JR_POLLIN, WAIT_MS, name);
	sd = jr_accept(c, l, &peer, 0);
	if (sd < 0)
		ns_die("%s: accept: %s", name, strerror(-sd));
	return sd;
}

static void expect_reset(int sd, const char *name)
{
	char buf[64];
	ssize_t n = recv_wait(sd, buf, sizeof(buf), "the peer's reset");

	if (n != -ECONNRESET)
		ns_die("%s: recv after the peer's RST returned %zd (%s), want ECONNRESET",
		       name, n, n < 0 ? strerror((int)-n) : "not an error");
	n = jr_send(c, sd, "x", 1, 0);
	if (n >= 0)
		ns_die("%s: send after the peer's RST returned %zd, want an error", name, n);
	ns_note("%s: recv -> ECONNRESET, then send -> %s", name, strerror((int)-n));
	NS_CHECK(jr_close(c, sd));
}

static void reset_idle(int l)
{
	int sd = accept_one(l, "reset_idle");

	if (ns_jr_send_all(c, sd, "go\n", 3) != 3)
		ns_die("reset_idle: send failed");
	expect_reset(sd, "reset_idle");
}

static void reset_after_data(int l)
{
	int sd = accept_one(l, "reset_after_data");

	expect_line(sd, "data before reset\n", "reset_after_data: the peer's line");
	if (ns_jr_send_all(c, sd, "got it\n", 7) != 7)
		ns_die("reset_after_data: send failed");
	expect_reset(sd, "reset_after_data");
}

static void peer_half_close(int l)
{
	static unsigned char buf[65536];
	int sd = accept_one(l, "peer_half_close");
	uint64_t got = 0;
	ssize_t n;

	for (;;) {
		n = recv_wait(sd, buf, sizeof(buf), "the peer's data");
		if (n < 0)
			ns_die("peer_half_close: recv at %llu: %s",
			       (unsigned long long)got, strerror((int)-n));
		if (n == 0)
			break;
		if (ns_stream_check(3, got, buf, (size_t)n) >= 0)
			ns_die("peer_half_close: data differs near offset %llu",
			       (unsigned long long)got);
		got += (uint64_t)n;
	}
	if (got != 100000)
		ns_die("peer_half_close: end of file after %llu of 100000 bytes",
		       (unsigned long long)got);
	n = jr_recv(c, sd, buf, sizeof(buf), JR_MSG_DONTWAIT);
	if (n != 0)
		ns_die("peer_half_close: second recv after end of file returned %zd", n);
	/* Our direction is still open. */
	for (uint64_t off = 0; off < 200000; ) {
		size_t len = 200000 - off < sizeof(buf) ? (size_t)(200000 - off) : sizeof(buf);

		ns_stream_fill(4, off, buf, len);
		if (ns_jr_send_all(c, sd, buf, len) != (ssize_t)len)
			ns_die("peer_half_close: send after the peer's FIN failed at %llu",
			       (unsigned long long)off);
		off += len;
	}
	ns_note("peer_half_close: read 100000 bytes then end of file, sent 200000 after it");
	NS_CHECK(jr_close(c, sd));
}

static void our_half_close(int l)
{
	char buf[64];
	int sd = accept_one(l, "our_half_close");
	ssize_t n;

	if (ns_jr_send_all(c, sd, "jr request\n", 11) != 11)
		ns_die("our_half_close: send failed");
	NS_CHECK(jr_shutdown(c, sd, SHUT_WR));
	n = jr_send(c, sd, "x", 1, 0);
	if (n != -EPIPE)
		ns_die("our_half_close: send after SHUT_WR returned %zd, want EPIPE", n);
	expect_line(sd, "linux reply after fin\n", "our_half_close: the peer's answer");
	n = recv_wait(sd, buf, sizeof(buf), "the peer's end of file");
	if (n != 0)
		ns_die("our_half_close: expected end of file, got %zd", n);
	ns_note("our_half_close: the peer answered after our FIN, then closed");
	NS_CHECK(jr_close(c, sd));
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "sock", required_argument, NULL, 's' },
		{ "port", required_argument, NULL, 'p' },
		{ "ready", required_argument, NULL, 'r' },
		{ 0 }
	};
	const char *sock = NULL, *ready = NULL;
	unsigned int port = 7, baseline;
	int opt, l;

	ns_prog = "jr-ns-tcpclose";
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 's': sock = optarg; break;
		case 'p': port = (unsigned int)ns_number(optarg); break;
		case 'r': ready = optarg; break;
		default: return 2;
		}
	}
	c = ns_jr_open(sock);
	l = ns_jr_listen(c, port, 4);
	baseline = jr_client_open_sockets(c);
	ns_ready(ready);
	reset_idle(l);
	reset_after_data(l);
	peer_half_close(l);
	our_half_close(l);
	ns_jr_settle(c, baseline, 10000, "back to the bare listener");
	NS_CHECK(jr_close(c, l));
	ns_jr_settle(c, 0, 10000, "listener closed");
	jr_client_close(c);
	return 0;
}
