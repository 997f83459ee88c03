/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the jr-netserver scenario programs (jr-ns-*).
 *
 * The programs are one side of a conversation whose other side is a Linux
 * program in the test's network namespace; the shell script decides who
 * talks to whom.  They fail loudly: any unexpected result prints what was
 * expected and exits 1, so the script only has to check exit codes.
 *
 * The deterministic byte stream (ns_stream_fill) is the same in every
 * program, so a sender and a checker agree on content without shipping it:
 * byte i of the stream with seed s depends only on (s, i), which lets a
 * receiver verify a stream at any offset without state from the sender.
 */
#ifndef _NSTEST_H
#define _NSTEST_H

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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

static const char *ns_prog = "jr-ns";

static inline void __attribute__((format(printf, 1, 2), noreturn))
ns_die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: FAIL: ", ns_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static inline void __attribute__((format(printf, 1, 2)))
ns_note(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", ns_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* A client-library call that must succeed; r is its -errno result. */
#define NS_CHECK(call) ({						\
	long __r = (long)(call);					\
	if (__r < 0)							\
		ns_die("%s:%d: %s: %s", __FILE__, __LINE__, #call,	\
		       strerror((int)-__r));				\
	__r;								\
})

static inline double ns_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "A.B.C.D:PORT", or ":PORT"/"PORT" for INADDR_ANY. */
static inline struct sockaddr_in ns_addr(const char *s)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	const char *colon = strrchr(s, ':');
	char host[64];
	char *end;
	unsigned long port;

	if (colon) {
		size_t n = (size_t)(colon - s);

		if (n >= sizeof(host))
			ns_die("address too long: %s", s);
		memcpy(host, s, n);
		host[n] = '\0';
		s = colon + 1;
	} else {
		host[0] = '\0';
	}
	port = strtoul(s, &end, 10);
	if (*end || end == s || port > 65535)
		ns_die("bad port in '%s'", s);
	a.sin_port = htons((uint16_t)port);
	if (host[0] && inet_pton(AF_INET, host, &a.sin_addr) != 1)
		ns_die("bad IPv4 address '%s'", host);
	return a;
}

static inline unsigned long long ns_number(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 0);

	/* Sizes read better with a suffix: 256M is clearer than 268435456. */
	if (*end == 'k' || *end == 'K')
		v <<= 10, end++;
	else if (*end == 'm' || *end == 'M')
		v <<= 20, end++;
	else if (*end == 'g' || *end == 'G')
		v <<= 30, end++;
	if (*end || end == s)
		ns_die("bad number '%s'", s);
	return v;
}

/* Tell the script we are ready (listening): it waits for this file. */
static inline void ns_ready(const char *path)
{
	int fd;

	if (!path)
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		ns_die("cannot create %s: %s", path, strerror(errno));
	close(fd);
}

/* ------------------------------------------------- deterministic stream */

static inline uint64_t ns_mix64(uint64_t x)
{
	/* splitmix64's finaliser: every input bit reaches every output bit. */
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* Bytes [off, off + len) of the stream with this seed. */
static inline void ns_stream_fill(uint64_t seed, uint64_t off, void *buf, size_t len)
{
	unsigned char *p = buf;

	while (len) {
		uint64_t word = ns_mix64(seed * 0x100000001b3ULL + (off >> 3));
		unsigned int i = (unsigned int)(off & 7);

		for (; i < 8 && len; i++, len--, off++)
			*p++ = (unsigned char)(word >> (8 * i));
	}
}

/* First offset in buf (at stream offset off) that differs, or -1. */
static inline long long ns_stream_check(uint64_t seed, uint64_t off,
					const void *buf, size_t len)
{
	unsigned char want[4096];
	const unsigned char *p = buf;
	size_t done = 0;

	while (done < len) {
		size_t n = len - done < sizeof(want) ? len - done : sizeof(want);

		ns_stream_fill(seed, off + done, want, n);
		if (memcmp(want, p + done, n)) {
			for (size_t i = 0; i < n; i++)
				if (want[i] != p[done + i])
					return (long long)(off + done + i);
		}
		done += n;
	}
	return -1;
}

/* ------------------------------------------------ client-library helpers */

static inline void ns_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			ns_die("write to fd %d: %s", fd, strerror(errno));
		p += n;
		len -= (size_t)n;
	}
}

/* 0 or -errno; a short count is an error the caller reports. */
static inline ssize_t ns_jr_send_all(struct jr_client *c, int sd, const void *buf,
				     size_t len)
{
	const char *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t n = jr_send(c, sd, p + done, len - done, 0);

		if (n < 0)
			return n;
		if (n == 0)
			return -EIO;	/* a blocking send makes progress */
		done += (size_t)n;
	}
	return (ssize_t)done;
}

/* Exactly len bytes, or the short count at end of file, or -errno. */
static inline ssize_t ns_jr_recv_all(struct jr_client *c, int sd, void *buf,
				     size_t len)
{
	char *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t n = jr_recv(c, sd, p + done, len - done, 0);

		if (n < 0)
			return n;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

/* Wait until sd has one of events; dies after timeout_ms. */
static inline short ns_jr_wait(struct jr_client *c, int sd, short events,
			       int timeout_ms, const char *what)
{
	struct jr_pollfd p = { .sd = sd, .events = events };
	int n = jr_poll(c, &p, 1, timeout_ms);

	if (n < 0)
		ns_die("jr_poll (%s): %s", what, strerror(-n));
	if (n == 0)
		ns_die("timed out after %d ms waiting for %s", timeout_ms, what);
	return p.revents;
}

/*
 * jr_close() does not wait (like close(2)): a slot comes back when the
 * netserver's CLOSE reply arrives, which for TCP is after the peer
 * acknowledged everything sent.  Let replies arrive until at most want
 * sockets are open; dies after timeout_ms, naming what leaked.  Before
 * detaching this is also what keeps the data: a frontend that goes away
 * takes its rings with it, and the netserver resets what was still
 * being sent.
 */
static inline void ns_jr_settle(struct jr_client *c, unsigned int want,
				int timeout_ms, const char *what)
{
	double deadline = ns_now() + timeout_ms / 1000.0;

	while (jr_client_open_sockets(c) > want) {
		int n = jr_poll(c, NULL, 0, 10);

		if (n < 0)
			ns_die("jr_poll while waiting for closes (%s): %s", what,
			       strerror(-n));
		if (ns_now() > deadline)
			ns_die("%s: %u sockets still open after %d ms, want %u", what,
			       jr_client_open_sockets(c), timeout_ms, want);
	}
}

static inline struct jr_client *ns_jr_open(const char *path)
{
	struct jr_client *c;
	int err;

	if (!path)
		ns_die("--sock PATH (the netserver's --listen socket) is required");
	err = jr_client_open(path, &c);
	if (err)
		ns_die("jr_client_open(%s): %s", path, strerror(-err));
	return c;
}

/* A TCP listener on port (all addresses); returns its sd. */
static inline int ns_jr_listen(struct jr_client *c, unsigned int port, int backlog)
{
	struct sockaddr_in a = {
		.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
	};
	int sd = (int)NS_CHECK(jr_socket(c, SOCK_STREAM));

	NS_CHECK(jr_setsockopt(c, sd, SOL_SOCKET, SO_REUSEADDR, 1));
	NS_CHECK(jr_bind(c, sd, &a));
	NS_CHECK(jr_listen(c, sd, backlog));
	return sd;
}

static inline int ns_jr_connect(struct jr_client *c, const struct sockaddr_in *to)
{
	int sd = (int)NS_CHECK(jr_socket(c, SOCK_STREAM));
	int err = jr_connect(c, sd, to);

	if (err)
		ns_die("jr_connect to %s:%u: %s", inet_ntoa(to->sin_addr),
		       ntohs(to->sin_port), strerror(-err));
	return sd;
}

#endif /* _NSTEST_H */
