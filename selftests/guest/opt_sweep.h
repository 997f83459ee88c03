/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every option number at every level of interest, on fresh TCP and UDP
 * sockets of a Linux family and of Joyride's side by side (socket_test.c:
 * AF_INET against AF_JOYRIDE, or Linux's AF_INET against libjr-preload.so's;
 * ipv6_test.c: AF_INET6 against AF_JOYRIDE_INET6).  Joyride must answer as Linux answers, unless it does
 * not implement the option at all, which it says with ENOPROTOOPT
 * whatever Linux would have said; each such option is logged, and
 * Documentation/sockets.md lists them.  Included by a kselftest-harness
 * test after kselftest_harness.h and a TCP header (netinet/tcp.h or
 * linux/tcp.h, whichever the test uses).
 */
#ifndef JR_OPT_SWEEP_H
#define JR_OPT_SWEEP_H

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

struct opt_gap {
	int level, name, type;		/* type 0: both */
};

/* Options whose value Joyride reports differently by design. */
static const struct opt_gap opt_value_gaps[] = {
	/* lwIP's congestion control is Reno; Linux's default is cubic. */
	{ IPPROTO_TCP, TCP_CONGESTION, SOCK_STREAM },
	/* TCP_INFO of an unconnected socket: Linux fills in defaults of its
	 * own (rto, mss, cwnd...); the tcp_info_* tests compare it. */
	{ IPPROTO_TCP, TCP_INFO, SOCK_STREAM },
};

static bool opt_value_gap(int level, int name, int type)
{
	for (size_t i = 0; i < sizeof(opt_value_gaps) / sizeof(opt_value_gaps[0]); i++) {
		const struct opt_gap *g = &opt_value_gaps[i];

		if (g->level == level && g->name == name && (!g->type || g->type == type))
			return true;
	}
	return false;
}

struct opt_sweep {
	unsigned int same, missing, differ;
};

/*
 * One call's outcome on both sides: lr/le and jr/je are the return values
 * and errnos; lv/jv the values read (get only, len bytes, or NULL).
 */
static void opt_compare(struct __test_metadata *_metadata, struct opt_sweep *o,
			const char *what, int type, int level, int name,
			int lr, int le, int jr, int je,
			const void *lv, socklen_t ll, const void *jv, socklen_t jl)
{
	if (jr && je == ENOPROTOOPT && (!lr || le != ENOPROTOOPT)) {
		o->missing++;
		TH_LOG("not implemented: %s type %d level %d name %d (Linux: %s)",
		       what, type, level, name, lr ? strerror(le) : "success");
	} else if (lr != jr || (lr && je != le)) {
		o->differ++;
		TH_LOG("%s type %d level %d name %d: Linux %s, Joyride %s", what, type,
		       level, name, lr ? strerror(le) : "success", jr ? strerror(je) : "success");
	} else if (!lr && lv && (ll != jl || memcmp(lv, jv, ll)) &&
		   !opt_value_gap(level, name, type)) {
		o->differ++;
		TH_LOG("%s type %d level %d name %d: Linux %u bytes %#x, Joyride %u bytes %#x",
		       what, type, level, name, ll, *(const int *)lv, jl, *(const int *)jv);
	} else {
		o->same++;
	}
}

/*
 * Names 0..99 at each level, get (an int's room) and set (an int 0).
 * linux_raw: the Linux side's sockets come from the socket system call
 * itself, past a socket() that LD_PRELOAD may have replaced.
 */
static void opt_sweep(struct __test_metadata *_metadata, int linux_family,
		      bool linux_raw, int jr_family, const int *levels,
		      size_t nr_levels, struct opt_sweep *o)
{
	static const int types[] = { SOCK_STREAM, SOCK_DGRAM };

	for (size_t t = 0; t < 2; t++) {
		for (size_t l = 0; l < nr_levels; l++) {
			for (int name = 0; name < 100; name++) {
				int lx = linux_raw ? (int)syscall(SYS_socket, linux_family, types[t], 0)
						   : socket(linux_family, types[t], 0);
				int jx = socket(jr_family, types[t], 0);
				unsigned char lv[256] = { 0 }, jv[256] = { 0 };
				socklen_t ll = 4, jl = 4;
				int lr, le, jr, je, zero = 0;

				ASSERT_LE(0, lx);
				ASSERT_LE(0, jx) TH_LOG("socket: %s", strerror(errno));
				lr = getsockopt(lx, levels[l], name, lv, &ll);
				le = errno;
				jr = getsockopt(jx, levels[l], name, jv, &jl);
				je = errno;
				opt_compare(_metadata, o, "get", types[t], levels[l], name,
					    lr, le, jr, je, lv, ll, jv, jl);
				lr = setsockopt(lx, levels[l], name, &zero, sizeof(zero));
				le = errno;
				jr = setsockopt(jx, levels[l], name, &zero, sizeof(zero));
				je = errno;
				opt_compare(_metadata, o, "set", types[t], levels[l], name,
					    lr, le, jr, je, NULL, 0, NULL, 0);
				close(jx);
				close(lx);
			}
		}
	}
	TH_LOG("options: %u calls as Linux, %u not implemented (ENOPROTOOPT), %u differ",
	       o->same, o->missing, o->differ);
}

#endif /* JR_OPT_SWEEP_H */
