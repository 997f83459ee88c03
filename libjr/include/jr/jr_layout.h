/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Negotiation of sizes and the region layout, shared by the kernel and the
 * user frontend so both lay the region out identically.  Only the side that
 * owns the region (kernel, or the process playing its role) calls this; the
 * netserver only reads the result.
 */
#ifndef _JR_LAYOUT_H
#define _JR_LAYOUT_H

#include <linux/joyride.h>

#define JR_LAYOUT_PAGE		4096ULL

static inline __u64 jr_align_up(__u64 v, __u64 align)
{
	return (v + align - 1) & ~(align - 1);
}

/*
 * The smallest power of two >= v, within [lo, hi]; lo is a power of two.
 * A hi that is not one stands for the largest power of two below it (an
 * owner's cap of 100 slots grants 64, never 128).  lo wins over hi.
 */
static inline __u32 jr_clamp_pow2(__u32 v, __u32 lo, __u32 hi)
{
	__u32 p = lo;

	while (p < v && p <= hi / 2)
		p <<= 1;
	return p;
}

/*
 * Clamp the requested sizes in place to powers of two within the ABI
 * bounds (and the owner's own caps, 0 meaning none), then fill in
 * a->layout.  Never fails: the caller reports the granted values back.
 */
static inline void jr_layout_compute(struct jr_attach *a, __u32 max_slots,
				     __u32 max_buf)
{
	struct jr_layout *l = &a->layout;
	__u32 slots_hi = max_slots && max_slots < JR_SLOTS_MAX ? max_slots : JR_SLOTS_MAX;
	__u32 buf_hi = max_buf && max_buf < JR_BUF_MAX ? max_buf : JR_BUF_MAX;
	__u64 off;

	a->sq_entries = jr_clamp_pow2(a->sq_entries, JR_RING_MIN_ENTRIES, JR_RING_MAX_ENTRIES);
	a->cq_entries = jr_clamp_pow2(a->cq_entries, JR_RING_MIN_ENTRIES, JR_RING_MAX_ENTRIES);
	/* Every request can be answered and still leave room for events. */
	if (a->cq_entries < a->sq_entries)
		a->cq_entries = a->sq_entries;
	a->nr_slots = jr_clamp_pow2(a->nr_slots, JR_SLOTS_MIN, slots_hi);
	a->rx_buf_size = jr_clamp_pow2(a->rx_buf_size, JR_BUF_MIN, buf_hi);
	a->tx_buf_size = jr_clamp_pow2(a->tx_buf_size, JR_BUF_MIN, buf_hi);

	off = JR_LAYOUT_PAGE;			/* struct jr_region_hdr */
	l->stats_off = off;
	off += JR_LAYOUT_PAGE;
	l->sq_off = off;
	l->sq_entries_off = off + sizeof(struct jr_ring_ctl);
	off = jr_align_up(l->sq_entries_off +
			  (__u64)a->sq_entries * sizeof(struct jr_sqe), JR_LAYOUT_PAGE);
	l->cq_off = off;
	l->cq_entries_off = off + sizeof(struct jr_ring_ctl);
	off = jr_align_up(l->cq_entries_off +
			  (__u64)a->cq_entries * sizeof(struct jr_cqe), JR_LAYOUT_PAGE);
	l->slots_off = off;
	off = jr_align_up(off + (__u64)a->nr_slots * sizeof(struct jr_slot_ctl),
			  JR_LAYOUT_PAGE);
	l->data_off = off;
	off += (__u64)a->nr_slots * (a->rx_buf_size + a->tx_buf_size);
	l->region_size = jr_align_up(off, JR_LAYOUT_PAGE);
}

/* The owner's header at the start of a fresh region. */
static inline void jr_region_hdr_init(struct jr_region_hdr *h,
				      const struct jr_attach *a)
{
	h->magic = JR_REGION_MAGIC;
	h->abi_major = JR_ABI_MAJOR;
	h->abi_minor = JR_ABI_MINOR;
	h->state = JR_STATE_LIVE;
	h->epoch = a->epoch;
	h->features = a->features;
	h->sq_entries = a->sq_entries;
	h->cq_entries = a->cq_entries;
	h->nr_slots = a->nr_slots;
	h->rx_buf_size = a->rx_buf_size;
	h->tx_buf_size = a->tx_buf_size;
	h->layout = a->layout;
}

/* Byte offsets of a slot's rings inside the region. */
static inline __u64 jr_slot_rx_off(const struct jr_attach *a, __u32 slot)
{
	return a->layout.data_off +
	       (__u64)slot * (a->rx_buf_size + a->tx_buf_size);
}

static inline __u64 jr_slot_tx_off(const struct jr_attach *a, __u32 slot)
{
	return jr_slot_rx_off(a, slot) + a->rx_buf_size;
}

#endif /* _JR_LAYOUT_H */
