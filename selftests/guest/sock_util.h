/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers the socket suites share (socket_test.c, ipv6_test.c): options as
 * ints, bounded waits, peer.py's byte pattern, whole sends and receives.
 * Nothing here knows a fixture; include after kselftest_harness.h and a
 * definition of WAIT_MS (how long a wait may take, in milliseconds).
 */
#ifndef _JR_SOCK_UTIL_H
#define _JR_SOCK_UTIL_H

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#ifndef WAIT_MS
#error "define WAIT_MS before including sock_util.h"
#endif

/* The byte at offset i of peer.py's chargen pattern. */
static inline unsigned char pattern_byte(size_t i)
{
	return i % 251;
}

static inline void fill_pattern(void *buf, size_t off, size_t n)
{
	unsigned char *p = buf;

	for (size_t i = 0; i < n; i++)
		p[i] = pattern_byte(off + i);
}

/* Index of the first byte not matching the pattern, or n. */
static inline size_t check_pattern(const void *buf, size_t off, size_t n)
{
	const unsigned char *p = buf;

	for (size_t i = 0; i < n; i++)
		if (p[i] != pattern_byte(off + i))
			return i;
	return n;
}

static inline int get_int(int fd, int level, int name)
{
	int val = -1;
	socklen_t len = sizeof(val);

	if (getsockopt(fd, level, name, &val, &len))
		return -errno - 1000;
	return val;
}

static inline int set_int(int fd, int level, int name, int val)
{
	return setsockopt(fd, level, name, &val, sizeof(val));
}

static inline int set_timeout(int fd, int name, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = ms % 1000 * 1000 };

	return setsockopt(fd, SOL_SOCKET, name, &tv, sizeof(tv));
}

static inline int poll_one(int fd, short events, int ms)
{
	struct pollfd p = { .fd = fd, .events = events };

	if (poll(&p, 1, ms) <= 0)
		return 0;
	return p.revents;
}

static inline struct timespec now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t;
}

static inline long ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 +
	       (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static inline const char *first_env(const char *const *names)
{
	for (; *names; names++) {
		const char *v = getenv(*names);

		if (v && *v)
			return v;
	}
	return NULL;
}

static inline void send_all(struct __test_metadata *_metadata, int fd,
			    const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n;

		ASSERT_TRUE(poll_one(fd, POLLOUT, WAIT_MS) & POLLOUT);
		n = send(fd, p, len, MSG_NOSIGNAL);
		ASSERT_LT(0, n) TH_LOG("send: %s", strerror(errno));
		p += n;
		len -= n;
	}
}

static inline void recv_exact(struct __test_metadata *_metadata, int fd,
			      void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n;

		ASSERT_TRUE(poll_one(fd, POLLIN, WAIT_MS) & (POLLIN | POLLERR | POLLHUP))
			TH_LOG("nothing to receive (%zu bytes missing)", len);
		n = recv(fd, p, len, 0);
		ASSERT_LT(0, n) TH_LOG("recv: %zd, %s", n, n ? strerror(errno) : "EOF");
		p += n;
		len -= n;
	}
}

static inline int accept_within(struct __test_metadata *_metadata, int lfd,
				int flags)
{
	int fd;

	ASSERT_TRUE(poll_one(lfd, POLLIN, WAIT_MS) & POLLIN)
		TH_LOG("no connection to accept");
	fd = accept4(lfd, NULL, NULL, flags);
	ASSERT_LE(0, fd) TH_LOG("accept4: %s", strerror(errno));
	return fd;
}

/* The next datagram on fd, within WAIT_MS, as a string ("" if none). */
static inline void recv_dgram(int fd, char *buf, size_t size)
{
	ssize_t n = -1;

	if (poll_one(fd, POLLIN, WAIT_MS) & POLLIN)
		n = recv(fd, buf, size - 1, MSG_DONTWAIT);
	buf[n > 0 ? n : 0] = 0;
}

#endif /* _JR_SOCK_UTIL_H */
