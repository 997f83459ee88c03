// SPDX-License-Identifier: GPL-2.0
/*
 * jr-netserver: the user-space network service behind AF_JOYRIDE.
 *
 * main() alone decides to exit; set-up functions return errors.  Order:
 * configuration -> DPDK and lwIP (may need root for the device) ->
 * frontends (attaching needs CAP_NET_ADMIN in the credentials that opened
 * /dev/joyride: this process's, or those of the launcher that handed it
 * --device-fd) -> drop privileges -> engine loop -> orderly shutdown.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>

#include "keeper.h"
#include "netserver.h"

int ns_engine_init(struct ns_engine *eng);
int ns_engine_attach_kernel(struct ns_engine *eng);
int ns_engine_standby_wait(struct ns_engine *eng, struct jr_attach *out);
void ns_engine_shutdown(struct ns_engine *eng);

static struct ns_engine *signal_engine;

static void on_stop(int sig)
{
	(void)sig;
	signal_engine->stop = 1;
}

static void on_hup(int sig)
{
	(void)sig;
	signal_engine->print_stats = 1;
}

static int install_signals(struct ns_engine *eng)
{
	struct sigaction sa = { 0 };

	signal_engine = eng;
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop;
	if (sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL))
		return -errno;
	sa.sa_handler = on_hup;
	if (sigaction(SIGHUP, &sa, NULL))
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/*
 * Become the configured user, or refuse to stay root: the stack parses
 * untrusted packets and must not do so with privileges.
 */
static int drop_privileges(const struct ns_config *cfg)
{
	struct passwd *pw;
	uid_t uid;
	gid_t gid;

	if (!cfg->user) {
		if (geteuid() == 0 && !cfg->allow_root) {
			ns_err("user: running as root; give --user NAME (or --allow-root)");
			return -EPERM;
		}
		return 0;
	}
	pw = getpwnam(cfg->user);
	if (!pw) {
		char *end;
		unsigned long v = strtoul(cfg->user, &end, 10);

		if (*end || end == cfg->user) {
			ns_err("user: no such user '%s' (accepted: a user name or uid)",
			       cfg->user);
			return -EINVAL;
		}
		uid = (uid_t)v;
		gid = (gid_t)v;
	} else {
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	}
	if (geteuid() == uid)
		return 0;
	if ((pw ? initgroups(pw->pw_name, gid) : setgroups(0, NULL)) ||
	    setresgid(gid, gid, gid) || setresuid(uid, uid, uid)) {
		ns_err("user: cannot become '%s': %s", cfg->user, strerror(errno));
		return -errno;
	}
	/* DPDK's memory stays mapped; no way back to root. */
	prctl(PR_SET_DUMPABLE, 1);
	if (uid == 0 && !cfg->allow_root) {
		ns_err("user: '%s' is root; refusing without --allow-root", cfg->user);
		return -EPERM;
	}
	ns_info("running as uid %u gid %u", (unsigned int)uid, (unsigned int)gid);
	return 0;
}

/* A standby without the kernel looks for a dead engine this often. */
#define NS_STANDBY_WATCH_US	1000

/*
 * Standby: park in the kernel; when an engine dies, take its index and
 * queue.  Everything slow (EAL, the kernel attach and its region, lwIP's
 * pools) is done already; what remains is lookups and lwIP's interface.
 */
static int standby_take_over(struct ns_engine *eng, struct timespec *handover)
{
	struct ns_keeper_info *ki = eng->port.keeper;
	struct jr_attach att;
	struct timespec t0, t1;
	unsigned int reclaimed = 0, dead_lcore;
	int32_t dead_pid;
	int engine;

	ns_info("standby: parked; waiting for an engine %s to die",
		ns_config_kernel(eng->cfg) ? "of this namespace" : "of the keeper");
	/* Parked at the takeover's priority: woken, it runs at once. */
	ns_engine_boost(eng);
	/* Tests wait for this line on stdout: the standby is ready to take over. */
	printf("jr-netserver: ready\n");
	fflush(stdout);
	memset(&att, 0, sizeof(att));
	for (;;) {
		if (ns_config_kernel(eng->cfg)) {
			/* The kernel decides, and replays the dead engine's sockets. */
			engine = ns_engine_standby_wait(eng, &att);
		} else {
			/*
			 * User frontends only: no kernel to tell us, so watch
			 * the keeper's table for a server that died.  Its
			 * clients reconnect to our --listen socket.
			 */
			while ((engine = ns_keeper_dead_engine(ki)) < 0 && !eng->stop)
				usleep(NS_STANDBY_WATCH_US);
			if (engine < 0)
				engine = -EINTR;
		}
		if (engine < 0)
			return engine;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		*handover = t0;
		/* Claimed first: only the one that takes it flushes the caches. */
		dead_pid = __atomic_load_n(&ki->engines[engine].pid, __ATOMIC_ACQUIRE);
		dead_lcore = ki->engines[engine].lcore;
		if (!ns_keeper_claim(ki, (unsigned int)engine, &dead_pid)) {
			eng->port.claimed = true;
			eng->port.queue = (uint16_t)engine;	/* for the release */
			reclaimed = dead_pid ? ns_keeper_reclaim_caches(ki, dead_lcore) : 0;
			break;
		}
		/* Another standby was faster (watching only): go on watching. */
		if (ns_config_kernel(eng->cfg))
			return -1;
	}
	if (ns_port_take_queue(eng, (unsigned int)engine))
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (ns_config_kernel(eng->cfg))
		ns_info("standby: the kernel handed over engine %u (%u engines), epoch %llu%s",
			engine, att.nr_engines, (unsigned long long)att.epoch,
			att.flags & JR_ATTACH_F_RECOVERING ? ", replay follows" : "");
	ns_info("standby: took engine %u in %.2f ms; %u mbufs the dead engine's caches held "
		"went back to the pools", engine,
		(t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6, reclaimed);
	return 0;
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1e3 + (t.tv_nsec - t0->tv_nsec) / 1e6;
}

int main(int argc, char **argv)
{
	static struct ns_engine eng;
	/* Start-up phases, for the log: recovery waits for all of them. */
	struct timespec t0, handover;
	double t_port, t_engine, t_attach;
	struct ns_config cfg;
	char *eal_argv[NS_MAX_EAL_ARGS];
	int eal_argc, ret, status = EXIT_FAILURE;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	ns_config_defaults(&cfg);
	ret = ns_config_parse(&cfg, argc, argv);
	if (ret)
		return ret > 0 ? EXIT_SUCCESS : 2;

	eal_argc = ns_config_eal_argv(&cfg, argv[0], eal_argv, NS_MAX_EAL_ARGS);
	if (cfg.mode == NS_MODE_KEEPER) {
		status = ns_keeper_main(&cfg, eal_argc, eal_argv) ? EXIT_FAILURE : EXIT_SUCCESS;
		ns_config_free(&cfg);
		return status;
	}
	eng.cfg = &cfg;
	eng.ufront_listen_fd = -1;
	if (install_signals(&eng))
		goto out;
	if (ns_port_init(&eng, eal_argc, eal_argv))
		goto out;
	t_port = ms_since(&t0);
	/* A start may be a recovery: lwIP, the attach and the replay ahead. */
	if (cfg.mode != NS_MODE_STANDBY)
		ns_engine_boost(&eng);
	if (ns_engine_init(&eng))
		goto out_port;
	t_engine = ms_since(&t0);
	if (ns_config_kernel(&cfg) && ns_engine_attach_kernel(&eng))
		goto out_engine;
	t_attach = ms_since(&t0);
	if (cfg.mode == NS_MODE_STANDBY) {
		ret = standby_take_over(&eng, &handover);
		if (ret == -EINTR) {
			status = EXIT_SUCCESS;	/* asked to stop while parked */
			goto out_engine;
		}
		if (ret)
			goto out_engine;
	}
	if (cfg.listen) {
		eng.ufront_listen_fd = jr_ufront_listen(cfg.listen);
		if (eng.ufront_listen_fd < 0) {
			ns_err("listen: cannot listen on %s: %s", cfg.listen,
			       strerror(-eng.ufront_listen_fd));
			goto out_engine;
		}
		ns_info("accepting user frontends on %s", cfg.listen);
	}
	if (drop_privileges(&cfg))
		goto out_engine;

	ns_info("serving (poll %s, idle %u us)",
		cfg.poll == NS_POLL_BUSY ? "busy" : "adaptive", cfg.idle_us);
	if (cfg.mode == NS_MODE_STANDBY) {
		/* Its ready line came when it parked. */
		ns_info("standby: serving engine %u, %.2f ms after the hand-over",
			eng.port.queue, ms_since(&handover));
		printf("jr-netserver: serving engine %u\n", eng.port.queue);
		fflush(stdout);
		goto run;
	}
	ns_info("start-up: %.0f ms: DPDK and the port %.0f, lwIP and the rings %.0f, attach %.0f, the rest %.0f",
		ms_since(&t0), t_port, t_engine - t_port, t_attach - t_engine,
		ms_since(&t0) - t_attach);
	/* Tests wait for this line on stdout. */
	printf("jr-netserver: ready\n");
	fflush(stdout);
run:
	ns_engine_run(&eng);
	ns_info("stopping");
	ns_engine_print_stats(&eng, stdout);
	status = EXIT_SUCCESS;

out_engine:
	ns_engine_shutdown(&eng);
	if (eng.ufront_listen_fd >= 0) {
		close(eng.ufront_listen_fd);
		unlink(cfg.listen);
	}
out_port:
	ns_port_close(&eng.port);
out:
	if (eng.port.claimed)
		ns_keeper_release(eng.port.keeper, eng.port.queue);
	rte_eal_cleanup();
	ns_config_free(&cfg);
	return status;
}
