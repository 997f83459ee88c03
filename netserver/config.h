/* SPDX-License-Identifier: GPL-2.0 */
/*
 * jr-netserver configuration: command-line flags and a config file with the
 * same names (Documentation/netserver.md).
 */
#ifndef _NS_CONFIG_H
#define _NS_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>

enum ns_poll_mode {
	NS_POLL_BUSY,		/* never sleep */
	NS_POLL_ADAPTIVE,	/* sleep in io_uring after idle_us without work */
};

enum ns_log_level {
	NS_LOG_ERROR,
	NS_LOG_WARN,
	NS_LOG_INFO,
	NS_LOG_DEBUG,
};

#define NS_MAX_EAL_ARGS	64

/* Port offloads the netserver may use where the PMD offers them. */
#define NS_OFFLOAD_TX_CSUM	(1U << 0)	/* IPv4, TCP, UDP checksums */
#define NS_OFFLOAD_TSO		(1U << 1)	/* TCP segmentation */
#define NS_OFFLOAD_RX_CSUM	(1U << 2)	/* trust the port's verdict */
#define NS_OFFLOAD_LRO		(1U << 3)	/* large receive */
#define NS_OFFLOAD_ALL		(NS_OFFLOAD_TX_CSUM | NS_OFFLOAD_TSO | \
				 NS_OFFLOAD_RX_CSUM | NS_OFFLOAD_LRO)
/* LRO is opt-in: DPDK 22.11's virtio PMD stalled its receive queue under
 * it in our tests (Documentation/netserver.md, "Offloads"). */
/*
 * A takeover runs ahead of the applications (engine.c, ns_engine_boost()):
 * the nice value of a netserver while it starts or takes over.
 */
#define NS_TAKEOVER_NICE_DEFAULT	(-10)

#define NS_OFFLOAD_DEFAULT	(NS_OFFLOAD_TX_CSUM | NS_OFFLOAD_TSO | NS_OFFLOAD_RX_CSUM)

/*
 * What this process is (Documentation/netserver.md, "Engines").  SINGLE is
 * the one-process netserver: DPDK primary, queue 0, engine 0.
 */
enum ns_mode {
	NS_MODE_SINGLE,
	NS_MODE_KEEPER,		/* primary: the port and its queues, no stack */
	NS_MODE_ENGINE,		/* secondary: queue and engine `engine` */
	NS_MODE_STANDBY,	/* secondary: waits to take a dead engine's */
};

struct ns_config {
	enum ns_mode	mode;
	uint16_t	queues;			/* keeper: queue pairs (1 by default) */
	uint16_t	engine;			/* engine: its index and queue */
	/* DPDK */
	char		*eal_args;		/* one string, split on blanks */
	uint16_t	port;
	uint32_t	offloads;		/* NS_OFFLOAD_* allowed */
	/* IPv4 */
	struct in_addr	ip;
	uint8_t		prefix;
	struct in_addr	gateway;		/* 0: none */
	/* IPv6 (a link-local address from the MAC is always there) */
	struct in6_addr	ip6;
	uint8_t		prefix6;		/* 0: no static IPv6 address */
	struct in6_addr	gateway6;		/* ::: none */
	uint8_t		mac[6];
	bool		mac_set;		/* else the port's own */
	/* Frontends */
	char		*device;		/* /dev/joyride, or NULL */
	int		device_fd;		/* inherited, open; or -1 */
	char		*listen;		/* user-frontend socket, or NULL */
	uint32_t	slots;
	uint32_t	rx_buf;
	uint32_t	tx_buf;
	uint32_t	sq_entries;
	uint32_t	cq_entries;
	/* Engine */
	enum ns_poll_mode poll;
	uint32_t	idle_us;
	int		takeover_nice;		/* -20..19; engine.c, ns_engine_boost() */
	/* Process */
	char		*user;
	bool		allow_root;
	enum ns_log_level log_level;
	char		*config_file;
};

void ns_config_defaults(struct ns_config *cfg);

/* The kernel is a frontend: through --device or --device-fd. */
static inline bool ns_config_kernel(const struct ns_config *cfg)
{
	return cfg->device || cfg->device_fd >= 0;
}

/*
 * Parse argv (and the file named by --config, whose values the command
 * line overrides).  Returns 0, 1 if --help or --version was handled, or -1
 * after printing an error that names the field.
 */
int ns_config_parse(struct ns_config *cfg, int argc, char **argv);

/* Split cfg->eal_args into argv for rte_eal_init(); argv[0] is progname.
 * Engines and standbys get --proc-type=secondary unless the arguments say. */
int ns_config_eal_argv(const struct ns_config *cfg, const char *progname,
		       char **argv, int max);

void ns_config_free(struct ns_config *cfg);

/* Logging, filtered by the configured level. */
extern enum ns_log_level ns_log_level;
void ns_log(enum ns_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define ns_err(...)	ns_log(NS_LOG_ERROR, __VA_ARGS__)
#define ns_warn(...)	ns_log(NS_LOG_WARN, __VA_ARGS__)
#define ns_info(...)	ns_log(NS_LOG_INFO, __VA_ARGS__)
#define ns_dbg(...)	ns_log(NS_LOG_DEBUG, __VA_ARGS__)

#endif /* _NS_CONFIG_H */
