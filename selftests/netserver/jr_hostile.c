// SPDX-License-Identifier: GPL-2.0
/*
 * jr-ns-hostile: a frontend that lies must only hurt itself.
 *
 *   jr-ns-hostile --sock P --echo A.B.C.D:PORT
 *
 * A well-behaved client (a child process, client library) runs an echo
 * conversation with the Linux echo server at --echo for the whole run and
 * counts its round trips in shared memory.  Meanwhile this process attaches
 * again and again through the raw region API (jr_ufront_connect) and breaks
 * the protocol in one way per case.  After each case:
 *   - the netserver must have done what the contract says (dropped the
 *     frontend, or failed just the one socket with -EIO, once, answered its
 *     CLOSE and kept serving the rest of that frontend);
 *   - the good client must have made progress (its counter moved on), so a
 *     hostile frontend can neither stop the engine nor starve its peers.
 * The script checks that the netserver process survived and that every
 * frontend detached at the end.
 */
#include "nstest.h"

#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "jr/libjr.h"

#define HOSTILE_SLOTS	64
#define HOSTILE_BUF	4096
#define DROP_WAIT_MS	3000
#define REPLY_WAIT_MS	5000
#define PROGRESS_RTTS	20	/* good round trips required after each case */
#define STALL_MAX_MS	500	/* longest pause a hostile peer may cause */

static const char *sock_path;
static struct sockaddr_in echo_addr;
static volatile uint64_t *good_rtts;	/* shared with the good child */
static pid_t good_pid;
static uint64_t rng = 0x6a72686f7374696cULL;
/* RESET events h_wait_cqe() skipped while counting (see case_dead_quiet). */
static bool counting_resets;
static unsigned int resets_seen;

static uint64_t rnd(void)
{
	rng = ns_mix64(rng);
	return rng;
}

/* ------------------------------------------------------- the good client */

static void good_client(int stop_fd)
{
	static unsigned char out[8192], in[8192];
	struct jr_client *c = ns_jr_open(sock_path);
	int sd = ns_jr_connect(c, &echo_addr);
	uint64_t off = 0;

	ns_prog = "jr-ns-hostile(good)";
	for (;;) {
		struct pollfd p = { .fd = stop_fd, .events = POLLIN };
		size_t len = 1 + (size_t)(rnd() % sizeof(out));
		ssize_t n;

		if (poll(&p, 1, 0) == 1)
			break;
		ns_stream_fill(7, off, out, len);
		n = ns_jr_send_all(c, sd, out, len);
		if (n != (ssize_t)len)
			ns_die("send of %zu bytes: %zd", len, n);
		ns_jr_wait(c, sd, JR_POLLIN, 5000, "an echo");
		n = ns_jr_recv_all(c, sd, in, len);
		if (n != (ssize_t)len || memcmp(in, out, len))
			ns_die("echo of %zu bytes at %llu: got %zd bytes%s", len,
			       (unsigned long long)off, n,
			       n == (ssize_t)len ? " that differ" : "");
		off += len;
		__atomic_add_fetch(good_rtts, 1, __ATOMIC_RELAXED);
	}
	NS_CHECK(jr_close(c, sd));
	ns_jr_settle(c, 0, 5000, "the echo connection closed");
	jr_client_close(c);
	ns_note("%llu round trips, %llu bytes echoed, no error",
		(unsigned long long)*good_rtts, (unsigned long long)off);
	exit(0);
}

/* The good client must complete PROGRESS_RTTS more round trips, soon. */
static void expect_progress(const char *after)
{
	uint64_t start = __atomic_load_n(good_rtts, __ATOMIC_RELAXED);
	double deadline = ns_now() + 5;
	int status;

	while (__atomic_load_n(good_rtts, __ATOMIC_RELAXED) < start + PROGRESS_RTTS) {
		if (waitpid(good_pid, &status, WNOHANG) == good_pid)
			ns_die("after %s: the good client exited (status 0x%x)", after, status);
		if (ns_now() > deadline)
			ns_die("after %s: the good client made %llu round trips in 5 s",
			       after, (unsigned long long)(*good_rtts - start));
		usleep(1000);
	}
}

/* -------------------------------------------------- raw frontend helpers */

struct hostile {
	struct jr_region	r;
	uint64_t		tag;
};

static void h_open(struct hostile *h)
{
	int err = jr_ufront_connect(sock_path, HOSTILE_SLOTS, HOSTILE_BUF, &h->r);

	if (err)
		ns_die("jr_ufront_connect: %s", strerror(-err));
	h->tag = 1;
}

static void h_close(struct hostile *h)
{
	jr_region_destroy(&h->r);
}

/* Make entries visible and ring the doorbell whether or not it is asked
 * for: a spurious doorbell is allowed, and a lying producer would ring. */
static void h_kick(struct hostile *h)
{
	uint64_t one = 1;

	if (write(h->r.sq_eventfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		ns_die("doorbell: %s", strerror(errno));
}

static uint64_t h_post(struct hostile *h, struct jr_sqe *sqe)
{
	int err;

	if (!sqe->tag && jr_op_has_reply(sqe->op))
		sqe->tag = h->tag++;
	err = jr_owner_post(&h->r, sqe);
	if (err)
		ns_die("jr_owner_post: %s", strerror(-err));
	h_kick(h);
	return sqe->tag;
}

/* The netserver closed its end of the hand-over connection: dropped. */
static bool h_dropped(struct hostile *h, int timeout_ms)
{
	struct pollfd p = { .fd = h->r.conn_fd, .events = POLLIN };

	return poll(&p, 1, timeout_ms) == 1 && (p.revents & (POLLHUP | POLLERR | POLLIN));
}

/*
 * The next CQE that matches (op, slot); others (events for other slots,
 * TX_SPACE ...) are skipped.  Returns false on timeout.
 */
static bool h_wait_cqe(struct hostile *h, uint16_t op, uint32_t slot,
		       struct jr_cqe *out, int timeout_ms)
{
	double deadline = ns_now() + timeout_ms / 1000.0;

	for (;;) {
		int ready = jr_ring_ready(&h->r.cq);

		if (ready < 0)
			ns_die("the netserver's CQ index is out of range");
		for (int i = 0; i < ready; i++) {
			struct jr_cqe cqe;

			memcpy(&cqe, jr_ring_entry(&h->r.cq, h->r.cq.own), sizeof(cqe));
			jr_ring_consume(&h->r.cq, 1);
			if (jr_validate_cqe(&cqe, &h->r.limits))
				ns_die("the netserver sent a malformed CQE (op %u)", cqe.op);
			if (counting_resets && cqe.op == JR_EV_RESET)
				resets_seen++;
			if (cqe.op == op && cqe.slot == slot) {
				*out = cqe;
				return true;
			}
		}
		if (ready)
			continue;
		if (ns_now() > deadline)
			return false;
		if (!jr_ring_prepare_sleep(&h->r.cq)) {
			struct pollfd p = { .fd = h->r.cq_eventfd, .events = POLLIN };
			uint64_t v;

			poll(&p, 1, 10);
			if (read(h->r.cq_eventfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				ns_die("cq eventfd: %s", strerror(errno));
		}
		jr_ring_finish_sleep(&h->r.cq);
	}
}

static int h_request(struct hostile *h, struct jr_sqe *sqe, struct jr_cqe *reply)
{
	struct jr_cqe cqe;
	uint64_t tag = h_post(h, sqe);

	if (!h_wait_cqe(h, sqe->op, sqe->slot, &cqe, REPLY_WAIT_MS))
		ns_die("no reply to op %u on slot %u", sqe->op, sqe->slot);
	if (cqe.tag != tag)
		ns_die("reply to op %u carries tag %llu, want %llu", sqe->op,
		       (unsigned long long)cqe.tag, (unsigned long long)tag);
	if (reply)
		*reply = cqe;
	return cqe.res;
}

/* A socket in slot (generation 1), connected to the echo server if TCP. */
static void h_socket(struct hostile *h, uint32_t slot, uint16_t type)
{
	struct jr_sqe sqe = { .op = JR_OP_SOCKET, .slot = slot, .slot_gen = 1 };
	struct jr_slot_ctl *ctl = &h->r.slots[slot];
	int res;

	/* The owner resets the counters it owns before creating a socket. */
	ctl->rx_cons = ctl->tx_prod = 0;
	sqe.u.socket.family = AF_INET;
	sqe.u.socket.type = type;
	res = h_request(h, &sqe, NULL);
	if (res)
		ns_die("SOCKET on slot %u: %s", slot, strerror(-res));
	if (type != SOCK_STREAM)
		return;
	memset(&sqe, 0, sizeof(sqe));
	sqe.op = JR_OP_CONNECT;
	sqe.slot = slot;
	sqe.slot_gen = 1;
	sqe.u.addr.family = AF_INET;
	sqe.u.addr.port = echo_addr.sin_port;
	memcpy(sqe.u.addr.addr, &echo_addr.sin_addr, 4);
	res = h_request(h, &sqe, NULL);
	if (res)
		ns_die("CONNECT on slot %u: %s", slot, strerror(-res));
}

static void h_simple(struct hostile *h, uint16_t op, uint32_t slot)
{
	struct jr_sqe sqe = { .op = op, .slot = slot, .slot_gen = 1 };

	h_post(h, &sqe);
}

/* The frontend is still served: a request on a free slot gets EBADF. */
static void h_expect_alive(struct hostile *h, const char *name)
{
	struct jr_sqe sqe = { .op = JR_OP_GETNAME, .slot = HOSTILE_SLOTS - 1,
			      .slot_gen = 1 };
	int res;

	if (h_dropped(h, 0))
		ns_die("%s: the netserver dropped the whole frontend", name);
	res = h_request(h, &sqe, NULL);
	if (res != -EBADF)
		ns_die("%s: GETNAME on a free slot: %d, want -EBADF", name, res);
}

static void h_expect_reset(struct hostile *h, uint32_t slot, const char *name)
{
	struct jr_cqe cqe;

	if (!h_wait_cqe(h, JR_EV_RESET, slot, &cqe, REPLY_WAIT_MS))
		ns_die("%s: no RESET event for slot %u", name, slot);
	if (cqe.res != -EIO)
		ns_die("%s: RESET with %d, want -EIO", name, cqe.res);
}

/* ---------------------------------------------------------------- cases */

/* One malformed SQE, otherwise a correct frontend: it must be dropped. */
static void case_malformed(const char *name, void (*spoil)(struct jr_sqe *, const struct jr_region *))
{
	struct hostile h;
	struct jr_sqe sqe = { .op = JR_OP_SOCKET, .slot = 0, .slot_gen = 1 };

	h_open(&h);
	sqe.u.socket.family = AF_INET;
	sqe.u.socket.type = SOCK_STREAM;
	spoil(&sqe, &h.r);
	if (!jr_validate_sqe(&sqe, &h.r.limits))
		ns_die("%s: the spoiled SQE is valid; the test is wrong", name);
	jr_owner_post(&h.r, &sqe);
	h_kick(&h);
	if (!h_dropped(&h, DROP_WAIT_MS))
		ns_die("%s: frontend not dropped after a malformed SQE", name);
	h_close(&h);
	expect_progress(name);
	ns_note("%s: frontend dropped, the good client went on", name);
}

static void spoil_op(struct jr_sqe *s, const struct jr_region *r)
{
	(void)r;
	s->op = 0x7777;
}

static void spoil_slot(struct jr_sqe *s, const struct jr_region *r)
{
	s->slot = r->params.nr_slots + 7;
}

static void spoil_reserved(struct jr_sqe *s, const struct jr_region *r)
{
	(void)r;
	s->u.raw[31] = 0xa5;
}

static void spoil_flags(struct jr_sqe *s, const struct jr_region *r)
{
	(void)r;
	s->flags = 0x8000;
}

static void spoil_family(struct jr_sqe *s, const struct jr_region *r)
{
	(void)r;
	s->u.socket.family = 27;
}

/* The SQ producer index claims more entries than the ring holds. */
static void case_sq_index_lie(void)
{
	struct hostile h;

	h_open(&h);
	jr_store_release(&h.r.sq.ctl->prod, h.r.sq.own + h.r.params.sq_entries * 3 + 5);
	h_kick(&h);
	if (!h_dropped(&h, DROP_WAIT_MS))
		ns_die("sq_index_lie: frontend not dropped");
	h_close(&h);
	expect_progress("sq_index_lie");
	ns_note("sq_index_lie: frontend dropped, the good client went on");
}

/* Random bytes as SQEs, many times; drop predicted with the validator. */
static void case_random_sqes(void)
{
	unsigned int dropped = 0, rounds = 24;

	for (unsigned int round = 0; round < rounds; round++) {
		struct hostile h;
		bool invalid = false;

		h_open(&h);
		for (int i = 0; i < 8; i++) {
			struct jr_sqe sqe;
			uint64_t *w = (uint64_t *)&sqe;

			for (unsigned int k = 0; k < sizeof(sqe) / 8; k++)
				w[k] = rnd();
			/* Half the rounds use plausible ops and slots so that
			 * validation has to look past the first field. */
			if (round & 1) {
				sqe.op = (uint16_t)(1 + rnd() % (JR_OP_NR - 1));
				sqe.flags = 0;
				sqe.pad = 0;
				sqe.slot = (uint32_t)(rnd() % h.r.params.nr_slots);
			}
			invalid |= jr_validate_sqe(&sqe, &h.r.limits) != 0;
			memcpy(jr_ring_entry(&h.r.sq, h.r.sq.own), &sqe, sizeof(sqe));
			jr_ring_produce(&h.r.sq, 1);
		}
		h_kick(&h);
		if (invalid) {
			if (!h_dropped(&h, DROP_WAIT_MS))
				ns_die("random_sqes: round %u: frontend not dropped", round);
			dropped++;
		}
		h_close(&h);
	}
	expect_progress("random_sqes");
	ns_note("random_sqes: %u rounds, %u frontends dropped, the good client went on",
		rounds, dropped);
}

/* A connected socket whose tx producer index lies: only it fails. */
static void case_tx_index_lie(void)
{
	struct hostile h;

	h_open(&h);
	h_socket(&h, 1, SOCK_STREAM);
	h_socket(&h, 2, SOCK_STREAM);
	jr_store_release(&h.r.slots[1].tx_prod, 10 * HOSTILE_BUF + 3);
	h_simple(&h, JR_OP_TX, 1);
	h_expect_reset(&h, 1, "tx_index_lie");
	/* Its neighbour in the same frontend still works: echo through it. */
	jr_bytes_copy_in(jr_slot_tx(&h.r, 2), HOSTILE_BUF, 0, "ping", 4);
	jr_store_release(&h.r.slots[2].tx_prod, 4);
	h_simple(&h, JR_OP_TX, 2);
	{
		double deadline = ns_now() + 5;
		char got[4];

		while (jr_load_acquire(&h.r.slots[2].rx_prod) < 4) {
			if (ns_now() > deadline)
				ns_die("tx_index_lie: the healthy socket got no echo");
			usleep(1000);
		}
		jr_bytes_copy_out(jr_slot_rx(&h.r, 2), HOSTILE_BUF, 0, got, 4);
		if (memcmp(got, "ping", 4))
			ns_die("tx_index_lie: the healthy socket's echo differs");
	}
	h_expect_alive(&h, "tx_index_lie");
	h_close(&h);
	expect_progress("tx_index_lie");
	ns_note("tx_index_lie: only that socket failed (-EIO), its neighbour echoed");
}

/* The rx consumer index claims more was read than was ever produced. */
static void case_rx_index_lie(void)
{
	struct hostile h;

	h_open(&h);
	h_socket(&h, 3, SOCK_STREAM);
	jr_store_release(&h.r.slots[3].rx_cons, 5 * HOSTILE_BUF);
	h_simple(&h, JR_OP_RX_SPACE, 3);
	h_expect_reset(&h, 3, "rx_index_lie");
	h_expect_alive(&h, "rx_index_lie");
	h_close(&h);
	expect_progress("rx_index_lie");
	ns_note("rx_index_lie: only that socket failed (-EIO)");
}

/* A UDP socket whose tx ring holds a datagram header that lies. */
static void case_dgram_lie(void)
{
	struct hostile h;
	struct jr_dgram_hdr hdr = { .len = 1U << 30 };

	h_open(&h);
	h_socket(&h, 4, SOCK_DGRAM);
	hdr.addr.family = AF_INET;
	hdr.addr.port = echo_addr.sin_port;
	memcpy(hdr.addr.addr, &echo_addr.sin_addr, 4);
	memcpy(jr_slot_tx(&h.r, 4), &hdr, sizeof(hdr));
	jr_store_release(&h.r.slots[4].tx_prod, (uint32_t)JR_DGRAM_RECORD(64));
	h_simple(&h, JR_OP_TX, 4);
	h_expect_reset(&h, 4, "dgram_lie");
	h_expect_alive(&h, "dgram_lie");
	h_close(&h);
	expect_progress("dgram_lie");
	ns_note("dgram_lie: only that socket failed (-EIO)");
}

/*
 * A socket failed for a lying ring stays failed, quietly: TX and RX_SPACE
 * that the owner keeps posting on it (the lies still in place) are no-ops,
 * not a RESET each; its CLOSE is answered.  TCP and UDP.
 */
static void case_dead_quiet(void)
{
	struct jr_sqe sqe;
	struct hostile h;
	int res;

	h_open(&h);
	h_socket(&h, 7, SOCK_STREAM);
	h_socket(&h, 9, SOCK_DGRAM);
	jr_store_release(&h.r.slots[7].rx_cons, 5 * HOSTILE_BUF);
	h_simple(&h, JR_OP_RX_SPACE, 7);
	h_expect_reset(&h, 7, "dead_quiet");
	jr_store_release(&h.r.slots[9].tx_prod, 7 * HOSTILE_BUF + 8);
	h_simple(&h, JR_OP_TX, 9);
	h_expect_reset(&h, 9, "dead_quiet");

	counting_resets = true;
	resets_seen = 0;
	jr_store_release(&h.r.slots[7].tx_prod, 9 * HOSTILE_BUF + 1);
	jr_store_release(&h.r.slots[9].rx_cons, 3 * HOSTILE_BUF);
	for (int i = 0; i < 4; i++) {
		h_simple(&h, JR_OP_TX, 7);
		h_simple(&h, JR_OP_RX_SPACE, 7);
		h_simple(&h, JR_OP_TX, 9);
		h_simple(&h, JR_OP_RX_SPACE, 9);
	}
	/* Replies come after everything posted before them. */
	for (uint32_t slot = 7; slot <= 9; slot += 2) {
		memset(&sqe, 0, sizeof(sqe));
		sqe.op = JR_OP_CLOSE;
		sqe.slot = slot;
		sqe.slot_gen = 1;
		res = h_request(&h, &sqe, NULL);
		if (res)
			ns_die("dead_quiet: CLOSE of slot %u: %d", slot, res);
	}
	counting_resets = false;
	if (resets_seen)
		ns_die("dead_quiet: %u more RESET events for sockets already failed",
		       resets_seen);
	h_expect_alive(&h, "dead_quiet");
	h_close(&h);
	expect_progress("dead_quiet");
	ns_note("dead_quiet: one RESET per failed socket, later TX/RX_SPACE ignored, "
		"CLOSE answered");
}

/*
 * The ring lies when a CLOSE is draining it: the CLOSE is still answered
 * (the slot comes back), and the frontend is served on.
 */
static void case_bad_ring_closing(void)
{
	struct jr_sqe sqe = { .op = JR_OP_CLOSE, .slot = 8, .slot_gen = 1 };
	struct hostile h;
	int res;

	h_open(&h);
	h_socket(&h, 8, SOCK_STREAM);
	jr_store_release(&h.r.slots[8].tx_prod, 10 * HOSTILE_BUF + 3);
	res = h_request(&h, &sqe, NULL);
	if (res)
		ns_die("bad_ring_closing: CLOSE answered %d, want 0", res);
	h_expect_alive(&h, "bad_ring_closing");
	h_close(&h);
	expect_progress("bad_ring_closing");
	ns_note("bad_ring_closing: the CLOSE was answered");
}

/* Garbage over every slot's control block, then TX/RX_SPACE on all. */
static void case_slot_garbage(void)
{
	struct hostile h;

	h_open(&h);
	h_socket(&h, 5, SOCK_STREAM);
	h_socket(&h, 6, SOCK_DGRAM);
	for (uint32_t i = 0; i < h.r.params.nr_slots; i++) {
		h.r.slots[i].tx_prod = (uint32_t)rnd();
		h.r.slots[i].rx_cons = (uint32_t)rnd();
	}
	for (uint32_t i = 5; i <= 6; i++) {
		h_simple(&h, JR_OP_TX, i);
		h_simple(&h, JR_OP_RX_SPACE, i);
	}
	h_expect_reset(&h, 5, "slot_garbage");
	h_close(&h);
	expect_progress("slot_garbage");
	ns_note("slot_garbage: the TCP socket failed (-EIO), nothing else");
}

/* The CQ consumer index lies (ahead of the producer), then requests. */
static void case_cq_index_lie(void)
{
	struct hostile h;

	h_open(&h);
	jr_store_release(&h.r.cq.ctl->cons, h.r.cq.own + 100000);
	for (int i = 0; i < 32; i++)
		h_simple(&h, JR_OP_GETNAME, (uint32_t)i);
	/* Dropping it or leaving it stalled are both fine; hurting others
	 * is not. */
	expect_progress("cq_index_lie");
	ns_note("cq_index_lie: frontend %s, the good client went on",
		h_dropped(&h, 100) ? "dropped" : "stalled");
	h_close(&h);
}

/* Requests without ever consuming a completion: the CQ fills up. */
static void case_cq_never_consumed(void)
{
	struct hostile h;
	unsigned long posted = 0;
	double until = ns_now() + 1.0;

	h_open(&h);
	while (ns_now() < until && !h_dropped(&h, 0)) {
		struct jr_sqe sqe = { .op = JR_OP_GETNAME, .slot = posted % HOSTILE_SLOTS,
				      .slot_gen = 1, .tag = posted + 1 };

		if (jr_owner_post(&h.r, &sqe) == -EAGAIN) {
			h_kick(&h);
			usleep(1000);
			continue;
		}
		posted++;
	}
	h_kick(&h);
	expect_progress("cq_never_consumed");
	ns_note("cq_never_consumed: %lu requests posted, frontend %s, the good client went on",
		posted, h_dropped(&h, 100) ? "dropped" : "stalled");
	h_close(&h);
}

/*
 * A client that connects to the frontend socket and never answers the
 * hand-over.  The netserver must not wait for it on the engine thread:
 * the good client's longest pause while this happens must stay short.
 */
static void case_silent_handshake(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	double until, last_change, longest = 0;
	uint64_t last;
	int fd[3];

	strncpy(sun.sun_path, sock_path, sizeof(sun.sun_path) - 1);
	for (int i = 0; i < 3; i++) {
		fd[i] = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		if (fd[i] < 0 || connect(fd[i], (struct sockaddr *)&sun, sizeof(sun)))
			ns_die("silent_handshake: connect: %s", strerror(errno));
	}
	last = __atomic_load_n(good_rtts, __ATOMIC_RELAXED);
	last_change = ns_now();
	for (until = last_change + 3; ns_now() < until; usleep(1000)) {
		uint64_t now_rtts = __atomic_load_n(good_rtts, __ATOMIC_RELAXED);
		double now = ns_now();

		if (now_rtts != last) {
			last = now_rtts;
			last_change = now;
		} else if (now - last_change > longest) {
			longest = now - last_change;
		}
	}
	for (int i = 0; i < 3; i++)
		close(fd[i]);
	expect_progress("silent_handshake");
	if (longest * 1000 > STALL_MAX_MS)
		ns_die("silent_handshake: the good client stalled for %.0f ms while "
		       "3 clients sat silent in the hand-over (limit %d ms)",
		       longest * 1000, STALL_MAX_MS);
	ns_note("silent_handshake: longest pause of the good client %.0f ms", longest * 1000);
}

/* A frontend that goes away with live connections: they are reset. */
static void case_exit_with_connections(void)
{
	struct hostile h;

	h_open(&h);
	for (uint32_t i = 10; i < 20; i++)
		h_socket(&h, i, SOCK_STREAM);
	h_close(&h);
	expect_progress("exit_with_connections");
	ns_note("exit_with_connections: 10 connections abandoned, the good client went on");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "sock", required_argument, NULL, 's' },
		{ "echo", required_argument, NULL, 'e' },
		{ 0 }
	};
	int stop[2], opt, status;

	ns_prog = "jr-ns-hostile";
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 's': sock_path = optarg; break;
		case 'e': echo_addr = ns_addr(optarg); break;
		default: return 2;
		}
	}
	if (!sock_path || !echo_addr.sin_port)
		ns_die("usage: jr-ns-hostile --sock PATH --echo A.B.C.D:PORT");
	good_rtts = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (good_rtts == MAP_FAILED || pipe(stop))
		ns_die("set-up: %s", strerror(errno));
	good_pid = fork();
	if (good_pid < 0)
		ns_die("fork: %s", strerror(errno));
	if (good_pid == 0) {
		close(stop[1]);
		good_client(stop[0]);
	}
	/* The child stops when the pipe reaches end of file: when we are done,
	 * and also when we die, so it never outlives the test. */
	close(stop[0]);
	expect_progress("start");

	case_malformed("bad_op", spoil_op);
	case_malformed("bad_slot", spoil_slot);
	case_malformed("reserved_bytes", spoil_reserved);
	case_malformed("bad_flags", spoil_flags);
	case_malformed("bad_family", spoil_family);
	case_sq_index_lie();
	case_random_sqes();
	case_tx_index_lie();
	case_rx_index_lie();
	case_dgram_lie();
	case_slot_garbage();
	case_dead_quiet();
	case_bad_ring_closing();
	case_cq_index_lie();
	case_cq_never_consumed();
	case_exit_with_connections();
	/* Last: it times the good client, and a failure here should not hide
	 * the outcome of the cases above. */
	case_silent_handshake();

	close(stop[1]);
	if (waitpid(good_pid, &status, 0) != good_pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		ns_die("the good client failed (status 0x%x)", status);
	ns_note("every case passed; %llu good round trips in all",
		(unsigned long long)*good_rtts);
	return 0;
}
