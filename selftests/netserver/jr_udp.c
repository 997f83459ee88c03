// SPDX-License-Identifier: GPL-2.0
/*
 * jr-ns-udp: UDP datagram boundaries and truncation, over the client library.
 *
 *   jr-ns-udp echo --sock P --port PORT --count N [--ready FILE]
 *	bind PORT, send each of N datagrams back to its sender unchanged.
 *	Every datagram must arrive whole (no JR_MSG_TRUNC with a 64 KiB
 *	buffer).
 *   jr-ns-udp client --sock P --connect A:PORT [--sizes 1,100,1400,8000]
 *	against a Linux echo server: send datagrams of each size (8000 is
 *	fragmented on the wire) and expect each back as one datagram of the
 *	same size and content, from the server's address; then receive an
 *	echo of the largest size into a 1000-byte buffer and expect the first
 *	1000 bytes with JR_MSG_TRUNC, the rest of that datagram gone (the
 *	next receive returns the next datagram, whole).
 *
 * UDP may lose datagrams; on a veth in one namespace it should not, but a
 * first datagram can race the ARP exchange.  A datagram that does not come
 * back within a second is sent again, at most twice, and every retry is
 * reported.
 */
#include "nstest.h"

#include <getopt.h>

#define TRIES		3
#define BIG		65536
#define JR_DGRAM_MAX_TEST	65507

#define MAX_SIZES	16

struct opts {
	const char	*sock, *connect, *ready;
	unsigned int	port, count;
	size_t		sizes[MAX_SIZES];
	unsigned int	nr_sizes;
};

static void fill_payload(unsigned char *p, size_t len, unsigned int tag)
{
	ns_stream_fill(0x55445000 + tag, 0, p, len);
}

static void echo(struct jr_client *c, const struct opts *o)
{
	static unsigned char buf[BIG];
	struct sockaddr_in a = {
		.sin_family = AF_INET, .sin_port = htons((uint16_t)o->port),
	};
	int sd = (int)NS_CHECK(jr_socket(c, SOCK_DGRAM));

	NS_CHECK(jr_bind(c, sd, &a));
	ns_ready(o->ready);
	for (unsigned int i = 0; i < o->count; i++) {
		struct sockaddr_in from;
		int flags = 0;
		ssize_t n;

		ns_jr_wait(c, sd, JR_POLLIN, 20000, "a datagram to echo");
		n = jr_recvfrom(c, sd, buf, sizeof(buf), 0, &from, &flags);
		if (n < 0)
			ns_die("recvfrom #%u: %s", i, strerror((int)-n));
		if (flags & JR_MSG_TRUNC)
			ns_die("datagram #%u (%zd bytes) reported truncated", i, n);
		n = jr_sendto(c, sd, buf, (size_t)n, 0, &from);
		if (n < 0)
			ns_die("sendto #%u: %s", i, strerror((int)-n));
		ns_note("echoed %zd bytes to %s:%u", n, inet_ntoa(from.sin_addr),
			ntohs(from.sin_port));
	}
	NS_CHECK(jr_close(c, sd));
}

/* Send len bytes (tag selects the content), expect them back whole. */
static void round_trip(struct jr_client *c, int sd, const struct sockaddr_in *to,
		       size_t len, unsigned int tag)
{
	static unsigned char out[BIG], in[BIG];

	fill_payload(out, len, tag);
	for (int t = 0; t < TRIES; t++) {
		struct jr_pollfd p = { .sd = sd, .events = JR_POLLIN };
		struct sockaddr_in from;
		int flags = 0, r;
		ssize_t n;

		if (t)
			ns_note("no echo of %zu bytes within 1 s; retry %d", len, t);
		n = jr_sendto(c, sd, out, len, 0, to);
		if (n != (ssize_t)len)
			ns_die("sendto of %zu bytes returned %zd", len, n);
		r = jr_poll(c, &p, 1, 1000);
		if (r < 0)
			ns_die("jr_poll: %s", strerror(-r));
		if (r == 0)
			continue;
		n = jr_recvfrom(c, sd, in, sizeof(in), 0, &from, &flags);
		if (n < 0)
			ns_die("recvfrom: %s", strerror((int)-n));
		if (from.sin_addr.s_addr != to->sin_addr.s_addr ||
		    from.sin_port != to->sin_port)
			ns_die("echo came from %s:%u", inet_ntoa(from.sin_addr),
			       ntohs(from.sin_port));
		if ((size_t)n != len || flags & JR_MSG_TRUNC)
			ns_die("sent one %zu-byte datagram, received %zd bytes (flags 0x%x)",
			       len, n, flags);
		if (memcmp(in, out, len))
			ns_die("the %zu-byte echo differs in content", len);
		ns_note("%zu-byte datagram came back whole", len);
		return;
	}
	ns_die("no echo of %zu bytes after %d tries", len, TRIES);
}

static void client(struct jr_client *c, const struct opts *o)
{
	static unsigned char out[BIG], in[BIG];
	struct sockaddr_in to = ns_addr(o->connect), from;
	int sd = (int)NS_CHECK(jr_socket(c, SOCK_DGRAM));
	size_t big = 0;
	int flags = 0;
	ssize_t n;

	for (unsigned int i = 0; i < o->nr_sizes; i++) {
		round_trip(c, sd, &to, o->sizes[i], i);
		if (o->sizes[i] > big)
			big = o->sizes[i];
	}
	if (big <= 1000)
		ns_die("truncation needs a size above 1000 bytes in --sizes");

	/* Truncation: the largest echo into a 1000-byte buffer, then a small
	 * datagram that must arrive on its own.  Both are sent before either
	 * is read, so the second already waits behind the first. */
	fill_payload(out, big, 100);
	NS_CHECK(jr_sendto(c, sd, out, big, 0, &to));
	ns_jr_wait(c, sd, JR_POLLIN, 2000, "the large echo");
	NS_CHECK(jr_sendto(c, sd, "after", 5, 0, &to));
	n = jr_recvfrom(c, sd, in, 1000, 0, &from, &flags);
	if (n != 1000)
		ns_die("%zu-byte datagram into 1000 bytes: recvfrom returned %zd", big, n);
	if (!(flags & JR_MSG_TRUNC))
		ns_die("%zu-byte datagram into 1000 bytes: JR_MSG_TRUNC not reported", big);
	if (memcmp(in, out, 1000))
		ns_die("the truncated datagram's first 1000 bytes differ");
	ns_note("%zu-byte datagram into 1000 bytes: 1000 bytes, JR_MSG_TRUNC", big);
	ns_jr_wait(c, sd, JR_POLLIN, 2000, "the 5-byte echo");
	flags = 0;
	n = jr_recvfrom(c, sd, in, sizeof(in), 0, &from, &flags);
	if (n != 5 || memcmp(in, "after", 5) || (flags & JR_MSG_TRUNC))
		ns_die("datagram after the truncated one: %zd bytes, flags 0x%x "
		       "(the rest of the cut datagram leaked?)", n, flags);
	ns_note("the next datagram arrived whole after the truncated one");
	NS_CHECK(jr_close(c, sd));
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "sock", required_argument, NULL, 's' },
		{ "port", required_argument, NULL, 'p' },
		{ "connect", required_argument, NULL, 'c' },
		{ "count", required_argument, NULL, 'n' },
		{ "ready", required_argument, NULL, 'r' },
		{ "sizes", required_argument, NULL, 'z' },
		{ 0 }
	};
	struct opts o = { .port = 7, .count = 4,
			  .sizes = { 1, 100, 1400, 8000 }, .nr_sizes = 4 };
	char *tok, *save;
	struct jr_client *c;
	int opt;

	ns_prog = "jr-ns-udp";
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 's': o.sock = optarg; break;
		case 'p': o.port = (unsigned int)ns_number(optarg); break;
		case 'c': o.connect = optarg; break;
		case 'n': o.count = (unsigned int)ns_number(optarg); break;
		case 'r': o.ready = optarg; break;
		case 'z':
			o.nr_sizes = 0;
			for (tok = strtok_r(optarg, ",", &save); tok;
			     tok = strtok_r(NULL, ",", &save)) {
				if (o.nr_sizes == MAX_SIZES)
					ns_die("more than %d sizes", MAX_SIZES);
				o.sizes[o.nr_sizes++] = (size_t)ns_number(tok);
				if (o.sizes[o.nr_sizes - 1] > JR_DGRAM_MAX_TEST)
					ns_die("size %s too large", tok);
			}
			break;
		default: return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: jr-ns-udp echo|client [options]\n");
		return 2;
	}
	c = ns_jr_open(o.sock);
	if (!strcmp(argv[optind], "echo")) {
		echo(c, &o);
	} else if (!strcmp(argv[optind], "client")) {
		if (!o.connect)
			ns_die("client needs --connect");
		client(c, &o);
	} else {
		ns_die("unknown mode '%s'", argv[optind]);
	}
	ns_jr_settle(c, 0, 10000, "every socket closed at the end");
	jr_client_close(c);
	return 0;
}
