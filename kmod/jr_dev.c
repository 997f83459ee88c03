// SPDX-License-Identifier: GPL-2.0
/*
 * The transport to the netserver: /dev/joyride.
 *
 * A netserver opens /dev/joyride (access by file permissions: root and the
 * `joyride` group, see Documentation/operations.md), asks JR_IOC_ATTACH for
 * a region with the sizes it wants, and mmap()s it.  The kernel owns the
 * region: it allocates it (vmalloc_user, zeroed), computes the layout with
 * the same code the user frontend uses, and keeps its own copy of every
 * size and offset.  One netserver at a time: a second attach gets EBUSY.
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
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "jr/jr_layout.h"
#include "joyride.h"

struct jr_dev jr_dev = {
	.lock	= __MUTEX_INITIALIZER(jr_dev.lock),
	.state	= JR_DEV_DETACHED,
};

unsigned int jr_max_slots = 4096;
module_param_named(max_slots, jr_max_slots, uint, 0444);
MODULE_PARM_DESC(max_slots, "Most socket slots a netserver may ask for");

unsigned int jr_max_buf = 1U << 20;
module_param_named(max_buf, jr_max_buf, uint, 0444);
MODULE_PARM_DESC(max_buf, "Largest per-socket ring a netserver may ask for");

/* Keep the region below this so a netserver cannot exhaust vmalloc space. */
#define JR_REGION_MAX	(1ULL << 32)

bool jr_dev_attached(void)
{
	bool live;

	mutex_lock(&jr_dev.lock);
	live = jr_dev.state == JR_DEV_LIVE;
	mutex_unlock(&jr_dev.lock);
	return live;
}

static void jr_server_free(struct jr_server *srv)
{
	if (srv->sq_doorbell)
		eventfd_ctx_put(srv->sq_doorbell);
	vfree(srv->region);
	kfree(srv);
}

static struct jr_server *jr_server_create(struct jr_attach *a)
{
	struct jr_server *srv;
	struct jr_region_hdr *hdr;
	const struct jr_layout *l = &a->layout;
	unsigned char *base;
	int err;

	srv = kzalloc(sizeof(*srv), GFP_KERNEL);
	if (!srv)
		return ERR_PTR(-ENOMEM);
	spin_lock_init(&srv->sq_lock);
	mutex_init(&srv->cq_lock);

	if (a->sq_eventfd >= 0) {
		srv->sq_doorbell = eventfd_ctx_fdget(a->sq_eventfd);
		if (IS_ERR(srv->sq_doorbell)) {
			err = PTR_ERR(srv->sq_doorbell);
			srv->sq_doorbell = NULL;
			goto err_free;
		}
	}

	srv->region = vmalloc_user(l->region_size);
	if (!srv->region) {
		err = -ENOMEM;
		goto err_free;
	}
	base = srv->region;
	srv->params = *a;
	srv->limits.nr_slots = a->nr_slots;
	srv->limits.rx_buf_size = a->rx_buf_size;
	srv->limits.tx_buf_size = a->tx_buf_size;
	srv->limits.features = a->features;
	srv->stats = (struct jr_stats *)(base + l->stats_off);
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

	hdr = srv->region;
	hdr->magic = JR_REGION_MAGIC;
	hdr->abi_major = JR_ABI_MAJOR;
	hdr->abi_minor = JR_ABI_MINOR;
	hdr->state = JR_STATE_LIVE;
	hdr->epoch = a->epoch;
	hdr->features = a->features;
	hdr->sq_entries = a->sq_entries;
	hdr->cq_entries = a->cq_entries;
	hdr->nr_slots = a->nr_slots;
	hdr->rx_buf_size = a->rx_buf_size;
	hdr->tx_buf_size = a->tx_buf_size;
	hdr->layout = *l;
	return srv;

err_free:
	jr_server_free(srv);
	return ERR_PTR(err);
}

static long jr_ioctl_attach(struct file *file, struct jr_attach __user *uarg)
{
	struct jr_server *srv;
	struct jr_attach a;
	long err;

	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if (a.abi_major != JR_ABI_MAJOR)
		return -EPROTONOSUPPORT;
	if (memchr_inv(a.reserved, 0, sizeof(a.reserved)) ||
	    (a.flags & ~JR_ATTACH_F_RECOVER))
		return -EINVAL;

	a.abi_minor = JR_ABI_MINOR;
	/* Grant what this kernel implements of what was asked for. */
	a.features &= JR_F_TCP | JR_F_UDP | JR_F_RECOVERY;
	jr_layout_compute(&a, jr_max_slots, jr_max_buf);
	if (a.layout.region_size > JR_REGION_MAX)
		return -ENOMEM;

	mutex_lock(&jr_dev.lock);
	if (jr_dev.server || file->private_data) {
		err = -EBUSY;
		goto out_unlock;
	}
	a.flags = jr_dev.state == JR_DEV_RECOVERING ? JR_ATTACH_F_RECOVERING : 0;
	a.epoch = ++jr_dev.epoch;
	srv = jr_server_create(&a);
	if (IS_ERR(srv)) {
		err = PTR_ERR(srv);
		goto out_unlock;
	}
	if (copy_to_user(uarg, &a, sizeof(a))) {
		jr_server_free(srv);
		err = -EFAULT;
		goto out_unlock;
	}
	srv->file = file;
	file->private_data = srv;
	jr_dev.server = srv;
	jr_dev.state = JR_DEV_LIVE;
	err = 0;
out_unlock:
	mutex_unlock(&jr_dev.lock);
	return err;
}

/*
 * Consume the CQ.  Nothing is outstanding yet in this version, so every
 * reply is stale by definition; entries are still validated so that the
 * accounting of bad entries is exercised from the first version on.
 */
static long jr_ioctl_kick(struct jr_server *srv)
{
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
		if (!err && !(cqe.flags & JR_CQE_F_EVENT))
			err = -EPROTO;		/* a reply nobody waits for */
		if (err) {
			srv->bad_entries++;
			WRITE_ONCE(srv->stats->k_bad_entries, srv->bad_entries);
			pr_warn_ratelimited("joyride: dropped bad CQE (op %u slot %u): %d\n",
					    cqe.op, cqe.slot, err);
		}
	}
	jr_ring_consume(&srv->cq, ready);
	srv->cqes += ready;
	WRITE_ONCE(srv->stats->k_cqes, srv->cqes);
	mutex_unlock(&srv->cq_lock);
	return 0;
}

static long jr_dev_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct jr_server *srv = file->private_data;

	switch (cmd) {
	case JR_IOC_ATTACH:
		return jr_ioctl_attach(file, (struct jr_attach __user *)arg);
	case JR_IOC_KICK:
		if (!srv)
			return -ENOTCONN;
		return jr_ioctl_kick(srv);
	default:
		return -ENOTTY;
	}
}

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
	return remap_vmalloc_range(vma, srv->region, 0);
}

static int jr_dev_release(struct inode *inode, struct file *file)
{
	struct jr_server *srv = file->private_data;

	if (!srv)
		return 0;
	mutex_lock(&jr_dev.lock);
	jr_dev.server = NULL;
	jr_dev.state = JR_DEV_RECOVERING;
	mutex_unlock(&jr_dev.lock);
	jr_server_free(srv);
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
	return misc_register(&jr_miscdev);
}

void jr_dev_exit(void)
{
	misc_deregister(&jr_miscdev);
}
