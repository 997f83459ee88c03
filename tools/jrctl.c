// SPDX-License-Identifier: GPL-2.0
/*
 * jrctl: operate a Joyride host.
 *
 *   jrctl supervise [OPTIONS] -- jr-netserver ARGS...
 *	Run the netserver and restart it when it fails: after a crash the
 *	kernel keeps listening sockets and replays them to the new process
 *	(Documentation/recovery.md), so a restart is all recovery needs.
 *	Back-off doubles from --delay-ms up to --max-delay-ms; more than
 *	--max-failures failures within --window seconds means the failure is
 *	not transient: jrctl gives up and exits non-zero.  SIGTERM/SIGINT are
 *	passed on and end supervision; SIGHUP is passed on (statistics).
 *
 *	jrctl is also the privileged launcher of an unprivileged netserver.
 *	The kernel lets a netserver attach only on a /dev/joyride file opened
 *	with CAP_NET_ADMIN (Documentation/operations.md), so with --device
 *	jrctl opens the device itself, afresh before each start, and the
 *	child finds it as descriptor 3.  The command line says so itself
 *	(jr-netserver --device-fd 3); jrctl adds nothing to it, so what the
 *	unit file or ps shows is what runs, whatever the command.  jrctl keeps
 *	no copy: when the child dies the file is released and the kernel
 *	starts recovery at once.  With --user the child becomes that user
 *	(groups, gid, uid, no capabilities, no way back) before exec, so the
 *	netserver never runs privileged, not even during DPDK's set-up.
 *
 *   jrctl supervise --engines E --standby S [OPTIONS] -- jr-netserver ARGS...
 *	Run a set of engines (Documentation/netserver.md, Engines): E
 *	processes "ARGS --engine i" (i = 0..E-1, each a DPDK secondary of a
 *	port keeper that runs apart) and S standbys "ARGS --standby", and
 *	keep the set whole.  When a process exits, the kernel has already
 *	done its part (a parked standby took a dead engine's index before
 *	its parent could hear of the death), so jrctl reads
 *	/proc/net/joyride_engines and starts "--engine i" for an index
 *	nobody serves, else a new standby.  These two flags are the only
 *	words jrctl adds to a command line.
 *
 *   jrctl status | sockets | stats | top
 *	Show the host: device state and engines, the sockets (like ss),
 *	the counters (as totals, rates, JSON or Prometheus text) and a live
 *	view.  jrctl_view.c; they only read /proc.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>

#include "jr/jr_caps.h"
#include "jrctl.h"

/* Where the child finds --device: jr-netserver --device-fd 3. */
#define JRCTL_DEVICE_FD		3

struct policy {
	unsigned int	delay_ms;
	unsigned int	max_delay_ms;
	unsigned int	max_failures;
	unsigned int	window_s;
	const char	*pidfile;
	const char	*device;	/* opened for each start, or NULL */
	const char	*user;		/* --user as given, or NULL */
	char		*user_name;	/* its passwd entry's name, or NULL */
	uid_t		uid;
	gid_t		gid;
	/* A set of engines (--engines, --standby), or 0 and 0: one process. */
	unsigned int	engines;
	unsigned int	standbys;
};

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t hup_requested;
static volatile pid_t child;

/* The set's processes: pid, and the index it was started for (-1: standby). */
#define MAX_MEMBERS	(16 + 64)
static struct member {
	volatile pid_t	pid;
	int		engine;
} members[MAX_MEMBERS];

static void on_signal(int sig)
{
	unsigned int i;

	if (sig == SIGHUP) {
		hup_requested = 1;
	} else {
		stop_requested = 1;
	}
	if (child > 0)
		kill(child, sig);
	for (i = 0; i < MAX_MEMBERS; i++)
		if (members[i].pid > 0)
			kill(members[i].pid, sig);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void describe(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)%s", WTERMSIG(status),
			 strsignal(WTERMSIG(status)), WCOREDUMP(status) ? ", core dumped" : "");
	else
		snprintf(buf, len, "stopped (status 0x%x)", status);
}

static void write_pidfile(const char *path, pid_t pid)
{
	unsigned int i;
	FILE *f;

	if (!path)
		return;
	f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "jrctl: pidfile: cannot write %s: %s\n", path, strerror(errno));
		return;
	}
	/* One pid per line: the netserver's, or every process of the set's. */
	if (pid > 0)
		fprintf(f, "%d\n", (int)pid);
	for (i = 0; i < MAX_MEMBERS; i++)
		if (members[i].pid > 0)
			fprintf(f, "%d\n", (int)members[i].pid);
	fclose(f);
}

/*
 * A netserver raises its priority while it takes over (its --takeover-nice,
 * -10 by default; Documentation/recovery.md), which an unprivileged one may
 * only as far as RLIMIT_NICE allows (the limit reads 20 - nice).  Raised
 * here, in the supervisor, for every child it will start; the hard limit
 * needs CAP_SYS_RESOURCE, and without it the netserver's takeovers run at
 * its normal priority: said, not fatal.
 */
#define JRCTL_TAKEOVER_NICE	(-10)

static void allow_takeover_nice(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NICE, &rl))
		return;
	/* RLIM_INFINITY is the largest value: no special case. */
	if (rl.rlim_cur >= 20 - JRCTL_TAKEOVER_NICE)
		return;
	rl.rlim_cur = 20 - JRCTL_TAKEOVER_NICE;
	if (rl.rlim_max < rl.rlim_cur)
		rl.rlim_max = rl.rlim_cur;
	if (setrlimit(RLIMIT_NICE, &rl))
		fprintf(stderr, "jrctl: user: cannot allow nice %d (RLIMIT_NICE): %s; "
			"takeovers run at the normal priority\n", JRCTL_TAKEOVER_NICE,
			strerror(errno));
}

/* --user: a name, or a uid with or without a passwd entry; never root. */
static int resolve_user(struct policy *p, const char *spec)
{
	struct passwd *pw = getpwnam(spec);

	p->user = spec;
	if (!pw) {
		unsigned long v;
		char *end;

		errno = 0;
		v = strtoul(spec, &end, 10);
		if (!isdigit((unsigned char)spec[0]) || *end || errno ||
		    v >= (uid_t)-1) {
			fprintf(stderr, "jrctl: user: no such user '%s' (accepted: a user name or numeric uid)\n",
				spec);
			return -1;
		}
		/* Without a passwd entry: the uid's own gid, no other groups. */
		p->uid = (uid_t)v;
		p->gid = (gid_t)v;
		pw = getpwuid(p->uid);
	}
	free(p->user_name);
	p->user_name = NULL;
	if (pw) {
		p->uid = pw->pw_uid;
		p->gid = pw->pw_gid;
		p->user_name = strdup(pw->pw_name);
		if (!p->user_name) {
			fprintf(stderr, "jrctl: user: %s\n", strerror(ENOMEM));
			return -1;
		}
	}
	if (p->uid == 0) {
		fprintf(stderr, "jrctl: user: '%s' is root (accepted: an unprivileged user)\n",
			spec);
		return -1;
	}
	/* Better now than as a child that fails at every restart. */
	if (!jr_has_cap(CAP_SETUID) || !jr_has_cap(CAP_SETGID)) {
		fprintf(stderr, "jrctl: user: becoming '%s' needs root (CAP_SETUID and CAP_SETGID)\n",
			spec);
		return -1;
	}
	allow_takeover_nice();
	return 0;
}

/*
 * In the child, before exec: become --user for good.  Leaving root clears
 * the capabilities, but a supervisor that is not root and holds them
 * (systemd's AmbientCapabilities=) would keep them, so they are dropped
 * explicitly; no_new_privs keeps a set-uid program or file capabilities
 * from giving any back.  Then make sure: root must be out of reach.
 */
static int become_user(const struct policy *p)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct caps[_LINUX_CAPABILITY_U32S_3] = { 0 };

	if ((p->user_name ? initgroups(p->user_name, p->gid) : setgroups(0, NULL)) ||
	    setresgid(p->gid, p->gid, p->gid) || setresuid(p->uid, p->uid, p->uid) ||
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) ||
	    syscall(SYS_capset, &hdr, caps) ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		fprintf(stderr, "jrctl: user: cannot become '%s': %s\n", p->user,
			strerror(errno));
		return -1;
	}
	if (setuid(0) == 0 || jr_get_caps(caps) ||
	    caps[0].permitted || caps[1].permitted) {
		fprintf(stderr, "jrctl: user: still privileged after becoming '%s'\n",
			p->user);
		return -1;
	}
	return 0;
}

/* The child: the device at JRCTL_DEVICE_FD, the user, then the command. */
static void __attribute__((noreturn))
run_child(const struct policy *p, int dev_fd, char **argv)
{
	if (dev_fd >= 0) {
		/* Only this copy survives exec: dev_fd is close-on-exec. */
		if (dev_fd == JRCTL_DEVICE_FD ? fcntl(dev_fd, F_SETFD, 0) :
		    dup2(dev_fd, JRCTL_DEVICE_FD) < 0) {
			fprintf(stderr, "jrctl: device: cannot pass %s as descriptor %d: %s\n",
				p->device, JRCTL_DEVICE_FD, strerror(errno));
			_exit(127);
		}
	}
	if (p->user && become_user(p))
		_exit(127);
	execvp(argv[0], argv);
	fprintf(stderr, "jrctl: cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/*
 * Start the command on a device opened for it alone (--device), which the
 * child finds as descriptor 3.  The pid, or -1 after saying why.
 */
static pid_t spawn(const struct policy *p, char **argv)
{
	int dev_fd = -1;
	pid_t pid;

	/* A fresh open per start: the last one went with its netserver. */
	if (p->device) {
		dev_fd = open(p->device, O_RDWR | O_CLOEXEC);
		if (dev_fd < 0) {
			fprintf(stderr, "jrctl: device: cannot open %s: %s\n",
				p->device, strerror(errno));
			return -1;
		}
	}
	pid = fork();
	if (pid == 0)
		run_child(p, dev_fd, argv);
	/*
	 * The child has the device now; a copy kept here would keep the file
	 * open after the child's death and delay recovery until the next
	 * start.
	 */
	if (dev_fd >= 0)
		close(dev_fd);
	if (pid < 0)
		fprintf(stderr, "jrctl: fork: %s\n", strerror(errno));
	return pid;
}

static int supervise(const struct policy *p, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	double failures_since = now_s();
	unsigned int failures = 0, delay = p->delay_ms;
	char what[128];

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	if (p->device && !jr_has_cap(CAP_NET_ADMIN))
		fprintf(stderr, "jrctl: device: warning: no CAP_NET_ADMIN; the kernel "
			"refuses an attach on %s opened without it (EPERM)\n", p->device);

	for (;;) {
		double started = now_s();
		int status;
		pid_t pid = spawn(p, argv);

		if (pid < 0)
			return 1;
		child = pid;
		write_pidfile(p->pidfile, pid);
		fprintf(stderr, "jrctl: started %s (pid %d)\n", argv[0], (int)pid);
		while (waitpid(pid, &status, 0) < 0) {
			if (errno != EINTR) {
				fprintf(stderr, "jrctl: waitpid: %s\n", strerror(errno));
				return 1;
			}
		}
		child = 0;
		describe(status, what, sizeof(what));
		if (stop_requested) {
			fprintf(stderr, "jrctl: %s %s; supervision ends\n", argv[0], what);
			return WIFEXITED(status) ? WEXITSTATUS(status) : 0;
		}
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			fprintf(stderr, "jrctl: %s exited cleanly; supervision ends\n", argv[0]);
			return 0;
		}
		/* A run that lasted a whole window was healthy: start afresh. */
		if (now_s() - started >= p->window_s) {
			failures = 0;
			delay = p->delay_ms;
			failures_since = now_s();
		}
		if (now_s() - failures_since > p->window_s) {
			failures = 0;
			failures_since = now_s();
		}
		failures++;
		if (failures > p->max_failures) {
			fprintf(stderr,
				"jrctl: %s %s; giving up: %u failures within %u s (last: %s)\n",
				argv[0], what, failures, p->window_s, what);
			return 1;
		}
		fprintf(stderr, "jrctl: %s %s; restart %u/%u in %u ms\n", argv[0], what,
			failures, p->max_failures, delay);
		usleep(delay * 1000);
		if (stop_requested)
			return 0;
		delay = delay * 2 > p->max_delay_ms ? p->max_delay_ms : delay * 2;
	}
}

/* ------------------------------------------------------- a set of engines */

/*
 * Start one process of the set: the command with "--engine i" (engine >=
 * 0) or "--standby" appended, on a device opened for it alone.
 */
static pid_t start_member(const struct policy *p, char **argv, int engine)
{
	char index[16], *args[256];
	int n = 0;
	pid_t pid;

	while (argv[n] && n < 250) {
		args[n] = argv[n];
		n++;
	}
	if (engine >= 0) {
		snprintf(index, sizeof(index), "%d", engine);
		args[n++] = "--engine";
		args[n++] = index;
	} else {
		args[n++] = "--standby";
	}
	args[n] = NULL;
	pid = spawn(p, args);
	if (pid < 0)
		return -1;
	if (engine >= 0)
		fprintf(stderr, "jrctl: started %s --engine %d (pid %d)\n", argv[0], engine, (int)pid);
	else
		fprintf(stderr, "jrctl: started %s --standby (pid %d)\n", argv[0], (int)pid);
	return pid;
}

static int add_member(const struct policy *p, char **argv, int engine)
{
	unsigned int i;
	pid_t pid;

	for (i = 0; i < MAX_MEMBERS && members[i].pid > 0; i++)
		;
	if (i == MAX_MEMBERS)
		return -1;
	pid = start_member(p, argv, engine);
	if (pid < 0)
		return -1;
	members[i].engine = engine;
	members[i].pid = pid;
	return 0;
}

/*
 * What the kernel says now: which indexes below p->engines nobody serves
 * (awaited: their engine died and no standby was parked to take them),
 * and which of our processes serve an index.
 */
static int read_engines(unsigned long *awaited, pid_t *serving, unsigned int max)
{
	FILE *f = fopen("/proc/net/joyride_engines", "r");
	char line[256], idx[16], state[32];
	unsigned int n = 0;
	int pid;

	*awaited = 0;
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%15s %31s %d", idx, state, &pid) != 3 ||
		    !isdigit((unsigned char)idx[0]))
			continue;
		if (!strcmp(state, "awaited"))
			*awaited |= 1UL << atoi(idx);
		else if (n < max)
			serving[n++] = pid;
	}
	fclose(f);
	return (int)n;
}

/*
 * Keep the set whole: each index below p->engines served, p->standbys
 * processes parked or on their way.  A process that serves an index is an
 * engine whatever it was started as.
 */
static int refill(const struct policy *p, char **argv)
{
	pid_t serving[MAX_MEMBERS];
	unsigned long awaited;
	unsigned int i, j, standbys = 0;
	int nserving = read_engines(&awaited, serving, MAX_MEMBERS);

	if (nserving < 0) {
		fprintf(stderr, "jrctl: /proc/net/joyride_engines: %s (is joyride.ko loaded?)\n",
			strerror(-nserving));
		return -1;
	}
	for (i = 0; i < p->engines; i++) {
		bool starting = false;

		if (!(awaited & (1UL << i)))
			continue;
		/* Started for it and not attached yet: on its way. */
		for (j = 0; j < MAX_MEMBERS; j++)
			starting |= members[j].pid > 0 && members[j].engine == (int)i;
		if (!starting && add_member(p, argv, i))
			return -1;
	}
	for (j = 0; j < MAX_MEMBERS; j++) {
		bool engine = members[j].engine >= 0;
		int k;

		if (members[j].pid <= 0)
			continue;
		for (k = 0; k < nserving; k++)
			engine |= serving[k] == members[j].pid;
		standbys += !engine;
	}
	while (standbys++ < p->standbys)
		if (add_member(p, argv, -1))
			return -1;
	return 0;
}

static void stop_members(void)
{
	unsigned int i;

	for (i = 0; i < MAX_MEMBERS; i++)
		if (members[i].pid > 0)
			kill(members[i].pid, SIGTERM);
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
		;
}

static int supervise_set(const struct policy *p, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	double failures_since = now_s();
	unsigned int failures = 0, delay = p->delay_ms, i;
	char what[128];

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	for (i = 0; i < p->engines; i++)
		if (add_member(p, argv, i))
			goto fail;
	for (i = 0; i < p->standbys; i++)
		if (add_member(p, argv, -1))
			goto fail;
	write_pidfile(p->pidfile, 0);

	for (;;) {
		int status, engine = -2;
		pid_t pid = waitpid(-1, &status, 0);

		if (pid < 0) {
			if (errno == EINTR)
				continue;
			break;		/* ECHILD: the last one is gone */
		}
		for (i = 0; i < MAX_MEMBERS; i++) {
			if (members[i].pid == pid) {
				engine = members[i].engine;
				members[i].pid = 0;
			}
		}
		if (engine == -2)
			continue;
		describe(status, what, sizeof(what));
		if (stop_requested) {
			fprintf(stderr, "jrctl: pid %d %s\n", (int)pid, what);
			continue;
		}
		if (now_s() - failures_since > p->window_s) {
			failures = 0;
			delay = p->delay_ms;
			failures_since = now_s();
		}
		if (++failures > p->max_failures) {
			fprintf(stderr, "jrctl: pid %d %s; giving up: %u failures within %u s\n",
				(int)pid, what, failures, p->window_s);
			goto fail;
		}
		fprintf(stderr, "jrctl: pid %d (started as %s) %s; refilling the set in %u ms\n",
			(int)pid, engine >= 0 ? "an engine" : "a standby", what, delay);
		usleep(delay * 1000);
		delay = delay * 2 > p->max_delay_ms ? p->max_delay_ms : delay * 2;
		if (stop_requested)
			continue;
		if (refill(p, argv))
			goto fail;
		write_pidfile(p->pidfile, 0);
	}
	fprintf(stderr, "jrctl: supervision ends\n");
	return 0;

fail:
	stop_members();
	return 1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: jrctl supervise [OPTIONS] -- jr-netserver ARGS...\n"
		"       jrctl supervise --engines E --standby S [OPTIONS] -- jr-netserver ARGS...\n"
		"       jrctl status [--json]\n"
		"       jrctl sockets [-tulanpie] [--json] [--state S] [--sport P] [--dport P]\n"
		"       jrctl stats [--json | --prometheus] [-e ENGINE] [-i SECONDS [-c COUNT]]\n"
		"       jrctl top [-d SECONDS] [-n ITERATIONS]\n\n"
		"supervise options:\n"
		"  --delay-ms N        first restart delay (default 100)\n"
		"  --max-delay-ms N    longest restart delay (default 5000)\n"
		"  --max-failures N    give up after N failures within the window (default 5)\n"
		"  --window S          seconds; a run this long resets the count (default 60)\n"
		"  --pidfile FILE      write the netserver's pid here\n"
		"  --device PATH       open PATH (/dev/joyride) before each start and pass it\n"
		"                      to the command as descriptor 3; the command says so\n"
		"                      itself: jr-netserver --device-fd 3\n"
		"  --user NAME         run the command as this user (name or uid), without\n"
		"                      capabilities and unable to regain them\n"
		"  --engines E         run E engines: the command with --engine 0..E-1\n"
		"  --standby S         and S standbys (the command with --standby) that take\n"
		"                      a dead engine's place; jrctl then starts a new standby\n"
		"                      (the engines are DPDK secondaries of a port keeper,\n"
		"                      jr-netserver --keeper, run apart)\n\n"
		"Example, as root: an unprivileged netserver on a device opened for it\n"
		"  jrctl supervise --device /dev/joyride --user joyride -- \\\n"
		"      jr-netserver --device-fd 3 --eal \"...\" --ip 198.18.0.2/24\n");
}

int jrctl_parse_count(const char *name, const char *v, long max, long *out)
{
	char *end;
	long x = strtol(v, &end, 10);

	if (!*v || *end || x < 0 || x > max) {
		fprintf(stderr, "jrctl: %s: invalid value '%s' (accepted: 0..%ld)\n", name, v, max);
		return -1;
	}
	*out = x;
	return 0;
}

static int parse_uint(const char *name, const char *v, unsigned int *out)
{
	long x;

	if (jrctl_parse_count(name, v, 1000000, &x))
		return -1;
	*out = (unsigned int)x;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "delay-ms", required_argument, NULL, 'd' },
		{ "max-delay-ms", required_argument, NULL, 'D' },
		{ "max-failures", required_argument, NULL, 'n' },
		{ "window", required_argument, NULL, 'w' },
		{ "pidfile", required_argument, NULL, 'p' },
		{ "device", required_argument, NULL, 'e' },
		{ "user", required_argument, NULL, 'u' },
		{ "engines", required_argument, NULL, 'E' },
		{ "standby", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct policy p = {
		.delay_ms = 100, .max_delay_ms = 5000, .max_failures = 5, .window_s = 60,
	};
	int opt;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "status"))
		return jrctl_status(argc - 1, argv + 1);
	if (!strcmp(argv[1], "sockets"))
		return jrctl_sockets(argc - 1, argv + 1);
	if (!strcmp(argv[1], "stats"))
		return jrctl_stats(argc - 1, argv + 1);
	if (!strcmp(argv[1], "top"))
		return jrctl_top(argc - 1, argv + 1);
	if (strcmp(argv[1], "supervise")) {
		fprintf(stderr, "jrctl: unknown command '%s'\n", argv[1]);
		usage(stderr);
		return 2;
	}
	optind = 2;
	while ((opt = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (opt) {
		case 'd': if (parse_uint("delay-ms", optarg, &p.delay_ms)) return 2; break;
		case 'D': if (parse_uint("max-delay-ms", optarg, &p.max_delay_ms)) return 2; break;
		case 'n': if (parse_uint("max-failures", optarg, &p.max_failures)) return 2; break;
		case 'w': if (parse_uint("window", optarg, &p.window_s)) return 2; break;
		case 'p': p.pidfile = optarg; break;
		case 'e': p.device = optarg; break;
		case 'u': if (resolve_user(&p, optarg)) return 2; break;
		case 'E': if (parse_uint("engines", optarg, &p.engines)) return 2; break;
		case 'S': if (parse_uint("standby", optarg, &p.standbys)) return 2; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "jrctl: supervise: no command given after --\n");
		return 2;
	}
	if (p.engines > 16 || p.standbys > 64 || (p.standbys && !p.engines)) {
		fprintf(stderr, "jrctl: engines: --engines is 1..16 and --standby 0..64, and standbys need engines (got %u and %u)\n",
			p.engines, p.standbys);
		return 2;
	}
	if (p.engines)
		return supervise_set(&p, argv + optind);
	return supervise(&p, argv + optind);
}
