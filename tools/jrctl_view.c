// SPDX-License-Identifier: GPL-2.0
/*
 * jrctl status, sockets, stats and top: what a Joyride host is doing, for
 * the person who runs it.  Everything comes from what the kernel
 * publishes for the reader's network namespace:
 *
 *   /proc/net/joyride_stat	"name value" lines: the device, each engine,
 *				the kernel's counters and, under
 *				engine.N.ns., the netserver's (jr_stat_show())
 *   /proc/net/joyride_engines	engines and parked standbys, with pids
 *   /proc/net/joyride		one line per socket (jr_seq_show())
 *   /proc/sys/net/joyride/	the sysctls
 *
 * so nothing here needs a privilege or talks to the netserver.  Names in
 * the stat file are taken as they come: a counter the kernel adds shows
 * up in every output without a change here.  Output is a table for
 * people, --json for scripts, and --prometheus (stats) for a node
 * exporter's textfile collector.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "jrctl.h"

#define PROC_STAT	proc_path("/proc/net/joyride_stat")
#define PROC_ENGINES	proc_path("/proc/net/joyride_engines")
#define PROC_SOCKETS	proc_path("/proc/net/joyride")
#define SYSCTL_DIR	proc_path("/proc/sys/net/joyride")

/*
 * $JRCTL_PROC_ROOT, if set, is put before those paths: the host's unit
 * test (selftests/host/jrctl_view_test.sh) feeds recorded files through
 * it.  Owners (-p) are always looked up in the real /proc.
 */
static const char *proc_path(const char *path)
{
	static char buf[4][512];
	static unsigned int next;
	const char *root = getenv("JRCTL_PROC_ROOT");
	char *out;

	if (!root || !*root)
		return path;
	out = buf[next++ % 4];
	snprintf(out, sizeof(buf[0]), "%s%s", root, path);
	return out;
}

/* ------------------------------------------------------- the stat file */

struct stat_entry {
	char		*name;
	char		*value;
};

struct stat_set {
	struct stat_entry *e;
	size_t		n;
	double		when;		/* CLOCK_MONOTONIC, seconds */
};

static double monotonic_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void stat_free(struct stat_set *set)
{
	for (size_t i = 0; i < set->n; i++) {
		free(set->e[i].name);
		free(set->e[i].value);
	}
	free(set->e);
	set->e = NULL;
	set->n = 0;
}

static int stat_load(struct stat_set *set)
{
	FILE *f = fopen(PROC_STAT, "r");
	char *line = NULL, name[256], value[256];
	size_t cap = 0, len = 0;

	memset(set, 0, sizeof(*set));
	if (!f) {
		fprintf(stderr, "jrctl: %s: %s%s\n", PROC_STAT, strerror(errno),
			errno == ENOENT ? " (joyride module not loaded?)" : "");
		return -1;
	}
	set->when = monotonic_s();
	while (getline(&line, &cap, f) > 0) {
		struct stat_entry *grown;

		if (sscanf(line, "%255s %255s", name, value) != 2)
			continue;
		if (set->n == len) {
			len = len ? 2 * len : 128;
			grown = realloc(set->e, len * sizeof(*grown));
			if (!grown)
				break;
			set->e = grown;
		}
		set->e[set->n].name = strdup(name);
		set->e[set->n].value = strdup(value);
		if (!set->e[set->n].name || !set->e[set->n].value)
			break;
		set->n++;
	}
	free(line);
	fclose(f);
	return 0;
}

static const char *stat_str(const struct stat_set *set, const char *name)
{
	for (size_t i = 0; i < set->n; i++)
		if (!strcmp(set->e[i].name, name))
			return set->e[i].value;
	return NULL;
}

static uint64_t stat_u64(const struct stat_set *set, const char *name)
{
	const char *v = stat_str(set, name);

	return v ? strtoull(v, NULL, 10) : 0;
}

static uint64_t engine_u64(const struct stat_set *set, int engine, const char *name)
{
	char key[128];

	snprintf(key, sizeof(key), "engine.%d.%s", engine, name);
	return stat_u64(set, key);
}

/* The engine indices present, in order; returns how many. */
static int stat_engines(const struct stat_set *set, int *idx, int max)
{
	int n = 0;

	for (size_t i = 0; i < set->n; i++) {
		int e, off = 0;

		if (sscanf(set->e[i].name, "engine.%d.%n", &e, &off) == 1 && off &&
		    !strcmp(set->e[i].name + off, "state") && n < max)
			idx[n++] = e;
	}
	return n;
}

/* "user.UID.slots": the uid, or false for any other name. */
static bool user_slots_name(const char *name, unsigned int *uid)
{
	int off = 0;

	return sscanf(name, "user.%u.%n", uid, &off) == 1 && off &&
	       !strcmp(name + off, "slots");
}

static bool is_number(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/*
 * Values that say how things are, not how often something happened:
 * shown as they are, never as a rate, and typed gauge for Prometheus.
 */
static bool is_gauge(const char *name)
{
	static const char *const gauges[] = {
		"state", "pid", "epoch", "uptime_s", "serving_s", "engines",
		"engines_awaited", "standbys", "slots_used", "slots_total",
		"recovering_ms", "last_recovery_ms", "last_recovery_age_s",
		"tcp_conns", "published_ns", "slots",
	};
	const char *last = strrchr(name, '.');

	last = last ? last + 1 : name;
	for (size_t i = 0; i < sizeof(gauges) / sizeof(gauges[0]); i++)
		if (!strcmp(last, gauges[i]))
			return true;
	return false;
}

/* ------------------------------------------------------------- JSON */

/* A minimal writer: objects and arrays nest; commas come by themselves. */
struct json {
	FILE		*out;
	int		depth;
	bool		need_comma[32];
};

static void json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

static void json_key(struct json *j, const char *key)
{
	if (j->need_comma[j->depth])
		fputc(',', j->out);
	j->need_comma[j->depth] = true;
	if (key) {
		json_string(j->out, key);
		fputc(':', j->out);
	}
}

static void json_open(struct json *j, const char *key, char bracket)
{
	json_key(j, key);
	fputc(bracket, j->out);
	if (j->depth < 31)
		j->depth++;
	j->need_comma[j->depth] = false;
}

static void json_close(struct json *j, char bracket)
{
	fputc(bracket, j->out);
	if (j->depth > 0)
		j->depth--;
}

static void json_str(struct json *j, const char *key, const char *v)
{
	json_key(j, key);
	json_string(j->out, v);
}

static void json_u64(struct json *j, const char *key, uint64_t v)
{
	json_key(j, key);
	fprintf(j->out, "%" PRIu64, v);
}

static void json_num(struct json *j, const char *key, double v)
{
	json_key(j, key);
	fprintf(j->out, "%.3f", v);
}

/* A value from the stat file: a number if it is one. */
static void json_value(struct json *j, const char *key, const char *v)
{
	if (is_number(v))
		json_u64(j, key, strtoull(v, NULL, 10));
	else
		json_str(j, key, v);
}

/*
 * The stat file as nested objects: "engine.0.ns.rx_packets" becomes
 * {"engine": {"0": {"ns": {"rx_packets": ...}}}}.  The kernel prints
 * names that share a prefix together, so one pass opens and closes
 * objects as the prefix changes.  With prev (and a positive interval),
 * counters become per-second rates over it.
 */
static void json_stat_set(struct json *j, const struct stat_set *set,
			  const struct stat_set *prev)
{
	char *open_parts[8];
	int nr_open = 0;
	double dt = prev ? set->when - prev->when : 0;

	for (size_t i = 0; i < set->n; i++) {
		char path[256], *parts[8], *save = NULL, *tok;
		int nr = 0, common = 0;

		snprintf(path, sizeof(path), "%s", set->e[i].name);
		for (tok = strtok_r(path, ".", &save); tok && nr < 8;
		     tok = strtok_r(NULL, ".", &save))
			parts[nr++] = tok;
		if (!nr)
			continue;
		while (common < nr_open && common < nr - 1 &&
		       !strcmp(open_parts[common], parts[common]))
			common++;
		while (nr_open > common) {
			json_close(j, '}');
			free(open_parts[--nr_open]);
		}
		while (nr_open < nr - 1) {
			json_open(j, parts[nr_open], '{');
			open_parts[nr_open] = strdup(parts[nr_open]);
			nr_open++;
		}
		if (prev && dt > 0 && !is_gauge(set->e[i].name) && is_number(set->e[i].value)) {
			uint64_t now = strtoull(set->e[i].value, NULL, 10);
			uint64_t was = stat_u64(prev, set->e[i].name);

			/* A counter that went back belongs to a new attach. */
			json_num(j, parts[nr - 1], (now >= was ? now - was : now) / dt);
		} else {
			json_value(j, parts[nr - 1], set->e[i].value);
		}
	}
	while (nr_open > 0) {
		json_close(j, '}');
		free(open_parts[--nr_open]);
	}
}

/* ----------------------------------------------------------- status */

struct standby {
	int		pid;
	unsigned int	slots;
};

/* Parked standbys from /proc/net/joyride_engines; returns how many. */
static int load_standbys(struct standby *sb, int max)
{
	FILE *f = fopen(PROC_ENGINES, "r");
	char line[256], idx[16], state[32];
	int n = 0, pid;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%15s %31s %d", idx, state, &pid) == 3 &&
		    !strcmp(state, "standby") && n < max) {
			unsigned int used, total = 0;
			char *slash = strrchr(line, '/');

			if (slash && sscanf(slash - 1, "%u/%u", &used, &total) != 2)
				total = 0;
			sb[n].pid = pid;
			sb[n].slots = total;
			n++;
		}
	}
	fclose(f);
	return n;
}

static const char *user_name(uid_t uid)
{
	struct passwd *pw = getpwuid(uid);

	return pw ? pw->pw_name : "";
}

static void format_duration(char *buf, size_t len, uint64_t s)
{
	if (s < 120)
		snprintf(buf, len, "%" PRIu64 " s", s);
	else if (s < 7200)
		snprintf(buf, len, "%" PRIu64 " min", s / 60);
	else if (s < 2 * 86400)
		snprintf(buf, len, "%" PRIu64 " h %02" PRIu64 " min", s / 3600, s / 60 % 60);
	else
		snprintf(buf, len, "%" PRIu64 " days", s / 86400);
}

/* The sysctls, "name value" each, into fn(). */
static void for_each_sysctl(void (*fn)(void *ctx, const char *name, const char *value),
			    void *ctx)
{
	DIR *d = opendir(SYSCTL_DIR);
	struct dirent *de;
	char *names[64];
	int n = 0;

	if (!d)
		return;
	while ((de = readdir(d)) && n < 64)
		if (de->d_name[0] != '.')
			names[n++] = strdup(de->d_name);
	closedir(d);
	for (int i = 0; i < n; i++) {
		for (int k = i + 1; k < n; k++) {
			if (strcmp(names[k], names[i]) < 0) {
				char *t = names[i];

				names[i] = names[k];
				names[k] = t;
			}
		}
	}
	for (int i = 0; i < n; i++) {
		char path[512], value[128] = "";
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s", SYSCTL_DIR, names[i]);
		f = fopen(path, "r");
		if (f) {
			if (fgets(value, sizeof(value), f))
				value[strcspn(value, "\n")] = 0;
			fclose(f);
			fn(ctx, names[i], value);
		}
		free(names[i]);
	}
}

static void sysctl_json(void *ctx, const char *name, const char *value)
{
	json_value(ctx, name, value);
}

static void sysctl_text(void *ctx, const char *name, const char *value)
{
	int *col = ctx;

	printf("%s  net.joyride.%s = %s", *col ? "\n" : "", name, value);
	*col = 1;
}

static void status_json(const struct stat_set *set, const struct standby *sb, int nr_sb)
{
	struct json j = { .out = stdout };
	int idx[16], n = stat_engines(set, idx, 16);

	json_open(&j, NULL, '{');
	json_str(&j, "state", stat_str(set, "state") ?: "unknown");
	json_u64(&j, "epoch", stat_u64(set, "epoch"));
	json_u64(&j, "uptime_s", stat_u64(set, "uptime_s"));
	json_open(&j, "engines", '[');
	for (int i = 0; i < n; i++) {
		char key[64];

		json_open(&j, NULL, '{');
		json_u64(&j, "engine", (uint64_t)idx[i]);
		snprintf(key, sizeof(key), "engine.%d.state", idx[i]);
		json_str(&j, "state", stat_str(set, key) ?: "");
		json_u64(&j, "pid", engine_u64(set, idx[i], "pid"));
		json_u64(&j, "epoch", engine_u64(set, idx[i], "epoch"));
		json_u64(&j, "serving_s", engine_u64(set, idx[i], "serving_s"));
		json_u64(&j, "slots_used", engine_u64(set, idx[i], "slots_used"));
		json_u64(&j, "slots_total", engine_u64(set, idx[i], "slots_total"));
		json_u64(&j, "tcp_conns", engine_u64(set, idx[i], "ns.tcp_conns"));
		json_close(&j, '}');
	}
	json_close(&j, ']');
	json_u64(&j, "engines_awaited", stat_u64(set, "engines_awaited"));
	json_open(&j, "standbys", '[');
	for (int i = 0; i < nr_sb; i++) {
		json_open(&j, NULL, '{');
		json_u64(&j, "pid", (uint64_t)sb[i].pid);
		json_u64(&j, "slots_total", sb[i].slots);
		json_close(&j, '}');
	}
	json_close(&j, ']');
	json_open(&j, "slots", '{');
	json_u64(&j, "used", stat_u64(set, "slots_used"));
	json_u64(&j, "total", stat_u64(set, "slots_total"));
	json_close(&j, '}');
	json_open(&j, "users", '[');
	for (size_t i = 0; i < set->n; i++) {
		unsigned int uid;

		if (!user_slots_name(set->e[i].name, &uid))
			continue;
		json_open(&j, NULL, '{');
		json_u64(&j, "uid", uid);
		json_str(&j, "name", user_name(uid));
		json_u64(&j, "slots", strtoull(set->e[i].value, NULL, 10));
		json_close(&j, '}');
	}
	json_close(&j, ']');
	json_open(&j, "recovery", '{');
	json_u64(&j, "count", stat_u64(set, "recoveries"));
	json_u64(&j, "recovering_ms", stat_u64(set, "recovering_ms"));
	if (stat_str(set, "last_recovery_ms")) {
		json_u64(&j, "last_ms", stat_u64(set, "last_recovery_ms"));
		json_u64(&j, "last_age_s", stat_u64(set, "last_recovery_age_s"));
	}
	json_u64(&j, "conns_kept", stat_u64(set, "conns_kept"));
	json_u64(&j, "conns_restored", stat_u64(set, "conns_restored"));
	json_u64(&j, "conns_reset", stat_u64(set, "conns_reset"));
	json_close(&j, '}');
	json_open(&j, "sysctl", '{');
	for_each_sysctl(sysctl_json, &j);
	json_close(&j, '}');
	json_close(&j, '}');
	fputc('\n', stdout);
}

static void status_text(const struct stat_set *set, const struct standby *sb, int nr_sb)
{
	int idx[16], n = stat_engines(set, idx, 16), col = 0;
	char up[64];

	format_duration(up, sizeof(up), stat_u64(set, "uptime_s"));
	printf("Joyride: %s, epoch %" PRIu64 "%s%s\n", stat_str(set, "state") ?: "unknown",
	       stat_u64(set, "epoch"), stat_u64(set, "uptime_s") ? ", first attach " : "",
	       stat_u64(set, "uptime_s") ? up : "");
	if (stat_u64(set, "recovering_ms"))
		printf("  recovering for %" PRIu64 " ms (%" PRIu64 " engine(s) awaited)\n",
		       stat_u64(set, "recovering_ms"), stat_u64(set, "engines_awaited"));
	printf("Engines: %d attached, %" PRIu64 " awaited, %d standby\n", n,
	       stat_u64(set, "engines_awaited"), nr_sb);
	for (int i = 0; i < n; i++) {
		char key[64];

		snprintf(key, sizeof(key), "engine.%d.state", idx[i]);
		format_duration(up, sizeof(up), engine_u64(set, idx[i], "serving_s"));
		printf("  engine %-2d %-9s pid %-7" PRIu64 " epoch %-4" PRIu64
		       " slots %" PRIu64 "/%" PRIu64 "  tcp %" PRIu64 "  serving %s\n",
		       idx[i], stat_str(set, key) ?: "?", engine_u64(set, idx[i], "pid"),
		       engine_u64(set, idx[i], "epoch"), engine_u64(set, idx[i], "slots_used"),
		       engine_u64(set, idx[i], "slots_total"),
		       engine_u64(set, idx[i], "ns.tcp_conns"), up);
	}
	for (int i = 0; i < nr_sb; i++)
		printf("  standby   parked    pid %d\n", sb[i].pid);
	printf("Slots: %" PRIu64 "/%" PRIu64 " in use", stat_u64(set, "slots_used"),
	       stat_u64(set, "slots_total"));
	for (size_t i = 0; i < set->n; i++) {
		unsigned int uid;

		if (user_slots_name(set->e[i].name, &uid))
			printf("%s uid %u (%s) %s", col++ ? "," : "; by user:", uid,
			       user_name(uid), set->e[i].value);
	}
	printf("\nRecoveries: %" PRIu64, stat_u64(set, "recoveries"));
	if (stat_str(set, "last_recovery_ms")) {
		format_duration(up, sizeof(up), stat_u64(set, "last_recovery_age_s"));
		printf("; the last took %" PRIu64 " ms, %s ago", stat_u64(set, "last_recovery_ms"), up);
	}
	printf("\nConnections through deaths: %" PRIu64 " kept, %" PRIu64 " restored, %" PRIu64
	       " reset\n", stat_u64(set, "conns_kept"), stat_u64(set, "conns_restored"),
	       stat_u64(set, "conns_reset"));
	printf("Sysctls:\n");
	col = 0;
	for_each_sysctl(sysctl_text, &col);
	printf("\n");
}

static void status_usage(FILE *out)
{
	fprintf(out, "Usage: jrctl status [--json]\n");
}

int jrctl_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct standby sb[64];
	struct stat_set set;
	bool json = false;
	int opt, nr_sb;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'j': json = true; break;
		case 'h': status_usage(stdout); return 0;
		default: status_usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		status_usage(stderr);
		return 2;
	}
	if (stat_load(&set))
		return 1;
	nr_sb = load_standbys(sb, 64);
	if (json)
		status_json(&set, sb, nr_sb);
	else
		status_text(&set, sb, nr_sb);
	stat_free(&set);
	return 0;
}

/* ------------------------------------------------------------ stats */

/* One row of the table: a device-wide name, or an engine's (engine.N. cut). */
struct row {
	const char	*name;
	bool		per_engine;
};

/* The rows, in the kernel's order: device-wide counters, then the first
 * engine's names (every engine has the same).  Returns how many. */
static int stat_rows(const struct stat_set *set, struct row *rows, int max)
{
	int n = 0, first = -1;

	for (size_t i = 0; i < set->n && n < max; i++) {
		const char *name = set->e[i].name;
		int e, off = 0;

		if (!strncmp(name, "user.", 5))
			continue;
		if (sscanf(name, "engine.%d.%n", &e, &off) == 1 && off) {
			if (first < 0)
				first = e;
			if (e != first)
				continue;
			rows[n].name = name + off;
			rows[n++].per_engine = true;
		} else if (!is_gauge(name)) {
			rows[n].name = name;
			rows[n++].per_engine = false;
		}
	}
	return n;
}

static bool row_value(const struct stat_set *set, const struct stat_set *prev,
		      const char *key, double *out)
{
	const char *v = stat_str(set, key);
	uint64_t now, was;
	double dt;

	if (!v || !is_number(v))
		return false;
	now = strtoull(v, NULL, 10);
	if (!prev || is_gauge(key)) {
		*out = (double)now;
		return true;
	}
	was = stat_u64(prev, key);
	dt = set->when - prev->when;
	*out = dt > 0 ? (now >= was ? now - was : now) / dt : 0;
	return true;
}

static void print_value(double v, bool rate)
{
	if (rate && v != (double)(uint64_t)v)
		printf(" %14.1f", v);
	else
		printf(" %14.0f", v);
}

static void stats_table(const struct stat_set *set, const struct stat_set *prev, int only)
{
	struct row rows[256];
	int idx[16], ne = stat_engines(set, idx, 16), nr = stat_rows(set, rows, 256);
	bool many = ne > 1 && only < 0;

	printf("%-28s", prev ? "per second" : "since attach");
	if (many)
		printf(" %14s", "total");
	for (int i = 0; i < ne; i++)
		if (only < 0 || idx[i] == only)
			printf("       engine %-2d", idx[i]);
	printf("\n");
	for (int r = 0; r < nr; r++) {
		char key[192];
		double v, sum = 0;

		if (!rows[r].per_engine) {
			if (only >= 0 || !row_value(set, prev, rows[r].name, &v))
				continue;
			printf("%-28s %14.*f\n", rows[r].name, prev && !is_gauge(rows[r].name) ? 1 : 0, v);
			continue;
		}
		/* Of the gauges, only those that add up across engines. */
		if (is_gauge(rows[r].name) && strcmp(rows[r].name, "slots_used") &&
		    strcmp(rows[r].name, "ns.tcp_conns"))
			continue;
		printf("%-28s", rows[r].name);
		for (int i = 0; i < ne; i++) {
			snprintf(key, sizeof(key), "engine.%d.%s", idx[i], rows[r].name);
			if (row_value(set, prev, key, &v))
				sum += v;
		}
		if (many)
			print_value(sum, prev != NULL);
		for (int i = 0; i < ne; i++) {
			if (only >= 0 && idx[i] != only)
				continue;
			snprintf(key, sizeof(key), "engine.%d.%s", idx[i], rows[r].name);
			if (row_value(set, prev, key, &v))
				print_value(v, prev != NULL);
			else
				printf(" %14s", "-");
		}
		printf("\n");
	}
}

/*
 * Prometheus text format.  "engine.N.x" becomes joyride_engine_x{engine="N"}
 * (the ns. of the netserver's counters dropped), "rejected.why"
 * joyride_rejected_total{reason="why"}, "user.U.slots"
 * joyride_user_slots{uid="U"}; the state is a 1 on its label.  Counters
 * end in _total, as the format's conventions ask.
 */
static void prom_line(const char *base, const char *labels, const char *name,
		      const char *value, bool *typed, size_t i)
{
	char metric[256], *p, unit_name[128], scaled[32];
	const char *reason = NULL, *dot;
	char lbl[256];
	bool gauge = is_gauge(name);
	size_t len;

	if (!strncmp(name, "ns.", 3))
		name += 3;
	if (!strcmp(name, "published_ns"))
		return;		/* the netserver's clock: no use to a scraper */
	/* Times in the format's base unit, seconds. */
	len = strlen(name);
	if (len > 3 && len < sizeof(unit_name) && !strcmp(name + len - 3, "_ms") &&
	    is_number(value)) {
		snprintf(unit_name, sizeof(unit_name), "%.*s_seconds", (int)(len - 3), name);
		snprintf(scaled, sizeof(scaled), "%.3f", strtoull(value, NULL, 10) / 1e3);
		name = unit_name;
		value = scaled;
	} else if (len > 2 && len < sizeof(unit_name) && !strcmp(name + len - 2, "_s")) {
		snprintf(unit_name, sizeof(unit_name), "%.*s_seconds", (int)(len - 2), name);
		name = unit_name;
	}
	dot = strchr(name, '.');
	if (!strncmp(name, "rejected.", 9)) {
		reason = name + 9;
		name = "rejected";
	} else if (dot) {
		return;		/* a name this version does not know how to label */
	}
	if (!strcmp(name, "state")) {
		snprintf(metric, sizeof(metric), "%s_state", base);
		snprintf(lbl, sizeof(lbl), "{%s%sstate=\"%s\"}", labels, *labels ? "," : "", value);
		if (!typed[i])
			printf("# TYPE %s gauge\n", metric);
		typed[i] = true;
		printf("%s%s 1\n", metric, lbl);
		return;
	}
	if (!is_number(value) && value != scaled)
		return;
	snprintf(metric, sizeof(metric), "%s_%s%s", base, name, gauge ? "" : "_total");
	for (p = metric; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_')
			*p = '_';
	if (reason)
		snprintf(lbl, sizeof(lbl), "{%s%sreason=\"%s\"}", labels, *labels ? "," : "", reason);
	else
		snprintf(lbl, sizeof(lbl), "%s%s%s", *labels ? "{" : "", labels, *labels ? "}" : "");
	if (!typed[i])
		printf("# TYPE %s %s\n", metric, gauge ? "gauge" : "counter");
	typed[i] = true;
	printf("%s%s %s\n", metric, lbl, value);
}

static void stats_prometheus(const struct stat_set *set)
{
	bool *typed = calloc(set->n, sizeof(bool));
	int idx[16], ne = stat_engines(set, idx, 16);

	if (!typed)
		return;
	/* Device-wide first, then each metric of all engines together, as
	 * the format wants a metric's lines in one group. */
	for (size_t i = 0; i < set->n; i++) {
		const char *name = set->e[i].name;
		unsigned int uid;

		if (!strncmp(name, "engine.", 7))
			continue;
		if (user_slots_name(name, &uid)) {
			char labels[64];

			snprintf(labels, sizeof(labels), "uid=\"%u\"", uid);
			prom_line("joyride_user", labels, "slots", set->e[i].value, typed, i);
			/* Every user's line belongs to the first one's group. */
			for (size_t k = i + 1; k < set->n; k++)
				if (!strncmp(set->e[k].name, "user.", 5))
					typed[k] = true;
			continue;
		}
		prom_line("joyride", "", name, set->e[i].value, typed, i);
		if (!strncmp(name, "rejected.", 9))
			for (size_t k = i + 1; k < set->n; k++)
				if (!strncmp(set->e[k].name, "rejected.", 9))
					typed[k] = true;
	}
	if (ne) {
		struct row rows[256];
		int nr = stat_rows(set, rows, 256);
		bool *row_typed = calloc((size_t)nr, sizeof(bool));

		for (int r = 0; row_typed && r < nr; r++) {
			if (!rows[r].per_engine)
				continue;
			for (int i = 0; i < ne; i++) {
				char key[192], labels[32];
				const char *v;

				snprintf(key, sizeof(key), "engine.%d.%s", idx[i], rows[r].name);
				v = stat_str(set, key);
				if (!v)
					continue;
				snprintf(labels, sizeof(labels), "engine=\"%d\"", idx[i]);
				/* All reasons of "rejected" share one TYPE line. */
				if (!strncmp(rows[r].name, "rejected.", 9) && r > 0 &&
				    !strncmp(rows[r - 1].name, "rejected.", 9))
					row_typed[r] = true;
				prom_line("joyride_engine", labels, rows[r].name, v, row_typed, (size_t)r);
			}
		}
		free(row_typed);
	}
	free(typed);
}

static void stats_usage(FILE *out)
{
	fprintf(out,
		"Usage: jrctl stats [--json | --prometheus] [-e ENGINE] [-i SECONDS [-c COUNT]]\n"
		"  counters since each engine attached; with -i, rates per second over\n"
		"  each interval, COUNT times (default: until interrupted)\n");
}

static volatile sig_atomic_t view_stop;

static void on_view_signal(int sig)
{
	(void)sig;
	view_stop = 1;
}

static int parse_interval(const char *v, double *out)
{
	char *end;
	double x = strtod(v, &end);

	if (!*v || *end || !(x >= 0.1 && x <= 86400)) {
		fprintf(stderr, "jrctl: interval: invalid value '%s' (accepted: 0.1..86400 seconds)\n", v);
		return -1;
	}
	*out = x;
	return 0;
}

/* Sleep until `until` (monotonic seconds) or a signal. */
static void sleep_until(double until)
{
	double left;

	while (!view_stop && (left = until - monotonic_s()) > 0) {
		struct timespec ts = { (time_t)left, (long)((left - (time_t)left) * 1e9) };

		nanosleep(&ts, NULL);
	}
}

int jrctl_stats(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "prometheus", no_argument, NULL, 'P' },
		{ "interval", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'c' },
		{ "engine", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct stat_set prev = { 0 }, cur;
	bool json = false, prom = false;
	double interval = 0, next;
	long count = 0, engine = -1, done = 0;
	int opt;

	while ((opt = getopt_long(argc, argv, "i:c:e:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'j': json = true; break;
		case 'P': prom = true; break;
		case 'i': if (parse_interval(optarg, &interval)) return 2; break;
		case 'c': if (jrctl_parse_count("count", optarg, 100000000, &count)) return 2; break;
		case 'e': if (jrctl_parse_count("engine", optarg, 15, &engine)) return 2; break;
		case 'h': stats_usage(stdout); return 0;
		default: stats_usage(stderr); return 2;
		}
	}
	if (optind != argc || (json && prom) || (prom && interval) || (count && !interval)) {
		if (prom && interval)
			fprintf(stderr, "jrctl: stats: --prometheus prints totals; Prometheus computes rates\n");
		stats_usage(stderr);
		return 2;
	}
	if (stat_load(&cur))
		return 1;
	if (!interval) {
		if (prom) {
			stats_prometheus(&cur);
		} else if (json) {
			struct json j = { .out = stdout };

			json_open(&j, NULL, '{');
			json_stat_set(&j, &cur, NULL);
			json_close(&j, '}');
			fputc('\n', stdout);
		} else {
			stats_table(&cur, NULL, (int)engine);
		}
		stat_free(&cur);
		return 0;
	}
	signal(SIGINT, on_view_signal);
	signal(SIGTERM, on_view_signal);
	next = cur.when;
	while (!view_stop && (!count || done < count)) {
		prev = cur;
		next += interval;
		sleep_until(next);
		if (view_stop || stat_load(&cur))
			break;
		if (json) {
			struct json j = { .out = stdout };

			json_open(&j, NULL, '{');
			json_num(&j, "interval_s", cur.when - prev.when);
			json_stat_set(&j, &cur, &prev);
			json_close(&j, '}');
			fputc('\n', stdout);
		} else {
			stats_table(&cur, &prev, (int)engine);
			printf("\n");
		}
		fflush(stdout);
		stat_free(&prev);
		done++;
	}
	stat_free(&cur);
	return 0;
}

/* -------------------------------------------------------------- top */

static struct termios saved_tty;
static bool tty_raw;

static void tty_restore(void)
{
	if (tty_raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tty);
	tty_raw = false;
}

/* Keys without Enter, no echo: q quits. */
static void tty_keys(void)
{
	struct termios t;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_tty))
		return;
	t = saved_tty;
	t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	t.c_cc[VMIN] = 0;
	t.c_cc[VTIME] = 0;
	if (!tcsetattr(STDIN_FILENO, TCSANOW, &t)) {
		tty_raw = true;
		atexit(tty_restore);
	}
}

/* The per-engine lines top shows: rate (per second) unless a gauge. */
static const struct {
	const char	*label;
	const char	*name;		/* under engine.N. */
	double		scale;		/* bytes: 8e-6 makes Mbit/s */
} top_rows[] = {
	{ "rx packets/s",	"ns.rx_packets",	1 },
	{ "tx packets/s",	"ns.tx_packets",	1 },
	{ "rx Mbit/s",		"ns.rx_bytes",		8e-6 },
	{ "tx Mbit/s",		"ns.tx_bytes",		8e-6 },
	{ "tcp connections",	"ns.tcp_conns",		1 },
	{ "tcp opened/s",	"ns.tcp_opened",	1 },
	{ "tcp accepted/s",	"ns.tcp_accepted",	1 },
	{ "tcp resets/s",	"ns.tcp_resets",	1 },
	{ "tcp retransmits/s",	"ns.tcp_retransmits",	1 },
	{ "tcp timeouts/s",	"ns.tcp_timeouts",	1 },
	{ "drops rx queue/s",	"ns.drop_rx_queue",	1 },
	{ "drops no mbuf/s",	"ns.drop_no_mbuf",	1 },
	{ "drops bad csum/s",	"ns.drop_bad_csum",	1 },
	{ "tx queue busy/s",	"ns.tx_busy",		1 },
	{ "rx ring full/s",	"ns.ring_full",		1 },
	{ "requests/s",		"requests",		1 },
	{ "replies/s",		"replies",		1 },
	{ "kicks/s",		"ns.kicks",		1 },
	{ "wake-ups/s",		"ns.wakeups",		1 },
	{ "loop busy %",	NULL,			1 },
	{ "slots used",		"slots_used",		1 },
};

static double top_value(const struct stat_set *cur, const struct stat_set *prev,
			int engine, const char *name, double scale)
{
	char key[128];
	double v;

	if (!name) {
		/* Busy: the share of loop turns that found work. */
		double loops, idle;

		snprintf(key, sizeof(key), "engine.%d.ns.loops", engine);
		if (!row_value(cur, prev, key, &loops) || loops <= 0)
			return 0;
		snprintf(key, sizeof(key), "engine.%d.ns.loops_idle", engine);
		if (!row_value(cur, prev, key, &idle))
			return 0;
		return 100.0 * (loops - idle) / loops;
	}
	snprintf(key, sizeof(key), "engine.%d.%s", engine, name);
	return row_value(cur, prev, key, &v) ? v * scale : 0;
}

static void top_draw(const struct stat_set *cur, const struct stat_set *prev, double interval)
{
	int idx[16], ne = stat_engines(cur, idx, 16);
	time_t now = time(NULL);
	char clock[32];

	strftime(clock, sizeof(clock), "%H:%M:%S", localtime(&now));
	/* Home, clear: the whole screen is redrawn each time. */
	printf("\033[H\033[2J");
	printf("jrctl top - %s  every %.1f s  (q quits)\n", clock, interval);
	printf("Joyride: %s, epoch %" PRIu64 ", %d engine(s), slots %" PRIu64 "/%" PRIu64
	       ", recoveries %" PRIu64, stat_str(cur, "state") ?: "unknown",
	       stat_u64(cur, "epoch"), ne, stat_u64(cur, "slots_used"),
	       stat_u64(cur, "slots_total"), stat_u64(cur, "recoveries"));
	if (stat_u64(cur, "recovering_ms"))
		printf(", RECOVERING %" PRIu64 " ms", stat_u64(cur, "recovering_ms"));
	printf("\n\n%-20s", "");
	if (ne > 1)
		printf(" %12s", "total");
	for (int i = 0; i < ne; i++)
		printf("  engine %-2d pid", idx[i]);
	printf("\n%-20s", "");
	if (ne > 1)
		printf(" %12s", "");
	for (int i = 0; i < ne; i++)
		printf(" %15" PRIu64, engine_u64(cur, idx[i], "pid"));
	printf("\n");
	for (size_t r = 0; r < sizeof(top_rows) / sizeof(top_rows[0]); r++) {
		double sum = 0, v[16];

		for (int i = 0; i < ne; i++) {
			v[i] = top_value(cur, prev, idx[i], top_rows[r].name, top_rows[r].scale);
			sum += v[i];
		}
		if (!top_rows[r].name && ne)
			sum /= ne;
		printf("%-20s", top_rows[r].label);
		if (ne > 1)
			printf(" %12.1f", sum);
		for (int i = 0; i < ne; i++)
			printf(" %15.1f", v[i]);
		printf("\n");
	}
	fflush(stdout);
}

static void top_usage(FILE *out)
{
	fprintf(out, "Usage: jrctl top [-d SECONDS] [-n ITERATIONS]\n");
}

int jrctl_top(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "delay", required_argument, NULL, 'd' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct stat_set prev, cur;
	double delay = 1, next;
	long iterations = 0, done = 0;
	int opt;

	while ((opt = getopt_long(argc, argv, "d:n:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'd': if (parse_interval(optarg, &delay)) return 2; break;
		case 'n': if (jrctl_parse_count("iterations", optarg, 100000000, &iterations)) return 2; break;
		case 'h': top_usage(stdout); return 0;
		default: top_usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		top_usage(stderr);
		return 2;
	}
	if (stat_load(&cur))
		return 1;
	signal(SIGINT, on_view_signal);
	signal(SIGTERM, on_view_signal);
	tty_keys();
	next = cur.when;
	while (!view_stop && (!iterations || done < iterations)) {
		struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
		double left;

		prev = cur;
		next += delay;
		/* Wait for the next redraw, or a key. */
		while (!view_stop && (left = next - monotonic_s()) > 0) {
			if (tty_raw && poll(&pfd, 1, (int)(left * 1000) + 1) > 0) {
				char c;

				if (read(STDIN_FILENO, &c, 1) == 1 && (c == 'q' || c == 'Q'))
					view_stop = 1;
			} else if (!tty_raw) {
				sleep_until(next);
			}
		}
		if (view_stop || stat_load(&cur)) {
			cur = prev;
			break;
		}
		top_draw(&cur, &prev, delay);
		stat_free(&prev);
		done++;
	}
	stat_free(&cur);
	tty_restore();
	return 0;
}

/* ---------------------------------------------------------- sockets */

struct sock_line {
	char		proto[8];
	char		state[16];
	int		slot;
	long		rxq, txq;
	char		local[64], peer[64];
	unsigned int	engine;
	unsigned int	uid;
	unsigned long	ino;
	unsigned int	rtt_us, cwnd, retrans;
	bool		has_tcp_info;
	char		flags[128];	/* the words that are not key=value */
};

/* One line of /proc/net/joyride; false for the header or a short one. */
static bool sock_parse(char *line, struct sock_line *s)
{
	char *tok, *save = NULL;
	int field = 0;

	memset(s, 0, sizeof(*s));
	for (tok = strtok_r(line, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save)) {
		switch (field++) {
		case 0: snprintf(s->proto, sizeof(s->proto), "%s", tok); break;
		case 1: snprintf(s->state, sizeof(s->state), "%s", tok); break;
		case 2: s->slot = atoi(tok); break;
		case 3: s->rxq = atol(tok); break;
		case 4: s->txq = atol(tok); break;
		case 5: snprintf(s->local, sizeof(s->local), "%s", tok); break;
		case 6: snprintf(s->peer, sizeof(s->peer), "%s", tok); break;
		default:
			if (sscanf(tok, "engine=%u", &s->engine) == 1 ||
			    sscanf(tok, "uid=%u", &s->uid) == 1 ||
			    sscanf(tok, "ino=%lu", &s->ino) == 1 ||
			    sscanf(tok, "cwnd=%u", &s->cwnd) == 1 ||
			    sscanf(tok, "retrans=%u", &s->retrans) == 1 ||
			    strchr(tok, '=') != NULL) {
				if (sscanf(tok, "rtt=%u", &s->rtt_us) == 1)
					s->has_tcp_info = true;
				break;
			}
			if (strlen(s->flags) + strlen(tok) + 2 < sizeof(s->flags)) {
				if (*s->flags)
					strcat(s->flags, " ");
				strcat(s->flags, tok);
			}
			break;
		}
	}
	return field >= 7 && strcmp(s->proto, "Proto");
}

/* "addr:port" split at the last colon; port 0 shows as "*". */
static void format_endpoint(char *out, size_t len, const char *ep, bool numeric,
			    const char *proto)
{
	const char *colon = strrchr(ep, ':');
	unsigned int port = colon ? (unsigned int)atoi(colon + 1) : 0;
	int addr_len = colon ? (int)(colon - ep) : (int)strlen(ep);
	struct servent *se;

	if (!port) {
		snprintf(out, len, "%.*s:*", addr_len, ep);
		return;
	}
	se = numeric ? NULL : getservbyport(htons((uint16_t)port), proto);
	if (se)
		snprintf(out, len, "%.*s:%s", addr_len, ep, se->s_name);
	else
		snprintf(out, len, "%.*s:%u", addr_len, ep, port);
}

/* Who holds each socket: /proc/PID/fd/N -> socket:[ino], as ss -p finds it. */
struct owner {
	unsigned long	ino;
	int		pid, fd;
	char		comm[32];
};

struct owners {
	struct owner	*o;
	size_t		n, cap;
};

static void owners_load(struct owners *ow, const struct sock_line *socks, size_t nr)
{
	DIR *proc = opendir("/proc");
	struct dirent *pe;

	memset(ow, 0, sizeof(*ow));
	if (!proc)
		return;
	while ((pe = readdir(proc))) {
		char path[300], comm[32] = "";
		struct dirent *fe;
		DIR *fds;
		FILE *f;
		int pid = atoi(pe->d_name);

		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd", pid);
		fds = opendir(path);
		if (!fds)
			continue;		/* gone, or not ours to see */
		snprintf(path, sizeof(path), "/proc/%d/comm", pid);
		f = fopen(path, "r");
		if (f) {
			if (fgets(comm, sizeof(comm), f))
				comm[strcspn(comm, "\n")] = 0;
			fclose(f);
		}
		while ((fe = readdir(fds))) {
			char link[64];
			unsigned long ino;
			ssize_t n;

			snprintf(path, sizeof(path), "/proc/%d/fd/%s", pid, fe->d_name);
			n = readlink(path, link, sizeof(link) - 1);
			if (n <= 0)
				continue;
			link[n] = 0;
			if (sscanf(link, "socket:[%lu]", &ino) != 1)
				continue;
			for (size_t i = 0; i < nr; i++) {
				if (socks[i].ino != ino)
					continue;
				if (ow->n == ow->cap) {
					struct owner *g;

					ow->cap = ow->cap ? 2 * ow->cap : 64;
					g = realloc(ow->o, ow->cap * sizeof(*g));
					if (!g)
						break;
					ow->o = g;
				}
				ow->o[ow->n].ino = ino;
				ow->o[ow->n].pid = pid;
				ow->o[ow->n].fd = atoi(fe->d_name);
				snprintf(ow->o[ow->n].comm, sizeof(ow->o[ow->n].comm), "%s", comm);
				ow->n++;
				break;
			}
		}
		closedir(fds);
	}
	closedir(proc);
}

/* What --state accepts: the kernel's states and ss(8)'s groups. */
static const char *const state_words[] = {
	"established", "syn-sent", "listen", "close", "unconn", "listening",
	"connected", "surviving", "all",
};

static bool state_known(const char *want)
{
	for (size_t i = 0; i < sizeof(state_words) / sizeof(state_words[0]); i++)
		if (!strcasecmp(want, state_words[i]))
			return true;
	return false;
}

static bool state_matches(const struct sock_line *s, const char *want)
{
	bool listening = !strcmp(s->state, "LISTEN") || !strcmp(s->state, "UNCONN");

	if (!want)
		return true;
	if (!strcasecmp(want, "all"))
		return true;
	if (!strcasecmp(want, "connected"))
		return !listening && strcmp(s->state, "CLOSE");
	if (!strcasecmp(want, "established"))
		return !strcmp(s->state, "ESTAB");
	if (!strcasecmp(want, "syn-sent"))
		return !strcmp(s->state, "SYN-SENT");
	if (!strcasecmp(want, "surviving"))
		return strstr(s->flags, "surviving") != NULL;
	if (!strcasecmp(want, "listening"))
		return listening;
	return !strcasecmp(want, s->state);
}

static void sockets_usage(FILE *out)
{
	fprintf(out,
		"Usage: jrctl sockets [-tulanpie] [--json] [--state STATE] [--sport PORT] [--dport PORT]\n"
		"  -t TCP  -u UDP  -l listening only  -a all  -n numeric ports\n"
		"  -p owning processes  -i TCP details  -e uid, inode, slot, engine\n"
		"  STATE: established, syn-sent, listen, unconn, close, connected,\n"
		"         listening, surviving, all\n");
}

static unsigned int endpoint_port(const char *ep)
{
	const char *colon = strrchr(ep, ':');

	return colon ? (unsigned int)atoi(colon + 1) : 0;
}

int jrctl_sockets(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tcp", no_argument, NULL, 't' },
		{ "udp", no_argument, NULL, 'u' },
		{ "listening", no_argument, NULL, 'l' },
		{ "all", no_argument, NULL, 'a' },
		{ "numeric", no_argument, NULL, 'n' },
		{ "processes", no_argument, NULL, 'p' },
		{ "info", no_argument, NULL, 'i' },
		{ "extended", no_argument, NULL, 'e' },
		{ "json", no_argument, NULL, 'j' },
		{ "state", required_argument, NULL, 's' },
		{ "sport", required_argument, NULL, 'S' },
		{ "dport", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool tcp = false, udp = false, listening = false, all = false, numeric = false;
	bool procs = false, info = false, ext = false, json = false;
	const char *state = NULL;
	long sport = -1, dport = -1;
	struct sock_line *socks = NULL;
	size_t nr = 0, cap = 0;
	struct owners ow = { 0 };
	char *line = NULL;
	size_t line_cap = 0;
	struct json j = { .out = stdout };
	FILE *f;
	int opt;

	while ((opt = getopt_long(argc, argv, "tulanpieh", opts, NULL)) != -1) {
		switch (opt) {
		case 't': tcp = true; break;
		case 'u': udp = true; break;
		case 'l': listening = true; break;
		case 'a': all = true; break;
		case 'n': numeric = true; break;
		case 'p': procs = true; break;
		case 'i': info = true; break;
		case 'e': ext = true; break;
		case 'j': json = true; break;
		case 's': state = optarg; break;
		case 'S': if (jrctl_parse_count("sport", optarg, 65535, &sport)) return 2; break;
		case 'D': if (jrctl_parse_count("dport", optarg, 65535, &dport)) return 2; break;
		case 'h': sockets_usage(stdout); return 0;
		default: sockets_usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		sockets_usage(stderr);
		return 2;
	}
	if (state && !state_known(state)) {
		fprintf(stderr, "jrctl: sockets: unknown state '%s' (the kernel knows: established, "
			"syn-sent, listen, close, unconn; and connected, listening, surviving, all)\n",
			state);
		return 2;
	}
	if (!tcp && !udp)
		tcp = udp = true;
	f = fopen(PROC_SOCKETS, "r");
	if (!f) {
		fprintf(stderr, "jrctl: %s: %s%s\n", PROC_SOCKETS, strerror(errno),
			errno == ENOENT ? " (joyride module not loaded?)" : "");
		return 1;
	}
	while (getline(&line, &line_cap, f) > 0) {
		struct sock_line s;
		bool is_listening;

		if (!sock_parse(line, &s))
			continue;
		is_listening = !strcmp(s.state, "LISTEN") || !strcmp(s.state, "UNCONN");
		if ((!strcmp(s.proto, "tcp") && !tcp) || (!strcmp(s.proto, "udp") && !udp))
			continue;
		if (state) {
			if (!state_matches(&s, state))
				continue;
		} else if (!all && listening != is_listening) {
			continue;
		}
		if (sport >= 0 && endpoint_port(s.local) != (unsigned int)sport)
			continue;
		if (dport >= 0 && endpoint_port(s.peer) != (unsigned int)dport)
			continue;
		if (nr == cap) {
			struct sock_line *g;

			cap = cap ? 2 * cap : 64;
			g = realloc(socks, cap * sizeof(*g));
			if (!g)
				break;
			socks = g;
		}
		socks[nr++] = s;
	}
	free(line);
	fclose(f);
	if (procs)
		owners_load(&ow, socks, nr);

	if (json)
		json_open(&j, NULL, '[');
	else
		printf("%-5s %-9s %6s %6s %-30s %-30s%s\n", "Netid", "State", "Recv-Q", "Send-Q",
		       "Local Address:Port", "Peer Address:Port", procs ? " Process" : "");
	for (size_t i = 0; i < nr; i++) {
		const struct sock_line *s = &socks[i];
		char local[80], peer[80];

		format_endpoint(local, sizeof(local), s->local, numeric || json, s->proto);
		format_endpoint(peer, sizeof(peer), s->peer, numeric || json, s->proto);
		if (json) {
			json_open(&j, NULL, '{');
			json_str(&j, "netid", s->proto);
			json_str(&j, "state", s->state);
			json_u64(&j, "recv_q", (uint64_t)s->rxq);
			json_u64(&j, "send_q", (uint64_t)s->txq);
			json_str(&j, "local", s->local);
			json_str(&j, "peer", s->peer);
			json_u64(&j, "engine", s->engine);
			json_u64(&j, "slot", (uint64_t)(s->slot < 0 ? 0 : s->slot));
			json_u64(&j, "uid", s->uid);
			json_u64(&j, "inode", s->ino);
			json_str(&j, "flags", s->flags);
			if (s->has_tcp_info) {
				json_u64(&j, "rtt_us", s->rtt_us);
				json_u64(&j, "cwnd", s->cwnd);
				json_u64(&j, "retrans", s->retrans);
			}
			if (procs) {
				json_open(&j, "processes", '[');
				for (size_t k = 0; k < ow.n; k++) {
					if (ow.o[k].ino != s->ino)
						continue;
					json_open(&j, NULL, '{');
					json_str(&j, "name", ow.o[k].comm);
					json_u64(&j, "pid", (uint64_t)ow.o[k].pid);
					json_u64(&j, "fd", (uint64_t)ow.o[k].fd);
					json_close(&j, '}');
				}
				json_close(&j, ']');
			}
			json_close(&j, '}');
			continue;
		}
		printf("%-5s %-9s %6ld %6ld %-30s %-30s", s->proto, s->state, s->rxq, s->txq,
		       local, peer);
		if (procs) {
			bool first = true;

			for (size_t k = 0; k < ow.n; k++) {
				if (ow.o[k].ino != s->ino)
					continue;
				printf("%s(\"%s\",pid=%d,fd=%d)", first ? " users:(" : ",",
				       ow.o[k].comm, ow.o[k].pid, ow.o[k].fd);
				first = false;
			}
			if (!first)
				printf(")");
		}
		if (ext)
			printf(" uid:%u ino:%lu slot:%d engine:%u%s%s", s->uid, s->ino, s->slot,
			       s->engine, *s->flags ? " " : "", s->flags);
		printf("\n");
		if (info && s->has_tcp_info)
			printf("\t rtt:%.3fms cwnd:%u retrans:%u\n", s->rtt_us / 1000.0,
			       s->cwnd, s->retrans);
	}
	if (json) {
		json_close(&j, ']');
		fputc('\n', stdout);
	}
	free(ow.o);
	free(socks);
	return 0;
}
