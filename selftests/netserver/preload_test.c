// SPDX-License-Identifier: GPL-2.0
/*
 * preload_test: an ordinary sockets program whose every expectation is
 * what Linux does, run once on Linux and once under libjr-preload.so.
 *
 * test_preload_semantics.sh runs this same binary twice in its namespace:
 *   plain    the sockets are the kernel's; JR_TEST_SELF is LX_IP.  This run
 *            proves that each expectation below is Linux's behaviour.
 *   preload  LD_PRELOAD=libjr-preload.so JR_NETSERVER_SOCKET=...: the same
 *            calls are served by the netserver; JR_TEST_SELF is JR_IP and
 *            JR_PRELOAD_EXPECT=1.
 * An application written against Linux must not be able to tell the two
 * apart, so both runs must pass the same assertions; the first test proves
 * which of the two served the run, so that a preload that silently fell
 * back to the kernel cannot pass as the netserver.
 *
 * Environment:
 *   JR_TEST_PEER       the Linux peer: linux_peer.py echo-server on port
 *                      PORT_ECHO, udp-echo on PORT_UDP_ECHO, nothing on
 *                      PORT_CLOSED
 *   JR_TEST_SELF       our own address (own listeners bind to it; it is the
 *                      local address of our connections to the peer)
 *   JR_PRELOAD_EXPECT  1: the descriptors must be the preload's eventfds
 *
 * Every wait is bounded (WAIT_MS, or a socket timeout), so a behaviour that
 * differs fails its test in seconds rather than hanging the run.  Helper
 * threads never ASSERT (the harness's longjmp belongs to the test's main
 * thread): they record what went wrong and the main thread checks it.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"

/* The longest a helper waits for the peer before the test fails. */
#define WAIT_MS			5000
#include "sock_util.h"

/* linux_peer.py's services (test_preload_semantics.sh starts them). */
#define PORT_ECHO		7007
#define PORT_UDP_ECHO		7008
#define PORT_CLOSED		7999

/* Per test: the slowest takes about a second; the harness kills at this. */
#define TEST_TIMEOUT_S		30

FIXTURE(pl) {
	bool ready;			/* set-up finished: see PL_TEST */
	struct in_addr peer;		/* JR_TEST_PEER */
	struct in_addr own;		/* JR_TEST_SELF */
	bool preloaded;			/* JR_PRELOAD_EXPECT=1 */
};

static volatile sig_atomic_t sigpipes;
static volatile sig_atomic_t sigusr1s;

static void count_sigpipe(int sig)
{
	sigpipes++;
}

static void count_sigusr1(int sig)
{
	sigusr1s++;
}

FIXTURE_SETUP(pl)
{
	const char *peer = getenv("JR_TEST_PEER");
	const char *own = getenv("JR_TEST_SELF");
	const char *expect = getenv("JR_PRELOAD_EXPECT");
	struct sigaction sa = { .sa_handler = count_sigpipe };

	if (!peer || !own)
		SKIP(return, "JR_TEST_PEER and JR_TEST_SELF are not set: "
		     "run through selftests/netserver/test_preload_semantics.sh");
	ASSERT_EQ(1, inet_pton(AF_INET, peer, &self->peer))
		TH_LOG("JR_TEST_PEER '%s' is not an IPv4 address", peer);
	ASSERT_EQ(1, inet_pton(AF_INET, own, &self->own))
		TH_LOG("JR_TEST_SELF '%s' is not an IPv4 address", own);
	self->preloaded = expect && !strcmp(expect, "1");
	/* A handler, not SIG_IGN: the tests count the SIGPIPEs they get. */
	ASSERT_EQ(0, sigaction(SIGPIPE, &sa, NULL));
	self->ready = true;
}

FIXTURE_TEARDOWN(pl)
{
}

/*
 * With the 6.1 harness a SKIP() in FIXTURE_SETUP still runs the test body,
 * so every body is written through PL_TEST and returns at once unless the
 * set-up finished.
 */
#define PL_TEST(name)							\
	static void body_##name(struct __test_metadata *_metadata,	\
				FIXTURE_DATA(pl) *self);		\
	TEST_F_TIMEOUT(pl, name, TEST_TIMEOUT_S)			\
	{								\
		if (self->ready)					\
			body_##name(_metadata, self);			\
	}								\
	static void body_##name(struct __test_metadata *_metadata,	\
				FIXTURE_DATA(pl) *self)

/* ---------------------------------------------------------------- helpers */

static struct sockaddr_in sin_of(struct in_addr addr, int port)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr = addr,
	};

	return sin;
}

static int new_socket(struct __test_metadata *_metadata, int type)
{
	int fd = socket(AF_INET, type, 0);

	ASSERT_LE(0, fd) TH_LOG("socket: %s", strerror(errno));
	return fd;
}

/*
 * A blocking connect, bounded by a send timeout (Linux's connect() waits
 * at most SO_SNDTIMEO), so that a handshake that never completes fails the
 * test in WAIT_MS.
 */
static void connect_fd(struct __test_metadata *_metadata, int fd,
		       struct in_addr addr, int port)
{
	struct sockaddr_in sin = sin_of(addr, port);

	ASSERT_EQ(0, set_timeout(fd, SO_SNDTIMEO, WAIT_MS));
	ASSERT_EQ(0, connect(fd, (struct sockaddr *)&sin, sizeof(sin)))
		TH_LOG("connect to %s:%d: %s", inet_ntoa(addr), port,
		       strerror(errno));
	ASSERT_EQ(0, set_timeout(fd, SO_SNDTIMEO, 0));
}

static int connect_echo(struct __test_metadata *_metadata,
			FIXTURE_DATA(pl) *self)
{
	int fd = new_socket(_metadata, SOCK_STREAM);

	connect_fd(_metadata, fd, self->peer, PORT_ECHO);
	return fd;
}

/* Send msg and get the same bytes back from the echo server. */
static void echo_roundtrip(struct __test_metadata *_metadata, int fd,
			   const char *msg)
{
	size_t len = strlen(msg);
	char buf[256] = { 0 };

	ASSERT_GT(sizeof(buf), len);
	send_all(_metadata, fd, msg, len);
	recv_exact(_metadata, fd, buf, len);
	ASSERT_STREQ(msg, buf);
}

static struct sockaddr_in local_name(struct __test_metadata *_metadata, int fd)
{
	struct sockaddr_in sin = { 0 };
	socklen_t len = sizeof(sin);

	ASSERT_EQ(0, getsockname(fd, (struct sockaddr *)&sin, &len))
		TH_LOG("getsockname: %s", strerror(errno));
	ASSERT_EQ(sizeof(sin), len);
	ASSERT_EQ(AF_INET, sin.sin_family);
	return sin;
}

static struct sockaddr_in peer_name(struct __test_metadata *_metadata, int fd)
{
	struct sockaddr_in sin = { 0 };
	socklen_t len = sizeof(sin);

	ASSERT_EQ(0, getpeername(fd, (struct sockaddr *)&sin, &len))
		TH_LOG("getpeername: %s", strerror(errno));
	ASSERT_EQ(sizeof(sin), len);
	ASSERT_EQ(AF_INET, sin.sin_family);
	return sin;
}

/* A listener on our own address and an ephemeral port; *port gets it. */
static int listen_own(struct __test_metadata *_metadata,
		      FIXTURE_DATA(pl) *self, int *port)
{
	struct sockaddr_in sin = sin_of(self->own, 0);
	int fd = new_socket(_metadata, SOCK_STREAM);

	ASSERT_EQ(0, bind(fd, (struct sockaddr *)&sin, sizeof(sin)))
		TH_LOG("bind %s:0: %s", inet_ntoa(self->own), strerror(errno));
	ASSERT_EQ(0, listen(fd, 8)) TH_LOG("listen: %s", strerror(errno));
	sin = local_name(_metadata, fd);
	ASSERT_EQ(self->own.s_addr, sin.sin_addr.s_addr);
	*port = ntohs(sin.sin_port);
	ASSERT_NE(0, *port);
	return fd;
}

/* ---------------------------------------------------- who serves this run */

/*
 * Linux chooses LX_IP as the source of a connection to the peer (it owns
 * no other address here); only the netserver has JR_IP.  Under the preload
 * the descriptor is an eventfd, on Linux a socket: together they say who
 * served the run, so that both runs passing means something.
 */
PL_TEST(served_by_expected_stack)
{
	int fd = connect_echo(_metadata, self);
	struct sockaddr_in sin = local_name(_metadata, fd);
	char path[64], target[128] = { 0 };
	ssize_t n;

	EXPECT_EQ(self->own.s_addr, sin.sin_addr.s_addr)
		TH_LOG("local address %s, want JR_TEST_SELF", inet_ntoa(sin.sin_addr));
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, target, sizeof(target) - 1);
	ASSERT_LT(0, n) TH_LOG("readlink %s: %s", path, strerror(errno));
	if (self->preloaded) {
		EXPECT_STREQ("anon_inode:[eventfd]", target)
			TH_LOG("JR_PRELOAD_EXPECT=1, yet the socket is the kernel's");
	} else {
		EXPECT_EQ(0, strncmp(target, "socket:[", 8))
			TH_LOG("a plain run's socket is %s", target);
	}
	echo_roundtrip(_metadata, fd, "who serves this run");
	close(fd);
}

/* ------------------------------------------------------------ data paths */

/*
 * writev() of a blocking TCP socket queues every byte before it returns
 * (short only on a signal or SO_SNDTIMEO); MSG_WAITALL makes recv() wait
 * for the full length; readv() scatters in order.  Programs that frame
 * their messages with iovecs rely on all three.
 */
PL_TEST(tcp_echo_writev_readv_waitall)
{
	enum { TOTAL = 100 * 1024, WAITALL = 50000 };
	static unsigned char out[TOTAL], in[TOTAL];
	struct iovec wiov[3] = {
		{ out, 1000 },
		{ out + 1000, 60000 },
		{ out + 61000, TOTAL - 61000 },
	};
	struct iovec riov[2] = {
		{ in + WAITALL, 20000 },
		{ in + WAITALL + 20000, TOTAL - WAITALL - 20000 },
	};
	struct iovec *r = riov;
	int fd = connect_echo(_metadata, self), nr = 2;
	size_t got = WAITALL;
	ssize_t n;

	fill_pattern(out, 0, TOTAL);
	ASSERT_EQ(0, set_timeout(fd, SO_SNDTIMEO, WAIT_MS));
	ASSERT_EQ(0, set_timeout(fd, SO_RCVTIMEO, WAIT_MS));
	n = writev(fd, wiov, 3);
	ASSERT_EQ(TOTAL, n) TH_LOG("writev: %s", n < 0 ? strerror(errno) : "short");

	n = recv(fd, in, WAITALL, MSG_WAITALL);
	ASSERT_EQ(WAITALL, n)
		TH_LOG("recv(MSG_WAITALL): %s", n < 0 ? strerror(errno) : "short");

	while (got < TOTAL) {
		ASSERT_TRUE(poll_one(fd, POLLIN, WAIT_MS) & POLLIN)
			TH_LOG("%zu of %d bytes echoed", got, TOTAL);
		n = readv(fd, r, nr);
		ASSERT_LT(0, n) TH_LOG("readv: %s", n ? strerror(errno) : "EOF");
		got += n;
		while (nr && n >= (ssize_t)r->iov_len) {
			n -= r->iov_len;
			r++;
			nr--;
		}
		if (nr) {
			r->iov_base = (char *)r->iov_base + n;
			r->iov_len -= n;
		}
	}
	EXPECT_EQ(TOTAL, check_pattern(in, 0, TOTAL));
	close(fd);
}

/* ---------------------------------------------------------------- connect */

/*
 * A non-blocking connect() always answers EINPROGRESS on Linux (the
 * handshake needs the peer's SYN-ACK, even over loopback); completion is
 * POLLOUT with SO_ERROR 0.  Calling connect() again is the other way to
 * learn the outcome: the first call after completion returns 0 (Linux
 * moves the socket from "connecting" to "connected" only then), every
 * later one EISCONN.  Event loops (nginx, curl, every async runtime) are
 * written one way or the other.
 */
PL_TEST(nonblocking_connect)
{
	struct sockaddr_in sin = sin_of(self->peer, PORT_ECHO);
	int fd = new_socket(_metadata, SOCK_STREAM | SOCK_NONBLOCK);

	errno = 0;
	ASSERT_EQ(-1, connect(fd, (struct sockaddr *)&sin, sizeof(sin)));
	ASSERT_EQ(EINPROGRESS, errno);
	EXPECT_EQ(POLLOUT, poll_one(fd, POLLOUT, WAIT_MS));
	EXPECT_EQ(0, get_int(fd, SOL_SOCKET, SO_ERROR));
	errno = 0;
	EXPECT_EQ(0, connect(fd, (struct sockaddr *)&sin, sizeof(sin)))
		TH_LOG("the connect after completion: %s", strerror(errno));
	errno = 0;
	EXPECT_EQ(-1, connect(fd, (struct sockaddr *)&sin, sizeof(sin)));
	EXPECT_EQ(EISCONN, errno);
	echo_roundtrip(_metadata, fd, "connected without blocking");
	close(fd);
}

/*
 * A refused non-blocking connect: Linux closes the socket and reports
 * POLLOUT (the caller's cue to look), POLLERR (the error) and POLLHUP (both
 * directions shut); SO_ERROR gives ECONNREFUSED once.  A blocking connect
 * fails with it directly.
 */
PL_TEST(refused_connect)
{
	struct sockaddr_in sin = sin_of(self->peer, PORT_CLOSED);
	int fd = new_socket(_metadata, SOCK_STREAM | SOCK_NONBLOCK);
	int blocking = new_socket(_metadata, SOCK_STREAM);

	errno = 0;
	ASSERT_EQ(-1, connect(fd, (struct sockaddr *)&sin, sizeof(sin)));
	ASSERT_EQ(EINPROGRESS, errno);
	EXPECT_EQ(POLLOUT | POLLERR | POLLHUP, poll_one(fd, POLLOUT, WAIT_MS));
	EXPECT_EQ(ECONNREFUSED, get_int(fd, SOL_SOCKET, SO_ERROR));
	EXPECT_EQ(0, get_int(fd, SOL_SOCKET, SO_ERROR));

	ASSERT_EQ(0, set_timeout(blocking, SO_SNDTIMEO, WAIT_MS));
	errno = 0;
	EXPECT_EQ(-1, connect(blocking, (struct sockaddr *)&sin, sizeof(sin)));
	EXPECT_EQ(ECONNREFUSED, errno);
	close(blocking);
	close(fd);
}

/* ------------------------------------------------------------------ accept */

/*
 * accept4() applies its flags to the new descriptor; plain accept() gives
 * a blocking one even from a non-blocking listener (Linux does not inherit
 * file status flags, unlike some BSDs; servers that forget to set
 * O_NONBLOCK rely on it).  The two ends' names mirror each other, and
 * SO_ACCEPTCONN says which socket listens.
 */
PL_TEST(accept4_flags_and_names)
{
	int port, lfd = listen_own(_metadata, self, &port);
	int cfd = new_socket(_metadata, SOCK_STREAM);
	int cfd2 = new_socket(_metadata, SOCK_STREAM);
	struct sockaddr_in a, b;
	int afd, afd2;
	char buf[8] = { 0 };

	connect_fd(_metadata, cfd, self->own, port);
	afd = accept_within(_metadata, lfd, SOCK_NONBLOCK | SOCK_CLOEXEC);
	EXPECT_EQ(O_NONBLOCK, fcntl(afd, F_GETFL) & O_NONBLOCK);
	EXPECT_EQ(FD_CLOEXEC, fcntl(afd, F_GETFD) & FD_CLOEXEC);

	a = peer_name(_metadata, afd);
	b = local_name(_metadata, cfd);
	EXPECT_EQ(b.sin_addr.s_addr, a.sin_addr.s_addr);
	EXPECT_EQ(ntohs(b.sin_port), ntohs(a.sin_port));
	a = local_name(_metadata, afd);
	b = peer_name(_metadata, cfd);
	EXPECT_EQ(self->own.s_addr, a.sin_addr.s_addr);
	EXPECT_EQ(port, ntohs(a.sin_port));
	EXPECT_EQ(b.sin_addr.s_addr, a.sin_addr.s_addr);
	EXPECT_EQ(ntohs(b.sin_port), ntohs(a.sin_port));

	EXPECT_EQ(1, get_int(lfd, SOL_SOCKET, SO_ACCEPTCONN));
	EXPECT_EQ(0, get_int(afd, SOL_SOCKET, SO_ACCEPTCONN));
	EXPECT_EQ(0, get_int(cfd, SOL_SOCKET, SO_ACCEPTCONN));

	send_all(_metadata, cfd, "ping", 4);
	recv_exact(_metadata, afd, buf, 4);
	EXPECT_STREQ("ping", buf);
	send_all(_metadata, afd, "pong", 4);
	recv_exact(_metadata, cfd, buf, 4);
	EXPECT_STREQ("pong", buf);

	/* Not inherited: a non-blocking listener, a blocking accepted socket. */
	ASSERT_EQ(0, fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL) | O_NONBLOCK));
	connect_fd(_metadata, cfd2, self->own, port);
	ASSERT_TRUE(poll_one(lfd, POLLIN, WAIT_MS) & POLLIN);
	afd2 = accept(lfd, NULL, NULL);
	ASSERT_LE(0, afd2) TH_LOG("accept: %s", strerror(errno));
	EXPECT_EQ(0, fcntl(afd2, F_GETFL) & O_NONBLOCK);
	EXPECT_EQ(0, fcntl(afd2, F_GETFD) & FD_CLOEXEC);

	close(afd2);
	close(cfd2);
	close(afd);
	close(cfd);
	close(lfd);
}

/* ------------------------------------------------------------------- epoll */

static int epoll_one(int epfd, struct epoll_event *ev, int ms)
{
	memset(ev, 0, sizeof(*ev));
	return epoll_wait(epfd, ev, 1, ms);
}

/*
 * Level-triggered epoll reports a condition for as long as it holds: the
 * writable fresh connection every time, unread data on every wait, and
 * nothing once it is read.  The application's epoll_data comes back as
 * given.
 */
PL_TEST(epoll_level_triggered)
{
	int fd = connect_echo(_metadata, self);
	int epfd = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.u64 = 0x1234 };
	char buf[8] = { 0 };

	ASSERT_LE(0, epfd);
	ASSERT_EQ(0, epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev));
	ASSERT_EQ(1, epoll_one(epfd, &ev, WAIT_MS));
	EXPECT_EQ(EPOLLOUT, ev.events);
	EXPECT_EQ(0x1234, ev.data.u64);
	ASSERT_EQ(1, epoll_one(epfd, &ev, 0));
	EXPECT_EQ(EPOLLOUT, ev.events);

	ev = (struct epoll_event){ .events = EPOLLIN, .data.u64 = 0x5678 };
	ASSERT_EQ(0, epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev));
	EXPECT_EQ(0, epoll_one(epfd, &ev, 0));
	send_all(_metadata, fd, "hello", 5);
	ASSERT_EQ(1, epoll_one(epfd, &ev, WAIT_MS));
	EXPECT_EQ(EPOLLIN, ev.events);
	EXPECT_EQ(0x5678, ev.data.u64);
	/* Still unread: reported again, with or without waiting. */
	ASSERT_EQ(1, epoll_one(epfd, &ev, WAIT_MS));
	EXPECT_EQ(EPOLLIN, ev.events);
	ASSERT_EQ(1, epoll_one(epfd, &ev, 0));
	EXPECT_EQ(EPOLLIN, ev.events);

	recv_exact(_metadata, fd, buf, 5);
	EXPECT_STREQ("hello", buf);
	EXPECT_EQ(0, epoll_one(epfd, &ev, 0));
	close(epfd);
	close(fd);
}

/*
 * Edge-triggered epoll reports a change once: a fresh connection's
 * writability, then data arriving; unread data is not reported again
 * until more arrives.  Edge-triggered servers (nginx) read until EAGAIN
 * because of this, and would spin if the edge repeated.
 */
PL_TEST(epoll_edge_triggered)
{
	int fd = connect_echo(_metadata, self);
	int epfd = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLOUT | EPOLLET, .data.u64 = 7 };
	char buf[8] = { 0 };

	ASSERT_LE(0, epfd);
	ASSERT_EQ(0, epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev));
	ASSERT_EQ(1, epoll_one(epfd, &ev, WAIT_MS));
	EXPECT_EQ(EPOLLOUT, ev.events);
	EXPECT_EQ(0, epoll_one(epfd, &ev, 200));

	ev = (struct epoll_event){ .events = EPOLLIN | EPOLLET, .data.u64 = 8 };
	ASSERT_EQ(0, epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev));
	EXPECT_EQ(0, epoll_one(epfd, &ev, 0));
	send_all(_metadata, fd, "one", 3);
	ASSERT_EQ(1, epoll_one(epfd, &ev, WAIT_MS));
	EXPECT_EQ(EPOLLIN, ev.events);
	EXPECT_EQ(8, ev.data.u64);
	/* Unread, but no new edge. */
	EXPECT_EQ(0, epoll_one(epfd, &ev, 200));

	send_all(_metadata, fd, "two", 3);
	ASSERT_EQ(1, epoll_one(epfd, &ev, WAIT_MS))
		TH_LOG("no edge for new data behind unread data");
	EXPECT_EQ(EPOLLIN, ev.events);
	recv_exact(_metadata, fd, buf, 6);
	EXPECT_STREQ("onetwo", buf);
	EXPECT_EQ(0, epoll_one(epfd, &ev, 0));
	close(epfd);
	close(fd);
}

/* ------------------------------------------------------------ select, poll */

/*
 * select() and poll() report the state as it is: writable at once, not
 * readable until the echo arrives; poll's revents holds exactly the ready
 * events asked for (programs compare revents, not just test bits).
 */
PL_TEST(select_and_poll)
{
	int fd = connect_echo(_metadata, self);
	struct timeval tv = { 0 };
	struct pollfd p = { .fd = fd, .events = POLLIN };
	fd_set rd, wr;
	char buf[8] = { 0 };

	ASSERT_GT(FD_SETSIZE, fd);
	FD_ZERO(&rd);
	FD_ZERO(&wr);
	FD_SET(fd, &rd);
	FD_SET(fd, &wr);
	ASSERT_EQ(1, select(fd + 1, &rd, &wr, NULL, &tv));
	EXPECT_FALSE(FD_ISSET(fd, &rd));
	EXPECT_TRUE(FD_ISSET(fd, &wr));

	EXPECT_EQ(0, poll(&p, 1, 0));
	EXPECT_EQ(0, p.revents);

	send_all(_metadata, fd, "sel", 3);
	FD_ZERO(&rd);
	FD_SET(fd, &rd);
	tv = (struct timeval){ .tv_sec = WAIT_MS / 1000 };
	ASSERT_EQ(1, select(fd + 1, &rd, NULL, NULL, &tv));
	EXPECT_TRUE(FD_ISSET(fd, &rd));

	p.revents = 0;
	ASSERT_EQ(1, poll(&p, 1, WAIT_MS));
	EXPECT_EQ(POLLIN, p.revents);
	p = (struct pollfd){ .fd = fd, .events = POLLIN | POLLOUT };
	ASSERT_EQ(1, poll(&p, 1, 0));
	EXPECT_EQ(POLLIN | POLLOUT, p.revents);

	recv_exact(_metadata, fd, buf, 3);
	EXPECT_STREQ("sel", buf);
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	EXPECT_EQ(0, poll(&p, 1, 0));
	close(fd);
}

/* ------------------------------------------------------------ descriptors */

/*
 * O_NONBLOCK belongs to the open file, shared by dup()s; FD_CLOEXEC
 * belongs to the descriptor, not shared.  The socket lives until its last
 * descriptor is closed, and a closed descriptor is EBADF for everything.
 */
PL_TEST(dup_and_fcntl_share_nonblock)
{
	int fd = connect_echo(_metadata, self);
	int d = dup(fd);
	char c;

	ASSERT_LE(0, d) TH_LOG("dup: %s", strerror(errno));
	ASSERT_EQ(0, fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK));
	EXPECT_EQ(O_NONBLOCK, fcntl(d, F_GETFL) & O_NONBLOCK);
	errno = 0;
	EXPECT_EQ(-1, recv(d, &c, 1, 0));
	EXPECT_EQ(EAGAIN, errno);

	ASSERT_EQ(0, fcntl(fd, F_SETFD, FD_CLOEXEC));
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD));
	EXPECT_EQ(0, fcntl(d, F_GETFD));

	ASSERT_EQ(0, close(fd));
	echo_roundtrip(_metadata, d, "the dup still echoes");
	ASSERT_EQ(0, close(d));
	errno = 0;
	EXPECT_EQ(-1, fcntl(fd, F_GETFD));
	EXPECT_EQ(EBADF, errno);
	errno = 0;
	EXPECT_EQ(-1, fcntl(d, F_GETFD));
	EXPECT_EQ(EBADF, errno);
}

/* ------------------------------------------------------------------- fork */

/*
 * The child's echo, with a distinct exit status per failure (the harness's
 * ASSERT must not run in a child of the test).
 */
static int child_echo(int fd, const char *msg)
{
	size_t len = strlen(msg), got = 0;
	char buf[64] = { 0 };

	if (send(fd, msg, len, MSG_NOSIGNAL) != (ssize_t)len)
		return 10;
	while (got < len) {
		ssize_t n;

		if (!(poll_one(fd, POLLIN, WAIT_MS) & POLLIN))
			return 11;
		n = recv(fd, buf + got, len - got, 0);
		if (n <= 0)
			return 12;
		got += n;
	}
	return strcmp(buf, msg) ? 13 : 0;
}

static void wait_child(struct __test_metadata *_metadata, pid_t pid,
		       const char *what)
{
	int status = -1;

	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status))
		TH_LOG("%s: status %#x", what, status);
	ASSERT_EQ(0, WEXITSTATUS(status))
		TH_LOG("%s: exit %d (10 send, 11 no echo, 12 recv, 13 bytes differ)",
		       what, WEXITSTATUS(status));
}

/*
 * A forked child shares its parent's sockets (the pre-forking server, the
 * shell pipeline); the child's use and its exit, with its copy closed or
 * not, leave the parent's connection working.
 */
PL_TEST(fork_child_uses_inherited_socket)
{
	int fd = connect_echo(_metadata, self);
	pid_t pid;

	fflush(NULL);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(child_echo(fd, "child"));
	wait_child(_metadata, pid, "the echoing child");
	echo_roundtrip(_metadata, fd, "parent");

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(fd);
		_exit(0);
	}
	wait_child(_metadata, pid, "the closing child");
	echo_roundtrip(_metadata, fd, "parent again");
	close(fd);
}

/*
 * exec: on Linux a socket without FD_CLOEXEC lives on in the new program;
 * the preload closes its sockets first (Documentation/preload.md: the new
 * program would have no library state for them).  Either way the parent's
 * copy keeps working: the child's exec gives up only the child's hold.
 * The exec'd program is the shell's `test`, asked whether the descriptor
 * is still open there.
 */
PL_TEST(exec_keeps_or_closes_as_documented)
{
	int fd = connect_echo(_metadata, self), status = -1;
	char path[64];
	pid_t pid;

	ASSERT_EQ(0, fcntl(fd, F_SETFD, 0));
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	fflush(NULL);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		execl("/bin/sh", "sh", "-c", "test -e \"$0\"", path, (char *)NULL);
		_exit(127);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	if (self->preloaded) {
		EXPECT_EQ(1, WEXITSTATUS(status))
			TH_LOG("the socket outlived exec under the preload");
	} else {
		EXPECT_EQ(0, WEXITSTATUS(status))
			TH_LOG("Linux closed a socket without FD_CLOEXEC at exec");
	}
	echo_roundtrip(_metadata, fd, "after the child's exec");
	close(fd);
}

/* ---------------------------------------------------------------- signals */

/*
 * Sending where no data can go is EPIPE and raises SIGPIPE, unless
 * MSG_NOSIGNAL; write() has no flags and always raises it.  Linux treats a
 * TCP socket that never connected the same way.  Servers that ignore
 * SIGPIPE still rely on the EPIPE; the rest die by the signal.
 */
PL_TEST(sigpipe_on_broken_pipe)
{
	int fd = connect_echo(_metadata, self);
	int never = new_socket(_metadata, SOCK_STREAM);

	sigpipes = 0;
	ASSERT_EQ(0, shutdown(fd, SHUT_WR));
	errno = 0;
	EXPECT_EQ(-1, send(fd, "x", 1, 0));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_EQ(1, sigpipes);
	errno = 0;
	EXPECT_EQ(-1, send(fd, "x", 1, MSG_NOSIGNAL));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_EQ(1, sigpipes);
	errno = 0;
	EXPECT_EQ(-1, write(fd, "x", 1));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_EQ(2, sigpipes);

	errno = 0;
	EXPECT_EQ(-1, send(never, "x", 1, 0));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_EQ(3, sigpipes);
	close(never);
	close(fd);
}

/*
 * SO_RCVTIMEO bounds a blocking recv(): EAGAIN when it expires, not
 * earlier; getsockopt() gives back the timeval that was set.
 */
PL_TEST(rcvtimeo_eagain)
{
	int fd = connect_echo(_metadata, self);
	struct timeval tv = { .tv_usec = 200000 };
	socklen_t len = sizeof(tv);
	struct timespec t0;
	char c;
	long ms;

	ASSERT_EQ(0, setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	tv = (struct timeval){ 0 };
	ASSERT_EQ(0, getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &len));
	EXPECT_EQ(sizeof(tv), len);
	EXPECT_EQ(0, tv.tv_sec);
	EXPECT_EQ(200000, tv.tv_usec);

	t0 = now();
	errno = 0;
	EXPECT_EQ(-1, recv(fd, &c, 1, 0));
	ms = ms_since(&t0);
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_LE(150, ms);
	EXPECT_GT(3000, ms);
	close(fd);
}

/*
 * A thread that signals the test's main thread at signal_ms and, at
 * send_ms unless told it is done, sends msg through fd.  Waits on a
 * condition with a deadline, so that done ends it at once.
 */
struct kicker {
	pthread_t target;
	int fd;
	int signal_ms, send_ms;
	const char *msg;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	int err;		/* errno of a failed send, or -1 if short */
	pthread_t thread;
};

static struct timespec deadline_after(const struct timespec *t0, int ms)
{
	struct timespec t = *t0;

	t.tv_sec += ms / 1000;
	t.tv_nsec += ms % 1000 * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	return t;
}

/* Sleep until ms after t0, or until done; returns done. */
static bool kicker_wait(struct kicker *k, const struct timespec *t0, int ms)
{
	struct timespec dl = deadline_after(t0, ms);
	bool done;

	pthread_mutex_lock(&k->lock);
	while (!k->done &&
	       pthread_cond_timedwait(&k->cond, &k->lock, &dl) != ETIMEDOUT)
		;
	done = k->done;
	pthread_mutex_unlock(&k->lock);
	return done;
}

static void *kicker_main(void *arg)
{
	struct kicker *k = arg;
	struct timespec t0 = now();
	size_t len = strlen(k->msg);
	ssize_t n;

	kicker_wait(k, &t0, k->signal_ms);
	pthread_kill(k->target, SIGUSR1);
	if (kicker_wait(k, &t0, k->send_ms))
		return NULL;
	n = send(k->fd, k->msg, len, MSG_NOSIGNAL);
	if (n != (ssize_t)len)
		k->err = n < 0 ? errno : -1;
	return NULL;
}

static void kicker_start(struct __test_metadata *_metadata, struct kicker *k,
			 int fd, int signal_ms, int send_ms, const char *msg)
{
	pthread_condattr_t ca;

	memset(k, 0, sizeof(*k));
	k->target = pthread_self();
	k->fd = fd;
	k->signal_ms = signal_ms;
	k->send_ms = send_ms;
	k->msg = msg;
	pthread_mutex_init(&k->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&k->cond, &ca);
	ASSERT_EQ(0, pthread_create(&k->thread, NULL, kicker_main, k));
}

static void kicker_stop(struct kicker *k)
{
	pthread_mutex_lock(&k->lock);
	k->done = true;
	pthread_cond_signal(&k->cond);
	pthread_mutex_unlock(&k->lock);
	pthread_join(k->thread, NULL);
}

static void catch_sigusr1(struct __test_metadata *_metadata, int flags)
{
	struct sigaction sa = { .sa_handler = count_sigusr1, .sa_flags = flags };

	sigusr1s = 0;
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
}

/*
 * A blocking recv() (no SO_RCVTIMEO) interrupted by a handler installed
 * without SA_RESTART fails with EINTR: event loops that use a signal to
 * wake a blocked reader depend on it.  The kicker's data at 2 s only
 * bounds the test if the signal did not interrupt.
 */
PL_TEST(eintr_without_sa_restart)
{
	int fd = connect_echo(_metadata, self);
	struct kicker k;
	struct timespec t0;
	char buf[16];
	ssize_t n;
	long ms;

	catch_sigusr1(_metadata, 0);
	kicker_start(_metadata, &k, fd, 200, 2000, "late");
	t0 = now();
	errno = 0;
	n = recv(fd, buf, sizeof(buf), 0);
	ms = ms_since(&t0);
	kicker_stop(&k);
	EXPECT_EQ(-1, n) TH_LOG("recv returned %zd after %ld ms", n, ms);
	EXPECT_EQ(EINTR, errno);
	EXPECT_EQ(1, sigusr1s);
	EXPECT_LE(150, ms);
	EXPECT_GT(1500, ms);
	close(fd);
}

/*
 * With SA_RESTART the same recv() is restarted after the handler and
 * returns the data that arrives later (at 400 ms, sent by another thread
 * on the same socket): programs that install handlers with SA_RESTART
 * never see EINTR from a socket without a timeout.
 */
PL_TEST(restart_with_sa_restart)
{
	int fd = connect_echo(_metadata, self);
	struct kicker k;
	struct timespec t0;
	char buf[16] = { 0 };
	ssize_t n;
	long ms;

	catch_sigusr1(_metadata, SA_RESTART);
	kicker_start(_metadata, &k, fd, 200, 400, "restart");
	t0 = now();
	errno = 0;
	n = recv(fd, buf, 7, 0);
	ms = ms_since(&t0);
	kicker_stop(&k);
	EXPECT_EQ(0, k.err) TH_LOG("the kicker's send: %s", strerror(k.err));
	ASSERT_LT(0, n) TH_LOG("recv: %s after %ld ms", n ? strerror(errno) : "EOF", ms);
	if (n < 7)
		recv_exact(_metadata, fd, buf + n, 7 - n);
	EXPECT_STREQ("restart", buf);
	EXPECT_EQ(1, sigusr1s);
	EXPECT_LE(350, ms);
	close(fd);
}

/* ---------------------------------------------------------------- threads */

#define WRITERS		4
#define RECORDS		500
#define RECORD_MAGIC	0x4a52ec40u

/* 16 bytes, one blocking send each. */
struct record {
	uint32_t magic;
	uint32_t writer;
	uint32_t seq;
	uint32_t check;
};

_Static_assert(sizeof(struct record) == 16, "a record is 16 bytes");

static uint32_t record_check(uint32_t writer, uint32_t seq)
{
	return (writer * 2654435761u) ^ (seq * 40503u) ^ 0x5a5a5a5au;
}

struct writer {
	int fd;
	uint32_t id;
	int err;		/* errno of a failed send, -1 if short */
	pthread_t thread;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;

	for (uint32_t seq = 0; seq < RECORDS; seq++) {
		struct record r = {
			RECORD_MAGIC, w->id, seq, record_check(w->id, seq)
		};
		ssize_t n = send(w->fd, &r, sizeof(r), MSG_NOSIGNAL);

		if (n != sizeof(r)) {
			w->err = n < 0 ? errno : -1;
			break;
		}
	}
	return NULL;
}

/*
 * Threads may share one socket: Linux holds the socket lock for a whole
 * send(), so each 16-byte blocking send lands in the stream whole and in
 * its thread's order.  Every record must come back once, intact.
 */
PL_TEST(threads_one_socket)
{
	enum { TOTAL = WRITERS * RECORDS * sizeof(struct record) };
	static struct record in[WRITERS * RECORDS];
	int fd = connect_echo(_metadata, self);
	struct writer w[WRITERS];
	uint32_t next[WRITERS] = { 0 };

	ASSERT_EQ(0, set_timeout(fd, SO_SNDTIMEO, WAIT_MS));
	for (int i = 0; i < WRITERS; i++) {
		w[i] = (struct writer){ .fd = fd, .id = i };
		ASSERT_EQ(0, pthread_create(&w[i].thread, NULL, writer_main, &w[i]));
	}
	recv_exact(_metadata, fd, in, TOTAL);
	for (int i = 0; i < WRITERS; i++) {
		pthread_join(w[i].thread, NULL);
		EXPECT_EQ(0, w[i].err)
			TH_LOG("writer %d: %s", i, w[i].err > 0 ? strerror(w[i].err) : "short send");
	}
	for (int i = 0; i < WRITERS * RECORDS; i++) {
		struct record *r = &in[i];

		ASSERT_EQ(RECORD_MAGIC, r->magic) TH_LOG("record %d torn", i);
		ASSERT_GT(WRITERS, r->writer) TH_LOG("record %d torn", i);
		ASSERT_EQ(record_check(r->writer, r->seq), r->check)
			TH_LOG("record %d torn", i);
		ASSERT_EQ(next[r->writer], r->seq)
			TH_LOG("record %d: writer %u's record %u out of order",
			       i, r->writer, r->seq);
		next[r->writer]++;
	}
	for (int i = 0; i < WRITERS; i++)
		EXPECT_EQ(RECORDS, next[i]);
	close(fd);
}

#define ROUNDS		200

struct roundtripper {
	struct in_addr peer;
	uint32_t id;
	int rounds;		/* completed */
	char why[128];		/* the first failure */
	pthread_t thread;
};

static void *roundtripper_main(void *arg)
{
	struct roundtripper *t = arg;
	struct sockaddr_in sin = sin_of(t->peer, PORT_ECHO);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || set_timeout(fd, SO_SNDTIMEO, WAIT_MS) ||
	    set_timeout(fd, SO_RCVTIMEO, WAIT_MS) ||
	    connect(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		snprintf(t->why, sizeof(t->why), "socket/connect: %s", strerror(errno));
		goto out;
	}
	for (; t->rounds < ROUNDS; t->rounds++) {
		char msg[40], buf[40] = { 0 };
		int len = snprintf(msg, sizeof(msg), "thread %u round %d", t->id, t->rounds);
		ssize_t n;

		if (send(fd, msg, len, MSG_NOSIGNAL) != len) {
			snprintf(t->why, sizeof(t->why), "send: %s", strerror(errno));
			break;
		}
		/* SO_RCVTIMEO bounds it; MSG_WAITALL waits for the whole echo. */
		n = recv(fd, buf, len, MSG_WAITALL);
		if (n != len || memcmp(buf, msg, len)) {
			snprintf(t->why, sizeof(t->why), "recv %zd of %d bytes (%s): '%s'",
				 n, len, n < 0 ? strerror(errno) : "", buf);
			break;
		}
	}
out:
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* Threads on their own connections do not disturb each other. */
PL_TEST(threads_many_sockets)
{
	struct roundtripper t[WRITERS];

	for (int i = 0; i < WRITERS; i++) {
		t[i] = (struct roundtripper){ .peer = self->peer, .id = i };
		ASSERT_EQ(0, pthread_create(&t[i].thread, NULL, roundtripper_main, &t[i]));
	}
	for (int i = 0; i < WRITERS; i++) {
		pthread_join(t[i].thread, NULL);
		EXPECT_EQ(ROUNDS, t[i].rounds) TH_LOG("thread %d: %s", i, t[i].why);
	}
}

/* -------------------------------------------------------------------- UDP */

/*
 * sendmmsg() sends each message as its own datagram and says how many;
 * recvmmsg() with MSG_WAITFORONE waits for the first, then takes what has
 * come without waiting; every length is in its msg_len.
 */
PL_TEST(udp_sendmmsg_recvmmsg)
{
	struct sockaddr_in to = sin_of(self->peer, PORT_UDP_ECHO);
	int fd = new_socket(_metadata, SOCK_DGRAM);
	static const char *const words[] = { "one", "three", "seven!" };
	char in[3][16];
	struct iovec out_iov[3], in_iov[3];
	struct mmsghdr out[3], rx[3];
	int got = 0;

	memset(out, 0, sizeof(out));
	memset(rx, 0, sizeof(rx));
	memset(in, 0, sizeof(in));
	for (int i = 0; i < 3; i++) {
		out_iov[i] = (struct iovec){ (void *)words[i], strlen(words[i]) };
		out[i].msg_hdr = (struct msghdr){ .msg_name = &to, .msg_namelen = sizeof(to),
						  .msg_iov = &out_iov[i], .msg_iovlen = 1 };
		in_iov[i] = (struct iovec){ in[i], sizeof(in[i]) };
		rx[i].msg_hdr = (struct msghdr){ .msg_iov = &in_iov[i], .msg_iovlen = 1 };
	}
	ASSERT_EQ(3, sendmmsg(fd, out, 3, 0)) TH_LOG("sendmmsg: %s", strerror(errno));
	for (int i = 0; i < 3; i++)
		EXPECT_EQ(strlen(words[i]), out[i].msg_len);
	/* The echoes may come apart: gather all three, each call taking at
	 * least one. */
	while (got < 3) {
		int n;

		ASSERT_TRUE(poll_one(fd, POLLIN, WAIT_MS) & POLLIN) TH_LOG("%d echoes of 3", got);
		n = recvmmsg(fd, rx + got, 3 - got, MSG_WAITFORONE, NULL);
		ASSERT_LE(1, n) TH_LOG("recvmmsg: %s", strerror(errno));
		got += n;
	}
	for (int i = 0; i < 3; i++) {
		EXPECT_EQ(strlen(words[i]), rx[i].msg_len);
		EXPECT_STREQ(words[i], in[i]);
	}
	/* Nothing more: a non-blocking batch is EAGAIN. */
	errno = 0;
	EXPECT_EQ(-1, recvmmsg(fd, rx, 3, MSG_DONTWAIT, NULL));
	EXPECT_EQ(EAGAIN, errno);
	close(fd);
}

/*
 * UDP: recvfrom() names the sender; a connected socket sends and receives
 * without addresses; a datagram larger than the buffer is cut, flagged
 * MSG_TRUNC, and its rest is gone (the next read is the next datagram).
 */
PL_TEST(udp_sendto_recvfrom)
{
	struct sockaddr_in to = sin_of(self->peer, PORT_UDP_ECHO), from;
	socklen_t fromlen = sizeof(from);
	int fd = new_socket(_metadata, SOCK_DGRAM);
	char big[100], buf[128] = { 0 };
	struct iovec iov = { buf, 10 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	ASSERT_EQ(8, sendto(fd, "udp ping", 8, 0, (struct sockaddr *)&to, sizeof(to)))
		TH_LOG("sendto: %s", strerror(errno));
	ASSERT_TRUE(poll_one(fd, POLLIN, WAIT_MS) & POLLIN) TH_LOG("no echo");
	memset(&from, 0, sizeof(from));
	n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fromlen);
	ASSERT_EQ(8, n) TH_LOG("recvfrom: %s", strerror(errno));
	EXPECT_STREQ("udp ping", buf);
	EXPECT_EQ(sizeof(from), fromlen);
	EXPECT_EQ(AF_INET, from.sin_family);
	EXPECT_EQ(self->peer.s_addr, from.sin_addr.s_addr);
	EXPECT_EQ(PORT_UDP_ECHO, ntohs(from.sin_port));

	ASSERT_EQ(0, connect(fd, (struct sockaddr *)&to, sizeof(to)));
	ASSERT_EQ(9, send(fd, "connected", 9, 0));
	memset(buf, 0, sizeof(buf));
	ASSERT_TRUE(poll_one(fd, POLLIN, WAIT_MS) & POLLIN) TH_LOG("no echo");
	EXPECT_EQ(9, recv(fd, buf, sizeof(buf), 0));
	EXPECT_STREQ("connected", buf);

	fill_pattern(big, 0, sizeof(big));
	ASSERT_EQ(sizeof(big), send(fd, big, sizeof(big), 0));
	ASSERT_TRUE(poll_one(fd, POLLIN, WAIT_MS) & POLLIN) TH_LOG("no echo");
	EXPECT_EQ(10, recvmsg(fd, &mh, 0));
	EXPECT_EQ(MSG_TRUNC, mh.msg_flags & MSG_TRUNC);
	EXPECT_EQ(10, check_pattern(buf, 0, 10));
	/* The 90 bytes cut off are not the next read. */
	EXPECT_EQ(0, poll_one(fd, POLLIN, 0));
	close(fd);
}

/* ------------------------------------------------------------ peek, FIONREAD */

/*
 * MSG_PEEK copies without consuming, and FIONREAD counts what is queued:
 * protocol parsers peek at a header, then read the whole message.
 */
PL_TEST(peek_and_fionread)
{
	int fd = connect_echo(_metadata, self);
	char buf[32] = { 0 };
	int q = -1;

	send_all(_metadata, fd, "peekaboo!!", 10);
	ASSERT_TRUE(poll_one(fd, POLLIN, WAIT_MS) & POLLIN);
	ASSERT_EQ(0, ioctl(fd, FIONREAD, &q));
	EXPECT_EQ(10, q);
	EXPECT_EQ(4, recv(fd, buf, 4, MSG_PEEK));
	EXPECT_STREQ("peek", buf);
	EXPECT_EQ(10, recv(fd, buf, sizeof(buf), MSG_PEEK));
	EXPECT_STREQ("peekaboo!!", buf);
	ASSERT_EQ(0, ioctl(fd, FIONREAD, &q));
	EXPECT_EQ(10, q);
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(10, recv(fd, buf, sizeof(buf), 0));
	EXPECT_STREQ("peekaboo!!", buf);
	ASSERT_EQ(0, ioctl(fd, FIONREAD, &q));
	EXPECT_EQ(0, q);
	close(fd);
}

/* --------------------------------------------------------------- sendfile */

struct reader {
	int fd;
	unsigned char *buf;
	size_t want, got;
	int err;		/* errno, or -1 for EOF or nothing within WAIT_MS */
	pthread_t thread;
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;

	while (r->got < r->want) {
		ssize_t n;

		if (!(poll_one(r->fd, POLLIN, WAIT_MS) & POLLIN)) {
			r->err = -1;
			break;
		}
		n = recv(r->fd, r->buf + r->got, r->want - r->got, 0);
		if (n <= 0) {
			r->err = n < 0 ? errno : -1;
			break;
		}
		r->got += n;
	}
	return NULL;
}

/*
 * sendfile() from a file to a socket (web servers' static files): with an
 * offset pointer it advances *offset and leaves the file position alone;
 * without, it moves the file position.  A reader thread drains the echo
 * meanwhile, so that neither side's buffers limit how much is in flight.
 */
PL_TEST(sendfile_to_socket)
{
	enum { FILE_SIZE = 200 * 1024, TAIL = 1000, TOTAL = FILE_SIZE + TAIL };
	static unsigned char data[FILE_SIZE], in[TOTAL];
	char path[] = "/tmp/preload_test.XXXXXX";
	int fd = connect_echo(_metadata, self);
	int file = mkstemp(path);
	struct reader r = { .fd = fd, .buf = in, .want = TOTAL };
	off_t off = 0;

	ASSERT_LE(0, file) TH_LOG("mkstemp: %s", strerror(errno));
	unlink(path);
	fill_pattern(data, 0, FILE_SIZE);
	ASSERT_EQ(FILE_SIZE, write(file, data, FILE_SIZE));
	ASSERT_EQ(0, lseek(file, 0, SEEK_SET));
	ASSERT_EQ(0, set_timeout(fd, SO_SNDTIMEO, WAIT_MS));
	ASSERT_EQ(0, pthread_create(&r.thread, NULL, reader_main, &r));

	while (off < FILE_SIZE) {
		ssize_t n = sendfile(fd, file, &off, FILE_SIZE - off);

		ASSERT_LT(0, n) TH_LOG("sendfile at %lld: %s", (long long)off,
				       n ? strerror(errno) : "nothing sent");
	}
	EXPECT_EQ(FILE_SIZE, off);
	EXPECT_EQ(0, lseek(file, 0, SEEK_CUR));
	EXPECT_EQ(TAIL, sendfile(fd, file, NULL, TAIL));
	EXPECT_EQ(TAIL, lseek(file, 0, SEEK_CUR));

	pthread_join(r.thread, NULL);
	ASSERT_EQ(0, r.err) TH_LOG("reader: %s after %zu of %d bytes",
				   r.err > 0 ? strerror(r.err) : "EOF or timeout",
				   r.got, TOTAL);
	EXPECT_EQ(FILE_SIZE, check_pattern(in, 0, FILE_SIZE));
	EXPECT_EQ(TAIL, check_pattern(in + FILE_SIZE, 0, TAIL));
	close(file);
	close(fd);
}

/* --------------------------------------------------------------- shutdown */

/*
 * Half-close: after shutdown(SHUT_WR) we still receive.  The echo server
 * echoes everything, sees our FIN and closes; recv() then drains and
 * returns 0, again and again.  With both directions shut Linux's poll
 * reports POLLIN | POLLRDHUP (end of file), POLLOUT (a send would not
 * block: it fails) and POLLHUP.  Request/response clients (HTTP/1.0, nc -N)
 * work this way.
 */
PL_TEST(shutdown_write_gives_eof)
{
	enum { LEN = 5000 };
	static unsigned char out[LEN], in[LEN];
	int fd = connect_echo(_metadata, self);
	char c;

	fill_pattern(out, 0, LEN);
	send_all(_metadata, fd, out, LEN);
	ASSERT_EQ(0, shutdown(fd, SHUT_WR));
	recv_exact(_metadata, fd, in, LEN);
	EXPECT_EQ(LEN, check_pattern(in, 0, LEN));
	ASSERT_TRUE(poll_one(fd, POLLRDHUP, WAIT_MS) & POLLRDHUP)
		TH_LOG("the echo server never closed");
	EXPECT_EQ(POLLIN | POLLOUT | POLLRDHUP | POLLHUP,
		  poll_one(fd, POLLIN | POLLOUT | POLLRDHUP, 0));
	EXPECT_EQ(0, recv(fd, &c, 1, 0));
	EXPECT_EQ(0, recv(fd, &c, 1, 0));
	close(fd);
}

/* ------------------------------------------------------------------ errors */

/*
 * The errno of each misuse, as Linux gives it: libraries map them to
 * their own errors (EINVAL vs EAFNOSUPPORT decides whether a resolver
 * retries over another family).  SO_RCVTIMEO bounds accept() and recv()
 * should they wait instead of failing.
 */
PL_TEST(errno_of_bad_arguments)
{
	struct sockaddr_in sin = sin_of(self->own, 0);
	struct sockaddr_in6 six = { .sin6_family = AF_INET6, .sin6_port = htons(PORT_ECHO) };
	int tcp = new_socket(_metadata, SOCK_STREAM);
	int udp = new_socket(_metadata, SOCK_DGRAM);
	char c;

	ASSERT_EQ(0, set_timeout(tcp, SO_RCVTIMEO, 1000));
	errno = 0;
	EXPECT_EQ(-1, bind(tcp, (struct sockaddr *)&sin, 4));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, connect(tcp, (struct sockaddr *)&six, sizeof(six)));
	EXPECT_EQ(EAFNOSUPPORT, errno);
	errno = 0;
	EXPECT_EQ(-1, listen(udp, 1));
	EXPECT_EQ(EOPNOTSUPP, errno);
	errno = 0;
	EXPECT_EQ(-1, accept(tcp, NULL, NULL));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, recv(tcp, &c, 1, 0));
	EXPECT_EQ(ENOTCONN, errno);
	errno = 0;
	{
		socklen_t len = sizeof(sin);

		EXPECT_EQ(-1, getpeername(tcp, (struct sockaddr *)&sin, &len));
		EXPECT_EQ(ENOTCONN, errno);
	}

	EXPECT_EQ(SOCK_STREAM, get_int(tcp, SOL_SOCKET, SO_TYPE));
	EXPECT_EQ(AF_INET, get_int(tcp, SOL_SOCKET, SO_DOMAIN));
	EXPECT_EQ(IPPROTO_TCP, get_int(tcp, SOL_SOCKET, SO_PROTOCOL));
	EXPECT_EQ(0, get_int(tcp, SOL_SOCKET, SO_ERROR));
	EXPECT_EQ(SOCK_DGRAM, get_int(udp, SOL_SOCKET, SO_TYPE));
	EXPECT_EQ(AF_INET, get_int(udp, SOL_SOCKET, SO_DOMAIN));
	EXPECT_EQ(IPPROTO_UDP, get_int(udp, SOL_SOCKET, SO_PROTOCOL));
	close(udp);
	close(tcp);
}

TEST_HARNESS_MAIN
