// SPDX-License-Identifier: GPL-2.0
/*
 * AF_JOYRIDE: sockets served by a user-space network stack.
 *
 * Implementation notes
 * --------------------
 * Joyride moves the TCP/IP stack out of the kernel into one unprivileged
 * process, jr-netserver (lwIP on DPDK).  This module keeps only the dispatch
 * path: it registers the AF_JOYRIDE socket family, turns socket calls into
 * requests on a shared-memory submission queue, copies payload into and out
 * of per-socket byte rings in the same region, and wakes waiters when the
 * netserver reports events on the completion queue.  It never parses a
 * packet.
 *
 * The code is split like vsock's: this file is the socket family (what an
 * application sees: proto_ops, socket state, waiting); jr_dev.c is the
 * transport (/dev/joyride, the region, rings, doorbells, the slot table and
 * the netserver's life).  The transport calls back through jr_family.
 *
 * Objects and ownership
 *   struct jr_sock   - one per socket; struct sock first (jr_sk()/sk_jr()).
 *                      While it owns a slot it holds a reference on the
 *                      server (jsk->srv) and the slot table points at it.
 *   struct jr_server - one attached netserver (kref; jr_dev.c).
 *
 * A socket's life: socket() takes a slot and sends SOCKET; close() sends
 * CLOSE and keeps a reference on the sock until the reply, because the
 * netserver may still be draining the slot's transmit ring; the reply (or
 * the netserver's death) frees the slot and drops that reference.
 *
 * Requests and replies.  A socket has at most two requests outstanding:
 * one synchronous (the caller waits: BIND, LISTEN, SETSOCKOPT, GETNAME,
 * SHUTDOWN, UDP CONNECT) and one asynchronous (TCP CONNECT, ACCEPT on a
 * child, CLOSE).  Replies are matched by tag; anything else is stale and
 * dropped.  Data never waits for a reply: sendmsg copies into the tx ring
 * and posts TX; recvmsg copies out of the rx ring and posts RX_SPACE.
 *
 * Who owns an asynchronous reply.  The tag is set before the request is
 * posted (the reply may come before jr_post() returns) and a netserver can
 * forge a reply before the request is even posted: tags are sequential.
 * So the async token (jsk->async.op) is owned by whoever clears it under
 * jsk->lock: the reply (jr_complete), the netserver's death
 * (jr_server_gone) or the poster whose post failed (jr_async_reclaim).
 * Only that one acts on it: drops the CLOSE reference, queues or frees an
 * ACCEPT's child.
 *
 * Posting never waits forever.  Whoever posts holds a server reference of
 * its own (jr_sock_srv_get), since the netserver's death unslots sockets
 * meanwhile.  Requests with a reply wait for SQ room up to
 * request_timeout_ms, killably; TX and RX_SPACE notifications and CLOSE
 * never wait in the caller: when the SQ is full they are owed (jr_defer)
 * and a worker posts them when the netserver kicks, or at the latest a
 * jiffy later.  An owed CLOSE keeps its slot: the netserver still has it.
 *
 * Limits.  Each slot is charged to a user (the creating fsuid; a listener's
 * accepted children to the listener's), at most
 * net.joyride.max_slots_per_user each, so one user cannot take the slots
 * everyone's redirected sockets need.
 *
 * Accepting.  A listener keeps a few children pre-allocated, each with a
 * slot and an ACCEPT posted; the netserver completes one per connection and
 * the child moves to the listener's accept queue, which accept() and poll()
 * read.  Each accept() posts a replacement.
 *
 * Trust.  The netserver is an unprivileged process.  Every value read from
 * the region is read once into a private copy, validated by the rules in
 * libjr/include/jr/jr_validate.h (shared with user space) and never used as
 * a pointer; ring positions are checked against the socket's own copies.
 * A bad entry or position fails the socket with EIO and a rate-limited
 * message; it never reaches a WARN/BUG.
 *
 * Locking (outer to inner)
 *   lock_sock(sk)            - one system call at a time on a socket; the
 *                              socket's slot and server may change only
 *                              under it (and under jsk->lock).
 *   jsk->lock (spinlock)     - what completions change: replies, rx_fin,
 *                              the accept queue, srv for lock-free readers
 *                              such as poll().
 *   jr_server locks          - see joyride.h.
 *   dev->survivors_lock (mutex) - the survivors' list; taken alone or
 *                              under lock_sock, never under jsk->lock.
 *   jr_deferred_lock, jr_users_lock (spinlocks) - innermost, alone; the
 *                              redirect's kprobe reads the users' table
 *                              under RCU only.
 *   Completions run in the netserver's JR_IOC_KICK and take only
 *   jsk->lock: an application holding lock_sock may itself be waiting for
 *   the netserver.
 *
 * Namespaces.  A socket is served by the netserver of its network
 * namespace (sock_net(), fixed at creation; jr_dev_of()), and everything
 * below about "the netserver" is per namespace: its attach, death,
 * survivors and replay.  /proc/net/joyride lists the reader's namespace's
 * sockets only.
 *
 * No netserver.  socket() fails with ENETDOWN while none has attached in
 * the caller's namespace.  When the netserver goes away
 * (jr_server_gone()), established connections with a valid checkpoint
 * survive with their rings (jr_conn_survives(), net.joyride.survival);
 * other connected and connecting TCP sockets fail as on a reset
 * (ECONNRESET; send: EPIPE) and their blocked callers wake.
 * Listening, bound and never-connected sockets survive: they give their
 * slot back, keep their identity (local address, backlog, options) and
 * wait on their namespace's survivors list until the next netserver
 * attaches there in recovery mode, when a worker replays them
 * (jr_replay_work(): other sockets one by one, then the surviving
 * connections in parallel, jr_restore_conns()); calls that need the
 * netserver meanwhile wait up to
 * net.joyride.recovery_timeout_ms, then fail with ENETDOWN.  Nothing waits
 * for a reply longer than net.joyride.request_timeout_ms.
 *
 * Engines.  A namespace may have several netservers, one per core, each
 * attached as an engine with its own SQ, CQ and slots (jr_dev.c).  A
 * socket is slotted on one engine (jsk->engine, kept while it waits as a
 * survivor, so the replay goes to the next server of that index).  A
 * listener listens on every engine: the application's socket is the
 * primary and a kernel-owned replica per other engine (jr_replica_add())
 * queues what it accepts on the primary, because RSS, not the kernel,
 * decides which engine a SYN reaches.  Replicas have a lock class of their
 * own, taken under the primary's.
 *
 * The AF_INET redirect (jr_redirect.c) creates sockets of this family
 * under a second family number that report AF_INET; all else is shared.
 *
 * Module life.  Each socket pins the module through its proto_ops owner,
 * so rmmod is refused (EBUSY) while sockets exist; an attached netserver
 * pins it through its open file.
 */
#include <linux/completion.h>
#include <linux/cred.h>
#include <linux/hashtable.h>
#include <linux/module.h>
#include <linux/net.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/semaphore.h>
#include <linux/seq_file.h>
#include <linux/socket.h>
#include <linux/sockios.h>
#include <linux/termios.h>
#include <linux/uio.h>
#include <linux/proc_fs.h>
#include <linux/sysctl.h>
#include <linux/tcp.h>
#include <linux/workqueue.h>
#include <net/compat.h>
#include <net/inet_ecn.h>
#include <net/ip.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>
#include <net/sock.h>
#include <net/tcp.h>
#include <net/tcp_states.h>

#include "jr/jr_sockaddr.h"
#include "jr/jr_sockopt.h"
#include "joyride.h"

#define JR_ACCEPT_PREPOST	8

/* net.joyride.survival: established connections outlive their netserver. */
static int jr_survival = 1;

struct jr_req {
	u64		tag;
	u16		op;
	bool		done;
	int		res;
	struct jr_cqe	cqe;
};

/*
 * An address as the socket's family shows it: sockaddr_in, or sockaddr_in6
 * (IPv4 peers of an IPv6 socket as ::ffff:a.b.c.d).  The port is at the
 * same offset in both.
 */
union jr_inaddr {
	struct sockaddr_in	v4;
	struct sockaddr_in6	v6;
};

/*
 * A multicast group the socket joined (IP_ADD_MEMBERSHIP,
 * IPV6_ADD_MEMBERSHIP, MCAST_JOIN_GROUP), kept so that a replay joins it
 * again; the netserver keeps its own list to leave on close.
 */
struct jr_mc {
	struct list_head	node;
	struct jr_sockaddr	group;		/* wire form; port 0 */
	__be32			ifaddr;		/* IPv4: the interface address
						 * the join named */
	int			ifindex;	/* the index it named; 0: any */
};

struct jr_sock {
	struct sock		sk;		/* must be first */
	spinlock_t		lock;
	struct jr_server	*srv;		/* with a reference while slotted */
	u16			engine;		/* srv's index, kept while slotless */
	u32			slot;
	u32			gen;
	struct jr_req		sync;
	struct jr_req		async;
	/*
	 * jr_call() sleeps here, not on sk_sleep(): the replay worker's
	 * calls run while the file may be closed, and sock_orphan() takes
	 * the socket's wait queue away from under a sleeper.
	 */
	wait_queue_head_t	call_wait;
	/* Our own ring positions; shared ones are only ever compared. */
	u32			rx_cons;
	u32			rx_cons_told;	/* in the last RX_SPACE */
	u32			tx_prod;
	bool			rx_fin;		/* peer sent FIN (after the data) */
	bool			closing;	/* CLOSE sent; waiting for the reply */
	bool			bound;
	union jr_inaddr		local;		/* in the socket's family */
	union jr_inaddr		peer;
	/* Listener */
	struct list_head	accept_queue;	/* children ready for accept() */
	unsigned int		accept_len;
	unsigned int		accepts_posted;
	/*
	 * Listener on several engines: the socket the application holds is
	 * the primary; a kernel-owned replica listens on each other engine
	 * (replica[i] for engine i, under the primary's lock_sock) and
	 * queues what it accepts on the primary (a replica's primary, with
	 * a reference).
	 */
	struct jr_sock		*replica[JR_MAX_ENGINES];
	struct jr_sock		*primary;
	struct list_head	replicate_node;	/* jr_replicate_listeners() */
	/* Child */
	struct list_head	accept_node;
	struct jr_sock		*listener;	/* with a reference while posted */
	struct list_head	all_node;	/* jr_socks, for /proc */
	/* Posts that found the SQ full, retried by jr_deferred_work. */
	struct list_head	deferred_node;	/* on jr_deferred while owed */
	unsigned int		deferred;	/* JR_DEFER_* owed */
	bool			close_abort;	/* the owed CLOSE is an abort */
	/* Slot accounting: the user the socket's slots are charged to. */
	kuid_t			owner;
	bool			charged;	/* the slot is charged to owner */
	/* Recovery: what rebuilds the socket on the next netserver. */
	struct list_head	survivor_node;	/* on dev->survivors while slotless,
						 * or while surviving */
	bool			survivor;
	bool			ever_connected;
	/*
	 * A connection that outlives its netserver (JR_F_SURVIVAL): it keeps
	 * its slot on the dead server, whose region lives as long as the
	 * socket's reference, and the netserver's half of the slot as it was
	 * at the death, so send() and recv() go on in the rings until a
	 * successor takes it over (jr_restore_sock()).  Set and cleared
	 * with srv, under lock_sock and jsk->lock.
	 */
	bool			surviving;
	bool			close_owed;	/* closed meanwhile: the successor
						 * gets RESTORE, then CLOSE */
	u32			ck_rx_prod;
	u32			ck_tx_cons;
	struct jr_tcp_ckpt	ckpt;
	/* Options (jr_opts[]) and byte counts for TCP_INFO. */
	int			opt[JR_O_NR];
	/* IP_MULTICAST_IF as set (address, index), and the groups joined
	 * (struct jr_mc; mc_count4 of them IPv4), under lock_sock. */
	__be32			mc_addr;
	int			mc_index;
	struct list_head	mc_list;
	unsigned int		mc_count4;
	u64			tx_bytes;	/* copied into the tx ring */
	u64			rx_bytes;	/* consumed from the rx ring */
};

static inline struct jr_sock *jr_sk(const struct sock *sk)
{
	return container_of(sk, struct jr_sock, sk);
}

static inline struct sock *sk_jr(struct jr_sock *jsk)
{
	return &jsk->sk;
}

/* ---------------------------------------------------------- addresses */

static inline bool jr_is_v6(const struct sock *sk)
{
	return sk->sk_family == AF_INET6;
}

/* An address the netserver named, as the socket's family shows it. */
static void jr_addr_from_wire(const struct sock *sk, const struct jr_sockaddr *sa,
			      union jr_inaddr *a)
{
	__be32 v4;

	if (!jr_is_v6(sk)) {
		jr_sockaddr_to_sin(sa, &a->v4);
		return;
	}
	memset(&a->v6, 0, sizeof(a->v6));
	a->v6.sin6_family = AF_INET6;
	a->v6.sin6_port = sa->port;
	if (sa->family == AF_INET) {
		memcpy(&v4, sa->addr, 4);
		ipv6_addr_set_v4mapped(v4, &a->v6.sin6_addr);
	} else {
		memcpy(&a->v6.sin6_addr, sa->addr, 16);
		a->v6.sin6_scope_id = sa->scope_id;
	}
}

/* The netserver's form: IPv4 (also when mapped into IPv6) or IPv6. */
static void jr_addr_to_wire(const struct sock *sk, const union jr_inaddr *a,
			    struct jr_sockaddr *sa)
{
	if (!jr_is_v6(sk)) {
		jr_sockaddr_from_sin(&a->v4, sa);
		return;
	}
	memset(sa, 0, sizeof(*sa));
	sa->port = a->v6.sin6_port;
	if (ipv6_addr_v4mapped(&a->v6.sin6_addr)) {
		sa->family = AF_INET;
		memcpy(sa->addr, &a->v6.sin6_addr.s6_addr32[3], 4);
	} else {
		sa->family = AF_INET6;
		memcpy(sa->addr, &a->v6.sin6_addr, 16);
		if (ipv6_addr_type(&a->v6.sin6_addr) & IPV6_ADDR_LINKLOCAL)
			sa->scope_id = a->v6.sin6_scope_id;
	}
}

static bool jr_addr_is_any(const struct sock *sk, const union jr_inaddr *a)
{
	if (!jr_is_v6(sk))
		return a->v4.sin_addr.s_addr == htonl(INADDR_ANY);
	return ipv6_addr_any(&a->v6.sin6_addr) ||
	       (ipv6_addr_v4mapped(&a->v6.sin6_addr) && !a->v6.sin6_addr.s6_addr32[3]);
}

/*
 * A caller's address for bind, connect or sendto, checked as inet and
 * inet6 check it: too short EINVAL, another family EAFNOSUPPORT.
 */
static int jr_addr_from_user(const struct sock *sk, const struct sockaddr *addr,
			     int len, union jr_inaddr *a)
{
	memset(a, 0, sizeof(*a));
	if (!jr_is_v6(sk)) {
		if (len < (int)sizeof(struct sockaddr_in))
			return -EINVAL;
		if (addr->sa_family != AF_INET)
			return -EAFNOSUPPORT;
		a->v4 = *(const struct sockaddr_in *)addr;
		return 0;
	}
	if (len < SIN6_LEN_RFC2133)
		return -EINVAL;
	if (addr->sa_family != AF_INET6)
		return -EAFNOSUPPORT;
	memcpy(&a->v6, addr, SIN6_LEN_RFC2133);
	if (len < (int)sizeof(struct sockaddr_in6))
		a->v6.sin6_scope_id = 0;
	a->v6.sin6_flowinfo = 0;
	return 0;
}

/* Out to the caller: the socket family's sockaddr; returns its length. */
static int jr_addr_to_user(const struct sock *sk, const union jr_inaddr *a,
			   struct sockaddr *out)
{
	if (!jr_is_v6(sk)) {
		struct sockaddr_in *sin = (struct sockaddr_in *)out;

		*sin = a->v4;
		sin->sin_family = AF_INET;
		memset(sin->sin_zero, 0, sizeof(sin->sin_zero));
		return sizeof(*sin);
	}
	memcpy(out, &a->v6, sizeof(a->v6));
	((struct sockaddr_in6 *)out)->sin6_family = AF_INET6;
	return sizeof(a->v6);
}

/* Every socket, for /proc/net/joyride. */
static LIST_HEAD(jr_socks);
static DEFINE_SPINLOCK(jr_socks_lock);

/*
 * Sockets that outlive their netserver (listening, bound, unconnected)
 * wait for the next one to replay them on their namespace's
 * jr_dev->survivors; each holds a reference.
 */
static unsigned int jr_net_id __read_mostly;

struct jr_dev *jr_dev_of(const struct net *net)
{
	return net_generic(net, jr_net_id);
}

static struct jr_dev *jr_sock_dev(struct jr_sock *jsk)
{
	return jr_dev_of(sock_net(sk_jr(jsk)));
}

static void jr_sock_destruct(struct sock *sk)
{
	struct jr_sock *jsk = jr_sk(sk);

	spin_lock(&jr_socks_lock);
	list_del(&jsk->all_node);
	spin_unlock(&jr_socks_lock);
	if (jsk->primary)
		sock_put(sk_jr(jsk->primary));
}

static void jr_keepalive(struct sock *sk, int valbool);
static void jr_opts_init(struct jr_sock *jsk);
static int jr_opts_replay(struct jr_sock *jsk);
static void jr_mc_free(struct jr_sock *jsk);

/*
 * A redirected stream socket reports AF_INET and IPPROTO_TCP (SO_DOMAIN,
 * SO_PROTOCOL), so core code's sk_is_tcp() is true for it and a few paths
 * read tcp_sk(sk) fields (SO_TIMESTAMPING's OPT_ID reads snd_una).  Make
 * every such read land in the socket's own zeroed memory rather than in
 * the next slab object.
 */
static struct proto jr_proto = {
	.name		= "JOYRIDE",
	.owner		= THIS_MODULE,
	.obj_size	= sizeof(struct jr_sock) > sizeof(struct tcp_sock) ?
			  sizeof(struct jr_sock) : sizeof(struct tcp_sock),
	.keepalive	= jr_keepalive,
};

/* Deferred posts and replays run here; module exit drains it. */
static struct workqueue_struct *jr_wq;

#define JR_DEFER_TX		(1U << 0)
#define JR_DEFER_RX_SPACE	(1U << 1)
#define JR_DEFER_CLOSE		(1U << 2)

static LIST_HEAD(jr_deferred);
static DEFINE_SPINLOCK(jr_deferred_lock);
static void jr_deferred_fn(struct work_struct *work);
static DECLARE_DELAYED_WORK(jr_deferred_work, jr_deferred_fn);

/* Per-user slot accounting (net.joyride.max_slots_per_user). */
unsigned int jr_max_slots_per_user = 256;

struct jr_user {
	struct hlist_node	node;
	kuid_t			uid;
	unsigned int		slots;
	struct rcu_head		rcu;
};

static DEFINE_HASHTABLE(jr_users, 6);
static DEFINE_SPINLOCK(jr_users_lock);

static const struct proto_ops jr_stream_ops;
static const struct proto_ops jr_dgram_ops;

/* ------------------------------------------------------------ helpers */

static void jr_set_state(struct sock *sk, int state)
{
	WRITE_ONCE(sk->sk_state, state);
}

/*
 * Wake every waiter, including those of jr_call(), which sleep
 * killably.  A child not yet accepted, or an orphan, has no socket
 * wait queue.
 */
static void jr_wake_all(struct sock *sk)
{
	struct socket_wq *wq;

	wake_up_all(&jr_sk(sk)->call_wait);
	rcu_read_lock();
	wq = rcu_dereference(sk->sk_wq);
	if (wq)
		wake_up_all(&wq->wait);
	rcu_read_unlock();
}

/* Wake every waiter of a failed socket. */
static void jr_sock_report(struct sock *sk)
{
	sk_error_report(sk);
	sk->sk_state_change(sk);
	sk->sk_write_space(sk);
}

/* Fail a socket: every waiter wakes; sk_err is what the next call sees. */
static void jr_sock_fail(struct sock *sk, int err)
{
	WRITE_ONCE(sk->sk_err, err);
	jr_sock_report(sk);
}

/*
 * A reset shuts the socket down and gives it an error.  The error is set
 * first (jr_reset_error()), so that a reader that finds the shutdown also
 * finds the error it came with: without the order a recv() on another CPU
 * could take the shutdown for an orderly end (0) and lose ECONNRESET.
 */
static void jr_reset_error(struct sock *sk, int err)
{
	WRITE_ONCE(sk->sk_err, err);
	smp_wmb();	/* pairs with jr_shutdown_error() */
}

/* The error of a socket found shut down for receiving: 0 for an orderly end. */
static int jr_shutdown_error(struct sock *sk)
{
	smp_rmb();	/* pairs with jr_reset_error() */
	return sock_error(sk);
}

/* The socket's server if it still lives. */
static struct jr_server *jr_live_srv(struct jr_sock *jsk)
{
	struct jr_server *srv = READ_ONCE(jsk->srv);

	return srv && !READ_ONCE(srv->dead) ? srv : NULL;
}

/*
 * The server whose rings carry the socket's data: its live one, or the
 * dead one of a surviving connection.  Without lock_sock the answer may
 * be a moment old: wait conditions only use it to wake up and look again.
 */
static struct jr_server *jr_data_srv(struct jr_sock *jsk)
{
	struct jr_server *srv = READ_ONCE(jsk->srv);

	return srv && (!READ_ONCE(srv->dead) || READ_ONCE(jsk->surviving)) ? srv : NULL;
}

/*
 * The socket's server died and jr_server_gone() has not judged the socket
 * yet: it is neither kept (surviving) nor let go (unslotted, reset).  A
 * reader or writer waits for the verdict (jr_server_gone() wakes it)
 * instead of taking the missing server for an end of file or a broken
 * pipe, which a connection that survives would then have reported.
 */
static bool jr_verdict_pending(struct jr_sock *jsk)
{
	struct jr_server *srv = READ_ONCE(jsk->srv);

	return srv && READ_ONCE(srv->dead) && !READ_ONCE(jsk->surviving);
}

/* No server to move data with, and none to come: the connection ended. */
static bool jr_data_gone(struct jr_sock *jsk)
{
	return !jr_data_srv(jsk) && !jr_verdict_pending(jsk);
}

/*
 * The socket's live server with a reference of the caller's own: whoever
 * posts to the SQ or waits holds one, because the netserver's death
 * unslots the socket (dropping the socket's reference) meanwhile.
 */
static struct jr_server *jr_sock_srv_get(struct jr_sock *jsk)
{
	struct jr_server *srv;

	spin_lock_bh(&jsk->lock);
	srv = jsk->srv;
	if (srv && !READ_ONCE(srv->dead))
		kref_get(&srv->ref);
	else
		srv = NULL;
	spin_unlock_bh(&jsk->lock);
	return srv;
}

static long jr_request_timeo(void)
{
	return msecs_to_jiffies(READ_ONCE(jr_request_timeout_ms));
}

/* ------------------------------------------------- per-user slot limit */

/* Under jr_users_lock, or rcu_read_lock() to read slots only. */
static struct jr_user *jr_user_find(kuid_t uid)
{
	struct jr_user *u;

	hash_for_each_possible_rcu(jr_users, u, node, __kuid_val(uid),
				   lockdep_is_held(&jr_users_lock))
		if (uid_eq(u->uid, uid))
			return u;
	return NULL;
}

/*
 * Slots the user holds now (0 if none).  Lockless: the redirect's kprobe
 * handler asks, in whatever context __sock_create() runs.
 */
static unsigned int jr_user_slots(kuid_t uid)
{
	struct jr_user *u;
	unsigned int n;

	rcu_read_lock();
	u = jr_user_find(uid);
	n = u ? READ_ONCE(u->slots) : 0;
	rcu_read_unlock();
	return n;
}

/*
 * The redirect's admission check, made before socket(AF_INET) becomes a
 * Joyride socket: a user near its limit, or a netserver nearly out of
 * slots, leaves the socket to Linux.  The margin is what a listener takes
 * (its slot and the pre-posted accepts).  The check races with other
 * threads' sockets (they may take the last slot first); then socket()
 * gets ENOBUFS, as when no slot is free.
 */
bool jr_user_may_slot(struct jr_dev *dev, kuid_t uid)
{
	unsigned int limit = READ_ONCE(jr_max_slots_per_user);

	if (atomic_read(&dev->slots_free) <= JR_ACCEPT_PREPOST)
		return false;
	return !limit || jr_user_slots(uid) + JR_ACCEPT_PREPOST < limit;
}

/* One more slot for uid: -ENOBUFS at net.joyride.max_slots_per_user. */
static int jr_user_charge(kuid_t uid)
{
	unsigned int limit = READ_ONCE(jr_max_slots_per_user);
	struct jr_user *u, *fresh = NULL;
	unsigned long flags;
	int err = 0;

	for (;;) {
		spin_lock_irqsave(&jr_users_lock, flags);
		u = jr_user_find(uid);
		if (!u && fresh) {
			u = fresh;
			fresh = NULL;
			hash_add_rcu(jr_users, &u->node, __kuid_val(uid));
		}
		if (u)
			break;
		spin_unlock_irqrestore(&jr_users_lock, flags);
		fresh = kzalloc(sizeof(*fresh), GFP_KERNEL);
		if (!fresh)
			return -ENOMEM;
		fresh->uid = uid;
	}
	if (limit && u->slots >= limit)
		err = -ENOBUFS;
	else
		WRITE_ONCE(u->slots, u->slots + 1);
	spin_unlock_irqrestore(&jr_users_lock, flags);
	kfree(fresh);	/* another thread added the user first */
	return err;
}

static void jr_user_uncharge(kuid_t uid)
{
	struct jr_user *u;
	unsigned long flags;

	spin_lock_irqsave(&jr_users_lock, flags);
	u = jr_user_find(uid);
	if (u) {
		WRITE_ONCE(u->slots, u->slots - 1);
		if (!u->slots)
			hash_del_rcu(&u->node);
		else
			u = NULL;
	}
	spin_unlock_irqrestore(&jr_users_lock, flags);
	if (u)
		kfree_rcu(u, rcu);
}

/* For /proc/net/joyride_stat: each user's slots, as the reader sees uids. */
void jr_users_show(struct seq_file *seq)
{
	struct user_namespace *ns = seq_user_ns(seq);
	struct jr_user *u;
	unsigned int bkt;

	rcu_read_lock();
	hash_for_each_rcu(jr_users, bkt, u, node) {
		uid_t uid = from_kuid(ns, u->uid);

		if (uid != (uid_t)-1)
			seq_printf(seq, "user.%u.slots %u\n", uid, READ_ONCE(u->slots));
	}
	rcu_read_unlock();
}

/* ---------------------------------------------------------- slots */

/* Give the slot and the server reference back. */
static void jr_sock_unslot(struct jr_sock *jsk)
{
	struct jr_server *srv;
	bool charged;

	spin_lock_bh(&jsk->lock);
	srv = jsk->srv;
	WRITE_ONCE(jsk->srv, NULL);
	WRITE_ONCE(jsk->surviving, false);
	charged = jsk->charged;
	jsk->charged = false;
	spin_unlock_bh(&jsk->lock);
	if (charged)
		jr_user_uncharge(jsk->owner);
	if (!srv)
		return;
	jr_slot_free(srv, jsk->slot);
	jr_server_put(srv);
}

/*
 * Take a slot on srv, charged to the socket's owner; the caller's server
 * reference moves to the socket (and is the caller's again on failure).
 */
static int jr_sock_slot(struct jr_sock *jsk, struct jr_server *srv)
{
	int err = jr_user_charge(jsk->owner);

	if (err)
		return err;
	err = jr_slot_alloc(srv, jsk, &jsk->slot, &jsk->gen);
	if (err) {
		jr_user_uncharge(jsk->owner);
		return err;
	}
	jsk->rx_cons = 0;
	jsk->rx_cons_told = 0;
	jsk->tx_prod = 0;
	jsk->engine = srv->engine;
	spin_lock_bh(&jsk->lock);
	jsk->charged = true;
	WRITE_ONCE(jsk->srv, srv);
	spin_unlock_bh(&jsk->lock);
	return 0;
}

/* ------------------------------------------------------ deferred posts */

/*
 * Owe the netserver a post that found the SQ full: the notifications (TX,
 * RX_SPACE) and CLOSE are never waited for by the caller.  The list holds
 * a reference on the socket; JR_DEFER_CLOSE also carries the reference
 * that jr_sock_close() consumes.  The netserver's kick retries at once,
 * a timer every jiffy until then.
 */
static void jr_defer(struct jr_sock *jsk, unsigned int what)
{
	spin_lock_bh(&jr_deferred_lock);
	if (!jsk->deferred) {
		sock_hold(sk_jr(jsk));
		list_add_tail(&jsk->deferred_node, &jr_deferred);
	}
	jsk->deferred |= what;
	spin_unlock_bh(&jr_deferred_lock);
	queue_delayed_work(jr_wq, &jr_deferred_work, 1);
}

static void jr_sq_room(void)
{
	if (!list_empty_careful(&jr_deferred))
		mod_delayed_work(jr_wq, &jr_deferred_work, 0);
}

/* Post a request that has no reply (TX, RX_SPACE); never waits. */
static void jr_notify_flags(struct jr_sock *jsk, u16 op, u16 flags)
{
	struct jr_server *srv = jr_sock_srv_get(jsk);
	struct jr_sqe sqe = {
		.op = op, .flags = flags, .slot = jsk->slot, .slot_gen = jsk->gen,
	};

	if (!srv)
		return;
	/* An owed TX goes without MSG_MORE's hold: sent at once. */
	if (jr_post(srv, &sqe, 0) == -EAGAIN)
		jr_defer(jsk, op == JR_OP_TX ? JR_DEFER_TX : JR_DEFER_RX_SPACE);
	jr_server_put(srv);
}

static void jr_notify(struct jr_sock *jsk, u16 op)
{
	jr_notify_flags(jsk, op, 0);
}

/*
 * A synchronous request: post it and wait for its reply, under lock_sock,
 * which is released while waiting so completions and poll() go on.  The
 * netserver answers these at once; the wait is bounded all the same, so a
 * netserver that stops answering gives ETIMEDOUT, never a hung task.
 */
static int jr_call(struct jr_sock *jsk, struct jr_sqe *sqe)
{
	struct sock *sk = sk_jr(jsk);
	struct jr_server *srv = jr_sock_srv_get(jsk);
	long timeo = jr_request_timeo();
	DEFINE_WAIT_FUNC(wait, woken_wake_function);
	int err;

	if (!srv)
		return -ENETDOWN;
	/* Only the replay worker calls for a closed socket: its close
	 * owns the slot now, and nothing more is asked of it, unless the
	 * close itself waits for the connection to be restored. */
	if (sock_flag(sk, SOCK_DEAD) && !jsk->close_owed) {
		jr_server_put(srv);
		return -EBADF;
	}
	sqe->slot = jsk->slot;
	sqe->slot_gen = jsk->gen;
	sqe->tag = jr_next_tag(srv);
	spin_lock_bh(&jsk->lock);
	jsk->sync.tag = sqe->tag;
	jsk->sync.op = sqe->op;
	jsk->sync.done = false;
	spin_unlock_bh(&jsk->lock);
	err = jr_post(srv, sqe, timeo);
	if (err)
		goto out;

	/* Killable: a process the netserver ignores can still be killed. */
	add_wait_queue(&jsk->call_wait, &wait);
	while (!READ_ONCE(jsk->sync.done) && !READ_ONCE(srv->dead) && timeo &&
	       !fatal_signal_pending(current)) {
		release_sock(sk);
		timeo = wait_woken(&wait, TASK_KILLABLE, timeo);
		lock_sock(sk);
	}
	remove_wait_queue(&jsk->call_wait, &wait);
	if (READ_ONCE(jsk->sync.done)) {
		err = jsk->sync.res;
	} else if (READ_ONCE(srv->dead) || !jr_live_srv(jsk)) {
		err = -ENETDOWN;
	} else if (!timeo) {
		jr_count_timeout(srv);
		err = -ETIMEDOUT;
	} else {
		err = -EINTR;
	}
out:
	spin_lock_bh(&jsk->lock);
	jsk->sync.op = 0;
	spin_unlock_bh(&jsk->lock);
	jr_server_put(srv);
	return err;
}

static int jr_setopt(struct jr_sock *jsk, u32 level, u32 name, u64 value)
{
	struct jr_sqe sqe = { .op = JR_OP_SETSOCKOPT };

	sqe.u.sockopt.level = level;
	sqe.u.sockopt.name = name;
	sqe.u.sockopt.value = value;
	return jr_call(jsk, &sqe);
}

/*
 * The netserver's ring positions: read from the slot, or, for a surviving
 * connection, as they were when its netserver died (nobody moves them
 * now, and nobody may: whatever still maps that region is not trusted).
 */
static u32 jr_srv_rx_prod(struct jr_sock *jsk, struct jr_server *srv)
{
	if (READ_ONCE(jsk->surviving))
		return jsk->ck_rx_prod;
	return jr_load_acquire(&jr_slot_ctl(srv, jsk->slot)->rx_prod);
}

static u32 jr_srv_tx_cons(struct jr_sock *jsk, struct jr_server *srv)
{
	if (READ_ONCE(jsk->surviving))
		return jsk->ck_tx_cons;
	return jr_load_acquire(&jr_slot_ctl(srv, jsk->slot)->tx_cons);
}

/* Bytes the netserver has put in the rx ring for us, or -EOVERFLOW. */
static int jr_rx_avail(struct jr_sock *jsk, struct jr_server *srv)
{
	return jr_bytes_fill(jr_srv_rx_prod(jsk, srv), jsk->rx_cons,
			     srv->params.rx_buf_size);
}

/* Free bytes in the tx ring, or -EOVERFLOW. */
static int jr_tx_room(struct jr_sock *jsk, struct jr_server *srv)
{
	int fill = jr_bytes_fill(jsk->tx_prod, jr_srv_tx_cons(jsk, srv),
				 srv->params.tx_buf_size);

	return fill < 0 ? fill : (int)srv->params.tx_buf_size - fill;
}

static int jr_tx_queued(struct jr_sock *jsk, struct jr_server *srv)
{
	int fill = jr_bytes_fill(jsk->tx_prod, jr_srv_tx_cons(jsk, srv),
				 srv->params.tx_buf_size);

	return fill < 0 ? 0 : fill;
}

/*
 * The same, for wait conditions, which run without lock_sock: the server
 * is read once under jsk->lock, which keeps its region mapped (the
 * socket's reference is dropped only after srv is cleared under it).
 * No server: 0 (nothing to read, no room), the waiter's other conditions
 * decide.
 */
static int jr_rx_avail_now(struct jr_sock *jsk)
{
	int avail = 0;

	spin_lock_bh(&jsk->lock);
	if (jsk->srv)
		avail = jr_rx_avail(jsk, jsk->srv);
	spin_unlock_bh(&jsk->lock);
	return avail;
}

static int jr_tx_room_now(struct jr_sock *jsk)
{
	int room = 0;

	spin_lock_bh(&jsk->lock);
	if (jsk->srv)
		room = jr_tx_room(jsk, jsk->srv);
	spin_unlock_bh(&jsk->lock);
	return room;
}

static int jr_bad_ring(struct jr_sock *jsk)
{
	atomic64_inc(&jr_sock_dev(jsk)->rejected_ring);
	pr_warn_ratelimited("joyride: slot %u: ring position out of range; socket fails\n",
			    jsk->slot);
	jr_sock_fail(sk_jr(jsk), EIO);
	return -EIO;
}

/* ------------------------------------------------------- life and close */

/*
 * family is what the socket reports (sk_family, SO_DOMAIN): AF_JOYRIDE, or
 * AF_INET for a redirected socket.
 */
static struct sock *jr_sock_alloc(struct net *net, struct socket *sock,
				  int type, int family, int kern, kuid_t owner)
{
	struct jr_sock *jsk;
	struct sock *sk;

	sk = sk_alloc(net, family, GFP_KERNEL, &jr_proto, kern);
	if (!sk)
		return NULL;
	sock_init_data(sock, sk);
	sk->sk_type = type;
	sk->sk_protocol = type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP;
	sk->sk_destruct = NULL;
	jsk = jr_sk(sk);
	spin_lock_init(&jsk->lock);
	init_waitqueue_head(&jsk->call_wait);
	INIT_LIST_HEAD(&jsk->accept_queue);
	INIT_LIST_HEAD(&jsk->accept_node);
	INIT_LIST_HEAD(&jsk->survivor_node);
	INIT_LIST_HEAD(&jsk->deferred_node);
	INIT_LIST_HEAD(&jsk->replicate_node);
	jsk->owner = owner;
	jr_opts_init(jsk);
	jr_set_state(sk, TCP_CLOSE);
	spin_lock(&jr_socks_lock);
	list_add_tail(&jsk->all_node, &jr_socks);
	spin_unlock(&jr_socks_lock);
	sk->sk_destruct = jr_sock_destruct;
	return sk;
}

/*
 * A request's reply is owned by whoever clears the socket's async token
 * (under jsk->lock): the reply (jr_complete), the netserver's death
 * (jr_server_gone) or, when the post failed, the poster.  Exactly one of
 * them then acts on it, so a reply forged before or during the post
 * cannot make the poster's clean-up run a second time.
 */
static bool jr_async_reclaim(struct jr_sock *jsk, u16 op, u64 tag)
{
	bool mine;

	spin_lock_bh(&jsk->lock);
	mine = jsk->async.op == op && jsk->async.tag == tag;
	if (mine)
		jsk->async.op = 0;
	spin_unlock_bh(&jsk->lock);
	return mine;
}

/*
 * Send CLOSE for a socket nobody will use again.  The caller's reference
 * becomes the one that waits for the reply (the netserver may still be
 * draining the slot's tx ring); without a live server it is dropped now.
 * Waits up to timeo for room in the SQ; if there is none, the CLOSE is
 * owed (jr_defer) and the slot stays taken until it is posted or the
 * netserver dies, because the netserver still holds it.
 */
static void jr_sock_close(struct jr_sock *jsk, bool abort, long timeo)
{
	struct sock *sk = sk_jr(jsk);
	struct jr_server *srv = jr_sock_srv_get(jsk);
	struct jr_sqe sqe = {
		.op = JR_OP_CLOSE, .slot = jsk->slot, .slot_gen = jsk->gen,
	};
	bool dead;
	int err;

	if (!srv)
		goto drop;
	sqe.tag = jr_next_tag(srv);
	sqe.u.close.linger_on = abort;
	spin_lock_bh(&jsk->lock);
	/* A pending CONNECT is answered -ECANCELED first; forget it. */
	jsk->async.tag = sqe.tag;
	jsk->async.op = JR_OP_CLOSE;
	jsk->closing = true;
	jsk->close_abort = abort;
	spin_unlock_bh(&jsk->lock);
	/* The reply or the server's death may drop the caller's reference
	 * while we post: keep the socket until we know who owns it. */
	sock_hold(sk);
	err = jr_post(srv, &sqe, timeo);
	dead = READ_ONCE(srv->dead);
	jr_server_put(srv);
	if (err && jr_async_reclaim(jsk, JR_OP_CLOSE, sqe.tag)) {
		if (!dead) {
			jr_defer(jsk, JR_DEFER_CLOSE);	/* takes the caller's */
		} else {
			jr_sock_unslot(jsk);
			sock_put(sk);			/* the caller's */
		}
	}
	sock_put(sk);
	return;
drop:
	jr_sock_unslot(jsk);
	sock_put(sk);
}

/* The CLOSE reply: the slot is free on the netserver's side too. */
static void jr_close_done(struct jr_sock *jsk)
{
	jr_sock_unslot(jsk);
	sock_put(sk_jr(jsk));
}

/* Retry what the SQ had no room for, in the order it was owed. */
static void jr_deferred_fn(struct work_struct *work)
{
	struct jr_sock *jsk;
	unsigned int what;
	LIST_HEAD(batch);

	spin_lock_bh(&jr_deferred_lock);
	list_splice_init(&jr_deferred, &batch);
	spin_unlock_bh(&jr_deferred_lock);
	for (;;) {
		spin_lock_bh(&jr_deferred_lock);
		jsk = list_first_entry_or_null(&batch, struct jr_sock, deferred_node);
		if (jsk) {
			list_del_init(&jsk->deferred_node);
			what = jsk->deferred;
			jsk->deferred = 0;
		}
		spin_unlock_bh(&jr_deferred_lock);
		if (!jsk)
			break;
		/* Each of these owes itself again if the SQ is still full. */
		if (what & JR_DEFER_TX)
			jr_notify(jsk, JR_OP_TX);
		if (what & JR_DEFER_RX_SPACE)
			jr_notify(jsk, JR_OP_RX_SPACE);
		if (what & JR_DEFER_CLOSE)
			jr_sock_close(jsk, jsk->close_abort, 0);
		sock_put(sk_jr(jsk));	/* the list's reference */
	}
}

/* ----------------------------------------------------------- accepting */

/* Post an ACCEPT on a fresh child; under the listener's lock_sock. */
static int jr_post_accept(struct jr_sock *l)
{
	struct sock *lsk = sk_jr(l);
	struct jr_server *srv = jr_sock_srv_get(l);
	struct jr_sqe sqe = { .op = JR_OP_ACCEPT };
	struct jr_sock *child;
	struct sock *csk;
	int err;

	if (!srv)
		return -ENETDOWN;
	err = -ENOMEM;
	csk = jr_sock_alloc(sock_net(lsk), NULL, SOCK_STREAM, lsk->sk_family, 0,
			    l->owner);
	if (!csk)
		goto out;
	child = jr_sk(csk);
	memcpy(child->opt, l->opt, sizeof(child->opt));
	kref_get(&srv->ref);
	err = jr_sock_slot(child, srv);
	if (err) {
		jr_server_put(srv);
		sock_put(csk);
		goto out;
	}
	sock_hold(lsk);
	child->listener = l;
	sqe.slot = child->slot;
	sqe.slot_gen = child->gen;
	sqe.tag = jr_next_tag(srv);
	sqe.u.accept.listener_slot = l->slot;
	sqe.u.accept.listener_gen = l->gen;
	spin_lock_bh(&child->lock);
	child->async.tag = sqe.tag;
	child->async.op = JR_OP_ACCEPT;
	spin_unlock_bh(&child->lock);
	spin_lock_bh(&l->lock);
	l->accepts_posted++;
	spin_unlock_bh(&l->lock);
	sock_hold(csk);		/* a completion may free the child meanwhile */
	err = jr_post(srv, &sqe, jr_request_timeo());
	/* A completion that took the token owns the child and the listener
	 * reference now (jr_child_ready, jr_server_gone). */
	if (err && jr_async_reclaim(child, JR_OP_ACCEPT, sqe.tag)) {
		spin_lock_bh(&l->lock);
		l->accepts_posted--;
		spin_unlock_bh(&l->lock);
		child->listener = NULL;
		sock_put(lsk);
		jr_sock_unslot(child);
		sock_put(csk);
	}
	sock_put(csk);
out:
	jr_server_put(srv);
	return err;
}

/*
 * The address an accepted connection's peer reached, where the netserver
 * says (JR_F_ACCEPT_LOCAL; validation let only zeros through otherwise):
 * on a wildcard listener the listener's own address says nothing, and a
 * successor could not restore the connection on it.  The port stays the
 * listener's.
 */
static void jr_accepted_local(const struct sock *sk, const struct jr_cqe *cqe,
			      union jr_inaddr *local)
{
	struct jr_sockaddr wire = cqe->u.accepted.peer;

	if (!memchr_inv(cqe->u.accepted.local, 0, sizeof(cqe->u.accepted.local)))
		return;
	memcpy(wire.addr, cqe->u.accepted.local, sizeof(wire.addr));
	wire.port = local->v4.sin_port;		/* same offset in v6 */
	jr_addr_from_wire(sk, &wire, local);
}

/* An ACCEPT completed (kick context): queue the child or drop it. */
static void jr_child_ready(struct jr_sock *child, const struct jr_cqe *cqe)
{
	struct jr_sock *l = child->listener;
	struct sock *lsk = sk_jr(l);
	struct sock *csk = sk_jr(child);
	/* A replica's connections are the primary's to accept. */
	struct jr_sock *q = l->primary ?: l;
	struct sock *qsk = sk_jr(q);
	bool queued = false;

	child->listener = NULL;
	if (cqe->res == 0) {
		jr_addr_from_wire(csk, &cqe->u.addr, &child->peer);
		child->local = l->local;
		jr_accepted_local(csk, cqe, &child->local);
		child->bound = true;
		child->ever_connected = true;
		jr_set_state(csk, TCP_ESTABLISHED);
		spin_lock_bh(&l->lock);
		l->accepts_posted--;
		spin_unlock_bh(&l->lock);
		spin_lock_bh(&q->lock);
		if (READ_ONCE(lsk->sk_state) == TCP_LISTEN &&
		    READ_ONCE(qsk->sk_state) == TCP_LISTEN) {
			list_add_tail(&child->accept_node, &q->accept_queue);
			q->accept_len++;
			queued = true;
		}
		spin_unlock_bh(&q->lock);
		if (queued) {
			qsk->sk_data_ready(qsk);
		} else {
			/* The listener closed meanwhile: close the connection.
			 * Posting may wait for SQ room, which this context
			 * must never do, so it is owed. */
			jr_defer(child, JR_DEFER_CLOSE);
		}
	} else {
		/* A failed ACCEPT leaves the netserver's slot free. */
		spin_lock_bh(&l->lock);
		l->accepts_posted--;
		spin_unlock_bh(&l->lock);
		jr_sock_unslot(child);
		sock_put(csk);
	}
	sock_put(lsk);
}

/* ------------------------------------------------------- completions */

/* A validated CQE for this socket, from the netserver's kick. */
static void jr_complete(struct jr_sock *jsk, const struct jr_cqe *cqe)
{
	struct sock *sk = sk_jr(jsk);

	if (cqe->flags & JR_CQE_F_EVENT) {
		if (cqe->slot_gen != jsk->gen)
			return;		/* for the slot's previous socket */
		switch (cqe->op) {
		case JR_EV_RX:
			sk->sk_data_ready(sk);
			break;
		case JR_EV_TX_SPACE:
			sk->sk_write_space(sk);
			break;
		case JR_EV_RX_FIN:
			spin_lock_bh(&jsk->lock);
			jsk->rx_fin = true;
			WRITE_ONCE(sk->sk_shutdown, sk->sk_shutdown | RCV_SHUTDOWN);
			spin_unlock_bh(&jsk->lock);
			sk->sk_state_change(sk);
			sk->sk_data_ready(sk);
			break;
		case JR_EV_RESET:
			spin_lock_bh(&jsk->lock);
			jr_reset_error(sk, -cqe->res);
			jsk->rx_fin = true;
			WRITE_ONCE(sk->sk_shutdown, SHUTDOWN_MASK);
			/* The reset ends a connect() in progress; its reply,
			 * if one still comes, is stale. */
			if (jsk->async.op == JR_OP_CONNECT)
				jsk->async.op = 0;
			if (sk->sk_state != TCP_LISTEN)
				jr_set_state(sk, TCP_CLOSE);
			spin_unlock_bh(&jsk->lock);
			jr_sock_report(sk);
			break;
		case JR_EV_ERROR:
			jr_sock_fail(sk, -cqe->res);
			break;
		default:
			/* ACCEPTABLE: our accept queue says it all. */
			break;
		}
		return;
	}

	spin_lock_bh(&jsk->lock);
	/* A reply is taken once: a second one with the same tag is stale. */
	if (jsk->sync.op && !jsk->sync.done && jsk->sync.tag == cqe->tag &&
	    jsk->sync.op == cqe->op) {
		jsk->sync.cqe = *cqe;
		jsk->sync.res = cqe->res;
		WRITE_ONCE(jsk->sync.done, true);
		spin_unlock_bh(&jsk->lock);
		jr_wake_all(sk);
		return;
	}
	if (!jsk->async.op || jsk->async.tag != cqe->tag || jsk->async.op != cqe->op) {
		spin_unlock_bh(&jsk->lock);
		return;		/* stale: nobody waits for it any more */
	}
	jsk->async.op = 0;
	/*
	 * A CONNECT reply decides a connect() still in progress only: after
	 * a reset (or anything else that ended the attempt) the socket may
	 * be listening or connecting again, and a late reply must not make
	 * it ESTABLISHED.
	 */
	if (cqe->op == JR_OP_CONNECT && READ_ONCE(sk->sk_state) != TCP_SYN_SENT) {
		spin_unlock_bh(&jsk->lock);
		return;
	}
	jsk->async.res = cqe->res;
	spin_unlock_bh(&jsk->lock);

	switch (cqe->op) {
	case JR_OP_CONNECT:
		if (cqe->res == 0) {
			jr_addr_from_wire(sk, &cqe->u.addr, &jsk->local);
			jsk->bound = true;
			jsk->ever_connected = true;
			jr_set_state(sk, TCP_ESTABLISHED);
			sk->sk_state_change(sk);
			sk->sk_write_space(sk);
		} else {
			jr_set_state(sk, TCP_CLOSE);
			jr_sock_fail(sk, -cqe->res);
		}
		break;
	case JR_OP_ACCEPT:
		jr_child_ready(jsk, cqe);
		break;
	case JR_OP_CLOSE:
		jr_close_done(jsk);
		break;
	}
}

/*
 * Does the socket outlive its netserver?  Listening and bound sockets keep
 * their identity (address, backlog, options), and so do TCP sockets never
 * connected and UDP sockets: nothing of theirs lived in the netserver but
 * what a replay rebuilds.  Connections do not survive: their state was in
 * the dead stack.
 */
static bool jr_sock_survives(struct jr_sock *jsk)
{
	struct sock *sk = sk_jr(jsk);

	if (sock_flag(sk, SOCK_DEAD) || jsk->closing || jsk->listener)
		return false;
	if (sk->sk_type == SOCK_DGRAM)
		return true;
	return sk->sk_state == TCP_LISTEN ||
	       (sk->sk_state == TCP_CLOSE && !jsk->ever_connected && !sk->sk_err);
}

/*
 * Under lock_sock, its netserver dead: whether an established connection
 * goes on (JR_F_SURVIVAL).  It does if the checkpoint that netserver left
 * in the slot is whole and valid and agrees with the kernel's own view of
 * the rings; then its copy, and the netserver's two ring positions as they
 * are now, are what the successor is given (jr_restore_sock()).  The
 * region stays writable by whatever still maps it, so nothing is read
 * from it again.
 */
static bool jr_conn_survives(struct jr_sock *jsk, struct jr_server *srv, bool closing)
{
	struct sock *sk = sk_jr(jsk);
	struct jr_slot_ctl *ctl;
	struct jr_tcp_ckpt ck;
	u32 seq, rx_prod, tx_cons;
	int err;

	if (!srv || !(srv->params.features & JR_F_SURVIVAL) || !READ_ONCE(jr_survival) ||
	    sk->sk_type != SOCK_STREAM || sk->sk_state != TCP_ESTABLISHED ||
	    jsk->listener || sk->sk_err)
		return false;
	/* A close (not an abort) that was draining the rings goes on too. */
	if (closing ? jsk->close_abort : sock_flag(sk, SOCK_DEAD) || jsk->closing)
		return false;
	ctl = jr_slot_ctl(srv, jsk->slot);
	seq = READ_ONCE(ctl->ckpt.seq);
	smp_rmb();
	memcpy(&ck, &ctl->ckpt, sizeof(ck));
	rx_prod = READ_ONCE(ctl->rx_prod);
	tx_cons = READ_ONCE(ctl->tx_cons);
	smp_rmb();
	err = seq == READ_ONCE(ctl->ckpt.seq) && seq == ck.seq ?
	      jr_validate_ckpt(&ck) : -ENOENT;
	if (!err && (jr_bytes_fill(rx_prod, jsk->rx_cons, srv->params.rx_buf_size) < 0 ||
		     jr_bytes_fill(jsk->tx_prod, tx_cons, srv->params.tx_buf_size) < 0))
		err = -ERANGE;
	/* The end of file the kernel was told of, the checkpoint must know. */
	if (!err && jsk->rx_fin && !(ck.flags & JR_CKPT_F_FIN_RCVD))
		err = -EINVAL;
	if (err) {
		if (err != -ENOENT && err != -EAGAIN) {
			atomic64_inc(&jr_sock_dev(jsk)->rejected_ckpt);
			pr_warn_ratelimited("joyride: slot %u: checkpoint rejected (%d); connection resets\n",
					    jsk->slot, err);
		}
		return false;
	}
	spin_lock_bh(&jsk->lock);
	jsk->ckpt = ck;
	jsk->ck_rx_prod = rx_prod;
	jsk->ck_tx_cons = tx_cons;
	WRITE_ONCE(jsk->surviving, true);
	jsk->close_owed = closing;
	atomic64_inc(&jr_sock_dev(jsk)->conns_kept);
	/* The peer's FIN is in: end of file once the ring is read, as
	 * after JR_EV_RX_FIN. */
	if (ck.flags & JR_CKPT_F_FIN_RCVD) {
		jsk->rx_fin = true;
		WRITE_ONCE(sk->sk_shutdown, sk->sk_shutdown | RCV_SHUTDOWN);
	}
	spin_unlock_bh(&jsk->lock);
	return true;
}

/* A connection that cannot go on: as on a reset (ECONNRESET; send: EPIPE). */
static void jr_conn_reset(struct jr_sock *jsk)
{
	struct sock *sk = sk_jr(jsk);

	if (sk->sk_type == SOCK_STREAM && sk->sk_state != TCP_CLOSE &&
	    sk->sk_state != TCP_LISTEN)
		atomic64_inc(&jr_sock_dev(jsk)->conns_reset);
	jr_reset_error(sk, sk->sk_type == SOCK_STREAM ? ECONNRESET : ENETDOWN);
	jsk->rx_fin = true;
	WRITE_ONCE(sk->sk_shutdown, SHUTDOWN_MASK);
	jr_set_state(sk, TCP_CLOSE);
}

/*
 * The netserver died (its file was released).  Connected and connecting
 * TCP sockets fail as on a reset (ECONNRESET; send: EPIPE), unless they
 * survive (jr_conn_survives()): those keep their slot on the dead server
 * and wait on dev->survivors, as do listening, bound and UDP sockets,
 * which give their slot back.  A socket only waiting for its CLOSE reply,
 * or a child waiting for a connection, ends here.  Returns whether the
 * socket keeps its slot.
 */
static bool jr_server_gone(struct jr_sock *jsk)
{
	struct sock *sk = sk_jr(jsk);
	struct jr_sock *child, *tmp;
	LIST_HEAD(orphans);
	bool closing, child_posted, survives, conn = false;

	lock_sock(sk);
	spin_lock_bh(&jsk->lock);
	/* Taking the async token takes what its reply would have owned. */
	closing = jsk->async.op == JR_OP_CLOSE;
	child_posted = jsk->async.op == JR_OP_ACCEPT;
	jsk->async.op = 0;
	jsk->sync.op = 0;
	/*
	 * Connections accepted but not yet taken died with the stack, those
	 * of this engine only: a replica on another engine queued its own
	 * here, and they live.
	 */
	list_for_each_entry_safe(child, tmp, &jsk->accept_queue, accept_node) {
		if (child->engine != jsk->engine)
			continue;
		list_move_tail(&child->accept_node, &orphans);
		jsk->accept_len--;
	}
	jsk->accepts_posted = 0;
	spin_unlock_bh(&jsk->lock);
	if (!child_posted)
		conn = jr_conn_survives(jsk, jsk->srv, closing || jsk->close_owed);
	survives = conn || (!closing && !child_posted && jr_sock_survives(jsk));
	if (!closing && !child_posted && !survives)
		jr_conn_reset(jsk);
	if (!conn)
		jr_sock_unslot(jsk);
	/* A request waiting for a reply (killably) sees the death. */
	jr_wake_all(sk);
	if (survives) {
		struct jr_dev *dev = jr_sock_dev(jsk);

		mutex_lock(&dev->survivors_lock);
		jsk->survivor = true;
		sock_hold(sk);
		list_add_tail(&jsk->survivor_node, &dev->survivors);
		mutex_unlock(&dev->survivors_lock);
	}
	release_sock(sk);

	list_for_each_entry_safe(child, tmp, &orphans, accept_node) {
		list_del_init(&child->accept_node);
		jr_sock_close(child, true, 0);
	}
	if (closing && !conn) {
		sock_put(sk);
	} else if (child_posted) {
		struct jr_sock *l = jsk->listener;

		jsk->listener = NULL;
		sock_put(sk_jr(l));
		sock_put(sk);
	} else if (!survives) {
		jr_sock_report(sk);
	}
	/* A closing survivor keeps the reference its CLOSE reply will drop. */
	return conn;
}

/* Leave the survivors' list (the socket closes, or was replayed). */
static void jr_survivor_drop(struct jr_sock *jsk)
{
	struct jr_dev *dev = jr_sock_dev(jsk);
	bool was = false;

	mutex_lock(&dev->survivors_lock);
	if (jsk->survivor) {
		list_del_init(&jsk->survivor_node);
		jsk->survivor = false;
		was = true;
	}
	mutex_unlock(&dev->survivors_lock);
	if (was)
		sock_put(sk_jr(jsk));
}

/*
 * A surviving socket's call during recovery: wait (releasing lock_sock)
 * until the replay gives it a slot again, up to recovery_timeout_ms.
 */
static int jr_wait_recovered(struct jr_sock *jsk)
{
	struct sock *sk = sk_jr(jsk);
	long timeo = msecs_to_jiffies(READ_ONCE(jr_recovery_timeout_ms));
	long left;

	if (jr_live_srv(jsk))
		return 0;
	if (!READ_ONCE(jsk->survivor))
		return -ENETDOWN;
	release_sock(sk);
	left = wait_event_interruptible_timeout(jr_sock_dev(jsk)->live_wait,
			jr_live_srv(jsk) || !READ_ONCE(jsk->survivor), timeo);
	lock_sock(sk);
	if (left < 0)
		return -ERESTARTSYS;
	return jr_live_srv(jsk) ? 0 : -ENETDOWN;
}

/* Rebuild one survivor on srv (under its lock_sock); 0 or -errno. */
static int jr_replay_sock(struct jr_sock *jsk, struct jr_server *srv)
{
	struct sock *sk = sk_jr(jsk);
	struct jr_sqe sqe = { .op = JR_OP_SOCKET, .flags = JR_SQE_F_REPLAY };
	int err;

	kref_get(&srv->ref);
	err = jr_sock_slot(jsk, srv);
	if (err) {
		jr_server_put(srv);
		return err;
	}
	sqe.u.socket.family = jr_is_v6(sk) ? AF_INET6 : AF_INET;
	sqe.u.socket.type = sk->sk_type;
	sqe.u.socket.protocol = sk->sk_protocol;
	err = jr_call(jsk, &sqe);
	if (!err && sk->sk_reuse)
		err = jr_setopt(jsk, SOL_SOCKET, SO_REUSEADDR, 1);
	if (!err && sock_flag(sk, SOCK_KEEPOPEN))
		err = jr_setopt(jsk, SOL_SOCKET, SO_KEEPALIVE, 1);
	if (!err)
		err = jr_opts_replay(jsk);
	if (!err && jsk->bound) {
		memset(&sqe, 0, sizeof(sqe));
		sqe.op = JR_OP_BIND;
		sqe.flags = JR_SQE_F_REPLAY;
		jr_addr_to_wire(sk, &jsk->local, &sqe.u.addr);
		err = jr_call(jsk, &sqe);
	}
	if (!err && sk->sk_state == TCP_LISTEN) {
		memset(&sqe, 0, sizeof(sqe));
		sqe.op = JR_OP_LISTEN;
		sqe.flags = JR_SQE_F_REPLAY;
		sqe.u.listen.backlog = sk->sk_max_ack_backlog;
		err = jr_call(jsk, &sqe);
	}
	if (!err && sk->sk_type == SOCK_DGRAM && sk->sk_state == TCP_ESTABLISHED) {
		memset(&sqe, 0, sizeof(sqe));
		sqe.op = JR_OP_CONNECT;
		sqe.flags = JR_SQE_F_REPLAY;
		jr_addr_to_wire(sk, &jsk->peer, &sqe.u.addr);
		err = jr_call(jsk, &sqe);
	}
	if (!err && sk->sk_state == TCP_LISTEN) {
		u32 want = min_t(u32, JR_ACCEPT_PREPOST, max_t(u32, sk->sk_max_ack_backlog, 1));

		while (jsk->accepts_posted < want && !jr_post_accept(jsk))
			;
	}
	return err;
}

/*
 * Copy ring bytes [from, to) (free-running positions) between two rings,
 * each at the same positions modulo its own size.
 */
static void jr_ring_move(unsigned char *dst, u32 dst_size, const unsigned char *src,
			 u32 src_size, u32 from, u32 to)
{
	while (from != to) {
		u32 s_off = from & (src_size - 1), d_off = from & (dst_size - 1);
		u32 n = min3(to - from, src_size - s_off, dst_size - d_off);

		memcpy(dst + d_off, src + s_off, n);
		from += n;
	}
}

/*
 * Give a surviving connection (under its lock_sock) to srv: a slot there
 * with the rings' bytes still wanted (received and unread; sent and
 * unacknowledged or unsent) at the same positions, the netserver's half
 * of the slot as the dead one left it, then RESTORE, the options and a
 * shutdown the application made meanwhile.  The socket moves to srv
 * before RESTORE is posted: what the application sends from then on is
 * posted after it.  0 or -errno (the caller resets the connection).
 */
static int jr_restore_sock(struct jr_sock *jsk, struct jr_server *srv)
{
	struct sock *sk = sk_jr(jsk);
	struct jr_server *old = jsk->srv;
	struct jr_sqe sqe = { .op = JR_OP_RESTORE, .flags = JR_SQE_F_REPLAY };
	struct jr_sockaddr local, peer;
	struct jr_slot_ctl *ctl;
	u32 old_slot = jsk->slot, slot, gen;
	int err;

	if (!old || !jsk->surviving)
		return -ENOENT;
	if (!(srv->params.features & JR_F_SURVIVAL))
		return -EOPNOTSUPP;
	if (jsk->ck_rx_prod - jsk->rx_cons > srv->params.rx_buf_size ||
	    jsk->tx_prod - jsk->ck_tx_cons > srv->params.tx_buf_size)
		return -ENOSPC;		/* the successor's rings are smaller */
	jr_addr_to_wire(sk, &jsk->local, &local);
	jr_addr_to_wire(sk, &jsk->peer, &peer);
	if (local.family != peer.family)
		return -EAFNOSUPPORT;
	err = jr_slot_alloc(srv, jsk, &slot, &gen);
	if (err)
		return err;
	jr_ring_move(jr_slot_rx(srv, slot), srv->params.rx_buf_size,
		     jr_slot_rx(old, old_slot), old->params.rx_buf_size,
		     jsk->rx_cons, jsk->ck_rx_prod);
	jr_ring_move(jr_slot_tx(srv, slot), srv->params.tx_buf_size,
		     jr_slot_tx(old, old_slot), old->params.tx_buf_size,
		     jsk->ck_tx_cons, jsk->tx_prod);
	ctl = jr_slot_ctl(srv, slot);
	WRITE_ONCE(ctl->rx_cons, jsk->rx_cons);
	WRITE_ONCE(ctl->tx_prod, jsk->tx_prod);
	WRITE_ONCE(ctl->rx_prod, jsk->ck_rx_prod);
	WRITE_ONCE(ctl->tx_cons, jsk->ck_tx_cons);
	memcpy(&ctl->ckpt, &jsk->ckpt, sizeof(ctl->ckpt));
	kref_get(&srv->ref);
	spin_lock_bh(&jsk->lock);
	jsk->srv = srv;
	jsk->slot = slot;
	jsk->gen = gen;
	jsk->engine = srv->engine;
	WRITE_ONCE(jsk->surviving, false);
	spin_unlock_bh(&jsk->lock);
	jsk->rx_cons_told = jsk->rx_cons;
	jr_slot_free(old, old_slot);
	jr_server_put(old);

	sqe.u.restore.family = local.family;
	sqe.u.restore.local_port = local.port;
	sqe.u.restore.peer_port = peer.port;
	memcpy(sqe.u.restore.local, local.addr, sizeof(local.addr));
	memcpy(sqe.u.restore.peer, peer.addr, sizeof(peer.addr));
	err = jr_call(jsk, &sqe);
	if (err || jsk->close_owed)
		return err;	/* a CLOSE follows: nothing to tune */
	/*
	 * The connection is the new netserver's now.  What follows only
	 * tunes it: a failure there leaves it going (and a death meanwhile
	 * was handled by jr_server_gone()).
	 */
	if (sock_flag(sk, SOCK_KEEPOPEN))
		err = jr_setopt(jsk, SOL_SOCKET, SO_KEEPALIVE, 1);
	if (!err)
		err = jr_opts_replay(jsk);
	if (!err && (sk->sk_shutdown & SEND_SHUTDOWN)) {
		memset(&sqe, 0, sizeof(sqe));
		sqe.op = JR_OP_SHUTDOWN;
		sqe.flags = JR_SQE_F_REPLAY;
		sqe.u.shutdown.how = SHUT_WR;
		err = jr_call(jsk, &sqe);
	}
	if (err && err != -ENETDOWN)
		pr_warn_ratelimited("joyride: slot %u: restored, but its options or shutdown were not (%d)\n",
				    jsk->slot, err);
	return 0;
}

/* ------------------------------------------------------------ replicas */

/*
 * Make listener l's replica on srv's engine: a kernel socket with l's
 * identity (options, address, backlog) that listens there and queues what
 * it accepts on l, so that a connection is accepted by whichever engine
 * RSS gave its SYN to.  Under l's lock_sock; l listens.  A replica that
 * cannot be made leaves l listening on its other engines.
 */
static void jr_replica_close(struct jr_sock *r, long timeo);

/*
 * A replica's socket lock is a class of its own: it is taken under its
 * primary's (listen, accept, an engine joining), and jr_call() drops and
 * retakes it while the primary's is held.
 */
static struct lock_class_key jr_replica_slock_key, jr_replica_lock_key;

static int jr_replica_add(struct jr_sock *l, struct jr_server *srv)
{
	struct sock *lsk = sk_jr(l), *rsk;
	struct jr_sock *r = l->replica[srv->engine];
	bool stale = false;
	int err;

	if (srv->engine == l->engine)
		return 0;
	if (r) {
		/*
		 * One that serves or waits for its engine's replay stays; one
		 * that failed (its engine came back without a replay) makes
		 * way for a new one.
		 */
		rsk = sk_jr(r);
		lock_sock(rsk);
		stale = !r->srv && !r->survivor;
		release_sock(rsk);
		if (!stale)
			return 0;
		l->replica[srv->engine] = NULL;
		jr_replica_close(r, 0);
	}
	rsk = jr_sock_alloc(sock_net(lsk), NULL, SOCK_STREAM, lsk->sk_family, 0,
			    l->owner);
	if (!rsk)
		return -ENOMEM;
	sock_lock_init_class_and_name(rsk, "slock-AF_JOYRIDE-replica",
				      &jr_replica_slock_key,
				      "sk_lock-AF_JOYRIDE-replica",
				      &jr_replica_lock_key);
	r = jr_sk(rsk);
	memcpy(r->opt, l->opt, sizeof(r->opt));
	rsk->sk_reuse = lsk->sk_reuse;
	if (sock_flag(lsk, SOCK_KEEPOPEN))
		sock_set_flag(rsk, SOCK_KEEPOPEN);
	r->bound = true;
	r->local = l->local;
	WRITE_ONCE(rsk->sk_max_ack_backlog, READ_ONCE(lsk->sk_max_ack_backlog));
	sock_hold(lsk);
	r->primary = l;
	jr_set_state(rsk, TCP_LISTEN);
	lock_sock(rsk);
	err = jr_replay_sock(r, srv);
	if (err) {
		jr_set_state(rsk, TCP_CLOSE);
		sock_orphan(rsk);
	}
	release_sock(rsk);
	if (err) {
		pr_warn_ratelimited("joyride: listener on port %u not replicated to engine %u: %d\n",
				    ntohs(l->local.v4.sin_port), srv->engine, err);
		/* The netserver may have made the socket: close it there. */
		jr_sock_close(r, true, jr_request_timeo());
		return err;
	}
	l->replica[srv->engine] = r;
	return 0;
}

/* Under l's lock_sock: l listens on every engine serving now. */
static void jr_replicate(struct jr_sock *l)
{
	struct jr_server *srvs[JR_MAX_ENGINES];
	unsigned int i, n = jr_engines_get(jr_sock_dev(l), srvs);

	for (i = 0; i < n; i++) {
		jr_replica_add(l, srvs[i]);
		jr_server_put(srvs[i]);
	}
}

/* Take l's replicas away (under l's lock_sock); jr_replicas_close() ends them. */
static void jr_replicas_take(struct jr_sock *l, struct jr_sock **out)
{
	memcpy(out, l->replica, sizeof(l->replica));
	memset(l->replica, 0, sizeof(l->replica));
}

static void jr_replica_close(struct jr_sock *r, long timeo)
{
	struct sock *rsk = sk_jr(r);

	lock_sock(rsk);
	jr_set_state(rsk, TCP_CLOSE);
	/* Dead: a replay in progress or to come leaves it alone. */
	sock_orphan(rsk);
	release_sock(rsk);
	jr_survivor_drop(r);
	jr_sock_close(r, false, timeo);
}

static void jr_replicas_close(struct jr_sock **replica, long timeo)
{
	unsigned int i;

	for (i = 0; i < JR_MAX_ENGINES; i++)
		if (replica[i])
			jr_replica_close(replica[i], timeo);
}

/* Under l's lock_sock: top up the pre-posted accepts of l's replicas. */
static void jr_replicas_post_accepts(struct jr_sock *l, u32 want)
{
	unsigned int i;

	for (i = 0; i < JR_MAX_ENGINES; i++) {
		struct jr_sock *r = l->replica[i];
		struct sock *rsk;

		if (!r || READ_ONCE(r->accepts_posted) >= want)
			continue;
		rsk = sk_jr(r);
		lock_sock(rsk);
		if (rsk->sk_state == TCP_LISTEN && r->accepts_posted < want)
			jr_post_accept(r);
		release_sock(rsk);
	}
}

/*
 * An engine joined: every listener of its namespace that has no socket
 * there gets a replica.  Serialised, since a listener may be visited for
 * two engines at once.
 */
static DEFINE_MUTEX(jr_replicate_lock);

static void jr_replicate_listeners(struct jr_server *srv)
{
	struct net *net = srv->dev->net;
	struct jr_sock *jsk, *tmp;
	LIST_HEAD(todo);

	mutex_lock(&jr_replicate_lock);
	spin_lock(&jr_socks_lock);
	list_for_each_entry(jsk, &jr_socks, all_node) {
		struct sock *sk = sk_jr(jsk);

		if (jsk->primary || jsk->listener || !net_eq(sock_net(sk), net) ||
		    READ_ONCE(sk->sk_state) != TCP_LISTEN ||
		    sock_flag(sk, SOCK_DEAD) || !refcount_inc_not_zero(&sk->sk_refcnt))
			continue;
		list_add_tail(&jsk->replicate_node, &todo);
	}
	spin_unlock(&jr_socks_lock);
	list_for_each_entry_safe(jsk, tmp, &todo, replicate_node) {
		struct sock *sk = sk_jr(jsk);

		list_del_init(&jsk->replicate_node);
		lock_sock(sk);
		if (sk->sk_state == TCP_LISTEN && !sock_flag(sk, SOCK_DEAD) &&
		    !READ_ONCE(srv->dead))
			jr_replica_add(jsk, srv);
		release_sock(sk);
		sock_put(sk);
	}
	mutex_unlock(&jr_replicate_lock);
}

/* ------------------------------------------------------------ recovery */

/*
 * Take the next survivor of an engine index off the list, or NULL: with
 * `conns`, only an established connection (a `surviving` one), else only
 * the others.  The flag is read without the socket's lock, as a hint for
 * the order; whoever takes the socket looks again under it.
 */
static struct jr_sock *jr_survivor_take(struct jr_dev *dev, u16 engine, bool conns)
{
	struct jr_sock *jsk, *found = NULL;

	mutex_lock(&dev->survivors_lock);
	list_for_each_entry(jsk, &dev->survivors, survivor_node) {
		if (jsk->engine != engine || READ_ONCE(jsk->surviving) != conns)
			continue;
		list_del_init(&jsk->survivor_node);
		jsk->survivor = false;
		found = jsk;
		break;
	}
	mutex_unlock(&dev->survivors_lock);
	return found;
}

/* Back on the survivors' list, for the next engine of the index. */
static void jr_survivor_requeue(struct jr_dev *dev, struct jr_sock *jsk)
{
	mutex_lock(&dev->survivors_lock);
	jsk->survivor = true;
	list_add(&jsk->survivor_node, &dev->survivors);
	mutex_unlock(&dev->survivors_lock);
}

/*
 * Connections restored at once, each by its own worker: a RESTORE is one
 * round trip to the new engine, and one after the other they add up to
 * its loop turns times their number (5-60 ms each under emulation, with
 * the engine's peers waiting).  Bounded, so that thousands of survivors
 * do not make thousands of kernel threads.
 */
#define JR_RESTORES_IN_FLIGHT	32

struct jr_replay {
	struct work_struct	work;
	struct jr_server	*srv;
	bool			replay;
	atomic_t		replayed, restored, failed;
	struct semaphore	restore_slots;	/* JR_RESTORES_IN_FLIGHT */
	atomic_t		restores;	/* running, +1 while queueing */
	struct completion	restores_done;
};

struct jr_restore_work {
	struct work_struct	work;
	struct jr_replay	*rp;
	struct jr_sock		*jsk;
};

/*
 * Replay one survivor to rp->srv: a connection is restored, any other
 * socket made again.  Takes the survivors' list reference.
 */
static void jr_replay_one(struct jr_replay *rp, struct jr_sock *jsk)
{
	struct jr_server *srv = rp->srv;
	struct jr_dev *dev = srv->dev;
	struct sock *sk = sk_jr(jsk);
	bool conn;
	int err;

	lock_sock(sk);
	conn = jsk->surviving;
	if (conn && jsk->close_owed) {
		/* Closed before or during the outage: finish the close. */
		err = jr_restore_sock(jsk, srv);
		if (!err) {
			jsk->close_owed = false;
			/* The reference kept for the CLOSE reply goes with it. */
			jr_sock_close(jsk, false, jr_request_timeo());
			atomic_inc(&rp->replayed);
			atomic_inc(&rp->restored);
		} else if (!(READ_ONCE(srv->dead) && (jsk->surviving || jsk->survivor))) {
			atomic_inc(&rp->failed);
			jsk->close_owed = false;
			jr_sock_unslot(jsk);
			sock_put(sk);		/* the CLOSE reply's */
		}
		goto out;
	}
	err = sock_flag(sk, SOCK_DEAD) ? 0 :
	      conn ? jr_restore_sock(jsk, srv) : jr_replay_sock(jsk, srv);
	if (sock_flag(sk, SOCK_DEAD)) {
		/* Closed while its calls waited: jr_release() took
		 * it over, slot and all. */
	} else if (err && READ_ONCE(srv->dead)) {
		/*
		 * This engine died mid-replay: the socket survives for the
		 * next one.  If it had a slot, the server's release has put
		 * it back (jr_server_gone ran while jr_call() waited) or
		 * will; if not, we do.
		 */
		if ((conn ? jsk->surviving : !jsk->srv) && !jsk->survivor) {
			sock_hold(sk);
			jr_survivor_requeue(dev, jsk);
		}
	} else if (err && conn) {
		atomic_inc(&rp->failed);
		pr_info_ratelimited("joyride: engine %u: connection not restored (%d); it resets\n",
				    srv->engine, err);
		jr_sock_unslot(jsk);	/* and the dead region's reference */
		jr_conn_reset(jsk);
		jr_sock_report(sk);
	} else if (err) {
		atomic_inc(&rp->failed);
		jr_sock_unslot(jsk);
		jr_set_state(sk, TCP_CLOSE);
		jr_sock_fail(sk, -err);
	} else {
		atomic_inc(&rp->replayed);
		if (conn)
			atomic_inc(&rp->restored);
	}
out:
	release_sock(sk);
	/* Wake callers waiting in jr_wait_recovered(), and the socket's own
	 * (poll, a blocked recv on a UDP survivor). */
	wake_up_all(&dev->live_wait);
	sk->sk_write_space(sk);
	sk->sk_data_ready(sk);
	sock_put(sk);	/* the survivors' list reference */
}

static void jr_restore_work(struct work_struct *work)
{
	struct jr_restore_work *rw = container_of(work, struct jr_restore_work, work);
	struct jr_replay *rp = rw->rp;

	jr_replay_one(rp, rw->jsk);
	kfree(rw);
	up(&rp->restore_slots);
	/* The last one out lets jr_restore_conns() go on, and free rp. */
	if (atomic_dec_and_test(&rp->restores))
		complete(&rp->restores_done);
}

/* Restore the index's connections in parallel; back when all are done. */
static void jr_restore_conns(struct jr_replay *rp)
{
	struct jr_server *srv = rp->srv;
	struct jr_restore_work *rw;
	struct jr_sock *jsk;

	sema_init(&rp->restore_slots, JR_RESTORES_IN_FLIGHT);
	atomic_set(&rp->restores, 1);
	init_completion(&rp->restores_done);
	for (;;) {
		down(&rp->restore_slots);
		jsk = jr_survivor_take(srv->dev, srv->engine, true);
		if (jsk && READ_ONCE(srv->dead)) {
			jr_survivor_requeue(srv->dev, jsk);
			jsk = NULL;
		}
		if (!jsk) {
			up(&rp->restore_slots);
			break;
		}
		rw = kmalloc(sizeof(*rw), GFP_KERNEL);
		if (!rw) {
			jr_replay_one(rp, jsk);		/* one at a time, then */
			up(&rp->restore_slots);
			continue;
		}
		rw->rp = rp;
		rw->jsk = jsk;
		INIT_WORK(&rw->work, jr_restore_work);
		atomic_inc(&rp->restores);
		queue_work(jr_wq, &rw->work);
	}
	if (!atomic_dec_and_test(&rp->restores))
		wait_for_completion(&rp->restores_done);
}

/*
 * An engine joined: replay the survivors of its index to it (if it takes a
 * replay), replicate the namespace's listeners onto it, then end its
 * recovery.  A worker does it, not the attach ioctl: posting may wait for
 * SQ room, which only the netserver, once it runs its loop, can make.
 *
 * Listening, bound and UDP sockets go first, one by one, in the order
 * they died in: a listener binds its port again before the connections
 * on that port exist in the new stack (lwIP, as Linux, refuses to bind a
 * port in use).  The connections follow, all at once.
 */
static void jr_replay_work(struct work_struct *work)
{
	struct jr_replay *rp = container_of(work, struct jr_replay, work);
	struct jr_server *srv = rp->srv;
	struct jr_dev *dev = srv->dev;
	struct jr_sock *jsk;

	while (rp->replay) {
		jsk = jr_survivor_take(dev, srv->engine, false);
		if (!jsk)
			break;
		if (READ_ONCE(srv->dead)) {
			jr_survivor_requeue(dev, jsk);
			break;
		}
		jr_replay_one(rp, jsk);
	}
	if (rp->replay && !READ_ONCE(srv->dead))
		jr_restore_conns(rp);
	atomic64_add(atomic_read(&rp->restored), &dev->conns_restored);
	if (!READ_ONCE(srv->dead))
		jr_replicate_listeners(srv);
	if (rp->replay && !READ_ONCE(srv->dead)) {
		jr_post_replay_done(srv);
		pr_info("joyride: engine %u: replayed %u sockets, %u of them connections (%u failed)\n",
			srv->engine, atomic_read(&rp->replayed), atomic_read(&rp->restored),
			atomic_read(&rp->failed));
	} else if (rp->replay) {
		pr_info("joyride: engine %u died during recovery (%u sockets replayed)\n",
			srv->engine, atomic_read(&rp->replayed));
	}
	jr_server_put(srv);
	kfree(rp);
}

static void jr_recover(struct jr_server *srv, bool replay)
{
	struct jr_dev *dev = srv->dev;
	struct jr_replay *rp;
	struct jr_sock *jsk;

	rp = kzalloc(sizeof(*rp), GFP_KERNEL);
	if (rp) {
		kref_get(&srv->ref);
		rp->srv = srv;
		rp->replay = replay;
		INIT_WORK(&rp->work, jr_replay_work);
	}
	/* No replay: the survivors' identity cannot be restored. */
	while (!replay || !rp) {
		jsk = jr_survivor_take(dev, srv->engine, false) ?:
		      jr_survivor_take(dev, srv->engine, true);
		if (!jsk)
			break;
		lock_sock(sk_jr(jsk));
		if (jsk->surviving) {
			jr_sock_unslot(jsk);	/* and the dead region's reference */
			jr_conn_reset(jsk);
			jr_sock_report(sk_jr(jsk));
			if (jsk->close_owed) {
				/* Closed meanwhile: the CLOSE reply's reference. */
				jsk->close_owed = false;
				sock_put(sk_jr(jsk));
			}
		} else {
			jr_set_state(sk_jr(jsk), TCP_CLOSE);
			jr_sock_fail(sk_jr(jsk), ENETDOWN);
		}
		release_sock(sk_jr(jsk));
		sock_put(sk_jr(jsk));
	}
	if (rp)
		queue_work(jr_wq, &rp->work);
	else if (replay)
		jr_post_replay_done(srv);
}

static void jr_hold(struct jr_sock *jsk)
{
	sock_hold(sk_jr(jsk));
}

static void jr_put(struct jr_sock *jsk)
{
	sock_put(sk_jr(jsk));
}

const struct jr_family_ops jr_family = {
	.complete	= jr_complete,
	.server_gone	= jr_server_gone,
	.recover	= jr_recover,
	.sq_room	= jr_sq_room,
	.hold		= jr_hold,
	.put		= jr_put,
};

/* ----------------------------------------------------------- proto_ops */

static int jr_release(struct socket *sock)
{
	struct sock *sk = sock->sk;
	struct jr_sock *jsk, *child, *tmp;
	struct jr_sock *replica[JR_MAX_ENGINES];
	LIST_HEAD(orphans);
	bool abort, owed;

	if (!sk)
		return 0;
	jsk = jr_sk(sk);
	lock_sock(sk);
	jr_replicas_take(jsk, replica);
	/*
	 * Connections nobody accepted are reset, as Linux does.  The queue
	 * is emptied whatever the state says: a netserver's replies can
	 * queue children on a socket that stopped listening meanwhile.
	 */
	spin_lock_bh(&jsk->lock);
	if (sk->sk_state == TCP_LISTEN)
		jr_set_state(sk, TCP_CLOSE);
	list_splice_init(&jsk->accept_queue, &orphans);
	jsk->accept_len = 0;
	spin_unlock_bh(&jsk->lock);
	abort = sock_flag(sk, SOCK_LINGER) && !sk->sk_lingertime;
	/*
	 * A surviving connection closed while no netserver serves it: the
	 * bytes it sent still go out, then its FIN, once the successor has
	 * it.  It stays on the survivors' list; the socket layer's reference
	 * becomes the one its CLOSE reply drops (jr_replay_work()).
	 */
	owed = jsk->surviving && !abort;
	if (owed) {
		jsk->closing = true;
		jsk->close_owed = true;
	}
	WRITE_ONCE(sk->sk_shutdown, SHUTDOWN_MASK);
	sock_orphan(sk);
	/* The netserver leaves the groups when it closes the slot. */
	jr_mc_free(jsk);
	release_sock(sk);
	if (owed) {
		sock->sk = NULL;
		return 0;
	}
	jr_survivor_drop(jsk);
	/* First the replicas, so that no engine queues more children. */
	jr_replicas_close(replica, jr_request_timeo());

	list_for_each_entry_safe(child, tmp, &orphans, accept_node) {
		list_del_init(&child->accept_node);
		jr_sock_close(child, true, jr_request_timeo());
	}
	/* The socket layer's reference becomes the one that waits for the
	 * CLOSE reply (or is dropped now). */
	jr_sock_close(jsk, abort, jr_request_timeo());
	sock->sk = NULL;
	return 0;
}

static int jr_bind(struct socket *sock, struct sockaddr *addr, int len)
{
	struct sock *sk = sock->sk;
	struct jr_sock *jsk = jr_sk(sk);
	struct jr_sqe sqe = { .op = JR_OP_BIND };
	union jr_inaddr a;
	int err;

	if (!jr_is_v6(sk) && len >= (int)sizeof(struct sockaddr_in) &&
	    addr->sa_family == AF_UNSPEC) {
		/* As inet_bind(): AF_UNSPEC is accepted for INADDR_ANY only. */
		if (((const struct sockaddr_in *)addr)->sin_addr.s_addr != htonl(INADDR_ANY))
			return -EAFNOSUPPORT;
		memset(&a, 0, sizeof(a));
		a.v4.sin_family = AF_INET;
		a.v4.sin_port = ((const struct sockaddr_in *)addr)->sin_port;
	} else {
		err = jr_addr_from_user(sk, addr, len, &a);
		if (err)
			return err;
	}
	/* As inet6_bind(): an IPv4 address needs a socket that takes IPv4. */
	if (jr_is_v6(sk) && ipv6_addr_v4mapped(&a.v6.sin6_addr) &&
	    READ_ONCE(jsk->opt[JR_O_IPV6_V6ONLY]))
		return -EINVAL;
	/* The caller's privilege decides, not the netserver's. */
	if (a.v4.sin_port && inet_port_requires_bind_service(sock_net(sk), ntohs(a.v4.sin_port)) &&
	    !ns_capable(sock_net(sk)->user_ns, CAP_NET_BIND_SERVICE))
		return -EACCES;

	lock_sock(sk);
	err = -EINVAL;
	if (jsk->bound || sk->sk_state != TCP_CLOSE)
		goto out;
	err = jr_wait_recovered(jsk);
	if (err)
		goto out;
	if (sk->sk_reuse) {
		err = jr_setopt(jsk, SOL_SOCKET, SO_REUSEADDR, 1);
		if (err)
			goto out;
	}
	jr_addr_to_wire(sk, &a, &sqe.u.addr);
	err = jr_call(jsk, &sqe);
	if (!err) {
		jr_addr_from_wire(sk, &jsk->sync.cqe.u.addr, &jsk->local);
		jsk->bound = true;
	}
out:
	release_sock(sk);
	return err;
}

static int jr_wait_connect(struct sock *sk, long *timeo)
{
	DEFINE_WAIT_FUNC(wait, woken_wake_function);
	int done;

	add_wait_queue(sk_sleep(sk), &wait);
	do {
		if (!*timeo || signal_pending(current))
			break;
		done = sk_wait_event(sk, timeo, READ_ONCE(sk->sk_state) != TCP_SYN_SENT, &wait);
	} while (!done);
	remove_wait_queue(sk_sleep(sk), &wait);
	return READ_ONCE(sk->sk_state) != TCP_SYN_SENT;
}

/*
 * Where a connect() or sendto() goes.  Linux takes an unspecified address
 * to mean this host: 0.0.0.0 is the socket's bound address if it has one,
 * else 127.0.0.1 (ip_route_connect()); :: is ::1 (tcp_v6_connect()), or
 * the IPv4 loopback for a socket bound to an IPv4 address.  An IPv6-only
 * socket cannot reach an IPv4 address (ENETUNREACH).
 */
static int jr_connect_dest(const struct jr_sock *jsk, union jr_inaddr *a)
{
	const struct sock *sk = &jsk->sk;

	if (!jr_is_v6(sk)) {
		if (a->v4.sin_addr.s_addr == htonl(INADDR_ANY))
			a->v4.sin_addr.s_addr = jsk->bound && jsk->local.v4.sin_addr.s_addr ?
						jsk->local.v4.sin_addr.s_addr :
						htonl(INADDR_LOOPBACK);
		return 0;
	}
	if (ipv6_addr_any(&a->v6.sin6_addr)) {
		if (jsk->bound && ipv6_addr_v4mapped(&jsk->local.v6.sin6_addr))
			ipv6_addr_set_v4mapped(htonl(INADDR_LOOPBACK), &a->v6.sin6_addr);
		else
			a->v6.sin6_addr = in6addr_loopback;
	} else if (ipv6_addr_v4mapped(&a->v6.sin6_addr) && !a->v6.sin6_addr.s6_addr32[3]) {
		ipv6_addr_set_v4mapped(jsk->bound && ipv6_addr_v4mapped(&jsk->local.v6.sin6_addr) &&
				       jsk->local.v6.sin6_addr.s6_addr32[3] ?
				       jsk->local.v6.sin6_addr.s6_addr32[3] : htonl(INADDR_LOOPBACK),
				       &a->v6.sin6_addr);
	}
	if (ipv6_addr_v4mapped(&a->v6.sin6_addr) && READ_ONCE(jsk->opt[JR_O_IPV6_V6ONLY]))
		return -ENETUNREACH;
	return 0;
}

static int jr_stream_connect(struct socket *sock, struct sockaddr *addr,
			     int len, int flags)
{
	struct sock *sk = sock->sk;
	struct jr_sock *jsk = jr_sk(sk);
	struct jr_server *srv;
	struct jr_sqe sqe = { .op = JR_OP_CONNECT };
	union jr_inaddr dest;
	bool in_progress = false;
	long timeo;
	int err;

	if (len < (int)sizeof(sa_family_t))
		return -EINVAL;
	lock_sock(sk);
	switch (sk->sk_state) {
	case TCP_ESTABLISHED:
		/* As inet: the first connect() after a non-blocking one
		 * completed reports the success; later ones EISCONN. */
		if (sock->state == SS_CONNECTING) {
			sock->state = SS_CONNECTED;
			err = 0;
		} else {
			err = -EISCONN;
		}
		goto out;
	case TCP_SYN_SENT:
		err = -EALREADY;
		if (flags & O_NONBLOCK)
			goto out;
		in_progress = true;
		goto wait;
	case TCP_LISTEN:
		err = -EISCONN;
		goto out;
	}
	if (sock->state == SS_CONNECTING && sk->sk_err) {
		/* A non-blocking connect failed: this call reports it. */
		sock->state = SS_UNCONNECTED;
		err = sock_error(sk);
		goto out;
	}
	/* A previous attempt's error is consumed by this one. */
	WRITE_ONCE(sk->sk_err, 0);
	err = jr_addr_from_user(sk, addr, len, &dest);
	if (!err)
		err = jr_connect_dest(jsk, &dest);
	if (err)
		goto out;
	err = jr_wait_recovered(jsk);
	if (err)
		goto out;
	if (sk->sk_reuse && !jsk->bound) {
		err = jr_setopt(jsk, SOL_SOCKET, SO_REUSEADDR, 1);
		if (err)
			goto out;
	}
	/* jr_setopt() let go of the socket lock: the server may be gone. */
	srv = jr_sock_srv_get(jsk);
	err = -ENETDOWN;
	if (!srv)
		goto out;
	jsk->peer = dest;
	jr_addr_to_wire(sk, &jsk->peer, &sqe.u.addr);
	sqe.slot = jsk->slot;
	sqe.slot_gen = jsk->gen;
	sqe.tag = jr_next_tag(srv);
	spin_lock_bh(&jsk->lock);
	jsk->async.tag = sqe.tag;
	jsk->async.op = JR_OP_CONNECT;
	spin_unlock_bh(&jsk->lock);
	jr_set_state(sk, TCP_SYN_SENT);
	sock->state = SS_CONNECTING;
	WRITE_ONCE(sk->sk_err, 0);
	err = jr_post(srv, &sqe, jr_request_timeo());
	jr_server_put(srv);
	if (err && jr_async_reclaim(jsk, JR_OP_CONNECT, sqe.tag)) {
		jr_set_state(sk, TCP_CLOSE);
		sock->state = SS_UNCONNECTED;
		goto out;
	}
	err = 0;	/* or a reply (forged meanwhile) decided already */
wait:
	timeo = sock_sndtimeo(sk, flags & O_NONBLOCK);
	if (READ_ONCE(sk->sk_state) == TCP_SYN_SENT) {
		/* Like Linux: non-blocking, or timed out, is EINPROGRESS
		 * (EALREADY if an earlier call started it); a signal
		 * interrupts the wait, not the connection. */
		err = in_progress ? -EALREADY : -EINPROGRESS;
		if (!timeo || !jr_wait_connect(sk, &timeo)) {
			if (timeo && signal_pending(current))
				err = sock_intr_errno(timeo);
			goto out;
		}
	}
	if (sk->sk_state == TCP_ESTABLISHED) {
		sock->state = SS_CONNECTED;
		err = 0;
	} else {
		sock->state = SS_UNCONNECTED;
		err = sock_error(sk);
		if (!err)
			err = -ECONNABORTED;
	}
out:
	release_sock(sk);
	return err;
}

static int jr_dgram_connect(struct socket *sock, struct sockaddr *addr,
			    int len, int flags)
{
	struct sock *sk = sock->sk;
	struct jr_sock *jsk = jr_sk(sk);
	struct jr_sqe sqe = { .op = JR_OP_CONNECT };
	union jr_inaddr peer;
	int err;

	if (len < (int)sizeof(sa_family_t))
		return -EINVAL;
	if (addr->sa_family == AF_UNSPEC) {
		/* Dissolve the association: a CONNECT to family 0. */
		lock_sock(sk);
		err = jr_wait_recovered(jsk);
		if (!err)
			err = jr_call(jsk, &sqe);
		if (!err) {
			memset(&jsk->peer, 0, sizeof(jsk->peer));
			jr_set_state(sk, TCP_CLOSE);
			sock->state = SS_UNCONNECTED;
		}
		goto out;
	}
	err = jr_addr_from_user(sk, addr, len, &peer);
	if (err)
		return err;
	lock_sock(sk);
	err = jr_wait_recovered(jsk);
	if (err)
		goto out;
	err = jr_connect_dest(jsk, &peer);
	if (err)
		goto out;
	jr_addr_to_wire(sk, &peer, &sqe.u.addr);
	err = jr_call(jsk, &sqe);
	if (!err) {
		jsk->peer = peer;
		jr_addr_from_wire(sk, &jsk->sync.cqe.u.addr, &jsk->local);
		jsk->bound = true;
		jr_set_state(sk, TCP_ESTABLISHED);
		sock->state = SS_CONNECTED;
	}
out:
	release_sock(sk);
	return err;
}

static int jr_accept(struct socket *sock, struct socket *newsock, int flags,
		     bool kern)
{
	struct sock *sk = sock->sk;
	struct jr_sock *jsk = jr_sk(sk), *child = NULL;
	DEFINE_WAIT_FUNC(wait, woken_wake_function);
	long timeo;
	int err = 0;

	lock_sock(sk);
	if (sk->sk_state != TCP_LISTEN) {
		err = -EINVAL;
		goto out;
	}
	timeo = sock_rcvtimeo(sk, flags & O_NONBLOCK);
	add_wait_queue(sk_sleep(sk), &wait);
	for (;;) {
		spin_lock_bh(&jsk->lock);
		child = list_first_entry_or_null(&jsk->accept_queue, struct jr_sock,
						 accept_node);
		if (child) {
			list_del_init(&child->accept_node);
			jsk->accept_len--;
		}
		spin_unlock_bh(&jsk->lock);
		if (child)
			break;
		if (sk->sk_err) {
			err = sock_error(sk);
			break;
		}
		if (sk->sk_state != TCP_LISTEN) {
			err = -EINVAL;
			break;
		}
		if (!timeo) {
			err = -EAGAIN;
			break;
		}
		if (signal_pending(current)) {
			err = sock_intr_errno(timeo);
			break;
		}
		sk_wait_event(sk, &timeo, !list_empty(&jsk->accept_queue) ||
			      sk->sk_err || sk->sk_state != TCP_LISTEN, &wait);
	}
	remove_wait_queue(sk_sleep(sk), &wait);
	if (child) {
		struct sock *csk = sk_jr(child);
		u32 want = min_t(u32, JR_ACCEPT_PREPOST,
				 max_t(u32, sk->sk_max_ack_backlog, 1));

		/* Keep the pre-posted accepts topped up, on every engine. */
		if (jsk->accepts_posted < want)
			jr_post_accept(jsk);
		jr_replicas_post_accepts(jsk, want);
		lock_sock_nested(csk, SINGLE_DEPTH_NESTING);
		sock_graft(csk, newsock);
		newsock->ops = &jr_stream_ops;
		newsock->state = SS_CONNECTED;
		release_sock(csk);
		err = 0;
	}
out:
	release_sock(sk);
	return err;
}

static int jr_getname(struct socket *sock, struct sockaddr *addr, int peer)
{
	struct sock *sk = sock->sk;
	struct jr_sock *jsk = jr_sk(sk);
	int len;

	lock_sock(sk);
	if (peer) {
		if (sk->sk_state != TCP_ESTABLISHED &&
		    !(sk->sk_state == TCP_CLOSE && sk->sk_type == SOCK_STREAM &&
		      sock->state == SS_CONNECTED)) {
			release_sock(sk);
			return -ENOTCONN;
		}
		len = jr_addr_to_user(sk, &jsk->peer, addr);
	} else {
		/* An accepted child of a wildcard listener learns its own
		 * address from the netserver, once. */
		if ((jsk->bound && jr_addr_is_any(sk, &jsk->local) &&
		     sk->sk_state == TCP_ESTABLISHED) ||
		    (sk->sk_type == SOCK_DGRAM && !jsk->local.v4.sin_port)) {
			struct jr_sqe sqe = { .op = JR_OP_GETNAME };

			if (!jr_call(jsk, &sqe))
				jr_addr_from_wire(sk, &jsk->sync.cqe.u.addr, &jsk->local);
		}
		len = jr_addr_to_user(sk, &jsk->local, addr);
	}
	release_sock(sk);
	return len;
}

static __poll_t jr_poll(struct file *file, struct socket *sock, poll_table *wait)
{
	struct sock *sk = sock->sk;
	struct jr_sock *jsk = jr_sk(sk);
	struct jr_server *srv;
	__poll_t mask = 0;
	int state, avail = 0, room = 0;

	sock_poll_wait(file, sock, wait);
	state = READ_ONCE(sk->sk_state);
	if (state == TCP_LISTEN)
		return READ_ONCE(jsk->accept_len) ? EPOLLIN | EPOLLRDNORM : 0;
	if (READ_ONCE(sk->sk_err))
		mask |= EPOLLERR;
	if (READ_ONCE(sk->sk_shutdown) & RCV_SHUTDOWN)
		mask |= EPOLLIN | EPOLLRDNORM | EPOLLRDHUP;
	if (sk->sk_shutdown == SHUTDOWN_MASK ||
	    (state == TCP_CLOSE && sk->sk_type == SOCK_STREAM))
		mask |= EPOLLHUP;

	/* The region stays mapped while we hold jsk->lock: the socket's
	 * server reference is dropped only after srv is cleared under it. */
	spin_lock_bh(&jsk->lock);
	srv = jsk->srv;
	if (srv && (state == TCP_ESTABLISHED || sk->sk_type == SOCK_DGRAM)) {
		avail = jr_rx_avail(jsk, srv);
		room = jr_tx_room(jsk, srv);
	}
	spin_unlock_bh(&jsk->lock);
	if (avail < 0 || room < 0)
		return mask | EPOLLERR;
	if (avail > 0)
		mask |= EPOLLIN | EPOLLRDNORM;
	/*
	 * Writability as tcp_poll() reports it: nothing while connecting;
	 * a closed socket (fresh, or reset) polls writable, so that a
	 * writer finds out by trying; otherwise, room in the tx ring.
	 */
	if (state == TCP_SYN_SENT)
		return mask;
	if (sk->sk_shutdown & SEND_SHUTDOWN)
		mask |= EPOLLOUT | EPOLLWRNORM;
	else if ((state == TCP_CLOSE && sk->sk_type == SOCK_STREAM) || room > 0)
		mask |= EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND;
	return mask;
}

/* The payload length of the next datagram, or 0. */
static int jr_dgram_peek_len(struct jr_sock *jsk, struct jr_server *srv)
{
	u32 size = srv->params.rx_buf_size, pos = jsk->rx_cons, record;
	int avail = jr_rx_avail(jsk, srv);
	struct jr_dgram_hdr h;

	while (avail > 0) {
		u32 skip = jr_dgram_skip(pos, size);

		if (skip) {
			if ((u32)avail < skip)
				return 0;
			pos += skip;
			avail -= skip;
			continue;
		}
		memcpy(&h, jr_slot_rx(srv, jsk->slot) + (pos & (size - 1)), sizeof(h));
		if (jr_validate_dgram(&h, pos, avail, size, &srv->limits, &record))
			return 0;
		if (!(h.flags & JR_DGRAM_F_PAD))
			return jr_dgram_payload_len(&h);
		pos += record;
		avail -= record;
	}
	return 0;
}

static int jr_ioctl(struct socket *sock, unsigned int cmd, unsigned long arg)
{
	struct sock *sk = sock->sk;
	struct jr_sock *jsk = jr_sk(sk);
	struct jr_server *srv;
	int val;

	switch (cmd) {
	case SIOCINQ:
	case SIOCOUTQ:
		break;
	default:
		return -ENOIOCTLCMD;
	}
	lock_sock(sk);
	if (sk->sk_state == TCP_LISTEN) {
		release_sock(sk);
		return -EINVAL;
	}
	srv = jsk->srv;
	val = 0;
	if (srv && cmd == SIOCINQ)
		val = sk->sk_type == SOCK_DGRAM ? jr_dgram_peek_len(jsk, srv)
						: max(jr_rx_avail(jsk, srv), 0);
	else if (srv)
		val = jr_tx_queued(jsk, srv);
	release_sock(sk);
	return put_user(val, (int __user *)arg);
}

static int jr_listen(struct socket *sock, int backlog)
{
	struct sock *sk = sock->sk;
	struct jr_sock *jsk = jr_sk(sk);
	struct jr_sqe sqe = { .op = JR_OP_LISTEN };
	u32 want;
	int err;

	lock_sock(sk);
	err = -EINVAL;
	if (sock->state != SS_UNCONNECTED ||
	    (sk->sk_state != TCP_CLOSE && sk->sk_state != TCP_LISTEN))
		goto out;
	backlog = clamp(backlog, 0, (int)READ_ONCE(sock_net(sk)->core.sysctl_somaxconn));
	err = jr_wait_recovered(jsk);
	if (err)
		goto out;
	if (sk->sk_reuse && !jsk->bound) {
		err = jr_setopt(jsk, SOL_SOCKET, SO_REUSEADDR, 1);
		if (err)
			goto out;
	}
	sqe.u.listen.backlog = backlog;
	err = jr_call(jsk, &sqe);
	if (err)
		goto out;
	WRITE_ONCE(sk->sk_max_ack_backlog, backlog);
	if (sk->sk_state == TCP_LISTEN)
		goto out;
	if (!jsk->bound) {
		struct jr_sqe name = { .op = JR_OP_GETNAME };

		/* listen() on an unbound socket picked a port: learn it. */
		if (!jr_call(jsk, &name))
			jr_addr_from_wire(sk, &jsk->sync.cqe.u.addr, &jsk->local);
		jsk->bound = true;
	}
	jr_set_state(sk, TCP_LISTEN);
	want = min_t(u32, JR_ACCEPT_PREPOST, max(backlog, 1));
	while (jsk->accepts_posted < want && !jr_post_accept(jsk))
		;
	/* And on every other engine, for the SYNs RSS gives them. */
	jr_replicate(jsk);
	err = 0;
out:
	release_sock(sk);
	return err;
}

static int jr_shutdown(struct socket *sock, int how)
{
	struct sock *sk = sock->sk;
	struct jr_sock *jsk = jr_sk(sk);
	struct jr_sqe sqe = { .op = JR_OP_SHUTDOWN };
	int err = 0;

	/* SHUT_RD/WR/RDWR become RCV/SEND_SHUTDOWN bits, as in inet. */
	how++;
	if ((how & ~SHUTDOWN_MASK) || !how)
		return -EINVAL;
	lock_sock(sk);
	if (sk->sk_state == TCP_LISTEN && sk->sk_type == SOCK_STREAM) {
		/* Linux stops listening; so do we, by closing the queue. */
		err = (how & RCV_SHUTDOWN) ? 0 : -ENOTCONN;
		goto out;
	}
	if (sk->sk_state != TCP_ESTABLISHED && sock->state != SS_CONNECTED) {
		err = -ENOTCONN;
		goto out;
	}
	if (sk->sk_type == SOCK_STREAM && (how & SEND_SHUTDOWN) &&
	    !(sk->sk_shutdown & SEND_SHUTDOWN) && jr_live_srv(jsk)) {
		sqe.u.shutdown.how = SHUT_WR;
		err = jr_call(jsk, &sqe);
		if (err == -ENOTCONN)
			err = 0;	/* already reset: the bits still apply */
	}
	WRITE_ONCE(sk->sk_shutdown, sk->sk_shutdown | how);
	sk->sk_state_change(sk);
	sk->sk_data_ready(sk);
out:
	release_sock(sk);
	return err;
}

static void jr_keepalive(struct sock *sk, int valbool)
{
	/* Called by sock_setsockopt() under lock_sock. */
	jr_setopt(jr_sk(sk), SOL_SOCKET, SO_KEEPALIVE, !!valbool);
}

/* ------------------------------------------------------------ options */

/*
 * Options below SOL_SOCKET (core code serves that level and calls
 * jr_keepalive()).  Each option Joyride implements is a row of jr_opts[]
 * (libjr/include/jr/jr_sockopt.h, shared with libjr-preload.so):
 * the kernel keeps its value, so getsockopt() needs no round trip and a
 * replay restores it, and forwards changes of those the netserver acts on.
 * An accepted socket starts with its listener's values, as on Linux.
 *
 * Everything else answers what Linux answers for an option it does not
 * know, in the order of its checks (net/ipv4/tcp.c, udp.c, ip_sockglue.c):
 * a TCP socket's other levels go to IP, whose setsockopt refuses a level
 * other than SOL_IP with ENOPROTOOPT and whose getsockopt with EOPNOTSUPP;
 * TCP refuses an int option shorter than an int with EINVAL before it
 * looks at the name.  Documentation/sockets.md lists what is left out.
 */
/* An option's value on a new socket (and what the netserver assumes). */
static int jr_opt_def(const struct sock *sk, int id)
{
	/* inet6_create() leaves IPv4's IP_MULTICAST_ALL off. */
	if (id == JR_O_IP_MULTICAST_ALL && jr_is_v6(sk))
		return 0;
	return jr_opts[id].def;
}

static void jr_opts_init(struct jr_sock *jsk)
{
	int i;

	for (i = 0; i < JR_O_NR; i++)
		jsk->opt[i] = jr_opt_def(sk_jr(jsk), i);
	INIT_LIST_HEAD(&jsk->mc_list);
}

/* What the netserver is told for a stored value. */
static u64 jr_opt_wire(struct sock *sk, int id, int val)
{
	if (id == JR_O_IP_TTL && val < 0)
		return READ_ONCE(sock_net(sk)->ipv4.sysctl_ip_default_ttl);
	if (id == JR_O_IPV6_UNICAST_HOPS && val < 0)
		return IPV6_DEFAULT_HOPLIMIT;
	return (u32)val;
}

/* Read an option value as do_ip_setsockopt() and do_tcp_setsockopt() do. */
static int jr_opt_read(const struct jr_opt *o, sockptr_t optval,
		       unsigned int optlen, int *val)
{
	*val = 0;
	if (optlen >= sizeof(int))
		return copy_from_sockptr(val, optval, sizeof(int)) ? -EFAULT : 0;
	if (!o->min_byte)
		return -EINVAL;
	if (optlen >= 1) {
		unsigned char c;

		if (copy_from_sockptr(&c, optval, 1))
			return -EFAULT;
		*val = c;
	}
	return 0;	/* IP: no bytes means 0 */
}

static int jr_opt_set(struct sock *sk, int id, sockptr_t optval,
		      unsigned int optlen)
{
	const struct jr_opt *o = &jr_opts[id];
	struct jr_sock *jsk = jr_sk(sk);
	int val, stored, err;

	err = jr_opt_read(o, optval, optlen, &val);
	if (err)
		return err;
	if (!jr_opt_applies(o, sk->sk_type == SOCK_STREAM))
		return -EINVAL;
	err = jr_opt_value(o, sk->sk_type == SOCK_STREAM, jsk->opt[id], optlen, val, &stored);
	if (err)
		return err;
	lock_sock(sk);
	/* As do_ipv6_setsockopt(): the family is chosen before any port. */
	if (id == JR_O_IPV6_V6ONLY && (jsk->bound || sk->sk_state != TCP_CLOSE)) {
		release_sock(sk);
		return -EINVAL;
	}
	/* A netserver that cannot act on the option cannot have it. */
	if (o->forward && jsk->srv && (jsk->srv->params.features & o->feature) != o->feature)
		err = -ENOPROTOOPT;
	else if (o->forward && jsk->srv && !jsk->survivor)
		err = jr_setopt(jsk, o->level, o->name, jr_opt_wire(sk, id, stored));
	if (!err)
		jsk->opt[id] = stored;
	/* A survivor's values reach the next netserver with the replay. */
	if (err == -ENETDOWN && jsk->survivor) {
		jsk->opt[id] = stored;
		err = 0;
	}
	release_sock(sk);
	return err;
}

/* ---------------------------------------------------------- multicast */

/*
 * IP_MULTICAST_IF and group memberships, as do_ip_setsockopt() and
 * do_ipv6_setsockopt() take them, in their order of checks.  The kernel
 * keeps what was set and joined (a replay restores it) and forwards it to
 * the netserver, which resolves the interface named and joins on it.
 *
 * The netserver has one multicast interface, its port: every membership
 * is on it.  So a second join of a group is EADDRINUSE whatever interface
 * it names (Linux would say ENODEV first for one that does not exist),
 * and interfaces are compared as the application named them, not as they
 * resolve (Documentation/sockets.md).
 */

static void jr_mc_free(struct jr_sock *jsk)
{
	struct sock *sk = sk_jr(jsk);
	struct jr_mc *m, *tmp;

	list_for_each_entry_safe(m, tmp, &jsk->mc_list, node) {
		list_del(&m->node);
		sock_kfree_s(sk, m, sizeof(*m));
	}
	jsk->mc_count4 = 0;
}

/*
 * Tell the netserver, as jr_opt_set() does for the table's options: a
 * socket without a netserver keeps the change for its replay; one whose
 * netserver cannot do multicast cannot have it.
 */
static int jr_mc_forward(struct jr_sock *jsk, u32 level, u32 name, u64 value,
			 const struct jr_sockaddr *group)
{
	const u64 need = JR_F_SOCKOPTS | JR_F_MULTICAST;
	struct jr_sqe sqe = { .op = JR_OP_SETSOCKOPT };
	int err;

	if (!jsk->srv || jsk->survivor)
		return 0;
	if ((jsk->srv->params.features & need) != need)
		return -ENOPROTOOPT;
	sqe.u.sockopt.level = level;
	sqe.u.sockopt.name = name;
	sqe.u.sockopt.value = value;
	if (group)
		sqe.u.sockopt.addr = *group;
	err = jr_call(jsk, &sqe);
	if (err == -ENETDOWN && jsk->survivor)
		err = 0;
	return err;
}

static u64 jr_mc_value4(__be32 addr, int ifindex)
{
	return (u64)(u32)ifindex << 32 | (__force u32)addr;
}

static void jr_mc_group4(__be32 group, struct jr_sockaddr *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->family = AF_INET;
	memcpy(sa->addr, &group, 4);
}

static void jr_mc_group6(const struct in6_addr *group, struct jr_sockaddr *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->family = AF_INET6;
	memcpy(sa->addr, group, 16);
}

static struct jr_mc *jr_mc_find(struct jr_sock *jsk, const struct jr_sockaddr *g)
{
	struct jr_mc *m;

	list_for_each_entry(m, &jsk->mc_list, node)
		if (m->group.family == g->family &&
		    !memcmp(m->group.addr, g->addr, sizeof(g->addr)))
			return m;
	return NULL;
}

/* ip_mc_join_group(), ipv6_sock_mc_join(): under lock_sock. */
static int jr_mc_join(struct jr_sock *jsk, const struct jr_sockaddr *g,
		      __be32 ifaddr, int ifindex)
{
	struct sock *sk = sk_jr(jsk);
	bool v4 = g->family == AF_INET;
	struct jr_mc *m;
	int err;

	if (v4 ? !ipv4_is_multicast(*(const __be32 *)g->addr)
	       : !ipv6_addr_is_multicast((const struct in6_addr *)g->addr))
		return -EINVAL;
	if (v4 && ifindex < 0)
		return -ENODEV;		/* inetdev_by_index() finds none */
	m = jr_mc_find(jsk, g);
	if (m && (v4 || !ifindex || m->ifindex == ifindex || !m->ifindex))
		return -EADDRINUSE;
	if (!v4 && ifindex < 0)
		return -ENODEV;
	if (v4 && jsk->mc_count4 >=
	    READ_ONCE(sock_net(sk)->ipv4.sysctl_igmp_max_memberships))
		return -ENOBUFS;
	m = sock_kmalloc(sk, sizeof(*m), GFP_KERNEL);
	if (!m)
		return v4 ? -ENOBUFS : -ENOMEM;
	m->group = *g;
	m->ifaddr = v4 ? ifaddr : 0;
	m->ifindex = ifindex;
	err = jr_mc_forward(jsk, v4 ? SOL_IP : SOL_IPV6,
			    v4 ? IP_ADD_MEMBERSHIP : IPV6_ADD_MEMBERSHIP,
			    v4 ? jr_mc_value4(ifaddr, ifindex) : (u32)ifindex, g);
	if (err) {
		sock_kfree_s(sk, m, sizeof(*m));
		return err;
	}
	list_add_tail(&m->node, &jsk->mc_list);
	if (v4)
		jsk->mc_count4++;
	return 0;
}

/* ip_mc_leave_group(), ipv6_sock_mc_drop(): the first membership that
 * matches the group and what the call names of the interface. */
static int jr_mc_leave(struct jr_sock *jsk, const struct jr_sockaddr *g,
		       __be32 ifaddr, int ifindex)
{
	struct sock *sk = sk_jr(jsk);
	bool v4 = g->family == AF_INET;
	struct jr_mc *m;
	int err;

	if (!v4 && !ipv6_addr_is_multicast((const struct in6_addr *)g->addr))
		return -EINVAL;
	list_for_each_entry(m, &jsk->mc_list, node) {
		if (m->group.family != g->family ||
		    memcmp(m->group.addr, g->addr, sizeof(g->addr)))
			continue;
		if (ifindex ? m->ifindex != ifindex
			    : v4 && ifaddr && m->ifaddr != ifaddr)
			continue;
		err = jr_mc_forward(jsk, v4 ? SOL_IP : SOL_IPV6,
				    v4 ? IP_DROP_MEMBERSHIP : IPV6_DROP_MEMBERSHIP,
				    v4 ? jr_mc_value4(m->ifaddr, m->ifindex)
				       : (u32)m->ifindex, g);
		if (err)
			return err;
		list_del(&m->node);
		if (v4)
			jsk->mc_count4--;
		sock_kfree_s(sk, m, sizeof(*m));
		return 0;
	}
	return -EADDRNOTAVAIL;
}

/* IP_MULTICAST_IF: struct in_addr, ip_mreq or ip_mreqn. */
static int jr_mc_set_if(struct jr_sock *jsk, sockptr_t optval, unsigned int optlen)
{
	struct ip_mreqn mreq = { };
	int err;

	if (sk_jr(jsk)->sk_type == SOCK_STREAM || optlen < sizeof(struct in_addr))
		return -EINVAL;
	if (optlen >= sizeof(struct ip_mreqn))
		err = copy_from_sockptr(&mreq, optval, sizeof(mreq));
	else if (optlen >= sizeof(struct ip_mreq))
		err = copy_from_sockptr(&mreq, optval, sizeof(struct ip_mreq));
	else
		err = copy_from_sockptr(&mreq.imr_address, optval, sizeof(struct in_addr));
	if (err)
		return -EFAULT;
	if (mreq.imr_ifindex < 0)
		return -EADDRNOTAVAIL;	/* no such device */
	lock_sock(sk_jr(jsk));
	err = jr_mc_forward(jsk, SOL_IP, IP_MULTICAST_IF,
			    jr_mc_value4(mreq.imr_address.s_addr, mreq.imr_ifindex), NULL);
	if (!err) {
		jsk->mc_addr = mreq.imr_address.s_addr;
		jsk->mc_index = mreq.imr_ifindex;
	}
	release_sock(sk_jr(jsk));
	return err;
}

/* IP_ADD/DROP_MEMBERSHIP: struct ip_mreq or ip_mreqn. */
static int jr_mc_set_membership4(struct jr_sock *jsk, int optname,
				 sockptr_t optval, unsigned int optlen)
{
	struct ip_mreqn mreq = { };
	struct jr_sockaddr g;
	int err;

	if (sk_jr(jsk)->sk_type == SOCK_STREAM)
		return -EPROTO;
	if (optlen < sizeof(struct ip_mreq))
		return -EINVAL;
	if (copy_from_sockptr(&mreq, optval, optlen >= sizeof(struct ip_mreqn) ?
			      sizeof(struct ip_mreqn) : sizeof(struct ip_mreq)))
		return -EFAULT;
	jr_mc_group4(mreq.imr_multiaddr.s_addr, &g);
	lock_sock(sk_jr(jsk));
	if (optname == IP_ADD_MEMBERSHIP)
		err = jr_mc_join(jsk, &g, mreq.imr_address.s_addr, mreq.imr_ifindex);
	else
		err = jr_mc_leave(jsk, &g, mreq.imr_address.s_addr, mreq.imr_ifindex);
	release_sock(sk_jr(jsk));
	return err;
}

/* IPV6_ADD/DROP_MEMBERSHIP: struct ipv6_mreq. */
static int jr_mc_set_membership6(struct jr_sock *jsk, int optname,
				 sockptr_t optval, unsigned int optlen)
{
	struct ipv6_mreq mreq;
	struct jr_sockaddr g;
	int err;

	if (optlen < sizeof(mreq))
		return -EINVAL;
	if (sk_jr(jsk)->sk_type == SOCK_STREAM)
		return -EPROTO;
	if (copy_from_sockptr(&mreq, optval, sizeof(mreq)))
		return -EFAULT;
	jr_mc_group6(&mreq.ipv6mr_multiaddr, &g);
	lock_sock(sk_jr(jsk));
	if (optname == IPV6_ADD_MEMBERSHIP)
		err = jr_mc_join(jsk, &g, 0, mreq.ipv6mr_ifindex);
	else
		err = jr_mc_leave(jsk, &g, 0, mreq.ipv6mr_ifindex);
	release_sock(sk_jr(jsk));
	return err;
}

/*
 * MCAST_JOIN_GROUP, MCAST_LEAVE_GROUP: struct group_req (compat_group_req
 * from a 32-bit caller).  Linux lets TCP sockets join this way too.
 */
static int jr_mc_set_group_req(struct jr_sock *jsk, int level, int optname,
			       sockptr_t optval, unsigned int optlen)
{
	struct sockaddr_storage ss;
	struct jr_sockaddr g;
	u32 ifindex;
	int err;

	if (in_compat_syscall()) {
		struct compat_group_req gr32;

		if (optlen < sizeof(gr32))
			return -EINVAL;
		if (copy_from_sockptr(&gr32, optval, sizeof(gr32)))
			return -EFAULT;
		ifindex = gr32.gr_interface;
		memcpy(&ss, &gr32.gr_group, sizeof(ss));
	} else {
		struct group_req gr;

		if (optlen < sizeof(gr))
			return -EINVAL;
		if (copy_from_sockptr(&gr, optval, sizeof(gr)))
			return -EFAULT;
		ifindex = gr.gr_interface;
		ss = gr.gr_group;
	}
	if (level == SOL_IP) {
		if (ss.ss_family != AF_INET)
			return -EINVAL;
		jr_mc_group4(((struct sockaddr_in *)&ss)->sin_addr.s_addr, &g);
	} else {
		if (ss.ss_family != AF_INET6)
			return -EADDRNOTAVAIL;
		jr_mc_group6(&((struct sockaddr_in6 *)&ss)->sin6_addr, &g);
	}
	lock_sock(sk_jr(jsk));
	if (optname == MCAST_JOIN_GROUP)
		err = jr_mc_join(jsk, &g, 0, (int)ifindex);
	else
		err = jr_mc_leave(jsk, &g, 0, (int)ifindex);
	release_sock(sk_jr(jsk));
	return err;
}

/*
 * The multicast options that are not rows of jr_opts[]; -ENOIOCTLCMD for
 * any other option.  level is SOL_IP, or SOL_IPV6 on an IPv6 socket.
 */
static int jr_mc_setsockopt(struct sock *sk, int level, int optname,
			    sockptr_t optval, unsigned int optlen)
{
	struct jr_sock *jsk = jr_sk(sk);

	if (level == SOL_IP) {
		switch (optname) {
		case IP_MULTICAST_IF:
			return jr_mc_set_if(jsk, optval, optlen);
		case IP_ADD_MEMBERSHIP:
		case IP_DROP_MEMBERSHIP:
			return jr_mc_set_membership4(jsk, optname, optval, optlen);
		case MCAST_JOIN_GROUP:
		case MCAST_LEAVE_GROUP:
			return jr_mc_set_group_req(jsk, level, optname, optval, optlen);
		}
		return -ENOIOCTLCMD;
	}
	switch (optname) {
	case IPV6_MULTICAST_IF:
	case IPV6_MULTICAST_HOPS:
		/* do_ipv6_setsockopt() leaves these to datagram sockets. */
		if (sk->sk_type == SOCK_STREAM)
			return -ENOPROTOOPT;
		return -ENOIOCTLCMD;
	case IPV6_ADD_MEMBERSHIP:
	case IPV6_DROP_MEMBERSHIP:
		return jr_mc_set_membership6(jsk, optname, optval, optlen);
	case MCAST_JOIN_GROUP:
	case MCAST_LEAVE_GROUP:
		return jr_mc_set_group_req(jsk, level, optname, optval, optlen);
	}
	return -ENOIOCTLCMD;
}

/*
 * Replay: the interface and every group, to a netserver that can do
 * multicast (without it the groups are kept, not joined).  jr_call()
 * lets go of lock_sock while it waits, and a close meanwhile frees the
 * list: stop once the socket is dead.
 */
static int jr_mc_replay(struct jr_sock *jsk)
{
	struct jr_mc *m;
	int err = 0;

	if (jsk->mc_addr || jsk->mc_index)
		err = jr_mc_forward(jsk, SOL_IP, IP_MULTICAST_IF,
				    jr_mc_value4(jsk->mc_addr, jsk->mc_index), NULL);
	if (err == -ENOPROTOOPT)
		return 0;
	list_for_each_entry(m, &jsk->mc_list, node) {
		bool v4 = m->group.family == AF_INET;

		if (err || sock_flag(sk_jr(jsk), SOCK_DEAD))
			break;
		err = jr_mc_forward(jsk, v4 ? SOL_IP : SOL_IPV6,
				    v4 ? IP_ADD_MEMBERSHIP : IPV6_ADD_MEMBERSHIP,
				    v4 ? jr_mc_value4(m->ifaddr, m->ifindex)
				       : (u32)m->ifindex, &m->group);
	}
	if (!err && sock_flag(sk_jr(jsk), SOCK_DEAD))
		err = -EBADF;
	return err == -ENOPROTOOPT ? 0 : err;
}

/* Replay: every forwarded option whose value is not the default. */
static int jr_opts_replay(struct jr_sock *jsk)
{
	struct sock *sk = sk_jr(jsk);
	int i, err = 0;
	u64 features;

	/*
	 * The features now: each call below drops lock_sock while it waits,
	 * and the server's death meanwhile unslots the socket (srv NULL).
	 */
	if (!jsk->srv)
		return -ENETDOWN;
	features = jsk->srv->params.features;
	for (i = 0; i < JR_O_NR && !err; i++) {
		const struct jr_opt *o = &jr_opts[i];

		if (o->forward && jsk->opt[i] != jr_opt_def(sk, i) &&
		    (features & o->feature) == o->feature &&
		    jr_opt_applies(o, sk->sk_type == SOCK_STREAM))
			err = jr_setopt(jsk, o->level, o->name,
					jr_opt_wire(sk, i, jsk->opt[i]));
	}
	if (!err)
		err = jr_mc_replay(jsk);
	return err;
}

/* TCP_INFO: the netserver's view of the connection, plus our byte counts. */
static int jr_get_tcp_info(struct sock *sk, struct tcp_info *ti)
{
	struct jr_sock *jsk = jr_sk(sk);
	struct jr_sqe sqe = { .op = JR_OP_GETSOCKOPT };
	struct jr_tcp_info ji = { };
	struct jr_server *srv;
	int err = 0;

	lock_sock(sk);
	jr_tcp_info_init(ti, sk->sk_state);
	/* A surviving connection: what the kernel knows, without a call. */
	if (sk->sk_state == TCP_ESTABLISHED && jr_live_srv(jsk) &&
	    (jsk->srv->params.features & JR_F_SOCKOPTS)) {
		sqe.u.sockopt.level = SOL_TCP;
		sqe.u.sockopt.name = TCP_INFO;
		err = jr_call(jsk, &sqe);
		if (!err)
			ji = jsk->sync.cqe.u.tcp_info;
	}
	srv = err ? NULL : jr_sock_srv_get(jsk);
	if (srv) {
		struct jr_slot_ctl *ctl = jr_slot_ctl(srv, jsk->slot);
		u32 unacked = jsk->tx_prod - jr_load_acquire(&ctl->tx_cons);
		u32 unread = jr_load_acquire(&ctl->rx_prod) - jsk->rx_cons;

		/* Positions the netserver may have lied about only skew the
		 * figures of its own socket. */
		if (unacked <= srv->params.tx_buf_size)
			ti->tcpi_bytes_acked = jsk->tx_bytes - unacked;
		if (unread <= srv->params.rx_buf_size)
			ti->tcpi_bytes_received = jsk->rx_bytes + unread;
		ti->tcpi_notsent_bytes = 0;
		ti->tcpi_rcv_space = srv->params.rx_buf_size;
		jr_server_put(srv);
	}
	release_sock(sk);
	if (err)
		return err;
	jr_tcp_info_add(ti, &ji);
	return 0;
}

/* Linux's result of an int-valued IP getsockopt: one byte if asked. */
static int jr_put_ip_int(int val, char __user *optval, int __user *optlen, int len)
{
	if (len < (int)sizeof(int) && len > 0 && val >= 0 && val <= 255) {
		unsigned char c = val;

		if (put_user(1, optlen) || copy_to_user(optval, &c, 1))
			return -EFAULT;
		return 0;
	}
	len = min_t(unsigned int, sizeof(int), len);
	if (put_user(len, optlen) || copy_to_user(optval, &val, len))
		return -EFAULT;
	return 0;
}

static int jr_setsockopt(struct socket *sock, int level, int optname,
			 sockptr_t optval, unsigned int optlen)
{
	struct sock *sk = sock->sk;
	bool stream = sk->sk_type == SOCK_STREAM;
	char name[TCP_CA_NAME_MAX];
	int id;

	/* TCP's own level, or UDP's, then IP's; IP knows only SOL_IP. */
	if (stream && level == SOL_TCP) {
		switch (optname) {
		case TCP_CONGESTION:
		case TCP_ULP:
			if (optlen < 1)
				return -EINVAL;
			memset(name, 0, sizeof(name));
			if (copy_from_sockptr(name, optval,
					      min_t(unsigned int, optlen, sizeof(name) - 1)))
				return -EFAULT;
			/* lwIP's congestion control is Reno's; no ULP exists. */
			if (optname == TCP_CONGESTION && !strcmp(name, "reno"))
				return 0;
			return -ENOENT;
		}
		if (optlen < sizeof(int))
			return -EINVAL;
	} else if (!stream && level == SOL_UDP) {
		return optlen < sizeof(int) ? -EINVAL : -ENOPROTOOPT;
	} else if (level != SOL_IP && !(jr_is_v6(sk) && level == SOL_IPV6)) {
		return -ENOPROTOOPT;
	}
	if (level == SOL_IP || level == SOL_IPV6) {
		int err = jr_mc_setsockopt(sk, level, optname, optval, optlen);

		if (err != -ENOIOCTLCMD)
			return err;
	}
	id = jr_opt_find(level, optname);
	if (id < 0)
		return -ENOPROTOOPT;
	return jr_opt_set(sk, id, optval, optlen);
}

static int jr_getsockopt(struct socket *sock, int level, int optname,
			 char __user *optval, int __user *optlen)
{
	struct sock *sk = sock->sk;
	struct jr_sock *jsk = jr_sk(sk);
	bool stream = sk->sk_type == SOCK_STREAM;
	int len, val, id, err;

	if (get_user(len, optlen))
		return -EFAULT;
	if (stream && level == SOL_TCP) {
		switch (optname) {
		case TCP_INFO: {
			struct tcp_info ti;

			err = jr_get_tcp_info(sk, &ti);
			if (err)
				return err;
			len = min_t(unsigned int, len, sizeof(ti));
			if (put_user(len, optlen) || copy_to_user(optval, &ti, len))
				return -EFAULT;
			return 0;
		}
		case TCP_CONGESTION: {
			char ca[TCP_CA_NAME_MAX] = "reno";

			len = min_t(unsigned int, len, TCP_CA_NAME_MAX);
			if (put_user(len, optlen) || copy_to_user(optval, ca, len))
				return -EFAULT;
			return 0;
		}
		case TCP_ULP:			/* none attached */
			return put_user(0, optlen) ? -EFAULT : 0;
		}
		/* As do_tcp_getsockopt(): the length is clamped unsigned. */
		len = min_t(unsigned int, len, sizeof(int));
		id = jr_opt_find(level, optname);
		if (id < 0)
			return -ENOPROTOOPT;
		val = READ_ONCE(jsk->opt[id]);
		if (optname == TCP_MAXSEG) {
			/* Connected: the segment size in use; else what was set. */
			if (sk->sk_state == TCP_ESTABLISHED) {
				struct tcp_info ti;

				err = jr_get_tcp_info(sk, &ti);
				if (err)
					return err;
				val = ti.tcpi_snd_mss;
			} else if (!val) {
				val = JR_TCP_MSS_DEFAULT;
			}
		}
		if (put_user(len, optlen) || copy_to_user(optval, &val, len))
			return -EFAULT;
		return 0;
	}
	if (!stream && level == SOL_UDP)
		return len < 0 ? -EINVAL : -ENOPROTOOPT;
	if (jr_is_v6(sk) && level == SOL_IPV6) {
		/* do_ipv6_getsockopt(): an int, the length clamped unsigned. */
		id = jr_opt_find(level, optname);
		if (id < 0)
			return -ENOPROTOOPT;
		val = READ_ONCE(jsk->opt[id]);
		if (id == JR_O_IPV6_UNICAST_HOPS && val < 0)
			val = IPV6_DEFAULT_HOPLIMIT;
		len = min_t(unsigned int, sizeof(int), len);
		if (put_user(len, optlen) || copy_to_user(optval, &val, len))
			return -EFAULT;
		return 0;
	}
	/* IPv6 answers ENOPROTOOPT at a foreign level, IPv4 EOPNOTSUPP. */
	if (level != SOL_IP)
		return jr_is_v6(sk) ? -ENOPROTOOPT : -EOPNOTSUPP;
	if (len < 0)
		return -EINVAL;
	switch (optname) {
	case IP_OPTIONS:			/* none set */
		return put_user(0, optlen) ? -EFAULT : 0;
	case IP_MULTICAST_IF: {			/* the address set, if any */
		struct in_addr addr = { .s_addr = READ_ONCE(jsk->mc_addr) };

		len = min_t(unsigned int, len, sizeof(addr));
		if (put_user(len, optlen) || copy_to_user(optval, &addr, len))
			return -EFAULT;
		return 0;
	}
	case IP_MTU:
		if (sk->sk_state != TCP_ESTABLISHED)
			return -ENOTCONN;
		if (stream) {
			struct tcp_info ti;

			err = jr_get_tcp_info(sk, &ti);
			if (err)
				return err;
			val = ti.tcpi_pmtu;
		} else {
			val = ETH_DATA_LEN;
		}
		return jr_put_ip_int(val, optval, optlen, len);
	}
	id = jr_opt_find(level, optname);
	if (id < 0)
		return -ENOPROTOOPT;
	val = READ_ONCE(jsk->opt[id]);
	if (id == JR_O_IP_TTL && val < 0)
		val = READ_ONCE(sock_net(sk)->ipv4.sysctl_ip_default_ttl);
	return jr_put_ip_int(val, optval, optlen, len);
}

/* SIGPIPE on EPIPE unless MSG_NOSIGNAL, as sk_stream_error() does. */
static int jr_send_error(struct sock *sk, int flags, int err)
{
	if (err == -EPIPE && !(flags & MSG_NOSIGNAL))
		send_sig(SIGPIPE, current, 0);
	return err;
}

/* Copy len bytes from the message into a byte ring at pos. */
static int jr_copy_in(struct msghdr *msg, unsigned char *ring, u32 size,
		      u32 pos, u32 len)
{
	u32 first = jr_bytes_chunk(size, pos, len);

	if (copy_from_iter(ring + (pos & (size - 1)), first, &msg->msg_iter) != first)
		return -EFAULT;
	if (len > first && copy_from_iter(ring, len - first, &msg->msg_iter) != len - first)
		return -EFAULT;
	return 0;
}

static int jr_copy_out(struct msghdr *msg, const unsigned char *ring, u32 size,
		       u32 pos, u32 len)
{
	u32 first = jr_bytes_chunk(size, pos, len);

	if (copy_to_iter(ring + (pos & (size - 1)), first, &msg->msg_iter) != first)
		return -EFAULT;
	if (len > first && copy_to_iter(ring, len - first, &msg->msg_iter) != len - first)
		return -EFAULT;
	return 0;
}

/* Wait until cond, an error, or the timeout/signal; 0 or -errno. */
#define jr_wait(sk, timeo, cond)					\
({									\
	DEFINE_WAIT_FUNC(__wait, woken_wake_function);			\
	int __err = 0;							\
	add_wait_queue(sk_sleep(sk), &__wait);				\
	while (!(cond)) {						\
		if (!*(timeo)) {					\
			__err = -EAGAIN;				\
			break;						\
		}							\
		if (signal_pending(current)) {				\
			__err = sock_intr_errno(*(timeo));		\
			break;						\
		}							\
		sk_wait_event(sk, timeo, (cond), &__wait);		\
	}								\
	remove_wait_queue(sk_sleep(sk), &__wait);			\
	__err;								\
})

/*
 * sendto(MSG_FASTOPEN) as Linux's TCP does it when no Fast Open cookie is
 * cached (lwIP has no Fast Open, so never one): a connect to msg_name,
 * blocking unless MSG_DONTWAIT (EINPROGRESS then, the data unsent), after
 * which the data goes as on any connection.  On a connected socket it is
 * EISCONN; with the client side off in net.ipv4.tcp_fastopen, EOPNOTSUPP.
 */
static int jr_sendmsg_fastopen(struct socket *sock, struct msghdr *msg)
{
	struct sockaddr *to = msg->msg_name;

	if (!(READ_ONCE(sock_net(sock->sk)->ipv4.sysctl_tcp_fastopen) & TFO_CLIENT_ENABLE) ||
	    (to && msg->msg_namelen >= (int)sizeof(to->sa_family) &&
	     to->sa_family == AF_UNSPEC))
		return -EOPNOTSUPP;
	if (!to && sock->state == SS_CONNECTED)
		return -EISCONN;
	return jr_stream_connect(sock, to, to ? msg->msg_namelen : 0,
				 (msg->msg_flags & MSG_DONTWAIT) ? O_NONBLOCK : 0);
}

static int jr_stream_sendmsg(struct socket *sock, struct msghdr *msg, size_t len)
{
	struct sock *sk = sock->sk;
	struct jr_sock *jsk = jr_sk(sk);
	struct jr_server *srv;
	size_t done = 0;
	long timeo;
	int err = 0, room;

	if (msg->msg_flags & MSG_OOB)
		return -EOPNOTSUPP;
	if (msg->msg_flags & MSG_FASTOPEN) {
		err = jr_sendmsg_fastopen(sock, msg);
		if (err)
			return err;
	}
	lock_sock(sk);
	timeo = sock_sndtimeo(sk, msg->msg_flags & MSG_DONTWAIT);
	if (sk->sk_state == TCP_SYN_SENT) {
		err = jr_wait(sk, &timeo, READ_ONCE(sk->sk_state) != TCP_SYN_SENT);
		if (err)
			goto out;
	}
	while (done < len || !len) {
		if (sk->sk_err) {
			err = sock_error(sk);
			if (err == -ECONNRESET && done == 0 && jsk->rx_fin)
				err = -ECONNRESET;
			break;
		}
		if ((sk->sk_shutdown & SEND_SHUTDOWN) || sk->sk_state != TCP_ESTABLISHED) {
			err = -EPIPE;
			break;
		}
		srv = jr_data_srv(jsk);
		if (!srv && jr_verdict_pending(jsk)) {
			err = jr_wait(sk, &timeo, !jr_verdict_pending(jsk) || sk->sk_err);
			if (err)
				break;
			continue;
		}
		if (!srv) {
			err = -EPIPE;
			break;
		}
		if (!len)
			break;
		room = jr_tx_room(jsk, srv);
		if (room < 0) {
			err = jr_bad_ring(jsk);
			break;
		}
		if (!room) {
			err = jr_wait(sk, &timeo, jr_data_gone(jsk) || sk->sk_err ||
				      (sk->sk_shutdown & SEND_SHUTDOWN) ||
				      jr_tx_room_now(jsk) != 0);
			if (err)
				break;
			continue;
		}
		room = min_t(size_t, room, len - done);
		err = jr_copy_in(msg, jr_slot_tx(srv, jsk->slot),
				 srv->params.tx_buf_size, jsk->tx_prod, room);
		if (err)
			break;
		jsk->tx_prod += room;
		jsk->tx_bytes += room;
		/* Release: the bytes are in the ring before tx_prod says so. */
		jr_store_release(&jr_slot_ctl(srv, jsk->slot)->tx_prod, jsk->tx_prod);
		/* MSG_MORE holds only the call's last bytes (Linux's corked
		 * tail); a netserver without 1.1 sends them at once. */
		jr_notify_flags(jsk, JR_OP_TX,
				(msg->msg_flags & MSG_MORE) && done + room == len &&
				(srv->params.features & JR_F_SOCKOPTS) ? JR_SQE_F_MORE : 0);
		done += room;
	}
out:
	release_sock(sk);
	if (done)
		return done;
	return jr_send_error(sk, msg->msg_flags, err);
}

/* Tell the netserver that the reader made room (jr_rx_space_due()). */
static void jr_stream_rx_space(struct jr_sock *jsk, struct jr_server *srv)
{
	if (!jr_rx_space_due(jsk->rx_cons, jsk->rx_cons_told,
			     srv->params.rx_buf_size))
		return;
	jsk->rx_cons_told = jsk->rx_cons;
	jr_notify(jsk, JR_OP_RX_SPACE);
}

static int jr_stream_recvmsg(struct socket *sock, struct msghdr *msg, size_t len,
			     int flags)
{
	struct sock *sk = sock->sk;
	struct jr_sock *jsk = jr_sk(sk);
	struct jr_server *srv;
	size_t done = 0;
	long timeo;
	int err = 0, avail, inq;

	if (flags & MSG_OOB)
		return -EINVAL;
	/* Nothing is ever queued there (IP_RECVERR is kept, not acted on). */
	if (flags & MSG_ERRQUEUE)
		return -EAGAIN;
	lock_sock(sk);
	if (sk->sk_state == TCP_LISTEN ||
	    (sk->sk_state == TCP_CLOSE && sock->state != SS_CONNECTED && !jsk->rx_fin)) {
		err = -ENOTCONN;
		goto out;
	}
	timeo = sock_rcvtimeo(sk, flags & MSG_DONTWAIT);
	while (done < len) {
		srv = jsk->srv;
		avail = srv ? jr_rx_avail(jsk, srv) : 0;
		if (avail < 0) {
			err = jr_bad_ring(jsk);
			break;
		}
		if (avail > 0) {
			u32 n = min_t(size_t, avail, len - done);

			/* MSG_TRUNC: TCP drops the bytes instead (as Linux). */
			err = flags & MSG_TRUNC ? 0 :
			      jr_copy_out(msg, jr_slot_rx(srv, jsk->slot),
					  srv->params.rx_buf_size, jsk->rx_cons, n);
			if (err)
				break;
			done += n;
			if (flags & MSG_PEEK)
				break;
			jsk->rx_cons += n;
			jsk->rx_bytes += n;
			/* Release: our reads finish before the space is reused. */
			jr_store_release(&jr_slot_ctl(srv, jsk->slot)->rx_cons, jsk->rx_cons);
			jr_stream_rx_space(jsk, srv);
			if (!(flags & MSG_WAITALL))
				break;
			continue;
		}
		if (done && !(flags & MSG_WAITALL))
			break;
		if (sk->sk_err) {
			if (!done)
				err = sock_error(sk);
			break;
		}
		if (jsk->rx_fin || (sk->sk_shutdown & RCV_SHUTDOWN) || jr_data_gone(jsk)) {
			if (!done)
				err = jr_shutdown_error(sk);
			break;
		}
		err = jr_wait(sk, &timeo, sk->sk_err || jsk->rx_fin ||
			      (sk->sk_shutdown & RCV_SHUTDOWN) || jr_data_gone(jsk) ||
			      jr_rx_avail_now(jsk) != 0);
		if (err)
			break;
	}
	if (jsk->opt[JR_O_TCP_INQ] && (done || !err)) {
		/* What a next read would get; 1 for an end of stream to read. */
		srv = jsk->srv;
		inq = srv ? max(jr_rx_avail(jsk, srv), 0) : 0;
		if (!inq && jsk->rx_fin)
			inq = 1;
		put_cmsg(msg, SOL_TCP, TCP_CM_INQ, sizeof(inq), &inq);
	}
out:
	release_sock(sk);
	return done ? (int)done : err;
}

static int jr_dgram_sendmsg(struct socket *sock, struct msghdr *msg, size_t len)
{
	struct sock *sk = sock->sk;
	struct jr_sock *jsk = jr_sk(sk);
	DECLARE_SOCKADDR(struct sockaddr *, to, msg->msg_name);
	struct jr_dgram_hdr h = { 0 };
	struct jr_server *srv;
	union jr_inaddr dest;
	u32 size, pos;
	long timeo;
	int err, room;

	if (msg->msg_flags & MSG_OOB)
		return -EOPNOTSUPP;
	if (to) {
		err = jr_addr_from_user(sk, to, msg->msg_namelen, &dest);
		if (err == -EAFNOSUPPORT && to->sa_family == AF_UNSPEC)
			return -EDESTADDRREQ;
		if (!err)
			err = jr_connect_dest(jsk, &dest);
		if (err)
			return err;
		if (!dest.v4.sin_port)
			return -EINVAL;
		jr_addr_to_wire(sk, &dest, &h.addr);
	}
	if (len > JR_DGRAM_MAX)
		return -EMSGSIZE;
	lock_sock(sk);
	err = -EDESTADDRREQ;
	if (!to && sk->sk_state != TCP_ESTABLISHED)
		goto out;
	timeo = sock_sndtimeo(sk, msg->msg_flags & MSG_DONTWAIT);
	/*
	 * The server is looked up again after every wait: jr_wait() lets go
	 * of the socket lock, and meanwhile the netserver may die and a new
	 * one replay this socket onto another region.
	 */
	for (;;) {
		err = jr_wait_recovered(jsk);
		if (err)
			goto out;
		srv = jr_live_srv(jsk);
		err = -ENETDOWN;
		if (!srv)
			goto out;
		size = srv->params.tx_buf_size;
		err = -EMSGSIZE;
		if (JR_DGRAM_RECORD(len) > size / 2)
			goto out;
		room = jr_tx_room(jsk, srv);
		if (room < 0) {
			err = jr_bad_ring(jsk);
			goto out;
		}
		if (jr_dgram_need(jsk->tx_prod, size, len) <= (u32)room)
			break;
		err = jr_wait(sk, &timeo, !jr_live_srv(jsk) || sk->sk_err ||
			      jr_dgram_need(jsk->tx_prod, size, len) <=
			      (u32)max(jr_tx_room_now(jsk), 0));
		if (err)
			goto out;
		if (sk->sk_err) {
			err = sock_error(sk);
			goto out;
		}
	}
	h.len = len;
	pos = jr_dgram_begin(jr_slot_tx(srv, jsk->slot), size, jsk->tx_prod, len);
	memcpy(jr_slot_tx(srv, jsk->slot) + (pos & (size - 1)), &h, sizeof(h));
	if (copy_from_iter(jr_slot_tx(srv, jsk->slot) + (pos & (size - 1)) + sizeof(h),
			   len, &msg->msg_iter) != len) {
		err = -EFAULT;
		goto out;
	}
	jsk->tx_prod = pos + JR_DGRAM_RECORD(len);
	jr_store_release(&jr_slot_ctl(srv, jsk->slot)->tx_prod, jsk->tx_prod);
	jr_notify(jsk, JR_OP_TX);
	err = len;
out:
	release_sock(sk);
	return err;
}

/*
 * Control messages from a datagram's metadata, as ip_cmsg_recv() and
 * ip6_datagram_recv_ctl() give them: for an IPv4 datagram the IP_* ones;
 * on an IPv6 socket also IPV6_PKTINFO (an IPv4 destination mapped), and
 * for an IPv6 datagram IPV6_TCLASS and IPV6_HOPLIMIT.  The interface index
 * is 0: the netserver's port is no Linux interface.  A destination the
 * netserver made up only misleads its own socket, but an address of a
 * family not negotiated is dropped.
 */
static void jr_put_cmsgs(struct sock *sk, struct msghdr *msg,
			 const struct jr_dgram_meta *m, const struct jr_limits *lim)
{
	const int *opt = jr_sk(sk)->opt;
	bool v4 = m->dst.family == AF_INET;

	if (jr_validate_sockaddr(&m->dst, lim))
		return;
	if (v4 && READ_ONCE(opt[JR_O_IP_PKTINFO])) {
		struct in_pktinfo pi = { };

		memcpy(&pi.ipi_addr, m->dst.addr, 4);
		pi.ipi_spec_dst = pi.ipi_addr;
		put_cmsg(msg, SOL_IP, IP_PKTINFO, sizeof(pi), &pi);
	}
	if (v4 && READ_ONCE(opt[JR_O_IP_RECVTTL])) {
		int ttl = m->ttl;

		put_cmsg(msg, SOL_IP, IP_TTL, sizeof(ttl), &ttl);
	}
	if (v4 && READ_ONCE(opt[JR_O_IP_RECVTOS])) {
		u8 tos = m->tos;

		put_cmsg(msg, SOL_IP, IP_TOS, 1, &tos);
	}
	if (!jr_is_v6(sk))
		return;
	if (READ_ONCE(opt[JR_O_IPV6_RECVPKTINFO])) {
		struct in6_pktinfo pi = { };
		__be32 a;

		if (v4) {
			memcpy(&a, m->dst.addr, 4);
			ipv6_addr_set_v4mapped(a, &pi.ipi6_addr);
		} else {
			memcpy(&pi.ipi6_addr, m->dst.addr, 16);
		}
		put_cmsg(msg, SOL_IPV6, IPV6_PKTINFO, sizeof(pi), &pi);
	}
	if (!v4 && READ_ONCE(opt[JR_O_IPV6_RECVHOPLIMIT])) {
		int hl = m->ttl;

		put_cmsg(msg, SOL_IPV6, IPV6_HOPLIMIT, sizeof(hl), &hl);
	}
	if (!v4 && READ_ONCE(opt[JR_O_IPV6_RECVTCLASS])) {
		int tc = m->tos;

		put_cmsg(msg, SOL_IPV6, IPV6_TCLASS, sizeof(tc), &tc);
	}
}

static int jr_dgram_recvmsg(struct socket *sock, struct msghdr *msg, size_t len,
			    int flags)
{
	struct sock *sk = sock->sk;
	struct jr_sock *jsk = jr_sk(sk);
	DECLARE_SOCKADDR(struct sockaddr *, from, msg->msg_name);
	struct jr_dgram_hdr h;
	struct jr_server *srv;
	u32 size, record, skip, n;
	long timeo;
	int err, avail;

	if (flags & MSG_OOB)
		return -EOPNOTSUPP;
	if (flags & MSG_ERRQUEUE)
		return -EAGAIN;	/* as for a stream socket */
	lock_sock(sk);
	timeo = sock_rcvtimeo(sk, flags & MSG_DONTWAIT);
	for (;;) {
		srv = jsk->srv;
		avail = srv ? jr_rx_avail(jsk, srv) : 0;
		if (avail < 0) {
			err = jr_bad_ring(jsk);
			goto out;
		}
		if (!avail) {
			if (sk->sk_err) {
				err = sock_error(sk);
				goto out;
			}
			/* A survivor waits for its replay, as for data. */
			if (!jr_live_srv(jsk) && !READ_ONCE(jsk->survivor)) {
				err = -ENETDOWN;
				goto out;
			}
			if (sk->sk_shutdown & RCV_SHUTDOWN) {
				err = jr_shutdown_error(sk);
				goto out;
			}
			err = jr_wait(sk, &timeo, sk->sk_err ||
				      (!jr_live_srv(jsk) && !READ_ONCE(jsk->survivor)) ||
				      (sk->sk_shutdown & RCV_SHUTDOWN) ||
				      jr_rx_avail_now(jsk) != 0);
			if (err)
				goto out;
			continue;
		}
		size = srv->params.rx_buf_size;
		skip = jr_dgram_skip(jsk->rx_cons, size);
		if (skip) {
			if ((u32)avail < skip) {
				err = jr_bad_ring(jsk);
				goto out;
			}
			jsk->rx_cons += skip;
			continue;
		}
		memcpy(&h, jr_slot_rx(srv, jsk->slot) + (jsk->rx_cons & (size - 1)), sizeof(h));
		if (jr_validate_dgram(&h, jsk->rx_cons, avail, size, &srv->limits, &record)) {
			err = jr_bad_ring(jsk);
			goto out;
		}
		if (h.flags & JR_DGRAM_F_PAD) {
			jsk->rx_cons += record;
			continue;
		}
		break;
	}
	n = min_t(size_t, jr_dgram_payload_len(&h), len);
	if (copy_to_iter(jr_slot_rx(srv, jsk->slot) + (jsk->rx_cons & (size - 1)) +
			 jr_dgram_payload_off(&h), n, &msg->msg_iter) != n) {
		err = -EFAULT;
		goto out;
	}
	if (h.flags & JR_DGRAM_F_META) {
		struct jr_dgram_meta meta;

		memcpy(&meta, jr_slot_rx(srv, jsk->slot) + (jsk->rx_cons & (size - 1)) +
		       sizeof(h), sizeof(meta));
		jr_put_cmsgs(sk, msg, &meta, &srv->limits);
	}
	if (from) {
		union jr_inaddr a;

		jr_addr_from_wire(sk, &h.addr, &a);
		msg->msg_namelen = jr_addr_to_user(sk, &a, from);
	}
	/* The datagram's real size: the one on the wire if the netserver cut it. */
	record = (h.flags & JR_DGRAM_F_TRUNC) ? h.orig_len : jr_dgram_payload_len(&h);
	if (n < record)
		msg->msg_flags |= MSG_TRUNC;
	err = (flags & MSG_TRUNC) ? record : n;
	if (!(flags & MSG_PEEK)) {
		jsk->rx_cons += jr_dgram_skip(jsk->rx_cons, size) +
				JR_DGRAM_RECORD(h.len);
		jr_store_release(&jr_slot_ctl(srv, jsk->slot)->rx_cons, jsk->rx_cons);
		jr_notify(jsk, JR_OP_RX_SPACE);
	}
out:
	release_sock(sk);
	return err;
}

static const struct proto_ops jr_stream_ops = {
	.family		= PF_JOYRIDE,
	.owner		= THIS_MODULE,
	.release	= jr_release,
	.bind		= jr_bind,
	.connect	= jr_stream_connect,
	.socketpair	= sock_no_socketpair,
	.accept		= jr_accept,
	.getname	= jr_getname,
	.poll		= jr_poll,
	.ioctl		= jr_ioctl,
	.listen		= jr_listen,
	.shutdown	= jr_shutdown,
	.setsockopt	= jr_setsockopt,
	.getsockopt	= jr_getsockopt,
	.sendmsg	= jr_stream_sendmsg,
	.recvmsg	= jr_stream_recvmsg,
	.mmap		= sock_no_mmap,
	.sendpage	= sock_no_sendpage,
};

static const struct proto_ops jr_dgram_ops = {
	.family		= PF_JOYRIDE,
	.owner		= THIS_MODULE,
	.release	= jr_release,
	.bind		= jr_bind,
	.connect	= jr_dgram_connect,
	.socketpair	= sock_no_socketpair,
	.accept		= sock_no_accept,
	.getname	= jr_getname,
	.poll		= jr_poll,
	.ioctl		= jr_ioctl,
	.listen		= sock_no_listen,
	.shutdown	= jr_shutdown,
	.setsockopt	= jr_setsockopt,
	.getsockopt	= jr_getsockopt,
	.sendmsg	= jr_dgram_sendmsg,
	.recvmsg	= jr_dgram_recvmsg,
	.mmap		= sock_no_mmap,
	.sendpage	= sock_no_sendpage,
};

/*
 * socket(AF_JOYRIDE, type, protocol).  Types and protocols are checked
 * first, with the errno inet_create() gives, so a program probing for
 * support sees the same answers as on AF_INET.
 */
static int jr_create_family(struct net *net, struct socket *sock, int protocol,
			    int kern, int family)
{
	struct jr_server *srv;
	struct jr_sqe sqe = { .op = JR_OP_SOCKET };
	struct sock *sk;
	int err;

	switch (sock->type) {
	case SOCK_STREAM:
		if (protocol && protocol != IPPROTO_TCP)
			return -EPROTONOSUPPORT;
		break;
	case SOCK_DGRAM:
		if (protocol && protocol != IPPROTO_UDP)
			return -EPROTONOSUPPORT;
		break;
	default:
		return -ESOCKTNOSUPPORT;
	}
	srv = jr_server_get_wait(jr_dev_of(net), sock->type);
	if (!srv)
		return -ENETDOWN;
	if (family == AF_INET6 && !(srv->params.features & JR_F_IPV6)) {
		jr_server_put(srv);
		return -EAFNOSUPPORT;
	}

	sk = jr_sock_alloc(net, sock, sock->type, family, kern, current_fsuid());
	if (!sk) {
		jr_server_put(srv);
		return -ENOMEM;
	}
	sock->ops = sock->type == SOCK_STREAM ? &jr_stream_ops : &jr_dgram_ops;
	sock->state = SS_UNCONNECTED;
	err = jr_sock_slot(jr_sk(sk), srv);
	if (err) {
		jr_server_put(srv);
		goto err_sk;
	}
	sqe.u.socket.family = family == AF_INET6 ? AF_INET6 : AF_INET;
	sqe.u.socket.type = sock->type;
	sqe.u.socket.protocol = sk->sk_protocol;
	lock_sock(sk);
	err = jr_call(jr_sk(sk), &sqe);
	release_sock(sk);
	if (err)
		goto err_slot;
	atomic64_inc(&jr_dev_of(net)->sockets_created);
	return 0;

err_slot:
	sock->ops = NULL;
	/* Under the lock, so a netserver dying now cannot keep it a survivor. */
	lock_sock(sk);
	sock_orphan(sk);
	release_sock(sk);
	jr_survivor_drop(jr_sk(sk));
	sock->sk = NULL;
	/* Unanswered: the netserver may have made the socket; close it there. */
	if (err == -ETIMEDOUT || err == -EINTR)
		jr_sock_close(jr_sk(sk), true, 0);
	else
		jr_close_done(jr_sk(sk));
	return err;

err_sk:
	sock->ops = NULL;
	sock_orphan(sk);
	sock_put(sk);
	sock->sk = NULL;
	return err;
}

static int jr_create(struct net *net, struct socket *sock, int protocol, int kern)
{
	return jr_create_family(net, sock, protocol, kern, AF_JOYRIDE);
}

/* A redirected socket(AF_INET): a Joyride socket that says AF_INET. */
static int jr_create_inet(struct net *net, struct socket *sock, int protocol,
			  int kern)
{
	return jr_create_family(net, sock, protocol, kern, AF_INET);
}

/* A socket(AF_INET6), redirected or not: a Joyride socket that says AF_INET6. */
static int jr_create_inet6(struct net *net, struct socket *sock, int protocol,
			   int kern)
{
	return jr_create_family(net, sock, protocol, kern, AF_INET6);
}

static const struct net_proto_family jr_family_ops = {
	.family	= PF_JOYRIDE,
	.create	= jr_create,
	.owner	= THIS_MODULE,
};

static const struct net_proto_family jr_inet_family_ops = {
	.family	= AF_JOYRIDE_INET,
	.create	= jr_create_inet,
	.owner	= THIS_MODULE,
};

static const struct net_proto_family jr_inet6_family_ops = {
	.family	= AF_JOYRIDE_INET6,
	.create	= jr_create_inet6,
	.owner	= THIS_MODULE,
};

/* ----------------------------------------------------- /proc, sysctl */

static const char *const jr_state_names[] = {
	[TCP_ESTABLISHED] = "ESTAB", [TCP_SYN_SENT] = "SYN-SENT",
	[TCP_CLOSE] = "CLOSE", [TCP_LISTEN] = "LISTEN",
};

static void *jr_seq_start(struct seq_file *seq, loff_t *pos)
	__acquires(&jr_socks_lock)
{
	spin_lock(&jr_socks_lock);
	return seq_list_start_head(&jr_socks, *pos);
}

static void *jr_seq_next(struct seq_file *seq, void *v, loff_t *pos)
{
	return seq_list_next(v, &jr_socks, pos);
}

static void jr_seq_stop(struct seq_file *seq, void *v)
	__releases(&jr_socks_lock)
{
	spin_unlock(&jr_socks_lock);
}

static int jr_seq_show(struct seq_file *seq, void *v)
{
	struct jr_tcp_gauge gauge = {};
	struct jr_sock *jsk;
	struct sock *sk;
	struct jr_server *srv;
	int rxq = 0, txq = 0, state;
	const char *name;

	if (v == &jr_socks) {
		seq_puts(seq, "Proto State     Slot  Recv-Q Send-Q Local                 Peer                  Flags\n");
		return 0;
	}
	jsk = list_entry(v, struct jr_sock, all_node);
	sk = sk_jr(jsk);
	/* Children pre-posted for a listener and a listener's replicas on
	 * other engines are not sockets anyone holds; the listener's line
	 * stands for them.  Other namespaces' are theirs. */
	if (jsk->listener || jsk->primary ||
	    !net_eq(sock_net(sk), seq_file_net(seq)))
		return 0;
	spin_lock_bh(&jsk->lock);
	srv = jsk->srv;
	if (srv && sk->sk_state != TCP_LISTEN) {
		rxq = max(jr_rx_avail(jsk, srv), 0);
		txq = jr_tx_queued(jsk, srv);
	}
	if (srv && sk->sk_type == SOCK_STREAM && sk->sk_state != TCP_LISTEN &&
	    (srv->params.features & JR_F_STATS)) {
		/* The netserver's numbers (ABI 2.2): printed, never used. */
		const struct jr_tcp_gauge *g = &jr_slot_ctl(srv, jsk->slot)->gauge;

		gauge.rtt_us = READ_ONCE(g->rtt_us);
		gauge.cwnd = READ_ONCE(g->cwnd);
		gauge.retrans = READ_ONCE(g->retrans);
	}
	spin_unlock_bh(&jsk->lock);
	state = READ_ONCE(sk->sk_state);
	name = state < ARRAY_SIZE(jr_state_names) && jr_state_names[state] ?
	       jr_state_names[state] : "?";
	seq_printf(seq, "%-5s %-9s %5d %6d %6d ",
		   sk->sk_type == SOCK_STREAM ? "tcp" : "udp",
		   sk->sk_type == SOCK_DGRAM && state == TCP_CLOSE ? "UNCONN" : name,
		   srv ? (int)jsk->slot : -1, rxq, txq);
	if (jr_is_v6(sk))
		seq_printf(seq, "[%pI6c]:%-5u [%pI6c]:%-5u ",
			   &jsk->local.v6.sin6_addr, ntohs(jsk->local.v6.sin6_port),
			   &jsk->peer.v6.sin6_addr, ntohs(jsk->peer.v6.sin6_port));
	else
		seq_printf(seq, "%15pI4:%-5u %15pI4:%-5u ",
			   &jsk->local.v4.sin_addr, ntohs(jsk->local.v4.sin_port),
			   &jsk->peer.v4.sin_addr, ntohs(jsk->peer.v4.sin_port));
	seq_printf(seq, "engine=%u uid=%u ino=%lu ", jsk->engine,
		   from_kuid_munged(seq_user_ns(seq), sock_i_uid(sk)), sock_i_ino(sk));
	if (gauge.cwnd)
		seq_printf(seq, "rtt=%u cwnd=%u retrans=%u ", gauge.rtt_us,
			   gauge.cwnd, gauge.retrans);
	if (sk->sk_state == TCP_LISTEN) {
		unsigned int i, n = 0;

		for (i = 0; i < JR_MAX_ENGINES; i++)
			n += READ_ONCE(jsk->replica[i]) != NULL;
		if (n)
			seq_printf(seq, "replicas=%u ", n);
	}
	seq_printf(seq, "%s%s%s%s%s\n",
		   jsk->closing ? "closing " : "",
		   sk->sk_state == TCP_LISTEN && jsk->accepts_posted ? "accepts-posted " : "",
		   jsk->surviving ? "surviving " : jsk->survivor ? "recovering " : "",
		   sk->sk_family == AF_INET ? "inet " : jr_is_v6(sk) ? "inet6 " : "",
		   srv && READ_ONCE(srv->dead) ? "server-dead" : "");
	return 0;
}

static const struct seq_operations jr_seq_ops = {
	.start	= jr_seq_start,
	.next	= jr_seq_next,
	.stop	= jr_seq_stop,
	.show	= jr_seq_show,
};

static unsigned int jr_timeout_min = 1;
static unsigned int jr_timeout_max = 600000;

/*
 * net/joyride: the redirect's two switches in every namespace (they act on
 * that namespace's sockets), the module-wide limits in the initial one
 * only, as Linux shows its global net.core knobs.  Each namespace gets a
 * copy pointing at its own jr_dev.
 */
enum { JR_SYSCTL_PER_NET = 2 };

static const struct ctl_table jr_sysctl_template[] = {
	{
		.procname	= "redirect_inet",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= jr_redirect_sysctl,
		.extra1		= SYSCTL_ZERO,
		.extra2		= SYSCTL_ONE,
	},
	{
		.procname	= "redirect_inet6",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= jr_redirect_sysctl,
		.extra1		= SYSCTL_ZERO,
		.extra2		= SYSCTL_ONE,
	},
	/* JR_SYSCTL_PER_NET: the initial namespace's only, from here. */
	{
		.procname	= "recovery_timeout_ms",
		.data		= &jr_recovery_timeout_ms,
		.maxlen		= sizeof(unsigned int),
		.mode		= 0644,
		.proc_handler	= proc_douintvec_minmax,
		.extra1		= &jr_timeout_min,
		.extra2		= &jr_timeout_max,
	},
	{
		.procname	= "max_slots_per_user",
		.data		= &jr_max_slots_per_user,
		.maxlen		= sizeof(unsigned int),
		.mode		= 0644,
		.proc_handler	= proc_douintvec,
	},
	{
		.procname	= "request_timeout_ms",
		.data		= &jr_request_timeout_ms,
		.maxlen		= sizeof(unsigned int),
		.mode		= 0644,
		.proc_handler	= proc_douintvec_minmax,
		.extra1		= &jr_timeout_min,
		.extra2		= &jr_timeout_max,
	},
	{
		.procname	= "survival",
		.data		= &jr_survival,
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= SYSCTL_ZERO,
		.extra2		= SYSCTL_ONE,
	},
	{ }
};

static int __net_init jr_net_init(struct net *net)
{
	struct jr_dev *dev = jr_dev_of(net);
	struct ctl_table *table;

	jr_dev_net_init(dev, net);
	table = kmemdup(jr_sysctl_template, sizeof(jr_sysctl_template), GFP_KERNEL);
	if (!table)
		return -ENOMEM;
	table[0].data = &dev->redirect_inet;
	table[1].data = &dev->redirect_inet6;
	if (!net_eq(net, &init_net))
		table[JR_SYSCTL_PER_NET].procname = NULL;
	dev->sysctl = register_net_sysctl(net, "net/joyride", table);
	if (!dev->sysctl)
		goto err_table;
	if (!proc_create_net("joyride", 0444, net->proc_net, &jr_seq_ops,
			     sizeof(struct seq_net_private)))
		goto err_sysctl;
	if (!proc_create_net_single("joyride_engines", 0444, net->proc_net,
				    jr_engines_show, NULL))
		goto err_proc;
	if (!proc_create_net_single("joyride_stat", 0444, net->proc_net,
				    jr_stat_show, NULL))
		goto err_engines;
	return 0;

err_engines:
	remove_proc_entry("joyride_engines", net->proc_net);
err_proc:
	remove_proc_entry("joyride", net->proc_net);
err_sysctl:
	unregister_net_sysctl_table(dev->sysctl);
err_table:
	kfree(table);
	return -ENOMEM;
}

/*
 * The last reference to the namespace is gone, so are its sockets and any
 * netserver that served it (both pin it).
 */
static void __net_exit jr_net_exit(struct net *net)
{
	struct jr_dev *dev = jr_dev_of(net);
	struct ctl_table *table = dev->sysctl->ctl_table_arg;

	remove_proc_entry("joyride_stat", net->proc_net);
	remove_proc_entry("joyride_engines", net->proc_net);
	remove_proc_entry("joyride", net->proc_net);
	unregister_net_sysctl_table(dev->sysctl);
	kfree(table);
}

static struct pernet_operations jr_net_ops = {
	.init	= jr_net_init,
	.exit	= jr_net_exit,
	.id	= &jr_net_id,
	.size	= sizeof(struct jr_dev),
};

/* ------------------------------------------------------------- module */

static int __init jr_init(void)
{
	int err;

	jr_wq = alloc_workqueue("joyride", WQ_UNBOUND, 0);
	if (!jr_wq)
		return -ENOMEM;
	err = proto_register(&jr_proto, 1);
	if (err)
		goto err_wq;
	err = sock_register(&jr_family_ops);
	if (err)
		goto err_proto;
	err = sock_register(&jr_inet_family_ops);
	if (err)
		goto err_sock;
	err = sock_register(&jr_inet6_family_ops);
	if (err)
		goto err_inet;
	/* Namespaces' state before the device: an attach looks it up. */
	err = register_pernet_subsys(&jr_net_ops);
	if (err)
		goto err_inet6;
	err = jr_dev_init();
	if (err)
		goto err_pernet;
	pr_info("joyride: AF_JOYRIDE (%d) registered, ABI %u.%u\n",
		AF_JOYRIDE, JR_ABI_MAJOR, JR_ABI_MINOR);
	return 0;

err_pernet:
	unregister_pernet_subsys(&jr_net_ops);
err_inet6:
	sock_unregister(AF_JOYRIDE_INET6);
err_inet:
	sock_unregister(AF_JOYRIDE_INET);
err_sock:
	sock_unregister(PF_JOYRIDE);
err_proto:
	proto_unregister(&jr_proto);
err_wq:
	destroy_workqueue(jr_wq);
	return err;
}

static void __exit jr_exit(void)
{
	/*
	 * The redirect first (it refuses to be armed again from here on), so
	 * no new socket() is sent our way and its probe no longer reads the
	 * namespaces' state that the pernet exit frees.
	 */
	jr_redirect_exit();
	jr_dev_exit();
	unregister_pernet_subsys(&jr_net_ops);
	sock_unregister(AF_JOYRIDE_INET6);
	sock_unregister(AF_JOYRIDE_INET);
	sock_unregister(PF_JOYRIDE);
	/*
	 * No netserver is attached (its open file pins the module), so every
	 * owed post finds no server and ends at once; deferred closes and
	 * replays hold socket references: let them finish.
	 */
	flush_delayed_work(&jr_deferred_work);
	destroy_workqueue(jr_wq);
	proto_unregister(&jr_proto);
}

module_init(jr_init);
module_exit(jr_exit);

MODULE_DESCRIPTION("Joyride: AF_JOYRIDE sockets served by a user-space network stack");
MODULE_LICENSE("GPL");
MODULE_ALIAS_NETPROTO(PF_JOYRIDE);
