// SPDX-License-Identifier: GPL-2.0
/*
 * jr-ns-errors: what the network reports, and the calls around it, as Linux
 * gives them.
 *
 *   jr-ns-errors --sock P --local JR_IP --echo LX_IP:7 --closed LX_IP:9
 *
 * The script gives the netserver a gateway (the Linux side, forwarding) and
 * these destinations behind it:
 *   198.51.100.0/24  no route: Linux answers ICMP net unreachable
 *   203.0.113.0/24   an "unreachable" route: ICMP host unreachable
 *   203.0.114.0/24   a "prohibit" route: ICMP communication prohibited
 *   192.0.2.0/24     blackholed; linux_peer.py icmp-responder answers SYNs
 *                    with crafted ICMP by port (2: protocol unreachable,
 *                    3: port unreachable, 66: only messages to ignore)
 * --closed is a UDP port on the Linux side with no socket (Linux answers
 * ICMP port unreachable); --echo a Linux TCP echo server.
 *
 * Cases, each fails loudly:
 *   tcp_*_unreachable  a connect fails at once with the ICMP code's errno
 *                      (ENETUNREACH, EHOSTUNREACH, ECONNREFUSED, ENOPROTOOPT)
 *   tcp_icmp_ignored   forged or irrelevant ICMP (bad checksum, wrong
 *                      sequence, short quote, ...) changes nothing: the
 *                      connect times out after TCP_SYNCNT 1 (about 3 s)
 *   tcp_syncnt         TCP_SYNCNT: default 6, 1..127, else EINVAL
 *   udp_connected_refused   ICMP port unreachable fails the next receive of
 *                      a connected socket with ECONNREFUSED, once; also over
 *                      the loopback (lwIP answers itself)
 *   udp_unconnected_ignores an unconnected socket hears nothing of it
 *   udp_connect_local  getsockname after connect: the address datagrams
 *                      leave from (JR_IP, or 127.0.0.1), and a port
 *   raw_connect_reply  (raw frontend) the CONNECT reply's local address for
 *                      UDP and TCP; CONNECT with AF_UNSPEC dissolves a UDP
 *                      association (and releases an auto-bound port, keeps
 *                      a bound one), resets a TCP connection, stops a
 *                      listener; the socket can connect or listen again
 */
#include "nstest.h"

#include <getopt.h>
#include <netinet/tcp.h>
#include <poll.h>

#include "jr/libjr.h"

static const char *sock_path;
static struct sockaddr_in local_addr, echo_addr, closed_addr;

static const char *errname(int err)
{
	return err ? strerror(-err) : "success";
}

/* ------------------------------------------------------------------ TCP */

static double tcp_connect_expect(struct jr_client *c, const char *what,
				 const char *to, int want, double min_s, double max_s)
{
	struct sockaddr_in a = ns_addr(to);
	int sd = (int)NS_CHECK(jr_socket(c, SOCK_STREAM));
	double t0, took;
	int err;

	/* Should the ICMP go missing, fail in seconds, not minutes. */
	NS_CHECK(jr_setsockopt(c, sd, IPPROTO_TCP, TCP_SYNCNT, 1));
	t0 = ns_now();
	err = jr_connect(c, sd, &a);
	took = ns_now() - t0;
	if (err != want)
		ns_die("%s: connect to %s: %s, want %s", what, to, errname(err),
		       errname(want));
	if (took < min_s || took > max_s)
		ns_die("%s: connect to %s failed after %.2f s, want %.1f..%.1f s", what,
		       to, took, min_s, max_s);
	NS_CHECK(jr_close(c, sd));
	ns_note("%s: connect to %s: %s after %.2f s", what, to, errname(err), took);
	return took;
}

static void tcp_unreachable(struct jr_client *c)
{
	/* An answer to the first SYN: well before its retransmission. */
	tcp_connect_expect(c, "tcp_net_unreachable", "198.51.100.1:80", -ENETUNREACH, 0, 0.9);
	tcp_connect_expect(c, "tcp_host_unreachable", "203.0.113.1:80", -EHOSTUNREACH, 0, 0.9);
	tcp_connect_expect(c, "tcp_prohibited", "203.0.114.1:80", -EHOSTUNREACH, 0, 0.9);
	tcp_connect_expect(c, "tcp_port_unreachable", "192.0.2.1:3", -ECONNREFUSED, 0, 0.9);
	tcp_connect_expect(c, "tcp_protocol_unreachable", "192.0.2.1:2", -ENOPROTOOPT, 0, 0.9);
}

static void tcp_icmp_ignored(struct jr_client *c)
{
	/* Linux's timing with one retransmission: SYN, 1 s, SYN, 2 s. */
	tcp_connect_expect(c, "tcp_icmp_ignored", "192.0.2.1:66", -ETIMEDOUT, 2.4, 4.5);
}

static void tcp_syncnt(struct jr_client *c)
{
	int sd = (int)NS_CHECK(jr_socket(c, SOCK_STREAM));
	int v = -1, err;

	NS_CHECK(jr_getsockopt(c, sd, IPPROTO_TCP, TCP_SYNCNT, &v));
	if (v != 6)
		ns_die("tcp_syncnt: default %d, want 6 (Linux's tcp_syn_retries)", v);
	for (int bad = 0; bad <= 1; bad++) {
		int value = bad ? 128 : 0;

		err = jr_setsockopt(c, sd, IPPROTO_TCP, TCP_SYNCNT, value);
		if (err != -EINVAL)
			ns_die("tcp_syncnt: set %d: %s, want EINVAL", value, errname(err));
	}
	NS_CHECK(jr_setsockopt(c, sd, IPPROTO_TCP, TCP_SYNCNT, 127));
	NS_CHECK(jr_getsockopt(c, sd, IPPROTO_TCP, TCP_SYNCNT, &v));
	if (v != 127)
		ns_die("tcp_syncnt: set 127, got %d", v);
	NS_CHECK(jr_setsockopt(c, sd, IPPROTO_TCP, TCP_SYNCNT, 1));
	NS_CHECK(jr_getsockopt(c, sd, IPPROTO_TCP, TCP_SYNCNT, &v));
	if (v != 1)
		ns_die("tcp_syncnt: set 1, got %d", v);
	NS_CHECK(jr_close(c, sd));
	sd = (int)NS_CHECK(jr_socket(c, SOCK_DGRAM));
	err = jr_getsockopt(c, sd, IPPROTO_TCP, TCP_SYNCNT, &v);
	if (err != -ENOPROTOOPT)
		ns_die("tcp_syncnt: on a UDP socket: %s, want ENOPROTOOPT", errname(err));
	NS_CHECK(jr_close(c, sd));
	ns_note("tcp_syncnt: default 6, 1 and 127 taken, 0 and 128 refused");
}

/* ------------------------------------------------------------------ UDP */

static void udp_refused(struct jr_client *c, const struct sockaddr_in *to,
			const char *what)
{
	int sd = (int)NS_CHECK(jr_socket(c, SOCK_DGRAM));
	char buf[16];
	ssize_t n;

	NS_CHECK(jr_connect(c, sd, to));
	if (jr_send(c, sd, "knock", 5, 0) != 5)
		ns_die("%s: send failed", what);
	ns_jr_wait(c, sd, JR_POLLIN, 3000, "the error from ICMP port unreachable");
	n = jr_recv(c, sd, buf, sizeof(buf), 0);
	if (n != -ECONNREFUSED)
		ns_die("%s: recv after ICMP port unreachable: %zd (%s), want ECONNREFUSED",
		       what, n, n < 0 ? errname((int)n) : "data");
	/* Reported once, as Linux's sk_err. */
	n = jr_recv(c, sd, buf, sizeof(buf), JR_MSG_DONTWAIT);
	if (n != -EAGAIN)
		ns_die("%s: second recv: %zd, want EAGAIN", what, n);
	NS_CHECK(jr_close(c, sd));
	ns_note("%s: recv failed with ECONNREFUSED once", what);
}

static void udp_connected_refused(struct jr_client *c)
{
	struct sockaddr_in lo = ns_addr("127.0.0.1:9");

	udp_refused(c, &closed_addr, "udp_connected_refused");
	udp_refused(c, &lo, "udp_connected_refused_loopback");
}

static void udp_unconnected_ignores(struct jr_client *c)
{
	int sd = (int)NS_CHECK(jr_socket(c, SOCK_DGRAM));
	struct jr_pollfd p = { .sd = sd, .events = JR_POLLIN };
	char buf[16];
	ssize_t n;

	if (jr_sendto(c, sd, "knock", 5, 0, &closed_addr) != 5)
		ns_die("udp_unconnected_ignores: sendto failed");
	/* Time for the ICMP to come back and be ignored. */
	n = jr_poll(c, &p, 1, 500);
	if (n != 0)
		ns_die("udp_unconnected_ignores: poll: %zd (revents %#x), want nothing",
		       n, p.revents);
	n = jr_recv(c, sd, buf, sizeof(buf), JR_MSG_DONTWAIT);
	if (n != -EAGAIN)
		ns_die("udp_unconnected_ignores: recv: %zd, want EAGAIN", n);
	NS_CHECK(jr_close(c, sd));
	ns_note("udp_unconnected_ignores: no error on an unconnected socket");
}

static void expect_name(const struct sockaddr_in *got, const struct sockaddr_in *want_ip,
			bool any_port, const char *what)
{
	if (got->sin_addr.s_addr != want_ip->sin_addr.s_addr ||
	    (any_port ? !got->sin_port : got->sin_port != want_ip->sin_port)) {
		char g[32], w[32];

		snprintf(g, sizeof(g), "%s", inet_ntoa(got->sin_addr));
		snprintf(w, sizeof(w), "%s", inet_ntoa(want_ip->sin_addr));
		ns_die("%s: %s:%u, want %s:%s", what, g, ntohs(got->sin_port), w,
		       any_port ? "(a port)" : "the same port");
	}
}

static void udp_connect_local(struct jr_client *c)
{
	struct sockaddr_in lo = ns_addr("127.0.0.1:9"), name;
	int sd = (int)NS_CHECK(jr_socket(c, SOCK_DGRAM));

	NS_CHECK(jr_connect(c, sd, &echo_addr));
	NS_CHECK(jr_getsockname(c, sd, &name));
	expect_name(&name, &local_addr, true, "udp_connect_local: getsockname");
	NS_CHECK(jr_close(c, sd));
	sd = (int)NS_CHECK(jr_socket(c, SOCK_DGRAM));
	NS_CHECK(jr_connect(c, sd, &lo));
	NS_CHECK(jr_getsockname(c, sd, &name));
	expect_name(&name, &lo, true, "udp_connect_local: getsockname (loopback)");
	NS_CHECK(jr_close(c, sd));
	ns_note("udp_connect_local: the netif's address, 127.0.0.1 for the loopback");
}

/* ------------------------------------------------------- raw frontend */

struct raw {
	struct jr_region	r;
	uint64_t		tag;
};

static bool raw_wait(struct raw *h, uint16_t op, uint32_t slot, struct jr_cqe *out)
{
	double deadline = ns_now() + 5;

	for (;;) {
		int ready = jr_ring_ready(&h->r.cq);

		if (ready < 0)
			ns_die("raw: the netserver's CQ index is out of range");
		for (int i = 0; i < ready; i++) {
			struct jr_cqe cqe;

			memcpy(&cqe, jr_ring_entry(&h->r.cq, h->r.cq.own), sizeof(cqe));
			jr_ring_consume(&h->r.cq, 1);
			if (jr_validate_cqe(&cqe, &h->r.limits))
				ns_die("raw: malformed CQE (op %u)", cqe.op);
			if (cqe.op == op && cqe.slot == slot) {
				*out = cqe;
				return true;
			}
		}
		if (ready)
			continue;
		if (ns_now() > deadline)
			return false;
		usleep(200);
	}
}

static int raw_call(struct raw *h, struct jr_sqe *sqe, struct jr_cqe *reply)
{
	uint64_t one = 1;
	struct jr_cqe cqe;

	sqe->slot_gen = 1;
	sqe->tag = h->tag++;
	if (jr_owner_post(&h->r, sqe))
		ns_die("raw: SQ full");
	if (write(h->r.sq_eventfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		ns_die("raw: doorbell: %s", strerror(errno));
	if (!raw_wait(h, sqe->op, sqe->slot, &cqe))
		ns_die("raw: no reply to op %u on slot %u", sqe->op, sqe->slot);
	if (cqe.tag != sqe->tag)
		ns_die("raw: reply to op %u with tag %llu, want %llu", sqe->op,
		       (unsigned long long)cqe.tag, (unsigned long long)sqe->tag);
	if (reply)
		*reply = cqe;
	return cqe.res;
}

static void raw_socket(struct raw *h, uint32_t slot, uint16_t type)
{
	struct jr_sqe sqe = { .op = JR_OP_SOCKET, .slot = slot };
	int res;

	h->r.slots[slot].rx_cons = h->r.slots[slot].tx_prod = 0;
	sqe.u.socket.family = AF_INET;
	sqe.u.socket.type = type;
	res = raw_call(h, &sqe, NULL);
	if (res)
		ns_die("raw: SOCKET: %s", errname(res));
}

static void to_jr(const struct sockaddr_in *a, struct jr_sockaddr *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->family = AF_INET;
	sa->port = a->sin_port;
	memcpy(sa->addr, &a->sin_addr, 4);
}

static struct sockaddr_in from_jr(const struct jr_sockaddr *sa)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = sa->port };

	memcpy(&a.sin_addr, sa->addr, 4);
	return a;
}

/* CONNECT to a (NULL: AF_UNSPEC, all zero); returns res, *local the reply's. */
static int raw_connect(struct raw *h, uint32_t slot, const struct sockaddr_in *a,
		       struct sockaddr_in *local)
{
	struct jr_sqe sqe = { .op = JR_OP_CONNECT, .slot = slot };
	struct jr_cqe cqe;
	int res;

	if (a)
		to_jr(a, &sqe.u.addr);
	res = raw_call(h, &sqe, &cqe);
	if (!res && local)
		*local = from_jr(&cqe.u.addr);
	return res;
}

static int raw_getname(struct raw *h, uint32_t slot, bool peer, struct sockaddr_in *out)
{
	struct jr_sqe sqe = { .op = JR_OP_GETNAME, .slot = slot };
	struct jr_cqe cqe;
	int res;

	sqe.u.getname.peer = peer;
	res = raw_call(h, &sqe, &cqe);
	if (!res && out)
		*out = from_jr(&cqe.u.addr);
	return res;
}

static void raw_simple(struct raw *h, uint16_t op, uint32_t slot, const struct sockaddr_in *a,
		       uint32_t arg, const char *what)
{
	struct jr_sqe sqe = { .op = op, .slot = slot };
	int res;

	if (op == JR_OP_BIND)
		to_jr(a, &sqe.u.addr);
	else if (op == JR_OP_LISTEN)
		sqe.u.listen.backlog = arg;
	res = raw_call(h, &sqe, NULL);
	if (res)
		ns_die("raw: %s: %s", what, errname(res));
}

static void raw_connect_reply(void)
{
	struct sockaddr_in any = { .sin_family = AF_INET }, got, bound;
	struct sockaddr_in lo = ns_addr("127.0.0.1:9");
	struct raw h = { .tag = 1 };
	int err, res;

	err = jr_ufront_connect(sock_path, 16, 4096, &h.r);
	if (err)
		ns_die("raw: jr_ufront_connect: %s", strerror(-err));

	/* UDP, auto-bound by the connect. */
	raw_socket(&h, 1, SOCK_DGRAM);
	res = raw_connect(&h, 1, &closed_addr, &got);
	if (res)
		ns_die("raw: UDP CONNECT: %s", errname(res));
	expect_name(&got, &local_addr, true, "raw: UDP CONNECT reply");
	res = raw_connect(&h, 1, NULL, &got);
	if (res)
		ns_die("raw: UDP CONNECT AF_UNSPEC: %s", errname(res));
	expect_name(&got, &any, false, "raw: UDP disconnect reply (port released)");
	res = raw_getname(&h, 1, true, NULL);
	if (res != -ENOTCONN)
		ns_die("raw: GETNAME peer after disconnect: %s, want ENOTCONN", errname(res));
	res = raw_connect(&h, 1, &lo, &got);
	if (res)
		ns_die("raw: UDP CONNECT again: %s", errname(res));
	expect_name(&got, &lo, true, "raw: UDP CONNECT reply (loopback)");

	/* UDP, bound to a port: a disconnect keeps it. */
	raw_socket(&h, 2, SOCK_DGRAM);
	bound = ns_addr(":5555");
	raw_simple(&h, JR_OP_BIND, 2, &bound, 0, "UDP BIND");
	res = raw_connect(&h, 2, &closed_addr, &got);
	bound.sin_addr = local_addr.sin_addr;
	if (res)
		ns_die("raw: UDP CONNECT (bound): %s", errname(res));
	expect_name(&got, &bound, false, "raw: UDP CONNECT reply (bound port)");
	res = raw_connect(&h, 2, NULL, &got);
	bound.sin_addr.s_addr = 0;
	if (res)
		ns_die("raw: UDP CONNECT AF_UNSPEC (bound): %s", errname(res));
	expect_name(&got, &bound, false, "raw: UDP disconnect reply (bound port kept)");

	/* TCP: connected, then reset by AF_UNSPEC, then connected again. */
	raw_socket(&h, 3, SOCK_STREAM);
	res = raw_connect(&h, 3, &echo_addr, &got);
	if (res)
		ns_die("raw: TCP CONNECT: %s", errname(res));
	expect_name(&got, &local_addr, true, "raw: TCP CONNECT reply");
	res = raw_connect(&h, 3, NULL, &got);
	if (res)
		ns_die("raw: TCP CONNECT AF_UNSPEC: %s", errname(res));
	res = raw_getname(&h, 3, true, NULL);
	if (res != -ENOTCONN)
		ns_die("raw: TCP GETNAME peer after disconnect: %s, want ENOTCONN",
		       errname(res));
	res = raw_connect(&h, 3, &echo_addr, &got);
	if (res)
		ns_die("raw: TCP CONNECT after disconnect: %s", errname(res));
	res = raw_getname(&h, 3, true, &got);
	if (res || got.sin_addr.s_addr != echo_addr.sin_addr.s_addr ||
	    got.sin_port != echo_addr.sin_port)
		ns_die("raw: TCP GETNAME peer after reconnect: %s", errname(res));

	/* TCP listener: AF_UNSPEC stops it, the bound port stays. */
	raw_socket(&h, 4, SOCK_STREAM);
	bound = ns_addr(":6000");
	raw_simple(&h, JR_OP_BIND, 4, &bound, 0, "TCP BIND");
	raw_simple(&h, JR_OP_LISTEN, 4, NULL, 8, "TCP LISTEN");
	res = raw_connect(&h, 4, NULL, &got);
	if (res)
		ns_die("raw: listener CONNECT AF_UNSPEC: %s", errname(res));
	expect_name(&got, &bound, false, "raw: listener disconnect reply (bound port kept)");
	raw_simple(&h, JR_OP_LISTEN, 4, NULL, 8, "TCP LISTEN again");

	jr_region_destroy(&h.r);
	ns_note("raw_connect_reply: UDP and TCP CONNECT name the local address; "
		"AF_UNSPEC disconnects UDP, TCP and a listener");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "sock", required_argument, NULL, 's' },
		{ "local", required_argument, NULL, 'l' },
		{ "echo", required_argument, NULL, 'e' },
		{ "closed", required_argument, NULL, 'c' },
		{ 0 }
	};
	struct jr_client *c;
	char local[64];
	int opt;

	ns_prog = "jr-ns-errors";
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 's': sock_path = optarg; break;
		case 'l':
			snprintf(local, sizeof(local), "%s:0", optarg);
			local_addr = ns_addr(local);
			break;
		case 'e': echo_addr = ns_addr(optarg); break;
		case 'c': closed_addr = ns_addr(optarg); break;
		default: return 2;
		}
	}
	if (!sock_path || !local_addr.sin_addr.s_addr || !echo_addr.sin_port ||
	    !closed_addr.sin_port)
		ns_die("usage: jr-ns-errors --sock P --local A --echo A:P --closed A:P");
	c = ns_jr_open(sock_path);
	tcp_syncnt(c);
	tcp_unreachable(c);
	tcp_icmp_ignored(c);
	udp_connected_refused(c);
	udp_unconnected_ignores(c);
	udp_connect_local(c);
	ns_jr_settle(c, 0, 5000, "every socket closed");
	jr_client_close(c);
	raw_connect_reply();
	ns_note("every case passed");
	return 0;
}
