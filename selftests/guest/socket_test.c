// SPDX-License-Identifier: GPL-2.0
/*
 * Socket semantics: AF_JOYRIDE sockets behave like Linux TCP and UDP
 * sockets (DESIGN.md, principle 4).
 *
 * Every test body is written once and runs as two variants of the fixture
 * "sock":
 *   inet     AF_INET sockets to JR_PEER_LINUX_IP (falling back to
 *            JR_PEER_IP_1, then JR_PEER_IP): the guest's Linux stack.  These
 *            runs prove that each expectation below is what Linux does.
 *   joyride  AF_JOYRIDE sockets to JR_PEER_IP, carried by the netserver on
 *            NIC 0 (tools/jr-vm run --netserver).  Skipped, saying why, when
 *            the module is not loaded (EAFNOSUPPORT) or no netserver is
 *            attached (ENETDOWN).
 * Addresses are struct sockaddr_in with sin_family AF_INET in both variants,
 * in what a test passes and in what getsockname() and friends return.
 *
 * The far end is selftests/guest/peer.py, started on the host by the runner.
 * Without a netserver (the joyride variant skips):
 *
 *   tools/jr-vm run --nics 2 \
 *       --peer-cmd "python3 $PWD/selftests/guest/peer.py" -- \
 *       build/selftests/guest/socket_test
 *
 * and with one, both variants (add --netserver; it implies --nics 2).
 *
 * peer.py offers echo, discard, chargen, reset, sink and half-close
 * services and a line-based control port; its header comment is the
 * protocol.  The control connection always goes over AF_INET to the Linux
 * peer address, so what the peer reports (an orderly EOF or a reset, a
 * connection it made to one of our listeners) is trustworthy whatever the
 * variant.  The first test waits, bounded, for the control port to answer.
 *
 * Every wait on the peer is bounded (WAIT_MS), so a behaviour that differs
 * from Linux's fails its test in seconds rather than hanging the suite.
 *
 * Not covered: EHOSTUNREACH from unanswered ARP (3 s of neighbour probes
 * for one errno).  ETIMEDOUT is covered in a few seconds by a peer listener
 * that drops SYNs and TCP_SYNCNT = 1.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <net/if.h>
#include <linux/capability.h>
#include <linux/joyride.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <linux/tcp.h>	/* struct tcp_info as the kernel has it */
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "opt_sweep.h"

/* peer.py's services; see its header. */
#define PORT_ECHO		7
#define PORT_DISCARD		9
#define PORT_CHARGEN		19
#define PORT_CONTROL		7000
#define PORT_RESET		7001
#define PORT_SINK		7002
#define PORT_HALF_CLOSE		7003
#define PORT_REPORT		7004
#define PORT_CLOSED		7999

/*
 * An address nothing routes to: the guest's Linux stack has no default
 * route; the netserver's gateway is peer.py's namespace, which forwards
 * but has no route either, so it answers with ICMP network unreachable.
 */
#define NO_ROUTE_ADDR		"198.19.255.1"
/* An address no interface of the guest (or the netserver) has. */
#define FOREIGN_ADDR		"203.0.113.1"
/* Below 1024: binding it needs CAP_NET_BIND_SERVICE. */
#define LOW_PORT		1000

/* The longest a helper waits for the peer before the test fails. */
#define WAIT_MS			5000
#include "sock_util.h"
/* How long the first test waits for peer.py to come up. */
#define PEER_START_MS		30000
/* Per test: well above the slowest (a few seconds), below the runner's. */
#define TEST_TIMEOUT_S		20

/* The control connection and what the peer reports always use AF_INET. */
static const char *const ctl_env[] = {
	"JR_PEER_LINUX_IP", "JR_PEER_IP_1", "JR_PEER_IP", NULL
};

FIXTURE(sock) {
	bool ready;			/* set-up finished: see SOCK_TEST */
	int family;			/* AF_INET or AF_JOYRIDE */
	struct in_addr peer;		/* where the data goes */
	struct in_addr guest;		/* our address, as the peer sees it */
	int ctl;			/* control connection to peer.py */
	unsigned int tokens;		/* for make_token() */
};

FIXTURE_VARIANT(sock) {
	int family;
	const char *const *peer_env;	/* the first one set wins */
	const char *const *guest_env;	/* the first one set wins; NULL:
					 * the source of Linux's route */
};

FIXTURE_VARIANT_ADD(sock, inet) {
	.family = AF_INET,
	.peer_env = ctl_env,
	.guest_env = NULL,
};

static const char *const joyride_peer_env[] = { "JR_PEER_IP", NULL };
static const char *const joyride_guest_env[] = {
	"JR_JOYRIDE_IP", "JR_GUEST_IP", NULL
};

FIXTURE_VARIANT_ADD(sock, joyride) {
	.family = AF_JOYRIDE,
	.peer_env = joyride_peer_env,
	.guest_env = joyride_guest_env,
};

/*
 * Shared by every test process (the harness forks one per test): once the
 * peer has failed to come up, later tests fail at once instead of waiting
 * again.
 */
enum { PEER_UNKNOWN, PEER_UP, PEER_DOWN };
static volatile int *peer_state;

static void __attribute__((constructor)) map_peer_state(void)
{
	peer_state = mmap(NULL, sizeof(*peer_state), PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (peer_state == MAP_FAILED)
		abort();
}

static volatile sig_atomic_t sigpipes;

static void count_sigpipe(int sig)
{
	sigpipes++;
}

static struct sockaddr_in sin_of(struct in_addr addr, int port)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr = addr,
	};

	return sin;
}

static struct in_addr addr_of(const char *s)
{
	struct in_addr a = { 0 };

	inet_pton(AF_INET, s, &a);
	return a;
}

static void set_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

/* Close with an RST, for connections whose send queue may never drain. */
static void abort_close(int fd)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

/* The local address Linux picks to reach addr. */
static struct in_addr route_source(struct in_addr addr)
{
	struct sockaddr_in sin = sin_of(addr, PORT_DISCARD);
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    getsockname(fd, (struct sockaddr *)&sin, &len))
		sin.sin_addr.s_addr = 0;
	if (fd >= 0)
		close(fd);
	return sin.sin_addr;
}

static int connect_retrying(struct in_addr addr, int port, int total_ms)
{
	struct sockaddr_in sin = sin_of(addr, port);
	struct timespec t0 = now();

	do {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			return -1;
		/* Unanswered SYNs would otherwise retry for minutes. */
		set_timeout(fd, SO_SNDTIMEO, 1000);
		if (!connect(fd, (struct sockaddr *)&sin, sizeof(sin)))
			return fd;
		close(fd);
		usleep(200 * 1000);
	} while (ms_since(&t0) < total_ms);
	return -1;
}

/*
 * Why the joyride variant cannot run here, or NULL.  Anything but these
 * two errnos from socket() is a failure, not a reason to skip.
 */
static const char *joyride_unavailable(const char *peer_ip, const char *ctl_ip)
{
	int fd;

	if (!peer_ip)
		return "JR_PEER_IP is not set: run under tools/jr-vm --nics 2 --netserver";
	fd = socket(AF_JOYRIDE, SOCK_STREAM, 0);
	if (fd < 0 && errno == EAFNOSUPPORT)
		return "AF_JOYRIDE is not registered (joyride.ko not loaded)";
	if (fd < 0 && errno == ENETDOWN)
		return "AF_JOYRIDE sockets are ENETDOWN: no netserver attached "
		       "(tools/jr-vm run --netserver)";
	if (fd >= 0)
		close(fd);
	if (!ctl_ip || !strcmp(ctl_ip, peer_ip))
		return "no Linux NIC for the control channel to peer.py "
		       "(JR_PEER_LINUX_IP or JR_PEER_IP_1; use --nics 2)";
	return NULL;
}

FIXTURE_SETUP(sock)
{
	const char *peer_ip = first_env(variant->peer_env);
	const char *ctl_ip = first_env(ctl_env);
	struct sigaction sa = { .sa_handler = count_sigpipe };
	const char *why;
	int fd;

	self->ctl = -1;
	self->family = variant->family;
	if (variant->family == AF_JOYRIDE) {
		why = joyride_unavailable(peer_ip, ctl_ip);
		if (why)
			SKIP(return, "%s", why);
	}
	if (!peer_ip || !ctl_ip)
		SKIP(return, "no peer address (JR_PEER_LINUX_IP, JR_PEER_IP_1, "
		     "JR_PEER_IP): run under tools/jr-vm --nics 2 --peer-cmd "
		     "'python3 selftests/guest/peer.py'");
	fd = socket(variant->family, SOCK_STREAM, 0);
	ASSERT_LE(0, fd) TH_LOG("socket: %s", strerror(errno));
	close(fd);
	ASSERT_EQ(1, inet_pton(AF_INET, peer_ip, &self->peer));

	if (variant->guest_env) {
		const char *g = first_env(variant->guest_env);

		if (!g)
			SKIP(return, "%s is not set", variant->guest_env[0]);
		ASSERT_EQ(1, inet_pton(AF_INET, g, &self->guest));
	} else {
		self->guest = route_source(self->peer);
		ASSERT_NE(0, self->guest.s_addr) TH_LOG("no route to %s", peer_ip);
	}

	ASSERT_NE(PEER_DOWN, *peer_state)
		TH_LOG("peer.py did not answer on %s:%d earlier", ctl_ip,
		       PORT_CONTROL);
	self->ctl = connect_retrying(addr_of(ctl_ip), PORT_CONTROL,
				     *peer_state == PEER_UP ? WAIT_MS : PEER_START_MS);
	if (self->ctl < 0)
		*peer_state = PEER_DOWN;
	ASSERT_LE(0, self->ctl)
		TH_LOG("peer.py is not answering on %s:%d (is the runner's --peer-cmd set?)",
		       ctl_ip, PORT_CONTROL);
	*peer_state = PEER_UP;

	ASSERT_EQ(0, sigaction(SIGPIPE, &sa, NULL));
	self->ready = true;
}

FIXTURE_TEARDOWN(sock)
{
	if (self->ctl >= 0)
		close(self->ctl);
}

/*
 * With the 6.1 harness a SKIP() in FIXTURE_SETUP still runs the test body,
 * so every body is written through SOCK_TEST and returns at once unless the
 * set-up finished.
 */
#define SOCK_TEST(name)							\
	static void body_##name(struct __test_metadata *_metadata,	\
				FIXTURE_DATA(sock) *self,		\
				const FIXTURE_VARIANT(sock) *variant);	\
	TEST_F_TIMEOUT(sock, name, TEST_TIMEOUT_S)			\
	{								\
		if (self->ready)					\
			body_##name(_metadata, self, variant);		\
	}								\
	static void body_##name(struct __test_metadata *_metadata,	\
				FIXTURE_DATA(sock) *self,		\
				const FIXTURE_VARIANT(sock) *variant)

/* ---- helpers that fail the test ---- */

static void ctl_send(struct __test_metadata *_metadata,
		     FIXTURE_DATA(sock) *self, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	line[n++] = '\n';
	ASSERT_EQ(n, send(self->ctl, line, n, MSG_NOSIGNAL));
}

/* One reply line, without its newline. */
static void ctl_recv(struct __test_metadata *_metadata,
		     FIXTURE_DATA(sock) *self, char *line, size_t size)
{
	size_t n = 0;

	while (n < size - 1) {
		ASSERT_TRUE(poll_one(self->ctl, POLLIN, 3 * WAIT_MS) & POLLIN)
			TH_LOG("peer.py did not reply");
		ASSERT_EQ(1, recv(self->ctl, line + n, 1, 0));
		if (line[n] == '\n')
			break;
		n++;
	}
	line[n] = 0;
}

static void ctl_expect(struct __test_metadata *_metadata,
		       FIXTURE_DATA(sock) *self, const char *want)
{
	char line[256];

	ctl_recv(_metadata, self, line, sizeof(line));
	ASSERT_STREQ(want, line);
}

/* The outcome peer.py recorded for token, e.g. "EOF 3" or "RESET 0". */
static void ctl_wait(struct __test_metadata *_metadata,
		     FIXTURE_DATA(sock) *self, const char *token, char *line,
		     size_t size)
{
	ctl_send(_metadata, self, "WAIT %s", token);
	ctl_recv(_metadata, self, line, size);
}

static void make_token(FIXTURE_DATA(sock) *self, char *buf, size_t size)
{
	snprintf(buf, size, "t%d.%u", getpid(), self->tokens++);
}

static struct sockaddr_in peer_at(FIXTURE_DATA(sock) *self, int port)
{
	return sin_of(self->peer, port);
}

static int new_socket(struct __test_metadata *_metadata,
		      FIXTURE_DATA(sock) *self, int type)
{
	int fd = socket(self->family, type, 0);

	ASSERT_LE(0, fd) TH_LOG("socket: %s", strerror(errno));
	return fd;
}

/*
 * A blocking connect of fd to the peer's port, bounded by a send timeout so
 * that a connection that never completes fails the test in WAIT_MS.
 */
static void connect_fd(struct __test_metadata *_metadata,
		       FIXTURE_DATA(sock) *self, int fd, int port)
{
	struct sockaddr_in sin = peer_at(self, port);
	int r;

	set_timeout(fd, SO_SNDTIMEO, WAIT_MS);
	r = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
	ASSERT_EQ(0, r) TH_LOG("connect to port %d: %s", port, strerror(errno));
	set_timeout(fd, SO_SNDTIMEO, 0);
}

static int connect_peer(struct __test_metadata *_metadata,
			FIXTURE_DATA(sock) *self, int port)
{
	int fd = new_socket(_metadata, self, SOCK_STREAM);

	connect_fd(_metadata, self, fd, port);
	return fd;
}

/* A connection that the peer resets once it has read our first byte. */
static int connect_reset(struct __test_metadata *_metadata,
			 FIXTURE_DATA(sock) *self)
{
	int fd = connect_peer(_metadata, self, PORT_RESET);

	ASSERT_EQ(1, send(fd, "R", 1, 0));
	return fd;
}

/* A connection to the report service; its outcome is kept under token. */
static int connect_report(struct __test_metadata *_metadata,
			  FIXTURE_DATA(sock) *self, char *token, size_t size)
{
	char line[64];
	int fd = connect_peer(_metadata, self, PORT_REPORT);
	int n;

	make_token(self, token, size);
	n = snprintf(line, sizeof(line), "TOKEN %s\n", token);
	ASSERT_EQ(n, send(fd, line, n, 0));
	return fd;
}

static void expect_eof(struct __test_metadata *_metadata, int fd)
{
	char c;

	ASSERT_TRUE(poll_one(fd, POLLIN, WAIT_MS) & (POLLIN | POLLHUP));
	ASSERT_EQ(0, recv(fd, &c, 1, 0));
}

/* Send and get the same bytes back from the echo service. */
static void echo_roundtrip(struct __test_metadata *_metadata, int fd,
			   const char *msg)
{
	size_t len = strlen(msg);
	char buf[256] = { 0 };

	send_all(_metadata, fd, msg, len);
	recv_exact(_metadata, fd, buf, len);
	ASSERT_STREQ(msg, buf);
}

/* Wait until at least n bytes are queued for reading. */
static void wait_inq(struct __test_metadata *_metadata, int fd, int n)
{
	struct timespec t0 = now();
	int q = 0;

	while (ms_since(&t0) < WAIT_MS) {
		poll_one(fd, POLLIN, WAIT_MS);
		ASSERT_EQ(0, ioctl(fd, FIONREAD, &q));
		if (q >= n)
			return;
		usleep(2000);
	}
	ASSERT_LE(n, q) TH_LOG("only %d bytes arrived", q);
}

/* A listener on the wildcard address; returns it and its port. */
static int listen_any(struct __test_metadata *_metadata,
		      FIXTURE_DATA(sock) *self, int type, int backlog,
		      int *port)
{
	struct sockaddr_in sin = sin_of((struct in_addr){ INADDR_ANY }, 0);
	socklen_t len = sizeof(sin);
	int fd = new_socket(_metadata, self, type);

	ASSERT_EQ(0, bind(fd, (struct sockaddr *)&sin, sizeof(sin)));
	ASSERT_EQ(0, listen(fd, backlog)) TH_LOG("listen: %s", strerror(errno));
	ASSERT_EQ(0, getsockname(fd, (struct sockaddr *)&sin, &len));
	*port = ntohs(sin.sin_port);
	ASSERT_NE(0, *port);
	return fd;
}

/* Send without blocking until the send buffer is full; returns the bytes. */
static long fill_send_buffer(struct __test_metadata *_metadata, int fd)
{
	static char chunk[4096];
	long total = 0;

	for (;;) {
		ssize_t n = send(fd, chunk, sizeof(chunk), MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0) {
			ASSERT_EQ(EAGAIN, errno) TH_LOG("send: %s", strerror(errno));
			return total;
		}
		total += n;
		ASSERT_GT(64L << 20, total) TH_LOG("the send buffer never filled");
	}
}

/* A connection to the sink whose send buffer is full. */
static int connect_full_sink(struct __test_metadata *_metadata,
			     FIXTURE_DATA(sock) *self)
{
	int fd = new_socket(_metadata, self, SOCK_STREAM);
	struct timespec t0 = now();

	ASSERT_EQ(0, set_int(fd, SOL_SOCKET, SO_SNDBUF, 4096));
	connect_fd(_metadata, self, fd, PORT_SINK);
	/* Full once the peer's window has closed too: nothing more drains. */
	fill_send_buffer(_metadata, fd);
	while (ms_since(&t0) < WAIT_MS) {
		if (!(poll_one(fd, POLLOUT, 200) & POLLOUT))
			return fd;
		fill_send_buffer(_metadata, fd);
	}
	ASSERT_TRUE(0) TH_LOG("the send buffer kept draining");
	return -1;
}

/* ---- socket() ---- */

SOCK_TEST(socket_type_flags_set_o_nonblock_and_fd_cloexec)
{
	int plain = new_socket(_metadata, self, SOCK_STREAM);
	int flagged = new_socket(_metadata, self,
				 SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC);

	EXPECT_EQ(0, fcntl(plain, F_GETFL) & O_NONBLOCK);
	EXPECT_EQ(0, fcntl(plain, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(O_NONBLOCK, fcntl(flagged, F_GETFL) & O_NONBLOCK);
	EXPECT_EQ(FD_CLOEXEC, fcntl(flagged, F_GETFD) & FD_CLOEXEC);
	close(plain);
	close(flagged);
}

/* ---- bind() ---- */

SOCK_TEST(bind_port_zero_gets_ephemeral_port)
{
	struct sockaddr_in sin = sin_of((struct in_addr){ INADDR_ANY }, 0);
	socklen_t len = sizeof(sin);
	int fd = new_socket(_metadata, self, SOCK_STREAM);

	ASSERT_EQ(0, bind(fd, (struct sockaddr *)&sin, sizeof(sin)));
	ASSERT_EQ(0, getsockname(fd, (struct sockaddr *)&sin, &len));
	EXPECT_EQ(sizeof(sin), len);
	EXPECT_EQ(AF_INET, sin.sin_family);
	EXPECT_EQ(INADDR_ANY, ntohl(sin.sin_addr.s_addr));
	EXPECT_NE(0, ntohs(sin.sin_port));
	close(fd);
}

SOCK_TEST(bind_port_zero_port_is_in_ip_local_port_range)
{
	struct sockaddr_in sin = sin_of((struct in_addr){ INADDR_ANY }, 0);
	socklen_t len = sizeof(sin);
	int fd = new_socket(_metadata, self, SOCK_STREAM);
	int lo = 0, hi = 0;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");

	ASSERT_NE(NULL, f);
	ASSERT_EQ(2, fscanf(f, "%d %d", &lo, &hi));
	fclose(f);
	ASSERT_EQ(0, bind(fd, (struct sockaddr *)&sin, sizeof(sin)));
	ASSERT_EQ(0, getsockname(fd, (struct sockaddr *)&sin, &len));
	EXPECT_LE(lo, ntohs(sin.sin_port));
	EXPECT_GE(hi, ntohs(sin.sin_port));
	close(fd);
}

SOCK_TEST(bind_to_own_address_succeeds)
{
	struct sockaddr_in sin = sin_of(self->guest, 0);
	socklen_t len = sizeof(sin);
	int fd = new_socket(_metadata, self, SOCK_STREAM);

	ASSERT_EQ(0, bind(fd, (struct sockaddr *)&sin, sizeof(sin)))
		TH_LOG("bind: %s", strerror(errno));
	ASSERT_EQ(0, getsockname(fd, (struct sockaddr *)&sin, &len));
	EXPECT_EQ(self->guest.s_addr, sin.sin_addr.s_addr);
	close(fd);
}

SOCK_TEST(bind_same_port_twice_is_eaddrinuse)
{
	struct sockaddr_in sin = sin_of((struct in_addr){ INADDR_ANY }, 0);
	socklen_t len = sizeof(sin);
	int a = new_socket(_metadata, self, SOCK_STREAM);
	int b = new_socket(_metadata, self, SOCK_STREAM);

	ASSERT_EQ(0, bind(a, (struct sockaddr *)&sin, sizeof(sin)));
	ASSERT_EQ(0, getsockname(a, (struct sockaddr *)&sin, &len));
	errno = 0;
	EXPECT_EQ(-1, bind(b, (struct sockaddr *)&sin, sizeof(sin)));
	EXPECT_EQ(EADDRINUSE, errno);
	close(a);
	close(b);
}

/*
 * Linux lets sockets that all set SO_REUSEADDR share a port while none of
 * them listens; the second listen() is the one refused.
 */
SOCK_TEST(reuseaddr_shares_port_until_second_listen)
{
	struct sockaddr_in sin = sin_of((struct in_addr){ INADDR_ANY }, 0);
	socklen_t len = sizeof(sin);
	int a = new_socket(_metadata, self, SOCK_STREAM);
	int b = new_socket(_metadata, self, SOCK_STREAM);

	ASSERT_EQ(0, set_int(a, SOL_SOCKET, SO_REUSEADDR, 1));
	ASSERT_EQ(0, set_int(b, SOL_SOCKET, SO_REUSEADDR, 1));
	ASSERT_EQ(0, bind(a, (struct sockaddr *)&sin, sizeof(sin)));
	ASSERT_EQ(0, getsockname(a, (struct sockaddr *)&sin, &len));
	EXPECT_EQ(0, bind(b, (struct sockaddr *)&sin, sizeof(sin)))
		TH_LOG("bind: %s", strerror(errno));
	EXPECT_EQ(0, listen(a, 1));
	errno = 0;
	EXPECT_EQ(-1, listen(b, 1));
	EXPECT_EQ(EADDRINUSE, errno);
	close(a);
	close(b);
}

/*
 * ... but a listener's port is its own: with SO_REUSEADDR on both, a bind
 * that overlaps a listening socket's address is refused, one that only
 * overlaps a bound socket's is not (Linux's inet_csk_bind_conflict()).
 */
SOCK_TEST(reuseaddr_bind_overlapping_a_listener_is_eaddrinuse)
{
	struct sockaddr_in lo = sin_of((struct in_addr){ htonl(INADDR_LOOPBACK) }, 0);
	struct sockaddr_in any = sin_of((struct in_addr){ INADDR_ANY }, 0);
	socklen_t len = sizeof(lo);
	int l = new_socket(_metadata, self, SOCK_STREAM);
	int a = new_socket(_metadata, self, SOCK_STREAM);
	int b = new_socket(_metadata, self, SOCK_STREAM);

	ASSERT_EQ(0, set_int(l, SOL_SOCKET, SO_REUSEADDR, 1));
	ASSERT_EQ(0, set_int(a, SOL_SOCKET, SO_REUSEADDR, 1));
	ASSERT_EQ(0, set_int(b, SOL_SOCKET, SO_REUSEADDR, 1));
	ASSERT_EQ(0, bind(l, (struct sockaddr *)&lo, sizeof(lo)));
	ASSERT_EQ(0, getsockname(l, (struct sockaddr *)&lo, &len));
	any.sin_port = lo.sin_port;
	/* Bound, not listening: the wildcard may share its port. */
	EXPECT_EQ(0, bind(a, (struct sockaddr *)&any, sizeof(any)))
		TH_LOG("bind next to a bound socket: %s", strerror(errno));
	ASSERT_EQ(0, listen(l, 1));
	errno = 0;
	EXPECT_EQ(-1, bind(b, (struct sockaddr *)&any, sizeof(any)));
	EXPECT_EQ(EADDRINUSE, errno);
	close(b);
	close(a);
	close(l);
}

#define PORT_RANGE_SYSCTL "/proc/sys/net/ipv4/ip_local_port_range"

static int port_range_write(const char *range)
{
	int fd = open(PORT_RANGE_SYSCTL, O_WRONLY);
	ssize_t n = fd < 0 ? -1 : write(fd, range, strlen(range));

	if (fd >= 0)
		close(fd);
	return n == (ssize_t)strlen(range) ? 0 : -1;
}

static int bound_port(int fd)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	return getsockname(fd, (struct sockaddr *)&sin, &len) ? -1 : ntohs(sin.sin_port);
}

/*
 * Ephemeral ports come from net.ipv4.ip_local_port_range, read when one is
 * picked: narrowed to two ports, two bind(port 0) get them and the third
 * finds none (EADDRINUSE), and a connect() that must auto-bind gets
 * EADDRNOTAVAIL; a UDP socket takes its port from the same range.  Only
 * EXPECTs between the sysctl's change and its restoration.
 */
SOCK_TEST(ephemeral_ports_come_from_ip_local_port_range)
{
	struct sockaddr_in any = sin_of((struct in_addr){ INADDR_ANY }, 0);
	struct sockaddr_in peer = peer_at(self, PORT_ECHO);
	int fd[3], c, u, port, i;
	char saved[64] = "";
	FILE *f;

	f = fopen(PORT_RANGE_SYSCTL, "r");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(saved, sizeof(saved), f));
	fclose(f);
	for (i = 0; i < 3; i++)
		fd[i] = new_socket(_metadata, self, SOCK_STREAM);
	c = new_socket(_metadata, self, SOCK_STREAM);
	u = new_socket(_metadata, self, SOCK_DGRAM);
	ASSERT_EQ(0, port_range_write("40100 40101"));

	for (i = 0; i < 2; i++) {
		EXPECT_EQ(0, bind(fd[i], (struct sockaddr *)&any, sizeof(any)))
			TH_LOG("bind #%d: %s", i, strerror(errno));
		port = bound_port(fd[i]);
		EXPECT_TRUE(port == 40100 || port == 40101) TH_LOG("port %d", port);
	}
	errno = 0;
	EXPECT_EQ(-1, bind(fd[2], (struct sockaddr *)&any, sizeof(any)));
	EXPECT_EQ(EADDRINUSE, errno);
	errno = 0;
	EXPECT_EQ(-1, connect(c, (struct sockaddr *)&peer, sizeof(peer)));
	EXPECT_EQ(EADDRNOTAVAIL, errno);
	EXPECT_EQ(0, bind(u, (struct sockaddr *)&any, sizeof(any)));
	port = bound_port(u);
	EXPECT_TRUE(port == 40100 || port == 40101) TH_LOG("UDP port %d", port);

	EXPECT_EQ(0, port_range_write(saved));
	for (i = 0; i < 3; i++)
		close(fd[i]);
	close(c);
	close(u);
}

SOCK_TEST(bind_foreign_address_is_eaddrnotavail)
{
	struct sockaddr_in sin = sin_of(addr_of(FOREIGN_ADDR), 0);
	int fd = new_socket(_metadata, self, SOCK_STREAM);

	errno = 0;
	EXPECT_EQ(-1, bind(fd, (struct sockaddr *)&sin, sizeof(sin)));
	EXPECT_EQ(EADDRNOTAVAIL, errno);
	close(fd);
}

SOCK_TEST(bind_twice_is_einval)
{
	struct sockaddr_in sin = sin_of((struct in_addr){ INADDR_ANY }, 0);
	int fd = new_socket(_metadata, self, SOCK_STREAM);

	ASSERT_EQ(0, bind(fd, (struct sockaddr *)&sin, sizeof(sin)));
	errno = 0;
	EXPECT_EQ(-1, bind(fd, (struct sockaddr *)&sin, sizeof(sin)));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
}

SOCK_TEST(bind_wrong_family_is_eafnosupport)
{
	struct sockaddr_in sin = sin_of(self->guest, 0);
	int fd = new_socket(_metadata, self, SOCK_STREAM);

	sin.sin_family = AF_UNIX;
	errno = 0;
	EXPECT_EQ(-1, bind(fd, (struct sockaddr *)&sin, sizeof(sin)));
	EXPECT_EQ(EAFNOSUPPORT, errno);
	close(fd);
}

SOCK_TEST(bind_short_addrlen_is_einval)
{
	struct sockaddr_in sin = sin_of((struct in_addr){ INADDR_ANY }, 0);
	int fd = new_socket(_metadata, self, SOCK_STREAM);

	errno = 0;
	EXPECT_EQ(-1, bind(fd, (struct sockaddr *)&sin, sizeof(sin) - 1));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
}

SOCK_TEST(bind_low_port_as_root_succeeds)
{
	struct sockaddr_in sin = sin_of((struct in_addr){ INADDR_ANY }, LOW_PORT);
	int fd = new_socket(_metadata, self, SOCK_STREAM);

	EXPECT_EQ(0, bind(fd, (struct sockaddr *)&sin, sizeof(sin)))
		TH_LOG("bind: %s", strerror(errno));
	close(fd);
}

/* The check is on the caller's capabilities, as Linux makes it. */
SOCK_TEST(bind_low_port_without_cap_net_bind_service_is_eacces)
{
	pid_t pid = fork();
	int status;

	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct __user_cap_header_struct hdr = {
			.version = _LINUX_CAPABILITY_VERSION_3,
		};
		struct __user_cap_data_struct caps[2];
		struct sockaddr_in sin = sin_of((struct in_addr){ INADDR_ANY },
						LOW_PORT);
		int fd;

		if (syscall(SYS_capget, &hdr, caps))
			_exit(100);
		caps[0].effective &= ~(1u << CAP_NET_BIND_SERVICE);
		caps[0].permitted &= ~(1u << CAP_NET_BIND_SERVICE);
		if (syscall(SYS_capset, &hdr, caps))
			_exit(101);
		fd = socket(self->family, SOCK_STREAM, 0);
		if (fd < 0)
			_exit(102);
		if (!bind(fd, (struct sockaddr *)&sin, sizeof(sin)))
			_exit(0);
		_exit(errno);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(EACCES, WEXITSTATUS(status));
}

/* ---- listen() and accept() ---- */

SOCK_TEST(listen_then_accept_gets_peer_connection)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	char buf[100], want[100];
	int port, lfd, fd;

	lfd = listen_any(_metadata, self, SOCK_STREAM, 4, &port);
	ctl_send(_metadata, self, "CONNECT %s %d %zu", inet_ntoa(self->guest),
		 port, sizeof(buf));
	fd = accept_within(_metadata, lfd, 0);
	ASSERT_EQ(0, getpeername(fd, (struct sockaddr *)&sin, &len));
	EXPECT_EQ(AF_INET, sin.sin_family);
	EXPECT_EQ(self->peer.s_addr, sin.sin_addr.s_addr);
	len = sizeof(sin);
	ASSERT_EQ(0, getsockname(fd, (struct sockaddr *)&sin, &len));
	EXPECT_EQ(self->guest.s_addr, sin.sin_addr.s_addr);
	EXPECT_EQ(port, ntohs(sin.sin_port));
	recv_exact(_metadata, fd, buf, sizeof(buf));
	fill_pattern(want, 0, sizeof(want));
	EXPECT_EQ(0, memcmp(want, buf, sizeof(buf)));
	send_all(_metadata, fd, buf, sizeof(buf));
	close(fd);
	ctl_expect(_metadata, self, "OK 100");
	close(lfd);
}

/* Connections wait in the backlog, established, until accepted. */
SOCK_TEST(listen_backlog_holds_pending_connections)
{
	int port, lfd, fd, i;

	lfd = listen_any(_metadata, self, SOCK_STREAM, 3, &port);
	ctl_send(_metadata, self, "OPEN %s %d 3", inet_ntoa(self->guest), port);
	ctl_expect(_metadata, self, "OK 3");
	set_nonblock(lfd, true);
	for (i = 0; i < 3; i++) {
		fd = accept_within(_metadata, lfd, 0);
		close(fd);
	}
	errno = 0;
	EXPECT_EQ(-1, accept(lfd, NULL, NULL));
	EXPECT_EQ(EAGAIN, errno);
	close(lfd);
}

/*
 * TCP_DEFER_ACCEPT: a connection that sends nothing is not accepted (for
 * the rounded seconds); one that sends data is, with its data.
 */
SOCK_TEST(defer_accept_waits_for_data)
{
	char buf[8], want[8];
	int port, lfd, fd;

	lfd = listen_any(_metadata, self, SOCK_STREAM, 4, &port);
	ASSERT_EQ(0, set_int(lfd, IPPROTO_TCP, TCP_DEFER_ACCEPT, 5));
	ctl_send(_metadata, self, "OPEN %s %d 1", inet_ntoa(self->guest), port);
	ctl_expect(_metadata, self, "OK 1");
	EXPECT_EQ(0, poll_one(lfd, POLLIN, 500) & POLLIN)
		TH_LOG("a connection without data became acceptable");
	ctl_send(_metadata, self, "CONNECT %s %d %zu", inet_ntoa(self->guest),
		 port, sizeof(buf));
	fd = accept_within(_metadata, lfd, 0);
	recv_exact(_metadata, fd, buf, sizeof(buf));
	fill_pattern(want, 0, sizeof(want));
	EXPECT_EQ(0, memcmp(want, buf, sizeof(buf)));
	send_all(_metadata, fd, buf, sizeof(buf));
	close(fd);
	ctl_expect(_metadata, self, "OK 8");
	close(lfd);
}

SOCK_TEST(listen_again_on_listener_succeeds)
{
	int port, lfd = listen_any(_metadata, self, SOCK_STREAM, 1, &port);

	EXPECT_EQ(0, listen(lfd, 8));
	EXPECT_EQ(1, get_int(lfd, SOL_SOCKET, SO_ACCEPTCONN));
	close(lfd);
}

SOCK_TEST(listen_on_connected_is_einval)
{
	int fd = connect_peer(_metadata, self, PORT_ECHO);

	errno = 0;
	EXPECT_EQ(-1, listen(fd, 1));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
}

SOCK_TEST(accept_nonblocking_with_nothing_pending_is_eagain)
{
	int port, lfd = listen_any(_metadata, self, SOCK_STREAM, 1, &port);

	set_nonblock(lfd, true);
	errno = 0;
	EXPECT_EQ(-1, accept(lfd, NULL, NULL));
	EXPECT_EQ(EAGAIN, errno);
	errno = 0;
	EXPECT_EQ(-1, accept4(lfd, NULL, NULL, SOCK_CLOEXEC));
	EXPECT_EQ(EAGAIN, errno);
	close(lfd);
}

SOCK_TEST(accept_on_unlistened_is_einval)
{
	struct sockaddr_in sin = sin_of((struct in_addr){ INADDR_ANY }, 0);
	int fd = new_socket(_metadata, self, SOCK_STREAM);

	errno = 0;
	EXPECT_EQ(-1, accept(fd, NULL, NULL));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, bind(fd, (struct sockaddr *)&sin, sizeof(sin)));
	errno = 0;
	EXPECT_EQ(-1, accept(fd, NULL, NULL));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
}

SOCK_TEST(accept4_sets_nonblock_and_cloexec)
{
	int port, lfd, fd;
	char c;

	lfd = listen_any(_metadata, self, SOCK_STREAM, 1, &port);
	ctl_send(_metadata, self, "CONNECT %s %d 0", inet_ntoa(self->guest), port);
	fd = accept_within(_metadata, lfd, SOCK_NONBLOCK | SOCK_CLOEXEC);
	EXPECT_EQ(O_NONBLOCK, fcntl(fd, F_GETFL) & O_NONBLOCK);
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	errno = 0;
	EXPECT_EQ(-1, recv(fd, &c, 1, 0));
	EXPECT_EQ(EAGAIN, errno);
	close(fd);
	ctl_expect(_metadata, self, "OK 0");
	close(lfd);
}

/* The accepted socket does not inherit the listener's file flags. */
SOCK_TEST(accept_does_not_inherit_o_nonblock)
{
	int port, lfd, fd;

	lfd = listen_any(_metadata, self, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			 1, &port);
	ctl_send(_metadata, self, "CONNECT %s %d 0", inet_ntoa(self->guest), port);
	fd = accept_within(_metadata, lfd, 0);
	EXPECT_EQ(0, fcntl(fd, F_GETFL) & O_NONBLOCK);
	EXPECT_EQ(0, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
	ctl_expect(_metadata, self, "OK 0");
	close(lfd);
}

/* ---- connect() ---- */

SOCK_TEST(connect_blocking_succeeds)
{
	struct sockaddr_in sin = peer_at(self, PORT_ECHO);
	int fd = new_socket(_metadata, self, SOCK_STREAM);

	ASSERT_EQ(0, connect(fd, (struct sockaddr *)&sin, sizeof(sin)))
		TH_LOG("connect: %s", strerror(errno));
	echo_roundtrip(_metadata, fd, "connected");
	close(fd);
}

SOCK_TEST(connect_nonblocking_is_einprogress_then_pollout)
{
	struct sockaddr_in sin = peer_at(self, PORT_ECHO);
	socklen_t len = sizeof(sin);
	int fd = new_socket(_metadata, self, SOCK_STREAM | SOCK_NONBLOCK);

	errno = 0;
	ASSERT_EQ(-1, connect(fd, (struct sockaddr *)&sin, sizeof(sin)));
	ASSERT_EQ(EINPROGRESS, errno);
	EXPECT_EQ(POLLOUT, poll_one(fd, POLLOUT, WAIT_MS));
	EXPECT_EQ(0, get_int(fd, SOL_SOCKET, SO_ERROR));
	EXPECT_EQ(0, getpeername(fd, (struct sockaddr *)&sin, &len));
	close(fd);
}

/*
 * Blocking connects expected to fail carry a send timeout, so that a failure
 * that never comes ends the test in WAIT_MS: connect() then reports
 * EINPROGRESS instead of the errno expected.
 */
SOCK_TEST(connect_refused_is_econnrefused)
{
	struct sockaddr_in sin = peer_at(self, PORT_CLOSED);
	int fd = new_socket(_metadata, self, SOCK_STREAM);

	ASSERT_EQ(0, set_timeout(fd, SO_SNDTIMEO, WAIT_MS));
	errno = 0;
	EXPECT_EQ(-1, connect(fd, (struct sockaddr *)&sin, sizeof(sin)));
	EXPECT_EQ(ECONNREFUSED, errno);
	close(fd);
}

/* SO_ERROR reports the failure once, then reads 0. */
SOCK_TEST(connect_nonblocking_refused_sets_so_error)
{
	struct sockaddr_in sin = peer_at(self, PORT_CLOSED);
	int fd = new_socket(_metadata, self, SOCK_STREAM | SOCK_NONBLOCK);

	errno = 0;
	ASSERT_EQ(-1, connect(fd, (struct sockaddr *)&sin, sizeof(sin)));
	ASSERT_EQ(EINPROGRESS, errno);
	EXPECT_TRUE(poll_one(fd, POLLOUT, WAIT_MS) & POLLERR);
	EXPECT_EQ(ECONNREFUSED, get_int(fd, SOL_SOCKET, SO_ERROR));
	EXPECT_EQ(0, get_int(fd, SOL_SOCKET, SO_ERROR));
	close(fd);
}

/*
 * ENETUNREACH either way: at once from the routing table (inet variant) or
 * from the gateway's ICMP network unreachable (joyride variant, whose
 * netserver has a default gateway); see NO_ROUTE_ADDR.
 */
SOCK_TEST(connect_no_route_is_enetunreach)
{
	struct sockaddr_in sin = sin_of(addr_of(NO_ROUTE_ADDR), PORT_ECHO);
	int fd = new_socket(_metadata, self, SOCK_STREAM);

	ASSERT_EQ(0, set_timeout(fd, SO_SNDTIMEO, WAIT_MS));
	errno = 0;
	EXPECT_EQ(-1, connect(fd, (struct sockaddr *)&sin, sizeof(sin)));
	EXPECT_EQ(ENETUNREACH, errno);
	close(fd);
}

/* ---- the machine's own addresses ---- */

/*
 * A connection from fd (unconnected) to dst:port, where lfd listens on the
 * wildcard address: accepted, a byte each way, and both ends name the
 * addresses Linux names.  want_local is the client's expected address.
 */
static void connect_own(struct __test_metadata *_metadata, int fd, int lfd,
			struct in_addr dst, int port, struct in_addr want_local)
{
	struct sockaddr_in sin = sin_of(dst, port), name;
	socklen_t len = sizeof(name);
	char c = 0;
	int afd;

	ASSERT_EQ(0, set_timeout(fd, SO_SNDTIMEO, WAIT_MS));
	ASSERT_EQ(0, connect(fd, (struct sockaddr *)&sin, sizeof(sin)))
		TH_LOG("connect to %s:%d: %s", inet_ntoa(dst), port, strerror(errno));
	afd = accept_within(_metadata, lfd, 0);
	ASSERT_EQ(0, getpeername(fd, (struct sockaddr *)&name, &len));
	EXPECT_EQ(want_local.s_addr, name.sin_addr.s_addr)
		TH_LOG("peer %s", inet_ntoa(name.sin_addr));
	EXPECT_EQ(port, ntohs(name.sin_port));
	ASSERT_EQ(0, getsockname(fd, (struct sockaddr *)&name, &len));
	EXPECT_EQ(want_local.s_addr, name.sin_addr.s_addr)
		TH_LOG("local %s", inet_ntoa(name.sin_addr));
	ASSERT_EQ(1, send(fd, "a", 1, 0));
	ASSERT_EQ(1, recv(afd, &c, 1, 0));
	EXPECT_EQ('a', c);
	ASSERT_EQ(1, send(afd, "b", 1, 0));
	ASSERT_EQ(1, recv(fd, &c, 1, 0));
	EXPECT_EQ('b', c);
	close(afd);
}

SOCK_TEST(connect_to_own_address_reaches_own_listener)
{
	int port, lfd = listen_any(_metadata, self, SOCK_STREAM, 4, &port);
	int fd = new_socket(_metadata, self, SOCK_STREAM);

	connect_own(_metadata, fd, lfd, self->guest, port, self->guest);
	close(fd);
	close(lfd);
}

/* Linux: 0.0.0.0 as a destination is this host, reached over 127.0.0.1. */
SOCK_TEST(connect_to_any_address_reaches_own_listener)
{
	int port, lfd = listen_any(_metadata, self, SOCK_STREAM, 4, &port);
	int fd = new_socket(_metadata, self, SOCK_STREAM);

	connect_own(_metadata, fd, lfd, (struct in_addr){ INADDR_ANY }, port,
		    (struct in_addr){ htonl(INADDR_LOOPBACK) });
	close(fd);
	close(lfd);
}

/* ... or over the socket's bound address if it has one. */
SOCK_TEST(connect_bound_to_any_address_goes_to_bound_address)
{
	int port, lfd = listen_any(_metadata, self, SOCK_STREAM, 4, &port);
	int fd = new_socket(_metadata, self, SOCK_STREAM);
	struct sockaddr_in sin = sin_of(self->guest, 0);

	ASSERT_EQ(0, bind(fd, (struct sockaddr *)&sin, sizeof(sin)));
	connect_own(_metadata, fd, lfd, (struct in_addr){ INADDR_ANY }, port,
		    self->guest);
	close(fd);
	close(lfd);
}

SOCK_TEST(udp_sendto_own_and_any_address_arrives)
{
	struct sockaddr_in sin = sin_of((struct in_addr){ INADDR_ANY }, 0), from;
	struct in_addr dst[2] = { self->guest, { INADDR_ANY } };
	struct in_addr src[2] = { self->guest, { htonl(INADDR_LOOPBACK) } };
	int rfd = new_socket(_metadata, self, SOCK_DGRAM);
	int sfd = new_socket(_metadata, self, SOCK_DGRAM);
	socklen_t len = sizeof(sin);
	char buf[16];

	ASSERT_EQ(0, bind(rfd, (struct sockaddr *)&sin, sizeof(sin)));
	ASSERT_EQ(0, getsockname(rfd, (struct sockaddr *)&sin, &len));
	ASSERT_EQ(0, set_timeout(rfd, SO_RCVTIMEO, WAIT_MS));
	for (int i = 0; i < 2; i++) {
		struct sockaddr_in to = sin_of(dst[i], ntohs(sin.sin_port));

		ASSERT_EQ(3, sendto(sfd, "own", 3, 0, (struct sockaddr *)&to, sizeof(to)))
			TH_LOG("sendto %s: %s", inet_ntoa(dst[i]), strerror(errno));
		len = sizeof(from);
		ASSERT_EQ(3, recvfrom(rfd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len))
			TH_LOG("datagram to %s: %s", inet_ntoa(dst[i]), strerror(errno));
		EXPECT_EQ(0, memcmp(buf, "own", 3));
		EXPECT_EQ(src[i].s_addr, from.sin_addr.s_addr)
			TH_LOG("to %s: from %s", inet_ntoa(dst[i]), inet_ntoa(from.sin_addr));
	}
	close(sfd);
	close(rfd);
}

/*
 * All of 127.0.0.0/8 is this host, as Linux's lo has it: a listener and a
 * datagram socket on 127.0.0.5 and 127.0.0.3 are reached there, from
 * 127.0.0.1 (the route's source).
 */
SOCK_TEST(loopback_net_beyond_127_0_0_1_is_local)
{
	const struct in_addr lo5 = { htonl(0x7f000005) }, lo3 = { htonl(0x7f000003) };
	struct sockaddr_in sin = sin_of(lo5, 0), name;
	socklen_t len = sizeof(sin);
	int lfd = new_socket(_metadata, self, SOCK_STREAM);
	int fd = new_socket(_metadata, self, SOCK_STREAM);
	int rfd = new_socket(_metadata, self, SOCK_DGRAM);
	int sfd = new_socket(_metadata, self, SOCK_DGRAM);
	char c = 0, buf[8];
	int afd;

	ASSERT_EQ(0, bind(lfd, (struct sockaddr *)&sin, sizeof(sin)));
	ASSERT_EQ(0, listen(lfd, 1));
	ASSERT_EQ(0, getsockname(lfd, (struct sockaddr *)&sin, &len));
	ASSERT_EQ(0, set_timeout(fd, SO_SNDTIMEO, WAIT_MS));
	ASSERT_EQ(0, connect(fd, (struct sockaddr *)&sin, sizeof(sin)))
		TH_LOG("connect to 127.0.0.5: %s", strerror(errno));
	afd = accept_within(_metadata, lfd, 0);
	len = sizeof(name);
	ASSERT_EQ(0, getsockname(fd, (struct sockaddr *)&name, &len));
	EXPECT_EQ(htonl(INADDR_LOOPBACK), name.sin_addr.s_addr)
		TH_LOG("local %s", inet_ntoa(name.sin_addr));
	ASSERT_EQ(1, send(fd, "x", 1, 0));
	ASSERT_EQ(1, recv(afd, &c, 1, 0));
	EXPECT_EQ('x', c);
	close(afd);

	sin = sin_of(lo3, 0);
	len = sizeof(sin);
	ASSERT_EQ(0, bind(rfd, (struct sockaddr *)&sin, sizeof(sin)));
	ASSERT_EQ(0, getsockname(rfd, (struct sockaddr *)&sin, &len));
	ASSERT_EQ(0, set_timeout(rfd, SO_RCVTIMEO, WAIT_MS));
	ASSERT_EQ(3, sendto(sfd, "lo3", 3, 0, (struct sockaddr *)&sin, sizeof(sin)));
	len = sizeof(name);
	ASSERT_EQ(3, recvfrom(rfd, buf, sizeof(buf), 0, (struct sockaddr *)&name, &len))
		TH_LOG("datagram to 127.0.0.3: %s", strerror(errno));
	EXPECT_EQ(0, memcmp(buf, "lo3", 3));
	EXPECT_EQ(htonl(INADDR_LOOPBACK), name.sin_addr.s_addr)
		TH_LOG("from %s", inet_ntoa(name.sin_addr));
	close(sfd);
	close(rfd);
	close(fd);
	close(lfd);
}

/*
 * sendto(MSG_FASTOPEN) with no Fast Open cookie (the peer offers none):
 * a connect and then the data, blocking; EINPROGRESS without waiting, the
 * data unsent; EISCONN once connected.
 */
SOCK_TEST(sendto_msg_fastopen_connects_then_sends)
{
	struct sockaddr_in peer = peer_at(self, PORT_ECHO);
	int fd = new_socket(_metadata, self, SOCK_STREAM);
	int nb = new_socket(_metadata, self, SOCK_STREAM);
	char buf[8] = "";

	ASSERT_EQ(0, set_timeout(fd, SO_SNDTIMEO, WAIT_MS));
	ASSERT_EQ(5, sendto(fd, "hello", 5, MSG_FASTOPEN, (struct sockaddr *)&peer,
			    sizeof(peer)))
		TH_LOG("sendto(MSG_FASTOPEN): %s", strerror(errno));
	recv_exact(_metadata, fd, buf, 5);
	EXPECT_EQ(0, memcmp(buf, "hello", 5));
	errno = 0;
	EXPECT_EQ(-1, sendto(fd, "x", 1, MSG_FASTOPEN, (struct sockaddr *)&peer,
			     sizeof(peer)));
	EXPECT_EQ(EISCONN, errno);

	errno = 0;
	EXPECT_EQ(-1, sendto(nb, "hi", 2, MSG_FASTOPEN | MSG_DONTWAIT,
			     (struct sockaddr *)&peer, sizeof(peer)));
	EXPECT_EQ(EINPROGRESS, errno);
	ASSERT_TRUE(poll_one(nb, POLLOUT, WAIT_MS) & POLLOUT);
	ASSERT_EQ(2, send(nb, "hi", 2, 0));
	recv_exact(_metadata, nb, buf, 2);
	EXPECT_EQ(0, memcmp(buf, "hi", 2));
	close(nb);
	close(fd);
}

SOCK_TEST(connect_when_connected_is_eisconn)
{
	struct sockaddr_in sin = peer_at(self, PORT_ECHO);
	int fd = connect_peer(_metadata, self, PORT_ECHO);

	errno = 0;
	EXPECT_EQ(-1, connect(fd, (struct sockaddr *)&sin, sizeof(sin)));
	EXPECT_EQ(EISCONN, errno);
	close(fd);
}

/*
 * After a non-blocking connect completes, the next connect() is how an
 * application learns the outcome: it returns 0 once, then EISCONN.
 */
SOCK_TEST(connect_again_after_nonblocking_connect_is_zero_then_eisconn)
{
	struct sockaddr_in sin = peer_at(self, PORT_ECHO);
	int fd = new_socket(_metadata, self, SOCK_STREAM | SOCK_NONBLOCK);

	errno = 0;
	ASSERT_EQ(-1, connect(fd, (struct sockaddr *)&sin, sizeof(sin)));
	ASSERT_EQ(EINPROGRESS, errno);
	ASSERT_EQ(POLLOUT, poll_one(fd, POLLOUT, WAIT_MS));
	EXPECT_EQ(0, connect(fd, (struct sockaddr *)&sin, sizeof(sin)))
		TH_LOG("connect: %s", strerror(errno));
	errno = 0;
	EXPECT_EQ(-1, connect(fd, (struct sockaddr *)&sin, sizeof(sin)));
	EXPECT_EQ(EISCONN, errno);
	close(fd);
}

/* A listener is not "unconnected": Linux answers EISCONN. */
SOCK_TEST(connect_on_listener_is_eisconn)
{
	struct sockaddr_in sin = peer_at(self, PORT_ECHO);
	int port, lfd = listen_any(_metadata, self, SOCK_STREAM, 1, &port);

	errno = 0;
	EXPECT_EQ(-1, connect(lfd, (struct sockaddr *)&sin, sizeof(sin)));
	EXPECT_EQ(EISCONN, errno);
	close(lfd);
}

SOCK_TEST(connect_short_addrlen_is_einval)
{
	struct sockaddr_in sin = peer_at(self, PORT_ECHO);
	int fd = new_socket(_metadata, self, SOCK_STREAM);

	errno = 0;
	EXPECT_EQ(-1, connect(fd, (struct sockaddr *)&sin, sizeof(sin) - 1));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
}

SOCK_TEST(connect_wrong_family_is_eafnosupport)
{
	struct sockaddr_in sin = peer_at(self, PORT_ECHO);
	int fd = new_socket(_metadata, self, SOCK_STREAM);

	sin.sin_family = AF_UNIX;
	errno = 0;
	EXPECT_EQ(-1, connect(fd, (struct sockaddr *)&sin, sizeof(sin)));
	EXPECT_EQ(EAFNOSUPPORT, errno);
	close(fd);
}

/* A port of the peer's where SYNs go unanswered, for this control connection. */
static int blackhole_port(struct __test_metadata *_metadata,
			  FIXTURE_DATA(sock) *self)
{
	char line[64];
	int port = 0;

	ctl_send(_metadata, self, "BLACKHOLE");
	ctl_recv(_metadata, self, line, sizeof(line));
	ASSERT_EQ(1, sscanf(line, "OK %d", &port)) TH_LOG("BLACKHOLE: %s", line);
	return port;
}

SOCK_TEST(connect_again_while_in_progress_is_ealready)
{
	struct sockaddr_in sin = peer_at(self, blackhole_port(_metadata, self));
	int fd = new_socket(_metadata, self, SOCK_STREAM | SOCK_NONBLOCK);

	errno = 0;
	ASSERT_EQ(-1, connect(fd, (struct sockaddr *)&sin, sizeof(sin)));
	ASSERT_EQ(EINPROGRESS, errno);
	errno = 0;
	EXPECT_EQ(-1, connect(fd, (struct sockaddr *)&sin, sizeof(sin)));
	EXPECT_EQ(EALREADY, errno);
	EXPECT_EQ(0, poll_one(fd, POLLOUT, 0));
	close(fd);
}

/* One SYN retransmission (TCP_SYNCNT 1): ETIMEDOUT after about 3 s. */
SOCK_TEST(connect_unanswered_is_etimedout)
{
	struct sockaddr_in sin = peer_at(self, blackhole_port(_metadata, self));
	int fd = new_socket(_metadata, self, SOCK_STREAM);

	ASSERT_EQ(0, set_int(fd, IPPROTO_TCP, TCP_SYNCNT, 1))
		TH_LOG("TCP_SYNCNT: %s", strerror(errno));
	errno = 0;
	EXPECT_EQ(-1, connect(fd, (struct sockaddr *)&sin, sizeof(sin)));
	EXPECT_EQ(ETIMEDOUT, errno);
	close(fd);
}

/* SO_SNDTIMEO bounds a blocking connect, which then reports EINPROGRESS. */
SOCK_TEST(connect_sndtimeo_expiry_is_einprogress)
{
	struct sockaddr_in sin = peer_at(self, blackhole_port(_metadata, self));
	int fd = new_socket(_metadata, self, SOCK_STREAM);
	struct timespec t0;

	ASSERT_EQ(0, set_timeout(fd, SO_SNDTIMEO, 300));
	t0 = now();
	errno = 0;
	EXPECT_EQ(-1, connect(fd, (struct sockaddr *)&sin, sizeof(sin)));
	EXPECT_EQ(EINPROGRESS, errno);
	EXPECT_LE(290, ms_since(&t0));
	errno = 0;
	EXPECT_EQ(-1, connect(fd, (struct sockaddr *)&sin, sizeof(sin)));
	EXPECT_EQ(EALREADY, errno);
	close(fd);
}

/* ---- getsockname() and getpeername() ---- */

SOCK_TEST(getpeername_unconnected_is_enotconn)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = new_socket(_metadata, self, SOCK_STREAM);

	errno = 0;
	EXPECT_EQ(-1, getpeername(fd, (struct sockaddr *)&sin, &len));
	EXPECT_EQ(ENOTCONN, errno);
	close(fd);
}

SOCK_TEST(getsockname_unbound_is_any_port_zero)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = new_socket(_metadata, self, SOCK_STREAM);

	memset(&sin, 0xff, sizeof(sin));
	ASSERT_EQ(0, getsockname(fd, (struct sockaddr *)&sin, &len));
	EXPECT_EQ(sizeof(sin), len);
	EXPECT_EQ(AF_INET, sin.sin_family);
	EXPECT_EQ(0, sin.sin_port);
	EXPECT_EQ(INADDR_ANY, ntohl(sin.sin_addr.s_addr));
	close(fd);
}

SOCK_TEST(getsockname_and_getpeername_after_connect)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = connect_peer(_metadata, self, PORT_ECHO);

	ASSERT_EQ(0, getsockname(fd, (struct sockaddr *)&sin, &len));
	EXPECT_EQ(sizeof(sin), len);
	EXPECT_EQ(AF_INET, sin.sin_family);
	EXPECT_EQ(self->guest.s_addr, sin.sin_addr.s_addr);
	EXPECT_NE(0, sin.sin_port);
	len = sizeof(sin);
	ASSERT_EQ(0, getpeername(fd, (struct sockaddr *)&sin, &len));
	EXPECT_EQ(sizeof(sin), len);
	EXPECT_EQ(AF_INET, sin.sin_family);
	EXPECT_EQ(self->peer.s_addr, sin.sin_addr.s_addr);
	EXPECT_EQ(PORT_ECHO, ntohs(sin.sin_port));
	close(fd);
}

/* ---- moving data ---- */

SOCK_TEST(send_recv_roundtrip)
{
	int fd = connect_peer(_metadata, self, PORT_ECHO);
	char buf[8] = { 0 };

	ASSERT_EQ(5, send(fd, "hello", 5, 0));
	ASSERT_TRUE(poll_one(fd, POLLIN, WAIT_MS) & POLLIN);
	recv_exact(_metadata, fd, buf, 5);
	EXPECT_STREQ("hello", buf);
	close(fd);
}

SOCK_TEST(write_read_roundtrip)
{
	int fd = connect_peer(_metadata, self, PORT_ECHO);
	char buf[8] = { 0 };
	size_t got = 0;

	ASSERT_EQ(5, write(fd, "world", 5));
	while (got < 5) {
		ssize_t n;

		ASSERT_TRUE(poll_one(fd, POLLIN, WAIT_MS) & POLLIN);
		n = read(fd, buf + got, 5 - got);
		ASSERT_LT(0, n);
		got += n;
	}
	EXPECT_STREQ("world", buf);
	close(fd);
}

SOCK_TEST(writev_readv_roundtrip)
{
	int fd = connect_peer(_metadata, self, PORT_ECHO);
	char a[4] = { 0 }, b[8] = { 0 };
	struct iovec out[3] = {
		{ "one", 3 }, { "two", 3 }, { "three", 5 },
	};
	struct iovec in[2] = { { a, 3 }, { b, 8 } };
	ssize_t got = 0;

	ASSERT_EQ(11, writev(fd, out, 3));
	wait_inq(_metadata, fd, 11);
	got = readv(fd, in, 2);
	EXPECT_EQ(11, got);
	EXPECT_STREQ("one", a);
	EXPECT_EQ(0, memcmp("twothree", b, 8));
	close(fd);
}

SOCK_TEST(sendmsg_recvmsg_roundtrip)
{
	int fd = connect_peer(_metadata, self, PORT_ECHO);
	char a[5] = { 0 }, b[6] = { 0 };
	struct iovec out[2] = { { "abcd", 4 }, { "efghi", 5 } };
	struct iovec in[2] = { { a, 4 }, { b, 5 } };
	struct msghdr msg = { .msg_iov = out, .msg_iovlen = 2 };

	ASSERT_EQ(9, sendmsg(fd, &msg, 0));
	msg = (struct msghdr){ .msg_iov = in, .msg_iovlen = 2 };
	ASSERT_TRUE(poll_one(fd, POLLIN, WAIT_MS) & POLLIN);
	EXPECT_EQ(9, recvmsg(fd, &msg, MSG_WAITALL));
	EXPECT_STREQ("abcd", a);
	EXPECT_STREQ("efghi", b);
	EXPECT_EQ(0, msg.msg_flags);
	close(fd);
}

/* On a stream socket the address is ignored, and none is returned. */
SOCK_TEST(sendto_recvfrom_on_stream_carry_no_address)
{
	int fd = connect_peer(_metadata, self, PORT_ECHO);
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	char buf[4] = { 0 };

	ASSERT_EQ(3, sendto(fd, "abc", 3, 0, NULL, 0));
	wait_inq(_metadata, fd, 3);
	memset(&sin, 0xff, sizeof(sin));
	EXPECT_EQ(3, recvfrom(fd, buf, 3, 0, (struct sockaddr *)&sin, &len));
	EXPECT_STREQ("abc", buf);
	EXPECT_EQ(0, len);
	close(fd);
}

SOCK_TEST(chargen_stream_arrives_intact)
{
	const size_t total = 1 << 20;
	char *buf = malloc(total);
	int fd = connect_peer(_metadata, self, PORT_CHARGEN);

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(8, send(fd, "1048576\n", 8, 0));
	recv_exact(_metadata, fd, buf, total);
	EXPECT_EQ(total, check_pattern(buf, 0, total));
	expect_eof(_metadata, fd);
	free(buf);
	close(fd);
}

/* Both directions at once, through the echo service. */
SOCK_TEST(bulk_echo_arrives_intact)
{
	const size_t total = 256 << 10;
	char *out = malloc(total), *in = malloc(total);
	int fd = connect_peer(_metadata, self, PORT_ECHO);
	size_t sent = 0, got = 0;

	ASSERT_NE(NULL, out);
	ASSERT_NE(NULL, in);
	fill_pattern(out, 7, total);
	set_nonblock(fd, true);
	while (got < total) {
		struct pollfd p = {
			.fd = fd,
			.events = POLLIN | (sent < total ? POLLOUT : 0),
		};
		ssize_t n;

		ASSERT_EQ(1, poll(&p, 1, WAIT_MS)) TH_LOG("stalled at %zu/%zu", got, sent);
		if (p.revents & POLLOUT) {
			n = send(fd, out + sent, total - sent, 0);
			ASSERT_LT(0, n);
			sent += n;
		}
		if (p.revents & POLLIN) {
			n = recv(fd, in + got, total - got, 0);
			ASSERT_LT(0, n);
			got += n;
		}
	}
	EXPECT_EQ(total, check_pattern(in, 7, total));
	free(out);
	free(in);
	close(fd);
}

SOCK_TEST(recv_dontwait_on_empty_is_eagain)
{
	int fd = connect_peer(_metadata, self, PORT_ECHO);
	char c;

	errno = 0;
	EXPECT_EQ(-1, recv(fd, &c, 1, MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
	close(fd);
}

SOCK_TEST(recv_o_nonblock_on_empty_is_eagain)
{
	int fd = connect_peer(_metadata, self, PORT_ECHO);
	char c;

	set_nonblock(fd, true);
	errno = 0;
	EXPECT_EQ(-1, recv(fd, &c, 1, 0));
	EXPECT_EQ(EAGAIN, errno);
	errno = 0;
	EXPECT_EQ(-1, read(fd, &c, 1));
	EXPECT_EQ(EAGAIN, errno);
	close(fd);
}

SOCK_TEST(recv_peek_keeps_data)
{
	int fd = connect_peer(_metadata, self, PORT_ECHO);
	char buf[8] = { 0 };

	send_all(_metadata, fd, "peek", 4);
	wait_inq(_metadata, fd, 4);
	EXPECT_EQ(4, recv(fd, buf, sizeof(buf), MSG_PEEK));
	EXPECT_STREQ("peek", buf);
	EXPECT_EQ(2, recv(fd, buf, 2, MSG_PEEK));
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(4, recv(fd, buf, sizeof(buf), 0));
	EXPECT_STREQ("peek", buf);
	errno = 0;
	EXPECT_EQ(-1, recv(fd, buf, 1, MSG_DONTWAIT | MSG_PEEK));
	EXPECT_EQ(EAGAIN, errno);
	close(fd);
}

/* 3000 bytes come as three writes 100 ms apart: one recv gets them all. */
SOCK_TEST(recv_waitall_waits_for_full_length)
{
	int fd = connect_peer(_metadata, self, PORT_CHARGEN);
	char buf[3000];
	struct timespec t0 = now();

	ASSERT_EQ(14, send(fd, "3000 1000 100\n", 14, 0));
	EXPECT_EQ(sizeof(buf), recv(fd, buf, sizeof(buf), MSG_WAITALL));
	EXPECT_LE(190, ms_since(&t0));
	EXPECT_EQ(sizeof(buf), check_pattern(buf, 0, sizeof(buf)));
	close(fd);
}

SOCK_TEST(recv_waitall_returns_short_at_eof)
{
	int fd = connect_peer(_metadata, self, PORT_CHARGEN);
	char buf[200];

	ASSERT_EQ(4, send(fd, "100\n", 4, 0));
	EXPECT_EQ(100, recv(fd, buf, sizeof(buf), MSG_WAITALL));
	EXPECT_EQ(100, check_pattern(buf, 0, 100));
	close(fd);
}

SOCK_TEST(recv_after_orderly_close_is_zero_again_and_again)
{
	int fd = connect_peer(_metadata, self, PORT_CHARGEN);
	char buf[10];

	ASSERT_EQ(3, send(fd, "10\n", 3, 0));
	recv_exact(_metadata, fd, buf, sizeof(buf));
	expect_eof(_metadata, fd);
	EXPECT_EQ(0, recv(fd, buf, 1, 0));
	EXPECT_EQ(0, recv(fd, buf, 1, MSG_DONTWAIT));
	close(fd);
}

SOCK_TEST(recv_on_unconnected_is_enotconn)
{
	int fd = new_socket(_metadata, self, SOCK_STREAM);
	char c;

	errno = 0;
	EXPECT_EQ(-1, recv(fd, &c, 1, 0));
	EXPECT_EQ(ENOTCONN, errno);
	close(fd);
}

SOCK_TEST(recv_on_listener_is_enotconn)
{
	int port, lfd = listen_any(_metadata, self, SOCK_STREAM, 1, &port);
	char c;

	errno = 0;
	EXPECT_EQ(-1, recv(lfd, &c, 1, 0));
	EXPECT_EQ(ENOTCONN, errno);
	close(lfd);
}

/* Linux answers EPIPE here, not ENOTCONN, and raises SIGPIPE. */
SOCK_TEST(send_on_unconnected_is_epipe_and_sigpipe)
{
	int fd = new_socket(_metadata, self, SOCK_STREAM);

	errno = 0;
	EXPECT_EQ(-1, send(fd, "x", 1, 0));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_EQ(1, sigpipes);
	close(fd);
}

SOCK_TEST(send_after_shutdown_wr_is_epipe_and_sigpipe)
{
	int fd = connect_peer(_metadata, self, PORT_DISCARD);

	ASSERT_EQ(0, shutdown(fd, SHUT_WR));
	errno = 0;
	EXPECT_EQ(-1, send(fd, "x", 1, 0));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_EQ(1, sigpipes);
	errno = 0;
	EXPECT_EQ(-1, write(fd, "x", 1));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_EQ(2, sigpipes);
	close(fd);
}

SOCK_TEST(send_nosignal_after_shutdown_wr_is_epipe_without_sigpipe)
{
	int fd = connect_peer(_metadata, self, PORT_DISCARD);

	ASSERT_EQ(0, shutdown(fd, SHUT_WR));
	errno = 0;
	EXPECT_EQ(-1, send(fd, "x", 1, MSG_NOSIGNAL));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_EQ(0, sigpipes);
	close(fd);
}

/* The reset is reported once as ECONNRESET; after that the stream is at EOF. */
SOCK_TEST(recv_after_peer_reset_is_econnreset)
{
	int fd = connect_reset(_metadata, self);
	char c;

	ASSERT_TRUE(poll_one(fd, POLLIN, WAIT_MS) & POLLERR);
	errno = 0;
	EXPECT_EQ(-1, recv(fd, &c, 1, 0));
	EXPECT_EQ(ECONNRESET, errno);
	EXPECT_EQ(0, recv(fd, &c, 1, 0));
	close(fd);
}

/* Once the reset is reported (here through SO_ERROR), send is EPIPE. */
SOCK_TEST(send_after_peer_reset_is_epipe_and_sigpipe)
{
	int fd = connect_reset(_metadata, self);

	ASSERT_TRUE(poll_one(fd, POLLIN, WAIT_MS) & POLLERR);
	EXPECT_EQ(ECONNRESET, get_int(fd, SOL_SOCKET, SO_ERROR));
	errno = 0;
	EXPECT_EQ(-1, send(fd, "x", 1, 0));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_EQ(1, sigpipes);
	errno = 0;
	EXPECT_EQ(-1, send(fd, "x", 1, MSG_NOSIGNAL));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_EQ(1, sigpipes);
	close(fd);
}

/* ---- shutdown() and close() ---- */

SOCK_TEST(shutdown_wr_peer_sees_eof_and_we_still_receive)
{
	char token[32], line[64], buf[4] = { 0 };
	int fd = connect_report(_metadata, self, token, sizeof(token));

	send_all(_metadata, fd, "abc", 3);
	ASSERT_EQ(0, shutdown(fd, SHUT_WR));
	recv_exact(_metadata, fd, buf, 3);
	EXPECT_STREQ("abc", buf);
	expect_eof(_metadata, fd);
	ctl_wait(_metadata, self, token, line, sizeof(line));
	EXPECT_STREQ("EOF 3", line);
	close(fd);
}

SOCK_TEST(shutdown_rd_makes_recv_return_zero)
{
	int fd = connect_peer(_metadata, self, PORT_ECHO);
	char c;

	ASSERT_EQ(0, shutdown(fd, SHUT_RD));
	EXPECT_EQ(0, recv(fd, &c, 1, MSG_DONTWAIT));
	EXPECT_EQ(0, recv(fd, &c, 1, 0));
	close(fd);
}

SOCK_TEST(shutdown_rdwr_ends_both_directions)
{
	char token[32], line[64], c;
	int fd = connect_report(_metadata, self, token, sizeof(token));

	ASSERT_EQ(0, shutdown(fd, SHUT_RDWR));
	EXPECT_EQ(0, recv(fd, &c, 1, 0));
	errno = 0;
	EXPECT_EQ(-1, send(fd, "x", 1, MSG_NOSIGNAL));
	EXPECT_EQ(EPIPE, errno);
	ctl_wait(_metadata, self, token, line, sizeof(line));
	EXPECT_STREQ("EOF 0", line);
	close(fd);
}

SOCK_TEST(shutdown_unconnected_is_enotconn)
{
	int fd = new_socket(_metadata, self, SOCK_STREAM);

	errno = 0;
	EXPECT_EQ(-1, shutdown(fd, SHUT_RDWR));
	EXPECT_EQ(ENOTCONN, errno);
	close(fd);
}

SOCK_TEST(shutdown_bad_how_is_einval)
{
	int fd = connect_peer(_metadata, self, PORT_ECHO);

	errno = 0;
	EXPECT_EQ(-1, shutdown(fd, 3));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
}

/* The peer's half-close: we read its data, then EOF, and can still send. */
SOCK_TEST(peer_shutdown_wr_gives_eof_and_we_still_send)
{
	char token[32], line[64], buf[8] = { 0 };
	int fd = connect_peer(_metadata, self, PORT_HALF_CLOSE);
	int n;

	recv_exact(_metadata, fd, buf, 6);
	EXPECT_STREQ("hello\n", buf);
	expect_eof(_metadata, fd);
	make_token(self, token, sizeof(token));
	n = snprintf(line, sizeof(line), "TOKEN %s\nxyz", token);
	send_all(_metadata, fd, line, n);
	close(fd);
	ctl_wait(_metadata, self, token, line, sizeof(line));
	EXPECT_STREQ("EOF 3", line);
}

SOCK_TEST(close_without_linger_peer_sees_eof)
{
	char token[32], line[64], buf[3] = { 0 };
	int fd = connect_report(_metadata, self, token, sizeof(token));

	send_all(_metadata, fd, "xy", 2);
	recv_exact(_metadata, fd, buf, 2);
	close(fd);
	ctl_wait(_metadata, self, token, line, sizeof(line));
	EXPECT_STREQ("EOF 2", line);
}

SOCK_TEST(close_with_linger_zero_peer_sees_reset)
{
	char token[32], line[64], buf[3] = { 0 };
	struct linger l = { .l_onoff = 1, .l_linger = 0 };
	int fd = connect_report(_metadata, self, token, sizeof(token));

	send_all(_metadata, fd, "xy", 2);
	recv_exact(_metadata, fd, buf, 2);
	ASSERT_EQ(0, setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)));
	close(fd);
	ctl_wait(_metadata, self, token, line, sizeof(line));
	EXPECT_STREQ("RESET 2", line);
}

/* Closing with received data unread aborts the connection (RFC 2525). */
SOCK_TEST(close_with_unread_data_peer_sees_reset)
{
	char token[32], line[64];
	int fd = connect_report(_metadata, self, token, sizeof(token));

	send_all(_metadata, fd, "xy", 2);
	wait_inq(_metadata, fd, 2);
	close(fd);
	ctl_wait(_metadata, self, token, line, sizeof(line));
	EXPECT_STREQ("RESET 2", line);
}

/* ---- poll(), select(), epoll ---- */

/* An unconnected stream socket polls as writable and hung up. */
SOCK_TEST(poll_fresh_socket_is_pollout_and_pollhup)
{
	int fd = new_socket(_metadata, self, SOCK_STREAM);

	EXPECT_EQ(POLLOUT | POLLHUP, poll_one(fd, POLLIN | POLLOUT, 0));
	close(fd);
}

SOCK_TEST(poll_reports_pollin_when_data_arrives)
{
	int fd = connect_peer(_metadata, self, PORT_ECHO);

	EXPECT_EQ(0, poll_one(fd, POLLIN, 0));
	send_all(_metadata, fd, "x", 1);
	EXPECT_EQ(POLLIN, poll_one(fd, POLLIN, WAIT_MS));
	close(fd);
}

SOCK_TEST(poll_listener_pollin_when_connection_pending)
{
	int port, lfd = listen_any(_metadata, self, SOCK_STREAM, 1, &port);

	EXPECT_EQ(0, poll_one(lfd, POLLIN | POLLOUT, 0));
	ctl_send(_metadata, self, "CONNECT %s %d 0", inet_ntoa(self->guest), port);
	EXPECT_EQ(POLLIN, poll_one(lfd, POLLIN | POLLOUT, WAIT_MS));
	close(accept_within(_metadata, lfd, 0));
	ctl_expect(_metadata, self, "OK 0");
	close(lfd);
}

SOCK_TEST(select_reports_readable_and_writable)
{
	int fd = connect_peer(_metadata, self, PORT_ECHO);
	struct timeval tv = { 0 };
	fd_set r, w;

	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_SET(fd, &r);
	FD_SET(fd, &w);
	EXPECT_EQ(1, select(fd + 1, &r, &w, NULL, &tv));
	EXPECT_FALSE(FD_ISSET(fd, &r));
	EXPECT_TRUE(FD_ISSET(fd, &w));

	send_all(_metadata, fd, "x", 1);
	FD_ZERO(&r);
	FD_SET(fd, &r);
	tv.tv_sec = WAIT_MS / 1000;
	EXPECT_EQ(1, select(fd + 1, &r, NULL, NULL, &tv));
	EXPECT_TRUE(FD_ISSET(fd, &r));
	close(fd);
}

static int epoll_watch(struct __test_metadata *_metadata, int fd,
		       unsigned int events)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };
	int ep = epoll_create1(EPOLL_CLOEXEC);

	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
	return ep;
}

/* The events epoll reports within ms, or 0. */
static unsigned int epoll_events(int ep, int ms)
{
	struct epoll_event ev;

	if (epoll_wait(ep, &ev, 1, ms) != 1)
		return 0;
	return ev.events;
}

SOCK_TEST(epoll_reports_epollout_only_while_writable)
{
	int fd = connect_peer(_metadata, self, PORT_ECHO);
	int ep = epoll_watch(_metadata, fd, EPOLLOUT);

	EXPECT_EQ(EPOLLOUT, epoll_events(ep, WAIT_MS));
	close(ep);
	close(fd);

	fd = connect_full_sink(_metadata, self);
	ep = epoll_watch(_metadata, fd, EPOLLOUT);
	EXPECT_EQ(0, epoll_events(ep, 100));
	close(ep);
	abort_close(fd);
}

SOCK_TEST(epoll_reports_epollin_when_data_arrives)
{
	int fd = connect_peer(_metadata, self, PORT_ECHO);
	int ep = epoll_watch(_metadata, fd, EPOLLIN | EPOLLRDHUP);

	EXPECT_EQ(0, epoll_events(ep, 0));
	send_all(_metadata, fd, "x", 1);
	EXPECT_EQ(EPOLLIN, epoll_events(ep, WAIT_MS));
	close(ep);
	close(fd);
}

/* The peer's FIN: readable and read-hung-up, but not hung up. */
SOCK_TEST(epoll_reports_rdhup_on_peer_shutdown_wr)
{
	int fd = connect_peer(_metadata, self, PORT_HALF_CLOSE);
	int ep = epoll_watch(_metadata, fd, EPOLLIN | EPOLLRDHUP);
	char buf[6];
	unsigned int ev = 0;
	struct timespec t0 = now();

	/* "hello\n" and the FIN may arrive apart. */
	while (!(ev & EPOLLRDHUP) && ms_since(&t0) < WAIT_MS) {
		ev = epoll_events(ep, WAIT_MS);
		if (!(ev & EPOLLRDHUP))
			usleep(2000);
	}
	EXPECT_EQ(EPOLLIN | EPOLLRDHUP, ev);
	recv_exact(_metadata, fd, buf, sizeof(buf));
	EXPECT_EQ(EPOLLIN | EPOLLRDHUP, epoll_events(ep, 0));
	close(ep);
	close(fd);
}

SOCK_TEST(epoll_reports_hup_and_err_after_reset)
{
	int fd = connect_reset(_metadata, self);
	int ep = epoll_watch(_metadata, fd, EPOLLIN | EPOLLRDHUP);
	unsigned int ev = epoll_events(ep, WAIT_MS);

	EXPECT_EQ(EPOLLHUP | EPOLLERR, ev & (EPOLLHUP | EPOLLERR));
	close(ep);
	close(fd);
}

SOCK_TEST(epoll_level_triggered_reports_repeatedly)
{
	int fd = connect_peer(_metadata, self, PORT_ECHO);
	int ep = epoll_watch(_metadata, fd, EPOLLIN);

	send_all(_metadata, fd, "x", 1);
	EXPECT_EQ(EPOLLIN, epoll_events(ep, WAIT_MS));
	EXPECT_EQ(EPOLLIN, epoll_events(ep, 0));
	EXPECT_EQ(EPOLLIN, epoll_events(ep, 0));
	close(ep);
	close(fd);
}

SOCK_TEST(epoll_edge_triggered_reports_once_per_arrival)
{
	int fd = connect_peer(_metadata, self, PORT_ECHO);
	int ep = epoll_watch(_metadata, fd, EPOLLIN | EPOLLET);

	send_all(_metadata, fd, "x", 1);
	EXPECT_EQ(EPOLLIN, epoll_events(ep, WAIT_MS));
	EXPECT_EQ(0, epoll_events(ep, 0));
	send_all(_metadata, fd, "y", 1);
	EXPECT_EQ(EPOLLIN, epoll_events(ep, WAIT_MS));
	EXPECT_EQ(0, epoll_events(ep, 0));
	close(ep);
	close(fd);
}

/* ---- timeouts ---- */

/*
 * The timeout is rounded up to whole jiffies, but the sleep can begin part
 * way into a jiffy: allow 10 ms (a jiffy is 4 ms in Debian's kernel).
 */
#define TIMEOUT_SLACK_MS	10

SOCK_TEST(rcvtimeo_recv_is_eagain_after_timeout)
{
	int fd = connect_peer(_metadata, self, PORT_ECHO);
	struct timespec t0;
	char c;

	ASSERT_EQ(0, set_timeout(fd, SO_RCVTIMEO, 300));
	t0 = now();
	errno = 0;
	EXPECT_EQ(-1, recv(fd, &c, 1, 0));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_LE(300 - TIMEOUT_SLACK_MS, ms_since(&t0));
	close(fd);
}

/* Each blocking send waits for room; one finding none is EAGAIN. */
SOCK_TEST(sndtimeo_send_is_eagain_after_timeout)
{
	static char chunk[4096];
	int fd = connect_full_sink(_metadata, self);
	int i;

	ASSERT_EQ(0, set_timeout(fd, SO_SNDTIMEO, 300));
	for (i = 0; i < 50; i++) {
		struct timespec t0 = now();
		ssize_t n = send(fd, chunk, sizeof(chunk), MSG_NOSIGNAL);

		if (n < 0) {
			EXPECT_EQ(EAGAIN, errno);
			EXPECT_LE(300 - TIMEOUT_SLACK_MS, ms_since(&t0));
			break;
		}
	}
	EXPECT_GT(50, i) TH_LOG("sends kept finding room");
	abort_close(fd);
}

SOCK_TEST(so_rcvtimeo_and_so_sndtimeo_set_then_get)
{
	int fd = new_socket(_metadata, self, SOCK_STREAM);
	struct timeval tv;
	socklen_t len = sizeof(tv);

	ASSERT_EQ(0, set_timeout(fd, SO_RCVTIMEO, 1500));
	ASSERT_EQ(0, getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &len));
	EXPECT_EQ(1, tv.tv_sec);
	EXPECT_EQ(500000, tv.tv_usec);
	ASSERT_EQ(0, set_timeout(fd, SO_SNDTIMEO, 2000));
	len = sizeof(tv);
	ASSERT_EQ(0, getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, &len));
	EXPECT_EQ(2, tv.tv_sec);
	EXPECT_EQ(0, tv.tv_usec);
	close(fd);
}

/* ---- signals ---- */

static volatile sig_atomic_t alarms;
/* If set, the SIGALRM handler sends a byte on it (to the echo service). */
static int alarm_fd = -1;

static void on_alarm(int sig)
{
	alarms++;
	if (alarm_fd >= 0)
		send(alarm_fd, "!", 1, MSG_NOSIGNAL);
}

static void alarm_in_ms(struct __test_metadata *_metadata, int ms, int sa_flags)
{
	struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = sa_flags };
	struct itimerval it = { .it_value = { 0, ms * 1000 } };

	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &it, NULL));
}

SOCK_TEST(recv_interrupted_without_sa_restart_is_eintr)
{
	int fd = connect_peer(_metadata, self, PORT_ECHO);
	char c;

	alarm_in_ms(_metadata, 200, 0);
	errno = 0;
	EXPECT_EQ(-1, recv(fd, &c, 1, 0));
	EXPECT_EQ(EINTR, errno);
	EXPECT_EQ(1, alarms);
	close(fd);
}

/* The handler sends a byte; the restarted recv receives its echo. */
SOCK_TEST(recv_interrupted_with_sa_restart_continues)
{
	int fd = connect_peer(_metadata, self, PORT_ECHO);
	char c = 0;

	alarm_fd = fd;
	alarm_in_ms(_metadata, 200, SA_RESTART);
	EXPECT_EQ(1, recv(fd, &c, 1, 0));
	EXPECT_EQ('!', c);
	EXPECT_EQ(1, alarms);
	close(fd);
}

/* With a receive timeout Linux does not restart the call: EINTR. */
SOCK_TEST(recv_with_rcvtimeo_interrupted_is_eintr_despite_sa_restart)
{
	int fd = connect_peer(_metadata, self, PORT_ECHO);
	struct timespec t0;
	char c;

	ASSERT_EQ(0, set_timeout(fd, SO_RCVTIMEO, 3000));
	alarm_in_ms(_metadata, 200, SA_RESTART);
	t0 = now();
	errno = 0;
	EXPECT_EQ(-1, recv(fd, &c, 1, 0));
	EXPECT_EQ(EINTR, errno);
	EXPECT_GT(2500, ms_since(&t0));
	EXPECT_EQ(1, alarms);
	close(fd);
}

SOCK_TEST(accept_interrupted_without_sa_restart_is_eintr)
{
	int port, lfd = listen_any(_metadata, self, SOCK_STREAM, 1, &port);

	alarm_in_ms(_metadata, 200, 0);
	errno = 0;
	EXPECT_EQ(-1, accept(lfd, NULL, NULL));
	EXPECT_EQ(EINTR, errno);
	close(lfd);
}

/* ---- ioctls ---- */

SOCK_TEST(fionread_and_siocinq_count_bytes_available)
{
	int fd = connect_peer(_metadata, self, PORT_ECHO);
	char buf[100];
	int n = -1;

	ASSERT_EQ(0, ioctl(fd, FIONREAD, &n));
	EXPECT_EQ(0, n);
	fill_pattern(buf, 0, sizeof(buf));
	send_all(_metadata, fd, buf, sizeof(buf));
	wait_inq(_metadata, fd, 100);
	ASSERT_EQ(0, ioctl(fd, FIONREAD, &n));
	EXPECT_EQ(100, n);
	ASSERT_EQ(0, ioctl(fd, SIOCINQ, &n));
	EXPECT_EQ(100, n);
	recv_exact(_metadata, fd, buf, 40);
	ASSERT_EQ(0, ioctl(fd, FIONREAD, &n));
	EXPECT_EQ(60, n);
	close(fd);
}

/* TCP_INQ: each recvmsg() says how many bytes a next read would get. */
SOCK_TEST(tcp_inq_reports_bytes_left_after_each_read)
{
	int fd = connect_peer(_metadata, self, PORT_ECHO);
	char buf[1000], cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { buf, 400 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;
	int inq = -1;

	EXPECT_EQ(0, get_int(fd, IPPROTO_TCP, TCP_INQ));
	errno = 0;
	EXPECT_EQ(-1, set_int(fd, IPPROTO_TCP, TCP_INQ, 2));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, set_int(fd, IPPROTO_TCP, TCP_INQ, 1));
	EXPECT_EQ(1, get_int(fd, IPPROTO_TCP, TCP_INQ));
	fill_pattern(buf, 0, sizeof(buf));
	send_all(_metadata, fd, buf, sizeof(buf));
	wait_inq(_metadata, fd, sizeof(buf));
	ASSERT_EQ(400, recvmsg(fd, &msg, 0));
	EXPECT_EQ(0, msg.msg_flags & MSG_CTRUNC);
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
		if (cm->cmsg_level == IPPROTO_TCP && cm->cmsg_type == TCP_CM_INQ)
			memcpy(&inq, CMSG_DATA(cm), sizeof(inq));
	EXPECT_EQ(600, inq);
	EXPECT_EQ(400, check_pattern(buf, 0, 400));
	close(fd);
}

/* TCP's MSG_TRUNC drops the bytes without copying them (no buffer needed). */
SOCK_TEST(tcp_recv_msg_trunc_discards_bytes)
{
	int fd = connect_peer(_metadata, self, PORT_ECHO);
	char buf[100];

	fill_pattern(buf, 0, sizeof(buf));
	send_all(_metadata, fd, buf, sizeof(buf));
	wait_inq(_metadata, fd, sizeof(buf));
	EXPECT_EQ(60, recv(fd, NULL, 60, MSG_TRUNC))
		TH_LOG("recv(NULL, MSG_TRUNC): %s", strerror(errno));
	memset(buf, 0, sizeof(buf));
	recv_exact(_metadata, fd, buf, 40);
	EXPECT_EQ(40, check_pattern(buf, 60, 40));
	close(fd);
}

SOCK_TEST(fionread_on_listener_is_einval)
{
	int port, lfd = listen_any(_metadata, self, SOCK_STREAM, 1, &port);
	int n;

	errno = 0;
	EXPECT_EQ(-1, ioctl(lfd, FIONREAD, &n));
	EXPECT_EQ(EINVAL, errno);
	close(lfd);
}

/* Zero once the peer acknowledged everything; more while it cannot. */
SOCK_TEST(siocoutq_counts_unacknowledged_bytes)
{
	int fd = connect_peer(_metadata, self, PORT_ECHO);
	int n = -1;
	long sent;

	/* The echo carries the acknowledgement of what it echoes. */
	echo_roundtrip(_metadata, fd, "ack me");
	ASSERT_EQ(0, ioctl(fd, SIOCOUTQ, &n));
	EXPECT_EQ(0, n);
	close(fd);

	fd = new_socket(_metadata, self, SOCK_STREAM);
	ASSERT_EQ(0, set_int(fd, SOL_SOCKET, SO_SNDBUF, 4096));
	connect_fd(_metadata, self, fd, PORT_SINK);
	sent = fill_send_buffer(_metadata, fd);
	ASSERT_EQ(0, ioctl(fd, SIOCOUTQ, &n));
	EXPECT_LT(0, n);
	EXPECT_GE(sent, n);
	abort_close(fd);
}

/* ---- socket options ---- */

SOCK_TEST(so_reuseaddr_set_then_get)
{
	int fd = new_socket(_metadata, self, SOCK_STREAM);

	EXPECT_EQ(0, get_int(fd, SOL_SOCKET, SO_REUSEADDR));
	ASSERT_EQ(0, set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1));
	EXPECT_EQ(1, get_int(fd, SOL_SOCKET, SO_REUSEADDR));
	ASSERT_EQ(0, set_int(fd, SOL_SOCKET, SO_REUSEADDR, 0));
	EXPECT_EQ(0, get_int(fd, SOL_SOCKET, SO_REUSEADDR));
	close(fd);
}

SOCK_TEST(so_keepalive_set_then_get)
{
	int fd = connect_peer(_metadata, self, PORT_ECHO);

	EXPECT_EQ(0, get_int(fd, SOL_SOCKET, SO_KEEPALIVE));
	ASSERT_EQ(0, set_int(fd, SOL_SOCKET, SO_KEEPALIVE, 1));
	EXPECT_EQ(1, get_int(fd, SOL_SOCKET, SO_KEEPALIVE));
	close(fd);
}

/*
 * The rule for SO_RCVBUF and SO_SNDBUF.  Linux stores twice the value asked
 * for (half of it is bookkeeping overhead) and getsockopt returns that, so
 * the inet variant checks "exactly double".  An AF_JOYRIDE socket's buffer
 * is its slot's byte ring, whose size the netserver fixed at attach: it
 * reports at least what was asked, or, when the ring is smaller, the
 * ring's size, a power of two of at least JR_BUF_MIN.
 */
static void expect_buf_size(struct __test_metadata *_metadata,
			    FIXTURE_DATA(sock) *self, int asked, int got)
{
	if (self->family == AF_INET) {
		EXPECT_EQ(2 * asked, got);
	} else {
		EXPECT_TRUE(got >= asked ||
			    (got >= JR_BUF_MIN && !(got & (got - 1))))
			TH_LOG("asked %d, got %d", asked, got);
	}
}

SOCK_TEST(so_rcvbuf_get_is_at_least_set)
{
	int fd = new_socket(_metadata, self, SOCK_STREAM);

	ASSERT_EQ(0, set_int(fd, SOL_SOCKET, SO_RCVBUF, 65536));
	expect_buf_size(_metadata, self, 65536, get_int(fd, SOL_SOCKET, SO_RCVBUF));
	close(fd);
}

SOCK_TEST(so_sndbuf_get_is_at_least_set)
{
	int fd = new_socket(_metadata, self, SOCK_STREAM);

	ASSERT_EQ(0, set_int(fd, SOL_SOCKET, SO_SNDBUF, 65536));
	expect_buf_size(_metadata, self, 65536, get_int(fd, SOL_SOCKET, SO_SNDBUF));
	close(fd);
}

SOCK_TEST(so_error_is_zero_on_healthy_socket)
{
	int fd = connect_peer(_metadata, self, PORT_ECHO);

	EXPECT_EQ(0, get_int(fd, SOL_SOCKET, SO_ERROR));
	close(fd);
}

SOCK_TEST(so_type_is_sock_stream)
{
	int fd = new_socket(_metadata, self, SOCK_STREAM | SOCK_NONBLOCK);

	EXPECT_EQ(SOCK_STREAM, get_int(fd, SOL_SOCKET, SO_TYPE));
	close(fd);
}

SOCK_TEST(so_domain_is_the_socket_family)
{
	int fd = new_socket(_metadata, self, SOCK_STREAM);

	EXPECT_EQ(variant->family, get_int(fd, SOL_SOCKET, SO_DOMAIN));
	close(fd);
}

SOCK_TEST(so_protocol_is_ipproto_tcp)
{
	int fd = new_socket(_metadata, self, SOCK_STREAM);

	EXPECT_EQ(IPPROTO_TCP, get_int(fd, SOL_SOCKET, SO_PROTOCOL));
	close(fd);
}

SOCK_TEST(so_acceptconn_set_by_listen)
{
	int fd = new_socket(_metadata, self, SOCK_STREAM);

	EXPECT_EQ(0, get_int(fd, SOL_SOCKET, SO_ACCEPTCONN));
	ASSERT_EQ(0, listen(fd, 1));
	EXPECT_EQ(1, get_int(fd, SOL_SOCKET, SO_ACCEPTCONN));
	close(fd);
}

SOCK_TEST(so_linger_set_then_get)
{
	int fd = new_socket(_metadata, self, SOCK_STREAM);
	struct linger l = { .l_onoff = 1, .l_linger = 7 };
	socklen_t len = sizeof(l);

	ASSERT_EQ(0, getsockopt(fd, SOL_SOCKET, SO_LINGER, &l, &len));
	EXPECT_EQ(0, l.l_onoff);
	l = (struct linger){ .l_onoff = 1, .l_linger = 7 };
	ASSERT_EQ(0, setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)));
	memset(&l, 0, sizeof(l));
	len = sizeof(l);
	ASSERT_EQ(0, getsockopt(fd, SOL_SOCKET, SO_LINGER, &l, &len));
	EXPECT_EQ(sizeof(l), len);
	EXPECT_EQ(1, l.l_onoff);
	EXPECT_EQ(7, l.l_linger);
	close(fd);
}

SOCK_TEST(tcp_nodelay_set_then_get)
{
	int fd = connect_peer(_metadata, self, PORT_ECHO);

	EXPECT_EQ(0, get_int(fd, IPPROTO_TCP, TCP_NODELAY));
	ASSERT_EQ(0, set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1));
	EXPECT_EQ(1, get_int(fd, IPPROTO_TCP, TCP_NODELAY));
	echo_roundtrip(_metadata, fd, "nodelay");
	close(fd);
}

/* Option numbers no kernel knows, at the socket and at the TCP level. */
SOCK_TEST(unknown_option_is_enoprotoopt)
{
	int fd = new_socket(_metadata, self, SOCK_STREAM);
	int val = 1;
	socklen_t len = sizeof(val);

	errno = 0;
	EXPECT_EQ(-1, setsockopt(fd, SOL_SOCKET, 0x7ff0, &val, sizeof(val)));
	EXPECT_EQ(ENOPROTOOPT, errno);
	errno = 0;
	EXPECT_EQ(-1, getsockopt(fd, SOL_SOCKET, 0x7ff0, &val, &len));
	EXPECT_EQ(ENOPROTOOPT, errno);
	errno = 0;
	EXPECT_EQ(-1, setsockopt(fd, IPPROTO_TCP, 0x7ff0, &val, sizeof(val)));
	EXPECT_EQ(ENOPROTOOPT, errno);
	errno = 0;
	EXPECT_EQ(-1, getsockopt(fd, IPPROTO_TCP, 0x7ff0, &val, &len));
	EXPECT_EQ(ENOPROTOOPT, errno);
	close(fd);
}

SOCK_TEST(setsockopt_short_optlen_is_einval)
{
	int fd = new_socket(_metadata, self, SOCK_STREAM);
	int val = 1;

	errno = 0;
	EXPECT_EQ(-1, setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &val, 2));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &val, 2));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
}

/* ---- IP- and TCP-level options ---- */

/* An error as get_int() reports it. */
#define ERR(e)	(-(e) - 1000)
/* tcpi_state values (include/net/tcp_states.h). */
#define TCP_ESTABLISHED		1
#define TCP_CLOSE		7

SOCK_TEST(ip_ttl_default_set_and_range)
{
	int fd = new_socket(_metadata, self, SOCK_STREAM);
	int udp = new_socket(_metadata, self, SOCK_DGRAM);

	EXPECT_EQ(64, get_int(fd, IPPROTO_IP, IP_TTL));
	EXPECT_EQ(0, set_int(fd, IPPROTO_IP, IP_TTL, 7));
	EXPECT_EQ(7, get_int(fd, IPPROTO_IP, IP_TTL));
	EXPECT_EQ(0, set_int(fd, IPPROTO_IP, IP_TTL, -1));
	EXPECT_EQ(64, get_int(fd, IPPROTO_IP, IP_TTL));
	errno = 0;
	EXPECT_EQ(-1, set_int(fd, IPPROTO_IP, IP_TTL, 0));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, set_int(fd, IPPROTO_IP, IP_TTL, 256));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, set_int(udp, IPPROTO_IP, IP_TTL, 200));
	EXPECT_EQ(200, get_int(udp, IPPROTO_IP, IP_TTL));
	close(udp);
	close(fd);
}

/* TCP keeps the ECN bits of IP_TOS to itself; UDP takes the whole byte. */
SOCK_TEST(ip_tos_set_then_get)
{
	int fd = new_socket(_metadata, self, SOCK_STREAM);
	int udp = new_socket(_metadata, self, SOCK_DGRAM);
	unsigned char byte = 0;
	socklen_t len = 1;

	EXPECT_EQ(0, get_int(fd, IPPROTO_IP, IP_TOS));
	EXPECT_EQ(0, set_int(fd, IPPROTO_IP, IP_TOS, 0xff));
	EXPECT_EQ(0xfc, get_int(fd, IPPROTO_IP, IP_TOS));
	EXPECT_EQ(0, set_int(udp, IPPROTO_IP, IP_TOS, 0x2e));
	EXPECT_EQ(0x2e, get_int(udp, IPPROTO_IP, IP_TOS));
	/* A one-byte buffer gets one byte back. */
	ASSERT_EQ(0, getsockopt(udp, IPPROTO_IP, IP_TOS, &byte, &len));
	EXPECT_EQ(1, len);
	EXPECT_EQ(0x2e, byte);
	close(udp);
	close(fd);
}

/* What a connection with options set carries data as usual. */
SOCK_TEST(ip_tos_and_ttl_on_a_connection_carry_data)
{
	int fd = new_socket(_metadata, self, SOCK_STREAM);

	ASSERT_EQ(0, set_int(fd, IPPROTO_IP, IP_TOS, 0x10));
	ASSERT_EQ(0, set_int(fd, IPPROTO_IP, IP_TTL, 9));
	connect_fd(_metadata, self, fd, PORT_ECHO);
	echo_roundtrip(_metadata, fd, "tos and ttl");
	EXPECT_EQ(0x10, get_int(fd, IPPROTO_IP, IP_TOS));
	EXPECT_EQ(9, get_int(fd, IPPROTO_IP, IP_TTL));
	close(fd);
}

SOCK_TEST(ip_mtu_unconnected_is_enotconn)
{
	int fd = new_socket(_metadata, self, SOCK_STREAM);

	EXPECT_EQ(ERR(ENOTCONN), get_int(fd, IPPROTO_IP, IP_MTU));
	close(fd);
	fd = connect_peer(_metadata, self, PORT_ECHO);
	EXPECT_LE(576, get_int(fd, IPPROTO_IP, IP_MTU));
	EXPECT_GE(65536, get_int(fd, IPPROTO_IP, IP_MTU));
	close(fd);
}

SOCK_TEST(ip_options_none_and_recverr_flag)
{
	int fd = new_socket(_metadata, self, SOCK_STREAM);
	char opts[40];
	socklen_t len = sizeof(opts);

	ASSERT_EQ(0, getsockopt(fd, IPPROTO_IP, IP_OPTIONS, opts, &len));
	EXPECT_EQ(0, len);
	EXPECT_EQ(0, get_int(fd, IPPROTO_IP, IP_RECVERR));
	EXPECT_EQ(0, set_int(fd, IPPROTO_IP, IP_RECVERR, 5));
	EXPECT_EQ(1, get_int(fd, IPPROTO_IP, IP_RECVERR));
	EXPECT_EQ(IP_PMTUDISC_WANT, get_int(fd, IPPROTO_IP, IP_MTU_DISCOVER));
	errno = 0;
	EXPECT_EQ(-1, set_int(fd, IPPROTO_IP, IP_MTU_DISCOVER, 9));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
}

/* Linux: setsockopt at a level the protocol does not have is ENOPROTOOPT,
 * getsockopt there EOPNOTSUPP (IP answers for every level but its own). */
SOCK_TEST(unknown_level_errno_matches_linux)
{
	int fd = new_socket(_metadata, self, SOCK_STREAM);
	int udp = new_socket(_metadata, self, SOCK_DGRAM);

	EXPECT_EQ(ERR(EOPNOTSUPP), get_int(fd, 12345, 1));
	EXPECT_EQ(-1, set_int(fd, 12345, 1, 1));
	EXPECT_EQ(ENOPROTOOPT, errno);
	EXPECT_EQ(ERR(EOPNOTSUPP), get_int(udp, IPPROTO_TCP, TCP_NODELAY));
	EXPECT_EQ(-1, set_int(udp, IPPROTO_TCP, TCP_NODELAY, 1));
	EXPECT_EQ(ENOPROTOOPT, errno);
	close(udp);
	close(fd);
}

SOCK_TEST(tcp_ulp_none_attached_and_unknown_is_enoent)
{
	int fd = new_socket(_metadata, self, SOCK_STREAM);
	char name[16] = "x";
	socklen_t len = sizeof(name);

	ASSERT_EQ(0, getsockopt(fd, IPPROTO_TCP, TCP_ULP, name, &len));
	EXPECT_EQ(0, len);
	errno = 0;
	EXPECT_EQ(-1, setsockopt(fd, IPPROTO_TCP, TCP_ULP, "nosuchulp", 9));
	EXPECT_EQ(ENOENT, errno);
	close(fd);
}

/* Linux's default is cubic, Joyride's (lwIP's) reno; both have reno. */
SOCK_TEST(tcp_congestion_reports_a_name_and_takes_reno)
{
	int fd = new_socket(_metadata, self, SOCK_STREAM);
	char name[16] = { 0 };
	socklen_t len = sizeof(name);

	ASSERT_EQ(0, getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name, &len));
	EXPECT_EQ(16, len);
	EXPECT_LT(0, strlen(name));
	EXPECT_EQ(0, setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, "reno", 4));
	len = sizeof(name);
	ASSERT_EQ(0, getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name, &len));
	EXPECT_STREQ("reno", name);
	errno = 0;
	EXPECT_EQ(-1, setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, "nosuchcc", 8));
	EXPECT_EQ(ENOENT, errno);
	close(fd);
}

SOCK_TEST(tcp_maxseg_default_range_and_clamp)
{
	int fd = new_socket(_metadata, self, SOCK_STREAM);
	int mss;

	EXPECT_EQ(536, get_int(fd, IPPROTO_TCP, TCP_MAXSEG));
	errno = 0;
	EXPECT_EQ(-1, set_int(fd, IPPROTO_TCP, TCP_MAXSEG, 10));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, set_int(fd, IPPROTO_TCP, TCP_MAXSEG, 1000));
	EXPECT_EQ(1000, get_int(fd, IPPROTO_TCP, TCP_MAXSEG));
	connect_fd(_metadata, self, fd, PORT_ECHO);
	mss = get_int(fd, IPPROTO_TCP, TCP_MAXSEG);
	EXPECT_LE(500, mss);
	EXPECT_GE(1000, mss);
	echo_roundtrip(_metadata, fd, "maxseg");
	close(fd);
}

SOCK_TEST(tcp_keepalive_options_defaults_and_ranges)
{
	int fd = new_socket(_metadata, self, SOCK_STREAM);

	EXPECT_EQ(7200, get_int(fd, IPPROTO_TCP, TCP_KEEPIDLE));
	EXPECT_EQ(75, get_int(fd, IPPROTO_TCP, TCP_KEEPINTVL));
	EXPECT_EQ(9, get_int(fd, IPPROTO_TCP, TCP_KEEPCNT));
	EXPECT_EQ(6, get_int(fd, IPPROTO_TCP, TCP_SYNCNT));
	EXPECT_EQ(-1, set_int(fd, IPPROTO_TCP, TCP_KEEPIDLE, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, set_int(fd, IPPROTO_TCP, TCP_KEEPCNT, 128));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, set_int(fd, IPPROTO_TCP, TCP_KEEPIDLE, 30));
	EXPECT_EQ(30, get_int(fd, IPPROTO_TCP, TCP_KEEPIDLE));
	close(fd);
}

/* Linux turns the seconds into SYN-ACK retransmissions and back: 5 -> 7. */
SOCK_TEST(tcp_defer_accept_rounds_like_linux)
{
	int fd = new_socket(_metadata, self, SOCK_STREAM);

	EXPECT_EQ(0, get_int(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT));
	ASSERT_EQ(0, set_int(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, 5));
	EXPECT_EQ(7, get_int(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT));
	ASSERT_EQ(0, set_int(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, 1));
	EXPECT_EQ(1, get_int(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT));
	close(fd);
}

SOCK_TEST(tcp_user_timeout_and_quickack_set_then_get)
{
	int fd = connect_peer(_metadata, self, PORT_ECHO);

	EXPECT_EQ(0, get_int(fd, IPPROTO_TCP, TCP_USER_TIMEOUT));
	errno = 0;
	EXPECT_EQ(-1, set_int(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, -1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, set_int(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, 30000));
	EXPECT_EQ(30000, get_int(fd, IPPROTO_TCP, TCP_USER_TIMEOUT));
	EXPECT_EQ(1, get_int(fd, IPPROTO_TCP, TCP_QUICKACK));
	EXPECT_EQ(0, set_int(fd, IPPROTO_TCP, TCP_QUICKACK, 0));
	EXPECT_EQ(0, get_int(fd, IPPROTO_TCP, TCP_QUICKACK));
	EXPECT_EQ(0, set_int(fd, IPPROTO_TCP, TCP_QUICKACK, 1));
	echo_roundtrip(_metadata, fd, "quickack");
	close(fd);
}

/*
 * TCP_CORK holds a partial segment (Linux: up to 200 ms); clearing it
 * sends at once.
 */
SOCK_TEST(tcp_cork_holds_partial_segment_until_uncork)
{
	int fd = connect_peer(_metadata, self, PORT_ECHO);
	char buf[8];

	ASSERT_EQ(0, set_int(fd, IPPROTO_TCP, TCP_CORK, 1));
	EXPECT_EQ(1, get_int(fd, IPPROTO_TCP, TCP_CORK));
	ASSERT_EQ(5, send(fd, "corks", 5, 0));
	EXPECT_EQ(0, poll_one(fd, POLLIN, 100) & POLLIN)
		TH_LOG("the corked bytes were sent and echoed within 100 ms");
	ASSERT_EQ(0, set_int(fd, IPPROTO_TCP, TCP_CORK, 0));
	recv_exact(_metadata, fd, buf, 5);
	EXPECT_EQ(0, memcmp(buf, "corks", 5));
	close(fd);
}

/* MSG_MORE holds a partial segment until a send without it. */
SOCK_TEST(msg_more_holds_partial_segment_until_next_send)
{
	int fd = connect_peer(_metadata, self, PORT_ECHO);
	char buf[8];

	ASSERT_EQ(5, send(fd, "more.", 5, MSG_MORE));
	EXPECT_EQ(0, poll_one(fd, POLLIN, 100) & POLLIN)
		TH_LOG("the bytes sent with MSG_MORE went out within 100 ms");
	ASSERT_EQ(1, send(fd, "!", 1, 0));
	recv_exact(_metadata, fd, buf, 6);
	EXPECT_EQ(0, memcmp(buf, "more.!", 6));
	close(fd);
}

SOCK_TEST(tcp_info_of_a_connection)
{
	static char big[256 * 1024];
	int fd = connect_peer(_metadata, self, PORT_ECHO);
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0xff, sizeof(ti));
	ASSERT_EQ(0, getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len));
	EXPECT_EQ(sizeof(ti), len);
	EXPECT_EQ(TCP_ESTABLISHED, ti.tcpi_state);
	/* Linux counts the SYN as one byte acknowledged; lwIP does not. */
	EXPECT_GE(1, ti.tcpi_bytes_acked);
	EXPECT_EQ(0, ti.tcpi_bytes_received);
	fill_pattern(big, 0, sizeof(big));
	send_all(_metadata, fd, big, sizeof(big));
	recv_exact(_metadata, fd, big, sizeof(big));
	ASSERT_EQ(sizeof(big), check_pattern(big, 0, sizeof(big)));
	len = sizeof(ti);
	ASSERT_EQ(0, getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len));
	EXPECT_EQ(TCP_ESTABLISHED, ti.tcpi_state);
	/* Everything echoed was acknowledged before it came back. */
	EXPECT_LE(sizeof(big), ti.tcpi_bytes_acked);
	EXPECT_GE(sizeof(big) + 1, ti.tcpi_bytes_acked);
	EXPECT_EQ(sizeof(big), ti.tcpi_bytes_received);
	EXPECT_LE(500, ti.tcpi_snd_mss);
	EXPECT_GE(65535, ti.tcpi_snd_mss);
	EXPECT_LT(0, ti.tcpi_snd_cwnd);
	EXPECT_LT(0, ti.tcpi_rto);
	EXPECT_EQ(0, ti.tcpi_unacked);
	/* A short buffer gets the start of the structure. */
	len = 8;
	ASSERT_EQ(0, getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len));
	EXPECT_EQ(8, len);
	close(fd);
}

SOCK_TEST(tcp_info_of_an_unconnected_socket)
{
	int fd = new_socket(_metadata, self, SOCK_STREAM);
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	ASSERT_EQ(0, getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len));
	EXPECT_EQ(TCP_CLOSE, ti.tcpi_state);
	EXPECT_EQ(0, ti.tcpi_bytes_acked);
	EXPECT_EQ(0, ti.tcpi_unacked);
	close(fd);
}

/*
 * The option sweep (opt_sweep.h): AF_INET against AF_JOYRIDE; and, in the
 * inet variant under libjr-preload.so (JR_PRELOAD_SWEEP set), the
 * kernel's AF_INET sockets against the preload's.
 */
SOCK_TEST(every_option_errno_matches_linux)
{
	static const int levels[] = { IPPROTO_IP, IPPROTO_TCP, IPPROTO_UDP,
				      IPPROTO_IPV6, IPPROTO_RAW, 12345 };
	bool preload = variant->family == AF_INET && getenv("JR_PRELOAD_SWEEP");
	struct opt_sweep o = { 0 };

	if (variant->family == AF_INET && !preload)
		SKIP(return, "compares AF_INET with AF_JOYRIDE (the joyride variant runs it), "
		     "or with libjr-preload.so's AF_INET (JR_PRELOAD_SWEEP=1)");
	opt_sweep(_metadata, AF_INET, preload, variant->family, levels,
		  sizeof(levels) / sizeof(levels[0]), &o);
	EXPECT_EQ(0, o.differ);
}

/* ---- multicast ---- */

/*
 * Groups in 239.255.0.0/16 (organization-local scope), one per test so
 * that no test sees another's datagrams; each test's port is its own too.
 * The peer sends out of, and joins on, its interface on the variant's link
 * (self->peer); we name our own address there (self->guest) as the
 * interface, which both Linux (the route to 239/8 is not set up) and
 * Joyride (the netserver's port) take.
 */
#define MC_GROUP(n)		"239.255.77." #n
#define MC_PORT(n)		(47100 + (n))

static struct ip_mreq mreq_of(FIXTURE_DATA(sock) *self, const char *group)
{
	struct ip_mreq m = { .imr_interface = self->guest };

	inet_pton(AF_INET, group, &m.imr_multiaddr);
	return m;
}

static int mc_join(FIXTURE_DATA(sock) *self, int fd, const char *group)
{
	struct ip_mreq m = mreq_of(self, group);

	return setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof(m));
}

static int mc_drop(FIXTURE_DATA(sock) *self, int fd, const char *group)
{
	struct ip_mreq m = mreq_of(self, group);

	return setsockopt(fd, IPPROTO_IP, IP_DROP_MEMBERSHIP, &m, sizeof(m));
}

/* A UDP socket bound to port on every address, sharing it if reuse. */
static int udp_bound_any(struct __test_metadata *_metadata,
			 FIXTURE_DATA(sock) *self, int port, bool reuse)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = new_socket(_metadata, self, SOCK_DGRAM);

	if (reuse)
		ASSERT_EQ(0, set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1));
	ASSERT_EQ(0, bind(fd, (struct sockaddr *)&sin, sizeof(sin)))
		TH_LOG("bind port %d: %s", port, strerror(errno));
	return fd;
}

/* peer.py sends payload to group:port; with marker, then "END" to us. */
static void peer_mc_send(struct __test_metadata *_metadata,
			 FIXTURE_DATA(sock) *self, const char *group, int port,
			 const char *payload, bool marker)
{
	char peer[INET_ADDRSTRLEN], guest[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &self->peer, peer, sizeof(peer));
	inet_ntop(AF_INET, &self->guest, guest, sizeof(guest));
	ctl_send(_metadata, self, "MCAST_SEND %s %d %s %s 1%s%s", group, port, peer,
		 payload, marker ? " " : "", marker ? guest : "");
	ctl_expect(_metadata, self, "OK");
}

SOCK_TEST(multicast_options_have_linux_defaults_and_ranges)
{
	int fd = new_socket(_metadata, self, SOCK_DGRAM);
	struct in_addr a = { .s_addr = 0xffffffff };
	struct ip_mreqn mreqn = { .imr_address = self->guest };
	socklen_t len = sizeof(a);
	unsigned char c = 7;
	int zero = 0;

	EXPECT_EQ(1, get_int(fd, IPPROTO_IP, IP_MULTICAST_TTL));
	EXPECT_EQ(1, get_int(fd, IPPROTO_IP, IP_MULTICAST_LOOP));
	EXPECT_EQ(1, get_int(fd, IPPROTO_IP, IP_MULTICAST_ALL));
	EXPECT_EQ(0, getsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &a, &len));
	EXPECT_EQ(sizeof(a), len);
	EXPECT_EQ(0, a.s_addr);

	EXPECT_EQ(0, set_int(fd, IPPROTO_IP, IP_MULTICAST_TTL, 5));
	EXPECT_EQ(5, get_int(fd, IPPROTO_IP, IP_MULTICAST_TTL));
	EXPECT_EQ(0, set_int(fd, IPPROTO_IP, IP_MULTICAST_TTL, -1));
	EXPECT_EQ(1, get_int(fd, IPPROTO_IP, IP_MULTICAST_TTL));
	EXPECT_EQ(0, set_int(fd, IPPROTO_IP, IP_MULTICAST_TTL, 0));
	EXPECT_EQ(0, get_int(fd, IPPROTO_IP, IP_MULTICAST_TTL));
	errno = 0;
	EXPECT_EQ(-1, set_int(fd, IPPROTO_IP, IP_MULTICAST_TTL, 256));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, set_int(fd, IPPROTO_IP, IP_MULTICAST_TTL, -2));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &zero, 0));
	EXPECT_EQ(EINVAL, errno);
	/* One byte in, one byte out when one is asked for. */
	EXPECT_EQ(0, setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &c, 1));
	c = 0;
	len = 1;
	EXPECT_EQ(0, getsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &c, &len));
	EXPECT_EQ(1, len);
	EXPECT_EQ(7, c);

	EXPECT_EQ(0, set_int(fd, IPPROTO_IP, IP_MULTICAST_LOOP, 0));
	EXPECT_EQ(0, get_int(fd, IPPROTO_IP, IP_MULTICAST_LOOP));
	EXPECT_EQ(0, set_int(fd, IPPROTO_IP, IP_MULTICAST_LOOP, 5));
	EXPECT_EQ(1, get_int(fd, IPPROTO_IP, IP_MULTICAST_LOOP));
	errno = 0;
	EXPECT_EQ(-1, setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &zero, 0));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, set_int(fd, IPPROTO_IP, IP_MULTICAST_ALL, 2));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, set_int(fd, IPPROTO_IP, IP_MULTICAST_ALL, 0));
	EXPECT_EQ(0, get_int(fd, IPPROTO_IP, IP_MULTICAST_ALL));

	/* IP_MULTICAST_IF: an in_addr, an ip_mreq or an ip_mreqn. */
	EXPECT_EQ(0, setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &self->guest,
				sizeof(self->guest)));
	len = sizeof(a);
	EXPECT_EQ(0, getsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &a, &len));
	EXPECT_EQ(self->guest.s_addr, a.s_addr);
	EXPECT_EQ(0, setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &zero, sizeof(zero)));
	EXPECT_EQ(0, setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mreqn, sizeof(mreqn)));
	len = sizeof(a);
	EXPECT_EQ(0, getsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &a, &len));
	EXPECT_EQ(self->guest.s_addr, a.s_addr);
	a = addr_of(FOREIGN_ADDR);
	errno = 0;
	EXPECT_EQ(-1, setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &a, sizeof(a)));
	EXPECT_EQ(EADDRNOTAVAIL, errno);
	errno = 0;
	EXPECT_EQ(-1, setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &a, 3));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
}

SOCK_TEST(multicast_options_on_tcp_are_refused_as_linux_does)
{
	int fd = new_socket(_metadata, self, SOCK_STREAM);
	struct ip_mreq m = mreq_of(self, MC_GROUP(1));

	errno = 0;
	EXPECT_EQ(-1, set_int(fd, IPPROTO_IP, IP_MULTICAST_TTL, 2));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &self->guest,
				 sizeof(self->guest)));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof(m)));
	EXPECT_EQ(EPROTO, errno);
	/* The loop flag is kept, whatever the type. */
	EXPECT_EQ(0, set_int(fd, IPPROTO_IP, IP_MULTICAST_LOOP, 0));
	EXPECT_EQ(0, get_int(fd, IPPROTO_IP, IP_MULTICAST_LOOP));
	EXPECT_EQ(1, get_int(fd, IPPROTO_IP, IP_MULTICAST_TTL));
	close(fd);
}

SOCK_TEST(multicast_membership_errors_are_linux_errnos)
{
	int fd = new_socket(_metadata, self, SOCK_DGRAM);
	struct ip_mreqn mreqn = { .imr_address = self->guest };
	struct ip_mreq m = mreq_of(self, MC_GROUP(2));
	const char *ifname = getenv("JR_GUEST_LINUX_IF");
	struct group_req gr = { 0 };
	struct sockaddr_in *gsin = (struct sockaddr_in *)&gr.gr_group;

	/* Not a group. */
	errno = 0;
	EXPECT_EQ(-1, mc_join(self, fd, "198.18.0.77"));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, mc_join(self, fd, MC_GROUP(2)));
	errno = 0;
	EXPECT_EQ(-1, mc_join(self, fd, MC_GROUP(2)));
	EXPECT_EQ(EADDRINUSE, errno);
	errno = 0;
	EXPECT_EQ(-1, mc_drop(self, fd, MC_GROUP(3)));
	EXPECT_EQ(EADDRNOTAVAIL, errno);
	errno = 0;
	EXPECT_EQ(-1, setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof(m) - 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, mc_drop(self, fd, MC_GROUP(2)));
	errno = 0;
	EXPECT_EQ(-1, mc_drop(self, fd, MC_GROUP(2)));
	EXPECT_EQ(EADDRNOTAVAIL, errno);

	/* struct ip_mreqn joins; a drop naming another address misses it. */
	inet_pton(AF_INET, MC_GROUP(2), &mreqn.imr_multiaddr);
	EXPECT_EQ(0, setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreqn, sizeof(mreqn)));
	m.imr_interface = addr_of(FOREIGN_ADDR);
	errno = 0;
	EXPECT_EQ(-1, setsockopt(fd, IPPROTO_IP, IP_DROP_MEMBERSHIP, &m, sizeof(m)));
	EXPECT_EQ(EADDRNOTAVAIL, errno);
	EXPECT_EQ(0, setsockopt(fd, IPPROTO_IP, IP_DROP_MEMBERSHIP, &mreqn, sizeof(mreqn)));

	/* MCAST_JOIN_GROUP names the interface by index: Linux's NIC for
	 * the inet variant, the default (0) for Joyride's. */
	gr.gr_interface = self->family == AF_INET && ifname ? if_nametoindex(ifname) : 0;
	gsin->sin_family = AF_INET;
	inet_pton(AF_INET, MC_GROUP(3), &gsin->sin_addr);
	EXPECT_EQ(0, setsockopt(fd, IPPROTO_IP, MCAST_JOIN_GROUP, &gr, sizeof(gr)));
	errno = 0;
	EXPECT_EQ(-1, setsockopt(fd, IPPROTO_IP, MCAST_JOIN_GROUP, &gr, sizeof(gr)));
	EXPECT_EQ(EADDRINUSE, errno);
	EXPECT_EQ(0, setsockopt(fd, IPPROTO_IP, MCAST_LEAVE_GROUP, &gr, sizeof(gr)));
	errno = 0;
	EXPECT_EQ(-1, setsockopt(fd, IPPROTO_IP, MCAST_JOIN_GROUP, &gr, sizeof(gr) - 1));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
}

/* net.ipv4.igmp_max_memberships (20 by default) per socket, then ENOBUFS. */
SOCK_TEST(multicast_join_beyond_igmp_max_memberships_is_enobufs)
{
	int fd = new_socket(_metadata, self, SOCK_DGRAM);
	int max = 20, i;
	FILE *f = fopen("/proc/sys/net/ipv4/igmp_max_memberships", "r");
	char group[32];

	if (f) {
		ASSERT_EQ(1, fscanf(f, "%d", &max));
		fclose(f);
	}
	ASSERT_LE(max, 200) TH_LOG("igmp_max_memberships %d: too many to try", max);
	for (i = 0; i < max; i++) {
		snprintf(group, sizeof(group), "239.255.78.%d", i + 1);
		ASSERT_EQ(0, mc_join(self, fd, group))
			TH_LOG("join %d of %d: %s", i + 1, max, strerror(errno));
	}
	snprintf(group, sizeof(group), "239.255.78.%d", i + 1);
	errno = 0;
	EXPECT_EQ(-1, mc_join(self, fd, group));
	EXPECT_EQ(ENOBUFS, errno);
	/* A group already joined is still EADDRINUSE at the limit. */
	errno = 0;
	EXPECT_EQ(-1, mc_join(self, fd, "239.255.78.1"));
	EXPECT_EQ(EADDRINUSE, errno);
	/* One left makes room for one more. */
	EXPECT_EQ(0, mc_drop(self, fd, "239.255.78.1"));
	EXPECT_EQ(0, mc_join(self, fd, group));
	close(fd);
}

SOCK_TEST(multicast_from_peer_is_received_until_dropped)
{
	int fd = udp_bound_any(_metadata, self, MC_PORT(1), false);
	char buf[64];

	ASSERT_EQ(0, mc_join(self, fd, MC_GROUP(11)));
	peer_mc_send(_metadata, self, MC_GROUP(11), MC_PORT(1), "joined", false);
	recv_dgram(fd, buf, sizeof(buf));
	EXPECT_STREQ("joined", buf);

	/* Dropped: the group's datagram would come before the peer's
	 * unicast marker, so the marker coming first proves it did not. */
	ASSERT_EQ(0, mc_drop(self, fd, MC_GROUP(11)));
	peer_mc_send(_metadata, self, MC_GROUP(11), MC_PORT(1), "dropped", true);
	recv_dgram(fd, buf, sizeof(buf));
	EXPECT_STREQ("END", buf);
	close(fd);
}

/*
 * Every socket bound to the port gets its own copy: those that joined,
 * and, while IP_MULTICAST_ALL is on (the default), one that did not;
 * with it off, one that did not join gets none.
 */
SOCK_TEST(multicast_reaches_every_socket_bound_to_the_port)
{
	int a = udp_bound_any(_metadata, self, MC_PORT(2), true);
	int b = udp_bound_any(_metadata, self, MC_PORT(2), true);
	int c = udp_bound_any(_metadata, self, MC_PORT(2), true);
	int d = udp_bound_any(_metadata, self, MC_PORT(2), true);
	char buf[64];

	ASSERT_EQ(0, mc_join(self, a, MC_GROUP(12)));
	ASSERT_EQ(0, mc_join(self, b, MC_GROUP(12)));
	ASSERT_EQ(0, set_int(d, IPPROTO_IP, IP_MULTICAST_ALL, 0));
	peer_mc_send(_metadata, self, MC_GROUP(12), MC_PORT(2), "everyone", false);
	recv_dgram(a, buf, sizeof(buf));
	EXPECT_STREQ("everyone", buf);
	recv_dgram(b, buf, sizeof(buf));
	EXPECT_STREQ("everyone", buf);
	recv_dgram(c, buf, sizeof(buf));
	EXPECT_STREQ("everyone", buf);
	/* d, with IP_MULTICAST_ALL off, joined another group only: the
	 * first datagram it gets is that group's, sent after, so the first
	 * group's never came. */
	ASSERT_EQ(0, mc_join(self, d, MC_GROUP(15)));
	peer_mc_send(_metadata, self, MC_GROUP(15), MC_PORT(2), "mine", false);
	recv_dgram(d, buf, sizeof(buf));
	EXPECT_STREQ("mine", buf);
	close(a);
	close(b);
	close(c);
	close(d);
}

SOCK_TEST(multicast_send_reaches_peer_with_ttl_from_interface)
{
	int fd = new_socket(_metadata, self, SOCK_DGRAM);
	struct sockaddr_in group = { .sin_family = AF_INET, .sin_port = htons(MC_PORT(3)) };
	char peer[INET_ADDRSTRLEN], want[64], line[256];

	inet_ntop(AF_INET, &self->peer, peer, sizeof(peer));
	inet_pton(AF_INET, MC_GROUP(13), &group.sin_addr);
	ctl_send(_metadata, self, "MCAST_JOIN %s %d %s", MC_GROUP(13), MC_PORT(3), peer);
	ctl_expect(_metadata, self, "OK");
	ASSERT_EQ(0, setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &self->guest,
				sizeof(self->guest)));
	ASSERT_EQ(0, set_int(fd, IPPROTO_IP, IP_MULTICAST_TTL, 3));
	ASSERT_EQ(6, sendto(fd, "to_all", 6, 0, (struct sockaddr *)&group, sizeof(group)))
		TH_LOG("sendto: %s", strerror(errno));
	ctl_send(_metadata, self, "MCAST_RECV %s %d to_all", MC_GROUP(13), MC_PORT(3));
	ctl_recv(_metadata, self, line, sizeof(line));
	inet_ntop(AF_INET, &self->guest, want, sizeof(want));
	snprintf(want + strlen(want), sizeof(want) - strlen(want), " 3");
	EXPECT_EQ(0, strncmp(line, "OK ", 3)) TH_LOG("peer: %s", line);
	EXPECT_STREQ(want, line + 3);
	close(fd);
}

/*
 * IP_MULTICAST_LOOP (on by default) hands the sender's datagram to local
 * members too; off, it does not: the datagram sent with it off would have
 * come before the one sent with it on.
 */
SOCK_TEST(multicast_loop_delivers_to_local_member_only_when_on)
{
	int rfd = udp_bound_any(_metadata, self, MC_PORT(4), false);
	int sfd = new_socket(_metadata, self, SOCK_DGRAM);
	struct sockaddr_in group = { .sin_family = AF_INET, .sin_port = htons(MC_PORT(4)) };
	char buf[64];

	inet_pton(AF_INET, MC_GROUP(14), &group.sin_addr);
	ASSERT_EQ(0, mc_join(self, rfd, MC_GROUP(14)));
	ASSERT_EQ(0, setsockopt(sfd, IPPROTO_IP, IP_MULTICAST_IF, &self->guest,
				sizeof(self->guest)));
	ASSERT_EQ(0, set_int(sfd, IPPROTO_IP, IP_MULTICAST_LOOP, 0));
	ASSERT_EQ(5, sendto(sfd, "quiet", 5, 0, (struct sockaddr *)&group, sizeof(group)));
	ASSERT_EQ(0, set_int(sfd, IPPROTO_IP, IP_MULTICAST_LOOP, 1));
	ASSERT_EQ(4, sendto(sfd, "loud", 4, 0, (struct sockaddr *)&group, sizeof(group)));
	recv_dgram(rfd, buf, sizeof(buf));
	EXPECT_STREQ("loud", buf);
	close(sfd);
	close(rfd);
}

/* ---- processes and descriptors ---- */

SOCK_TEST(fork_child_uses_socket)
{
	int fd = connect_peer(_metadata, self, PORT_ECHO);
	pid_t pid = fork();
	int status;

	ASSERT_LE(0, pid);
	if (pid == 0) {
		char buf[6] = { 0 };

		if (send(fd, "child", 5, 0) != 5 ||
		    !(poll_one(fd, POLLIN, WAIT_MS) & POLLIN) ||
		    recv(fd, buf, 5, MSG_WAITALL) != 5 || strcmp(buf, "child"))
			_exit(1);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	echo_roundtrip(_metadata, fd, "parent");
	close(fd);
}

SOCK_TEST(dup_shares_socket)
{
	int fd = connect_peer(_metadata, self, PORT_ECHO);
	int fd2 = dup(fd);
	char buf[4] = { 0 };

	ASSERT_LE(0, fd2);
	send_all(_metadata, fd2, "dup", 3);
	recv_exact(_metadata, fd, buf, 3);
	EXPECT_STREQ("dup", buf);
	close(fd);
	echo_roundtrip(_metadata, fd2, "still open");
	close(fd2);
}

static int send_fd(int via, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { "F", 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(via, &msg, 0) == 1 ? 0 : -1;
}

static int recv_fd(int via)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 }, b;
	struct iovec iov = { &b, 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *c;
	int fd;

	if (recvmsg(via, &msg, 0) != 1)
		return -1;
	c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

/* Passed over AF_UNIX, the socket works in the receiver after we close ours. */
SOCK_TEST(scm_rights_passed_socket_works)
{
	int fd = connect_peer(_metadata, self, PORT_ECHO);
	int sv[2], status;
	pid_t pid;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char buf[8] = { 0 };
		int got;

		close(fd);
		close(sv[0]);
		got = recv_fd(sv[1]);
		if (got < 0 || send(got, "passed", 6, 0) != 6 ||
		    !(poll_one(got, POLLIN, WAIT_MS) & POLLIN) ||
		    recv(got, buf, 6, MSG_WAITALL) != 6 || strcmp(buf, "passed"))
			_exit(1);
		_exit(0);
	}
	close(sv[1]);
	ASSERT_EQ(0, send_fd(sv[0], fd));
	close(fd);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(sv[0]);
}

static int uring_wait(struct io_uring *ring, int ms)
{
	struct __kernel_timespec ts = { .tv_sec = ms / 1000,
					.tv_nsec = ms % 1000 * 1000000L };
	struct io_uring_cqe *cqe;
	int res;

	res = io_uring_wait_cqe_timeout(ring, &cqe, &ts);
	if (res < 0)
		return res == -ETIME ? -ETIMEDOUT - 1000 : res - 1000;
	res = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return res;
}

/*
 * The recv is queued before any data exists, so io_uring has to wait on
 * the socket's readiness, as applications built on it do.
 */
SOCK_TEST(io_uring_send_and_recv)
{
	int fd = connect_peer(_metadata, self, PORT_ECHO);
	char buf[16] = { 0 };
	struct io_uring ring;
	int r = io_uring_queue_init(4, &ring, 0);

	if (r < 0)
		SKIP(return, "io_uring_queue_init: %s", strerror(-r));

	io_uring_prep_recv(io_uring_get_sqe(&ring), fd, buf, 10, MSG_WAITALL);
	ASSERT_EQ(1, io_uring_submit(&ring));
	io_uring_prep_send(io_uring_get_sqe(&ring), fd, "io_uring!!", 10, 0);
	ASSERT_EQ(1, io_uring_submit(&ring));
	/* Either order: the send completes at once, the recv on the echo. */
	EXPECT_EQ(10, uring_wait(&ring, WAIT_MS));
	EXPECT_EQ(10, uring_wait(&ring, WAIT_MS));
	EXPECT_STREQ("io_uring!!", buf);
	io_uring_queue_exit(&ring);
	close(fd);
}

/* ---- UDP ---- */

static int udp_connected(struct __test_metadata *_metadata,
			 FIXTURE_DATA(sock) *self, int port)
{
	struct sockaddr_in sin = peer_at(self, port);
	int fd = new_socket(_metadata, self, SOCK_DGRAM);

	ASSERT_EQ(0, connect(fd, (struct sockaddr *)&sin, sizeof(sin)))
		TH_LOG("connect: %s", strerror(errno));
	return fd;
}

/* One datagram, waiting at most WAIT_MS for it. */
static ssize_t udp_recv(struct __test_metadata *_metadata, int fd, void *buf,
			size_t len, int flags)
{
	ASSERT_TRUE(poll_one(fd, POLLIN, WAIT_MS) & POLLIN)
		TH_LOG("no datagram arrived");
	return recv(fd, buf, len, flags);
}

SOCK_TEST(udp_sendto_recvfrom_carry_addresses)
{
	struct sockaddr_in to = peer_at(self, PORT_ECHO), from;
	socklen_t len = sizeof(from);
	int fd = new_socket(_metadata, self, SOCK_DGRAM);
	char buf[16] = { 0 };

	ASSERT_EQ(5, sendto(fd, "hello", 5, 0, (struct sockaddr *)&to, sizeof(to)));
	ASSERT_TRUE(poll_one(fd, POLLIN, WAIT_MS) & POLLIN);
	memset(&from, 0, sizeof(from));
	EXPECT_EQ(5, recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len));
	EXPECT_STREQ("hello", buf);
	EXPECT_EQ(sizeof(from), len);
	EXPECT_EQ(AF_INET, from.sin_family);
	EXPECT_EQ(self->peer.s_addr, from.sin_addr.s_addr);
	EXPECT_EQ(PORT_ECHO, ntohs(from.sin_port));
	close(fd);
}

/* Sizes from one byte to more than an Ethernet frame (IP fragments). */
/*
 * IP_PKTINFO, IP_RECVTOS and IP_RECVTTL: each echoed datagram carries its
 * destination (our address), TOS and TTL as control messages; without the
 * options, none.
 */
SOCK_TEST(udp_pktinfo_tos_and_ttl_control_messages)
{
	int fd = udp_connected(_metadata, self, PORT_ECHO);
	char buf[16], cbuf[256];

	for (int on = 1; on >= 0; on--) {
		struct iovec iov = { buf, sizeof(buf) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
		bool pktinfo = false, tos = false, ttl = false;
		struct cmsghdr *c;

		ASSERT_EQ(0, set_int(fd, IPPROTO_IP, IP_PKTINFO, on));
		ASSERT_EQ(0, set_int(fd, IPPROTO_IP, IP_RECVTOS, on));
		ASSERT_EQ(0, set_int(fd, IPPROTO_IP, IP_RECVTTL, on));
		EXPECT_EQ(on, get_int(fd, IPPROTO_IP, IP_PKTINFO));
		ASSERT_EQ(4, send(fd, "cmsg", 4, 0));
		ASSERT_TRUE(poll_one(fd, POLLIN, WAIT_MS) & POLLIN) TH_LOG("no echo");
		ASSERT_EQ(4, recvmsg(fd, &mh, 0));
		EXPECT_EQ(0, mh.msg_flags & MSG_CTRUNC);
		for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			ASSERT_EQ(IPPROTO_IP, c->cmsg_level);
			if (c->cmsg_type == IP_PKTINFO) {
				struct in_pktinfo pi;

				memcpy(&pi, CMSG_DATA(c), sizeof(pi));
				EXPECT_EQ(self->guest.s_addr, pi.ipi_addr.s_addr)
					TH_LOG("ipi_addr %s", inet_ntoa(pi.ipi_addr));
				pktinfo = true;
			} else if (c->cmsg_type == IP_TOS) {
				EXPECT_EQ(CMSG_LEN(1), c->cmsg_len);
				EXPECT_EQ(0, *CMSG_DATA(c));
				tos = true;
			} else if (c->cmsg_type == IP_TTL) {
				int v;

				memcpy(&v, CMSG_DATA(c), sizeof(v));
				EXPECT_LE(1, v);
				EXPECT_GE(255, v);
				ttl = true;
			}
		}
		EXPECT_EQ(on, pktinfo);
		EXPECT_EQ(on, tos);
		EXPECT_EQ(on, ttl);
	}
	close(fd);
}

SOCK_TEST(udp_datagram_boundaries_kept)
{
	static const size_t sizes[] = { 1, 100, 1400, 8000 };
	static char out[8000], in[9000];
	int fd = udp_connected(_metadata, self, PORT_ECHO);
	size_t i;

	for (i = 0; i < 4; i++) {
		fill_pattern(out, i, sizes[i]);
		ASSERT_EQ(sizes[i], send(fd, out, sizes[i], 0));
	}
	for (i = 0; i < 4; i++) {
		EXPECT_EQ(sizes[i], udp_recv(_metadata, fd, in, sizeof(in), 0));
		EXPECT_EQ(sizes[i], check_pattern(in, i, sizes[i]));
	}
	close(fd);
}

SOCK_TEST(udp_empty_datagram_is_delivered)
{
	int fd = udp_connected(_metadata, self, PORT_ECHO);
	char buf[4];

	ASSERT_EQ(0, send(fd, "", 0, 0));
	EXPECT_EQ(0, udp_recv(_metadata, fd, buf, sizeof(buf), 0));
	errno = 0;
	EXPECT_EQ(-1, recv(fd, buf, sizeof(buf), MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
	close(fd);
}

SOCK_TEST(udp_send_unconnected_is_edestaddrreq)
{
	int fd = new_socket(_metadata, self, SOCK_DGRAM);

	errno = 0;
	EXPECT_EQ(-1, send(fd, "x", 1, 0));
	EXPECT_EQ(EDESTADDRREQ, errno);
	close(fd);
}

SOCK_TEST(udp_connect_then_send_recv)
{
	int fd = udp_connected(_metadata, self, PORT_ECHO);
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	char buf[8] = { 0 };

	ASSERT_EQ(0, getpeername(fd, (struct sockaddr *)&sin, &len));
	EXPECT_EQ(self->peer.s_addr, sin.sin_addr.s_addr);
	EXPECT_EQ(PORT_ECHO, ntohs(sin.sin_port));
	len = sizeof(sin);
	ASSERT_EQ(0, getsockname(fd, (struct sockaddr *)&sin, &len));
	EXPECT_EQ(self->guest.s_addr, sin.sin_addr.s_addr);
	EXPECT_NE(0, sin.sin_port);
	ASSERT_EQ(4, send(fd, "ping", 4, 0));
	EXPECT_EQ(4, udp_recv(_metadata, fd, buf, sizeof(buf), 0));
	EXPECT_STREQ("ping", buf);
	close(fd);
}

SOCK_TEST(udp_connect_af_unspec_dissolves_association)
{
	int fd = udp_connected(_metadata, self, PORT_ECHO);
	struct sockaddr_in sin = { .sin_family = AF_UNSPEC };
	socklen_t len = sizeof(sin);

	ASSERT_EQ(0, connect(fd, (struct sockaddr *)&sin, sizeof(sin)))
		TH_LOG("connect(AF_UNSPEC): %s", strerror(errno));
	errno = 0;
	EXPECT_EQ(-1, getpeername(fd, (struct sockaddr *)&sin, &len));
	EXPECT_EQ(ENOTCONN, errno);
	errno = 0;
	EXPECT_EQ(-1, send(fd, "x", 1, 0));
	EXPECT_EQ(EDESTADDRREQ, errno);
	close(fd);
}

SOCK_TEST(udp_recv_into_small_buffer_sets_msg_trunc)
{
	int fd = udp_connected(_metadata, self, PORT_ECHO);
	char out[100], in[10];
	struct iovec iov = { in, sizeof(in) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	fill_pattern(out, 0, sizeof(out));
	ASSERT_EQ(100, send(fd, out, sizeof(out), 0));
	ASSERT_TRUE(poll_one(fd, POLLIN, WAIT_MS) & POLLIN);
	EXPECT_EQ(10, recvmsg(fd, &msg, 0));
	EXPECT_EQ(MSG_TRUNC, msg.msg_flags & MSG_TRUNC);
	EXPECT_EQ(10, check_pattern(in, 0, 10));
	/* The rest of the datagram is gone. */
	errno = 0;
	EXPECT_EQ(-1, recv(fd, in, sizeof(in), MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
	close(fd);
}

SOCK_TEST(udp_recv_msg_trunc_returns_full_length)
{
	int fd = udp_connected(_metadata, self, PORT_ECHO);
	char out[100], in[10];

	fill_pattern(out, 0, sizeof(out));
	ASSERT_EQ(100, send(fd, out, sizeof(out), 0));
	EXPECT_EQ(100, udp_recv(_metadata, fd, in, sizeof(in), MSG_TRUNC));
	EXPECT_EQ(10, check_pattern(in, 0, 10));
	close(fd);
}

/*
 * Nothing is ever queued on the error queue of a socket that carries no
 * timestamps or zerocopy: MSG_ERRQUEUE returns EAGAIN at once, even on a
 * blocking socket (a wait here would hang until the test's time limit).
 */
SOCK_TEST(recv_errqueue_without_errors_is_eagain)
{
	int tcp = connect_peer(_metadata, self, PORT_ECHO);
	int udp = udp_connected(_metadata, self, PORT_ECHO);
	char c;

	errno = 0;
	EXPECT_EQ(-1, recv(tcp, &c, 1, MSG_ERRQUEUE));
	EXPECT_EQ(EAGAIN, errno);
	errno = 0;
	EXPECT_EQ(-1, recv(udp, &c, 1, MSG_ERRQUEUE));
	EXPECT_EQ(EAGAIN, errno);
	close(udp);
	close(tcp);
}

SOCK_TEST(udp_recv_peek_keeps_datagram)
{
	int fd = udp_connected(_metadata, self, PORT_ECHO);
	char buf[64] = { 0 };

	ASSERT_EQ(4, send(fd, "peek", 4, 0));
	EXPECT_EQ(4, udp_recv(_metadata, fd, buf, sizeof(buf), MSG_PEEK));
	EXPECT_STREQ("peek", buf);
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(4, recv(fd, buf, sizeof(buf), MSG_DONTWAIT));
	EXPECT_STREQ("peek", buf);
	close(fd);
}

/* For UDP, FIONREAD is the size of the next datagram, not of them all. */
SOCK_TEST(udp_fionread_is_next_datagram_size)
{
	int fd = udp_connected(_metadata, self, PORT_ECHO);
	char buf[256];
	int n = -1;

	memset(buf, 'u', sizeof(buf));
	ASSERT_EQ(200, send(fd, buf, 200, 0));
	ASSERT_EQ(100, send(fd, buf, 100, 0));
	ASSERT_TRUE(poll_one(fd, POLLIN, WAIT_MS) & POLLIN);
	ASSERT_EQ(0, ioctl(fd, FIONREAD, &n));
	EXPECT_EQ(200, n);
	EXPECT_EQ(200, recv(fd, buf, sizeof(buf), 0));
	ASSERT_TRUE(poll_one(fd, POLLIN, WAIT_MS) & POLLIN);
	ASSERT_EQ(0, ioctl(fd, FIONREAD, &n));
	EXPECT_EQ(100, n);
	close(fd);
}

SOCK_TEST(udp_recv_dontwait_on_empty_is_eagain)
{
	int fd = udp_connected(_metadata, self, PORT_ECHO);
	char c;

	errno = 0;
	EXPECT_EQ(-1, recv(fd, &c, 1, MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
	close(fd);
}

SOCK_TEST(udp_sendto_binds_ephemeral_port)
{
	struct sockaddr_in to = peer_at(self, PORT_ECHO), sin;
	socklen_t len = sizeof(sin);
	int fd = new_socket(_metadata, self, SOCK_DGRAM);
	char c;

	ASSERT_EQ(0, getsockname(fd, (struct sockaddr *)&sin, &len));
	EXPECT_EQ(0, sin.sin_port);
	ASSERT_EQ(1, sendto(fd, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)));
	len = sizeof(sin);
	ASSERT_EQ(0, getsockname(fd, (struct sockaddr *)&sin, &len));
	EXPECT_NE(0, sin.sin_port);
	EXPECT_EQ(1, udp_recv(_metadata, fd, &c, 1, 0));
	close(fd);
}

SOCK_TEST(udp_bind_same_port_twice_is_eaddrinuse)
{
	struct sockaddr_in sin = sin_of((struct in_addr){ INADDR_ANY }, 0);
	socklen_t len = sizeof(sin);
	int a = new_socket(_metadata, self, SOCK_DGRAM);
	int b = new_socket(_metadata, self, SOCK_DGRAM);

	ASSERT_EQ(0, bind(a, (struct sockaddr *)&sin, sizeof(sin)));
	ASSERT_EQ(0, getsockname(a, (struct sockaddr *)&sin, &len));
	errno = 0;
	EXPECT_EQ(-1, bind(b, (struct sockaddr *)&sin, sizeof(sin)));
	EXPECT_EQ(EADDRINUSE, errno);
	close(a);
	close(b);
}

/* The peer's ICMP port unreachable fails the next call on a connected socket. */
SOCK_TEST(udp_send_to_closed_port_then_recv_is_econnrefused)
{
	int fd = udp_connected(_metadata, self, PORT_CLOSED);
	char c;

	ASSERT_EQ(1, send(fd, "x", 1, 0));
	ASSERT_TRUE(poll_one(fd, POLLIN, WAIT_MS) & POLLERR)
		TH_LOG("no error reported");
	errno = 0;
	EXPECT_EQ(-1, recv(fd, &c, 1, MSG_DONTWAIT));
	EXPECT_EQ(ECONNREFUSED, errno);
	close(fd);
}

/* 65507 bytes is the most an IPv4 datagram carries. */
SOCK_TEST(udp_oversized_datagram_is_emsgsize)
{
	static char big[65508];
	int fd = udp_connected(_metadata, self, PORT_DISCARD);

	errno = 0;
	EXPECT_EQ(-1, send(fd, big, sizeof(big), 0));
	EXPECT_EQ(EMSGSIZE, errno);
	close(fd);
}

SOCK_TEST(udp_listen_is_eopnotsupp)
{
	int fd = new_socket(_metadata, self, SOCK_DGRAM);

	errno = 0;
	EXPECT_EQ(-1, listen(fd, 1));
	EXPECT_EQ(EOPNOTSUPP, errno);
	close(fd);
}

SOCK_TEST(udp_accept_is_eopnotsupp)
{
	int fd = new_socket(_metadata, self, SOCK_DGRAM);

	errno = 0;
	EXPECT_EQ(-1, accept(fd, NULL, NULL));
	EXPECT_EQ(EOPNOTSUPP, errno);
	close(fd);
}

SOCK_TEST(udp_shutdown_unconnected_is_enotconn)
{
	int fd = new_socket(_metadata, self, SOCK_DGRAM);

	errno = 0;
	EXPECT_EQ(-1, shutdown(fd, SHUT_RDWR));
	EXPECT_EQ(ENOTCONN, errno);
	close(fd);
}

SOCK_TEST(udp_getpeername_unconnected_is_enotconn)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = new_socket(_metadata, self, SOCK_DGRAM);

	errno = 0;
	EXPECT_EQ(-1, getpeername(fd, (struct sockaddr *)&sin, &len));
	EXPECT_EQ(ENOTCONN, errno);
	close(fd);
}

SOCK_TEST(udp_so_type_is_sock_dgram)
{
	int fd = new_socket(_metadata, self, SOCK_DGRAM);

	EXPECT_EQ(SOCK_DGRAM, get_int(fd, SOL_SOCKET, SO_TYPE));
	close(fd);
}

SOCK_TEST(udp_so_protocol_is_ipproto_udp)
{
	int fd = new_socket(_metadata, self, SOCK_DGRAM);

	EXPECT_EQ(IPPROTO_UDP, get_int(fd, SOL_SOCKET, SO_PROTOCOL));
	close(fd);
}

TEST_HARNESS_MAIN
