// SPDX-License-Identifier: GPL-2.0
/*
 * The transport to the netserver: /dev/joyride.
 *
 * A netserver opens /dev/joyride (access by file permissions: root and the
 * `joyride` group, see Documentation/operations.md), asks JR_IOC_ATTACH for
 * a region with the sizes it wants, and mmap()s it.  The kernel owns the
 * region: it allocates it (vmalloc, zeroed, charged to the attaching
 * process's memory cgroup), computes the layout with the same code the
 * user frontend uses, and keeps its own copy of every size and offset.
 *
 * Namespaces and engines.  An attach serves the network namespace of the
 * process that makes it (its nsproxy's, at JR_IOC_ATTACH), as one of up to
 * JR_MAX_ENGINES engines: Joyride sockets created in that namespace, and
 * those the redirect makes there, each belong to one engine.  An engine
 * index is served once per namespace (a second attach gets EBUSY); each
 * namespace has its own state, epoch, survivors and recovery, and each
 * engine's death is its own: its index is awaited, a parked standby (if
 * any) takes it at once, and other engines' sockets are left alone.  The
 * server pins its namespace (the process may move or exit first).
 *
 * Who may attach.  The netserver sees and can forge the traffic of every
 * Joyride socket of its namespace, so attaching is privileged: JR_IOC_ATTACH
 * needs CAP_NET_ADMIN over that namespace (in the user namespace that owns
 * it) in the credentials that opened the device (f_cred), not in the
 * caller's.  A privileged launcher opens the device and hands the
 * descriptor to an unprivileged netserver (jrctl supervise --device); a
 * group member that opens the device itself cannot attach in the initial
 * namespace.  In a namespace it owns (a rootless container: unshare -Urn)
 * it may, as it may already capture and forge all traffic there with
 * Linux's own stack; only sockets of that namespace reach its netserver.
 *
 * Doorbells.  kernel -> netserver: the eventfd given at attach, signalled
 * only when the netserver flagged JR_RING_NEED_WAKEUP on the SQ.
 * netserver -> kernel: JR_IOC_KICK, in which the kernel consumes the CQ.
 * Documentation/abi.md says why (eventfd because the netserver sleeps in
 * io_uring, where reading an eventfd is one SQE; an ioctl because it is a
 * single cheap syscall per batch and needs no kernel thread).
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/nsproxy.h>
#include <linux/pid.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <net/net_namespace.h>

#include "jr/jr_layout.h"
#include "joyride.h"

unsigned int jr_max_slots = 4096;
module_param_named(max_slots, jr_max_slots, uint, 0444);
MODULE_PARM_DESC(max_slots, "Most socket slots a netserver may ask for");

unsigned int jr_max_buf = 1U << 20;
module_param_named(max_buf, jr_max_buf, uint, 0444);
MODULE_PARM_DESC(max_buf, "Largest per-socket ring a netserver may ask for");

/* Keep the region small enough that a netserver cannot exhaust vmalloc space. */
unsigned int jr_max_region_mb = 4096;
module_param_named(max_region_mb, jr_max_region_mb, uint, 0444);
MODULE_PARM_DESC(max_region_mb, "Largest region (MiB) a netserver may ask for");

/* Deaths heard of early (jr_mm_gone()) are handled here. */
static struct workqueue_struct *jr_dev_wq;
static void jr_death_work(struct work_struct *work);
static void jr_mm_watch(struct jr_server *srv);
static void jr_mm_unwatch(struct jr_server *srv);

unsigned int jr_recovery_timeout_ms = 5000;	/* net.joyride.recovery_timeout_ms */
unsigned int jr_request_timeout_ms = 10000;	/* net.joyride.request_timeout_ms */

/* A namespace's device starts detached (its pernet init). */
void jr_dev_net_init(struct jr_dev *dev, struct net *net)
{
	dev->net = net;
	mutex_init(&dev->lock);
	dev->state = JR_DEV_DETACHED;
	INIT_LIST_HEAD(&dev->standbys);
	atomic_set(&dev->slots_free, 0);
	init_waitqueue_head(&dev->live_wait);
	INIT_LIST_HEAD(&dev->survivors);
	mutex_init(&dev->survivors_lock);
}

static void jr_server_free(struct jr_server *srv)
{
	if (srv->dev)
		put_net(srv->dev->net);
	if (srv->sq_doorbell)
		eventfd_ctx_put(srv->sq_doorbell);
	put_pid(srv->pid);
	vfree(srv->region);
	kvfree(srv->slot_owner);
	kvfree(srv->slot_gen);
	kfree(srv);
}

static void jr_server_release(struct kref *ref)
{
	jr_server_free(container_of(ref, struct jr_server, ref));
}

void jr_server_put(struct jr_server *srv)
{
	kref_put(&srv->ref, jr_server_release);
}

/*
 * Under dev->lock: the device's state from its engines'.  LIVE while one
 * serves; RECOVERING while none does but one is awaited or replaying.
 */
static void jr_dev_update_state(struct jr_dev *dev)
{
	bool live = false, pending = dev->awaited != 0;
	unsigned int i;

	for (i = 0; i < JR_MAX_ENGINES; i++) {
		struct jr_server *srv = dev->engines[i];

		if (!srv || srv->dead)
			continue;
		if (srv->live)
			live = true;
		else
			pending = true;
	}
	dev->state = live ? JR_DEV_LIVE :
		     pending ? JR_DEV_RECOVERING : JR_DEV_DETACHED;
}

/*
 * A live engine for a new socket, with a reference, or NULL when none
 * serves.  UDP sockets all go to the lowest live engine: the port keeper
 * hashes only TCP across queues, so every datagram arrives on queue 0.
 * TCP sockets go round robin, so that one process's connections spread
 * over the engines (an outgoing one gets a source port that RSS brings
 * back to its engine; an accepted one is the engine's that took the SYN).
 */
struct jr_server *jr_server_get(struct jr_dev *dev, int type)
{
	struct jr_server *live[JR_MAX_ENGINES], *srv = NULL;
	unsigned int i, n = 0;

	mutex_lock(&dev->lock);
	for (i = 0; i < JR_MAX_ENGINES; i++) {
		struct jr_server *e = dev->engines[i];

		if (e && e->live && !e->dead)
			live[n++] = e;
	}
	if (n)
		srv = type == SOCK_DGRAM ? live[0] : live[dev->next_engine++ % n];
	if (srv)
		kref_get(&srv->ref);
	mutex_unlock(&dev->lock);
	return srv;
}

/*
 * A live engine, waiting up to net.joyride.recovery_timeout_ms while the
 * device recovers (no engine serves, and a new one may be replaying).
 */
struct jr_server *jr_server_get_wait(struct jr_dev *dev, int type)
{
	long timeo = msecs_to_jiffies(READ_ONCE(jr_recovery_timeout_ms));

	if (READ_ONCE(dev->state) == JR_DEV_RECOVERING)
		wait_event_interruptible_timeout(dev->live_wait,
			READ_ONCE(dev->state) != JR_DEV_RECOVERING, timeo);
	return jr_server_get(dev, type);
}

/*
 * The engines attached and not dead (live or replaying), each with a
 * reference, in index order; srvs has room for JR_MAX_ENGINES.
 */
unsigned int jr_engines_get(struct jr_dev *dev, struct jr_server **srvs)
{
	unsigned int i, n = 0;

	mutex_lock(&dev->lock);
	for (i = 0; i < JR_MAX_ENGINES; i++) {
		struct jr_server *e = dev->engines[i];

		if (e && !e->dead) {
			kref_get(&e->ref);
			srvs[n++] = e;
		}
	}
	mutex_unlock(&dev->lock);
	return n;
}

/*
 * Under dev->lock: engine index `engine` serves again.  If it had died,
 * that outage is the last recovery (jrctl status).
 */
static void jr_outage_end(struct jr_dev *dev, u16 engine)
{
	u64 now = ktime_get_ns();

	if (!dev->outage_start_ns[engine])
		return;
	dev->recoveries++;
	dev->last_recovery_ns = now - dev->outage_start_ns[engine];
	dev->last_recovery_end_ns = now;
	dev->outage_start_ns[engine] = 0;
}

/* Recovery of this engine is over: it serves new sockets. */
static void jr_dev_set_live(struct jr_server *srv)
{
	struct jr_dev *dev = srv->dev;

	mutex_lock(&dev->lock);
	if (dev->engines[srv->engine] == srv && !srv->live && !srv->dead) {
		srv->live = true;
		jr_outage_end(dev, srv->engine);
		jr_dev_update_state(dev);
		pr_info("joyride: engine %u: recovery done (epoch %llu)\n",
			srv->engine, srv->params.epoch);
	}
	mutex_unlock(&dev->lock);
	wake_up_all(&dev->live_wait);
}

/* Every replayed socket precedes this; its reply ends recovery. */
void jr_post_replay_done(struct jr_server *srv)
{
	struct jr_sqe sqe = { .op = JR_OP_REPLAY_DONE };

	sqe.tag = jr_next_tag(srv);
	WRITE_ONCE(srv->replay_tag, sqe.tag);
	if (jr_post(srv, &sqe, msecs_to_jiffies(READ_ONCE(jr_request_timeout_ms))))
		WRITE_ONCE(srv->replay_tag, 0);
}

/*
 * Tags never repeat for the life of the module: the attach epoch in the
 * high bits, a counter below, so a reply from a dead netserver can never
 * match a request made to its successor.
 */
u64 jr_next_tag(struct jr_server *srv)
{
	return (srv->params.epoch << 40) |
	       ((u64)atomic64_inc_return(&srv->next_tag) & ((1ULL << 40) - 1));
}

/*
 * Under slot_lock: publish the count (region stats, and the live engines'
 * total free slots for the redirect's check, which counts a server from
 * jr_slots_count() on until it dies).
 */
static void jr_slots_changed(struct jr_server *srv, int delta)
{
	WRITE_ONCE(srv->stats->k_slots_used, srv->nr_used);
	if (srv->counted)
		atomic_sub(delta, &srv->dev->slots_free);
}

/* Start (or stop) counting the server's free slots in the device's total. */
static void jr_slots_count(struct jr_server *srv, bool count)
{
	spin_lock(&srv->slot_lock);
	if (srv->counted != count) {
		int free = srv->params.nr_slots - srv->nr_used;

		atomic_add(count ? free : -free, &srv->dev->slots_free);
		srv->counted = count;
	}
	spin_unlock(&srv->slot_lock);
}

int jr_slot_alloc(struct jr_server *srv, struct jr_sock *jsk, u32 *slot, u32 *gen)
{
	u32 nr = srv->params.nr_slots, i;
	int err = -ENOBUFS;

	spin_lock(&srv->slot_lock);
	if (srv->dead) {
		err = -ENETDOWN;
		goto out;
	}
	for (i = 0; i < nr; i++) {
		u32 s = (srv->free_hint + i) & (nr - 1);

		if (srv->slot_owner[s])
			continue;
		srv->slot_owner[s] = jsk;
		/* A new generation: events for the slot's last socket are stale. */
		if (++srv->slot_gen[s] == 0)
			srv->slot_gen[s] = 1;
		*slot = s;
		*gen = srv->slot_gen[s];
		srv->free_hint = s + 1;
		srv->nr_used++;
		jr_slots_changed(srv, 1);
		/* Each side resets the counters it owns when a slot is made. */
		WRITE_ONCE(srv->slots[s].rx_cons, 0);
		WRITE_ONCE(srv->slots[s].tx_prod, 0);
		err = 0;
		break;
	}
out:
	spin_unlock(&srv->slot_lock);
	return err;
}

void jr_slot_free(struct jr_server *srv, u32 slot)
{
	spin_lock(&srv->slot_lock);
	if (srv->slot_owner[slot]) {
		srv->slot_owner[slot] = NULL;
		srv->nr_used--;
		jr_slots_changed(srv, -1);
	}
	spin_unlock(&srv->slot_lock);
}

static bool jr_sq_room(struct jr_server *srv)
{
	bool room;

	spin_lock(&srv->sq_lock);
	room = READ_ONCE(srv->dead) || jr_ring_space(&srv->sq, 1) != 0;
	spin_unlock(&srv->sq_lock);
	return room;
}

/*
 * Post one request.  The caller holds a reference on srv (the server may
 * die while we wait, but not go away).  The SQ is rarely full (the
 * netserver drains it every loop turn); when it is, wait up to timeo
 * jiffies for room, killably, polling because a netserver that drains
 * requests without producing completions never kicks us.  timeo == 0:
 * do not wait (-EAGAIN).  A netserver that never makes room gives
 * -ETIMEDOUT after timeo, never a hung task.
 */
int jr_post(struct jr_server *srv, struct jr_sqe *sqe, long timeo)
{
	unsigned long deadline = jiffies + timeo;
	bool wake;
	int space;

	for (;;) {
		spin_lock(&srv->sq_lock);
		if (READ_ONCE(srv->dead)) {
			spin_unlock(&srv->sq_lock);
			return -ENETDOWN;
		}
		space = jr_ring_space(&srv->sq, 1);
		if (space > 0)
			break;
		spin_unlock(&srv->sq_lock);
		if (space < 0) {
			pr_warn_ratelimited("joyride: netserver SQ consumer index out of range\n");
			return -EIO;
		}
		if (!timeo)
			return -EAGAIN;
		if (time_after_eq(jiffies, deadline)) {
			jr_count_timeout(srv);
			return -ETIMEDOUT;
		}
		if (wait_event_killable_timeout(srv->sq_wait, jr_sq_room(srv),
						msecs_to_jiffies(1)) < 0)
			return -EINTR;
	}
	memcpy(jr_ring_entry(&srv->sq, srv->sq.own), sqe, sizeof(*sqe));
	jr_ring_produce(&srv->sq, 1);
	srv->sqes++;
	WRITE_ONCE(srv->stats->k_sqes, srv->sqes);
	wake = jr_ring_needs_wakeup(&srv->sq);
	if (wake) {
		srv->doorbells++;
		WRITE_ONCE(srv->stats->k_doorbells, srv->doorbells);
	}
	spin_unlock(&srv->sq_lock);
	if (wake && srv->sq_doorbell)
		eventfd_signal(srv->sq_doorbell, 1);
	return 0;
}

/* A request got no answer (or no room) in time; counted for operators. */
void jr_count_timeout(struct jr_server *srv)
{
	WRITE_ONCE(srv->stats->k_timeouts, atomic64_inc_return(&srv->timeouts));
}

static struct jr_server *jr_server_create(struct jr_attach *a)
{
	struct jr_server *srv;
	const struct jr_layout *l = &a->layout;
	unsigned char *base;
	int err;

	srv = kzalloc(sizeof(*srv), GFP_KERNEL);
	if (!srv)
		return ERR_PTR(-ENOMEM);
	kref_init(&srv->ref);
	spin_lock_init(&srv->sq_lock);
	init_waitqueue_head(&srv->sq_wait);
	mutex_init(&srv->cq_lock);
	spin_lock_init(&srv->slot_lock);
	INIT_LIST_HEAD(&srv->standby_node);
	init_waitqueue_head(&srv->standby_wait);
	INIT_WORK(&srv->death_work, jr_death_work);
	srv->slot_owner = kvcalloc(a->nr_slots, sizeof(*srv->slot_owner), GFP_KERNEL_ACCOUNT);
	srv->slot_gen = kvcalloc(a->nr_slots, sizeof(*srv->slot_gen), GFP_KERNEL_ACCOUNT);
	if (!srv->slot_owner || !srv->slot_gen) {
		err = -ENOMEM;
		goto err_free;
	}

	if (a->sq_eventfd >= 0) {
		srv->sq_doorbell = eventfd_ctx_fdget(a->sq_eventfd);
		if (IS_ERR(srv->sq_doorbell)) {
			err = PTR_ERR(srv->sq_doorbell);
			srv->sq_doorbell = NULL;
			goto err_free;
		}
	}

	/*
	 * Charged to the attaching process's memory cgroup: a netserver that
	 * attaches again and again pays for its regions itself.  A region
	 * that does not fit fails the attach (ENOMEM) rather than waking an
	 * OOM killer.  Mapped to the netserver page by page as it faults
	 * (jr_dev_vm_fault()), so no VM_USERMAP area is needed.  In 2 MiB
	 * pages where there are any (split, so each 4 KiB page is still one
	 * to map): a region is mostly rings, hundreds of MiB, and the attach
	 * of a default one took 1.06-1.45 s under emulation in 4 KiB pages,
	 * 0.84 s in 2 MiB ones, most of it zeroing.
	 */
	srv->region = vmalloc_huge(l->region_size, GFP_KERNEL_ACCOUNT | __GFP_ZERO |
				   __GFP_RETRY_MAYFAIL | __GFP_NOWARN);
	if (!srv->region) {
		err = -ENOMEM;
		goto err_free;
	}
	base = srv->region;
	srv->params = *a;
	jr_limits_init(&srv->limits, a);
	srv->stats = (struct jr_stats *)(base + l->stats_off);
	srv->slots = (struct jr_slot_ctl *)(base + l->slots_off);
	jr_ring_init(&srv->sq, (struct jr_ring_ctl *)(base + l->sq_off),
		     base + l->sq_entries_off, a->sq_entries,
		     sizeof(struct jr_sqe), true);
	jr_ring_init(&srv->cq, (struct jr_ring_ctl *)(base + l->cq_off),
		     base + l->cq_entries_off, a->cq_entries,
		     sizeof(struct jr_cqe), false);
	/*
	 * The kernel never reads its CQ wake-up flag back; it is set for the
	 * netserver's benefit: in ABI 1.0 the kernel consumes the CQ only when
	 * kicked, so it always "sleeps".
	 */
	srv->cq.ctl->cons_flags = JR_RING_NEED_WAKEUP;
	return srv;

err_free:
	jr_server_free(srv);
	return ERR_PTR(err);
}

/*
 * A previous engine of this index is being released: its sockets are
 * failing and the survivors are being queued.  Wait for that to finish, so
 * that a fast restart cannot replay before every survivor is on the list.
 * Under dev->lock (dropped while waiting).
 */
static int jr_engine_wait_released(struct jr_dev *dev, u16 engine)
{
	while (dev->engines[engine] && dev->engines[engine]->dead) {
		mutex_unlock(&dev->lock);
		if (wait_event_interruptible(dev->live_wait,
				!READ_ONCE(dev->engines[engine]) ||
				!READ_ONCE(dev->engines[engine]->dead)))
			return -ERESTARTSYS;
		mutex_lock(&dev->lock);
	}
	return 0;
}

static unsigned int jr_engines_attached(struct jr_dev *dev)
{
	unsigned int i, n = 0;

	for (i = 0; i < JR_MAX_ENGINES; i++)
		n += dev->engines[i] && !dev->engines[i]->dead;
	return n;
}

/*
 * Under dev->lock: srv serves engine index `engine` from now on, after a
 * replay of that index's survivors if `replay`.  Its epoch is new, so no
 * reply meant for a predecessor can match its requests.
 */
static void jr_engine_install(struct jr_dev *dev, struct jr_server *srv,
			      u16 engine, bool replay)
{
	srv->engine = engine;
	srv->params.engine = engine;
	srv->params.epoch = ++dev->epoch;
	srv->params.flags = replay ? JR_ATTACH_F_RECOVERING : 0;
	dev->engines[engine] = srv;
	clear_bit(engine, &dev->awaited);
	srv->params.nr_engines = jr_engines_attached(dev);
	srv->live = !replay;
	srv->attached_ns = ktime_get_ns();
	if (!dev->first_attach_ns)
		dev->first_attach_ns = srv->attached_ns;
	if (srv->live)
		jr_outage_end(dev, engine);
	dev->features = srv->params.features;
	jr_region_hdr_init(srv->region, &srv->params);
	jr_dev_update_state(dev);
}

/* Can srv take a replay?  It said so at attach, and it was granted. */
static bool jr_server_can_replay(const struct jr_server *srv)
{
	return srv->want_replay && (srv->params.features & JR_F_RECOVERY);
}

/*
 * Under dev->lock: the first parked standby takes engine index `engine`,
 * which just died, with a reference for the caller; NULL if none waits.
 * It replays the dead engine's survivors if it can.
 */
static struct jr_server *jr_standby_promote(struct jr_dev *dev, u16 engine)
{
	struct jr_server *srv;

	srv = list_first_entry_or_null(&dev->standbys, struct jr_server, standby_node);
	if (!srv)
		return NULL;
	list_del_init(&srv->standby_node);
	WRITE_ONCE(srv->standby, false);
	jr_engine_install(dev, srv, engine, jr_server_can_replay(srv));
	kref_get(&srv->ref);
	return srv;
}

/* An engine serves now: count its slots, wake waiters, replay to it. */
static void jr_engine_started(struct jr_server *srv)
{
	jr_slots_count(srv, true);
	wake_up_all(&srv->standby_wait);
	wake_up_all(&srv->dev->live_wait);
	jr_family.recover(srv, srv->params.flags & JR_ATTACH_F_RECOVERING);
}

static long jr_ioctl_attach(struct file *file, struct jr_attach __user *uarg)
{
	struct net *net = current->nsproxy->net_ns;
	struct jr_dev *dev = jr_dev_of(net);
	struct jr_server *srv;
	struct jr_attach a;
	bool standby, awaited = false;
	long err;

	/*
	 * The opener's privilege, not the caller's, over the namespace the
	 * caller attaches for: see the notes above.
	 */
	if (!file_ns_capable(file, net->user_ns, CAP_NET_ADMIN))
		return -EPERM;
	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if (a.abi_major != JR_ABI_MAJOR)
		return -EPROTONOSUPPORT;
	if (memchr_inv(a.reserved, 0, sizeof(a.reserved)) || a.reserved32 ||
	    (a.flags & ~(JR_ATTACH_F_RECOVER | JR_ATTACH_F_STANDBY)))
		return -EINVAL;
	standby = a.flags & JR_ATTACH_F_STANDBY;
	if (a.engine >= JR_MAX_ENGINES || (standby && a.engine))
		return -EINVAL;
	if (READ_ONCE(file->private_data))
		return -EBUSY;

	a.abi_minor = JR_ABI_MINOR;
	/* Grant what this kernel implements of what was asked for. */
	a.features &= JR_F_TCP | JR_F_UDP | JR_F_IPV6 | JR_F_RECOVERY | JR_F_SOCKOPTS |
		      JR_F_MULTICAST | JR_F_SURVIVAL | JR_F_STATS | JR_F_ACCEPT_LOCAL;
	/* A connection survives to be replayed: no replay, no survival. */
	if (!(a.features & JR_F_RECOVERY))
		a.features &= ~JR_F_SURVIVAL;
	a.nr_engines = 0;
	jr_layout_compute(&a, jr_max_slots, jr_max_buf);
	if (a.layout.region_size > ((u64)READ_ONCE(jr_max_region_mb) << 20)) {
		pr_warn_ratelimited("joyride: attach: a region of %llu MiB exceeds the module parameter max_region_mb=%u\n",
				    a.layout.region_size >> 20, jr_max_region_mb);
		return -E2BIG;
	}
	/*
	 * Allocated outside dev->lock, since a large region takes a while;
	 * an engine index already served is refused first, without
	 * allocating.
	 */
	mutex_lock(&dev->lock);
	err = !standby && dev->engines[a.engine] && !dev->engines[a.engine]->dead ?
	      -EBUSY : 0;
	mutex_unlock(&dev->lock);
	if (err)
		return err;
	srv = jr_server_create(&a);
	if (IS_ERR(srv))
		return PTR_ERR(srv);
	srv->dev = dev;
	get_net(net);
	srv->pid = get_task_pid(current, PIDTYPE_TGID);
	srv->want_replay = a.flags & JR_ATTACH_F_RECOVER;

	mutex_lock(&dev->lock);
	if (!standby) {
		err = jr_engine_wait_released(dev, a.engine);
		if (err)
			goto out_free;	/* unlocked */
	}
	err = -EBUSY;
	if ((!standby && dev->engines[a.engine]) || file->private_data)
		goto out_unlock;
	awaited = !standby && test_bit(a.engine, &dev->awaited);
	if (standby) {
		srv->params.flags = JR_ATTACH_F_STANDBY;
		srv->params.nr_engines = jr_engines_attached(dev);
		jr_region_hdr_init(srv->region, &srv->params);
	} else {
		/* A replay if this index died and the new engine can take it. */
		jr_engine_install(dev, srv, a.engine,
				  awaited && jr_server_can_replay(srv));
	}
	a.flags = srv->params.flags;
	a.epoch = srv->params.epoch;
	a.nr_engines = srv->params.nr_engines;
	err = -EFAULT;
	if (copy_to_user(uarg, &a, sizeof(a)))
		goto out_uninstall;
	srv->file = file;
	/*
	 * Two threads may attach one file for two namespaces at once, each
	 * under its own namespace's lock: the file takes the first.
	 */
	err = -EBUSY;
	if (cmpxchg(&file->private_data, NULL, srv))
		goto out_uninstall;
	if (standby) {
		srv->standby = true;
		srv->was_standby = true;
		list_add_tail(&srv->standby_node, &dev->standbys);
	}
	mutex_unlock(&dev->lock);
	jr_mm_watch(srv);
	if (!standby)
		jr_engine_started(srv);
	pr_info("joyride: %s attached (pid %d, epoch %llu)\n",
		standby ? "standby" : "engine", task_tgid_nr(current),
		srv->params.epoch);
	return 0;

out_uninstall:
	if (!standby && dev->engines[a.engine] == srv) {
		/* Never seen by a socket: no reference but the device's. */
		dev->engines[a.engine] = NULL;
		if (awaited)
			set_bit(a.engine, &dev->awaited);
		jr_dev_update_state(dev);
	}
out_unlock:
	mutex_unlock(&dev->lock);
out_free:
	jr_server_free(srv);
	return err;
}

/*
 * /proc/net/joyride_engines: who serves the reader's namespace.  One line
 * per engine index served or awaited, then one per parked standby; pids
 * as the reader's pid namespace sees them (0: not visible there).
 */
int jr_engines_show(struct seq_file *seq, void *v)
{
	struct jr_dev *dev = jr_dev_of(seq_file_single_net(seq));
	struct jr_server *srv;
	unsigned int i;

	seq_puts(seq, "Engine State      Pid      Epoch Slots\n");
	mutex_lock(&dev->lock);
	for (i = 0; i < JR_MAX_ENGINES; i++) {
		const char *state;

		srv = dev->engines[i];
		if (!srv) {
			if (test_bit(i, &dev->awaited))
				seq_printf(seq, "%-6u %-10s %-8d %5s %s\n", i, "awaited",
					   0, "-", "-");
			continue;
		}
		state = srv->dead ? "releasing" : srv->live ? "live" : "replaying";
		seq_printf(seq, "%-6u %-10s %-8d %5llu %u/%u\n", i, state,
			   pid_vnr(srv->pid), srv->params.epoch,
			   READ_ONCE(srv->nr_used), srv->params.nr_slots);
	}
	list_for_each_entry(srv, &dev->standbys, standby_node)
		seq_printf(seq, "%-6s %-10s %-8d %5s 0/%u\n", "-", "standby",
			   pid_vnr(srv->pid), "-", srv->params.nr_slots);
	mutex_unlock(&dev->lock);
	return 0;
}

/* The netserver's counters in its region, by the names jrctl shows. */
#define JR_NS_STAT(name)	{ #name, offsetof(struct jr_stats, s_##name) }
static const struct {
	const char	*name;
	size_t		off;
} jr_ns_stats[] = {
	JR_NS_STAT(rx_packets), JR_NS_STAT(rx_bytes),
	JR_NS_STAT(tx_packets), JR_NS_STAT(tx_bytes),
	JR_NS_STAT(drop_rx_queue), JR_NS_STAT(drop_tx_queue),
	JR_NS_STAT(drop_no_mbuf), JR_NS_STAT(drop_bad_csum), JR_NS_STAT(tx_busy),
	JR_NS_STAT(rx_dropped), JR_NS_STAT(tx_dropped),
	JR_NS_STAT(tcp_conns), JR_NS_STAT(tcp_opened), JR_NS_STAT(tcp_accepted),
	JR_NS_STAT(tcp_resets), JR_NS_STAT(tcp_restored),
	JR_NS_STAT(tcp_retransmits), JR_NS_STAT(tcp_timeouts),
	JR_NS_STAT(ring_full), JR_NS_STAT(kicks), JR_NS_STAT(wakeups),
	JR_NS_STAT(sleeps), JR_NS_STAT(loops), JR_NS_STAT(loops_idle),
	JR_NS_STAT(published_ns),
};

static const char *const jr_reject_names[JR_REJECT_MAX] = {
	[JR_REJECT_MALFORMED]	= "malformed",
	[JR_REJECT_RANGE]	= "out_of_range",
	[JR_REJECT_UNKNOWN_OP]	= "unknown_op",
	[JR_REJECT_ADDRESS]	= "bad_address",
	[JR_REJECT_SEQUENCE]	= "out_of_sequence",
	[JR_REJECT_OTHER]	= "other",
};

static void jr_engine_stat_show(struct seq_file *seq, struct jr_server *srv)
{
	const unsigned char *st = (const unsigned char *)srv->stats;
	unsigned int e = srv->engine, i;

	seq_printf(seq, "engine.%u.state %s\n", e,
		   srv->dead ? "releasing" : srv->live ? "live" : "replaying");
	seq_printf(seq, "engine.%u.pid %d\n", e, pid_vnr(srv->pid));
	seq_printf(seq, "engine.%u.epoch %llu\n", e, srv->params.epoch);
	seq_printf(seq, "engine.%u.serving_s %llu\n", e,
		   div_u64(ktime_get_ns() - srv->attached_ns, NSEC_PER_SEC));
	seq_printf(seq, "engine.%u.slots_used %u\n", e, READ_ONCE(srv->nr_used));
	seq_printf(seq, "engine.%u.slots_total %u\n", e, srv->params.nr_slots);
	seq_printf(seq, "engine.%u.requests %llu\n", e, READ_ONCE(srv->sqes));
	seq_printf(seq, "engine.%u.replies %llu\n", e, READ_ONCE(srv->cqes));
	seq_printf(seq, "engine.%u.doorbells %llu\n", e, READ_ONCE(srv->doorbells));
	seq_printf(seq, "engine.%u.timeouts %llu\n", e,
		   (u64)atomic64_read(&srv->timeouts));
	for (i = 0; i < JR_REJECT_MAX; i++)
		seq_printf(seq, "engine.%u.rejected.%s %llu\n", e, jr_reject_names[i],
			   READ_ONCE(srv->rejected[i]));
	/* The netserver writes these: shown as they are, never used.  One
	 * that did not promise them (JR_F_STATS) has only zeros there. */
	if (!(srv->params.features & JR_F_STATS))
		return;
	for (i = 0; i < ARRAY_SIZE(jr_ns_stats); i++)
		seq_printf(seq, "engine.%u.ns.%s %llu\n", e, jr_ns_stats[i].name,
			   READ_ONCE(*(const u64 *)(st + jr_ns_stats[i].off)));
}

/*
 * /proc/net/joyride_stat: the reader's namespace's device, its engines
 * and the counters of both sides, one "name value" line each (jrctl
 * status and stats read it; names stay, new ones may be added).  An
 * engine's counters start at its attach.  Lines under engine.N.ns. are
 * what that netserver publishes in its region.
 */
int jr_stat_show(struct seq_file *seq, void *v)
{
	static const char *const state_names[] = {
		[JR_DEV_DETACHED] = "detached", [JR_DEV_LIVE] = "live",
		[JR_DEV_RECOVERING] = "recovering",
	};
	struct jr_dev *dev = jr_dev_of(seq_file_single_net(seq));
	unsigned int i, engines = 0, standbys = 0, used = 0, total = 0;
	u64 now = ktime_get_ns(), outage = 0;
	struct jr_server *srv;

	mutex_lock(&dev->lock);
	for (i = 0; i < JR_MAX_ENGINES; i++) {
		srv = dev->engines[i];
		if (dev->outage_start_ns[i])
			outage = max(outage, now - dev->outage_start_ns[i]);
		if (!srv || srv->dead)
			continue;
		engines++;
		used += READ_ONCE(srv->nr_used);
		total += srv->params.nr_slots;
	}
	list_for_each_entry(srv, &dev->standbys, standby_node)
		standbys++;
	seq_printf(seq, "state %s\n", state_names[dev->state]);
	seq_printf(seq, "epoch %llu\n", dev->epoch);
	seq_printf(seq, "uptime_s %llu\n", dev->first_attach_ns ?
		   div_u64(now - dev->first_attach_ns, NSEC_PER_SEC) : 0);
	seq_printf(seq, "engines %u\n", engines);
	seq_printf(seq, "engines_awaited %u\n", (unsigned int)hweight_long(dev->awaited));
	seq_printf(seq, "standbys %u\n", standbys);
	seq_printf(seq, "slots_used %u\n", used);
	seq_printf(seq, "slots_total %u\n", total);
	seq_printf(seq, "recovering_ms %llu\n", div_u64(outage, NSEC_PER_MSEC));
	seq_printf(seq, "recoveries %llu\n", dev->recoveries);
	if (dev->recoveries) {
		seq_printf(seq, "last_recovery_ms %llu\n",
			   div_u64(dev->last_recovery_ns, NSEC_PER_MSEC));
		seq_printf(seq, "last_recovery_age_s %llu\n",
			   div_u64(now - dev->last_recovery_end_ns, NSEC_PER_SEC));
	}
	seq_printf(seq, "sockets_created %llu\n", (u64)atomic64_read(&dev->sockets_created));
	seq_printf(seq, "conns_kept %llu\n", (u64)atomic64_read(&dev->conns_kept));
	seq_printf(seq, "conns_restored %llu\n", (u64)atomic64_read(&dev->conns_restored));
	seq_printf(seq, "conns_reset %llu\n", (u64)atomic64_read(&dev->conns_reset));
	seq_printf(seq, "rejected.ring_position %llu\n", (u64)atomic64_read(&dev->rejected_ring));
	seq_printf(seq, "rejected.checkpoint %llu\n", (u64)atomic64_read(&dev->rejected_ckpt));
	for (i = 0; i < JR_MAX_ENGINES; i++)
		if (dev->engines[i])
			jr_engine_stat_show(seq, dev->engines[i]);
	mutex_unlock(&dev->lock);
	jr_users_show(seq);
	return 0;
}

/*
 * A standby sleeps until it serves: a dead engine's index is then its
 * own (jr_standby_promote()).  Returns at once on a file that serves.
 */
static long jr_ioctl_standby_wait(struct jr_server *srv, struct jr_attach __user *uarg)
{
	struct jr_dev *dev = srv->dev;
	struct jr_attach a;

	if (!srv->was_standby)
		return -EINVAL;
	if (wait_event_interruptible(srv->standby_wait, !READ_ONCE(srv->standby)))
		return -ERESTARTSYS;
	mutex_lock(&dev->lock);
	a = srv->params;
	mutex_unlock(&dev->lock);
	return copy_to_user(uarg, &a, sizeof(a)) ? -EFAULT : 0;
}

/* A bad entry: dropped and counted, never trusted, never a WARN. */
static void jr_bad_entry(struct jr_server *srv, const struct jr_cqe *cqe, int err)
{
	enum jr_reject why;

	switch (err) {
	case -EINVAL:		why = JR_REJECT_MALFORMED; break;
	case -ERANGE:		why = JR_REJECT_RANGE; break;
	case -EOPNOTSUPP:	why = JR_REJECT_UNKNOWN_OP; break;
	case -EAFNOSUPPORT:	why = JR_REJECT_ADDRESS; break;
	case -EPROTO:		why = JR_REJECT_SEQUENCE; break;
	default:		why = JR_REJECT_OTHER; break;
	}
	srv->rejected[why]++;
	srv->bad_entries++;
	WRITE_ONCE(srv->stats->k_bad_entries, srv->bad_entries);
	pr_warn_ratelimited("joyride: dropped bad CQE (op %u slot %u): %d\n",
			    cqe->op, cqe->slot, err);
}

/*
 * Consume the CQ, in the netserver's JR_IOC_KICK.  Each entry is copied
 * once, validated, and handed to the socket that owns its slot (with a
 * reference, so the socket cannot go away meanwhile).  A malformed entry
 * naming a live socket fails that socket with EIO.  Runs in the
 * netserver's context: it must never wait for a socket's lock, since an
 * application holding it may itself wait for the netserver.
 */
static long jr_ioctl_kick(struct jr_server *srv)
{
	struct jr_sock *jsk;
	struct jr_cqe cqe;
	int ready, i, err;

	mutex_lock(&srv->cq_lock);
	ready = jr_ring_ready(&srv->cq);
	if (ready < 0) {
		mutex_unlock(&srv->cq_lock);
		pr_warn_ratelimited("joyride: netserver CQ index out of range\n");
		return -EIO;
	}
	for (i = 0; i < ready; i++) {
		memcpy(&cqe, jr_ring_entry(&srv->cq, srv->cq.own + i), sizeof(cqe));
		err = jr_validate_cqe(&cqe, &srv->limits);
		if (cqe.op == JR_OP_REPLAY_DONE && !err) {
			if (cqe.tag == READ_ONCE(srv->replay_tag)) {
				WRITE_ONCE(srv->replay_tag, 0);
				jr_dev_set_live(srv);
			} else {
				jr_bad_entry(srv, &cqe, -EPROTO);
			}
			continue;
		}
		jsk = NULL;
		if (cqe.slot < srv->params.nr_slots) {
			spin_lock(&srv->slot_lock);
			jsk = srv->slot_owner[cqe.slot];
			if (jsk)
				jr_family.hold(jsk);
			spin_unlock(&srv->slot_lock);
		}
		if (err) {
			jr_bad_entry(srv, &cqe, err);
			if (jsk && !(cqe.flags & JR_CQE_F_EVENT) && cqe.tag &&
			    jr_op_has_reply(cqe.op)) {
				/*
				 * A malformed reply still ends its request
				 * (if the tag and op are the socket's): with
				 * EIO, so that a CLOSE or an ACCEPT does not
				 * keep its slot for good.
				 */
				struct jr_cqe ended = {
					.op = cqe.op, .tag = cqe.tag,
					.slot = cqe.slot, .res = -EIO,
				};

				jr_family.complete(jsk, &ended);
			}
			if (jsk) {
				/* Fail the socket it names: an EIO reset. */
				struct jr_cqe fail = {
					.op = JR_EV_RESET, .flags = JR_CQE_F_EVENT,
					.slot = cqe.slot, .res = -EIO,
					.slot_gen = srv->slot_gen[cqe.slot],
				};

				jr_family.complete(jsk, &fail);
			}
		} else if (jsk) {
			jr_family.complete(jsk, &cqe);
		}
		if (jsk)
			jr_family.put(jsk);
	}
	jr_ring_consume(&srv->cq, ready);
	srv->cqes += ready;
	WRITE_ONCE(srv->stats->k_cqes, srv->cqes);
	mutex_unlock(&srv->cq_lock);
	/* The netserver consumed SQEs too, probably: let waiting posters look. */
	wake_up_all(&srv->sq_wait);
	jr_family.sq_room();
	return 0;
}

static long jr_dev_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct jr_server *srv = file->private_data;

	switch (cmd) {
	case JR_IOC_ATTACH:
		return jr_ioctl_attach(file, (struct jr_attach __user *)arg);
	case JR_IOC_KICK:
		if (!srv || READ_ONCE(srv->standby))
			return -ENOTCONN;
		return jr_ioctl_kick(srv);
	case JR_IOC_STANDBY_WAIT:
		if (!srv)
			return -ENOTCONN;
		return jr_ioctl_standby_wait(srv, (struct jr_attach __user *)arg);
	default:
		return -ENOTTY;
	}
}

/*
 * The region's pages are mapped as the netserver touches them, not all at
 * mmap(): most of a region is the rings of slots no socket holds, and a
 * page mapped is a page the exit must unmap.  With all 512 MiB of the
 * default region mapped, the dying netserver's unmap_vmas() took 81-87 ms
 * under emulation, 12-16 ms mapped as touched, in a takeover's critical
 * path.  The vma holds the file, the file holds the server, the server
 * holds the region: a fault always finds it.
 */
static vm_fault_t jr_dev_vm_fault(struct vm_fault *vmf)
{
	struct jr_server *srv = vmf->vma->vm_file->private_data;
	unsigned long off = vmf->pgoff << PAGE_SHIFT;
	struct page *page;

	if (off >= PAGE_ALIGN(srv->params.layout.region_size))
		return VM_FAULT_SIGBUS;
	page = vmalloc_to_page(srv->region + off);
	get_page(page);
	vmf->page = page;
	return 0;
}

static const struct vm_operations_struct jr_dev_vm_ops = {
	.fault	= jr_dev_vm_fault,
};

static int jr_dev_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct jr_server *srv = file->private_data;
	unsigned long len = vma->vm_end - vma->vm_start;

	if (!srv)
		return -ENOTCONN;
	if (vma->vm_pgoff || len > PAGE_ALIGN(srv->params.layout.region_size))
		return -EINVAL;
	/* The region is shared memory, never executable code. */
	if (vma->vm_flags & VM_EXEC)
		return -EPERM;
	vma->vm_flags &= ~VM_MAYEXEC;
	vma->vm_flags |= VM_DONTEXPAND | VM_DONTDUMP;
	vma->vm_ops = &jr_dev_vm_ops;
	return 0;
}

/*
 * Every socket with a slot on a dead server fails and gives the slot
 * back.  One at a time, with a reference, outside slot_lock: failing a
 * socket takes its lock and may wait for a caller in the middle of a copy.
 */
static void jr_server_fail_sockets(struct jr_server *srv)
{
	u32 slot;

	for (slot = 0; slot < srv->params.nr_slots; slot++) {
		struct jr_sock *jsk;
		bool kept;

		spin_lock(&srv->slot_lock);
		jsk = srv->slot_owner[slot];
		if (jsk)
			jr_family.hold(jsk);
		spin_unlock(&srv->slot_lock);
		if (!jsk)
			continue;
		kept = jr_family.server_gone(jsk);
		jr_family.put(jsk);
		/* Whatever else the socket did, the slot is no longer in use. */
		if (!kept)
			jr_slot_free(srv, slot);
	}
}

/*
 * An engine (or a parked standby) is gone: its file was released, or its
 * process's address space is being torn down (jr_mm_gone()), whichever
 * comes first; only the first does anything.  In this order: mark the
 * server dead (no new requests, slots or sockets; its index is awaited),
 * fail its sockets and queue the survivors, and only then free the index:
 * for a parked standby to take at once, or for a new engine's attach,
 * which waited (jr_engine_wait_released()), so that the replay finds every
 * survivor.  Other engines' sockets are not touched.  Returns false if
 * the death was being handled already.
 */
static bool jr_server_die(struct jr_server *srv)
{
	struct jr_dev *dev = srv->dev;
	struct jr_server *next;
	u16 engine;

	mutex_lock(&dev->lock);
	if (srv->dying) {
		mutex_unlock(&dev->lock);
		return false;
	}
	srv->dying = true;
	if (srv->standby) {
		/* A standby that never served: nothing of it is in use. */
		list_del_init(&srv->standby_node);
		srv->standby = false;
		WRITE_ONCE(srv->dead, true);
		mutex_unlock(&dev->lock);
		pr_info("joyride: standby detached (pid %d)\n", pid_nr(srv->pid));
		return true;
	}
	engine = srv->engine;
	spin_lock(&srv->sq_lock);
	WRITE_ONCE(srv->dead, true);
	spin_unlock(&srv->sq_lock);
	set_bit(engine, &dev->awaited);
	if (!dev->outage_start_ns[engine])
		dev->outage_start_ns[engine] = ktime_get_ns();
	jr_dev_update_state(dev);
	mutex_unlock(&dev->lock);
	jr_slots_count(srv, false);

	/* Nobody allocates a slot once dead is seen under slot_lock. */
	spin_lock(&srv->slot_lock);
	spin_unlock(&srv->slot_lock);
	wake_up_all(&srv->sq_wait);
	jr_server_fail_sockets(srv);

	mutex_lock(&dev->lock);
	dev->engines[engine] = NULL;
	next = jr_standby_promote(dev, engine);
	jr_dev_update_state(dev);
	mutex_unlock(&dev->lock);
	wake_up_all(&dev->live_wait);
	pr_info("joyride: engine %u detached (epoch %llu); %s\n", engine,
		srv->params.epoch, next ? "a standby takes over" : "recovering");
	if (next) {
		jr_engine_started(next);
		jr_server_put(next);
	}
	return true;
}

static void jr_death_work(struct work_struct *work)
{
	struct jr_server *srv = container_of(work, struct jr_server, death_work);

	jr_server_die(srv);
	jr_server_put(srv);
}

#ifdef CONFIG_MMU_NOTIFIER
/*
 * The attacher's address space is going away (exit_mmap(), before any of
 * it is unmapped): no thread of that process runs user code any more, so
 * the engine is dead now, not when its files are closed at the end of the
 * exit.  Handled by a worker, so the exit goes on meanwhile.
 */
static void jr_mm_gone(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct jr_server *srv = container_of(mn, struct jr_server, mm_gone);

	if (READ_ONCE(srv->dead) || !READ_ONCE(srv->file))
		return;
	kref_get(&srv->ref);
	if (!queue_work(jr_dev_wq, &srv->death_work))
		jr_server_put(srv);
}

static const struct mmu_notifier_ops jr_mm_ops = {
	.release	= jr_mm_gone,
};

/*
 * Hear of the attacher's death as early as possible.  Without it (no
 * memory, or a kernel without MMU notifiers), the file's release does it
 * all, later.
 */
static void jr_mm_watch(struct jr_server *srv)
{
	srv->mm = current->mm;
	srv->mm_gone.ops = &jr_mm_ops;
	if (srv->mm && !mmu_notifier_register(&srv->mm_gone, srv->mm))
		srv->mm_registered = true;
}

static void jr_mm_unwatch(struct jr_server *srv)
{
	if (srv->mm_registered)
		mmu_notifier_unregister(&srv->mm_gone, srv->mm);
}
#else
static void jr_mm_watch(struct jr_server *srv) { }
static void jr_mm_unwatch(struct jr_server *srv) { }
#endif

static int jr_dev_release(struct inode *inode, struct file *file)
{
	struct jr_server *srv = file->private_data;

	if (!srv)
		return 0;
	/* The early path may be handling it: let it finish first. */
	if (!jr_server_die(srv))
		flush_work(&srv->death_work);
	jr_mm_unwatch(srv);
	jr_server_put(srv);
	return 0;
}

/*
 * misc_open() leaves the struct miscdevice in private_data; here it holds
 * the attached server instead, so start from NULL.
 */
static int jr_dev_open(struct inode *inode, struct file *file)
{
	file->private_data = NULL;
	return nonseekable_open(inode, file);
}

static const struct file_operations jr_dev_fops = {
	.owner		= THIS_MODULE,
	.open		= jr_dev_open,
	.release	= jr_dev_release,
	.unlocked_ioctl	= jr_dev_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.mmap		= jr_dev_mmap,
	.llseek		= no_llseek,
};

/*
 * root:root 0660.  The `joyride` group is given by a udev rule
 * (tools/60-joyride.rules) or by the operator; the module cannot name a
 * group that may not exist.
 */
static struct miscdevice jr_miscdev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= JR_DEVICE_NAME,
	.fops	= &jr_dev_fops,
	.mode	= 0660,
};

int jr_dev_init(void)
{
	int err;

	jr_dev_wq = alloc_workqueue("joyride_dev", WQ_UNBOUND, 0);
	if (!jr_dev_wq)
		return -ENOMEM;
	err = misc_register(&jr_miscdev);
	if (err)
		destroy_workqueue(jr_dev_wq);
	return err;
}

void jr_dev_exit(void)
{
	misc_deregister(&jr_miscdev);
	destroy_workqueue(jr_dev_wq);
}
