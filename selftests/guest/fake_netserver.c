// SPDX-License-Identifier: GPL-2.0
/*
 * fake_netserver ANSWERS: attach to /dev/joyride as a restarted netserver
 * (JR_ATTACH_F_RECOVER), answer the first ANSWERS requests of the replay as
 * a real one would, then exit without a word: a netserver that crashes in
 * the middle of recovery, at a point the test chooses.  Prints how many
 * requests it answered.  Used by test_recover_08_during_recovery.py.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/ioctl.h>

#include "jr/libjr.h"

int main(int argc, char **argv)
{
	struct timespec tick = { .tv_nsec = 1000000 };
	int answers = argc > 1 ? atoi(argv[1]) : 0, answered = 0, idle_ms = 0;
	struct jr_attach req;
	struct jr_region r;
	int err;

	jr_attach_defaults(&req);
	req.flags = JR_ATTACH_F_RECOVER;
	req.nr_slots = 256;
	req.rx_buf_size = req.tx_buf_size = 16384;
	err = jr_attach_kernel(NULL, &req, &r);
	if (err) {
		fprintf(stderr, "fake_netserver: attach: %s\n", strerror(-err));
		return 1;
	}
	printf("attached, recovering=%d\n", !!(req.flags & JR_ATTACH_F_RECOVERING));
	fflush(stdout);
	while (answered < answers && idle_ms < 10000) {
		int ready = jr_ring_ready(&r.sq);

		if (ready <= 0) {
			nanosleep(&tick, NULL);
			idle_ms++;
			continue;
		}
		idle_ms = 0;
		for (int i = 0; i < ready && answered < answers; i++) {
			struct jr_sqe sqe;
			struct jr_cqe cqe = { 0 };

			memcpy(&sqe, jr_ring_entry(&r.sq, r.sq.own), sizeof(sqe));
			jr_ring_consume(&r.sq, 1);
			/* ACCEPTs complete only when connections come. */
			if (!jr_op_has_reply(sqe.op) || sqe.op == JR_OP_ACCEPT)
				continue;
			cqe.op = sqe.op;
			cqe.slot = sqe.op == JR_OP_REPLAY_DONE ? 0 : sqe.slot;
			cqe.tag = sqe.tag;
			if (sqe.op == JR_OP_BIND || sqe.op == JR_OP_CONNECT ||
			    sqe.op == JR_OP_GETNAME) {
				cqe.u.addr = sqe.u.addr;
				cqe.u.addr.family = AF_INET;
			}
			if (jr_server_post(&r, &cqe) == 0)
				answered++;
		}
		ioctl(r.fd, JR_IOC_KICK);
	}
	printf("answered %d requests; exiting without detaching\n", answered);
	return 0;
}
