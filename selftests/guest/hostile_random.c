// SPDX-License-Identifier: GPL-2.0
/*
 * hostile_random: a seeded random adversary against joyride.ko.
 *
 * One process plays both sides of /dev/joyride.
 *
 * The netserver (one thread) attaches with small geometry (64 SQ entries,
 * 16 KiB rings, 64-256 slots) so that queues and rings fill up, takes the
 * kernel's requests and answers them.  Each turn a seeded PRNG chooses
 * between what an honest netserver does (replies to SOCKET, BIND, LISTEN,
 * CONNECT, ACCEPT, CLOSE ..., bytes and datagrams written into receive
 * rings, transmit rings drained, RX/TX_SPACE/RX_FIN/RESET/ERROR/ACCEPTABLE
 * events) and what a buggy or malicious one could do: replies forged for
 * tags not issued yet, replies with the wrong tag, op, slot or generation,
 * duplicate and replayed replies, random and malformed entries, CQ
 * producer and SQ consumer indices that lie, an SQ left full for a while,
 * receive producers and transmit consumers that lie, datagram headers that
 * lie, silence longer than net.joyride.request_timeout_ms, and detaching
 * (munmap + close) in the middle of everything, then attaching again with
 * JR_ATTACH_F_RECOVER so that the kernel replays its surviving sockets
 * while calls are in flight.
 *
 * The applications (--threads, 6) make random socket calls on AF_JOYRIDE
 * TCP and UDP sockets, and on AF_INET ones while another thread toggles
 * net.joyride.redirect_inet.  Every call is bounded (socket timeouts,
 * non-blocking descriptors, poll timeouts); the application only checks
 * that calls return, with an errno user space can be given.  A watchdog
 * reports any call (application or netserver) that takes longer than
 * --stuck-ms, with the thread's kernel stack.
 *
 * At the end the netserver turns honest, every application socket is
 * closed, and the netserver answers until the kernel's slot count
 * (jr_stats.k_slots_used) settles; then it detaches.  The last line is
 *
 *   hostile: <entries> entries, <warnings> kernel warnings, <leaked> leaked slots
 *
 * entries: CQEs the netserver wrote; warnings: kernel log lines matching
 * WARNING:, BUG:, Oops ... logged during the run; leaked: k_slots_used
 * once everything is closed and settled.  Exit 0 only if there was no
 * warning, no leaked slot, no socket left once the netserver is gone, no
 * stuck call and no request the kernel wrote against the ABI; 1 otherwise,
 * with the seed to repeat the run; 77 without /dev/joyride or with a
 * netserver attached.
 *
 * The seed fixes the netserver's decisions and the applications' choice of
 * calls; the interleaving of threads does not repeat exactly, so a seed
 * repeats a run's mix of behaviours, not its exact timing.
 *
 * Needs the module to itself (no netserver): selftests/guest/tests.list,
 * and `tools/joyride bench hostile` (Documentation/testing.md).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "jr/libjr.h"

#define SKIP_STATUS		77
#define MS			1000000ULL
#define SYSCTL_DIR		"/proc/sys/net/joyride/"
#define PROC_SOCKETS		"/proc/net/joyride"
#define TAG_CTR_MASK		((1ULL << 40) - 1)

/* ------------------------------------------------------------ options */

static struct {
	uint64_t	seed;
	uint64_t	entries;	/* netserver-written CQEs to produce */
	unsigned int	seconds;	/* upper bound of the hostile phase */
	unsigned int	threads;	/* application threads */
	unsigned int	stuck_ms;	/* a call longer than this is stuck */
	unsigned int	request_timeout_ms;
	unsigned int	recovery_timeout_ms;
	unsigned int	sq_entries;
	unsigned int	cq_entries;
	unsigned int	nr_slots;	/* 0: 64, 128 or 256, chosen per attach */
	unsigned int	hostility;	/* per mille of decisions that lie */
	unsigned int	burst;		/* most unsolicited entries per turn */
	unsigned int	recover;	/* per mille of attaches asking a replay */
	int		long_stall;	/* per mille of SQ stalls that outlast
					 * --stuck-ms; -1: 100, 16 in bench */
	bool		bench;		/* waiting behaviours rarer */
	bool		no_redirect;	/* leave net.joyride.redirect_inet alone */
	bool		verbose;
} cfg = {
	.entries		= 20000,
	.seconds		= 60,
	.threads		= 6,
	.stuck_ms		= 3000,
	.request_timeout_ms	= 200,
	.recovery_timeout_ms	= 300,
	.sq_entries		= 64,
	.cq_entries		= 64,
	.hostility		= 300,
	.burst			= 4,
	.recover		= 900,
	.long_stall		= -1,
};

/* ------------------------------------------------------------ helpers */

struct rng {
	uint64_t s;
};

/* splitmix64: small, fast, and every seed is a good one. */
static uint64_t rng_next(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint32_t rng_below(struct rng *r, uint32_t n)
{
	return n ? (uint32_t)(rng_next(r) % n) : 0;
}

static uint32_t rng_range(struct rng *r, uint32_t lo, uint32_t hi)
{
	return lo + rng_below(r, hi - lo + 1);
}

static bool rng_permille(struct rng *r, uint32_t p)
{
	return rng_below(r, 1000) < p;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000ULL, .tv_nsec = ns % 1000000000ULL };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static uint64_t start_ns;

static double elapsed_s(void)
{
	return (double)(now_ns() - start_ns) / 1e9;
}

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&out_lock);
	fputs("hostile: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

#define verbose(...)	do { if (cfg.verbose) say(__VA_ARGS__); } while (0)

/* ------------------------------------------------------------ counters */

/* What the netserver did, for the summary (coverage at a glance). */
enum act {
	ACT_HONEST, ACT_DELAYED, ACT_ERROR, ACT_WEIRD_ERRNO, ACT_FORGED, ACT_DUP,
	ACT_MALFORMED, ACT_WITHHELD, ACT_FORGE_AHEAD, ACT_OLD_CQE, ACT_WRONG_GEN,
	ACT_NO_SLOT, ACT_RANDOM, ACT_BAD_EVENT, ACT_RING_LIE, ACT_DGRAM_LIE,
	ACT_RX_DATA, ACT_TX_DRAIN, ACT_EVENT, ACT_SILENCE, ACT_SQ_STALL,
	ACT_SQ_STALL_LONG, ACT_SQ_LIE, ACT_CQ_LIE, ACT_CQ_REPLAY, ACT_FLOOD,
	ACT_TX_STALL, ACT_DETACH, ACT_ATTACH_RECOVER, ACT_ATTACH_PLAIN,
	ACT_REDIRECT_TOGGLE, ACT_NR,
};

static const char *const act_names[ACT_NR] = {
	[ACT_HONEST] = "honest", [ACT_DELAYED] = "delayed", [ACT_ERROR] = "error",
	[ACT_WEIRD_ERRNO] = "weird-errno", [ACT_FORGED] = "forged",
	[ACT_DUP] = "duplicate", [ACT_MALFORMED] = "malformed",
	[ACT_WITHHELD] = "withheld", [ACT_FORGE_AHEAD] = "forged-ahead",
	[ACT_OLD_CQE] = "replayed", [ACT_WRONG_GEN] = "wrong-gen",
	[ACT_NO_SLOT] = "no-slot", [ACT_RANDOM] = "random",
	[ACT_BAD_EVENT] = "bad-event", [ACT_RING_LIE] = "ring-lie",
	[ACT_DGRAM_LIE] = "dgram-lie", [ACT_RX_DATA] = "rx-data",
	[ACT_TX_DRAIN] = "tx-drain", [ACT_EVENT] = "event",
	[ACT_SILENCE] = "silence", [ACT_SQ_STALL] = "sq-stall",
	[ACT_SQ_STALL_LONG] = "sq-stall-long", [ACT_SQ_LIE] = "sq-cons-lie",
	[ACT_CQ_LIE] = "cq-prod-lie", [ACT_CQ_REPLAY] = "cq-prod-replay",
	[ACT_FLOOD] = "flood", [ACT_TX_STALL] = "tx-stall",
	[ACT_DETACH] = "detach", [ACT_ATTACH_RECOVER] = "attach-recover",
	[ACT_ATTACH_PLAIN] = "attach-plain", [ACT_REDIRECT_TOGGLE] = "redirect-toggle",
};

static struct {
	_Atomic uint64_t entries;
	_Atomic uint64_t kicks;
	_Atomic uint64_t kick_errors;		/* EIO from a kick we did not lie for */
	_Atomic uint64_t kernel_proto;		/* the kernel broke the ABI */
	_Atomic uint64_t implausible;		/* errnos user space must not see */
	_Atomic uint64_t calls;
	_Atomic uint64_t call_errors;
	_Atomic uint64_t stuck;
	_Atomic uint64_t acts[ACT_NR];
} st;

static void act(enum act a)
{
	atomic_fetch_add_explicit(&st.acts[a], 1, memory_order_relaxed);
}

enum { PH_RUN, PH_CALM, PH_SETTLE, PH_STOP };
static _Atomic int phase = PH_RUN;
static _Atomic bool apps_stop;
static const char *_Atomic ns_episode = "none";	/* the netserver's mood */

/* ------------------------------------------------------- call tracking */

/*
 * Each thread says what it is doing; the watchdog reports a call that has
 * not returned after --stuck-ms, with the thread's kernel stack.
 */
struct track {
	char			name[24];
	_Atomic pid_t		tid;
	const char *_Atomic	what;
	_Atomic int		fd;
	_Atomic uint64_t	since;		/* 0: not in a call */
	uint64_t		reported;	/* watchdog's: since it reported */
};

#define MAX_TRACKS	16
static struct track *tracks[MAX_TRACKS];
static _Atomic int ntracks;

static void track_register(struct track *t, const char *name)
{
	int i = atomic_fetch_add(&ntracks, 1);

	snprintf(t->name, sizeof(t->name), "%s", name);
	t->tid = (pid_t)syscall(SYS_gettid);
	if (i < MAX_TRACKS)
		tracks[i] = t;
}

static void track_begin(struct track *t, const char *what, int fd)
{
	t->what = what;
	t->fd = fd;
	atomic_store(&t->since, now_ns());
}

static void track_end(struct track *t)
{
	atomic_store(&t->since, 0);
}

static void print_kernel_stack(pid_t tid)
{
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stack", (int)tid);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		say("    %s", line);
	}
	fclose(f);
}

static void kmsg_mark(const char *text);

static void report_stuck(struct track *t, uint64_t since, uint64_t now)
{
	const char *what = t->what;
	char line[160];

	atomic_fetch_add(&st.stuck, 1);
	/* Also in the kernel log: a test runner that buffers our output
	 * loses it if the kernel wedges. */
	snprintf(line, sizeof(line), "hostile_random: seed %" PRIu64 ": %s stuck %.1f s in %s\n",
		 cfg.seed, t->name, (double)(now - since) / 1e9, what ? what : "?");
	kmsg_mark(line);
	say("STUCK (seed %" PRIu64 "): %s (tid %d) has been in %s (fd %d) for %.1f s (netserver: %s); kernel stack:",
	    cfg.seed, t->name, (int)t->tid, what ? what : "?", (int)t->fd,
	    (double)(now - since) / 1e9, ns_episode);
	print_kernel_stack(t->tid);
}

static _Atomic bool wd_stop;

static void *watchdog_main(void *arg)
{
	(void)arg;
	while (!wd_stop) {
		int n = atomic_load(&ntracks);

		for (int i = 0; i < n && i < MAX_TRACKS; i++) {
			struct track *t = tracks[i];
			uint64_t since = t ? atomic_load(&t->since) : 0;
			uint64_t now = now_ns();

			if (!since || since == t->reported || now < since ||
			    now - since < cfg.stuck_ms * MS)
				continue;
			t->reported = since;
			report_stuck(t, since, now);
		}
		sleep_ns(100 * MS);
	}
	return NULL;
}

/* ------------------------------------------------------------- sysctls */

struct sysctl_save {
	const char	*name;
	char		value[32];
	bool		saved;
};

static struct sysctl_save saved_sysctls[] = {
	{ .name = SYSCTL_DIR "request_timeout_ms" },
	{ .name = SYSCTL_DIR "recovery_timeout_ms" },
	{ .name = SYSCTL_DIR "redirect_inet" },
};

static int sysctl_write(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, value, strlen(value)) < 0)
		err = -errno;
	close(fd);
	return err;
}

static void sysctls_save(void)
{
	for (size_t i = 0; i < sizeof(saved_sysctls) / sizeof(saved_sysctls[0]); i++) {
		struct sysctl_save *s = &saved_sysctls[i];
		int fd = open(s->name, O_RDONLY | O_CLOEXEC);
		ssize_t n;

		if (fd < 0)
			continue;
		n = read(fd, s->value, sizeof(s->value) - 1);
		close(fd);
		if (n > 0) {
			s->value[n] = 0;
			s->saved = true;
		}
	}
}

/* Also from the signal handler: only open/write/close. */
static void sysctls_restore(void)
{
	for (size_t i = 0; i < sizeof(saved_sysctls) / sizeof(saved_sysctls[0]); i++) {
		struct sysctl_save *s = &saved_sysctls[i];
		int fd;

		if (!s->saved)
			continue;
		fd = open(s->name, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (write(fd, s->value, strlen(s->value)) < 0) {
			/* nothing more to do from here */
		}
		close(fd);
	}
}

static void on_fatal_signal(int sig)
{
	static const char msg[] = "hostile: interrupted; sysctls restored\n";

	sysctls_restore();
	if (write(STDOUT_FILENO, msg, sizeof(msg) - 1) < 0) {
		/* ignore */
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

/* ------------------------------------------------------- the kernel log */

static const char *const log_patterns[] = {
	"WARNING:", "BUG:", "Oops", "general protection", "refcount_t",
	"UBSAN", "KASAN", "list_add corruption", "list_del corruption",
	"blocked for more than", "detected stalls",
};

static int kmsg_fd = -1;
static unsigned int kmsg_warnings;
static unsigned int kmsg_context;	/* lines still to show after a match */

static void kmsg_open(void)
{
	kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (kmsg_fd < 0) {
		say("cannot read /dev/kmsg (%s): kernel warnings not counted", strerror(errno));
		return;
	}
	lseek(kmsg_fd, 0, SEEK_END);
}

static void kmsg_mark(const char *text)
{
	int fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	if (write(fd, text, strlen(text)) < 0) {
		/* a marker only */
	}
	close(fd);
}

/*
 * Read what the kernel logged since the last look: count the lines that
 * match, and show each with the lines that follow it (the trace).
 */
static void kmsg_scan(const char *when)
{
	char rec[8192];

	if (kmsg_fd < 0)
		return;
	for (;;) {
		ssize_t n = read(kmsg_fd, rec, sizeof(rec) - 1);
		char *msg, *end;
		bool match = false;

		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten records: go on */
		if (n <= 0)
			break;
		rec[n] = 0;
		msg = strchr(rec, ';');
		msg = msg ? msg + 1 : rec;
		end = strchr(msg, '\n');
		if (end)
			*end = 0;
		for (size_t i = 0; i < sizeof(log_patterns) / sizeof(log_patterns[0]); i++)
			if (strstr(msg, log_patterns[i]))
				match = true;
		if (match) {
			if (!kmsg_warnings)
				say("KERNEL PROBLEM (seed %" PRIu64 ", %s, %.1f s, %" PRIu64 " entries):",
				    cfg.seed, when, elapsed_s(), (uint64_t)st.entries);
			kmsg_warnings++;
			kmsg_context = 40;
			say("kmsg! %s", msg);
		} else if (kmsg_context) {
			kmsg_context--;
			say("kmsg  %s", msg);
		}
	}
}

/* Sockets /proc/net/joyride lists (pre-posted accept children excluded). */
static int proc_sockets(void)
{
	FILE *f = fopen(PROC_SOCKETS, "r");
	char line[512];
	int n = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n++;
	fclose(f);
	return n < 0 ? 0 : n;
}

static void proc_dump(void)
{
	FILE *f = fopen(PROC_SOCKETS, "r");
	char line[512];

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		say("  %s", line);
	}
	fclose(f);
}

/* ============================================================ netserver */

#define NS_MAX_SLOTS	1024
#define NS_MAX_PEND	4096
#define NS_OUT_MAX	4096
#define NS_HIST		64

/* What the netserver believes about a slot (it may be wrong: it lies). */
enum { SS_FREE, SS_NEW, SS_LISTEN, SS_ESTAB, SS_CLOSING };

struct ns_slot {
	uint32_t	gen;		/* newest generation the kernel named */
	uint32_t	rings_gen;	/* generation whose rings we reset */
	uint8_t		type;		/* SOCK_STREAM, SOCK_DGRAM; 0 unknown */
	uint8_t		state;
	bool		fin;		/* RX_FIN sent */
	bool		rx_bad;		/* we wrote garbage into the rx ring */
	uint32_t	rx_prod;	/* ours */
	uint32_t	tx_cons;	/* ours */
	uint64_t	lie_until;	/* a ring position lies until then */
	uint16_t	port;		/* bound port, network order */
};

/* How a request is answered. */
enum {
	M_HONEST, M_DELAY, M_ERROR, M_WEIRD, M_FORGED, M_DUP, M_MALFORMED,
	M_WITHHOLD, M_STALE,
};

struct ns_pend {
	struct jr_sqe	sqe;
	uint64_t	due;		/* UINT64_MAX: when the run calms down */
	uint8_t		mode;
};

enum { EP_NONE, EP_SILENCE, EP_SQ_STALL, EP_SQ_LIE, EP_TX_STALL, EP_DETACHED };

static const char *const ep_names[] = {
	[EP_NONE] = "none", [EP_SILENCE] = "silence", [EP_SQ_STALL] = "sq-stall",
	[EP_SQ_LIE] = "sq-cons-lie", [EP_TX_STALL] = "tx-stall",
	[EP_DETACHED] = "detached",
};

struct ns {
	struct jr_region	r;
	bool			attached;
	uint64_t		epoch;
	uint32_t		nr_slots, rx_size, tx_size;
	uint64_t		max_ctr;	/* highest tag counter seen */
	uint32_t		last_alloc;	/* slot of the newest socket */
	struct rng		rng;
	struct track		track;

	struct ns_slot		slot[NS_MAX_SLOTS];
	struct ns_pend		pend[NS_MAX_PEND];
	unsigned int		npend;
	struct jr_cqe		out[NS_OUT_MAX];
	unsigned int		nout;
	struct jr_cqe		hist[NS_HIST];
	uint64_t		nhist;

	int			ep;
	uint64_t		ep_end;
	uint64_t		next_ep;
	bool			ep_then_detach;
	bool			cq_lying;	/* the next kick is expected to fail */
	uint64_t		reattach_at;
	bool			recover_next;
	uint32_t		kick_late_us;	/* forged ahead: let requests come */
	uint64_t		next_scan;
	uint64_t		quiet_since;	/* SQ empty and nothing pending */
};

static struct ns *ns;

/* Published for the main thread. */
static _Atomic bool ns_attached;
static _Atomic uint64_t ns_slots_used, ns_timeouts, ns_bad_entries, ns_sockets;
static _Atomic uint64_t ns_quiet_ms;

static void kernel_proto(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void kernel_proto(const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	if (atomic_fetch_add(&st.kernel_proto, 1) >= 20)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	say("KERNEL ABI VIOLATION (seed %" PRIu64 ", %.1f s): %s", cfg.seed, elapsed_s(), buf);
}

static bool hostile(void)
{
	return phase == PH_RUN;
}

static void addr_in(struct jr_sockaddr *a, uint32_t ip, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->family = AF_INET;
	a->port = htons(port);
	a->addr[0] = (uint8_t)(ip >> 24);
	a->addr[1] = (uint8_t)(ip >> 16);
	a->addr[2] = (uint8_t)(ip >> 8);
	a->addr[3] = (uint8_t)ip;
}

#define IP_PEER		0xc6120001	/* 198.18.0.1 */
#define IP_SELF		0xc6120002	/* 198.18.0.2 */

static void ns_emit(struct ns *n, const struct jr_cqe *c)
{
	if (n->nout < NS_OUT_MAX)
		n->out[n->nout++] = *c;
}

static void ns_event(struct ns *n, uint32_t slot, uint16_t op, int res)
{
	struct jr_cqe c = {
		.op = op, .flags = JR_CQE_F_EVENT, .slot = slot,
		.slot_gen = n->slot[slot].gen, .res = res,
	};

	ns_emit(n, &c);
}

static void ns_publish_stats(struct ns *n)
{
	if (!n->attached)
		return;
	ns_slots_used = jr_read_once(n->r.stats->k_slots_used);
	ns_timeouts = jr_read_once(n->r.stats->k_timeouts);
	ns_bad_entries = jr_read_once(n->r.stats->k_bad_entries);
	ns_sockets = jr_read_once(n->r.stats->k_sockets);
}

/* A slot whose socket is open in our view, satisfying pred, or -1. */
static int ns_pick_slot(struct ns *n, bool (*pred)(const struct ns_slot *))
{
	for (int i = 0; i < 12; i++) {
		uint32_t s = rng_below(&n->rng, n->nr_slots);

		if (pred(&n->slot[s]))
			return (int)s;
	}
	return -1;
}

static bool slot_open(const struct ns_slot *s)
{
	return s->state != SS_FREE;
}

static bool slot_rings(const struct ns_slot *s)
{
	return s->state != SS_FREE && s->rings_gen == s->gen && !s->lie_until;
}

static bool slot_rx_stream(const struct ns_slot *s)
{
	return slot_rings(s) && s->type == SOCK_STREAM && s->state == SS_ESTAB && !s->fin;
}

static bool slot_rx_dgram(const struct ns_slot *s)
{
	return slot_rings(s) && s->type == SOCK_DGRAM && !s->rx_bad;
}

static bool slot_listener(const struct ns_slot *s)
{
	return s->state == SS_LISTEN;
}

static bool slot_free(const struct ns_slot *s)
{
	return s->state == SS_FREE;
}

/* Each side resets the counters it owns when a slot is made (abi.md). */
static void ns_reset_rings(struct ns *n, uint32_t slot)
{
	struct ns_slot *s = &n->slot[slot];
	struct jr_slot_ctl *ctl = &n->r.slots[slot];

	s->rx_prod = 0;
	s->tx_cons = 0;
	s->rings_gen = s->gen;
	s->fin = false;
	s->rx_bad = false;
	s->lie_until = 0;
	jr_store_release(&ctl->rx_prod, 0);
	jr_store_release(&ctl->tx_cons, 0);
}

/* ------------------------------------------------ receive and transmit */

static unsigned char payload[65536];

static void ns_rx_stream(struct ns *n, uint32_t slot)
{
	struct ns_slot *s = &n->slot[slot];
	struct jr_slot_ctl *ctl = &n->r.slots[slot];
	uint32_t cons = jr_load_acquire(&ctl->rx_cons), fill = s->rx_prod - cons, len;

	if (fill > n->rx_size)
		return;		/* not the socket we think: leave it */
	if (fill == n->rx_size)
		return;
	len = rng_range(&n->rng, 1, n->rx_size - fill);
	if (rng_permille(&n->rng, 700) && len > 1500)
		len = rng_range(&n->rng, 1, 1500);
	jr_bytes_copy_in(jr_slot_rx(&n->r, slot), n->rx_size, s->rx_prod,
			 payload + rng_below(&n->rng, 1024), len);
	s->rx_prod += len;
	jr_store_release(&ctl->rx_prod, s->rx_prod);
	ns_event(n, slot, JR_EV_RX, 0);
	act(ACT_RX_DATA);
}

static void ns_rx_dgram(struct ns *n, uint32_t slot)
{
	struct ns_slot *s = &n->slot[slot];
	struct jr_slot_ctl *ctl = &n->r.slots[slot];
	uint32_t cons = jr_load_acquire(&ctl->rx_cons), fill = s->rx_prod - cons;
	uint32_t size = n->rx_size, len, pos;
	struct jr_dgram_hdr h = { 0 };
	unsigned char *ring = jr_slot_rx(&n->r, slot);

	if (fill > size)
		return;
	len = rng_permille(&n->rng, 900) ? rng_below(&n->rng, 1473) :
					   rng_below(&n->rng, size / 2 - 64);
	if (jr_dgram_need(s->rx_prod, size, len) > size - fill)
		return;
	h.len = len;
	if (len > 8 && rng_permille(&n->rng, 80)) {
		/* The netserver cut a longer datagram. */
		h.flags = JR_DGRAM_F_TRUNC;
		h.orig_len = len + rng_range(&n->rng, 1, 2000);
	}
	addr_in(&h.addr, IP_PEER, (uint16_t)rng_range(&n->rng, 1, 65535));
	pos = jr_dgram_begin(ring, size, s->rx_prod, len);
	memcpy(ring + (pos & (size - 1)), &h, sizeof(h));
	memcpy(ring + (pos & (size - 1)) + sizeof(h), payload + rng_below(&n->rng, 1024), len);
	s->rx_prod = pos + (uint32_t)JR_DGRAM_RECORD(len);
	jr_store_release(&ctl->rx_prod, s->rx_prod);
	ns_event(n, slot, JR_EV_RX, 0);
	act(ACT_RX_DATA);
}

/*
 * Drain a slot's transmit ring as lwIP would take it.  Datagram records
 * the kernel wrote are checked: the kernel is the one party that must
 * never write a bad one.
 */
static void ns_tx(struct ns *n, uint32_t slot, bool check)
{
	struct ns_slot *s = &n->slot[slot];
	struct jr_slot_ctl *ctl = &n->r.slots[slot];
	uint32_t size = n->tx_size, prod, fill;

	if (!slot_rings(s) || n->ep == EP_TX_STALL)
		return;
	prod = jr_load_acquire(&ctl->tx_prod);
	fill = prod - s->tx_cons;
	if (!fill || fill > size)
		return;
	if (s->type == SOCK_DGRAM) {
		uint32_t pos = s->tx_cons;

		/*
		 * Only a TX request names the generation for sure; a scan may
		 * look at a slot the kernel gave to a socket we know nothing
		 * of yet.
		 */
		while (check && pos != prod) {
			uint32_t skip = jr_dgram_skip(pos, size), record;
			struct jr_dgram_hdr h;
			int err;

			if (skip) {
				if (prod - pos < skip) {
					kernel_proto("slot %u: tx ring ends in a skipped tail", slot);
					break;
				}
				pos += skip;
				continue;
			}
			memcpy(&h, jr_slot_tx(&n->r, slot) + (pos & (size - 1)), sizeof(h));
			err = jr_validate_dgram(&h, pos, prod - pos, size, &n->r.limits, &record);
			if (err) {
				kernel_proto("slot %u: the kernel wrote a bad datagram record at %u (len %u flags %#x): %d",
					     slot, pos, h.len, h.flags, err);
				break;
			}
			pos += record;
		}
		s->tx_cons = prod;
	} else {
		s->tx_cons += rng_permille(&n->rng, 500) ? fill : rng_range(&n->rng, 1, fill);
	}
	jr_store_release(&ctl->tx_cons, s->tx_cons);
	if (fill * 2 >= size || rng_permille(&n->rng, 200))
		ns_event(n, slot, JR_EV_TX_SPACE, 0);
	act(ACT_TX_DRAIN);
}

/* Lies on ring positions end: put back what we really produced/consumed. */
static void ns_scan(struct ns *n, uint64_t now)
{
	for (uint32_t i = 0; i < n->nr_slots; i++) {
		struct ns_slot *s = &n->slot[i];

		if (s->lie_until && (now >= s->lie_until || !hostile())) {
			s->lie_until = 0;
			jr_store_release(&n->r.slots[i].rx_prod, s->rx_prod);
			jr_store_release(&n->r.slots[i].tx_cons, s->tx_cons);
		}
		if (slot_rings(s))
			ns_tx(n, i, false);
	}
}

/* ------------------------------------------------------------ replies */

static int errno_for(struct rng *r, uint16_t op)
{
	static const int any[] = { ENOBUFS, ENOMEM, EINVAL, EIO, ENETDOWN };
	static const int conn[] = { ECONNREFUSED, ETIMEDOUT, EHOSTUNREACH, ENETUNREACH,
				    EADDRNOTAVAIL, ECONNRESET };
	static const int bind[] = { EADDRINUSE, EADDRNOTAVAIL, EACCES, EINVAL };

	switch (op) {
	case JR_OP_CONNECT:
		return conn[rng_below(r, sizeof(conn) / sizeof(conn[0]))];
	case JR_OP_BIND:
	case JR_OP_LISTEN:
		return bind[rng_below(r, sizeof(bind) / sizeof(bind[0]))];
	case JR_OP_ACCEPT:
		return rng_permille(r, 500) ? ECONNABORTED : ENOBUFS;
	case JR_OP_SHUTDOWN:
	case JR_OP_GETNAME:
		return ENOTCONN;
	case JR_OP_SETSOCKOPT:
	case JR_OP_GETSOCKOPT:
		return rng_permille(r, 500) ? ENOPROTOOPT : EINVAL;
	}
	return any[rng_below(r, sizeof(any) / sizeof(any[0]))];
}

/* The union of a well-formed reply to op with result res. */
static void reply_fill(struct ns *n, struct jr_cqe *c, uint16_t op, int res)
{
	c->op = op;
	c->res = res;
	memset(&c->u, 0, sizeof(c->u));
	if (res)
		return;
	if (jr_op_reply_has_addr(op))
		addr_in(&c->u.addr, rng_permille(&n->rng, 500) ? IP_PEER : IP_SELF,
			(uint16_t)rng_range(&n->rng, 1, 65535));
	else if (op == JR_OP_GETSOCKOPT)
		c->u.sockopt.value = rng_below(&n->rng, 2);
}

static uint16_t random_reply_op(struct rng *r)
{
	static const uint16_t ops[] = {
		JR_OP_SOCKET, JR_OP_BIND, JR_OP_LISTEN, JR_OP_ACCEPT, JR_OP_CONNECT,
		JR_OP_SHUTDOWN, JR_OP_CLOSE, JR_OP_SETSOCKOPT, JR_OP_GETSOCKOPT,
		JR_OP_GETNAME,
	};

	return ops[rng_below(r, sizeof(ops) / sizeof(ops[0]))];
}

static bool accept_listener_open(struct ns *n, const struct jr_sqe *q)
{
	const struct ns_slot *l = &n->slot[q->u.accept.listener_slot];

	return l->state == SS_LISTEN && l->gen == q->u.accept.listener_gen;
}

/*
 * The reply an honest netserver gives.  effects: also change our view of
 * the slot (not for a stale copy of a reply).
 */
static void ns_honest(struct ns *n, const struct jr_sqe *q, bool effects)
{
	struct jr_cqe c = { .op = q->op, .slot = q->slot, .tag = q->tag };
	struct ns_slot *s = q->op == JR_OP_REPLAY_DONE ? NULL : &n->slot[q->slot];
	bool cur = s && q->slot_gen == s->gen && effects;

	switch (q->op) {
	case JR_OP_SOCKET:
		if (cur) {
			s->state = SS_NEW;
			s->type = (uint8_t)q->u.socket.type;
			s->port = 0;
			ns_reset_rings(n, q->slot);
		}
		break;
	case JR_OP_BIND:
		c.u.addr = q->u.addr;
		if (!c.u.addr.port)
			c.u.addr.port = htons((uint16_t)rng_range(&n->rng, 32768, 60999));
		if (cur)
			s->port = c.u.addr.port;
		break;
	case JR_OP_LISTEN:
		if (cur)
			s->state = SS_LISTEN;
		break;
	case JR_OP_ACCEPT:
		if (!accept_listener_open(n, q)) {
			c.res = -ECONNABORTED;
			break;
		}
		addr_in(&c.u.addr, IP_PEER, (uint16_t)rng_range(&n->rng, 1024, 65535));
		if (cur) {
			s->state = SS_ESTAB;
			s->type = SOCK_STREAM;
			ns_reset_rings(n, q->slot);
		}
		break;
	case JR_OP_CONNECT:
		if (!q->u.addr.family) {
			/* A disconnect: the local address after it. */
			addr_in(&c.u.addr, 0, 0);
			if (cur && s->state != SS_CLOSING)
				s->state = SS_NEW;
			break;
		}
		if (s->type == SOCK_STREAM && rng_permille(&n->rng, 150)) {
			c.res = -errno_for(&n->rng, JR_OP_CONNECT);
			break;
		}
		addr_in(&c.u.addr, IP_SELF, s->port ? ntohs(s->port) :
			(uint16_t)rng_range(&n->rng, 32768, 60999));
		if (cur && s->state != SS_CLOSING)
			s->state = SS_ESTAB;
		break;
	case JR_OP_GETSOCKOPT:
		c.u.sockopt.value = 1;
		break;
	case JR_OP_GETNAME:
		if (q->u.getname.peer)
			addr_in(&c.u.addr, IP_PEER, 80);
		else
			addr_in(&c.u.addr, IP_SELF, s->port ? ntohs(s->port) : 40000);
		break;
	case JR_OP_CLOSE:
		if (cur)
			s->state = SS_FREE;
		break;
	case JR_OP_REPLAY_DONE:
		c.slot = 0;
		break;
	}
	ns_emit(n, &c);
}

/* Replies that are well-formed but someone else's: stale, to be dropped. */
static void ns_forged(struct ns *n, const struct jr_sqe *q)
{
	int count = (int)rng_range(&n->rng, 1, 3);

	for (int i = 0; i < count; i++) {
		struct jr_cqe c = { .slot = q->slot, .tag = q->tag };
		uint16_t op = q->op;
		int res = rng_permille(&n->rng, 500) ? 0 : -EACCES;

		switch (rng_below(&n->rng, 6)) {
		case 0:
			c.tag ^= 1;
			break;
		case 1:
			c.tag += rng_range(&n->rng, 1, 1000);
			break;
		case 2:
			c.tag -= rng_range(&n->rng, 1, 100);
			break;
		case 3:
			do
				op = random_reply_op(&n->rng);
			while (op == q->op);
			break;
		case 4:
			c.slot = rng_below(&n->rng, n->nr_slots);
			break;
		default:
			/* The same counter in the previous attach's epoch. */
			c.tag = ((n->epoch - 1) << 40) | (q->tag & TAG_CTR_MASK);
			break;
		}
		if (!c.tag)
			c.tag = 1;
		if (q->op == JR_OP_REPLAY_DONE && c.slot)
			c.slot = 0;
		reply_fill(n, &c, op, res);
		ns_emit(n, &c);
	}
	act(ACT_FORGED);
}

/* A reply validation must reject; the socket it names fails with EIO. */
static void ns_malformed(struct ns *n, const struct jr_sqe *q)
{
	struct jr_cqe c = { .slot = q->op == JR_OP_REPLAY_DONE ? 0 : q->slot, .tag = q->tag };

	reply_fill(n, &c, q->op, 0);
	switch (rng_below(&n->rng, 9)) {
	case 0:
		c.flags |= 0x8000;
		break;
	case 1:
		c.flags |= JR_CQE_F_EVENT;
		break;
	case 2:
		c.res = (int)rng_range(&n->rng, 1, 1000);
		break;
	case 3:
		c.res = -4096 - (int)rng_below(&n->rng, 100000);
		break;
	case 4:
		c.slot_gen = rng_range(&n->rng, 1, 1000);
		break;
	case 5:
		c.tag = 0;
		break;
	case 6:
		if (jr_op_reply_has_addr(q->op))
			c.u.addr.family = AF_INET6;	/* not negotiated */
		else
			c.u.raw[39] = 0xff;
		break;
	case 7:
		if (jr_op_reply_has_addr(q->op))
			c.u.addr.addr[7] = 1;		/* beyond an IPv4 address */
		else
			c.u.raw[20] = 1;
		break;
	default:
		c.op = JR_OP_TX;			/* has no reply */
		break;
	}
	ns_emit(n, &c);
	act(ACT_MALFORMED);
}

static void ns_add_pend(struct ns *n, const struct jr_sqe *q, uint64_t due, uint8_t mode)
{
	struct ns_pend *p;

	if (n->npend >= NS_MAX_PEND) {
		ns_honest(n, q, true);
		return;
	}
	p = &n->pend[n->npend++];
	p->sqe = *q;
	p->due = due;
	p->mode = mode;
}

/* Answer one request that is due.  Returns false to keep it pending. */
static bool ns_answer(struct ns *n, struct ns_pend *p, uint64_t now)
{
	const struct jr_sqe *q = &p->sqe;

	if (q->op == JR_OP_ACCEPT && phase == PH_SETTLE) {
		/* Winding down: no more connections; the child slot is free. */
		struct jr_cqe c = { .op = JR_OP_ACCEPT, .slot = q->slot, .tag = q->tag,
				    .res = -ECONNABORTED };

		ns_emit(n, &c);
		return true;
	}
	switch (p->mode) {
	case M_WITHHOLD:
		act(ACT_WITHHELD);
		p->mode = M_HONEST;
		p->due = rng_permille(&n->rng, 300) ? UINT64_MAX :
			 now + rng_range(&n->rng, 300, 2500) * MS;
		return false;
	case M_ERROR:
	case M_WEIRD: {
		struct jr_cqe c = { .op = q->op, .slot = q->slot, .tag = q->tag };

		if (q->op == JR_OP_REPLAY_DONE)
			c.slot = 0;
		/* Kernel-internal values (ERESTARTSYS ...) are errnos too, for
		 * the validation rules. */
		c.res = p->mode == M_WEIRD ? -(int)rng_range(&n->rng, 134, 4095) :
					     -errno_for(&n->rng, q->op);
		ns_emit(n, &c);
		act(p->mode == M_WEIRD ? ACT_WEIRD_ERRNO : ACT_ERROR);
		if (q->op == JR_OP_CLOSE && q->slot_gen == n->slot[q->slot].gen)
			n->slot[q->slot].state = SS_FREE;
		return true;
	}
	case M_FORGED:
		ns_forged(n, q);
		ns_honest(n, q, true);
		return true;
	case M_DUP:
		ns_honest(n, q, true);
		ns_honest(n, q, false);
		act(ACT_DUP);
		return true;
	case M_STALE:
		ns_honest(n, q, false);
		act(ACT_DUP);
		return true;
	case M_MALFORMED:
		ns_malformed(n, q);
		if (rng_permille(&n->rng, 500)) {
			ns_honest(n, q, true);
			return true;
		}
		if (q->op != JR_OP_CLOSE && q->op != JR_OP_ACCEPT && q->op != JR_OP_REPLAY_DONE)
			return true;	/* the caller times out */
		/* Those wait for their reply for ever: it comes later. */
		p->mode = M_HONEST;
		p->due = now + 50 * MS;
		return false;
	case M_DELAY:
		act(ACT_DELAYED);
		ns_honest(n, q, true);
		return true;
	default:
		act(ACT_HONEST);
		ns_honest(n, q, true);
		if (hostile() && rng_permille(&n->rng, 30))
			/* A late duplicate, after the kernel moved on. */
			ns_add_pend(n, q, now + rng_range(&n->rng, 1, 300) * MS, M_STALE);
		return true;
	}
}

static uint8_t ns_pick_mode(struct ns *n, const struct jr_sqe *q)
{
	uint32_t r;

	if (!hostile() || !rng_permille(&n->rng, cfg.hostility))
		return rng_permille(&n->rng, 800) ? M_HONEST : M_DELAY;
	r = rng_below(&n->rng, 1000);
	if (q->flags & JR_SQE_F_REPLAY && rng_permille(&n->rng, 500))
		return M_HONEST;
	if (r < 200)
		return M_ERROR;
	if (r < 220)
		return M_WEIRD;
	if (r < 450)
		return M_FORGED;
	if (r < 650)
		return M_DUP;
	if (r < 780)
		return M_MALFORMED;
	return M_WITHHOLD;
}

/* A request from the kernel, read once into q. */
static void ns_request(struct ns *n, const struct jr_sqe *q, uint64_t now)
{
	struct ns_slot *s = NULL;
	uint64_t due = now;
	int err = jr_validate_sqe(q, &n->r.limits);

	if (err) {
		kernel_proto("bad SQE op %u flags %#x slot %u: %d", q->op, q->flags, q->slot, err);
		return;
	}
	if (jr_op_has_reply(q->op) && (q->tag >> 40) != n->epoch)
		kernel_proto("SQE op %u tag %#" PRIx64 " is not of epoch %" PRIu64,
			     q->op, (uint64_t)q->tag, n->epoch);
	else if (jr_op_has_reply(q->op) && (q->tag & TAG_CTR_MASK) > n->max_ctr)
		n->max_ctr = q->tag & TAG_CTR_MASK;

	if (q->op != JR_OP_REPLAY_DONE) {
		s = &n->slot[q->slot];
		if ((int32_t)(q->slot_gen - s->gen) > 0) {
			/* The kernel gave the slot to a new socket. */
			s->gen = q->slot_gen;
			s->state = SS_NEW;
			s->type = 0;
			s->rings_gen = 0;
			s->lie_until = 0;
			n->last_alloc = q->slot;
		}
	}
	switch (q->op) {
	case JR_OP_TX:
		if (q->slot_gen == s->gen)
			ns_tx(n, q->slot, true);
		return;
	case JR_OP_RX_SPACE:
		if (q->slot_gen == s->gen && rng_permille(&n->rng, 300)) {
			if (slot_rx_stream(s))
				ns_rx_stream(n, q->slot);
			else if (slot_rx_dgram(s))
				ns_rx_dgram(n, q->slot);
		}
		return;
	case JR_OP_SOCKET:
		if (q->slot_gen == s->gen)
			s->type = (uint8_t)q->u.socket.type;
		break;
	case JR_OP_ACCEPT:
		if (q->slot_gen == s->gen)
			s->type = SOCK_STREAM;
		/* A connection comes some time, or never. */
		due = rng_permille(&n->rng, 100) ? UINT64_MAX :
		      now + rng_range(&n->rng, 1, cfg.bench ? 60 : 300) * MS;
		break;
	case JR_OP_CONNECT:
		if (s->type == SOCK_STREAM && q->u.addr.family)
			due = now + rng_below(&n->rng, 80) * MS;
		break;
	case JR_OP_CLOSE:
		if (q->slot_gen == s->gen) {
			bool was_listening = s->state == SS_LISTEN;

			s->state = SS_CLOSING;
			/* Waiting ACCEPTs of a closed listener fail (the
			 * child slots are free again), as the netserver does. */
			for (unsigned int i = 0; was_listening && i < n->npend; i++) {
				struct ns_pend *p = &n->pend[i];

				if (p->sqe.op == JR_OP_ACCEPT &&
				    p->sqe.u.accept.listener_slot == q->slot &&
				    p->mode != M_STALE)
					p->due = now;
			}
		}
		due = now + rng_below(&n->rng, 5) * MS;
		break;
	}
	ns_add_pend(n, q, due, ns_pick_mode(n, q));
}

static bool ns_take(struct ns *n, uint64_t now)
{
	int ready = jr_ring_ready(&n->r.sq);

	if (ready < 0) {
		kernel_proto("SQ producer index out of range");
		return false;
	}
	if (ready > 256)
		ready = 256;
	for (int i = 0; i < ready; i++) {
		struct jr_sqe q;

		memcpy(&q, jr_ring_entry(&n->r.sq, n->r.sq.own), sizeof(q));
		jr_ring_consume(&n->r.sq, 1);
		ns_request(n, &q, now);
	}
	return ready > 0;
}

static bool ns_answer_due(struct ns *n, uint64_t now)
{
	bool any = false;

	for (unsigned int i = 0; i < n->npend && n->nout < NS_OUT_MAX - 8;) {
		struct ns_pend *p = &n->pend[i];

		if (p->due > now && !(phase == PH_SETTLE) &&
		    !(p->due == UINT64_MAX && phase == PH_CALM)) {
			i++;
			continue;
		}
		any = true;
		if (ns_answer(n, p, now))
			*p = n->pend[--n->npend];
		else
			i++;
	}
	return any;
}

/* ----------------------------------------------------- posting, kicking */

static void ns_kick(struct ns *n)
{
	track_begin(&n->track, "ioctl(JR_IOC_KICK)", n->r.fd);
	if (ioctl(n->r.fd, JR_IOC_KICK) < 0) {
		int err = errno;

		if (!n->cq_lying && atomic_fetch_add(&st.kick_errors, 1) < 5)
			say("kick failed although the CQ was honest: %s", strerror(err));
	}
	track_end(&n->track);
	atomic_fetch_add(&st.kicks, 1);
	n->cq_lying = false;
}

static bool ns_flush(struct ns *n)
{
	unsigned int i = 0;
	bool any = n->nout > 0;

	if (!any)
		return false;
	if (n->kick_late_us) {
		/* Forged replies wait in the CQ while requests arrive. */
		uint64_t until = now_ns() + n->kick_late_us * 1000ULL;
		uint32_t prod = jr_load_acquire(&n->r.sq.ctl->prod);

		while (now_ns() < until && jr_load_acquire(&n->r.sq.ctl->prod) == prod)
			sleep_ns(100000);
		n->kick_late_us = 0;
	}
	while (i < n->nout) {
		int err = jr_server_post(&n->r, &n->out[i]);

		if (err == -EAGAIN) {
			ns_kick(n);
			err = jr_server_post(&n->r, &n->out[i]);
		}
		if (err) {
			if (err != -EAGAIN)
				kernel_proto("CQ consumer index out of range (%d)", err);
			break;
		}
		n->hist[n->nhist++ % NS_HIST] = n->out[i];
		atomic_fetch_add_explicit(&st.entries, 1, memory_order_relaxed);
		i++;
	}
	/* What did not fit waits for the next turn. */
	memmove(n->out, n->out + i, (n->nout - i) * sizeof(n->out[0]));
	n->nout -= i;
	ns_kick(n);
	return true;
}

/* ---------------------------------------------------- unsolicited acts */

static void ns_random_event(struct ns *n)
{
	unsigned int before = n->nout;
	int slot;

	switch (rng_below(&n->rng, 10)) {
	case 0:
	case 1:
		slot = ns_pick_slot(n, slot_listener);
		if (slot >= 0)
			ns_event(n, (uint32_t)slot, JR_EV_ACCEPTABLE, (int)rng_below(&n->rng, 9));
		break;
	case 2:
		slot = ns_pick_slot(n, slot_rx_stream);
		if (slot >= 0 && rng_permille(&n->rng, 300)) {
			n->slot[slot].fin = true;
			ns_event(n, (uint32_t)slot, JR_EV_RX_FIN, 0);
		}
		break;
	case 3:
		slot = ns_pick_slot(n, slot_rx_stream);
		if (slot >= 0 && rng_permille(&n->rng, 200)) {
			static const int errs[] = { ECONNRESET, EPIPE, ETIMEDOUT };

			n->slot[slot].state = SS_NEW;
			ns_event(n, (uint32_t)slot, JR_EV_RESET,
				 -errs[rng_below(&n->rng, 3)]);
		}
		break;
	case 4:
		slot = ns_pick_slot(n, slot_rx_dgram);
		if (slot >= 0 && rng_permille(&n->rng, 300))
			ns_event(n, (uint32_t)slot, JR_EV_ERROR,
				 rng_permille(&n->rng, 500) ? -ECONNREFUSED : -EHOSTUNREACH);
		break;
	default:
		slot = ns_pick_slot(n, slot_open);
		if (slot >= 0)
			ns_event(n, (uint32_t)slot, JR_EV_TX_SPACE, 0);
		break;
	}
	if (n->nout != before)
		act(ACT_EVENT);
}

/* Replies for requests not posted yet: guess the tags that come next. */
static void ns_forge_ahead(struct ns *n, int count)
{
	for (int i = 0; i < count; i++) {
		struct jr_cqe c = { 0 };
		uint16_t op;
		int slot;

		c.tag = (n->epoch << 40) | ((n->max_ctr + rng_range(&n->rng, 1, 6)) & TAG_CTR_MASK);
		switch (rng_below(&n->rng, 10)) {
		case 0:
		case 1:
		case 2:
			/* The kernel allocates slots round-robin from its hint. */
			op = JR_OP_SOCKET;
			slot = (int)((n->last_alloc + rng_range(&n->rng, 1, 3)) & (n->nr_slots - 1));
			break;
		case 3:
		case 4:
			op = JR_OP_ACCEPT;
			slot = (int)((n->last_alloc + rng_range(&n->rng, 1, 3)) & (n->nr_slots - 1));
			break;
		default:
			op = random_reply_op(&n->rng);
			slot = ns_pick_slot(n, slot_open);
			if (slot < 0)
				slot = (int)rng_below(&n->rng, n->nr_slots);
			break;
		}
		c.slot = (uint32_t)slot;
		reply_fill(n, &c, op, rng_permille(&n->rng, 700) ? 0 : -errno_for(&n->rng, op));
		ns_emit(n, &c);
		act(ACT_FORGE_AHEAD);
	}
	n->kick_late_us = rng_range(&n->rng, 100, 3000);
}

static void ns_ring_lie(struct ns *n, uint64_t now)
{
	int slot = ns_pick_slot(n, slot_rings);
	struct jr_slot_ctl *ctl;
	struct ns_slot *s;
	uint32_t v;

	if (slot < 0)
		return;
	s = &n->slot[slot];
	ctl = &n->r.slots[slot];
	switch (rng_below(&n->rng, 4)) {
	case 0:		/* more than a ring ahead of the consumer */
		v = jr_load_acquire(&ctl->rx_cons) + n->rx_size + rng_range(&n->rng, 1, 100000);
		jr_store_release(&ctl->rx_prod, v);
		ns_event(n, (uint32_t)slot, JR_EV_RX, 0);
		break;
	case 1:		/* backwards */
		v = s->rx_prod - rng_range(&n->rng, 1, n->rx_size * 2);
		jr_store_release(&ctl->rx_prod, v);
		ns_event(n, (uint32_t)slot, JR_EV_RX, 0);
		break;
	case 2:		/* consumed what was never produced */
		v = jr_load_acquire(&ctl->tx_prod) + rng_range(&n->rng, 1, 2 * n->tx_size);
		jr_store_release(&ctl->tx_cons, v);
		ns_event(n, (uint32_t)slot, JR_EV_TX_SPACE, 0);
		break;
	default:	/* backwards */
		v = s->tx_cons - rng_range(&n->rng, 1, 2 * n->tx_size);
		jr_store_release(&ctl->tx_cons, v);
		ns_event(n, (uint32_t)slot, JR_EV_TX_SPACE, 0);
		break;
	}
	s->lie_until = now + rng_range(&n->rng, 5, 300) * MS;
	act(ACT_RING_LIE);
}

/* A datagram header in the receive ring that lies (abi.md: EMSGSIZE ...). */
static void ns_dgram_lie(struct ns *n)
{
	int slot = ns_pick_slot(n, slot_rx_dgram);
	struct jr_dgram_hdr h = { 0 };
	struct ns_slot *s;
	struct jr_slot_ctl *ctl;
	uint32_t size = n->rx_size, fill, pos, adv = sizeof(h) + 64;
	unsigned char *ring;

	if (slot < 0)
		return;
	s = &n->slot[slot];
	ctl = &n->r.slots[slot];
	ring = jr_slot_rx(&n->r, (uint32_t)slot);
	fill = s->rx_prod - jr_load_acquire(&ctl->rx_cons);
	pos = s->rx_prod + jr_dgram_skip(s->rx_prod, size);
	if (fill > size || size - fill < 2 * adv || size - (pos & (size - 1)) < adv)
		return;
	h.len = 64;
	switch (rng_below(&n->rng, 8)) {
	case 0:
		h.len = rng_range(&n->rng, 65, 60000);		/* past the fill */
		break;
	case 1:
		h.flags = JR_DGRAM_F_PAD;			/* filler mid-ring */
		break;
	case 2:
		h.flags = 1U << rng_range(&n->rng, 2, 31);	/* unknown flag */
		break;
	case 3:
		h.pad = rng_range(&n->rng, 1, 1000);
		break;
	case 4:
		h.flags = JR_DGRAM_F_TRUNC;
		h.orig_len = rng_below(&n->rng, 65);		/* not longer */
		break;
	case 5:
		h.len = rng_range(&n->rng, JR_DGRAM_MAX + 1, UINT32_MAX);
		break;
	case 6:
		h.addr.family = (uint16_t)rng_range(&n->rng, 11, 65535);
		break;
	default:
		adv = 4;					/* misaligned */
		break;
	}
	memcpy(ring + (pos & (size - 1)), &h, sizeof(h));
	s->rx_prod = pos + adv;
	s->rx_bad = true;
	jr_store_release(&ctl->rx_prod, s->rx_prod);
	ns_event(n, (uint32_t)slot, JR_EV_RX, 0);
	act(ACT_DGRAM_LIE);
}

static void ns_hostile_entry(struct ns *n, uint64_t now)
{
	struct jr_cqe c = { 0 };
	int slot;

	switch (rng_below(&n->rng, 10)) {
	case 0:
	case 1:
		ns_forge_ahead(n, (int)rng_range(&n->rng, 1, 3));
		break;
	case 2:
		if (n->nhist) {
			/* An old entry again: stale replies, old generations. */
			c = n->hist[rng_below(&n->rng, n->nhist < NS_HIST ? (uint32_t)n->nhist : NS_HIST)];
			ns_emit(n, &c);
			act(ACT_OLD_CQE);
		}
		break;
	case 3:
		slot = ns_pick_slot(n, slot_open);
		if (slot < 0)
			break;
		c.op = (uint16_t)(JR_EV_RX + rng_below(&n->rng, JR_EV_NR - JR_EV_FIRST));
		c.flags = JR_CQE_F_EVENT;
		c.slot = (uint32_t)slot;
		if (rng_permille(&n->rng, 500))
			c.slot_gen = n->slot[slot].gen + rng_range(&n->rng, 1, 3);
		else
			c.slot_gen = n->slot[slot].gen - rng_range(&n->rng, 1, 3);
		c.res = c.op == JR_EV_RESET || c.op == JR_EV_ERROR ? -ECONNRESET : 0;
		ns_emit(n, &c);
		act(ACT_WRONG_GEN);
		break;
	case 4:
		/* Nobody holds the slot, or it does not exist. */
		slot = ns_pick_slot(n, slot_free);
		c.slot = rng_permille(&n->rng, 300) && slot >= 0 ? (uint32_t)slot :
			 rng_permille(&n->rng, 500) ? n->nr_slots + rng_below(&n->rng, 1000) :
						     UINT32_MAX - rng_below(&n->rng, 16);
		if (rng_permille(&n->rng, 500)) {
			c.op = JR_EV_RESET;
			c.flags = JR_CQE_F_EVENT;
			c.res = -ECONNRESET;
			c.slot_gen = rng_next(&n->rng) & 0xffff;
		} else {
			c.tag = (n->epoch << 40) | rng_below(&n->rng, (uint32_t)n->max_ctr + 10);
			reply_fill(n, &c, random_reply_op(&n->rng), 0);
		}
		ns_emit(n, &c);
		act(ACT_NO_SLOT);
		break;
	case 5:
		for (size_t i = 0; i < sizeof(c); i += 8) {
			uint64_t v = rng_next(&n->rng);

			memcpy((unsigned char *)&c + i, &v, 8);
		}
		if (rng_permille(&n->rng, 500))
			c.slot %= n->nr_slots;	/* mostly rejected, but nearer */
		ns_emit(n, &c);
		act(ACT_RANDOM);
		break;
	case 6:
		slot = ns_pick_slot(n, slot_open);
		if (slot < 0)
			break;
		c.flags = JR_CQE_F_EVENT;
		c.slot = (uint32_t)slot;
		c.slot_gen = n->slot[slot].gen;
		switch (rng_below(&n->rng, 4)) {
		case 0:
			c.op = JR_EV_RX;
			c.res = (int)rng_range(&n->rng, 1, 100);
			break;
		case 1:
			c.op = JR_EV_RESET;
			c.res = 0;			/* a reset needs an errno */
			break;
		case 2:
			c.op = JR_EV_TX_SPACE;
			c.tag = rng_next(&n->rng) | 1;	/* events carry no tag */
			break;
		default:
			c.op = JR_EV_ACCEPTABLE;
			c.u.raw[rng_below(&n->rng, 40)] = 1;
			break;
		}
		ns_emit(n, &c);
		act(ACT_BAD_EVENT);
		break;
	case 7:
		ns_ring_lie(n, now);
		break;
	case 8:
		ns_dgram_lie(n);
		break;
	default:
		/* A reply from the previous attach: its epoch in the tag. */
		slot = ns_pick_slot(n, slot_open);
		if (slot < 0 || n->epoch < 2)
			break;
		c.slot = (uint32_t)slot;
		c.tag = ((n->epoch - 1) << 40) | rng_below(&n->rng, 1000);
		reply_fill(n, &c, random_reply_op(&n->rng), 0);
		ns_emit(n, &c);
		act(ACT_FORGED);
		break;
	}
}

static void ns_unsolicited(struct ns *n, uint64_t now)
{
	uint32_t count = rng_below(&n->rng, cfg.burst + 1);

	for (uint32_t i = 0; i < count; i++) {
		int slot;

		if (hostile() && rng_permille(&n->rng, cfg.hostility)) {
			ns_hostile_entry(n, now);
			continue;
		}
		switch (rng_below(&n->rng, 10)) {
		case 0:
		case 1:
		case 2:
			slot = ns_pick_slot(n, slot_rx_stream);
			if (slot >= 0)
				ns_rx_stream(n, (uint32_t)slot);
			break;
		case 3:
		case 4:
		case 5:
			slot = ns_pick_slot(n, slot_rx_dgram);
			if (slot >= 0)
				ns_rx_dgram(n, (uint32_t)slot);
			break;
		default:
			ns_random_event(n);
			break;
		}
	}
}

/* ------------------------------------------------- attaching, episodes */

static void ns_reset_view(struct ns *n)
{
	memset(n->slot, 0, sizeof(n->slot));
	n->npend = 0;
	n->nout = 0;
	n->nhist = 0;
	n->max_ctr = 0;
	n->last_alloc = 0;
	n->kick_late_us = 0;
	n->cq_lying = false;
}

static int ns_attach(struct ns *n, bool recover)
{
	static const uint32_t slots[] = { 64, 128, 256 };
	struct jr_attach req;
	int err;

	jr_attach_defaults(&req);
	req.flags = recover ? JR_ATTACH_F_RECOVER : 0;
	req.sq_entries = cfg.sq_entries;
	req.cq_entries = cfg.cq_entries;
	req.nr_slots = cfg.nr_slots ? cfg.nr_slots : slots[rng_below(&n->rng, 3)];
	req.rx_buf_size = req.tx_buf_size = rng_permille(&n->rng, 800) ? 16384 : 4096;
	track_begin(&n->track, "attach", -1);
	err = jr_attach_kernel(NULL, &req, &n->r);
	track_end(&n->track);
	if (err)
		return err;
	ns_reset_view(n);
	n->attached = true;
	n->epoch = req.epoch;
	n->nr_slots = req.nr_slots;
	n->rx_size = req.rx_buf_size;
	n->tx_size = req.tx_buf_size;
	ns_attached = true;
	act(recover ? ACT_ATTACH_RECOVER : ACT_ATTACH_PLAIN);
	verbose("attached: epoch %" PRIu64 ", %u slots, %u-byte rings%s", n->epoch,
		n->nr_slots, n->rx_size,
		req.flags & JR_ATTACH_F_RECOVERING ? ", replay follows" : "");
	return 0;
}

/* The netserver goes away: munmap and close, whatever is in flight. */
static void ns_detach(struct ns *n)
{
	ns_publish_stats(n);
	track_begin(&n->track, "detach: close(/dev/joyride)", n->r.fd);
	jr_region_destroy(&n->r);
	track_end(&n->track);
	n->attached = false;
	ns_attached = false;
	ns_reset_view(n);
	act(ACT_DETACH);
}

static void ns_start_detach(struct ns *n, uint64_t now)
{
	uint32_t r = rng_below(&n->rng, 100);

	ns_detach(n);
	n->ep = EP_DETACHED;
	/* Mostly at once (calls in flight meet the replay), sometimes after
	 * the recovery timeout (calls waiting for the netserver give up). */
	n->reattach_at = now + (r < 70 ? rng_below(&n->rng, 30) :
				r < 90 ? rng_range(&n->rng, 30, 250) :
				cfg.recovery_timeout_ms + rng_below(&n->rng, 300)) * MS;
	n->recover_next = rng_permille(&n->rng, cfg.recover);
	n->ep_end = n->reattach_at;
}

static void ns_end_sq_lie(struct ns *n)
{
	jr_store_release(&n->r.sq.ctl->cons, n->r.sq.own);
}

/* The CQ producer index lies for one kick. */
static void ns_cq_lie(struct ns *n)
{
	struct jr_ring *cq = &n->r.cq;
	uint32_t k;

	ns_flush(n);
	switch (rng_below(&n->rng, 3)) {
	case 0:		/* more than the ring holds */
		jr_store_release(&cq->ctl->prod, cq->own + cq->nr + rng_range(&n->rng, 1, 100000));
		n->cq_lying = true;
		ns_kick(n);
		break;
	case 1:		/* behind the consumer */
		jr_store_release(&cq->ctl->prod, cq->own - rng_range(&n->rng, 1, cq->nr));
		n->cq_lying = true;
		ns_kick(n);
		break;
	default:	/* entries of the last lap published again */
		k = rng_range(&n->rng, 1, cq->nr);
		cq->own += k;
		jr_store_release(&cq->ctl->prod, cq->own);
		atomic_fetch_add(&st.entries, k);
		ns_kick(n);
		/* The kernel took them all: our view of its index follows. */
		cq->peer = jr_load_acquire(&cq->ctl->cons);
		if (cq->own - cq->peer > cq->nr) {
			kernel_proto("CQ consumer index %u out of range after a kick (prod %u)",
				     cq->peer, cq->own);
			cq->peer = cq->own - cq->nr;
		}
		act(ACT_CQ_REPLAY);
		return;
	}
	jr_store_release(&cq->ctl->prod, cq->own);
	act(ACT_CQ_LIE);
}

static void ns_flood(struct ns *n)
{
	uint32_t count = rng_range(&n->rng, n->r.cq.nr / 2, n->r.cq.nr);

	for (uint32_t i = 0; i < count; i++) {
		struct jr_cqe c;

		for (size_t j = 0; j < sizeof(c); j += 8) {
			uint64_t v = rng_next(&n->rng);

			memcpy((unsigned char *)&c + j, &v, 8);
		}
		if (rng_permille(&n->rng, 700))
			c.slot %= n->nr_slots;
		ns_emit(n, &c);
	}
	act(ACT_FLOOD);
}

static void ns_episode_end(struct ns *n, uint64_t now)
{
	int ep = n->ep;

	n->ep = EP_NONE;
	ns_episode = "none";
	if (ep == EP_SQ_LIE)
		ns_end_sq_lie(n);
	n->next_ep = now + (cfg.bench ? rng_range(&n->rng, 300, 2500) :
					rng_range(&n->rng, 150, 1200)) * MS;
	if (n->ep_then_detach && hostile()) {
		/* Calls blocked on a full SQ or ring meet the netserver's end. */
		n->ep_then_detach = false;
		ns_start_detach(n, now);
		ns_episode = "detached";
	}
	n->ep_then_detach = false;
}

static void ns_episodes(struct ns *n, uint64_t now)
{
	uint32_t r, long_stall = cfg.long_stall >= 0 ? (uint32_t)cfg.long_stall : cfg.bench ? 16 : 100;

	if (n->ep != EP_NONE) {
		if (now >= n->ep_end && n->ep != EP_DETACHED)
			ns_episode_end(n, now);
		return;
	}
	if (now < n->next_ep)
		return;
	r = rng_below(&n->rng, 1000);
	if (r < 150) {
		n->ep = EP_SILENCE;
		n->ep_end = now + (cfg.request_timeout_ms + rng_range(&n->rng, 20, 300)) * MS;
		act(ACT_SILENCE);
	} else if (r < 400 && rng_permille(&n->rng, long_stall)) {
		/* Longer than any call may take: a kernel that waits for SQ
		 * room without a bound shows up as a stuck call. */
		n->ep = EP_SQ_STALL;
		n->ep_end = now + (cfg.stuck_ms + 1500) * MS;
		n->ep_then_detach = rng_permille(&n->rng, 300);
		act(ACT_SQ_STALL_LONG);
	} else if (r < 400) {
		n->ep = EP_SQ_STALL;
		n->ep_end = now + rng_range(&n->rng, 20, 400) * MS;
		n->ep_then_detach = rng_permille(&n->rng, 350);
		act(ACT_SQ_STALL);
	} else if (r < 480) {
		struct jr_ring *sq = &n->r.sq;
		uint32_t prod = jr_load_acquire(&sq->ctl->prod);

		n->ep = EP_SQ_LIE;
		n->ep_end = now + rng_range(&n->rng, 20, 300) * MS;
		jr_store_release(&sq->ctl->cons, rng_permille(&n->rng, 500) ?
				 prod + rng_range(&n->rng, 1, sq->nr) :
				 sq->own - rng_range(&n->rng, 1, 2 * sq->nr));
		act(ACT_SQ_LIE);
	} else if (r < 580) {
		ns_cq_lie(n);
	} else if (r < 640) {
		ns_flood(n);
	} else if (r < 720) {
		ns_forge_ahead(n, (int)rng_range(&n->rng, 8, 32));
	} else if (r < 850) {
		n->ep = EP_TX_STALL;
		n->ep_end = now + rng_range(&n->rng, 50, 800) * MS;
		n->ep_then_detach = rng_permille(&n->rng, 400);
		act(ACT_TX_STALL);
	} else {
		ns_start_detach(n, now);
	}
	ns_episode = ep_names[n->ep];
	if (n->ep == EP_NONE)
		n->next_ep = now + (cfg.bench ? rng_range(&n->rng, 300, 2500) :
						rng_range(&n->rng, 150, 1200)) * MS;
	verbose("%.2f s: episode %s", elapsed_s(), ep_names[n->ep]);
}

/* Calm down: every lie is taken back, every episode ends. */
static void ns_calm(struct ns *n, uint64_t now)
{
	if (n->ep == EP_SQ_LIE)
		ns_end_sq_lie(n);
	if (n->ep != EP_NONE && n->ep != EP_DETACHED) {
		n->ep = EP_NONE;
		ns_episode = "none";
	}
	n->ep_then_detach = false;
	if (n->ep == EP_DETACHED)
		n->reattach_at = now;
}

static void ns_idle(struct ns *n, uint64_t now)
{
	struct timespec ts = { .tv_nsec = 1000000 };
	struct pollfd pfd = { .fd = n->r.sq_eventfd, .events = POLLIN };
	uint64_t buf;

	(void)now;
	if (n->ep == EP_SQ_STALL || n->ep == EP_SQ_LIE || n->ep == EP_SILENCE) {
		sleep_ns(MS);
		return;
	}
	if (jr_ring_prepare_sleep(&n->r.sq)) {
		jr_ring_finish_sleep(&n->r.sq);
		return;
	}
	if (ppoll(&pfd, 1, &ts, NULL) > 0 && read(n->r.sq_eventfd, &buf, sizeof(buf)) < 0) {
		/* EAGAIN: someone else read it */
	}
	jr_ring_finish_sleep(&n->r.sq);
}

static void *ns_main(void *arg)
{
	struct ns *n = arg;

	track_register(&n->track, "netserver");
	while (phase != PH_STOP) {
		uint64_t now = now_ns();
		bool busy = false;

		if (!n->attached) {
			if (now < n->reattach_at && phase == PH_RUN) {
				sleep_ns(MS);
				continue;
			}
			if (ns_attach(n, phase == PH_RUN ? n->recover_next : cfg.recover > 0)) {
				sleep_ns(10 * MS);
				continue;
			}
			if (n->ep == EP_DETACHED) {
				n->ep = EP_NONE;
				ns_episode = "none";
				n->next_ep = now + rng_range(&n->rng, 50, 500) * MS;
			}
		}
		if (hostile())
			ns_episodes(n, now);
		else
			ns_calm(n, now);
		if (!n->attached)
			continue;
		if (n->ep != EP_SQ_STALL && n->ep != EP_SQ_LIE)
			busy |= ns_take(n, now);
		if (n->ep != EP_SILENCE) {
			busy |= ns_answer_due(n, now);
			if (phase != PH_SETTLE)
				ns_unsolicited(n, now);
			if (now >= n->next_scan || phase == PH_SETTLE) {
				ns_scan(n, now);
				n->next_scan = now + 10 * MS;
			}
			busy |= ns_flush(n);
		}
		ns_publish_stats(n);
		if (!busy && !n->npend && jr_ring_ready(&n->r.sq) == 0) {
			if (!n->quiet_since)
				n->quiet_since = now;
			ns_quiet_ms = (now - n->quiet_since) / MS;
		} else {
			n->quiet_since = 0;
			ns_quiet_ms = 0;
		}
		if (!busy)
			ns_idle(n, now);
	}
	if (n->attached)
		ns_detach(n);
	return NULL;
}

/* ========================================================= applications */

#define APP_SOCKS	32

struct app_sock {
	pthread_rwlock_t	lock;	/* read: a call; write: create or close */
	int			fd;
	int			type;
	int			family;
};

static struct app_sock socks[APP_SOCKS];

struct app {
	pthread_t	thread;
	int		id;
	struct rng	rng;
	struct track	track;
	unsigned char	buf[65536];
};

static void check_errno(struct app *a, const char *call, int err)
{
	atomic_fetch_add_explicit(&st.call_errors, 1, memory_order_relaxed);
	/* Anything from EPERM to EHWPOISON; never a kernel-internal value. */
	if (err >= 1 && err <= 133)
		return;
	if (atomic_fetch_add(&st.implausible, 1) < 20)
		say("implausible errno %d from %s on thread %d (seed %" PRIu64 ")",
		    err, call, a->id, cfg.seed);
}

/* Run one call, tracked by the watchdog; errno checked if it failed. */
#define CALL(a, name, fd, expr)						\
({									\
	long __ret;							\
	track_begin(&(a)->track, name, fd);				\
	__ret = (long)(expr);						\
	track_end(&(a)->track);						\
	atomic_fetch_add_explicit(&st.calls, 1, memory_order_relaxed);	\
	if (__ret < 0)							\
		check_errno(a, name, errno);				\
	__ret;								\
})

static void set_timeouts(struct app *a, int fd)
{
	struct timeval tv = { .tv_usec = (suseconds_t)rng_range(&a->rng, 5, 300) * 1000 };

	CALL(a, "setsockopt(SO_RCVTIMEO)", fd,
	     setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	tv.tv_usec = (suseconds_t)rng_range(&a->rng, 5, 300) * 1000;
	CALL(a, "setsockopt(SO_SNDTIMEO)", fd,
	     setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)));
}

static void random_sin(struct app *a, struct sockaddr_in *sin, bool for_bind)
{
	static const uint32_t peers[] = { IP_PEER, IP_SELF, 0x7f000001 };

	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	if (for_bind) {
		sin->sin_addr.s_addr = rng_permille(&a->rng, 500) ? htonl(IP_SELF) : htonl(INADDR_ANY);
		sin->sin_port = rng_permille(&a->rng, 300) ? 0 :
				htons((uint16_t)rng_range(&a->rng, 40000, 40015));
	} else {
		sin->sin_addr.s_addr = htonl(peers[rng_below(&a->rng, 3)]);
		sin->sin_port = htons(rng_permille(&a->rng, 500) ? 80 :
				      (uint16_t)rng_range(&a->rng, 1, 65535));
	}
}

/* Put a new descriptor in an empty entry, or close it. */
static void app_adopt(struct app *a, int fd, int type, int family)
{
	for (int i = 0; i < 4; i++) {
		struct app_sock *s = &socks[rng_below(&a->rng, APP_SOCKS)];

		if (pthread_rwlock_trywrlock(&s->lock))
			continue;
		if (s->fd < 0) {
			s->fd = fd;
			s->type = type;
			s->family = family;
			pthread_rwlock_unlock(&s->lock);
			return;
		}
		pthread_rwlock_unlock(&s->lock);
	}
	CALL(a, "close(accepted)", fd, close(fd));
}

/* Under the entry's write lock. */
static void app_create(struct app *a, struct app_sock *s)
{
	int type = rng_permille(&a->rng, 550) ? SOCK_STREAM : SOCK_DGRAM;
	int family = rng_permille(&a->rng, 650) ? AF_JOYRIDE : AF_INET;
	int flags = SOCK_CLOEXEC | (rng_permille(&a->rng, 250) ? SOCK_NONBLOCK : 0);
	int fd;

	fd = (int)CALL(a, family == AF_JOYRIDE ? "socket(AF_JOYRIDE)" : "socket(AF_INET)", -1,
		       socket(family, type | flags, 0));
	if (fd < 0)
		return;
	set_timeouts(a, fd);
	s->fd = fd;
	s->type = type;
	s->family = family;
}

/* Under the entry's write lock. */
static void app_close(struct app *a, struct app_sock *s, bool abort)
{
	if (abort) {
		struct linger l = { .l_onoff = 1, .l_linger = 0 };

		CALL(a, "setsockopt(SO_LINGER 0)", s->fd,
		     setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)));
	}
	CALL(a, abort ? "close(linger 0)" : "close", s->fd, close(s->fd));
	s->fd = -1;
}

static void app_proc_read(struct app *a)
{
	int fd = (int)CALL(a, "open(/proc/net/joyride)", -1, open(PROC_SOCKETS, O_RDONLY | O_CLOEXEC));

	if (fd < 0)
		return;
	while (CALL(a, "read(/proc/net/joyride)", fd, read(fd, a->buf, sizeof(a->buf))) > 0)
		;
	close(fd);
}

/* One call on an entry the caller holds for reading. */
static void app_call(struct app *a, struct app_sock *s)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	struct pollfd pfd;
	int fd = s->fd, v, r = (int)rng_below(&a->rng, 84);
	size_t n;

	if (r < 7) {
		random_sin(a, &sin, true);
		CALL(a, "bind", fd, bind(fd, (struct sockaddr *)&sin, sizeof(sin)));
	} else if (r < 12) {
		CALL(a, "listen", fd, listen(fd, (int)rng_below(&a->rng, 17)));
	} else if (r < 19) {
		int nfd = (int)CALL(a, "accept4", fd,
				    accept4(fd, (struct sockaddr *)&sin, &len,
					    SOCK_CLOEXEC | (rng_permille(&a->rng, 300) ? SOCK_NONBLOCK : 0)));

		if (nfd >= 0) {
			set_timeouts(a, nfd);
			app_adopt(a, nfd, SOCK_STREAM, s->family);
		}
	} else if (r < 27) {
		if (rng_permille(&a->rng, 100)) {
			memset(&sin, 0, sizeof(sin));
			sin.sin_family = AF_UNSPEC;
		} else {
			random_sin(a, &sin, false);
		}
		CALL(a, "connect", fd, connect(fd, (struct sockaddr *)&sin, sizeof(sin)));
	} else if (r < 41) {
		int flags = MSG_NOSIGNAL | (rng_permille(&a->rng, 400) ? MSG_DONTWAIT : 0);

		n = rng_permille(&a->rng, 600) ? rng_range(&a->rng, 1, 1400) :
		    rng_permille(&a->rng, 950) ? rng_range(&a->rng, 1, 20000) :
						 rng_range(&a->rng, 60000, 65536);
		if (s->type == SOCK_DGRAM && rng_permille(&a->rng, 600)) {
			random_sin(a, &sin, false);
			CALL(a, "sendto", fd, sendto(fd, payload, n, flags,
						     (struct sockaddr *)&sin, sizeof(sin)));
		} else {
			CALL(a, "send", fd, send(fd, payload, n, flags));
		}
	} else if (r < 56) {
		int flags = rng_permille(&a->rng, 400) ? MSG_DONTWAIT : 0;

		if (rng_permille(&a->rng, 100))
			flags |= MSG_PEEK;
		if (rng_permille(&a->rng, 80))
			flags |= s->type == SOCK_STREAM ? MSG_WAITALL : MSG_TRUNC;
		n = rng_permille(&a->rng, 500) ? rng_range(&a->rng, 1, 2000) :
						 rng_range(&a->rng, 1, sizeof(a->buf));
		if (flags & MSG_WAITALL)
			n = rng_range(&a->rng, 1, 4096);
		CALL(a, "recvfrom", fd, recvfrom(fd, a->buf, n, flags, (struct sockaddr *)&sin, &len));
	} else if (r < 62) {
		pfd.fd = fd;
		pfd.events = POLLIN | POLLOUT | POLLRDHUP;
		CALL(a, "poll", fd, poll(&pfd, 1, (int)rng_below(&a->rng, 30)));
	} else if (r < 65) {
		CALL(a, "shutdown", fd, shutdown(fd, (int)rng_below(&a->rng, 3)));
	} else if (r < 72) {
		struct linger l = { .l_onoff = (int)rng_below(&a->rng, 2),
				    .l_linger = (int)rng_below(&a->rng, 2) };

		v = (int)rng_below(&a->rng, 2);
		switch (rng_below(&a->rng, 5)) {
		case 0:
			CALL(a, "setsockopt(TCP_NODELAY)", fd,
			     setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, sizeof(v)));
			break;
		case 1:
			CALL(a, "setsockopt(SO_KEEPALIVE)", fd,
			     setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof(v)));
			break;
		case 2:
			CALL(a, "setsockopt(SO_REUSEADDR)", fd,
			     setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &v, sizeof(v)));
			break;
		case 3:
			CALL(a, "setsockopt(SO_LINGER)", fd,
			     setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)));
			break;
		default:
			v = (int)rng_range(&a->rng, 1, 10);
			CALL(a, "setsockopt(TCP_KEEPIDLE)", fd,
			     setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &v, sizeof(v)));
			break;
		}
	} else if (r < 75) {
		socklen_t vl = sizeof(v);

		if (rng_permille(&a->rng, 500))
			CALL(a, "getsockopt(TCP_NODELAY)", fd,
			     getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &vl));
		else
			CALL(a, "getsockopt(SO_ERROR)", fd,
			     getsockopt(fd, SOL_SOCKET, SO_ERROR, &v, &vl));
	} else if (r < 79) {
		if (rng_permille(&a->rng, 500))
			CALL(a, "getsockname", fd, getsockname(fd, (struct sockaddr *)&sin, &len));
		else
			CALL(a, "getpeername", fd, getpeername(fd, (struct sockaddr *)&sin, &len));
	} else if (r < 81) {
		CALL(a, "ioctl(FIONREAD/TIOCOUTQ)", fd,
		     ioctl(fd, rng_permille(&a->rng, 500) ? FIONREAD : TIOCOUTQ, &v));
	} else if (r < 83) {
		int fl = (int)CALL(a, "fcntl(F_GETFL)", fd, fcntl(fd, F_GETFL));

		if (fl >= 0)
			CALL(a, "fcntl(F_SETFL)", fd, fcntl(fd, F_SETFL, fl ^ O_NONBLOCK));
	} else {
		app_proc_read(a);
	}
}

static void app_step(struct app *a)
{
	struct app_sock *s = &socks[rng_below(&a->rng, APP_SOCKS)];
	uint32_t r = rng_below(&a->rng, 100);

	if (r < 12) {
		/* Create in an empty entry, or close a full one. */
		if (pthread_rwlock_trywrlock(&s->lock))
			return;
		if (s->fd < 0)
			app_create(a, s);
		else if (r < 10)
			app_close(a, s, r < 3);
		pthread_rwlock_unlock(&s->lock);
		return;
	}
	if (pthread_rwlock_tryrdlock(&s->lock))
		return;
	if (s->fd >= 0)
		app_call(a, s);
	pthread_rwlock_unlock(&s->lock);
}

static void *app_main(void *arg)
{
	struct app *a = arg;
	char name[24];

	snprintf(name, sizeof(name), "app %d", a->id);
	track_register(&a->track, name);
	while (!apps_stop)
		app_step(a);
	return NULL;
}

/* Turns the AF_INET redirect on and off while applications make sockets. */
static void *redirect_main(void *arg)
{
	struct app *a = arg;
	bool on = false;

	track_register(&a->track, "redirect");
	while (!apps_stop && !cfg.no_redirect) {
		int err;

		sleep_ns(rng_range(&a->rng, 20, 300) * MS);
		on = !on;
		track_begin(&a->track, on ? "redirect_inet=1" : "redirect_inet=0", -1);
		err = sysctl_write(SYSCTL_DIR "redirect_inet", on ? "1" : "0");
		track_end(&a->track);
		if (err) {
			say("cannot toggle redirect_inet (%s): no redirect this run", strerror(-err));
			break;
		}
		act(ACT_REDIRECT_TOGGLE);
	}
	if (!cfg.no_redirect)
		sysctl_write(SYSCTL_DIR "redirect_inet", "0");
	return NULL;
}

/* ================================================================= main */

static void usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s [--seed N] [--entries N] [--seconds S] [--threads N] [--bench]\n"
		"          [--stuck-ms MS] [--request-timeout-ms MS] [--hostility PERMILLE]\n"
		"          [--burst N] [--recover PERMILLE] [--long-stall PERMILLE]\n"
		"          [--sq N] [--cq N] [--slots N] [--no-redirect]\n"
		"          [--verbose]\n", argv0);
	exit(2);
}

static void parse_args(int argc, char **argv)
{
	bool seeded = false, burst_set = false, cq_set = false;

	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		unsigned long long v;
		char *end;

		if (!strcmp(o, "--bench")) {
			cfg.bench = true;
			continue;
		}
		if (!strcmp(o, "--no-redirect")) {
			cfg.no_redirect = true;
			continue;
		}
		if (!strcmp(o, "--verbose") || !strcmp(o, "-v")) {
			cfg.verbose = true;
			continue;
		}
		if (i + 1 >= argc)
			usage(argv[0]);
		errno = 0;
		v = strtoull(argv[++i], &end, 0);
		if (errno || *end)
			usage(argv[0]);
		if (!strcmp(o, "--seed")) {
			cfg.seed = v;
			seeded = true;
		} else if (!strcmp(o, "--entries")) {
			cfg.entries = v;
		} else if (!strcmp(o, "--seconds")) {
			cfg.seconds = (unsigned int)v;
		} else if (!strcmp(o, "--threads")) {
			cfg.threads = (unsigned int)v;
		} else if (!strcmp(o, "--stuck-ms")) {
			cfg.stuck_ms = (unsigned int)v;
		} else if (!strcmp(o, "--request-timeout-ms")) {
			cfg.request_timeout_ms = (unsigned int)v;
		} else if (!strcmp(o, "--hostility")) {
			cfg.hostility = (unsigned int)v;
		} else if (!strcmp(o, "--long-stall")) {
			cfg.long_stall = (int)(v > 1000 ? 1000 : v);
		} else if (!strcmp(o, "--recover")) {
			cfg.recover = (unsigned int)v;
		} else if (!strcmp(o, "--burst")) {
			cfg.burst = (unsigned int)v;
			burst_set = true;
		} else if (!strcmp(o, "--sq")) {
			cfg.sq_entries = (unsigned int)v;
		} else if (!strcmp(o, "--cq")) {
			cfg.cq_entries = (unsigned int)v;
			cq_set = true;
		} else if (!strcmp(o, "--slots")) {
			cfg.nr_slots = (unsigned int)v;
		} else {
			usage(argv[0]);
		}
	}
	if (!seeded) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		cfg.seed = ((uint64_t)ts.tv_sec * 1000003ULL) ^ (uint64_t)ts.tv_nsec ^
			   ((uint64_t)getpid() << 20);
		cfg.seed %= 1000000000ULL;
	}
	/* Bench: bigger batches per kick, so that 10^6 entries fit in
	 * minutes under TCG (the waiting episodes are rarer too). */
	if (cfg.bench && !burst_set)
		cfg.burst = 24;
	if (cfg.bench && !cq_set)
		cfg.cq_entries = 256;
	if (cfg.threads < 1 || cfg.threads > MAX_TRACKS - 4)
		cfg.threads = 6;
	if (cfg.nr_slots > NS_MAX_SLOTS)
		cfg.nr_slots = NS_MAX_SLOTS;
	if (cfg.hostility > 1000)
		cfg.hostility = 1000;
}

static void print_acts(void)
{
	char line[1024];
	size_t off = 0;

	for (int i = 0; i < ACT_NR; i++) {
		uint64_t v = st.acts[i];

		if (!v)
			continue;
		off += (size_t)snprintf(line + off, sizeof(line) - off, "%s%s %" PRIu64,
					off ? ", " : "", act_names[i], v);
		if (off >= sizeof(line) - 64) {
			say("acts: %s", line);
			off = 0;
		}
	}
	if (off)
		say("acts: %s", line);
}

int main(int argc, char **argv)
{
	struct app *apps, *redirect;
	pthread_t ns_thread, wd_thread;
	struct track main_track = { 0 };
	struct timespec deadline;
	uint64_t last_progress, leaked, settle_start;
	int sockets_before, sockets_after, sockets_baseline, stuck_threads = 0;
	bool settled = false, ns_joined = true;
	char marker[128];
	struct rng seeder;

	parse_args(argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (access(JR_DEVICE_PATH, R_OK | W_OK)) {
		printf("skipped: %s: %s (needs joyride.ko and no netserver)\n",
		       JR_DEVICE_PATH, strerror(errno));
		return SKIP_STATUS;
	}
	start_ns = now_ns();
	say("seed %" PRIu64 " (repeat: %s --seed %" PRIu64 " --entries %" PRIu64 " --seconds %u%s)",
	    cfg.seed, argv[0], cfg.seed, cfg.entries, cfg.seconds, cfg.bench ? " --bench" : "");

	kmsg_open();
	snprintf(marker, sizeof(marker), "hostile_random: seed %" PRIu64 " begins\n", cfg.seed);
	kmsg_mark(marker);

	/* Sockets left by whatever ran before (in the same boot) are not ours. */
	sockets_baseline = proc_sockets();
	if (sockets_baseline > 0)
		say("%d sockets were listed in %s before this run; not counted", sockets_baseline,
		    PROC_SOCKETS);
	if (sockets_baseline < 0)
		sockets_baseline = 0;
	sysctls_save();
	signal(SIGTERM, on_fatal_signal);
	signal(SIGINT, on_fatal_signal);
	snprintf(marker, sizeof(marker), "%u", cfg.request_timeout_ms);
	sysctl_write(SYSCTL_DIR "request_timeout_ms", marker);
	snprintf(marker, sizeof(marker), "%u", cfg.recovery_timeout_ms);
	sysctl_write(SYSCTL_DIR "recovery_timeout_ms", marker);

	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (unsigned char)(i * 131 + 7);
	for (int i = 0; i < APP_SOCKS; i++) {
		pthread_rwlock_init(&socks[i].lock, NULL);
		socks[i].fd = -1;
	}

	seeder.s = cfg.seed;
	ns = calloc(1, sizeof(*ns));
	apps = calloc(cfg.threads + 1, sizeof(*apps));
	if (!ns || !apps) {
		say("out of memory");
		return 1;
	}
	ns->rng.s = rng_next(&seeder);
	{
		int err = ns_attach(ns, false);

		if (err) {
			say("cannot attach to %s: %s (is a netserver running?)",
			    JR_DEVICE_PATH, strerror(-err));
			sysctls_restore();
			return err == -EBUSY ? SKIP_STATUS : 1;
		}
	}
	ns->next_ep = now_ns() + 300 * MS;
	track_register(&main_track, "main");
	pthread_create(&wd_thread, NULL, watchdog_main, NULL);
	pthread_create(&ns_thread, NULL, ns_main, ns);
	for (unsigned int i = 0; i <= cfg.threads; i++) {
		apps[i].id = (int)i;
		apps[i].rng.s = rng_next(&seeder);
	}
	for (unsigned int i = 0; i < cfg.threads; i++)
		pthread_create(&apps[i].thread, NULL, app_main, &apps[i]);
	redirect = &apps[cfg.threads];
	pthread_create(&redirect->thread, NULL, redirect_main, redirect);

	/* The hostile phase: until enough entries, or time is up. */
	last_progress = now_ns();
	while (st.entries < cfg.entries && now_ns() - start_ns < cfg.seconds * 1000000000ULL) {
		sleep_ns(50 * MS);
		kmsg_scan(ns_episode);
		if (kmsg_warnings) {
			/* The kernel is damaged: what follows proves nothing. */
			say("stopping early: the kernel logged a problem");
			break;
		}
		if (now_ns() - last_progress >= 10000 * MS) {
			last_progress = now_ns();
			say("%.0f s: %" PRIu64 " entries, %" PRIu64 " calls, %" PRIu64 " attaches",
			    elapsed_s(), (uint64_t)st.entries, (uint64_t)st.calls,
			    (uint64_t)(st.acts[ACT_ATTACH_RECOVER] + st.acts[ACT_ATTACH_PLAIN]));
		}
	}
	say("%.1f s: %" PRIu64 " entries (%.0f a second); calming down", elapsed_s(),
	    (uint64_t)st.entries, (double)st.entries / elapsed_s());

	/* Honest from now on; the applications stop. */
	phase = PH_CALM;
	apps_stop = true;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += cfg.stuck_ms / 1000 + 10;
	for (unsigned int i = 0; i <= cfg.threads; i++) {
		if (pthread_timedjoin_np(apps[i].thread, NULL, &deadline)) {
			struct track *t = &apps[i].track;

			say("STUCK: %s did not finish: in %s (fd %d)", t->name,
			    t->what ? t->what : "?", (int)t->fd);
			print_kernel_stack(t->tid);
			stuck_threads++;
		}
	}
	if (!cfg.no_redirect)
		sysctl_write(SYSCTL_DIR "redirect_inet", "0");

	/* Close what the applications left open. */
	for (int i = 0; i < APP_SOCKS; i++) {
		if (socks[i].fd < 0 || pthread_rwlock_trywrlock(&socks[i].lock))
			continue;
		track_begin(&main_track, "close (end)", socks[i].fd);
		close(socks[i].fd);
		track_end(&main_track);
		socks[i].fd = -1;
		pthread_rwlock_unlock(&socks[i].lock);
	}

	/* Answer everything until the kernel holds no slot. */
	phase = PH_SETTLE;
	settle_start = now_ns();
	while (now_ns() - settle_start < 15000 * MS) {
		sleep_ns(20 * MS);
		if (ns_attached && !ns_slots_used && ns_quiet_ms >= 200 &&
		    proc_sockets() <= sockets_baseline) {
			settled = true;
			break;
		}
	}
	leaked = ns_slots_used;
	sockets_before = proc_sockets();
	if (!settled) {
		say("not settled after 15 s: k_slots_used %" PRIu64 ", %d sockets listed:",
		    leaked, sockets_before);
		proc_dump();
	}
	say("kernel stats: k_slots_used %" PRIu64 ", k_timeouts %" PRIu64 ", k_bad_entries %" PRIu64
	    ", k_sockets %" PRIu64, leaked, (uint64_t)ns_timeouts, (uint64_t)ns_bad_entries,
	    (uint64_t)ns_sockets);

	/* The netserver leaves; nothing of the module's may stay behind. */
	phase = PH_STOP;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += cfg.stuck_ms / 1000 + 10;
	if (pthread_timedjoin_np(ns_thread, NULL, &deadline)) {
		say("STUCK: the netserver did not finish: in %s", ns->track.what);
		print_kernel_stack(ns->track.tid);
		stuck_threads++;
		ns_joined = false;
	}
	sockets_after = proc_sockets() - sockets_baseline;
	for (int i = 0; i < 150 && sockets_after > 0; i++) {
		sleep_ns(20 * MS);
		sockets_after = proc_sockets() - sockets_baseline;
	}
	if (sockets_after > 0) {
		say("LEAK: %d sockets still listed in %s after every descriptor was closed and the netserver left:",
		    sockets_after, PROC_SOCKETS);
		proc_dump();
	}
	sysctls_restore();
	wd_stop = true;
	pthread_join(wd_thread, NULL);
	kmsg_scan("end");

	print_acts();
	say("calls %" PRIu64 " (%" PRIu64 " failed), kicks %" PRIu64 ", implausible errnos %" PRIu64
	    ", kernel ABI violations %" PRIu64 ", stuck calls %" PRIu64 ", sockets left %d",
	    (uint64_t)st.calls, (uint64_t)st.call_errors, (uint64_t)st.kicks,
	    (uint64_t)st.implausible, (uint64_t)st.kernel_proto, (uint64_t)st.stuck,
	    sockets_after);
	if (kmsg_warnings || leaked || st.stuck || stuck_threads || sockets_after > 0 ||
	    st.kernel_proto)
		say("FAILED with seed %" PRIu64 " (repeat: --seed %" PRIu64 ")", cfg.seed, cfg.seed);
	say("%.1f s in all (seed %" PRIu64 ")", elapsed_s(), cfg.seed);
	say("%" PRIu64 " entries, %u kernel warnings, %" PRIu64 " leaked slots",
	    (uint64_t)st.entries, kmsg_warnings, leaked);
	if (!ns_joined)
		_exit(1);	/* a thread is stuck in the kernel; do not wait for it */
	return kmsg_warnings || leaked || st.stuck || stuck_threads || sockets_after > 0 ||
	       st.kernel_proto ? 1 : 0;
}
