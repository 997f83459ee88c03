// SPDX-License-Identifier: GPL-2.0
/*
 * Who may attach.  JR_IOC_ATTACH needs CAP_NET_ADMIN in the credentials
 * that opened /dev/joyride, not in the caller's: an unprivileged process
 * cannot attach on a file it opened itself (nor on a re-open of a
 * privileged one through /proc/self/fd), but it can attach on a descriptor
 * a privileged process opened and handed down.  That is how jrctl
 * supervise --device --user runs a netserver that never holds a privilege,
 * which case (c) does with the real jr-netserver on a DPDK null port
 * (no NIC, no huge pages).  Case (d): attaching is per network namespace,
 * and needs CAP_NET_ADMIN over the namespace attached for, so the owner of
 * a user namespace may attach for the network namespace it made.
 *
 * Needs the module to itself (no netserver): selftests/guest/tests.list.
 * Needs JR_BUILD_DIR (set by tools/jr-vm) to find jrctl and jr-netserver.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <linux/capability.h>
#include <pthread.h>
#include <time.h>

#include "kselftest_harness.h"
#include "jr/libjr.h"
#include "serve_one.h"
#include "jr/jr_caps.h"

#define NOBODY		65534
/* A child's own failure before the call under test (it says which). */
#define SETUP_FAILED	1

/* ------------------------------------------------------------ privilege */

/* Give up one capability for good, staying root otherwise. */
static int drop_cap(int cap)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	int err = jr_get_caps(data);

	if (err)
		return err;
	data[CAP_TO_INDEX(cap)].effective &= ~CAP_TO_MASK(cap);
	data[CAP_TO_INDEX(cap)].permitted &= ~CAP_TO_MASK(cap);
	data[CAP_TO_INDEX(cap)].inheritable &= ~CAP_TO_MASK(cap);
	if (syscall(SYS_capset, &hdr, data))
		return -errno;
	return jr_has_cap(cap) ? -EPERM : 0;
}

/* Leaving uid 0 for an ordinary uid clears every capability. */
static int become_nobody(void)
{
	if (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
	    setresuid(NOBODY, NOBODY, NOBODY))
		return -errno;
	return jr_has_cap(CAP_NET_ADMIN) ? -EPERM : 0;
}

/*
 * Run fn in a child process, so that this one keeps its privileges, and
 * return what fn returned (0 or -errno, SETUP_FAILED).
 */
static int in_child(int (*fn)(void *), void *arg)
{
	int pipefd[2], res;
	pid_t pid;

	if (pipe(pipefd))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		res = fn(arg);
		if (write(pipefd[1], &res, sizeof(res)) != sizeof(res))
			_exit(1);
		_exit(0);
	}
	close(pipefd[1]);
	if (read(pipefd[0], &res, sizeof(res)) != sizeof(res))
		res = -ECHILD;
	close(pipefd[0]);
	waitpid(pid, NULL, 0);
	return res;
}

static void small_request(struct jr_attach *req)
{
	jr_attach_defaults(req);
	req->nr_slots = 64;
	req->rx_buf_size = req->tx_buf_size = 16384;
}

/* Attach on fd (which the region takes), and detach at once if granted. */
static int attach_and_leave(int fd)
{
	struct jr_attach req;
	struct jr_region r;
	int err;

	small_request(&req);
	err = jr_attach_kernel_fd(fd, &req, &r);
	if (!err)
		jr_region_destroy(&r);
	return err;
}

/* The device is free: nobody holds an attached file. */
static int root_can_attach(void)
{
	return attach_and_leave(open(JR_DEVICE_PATH, O_RDWR | O_CLOEXEC));
}

/* ------------------------------------- (a) the opener's credentials count */

/*
 * The device is made world-writable for these cases, so that an
 * unprivileged process can open it at all: it is the attach, not the
 * open, that must refuse it.  The mode is put back afterwards
 * (module_test checks it).
 */
FIXTURE(world_open) {
	mode_t mode;
};

FIXTURE_SETUP(world_open)
{
	struct stat st;

	ASSERT_EQ(0, stat(JR_DEVICE_PATH, &st));
	self->mode = st.st_mode & 07777;
	ASSERT_EQ(0, chmod(JR_DEVICE_PATH, 0666));
}

FIXTURE_TEARDOWN(world_open)
{
	EXPECT_EQ(0, chmod(JR_DEVICE_PATH, self->mode));
}

static int open_as_nobody_and_attach(void *arg)
{
	int fd, err = become_nobody();

	(void)arg;
	if (err) {
		fprintf(stderr, "cannot become uid %d: %s\n", NOBODY, strerror(-err));
		return SETUP_FAILED;
	}
	fd = open(JR_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "uid %d cannot open %s: %m\n", NOBODY, JR_DEVICE_PATH);
		return SETUP_FAILED;
	}
	return attach_and_leave(fd);
}

TEST_F(world_open, unprivileged_opener_cannot_attach)
{
	int res = in_child(open_as_nobody_and_attach, NULL);

	EXPECT_EQ(-EPERM, res)
		TH_LOG("uid %d attached on a file it opened itself: %s (the kernel "
		       "must check CAP_NET_ADMIN of the opener)", NOBODY,
		       res < 0 ? strerror(-res) : res ? "set-up failed" : "granted");
	/* A refused attach left nothing behind. */
	EXPECT_EQ(0, root_can_attach());
}

static int open_without_net_admin_and_attach(void *arg)
{
	int fd, err = drop_cap(CAP_NET_ADMIN);

	(void)arg;
	if (err) {
		fprintf(stderr, "cannot drop CAP_NET_ADMIN: %s\n", strerror(-err));
		return SETUP_FAILED;
	}
	fd = open(JR_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "cannot open %s without CAP_NET_ADMIN: %m\n",
			JR_DEVICE_PATH);
		return SETUP_FAILED;
	}
	return attach_and_leave(fd);
}

/* Being uid 0 is not the point: the capability is. */
TEST_F(world_open, root_opener_without_cap_net_admin_cannot_attach)
{
	int res = in_child(open_without_net_admin_and_attach, NULL);

	EXPECT_EQ(-EPERM, res)
		TH_LOG("root without CAP_NET_ADMIN attached: %s",
		       res < 0 ? strerror(-res) : res ? "set-up failed" : "granted");
	EXPECT_EQ(0, root_can_attach());
}

static int reopen_as_nobody_and_attach(void *arg)
{
	int fd, err = become_nobody();
	char path[64];

	if (err) {
		fprintf(stderr, "cannot become uid %d: %s\n", NOBODY, strerror(-err));
		return SETUP_FAILED;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", *(int *)arg);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "uid %d cannot open %s: %m\n", NOBODY, path);
		return SETUP_FAILED;
	}
	return attach_and_leave(fd);
}

/*
 * A re-open through /proc/self/fd is a new file with the re-opener's
 * credentials: inheriting a privileged descriptor is not enough, the
 * descriptor itself must be used.
 */
TEST_F(world_open, reopen_of_a_privileged_descriptor_cannot_attach)
{
	int fd = open(JR_DEVICE_PATH, O_RDWR);
	int res;

	ASSERT_LE(0, fd);
	res = in_child(reopen_as_nobody_and_attach, &fd);
	close(fd);
	EXPECT_EQ(-EPERM, res)
		TH_LOG("uid %d attached through /proc/self/fd: %s", NOBODY,
		       res < 0 ? strerror(-res) : res ? "set-up failed" : "granted");
	EXPECT_EQ(0, root_can_attach());
}

/* ------------------------------------ (b) a privileged opener hands it down */

/*
 * The child: become nobody, attach on the inherited descriptor, tell the
 * parent the result, then play the netserver for one socket.  Its exit
 * status says how far it got.
 */
static int serve_as_nobody(int fd, int report_fd)
{
	struct jr_attach req;
	struct jr_region r;
	struct jr_sqe sqe;
	int err = become_nobody();

	if (!err) {
		small_request(&req);
		err = jr_attach_kernel_fd(fd, &req, &r);
	}
	if (write(report_fd, &err, sizeof(err)) != sizeof(err) || err)
		return 10;
	err = serve_one(&r, JR_OP_SOCKET, 0, &sqe);
	if (err) {
		fprintf(stderr, "SOCKET not served: %s\n", strerror(-err));
		return 11;
	}
	if (sqe.u.socket.type != SOCK_DGRAM)
		return 12;
	err = serve_one(&r, JR_OP_CLOSE, 0, &sqe);
	if (err) {
		fprintf(stderr, "CLOSE not served: %s\n", strerror(-err));
		return 13;
	}
	jr_region_destroy(&r);
	return 0;
}

TEST(inherited_descriptor_attaches_unprivileged)
{
	int fd, report[2], attached = -1, status, s;
	pid_t pid;

	/* Without O_CLOEXEC, as a launcher opens it (no exec here anyway). */
	fd = open(JR_DEVICE_PATH, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, pipe(report));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(serve_as_nobody(fd, report[1]));
	/* As jrctl does: the child alone holds the file from now on. */
	close(fd);
	close(report[1]);
	ASSERT_EQ(sizeof(attached), read(report[0], &attached, sizeof(attached)));
	close(report[0]);
	EXPECT_EQ(0, attached)
		TH_LOG("uid %d could not attach on a descriptor root opened: %s",
		       NOBODY, strerror(-attached));

	if (!attached) {
		/* The unprivileged netserver carries this process's socket. */
		s = socket(AF_JOYRIDE, SOCK_DGRAM, 0);
		EXPECT_LE(0, s)
			TH_LOG("socket: %s", strerror(errno));
		if (s >= 0)
			close(s);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(attached ? 10 : 0, WEXITSTATUS(status));
	/* Its death released the device: no copy was left open here. */
	EXPECT_EQ(0, root_can_attach());
}

/* ------------------------- (c) jrctl supervise --device --user, for real */

#define READY_LINE	"jr-netserver: ready"
#define READY_TIMEOUT_S	80
#define STOP_TIMEOUT_S	20

FIXTURE(supervised) {
	char	dir[64];		/* the netserver's XDG_RUNTIME_DIR */
	char	log[128];		/* jrctl's and the netserver's output */
	char	pidfile[128];
	pid_t	jrctl;
	pid_t	netserver;
};

FIXTURE_SETUP(supervised)
{
	snprintf(self->dir, sizeof(self->dir), "/tmp/jr-attach-priv.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	/* DPDK keeps its run-time files there; it runs as nobody. */
	ASSERT_EQ(0, chown(self->dir, NOBODY, NOBODY));
	snprintf(self->log, sizeof(self->log), "%s.log", self->dir);
	snprintf(self->pidfile, sizeof(self->pidfile), "%s.pid", self->dir);
}

static int remove_one(const char *path, const struct stat *st, int flag,
		      struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void show_file(const char *path)
{
	char line[512];
	FILE *f = fopen(path, "r");

	if (!f)
		return;
	fprintf(stderr, "--- %s\n", path);
	while (fgets(line, sizeof(line), f))
		fprintf(stderr, "| %s", line);
	fclose(f);
}

FIXTURE_TEARDOWN(supervised)
{
	if (self->jrctl > 0) {
		kill(self->jrctl, SIGKILL);
		waitpid(self->jrctl, NULL, 0);
	}
	/* Orphaned if jrctl had to be killed. */
	if (self->netserver > 0)
		kill(self->netserver, SIGKILL);
	if (!_metadata->passed)
		show_file(self->log);
	nftw(self->dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
	unlink(self->log);
	unlink(self->pidfile);
}

static bool file_has(const char *path, const char *what)
{
	char line[512];
	bool found = false;
	FILE *f = fopen(path, "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, what);
	fclose(f);
	return found;
}

/* The value of "Name:" in /proc/PID/status, blanks squeezed to one. */
static int proc_status(pid_t pid, const char *name, char *out, size_t len)
{
	char path[64], line[256];
	size_t n = strlen(name);
	int err = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *v = line + n + 1, *o = out;
		bool blank = false;

		if (strncmp(line, name, n) || line[n] != ':')
			continue;
		for (; *v && *v != '\n' && o < out + len - 2; v++) {
			if (*v == ' ' || *v == '\t') {
				blank = true;
				continue;
			}
			if (blank && o > out)
				*o++ = ' ';
			blank = false;
			*o++ = *v;
		}
		*o = '\0';
		err = 0;
		break;
	}
	fclose(f);
	return err;
}

/* How many of pid's descriptors are open files of the device. */
static int device_files(pid_t pid)
{
	char path[PATH_MAX], target[PATH_MAX];
	int count = 0;

	for (int fd = 0; fd < 1024; fd++) {
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
		n = readlink(path, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = '\0';
		count += !strcmp(target, JR_DEVICE_PATH);
	}
	return count;
}

static pid_t start_jrctl(FIXTURE_DATA(supervised) *self, const char *build)
{
	char jrctl[PATH_MAX], netserver[PATH_MAX], eal[256];
	int out;
	pid_t pid;

	snprintf(jrctl, sizeof(jrctl), "%s/tools/jrctl", build);
	snprintf(netserver, sizeof(netserver), "%s/netserver/jr-netserver", build);
	/* net_null with no-rx: a port that needs no NIC and stays idle. */
	snprintf(eal, sizeof(eal),
		 "--no-huge -m 128 --no-pci --no-shconf --file-prefix jrap%d "
		 "--log-level=*:error --vdev net_null0,no-rx=1", (int)getpid());
	out = open(self->log, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	if (out < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		char *argv[] = {
			jrctl, "supervise", "--device", JR_DEVICE_PATH,
			"--user", "65534", "--pidfile", self->pidfile, "--",
			netserver, "--device-fd", "3", "--eal", eal,
			"--ip", "198.18.0.2/24", "--slots", "64",
			"--rx-buf", "16k", "--tx-buf", "16k", NULL,
		};

		setenv("XDG_RUNTIME_DIR", self->dir, 1);
		if (dup2(out, 1) < 0 || dup2(out, 2) < 0)
			_exit(127);
		execv(jrctl, argv);
		_exit(127);
	}
	close(out);
	return pid;
}

/* Wait for the netserver's ready line, unless jrctl ends first. */
static bool wait_ready(FIXTURE_DATA(supervised) *self)
{
	struct timespec tick = { .tv_nsec = 100 * 1000 * 1000 };

	for (int i = 0; i < READY_TIMEOUT_S * 10; i++) {
		if (file_has(self->log, READY_LINE))
			return true;
		if (waitpid(self->jrctl, NULL, WNOHANG) == self->jrctl) {
			self->jrctl = 0;
			return false;
		}
		nanosleep(&tick, NULL);
	}
	return false;
}

static int wait_exit(pid_t pid, int *status)
{
	struct timespec tick = { .tv_nsec = 100 * 1000 * 1000 };

	for (int i = 0; i < STOP_TIMEOUT_S * 10; i++) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r)
			return r == pid ? 0 : -errno;
		nanosleep(&tick, NULL);
	}
	return -ETIMEDOUT;
}

TEST_F_TIMEOUT(supervised, jrctl_runs_an_unprivileged_netserver, 110)
{
	const char *build = getenv("JR_BUILD_DIR");
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	char value[128];
	int l, c, a, status;
	FILE *f;

	ASSERT_NE(NULL, build);
	self->jrctl = start_jrctl(self, build);
	ASSERT_LT(0, self->jrctl);
	ASSERT_TRUE(wait_ready(self))
		TH_LOG("no \"%s\" within %d s", READY_LINE, READY_TIMEOUT_S);

	f = fopen(self->pidfile, "r");
	ASSERT_NE(NULL, f);
	ASSERT_EQ(1, fscanf(f, "%d", &self->netserver));
	fclose(f);
	ASSERT_EQ(0, proc_status(self->netserver, "Name", value, sizeof(value)));
	EXPECT_STREQ("jr-netserver", value);
	/* Unprivileged from exec on: uid, gid and no capability at all. */
	ASSERT_EQ(0, proc_status(self->netserver, "Uid", value, sizeof(value)));
	EXPECT_STREQ("65534 65534 65534 65534", value);
	ASSERT_EQ(0, proc_status(self->netserver, "Gid", value, sizeof(value)));
	EXPECT_STREQ("65534 65534 65534 65534", value);
	ASSERT_EQ(0, proc_status(self->netserver, "CapEff", value, sizeof(value)));
	EXPECT_STREQ("0000000000000000", value);
	ASSERT_EQ(0, proc_status(self->netserver, "CapPrm", value, sizeof(value)));
	EXPECT_STREQ("0000000000000000", value);
	/* The netserver holds the device; the supervisor keeps no copy. */
	EXPECT_EQ(1, device_files(self->netserver));
	EXPECT_EQ(0, device_files(self->jrctl));

	/* It serves: a listener and a connection over lwIP's loopback. */
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_JOYRIDE, SOCK_STREAM, 0);
	ASSERT_LE(0, l)
		TH_LOG("socket: %s", strerror(errno));
	ASSERT_EQ(0, bind(l, (struct sockaddr *)&sin, sizeof(sin)))
		TH_LOG("bind: %s", strerror(errno));
	ASSERT_EQ(0, listen(l, 4))
		TH_LOG("listen: %s", strerror(errno));
	ASSERT_EQ(0, getsockname(l, (struct sockaddr *)&sin, &len));
	EXPECT_NE(0, sin.sin_port);
	c = socket(AF_JOYRIDE, SOCK_STREAM, 0);
	ASSERT_LE(0, c);
	EXPECT_EQ(0, connect(c, (struct sockaddr *)&sin, sizeof(sin)))
		TH_LOG("connect: %s", strerror(errno));
	a = accept(l, NULL, NULL);
	EXPECT_LE(0, a)
		TH_LOG("accept: %s", strerror(errno));
	if (a >= 0)
		close(a);
	close(c);
	close(l);

	/* SIGTERM to the supervisor ends both, in order. */
	ASSERT_EQ(0, kill(self->jrctl, SIGTERM));
	ASSERT_EQ(0, wait_exit(self->jrctl, &status))
		TH_LOG("jrctl still running %d s after SIGTERM", STOP_TIMEOUT_S);
	self->jrctl = 0;
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	errno = 0;
	EXPECT_EQ(-1, kill(self->netserver, 0));
	EXPECT_EQ(ESRCH, errno);
	self->netserver = 0;
	EXPECT_TRUE(file_has(self->log, "supervision ends"));
	/* And the device was let go: root attaches again. */
	EXPECT_EQ(0, root_can_attach());
}

/* ----------------------------------- (d) one netserver per network namespace */

/* Attach on a fresh open of the device; the region is kept in *r. */
static int attach_kept(struct jr_region *r)
{
	struct jr_attach req;

	small_request(&req);
	return jr_attach_kernel_fd(open(JR_DEVICE_PATH, O_RDWR | O_CLOEXEC), &req, r);
}

/*
 * In a network namespace of its own, with the initial one's device held
 * by the parent: the first attach is granted, a second one there is busy.
 * 0, or the step that went wrong (it says so).
 */
static int attach_twice_in_new_netns(void *arg)
{
	struct jr_region r;
	int err;

	(void)arg;
	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "unshare(CLONE_NEWNET): %m\n");
		return SETUP_FAILED;
	}
	err = attach_kept(&r);
	if (err) {
		fprintf(stderr, "attach in a new namespace: %s\n", strerror(-err));
		return 2;
	}
	err = root_can_attach();
	jr_region_destroy(&r);
	if (err != -EBUSY) {
		fprintf(stderr, "a second attach in that namespace: %s, not EBUSY\n",
			err ? strerror(-err) : "granted");
		return 3;
	}
	return 0;
}

TEST(attach_is_per_network_namespace)
{
	struct jr_region r;

	ASSERT_EQ(0, attach_kept(&r));
	EXPECT_EQ(-EBUSY, root_can_attach())
		TH_LOG("two netservers attached in the initial namespace");
	EXPECT_EQ(0, in_child(attach_twice_in_new_netns, NULL))
		TH_LOG("another namespace's attach (see above)");
	jr_region_destroy(&r);
	/* The child's namespace went away with its attach; ours is free. */
	EXPECT_EQ(0, root_can_attach());
}

/*
 * An unprivileged user that makes a user namespace owns it, and the
 * network namespace it makes with it: it may attach a netserver for that
 * network namespace (a rootless container), not for the initial one.
 */
/*
 * The guest runner chroots its commands, and Linux makes no user namespace
 * for a chrooted process.  This child (root) steps out of the chroot and
 * moves the chroot's directory onto the root of a mount namespace of its
 * own: the same files, no longer a chroot.
 */
static int leave_chroot(void)
{
	char path[PATH_MAX], link[64];
	int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC), i;
	ssize_t n;

	if (root < 0 || chdir("/") || chroot("/tmp"))
		return -errno;
	/* The working directory is now outside the root: walk up. */
	for (i = 0; i < 64; i++)
		if (chdir(".."))
			return -errno;
	if (chroot("."))
		return -errno;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", root);
	n = readlink(link, path, sizeof(path) - 1);
	if (n <= 0)
		return n ? -errno : -ENOENT;
	path[n] = 0;
	close(root);
	/* As switch_root does (the root is an initramfs: no pivot_root). */
	if (unshare(CLONE_NEWNS) ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    chdir(path) || mount(".", "/", NULL, MS_MOVE, NULL) ||
	    chroot(".") || chdir("/"))
		return -errno;
	return 0;
}

static int nobody_unshares_and_attaches(void *arg)
{
	int flags = *(int *)arg, err = leave_chroot();

	if (err) {
		fprintf(stderr, "cannot leave the chroot: %s\n", strerror(-err));
		return SETUP_FAILED;
	}
	err = become_nobody();
	if (err) {
		fprintf(stderr, "cannot become uid %d: %s\n", NOBODY, strerror(-err));
		return SETUP_FAILED;
	}
	if (unshare(flags)) {
		fprintf(stderr, "uid %d: unshare(%#x): %m\n", NOBODY, flags);
		return SETUP_FAILED;
	}
	return attach_and_leave(open(JR_DEVICE_PATH, O_RDWR | O_CLOEXEC));
}

#define USERNS_SYSCTL "/proc/sys/kernel/unprivileged_userns_clone"

TEST_F(world_open, user_namespace_owner_attaches_only_its_network_namespace)
{
	int user_only = CLONE_NEWUSER, user_and_net = CLONE_NEWUSER | CLONE_NEWNET;
	char saved = 0;
	int fd, res;

	/* The debug kernel (tools/debug-kernel.config) is built without them. */
	if (access("/proc/self/ns/user", F_OK))
		SKIP(return, "this kernel has no user namespaces (CONFIG_USER_NS)");
	/* Debian's switch for unprivileged user namespaces, on for the test. */
	fd = open(USERNS_SYSCTL, O_RDWR);
	if (fd >= 0) {
		ASSERT_EQ(1, pread(fd, &saved, 1, 0));
		ASSERT_EQ(1, pwrite(fd, "1", 1, 0));
	}
	res = in_child(nobody_unshares_and_attaches, &user_only);
	EXPECT_EQ(-EPERM, res)
		TH_LOG("a user namespace's root attached for the initial network namespace: %s",
		       res < 0 ? strerror(-res) : res ? "set-up failed" : "granted");
	res = in_child(nobody_unshares_and_attaches, &user_and_net);
	EXPECT_EQ(0, res)
		TH_LOG("a user namespace's root could not attach for its own network namespace: %s",
		       res < 0 ? strerror(-res) : "set-up failed");
	if (fd >= 0) {
		EXPECT_EQ(1, pwrite(fd, &saved, 1, 0));
		close(fd);
	}
	EXPECT_EQ(0, root_can_attach());
}

TEST_HARNESS_MAIN
