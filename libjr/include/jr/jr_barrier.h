/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Memory ordering for the shared rings, mapped per side.
 *
 * The rings are single-producer/single-consumer and the two sides run on
 * different CPUs (and, for the kernel frontend, different privilege levels),
 * so every index publication is a release and every index observation an
 * acquire.  The wake-up protocol additionally needs a full barrier (store
 * flag, then load index; or store index, then load flag): without it both
 * sides can miss each other and sleep forever.
 */
#ifndef _JR_BARRIER_H
#define _JR_BARRIER_H

#ifdef __KERNEL__
#include <asm/barrier.h>
#include <linux/compiler.h>

#define jr_load_acquire(p)		smp_load_acquire(p)
#define jr_store_release(p, v)		smp_store_release(p, v)
#define jr_read_once(x)			READ_ONCE(x)
#define jr_write_once(x, v)		WRITE_ONCE(x, v)
#define jr_smp_mb()			smp_mb()

#else /* user space: C11 atomics on the plain shared fields */
#include <stdatomic.h>

#define jr_load_acquire(p) \
	atomic_load_explicit((_Atomic __typeof__(*(p)) *)(p), memory_order_acquire)
#define jr_store_release(p, v) \
	atomic_store_explicit((_Atomic __typeof__(*(p)) *)(p), (v), memory_order_release)
#define jr_read_once(x) \
	atomic_load_explicit((_Atomic __typeof__(x) *)&(x), memory_order_relaxed)
#define jr_write_once(x, v) \
	atomic_store_explicit((_Atomic __typeof__(x) *)&(x), (v), memory_order_relaxed)
#define jr_smp_mb()			atomic_thread_fence(memory_order_seq_cst)
#endif

#endif /* _JR_BARRIER_H */
