// SPDX-License-Identifier: GPL-2.0
/*
 * Configuration.  One table describes every setting once: its name (the
 * long flag and the config-file key are the same word), what it accepts and
 * its help text, so --help, the file parser and the error messages cannot
 * drift apart.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <liburing.h>
#include <rte_version.h>

#include "lwip/init.h"
#include "jr/libjr.h"
#include "config.h"

enum ns_log_level ns_log_level = NS_LOG_INFO;

void ns_log(enum ns_log_level level, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	va_list ap;

	if (level > ns_log_level)
		return;
	fprintf(stderr, "jr-netserver: %s: ", names[level]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void ns_config_defaults(struct ns_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->device = NULL;
	cfg->device_fd = -1;
	cfg->slots = JR_DEFAULT_SLOTS;
	cfg->rx_buf = JR_DEFAULT_BUF;
	cfg->tx_buf = JR_DEFAULT_BUF;
	cfg->sq_entries = JR_DEFAULT_SQ_ENTRIES;
	cfg->cq_entries = JR_DEFAULT_CQ_ENTRIES;
	cfg->poll = NS_POLL_ADAPTIVE;
	cfg->idle_us = 200;
	cfg->takeover_nice = NS_TAKEOVER_NICE_DEFAULT;
	cfg->offloads = NS_OFFLOAD_DEFAULT;
	cfg->log_level = NS_LOG_INFO;
	cfg->mode = NS_MODE_SINGLE;
	cfg->queues = 1;
}

typedef int (*ns_setter)(struct ns_config *cfg, const char *name,
			 const char *value);

struct ns_option {
	const char	*name;
	const char	*arg;		/* NULL: a flag without value */
	ns_setter	set;
	const char	*help;
};

static int bad(const char *name, const char *value, const char *accepted)
{
	fprintf(stderr, "jr-netserver: %s: invalid value '%s' (accepted: %s)\n",
		name, value, accepted);
	return -1;
}

static int set_string(char **field, const char *value)
{
	free(*field);
	*field = strdup(value);
	return *field ? 0 : -1;
}

static int parse_u32(const char *value, uint32_t lo, uint32_t hi, uint32_t *out)
{
	unsigned long long v;
	char *end;

	if (!isdigit((unsigned char)value[0]))
		return -1;
	errno = 0;
	v = strtoull(value, &end, 0);
	if (errno || end == value)
		return -1;
	/* Binary suffixes for sizes: 256k, 1m. */
	if (*end == 'k' || *end == 'K')
		v <<= 10, end++;
	else if (*end == 'm' || *end == 'M')
		v <<= 20, end++;
	if (*end || v < lo || v > hi)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static bool is_pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

#define ACCEPT_POW2(lo, hi) "a power of two from " #lo " to " #hi

static int set_eal(struct ns_config *cfg, const char *name, const char *value)
{
	(void)name;
	return set_string(&cfg->eal_args, value);
}

static int set_port(struct ns_config *cfg, const char *name, const char *value)
{
	uint32_t v;

	if (parse_u32(value, 0, 1023, &v))
		return bad(name, value, "a DPDK port id from 0 to 1023");
	cfg->port = (uint16_t)v;
	return 0;
}

static int set_ip(struct ns_config *cfg, const char *name, const char *value)
{
	char buf[32], *slash;
	uint32_t prefix;

	if (strlen(value) >= sizeof(buf))
		return bad(name, value, "A.B.C.D/N with N from 0 to 32");
	strcpy(buf, value);
	slash = strchr(buf, '/');
	if (!slash)
		return bad(name, value, "A.B.C.D/N with N from 0 to 32");
	*slash = '\0';
	if (inet_pton(AF_INET, buf, &cfg->ip) != 1 ||
	    parse_u32(slash + 1, 0, 32, &prefix))
		return bad(name, value, "A.B.C.D/N with N from 0 to 32");
	cfg->prefix = (uint8_t)prefix;
	return 0;
}

static int set_ip6(struct ns_config *cfg, const char *name, const char *value)
{
	char buf[64], *slash;
	uint32_t prefix;

	if (strlen(value) >= sizeof(buf))
		return bad(name, value, "an IPv6 address and prefix length, e.g. 2001:db8::2/64");
	strcpy(buf, value);
	slash = strchr(buf, '/');
	if (!slash)
		return bad(name, value, "an IPv6 address and prefix length, e.g. 2001:db8::2/64");
	*slash = '\0';
	/* lwIP keeps on-link prefixes of 64 bits only (RFC 4291 unicast). */
	if (inet_pton(AF_INET6, buf, &cfg->ip6) != 1 || parse_u32(slash + 1, 64, 64, &prefix) ||
	    IN6_IS_ADDR_UNSPECIFIED(&cfg->ip6) || IN6_IS_ADDR_MULTICAST(&cfg->ip6) ||
	    IN6_IS_ADDR_LOOPBACK(&cfg->ip6) || IN6_IS_ADDR_V4MAPPED(&cfg->ip6))
		return bad(name, value, "a unicast IPv6 address with prefix length 64, e.g. 2001:db8::2/64");
	cfg->prefix6 = (uint8_t)prefix;
	return 0;
}

static int set_gateway6(struct ns_config *cfg, const char *name, const char *value)
{
	if (inet_pton(AF_INET6, value, &cfg->gateway6) != 1 ||
	    IN6_IS_ADDR_MULTICAST(&cfg->gateway6) || IN6_IS_ADDR_UNSPECIFIED(&cfg->gateway6))
		return bad(name, value, "a unicast IPv6 address");
	return 0;
}

static int set_gateway(struct ns_config *cfg, const char *name, const char *value)
{
	if (inet_pton(AF_INET, value, &cfg->gateway) != 1)
		return bad(name, value, "an IPv4 address A.B.C.D");
	return 0;
}

static int set_mac(struct ns_config *cfg, const char *name, const char *value)
{
	unsigned int b[6];
	char end;

	if (sscanf(value, "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3],
		   &b[4], &b[5], &end) != 6)
		return bad(name, value, "six hex bytes xx:xx:xx:xx:xx:xx");
	for (int i = 0; i < 6; i++) {
		if (b[i] > 0xff)
			return bad(name, value, "six hex bytes xx:xx:xx:xx:xx:xx");
		cfg->mac[i] = (uint8_t)b[i];
	}
	if (cfg->mac[0] & 1)
		return bad(name, value, "a unicast MAC (first byte even)");
	cfg->mac_set = true;
	return 0;
}

static int set_device(struct ns_config *cfg, const char *name, const char *value)
{
	(void)name;
	return set_string(&cfg->device, value);
}

/*
 * A descriptor a privileged launcher opened and left open across exec
 * (jrctl supervise --device).  Checked here, before DPDK's set-up, so that
 * a wrong number fails at once and names the setting.
 */
static int set_device_fd(struct ns_config *cfg, const char *name, const char *value)
{
	struct stat st;
	int flags;
	char *end;
	long fd;

	errno = 0;
	fd = strtol(value, &end, 10);
	if (!isdigit((unsigned char)value[0]) || *end || errno || fd > INT_MAX)
		return bad(name, value, "a descriptor number, 0 or more");
	flags = fcntl((int)fd, F_GETFL);
	if (flags < 0 || fstat((int)fd, &st))
		return bad(name, value, "a descriptor this process inherited open");
	if (!S_ISCHR(st.st_mode) || (flags & O_ACCMODE) != O_RDWR)
		return bad(name, value, "a descriptor of " JR_DEVICE_PATH
			   " opened for reading and writing");
	cfg->device_fd = (int)fd;
	return 0;
}

static int set_listen(struct ns_config *cfg, const char *name, const char *value)
{
	if (strlen(value) >= 108)
		return bad(name, value, "an AF_UNIX path shorter than 108 bytes");
	return set_string(&cfg->listen, value);
}

static int set_slots(struct ns_config *cfg, const char *name, const char *value)
{
	if (parse_u32(value, JR_SLOTS_MIN, JR_SLOTS_MAX, &cfg->slots) ||
	    !is_pow2(cfg->slots))
		return bad(name, value, ACCEPT_POW2(16, 65536));
	return 0;
}

static int set_buf(struct ns_config *cfg, const char *name, const char *value)
{
	uint32_t *field = !strcmp(name, "rx-buf") ? &cfg->rx_buf : &cfg->tx_buf;

	if (parse_u32(value, JR_BUF_MIN, JR_BUF_MAX, field) || !is_pow2(*field))
		return bad(name, value, ACCEPT_POW2(4k, 4m) " bytes");
	return 0;
}

static int set_entries(struct ns_config *cfg, const char *name, const char *value)
{
	uint32_t *field = !strcmp(name, "sq-entries") ? &cfg->sq_entries
						      : &cfg->cq_entries;

	if (parse_u32(value, JR_RING_MIN_ENTRIES, JR_RING_MAX_ENTRIES, field) ||
	    !is_pow2(*field))
		return bad(name, value, ACCEPT_POW2(64, 65536));
	return 0;
}

static int set_poll(struct ns_config *cfg, const char *name, const char *value)
{
	if (!strcmp(value, "busy"))
		cfg->poll = NS_POLL_BUSY;
	else if (!strcmp(value, "adaptive"))
		cfg->poll = NS_POLL_ADAPTIVE;
	else
		return bad(name, value, "busy, adaptive");
	return 0;
}

static int set_idle_us(struct ns_config *cfg, const char *name, const char *value)
{
	if (parse_u32(value, 0, 10000000, &cfg->idle_us))
		return bad(name, value, "microseconds from 0 to 10000000");
	return 0;
}

static int set_takeover_nice(struct ns_config *cfg, const char *name, const char *value)
{
	long v;
	char *end;

	errno = 0;
	v = strtol(value, &end, 10);
	if (errno || end == value || *end || v < -20 || v > 19)
		return bad(name, value, "a nice value from -20 to 19");
	cfg->takeover_nice = (int)v;
	return 0;
}

/* "all", "none", or a comma-separated list of tx-csum, tso, rx-csum, lro. */
static int set_offloads(struct ns_config *cfg, const char *name, const char *value)
{
	static const struct {
		const char	*name;
		uint32_t	bit;
	} known[] = {
		{ "tx-csum", NS_OFFLOAD_TX_CSUM }, { "tso", NS_OFFLOAD_TSO },
		{ "rx-csum", NS_OFFLOAD_RX_CSUM }, { "lro", NS_OFFLOAD_LRO },
	};
	const char *p = value;
	uint32_t bits = 0;

	if (!strcmp(value, "all")) {
		cfg->offloads = NS_OFFLOAD_ALL;
		return 0;
	}
	if (!strcmp(value, "none")) {
		cfg->offloads = 0;
		return 0;
	}
	while (*p) {
		size_t len = strcspn(p, ",");
		unsigned int i;

		for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (strlen(known[i].name) == len && !strncmp(p, known[i].name, len))
				break;
		if (i == sizeof(known) / sizeof(known[0]))
			return bad(name, value, "all, none, or a list of tx-csum, tso, rx-csum, lro");
		bits |= known[i].bit;
		p += len;
		if (*p)
			p++;
	}
	/* Segmentation offload needs the checksum offload under it. */
	if ((bits & NS_OFFLOAD_TSO) && !(bits & NS_OFFLOAD_TX_CSUM))
		return bad(name, value, "tso only with tx-csum");
	cfg->offloads = bits;
	return 0;
}

/*
 * The modes exclude each other; the last one given would silently win, so
 * a second one is an error naming both.
 */
static int set_mode(struct ns_config *cfg, const char *name, enum ns_mode mode)
{
	static const char *const names[] = { "", "keeper", "engine", "standby" };

	if (cfg->mode != NS_MODE_SINGLE && cfg->mode != mode) {
		fprintf(stderr, "jr-netserver: %s: not with --%s (a process is one of "
			"--keeper, --engine K, --standby)\n", name, names[cfg->mode]);
		return -1;
	}
	cfg->mode = mode;
	return 0;
}

static int set_keeper(struct ns_config *cfg, const char *name, const char *value)
{
	(void)value;
	return set_mode(cfg, name, NS_MODE_KEEPER);
}

static int set_standby(struct ns_config *cfg, const char *name, const char *value)
{
	(void)value;
	return set_mode(cfg, name, NS_MODE_STANDBY);
}

static int set_engine(struct ns_config *cfg, const char *name, const char *value)
{
	uint32_t v;

	if (parse_u32(value, 0, JR_MAX_ENGINES - 1, &v))
		return bad(name, value, "an engine index from 0 to 15 (JR_MAX_ENGINES - 1)");
	cfg->engine = (uint16_t)v;
	return set_mode(cfg, name, NS_MODE_ENGINE);
}

static int set_queues(struct ns_config *cfg, const char *name, const char *value)
{
	uint32_t v;

	if (parse_u32(value, 1, JR_MAX_ENGINES, &v))
		return bad(name, value, "a queue count from 1 to 16 (JR_MAX_ENGINES)");
	cfg->queues = (uint16_t)v;
	return 0;
}

static int set_user(struct ns_config *cfg, const char *name, const char *value)
{
	if (!value[0])
		return bad(name, value, "a user name or numeric uid");
	return set_string(&cfg->user, value);
}

static int set_allow_root(struct ns_config *cfg, const char *name, const char *value)
{
	(void)name;
	(void)value;
	cfg->allow_root = true;
	return 0;
}

static int set_log_level(struct ns_config *cfg, const char *name, const char *value)
{
	static const char *const levels[] = { "error", "warn", "info", "debug" };

	for (unsigned int i = 0; i < 4; i++) {
		if (!strcmp(value, levels[i])) {
			cfg->log_level = (enum ns_log_level)i;
			return 0;
		}
	}
	return bad(name, value, "error, warn, info, debug");
}

static const struct ns_option ns_options[] = {
	{ "eal", "ARGS", set_eal,
	  "DPDK EAL arguments, blank-separated (e.g. \"--no-huge -m 512 --vdev net_tap0\")" },
	{ "port", "N", set_port, "DPDK port id to drive (default 0)" },
	{ "offloads", "LIST", set_offloads,
	  "port offloads to use where offered: all, none, or a list of "
	  "tx-csum,tso,rx-csum,lro (default tx-csum,tso,rx-csum)" },
	{ "ip", "A.B.C.D/N", set_ip, "IPv4 address and prefix length (required)" },
	{ "gateway", "A.B.C.D", set_gateway, "default gateway (default: none)" },
	{ "ip6", "ADDR/64", set_ip6, "IPv6 address (default: link-local only)" },
	{ "gateway6", "ADDR", set_gateway6, "IPv6 default gateway (default: none)" },
	{ "mac", "XX:XX:XX:XX:XX:XX", set_mac, "MAC address (default: the port's)" },
	{ "device", "PATH", set_device,
	  "attach to the kernel module through PATH (" JR_DEVICE_PATH ")" },
	{ "device-fd", "N", set_device_fd,
	  "attach through descriptor N, " JR_DEVICE_PATH " opened by a privileged launcher" },
	{ "listen", "PATH", set_listen,
	  "accept user frontends on this AF_UNIX socket path" },
	{ "slots", "N", set_slots, "socket slots per frontend (default 1024)" },
	{ "rx-buf", "BYTES", set_buf, "per-socket receive ring (default 256k)" },
	{ "tx-buf", "BYTES", set_buf, "per-socket transmit ring (default 256k)" },
	{ "sq-entries", "N", set_entries, "submission queue entries (default 4096)" },
	{ "cq-entries", "N", set_entries, "completion queue entries (default 8192)" },
	{ "poll", "MODE", set_poll,
	  "busy (never sleep) or adaptive (sleep when idle; default)" },
	{ "idle-us", "USEC", set_idle_us,
	  "adaptive: idle time before sleeping (default 200)" },
	{ "takeover-nice", "NICE", set_takeover_nice,
	  "nice value while taking over (starting, a standby's promotion, a replay), "
	  "where allowed; back to the nice it had 1 s after the replay (default -10)" },
	{ "user", "NAME", set_user, "user to run as after set-up" },
	{ "allow-root", NULL, set_allow_root, "keep running as root" },
	{ "log-level", "LEVEL", set_log_level, "error, warn, info (default), debug" },
	{ "keeper", NULL, set_keeper,
	  "be the port keeper: DPDK primary that owns the port for engines "
	  "(no stack, no frontends)" },
	{ "queues", "N", set_queues,
	  "keeper: RX/TX queue pairs, one per engine, RSS over TCP (default 1)" },
	{ "engine", "K", set_engine,
	  "be engine K: DPDK secondary of a keeper, serving queue K as engine K" },
	{ "standby", NULL, set_standby,
	  "be a standby: DPDK secondary of a keeper that takes over a dead engine" },
};

#define NS_NR_OPTIONS (sizeof(ns_options) / sizeof(ns_options[0]))

static const struct ns_option *find_option(const char *name)
{
	for (size_t i = 0; i < NS_NR_OPTIONS; i++)
		if (!strcmp(ns_options[i].name, name))
			return &ns_options[i];
	return NULL;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: jr-netserver [OPTION]...\n"
		"Serve AF_JOYRIDE sockets (and user frontends) with lwIP on DPDK.\n\n");
	for (size_t i = 0; i < NS_NR_OPTIONS; i++) {
		char left[64];

		snprintf(left, sizeof(left), "--%s%s%s", ns_options[i].name,
			 ns_options[i].arg ? " " : "",
			 ns_options[i].arg ? ns_options[i].arg : "");
		fprintf(out, "  %-28s %s\n", left, ns_options[i].help);
	}
	fprintf(out,
		"  %-28s %s\n  %-28s %s\n  %-28s %s\n\n"
		"Every option can also be set in the config file as \"name = value\"\n"
		"(flags as \"name = true\"); the command line wins.  At least one of\n"
		"--device (or --device-fd) and --listen is required, except with\n"
		"--keeper, which takes neither.  SIGHUP prints\n"
		"statistics; SIGINT/SIGTERM close connections and detach.\n"
		"See Documentation/netserver.md.\n",
		"--config FILE", "read settings from FILE first",
		"-h, --help", "show this help and exit",
		"-V, --version", "show versions and exit");
}

/* liburing 2.3 has no version call: report what the kernel's io_uring offers. */
static void print_uring(void)
{
	struct io_uring_probe *probe = io_uring_get_probe();

	if (!probe) {
		printf("liburing: io_uring unavailable here\n");
		return;
	}
	printf("liburing: io_uring with %u opcodes\n", probe->last_op + 1);
	io_uring_free_probe(probe);
}

static void version(void)
{
	printf("jr-netserver %s\n", JR_VERSION);
	printf("joyride ABI %u.%u\n", JR_ABI_MAJOR, JR_ABI_MINOR);
	printf("lwIP %s (NO_SYS=%d)\n", LWIP_VERSION_STRING, NO_SYS);
	printf("%s\n", rte_version());
	print_uring();
}

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

static int parse_file(struct ns_config *cfg, const char *path)
{
	char line[1024];
	unsigned int lineno = 0;
	FILE *f = fopen(path, "r");
	int err = 0;

	if (!f) {
		fprintf(stderr, "jr-netserver: config: cannot open '%s': %s\n",
			path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		const struct ns_option *opt;
		char *key, *value, *eq;

		lineno++;
		key = trim(line);
		if (!*key || *key == '#')
			continue;
		eq = strchr(key, '=');
		if (!eq) {
			fprintf(stderr, "jr-netserver: %s:%u: expected \"name = value\"\n",
				path, lineno);
			err = -1;
			break;
		}
		*eq = '\0';
		key = trim(key);
		value = trim(eq + 1);
		opt = find_option(key);
		if (!opt) {
			fprintf(stderr, "jr-netserver: %s:%u: unknown setting '%s' (see --help)\n",
				path, lineno, key);
			err = -1;
			break;
		}
		if (!opt->arg && strcmp(value, "true")) {
			if (strcmp(value, "false"))
				err = bad(key, value, "true, false");
			if (err)
				break;
			continue;
		}
		if (opt->set(cfg, key, value)) {
			fprintf(stderr, "jr-netserver: (in %s:%u)\n", path, lineno);
			err = -1;
			break;
		}
	}
	fclose(f);
	return err;
}

int ns_config_parse(struct ns_config *cfg, int argc, char **argv)
{
	struct option longopts[NS_NR_OPTIONS + 4];
	size_t n = 0;
	int opt, idx;

	for (size_t i = 0; i < NS_NR_OPTIONS; i++, n++) {
		longopts[n].name = ns_options[i].name;
		longopts[n].has_arg = ns_options[i].arg ? required_argument : no_argument;
		longopts[n].flag = NULL;
		longopts[n].val = 0x100 + (int)i;
	}
	longopts[n++] = (struct option){ "config", required_argument, NULL, 'c' };
	longopts[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	longopts[n++] = (struct option){ "version", no_argument, NULL, 'V' };
	longopts[n] = (struct option){ NULL, 0, NULL, 0 };

	/* First pass: help, version and the config file, which the flags override. */
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:hV", longopts, &idx)) != -1) {
		if (opt == 'h') {
			usage(stdout);
			return 1;
		}
		if (opt == 'V') {
			version();
			return 1;
		}
		if (opt == 'c' && set_string(&cfg->config_file, optarg))
			return -1;
	}
	if (cfg->config_file && parse_file(cfg, cfg->config_file))
		return -1;

	opterr = 1;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:hV", longopts, &idx)) != -1) {
		const struct ns_option *o;

		if (opt == 'c')
			continue;
		if (opt < 0x100) {
			usage(stderr);
			return -1;
		}
		o = &ns_options[opt - 0x100];
		if (o->set(cfg, o->name, optarg ? optarg : ""))
			return -1;
	}
	if (optind < argc) {
		fprintf(stderr, "jr-netserver: unexpected argument '%s' (see --help)\n",
			argv[optind]);
		return -1;
	}
	if (cfg->queues != 1 && cfg->mode != NS_MODE_KEEPER) {
		fprintf(stderr, "jr-netserver: queues: only with --keeper (an engine uses "
			"the queue of its index, --engine K)\n");
		return -1;
	}
	if (cfg->mode == NS_MODE_KEEPER) {
		/* The keeper has no stack and attaches to nothing. */
		if (ns_config_kernel(cfg) || cfg->listen || cfg->ip.s_addr) {
			fprintf(stderr, "jr-netserver: keeper: takes no --device, --device-fd, "
				"--listen or --ip (give those to each --engine)\n");
			return -1;
		}
		ns_log_level = cfg->log_level;
		return 0;
	}
	if (cfg->mode != NS_MODE_SINGLE && cfg->mac_set) {
		fprintf(stderr, "jr-netserver: mac: the keeper sets the port's address; "
			"give --mac to --keeper, not to an engine or standby\n");
		return -1;
	}
	if (!cfg->ip.s_addr) {
		fprintf(stderr, "jr-netserver: ip: required (accepted: A.B.C.D/N)\n");
		return -1;
	}
	if (cfg->device && cfg->device_fd >= 0) {
		fprintf(stderr, "jr-netserver: device, device-fd: give one, not both "
			"(device opens the path itself; device-fd uses one opened for it)\n");
		return -1;
	}
	if (!ns_config_kernel(cfg) && !cfg->listen) {
		fprintf(stderr, "jr-netserver: device, device-fd, listen: at least one is required "
			"(accepted: --device " JR_DEVICE_PATH ", --device-fd N, --listen PATH)\n");
		return -1;
	}
	ns_log_level = cfg->log_level;
	return 0;
}

int ns_config_eal_argv(const struct ns_config *cfg, const char *progname,
		       char **argv, int max)
{
	static char buf[4096];
	int argc = 0;
	char *save, *tok;

	bool proc_type = false;

	argv[argc++] = (char *)progname;
	if (cfg->eal_args) {
		snprintf(buf, sizeof(buf), "%s", cfg->eal_args);
		for (tok = strtok_r(buf, " \t", &save); tok && argc < max - 2;
		     tok = strtok_r(NULL, " \t", &save)) {
			proc_type |= !strncmp(tok, "--proc-type", 11);
			argv[argc++] = tok;
		}
	}
	/* An engine or standby shares the keeper's port and pools. */
	if (!proc_type && (cfg->mode == NS_MODE_ENGINE || cfg->mode == NS_MODE_STANDBY))
		argv[argc++] = (char *)"--proc-type=secondary";
	argv[argc] = NULL;
	return argc;
}

void ns_config_free(struct ns_config *cfg)
{
	free(cfg->eal_args);
	free(cfg->device);
	free(cfg->listen);
	free(cfg->user);
	free(cfg->config_file);
}
