// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * libjr-preload.so: Joyride without the module, for unmodified dynamically
 * linked programs.
 *
 * With LD_PRELOAD naming this library and JR_NETSERVER_SOCKET naming a
 * netserver's --listen socket, the program's AF_INET TCP and UDP sockets are
 * served by that netserver through a user frontend (libjr's client); every
 * other descriptor goes to the C library untouched.
 *
 * Implementation notes
 *
 * Descriptors.  Each Joyride socket is a real kernel descriptor: an eventfd,
 * so that the descriptor number is reserved, close-on-exec, dup, fork and
 * the kernel's poll machinery all work on it.  Nothing is ever read from or
 * written to it by the application: every call that moves data is caught
 * here.  The eventfd is the socket's readiness signal instead: a completion
 * or event for the socket writes it, so poll, select and epoll sleeping on
 * the descriptor wake up, and the wrappers then compute the real readiness
 * from the rings (jr_poll) and report that.  The eventfd is always
 * O_NONBLOCK and FD_CLOEXEC in the kernel; the application's view of both
 * flags is kept here (fcntl, ioctl FIONBIO, SOCK_NONBLOCK, accept4).
 *
 * Processes.  The client state (libjr's struct jr_client, opened with
 * JR_CLIENT_SHARED) and this file's per-socket state live in MAP_SHARED
 * mappings, so a fork()ed child shares its parent's sockets, as on Linux.
 * One process-shared robust mutex serialises every call that touches them,
 * in every thread of every process.  A socket is closed at the netserver
 * when no process holds a descriptor for it: each socket has a bitmap of
 * holder processes (a slot in the process table), cleared by close() of
 * the last descriptor in a process, by exit, by exec (which closes them:
 * see below), and by any process's pump for a process that died.
 *
 * Waiting.  Each process runs a pump thread (started lazily, again after
 * fork) that sleeps on the CQ doorbell, consumes completions and events,
 * and for each one bumps the socket's futex word (blocked callers in any
 * process sleep on it: FUTEX_WAIT is restarted after a signal handler with
 * SA_RESTART and fails with EINTR without, as the socket calls do) and
 * writes the socket's eventfd.  A process that consumed an event for a
 * socket it holds no descriptor for marks it pending and rings the CQ
 * doorbell, so that the holders' pumps wake and signal it.
 *
 * exec.  The eventfds are close-on-exec whatever the application asked: a
 * new program could not use them without this library's state.  The exec
 * wrappers close them first (as close() would: the last holder's close
 * lets the netserver deliver what was sent), so a program that execs
 * keeps no half-open sockets; if exec fails they stay closed (EBADF).
 *
 * Limits are listed in Documentation/preload.md.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/futex.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <linux/sockios.h>

#include "jr/jr_client.h"
#include "jr/jr_sockopt.h"

#define PL_EXPORT		__attribute__((visibility("default")))
#define PL_MAX_PROCS		64	/* processes sharing one region */
#define PL_MAX_FDS		(1 << 20)
#define PL_EPREG_MAX		(1 << 16)	/* epoll registrations per process */
#define PL_EP_TAG		0x4a52000000000000ull	/* "JR" in the high bits */
#define PL_EP_TAG_MASK		0xffff000000000000ull
#define PL_REAP_MS		1000	/* how often a pump looks for dead processes */
/* Wakes another process's pump: blocked there, read from a signalfd. */
#define PL_KICK_SIGNAL		(SIGRTMAX - 2)
#define PL_EXIT_DRAIN_MS	5000	/* close()d data still being delivered */
#define PL_IO_CHUNK		65536	/* sendfile's staging buffer */

/* ------------------------------------------------------ the real calls */

#define REAL(name) real_##name
#define DECLARE_REAL(ret, name, ...) static ret (*real_##name)(__VA_ARGS__)

DECLARE_REAL(int, socket, int, int, int);
DECLARE_REAL(int, bind, int, const struct sockaddr *, socklen_t);
DECLARE_REAL(int, listen, int, int);
DECLARE_REAL(int, accept, int, struct sockaddr *, socklen_t *);
DECLARE_REAL(int, accept4, int, struct sockaddr *, socklen_t *, int);
DECLARE_REAL(int, connect, int, const struct sockaddr *, socklen_t);
DECLARE_REAL(int, getsockname, int, struct sockaddr *, socklen_t *);
DECLARE_REAL(int, getpeername, int, struct sockaddr *, socklen_t *);
DECLARE_REAL(int, shutdown, int, int);
DECLARE_REAL(int, setsockopt, int, int, int, const void *, socklen_t);
DECLARE_REAL(int, getsockopt, int, int, int, void *, socklen_t *);
DECLARE_REAL(ssize_t, send, int, const void *, size_t, int);
DECLARE_REAL(ssize_t, sendto, int, const void *, size_t, int, const struct sockaddr *, socklen_t);
DECLARE_REAL(ssize_t, sendmsg, int, const struct msghdr *, int);
DECLARE_REAL(ssize_t, recv, int, void *, size_t, int);
DECLARE_REAL(ssize_t, recvfrom, int, void *, size_t, int, struct sockaddr *, socklen_t *);
DECLARE_REAL(ssize_t, recvmsg, int, struct msghdr *, int);
DECLARE_REAL(int, sendmmsg, int, struct mmsghdr *, unsigned int, int);
DECLARE_REAL(int, recvmmsg, int, struct mmsghdr *, unsigned int, int, struct timespec *);
DECLARE_REAL(ssize_t, read, int, void *, size_t);
DECLARE_REAL(ssize_t, write, int, const void *, size_t);
DECLARE_REAL(ssize_t, readv, int, const struct iovec *, int);
DECLARE_REAL(ssize_t, writev, int, const struct iovec *, int);
DECLARE_REAL(ssize_t, sendfile, int, int, off_t *, size_t);
DECLARE_REAL(int, close, int);
DECLARE_REAL(int, dup, int);
DECLARE_REAL(int, dup2, int, int);
DECLARE_REAL(int, dup3, int, int, int);
DECLARE_REAL(int, fcntl, int, int, ...);
DECLARE_REAL(int, ioctl, int, unsigned long, ...);
DECLARE_REAL(int, poll, struct pollfd *, nfds_t, int);
DECLARE_REAL(int, ppoll, struct pollfd *, nfds_t, const struct timespec *, const sigset_t *);
DECLARE_REAL(int, select, int, fd_set *, fd_set *, fd_set *, struct timeval *);
DECLARE_REAL(int, pselect, int, fd_set *, fd_set *, fd_set *, const struct timespec *, const sigset_t *);
DECLARE_REAL(int, epoll_ctl, int, int, int, struct epoll_event *);
DECLARE_REAL(int, epoll_wait, int, struct epoll_event *, int, int);
DECLARE_REAL(int, epoll_pwait, int, struct epoll_event *, int, int, const sigset_t *);
DECLARE_REAL(int, execve, const char *, char *const[], char *const[]);
DECLARE_REAL(int, execv, const char *, char *const[]);
DECLARE_REAL(int, execvp, const char *, char *const[]);
DECLARE_REAL(int, execvpe, const char *, char *const[], char *const[]);
DECLARE_REAL(int, fexecve, int, char *const[], char *const[]);
DECLARE_REAL(void, _exit, int) __attribute__((noreturn));

static void *resolve(const char *name)
{
	void *fn = dlsym(RTLD_NEXT, name);

	if (!fn) {
		fprintf(stderr, "libjr-preload: the C library has no %s\n", name);
		abort();
	}
	return fn;
}

#define RESOLVE(name) (real_##name = resolve(#name))

__attribute__((constructor)) static void pl_resolve(void)
{
	RESOLVE(socket); RESOLVE(bind); RESOLVE(listen); RESOLVE(accept);
	RESOLVE(accept4); RESOLVE(connect); RESOLVE(getsockname);
	RESOLVE(getpeername); RESOLVE(shutdown); RESOLVE(setsockopt);
	RESOLVE(getsockopt); RESOLVE(send); RESOLVE(sendto); RESOLVE(sendmsg);
	RESOLVE(recv); RESOLVE(recvfrom); RESOLVE(recvmsg); RESOLVE(sendmmsg);
	RESOLVE(recvmmsg); RESOLVE(read);
	RESOLVE(write); RESOLVE(readv); RESOLVE(writev); RESOLVE(sendfile);
	RESOLVE(close); RESOLVE(dup); RESOLVE(dup2); RESOLVE(dup3);
	RESOLVE(fcntl); RESOLVE(ioctl); RESOLVE(poll); RESOLVE(ppoll);
	RESOLVE(select); RESOLVE(pselect); RESOLVE(epoll_ctl);
	RESOLVE(epoll_wait); RESOLVE(epoll_pwait); RESOLVE(execve);
	RESOLVE(execv); RESOLVE(execvp); RESOLVE(execvpe); RESOLVE(fexecve);
	RESOLVE(_exit);
}

/* ------------------------------------------------------- shared state */

/* Group memberships a socket can have here (igmp_max_memberships is 20
 * by default; a larger sysctl is capped at this). */
#define PL_MC_MAX	64

/* One Joyride socket, as every process sharing the region sees it. */
struct pl_sock {
	uint32_t		seq;		/* futex: bumped on every event */
	uint32_t		waiters;	/* callers asleep on seq */
	uint64_t		holders;	/* processes with a descriptor */
	bool			active;		/* handed to the application */
	bool			pending;	/* event not yet on its eventfd */
	bool			nonblock;	/* O_NONBLOCK of the socket's file */
	int			type;
	struct timeval		rcvtimeo, sndtimeo;
	int			rcvbuf, sndbuf;	/* as set (0: never set) */
	struct linger		linger;
	int			opt[JR_O_NR];	/* jr_sockopt.h's options */
	/* IPv4 multicast: IP_MULTICAST_IF as set, and the groups joined. */
	struct in_addr		mc_addr;
	int			mc_index;
	unsigned int		mc_count;
	struct pl_mc {
		struct in_addr	group, ifaddr;
		int		ifindex;
	}			mc[PL_MC_MAX];
};

struct pl_proc {
	pid_t			pid;		/* 0: reserved by fork, not yet run */
	pid_t			pump_tid;	/* 0: no pump yet */
	bool			used;
	uint64_t		reserved_ns;
};

struct pl_shared {
	pthread_mutex_t		lock;
	struct pl_proc		procs[PL_MAX_PROCS];
	uint32_t		nr_slots;
	struct pl_sock		socks[];
};

/* One epoll registration of a Joyride descriptor (private). */
struct pl_epreg {
	bool			used;
	int			epfd, fd, sd;
	uint16_t		gen;
	uint32_t		events;		/* what the application asked */
	epoll_data_t		data;
	int			next;		/* next free, or next of this fd */
};

/* This process's view. */
static struct {
	pthread_mutex_t		init_lock;
	int			state;		/* 0 not yet, 1 on, -1 off */
	const char		*path;
	struct jr_client	*c;
	struct pl_shared	*sh;
	size_t			sh_size;
	int			me;		/* our pl_proc */
	pid_t			pid;		/* whose tables these are */
	int			nfd;		/* size of the fd tables */
	int			*fd_sd;		/* fd -> sd + 1, 0: not ours */
	unsigned char		*fd_cloexec;	/* the application's FD_CLOEXEC */
	int			*fd_epregs;	/* fd -> registrations (as epfd) */
	int			*sd_fd;		/* sd -> one of our fds, or -1 */
	int			*sd_nfds;	/* sd -> how many of our fds */
	bool			pump_running;
	int			fork_idx;	/* reserved for the child */
	uint64_t		last_reap_ns;
	struct pl_epreg		*epregs;
	int			epreg_free;
} pl = {
	.init_lock = PTHREAD_MUTEX_INITIALIZER,
	.me = -1,
	.fork_idx = -1,
	.epreg_free = -1,
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void pl_lock(void)
{
	int err = pthread_mutex_lock(&pl.sh->lock);

	/* A process died holding it: what it was doing is lost, but the
	 * structures are only ever updated in place, field by field. */
	if (err == EOWNERDEAD)
		pthread_mutex_consistent(&pl.sh->lock);
}

static uint64_t pl_kick;	/* processes to wake for their sockets (locked) */

static void pl_unlock(void)
{
	/* Events consumed for sockets that other processes hold: wake their
	 * pumps to pass them on to their eventfds. */
	pid_t pid[PL_MAX_PROCS], tid[PL_MAX_PROCS];
	int n = 0;

	for (int i = 0; pl_kick && i < PL_MAX_PROCS; i++) {
		if (!(pl_kick & (1ull << i)))
			continue;
		pl_kick &= ~(1ull << i);
		if (pl.sh->procs[i].used && pl.sh->procs[i].pump_tid) {
			pid[n] = pl.sh->procs[i].pid;
			tid[n++] = pl.sh->procs[i].pump_tid;
		}
	}
	pthread_mutex_unlock(&pl.sh->lock);
	for (int i = 0; i < n; i++)
		syscall(SYS_tgkill, pid[i], tid[i], PL_KICK_SIGNAL);
}

static long futex(uint32_t *word, int op, uint32_t val, const struct timespec *ts)
{
	return syscall(SYS_futex, word, op, val, ts, NULL, 0);
}

static void eventfd_signal(int fd)
{
	uint64_t one = 1;

	if (real_write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return;
}

static void eventfd_drain(int fd)
{
	uint64_t v;

	while (real_read(fd, &v, sizeof(v)) == sizeof(v))
		;
}

/* ------------------------------------------------------------ fd maps */

static void pump_ensure(void);

/* The socket behind a descriptor of ours, or -1. */
static int fd_sock(int fd)
{
	int sd;

	if (pl.state != 1 || fd < 0 || fd >= pl.nfd)
		return -1;
	sd = __atomic_load_n(&pl.fd_sd[fd], __ATOMIC_ACQUIRE) - 1;
	/* A fork()ed child's first use of what it inherited starts its pump. */
	if (sd >= 0 && !__atomic_load_n(&pl.pump_running, __ATOMIC_ACQUIRE))
		pump_ensure();
	return sd;
}

static uint64_t my_bit(void)
{
	return 1ull << pl.me;
}

/* Register descriptor fd for socket sd in this process (locked). */
static void fd_attach(int fd, int sd, bool cloexec)
{
	pl.fd_cloexec[fd] = cloexec;
	__atomic_store_n(&pl.fd_sd[fd], sd + 1, __ATOMIC_RELEASE);
	if (pl.sd_nfds[sd]++ == 0) {
		pl.sd_fd[sd] = fd;
		pl.sh->socks[sd].holders |= my_bit();
	}
}

static void epregs_drop_fd(int fd);
struct pl_epreg;
static void epreg_unlink(int fd, struct pl_epreg *reg);

/*
 * The socket leaves this process when its last descriptor here goes; the
 * netserver closes it when it has left every process (locked).
 */
static void sock_release(int sd)
{
	struct pl_sock *ps = &pl.sh->socks[sd];

	ps->holders &= ~my_bit();
	if (!ps->holders && ps->active) {
		ps->active = false;
		jr_close_abort(pl.c, sd, ps->linger.l_onoff && !ps->linger.l_linger);
		/* Anyone still blocked on it sees the close. */
		__atomic_add_fetch(&ps->seq, 1, __ATOMIC_RELEASE);
		if (ps->waiters)
			futex(&ps->seq, FUTEX_WAKE, INT32_MAX, NULL);
	}
}

static void fd_detach(int fd, int sd)
{
	__atomic_store_n(&pl.fd_sd[fd], 0, __ATOMIC_RELEASE);
	epregs_drop_fd(fd);
	if (--pl.sd_nfds[sd] > 0) {
		if (pl.sd_fd[sd] == fd)
			for (int i = 0; i < pl.nfd; i++)
				if (pl.fd_sd[i] == sd + 1) {
					pl.sd_fd[sd] = i;
					break;
				}
		return;
	}
	pl.sd_fd[sd] = -1;
	sock_release(sd);
}

/* ------------------------------------------------------ events, pump */

/* From jr_client's CQ processing, in whichever thread consumed it. */
static void on_event(void *arg, int sd)
{
	struct pl_sock *ps;

	(void)arg;
	if (sd < 0 || (uint32_t)sd >= pl.sh->nr_slots)
		return;
	ps = &pl.sh->socks[sd];
	__atomic_add_fetch(&ps->seq, 1, __ATOMIC_RELEASE);
	if (ps->waiters)
		futex(&ps->seq, FUTEX_WAKE, INT32_MAX, NULL);
	if (!ps->active)
		return;
	if (pl.me >= 0 && (ps->holders & my_bit()) && pl.sd_fd[sd] >= 0) {
		eventfd_signal(pl.sd_fd[sd]);
	} else {
		ps->pending = true;
		pl_kick |= ps->holders;
	}
}

/* Consume completions (locked). */
static void pl_process(void)
{
	jr_client_process(pl.c);
}

/* Signal the eventfds of sockets another process saw events for (locked). */
static void take_pending(void)
{
	for (uint32_t sd = 0; sd < pl.sh->nr_slots; sd++) {
		struct pl_sock *ps = &pl.sh->socks[sd];

		if (ps->pending && pl.sd_nfds[sd] > 0) {
			ps->pending = false;
			eventfd_signal(pl.sd_fd[sd]);
		}
	}
}

static bool proc_dead(const struct pl_proc *p, uint64_t now)
{
	char path[64], buf[256], *s;
	ssize_t n;
	int fd;

	if (!p->pid)	/* a fork that failed, or a child that never ran */
		return now - p->reserved_ns > 5000000000ull;
	if (kill(p->pid, 0) < 0 && errno == ESRCH)
		return true;
	/* A zombie holds nothing any more. */
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)p->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = real_read(fd, buf, sizeof(buf) - 1);
	real_close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	s = strrchr(buf, ')');
	return s && (s[2] == 'Z' || s[2] == 'X');
}

/* Drop what dead processes held (locked). */
static void reap_dead(void)
{
	uint64_t now = now_ns();

	if (now - pl.last_reap_ns < (uint64_t)PL_REAP_MS * 1000000)
		return;
	pl.last_reap_ns = now;
	for (int i = 0; i < PL_MAX_PROCS; i++) {
		struct pl_proc *p = &pl.sh->procs[i];

		if (!p->used || i == pl.me || !proc_dead(p, now))
			continue;
		for (uint32_t sd = 0; sd < pl.sh->nr_slots; sd++) {
			struct pl_sock *ps = &pl.sh->socks[sd];

			if (!(ps->holders & (1ull << i)))
				continue;
			ps->holders &= ~(1ull << i);
			if (!ps->holders && ps->active) {
				ps->active = false;
				jr_close(pl.c, (int)sd);
			}
		}
		memset(p, 0, sizeof(*p));
	}
}

static bool shared_with_others(void)
{
	for (int i = 0; i < PL_MAX_PROCS; i++)
		if (pl.sh->procs[i].used && i != pl.me)
			return true;
	return false;
}

/* The netserver is gone: every blocked caller must see it. */
static void wake_everyone(void)
{
	for (uint32_t sd = 0; sd < pl.sh->nr_slots; sd++) {
		struct pl_sock *ps = &pl.sh->socks[sd];

		__atomic_add_fetch(&ps->seq, 1, __ATOMIC_RELEASE);
		futex(&ps->seq, FUTEX_WAKE, INT32_MAX, NULL);
		if (pl.sd_nfds[sd] > 0)
			eventfd_signal(pl.sd_fd[sd]);
	}
}

static void *pump_main(void *arg)
{
	int cq_fd = jr_client_cq_fd(pl.c), conn_fd = jr_client_conn_fd(pl.c), kick_fd;
	pid_t pid = (pid_t)(intptr_t)arg;
	sigset_t kick;

	/* Other processes wake us with PL_KICK_SIGNAL, which this thread
	 * (like every pump) keeps blocked: it stays pending, whatever the
	 * application's disposition, until read here. */
	sigemptyset(&kick);
	sigaddset(&kick, PL_KICK_SIGNAL);
	kick_fd = signalfd(-1, &kick, SFD_NONBLOCK | SFD_CLOEXEC);
	pl_lock();
	pl.sh->procs[pl.me].pump_tid = kick_fd >= 0 ? (pid_t)syscall(SYS_gettid) : 0;
	pl_unlock();
	while (pl.pid == pid) {
		struct pollfd pfd[3] = {
			{ .fd = cq_fd, .events = POLLIN },
			{ .fd = conn_fd, .events = POLLIN },
			{ .fd = kick_fd, .events = POLLIN },
		};
		bool can_sleep, broken;

		pl_lock();
		/* The pump is the only sleeper on the doorbell, and touches
		 * its NEED_WAKEUP flag only under the lock. */
		jr_client_finish_sleep(pl.c);
		pl_process();
		take_pending();
		reap_dead();
		broken = jr_client_broken(pl.c);
		can_sleep = jr_client_prepare_sleep(pl.c);
		pl_unlock();
		if (broken) {
			pl_lock();
			wake_everyone();
			pl_unlock();
			break;
		}
		if (!can_sleep)
			continue;
		/* Without a signalfd, nap: a kick could not reach us. */
		real_poll(pfd, kick_fd >= 0 ? 3 : 2,
			  kick_fd >= 0 || !shared_with_others() ? PL_REAP_MS : 20);
		if (pfd[2].revents & POLLIN) {
			struct signalfd_siginfo si;

			while (real_read(kick_fd, &si, sizeof(si)) == sizeof(si))
				;
		}
		if (pfd[0].revents & POLLIN)
			eventfd_drain(cq_fd);
		if (pfd[1].revents) {
			pl_lock();
			pl_process();
			jr_client_mark_broken(pl.c);
			pl_unlock();
		}
	}
	if (kick_fd >= 0)
		real_close(kick_fd);
	return NULL;
}

/* Start this process's pump if it has none (after fork()). */
static void pump_ensure(void)
{
	sigset_t all, old;
	pthread_attr_t attr;
	pthread_t t;

	if (__atomic_load_n(&pl.pump_running, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&pl.init_lock);
	if (!pl.pump_running) {
		pl.pid = getpid();
		/* Signals are for the application's threads. */
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		pthread_attr_setstacksize(&attr, 64 * 1024);
		if (pthread_create(&t, &attr, pump_main, (void *)(intptr_t)pl.pid) == 0)
			pl.pump_running = true;
		pthread_attr_destroy(&attr);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	pthread_mutex_unlock(&pl.init_lock);
}

/* ------------------------------------------------------------- set-up */

static void pl_atfork_prepare(void);
static void pl_atfork_child(void);
static int request_wait(void *arg, int sd);

static void *map_zeroed(size_t size, bool shared)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static int pl_start(void)
{
	pthread_mutexattr_t ma;
	struct rlimit rl;
	uint32_t nr_slots;
	int err;

	pl.path = getenv("JR_NETSERVER_SOCKET");
	if (!pl.path || !*pl.path)
		return -ENOENT;
	err = jr_client_open_flags(pl.path, JR_CLIENT_SHARED, &pl.c);
	if (err) {
		fprintf(stderr, "libjr-preload: cannot reach the netserver at %s: %s\n",
			pl.path, strerror(-err));
		return err;
	}
	/* The client's slot count is the region's; learn it from a probe of
	 * the highest socket number the client accepts. */
	nr_slots = jr_client_nr_slots(pl.c);
	pl.sh_size = sizeof(*pl.sh) + nr_slots * sizeof(struct pl_sock);
	pl.sh = map_zeroed(pl.sh_size, true);
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_max > PL_MAX_FDS ||
	    rl.rlim_max == RLIM_INFINITY)
		rl.rlim_max = PL_MAX_FDS;
	pl.nfd = (int)(rl.rlim_max < 1024 ? 1024 : rl.rlim_max);
	pl.fd_sd = map_zeroed((size_t)pl.nfd * sizeof(int), false);
	pl.fd_cloexec = map_zeroed((size_t)pl.nfd, false);
	pl.fd_epregs = map_zeroed((size_t)pl.nfd * sizeof(int), false);
	pl.sd_fd = map_zeroed(nr_slots * sizeof(int), false);
	pl.sd_nfds = map_zeroed(nr_slots * sizeof(int), false);
	pl.epregs = map_zeroed(PL_EPREG_MAX * sizeof(struct pl_epreg), false);
	if (!pl.sh || !pl.fd_sd || !pl.fd_cloexec || !pl.fd_epregs || !pl.sd_fd ||
	    !pl.sd_nfds || !pl.epregs) {
		jr_client_close(pl.c);
		return -ENOMEM;
	}
	for (int i = 0; i < pl.nfd; i++)
		pl.fd_epregs[i] = -1;
	for (uint32_t i = 0; i < nr_slots; i++)
		pl.sd_fd[i] = -1;
	pl.sh->nr_slots = nr_slots;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&pl.sh->lock, &ma);
	pthread_mutexattr_destroy(&ma);
	pl.me = 0;
	pl.sh->procs[0].used = true;
	pl.sh->procs[0].pid = getpid();
	jr_client_set_notify(pl.c, on_event, NULL);
	jr_client_set_wait(pl.c, request_wait, NULL);
	pthread_atfork(pl_atfork_prepare, NULL, pl_atfork_child);
	return 0;
}

/* Attach to the netserver on the first socket: 0 or -errno. */
static int pl_ready(void)
{
	int err;

	if (pl.state == 1) {
		pump_ensure();
		return 0;
	}
	if (pl.state < 0)
		return -EAFNOSUPPORT;
	pthread_mutex_lock(&pl.init_lock);
	if (pl.state == 0) {
		err = pl_start();
		__atomic_store_n(&pl.state, err ? -1 : 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&pl.init_lock);
	if (pl.state == 1)
		pump_ensure();
	/* socket(2) has no errno for "the stack is not there": the reason
	 * went to stderr once (pl_start), the caller gets the family's. */
	return pl.state == 1 ? 0 : -EAFNOSUPPORT;
}

/* ---------------------------------------------------- fork, exec, exit */

static void pl_atfork_prepare(void)
{
	int idx = -1;

	if (pl.state != 1 || pl.pid != getpid())
		return;
	/* The child holds what we hold from its first instruction on: a
	 * close() here racing with its start must not close its sockets. */
	pl_lock();
	for (int i = 0; i < PL_MAX_PROCS; i++)
		if (!pl.sh->procs[i].used) {
			idx = i;
			break;
		}
	if (idx >= 0) {
		pl.sh->procs[idx].used = true;
		pl.sh->procs[idx].pid = 0;
		pl.sh->procs[idx].reserved_ns = now_ns();
		for (uint32_t sd = 0; sd < pl.sh->nr_slots; sd++)
			if (pl.sd_nfds[sd] > 0)
				pl.sh->socks[sd].holders |= 1ull << idx;
	}
	pl.fork_idx = idx;
	pl_unlock();
}

static void pl_atfork_child(void)
{
	if (pl.state != 1 || pl.fork_idx < 0) {
		/* No room in the process table: the child cannot use the
		 * sockets it inherited (they fail with EBADF). */
		if (pl.state == 1) {
			for (int fd = 0; fd < pl.nfd; fd++)
				if (pl.fd_sd[fd]) {
					pl.fd_sd[fd] = 0;
					real_close(fd);
				}
			pl.state = -1;
		}
		return;
	}
	pl.me = pl.fork_idx;
	pl.fork_idx = -1;
	pl.pid = getpid();
	pl.sh->procs[pl.me].pid = pl.pid;
	pl.sh->procs[pl.me].pump_tid = 0;
	pl.pump_running = false;
	pl.init_lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
}

/* Close every descriptor of ours (exit, exec): as close() each. */
static void pl_leave(bool exiting)
{
	bool alone;

	if (pl.state != 1 || pl.pid != getpid())
		return;
	pl_lock();
	for (int fd = 0; fd < pl.nfd; fd++) {
		int sd = pl.fd_sd[fd] - 1;

		if (sd < 0)
			continue;
		fd_detach(fd, sd);
		real_close(fd);
	}
	alone = !shared_with_others();
	/* Gone from the table: after exec too, this process holds nothing
	 * (pl_exec_failed() takes the place back). */
	memset(&pl.sh->procs[pl.me], 0, sizeof(pl.sh->procs[pl.me]));
	(void)exiting;
	/* The last process out waits for the CLOSEs: leaving now would take
	 * the region away and reset what the netserver still delivers. */
	if (alone)
		jr_client_drain_closes(pl.c, PL_EXIT_DRAIN_MS);
	pl_unlock();
}

static void pl_exec_failed(void)
{
	if (pl.state != 1 || pl.pid != getpid())
		return;
	pl_lock();
	pl.sh->procs[pl.me].used = true;
	pl.sh->procs[pl.me].pid = pl.pid;
	pl_unlock();
}

__attribute__((destructor)) static void pl_exit(void)
{
	pl_leave(true);
}

PL_EXPORT void _exit(int status)
{
	pl_leave(true);
	real__exit(status);
}

PL_EXPORT void _Exit(int status)
{
	pl_leave(true);
	real__exit(status);
}

PL_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	int ret;

	pl_leave(false);
	ret = real_execve(path, argv, envp);
	pl_exec_failed();
	return ret;
}

PL_EXPORT int execv(const char *path, char *const argv[])
{
	int ret;

	pl_leave(false);
	ret = real_execv(path, argv);
	pl_exec_failed();
	return ret;
}

PL_EXPORT int execvp(const char *file, char *const argv[])
{
	int ret;

	pl_leave(false);
	ret = real_execvp(file, argv);
	pl_exec_failed();
	return ret;
}

PL_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	int ret;

	pl_leave(false);
	ret = real_execvpe(file, argv, envp);
	pl_exec_failed();
	return ret;
}

PL_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	int ret;

	pl_leave(false);
	ret = real_fexecve(fd, argv, envp);
	pl_exec_failed();
	return ret;
}

/* execl, execlp, execle: gather the arguments, then as above. */
static char **gather_args(const char *arg0, va_list ap, char ***envp)
{
	size_t n = 1, cap = 16;
	char **argv = malloc(cap * sizeof(*argv));
	const char *a;

	if (!argv)
		return NULL;
	argv[0] = (char *)arg0;
	do {
		a = va_arg(ap, const char *);
		if (n == cap) {
			char **more = realloc(argv, (cap *= 2) * sizeof(*argv));

			if (!more) {
				free(argv);
				return NULL;
			}
			argv = more;
		}
		argv[n++] = (char *)a;
	} while (a);
	if (envp)
		*envp = va_arg(ap, char **);
	return argv;
}

/* The l forms' common end: exec the gathered vector, or ENOMEM. */
static int exec_gathered(char **argv, int (*exec)(const char *, char *const[], char *const[]),
			 const char *path, char **envp)
{
	int ret;

	if (!argv) {
		errno = ENOMEM;
		return -1;
	}
	ret = exec(path, argv, envp);
	free(argv);
	return ret;
}

static int exec_v(const char *path, char *const argv[], char *const envp[])
{
	(void)envp;
	return execv(path, argv);
}

static int exec_vp(const char *file, char *const argv[], char *const envp[])
{
	(void)envp;
	return execvp(file, argv);
}

PL_EXPORT int execl(const char *path, const char *arg, ...)
{
	va_list ap;
	char **argv;

	va_start(ap, arg);
	argv = gather_args(arg, ap, NULL);
	va_end(ap);
	return exec_gathered(argv, exec_v, path, NULL);
}

PL_EXPORT int execlp(const char *file, const char *arg, ...)
{
	va_list ap;
	char **argv;

	va_start(ap, arg);
	argv = gather_args(arg, ap, NULL);
	va_end(ap);
	return exec_gathered(argv, exec_vp, file, NULL);
}

PL_EXPORT int execle(const char *path, const char *arg, ...)
{
	char **argv, **envp = NULL;
	va_list ap;

	va_start(ap, arg);
	argv = gather_args(arg, ap, &envp);
	va_end(ap);
	return exec_gathered(argv, execve, path, envp);
}

/* ------------------------------------------------------------ helpers */

static int fail(int err)
{
	errno = err;
	return -1;
}

static short sock_revents(int sd, short events)
{
	struct jr_pollfd p = { .sd = sd, .events = events };

	if (jr_poll(pl.c, &p, 1, 0) < 0)
		return POLLERR | POLLHUP;
	/* POLLRDNORM and POLLWRNORM go with POLLIN and POLLOUT, as on Linux. */
	if (p.revents & POLLIN)
		p.revents |= events & POLLRDNORM;
	if (p.revents & POLLOUT)
		p.revents |= events & POLLWRNORM;
	return p.revents;
}

static short want_events(short events)
{
	if (events & POLLRDNORM)
		events |= POLLIN;
	if (events & POLLWRNORM)
		events |= POLLOUT;
	return events;
}

/*
 * Readiness of socket sd behind descriptor fd, and its eventfd left
 * readable exactly when it is ready, so that a level-triggered waiter
 * sleeps when, and only when, it should (locked).  Drain first, then look:
 * an event arriving in between writes the eventfd again.
 */
static short settle(int fd, int sd, short events)
{
	short rev = sock_revents(sd, want_events(events));

	if (rev)
		return rev;
	eventfd_drain(fd);
	rev = sock_revents(sd, want_events(events));
	if (rev)
		eventfd_signal(fd);
	return rev;
}

static void ms_deadline(const struct timeval *tv, uint64_t *deadline)
{
	if (!tv->tv_sec && !tv->tv_usec)
		*deadline = UINT64_MAX;
	else
		*deadline = now_ns() + (uint64_t)tv->tv_sec * 1000000000ull +
			    (uint64_t)tv->tv_usec * 1000;
}

/*
 * Sleep until socket sd's sequence moves past seq (locked on entry and on
 * return; the lock is dropped while asleep).  -EINTR after a signal whose
 * handler lacks SA_RESTART (or any, with a timeout: as sockets with
 * SO_RCVTIMEO), -EAGAIN at the deadline.
 */
static int sock_wait(int sd, uint32_t seq, uint64_t deadline)
{
	struct pl_sock *ps = &pl.sh->socks[sd];
	struct timespec ts, *tsp = NULL;
	long ret;

	if (deadline != UINT64_MAX) {
		uint64_t now = now_ns();

		if (now >= deadline)
			return -EAGAIN;
		ts.tv_sec = (time_t)((deadline - now) / 1000000000ull);
		ts.tv_nsec = (long)((deadline - now) % 1000000000ull);
		tsp = &ts;
	}
	ps->waiters++;
	pl_unlock();
	ret = futex(&ps->seq, FUTEX_WAIT, seq, tsp);
	pl_lock();
	ps->waiters--;
	if (ret < 0 && errno == EINTR)
		return -EINTR;
	if (ret < 0 && errno == ETIMEDOUT)
		return -EAGAIN;
	return 0;
}

/*
 * jr_client's wait for a reply (locked): the pump consumes it and bumps
 * the socket's sequence.  Requests are short, so signals do not cut them.
 */
static int request_wait(void *arg, int sd)
{
	uint32_t seq;

	(void)arg;
	if (sd < 0) {
		/* The SQ is full: give the netserver a moment. */
		pl_unlock();
		usleep(100);
		pl_lock();
		return 0;
	}
	seq = __atomic_load_n(&pl.sh->socks[sd].seq, __ATOMIC_ACQUIRE);
	if (jr_client_process(pl.c) > 0)
		return 0;
	if (jr_client_broken(pl.c))
		return -EIO;
	while (sock_wait(sd, seq, UINT64_MAX) == -EINTR)
		;
	return 0;
}

static bool sock_nonblock(int sd, int flags)
{
	return pl.sh->socks[sd].nonblock || (flags & MSG_DONTWAIT);
}

/* A new socket from the client for the application (locked). */
static int sock_hand_out(int sd, int type, int flags, int listener)
{
	struct pl_sock *ps = &pl.sh->socks[sd];
	int fd;

	fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (fd >= pl.nfd) {
		real_close(fd);
		fd = -1;
		errno = EMFILE;
	}
	if (fd < 0) {
		int err = errno;

		jr_close(pl.c, sd);
		return -err;
	}
	ps->holders = 0;
	ps->pending = false;
	ps->type = type;
	ps->nonblock = flags & SOCK_NONBLOCK;
	memset(&ps->rcvtimeo, 0, sizeof(ps->rcvtimeo));
	memset(&ps->sndtimeo, 0, sizeof(ps->sndtimeo));
	ps->rcvbuf = ps->sndbuf = 0;
	memset(&ps->linger, 0, sizeof(ps->linger));
	/* An accepted socket starts with its listener's options, as on
	 * Linux (the netserver's child inherits them the same way). */
	for (int i = 0; i < JR_O_NR; i++)
		ps->opt[i] = listener >= 0 ? pl.sh->socks[listener].opt[i] : jr_opts[i].def;
	ps->mc_addr.s_addr = 0;
	ps->mc_index = 0;
	ps->mc_count = 0;
	ps->active = true;
	fd_attach(fd, sd, flags & SOCK_CLOEXEC);
	return fd;
}

/* ------------------------------------------------------------ sockets */

PL_EXPORT int socket(int domain, int type, int protocol)
{
	int kind = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC), sd, fd;

	if (domain != AF_INET || (kind != SOCK_STREAM && kind != SOCK_DGRAM) ||
	    (protocol && protocol != (kind == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP)) ||
	    !getenv("JR_NETSERVER_SOCKET"))
		return real_socket(domain, type, protocol);
	sd = pl_ready();
	if (sd)
		return fail(-sd);
	pl_lock();
	sd = jr_socket(pl.c, kind);
	fd = sd < 0 ? sd : sock_hand_out(sd, kind, type, -1);
	pl_unlock();
	return fd < 0 ? fail(-fd) : fd;
}

static int sin_from(const struct sockaddr *addr, socklen_t len, struct sockaddr_in *sin)
{
	if (!addr)
		return -EFAULT;
	if (len < sizeof(sa_family_t))
		return -EINVAL;
	if (addr->sa_family != AF_INET)
		return -EAFNOSUPPORT;
	if (len < sizeof(*sin))
		return -EINVAL;
	memcpy(sin, addr, sizeof(*sin));
	return 0;
}

/* Copy an address out, truncated to the caller's room, as the kernel does. */
static void sin_to(const struct sockaddr_in *sin, struct sockaddr *addr, socklen_t *len)
{
	if (!addr || !len)
		return;
	memcpy(addr, sin, *len < sizeof(*sin) ? *len : sizeof(*sin));
	*len = sizeof(*sin);
}

static int sysctl_int(const char *path, int def);

/* Whether this thread's effective capabilities include cap. */
static bool has_cap(unsigned int cap)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct caps[2];

	if (syscall(SYS_capget, &hdr, caps))
		return true;	/* unknown: leave the decision to the netserver */
	return caps[cap / 32].effective & (1u << (cap % 32));
}

PL_EXPORT int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	int sd = fd_sock(fd), err;
	struct sockaddr_in sin;

	if (sd < 0)
		return real_bind(fd, addr, len);
	err = sin_from(addr, len, &sin);
	/* As inet_bind(): a port below ip_unprivileged_port_start needs
	 * CAP_NET_BIND_SERVICE.  The caller's own capability: the netserver
	 * cannot see it, and a process may only restrict itself here. */
	if (!err && sin.sin_port && ntohs(sin.sin_port) <
	    sysctl_int("/proc/sys/net/ipv4/ip_unprivileged_port_start", 1024) &&
	    !has_cap(CAP_NET_BIND_SERVICE))
		err = -EACCES;
	if (!err) {
		pl_lock();
		err = jr_bind(pl.c, sd, &sin);
		pl_unlock();
	}
	return err ? fail(-err) : 0;
}

PL_EXPORT int listen(int fd, int backlog)
{
	int sd = fd_sock(fd), err;

	if (sd < 0)
		return real_listen(fd, backlog);
	pl_lock();
	err = jr_listen(pl.c, sd, backlog);
	pl_unlock();
	return err ? fail(-err) : 0;
}

PL_EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	int sd = fd_sock(fd), child, nfd;
	struct sockaddr_in peer;
	uint64_t deadline;

	if (sd < 0)
		return real_accept4(fd, addr, len, flags);
	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return fail(EINVAL);
	if (pl.sh->socks[sd].type != SOCK_STREAM)
		return fail(EOPNOTSUPP);
	pl_lock();
	ms_deadline(&pl.sh->socks[sd].rcvtimeo, &deadline);
	for (;;) {
		uint32_t seq = __atomic_load_n(&pl.sh->socks[sd].seq, __ATOMIC_ACQUIRE);

		child = jr_accept(pl.c, sd, &peer, JR_MSG_DONTWAIT);
		if (child != -EAGAIN || sock_nonblock(sd, 0))
			break;
		child = sock_wait(sd, seq, deadline);
		if (child)
			break;
	}
	nfd = child < 0 ? child : sock_hand_out(child, SOCK_STREAM, flags, sd);
	if (nfd == -EAGAIN)
		eventfd_drain(fd);	/* edge-triggered waiters get the next edge */
	pl_unlock();
	if (nfd < 0)
		return fail(-nfd);
	sin_to(&peer, addr, len);
	return nfd;
}

PL_EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	if (fd_sock(fd) < 0)
		return real_accept(fd, addr, len);
	return accept4(fd, addr, len, 0);
}

PL_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	int sd = fd_sock(fd), err;
	struct sockaddr_in sin;
	uint64_t deadline;

	if (sd < 0)
		return real_connect(fd, addr, len);
	if (addr && len >= sizeof(sa_family_t) && addr->sa_family == AF_UNSPEC) {
		/* Dissolve a datagram socket's association; an unconnected
		 * TCP socket has none.  A connection is not aborted this way
		 * here (preload.md). */
		pl_lock();
		if (pl.sh->socks[sd].type == SOCK_DGRAM)
			err = jr_disconnect(pl.c, sd);
		else
			err = jr_sock_connected(pl.c, sd) || jr_sock_listening(pl.c, sd) ?
			      -EOPNOTSUPP : 0;
		pl_unlock();
		return err ? fail(-err) : 0;
	}
	err = sin_from(addr, len, &sin);
	if (err)
		return fail(-err);
	pl_lock();
	err = jr_connect_start(pl.c, sd, &sin);
	if (err == -EINPROGRESS && !sock_nonblock(sd, 0)) {
		ms_deadline(&pl.sh->socks[sd].sndtimeo, &deadline);
		for (;;) {
			uint32_t seq = __atomic_load_n(&pl.sh->socks[sd].seq, __ATOMIC_ACQUIRE);

			err = jr_connect_result(pl.c, sd);
			if (err != -EINPROGRESS)
				break;
			err = sock_wait(sd, seq, deadline);
			if (err) {
				/* Interrupted: the connect goes on, as on Linux. */
				err = err == -EAGAIN ? -EINPROGRESS : err;
				break;
			}
		}
		if (!err) {
			int soerr;	/* consumed here, as Linux's connect does */

			jr_getsockopt(pl.c, sd, SOL_SOCKET, SO_ERROR, &soerr);
		}
	}
	pl_unlock();
	return err ? fail(-err) : 0;
}

PL_EXPORT int getsockname(int fd, struct sockaddr *addr, socklen_t *len)
{
	int sd = fd_sock(fd), err;
	struct sockaddr_in sin;

	if (sd < 0)
		return real_getsockname(fd, addr, len);
	if (!addr || !len)
		return fail(EFAULT);
	pl_lock();
	err = jr_getsockname(pl.c, sd, &sin);
	pl_unlock();
	if (err)
		return fail(-err);
	sin_to(&sin, addr, len);
	return 0;
}

PL_EXPORT int getpeername(int fd, struct sockaddr *addr, socklen_t *len)
{
	int sd = fd_sock(fd), err;
	struct sockaddr_in sin;

	if (sd < 0)
		return real_getpeername(fd, addr, len);
	if (!addr || !len)
		return fail(EFAULT);
	pl_lock();
	err = jr_getpeername(pl.c, sd, &sin);
	pl_unlock();
	if (err)
		return fail(-err);
	sin_to(&sin, addr, len);
	return 0;
}

PL_EXPORT int shutdown(int fd, int how)
{
	int sd = fd_sock(fd), err;

	if (sd < 0)
		return real_shutdown(fd, how);
	pl_lock();
	err = jr_shutdown(pl.c, sd, how);
	if (!err)
		on_event(NULL, sd);	/* blocked readers see the end */
	pl_unlock();
	return err ? fail(-err) : 0;
}

/* ------------------------------------------------------------ options */

static int opt_int(const void *val, socklen_t len, int *out)
{
	if (!val)
		return -EFAULT;
	if (len < sizeof(int))
		return -EINVAL;
	memcpy(out, val, sizeof(int));
	return 0;
}

static int opt_timeval(const void *val, socklen_t len, struct timeval *out)
{
	if (!val)
		return -EFAULT;
	if (len < sizeof(*out))
		return -EINVAL;
	memcpy(out, val, sizeof(*out));
	if (out->tv_usec < 0 || out->tv_usec >= 1000000)
		return -EDOM;
	if (out->tv_sec < 0)
		memset(out, 0, sizeof(*out));	/* as Linux: no timeout */
	return 0;
}

/* A sysctl's integer value, or def if it cannot be read. */
static int sysctl_int(const char *path, int def)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), v = def;
	char buf[32];
	ssize_t n;

	if (fd < 0)
		return def;
	n = real_read(fd, buf, sizeof(buf) - 1);
	real_close(fd);
	if (n > 0) {
		buf[n] = 0;
		v = atoi(buf);
	}
	return v;
}

/* IP_TTL's value while the socket has not set one. */
static int default_ttl(void)
{
	return sysctl_int("/proc/sys/net/ipv4/ip_default_ttl", 64);
}

/* set_mc_opt(): not one of its options (a positive value, never an errno). */
#define PL_NOT_MC	1

static uint64_t mc_value4(struct in_addr addr, int ifindex)
{
	return (uint64_t)(uint32_t)ifindex << 32 | addr.s_addr;
}

/* ip_mc_join_group(): af_joyride.c's jr_mc_join(), IPv4 only.  Locked. */
static int mc_join(int sd, struct in_addr group, struct in_addr ifaddr, int ifindex)
{
	struct pl_sock *ps = &pl.sh->socks[sd];
	int limit = sysctl_int("/proc/sys/net/ipv4/igmp_max_memberships", 20), err;

	if (!IN_MULTICAST(ntohl(group.s_addr)))
		return -EINVAL;
	if (ifindex < 0)
		return -ENODEV;
	for (unsigned int i = 0; i < ps->mc_count; i++)
		if (ps->mc[i].group.s_addr == group.s_addr)
			return -EADDRINUSE;
	if ((int)ps->mc_count >= (limit < PL_MC_MAX ? limit : PL_MC_MAX))
		return -ENOBUFS;
	err = jr_setsockopt_group(pl.c, sd, SOL_IP, IP_ADD_MEMBERSHIP,
				  mc_value4(ifaddr, ifindex), &group);
	if (err)
		return err;
	ps->mc[ps->mc_count++] = (struct pl_mc){ group, ifaddr, ifindex };
	return 0;
}

/* ip_mc_leave_group(): the first membership that matches the group and
 * what the call names of the interface.  Locked. */
static int mc_leave(int sd, struct in_addr group, struct in_addr ifaddr, int ifindex)
{
	struct pl_sock *ps = &pl.sh->socks[sd];
	int err;

	for (unsigned int i = 0; i < ps->mc_count; i++) {
		struct pl_mc *m = &ps->mc[i];

		if (m->group.s_addr != group.s_addr)
			continue;
		if (ifindex ? m->ifindex != ifindex : ifaddr.s_addr && m->ifaddr.s_addr != ifaddr.s_addr)
			continue;
		err = jr_setsockopt_group(pl.c, sd, SOL_IP, IP_DROP_MEMBERSHIP,
					  mc_value4(m->ifaddr, m->ifindex), &group);
		if (err)
			return err;
		*m = ps->mc[--ps->mc_count];
		return 0;
	}
	return -EADDRNOTAVAIL;
}

/*
 * The IPv4 multicast options that are not rows of jr_opts[], in
 * do_ip_setsockopt()'s order of checks (af_joyride.c's jr_mc_setsockopt());
 * PL_NOT_MC for any other.  Locked.
 */
static int set_mc_opt(int sd, int name, const void *val, socklen_t len)
{
	struct pl_sock *ps = &pl.sh->socks[sd];
	bool stream = ps->type == SOCK_STREAM;
	struct ip_mreqn mreq;
	struct group_req gr;
	int err;

	memset(&mreq, 0, sizeof(mreq));
	switch (name) {
	case IP_MULTICAST_IF:
		if (stream || len < sizeof(struct in_addr))
			return -EINVAL;
		if (!val)
			return -EFAULT;
		if (len >= sizeof(struct ip_mreqn))
			memcpy(&mreq, val, sizeof(mreq));
		else if (len >= sizeof(struct ip_mreq))
			memcpy(&mreq, val, sizeof(struct ip_mreq));
		else
			memcpy(&mreq.imr_address, val, sizeof(struct in_addr));
		if (mreq.imr_ifindex < 0)
			return -EADDRNOTAVAIL;
		err = jr_setsockopt_group(pl.c, sd, SOL_IP, IP_MULTICAST_IF,
					  mc_value4(mreq.imr_address, mreq.imr_ifindex), NULL);
		if (!err) {
			ps->mc_addr = mreq.imr_address;
			ps->mc_index = mreq.imr_ifindex;
		}
		return err;
	case IP_ADD_MEMBERSHIP:
	case IP_DROP_MEMBERSHIP:
		if (stream)
			return -EPROTO;
		if (len < sizeof(struct ip_mreq))
			return -EINVAL;
		if (!val)
			return -EFAULT;
		memcpy(&mreq, val, len >= sizeof(struct ip_mreqn) ? sizeof(struct ip_mreqn)
								  : sizeof(struct ip_mreq));
		return name == IP_ADD_MEMBERSHIP
		       ? mc_join(sd, mreq.imr_multiaddr, mreq.imr_address, mreq.imr_ifindex)
		       : mc_leave(sd, mreq.imr_multiaddr, mreq.imr_address, mreq.imr_ifindex);
	case MCAST_JOIN_GROUP:
	case MCAST_LEAVE_GROUP: {
		struct in_addr group, none = { 0 };

		if (len < sizeof(gr))
			return -EINVAL;
		if (!val)
			return -EFAULT;
		memcpy(&gr, val, sizeof(gr));
		if (gr.gr_group.ss_family != AF_INET)
			return -EINVAL;
		group = ((const struct sockaddr_in *)&gr.gr_group)->sin_addr;
		return name == MCAST_JOIN_GROUP ? mc_join(sd, group, none, (int)gr.gr_interface)
						: mc_leave(sd, group, none, (int)gr.gr_interface);
	}
	}
	return PL_NOT_MC;
}

/*
 * Options below SOL_SOCKET, with the kernel frontend's rules
 * (jr_sockopt.h) in Linux's order of checks (af_joyride.c's
 * jr_setsockopt()): the value is kept here, and forwarded when the
 * netserver acts on it.  Locked.
 */
static int set_proto_opt(int sd, int level, int name, const void *val, socklen_t len)
{
	struct pl_sock *ps = &pl.sh->socks[sd];
	bool stream = ps->type == SOCK_STREAM;
	const struct jr_opt *o;
	int id, v = 0, stored, err;

	if (stream && level == SOL_TCP) {
		if (name == TCP_CONGESTION || name == TCP_ULP) {
			char alg[16] = "";

			if (len < 1)
				return -EINVAL;
			if (!val)
				return -EFAULT;
			memcpy(alg, val, len < sizeof(alg) - 1 ? len : sizeof(alg) - 1);
			/* lwIP's congestion control is Reno's; no ULP exists. */
			return name == TCP_CONGESTION && !strcmp(alg, "reno") ? 0 : -ENOENT;
		}
		if (len < sizeof(int))
			return -EINVAL;
	} else if (!stream && level == SOL_UDP) {
		return len < sizeof(int) ? -EINVAL : -ENOPROTOOPT;
	} else if (level != SOL_IP) {
		return -ENOPROTOOPT;
	}
	if (level == SOL_IP) {
		err = set_mc_opt(sd, name, val, len);
		if (err != PL_NOT_MC)
			return err;
	}
	id = jr_opt_find(level, name);
	if (id < 0)
		return -ENOPROTOOPT;
	o = &jr_opts[id];
	if (len && !val)
		return -EFAULT;
	if (len >= sizeof(int))
		memcpy(&v, val, sizeof(int));
	else if (!o->min_byte)
		return -EINVAL;
	else if (len >= 1)
		v = *(const unsigned char *)val;
	if (!jr_opt_applies(o, stream))
		return -EINVAL;
	err = jr_opt_value(o, stream, ps->opt[id], len, v, &stored);
	if (err)
		return err;
	if (o->forward) {
		int wire = stored;

		if (id == JR_O_IP_TTL && stored < 0)
			wire = default_ttl();
		err = jr_setsockopt(pl.c, sd, level, name, wire);
		if (err)
			return err;
	}
	ps->opt[id] = stored;
	return 0;
}

PL_EXPORT int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	int sd = fd_sock(fd), err = 0, v;
	struct pl_sock *ps;

	if (sd < 0)
		return real_setsockopt(fd, level, name, val, len);
	ps = &pl.sh->socks[sd];
	pl_lock();
	if (level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO)) {
		err = opt_timeval(val, len, name == SO_RCVTIMEO ? &ps->rcvtimeo : &ps->sndtimeo);
	} else if (level == SOL_SOCKET && name == SO_LINGER) {
		/* On with 0 s: close() resets the connection.  Any other
		 * linger time is kept and reported; close() does not wait. */
		if (!val)
			err = -EFAULT;
		else if (len < sizeof(struct linger))
			err = -EINVAL;
		else
			memcpy(&ps->linger, val, sizeof(struct linger));
	} else if (level == SOL_SOCKET && (name == SO_RCVBUF || name == SO_SNDBUF)) {
		/* Kept and reported doubled, as Linux; the rings are fixed. */
		err = opt_int(val, len, &v);
		if (!err)
			*(name == SO_RCVBUF ? &ps->rcvbuf : &ps->sndbuf) =
				v < 1152 ? 2304 : (v > INT32_MAX / 2 ? INT32_MAX : v * 2);
	} else if (level == SOL_SOCKET && (name == SO_REUSEPORT || name == SO_PRIORITY ||
					   name == SO_OOBINLINE || name == SO_TIMESTAMP ||
					   name == SO_RCVLOWAT || name == SO_SNDLOWAT)) {
		/* Generic socket options with nothing behind them in the
		 * netserver: accepted, as the kernel frontend does. */
		err = opt_int(val, len, &v);
	} else if (level == SOL_SOCKET) {
		err = opt_int(val, len, &v);
		if (!err)
			err = jr_setsockopt(pl.c, sd, level, name, v);
	} else {
		err = set_proto_opt(sd, level, name, val, len);
	}
	pl_unlock();
	return err ? fail(-err) : 0;
}

static int put_opt(void *val, socklen_t *len, const void *src, socklen_t size)
{
	if (!val || !len)
		return -EFAULT;
	if ((int)*len < 0)
		return -EINVAL;
	memcpy(val, src, *len < size ? *len : size);
	*len = *len < size ? *len : size;
	return 0;
}

/* tcpi_state's values (include/net/tcp_states.h), for what is reported. */
enum { PL_TCP_ESTABLISHED = 1, PL_TCP_CLOSE = 7, PL_TCP_LISTEN = 10 };

/* TCP_INFO as the kernel frontend's jr_get_tcp_info() builds it.  Locked. */
static int tcp_info_of(int sd, struct tcp_info *ti)
{
	struct jr_tcp_info ji;
	uint64_t acked, received;
	int err;

	jr_client_process(pl.c);
	jr_tcp_info_init(ti, jr_sock_connected(pl.c, sd) ? PL_TCP_ESTABLISHED :
			     jr_sock_listening(pl.c, sd) ? PL_TCP_LISTEN : PL_TCP_CLOSE);
	if (ti->tcpi_state != PL_TCP_ESTABLISHED)
		return 0;
	memset(&ji, 0, sizeof(ji));
	err = jr_tcp_info(pl.c, sd, &ji);
	if (err)
		return err;
	jr_tcp_info_add(ti, &ji);
	if (!jr_byte_counts(pl.c, sd, &acked, &received)) {
		ti->tcpi_bytes_acked = acked;
		ti->tcpi_bytes_received = received;
	}
	return 0;
}

/*
 * Copy an option's value out with its length clamped as TCP's and IP's
 * getsockopt clamp it: unsigned, so a negative length takes it all.
 */
static int put_clamped(void *val, socklen_t *len, const void *src, unsigned int size)
{
	unsigned int l = *len < size ? *len : size;

	memcpy(val, src, l);
	*len = l;
	return 0;
}

/* An int-valued IP option as Linux returns it: one byte if asked. */
static int put_ip_int(int v, void *val, socklen_t *len)
{
	int l = (int)*len;

	if (l < (int)sizeof(int) && l > 0 && v >= 0 && v <= 255) {
		unsigned char c = (unsigned char)v;

		memcpy(val, &c, 1);
		*len = 1;
		return 0;
	}
	l = (unsigned int)l < sizeof(int) ? l : (int)sizeof(int);
	memcpy(val, &v, (size_t)l);
	*len = (socklen_t)l;
	return 0;
}

/* The other side of set_proto_opt() (af_joyride.c's jr_getsockopt()). */
static int get_proto_opt(int sd, int level, int name, void *val, socklen_t *len)
{
	struct pl_sock *ps = &pl.sh->socks[sd];
	bool stream = ps->type == SOCK_STREAM;
	int id, v, err;

	if (!len || !val)
		return -EFAULT;
	if (stream && level == SOL_TCP) {
		switch (name) {
		case TCP_INFO: {
			struct tcp_info ti;

			err = tcp_info_of(sd, &ti);
			return err ? err : put_clamped(val, len, &ti, sizeof(ti));
		}
		case TCP_CONGESTION: {
			static const char alg[16] = "reno";	/* TCP_CA_NAME_MAX */

			return put_clamped(val, len, alg, sizeof(alg));
		}
		case TCP_ULP:			/* none attached */
			*len = 0;
			return 0;
		}
		id = jr_opt_find(level, name);
		if (id < 0)
			return -ENOPROTOOPT;
		v = ps->opt[id];
		if (name == TCP_MAXSEG) {
			/* Connected: the segment size in use; else what was set. */
			if (jr_sock_connected(pl.c, sd)) {
				struct tcp_info ti;

				err = tcp_info_of(sd, &ti);
				if (err)
					return err;
				v = (int)ti.tcpi_snd_mss;
			} else if (!v) {
				v = JR_TCP_MSS_DEFAULT;
			}
		}
		return put_clamped(val, len, &v, sizeof(v));
	}
	if (!stream && level == SOL_UDP)
		return (int)*len < 0 ? -EINVAL : -ENOPROTOOPT;
	if (level != SOL_IP)
		return -EOPNOTSUPP;
	if ((int)*len < 0)
		return -EINVAL;
	switch (name) {
	case IP_OPTIONS:			/* none set */
		*len = 0;
		return 0;
	case IP_MULTICAST_IF:			/* the address set, if any */
		return put_clamped(val, len, &ps->mc_addr, sizeof(ps->mc_addr));
	case IP_MTU:
		if (!jr_sock_connected(pl.c, sd))
			return -ENOTCONN;
		if (stream) {
			struct tcp_info ti;

			err = tcp_info_of(sd, &ti);
			if (err)
				return err;
			return put_ip_int((int)ti.tcpi_pmtu, val, len);
		}
		return put_ip_int(1500, val, len);	/* ETH_DATA_LEN */
	}
	id = jr_opt_find(level, name);
	if (id < 0)
		return -ENOPROTOOPT;
	v = ps->opt[id];
	if (id == JR_O_IP_TTL && v < 0)
		v = default_ttl();
	return put_ip_int(v, val, len);
}

PL_EXPORT int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	int sd = fd_sock(fd), err = 0, v = 0;
	struct pl_sock *ps;

	if (sd < 0)
		return real_getsockopt(fd, level, name, val, len);
	ps = &pl.sh->socks[sd];
	pl_lock();
	if (level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO)) {
		err = put_opt(val, len, name == SO_RCVTIMEO ? &ps->rcvtimeo : &ps->sndtimeo,
			      sizeof(struct timeval));
		goto out;
	}
	if (level == SOL_SOCKET && name == SO_LINGER) {
		err = put_opt(val, len, &ps->linger, sizeof(ps->linger));
		goto out;
	}
	if (level != SOL_SOCKET) {
		err = get_proto_opt(sd, level, name, val, len);
		goto out;
	}
	switch (name) {
	case SO_DOMAIN:		v = AF_INET; break;
	case SO_PROTOCOL:	v = ps->type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP; break;
	case SO_ACCEPTCONN:	v = jr_sock_listening(pl.c, sd); break;
	case SO_RCVBUF:		v = ps->rcvbuf ? ps->rcvbuf : 2 * 131072; break;
	case SO_SNDBUF:		v = ps->sndbuf ? ps->sndbuf : 2 * 131072; break;
	case SO_REUSEPORT: case SO_PRIORITY: case SO_OOBINLINE:
	case SO_TIMESTAMP:	v = 0; break;
	case SO_RCVLOWAT: case SO_SNDLOWAT: v = 1; break;
	default:
		err = jr_getsockopt(pl.c, sd, level, name, &v);
		break;
	}
	if (!err)
		err = put_opt(val, len, &v, sizeof(v));
out:
	pl_unlock();
	return err ? fail(-err) : 0;
}

/* --------------------------------------------------------------- data */

/* Linux's SIGPIPE for a send on a connection that cannot send any more. */
static ssize_t send_failed(int err, int flags)
{
	if (err == -EPIPE && !(flags & MSG_NOSIGNAL))
		raise(SIGPIPE);
	return fail(-err);
}

static ssize_t pl_send(int sd, int fd, const void *buf, size_t len, int flags,
		       const struct sockaddr_in *to)
{
	size_t done = 0;
	uint64_t deadline;
	ssize_t n = 0;

	pl_lock();
	ms_deadline(&pl.sh->socks[sd].sndtimeo, &deadline);
	for (;;) {
		uint32_t seq = __atomic_load_n(&pl.sh->socks[sd].seq, __ATOMIC_ACQUIRE);

		if (to || pl.sh->socks[sd].type == SOCK_DGRAM)
			n = jr_sendto(pl.c, sd, buf, len, JR_MSG_DONTWAIT, to);
		else
			n = jr_send(pl.c, sd, (const char *)buf + done, len - done,
				    JR_MSG_DONTWAIT | (flags & MSG_MORE ? JR_MSG_MORE : 0));
		if (n >= 0 && pl.sh->socks[sd].type == SOCK_DGRAM)
			break;
		if (n > 0)
			done += (size_t)n;
		if (done == len && n >= 0)
			break;
		if ((n < 0 && n != -EAGAIN) || sock_nonblock(sd, flags))
			break;
		n = sock_wait(sd, seq, deadline);
		if (n)
			break;
	}
	if (n == -EAGAIN && !done)
		eventfd_drain(fd);
	pl_unlock();
	if (pl.sh->socks[sd].type == SOCK_DGRAM)
		return n < 0 ? send_failed((int)n, flags) : n;
	if (done)
		return (ssize_t)done;
	return n < 0 ? send_failed((int)n, flags) : 0;
}

static ssize_t pl_recv(int sd, int fd, void *buf, size_t len, int flags,
		       struct sockaddr_in *from, int *flags_out, struct jr_dgram_meta *meta)
{
	int jflags = JR_MSG_DONTWAIT | (flags & MSG_PEEK ? JR_MSG_PEEK : 0) |
		     (flags & MSG_TRUNC ? JR_MSG_TRUNC : 0);
	size_t done = 0;
	uint64_t deadline;
	ssize_t n;

	/* No error queue is kept (no ICMP errors reach a socket here). */
	if (flags & MSG_ERRQUEUE)
		return fail(EAGAIN);
	pl_lock();
	ms_deadline(&pl.sh->socks[sd].rcvtimeo, &deadline);
	for (;;) {
		uint32_t seq = __atomic_load_n(&pl.sh->socks[sd].seq, __ATOMIC_ACQUIRE);

		if (pl.sh->socks[sd].type == SOCK_DGRAM) {
			n = jr_recvfrom_meta(pl.c, sd, buf, len, jflags, from, flags_out, meta);
		} else {
			n = jr_recv(pl.c, sd, (char *)buf + done, len - done, jflags);
			if (n > 0) {
				done += (size_t)n;
				/* MSG_WAITALL: until all of it, the end or an error. */
				if ((flags & MSG_WAITALL) && !(flags & MSG_PEEK) && done < len)
					continue;
				n = (ssize_t)done;
			} else if (done && (n != -EAGAIN || !(flags & MSG_WAITALL))) {
				n = (ssize_t)done;
			}
		}
		if (n != -EAGAIN || sock_nonblock(sd, flags))
			break;
		n = sock_wait(sd, seq, deadline);
		if (n)
			break;
	}
	if (n == -EAGAIN && done) {
		n = (ssize_t)done;
	} else if (n == -EAGAIN || n == -EINTR) {
		if (done)
			n = (ssize_t)done;
		else if (n == -EAGAIN)
			eventfd_drain(fd);
	}
	pl_unlock();
	return n < 0 ? fail((int)-n) : n;
}

PL_EXPORT ssize_t send(int fd, const void *buf, size_t len, int flags)
{
	int sd = fd_sock(fd);

	if (sd < 0)
		return real_send(fd, buf, len, flags);
	return pl_send(sd, fd, buf, len, flags, NULL);
}

PL_EXPORT ssize_t sendto(int fd, const void *buf, size_t len, int flags,
			 const struct sockaddr *addr, socklen_t alen)
{
	int sd = fd_sock(fd), err;
	struct sockaddr_in sin;

	if (sd < 0)
		return real_sendto(fd, buf, len, flags, addr, alen);
	/* MSG_FASTOPEN: connect, then send (no data in the SYN here). */
	if (addr && (flags & MSG_FASTOPEN) && pl.sh->socks[sd].type == SOCK_STREAM) {
		if (jr_sock_connected(pl.c, sd))
			return fail(EISCONN);
		if (sock_nonblock(sd, flags)) {
			/* No cookie, so no data in the SYN: the connect is
			 * started and the data left unsent, as on Linux. */
			err = sin_from(addr, alen, &sin);
			if (!err) {
				pl_lock();
				err = jr_connect_start(pl.c, sd, &sin);
				pl_unlock();
			}
			return fail(err ? -err : EINPROGRESS);
		}
		if (connect(fd, addr, alen))
			return -1;
		flags &= ~MSG_FASTOPEN;
	}
	/* TCP ignores the address otherwise, as Linux's does. */
	if (!addr || pl.sh->socks[sd].type == SOCK_STREAM)
		return pl_send(sd, fd, buf, len, flags, NULL);
	err = sin_from(addr, alen, &sin);
	if (err)
		return fail(-err);
	return pl_send(sd, fd, buf, len, flags, &sin);
}

static size_t iov_total(const struct iovec *iov, int n)
{
	size_t total = 0;

	for (int i = 0; i < n; i++)
		total += iov[i].iov_len;
	return total;
}

/* Several buffers in one call: gathered into one, so that a datagram
 * stays one and a stream write is not split into many requests. */
static ssize_t pl_sendv(int sd, int fd, const struct iovec *iov, int n, int flags,
			const struct sockaddr_in *to)
{
	size_t total, off = 0;
	ssize_t ret;
	char *buf;

	if (n < 0 || n > IOV_MAX)
		return fail(EINVAL);
	if (n == 1)
		return pl_send(sd, fd, iov[0].iov_base, iov[0].iov_len, flags, to);
	total = iov_total(iov, n);
	buf = malloc(total ? total : 1);
	if (!buf)
		return fail(ENOMEM);
	for (int i = 0; i < n; i++) {
		memcpy(buf + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	ret = pl_send(sd, fd, buf, total, flags, to);
	free(buf);
	return ret;
}

static ssize_t pl_recvv(int sd, int fd, const struct iovec *iov, int n, int flags,
			struct sockaddr_in *from, int *flags_out, struct jr_dgram_meta *meta)
{
	size_t total, off = 0;
	ssize_t ret;
	char *buf;

	if (n < 0 || n > IOV_MAX)
		return fail(EINVAL);
	if (n == 1)
		return pl_recv(sd, fd, iov[0].iov_base, iov[0].iov_len, flags, from, flags_out,
			       meta);
	total = iov_total(iov, n);
	buf = malloc(total ? total : 1);
	if (!buf)
		return fail(ENOMEM);
	ret = pl_recv(sd, fd, buf, total, flags, from, flags_out, meta);
	/* MSG_TRUNC: ret may be a datagram's length, more than we have. */
	size_t got = ret > 0 ? ((size_t)ret < total ? (size_t)ret : total) : 0;

	if ((flags & MSG_TRUNC) && pl.sh->socks[sd].type == SOCK_STREAM)
		got = 0;	/* a stream's bytes were dropped, not read */

	for (int i = 0; i < n && off < got; i++) {
		size_t k = got - off < iov[i].iov_len ? got - off : iov[i].iov_len;

		memcpy(iov[i].iov_base, buf + off, k);
		off += k;
	}
	free(buf);
	return ret;
}

PL_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	int sd = fd_sock(fd), err;
	struct sockaddr_in sin;

	if (sd < 0)
		return real_sendmsg(fd, msg, flags);
	if (msg->msg_name && pl.sh->socks[sd].type == SOCK_DGRAM) {
		err = sin_from(msg->msg_name, msg->msg_namelen, &sin);
		if (err)
			return fail(-err);
		return pl_sendv(sd, fd, msg->msg_iov, (int)msg->msg_iovlen, flags, &sin);
	}
	return pl_sendv(sd, fd, msg->msg_iov, (int)msg->msg_iovlen, flags, NULL);
}

PL_EXPORT ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	int sd = fd_sock(fd);

	if (sd < 0)
		return real_recv(fd, buf, len, flags);
	return pl_recv(sd, fd, buf, len, flags, NULL, NULL, NULL);
}

PL_EXPORT ssize_t recvfrom(int fd, void *buf, size_t len, int flags,
			   struct sockaddr *addr, socklen_t *alen)
{
	int sd = fd_sock(fd), out = 0;
	struct sockaddr_in sin;
	ssize_t n;

	if (sd < 0)
		return real_recvfrom(fd, buf, len, flags, addr, alen);
	memset(&sin, 0, sizeof(sin));
	n = pl_recv(sd, fd, buf, len, flags, &sin, &out, NULL);
	if (n >= 0 && addr && alen) {
		if (pl.sh->socks[sd].type == SOCK_DGRAM) {
			sin_to(&sin, addr, alen);
		} else {
			/* TCP: the peer, as Linux reports it (or nothing). */
			*alen = 0;
		}
	}
	return n;
}

/*
 * Append a control message as the kernel's put_cmsg() does: what does not
 * fit is cut and MSG_CTRUNC set.  *used counts the bytes written so far.
 */
static void put_cmsg(struct msghdr *msg, size_t *used, int level, int type,
		     const void *data, size_t len)
{
	size_t space = msg->msg_control && msg->msg_controllen > *used ?
		       msg->msg_controllen - *used : 0;
	struct cmsghdr hdr = { .cmsg_len = CMSG_LEN(len), .cmsg_level = level,
			       .cmsg_type = type };
	char *at = (char *)msg->msg_control + *used;

	if (space < sizeof(hdr)) {
		msg->msg_flags |= MSG_CTRUNC;
		return;
	}
	if (space < CMSG_LEN(len)) {
		msg->msg_flags |= MSG_CTRUNC;
		len = space - CMSG_LEN(0);
		hdr.cmsg_len = CMSG_LEN(len);
	}
	memcpy(at, &hdr, sizeof(hdr));
	memcpy(CMSG_DATA((struct cmsghdr *)at), data, len);
	*used += CMSG_SPACE(len) < space ? CMSG_SPACE(len) : space;
}

/*
 * The control messages the socket asked for, as the kernel frontend gives
 * them (af_joyride.c's jr_put_cmsgs() and TCP_CM_INQ).  Takes the lock.
 */
static void put_cmsgs(int sd, struct msghdr *msg, const struct jr_dgram_meta *m)
{
	const int *opt = pl.sh->socks[sd].opt;
	size_t used = 0;

	if (pl.sh->socks[sd].type == SOCK_STREAM && opt[JR_O_TCP_INQ]) {
		int inq;

		pl_lock();
		inq = jr_rx_avail(pl.c, sd);
		pl_unlock();
		inq = inq < 0 ? 0 : inq;
		put_cmsg(msg, &used, SOL_TCP, TCP_CM_INQ, &inq, sizeof(inq));
	}
	if (pl.sh->socks[sd].type == SOCK_DGRAM && m->dst.family == AF_INET) {
		if (opt[JR_O_IP_PKTINFO]) {
			struct in_pktinfo pi = { 0 };

			memcpy(&pi.ipi_addr, m->dst.addr, 4);
			pi.ipi_spec_dst = pi.ipi_addr;
			put_cmsg(msg, &used, SOL_IP, IP_PKTINFO, &pi, sizeof(pi));
		}
		if (opt[JR_O_IP_RECVTTL]) {
			int ttl = m->ttl;

			put_cmsg(msg, &used, SOL_IP, IP_TTL, &ttl, sizeof(ttl));
		}
		if (opt[JR_O_IP_RECVTOS])
			put_cmsg(msg, &used, SOL_IP, IP_TOS, &m->tos, 1);
	}
	msg->msg_controllen = used;
}

PL_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	int sd = fd_sock(fd), out = 0;
	struct jr_dgram_meta meta;
	struct sockaddr_in sin;
	ssize_t n;

	if (sd < 0)
		return real_recvmsg(fd, msg, flags);
	memset(&sin, 0, sizeof(sin));
	n = pl_recvv(sd, fd, msg->msg_iov, (int)msg->msg_iovlen, flags, &sin, &out, &meta);
	if (n < 0)
		return n;
	msg->msg_flags = out & JR_MSG_TRUNC ? MSG_TRUNC : 0;
	put_cmsgs(sd, msg, &meta);
	if (msg->msg_name) {
		if (pl.sh->socks[sd].type == SOCK_DGRAM)
			sin_to(&sin, msg->msg_name, &msg->msg_namelen);
		else
			msg->msg_namelen = 0;
	}
	return n;
}

/*
 * Several messages in one call, as __sys_sendmmsg() does them: one by
 * one; an error after the first ends the batch and is not reported (the
 * count is).  At most UIO_MAXIOV (1024) a call.
 */
PL_EXPORT int sendmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags)
{
	unsigned int i;

	if (fd_sock(fd) < 0)
		return real_sendmmsg(fd, vec, vlen, flags);
	if (vlen > 1024)
		vlen = 1024;
	for (i = 0; i < vlen; i++) {
		ssize_t n = sendmsg(fd, &vec[i].msg_hdr, flags);

		if (n < 0)
			return i ? (int)i : -1;
		vec[i].msg_len = (unsigned int)n;
	}
	return (int)i;
}

/*
 * And __sys_recvmmsg()'s rules: MSG_WAITFORONE makes every receive after
 * the first non-blocking; the timeout is looked at after each datagram
 * (so a blocking receive still waits for the first, as on Linux).
 */
PL_EXPORT int recvmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags,
		       struct timespec *timeout)
{
	uint64_t deadline = 0;
	unsigned int i;

	if (fd_sock(fd) < 0)
		return real_recvmmsg(fd, vec, vlen, flags, timeout);
	if (timeout) {
		if (timeout->tv_sec < 0 || timeout->tv_nsec < 0 || timeout->tv_nsec >= 1000000000)
			return fail(EINVAL);
		deadline = now_ns() + (uint64_t)timeout->tv_sec * 1000000000u +
			   (uint64_t)timeout->tv_nsec;
	}
	if (vlen > 1024)
		vlen = 1024;
	for (i = 0; i < vlen; i++) {
		int f = flags & ~MSG_WAITFORONE;
		ssize_t n;

		if (i && (flags & MSG_WAITFORONE))
			f |= MSG_DONTWAIT;
		n = recvmsg(fd, &vec[i].msg_hdr, f);
		if (n < 0)
			return i ? (int)i : -1;
		vec[i].msg_len = (unsigned int)n;
		if (timeout) {
			/* What is left of it goes back, as on Linux. */
			uint64_t now = now_ns(), left = now < deadline ? deadline - now : 0;

			timeout->tv_sec = (time_t)(left / 1000000000u);
			timeout->tv_nsec = (long)(left % 1000000000u);
			if (!left) {
				i++;
				break;
			}
		}
	}
	return (int)i;
}

PL_EXPORT ssize_t read(int fd, void *buf, size_t len)
{
	int sd = fd_sock(fd);

	if (sd < 0)
		return real_read(fd, buf, len);
	return pl_recv(sd, fd, buf, len, 0, NULL, NULL, NULL);
}

PL_EXPORT ssize_t write(int fd, const void *buf, size_t len)
{
	int sd = fd_sock(fd);

	if (sd < 0)
		return real_write(fd, buf, len);
	return pl_send(sd, fd, buf, len, 0, NULL);
}

PL_EXPORT ssize_t readv(int fd, const struct iovec *iov, int n)
{
	int sd = fd_sock(fd);

	if (sd < 0)
		return real_readv(fd, iov, n);
	return pl_recvv(sd, fd, iov, n, 0, NULL, NULL, NULL);
}

PL_EXPORT ssize_t writev(int fd, const struct iovec *iov, int n)
{
	int sd = fd_sock(fd);

	if (sd < 0)
		return real_writev(fd, iov, n);
	return pl_sendv(sd, fd, iov, n, 0, NULL);
}

/* _FORTIFY_SOURCE's checked variants (Debian builds with them). */
PL_EXPORT ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen)
{
	if (len > buflen)
		abort();
	return read(fd, buf, len);
}

PL_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags)
{
	if (len > buflen)
		abort();
	return recv(fd, buf, len, flags);
}

PL_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags,
				 struct sockaddr *addr, socklen_t *alen)
{
	if (len > buflen)
		abort();
	return recvfrom(fd, buf, len, flags, addr, alen);
}

PL_EXPORT ssize_t sendfile(int out_fd, int in_fd, off_t *offset, size_t count)
{
	int sd = fd_sock(out_fd);
	char *buf;
	size_t done = 0;
	ssize_t ret = 0;

	if (fd_sock(in_fd) >= 0)
		return fail(EINVAL);	/* a socket cannot be mmapped */
	if (sd < 0)
		return real_sendfile(out_fd, in_fd, offset, count);
	buf = malloc(PL_IO_CHUNK);
	if (!buf)
		return fail(ENOMEM);
	while (done < count) {
		size_t want = count - done < PL_IO_CHUNK ? count - done : PL_IO_CHUNK;
		ssize_t got, sent;

		got = offset ? pread(in_fd, buf, want, *offset) : real_read(in_fd, buf, want);
		if (got <= 0) {
			ret = got;
			break;
		}
		sent = pl_send(sd, out_fd, buf, (size_t)got, done ? MSG_DONTWAIT : 0, NULL);
		if (sent <= 0) {
			ret = sent;
			if (!offset && got > 0)
				lseek(in_fd, -(off_t)got, SEEK_CUR);
			break;
		}
		done += (size_t)sent;
		if (offset)
			*offset += sent;
		else if (sent < got)
			lseek(in_fd, (off_t)sent - got, SEEK_CUR);
		if (sent < got)
			break;
	}
	free(buf);
	if (done)
		return (ssize_t)done;
	return ret;
}

PL_EXPORT ssize_t sendfile64(int out_fd, int in_fd, off_t *offset, size_t count)
{
	return sendfile(out_fd, in_fd, offset, count);
}

/* -------------------------------------------------------- descriptors */

PL_EXPORT int close(int fd)
{
	int sd = fd_sock(fd);

	if (sd < 0) {
		if (pl.state == 1 && fd >= 0 && fd < pl.nfd && pl.fd_epregs[fd] >= 0) {
			/* An epoll instance: forget its registrations. */
			pl_lock();
			for (int i = 0; i < PL_EPREG_MAX; i++)
				if (pl.epregs[i].used && pl.epregs[i].epfd == fd)
					epreg_unlink(pl.epregs[i].fd, &pl.epregs[i]);
			pl.fd_epregs[fd] = -1;
			pl_unlock();
		}
		return real_close(fd);
	}
	pl_lock();
	if (fd_sock(fd) == sd)
		fd_detach(fd, sd);
	pl_unlock();
	return real_close(fd);
}

/* newfd now refers to oldfd's socket (after the kernel's dup). */
static int dup_attach(int oldfd, int newfd, bool cloexec)
{
	int sd;

	if (newfd < 0)
		return newfd;
	pl_lock();
	sd = fd_sock(oldfd);
	if (sd >= 0 && newfd < pl.nfd) {
		int was = fd_sock(newfd);

		if (was >= 0)
			fd_detach(newfd, was);
		fd_attach(newfd, sd, cloexec);
		/* The kernel's copy must not outlive an exec either. */
		real_fcntl(newfd, F_SETFD, FD_CLOEXEC);
	}
	pl_unlock();
	return newfd;
}

/* dup2/dup3 onto one of ours: the kernel closes it, so do we. */
static void drop_target(int newfd)
{
	int was = fd_sock(newfd);

	if (was < 0)
		return;
	pl_lock();
	if (fd_sock(newfd) == was)
		fd_detach(newfd, was);
	pl_unlock();
}

PL_EXPORT int dup(int fd)
{
	if (fd_sock(fd) < 0)
		return real_dup(fd);
	return dup_attach(fd, real_dup(fd), false);
}

PL_EXPORT int dup2(int oldfd, int newfd)
{
	if (fd_sock(oldfd) < 0 && fd_sock(newfd) < 0)
		return real_dup2(oldfd, newfd);
	if (oldfd == newfd)
		return real_dup2(oldfd, newfd);
	/* Only once the kernel agrees (oldfd valid) is newfd closed. */
	if (real_fcntl(oldfd, F_GETFD) < 0)
		return -1;
	drop_target(newfd);
	return dup_attach(oldfd, real_dup2(oldfd, newfd), false);
}

PL_EXPORT int dup3(int oldfd, int newfd, int flags)
{
	if (fd_sock(oldfd) < 0 && fd_sock(newfd) < 0)
		return real_dup3(oldfd, newfd, flags);
	if (oldfd == newfd || (flags & ~O_CLOEXEC))
		return real_dup3(oldfd, newfd, flags);
	if (real_fcntl(oldfd, F_GETFD) < 0)
		return -1;
	drop_target(newfd);
	return dup_attach(oldfd, real_dup3(oldfd, newfd, flags), flags & O_CLOEXEC);
}

static int pl_fcntl(int fd, int cmd, void *arg)
{
	int sd = fd_sock(fd), ret;

	if (sd < 0)
		return real_fcntl(fd, cmd, arg);
	switch (cmd) {
	case F_GETFL:
		ret = real_fcntl(fd, F_GETFL);
		if (ret < 0)
			return ret;
		ret = (ret & ~O_NONBLOCK) | (pl.sh->socks[sd].nonblock ? O_NONBLOCK : 0);
		return (ret & ~O_ACCMODE) | O_RDWR;
	case F_SETFL:
		ret = real_fcntl(fd, F_SETFL, (long)(intptr_t)arg | O_NONBLOCK);
		if (ret == 0)
			pl.sh->socks[sd].nonblock = (long)(intptr_t)arg & O_NONBLOCK;
		return ret;
	case F_GETFD:
		ret = real_fcntl(fd, F_GETFD);
		return ret < 0 ? ret : (pl.fd_cloexec[fd] ? FD_CLOEXEC : 0);
	case F_SETFD:
		ret = real_fcntl(fd, F_GETFD);
		if (ret >= 0)
			pl.fd_cloexec[fd] = (long)(intptr_t)arg & FD_CLOEXEC;
		return ret < 0 ? ret : 0;
	case F_DUPFD:
	case F_DUPFD_CLOEXEC:
		return dup_attach(fd, real_fcntl(fd, F_DUPFD_CLOEXEC, arg), cmd == F_DUPFD_CLOEXEC);
	default:
		return real_fcntl(fd, cmd, arg);
	}
}

PL_EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return pl_fcntl(fd, cmd, arg);
}

PL_EXPORT int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return pl_fcntl(fd, cmd, arg);
}

PL_EXPORT int ioctl(int fd, unsigned long req, ...)
{
	int sd = fd_sock(fd), ret, kfd;
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (sd < 0)
		return real_ioctl(fd, req, arg);
	switch (req) {
	case FIONBIO:
		if (!arg)
			return fail(EFAULT);
		pl.sh->socks[sd].nonblock = *(int *)arg != 0;
		return 0;
	case FIONREAD:
		if (!arg)
			return fail(EFAULT);
		if (jr_sock_listening(pl.c, sd))
			return fail(EINVAL);
		pl_lock();
		jr_client_process(pl.c);
		/* A datagram socket's is the next datagram's length. */
		ret = pl.sh->socks[sd].type == SOCK_STREAM ? jr_rx_avail(pl.c, sd)
							   : jr_next_dgram_len(pl.c, sd);
		pl_unlock();
		if (ret < 0)
			return fail(-ret);
		*(int *)arg = ret;
		return 0;
	case SIOCOUTQ:
		if (!arg)
			return fail(EFAULT);
		if (jr_sock_listening(pl.c, sd))
			return fail(EINVAL);
		/* Sent and not yet acknowledged: still in the tx ring. */
		pl_lock();
		jr_client_process(pl.c);
		ret = jr_tx_unacked(pl.c, sd);
		pl_unlock();
		if (ret < 0)
			return fail(-ret);
		*(int *)arg = ret;
		return 0;
	default:
		if (req >= 0x8910 && req <= 0x89ff) {
			/* Interface requests (SIOCGIF*): the host's view, from
			 * a kernel socket. */
			kfd = real_socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
			if (kfd < 0)
				return -1;
			ret = real_ioctl(kfd, req, arg);
			int err = errno;

			real_close(kfd);
			errno = err;
			return ret;
		}
		return fail(ENOTTY);
	}
}

/* ----------------------------------------------------- poll and select */

static bool any_ours(const struct pollfd *fds, nfds_t n)
{
	if (pl.state != 1)
		return false;
	for (nfds_t i = 0; i < n; i++)
		if (fd_sock(fds[i].fd) >= 0)
			return true;
	return false;
}

static int remaining_ms(uint64_t deadline)
{
	uint64_t now;

	if (deadline == UINT64_MAX)
		return -1;
	now = now_ns();
	if (now >= deadline)
		return 0;
	return (int)((deadline - now + 999999) / 1000000);
}

/*
 * poll() over a mix: ours are judged from the rings, the kernel sleeps on
 * their eventfds (asked for POLLIN only) and on the others as asked.
 */
static int pl_poll(struct pollfd *fds, nfds_t n, uint64_t deadline, const sigset_t *mask)
{
	struct pollfd stack[64], *k = n <= 64 ? stack : malloc(n * sizeof(*k));
	int ready, ret;

	if (!k)
		return fail(ENOMEM);
	for (;;) {
		ready = 0;
		pl_lock();
		for (nfds_t i = 0; i < n; i++) {
			int sd = fd_sock(fds[i].fd);

			k[i] = fds[i];
			if (sd < 0)
				continue;
			fds[i].revents = settle(fds[i].fd, sd, fds[i].events);
			ready += fds[i].revents != 0;
			k[i].events = POLLIN;
		}
		pl_unlock();
		if (ready) {
			/* Ours are ready: the kernel's are only looked at. */
			for (nfds_t i = 0; i < n; i++)
				if (fd_sock(fds[i].fd) >= 0)
					k[i].fd = -1;
			ret = real_poll(k, n, 0);
		} else {
			int ms = remaining_ms(deadline);
			struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

			ret = mask ? real_ppoll(k, n, ms < 0 ? NULL : &ts, mask)
				   : real_poll(k, n, ms);
		}
		if (ret < 0)
			break;
		ret = 0;
		pl_lock();
		for (nfds_t i = 0; i < n; i++) {
			int sd = fd_sock(fds[i].fd);

			if (sd >= 0)
				fds[i].revents = sock_revents(sd, want_events(fds[i].events)) &
						 (fds[i].events | POLLERR | POLLHUP | POLLNVAL);
			else
				fds[i].revents = k[i].revents;
			ret += fds[i].revents != 0;
		}
		pl_unlock();
		if (ret || remaining_ms(deadline) == 0)
			break;
	}
	if (k != stack)
		free(k);
	return ret;
}

PL_EXPORT int poll(struct pollfd *fds, nfds_t n, int timeout)
{
	if (!any_ours(fds, n))
		return real_poll(fds, n, timeout);
	return pl_poll(fds, n, timeout < 0 ? UINT64_MAX : now_ns() + (uint64_t)timeout * 1000000,
		       NULL);
}

PL_EXPORT int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen)
{
	if (fdslen / sizeof(*fds) < n)
		abort();
	return poll(fds, n, timeout);
}

PL_EXPORT int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts,
		    const sigset_t *mask)
{
	if (!any_ours(fds, n))
		return real_ppoll(fds, n, ts, mask);
	return pl_poll(fds, n, ts ? now_ns() + (uint64_t)ts->tv_sec * 1000000000ull +
				    (uint64_t)ts->tv_nsec : UINT64_MAX,
		       mask ? mask : NULL);
}

static int pl_select(int nfds, fd_set *r, fd_set *w, fd_set *e, uint64_t deadline,
		     const sigset_t *mask)
{
	struct pollfd *p;
	int n = 0, ret;

	if (nfds < 0 || nfds > FD_SETSIZE)
		return fail(EINVAL);
	p = calloc((size_t)nfds ? (size_t)nfds : 1, sizeof(*p));
	if (!p)
		return fail(ENOMEM);
	for (int fd = 0; fd < nfds; fd++) {
		short ev = 0;

		if (r && FD_ISSET(fd, r))
			ev |= POLLIN;
		if (w && FD_ISSET(fd, w))
			ev |= POLLOUT;
		if (e && FD_ISSET(fd, e))
			ev |= POLLPRI;
		if (ev)
			p[n++] = (struct pollfd){ .fd = fd, .events = ev };
	}
	if (mask)
		ret = pl_poll(p, (nfds_t)n, deadline, mask);
	else
		ret = pl_poll(p, (nfds_t)n, deadline, NULL);
	if (ret >= 0) {
		ret = 0;
		for (int i = 0; i < n; i++) {
			if (p[i].revents & POLLNVAL) {
				free(p);
				return fail(EBADF);
			}
		}
		if (r)
			FD_ZERO(r);
		if (w)
			FD_ZERO(w);
		if (e)
			FD_ZERO(e);
		for (int i = 0; i < n; i++) {
			/* As Linux's select: an error or hang-up makes a
			 * descriptor readable and writable. */
			short rev = p[i].revents;

			if (r && (p[i].events & POLLIN) && (rev & (POLLIN | POLLHUP | POLLERR))) {
				FD_SET(p[i].fd, r);
				ret++;
			}
			if (w && (p[i].events & POLLOUT) && (rev & (POLLOUT | POLLERR))) {
				FD_SET(p[i].fd, w);
				ret++;
			}
			if (e && (p[i].events & POLLPRI) && (rev & POLLPRI)) {
				FD_SET(p[i].fd, e);
				ret++;
			}
		}
	}
	free(p);
	return ret;
}

static bool select_has_ours(int nfds, fd_set *r, fd_set *w, fd_set *e)
{
	if (pl.state != 1 || nfds < 0)
		return false;
	for (int fd = 0; fd < nfds && fd < FD_SETSIZE; fd++)
		if (fd_sock(fd) >= 0 && ((r && FD_ISSET(fd, r)) || (w && FD_ISSET(fd, w)) ||
					 (e && FD_ISSET(fd, e))))
			return true;
	return false;
}

PL_EXPORT int select(int nfds, fd_set *r, fd_set *w, fd_set *e, struct timeval *tv)
{
	uint64_t deadline;
	int ret;

	if (!select_has_ours(nfds, r, w, e))
		return real_select(nfds, r, w, e, tv);
	if (tv && (tv->tv_sec < 0 || tv->tv_usec < 0))
		return fail(EINVAL);
	deadline = tv ? now_ns() + (uint64_t)tv->tv_sec * 1000000000ull +
			(uint64_t)tv->tv_usec * 1000 : UINT64_MAX;
	ret = pl_select(nfds, r, w, e, deadline, NULL);
	if (tv && ret >= 0) {
		/* Linux writes back the time not slept. */
		uint64_t now = now_ns(), left = now >= deadline ? 0 : deadline - now;

		tv->tv_sec = (time_t)(left / 1000000000ull);
		tv->tv_usec = (suseconds_t)((left % 1000000000ull) / 1000);
	}
	return ret;
}

PL_EXPORT int pselect(int nfds, fd_set *r, fd_set *w, fd_set *e,
		      const struct timespec *ts, const sigset_t *mask)
{
	if (!select_has_ours(nfds, r, w, e))
		return real_pselect(nfds, r, w, e, ts, mask);
	return pl_select(nfds, r, w, e,
			 ts ? now_ns() + (uint64_t)ts->tv_sec * 1000000000ull +
			      (uint64_t)ts->tv_nsec : UINT64_MAX, mask);
}

/* -------------------------------------------------------------- epoll */

static struct pl_epreg *epreg_find(int epfd, int fd)
{
	for (int i = pl.fd_epregs[fd]; i >= 0; i = pl.epregs[i].next)
		if (pl.epregs[i].used && pl.epregs[i].epfd == epfd)
			return &pl.epregs[i];
	return NULL;
}

static int epreg_alloc(void)
{
	static int high;	/* first index never used */

	if (pl.epreg_free >= 0) {
		int i = pl.epreg_free;

		pl.epreg_free = pl.epregs[i].next;
		return i;
	}
	return high < PL_EPREG_MAX ? high++ : -1;
}

/* The registration list of fd (as a registered descriptor) is kept in
 * fd_epregs of the fd; an epoll fd's own entry just says "has some". */
static void epregs_drop_fd(int fd)
{
	int i = pl.fd_epregs[fd];

	while (i >= 0) {
		int next = pl.epregs[i].next;

		pl.epregs[i].used = false;
		pl.epregs[i].next = pl.epreg_free;
		pl.epreg_free = i;
		i = next;
	}
	pl.fd_epregs[fd] = -1;
}

static void epreg_unlink(int fd, struct pl_epreg *reg)
{
	int idx = (int)(reg - pl.epregs), *link = &pl.fd_epregs[fd];

	while (*link >= 0 && *link != idx)
		link = &pl.epregs[*link].next;
	if (*link == idx)
		*link = reg->next;
	reg->used = false;
	reg->next = pl.epreg_free;
	pl.epreg_free = idx;
}

static uint32_t kernel_events(uint32_t events)
{
	return EPOLLIN | (events & (EPOLLET | EPOLLONESHOT | EPOLLWAKEUP | EPOLLEXCLUSIVE));
}

static uint64_t epreg_tag(const struct pl_epreg *reg)
{
	return PL_EP_TAG | ((uint64_t)reg->gen << 32) | (uint32_t)(reg - pl.epregs);
}

PL_EXPORT int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	int sd = fd_sock(fd), ret, idx;
	struct epoll_event kev;
	struct pl_epreg *reg;

	if (sd < 0)
		return real_epoll_ctl(epfd, op, fd, ev);
	if (op != EPOLL_CTL_DEL && !ev)
		return fail(EFAULT);
	if (epfd < 0 || epfd >= pl.nfd)
		return real_epoll_ctl(epfd, op, fd, ev);
	pl_lock();
	reg = epreg_find(epfd, fd);
	switch (op) {
	case EPOLL_CTL_ADD:
		if (reg) {
			ret = fail(EEXIST);
			break;
		}
		idx = epreg_alloc();
		if (idx < 0) {
			ret = fail(ENOSPC);
			break;
		}
		reg = &pl.epregs[idx];
		reg->gen++;
		reg->used = true;
		reg->epfd = epfd;
		reg->fd = fd;
		reg->sd = sd;
		reg->events = ev->events;
		reg->data = ev->data;
		kev.events = kernel_events(ev->events);
		kev.data.u64 = epreg_tag(reg);
		ret = real_epoll_ctl(epfd, op, fd, &kev);
		if (ret < 0) {
			int err = errno;

			reg->used = false;
			reg->next = pl.epreg_free;
			pl.epreg_free = idx;
			errno = err;
			break;
		}
		reg->next = pl.fd_epregs[fd];
		pl.fd_epregs[fd] = idx;
		pl.fd_epregs[epfd] = pl.fd_epregs[epfd] < 0 ? PL_EPREG_MAX : pl.fd_epregs[epfd];
		/* Ready already: the kernel must hear of it now. */
		if (sock_revents(sd, want_events((short)ev->events)))
			eventfd_signal(fd);
		break;
	case EPOLL_CTL_MOD:
		if (!reg) {
			ret = fail(ENOENT);
			break;
		}
		kev.events = kernel_events(ev->events);
		kev.data.u64 = epreg_tag(reg);
		ret = real_epoll_ctl(epfd, op, fd, &kev);
		if (ret == 0) {
			reg->events = ev->events;
			reg->data = ev->data;
			if (sock_revents(sd, want_events((short)ev->events)))
				eventfd_signal(fd);
		}
		break;
	case EPOLL_CTL_DEL:
		ret = real_epoll_ctl(epfd, op, fd, ev);
		if (ret == 0 && reg)
			epreg_unlink(fd, reg);
		break;
	default:
		ret = fail(EINVAL);
		break;
	}
	pl_unlock();
	return ret;
}

/* One of our registrations on epfd, or NULL for the application's own. */
static struct pl_epreg *epreg_of(int epfd, uint64_t tag)
{
	uint32_t idx = (uint32_t)tag;
	struct pl_epreg *reg;

	if ((tag & PL_EP_TAG_MASK) != PL_EP_TAG || idx >= PL_EPREG_MAX)
		return NULL;
	reg = &pl.epregs[idx];
	if (!reg->used || reg->epfd != epfd || reg->gen != (uint16_t)(tag >> 32))
		return NULL;
	return reg;
}

static int pl_epoll_wait(int epfd, struct epoll_event *events, int max, int timeout,
			 const sigset_t *mask)
{
	uint64_t deadline = timeout < 0 ? UINT64_MAX : now_ns() + (uint64_t)timeout * 1000000;
	int n, out;

	for (;;) {
		int ms = remaining_ms(deadline);

		n = mask ? real_epoll_pwait(epfd, events, max, ms, mask)
			 : real_epoll_wait(epfd, events, max, ms);
		if (n <= 0)
			return n;
		out = 0;
		pl_lock();
		for (int i = 0; i < n; i++) {
			struct pl_epreg *reg = epreg_of(epfd, events[i].data.u64);
			uint32_t rev;

			if (!reg) {
				/* A registration of ours that is gone (its
				 * descriptor closed while a dup keeps the file
				 * in the set) is not the application's. */
				if ((events[i].data.u64 & PL_EP_TAG_MASK) != PL_EP_TAG)
					events[out++] = events[i];
				continue;
			}
			if (reg->events & EPOLLET)
				rev = (uint32_t)sock_revents(reg->sd, want_events((short)reg->events));
			else
				rev = (uint32_t)settle(reg->fd, reg->sd, (short)reg->events);
			rev &= reg->events | EPOLLERR | EPOLLHUP;
			if (!rev) {
				if (reg->events & EPOLLONESHOT) {
					/* The kernel disarmed it for nothing: arm again. */
					struct epoll_event kev = {
						.events = kernel_events(reg->events),
						.data.u64 = epreg_tag(reg),
					};

					real_epoll_ctl(epfd, EPOLL_CTL_MOD, reg->fd, &kev);
				}
				continue;
			}
			events[out].events = rev;
			events[out].data = reg->data;
			out++;
		}
		pl_unlock();
		if (out || remaining_ms(deadline) == 0)
			return out;
	}
}

PL_EXPORT int epoll_wait(int epfd, struct epoll_event *events, int max, int timeout)
{
	if (pl.state != 1 || epfd < 0 || epfd >= pl.nfd || pl.fd_epregs[epfd] < 0)
		return real_epoll_wait(epfd, events, max, timeout);
	pump_ensure();
	return pl_epoll_wait(epfd, events, max, timeout, NULL);
}

PL_EXPORT int epoll_pwait(int epfd, struct epoll_event *events, int max, int timeout,
			  const sigset_t *mask)
{
	if (pl.state != 1 || epfd < 0 || epfd >= pl.nfd || pl.fd_epregs[epfd] < 0)
		return real_epoll_pwait(epfd, events, max, timeout, mask);
	pump_ensure();
	return pl_epoll_wait(epfd, events, max, timeout, mask);
}
