// SPDX-License-Identifier: GPL-2.0
/*
 * ABI pins: every number in <linux/joyride.h> that a binary compiled
 * against one version of the header relies on in another.  The header's own
 * static asserts pin the struct sizes; these pin each field's offset and
 * size, each constant and each ioctl number as literals written down once
 * by hand, so that a moved field or a renumbered opcode fails here with its
 * name instead of corrupting a running kernel/netserver pair.
 *
 * Changing a line here is changing the ABI: it needs a major version bump
 * (or, for an addition, a minor one and a changelog line in the header).
 */
#include <stddef.h>
#include <linux/joyride.h>

#include "jr_test.h"

struct field_pin {
	const char	*name;
	size_t		offset, size;		/* as compiled */
	size_t		want_offset, want_size;	/* as pinned */
};

#define PIN(type, field, off, sz)					\
	{ #type "." #field, offsetof(struct type, field),		\
	  sizeof(((struct type *)0)->field), off, sz }

static const struct field_pin fields[] = {
	PIN(jr_sockaddr, family, 0, 2),
	PIN(jr_sockaddr, port, 2, 2),
	PIN(jr_sockaddr, scope_id, 4, 4),
	PIN(jr_sockaddr, addr, 8, 16),

	PIN(jr_layout, region_size, 0, 8),
	PIN(jr_layout, sq_off, 8, 8),
	PIN(jr_layout, sq_entries_off, 16, 8),
	PIN(jr_layout, cq_off, 24, 8),
	PIN(jr_layout, cq_entries_off, 32, 8),
	PIN(jr_layout, slots_off, 40, 8),
	PIN(jr_layout, data_off, 48, 8),
	PIN(jr_layout, stats_off, 56, 8),

	PIN(jr_attach, abi_major, 0, 2),
	PIN(jr_attach, abi_minor, 2, 2),
	PIN(jr_attach, flags, 4, 4),
	PIN(jr_attach, features, 8, 8),
	PIN(jr_attach, sq_entries, 16, 4),
	PIN(jr_attach, cq_entries, 20, 4),
	PIN(jr_attach, nr_slots, 24, 4),
	PIN(jr_attach, rx_buf_size, 28, 4),
	PIN(jr_attach, tx_buf_size, 32, 4),
	PIN(jr_attach, sq_eventfd, 36, 4),
	PIN(jr_attach, epoch, 40, 8),
	PIN(jr_attach, layout, 48, 64),
	PIN(jr_attach, layout.region_size, 48, 8),
	PIN(jr_attach, layout.stats_off, 104, 8),
	PIN(jr_attach, engine, 112, 2),
	PIN(jr_attach, nr_engines, 114, 2),
	PIN(jr_attach, reserved32, 116, 4),
	PIN(jr_attach, reserved, 120, 24),

	PIN(jr_ring_ctl, prod, 0, 4),
	PIN(jr_ring_ctl, prod_pad, 4, 60),
	PIN(jr_ring_ctl, cons, 64, 4),
	PIN(jr_ring_ctl, cons_flags, 68, 4),
	PIN(jr_ring_ctl, cons_pad, 72, 56),

	PIN(jr_sqe, op, 0, 2),
	PIN(jr_sqe, flags, 2, 2),
	PIN(jr_sqe, slot, 4, 4),
	PIN(jr_sqe, tag, 8, 8),
	PIN(jr_sqe, slot_gen, 16, 4),
	PIN(jr_sqe, pad, 20, 4),
	PIN(jr_sqe, u, 24, 40),
	PIN(jr_sqe, u.socket, 24, 8),
	PIN(jr_sqe, u.socket.family, 24, 2),
	PIN(jr_sqe, u.socket.type, 26, 2),
	PIN(jr_sqe, u.socket.protocol, 28, 2),
	PIN(jr_sqe, u.socket.pad, 30, 2),
	PIN(jr_sqe, u.addr, 24, 24),
	PIN(jr_sqe, u.addr.family, 24, 2),
	PIN(jr_sqe, u.addr.port, 26, 2),
	PIN(jr_sqe, u.addr.scope_id, 28, 4),
	PIN(jr_sqe, u.addr.addr, 32, 16),
	PIN(jr_sqe, u.listen, 24, 8),
	PIN(jr_sqe, u.listen.backlog, 24, 4),
	PIN(jr_sqe, u.listen.pad, 28, 4),
	PIN(jr_sqe, u.accept, 24, 8),
	PIN(jr_sqe, u.accept.listener_slot, 24, 4),
	PIN(jr_sqe, u.accept.listener_gen, 28, 4),
	PIN(jr_sqe, u.shutdown, 24, 8),
	PIN(jr_sqe, u.shutdown.how, 24, 4),
	PIN(jr_sqe, u.shutdown.pad, 28, 4),
	PIN(jr_sqe, u.close, 24, 8),
	PIN(jr_sqe, u.close.linger_on, 24, 4),
	PIN(jr_sqe, u.close.linger_sec, 28, 4),
	PIN(jr_sqe, u.sockopt, 24, 40),
	PIN(jr_sqe, u.sockopt.level, 24, 4),
	PIN(jr_sqe, u.sockopt.name, 28, 4),
	PIN(jr_sqe, u.sockopt.value, 32, 8),
	PIN(jr_sqe, u.sockopt.addr, 40, 24),
	PIN(jr_sqe, u.getname, 24, 8),
	PIN(jr_sqe, u.getname.peer, 24, 4),
	PIN(jr_sqe, u.getname.pad, 28, 4),
	PIN(jr_sqe, u.restore.family, 24, 2),
	PIN(jr_sqe, u.restore.local_port, 26, 2),
	PIN(jr_sqe, u.restore.peer_port, 28, 2),
	PIN(jr_sqe, u.restore.pad, 30, 2),
	PIN(jr_sqe, u.restore.local, 32, 16),
	PIN(jr_sqe, u.restore.peer, 48, 16),
	PIN(jr_sqe, u.raw, 24, 40),

	PIN(jr_cqe, op, 0, 2),
	PIN(jr_cqe, flags, 2, 2),
	PIN(jr_cqe, slot, 4, 4),
	PIN(jr_cqe, tag, 8, 8),
	PIN(jr_cqe, slot_gen, 16, 4),
	PIN(jr_cqe, res, 20, 4),
	PIN(jr_cqe, u, 24, 40),
	PIN(jr_cqe, u.addr, 24, 24),
	PIN(jr_cqe, u.accepted.peer, 24, 24),
	PIN(jr_cqe, u.accepted.local, 48, 16),
	PIN(jr_cqe, u.tcp_info, 24, 40),
	PIN(jr_cqe, u.tcp_info.state, 24, 1),
	PIN(jr_cqe, u.tcp_info.wscale, 28, 1),
	PIN(jr_cqe, u.tcp_info.snd_mss, 30, 2),
	PIN(jr_cqe, u.tcp_info.rto_us, 32, 4),
	PIN(jr_cqe, u.tcp_info.total_retrans, 60, 4),
	PIN(jr_cqe, u.addr.family, 24, 2),
	PIN(jr_cqe, u.addr.port, 26, 2),
	PIN(jr_cqe, u.addr.scope_id, 28, 4),
	PIN(jr_cqe, u.addr.addr, 32, 16),
	PIN(jr_cqe, u.sockopt, 24, 8),
	PIN(jr_cqe, u.sockopt.value, 24, 8),
	PIN(jr_cqe, u.raw, 24, 40),

	PIN(jr_slot_ctl, rx_cons, 0, 4),
	PIN(jr_slot_ctl, tx_prod, 4, 4),
	PIN(jr_slot_ctl, k_pad, 8, 56),
	PIN(jr_slot_ctl, rx_prod, 64, 4),
	PIN(jr_slot_ctl, tx_cons, 68, 4),
	PIN(jr_slot_ctl, ckpt, 72, 32),
	PIN(jr_slot_ctl, gauge, 104, 16),
	PIN(jr_slot_ctl, s_pad, 120, 8),

	PIN(jr_tcp_ckpt, seq, 0, 4),
	PIN(jr_tcp_ckpt, flags, 4, 1),
	PIN(jr_tcp_ckpt, snd_wscale, 5, 1),
	PIN(jr_tcp_ckpt, rcv_wscale, 6, 1),
	PIN(jr_tcp_ckpt, pad, 7, 1),
	PIN(jr_tcp_ckpt, snd_base, 8, 4),
	PIN(jr_tcp_ckpt, rcv_base, 12, 4),
	PIN(jr_tcp_ckpt, snd_wnd, 16, 4),
	PIN(jr_tcp_ckpt, mss, 20, 2),
	PIN(jr_tcp_ckpt, pad2, 22, 2),
	PIN(jr_tcp_ckpt, rx_held, 24, 4),
	PIN(jr_tcp_ckpt, reserved, 28, 4),
	PIN(jr_tcp_gauge, rtt_us, 0, 4),
	PIN(jr_tcp_gauge, cwnd, 4, 4),
	PIN(jr_tcp_gauge, retrans, 8, 4),
	PIN(jr_tcp_gauge, reserved, 12, 4),

	PIN(jr_dgram_hdr, len, 0, 4),
	PIN(jr_dgram_hdr, flags, 4, 4),
	PIN(jr_dgram_hdr, orig_len, 8, 4),
	PIN(jr_dgram_hdr, pad, 12, 4),
	PIN(jr_dgram_hdr, addr, 16, 24),
	PIN(jr_dgram_hdr, addr.family, 16, 2),
	PIN(jr_dgram_hdr, addr.port, 18, 2),
	PIN(jr_dgram_hdr, addr.scope_id, 20, 4),
	PIN(jr_dgram_hdr, addr.addr, 24, 16),

	PIN(jr_stats, k_sqes, 0, 8),
	PIN(jr_stats, k_cqes, 8, 8),
	PIN(jr_stats, k_doorbells, 16, 8),
	PIN(jr_stats, k_bad_entries, 24, 8),
	PIN(jr_stats, k_tx_bytes, 32, 8),
	PIN(jr_stats, k_rx_bytes, 40, 8),
	PIN(jr_stats, k_sockets, 48, 8),
	PIN(jr_stats, k_slots_used, 56, 8),
	PIN(jr_stats, k_timeouts, 64, 8),
	PIN(jr_stats, k_pad, 72, 56),
	PIN(jr_stats, s_rx_packets, 128, 8),
	PIN(jr_stats, s_tx_packets, 136, 8),
	PIN(jr_stats, s_rx_dropped, 144, 8),
	PIN(jr_stats, s_tx_dropped, 152, 8),
	PIN(jr_stats, s_kicks, 160, 8),
	PIN(jr_stats, s_sleeps, 168, 8),
	PIN(jr_stats, s_loops, 176, 8),
	PIN(jr_stats, s_tcp_conns, 184, 8),
	PIN(jr_stats, s_pad, 192, 64),
	PIN(jr_stats, s_rx_bytes, 256, 8),
	PIN(jr_stats, s_tx_bytes, 264, 8),
	PIN(jr_stats, s_drop_rx_queue, 272, 8),
	PIN(jr_stats, s_drop_tx_queue, 280, 8),
	PIN(jr_stats, s_drop_no_mbuf, 288, 8),
	PIN(jr_stats, s_drop_bad_csum, 296, 8),
	PIN(jr_stats, s_tcp_retransmits, 304, 8),
	PIN(jr_stats, s_tcp_timeouts, 312, 8),
	PIN(jr_stats, s_tcp_opened, 320, 8),
	PIN(jr_stats, s_tcp_accepted, 328, 8),
	PIN(jr_stats, s_tcp_resets, 336, 8),
	PIN(jr_stats, s_tcp_restored, 344, 8),
	PIN(jr_stats, s_ring_full, 352, 8),
	PIN(jr_stats, s_wakeups, 360, 8),
	PIN(jr_stats, s_loops_idle, 368, 8),
	PIN(jr_stats, s_published_ns, 376, 8),
	PIN(jr_stats, s_tx_busy, 384, 8),
	PIN(jr_stats, s_pad2, 392, 120),

	PIN(jr_region_hdr, magic, 0, 8),
	PIN(jr_region_hdr, abi_major, 8, 2),
	PIN(jr_region_hdr, abi_minor, 10, 2),
	PIN(jr_region_hdr, state, 12, 4),
	PIN(jr_region_hdr, epoch, 16, 8),
	PIN(jr_region_hdr, features, 24, 8),
	PIN(jr_region_hdr, sq_entries, 32, 4),
	PIN(jr_region_hdr, cq_entries, 36, 4),
	PIN(jr_region_hdr, nr_slots, 40, 4),
	PIN(jr_region_hdr, rx_buf_size, 44, 4),
	PIN(jr_region_hdr, tx_buf_size, 48, 4),
	PIN(jr_region_hdr, pad, 52, 4),
	PIN(jr_region_hdr, layout, 56, 64),
	PIN(jr_region_hdr, reserved, 120, 128),
};

struct size_pin {
	const char	*name;
	size_t		size, want;
};

#define SIZE(type, sz)	{ #type, sizeof(struct type), sz }

static const struct size_pin sizes[] = {
	SIZE(jr_sockaddr, 24),
	SIZE(jr_layout, 64),
	SIZE(jr_attach, 144),
	SIZE(jr_ring_ctl, 128),
	SIZE(jr_sqe, 64),
	SIZE(jr_cqe, 64),
	SIZE(jr_slot_ctl, 128),
	SIZE(jr_tcp_ckpt, 32),
	SIZE(jr_tcp_gauge, 16),
	SIZE(jr_dgram_hdr, 40),
	SIZE(jr_stats, 512),
	SIZE(jr_region_hdr, 248),
};

static void abi_struct_layout(void)
{
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const struct field_pin *f = &fields[i];

		JR_EXPECT_MSG(f->offset == f->want_offset && f->size == f->want_size,
			      "%s at %zu size %zu, pinned at %zu size %zu",
			      f->name, f->offset, f->size, f->want_offset,
			      f->want_size);
	}
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		JR_EXPECT_MSG(sizes[i].size == sizes[i].want,
			      "sizeof(struct %s) %zu, pinned %zu", sizes[i].name,
			      sizes[i].size, sizes[i].want);
		/* 8-byte multiples: same layout for 32- and 64-bit peers. */
		JR_EXPECT_MSG(sizes[i].size % 8 == 0, "struct %s is %zu bytes",
			      sizes[i].name, sizes[i].size);
	}
	/* Per-writer cache lines: the two halves must not share 64 bytes. */
	JR_EXPECT_EQ(offsetof(struct jr_ring_ctl, cons) % 64, 0);
	JR_EXPECT_EQ(offsetof(struct jr_slot_ctl, rx_prod) % 64, 0);
	JR_EXPECT_EQ(offsetof(struct jr_stats, s_rx_packets) % 64, 0);
}

/* Signedness is part of a field's type: -errno must stay negative. */
static void abi_field_signedness(void)
{
	struct jr_cqe cqe = { .res = -1 };
	struct jr_attach att = { .sq_eventfd = -1 };
	struct jr_sqe sqe = { .op = 0xffff, .slot = 0xffffffff };

	JR_EXPECT(cqe.res < 0);
	JR_EXPECT(att.sq_eventfd < 0);
	JR_EXPECT(sqe.op > 0);
	JR_EXPECT(sqe.slot > 0);
}

static void abi_constants(void)
{
	JR_EXPECT_EQ(AF_JOYRIDE, 25);
	JR_EXPECT_EQ(PF_JOYRIDE, 25);
	JR_EXPECT(!strcmp(JR_DEVICE_NAME, "joyride"));
	JR_EXPECT(!strcmp(JR_DEVICE_PATH, "/dev/joyride"));
	JR_EXPECT_EQ(JR_ABI_MAJOR, 2);
	JR_EXPECT_EQ(JR_ABI_MINOR, 3);
	JR_EXPECT_EQ(JR_MAX_ENGINES, 16);
	JR_EXPECT_EQ(JR_ATTACH_F_STANDBY, 0x4);
	JR_EXPECT_EQ(JR_IOC_STANDBY_WAIT, 0x8090B702u);
	JR_EXPECT(JR_REGION_MAGIC == 0x4a52494445310000ULL);

	JR_EXPECT_EQ(JR_F_TCP, 0x1);
	JR_EXPECT_EQ(JR_F_UDP, 0x2);
	JR_EXPECT_EQ(JR_F_IPV6, 0x4);
	JR_EXPECT_EQ(JR_F_RECOVERY, 0x8);
	JR_EXPECT_EQ(JR_F_LOOPBACK, 0x10);
	JR_EXPECT_EQ(JR_F_SOCKOPTS, 0x20);
	JR_EXPECT_EQ(JR_F_MULTICAST, 0x40);
	JR_EXPECT_EQ(JR_F_SURVIVAL, 0x80);
	JR_EXPECT_EQ(JR_F_STATS, 0x100);
	JR_EXPECT_EQ(JR_F_ACCEPT_LOCAL, 0x200);
	JR_EXPECT_EQ(JR_F_ALL, 0x3ff);
	JR_EXPECT_EQ(JR_CKPT_F_FIN_RCVD, 0x1);

	JR_EXPECT_EQ(JR_RING_MIN_ENTRIES, 64);
	JR_EXPECT_EQ(JR_RING_MAX_ENTRIES, 65536);
	JR_EXPECT_EQ(JR_SLOTS_MIN, 16);
	JR_EXPECT_EQ(JR_SLOTS_MAX, 65536);
	JR_EXPECT_EQ(JR_BUF_MIN, 4096);
	JR_EXPECT_EQ(JR_BUF_MAX, 4194304);
	JR_EXPECT_EQ(JR_DGRAM_MAX, 65507);

	JR_EXPECT_EQ(JR_ATTACH_F_RECOVER, 0x1);
	JR_EXPECT_EQ(JR_ATTACH_F_RECOVERING, 0x2);
	JR_EXPECT_EQ(JR_RING_NEED_WAKEUP, 0x1);
	JR_EXPECT_EQ(JR_SQE_F_REPLAY, 0x1);
	JR_EXPECT_EQ(JR_CQE_F_EVENT, 0x1);
	JR_EXPECT_EQ(JR_DGRAM_F_PAD, 0x1);
	JR_EXPECT_EQ(JR_DGRAM_F_TRUNC, 0x2);
	JR_EXPECT_EQ(JR_DGRAM_ALIGN, 8);
	JR_EXPECT_EQ(JR_DGRAM_RECORD(0), 40);
	JR_EXPECT_EQ(JR_DGRAM_RECORD(1), 48);
	JR_EXPECT_EQ(JR_DGRAM_RECORD(8), 48);
	JR_EXPECT_EQ(JR_DGRAM_RECORD(9), 56);
	JR_EXPECT_EQ(JR_DGRAM_RECORD(JR_DGRAM_MAX), 65552);
	JR_EXPECT_EQ(JR_STATE_LIVE, 1);
	JR_EXPECT_EQ(JR_STATE_RECOVERING, 2);
}

static void abi_opcodes(void)
{
	JR_EXPECT_EQ(JR_OP_INVALID, 0);
	JR_EXPECT_EQ(JR_OP_SOCKET, 1);
	JR_EXPECT_EQ(JR_OP_BIND, 2);
	JR_EXPECT_EQ(JR_OP_LISTEN, 3);
	JR_EXPECT_EQ(JR_OP_ACCEPT, 4);
	JR_EXPECT_EQ(JR_OP_CONNECT, 5);
	JR_EXPECT_EQ(JR_OP_SHUTDOWN, 6);
	JR_EXPECT_EQ(JR_OP_CLOSE, 7);
	JR_EXPECT_EQ(JR_OP_SETSOCKOPT, 8);
	JR_EXPECT_EQ(JR_OP_GETSOCKOPT, 9);
	JR_EXPECT_EQ(JR_OP_GETNAME, 10);
	JR_EXPECT_EQ(JR_OP_TX, 11);
	JR_EXPECT_EQ(JR_OP_RX_SPACE, 12);
	JR_EXPECT_EQ(JR_OP_REPLAY_DONE, 13);
	JR_EXPECT_EQ(JR_OP_RESTORE, 14);
	JR_EXPECT_EQ(JR_OP_NR, 15);

	JR_EXPECT_EQ(JR_EV_FIRST, 0x100);
	JR_EXPECT_EQ(JR_EV_RX, 0x100);
	JR_EXPECT_EQ(JR_EV_TX_SPACE, 0x101);
	JR_EXPECT_EQ(JR_EV_RX_FIN, 0x102);
	JR_EXPECT_EQ(JR_EV_RESET, 0x103);
	JR_EXPECT_EQ(JR_EV_ERROR, 0x104);
	JR_EXPECT_EQ(JR_EV_ACCEPTABLE, 0x105);
	JR_EXPECT_EQ(JR_EV_NR, 0x106);
}

static void abi_ioctls(void)
{
	JR_EXPECT_EQ(JR_IOC_MAGIC, 0xB7);
	/* _IOWR(0xB7, 0, struct jr_attach): read|write, 144 bytes, nr 0. */
	JR_EXPECT_EQ(JR_IOC_ATTACH, 0xC090B700u);
	/* _IO(0xB7, 1): no direction, no size. */
	JR_EXPECT_EQ(JR_IOC_KICK, 0x0000B701u);
	/* The encoding agrees with the pinned size of the argument. */
	JR_EXPECT_EQ(_IOC_SIZE(JR_IOC_ATTACH), sizeof(struct jr_attach));
	JR_EXPECT_EQ(_IOC_DIR(JR_IOC_ATTACH), _IOC_READ | _IOC_WRITE);
	JR_EXPECT_EQ(_IOC_TYPE(JR_IOC_KICK), JR_IOC_MAGIC);
	JR_EXPECT_EQ(_IOC_NR(JR_IOC_KICK), 1);
}

static const struct jr_test_case cases[] = {
	{ "abi_struct_layout", abi_struct_layout },
	{ "abi_field_signedness", abi_field_signedness },
	{ "abi_constants", abi_constants },
	{ "abi_opcodes", abi_opcodes },
	{ "abi_ioctls", abi_ioctls },
};

JR_TEST_MAIN(cases)
