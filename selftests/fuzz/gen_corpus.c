// SPDX-License-Identifier: GPL-2.0
/*
 * Writes the seed corpus of validate_fuzz: one well-formed input per kind of
 * entry, so the fuzzer starts past the first checks (op, flags, slot) and
 * spends its time on the rules behind them.  Run once by hand and commit
 * the output:
 *
 *   build/selftests/fuzz/jr-fuzz-gen-corpus selftests/fuzz/corpus
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <jr/jr_validate.h>

#include "fuzz_input.h"

static int written;

static void emit(const char *dir, const char *name, const struct fuzz_input *in)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(in, sizeof(*in), 1, f) != 1) {
		perror(path);
		return;
	}
	fclose(f);
	written++;
}

/* Limits every seed shares: 64 slots, 4 KiB byte rings, TCP and UDP. */
static struct fuzz_input base(void)
{
	struct fuzz_input in;

	memset(&in, 0, sizeof(in));
	in.nr_slots = 64;
	in.features = JR_F_TCP | JR_F_UDP;
	in.want = 1;
	return in;
}

static void set_v4(struct jr_sockaddr *sa)
{
	sa->family = AF_INET;
	sa->port = htons(80);
	sa->addr[0] = 10;
	sa->addr[3] = 1;
}

int main(int argc, char **argv)
{
	struct fuzz_input in;
	const char *dir = argc > 1 ? argv[1] : ".";

	in = base();
	in.e.sqe = (struct jr_sqe){ .op = JR_OP_SOCKET, .slot = 3, .tag = 1 };
	in.e.sqe.u.socket.family = AF_INET;
	in.e.sqe.u.socket.type = SOCK_STREAM;
	emit(dir, "sqe-socket", &in);

	in = base();
	in.features |= JR_F_IPV6;
	in.e.sqe = (struct jr_sqe){ .op = JR_OP_CONNECT, .slot = 4, .tag = 2 };
	in.e.sqe.u.addr.family = AF_INET6;
	in.e.sqe.u.addr.addr[15] = 1;
	emit(dir, "sqe-connect-v6", &in);

	in = base();
	in.e.sqe = (struct jr_sqe){ .op = JR_OP_ACCEPT, .slot = 5, .tag = 3 };
	in.e.sqe.u.accept.listener_slot = 6;
	emit(dir, "sqe-accept", &in);

	in = base();
	in.e.sqe = (struct jr_sqe){ .op = JR_OP_SETSOCKOPT, .slot = 7, .tag = 4 };
	in.e.sqe.u.sockopt.level = IPPROTO_TCP;
	in.e.sqe.u.sockopt.name = TCP_NODELAY;
	in.e.sqe.u.sockopt.value = 1;
	emit(dir, "sqe-setsockopt", &in);

	in = base();
	in.e.sqe = (struct jr_sqe){ .op = JR_OP_CLOSE, .slot = 8, .tag = 5 };
	in.e.sqe.u.close.linger_on = 1;
	in.e.sqe.u.close.linger_sec = 10;
	emit(dir, "sqe-close-linger", &in);

	in = base();
	in.e.sqe = (struct jr_sqe){ .op = JR_OP_REPLAY_DONE, .flags = JR_SQE_F_REPLAY, .tag = 6 };
	emit(dir, "sqe-replay-done", &in);

	in = base();
	in.e.cqe = (struct jr_cqe){ .op = JR_OP_BIND, .slot = 3, .tag = 7 };
	set_v4(&in.e.cqe.u.addr);
	emit(dir, "cqe-bind-reply", &in);

	in = base();
	in.e.cqe = (struct jr_cqe){ .op = JR_OP_GETSOCKOPT, .slot = 3, .tag = 8 };
	in.e.cqe.u.sockopt.value = 65536;
	emit(dir, "cqe-getsockopt-reply", &in);

	in = base();
	in.e.cqe = (struct jr_cqe){ .op = JR_OP_CONNECT, .slot = 3, .tag = 9,
				    .res = -ECONNREFUSED };
	emit(dir, "cqe-connect-refused", &in);

	in = base();
	in.e.cqe = (struct jr_cqe){ .op = JR_EV_RESET, .flags = JR_CQE_F_EVENT, .slot = 9,
				    .slot_gen = 2, .res = -ECONNRESET };
	emit(dir, "cqe-event-reset", &in);

	in = base();
	in.e.cqe = (struct jr_cqe){ .op = JR_EV_ACCEPTABLE, .flags = JR_CQE_F_EVENT,
				    .slot = 9, .res = 4 };
	emit(dir, "cqe-event-acceptable", &in);

	/* A datagram of 100 bytes at a wrapped position, all of it there. */
	in = base();
	in.pos = 0xfffff000u + 512;
	in.fill = 1024;
	in.e.dgram = (struct jr_dgram_hdr){ .len = 100 };
	set_v4(&in.e.dgram.addr);
	emit(dir, "dgram-record", &in);

	in = base();
	in.fill = 4096;
	in.e.dgram = (struct jr_dgram_hdr){ .len = 1472, .flags = JR_DGRAM_F_TRUNC,
					    .orig_len = 9000 };
	emit(dir, "dgram-truncated", &in);

	/* A filler from 64 bytes before the ring end. */
	in = base();
	in.pos = 4096 - 64;
	in.fill = 200;
	in.e.dgram = (struct jr_dgram_hdr){ .len = 64 - sizeof(struct jr_dgram_hdr),
					    .flags = JR_DGRAM_F_PAD };
	emit(dir, "dgram-filler", &in);

	/* Counters: a full ring across the wrap, and a peer that lies. */
	in = base();
	in.own = 0xffffffc0u;
	in.peer = 0;
	in.want = 64;
	in.pos = 4000;
	in.len = 300;
	emit(dir, "ring-full-wrap", &in);

	in = base();
	in.entry_shift = 2;
	in.own = 1000;
	in.peer = 1000 + 257;
	in.len = 4096;
	emit(dir, "ring-peer-lies", &in);

	printf("%d seed inputs written to %s\n", written, dir);
	return 0;
}
