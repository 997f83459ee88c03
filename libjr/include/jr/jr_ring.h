/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Single-producer/single-consumer entry rings over struct jr_ring_ctl,
 * shared by joyride.ko, jr-netserver, libjr and the tests.
 *
 * Each side keeps a private struct jr_ring: the ring geometry comes from
 * values it negotiated (never from shared memory), and the index it owns is
 * cached locally so it is never read back from memory the peer can write.
 * The peer's index is read with acquire semantics and validated: a peer
 * that claims more entries than the ring holds is reported with -EOVERFLOW
 * and its entries are not consumed.
 */
#ifndef _JR_RING_H
#define _JR_RING_H

#include <linux/joyride.h>
#include "jr_barrier.h"

#ifdef __KERNEL__
#include <linux/errno.h>
#include <linux/string.h>
#else
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#endif

struct jr_ring {
	struct jr_ring_ctl	*ctl;
	unsigned char		*entries;
	__u32			nr;		/* entries, power of two */
	__u32			entry_size;
	__u32			own;		/* our index (prod or cons) */
	__u32			peer;		/* last validated peer index */
};

static inline void jr_ring_init(struct jr_ring *r, struct jr_ring_ctl *ctl,
				void *entries, __u32 nr, __u32 entry_size,
				bool producer)
{
	r->ctl = ctl;
	r->entries = (unsigned char *)entries;
	r->nr = nr;
	r->entry_size = entry_size;
	/* Start from what is in memory: a restarted side resumes the ring. */
	r->own = producer ? jr_read_once(ctl->prod) : jr_read_once(ctl->cons);
	/*
	 * The peer's index is not validated yet: assume a full ring, so the
	 * producer's first jr_ring_space() reads and checks the real one
	 * instead of trusting a value the peer may have planted (the
	 * consumer re-reads prod on every jr_ring_ready() anyway).
	 */
	r->peer = producer ? r->own - nr : r->own;
}

static inline void *jr_ring_entry(const struct jr_ring *r, __u32 index)
{
	return r->entries + (size_t)(index & (r->nr - 1)) * r->entry_size;
}

/* Producer: free entries, refreshing the consumer index if needed. */
static inline int jr_ring_space(struct jr_ring *r, __u32 want)
{
	__u32 used = r->own - r->peer;

	if (r->nr - used < want) {
		/*
		 * Acquire: the consumer has finished reading the entries it
		 * released before we overwrite them.
		 */
		__u32 cons = jr_load_acquire(&r->ctl->cons);

		if (r->own - cons > r->nr)
			return -EOVERFLOW;
		r->peer = cons;
		used = r->own - cons;
	}
	return (int)(r->nr - used);
}

/* Producer: make the next n entries (already written) visible. */
static inline void jr_ring_produce(struct jr_ring *r, __u32 n)
{
	r->own += n;
	/* Release: the entries are written before the consumer sees prod. */
	jr_store_release(&r->ctl->prod, r->own);
}

/*
 * Producer, after jr_ring_produce(): does the consumer sleep?  The full
 * barrier orders our prod store before the flag load, pairing with the
 * consumer's flag store before its prod re-check (jr_ring_prepare_sleep).
 */
static inline bool jr_ring_needs_wakeup(struct jr_ring *r)
{
	jr_smp_mb();
	return jr_read_once(r->ctl->cons_flags) & JR_RING_NEED_WAKEUP;
}

/* Consumer: entries ready, or -EOVERFLOW if the producer lies. */
static inline int jr_ring_ready(struct jr_ring *r)
{
	/* Acquire: entry contents are read only after prod is seen. */
	__u32 prod = jr_load_acquire(&r->ctl->prod);

	if (prod - r->own > r->nr)
		return -EOVERFLOW;
	r->peer = prod;
	return (int)(prod - r->own);
}

/* Consumer: hand n consumed entries back to the producer. */
static inline void jr_ring_consume(struct jr_ring *r, __u32 n)
{
	r->own += n;
	/* Release: our reads of the entries finish before they can be reused. */
	jr_store_release(&r->ctl->cons, r->own);
}

/*
 * Consumer going to sleep: publish NEED_WAKEUP, then look once more.
 * Returns true if entries arrived meanwhile (do not sleep).  The full
 * barrier orders the flag store before the prod load (see
 * jr_ring_needs_wakeup for the other half).
 */
static inline bool jr_ring_prepare_sleep(struct jr_ring *r)
{
	jr_write_once(r->ctl->cons_flags,
		      jr_read_once(r->ctl->cons_flags) | JR_RING_NEED_WAKEUP);
	jr_smp_mb();
	return jr_read_once(r->ctl->prod) != r->own;
}

static inline void jr_ring_finish_sleep(struct jr_ring *r)
{
	jr_write_once(r->ctl->cons_flags,
		      jr_read_once(r->ctl->cons_flags) & ~JR_RING_NEED_WAKEUP);
}

/*
 * Byte rings (per-slot receive/transmit).  Positions are free-running byte
 * counters; size is a power of two.  jr_bytes_fill() validates a counter
 * pair read from shared memory.
 */
static inline int jr_bytes_fill(__u32 prod, __u32 cons, __u32 size)
{
	if (prod - cons > size)
		return -EOVERFLOW;
	return (int)(prod - cons);
}

/* Contiguous bytes from pos before the ring end, capped at len. */
static inline __u32 jr_bytes_chunk(__u32 size, __u32 pos, __u32 len)
{
	__u32 off = pos & (size - 1);

	return len < size - off ? len : size - off;
}

/*
 * Whether a stream reader should post RX_SPACE, having read up to cons and
 * last told the server told: once a quarter of the ring has been read since.
 * The server opens the TCP window from the ring's free space, and lwIP
 * announces a larger window only in steps of that order anyway; the window
 * lags the ring by less than a quarter, so a reader waiting on an empty
 * ring always has at least three quarters of it advertised.
 */
static inline int jr_rx_space_due(__u32 cons, __u32 told, __u32 size)
{
	return cons - told >= size / 4;
}

static inline void jr_bytes_copy_in(unsigned char *ring, __u32 size, __u32 pos,
				    const void *src, __u32 len)
{
	__u32 first = jr_bytes_chunk(size, pos, len);

	memcpy(ring + (pos & (size - 1)), src, first);
	memcpy(ring, (const unsigned char *)src + first, len - first);
}

static inline void jr_bytes_copy_out(const unsigned char *ring, __u32 size,
				     __u32 pos, void *dst, __u32 len)
{
	__u32 first = jr_bytes_chunk(size, pos, len);

	memcpy(dst, ring + (pos & (size - 1)), first);
	memcpy((unsigned char *)dst + first, ring, len - first);
}

#endif /* _JR_RING_H */
