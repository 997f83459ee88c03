/* SPDX-License-Identifier: GPL-2.0 */
/*
 * How validate_fuzz reads its input bytes, shared with the seed corpus
 * generator.  Shorter inputs are zero-filled, longer ones cut: every byte
 * string is a valid input, which is what a fuzzer wants.
 */
#ifndef _JR_FUZZ_INPUT_H
#define _JR_FUZZ_INPUT_H

#include <linux/joyride.h>

struct fuzz_input {
	/* struct jr_limits: what the validating side negotiated */
	__u32	nr_slots;
	__u8	ring_shift;	/* byte ring of JR_BUF_MIN << (ring_shift % 11) */
	__u8	features;	/* JR_F_*, unknown bits included */
	__u8	entry_shift;	/* entry ring of 64 << (entry_shift % 11) */
	__u8	pad;
	/* datagram record position and fill in the byte ring */
	__u32	pos;
	__u32	fill;
	/* ring counters: ours, and the peer's as shared memory shows them */
	__u32	own;
	__u32	peer;
	__u32	want;		/* entries asked of jr_ring_space() */
	__u32	len;		/* bytes for jr_bytes_chunk() */
	/* one entry, read as an SQE, a CQE and a datagram header */
	union {
		struct jr_sqe		sqe;
		struct jr_cqe		cqe;
		struct jr_dgram_hdr	dgram;
		__u8			raw[64];
	} e;
};

#endif /* _JR_FUZZ_INPUT_H */
