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
 *   jrctl stats PIDFILE	ask the netserver for statistics (SIGHUP)
 *   jrctl sockets		list Joyride sockets (/proc/net/joyride)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct policy {
	unsigned int	delay_ms;
	unsigned int	max_delay_ms;
	unsigned int	max_failures;
	unsigned int	window_s;
	const char	*pidfile;
};

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t hup_requested;
static volatile pid_t child;

static void on_signal(int sig)
{
	if (sig == SIGHUP) {
		hup_requested = 1;
	} else {
		stop_requested = 1;
	}
	if (child > 0)
		kill(child, sig);
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
	FILE *f;

	if (!path)
		return;
	f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "jrctl: pidfile: cannot write %s: %s\n", path, strerror(errno));
		return;
	}
	fprintf(f, "%d\n", (int)pid);
	fclose(f);
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

	for (;;) {
		double started = now_s();
		int status;
		pid_t pid = fork();

		if (pid < 0) {
			fprintf(stderr, "jrctl: fork: %s\n", strerror(errno));
			return 1;
		}
		if (pid == 0) {
			execvp(argv[0], argv);
			fprintf(stderr, "jrctl: cannot run %s: %s\n", argv[0], strerror(errno));
			_exit(127);
		}
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

static int stats(const char *pidfile)
{
	FILE *f = fopen(pidfile, "r");
	int pid;

	if (!f || fscanf(f, "%d", &pid) != 1) {
		fprintf(stderr, "jrctl: stats: cannot read a pid from %s\n", pidfile);
		if (f)
			fclose(f);
		return 1;
	}
	fclose(f);
	if (kill(pid, SIGHUP)) {
		fprintf(stderr, "jrctl: stats: pid %d: %s\n", pid, strerror(errno));
		return 1;
	}
	return 0;
}

static int sockets(void)
{
	char buf[4096];
	size_t n;
	FILE *f = fopen("/proc/net/joyride", "r");

	if (!f) {
		fprintf(stderr, "jrctl: sockets: /proc/net/joyride: %s (is joyride.ko loaded?)\n",
			strerror(errno));
		return 1;
	}
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, stdout);
	fclose(f);
	return 0;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: jrctl supervise [OPTIONS] -- jr-netserver ARGS...\n"
		"       jrctl stats PIDFILE\n"
		"       jrctl sockets\n\n"
		"supervise options:\n"
		"  --delay-ms N        first restart delay (default 100)\n"
		"  --max-delay-ms N    longest restart delay (default 5000)\n"
		"  --max-failures N    give up after N failures within the window (default 5)\n"
		"  --window S          seconds; a run this long resets the count (default 60)\n"
		"  --pidfile FILE      write the netserver's pid here\n");
}

static int parse_uint(const char *name, const char *v, unsigned int *out)
{
	char *end;
	unsigned long x = strtoul(v, &end, 10);

	if (!*v || *end || x > 1000000) {
		fprintf(stderr, "jrctl: %s: invalid value '%s' (accepted: 0..1000000)\n", name, v);
		return -1;
	}
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
	if (!strcmp(argv[1], "stats"))
		return argc == 3 ? stats(argv[2]) : (usage(stderr), 2);
	if (!strcmp(argv[1], "sockets"))
		return sockets();
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
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "jrctl: supervise: no command given after --\n");
		return 2;
	}
	return supervise(&p, argv + optind);
}
