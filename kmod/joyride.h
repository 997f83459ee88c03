/* SPDX-License-Identifier: GPL-2.0 */
/*
 * joyride.ko internals shared by the socket family (af_joyride.c) and the
 * transport to the netserver (jr_dev.c).  The family calls the transport
 * through the functions below; the transport calls back into the family
 * through struct jr_family_ops, so neither reaches into the other's state.
 */
#ifndef _JR_KMOD_JOYRIDE_H
#define _JR_KMOD_JOYRIDE_H

#include <linux/eventfd.h>
#include <linux/kref.h>
#include <linux/mmu_notifier.h>
#include <linux/mutex.h>
#include <linux/workqueue.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <net/sock.h>

#include <linux/joyride.h>
#include "jr/jr_layout.h"
#include "jr/jr_ring.h"
#include "jr/jr_validate.h"

/* Device states (the transport's view of its netserver engines). */
enum jr_dev_state {
	JR_DEV_DETACHED,	/* no engine has attached since load */
	JR_DEV_LIVE,		/* at least one engine is attached and serving */
	JR_DEV_RECOVERING,	/* none serves; one went away and a successor
				 * is awaited (or replaying) */
};

struct jr_sock;

/*
 * Why a completion the netserver posted was dropped (jr_bad_entry(); the
 * validators' errno says which rule it broke).  /proc/net/joyride_stat
 * prints a counter for each.
 */
enum jr_reject {
	JR_REJECT_MALFORMED,	/* -EINVAL: a field breaks its op's rules */
	JR_REJECT_RANGE,	/* -ERANGE: a length or position out of range */
	JR_REJECT_UNKNOWN_OP,	/* -EOPNOTSUPP: no such op, or not as a reply */
	JR_REJECT_ADDRESS,	/* -EAFNOSUPPORT: a malformed address */
	JR_REJECT_SEQUENCE,	/* -EPROTO: a reply nobody waits for */
	JR_REJECT_OTHER,
	JR_REJECT_MAX
};

/*
 * One attached netserver engine (or a parked standby): the region it maps
 * and the kernel's private view of it.  Everything here that describes geometry is the kernel's own copy;
 * the region itself is writable by the netserver and is never trusted.
 *
 * Lifetime: a kref.  The device holds one while the netserver's file is
 * open; each socket that owns a slot holds one.  The region is freed with
 * the last reference, so a socket can always read its rings safely, even
 * after the netserver died (it finds `dead` set and stops).
 */
struct jr_server {
	struct kref		ref;
	struct file		*file;		/* the /dev/joyride open file */
	struct pid		*pid;		/* the process that attached */
	void			*region;	/* vmalloc_user() memory */
	struct jr_attach	params;		/* granted values */
	struct jr_limits	limits;
	struct jr_stats		*stats;
	struct jr_slot_ctl	*slots;
	struct jr_dev		*dev;		/* the namespace it serves (pinned) */
	u16			engine;		/* its index in dev->engines */
	bool			standby;	/* parked on dev->standbys */
	bool			live;		/* serving; not replaying */
	bool			counted;	/* free slots in dev->slots_free */
	bool			want_replay;	/* attached with JR_ATTACH_F_RECOVER */
	bool			was_standby;	/* attached with JR_ATTACH_F_STANDBY */
	struct list_head	standby_node;
	wait_queue_head_t	standby_wait;	/* the standby's JR_IOC_STANDBY_WAIT */
	/*
	 * The attacher's address space: its teardown (exit_mmap) is the
	 * earliest sure sign of the process's death, seconds before its
	 * files are closed when a large one is unmapped under emulation.
	 */
	struct mm_struct	*mm;
#ifdef CONFIG_MMU_NOTIFIER
	struct mmu_notifier	mm_gone;
#endif
	bool			mm_registered;
	struct work_struct	death_work;	/* the death, handled early */
	bool			dying;		/* under dev->lock: handled once */
	struct jr_ring		sq;		/* kernel produces */
	struct jr_ring		cq;		/* kernel consumes */
	spinlock_t		sq_lock;	/* serialises SQ producers */
	wait_queue_head_t	sq_wait;	/* producers waiting for SQ room */
	struct mutex		cq_lock;	/* serialises CQ consumers */
	struct eventfd_ctx	*sq_doorbell;	/* NULL: never signal */
	atomic64_t		next_tag;
	bool			dead;		/* the netserver's file is gone */
	u64			replay_tag;	/* REPLAY_DONE's, while recovering */

	/* Slot table: which socket owns each slot (NULL: free). */
	spinlock_t		slot_lock;
	struct jr_sock		**slot_owner;
	u32			*slot_gen;
	u32			free_hint;
	u32			nr_used;

	/* Counters kept privately; the stats area only receives copies. */
	u64			sqes;
	u64			cqes;
	u64			doorbells;
	u64			bad_entries;
	atomic64_t		timeouts;
	u64			rejected[JR_REJECT_MAX];	/* under cq_lock */
	u64			attached_ns;	/* ktime_get_ns() at the attach */
};

/*
 * The device as one network namespace sees it: up to JR_MAX_ENGINES
 * attached netserver engines, each the process that attached there with
 * that index (jr_ioctl_attach()), and standbys waiting to take a dead
 * engine's place.  Sockets are served by their namespace's engines and the
 * redirect applies in each namespace by its own switches.  Per-namespace
 * data (net_generic), made and freed with the namespace.
 *
 * lock protects state, engines, awaited, standbys, the servers' live and
 * standby flags, and epoch; socket code takes it only to look a server up
 * (jr_server_get), never while it waits.  An engine whose server is dead
 * but still in engines[] is being released (its sockets are failing).
 * A server holds a reference on its namespace, and so does every socket,
 * so a jr_dev outlives everything that points at it.
 */
struct jr_dev {
	struct net		*net;
	struct mutex		lock;
	enum jr_dev_state	state;
	struct jr_server	*engines[JR_MAX_ENGINES];
	unsigned long		awaited;	/* engines that died, successor due */
	struct list_head	standbys;	/* parked standby servers */
	unsigned int		next_engine;	/* round robin for new sockets */
	atomic_t		slots_free;	/* live engines' total, for the redirect */
	u64			features;	/* the last server's JR_F_*, for the redirect */
	u64			epoch;		/* attaches and promotions so far */
	wait_queue_head_t	live_wait;	/* woken when the state changes */

	/*
	 * The family's: sockets that outlived this namespace's netserver,
	 * waiting for the next one to replay them (each holds a reference).
	 */
	struct list_head	survivors;
	struct mutex		survivors_lock;

	/* net.joyride.redirect_inet{,6} of this namespace (jr_redirect.c). */
	int			redirect_inet;
	int			redirect_inet6;
	struct ctl_table_header	*sysctl;

	/*
	 * /proc/net/joyride_stat.  Times are ktime_get_ns(); under lock
	 * except the atomics.  An outage begins when an engine dies and
	 * ends when its index serves again (a successor's replay is done).
	 */
	u64			first_attach_ns;	/* 0: never attached */
	u64			outage_start_ns[JR_MAX_ENGINES];
	u64			recoveries;
	u64			last_recovery_ns;	/* its length */
	u64			last_recovery_end_ns;
	atomic64_t		sockets_created;
	atomic64_t		conns_kept;	/* survived an engine's death */
	atomic64_t		conns_restored;	/* taken over by a successor */
	atomic64_t		conns_reset;	/* ended by an engine's death */
	atomic64_t		rejected_ring;	/* a socket's ring positions */
	atomic64_t		rejected_ckpt;	/* a checkpoint, at a death */
};

/* /proc/net/joyride_engines and /proc/net/joyride_stat (jr_dev.c). */
int jr_engines_show(struct seq_file *seq, void *v);
int jr_stat_show(struct seq_file *seq, void *v);
/* The per-user slot counts, as "user.UID.slots N" lines (af_joyride.c). */
void jr_users_show(struct seq_file *seq);

/* The namespace's device (net_generic; jr_dev.c). */
struct jr_dev *jr_dev_of(const struct net *net);
void jr_dev_net_init(struct jr_dev *dev, struct net *net);

/* Transport, for the family. */
int jr_dev_init(void);
void jr_dev_exit(void);
/* A live engine for a new socket of this type, or NULL. */
struct jr_server *jr_server_get(struct jr_dev *dev, int type);
/* ... waiting out a recovery when none is live. */
struct jr_server *jr_server_get_wait(struct jr_dev *dev, int type);
/* The engines serving the namespace now, with a reference each. */
unsigned int jr_engines_get(struct jr_dev *dev, struct jr_server **srvs);
void jr_post_replay_done(struct jr_server *srv);
void jr_server_put(struct jr_server *srv);
int jr_slot_alloc(struct jr_server *srv, struct jr_sock *jsk, u32 *slot, u32 *gen);
void jr_slot_free(struct jr_server *srv, u32 slot);
int jr_post(struct jr_server *srv, struct jr_sqe *sqe, long timeo);
void jr_count_timeout(struct jr_server *srv);
u64 jr_next_tag(struct jr_server *srv);

static inline struct jr_slot_ctl *jr_slot_ctl(struct jr_server *srv, u32 slot)
{
	return &srv->slots[slot];
}

static inline unsigned char *jr_slot_rx(struct jr_server *srv, u32 slot)
{
	return (unsigned char *)srv->region + jr_slot_rx_off(&srv->params, slot);
}

static inline unsigned char *jr_slot_tx(struct jr_server *srv, u32 slot)
{
	return (unsigned char *)srv->region + jr_slot_tx_off(&srv->params, slot);
}

/* Family, for the transport. */
struct jr_family_ops {
	/* A validated reply or event for the socket owning cqe->slot. */
	void (*complete)(struct jr_sock *jsk, const struct jr_cqe *cqe);
	/*
	 * The server is gone: fail the socket and give its slot back, or
	 * keep the slot for a connection that survives (true), which frees
	 * it itself once a successor has taken it over or it closes.
	 */
	bool (*server_gone)(struct jr_sock *jsk);
	/*
	 * An engine attached (or a standby took a dead engine's place):
	 * replay the surviving sockets of its index to it and replicate the
	 * namespace's listeners onto it (replay == true; the family ends
	 * with jr_post_replay_done()), or fail those survivors (it cannot
	 * take a replay).
	 */
	void (*recover)(struct jr_server *srv, bool replay);
	/* The netserver kicked: requests that found the SQ full may go now. */
	void (*sq_room)(void);
	/* Take/drop a reference on the socket (sock_hold/sock_put). */
	void (*hold)(struct jr_sock *jsk);
	void (*put)(struct jr_sock *jsk);
};

extern const struct jr_family_ops jr_family;

/* The redirect of AF_INET sockets (jr_redirect.c). */
int jr_redirect_sysctl(struct ctl_table *table, int write, void *buffer,
		       size_t *lenp, loff_t *ppos);
void jr_redirect_exit(void);
u64 jr_redirect_count(void);
/* The redirect's admission check. */
bool jr_user_may_slot(struct jr_dev *dev, kuid_t uid);

/* Module parameters and sysctls. */
extern unsigned int jr_max_slots;
extern unsigned int jr_max_buf;
extern unsigned int jr_max_region_mb;
extern unsigned int jr_max_slots_per_user;
extern unsigned int jr_request_timeout_ms;
extern unsigned int jr_recovery_timeout_ms;

#endif /* _JR_KMOD_JOYRIDE_H */
