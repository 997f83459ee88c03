// SPDX-License-Identifier: GPL-2.0
/*
 * IPv6: Joyride's AF_INET6 sockets behave like Linux's, dual stack
 * included.
 *
 * Every test body is written once and runs as two variants of the fixture
 * "sock6":
 *   inet6     AF_INET6 sockets of the guest's Linux stack, to
 *             JR_PEER_LINUX_IP6 (falling back to JR_PEER_IP6_1, then
 *             JR_PEER_IP6).  These runs prove that each expectation below
 *             is what Linux does.
 *   joyride6  AF_JOYRIDE_INET6 sockets to JR_PEER_IP6, carried by the
 *             netserver on NIC 0 (tools/jr-vm run --netserver).  Skipped,
 *             saying why, when the family is not there (EAFNOSUPPORT:
 *             joyride.ko is not loaded, or has no IPv6) or no netserver is
 *             attached (ENETDOWN).
 * Both take and return struct sockaddr_in6 with sin6_family AF_INET6.  A
 * socket that is not IPV6_V6ONLY also speaks IPv4: its IPv4 peers and
 * addresses appear v4-mapped, ::ffff:a.b.c.d.
 *
 * Each variant has four addresses: the peer's and ours over IPv6, and the
 * peer's and ours over IPv4 for the dual-stack cases (inet6: NIC 1's,
 * JR_GUEST_LINUX_IP6 and JR_GUEST_LINUX_IP; joyride6: the netserver's,
 * JR_JOYRIDE_IP6 and JR_JOYRIDE_IP).
 *
 * The far end is selftests/guest/peer.py, started on the host by the
 * runner; its services answer on IPv6 and IPv4 alike, and its header
 * comment is the protocol:
 *
 *   tools/jr-vm run --netserver \
 *       --peer-cmd "python3 $PWD/selftests/guest/peer.py" -- \
 *       build/selftests/guest/ipv6_test
 *
 * The control connection goes over AF_INET to the Linux peer address, as
 * in socket_test.c, so what the peer reports (a connection it made to one
 * of our listeners, over IPv6 or IPv4, or why it could not) is trustworthy
 * whatever the variant.  The first test waits, bounded, for the peer.
 * Every wait on the peer is bounded (WAIT_MS).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/joyride.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "opt_sweep.h"

/* peer.py's services; see its header. */
#define PORT_ECHO		7
#define PORT_CONTROL		7000
#define PORT_CLOSED		7999

/* An address no interface of the guest (or the netserver) has (RFC 3849). */
#define FOREIGN_ADDR6		"2001:db8::1"

/* The longest a helper waits for the peer before the test fails. */
#define WAIT_MS			5000
#include "sock_util.h"
/* How long the first test waits for peer.py to come up. */
#define PEER_START_MS		30000
/* Per test: well above the slowest (a few seconds), below the runner's. */
#define TEST_TIMEOUT_S		30

/* Linux's hop limit when nobody set one: net.ipv6.conf.all.hop_limit. */
#define DEFAULT_HOPS		64

/* The control connection to peer.py always uses AF_INET, on Linux. */
static const char *const ctl_env[] = {
	"JR_PEER_LINUX_IP", "JR_PEER_IP_1", "JR_PEER_IP", NULL
};

/*
 * Where a variant's traffic goes: the environment variables naming the
 * peer's and our addresses, over IPv6 and over IPv4.  A variant lists
 * candidates; the first whose peer6 is set is used, all four together.
 */
struct path_env {
	const char *peer6, *guest6, *peer4, *guest4;
};

FIXTURE(sock6) {
	bool ready;			/* set-up finished: see SOCK6_TEST */
	int family;			/* AF_INET6 or AF_JOYRIDE_INET6 */
	struct in6_addr peer;		/* the peer over IPv6 */
	struct in6_addr guest;		/* our address, as the peer sees it */
	struct in_addr peer4;		/* the same two over IPv4 */
	struct in_addr guest4;
	const char *guest_ip6;		/* for the peer's CONNECT */
	const char *guest_ip4;
	int ctl;			/* control connection to peer.py */
};

FIXTURE_VARIANT(sock6) {
	int family;
	const struct path_env *paths;
};

static const struct path_env linux_paths[] = {
	{ "JR_PEER_LINUX_IP6", "JR_GUEST_LINUX_IP6",
	  "JR_PEER_LINUX_IP", "JR_GUEST_LINUX_IP" },
	{ "JR_PEER_IP6_1", "JR_GUEST_IP6_1", "JR_PEER_IP_1", "JR_GUEST_IP_1" },
	{ "JR_PEER_IP6", "JR_GUEST_IP6_0", "JR_PEER_IP", "JR_GUEST_IP" },
	{ NULL },
};

FIXTURE_VARIANT_ADD(sock6, inet6) {
	.family = AF_INET6,
	.paths = linux_paths,
};

static const struct path_env joyride_paths[] = {
	{ "JR_PEER_IP6", "JR_JOYRIDE_IP6", "JR_PEER_IP", "JR_JOYRIDE_IP" },
	{ NULL },
};

FIXTURE_VARIANT_ADD(sock6, joyride6) {
	.family = AF_JOYRIDE_INET6,
	.paths = joyride_paths,
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

static const char *env_or_null(const char *name)
{
	const char *v = name ? getenv(name) : NULL;

	return v && *v ? v : NULL;
}

static const struct path_env *first_path(const struct path_env *paths)
{
	for (; paths->peer6; paths++)
		if (env_or_null(paths->peer6))
			return paths;
	return NULL;
}

static struct sockaddr_in6 sin6_of(const struct in6_addr *addr, int port)
{
	struct sockaddr_in6 sin6 = {
		.sin6_family = AF_INET6,
		.sin6_port = htons(port),
		.sin6_addr = *addr,
	};

	return sin6;
}

/* ::ffff:a.b.c.d, how a dual-stack socket sees IPv4 address a. */
static struct in6_addr v4_mapped(struct in_addr a)
{
	struct in6_addr m = { .s6_addr = { [10] = 0xff, [11] = 0xff } };

	memcpy(&m.s6_addr[12], &a, 4);
	return m;
}

static struct in6_addr addr6_of(const char *s)
{
	struct in6_addr a = IN6ADDR_ANY_INIT;

	inet_pton(AF_INET6, s, &a);
	return a;
}

/* For messages: a few at a time may be in use. */
static const char *str6(const struct in6_addr *a)
{
	static char bufs[4][INET6_ADDRSTRLEN];
	static unsigned int next;
	char *b = bufs[next++ % 4];

	return inet_ntop(AF_INET6, a, b, INET6_ADDRSTRLEN) ? b : "?";
}

static int read_sysctl_int(const char *path, int fallback)
{
	FILE *f = fopen(path, "r");
	int v = fallback;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = fallback;
		fclose(f);
	}
	return v;
}

static int connect_retrying(struct in_addr addr, int port, int total_ms)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr = addr,
	};
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
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
 * Why the joyride6 variant cannot run here, or NULL.  Anything but these
 * errnos from socket() is a failure, not a reason to skip.
 */
static const char *joyride6_unavailable(const struct path_env *path,
					const char *ctl_ip)
{
	int fd;

	if (!path || !env_or_null(path->guest6) || !env_or_null(path->peer4) ||
	    !env_or_null(path->guest4))
		return "JR_PEER_IP6, JR_JOYRIDE_IP6, JR_PEER_IP or JR_JOYRIDE_IP "
		       "is not set: run under tools/jr-vm run --netserver";
	fd = socket(AF_JOYRIDE_INET6, SOCK_STREAM, 0);
	if (fd < 0 && errno == EAFNOSUPPORT)
		return access("/sys/module/joyride", F_OK) ?
		       "AF_JOYRIDE_INET6 is not registered: joyride.ko is not loaded" :
		       "AF_JOYRIDE_INET6 (23) is not registered: this joyride.ko "
		       "has no IPv6";
	if (fd < 0 && errno == ENETDOWN)
		return "AF_JOYRIDE_INET6 sockets are ENETDOWN: no netserver "
		       "attached (tools/jr-vm run --netserver)";
	if (fd >= 0)
		close(fd);
	if (!ctl_ip || !strcmp(ctl_ip, env_or_null(path->peer4)))
		return "no Linux NIC for the control channel to peer.py "
		       "(JR_PEER_LINUX_IP or JR_PEER_IP_1; use --nics 2)";
	return NULL;
}

FIXTURE_SETUP(sock6)
{
	const struct path_env *path = first_path(variant->paths);
	const char *ctl_ip = first_env(ctl_env);
	struct in_addr ctl_addr;
	const char *why, *v;
	int fd;

	self->ctl = -1;
	self->family = variant->family;
	if (variant->family == AF_JOYRIDE_INET6) {
		why = joyride6_unavailable(path, ctl_ip);
		if (why)
			SKIP(return, "%s", why);
	}
	if (!path || !ctl_ip)
		SKIP(return, "no peer address (JR_PEER_LINUX_IP6, JR_PEER_IP6_1, "
		     "JR_PEER_IP6; JR_PEER_LINUX_IP, JR_PEER_IP_1, JR_PEER_IP): "
		     "run under tools/jr-vm --nics 2 --peer-cmd "
		     "'python3 selftests/guest/peer.py'");
	if (access("/proc/sys/net/ipv6", F_OK))
		SKIP(return, "the guest kernel has no IPv6");
	fd = socket(variant->family, SOCK_STREAM, 0);
	ASSERT_LE(0, fd) TH_LOG("socket: %s", strerror(errno));
	close(fd);

	ASSERT_EQ(1, inet_pton(AF_INET6, env_or_null(path->peer6), &self->peer))
		TH_LOG("%s is not an IPv6 address", path->peer6);
	v = env_or_null(path->guest6);
	ASSERT_NE(NULL, v) TH_LOG("%s is not set", path->guest6);
	ASSERT_EQ(1, inet_pton(AF_INET6, v, &self->guest))
		TH_LOG("%s is not an IPv6 address", path->guest6);
	self->guest_ip6 = v;
	v = env_or_null(path->peer4);
	ASSERT_NE(NULL, v) TH_LOG("%s is not set", path->peer4);
	ASSERT_EQ(1, inet_pton(AF_INET, v, &self->peer4));
	v = env_or_null(path->guest4);
	ASSERT_NE(NULL, v) TH_LOG("%s is not set", path->guest4);
	ASSERT_EQ(1, inet_pton(AF_INET, v, &self->guest4));
	self->guest_ip4 = v;
	ASSERT_EQ(1, inet_pton(AF_INET, ctl_ip, &ctl_addr));

	ASSERT_NE(PEER_DOWN, *peer_state)
		TH_LOG("peer.py did not answer on %s:%d earlier", ctl_ip,
		       PORT_CONTROL);
	self->ctl = connect_retrying(ctl_addr, PORT_CONTROL,
				     *peer_state == PEER_UP ? WAIT_MS : PEER_START_MS);
	if (self->ctl < 0)
		*peer_state = PEER_DOWN;
	ASSERT_LE(0, self->ctl)
		TH_LOG("peer.py is not answering on %s:%d (is the runner's --peer-cmd set?)",
		       ctl_ip, PORT_CONTROL);
	*peer_state = PEER_UP;
	signal(SIGPIPE, SIG_IGN);
	self->ready = true;
}

FIXTURE_TEARDOWN(sock6)
{
	if (self->ctl >= 0)
		close(self->ctl);
}

/*
 * With the 6.1 harness a SKIP() in FIXTURE_SETUP still runs the test body,
 * so every body is written through SOCK6_TEST and returns at once unless
 * the set-up finished.
 */
#define SOCK6_TEST(name)						\
	static void body_##name(struct __test_metadata *_metadata,	\
				FIXTURE_DATA(sock6) *self,		\
				const FIXTURE_VARIANT(sock6) *variant);	\
	TEST_F_TIMEOUT(sock6, name, TEST_TIMEOUT_S)			\
	{								\
		if (self->ready)					\
			body_##name(_metadata, self, variant);		\
	}								\
	static void body_##name(struct __test_metadata *_metadata,	\
				FIXTURE_DATA(sock6) *self,		\
				const FIXTURE_VARIANT(sock6) *variant)

/* ---- helpers that fail the test ---- */

static void ctl_send(struct __test_metadata *_metadata,
		     FIXTURE_DATA(sock6) *self, const char *fmt, ...)
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
		     FIXTURE_DATA(sock6) *self, char *line, size_t size)
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
		       FIXTURE_DATA(sock6) *self, const char *want)
{
	char line[256];

	ctl_recv(_metadata, self, line, sizeof(line));
	ASSERT_STREQ(want, line);
}

static int new_socket(struct __test_metadata *_metadata,
		      FIXTURE_DATA(sock6) *self, int type)
{
	int fd = socket(self->family, type, 0);

	ASSERT_LE(0, fd) TH_LOG("socket: %s", strerror(errno));
	return fd;
}

/* A connect bounded by a send timeout; 0 or the errno. */
static int connect_to(int fd, const struct in6_addr *addr, int port)
{
	struct sockaddr_in6 sin6 = sin6_of(addr, port);
	int r;

	set_timeout(fd, SO_SNDTIMEO, WAIT_MS);
	r = connect(fd, (struct sockaddr *)&sin6, sizeof(sin6)) ? errno : 0;
	set_timeout(fd, SO_SNDTIMEO, 0);
	return r;
}

static int connect_peer(struct __test_metadata *_metadata,
			FIXTURE_DATA(sock6) *self, int port)
{
	int fd = new_socket(_metadata, self, SOCK_STREAM);
	int err = connect_to(fd, &self->peer, port);

	ASSERT_EQ(0, err) TH_LOG("connect to [%s]:%d: %s", str6(&self->peer),
				 port, strerror(err));
	return fd;
}

/* A listener on [::]:0, IPV6_V6ONLY set to v6only first unless it is -1. */
static int listen_any(struct __test_metadata *_metadata,
		      FIXTURE_DATA(sock6) *self, int v6only, int *port)
{
	struct sockaddr_in6 sin6 = sin6_of(&in6addr_any, 0);
	socklen_t len = sizeof(sin6);
	int fd = new_socket(_metadata, self, SOCK_STREAM);

	if (v6only >= 0)
		ASSERT_EQ(0, set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, v6only))
			TH_LOG("IPV6_V6ONLY: %s", strerror(errno));
	ASSERT_EQ(0, bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)))
		TH_LOG("bind [::]:0: %s", strerror(errno));
	ASSERT_EQ(0, listen(fd, 4)) TH_LOG("listen: %s", strerror(errno));
	ASSERT_EQ(0, getsockname(fd, (struct sockaddr *)&sin6, &len));
	*port = ntohs(sin6.sin6_port);
	ASSERT_NE(0, *port);
	return fd;
}

/*
 * getsockname() or getpeername() into a buffer larger than a sockaddr_in6,
 * so that a wrong length shows.
 */
struct name6 {
	struct sockaddr_in6 sin6;
	socklen_t len;
};

static struct name6 name_of(struct __test_metadata *_metadata, int fd,
			    bool peer)
{
	struct sockaddr_storage ss;
	struct name6 n;
	socklen_t len = sizeof(ss);
	int r;

	memset(&ss, 0xa5, sizeof(ss));
	r = peer ? getpeername(fd, (struct sockaddr *)&ss, &len) :
		   getsockname(fd, (struct sockaddr *)&ss, &len);
	ASSERT_EQ(0, r) TH_LOG("%s: %s", peer ? "getpeername" : "getsockname",
			       strerror(errno));
	memcpy(&n.sin6, &ss, sizeof(n.sin6));
	n.len = len;
	return n;
}

/* n is a sockaddr_in6 (length 28) of address want, and of port unless -1. */
#define EXPECT_NAME6(n, want, port) do {				\
	struct in6_addr want_ = (want);					\
	EXPECT_EQ(sizeof(struct sockaddr_in6), (n).len);		\
	EXPECT_EQ(AF_INET6, (n).sin6.sin6_family);			\
	EXPECT_TRUE(IN6_ARE_ADDR_EQUAL(&want_, &(n).sin6.sin6_addr))	\
		TH_LOG("address %s, want %s",				\
		       str6(&(n).sin6.sin6_addr), str6(&want_));	\
	if ((port) >= 0)						\
		EXPECT_EQ((port), ntohs((n).sin6.sin6_port));		\
} while (0)

/* Send and get the same bytes back from the echo service. */
static void echo_roundtrip(struct __test_metadata *_metadata, int fd,
			   size_t off, size_t len)
{
	char out[512], in[512];

	ASSERT_GE(sizeof(out), len);
	fill_pattern(out, off, len);
	memset(in, 0, sizeof(in));
	send_all(_metadata, fd, out, len);
	recv_exact(_metadata, fd, in, len);
	EXPECT_EQ(0, memcmp(out, in, len));
}

/*
 * The peer connects to our listener lfd at ip (IPv6 or IPv4), sends 100
 * pattern bytes and wants them back.  The accepted connection must show
 * want_peer as its peer and want_local:port as its own address.
 */
static void peer_connects(struct __test_metadata *_metadata,
			  FIXTURE_DATA(sock6) *self, int lfd, int port,
			  const char *ip, struct in6_addr want_peer,
			  struct in6_addr want_local)
{
	char buf[100], want[100];
	struct name6 n;
	int fd;

	ctl_send(_metadata, self, "CONNECT %s %d %zu", ip, port, sizeof(buf));
	fd = accept_within(_metadata, lfd, 0);
	n = name_of(_metadata, fd, true);
	EXPECT_NAME6(n, want_peer, -1);
	EXPECT_NE(0, ntohs(n.sin6.sin6_port));
	n = name_of(_metadata, fd, false);
	EXPECT_NAME6(n, want_local, port);
	recv_exact(_metadata, fd, buf, sizeof(buf));
	fill_pattern(want, 0, sizeof(want));
	EXPECT_EQ(0, memcmp(want, buf, sizeof(buf)));
	send_all(_metadata, fd, buf, sizeof(buf));
	close(fd);
	ctl_expect(_metadata, self, "OK 100");
}

/*
 * Connect a new socket to our own listener lfd at dst:port; both ends must
 * show want_local (the address the connection runs between), and carry a
 * byte each way.
 */
static void connect_own(struct __test_metadata *_metadata,
			FIXTURE_DATA(sock6) *self, int lfd, int port,
			struct in6_addr dst, struct in6_addr want_local)
{
	int fd = new_socket(_metadata, self, SOCK_STREAM);
	struct name6 n;
	char c = 0;
	int afd, err;

	err = connect_to(fd, &dst, port);
	ASSERT_EQ(0, err) TH_LOG("connect to [%s]:%d: %s", str6(&dst), port,
				 strerror(err));
	afd = accept_within(_metadata, lfd, 0);
	n = name_of(_metadata, fd, true);
	EXPECT_NAME6(n, want_local, port);
	n = name_of(_metadata, fd, false);
	EXPECT_NAME6(n, want_local, -1);
	n = name_of(_metadata, afd, true);
	EXPECT_NAME6(n, want_local, -1);
	n = name_of(_metadata, afd, false);
	EXPECT_NAME6(n, want_local, port);
	ASSERT_EQ(1, send(fd, "a", 1, 0));
	ASSERT_TRUE(poll_one(afd, POLLIN, WAIT_MS) & POLLIN);
	ASSERT_EQ(1, recv(afd, &c, 1, 0));
	EXPECT_EQ('a', c);
	ASSERT_EQ(1, send(afd, "b", 1, 0));
	ASSERT_TRUE(poll_one(fd, POLLIN, WAIT_MS) & POLLIN);
	ASSERT_EQ(1, recv(fd, &c, 1, 0));
	EXPECT_EQ('b', c);
	close(afd);
	close(fd);
}

/* ---- the socket ---- */

SOCK6_TEST(so_domain_is_af_inet6)
{
	int tcp = new_socket(_metadata, self, SOCK_STREAM);
	int udp = new_socket(_metadata, self, SOCK_DGRAM);

	EXPECT_EQ(AF_INET6, get_int(tcp, SOL_SOCKET, SO_DOMAIN));
	EXPECT_EQ(AF_INET6, get_int(udp, SOL_SOCKET, SO_DOMAIN));
	close(tcp);
	close(udp);
}

/* ---- TCP to the peer over IPv6 ---- */

SOCK6_TEST(tcp_echo_round_trip_is_byte_exact)
{
	int fd = connect_peer(_metadata, self, PORT_ECHO);

	echo_roundtrip(_metadata, fd, 0, 1);
	echo_roundtrip(_metadata, fd, 1, 500);
	close(fd);
}

/* Both directions at once, through the echo service. */
SOCK6_TEST(tcp_bulk_echo_256k_arrives_intact)
{
	const size_t total = 256 << 10;
	char *out = malloc(total), *in = malloc(total);
	int fd = connect_peer(_metadata, self, PORT_ECHO);
	size_t sent = 0, got = 0;

	ASSERT_NE(NULL, out);
	ASSERT_NE(NULL, in);
	fill_pattern(out, 7, total);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	while (got < total) {
		struct pollfd p = {
			.fd = fd,
			.events = POLLIN | (sent < total ? POLLOUT : 0),
		};
		ssize_t n;

		ASSERT_EQ(1, poll(&p, 1, WAIT_MS)) TH_LOG("stalled at %zu/%zu", got, sent);
		if (p.revents & POLLOUT) {
			n = send(fd, out + sent, total - sent, 0);
			ASSERT_LT(0, n) TH_LOG("send: %s", strerror(errno));
			sent += n;
		}
		if (p.revents & POLLIN) {
			n = recv(fd, in + got, total - got, 0);
			ASSERT_LT(0, n) TH_LOG("recv: %zd, %s", n, n ? strerror(errno) : "EOF");
			got += n;
		}
	}
	EXPECT_EQ(total, check_pattern(in, 7, total));
	free(out);
	free(in);
	close(fd);
}

SOCK6_TEST(getsockname_and_getpeername_are_sockaddr_in6)
{
	int fd = connect_peer(_metadata, self, PORT_ECHO);
	struct name6 n;

	n = name_of(_metadata, fd, false);
	EXPECT_NAME6(n, self->guest, -1);
	EXPECT_NE(0, ntohs(n.sin6.sin6_port));
	EXPECT_EQ(0, n.sin6.sin6_flowinfo);
	EXPECT_EQ(0, n.sin6.sin6_scope_id);
	n = name_of(_metadata, fd, true);
	EXPECT_NAME6(n, self->peer, PORT_ECHO);
	EXPECT_EQ(0, n.sin6.sin6_flowinfo);
	EXPECT_EQ(0, n.sin6.sin6_scope_id);
	close(fd);
}

SOCK6_TEST(connect_to_closed_port_is_econnrefused)
{
	int fd = new_socket(_metadata, self, SOCK_STREAM);

	EXPECT_EQ(ECONNREFUSED, connect_to(fd, &self->peer, PORT_CLOSED));
	close(fd);
}

/* An AF_INET6 socket reaches an IPv4 peer through its v4-mapped address. */
SOCK6_TEST(tcp_to_v4_mapped_peer_runs_over_ipv4)
{
	struct in6_addr peer = v4_mapped(self->peer4);
	int fd = new_socket(_metadata, self, SOCK_STREAM);
	int err = connect_to(fd, &peer, PORT_ECHO);
	struct name6 n;

	ASSERT_EQ(0, err) TH_LOG("connect to [%s]:%d: %s", str6(&peer),
				 PORT_ECHO, strerror(err));
	n = name_of(_metadata, fd, false);
	EXPECT_NAME6(n, v4_mapped(self->guest4), -1);
	n = name_of(_metadata, fd, true);
	EXPECT_NAME6(n, peer, PORT_ECHO);
	echo_roundtrip(_metadata, fd, 3, 200);
	close(fd);
}

/* ---- listening: dual stack and IPV6_V6ONLY ---- */

SOCK6_TEST(listener_on_any_accepts_ipv6_and_ipv4_clients)
{
	int port, lfd = listen_any(_metadata, self, -1, &port);

	peer_connects(_metadata, self, lfd, port, self->guest_ip6,
		      self->peer, self->guest);
	peer_connects(_metadata, self, lfd, port, self->guest_ip4,
		      v4_mapped(self->peer4), v4_mapped(self->guest4));
	close(lfd);
}

SOCK6_TEST(v6only_listener_refuses_ipv4_and_accepts_ipv6)
{
	int port, lfd = listen_any(_metadata, self, 1, &port);

	ctl_send(_metadata, self, "CONNECT %s %d 1", self->guest_ip4, port);
	ctl_expect(_metadata, self, "ERR ECONNREFUSED");
	EXPECT_EQ(0, poll_one(lfd, POLLIN, 0)) TH_LOG("an IPv4 connection is pending");
	peer_connects(_metadata, self, lfd, port, self->guest_ip6,
		      self->peer, self->guest);
	close(lfd);
}

/* ---- connecting to ourselves ---- */

SOCK6_TEST(connect_to_own_listener_over_loopback)
{
	int port, lfd = listen_any(_metadata, self, -1, &port);

	connect_own(_metadata, self, lfd, port, in6addr_loopback, in6addr_loopback);
	close(lfd);
}

SOCK6_TEST(connect_to_own_listener_over_own_address)
{
	int port, lfd = listen_any(_metadata, self, -1, &port);

	connect_own(_metadata, self, lfd, port, self->guest, self->guest);
	close(lfd);
}

SOCK6_TEST(connect_to_own_listener_over_v4_mapped_loopback)
{
	struct in6_addr lo4 = v4_mapped((struct in_addr){ htonl(INADDR_LOOPBACK) });
	int port, lfd = listen_any(_metadata, self, -1, &port);

	connect_own(_metadata, self, lfd, port, lo4, lo4);
	close(lfd);
}

/* ---- UDP ---- */

SOCK6_TEST(udp_sendto_recvfrom_echo_carries_source_address)
{
	struct sockaddr_in6 to = sin6_of(&self->peer, PORT_ECHO), from;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd = new_socket(_metadata, self, SOCK_DGRAM);
	char buf[64] = { 0 };
	struct name6 n;

	ASSERT_EQ(11, sendto(fd, "hello, ipv6", 11, 0, (struct sockaddr *)&to, sizeof(to)))
		TH_LOG("sendto: %s", strerror(errno));
	ASSERT_TRUE(poll_one(fd, POLLIN, WAIT_MS) & POLLIN) TH_LOG("no echo came back");
	memset(&ss, 0xa5, sizeof(ss));
	ASSERT_EQ(11, recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&ss, &len));
	EXPECT_STREQ("hello, ipv6", buf);
	memcpy(&from, &ss, sizeof(from));
	n = (struct name6){ .sin6 = from, .len = len };
	EXPECT_NAME6(n, self->peer, PORT_ECHO);
	n = name_of(_metadata, fd, false);
	EXPECT_EQ(sizeof(struct sockaddr_in6), n.len);
	EXPECT_NE(0, ntohs(n.sin6.sin6_port));
	close(fd);
}

/*
 * ICMPv6 port unreachable from the peer's Linux for a connected socket's
 * datagram: the next receive fails with ECONNREFUSED (icmpv6_err_convert).
 */
SOCK6_TEST(udp_connected_to_closed_port_gets_econnrefused)
{
	struct sockaddr_in6 to = sin6_of(&self->peer, PORT_CLOSED);
	int fd = new_socket(_metadata, self, SOCK_DGRAM);
	char buf[8];

	ASSERT_EQ(0, connect(fd, (struct sockaddr *)&to, sizeof(to)));
	ASSERT_EQ(0, set_timeout(fd, SO_RCVTIMEO, WAIT_MS));
	ASSERT_EQ(4, send(fd, "ping", 4, 0));
	errno = 0;
	EXPECT_EQ(-1, recv(fd, buf, sizeof(buf), 0));
	EXPECT_EQ(ECONNREFUSED, errno);
	close(fd);
}

/* IPV6_RECVPKTINFO, IPV6_RECVTCLASS, IPV6_RECVHOPLIMIT on an echoed datagram. */
SOCK6_TEST(udp_pktinfo_tclass_and_hoplimit_control_messages)
{
	struct sockaddr_in6 to = sin6_of(&self->peer, PORT_ECHO);
	int fd = new_socket(_metadata, self, SOCK_DGRAM);
	int one = 1;
	char buf[16], cbuf[256];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	bool pktinfo = false, tclass = false, hoplimit = false;
	struct cmsghdr *c;

	ASSERT_EQ(0, setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)));
	ASSERT_EQ(0, setsockopt(fd, IPPROTO_IPV6, IPV6_RECVTCLASS, &one, sizeof(one)));
	ASSERT_EQ(0, setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &one, sizeof(one)));
	ASSERT_EQ(0, connect(fd, (struct sockaddr *)&to, sizeof(to)));
	ASSERT_EQ(4, send(fd, "cmsg", 4, 0));
	ASSERT_TRUE(poll_one(fd, POLLIN, WAIT_MS) & POLLIN) TH_LOG("no echo");
	ASSERT_EQ(4, recvmsg(fd, &mh, 0));
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		ASSERT_EQ(IPPROTO_IPV6, c->cmsg_level);
		if (c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			EXPECT_EQ(0, memcmp(&pi.ipi6_addr, &self->guest, sizeof(pi.ipi6_addr)));
			pktinfo = true;
		} else if (c->cmsg_type == IPV6_TCLASS) {
			int v;

			memcpy(&v, CMSG_DATA(c), sizeof(v));
			EXPECT_EQ(0, v);
			tclass = true;
		} else if (c->cmsg_type == IPV6_HOPLIMIT) {
			int v;

			memcpy(&v, CMSG_DATA(c), sizeof(v));
			EXPECT_LE(1, v);
			EXPECT_GE(255, v);
			hoplimit = true;
		}
	}
	EXPECT_TRUE(pktinfo);
	EXPECT_TRUE(tclass);
	EXPECT_TRUE(hoplimit);
	close(fd);
}

/* ---- IPv6 socket options ---- */

/* The default is net.ipv6.bindv6only: 0 unless someone changed it. */
SOCK6_TEST(ipv6_v6only_default_then_set_and_get)
{
	int want = read_sysctl_int("/proc/sys/net/ipv6/bindv6only", 0);
	int fd = new_socket(_metadata, self, SOCK_STREAM);

	EXPECT_EQ(want, get_int(fd, IPPROTO_IPV6, IPV6_V6ONLY));
	EXPECT_EQ(0, set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1));
	EXPECT_EQ(1, get_int(fd, IPPROTO_IPV6, IPV6_V6ONLY));
	EXPECT_EQ(0, set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 0));
	EXPECT_EQ(0, get_int(fd, IPPROTO_IPV6, IPV6_V6ONLY));
	close(fd);
}

/* Linux fixes the choice once the socket has a port. */
SOCK6_TEST(ipv6_v6only_after_bind_is_einval)
{
	struct sockaddr_in6 sin6 = sin6_of(&in6addr_any, 0);
	int fd = new_socket(_metadata, self, SOCK_STREAM);

	ASSERT_EQ(0, bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)));
	errno = 0;
	EXPECT_EQ(-1, set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, get_int(fd, IPPROTO_IPV6, IPV6_V6ONLY));
	close(fd);
}

SOCK6_TEST(ipv6_tclass_default_set_and_range)
{
	int fd = new_socket(_metadata, self, SOCK_STREAM);

	EXPECT_EQ(0, get_int(fd, IPPROTO_IPV6, IPV6_TCLASS));
	EXPECT_EQ(0, set_int(fd, IPPROTO_IPV6, IPV6_TCLASS, 0x20));
	EXPECT_EQ(0x20, get_int(fd, IPPROTO_IPV6, IPV6_TCLASS));
	/* -1: back to the default. */
	EXPECT_EQ(0, set_int(fd, IPPROTO_IPV6, IPV6_TCLASS, -1));
	EXPECT_EQ(0, get_int(fd, IPPROTO_IPV6, IPV6_TCLASS));
	errno = 0;
	EXPECT_EQ(-1, set_int(fd, IPPROTO_IPV6, IPV6_TCLASS, 256));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, set_int(fd, IPPROTO_IPV6, IPV6_TCLASS, -2));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
}

SOCK6_TEST(ipv6_unicast_hops_default_set_and_range)
{
	int fd = new_socket(_metadata, self, SOCK_STREAM);

	EXPECT_EQ(DEFAULT_HOPS, get_int(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS));
	EXPECT_EQ(0, set_int(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 5));
	EXPECT_EQ(5, get_int(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS));
	/* -1: back to the route's (here the system's) default. */
	EXPECT_EQ(0, set_int(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, -1));
	EXPECT_EQ(DEFAULT_HOPS, get_int(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS));
	errno = 0;
	EXPECT_EQ(-1, set_int(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 256));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, set_int(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, -2));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(DEFAULT_HOPS, get_int(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS));
	close(fd);
}

/* ---- bind() ---- */

/* ---- multicast ---- */

/*
 * Groups in ff15::/16 (site-local scope), one per test, each with its own
 * port.  The interface a variant names is its own: the guest's Linux NIC
 * (found by our address) for inet6, 0 (the netserver's port, its one
 * multicast interface) for joyride6.
 */
#define MC6_GROUP(n)		"ff15::77:" #n
#define MC6_PORT(n)		(47200 + (n))

static unsigned int mc6_ifindex(FIXTURE_DATA(sock6) *self)
{
	struct ifaddrs *ifa, *i;
	unsigned int idx = 0;

	if (self->family != AF_INET6 || getifaddrs(&ifa))
		return 0;
	for (i = ifa; i && !idx; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET6 &&
		    !memcmp(&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr,
			    &self->guest, sizeof(self->guest)))
			idx = if_nametoindex(i->ifa_name);
	freeifaddrs(ifa);
	return idx;
}

static int mc6_member(FIXTURE_DATA(sock6) *self, int fd, int name,
		      const char *group, unsigned int ifindex)
{
	struct ipv6_mreq m = { .ipv6mr_interface = ifindex };

	inet_pton(AF_INET6, group, &m.ipv6mr_multiaddr);
	return setsockopt(fd, IPPROTO_IPV6, name, &m, sizeof(m));
}

static int udp6_bound_any(struct __test_metadata *_metadata,
			  FIXTURE_DATA(sock6) *self, int port)
{
	struct sockaddr_in6 sin6 = sin6_of(&in6addr_any, port);
	int fd = new_socket(_metadata, self, SOCK_DGRAM);

	ASSERT_EQ(0, bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)))
		TH_LOG("bind port %d: %s", port, strerror(errno));
	return fd;
}

SOCK6_TEST(multicast6_options_have_linux_defaults_and_ranges)
{
	int fd = new_socket(_metadata, self, SOCK_DGRAM);
	int tcp = new_socket(_metadata, self, SOCK_STREAM);
	unsigned int ifindex = mc6_ifindex(self);
	struct ipv6_mreq m = { .ipv6mr_interface = ifindex };
	unsigned char c = 3;

	EXPECT_EQ(1, get_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS));
	EXPECT_EQ(1, get_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP));
	EXPECT_EQ(0, get_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF));
	EXPECT_EQ(1, get_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_ALL));

	EXPECT_EQ(0, set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 7));
	EXPECT_EQ(7, get_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS));
	EXPECT_EQ(0, set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, -1));
	EXPECT_EQ(1, get_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS));
	errno = 0;
	EXPECT_EQ(-1, set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 256));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, -2));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &c, 1));
	EXPECT_EQ(EINVAL, errno);

	errno = 0;
	EXPECT_EQ(-1, set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 2));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0));
	EXPECT_EQ(0, get_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP));
	EXPECT_EQ(0, set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_ALL, 5));
	EXPECT_EQ(1, get_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_ALL));

	EXPECT_EQ(0, set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, ifindex));
	EXPECT_EQ(ifindex, get_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF));
	errno = 0;
	EXPECT_EQ(-1, set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, 9999));
	EXPECT_EQ(ENODEV, errno);
	errno = 0;
	EXPECT_EQ(-1, set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, -1));
	EXPECT_EQ(ENODEV, errno);

	/* TCP: hop limit and interface are not its options; a join is
	 * EPROTO once the request is long enough. */
	errno = 0;
	EXPECT_EQ(-1, set_int(tcp, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 2));
	EXPECT_EQ(ENOPROTOOPT, errno);
	errno = 0;
	EXPECT_EQ(-1, set_int(tcp, IPPROTO_IPV6, IPV6_MULTICAST_IF, 0));
	EXPECT_EQ(ENOPROTOOPT, errno);
	EXPECT_EQ(0, set_int(tcp, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0));
	inet_pton(AF_INET6, MC6_GROUP(1), &m.ipv6mr_multiaddr);
	errno = 0;
	EXPECT_EQ(-1, setsockopt(tcp, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, &m, sizeof(m)));
	EXPECT_EQ(EPROTO, errno);
	errno = 0;
	EXPECT_EQ(-1, setsockopt(tcp, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, &m, 4));
	EXPECT_EQ(EINVAL, errno);
	close(tcp);
	close(fd);
}

SOCK6_TEST(multicast6_membership_errors_are_linux_errnos)
{
	int fd = new_socket(_metadata, self, SOCK_DGRAM);
	unsigned int ifindex = mc6_ifindex(self);
	struct group_req gr = { .gr_interface = ifindex };
	struct sockaddr_in6 *g6 = (struct sockaddr_in6 *)&gr.gr_group;

	errno = 0;
	EXPECT_EQ(-1, mc6_member(self, fd, IPV6_ADD_MEMBERSHIP, FOREIGN_ADDR6, ifindex));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, mc6_member(self, fd, IPV6_ADD_MEMBERSHIP, MC6_GROUP(2), ifindex));
	errno = 0;
	EXPECT_EQ(-1, mc6_member(self, fd, IPV6_ADD_MEMBERSHIP, MC6_GROUP(2), ifindex));
	EXPECT_EQ(EADDRINUSE, errno);
	errno = 0;
	EXPECT_EQ(-1, mc6_member(self, fd, IPV6_ADD_MEMBERSHIP, MC6_GROUP(2), 0));
	EXPECT_EQ(EADDRINUSE, errno);
	errno = 0;
	EXPECT_EQ(-1, mc6_member(self, fd, IPV6_ADD_MEMBERSHIP, MC6_GROUP(3), 9999));
	EXPECT_EQ(ENODEV, errno);
	errno = 0;
	EXPECT_EQ(-1, mc6_member(self, fd, IPV6_DROP_MEMBERSHIP, MC6_GROUP(3), ifindex));
	EXPECT_EQ(EADDRNOTAVAIL, errno);
	errno = 0;
	EXPECT_EQ(-1, mc6_member(self, fd, IPV6_DROP_MEMBERSHIP, FOREIGN_ADDR6, ifindex));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, mc6_member(self, fd, IPV6_DROP_MEMBERSHIP, MC6_GROUP(2), 0));
	errno = 0;
	EXPECT_EQ(-1, mc6_member(self, fd, IPV6_DROP_MEMBERSHIP, MC6_GROUP(2), 0));
	EXPECT_EQ(EADDRNOTAVAIL, errno);

	/* MCAST_JOIN_GROUP at the IPv6 level takes IPv6 groups only. */
	g6->sin6_family = AF_INET;
	errno = 0;
	EXPECT_EQ(-1, setsockopt(fd, IPPROTO_IPV6, MCAST_JOIN_GROUP, &gr, sizeof(gr)));
	EXPECT_EQ(EADDRNOTAVAIL, errno);
	g6->sin6_family = AF_INET6;
	inet_pton(AF_INET6, MC6_GROUP(3), &g6->sin6_addr);
	EXPECT_EQ(0, setsockopt(fd, IPPROTO_IPV6, MCAST_JOIN_GROUP, &gr, sizeof(gr)));
	EXPECT_EQ(0, setsockopt(fd, IPPROTO_IPV6, MCAST_LEAVE_GROUP, &gr, sizeof(gr)));
	close(fd);
}

SOCK6_TEST(multicast6_from_peer_is_received_until_dropped)
{
	int fd = udp6_bound_any(_metadata, self, MC6_PORT(1));
	unsigned int ifindex = mc6_ifindex(self);
	char peer[INET6_ADDRSTRLEN], buf[64];

	inet_ntop(AF_INET6, &self->peer, peer, sizeof(peer));
	ASSERT_EQ(0, mc6_member(self, fd, IPV6_ADD_MEMBERSHIP, MC6_GROUP(11), ifindex));
	ctl_send(_metadata, self, "MCAST_SEND %s %d %s joined6", MC6_GROUP(11),
		 MC6_PORT(1), peer);
	ctl_expect(_metadata, self, "OK");
	recv_dgram(fd, buf, sizeof(buf));
	EXPECT_STREQ("joined6", buf);

	/* Dropped: the peer's unicast marker comes first. */
	ASSERT_EQ(0, mc6_member(self, fd, IPV6_DROP_MEMBERSHIP, MC6_GROUP(11), ifindex));
	ctl_send(_metadata, self, "MCAST_SEND %s %d %s dropped6 1 %s", MC6_GROUP(11),
		 MC6_PORT(1), peer, self->guest_ip6);
	ctl_expect(_metadata, self, "OK");
	recv_dgram(fd, buf, sizeof(buf));
	EXPECT_STREQ("END", buf);
	close(fd);
}

SOCK6_TEST(multicast6_send_reaches_peer_with_hop_limit)
{
	int fd = new_socket(_metadata, self, SOCK_DGRAM);
	struct in6_addr g;
	struct sockaddr_in6 group;
	char peer[INET6_ADDRSTRLEN], want[INET6_ADDRSTRLEN + 8], line[256];

	inet_pton(AF_INET6, MC6_GROUP(13), &g);
	group = sin6_of(&g, MC6_PORT(3));
	inet_ntop(AF_INET6, &self->peer, peer, sizeof(peer));
	ctl_send(_metadata, self, "MCAST_JOIN %s %d %s", MC6_GROUP(13), MC6_PORT(3), peer);
	ctl_expect(_metadata, self, "OK");
	ASSERT_EQ(0, set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, mc6_ifindex(self)));
	ASSERT_EQ(0, set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 3));
	ASSERT_EQ(5, sendto(fd, "hello", 5, 0, (struct sockaddr *)&group, sizeof(group)))
		TH_LOG("sendto: %s", strerror(errno));
	ctl_send(_metadata, self, "MCAST_RECV %s %d hello", MC6_GROUP(13), MC6_PORT(3));
	ctl_recv(_metadata, self, line, sizeof(line));
	snprintf(want, sizeof(want), "OK %s 3", self->guest_ip6);
	EXPECT_STREQ(want, line);
	close(fd);
}

/* The option sweep (opt_sweep.h): AF_INET6 against AF_JOYRIDE_INET6. */
SOCK6_TEST(every_option_errno_matches_linux)
{
	static const int levels[] = { IPPROTO_IPV6, IPPROTO_IP, IPPROTO_TCP,
				      IPPROTO_UDP, IPPROTO_RAW, 12345 };
	struct opt_sweep o = { 0 };

	if (variant->family == AF_INET6)
		SKIP(return, "compares AF_INET6 with AF_JOYRIDE_INET6: the joyride6 variant runs it");
	opt_sweep(_metadata, AF_INET6, false, variant->family, levels,
		  sizeof(levels) / sizeof(levels[0]), &o);
	EXPECT_EQ(0, o.differ);
}

SOCK6_TEST(bind_to_address_nobody_has_is_eaddrnotavail)
{
	struct in6_addr foreign = addr6_of(FOREIGN_ADDR6);
	struct sockaddr_in6 sin6 = sin6_of(&foreign, 0);
	int fd = new_socket(_metadata, self, SOCK_STREAM);

	errno = 0;
	EXPECT_EQ(-1, bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)));
	EXPECT_EQ(EADDRNOTAVAIL, errno);
	close(fd);
}

TEST_HARNESS_MAIN
