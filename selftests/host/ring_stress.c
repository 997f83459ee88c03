// SPDX-License-Identifier: GPL-2.0
/*
 * Rings under two threads: what the memory-ordering comments in
 * jr_ring.h and jr_barrier.h promise, checked by brute force.
 *
 *   ring_stress_sqe     tens of millions of SQEs through an SQ-sized ring;
 *                       each carries its sequence number and a checksum of
 *                       its payload, so loss, reordering and torn entries
 *                       (consumer reading before the producer's writes land)
 *                       are all caught;
 *   ring_stress_bytes   a pseudo-random byte stream through a slot's byte
 *                       ring in chunks of random size, compared byte by byte;
 *   ring_stress_wakeup  a consumer that sleeps on the doorbell whenever the
 *                       ring runs dry: a lost wake-up shows as a consumer
 *                       asleep over a non-empty ring.
 *
 * JR_RING_STRESS_N sets the number of entries (the byte stream carries as
 * many 256-byte units, the wake-up test a hundredth of them); the default
 * keeps the three cases well under ten seconds on two shared cores.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <jr/libjr.h>

#include "jr_test.h"

#define STRESS_N_DEFAULT	20000000ULL

static unsigned long long stress_n(void)
{
	return jr_test_env("JR_RING_STRESS_N", STRESS_N_DEFAULT);
}

/*
 * Waiting for the other thread.  Spin briefly, then yield: the machine may
 * have fewer free CPUs than threads, and a spinner that never yields would
 * starve the very peer it waits for.
 */
static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static inline void wait_for_peer(unsigned int *spins)
{
	if (++*spins < 64) {
		cpu_relax();
		return;
	}
	*spins = 0;
	sched_yield();
}

static inline __u64 splitmix64(__u64 *state)
{
	__u64 z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static __u32 fnv1a(const void *p, size_t len)
{
	const unsigned char *c = p;
	__u32 h = 2166136261u;

	while (len--)
		h = (h ^ *c++) * 16777619u;
	return h;
}

/* One owner (producer) and one server (consumer) view of a local region. */
struct stress_region {
	struct jr_region	owner;
	struct jr_region	server;
};

static void stress_region_create(struct stress_region *s, __u32 sq_entries,
				 __u32 buf_size)
{
	struct jr_attach req;

	jr_attach_defaults(&req);
	req.sq_entries = sq_entries;
	req.cq_entries = sq_entries;
	req.nr_slots = JR_SLOTS_MIN;
	req.rx_buf_size = buf_size;
	req.tx_buf_size = buf_size;
	JR_ASSERT(jr_region_create_local(&req, &s->owner) == 0);
	JR_ASSERT(jr_region_server_view(&s->owner, &s->server) == 0);
	JR_ASSERT(s->owner.params.sq_entries == sq_entries);
}

static void stress_region_destroy(struct stress_region *s)
{
	jr_region_destroy(&s->server);
	jr_region_destroy(&s->owner);
}

static void fill_sqe(struct jr_sqe *sqe, __u64 seq)
{
	__u64 state = seq, word;

	sqe->op = JR_OP_TX;
	sqe->flags = 0;
	sqe->slot = ~(__u32)seq;
	sqe->tag = seq;
	sqe->pad = 0;
	for (size_t i = 0; i < sizeof(sqe->u.raw); i += sizeof(word)) {
		word = splitmix64(&state);
		memcpy(sqe->u.raw + i, &word, sizeof(word));
	}
	sqe->slot_gen = fnv1a(sqe->u.raw, sizeof(sqe->u.raw));
}

struct sqe_stress {
	struct stress_region	reg;
	unsigned long long	n;
	/* Consumer's findings, read by the main thread after join. */
	unsigned long long	received;
	unsigned long long	bad_seq, bad_sum, overflows;
	unsigned long long	first_bad_seq, first_bad_at;
};

static void *sqe_producer(void *arg)
{
	struct sqe_stress *t = arg;
	struct jr_ring *sq = &t->reg.owner.sq;
	unsigned int spins = 0;
	__u64 seq = 0, rnd = 1;

	while (seq < t->n) {
		int space = jr_ring_space(sq, 1);
		__u32 batch;

		if (space <= 0) {
			wait_for_peer(&spins);
			continue;
		}
		/* Batches of 1..64 so every fill level and split occurs. */
		batch = 1 + splitmix64(&rnd) % 64;
		if (batch > (__u32)space)
			batch = space;
		if (batch > t->n - seq)
			batch = t->n - seq;
		for (__u32 i = 0; i < batch; i++)
			fill_sqe(jr_ring_entry(sq, sq->own + i), seq + i);
		jr_ring_produce(sq, batch);
		seq += batch;
	}
	return NULL;
}

static void *sqe_consumer(void *arg)
{
	struct sqe_stress *t = arg;
	struct jr_ring *sq = &t->reg.server.sq;
	unsigned int spins = 0;
	__u64 expect = 0, rnd = 2;

	while (expect < t->n) {
		int ready = jr_ring_ready(sq);
		__u32 take;

		if (ready < 0) {
			t->overflows++;
			break;
		}
		if (!ready) {
			wait_for_peer(&spins);
			continue;
		}
		take = 1 + splitmix64(&rnd) % 96;
		if (take > (__u32)ready)
			take = ready;
		for (__u32 i = 0; i < take; i++) {
			struct jr_sqe sqe;

			/* A private copy, as a real consumer validates one. */
			memcpy(&sqe, jr_ring_entry(sq, sq->own + i), sizeof(sqe));
			if (sqe.tag != expect || sqe.slot != ~(__u32)expect) {
				if (!t->bad_seq++) {
					t->first_bad_seq = sqe.tag;
					t->first_bad_at = expect;
				}
			} else if (fnv1a(sqe.u.raw, sizeof(sqe.u.raw)) != sqe.slot_gen) {
				if (!t->bad_sum++)
					t->first_bad_at = expect;
			}
			expect++;
		}
		jr_ring_consume(sq, take);
	}
	t->received = expect;
	return NULL;
}

static void ring_stress_sqe(void)
{
	struct sqe_stress *t = calloc(1, sizeof(*t));
	pthread_t prod, cons;
	double start, secs;

	JR_ASSERT(t);
	t->n = stress_n();
	stress_region_create(&t->reg, JR_DEFAULT_SQ_ENTRIES, JR_BUF_MIN);
	/* Start near the wrap so that it is crossed early and often checked. */
	t->reg.owner.sq.ctl->prod = t->reg.owner.sq.ctl->cons = UINT32_MAX - 1000;
	jr_ring_init(&t->reg.owner.sq, t->reg.owner.sq.ctl, t->reg.owner.sq.entries,
		     t->reg.owner.sq.nr, sizeof(struct jr_sqe), true);
	jr_ring_init(&t->reg.server.sq, t->reg.server.sq.ctl, t->reg.server.sq.entries,
		     t->reg.server.sq.nr, sizeof(struct jr_sqe), false);

	start = jr_test_now();
	JR_ASSERT(!pthread_create(&cons, NULL, sqe_consumer, t));
	JR_ASSERT(!pthread_create(&prod, NULL, sqe_producer, t));
	pthread_join(prod, NULL);
	pthread_join(cons, NULL);
	secs = jr_test_now() - start;

	printf("  %llu SQEs in %.2f s (%.1f M/s)\n", t->received, secs,
	       t->received / secs / 1e6);
	JR_EXPECT_EQ(t->received, t->n);
	JR_EXPECT_EQ(t->overflows, 0);
	JR_EXPECT_MSG(!t->bad_seq, "%llu entries out of sequence, first: seq %llu at %llu",
		      t->bad_seq, t->first_bad_seq, t->first_bad_at);
	JR_EXPECT_MSG(!t->bad_sum, "%llu torn entries, first at %llu",
		      t->bad_sum, t->first_bad_at);
	JR_EXPECT_EQ(t->reg.owner.sq.ctl->prod, (__u32)(UINT32_MAX - 1000 + t->n));
	JR_EXPECT_EQ(t->reg.owner.sq.ctl->cons, (__u32)(UINT32_MAX - 1000 + t->n));
	stress_region_destroy(&t->reg);
	free(t);
}

/*
 * The byte stream is a random pattern repeated with a prime period: the
 * period is not a multiple of the ring size, so a chunk written or read at
 * the wrong ring offset does not compare equal by accident.
 */
#define PATTERN_LEN	1000003
#define BYTE_RING	65536
#define MAX_CHUNK	9000		/* larger than a page, smaller than the ring */

struct bytes_stress {
	struct stress_region	reg;
	struct jr_slot_ctl	*ctl;
	unsigned char		*ring;
	unsigned char		*pattern;	/* 2 x PATTERN_LEN: any window is contiguous */
	unsigned long long	total;
	unsigned long long	received, mismatches, first_bad, overflows;
};

static void *bytes_producer(void *arg)
{
	struct bytes_stress *t = arg;
	unsigned long long sent = 0;
	unsigned int spins = 0;
	__u32 prod = jr_read_once(t->ctl->tx_prod);
	__u64 rnd = 3;

	while (sent < t->total) {
		__u32 cons = jr_load_acquire(&t->ctl->tx_cons);
		int fill = jr_bytes_fill(prod, cons, BYTE_RING);
		__u32 len;

		if (fill < 0) {
			t->overflows++;
			break;
		}
		if (fill == BYTE_RING) {
			wait_for_peer(&spins);
			continue;
		}
		len = 1 + splitmix64(&rnd) % MAX_CHUNK;
		if (len > BYTE_RING - (__u32)fill)
			len = BYTE_RING - fill;
		if (len > t->total - sent)
			len = t->total - sent;
		jr_bytes_copy_in(t->ring, BYTE_RING, prod,
				 t->pattern + sent % PATTERN_LEN, len);
		prod += len;
		sent += len;
		/* Release: the bytes are in the ring before the consumer sees them. */
		jr_store_release(&t->ctl->tx_prod, prod);
	}
	return NULL;
}

static void *bytes_consumer(void *arg)
{
	struct bytes_stress *t = arg;
	unsigned char *buf = malloc(MAX_CHUNK);
	unsigned long long got = 0;
	unsigned int spins = 0;
	__u32 cons = jr_read_once(t->ctl->tx_cons);
	__u64 rnd = 4;

	if (!buf)
		return NULL;
	while (got < t->total) {
		__u32 prod = jr_load_acquire(&t->ctl->tx_prod);
		int fill = jr_bytes_fill(prod, cons, BYTE_RING);
		__u32 len;

		if (fill < 0) {
			t->overflows++;
			break;
		}
		if (!fill) {
			wait_for_peer(&spins);
			continue;
		}
		len = 1 + splitmix64(&rnd) % MAX_CHUNK;
		if (len > (__u32)fill)
			len = fill;
		jr_bytes_copy_out(t->ring, BYTE_RING, cons, buf, len);
		if (memcmp(buf, t->pattern + got % PATTERN_LEN, len) && !t->mismatches++)
			t->first_bad = got;
		cons += len;
		got += len;
		/* Release: our reads finish before the producer reuses the bytes. */
		jr_store_release(&t->ctl->tx_cons, cons);
	}
	t->received = got;
	free(buf);
	return NULL;
}

static void ring_stress_bytes(void)
{
	struct bytes_stress *t = calloc(1, sizeof(*t));
	pthread_t prod, cons;
	double start, secs;
	__u64 rnd = 5;

	JR_ASSERT(t);
	t->total = stress_n() * 256;
	stress_region_create(&t->reg, JR_RING_MIN_ENTRIES, BYTE_RING);
	t->ctl = &t->reg.owner.slots[3];
	t->ring = jr_slot_tx(&t->reg.owner, 3);
	t->ctl->tx_prod = t->ctl->tx_cons = UINT32_MAX - 12345;
	t->pattern = malloc(2 * PATTERN_LEN);
	JR_ASSERT(t->pattern);
	for (size_t i = 0; i < PATTERN_LEN; i++)
		t->pattern[i] = (unsigned char)splitmix64(&rnd);
	memcpy(t->pattern + PATTERN_LEN, t->pattern, PATTERN_LEN);

	start = jr_test_now();
	JR_ASSERT(!pthread_create(&cons, NULL, bytes_consumer, t));
	JR_ASSERT(!pthread_create(&prod, NULL, bytes_producer, t));
	pthread_join(prod, NULL);
	pthread_join(cons, NULL);
	secs = jr_test_now() - start;

	printf("  %llu bytes in %.2f s (%.2f GB/s)\n", t->received, secs,
	       t->received / secs / 1e9);
	JR_EXPECT_EQ(t->received, t->total);
	JR_EXPECT_EQ(t->overflows, 0);
	JR_EXPECT_MSG(!t->mismatches, "%llu chunks differ, first at byte %llu",
		      t->mismatches, t->first_bad);
	JR_EXPECT_EQ(t->ctl->tx_prod, (__u32)(UINT32_MAX - 12345 + t->total));
	JR_EXPECT_EQ(t->ctl->tx_cons, t->ctl->tx_prod);
	free(t->pattern);
	stress_region_destroy(&t->reg);
	free(t);
}

/* Long enough that only a lost wake-up explains a consumer still asleep. */
#define WAKEUP_TIMEOUT_MS	10000

struct wakeup_stress {
	struct stress_region	reg;
	unsigned long long	n;
	unsigned long long	received, sleeps, wakeups, lost, bad_seq, overflows;
};

static void *wakeup_producer(void *arg)
{
	struct wakeup_stress *t = arg;
	struct jr_region *owner = &t->reg.owner;
	unsigned int spins = 0;
	__u64 seq = 0, rnd = 6;

	while (seq < t->n) {
		int space = jr_ring_space(&owner->sq, 1);
		__u32 batch;

		if (space <= 0) {
			wait_for_peer(&spins);
			continue;
		}
		batch = 1 + splitmix64(&rnd) % 4;
		if (batch > (__u32)space)
			batch = space;
		if (batch > t->n - seq)
			batch = t->n - seq;
		for (__u32 i = 0; i < batch; i++)
			fill_sqe(jr_ring_entry(&owner->sq, owner->sq.own + i), seq + i);
		jr_ring_produce(&owner->sq, batch);
		seq += batch;
		JR_ASSERT(jr_owner_doorbell(owner) == 0);
		/* Pause now and then, so the consumer runs dry and sleeps. */
		if (splitmix64(&rnd) % 8 == 0)
			for (int i = splitmix64(&rnd) % 2000; i > 0; i--)
				cpu_relax();
	}
	return NULL;
}

static void *wakeup_consumer(void *arg)
{
	struct wakeup_stress *t = arg;
	struct jr_ring *sq = &t->reg.server.sq;
	int doorbell = t->reg.owner.sq_eventfd;
	__u64 expect = 0;

	while (expect < t->n) {
		int ready = jr_ring_ready(sq);

		if (ready < 0) {
			t->overflows++;
			break;
		}
		if (!ready) {
			struct pollfd pfd = { .fd = doorbell, .events = POLLIN };
			__u64 count;

			if (jr_ring_prepare_sleep(sq)) {
				jr_ring_finish_sleep(sq);
				continue;
			}
			t->sleeps++;
			/* Asleep with entries waiting: the doorbell was lost. */
			if (poll(&pfd, 1, WAKEUP_TIMEOUT_MS) == 0 &&
			    jr_ring_ready(sq) > 0) {
				t->lost++;
				break;
			}
			if (read(doorbell, &count, sizeof(count)) == sizeof(count))
				t->wakeups++;
			jr_ring_finish_sleep(sq);
			continue;
		}
		for (int i = 0; i < ready; i++) {
			struct jr_sqe *sqe = jr_ring_entry(sq, sq->own + i);

			t->bad_seq += sqe->tag != expect++;
		}
		jr_ring_consume(sq, ready);
	}
	t->received = expect;
	return NULL;
}

static void ring_stress_wakeup(void)
{
	struct wakeup_stress *t = calloc(1, sizeof(*t));
	pthread_t prod, cons;

	JR_ASSERT(t);
	/* Every entry may cost a sleep and a wake: far fewer than the others. */
	t->n = stress_n() / 100;
	stress_region_create(&t->reg, JR_RING_MIN_ENTRIES, JR_BUF_MIN);
	/* A local region has no doorbell of its own; the test provides one. */
	t->reg.owner.sq_eventfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	JR_ASSERT(t->reg.owner.sq_eventfd >= 0);

	JR_ASSERT(!pthread_create(&cons, NULL, wakeup_consumer, t));
	JR_ASSERT(!pthread_create(&prod, NULL, wakeup_producer, t));
	pthread_join(prod, NULL);
	pthread_join(cons, NULL);

	printf("  %llu SQEs, consumer slept %llu times, woken by the doorbell %llu\n",
	       t->received, t->sleeps, t->wakeups);
	JR_EXPECT_EQ(t->lost, 0);
	JR_EXPECT_EQ(t->received, t->n);
	JR_EXPECT_EQ(t->bad_seq, 0);
	JR_EXPECT_EQ(t->overflows, 0);
	/* Without sleeps the test checked nothing about the handshake. */
	JR_EXPECT(t->n < 1000 || t->sleeps > 0);
	stress_region_destroy(&t->reg);
	free(t);
}

static const struct jr_test_case cases[] = {
	{ "ring_stress_sqe", ring_stress_sqe },
	{ "ring_stress_bytes", ring_stress_bytes },
	{ "ring_stress_wakeup", ring_stress_wakeup },
};

JR_TEST_MAIN(cases)
