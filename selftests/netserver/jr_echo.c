// SPDX-License-Identifier: GPL-2.0
/*
 * jr-ns-echo: many TCP connections at once, over the client library.
 *
 *   jr-ns-echo server --sock P --port PORT --conns N [--ready FILE] [--hold]
 *	accept N connections (served concurrently from one jr_poll loop),
 *	echo whatever each sends, close each at its end of file.  Then the
 *	client must be back to what a bare listener holds (its count right
 *	after listen()), and after closing the listener to 0 sockets.
 *   jr-ns-echo client --sock P --connect A:PORT --conns N [--hold]
 *	open N connections to an echo server and keep them all open, then
 *	send a short line on each, check each echo, close them all; then all
 *	slots must come back (0 sockets open).
 *
 * --hold: after the check, print "holding" and keep the client attached
 * until stdin reaches end of file, so that the script can read the
 * netserver's slot count for this client before it detaches.
 */
#include "nstest.h"

#include <getopt.h>

#define TIMEOUT_S	25.0

struct opts {
	const char	*sock, *connect, *ready;
	unsigned int	port, conns;
	bool		hold;
};

static void hold(const struct opts *o)
{
	char b[64];

	if (!o->hold)
		return;
	printf("holding\n");
	fflush(stdout);
	while (read(STDIN_FILENO, b, sizeof(b)) > 0)
		;
}

static void server(struct jr_client *c, const struct opts *o)
{
	struct jr_pollfd *fds = calloc(o->conns + 1, sizeof(*fds));
	unsigned int nfds = 1, accepted = 0, closed = 0, max_open = 0;
	unsigned long long echoed = 0;
	double deadline = ns_now() + TIMEOUT_S;
	unsigned int baseline;
	char buf[4096];

	if (!fds)
		ns_die("out of memory");
	/* The listen backlog is what a burst of SYNs may queue before we
	 * accept; lwIP caps it at 255. */
	fds[0].sd = ns_jr_listen(c, o->port, 255);
	fds[0].events = JR_POLLIN;
	/* The application holds one socket: the listener.  Slots the
	 * library keeps posted for incoming connections are not counted. */
	baseline = jr_client_open_sockets(c);
	if (baseline != 1)
		ns_die("a bare listener counts as %u open sockets, expected 1", baseline);
	ns_ready(o->ready);

	while (closed < o->conns) {
		int n = jr_poll(c, fds, nfds, 1000);

		if (n < 0)
			ns_die("jr_poll: %s", strerror(-n));
		if (ns_now() > deadline)
			ns_die("timed out: %u accepted, %u closed of %u", accepted,
			       closed, o->conns);
		if (fds[0].revents & JR_POLLIN) {
			struct sockaddr_in peer;
			int sd = jr_accept(c, fds[0].sd, &peer, 0);

			if (sd < 0)
				ns_die("accept #%u: %s", accepted, strerror(-sd));
			if (++accepted > o->conns)
				ns_die("more than %u connections", o->conns);
			fds[nfds].sd = sd;
			fds[nfds].events = JR_POLLIN;
			fds[nfds].revents = 0;
			nfds++;
			if (nfds - 1 > max_open)
				max_open = nfds - 1;
		}
		for (unsigned int i = 1; i < nfds; i++) {
			ssize_t r;

			if (!fds[i].revents)
				continue;
			r = jr_recv(c, fds[i].sd, buf, sizeof(buf), JR_MSG_DONTWAIT);
			if (r == -EAGAIN)
				continue;
			if (r < 0)
				ns_die("recv on connection sd %d: %s", fds[i].sd,
				       strerror((int)-r));
			if (r > 0) {
				if (ns_jr_send_all(c, fds[i].sd, buf, (size_t)r) < 0)
					ns_die("echo on sd %d failed", fds[i].sd);
				echoed += (unsigned long long)r;
				continue;
			}
			NS_CHECK(jr_close(c, fds[i].sd));
			closed++;
			fds[i] = fds[--nfds];
			i--;
		}
	}
	ns_note("server: %u connections, up to %u open at once, %llu bytes echoed",
		accepted, max_open, echoed);
	ns_jr_settle(c, baseline, 10000, "back to the bare listener");
	NS_CHECK(jr_close(c, fds[0].sd));
	ns_jr_settle(c, 0, 10000, "listener closed");
	printf("open sockets %u (a bare listener held %u)\n",
	       jr_client_open_sockets(c), baseline);
	fflush(stdout);
	hold(o);
	free(fds);
}

static void client(struct jr_client *c, const struct opts *o)
{
	struct sockaddr_in to = ns_addr(o->connect);
	int *sd = calloc(o->conns, sizeof(*sd));
	double t0 = ns_now();
	char line[64], back[64];

	if (!sd)
		ns_die("out of memory");
	for (unsigned int i = 0; i < o->conns; i++)
		sd[i] = ns_jr_connect(c, &to);
	if (jr_client_open_sockets(c) != o->conns)
		ns_die("%u sockets open with %u connections",
		       jr_client_open_sockets(c), o->conns);
	ns_note("client: %u connections open after %.2f s", o->conns, ns_now() - t0);
	for (unsigned int i = 0; i < o->conns; i++) {
		int len = snprintf(line, sizeof(line), "connection %u\n", i);

		if (ns_jr_send_all(c, sd[i], line, (size_t)len) != len)
			ns_die("send on connection %u failed", i);
	}
	for (unsigned int i = 0; i < o->conns; i++) {
		int len = snprintf(line, sizeof(line), "connection %u\n", i);
		ssize_t r;

		ns_jr_wait(c, sd[i], JR_POLLIN, 10000, "an echo");
		r = ns_jr_recv_all(c, sd[i], back, (size_t)len);
		if (r != len || memcmp(line, back, (size_t)len))
			ns_die("connection %u: echo %zd bytes '%.*s', want '%.*s'",
			       i, r, r > 0 ? (int)r : 0, back, len - 1, line);
	}
	for (unsigned int i = 0; i < o->conns; i++)
		NS_CHECK(jr_close(c, sd[i]));
	ns_jr_settle(c, 0, 10000, "all connections closed");
	ns_note("client: %u connections echoed and closed in %.2f s", o->conns,
		ns_now() - t0);
	printf("open sockets %u\n", jr_client_open_sockets(c));
	fflush(stdout);
	hold(o);
	free(sd);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "sock", required_argument, NULL, 's' },
		{ "port", required_argument, NULL, 'p' },
		{ "connect", required_argument, NULL, 'c' },
		{ "conns", required_argument, NULL, 'n' },
		{ "ready", required_argument, NULL, 'r' },
		{ "hold", no_argument, NULL, 'H' },
		{ 0 }
	};
	struct opts o = { .port = 7, .conns = 1000 };
	struct jr_client *c;
	int opt;

	ns_prog = "jr-ns-echo";
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 's': o.sock = optarg; break;
		case 'p': o.port = (unsigned int)ns_number(optarg); break;
		case 'c': o.connect = optarg; break;
		case 'n': o.conns = (unsigned int)ns_number(optarg); break;
		case 'r': o.ready = optarg; break;
		case 'H': o.hold = true; break;
		default: return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: jr-ns-echo server|client [options]\n");
		return 2;
	}
	c = ns_jr_open(o.sock);
	if (!strcmp(argv[optind], "server")) {
		server(c, &o);
	} else if (!strcmp(argv[optind], "client")) {
		if (!o.connect)
			ns_die("client needs --connect");
		client(c, &o);
	} else {
		ns_die("unknown mode '%s'", argv[optind]);
	}
	jr_client_close(c);
	return 0;
}
