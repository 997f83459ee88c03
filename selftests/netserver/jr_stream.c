// SPDX-License-Identifier: GPL-2.0
/*
 * jr-ns-stream: bulk TCP transfers through jr-netserver, checked end to end.
 *
 *   jr-ns-stream gen  --bytes N --seed S
 *	write the deterministic stream to stdout (no netserver): the Linux
 *	side pipes it into socat, or into sha256sum for the expected sum.
 *   jr-ns-stream send --sock P (--connect A:P | --listen PORT) --bytes N --seed S
 *	send the stream, half-close, and wait for the peer's end of file, so
 *	that a zero exit means the peer has read everything.
 *   jr-ns-stream recv --sock P (--connect A:P | --listen PORT) --bytes N
 *		      [--seed S] [--out]
 *	receive until end of file; with --seed, compare every byte with the
 *	stream; with --out, also copy the bytes to stdout (for sha256sum).
 *	Fails unless exactly N bytes arrived.
 *
 * --ready FILE is created once a --listen socket listens.  recv --wait-for
 * FILE reads nothing until FILE exists (the connection is accepted first),
 * so that a test can watch the window fill.  Throughput goes to stderr; it is
 * informational, not asserted.
 */
#include "nstest.h"

#include <getopt.h>

#define CHUNK	(256 * 1024)

struct opts {
	const char	*sock, *connect, *ready, *wait_for;
	unsigned int	listen_port;
	bool		listen, out, have_seed;
	uint64_t	bytes, seed;
};

static void gen(const struct opts *o)
{
	static unsigned char buf[CHUNK];

	for (uint64_t off = 0; off < o->bytes; ) {
		size_t n = o->bytes - off < CHUNK ? (size_t)(o->bytes - off) : CHUNK;

		ns_stream_fill(o->seed, off, buf, n);
		ns_write_all(STDOUT_FILENO, buf, n);
		off += n;
	}
}

/* The connected socket for this run: accepted or connected. */
static int open_conn(struct jr_client *c, const struct opts *o)
{
	struct sockaddr_in peer;
	int l, sd;

	if (!o->listen) {
		struct sockaddr_in to = ns_addr(o->connect);

		return ns_jr_connect(c, &to);
	}
	l = ns_jr_listen(c, o->listen_port, 4);
	ns_ready(o->ready);
	sd = (int)NS_CHECK(jr_accept(c, l, &peer, 0));
	NS_CHECK(jr_close(c, l));
	return sd;
}

static void report(const char *what, uint64_t bytes, double t0)
{
	double dt = ns_now() - t0;

	ns_note("%s %llu bytes in %.3f s (%.1f MB/s)", what,
		(unsigned long long)bytes, dt, dt > 0 ? (double)bytes / dt / 1e6 : 0.0);
}

static void send_stream(struct jr_client *c, const struct opts *o)
{
	static unsigned char buf[CHUNK];
	int sd = open_conn(c, o);
	double t0 = ns_now();
	ssize_t n;

	for (uint64_t off = 0; off < o->bytes; ) {
		size_t len = o->bytes - off < CHUNK ? (size_t)(o->bytes - off) : CHUNK;

		ns_stream_fill(o->seed, off, buf, len);
		n = ns_jr_send_all(c, sd, buf, len);
		if (n < 0)
			ns_die("send at offset %llu: %s", (unsigned long long)off,
			       strerror((int)-n));
		off += len;
	}
	NS_CHECK(jr_shutdown(c, sd, SHUT_WR));
	/* The peer closes after reading to our end of file. */
	ns_jr_wait(c, sd, JR_POLLIN, 60000, "the peer's end of file");
	n = jr_recv(c, sd, buf, sizeof(buf), 0);
	if (n != 0)
		ns_die("expected end of file from the peer, got %zd", n);
	report("sent", o->bytes, t0);
	NS_CHECK(jr_close(c, sd));
}

static void recv_stream(struct jr_client *c, const struct opts *o)
{
	static unsigned char buf[CHUNK];
	int sd = open_conn(c, o);
	double t0 = ns_now();
	uint64_t off = 0;

	/* Bounded like every wait here: the test creates FILE within 60 s. */
	for (int i = 0; o->wait_for && access(o->wait_for, F_OK); i++) {
		if (i == 6000)
			ns_die("%s did not appear within 60 s", o->wait_for);
		usleep(10000);
	}
	for (;;) {
		ssize_t n = jr_recv(c, sd, buf, sizeof(buf), 0);

		if (n < 0)
			ns_die("recv at offset %llu: %s", (unsigned long long)off,
			       strerror((int)-n));
		if (n == 0)
			break;
		if (o->have_seed) {
			long long bad = ns_stream_check(o->seed, off, buf, (size_t)n);

			if (bad >= 0)
				ns_die("byte %lld differs from the stream", bad);
		}
		if (o->out)
			ns_write_all(STDOUT_FILENO, buf, (size_t)n);
		off += (uint64_t)n;
		if (off > o->bytes)
			ns_die("more than the %llu bytes expected",
			       (unsigned long long)o->bytes);
	}
	if (off != o->bytes)
		ns_die("end of file after %llu of %llu bytes",
		       (unsigned long long)off, (unsigned long long)o->bytes);
	report("received", off, t0);
	NS_CHECK(jr_close(c, sd));
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "sock", required_argument, NULL, 's' },
		{ "connect", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, 'l' },
		{ "bytes", required_argument, NULL, 'b' },
		{ "seed", required_argument, NULL, 'S' },
		{ "ready", required_argument, NULL, 'r' },
		{ "out", no_argument, NULL, 'o' },
		{ "wait-for", required_argument, NULL, 'w' },
		{ 0 }
	};
	struct opts o = { .bytes = 1 << 20, .seed = 1 };
	struct jr_client *c;
	const char *mode;
	int opt;

	ns_prog = "jr-ns-stream";
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 's': o.sock = optarg; break;
		case 'c': o.connect = optarg; break;
		case 'l': o.listen = true; o.listen_port = (unsigned int)ns_number(optarg); break;
		case 'b': o.bytes = ns_number(optarg); break;
		case 'S': o.seed = ns_number(optarg); o.have_seed = true; break;
		case 'r': o.ready = optarg; break;
		case 'o': o.out = true; break;
		case 'w': o.wait_for = optarg; break;
		default: return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: jr-ns-stream gen|send|recv [options]\n");
		return 2;
	}
	mode = argv[optind];
	if (!strcmp(mode, "gen")) {
		gen(&o);
		return 0;
	}
	if (!o.listen && !o.connect)
		ns_die("%s needs --connect or --listen", mode);
	c = ns_jr_open(o.sock);
	if (!strcmp(mode, "send"))
		send_stream(c, &o);
	else if (!strcmp(mode, "recv"))
		recv_stream(c, &o);
	else
		ns_die("unknown mode '%s'", mode);
	ns_jr_settle(c, 0, 10000, "every socket closed at the end");
	jr_client_close(c);
	return 0;
}
