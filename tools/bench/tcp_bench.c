// SPDX-License-Identifier: GPL-2.0
/*
 * jr-tcp-bench: one TCP benchmark, two socket implementations.
 *
 *   jr-tcp-bench --backend linux|jr [--sock PATH] MODE [options]
 *
 * MODE:
 *   rr-server --port P        answer SIZE-byte requests with SIZE bytes
 *                             until killed: all connections in one poll()
 *                             loop (backend linux), or one connection
 *                             after another (backend jr)
 *   rr-client --connect A:P   --conns N connections (default 1), each with
 *                             one request outstanding: send, wait for the
 *                             response, repeat for --seconds; reports
 *                             transactions/s over all connections and the
 *                             p50/p99 round trip in µs
 *   stream-server --port P    read and discard until end of file, one
 *                             connection after another, until killed
 *   stream-client --connect A:P
 *                             send for --seconds, then half-close and wait
 *                             for the server's close, so that every byte
 *                             counted was received; reports bytes/s
 *   cps-client --connect A:P  against an rr-server: connect, one request
 *                             and response, close, repeat for --seconds;
 *                             reports connections/s
 *   stream-gaps --port P --connect A:P
 *                             (backend linux) --conns N connections to our
 *                             own listener, streaming, until stdin closes;
 *                             prints when data arrived (stream_gaps())
 * --family inet|joyride (backend linux): the kernel socket family, AF_INET
 * or AF_JOYRIDE (joyride.ko in a guest; tools/bench/vm.sh).
 * Options: --seconds N (default 3), --size BYTES (rr, default 64),
 * --chunk BYTES (stream writes, default 64 KiB), --conns N (rr-client;
 * more than one needs backend linux, whose descriptors poll() can wait on),
 * --hist (rr-client: also print every round trip, binned; for the charts of
 * tools/bench/plot.py).
 *
 * The same code drives both backends through a table of five operations,
 * so a difference in the numbers is a difference in the socket
 * implementation, not in the benchmark.  Clients print one result line
 * that tools/bench/host.sh parses:
 *   rr: tps=<x> p50_us=<x> p99_us=<x> transactions=<n> seconds=<s> conns=<n>
 *   stream: bytes_per_s=<x> bytes=<n> seconds=<s>
 * and with --hist, before the rr: line,
 *   rr-hist: <upper_us>:<count> <upper_us>:<count> ...
 * the round trips in bins 1/16 of a power of two of nanoseconds wide (6.25%
 * at most), each bin's exclusive upper bound, ascending, empty bins left out.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "jr/jr_client.h"

/* ------------------------------------------------------------ backends */

struct backend {
	const char	*name;
	int		(*listen)(unsigned int port);
	int		(*accept)(int l);
	int		(*connect)(const struct sockaddr_in *to);
	ssize_t		(*send)(int sd, const void *buf, size_t len);
	ssize_t		(*recv)(int sd, void *buf, size_t len);
	int		(*shutdown_wr)(int sd);
	int		(*close)(int sd);
};

static void __attribute__((format(printf, 1, 2), noreturn)) die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "jr-tcp-bench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* The kernel's sockets: AF_INET, or AF_JOYRIDE with joyride.ko. */
static int lx_family = AF_INET;

/* Linux: plain sockets; errors as -errno like the client library's. */
static int lx_listen(unsigned int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int one = 1, fd = socket(lx_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 16))
		return -errno;
	return fd;
}

static int lx_accept(int l)
{
	int one = 1, fd = accept4(l, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static int lx_connect(const struct sockaddr_in *to)
{
	int one = 1, fd = socket(lx_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)to, sizeof(*to))) {
		int err = -errno;

		close(fd);
		return err;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static ssize_t lx_send(int sd, const void *buf, size_t len)
{
	ssize_t n = send(sd, buf, len, MSG_NOSIGNAL);

	return n < 0 ? -errno : n;
}

static ssize_t lx_recv(int sd, void *buf, size_t len)
{
	ssize_t n = recv(sd, buf, len, 0);

	return n < 0 ? -errno : n;
}

static int lx_shutdown_wr(int sd)
{
	return shutdown(sd, SHUT_WR) ? -errno : 0;
}

static int lx_close(int sd)
{
	return close(sd) ? -errno : 0;
}

static const struct backend linux_backend = {
	"linux", lx_listen, lx_accept, lx_connect, lx_send, lx_recv,
	lx_shutdown_wr, lx_close,
};

/* Joyride: the client library, one client per process. */
static struct jr_client *jc;

static int j_listen(unsigned int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int sd = jr_socket(jc, SOCK_STREAM), err;

	if (sd < 0)
		return sd;
	jr_setsockopt(jc, sd, SOL_SOCKET, SO_REUSEADDR, 1);
	err = jr_bind(jc, sd, &a);
	if (!err)
		err = jr_listen(jc, sd, 16);
	return err ? err : sd;
}

static int j_accept(int l)
{
	int sd = jr_accept(jc, l, NULL, 0);

	if (sd >= 0)
		jr_setsockopt(jc, sd, IPPROTO_TCP, TCP_NODELAY, 1);
	return sd;
}

static int j_connect(const struct sockaddr_in *to)
{
	int sd = jr_socket(jc, SOCK_STREAM), err;

	if (sd < 0)
		return sd;
	err = jr_connect(jc, sd, to);
	if (err) {
		jr_close(jc, sd);
		return err;
	}
	jr_setsockopt(jc, sd, IPPROTO_TCP, TCP_NODELAY, 1);
	return sd;
}

static ssize_t j_send(int sd, const void *buf, size_t len)
{
	return jr_send(jc, sd, buf, len, 0);
}

static ssize_t j_recv(int sd, void *buf, size_t len)
{
	return jr_recv(jc, sd, buf, len, 0);
}

static int j_shutdown_wr(int sd)
{
	return jr_shutdown(jc, sd, SHUT_WR);
}

static int j_close(int sd)
{
	return jr_close(jc, sd);
}

static const struct backend jr_backend = {
	"jr", j_listen, j_accept, j_connect, j_send, j_recv, j_shutdown_wr, j_close,
};

/* ------------------------------------------------------------- helpers */

static const struct backend *be;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int send_all(int sd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = be->send(sd, p, len);

		if (n <= 0)
			return n < 0 ? (int)n : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* 1: got len bytes; 0: end of file first; -errno. */
static int recv_all(int sd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = be->recv(sd, p, len);

		if (n < 0)
			return (int)n;
		if (n == 0)
			return 0;
		p += n;
		len -= (size_t)n;
	}
	return 1;
}

static struct sockaddr_in parse_addr(const char *s)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	const char *colon = strrchr(s, ':');
	char host[64];

	if (!colon || (size_t)(colon - s) >= sizeof(host))
		die("address must be A.B.C.D:PORT: %s", s);
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
		die("bad IPv4 address: %s", host);
	a.sin_port = htons((uint16_t)atoi(colon + 1));
	return a;
}

/* -------------------------------------------------------------- modes */

struct opts {
	unsigned int	port;
	const char	*connect;
	double		seconds;
	size_t		size, chunk;
	unsigned int	conns;
	bool		hist;
};

static int listener(const struct opts *o)
{
	int l = be->listen(o->port);

	if (l < 0)
		die("listen on port %u: %s", o->port, strerror(-l));
	/* host.sh waits for this line before it starts the client. */
	printf("listening on port %u\n", o->port);
	fflush(stdout);
	return l;
}

/* Answer one request on sd: 1 done, 0 the peer closed, -errno. */
static int rr_answer(int sd, char *buf, size_t size)
{
	int err = recv_all(sd, buf, size);

	if (err != 1)
		return err;
	return send_all(sd, buf, size) ? -EIO : 1;
}

/*
 * Backend linux: every connection in one poll() loop, so that many
 * connections are served at once (rr-client --conns) and a new one costs
 * no thread.  Backend jr: one connection after another.
 */
#define RR_MAX_CONNS	4096

static void rr_server(const struct opts *o)
{
	static struct pollfd pfd[RR_MAX_CONNS + 1];
	char *buf = malloc(o->size);
	int l = listener(o);
	unsigned int n = 1;

	if (!buf)
		die("out of memory");
	if (be != &linux_backend) {
		for (;;) {
			int sd = be->accept(l);

			if (sd < 0)
				die("accept: %s", strerror(-sd));
			while (rr_answer(sd, buf, o->size) == 1)
				;
			be->close(sd);
		}
	}
	pfd[0].fd = l;
	pfd[0].events = POLLIN;
	for (;;) {
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll: %s", strerror(errno));
		}
		for (unsigned int i = n - 1; i >= 1; i--) {
			if (!pfd[i].revents)
				continue;
			if (rr_answer(pfd[i].fd, buf, o->size) == 1)
				continue;
			be->close(pfd[i].fd);
			pfd[i] = pfd[--n];
		}
		if (pfd[0].revents & POLLIN) {
			int sd = be->accept(l);

			if (sd < 0)
				die("accept: %s", strerror(-sd));
			if (n == RR_MAX_CONNS + 1) {
				be->close(sd);
				continue;
			}
			pfd[n].fd = sd;
			pfd[n].events = POLLIN;
			pfd[n].revents = 0;
			n++;
		}
	}
}

static void stream_server(const struct opts *o)
{
	char *buf = malloc(o->chunk);
	int l = listener(o);

	for (;;) {
		int sd = be->accept(l);

		if (sd < 0)
			die("accept: %s", strerror(-sd));
		while (be->recv(sd, buf, o->chunk) > 0)
			;
		be->close(sd);
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The exclusive upper bound of the bin of ns: 2^HIST_BINS_LOG2 bins per power of two. */
#define HIST_BINS_LOG2	4

static uint64_t hist_bin_end(uint64_t ns)
{
	unsigned int msb = ns ? 63u - (unsigned int)__builtin_clzll(ns) : 0;
	uint64_t width;

	if (msb < HIST_BINS_LOG2)
		return ns + 1;
	width = 1ull << (msb - HIST_BINS_LOG2);
	return (ns & ~(width - 1)) + width;
}

/* lat is sorted: each bin is a run of it. */
static void print_hist(const uint64_t *lat, size_t n)
{
	size_t i = 0;

	printf("rr-hist:");
	while (i < n) {
		uint64_t end = hist_bin_end(lat[i]);
		size_t first = i;

		while (i < n && lat[i] < end)
			i++;
		printf(" %.3f:%zu", end / 1e3, i - first);
	}
	putchar('\n');
}

static void rr_client(const struct opts *o)
{
	struct sockaddr_in to = parse_addr(o->connect);
	unsigned int conns = o->conns;
	size_t cap = 1 << 20, n = 0;
	uint64_t *lat = malloc(cap * sizeof(*lat));
	uint64_t *sent_at = calloc(conns, sizeof(*sent_at));
	struct pollfd *pfd = calloc(conns, sizeof(*pfd));
	char *expect = calloc(conns, 1);
	char *req = calloc(1, o->size), *resp = malloc(o->size);
	uint64_t start, end, deadline;
	int err;

	if (!lat || !sent_at || !pfd || !expect || !req || !resp)
		die("out of memory");
	if (conns > 1 && be != &linux_backend)
		die("--conns %u needs --backend linux", conns);
	for (unsigned int c = 0; c < conns; c++) {
		int sd = be->connect(&to);

		if (sd < 0)
			die("connect to %s: %s", o->connect, strerror(-sd));
		pfd[c].fd = sd;
		pfd[c].events = POLLIN;
		/* A short warm-up: the first exchanges pay for ARP and cold caches. */
		for (int i = 0; i < 100; i++)
			if (send_all(sd, req, o->size) || recv_all(sd, resp, o->size) != 1)
				die("warm-up exchange failed");
	}
	start = end = now_ns();
	deadline = start + (uint64_t)(o->seconds * 1e9);
	for (unsigned int c = 0; c < conns; c++) {
		sent_at[c] = now_ns();
		req[0] = expect[c] = (char)c;
		err = send_all(pfd[c].fd, req, o->size);
		if (err)
			die("send: %s", strerror(-err));
	}
	/* Each connection keeps one request outstanding until the deadline. */
	while (end < deadline) {
		int ready = conns == 1 ? 1 : poll(pfd, conns, 1000);

		if (ready < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		for (unsigned int c = 0; c < conns && ready > 0; c++) {
			if (conns > 1 && !pfd[c].revents)
				continue;
			err = recv_all(pfd[c].fd, resp, o->size);
			if (err != 1)
				die("recv: %s", err ? strerror(-err) : "end of file");
			if (resp[0] != expect[c])
				die("response %zu does not match its request", n);
			end = now_ns();
			if (n == cap) {
				cap *= 2;
				lat = realloc(lat, cap * sizeof(*lat));
				if (!lat)
					die("out of memory");
			}
			lat[n++] = end - sent_at[c];
			if (end >= deadline)
				continue;
			sent_at[c] = end;
			req[0] = expect[c] = (char)n;
			err = send_all(pfd[c].fd, req, o->size);
			if (err)
				die("send: %s", strerror(-err));
		}
	}
	for (unsigned int c = 0; c < conns; c++)
		be->close(pfd[c].fd);
	if (!n)
		die("no transaction completed in %.1f s", o->seconds);
	qsort(lat, n, sizeof(*lat), cmp_u64);
	if (o->hist)
		print_hist(lat, n);
	printf("rr: tps=%.0f p50_us=%.1f p99_us=%.1f transactions=%zu seconds=%.3f conns=%u\n",
	       n / ((end - start) / 1e9), lat[n / 2] / 1e3, lat[n * 99 / 100] / 1e3,
	       n, (end - start) / 1e9, conns);
}

static void stream_client(const struct opts *o)
{
	struct sockaddr_in to = parse_addr(o->connect);
	char *buf = calloc(1, o->chunk);
	uint64_t start, deadline, bytes = 0, end;
	int sd = be->connect(&to), err;

	if (sd < 0)
		die("connect to %s: %s", o->connect, strerror(-sd));
	start = now_ns();
	deadline = start + (uint64_t)(o->seconds * 1e9);
	while (now_ns() < deadline) {
		err = send_all(sd, buf, o->chunk);
		if (err)
			die("send: %s", strerror(-err));
		bytes += o->chunk;
	}
	/* Count only what arrived: the server closes after our FIN, which
	 * comes after the last byte. */
	err = be->shutdown_wr(sd);
	if (err)
		die("shutdown: %s", strerror(-err));
	while ((err = (int)be->recv(sd, buf, o->chunk)) > 0)
		;
	if (err < 0)
		die("waiting for the server's close: %s", strerror(-err));
	end = now_ns();
	be->close(sd);
	printf("stream: bytes_per_s=%.0f bytes=%llu seconds=%.3f\n",
	       bytes / ((end - start) / 1e9), (unsigned long long)bytes,
	       (end - start) / 1e9);
}

static void cps_client(const struct opts *o)
{
	struct sockaddr_in to = parse_addr(o->connect);
	char *buf = calloc(1, o->size);
	uint64_t start = now_ns(), end, conns = 0;

	do {
		int sd = be->connect(&to);

		if (sd < 0)
			die("connect %s: %s", o->connect, strerror(-sd));
		if (send_all(sd, buf, o->size) || recv_all(sd, buf, o->size) != 1)
			die("request on connection %llu failed", (unsigned long long)conns);
		be->close(sd);
		conns++;
		end = now_ns();
	} while ((end - start) / 1e9 < o->seconds);
	printf("cps: cps=%.0f connections=%llu seconds=%.3f\n",
	       conns / ((end - start) / 1e9), (unsigned long long)conns,
	       (end - start) / 1e9);
	free(buf);
}

/*
 * stream-gaps: the load of a survival measurement (tools/bench/guestlib.py).
 * --conns N AF_INET connections to our own listener (of --family) on
 * --port, reached at --connect, each streaming client -> server, all in
 * one poll() loop, until standard input closes.  One thread between the
 * sockets and the clock: a harness of a thread per socket measured its own
 * scheduling, gaps of 200-600 ms in steady state on a 2-CPU guest.
 * Prints, with CLOCK_MONOTONIC times in ns (Python's time.monotonic()):
 *   ready <client port> ...      connected, the clients' ports in order
 *   bin <t> <bytes> <mask>       bytes received in the BIN_NS from t, and
 *                                (hex) the connections that received any;
 *                                bins with nothing are left out
 *   gap <i> <t> <ns>             connection i received at t after ns with
 *                                nothing (only gaps of a bin or more)
 *   fail <i> <reason>            connection i failed (and is left alone)
 */
#define GAPS_BIN_NS	10000000ull
#define GAPS_MAX_CONNS	64

struct gaps_bin {
	uint64_t	start, bytes, mask;
};

static void gaps_bin_flush(struct gaps_bin *b, uint64_t now)
{
	if (now < b->start + GAPS_BIN_NS)
		return;
	if (b->bytes)
		printf("bin %llu %llu %llx\n", (unsigned long long)b->start,
		       (unsigned long long)b->bytes, (unsigned long long)b->mask);
	b->start = now - (now - b->start) % GAPS_BIN_NS;
	b->bytes = 0;
	b->mask = 0;
}

static void gaps_fail(struct pollfd *pfd, unsigned int i, const char *what, int err)
{
	printf("fail %u %s: %s\n", i, what, err ? strerror(err) : "end of file");
	close(pfd[1 + 2 * i].fd);
	close(pfd[2 + 2 * i].fd);
	pfd[1 + 2 * i].fd = -1;
	pfd[2 + 2 * i].fd = -1;
}

static void stream_gaps(const struct opts *o)
{
	struct sockaddr_in to = parse_addr(o->connect), a = { .sin_family = AF_INET };
	unsigned int n = o->conns, i, j, nfds = 1 + 2 * n;
	struct pollfd *pfd = calloc(nfds, sizeof(*pfd));
	uint64_t *last = calloc(n, sizeof(*last));
	uint16_t *port = calloc(n, sizeof(*port));
	char *buf = calloc(1, o->chunk), sink[65536];
	struct gaps_bin bin;
	socklen_t len;
	int one = 1, l;

	if (n > GAPS_MAX_CONNS)
		die("stream-gaps: at most %d connections", GAPS_MAX_CONNS);
	a.sin_port = htons((uint16_t)o->port);
	l = socket(lx_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0 || setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, (int)n))
		die("listen on port %u: %s", o->port, strerror(errno));
	for (i = 0; i < n; i++) {
		int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		len = sizeof(a);
		if (c < 0 || connect(c, (struct sockaddr *)&to, sizeof(to)) ||
		    getsockname(c, (struct sockaddr *)&a, &len))
			die("connect %u to %s: %s", i, o->connect, strerror(errno));
		port[i] = ntohs(a.sin_port);
		pfd[1 + 2 * i] = (struct pollfd){ .fd = c, .events = POLLOUT };
	}
	/* Accepted in any order: each is matched to its client by port. */
	for (j = 0; j < n; j++) {
		int s;

		len = sizeof(a);
		s = accept4(l, (struct sockaddr *)&a, &len, SOCK_CLOEXEC);
		if (s < 0)
			die("accept: %s", strerror(errno));
		for (i = 0; i < n && port[i] != ntohs(a.sin_port); i++)
			;
		if (i == n || pfd[2 + 2 * i].events)
			die("accepted a connection from port %u, not one of ours",
			    ntohs(a.sin_port));
		pfd[2 + 2 * i] = (struct pollfd){ .fd = s, .events = POLLIN };
	}
	for (i = 1; i < nfds; i++)
		if (fcntl(pfd[i].fd, F_SETFL, O_NONBLOCK))
			die("O_NONBLOCK: %s", strerror(errno));
	pfd[0] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready");
	for (i = 0; i < n; i++)
		printf(" %u", port[i]);
	printf("\n");
	bin = (struct gaps_bin){ .start = now_ns() };
	for (i = 0; i < n; i++)
		last[i] = bin.start;

	for (;;) {
		if (poll(pfd, nfds, (int)(GAPS_BIN_NS / 1000000)) < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		if (pfd[0].revents && read(STDIN_FILENO, sink, sizeof(sink)) <= 0)
			break;
		for (i = 0; i < n; i++) {
			struct pollfd *c = &pfd[1 + 2 * i], *s = &pfd[2 + 2 * i];
			ssize_t got;
			uint64_t t;

			if (c->fd >= 0 && c->revents &&
			    send(c->fd, buf, o->chunk, MSG_NOSIGNAL) < 0 &&
			    errno != EAGAIN) {
				gaps_fail(pfd, i, "send", errno);
				continue;
			}
			if (s->fd < 0 || !s->revents)
				continue;
			got = recv(s->fd, sink, sizeof(sink), 0);
			if (got <= 0) {
				if (got < 0 && errno == EAGAIN)
					continue;
				gaps_fail(pfd, i, "recv", got ? errno : 0);
				continue;
			}
			t = now_ns();
			gaps_bin_flush(&bin, t);
			if (t - last[i] >= GAPS_BIN_NS)
				printf("gap %u %llu %llu\n", i, (unsigned long long)t,
				       (unsigned long long)(t - last[i]));
			last[i] = t;
			bin.bytes += (uint64_t)got;
			bin.mask |= 1ull << i;
		}
		gaps_bin_flush(&bin, now_ns());
	}
	for (i = 1; i < nfds; i++)
		if (pfd[i].fd >= 0)
			close(pfd[i].fd);
	close(l);
	free(pfd);
	free(last);
	free(port);
	free(buf);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "backend", required_argument, NULL, 'b' },
		{ "sock", required_argument, NULL, 's' },
		{ "port", required_argument, NULL, 'p' },
		{ "connect", required_argument, NULL, 'c' },
		{ "seconds", required_argument, NULL, 't' },
		{ "size", required_argument, NULL, 'z' },
		{ "chunk", required_argument, NULL, 'k' },
		{ "family", required_argument, NULL, 'f' },
		{ "conns", required_argument, NULL, 'n' },
		{ "hist", no_argument, NULL, 'H' },
		{ 0 }
	};
	struct opts o = { .port = 5001, .seconds = 3, .size = 64, .chunk = 65536,
			.conns = 1 };
	const char *backend = "linux", *sock = NULL, *mode;
	int opt, err;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'b': backend = optarg; break;
		case 's': sock = optarg; break;
		case 'p': o.port = (unsigned int)atoi(optarg); break;
		case 'c': o.connect = optarg; break;
		case 't': o.seconds = atof(optarg); break;
		case 'z': o.size = (size_t)atol(optarg); break;
		case 'k': o.chunk = (size_t)atol(optarg); break;
		case 'n': o.conns = (unsigned int)atoi(optarg); break;
		case 'H': o.hist = true; break;
		case 'f':
			if (!strcmp(optarg, "joyride"))
				lx_family = 25;	/* AF_JOYRIDE */
			else if (strcmp(optarg, "inet"))
				die("--family: inet or joyride, not '%s'", optarg);
			break;
		default: return 2;
		}
	}
	if (optind != argc - 1 || !o.size || !o.chunk || o.seconds <= 0 ||
	    !o.conns || o.conns > 4096) {
		fprintf(stderr, "usage: jr-tcp-bench --backend linux|jr [--sock PATH] "
			"rr-server|rr-client|stream-server|stream-client|cps-client|stream-gaps "
			"[options]\n");
		return 2;
	}
	mode = argv[optind];
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(backend, "linux")) {
		be = &linux_backend;
	} else if (!strcmp(backend, "jr")) {
		if (!sock)
			die("--backend jr needs --sock PATH (the netserver's --listen)");
		err = jr_client_open(sock, &jc);
		if (err)
			die("jr_client_open(%s): %s", sock, strerror(-err));
		be = &jr_backend;
	} else {
		die("unknown backend '%s' (linux or jr)", backend);
	}
	if ((!strcmp(mode, "rr-client") || !strcmp(mode, "stream-client") ||
	     !strcmp(mode, "cps-client") || !strcmp(mode, "stream-gaps")) && !o.connect)
		die("%s needs --connect A.B.C.D:PORT", mode);
	if (!strcmp(mode, "rr-server"))
		rr_server(&o);
	else if (!strcmp(mode, "stream-server"))
		stream_server(&o);
	else if (!strcmp(mode, "rr-client"))
		rr_client(&o);
	else if (!strcmp(mode, "stream-client"))
		stream_client(&o);
	else if (!strcmp(mode, "cps-client"))
		cps_client(&o);
	else if (!strcmp(mode, "stream-gaps") && be == &linux_backend)
		stream_gaps(&o);
	else
		die("unknown mode '%s'", mode);
	if (jc)
		jr_client_close(jc);
	return 0;
}
