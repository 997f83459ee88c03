// SPDX-License-Identifier: GPL-2.0
/*
 * Transparent redirect: socket(AF_INET, ...) and socket(AF_INET6, ...)
 * served by Joyride.
 *
 * With net.joyride.redirect_inet = 1 in a network namespace, a kprobe at the entry of
 * __sock_create() rewrites the family argument of user-space AF_INET
 * TCP/UDP sockets to AF_JOYRIDE_INET, a second family this module
 * registers: its sockets are Joyride sockets that report AF_INET
 * (sk_family, SO_DOMAIN, addresses), so the program cannot tell.
 * net.joyride.redirect_inet6 = 1 does the same for AF_INET6 sockets
 * (AF_JOYRIDE_INET6, dual stack as Linux's), when the netserver serves
 * IPv6 (JR_F_IPV6); the two switches are independent.  Each namespace has
 * its own pair and its own netserver (joyride.h, struct jr_dev): a
 * container's switches and netserver decide for its sockets only.
 *
 * Why a kprobe: Debian's kernel lets an out-of-tree module do nothing
 * cleaner here.  socket(2) reaches __sock_create() directly (sock_create()
 * is inlined), so a livepatch of sock_create() never fires; LSMs cannot be
 * registered by modules; BPF's cgroup sock_create hook runs after the inet
 * socket already exists.  __sock_create() is out of line, not blacklisted,
 * and its arguments are still in their registers at the entry: rdi net,
 * esi family, edx type (already masked), ecx protocol, r8 res, r9d kern.
 *
 * What is redirected: sockets that user space creates (kern == 0), in a
 * network namespace whose switch is on, of type SOCK_STREAM or SOCK_DGRAM
 * with protocol 0 or the matching TCP/UDP, only while a netserver is
 * attached in that namespace and only while the caller has slots to spare
 * under
 * net.joyride.max_slots_per_user and the netserver has free ones
 * (jr_user_may_slot()): otherwise Linux serves the socket, so one user
 * filling Joyride cannot make every other program's socket() fail.
 * Kernel-internal sockets, namespaces without a live netserver, raw, SCTP
 * and MPTCP stay with Linux.
 *
 * Limits: LSMs and audit see family AF_JOYRIDE_INET at socket creation
 * (the rewrite happens before security_socket_create()).
 *
 * The probe is registered the first time any namespace sets a switch and
 * stays registered until the module goes away; the switches only gate
 * what the handler does.  Registering and removing the probe on every write (it
 * patches __sock_create() through ftrace each time) while other threads
 * call socket() crashed Debian's 6.1 kernel within seconds, a call through
 * a NULL pointer from __sys_socket() (module_unload_test,
 * redirect_toggled_under_socket_traffic).  At exit the probe goes first and
 * jr_redirect_closed keeps any later write from registering it again, so
 * socket() never sees a family whose module is unloading and the handler
 * never reads a namespace's state after the pernet exit freed it.
 */
#include <linux/cred.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/net.h>
#include <linux/rcupdate.h>
#include <linux/sysctl.h>
#include <net/net_namespace.h>

#include "joyride.h"

static DEFINE_MUTEX(jr_redirect_lock);
static struct kprobe jr_redirect_probe;
static bool jr_redirect_armed;
static bool jr_redirect_closed;		/* the module is going away */
static atomic64_t jr_redirected;

#ifdef CONFIG_X86_64
static bool jr_redirectable(int type, int protocol)
{
	switch (type) {
	case SOCK_STREAM:
		return !protocol || protocol == IPPROTO_TCP;
	case SOCK_DGRAM:
		return !protocol || protocol == IPPROTO_UDP;
	default:
		return false;
	}
}

/*
 * The namespace is the caller's, alive while it runs (kern == 0 sockets
 * come from user space), and has its jr_dev from the moment it exists.
 */
static int jr_redirect_pre(struct kprobe *p, struct pt_regs *regs)
{
	struct net *net = (struct net *)regs->di;
	int family = (int)regs->si, to = 0;
	struct jr_dev *dev;

	if ((family != AF_INET && family != AF_INET6) || (int)regs->r9 ||
	    !jr_redirectable((int)regs->dx, (int)regs->cx))
		return 0;
	rcu_read_lock();	/* net_generic() */
	dev = jr_dev_of(net);
	if (family == AF_INET && READ_ONCE(dev->redirect_inet))
		to = AF_JOYRIDE_INET;
	else if (family == AF_INET6 && READ_ONCE(dev->redirect_inet6) &&
		 (READ_ONCE(dev->features) & JR_F_IPV6))
		to = AF_JOYRIDE_INET6;
	if (to && (READ_ONCE(dev->state) != JR_DEV_LIVE ||
		   !jr_user_may_slot(dev, current_fsuid())))
		to = 0;
	rcu_read_unlock();
	if (!to)
		return 0;
	regs->si = to;
	atomic64_inc(&jr_redirected);
	return 0;
}

static int jr_redirect_arm(void)
{
	int err;

	/* A reused struct kprobe must look unused to register_kprobe(). */
	memset(&jr_redirect_probe, 0, sizeof(jr_redirect_probe));
	jr_redirect_probe.symbol_name = "__sock_create";
	jr_redirect_probe.pre_handler = jr_redirect_pre;
	err = register_kprobe(&jr_redirect_probe);
	if (err)
		pr_warn("joyride: cannot probe __sock_create for the redirect: %d\n", err);
	return err;
}
#else
static int jr_redirect_arm(void)
{
	return -EOPNOTSUPP;	/* the register convention above is x86-64's */
}
#endif

static void jr_redirect_disarm(void)
{
#ifdef CONFIG_X86_64
	unregister_kprobe(&jr_redirect_probe);
#endif
}

u64 jr_redirect_count(void)
{
	return atomic64_read(&jr_redirected);
}

int jr_redirect_sysctl(struct ctl_table *table, int write, void *buffer,
		       size_t *lenp, loff_t *ppos)
{
	int *on = table->data;
	int err;

	mutex_lock(&jr_redirect_lock);
	err = proc_dointvec_minmax(table, write, buffer, lenp, ppos);
	if (err || !write || !READ_ONCE(*on) || jr_redirect_armed)
		goto out;
	/* Registered once; from then on the values gate the handler. */
	err = jr_redirect_closed ? -ENODEV : jr_redirect_arm();
	if (err)
		WRITE_ONCE(*on, 0);
	else
		jr_redirect_armed = true;
out:
	mutex_unlock(&jr_redirect_lock);
	return err;
}

void jr_redirect_exit(void)
{
	mutex_lock(&jr_redirect_lock);
	jr_redirect_closed = true;
	if (jr_redirect_armed) {
		jr_redirect_disarm();
		jr_redirect_armed = false;
	}
	mutex_unlock(&jr_redirect_lock);
}
