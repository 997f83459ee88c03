// SPDX-License-Identifier: GPL-2.0
/*
 * Entry rings and byte rings (jr_ring.h), single-threaded: every index
 * sequence that the two sides can see, including the ones a lying peer
 * makes up.  The free-running counters are started just below UINT32_MAX
 * so that every case also crosses the 32-bit wrap; a ring that only works
 * from zero would pass everything else and fail after four billion entries
 * in production.
 */
#include <stdint.h>

#include <jr/jr_ring.h>

#include "jr_test.h"

#define SMALL_NR	8

/* One ring with both sides' private views, as the two processes hold them. */
struct ring_pair {
	struct jr_ring_ctl	ctl __attribute__((aligned(64)));
	__u64			entries[SMALL_NR];
	struct jr_ring		prod;
	struct jr_ring		cons;
};

static void ring_pair_init(struct ring_pair *p, __u32 start)
{
	memset(p, 0, sizeof(*p));
	p->ctl.prod = start;
	p->ctl.cons = start;
	jr_ring_init(&p->prod, &p->ctl, p->entries, SMALL_NR, sizeof(__u64), true);
	jr_ring_init(&p->cons, &p->ctl, p->entries, SMALL_NR, sizeof(__u64), false);
}

/* Produce n sequence numbers from first on, or fail without producing. */
static int push(struct jr_ring *r, __u64 first, __u32 n)
{
	int space = jr_ring_space(r, n);
	__u32 i;

	if (space < 0)
		return space;
	if ((__u32)space < n)
		return -EAGAIN;
	for (i = 0; i < n; i++)
		*(__u64 *)jr_ring_entry(r, r->own + i) = first + i;
	jr_ring_produce(r, n);
	return 0;
}

/* Consume up to max entries into out; returns how many, or -errno. */
static int pop(struct jr_ring *r, __u64 *out, __u32 max)
{
	int ready = jr_ring_ready(r);
	__u32 i, n;

	if (ready < 0)
		return ready;
	n = (__u32)ready < max ? (__u32)ready : max;
	for (i = 0; i < n; i++)
		out[i] = *(__u64 *)jr_ring_entry(r, r->own + i);
	jr_ring_consume(r, n);
	return (int)n;
}

static const __u32 wrap_starts[] = {
	0, 1, SMALL_NR - 1, 0x7fffffff, UINT32_MAX - SMALL_NR,
	UINT32_MAX - 3, UINT32_MAX - 1, UINT32_MAX,
};

#define NR_STARTS	(sizeof(wrap_starts) / sizeof(wrap_starts[0]))

/* Entries stay in order across the counter wrap, at every fill level. */
static void ring_wraparound(void)
{
	for (size_t s = 0; s < NR_STARTS; s++) {
		__u32 start = wrap_starts[s];
		struct ring_pair p;
		__u64 next_in = 0, next_out = 0, got[SMALL_NR];

		ring_pair_init(&p, start);
		/* 5 entries in, 3 out: the fill level walks 0..8 and back. */
		for (int round = 0; round < 10 * SMALL_NR; round++) {
			__u32 want = 1 + (round * 5) % SMALL_NR;
			int n;

			if (!push(&p.prod, next_in, want))
				next_in += want;
			n = pop(&p.cons, got, 1 + round % 3);
			JR_ASSERT(n >= 0);
			for (int i = 0; i < n; i++)
				JR_EXPECT_MSG(got[i] == next_out + i,
					      "start %#x round %d: got %llu want %llu",
					      start, round, (unsigned long long)got[i],
					      (unsigned long long)(next_out + i));
			next_out += n;
		}
		while (next_out < next_in) {
			int n = pop(&p.cons, got, SMALL_NR);

			JR_ASSERT(n > 0);
			for (int i = 0; i < n; i++)
				JR_EXPECT_EQ(got[i], next_out + i);
			next_out += n;
		}
		/* The shared counters moved by exactly the entries passed. */
		JR_EXPECT_EQ(p.ctl.prod, (__u32)(start + next_in));
		JR_EXPECT_EQ(p.ctl.cons, (__u32)(start + next_in));
		JR_EXPECT_EQ(p.prod.own, (__u32)(start + next_in));
		JR_EXPECT_EQ(p.cons.own, (__u32)(start + next_in));
		JR_EXPECT(next_in > 4 * SMALL_NR);
	}
}

/* Counter to array index: the low bits, whichever side of the wrap. */
static void ring_entry_index(void)
{
	struct ring_pair p;

	ring_pair_init(&p, 0);
	JR_EXPECT(jr_ring_entry(&p.prod, 0) == (void *)&p.entries[0]);
	JR_EXPECT(jr_ring_entry(&p.prod, SMALL_NR) == (void *)&p.entries[0]);
	JR_EXPECT(jr_ring_entry(&p.prod, SMALL_NR + 3) == (void *)&p.entries[3]);
	JR_EXPECT(jr_ring_entry(&p.prod, UINT32_MAX) ==
		  (void *)&p.entries[SMALL_NR - 1]);
	JR_EXPECT(jr_ring_entry(&p.prod, UINT32_MAX - SMALL_NR + 1) ==
		  (void *)&p.entries[0]);
}

static void ring_full_empty(void)
{
	for (size_t s = 0; s < NR_STARTS; s++) {
		__u32 start = wrap_starts[s];
		struct ring_pair p;
		__u64 got[SMALL_NR];

		ring_pair_init(&p, start);
		JR_EXPECT_EQ(jr_ring_ready(&p.cons), 0);
		JR_EXPECT_EQ(pop(&p.cons, got, SMALL_NR), 0);
		JR_EXPECT_EQ(jr_ring_space(&p.prod, 1), SMALL_NR);
		JR_EXPECT_EQ(jr_ring_space(&p.prod, SMALL_NR), SMALL_NR);
		JR_EXPECT_EQ(push(&p.prod, 0, SMALL_NR + 1), -EAGAIN);
		JR_EXPECT_EQ(p.ctl.prod, start);

		/* Full: no space at all, exactly nr ready. */
		JR_EXPECT_EQ(push(&p.prod, 0, SMALL_NR), 0);
		JR_EXPECT_EQ(jr_ring_space(&p.prod, 1), 0);
		JR_EXPECT_EQ(push(&p.prod, 100, 1), -EAGAIN);
		JR_EXPECT_EQ(jr_ring_ready(&p.cons), SMALL_NR);

		/* One entry freed: the producer sees it when it asks. */
		JR_EXPECT_EQ(pop(&p.cons, got, 1), 1);
		JR_EXPECT_EQ(got[0], 0);
		JR_EXPECT_EQ(jr_ring_space(&p.prod, 1), 1);
		JR_EXPECT_EQ(push(&p.prod, SMALL_NR, 1), 0);
		JR_EXPECT_EQ(jr_ring_space(&p.prod, 1), 0);

		/* Drain: entries 1..nr, then empty again. */
		JR_EXPECT_EQ(pop(&p.cons, got, SMALL_NR), SMALL_NR);
		for (int i = 0; i < SMALL_NR; i++)
			JR_EXPECT_EQ(got[i], i + 1);
		JR_EXPECT_EQ(jr_ring_ready(&p.cons), 0);
		JR_EXPECT_EQ(jr_ring_space(&p.prod, SMALL_NR), SMALL_NR);
		JR_EXPECT_EQ(p.ctl.cons, (__u32)(start + SMALL_NR + 1));
	}
}

/*
 * The producer trusts its cached consumer index as a lower bound of the
 * space and reads the shared one only when the cache cannot satisfy the
 * request: fewer shared-cache-line reads on the fast path.
 */
static void ring_space_cache(void)
{
	struct ring_pair p;
	__u64 got[SMALL_NR];

	ring_pair_init(&p, UINT32_MAX - 2);
	JR_EXPECT_EQ(push(&p.prod, 0, 6), 0);
	JR_EXPECT_EQ(pop(&p.cons, got, 4), 4);
	/* Two free by the cache satisfy a request for two: no refresh. */
	JR_EXPECT_EQ(jr_ring_space(&p.prod, 2), 2);
	JR_EXPECT_EQ(p.prod.peer, (__u32)(UINT32_MAX - 2));
	/* Three do not: the consumer's progress is picked up. */
	JR_EXPECT_EQ(jr_ring_space(&p.prod, 3), 6);
	JR_EXPECT_EQ(p.prod.peer, (__u32)(UINT32_MAX - 2 + 4));
}

/* Batches of every size in and out, several times round the ring. */
static void ring_batch(void)
{
	__u32 seed = 12345;

	for (size_t s = 0; s < NR_STARTS; s++) {
		struct ring_pair p;
		__u64 next_in = 0, next_out = 0, got[SMALL_NR];

		ring_pair_init(&p, wrap_starts[s]);
		for (int i = 0; i < 2000; i++) {
			int space, n;
			__u32 want;

			seed = seed * 1103515245 + 12345;
			want = 1 + (seed >> 16) % SMALL_NR;
			space = jr_ring_space(&p.prod, want);
			JR_ASSERT(space >= 0);
			if ((__u32)space >= want) {
				JR_EXPECT_EQ(push(&p.prod, next_in, want), 0);
				next_in += want;
			}
			n = pop(&p.cons, got, 1 + (seed >> 8) % SMALL_NR);
			JR_ASSERT(n >= 0);
			for (int k = 0; k < n; k++)
				JR_EXPECT_EQ(got[k], next_out + k);
			next_out += n;
			JR_EXPECT(next_in - next_out <= SMALL_NR);
		}
		JR_EXPECT(next_out > 1000);
	}
}

/*
 * The peer's index comes from shared memory: a consumer index ahead of
 * what was produced, or a producer index more than nr ahead (or behind),
 * is a lie.  It is reported, nothing is consumed or overwritten, and the
 * ring works again once the peer's index is sane.
 */
static void ring_peer_overflow(void)
{
	for (size_t s = 0; s < NR_STARTS; s++) {
		__u32 start = wrap_starts[s];
		struct ring_pair p;
		__u64 got[SMALL_NR];

		ring_pair_init(&p, start);
		JR_EXPECT_EQ(push(&p.prod, 0, 3), 0);

		/* Producer claims nr + 1 entries: the consumer takes none. */
		p.ctl.prod = start + SMALL_NR + 1;
		JR_EXPECT_EQ(jr_ring_ready(&p.cons), -EOVERFLOW);
		JR_EXPECT_EQ(pop(&p.cons, got, SMALL_NR), -EOVERFLOW);
		JR_EXPECT_EQ(p.ctl.cons, start);
		JR_EXPECT_EQ(p.cons.own, start);
		/* Producer went backwards. */
		p.ctl.prod = start - 1;
		JR_EXPECT_EQ(jr_ring_ready(&p.cons), -EOVERFLOW);
		/* Exactly nr is a full ring, not a lie. */
		p.ctl.prod = start + SMALL_NR;
		JR_EXPECT_EQ(jr_ring_ready(&p.cons), SMALL_NR);
		p.ctl.prod = start + 3;
		JR_EXPECT_EQ(jr_ring_ready(&p.cons), 3);

		/* Consumer claims it took more than was produced. */
		p.ctl.cons = start + 4;
		JR_EXPECT_EQ(jr_ring_space(&p.prod, SMALL_NR), -EOVERFLOW);
		JR_EXPECT_EQ(p.prod.peer, start);
		JR_EXPECT_EQ(push(&p.prod, 3, SMALL_NR), -EOVERFLOW);
		JR_EXPECT_EQ(p.ctl.prod, (__u32)(start + 3));
		/* Consumer went backwards past a full ring. */
		p.ctl.cons = start + 3 - SMALL_NR - 1;
		JR_EXPECT_EQ(jr_ring_space(&p.prod, SMALL_NR), -EOVERFLOW);

		/* Sane again: the three entries are still there, in order. */
		p.ctl.cons = start;
		JR_EXPECT_EQ(pop(&p.cons, got, SMALL_NR), 3);
		JR_EXPECT_EQ(got[0], 0);
		JR_EXPECT_EQ(got[2], 2);
		JR_EXPECT_EQ(jr_ring_space(&p.prod, SMALL_NR), SMALL_NR);
	}
}

/*
 * The wake-up handshake: the consumer publishes NEED_WAKEUP and looks once
 * more before sleeping; the producer checks the flag after producing.
 * Whatever the interleaving, either the consumer sees the entry or the
 * producer sees the flag.
 */
static void ring_need_wakeup(void)
{
	struct ring_pair p;
	__u64 got[SMALL_NR];

	ring_pair_init(&p, UINT32_MAX);
	JR_EXPECT(!jr_ring_needs_wakeup(&p.prod));

	/* Empty ring: the consumer may sleep, and says so. */
	JR_EXPECT(!jr_ring_prepare_sleep(&p.cons));
	JR_EXPECT(p.ctl.cons_flags & JR_RING_NEED_WAKEUP);
	JR_EXPECT(jr_ring_needs_wakeup(&p.prod));

	/* Entry produced after the flag: the producer must ring... */
	JR_EXPECT_EQ(push(&p.prod, 7, 1), 0);
	JR_EXPECT(jr_ring_needs_wakeup(&p.prod));
	/* ...and a consumer that looks again must not sleep. */
	JR_EXPECT(jr_ring_prepare_sleep(&p.cons));
	jr_ring_finish_sleep(&p.cons);
	JR_EXPECT(!(p.ctl.cons_flags & JR_RING_NEED_WAKEUP));
	JR_EXPECT(!jr_ring_needs_wakeup(&p.prod));

	/* Entries seen but not consumed still forbid sleeping. */
	JR_EXPECT_EQ(jr_ring_ready(&p.cons), 1);
	JR_EXPECT(jr_ring_prepare_sleep(&p.cons));
	jr_ring_finish_sleep(&p.cons);
	JR_EXPECT_EQ(pop(&p.cons, got, SMALL_NR), 1);
	JR_EXPECT_EQ(got[0], 7);
	JR_EXPECT(!jr_ring_prepare_sleep(&p.cons));
	jr_ring_finish_sleep(&p.cons);

	/* Other consumer flag bits (future ABI) survive the handshake. */
	p.ctl.cons_flags = 0x80000000u;
	JR_EXPECT(!jr_ring_prepare_sleep(&p.cons));
	JR_EXPECT_EQ(p.ctl.cons_flags, 0x80000000u | JR_RING_NEED_WAKEUP);
	jr_ring_finish_sleep(&p.cons);
	JR_EXPECT_EQ(p.ctl.cons_flags, 0x80000000u);
	JR_EXPECT(!jr_ring_needs_wakeup(&p.prod));
}

/* A restarted side picks the ring up where the shared indices stand. */
static void ring_init_resumes(void)
{
	struct ring_pair p;
	struct jr_ring again;
	__u64 got[SMALL_NR];

	ring_pair_init(&p, UINT32_MAX - 1);
	JR_EXPECT_EQ(push(&p.prod, 40, 5), 0);
	JR_EXPECT_EQ(pop(&p.cons, got, 2), 2);

	jr_ring_init(&again, &p.ctl, p.entries, SMALL_NR, sizeof(__u64), false);
	JR_EXPECT_EQ(pop(&again, got, SMALL_NR), 3);
	JR_EXPECT_EQ(got[0], 42);
	JR_EXPECT_EQ(got[2], 44);

	jr_ring_init(&again, &p.ctl, p.entries, SMALL_NR, sizeof(__u64), true);
	JR_EXPECT_EQ(again.own, (__u32)(UINT32_MAX - 1 + 5));
	JR_EXPECT_EQ(jr_ring_space(&again, SMALL_NR), SMALL_NR);
}

/*
 * Whatever the peer left in shared memory before we start is unchecked:
 * a producer must not take a planted consumer index as its cached one
 * (that cache is trusted without re-reading while it promises space).
 */
static void ring_init_untrusted_peer(void)
{
	static const __u32 lies[] = { 1, 1000, SMALL_NR + 1, 0x80000000u, 0u - (SMALL_NR + 1) };

	for (size_t i = 0; i < sizeof(lies) / sizeof(lies[0]); i++) {
		struct ring_pair p;
		int space;

		ring_pair_init(&p, 100);
		p.ctl.cons = 100 + lies[i];	/* ahead of prod, or too far behind */
		jr_ring_init(&p.prod, &p.ctl, p.entries, SMALL_NR, sizeof(__u64), true);
		space = jr_ring_space(&p.prod, 1);
		JR_EXPECT_MSG(space == -EOVERFLOW, "cons = prod + %#x: space %d",
			      lies[i], space);
		JR_EXPECT_EQ(push(&p.prod, 0, 1), -EOVERFLOW);
		JR_EXPECT_EQ(p.ctl.prod, 100);
	}
}

static void bytes_fill(void)
{
	JR_EXPECT_EQ(jr_bytes_fill(0, 0, 4096), 0);
	JR_EXPECT_EQ(jr_bytes_fill(100, 40, 4096), 60);
	JR_EXPECT_EQ(jr_bytes_fill(4096, 0, 4096), 4096);
	JR_EXPECT_EQ(jr_bytes_fill(4097, 0, 4096), -EOVERFLOW);
	/* Across the wrap. */
	JR_EXPECT_EQ(jr_bytes_fill(5, UINT32_MAX - 10, 4096), 16);
	JR_EXPECT_EQ(jr_bytes_fill(4095, UINT32_MAX, 4096), 4096);
	JR_EXPECT_EQ(jr_bytes_fill(4096, UINT32_MAX, 4096), -EOVERFLOW);
	/* Consumer ahead of producer. */
	JR_EXPECT_EQ(jr_bytes_fill(10, 11, 4096), -EOVERFLOW);
	JR_EXPECT_EQ(jr_bytes_fill(UINT32_MAX, 0, 4096), -EOVERFLOW);
	/* The largest ring the ABI allows, full. */
	JR_EXPECT_EQ(jr_bytes_fill(JR_BUF_MAX + 7, 7, JR_BUF_MAX), JR_BUF_MAX);
}

static void bytes_chunk(void)
{
	JR_EXPECT_EQ(jr_bytes_chunk(4096, 0, 0), 0);
	JR_EXPECT_EQ(jr_bytes_chunk(4096, 0, 100), 100);
	JR_EXPECT_EQ(jr_bytes_chunk(4096, 0, 4096), 4096);
	JR_EXPECT_EQ(jr_bytes_chunk(4096, 4000, 100), 96);
	JR_EXPECT_EQ(jr_bytes_chunk(4096, 4096 + 4000, 96), 96);
	JR_EXPECT_EQ(jr_bytes_chunk(4096, 4095, 4096), 1);
	JR_EXPECT_EQ(jr_bytes_chunk(4096, UINT32_MAX, 10), 1);
	JR_EXPECT_EQ(jr_bytes_chunk(4096, UINT32_MAX - 99, 4096), 100);
	JR_EXPECT_EQ(jr_bytes_chunk(4096, 4096 * 7 + 12, 5000), 4096 - 12);
}

#define COPY_RING	64
#define COPY_GUARD	32

static bool guards_intact(const unsigned char *buf)
{
	for (int i = 0; i < COPY_GUARD; i++)
		if (buf[i] != 0xa5 || buf[COPY_GUARD + COPY_RING + i] != 0xa5)
			return false;
	return true;
}

/*
 * Copy in and out at every offset, every length and across the counter
 * wrap; guard bytes around the ring catch a copy that runs past an end.
 */
static void bytes_copy_wrap(void)
{
	static const __u32 bases[] = { 0, 0x80000000u, UINT32_MAX - 2 * COPY_RING };
	unsigned char buf[COPY_GUARD + COPY_RING + COPY_GUARD];
	unsigned char *ring = buf + COPY_GUARD;
	unsigned char src[COPY_RING], dst[COPY_RING];

	for (int i = 0; i < COPY_RING; i++)
		src[i] = (unsigned char)(i * 37 + 11);
	for (size_t b = 0; b < sizeof(bases) / sizeof(bases[0]); b++) {
		for (__u32 d = 0; d < 2 * COPY_RING + 1; d++) {
			__u32 pos = bases[b] + d;

			for (__u32 len = 0; len <= COPY_RING; len++) {
				int bad_ring = 0;

				memset(buf, 0xa5, sizeof(buf));
				jr_bytes_copy_in(ring, COPY_RING, pos, src, len);
				for (__u32 i = 0; i < len; i++)
					bad_ring |= ring[(pos + i) & (COPY_RING - 1)] != src[i];
				for (__u32 i = len; i < COPY_RING; i++)
					bad_ring |= ring[(pos + i) & (COPY_RING - 1)] != 0xa5;
				JR_EXPECT_MSG(!bad_ring, "copy_in pos %#x len %u", pos, len);
				JR_EXPECT_MSG(guards_intact(buf),
					      "copy_in past the ring: pos %#x len %u", pos, len);

				memset(dst, 0, sizeof(dst));
				jr_bytes_copy_out(ring, COPY_RING, pos, dst, len);
				JR_EXPECT_MSG(!memcmp(dst, src, len),
					      "copy_out pos %#x len %u", pos, len);
			}
		}
	}
}

static const struct jr_test_case cases[] = {
	{ "ring_wraparound", ring_wraparound },
	{ "ring_entry_index", ring_entry_index },
	{ "ring_full_empty", ring_full_empty },
	{ "ring_space_cache", ring_space_cache },
	{ "ring_batch", ring_batch },
	{ "ring_peer_overflow", ring_peer_overflow },
	{ "ring_need_wakeup", ring_need_wakeup },
	{ "ring_init_resumes", ring_init_resumes },
	{ "ring_init_untrusted_peer", ring_init_untrusted_peer },
	{ "bytes_fill", bytes_fill },
	{ "bytes_chunk", bytes_chunk },
	{ "bytes_copy_wrap", bytes_copy_wrap },
};

JR_TEST_MAIN(cases)
