/*
 * nsexec: the C stage of `ocirun init`. It runs as a constructor in every
 * ocirun process, before the Go runtime starts (and so before there is more
 * than one thread, which setns(CLONE_NEWUSER) and unshare(CLONE_NEWUSER)
 * require). Unless the environment variable _OCIRUN_INITPIPE names the init
 * pipe it returns at once; otherwise it joins and creates the container's
 * namespaces and forks the container init, which returns to Go. (A second,
 * trivial role: see userns_holder.)
 *
 * The protocol on the init pipe (a SOCK_STREAM socketpair; P = the parent,
 * `ocirun create`; C = this code). The parent side is
 * libcontainer/bootstrap_linux.go.
 *
 *	direction  message                               meaning
 *	---------  ------------------------------------  -------------------------------------------
 *	P -> C     u32 N, N bytes of attributes          the bootstrap record (attributes below)
 *	C -> P     'U'                                   "I have unshared CLONE_NEWUSER: write my
 *	                                                 setgroups/uid_map/gid_map" (pid = the
 *	                                                 intermediate, i.e. the process P started)
 *	P -> C     'u'                                   maps written, go on
 *	C -> P     'P' i32 pid                           the container init, as a pid in P's pid
 *	                                                 namespace; the intermediate then exits 0
 *	C -> P     'E' u32 N, N bytes                    fatal error text; the sender exits 1
 *	P -> init  u32 N, N bytes of JSON                initConfig, read by Go in the final child
 *
 * Attributes of the bootstrap record, each: u16 type, u16 0, u32 len, len bytes
 * (native endian, no padding):
 *
 *	type  name            value
 *	----  --------------  ------------------------------------------------------------
 *	1     cloneFlags      u32: CLONE_NEW* namespaces to create
 *	2     nsPath          u32 CLONE_NEW* type, then the path (no NUL): join it with setns;
 *	                      repeated, joined in record order (the user namespace first)
 *	3     timensOffsets   written verbatim to /proc/self/timens_offsets after unshare
 *	4     oomScoreAdj     written verbatim to /proc/self/oom_score_adj before any unshare
 *	5     cgroupTasks     a cgroup v1 `tasks` file: write "0" to it (we move ourselves: a
 *	                      thread moving itself skips the kernel's global threadgroup lock
 *	                      and its RCU grace period, milliseconds per cgroup.procs write);
 *	                      repeated
 *	6     cgroupDir       a cgroup2 directory: clone the init into it (CLONE_INTO_CGROUP)
 *
 * Integers are little-endian on every architecture we build for (x86_64, arm64).
 *
 * Other environment: _OCIRUN_LOGPIPE=<fd> is a pipe for JSON log lines
 * ({"level":"debug","msg":"nsexec: ..."}) and _OCIRUN_LOGLEVEL (debug, info,
 * warning, error; default info) the least level written. stdout and stderr
 * belong to the container: nothing is ever written to them.
 *
 * Steps, in order: read the record, join the v1 cgroups and open the cgroup2
 * directory (host paths: before any setns), open timens_offsets, become non-dumpable
 * (CVE-2016-9962), write oom_score_adj, open every nsPath then setns each,
 * unshare(CLONE_NEWUSER) + 'U'/'u', become root in the (joined or new) user
 * namespace, unshare the other namespaces (pid and time ones take effect in
 * the child; the cgroup one is left to the init), write timens_offsets, then
 * clone3(CLONE_PARENT|CLONE_INTO_CGROUP) so the init is a direct child of the
 * parent, born in the container's cgroup. The init unshares its cgroup
 * namespace (rooted at the container's cgroup in every hierarchy) and returns
 * from here; the Go runtime starts. The intermediate reports the init's pid
 * and exits. An error of the init is sent as 'E' after the intermediate's 'P'.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

enum {
	ATTR_CLONE_FLAGS = 1,
	ATTR_NS_PATH = 2,
	ATTR_TIMENS_OFFSETS = 3,
	ATTR_OOM_SCORE_ADJ = 4,
	ATTR_CGROUP_TASKS = 5,
	ATTR_CGROUP_DIR = 6,
};

enum { LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERROR };
static const char *const level_names[] = { "debug", "info", "warning", "error" };

#define OOM_SCORE_ADJ "/proc/self/oom_score_adj"
#define TIMENS_OFFSETS "/proc/self/timens_offsets"
#define MAX_RECORD (1 << 20)
#define MAX_JOINS 16
#define MAX_CGROUPS 32

static const struct {
	uint32_t flag;
	const char *name;
} namespaces[] = {
	{ CLONE_NEWUSER, "user" }, { CLONE_NEWCGROUP, "cgroup" }, { CLONE_NEWIPC, "ipc" },
	{ CLONE_NEWUTS, "uts" },   { CLONE_NEWNET, "net" },       { CLONE_NEWPID, "pid" },
	{ CLONE_NEWNS, "mnt" },    { CLONE_NEWTIME, "time" },
};

struct join {
	uint32_t type;
	char *path; /* a copy, NUL-terminated */
	int fd;
};

struct bootstrap {
	char *buf; /* the record: the values below point into it */
	uint32_t clone_flags;
	struct join joins[MAX_JOINS];
	size_t njoins;
	const char *timens_offsets;
	size_t timens_offsets_len;
	const char *oom_score_adj;
	size_t oom_score_adj_len;
	char *cgroup_tasks[MAX_CGROUPS]; /* copies, NUL-terminated */
	size_t ncgroups;
	char *cgroup_dir; /* a copy, or NULL */
};

/* Where errors and log lines go: needed by die() from every step. */
static int initpipe = -1;
static int logpipe = -1;
static int loglevel = LOG_INFO;

static int write_full(int fd, const char *p, size_t n, int is_socket)
{
	while (n > 0) {
		ssize_t r = is_socket ? send(fd, p, n, MSG_NOSIGNAL) : write(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* read_full returns 0 when n bytes were read, 1 on EOF first, -1 on error. */
static int read_full(int fd, void *buf, size_t n)
{
	char *p = buf;
	while (n > 0) {
		ssize_t r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			return 1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static void write_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void write_log(int level, const char *fmt, ...)
{
	/* At most 6 bytes per escaped byte: a line stays below PIPE_BUF (4096). */
	char msg[512], line[sizeof(msg) * 6 + 64];
	size_t n;
	va_list ap;

	if (logpipe < 0 || level < loglevel)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n = (size_t)snprintf(line, sizeof(line), "{\"level\":\"%s\",\"msg\":\"nsexec: ", level_names[level]);
	for (const unsigned char *c = (const unsigned char *)msg; *c != '\0'; c++) {
		if (*c == '"' || *c == '\\') {
			line[n++] = '\\';
			line[n++] = (char)*c;
		} else if (*c < 0x20) {
			n += (size_t)snprintf(line + n, 7, "\\u%04x", *c);
		} else {
			line[n++] = (char)*c;
		}
	}
	n += (size_t)snprintf(line + n, sizeof(line) - n, "\"}\n");
	/* One write below PIPE_BUF: the lines of two processes do not mix. */
	write_full(logpipe, line, n, 0);
}

#define debugf(...) write_log(LOG_DEBUG, __VA_ARGS__)

/*
 * die sends 'E' with the message (and ": strerror(err)" when err != 0) to the
 * parent and exits 1; control characters (from paths, say) become spaces to
 * keep it one line. Without an init pipe it can only log the message.
 */
static void die(int err, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
static void die(int err, const char *fmt, ...)
{
	char out[1 + 4 + 1024];
	char *msg = out + 5;
	size_t max = sizeof(out) - 5;
	uint32_t len;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, max, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < max && err != 0)
		snprintf(msg + n, max - (size_t)n, ": %s", strerror(err));
	if (initpipe < 0) {
		write_log(LOG_ERROR, "%s", msg);
		_exit(1);
	}
	for (char *c = msg; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20)
			*c = ' ';
	len = (uint32_t)strlen(msg);
	out[0] = 'E';
	memcpy(out + 1, &len, sizeof(len));
	write_full(initpipe, out, 5 + len, 1);
	_exit(1);
}

static const char *ns_name(uint32_t flag)
{
	for (size_t i = 0; i < sizeof(namespaces) / sizeof(namespaces[0]); i++)
		if (namespaces[i].flag == flag)
			return namespaces[i].name;
	return NULL;
}

static uint32_t all_namespaces(void)
{
	uint32_t all = 0;
	for (size_t i = 0; i < sizeof(namespaces) / sizeof(namespaces[0]); i++)
		all |= namespaces[i].flag;
	return all;
}

/* ns_names renders flags as "pid,uts,mnt" into buf. */
static const char *ns_names(uint32_t flags, char *buf, size_t size)
{
	size_t n = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(namespaces) / sizeof(namespaces[0]); i++)
		if ((flags & namespaces[i].flag) && n < size)
			n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? "," : "", namespaces[i].name);
	return buf;
}

/* env_fd returns the open file descriptor in value, of environment variable name. */
static int env_fd(const char *name, const char *value)
{
	char *end;
	long fd;

	errno = 0;
	fd = strtol(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0' || fd < 0 || fd > INT32_MAX)
		die(0, "parse %s=%s: not a file descriptor", name, value);
	if (fcntl((int)fd, F_GETFD) < 0)
		die(errno, "check %s=%s", name, value);
	return (int)fd;
}

static void setup_log(void)
{
	const char *fd = getenv("_OCIRUN_LOGPIPE");
	const char *level = getenv("_OCIRUN_LOGLEVEL");

	if (level != NULL)
		for (int i = LOG_DEBUG; i <= LOG_ERROR; i++)
			if (strcmp(level, level_names[i]) == 0)
				loglevel = i;
	if (fd != NULL && *fd != '\0')
		logpipe = env_fd("_OCIRUN_LOGPIPE", fd);
}

/* copy_path returns a NUL-terminated copy of a path attribute. */
static char *copy_path(const char *val, uint32_t len, const char *what)
{
	char *p = strndup(val, len);

	if (p == NULL)
		die(errno, "read bootstrap record");
	if (len == 0 || strlen(p) != len)
		die(0, "read bootstrap record: %s is empty or has a NUL byte", what);
	return p;
}

static void parse_attr(struct bootstrap *b, uint16_t type, char *val, uint32_t len)
{
	struct join *j;
	char names[64];

	switch (type) {
	case ATTR_CLONE_FLAGS:
		if (len != sizeof(b->clone_flags))
			die(0, "read bootstrap record: cloneFlags has %u bytes, want 4", len);
		memcpy(&b->clone_flags, val, sizeof(b->clone_flags));
		if (b->clone_flags & ~all_namespaces())
			die(0, "read bootstrap record: cloneFlags %#x has non-namespace flags", b->clone_flags);
		debugf("create namespaces: %s", ns_names(b->clone_flags, names, sizeof(names)));
		break;
	case ATTR_NS_PATH:
		if (b->njoins == MAX_JOINS)
			die(0, "read bootstrap record: more than %d nsPath attributes", MAX_JOINS);
		if (len <= sizeof(uint32_t))
			die(0, "read bootstrap record: nsPath without a path");
		j = &b->joins[b->njoins++];
		memcpy(&j->type, val, sizeof(j->type));
		if (ns_name(j->type) == NULL)
			die(0, "read bootstrap record: nsPath of unknown namespace type %#x", j->type);
		j->path = strndup(val + sizeof(uint32_t), len - sizeof(uint32_t));
		if (j->path == NULL)
			die(errno, "read bootstrap record");
		if (strlen(j->path) != len - sizeof(uint32_t))
			die(0, "read bootstrap record: %s namespace path has a NUL byte", ns_name(j->type));
		j->fd = -1;
		break;
	case ATTR_TIMENS_OFFSETS:
		b->timens_offsets = val;
		b->timens_offsets_len = len;
		break;
	case ATTR_OOM_SCORE_ADJ:
		b->oom_score_adj = val;
		b->oom_score_adj_len = len;
		break;
	case ATTR_CGROUP_TASKS:
		if (b->ncgroups == MAX_CGROUPS)
			die(0, "read bootstrap record: more than %d cgroupTasks attributes", MAX_CGROUPS);
		b->cgroup_tasks[b->ncgroups++] = copy_path(val, len, "cgroupTasks");
		break;
	case ATTR_CGROUP_DIR:
		free(b->cgroup_dir);
		b->cgroup_dir = copy_path(val, len, "cgroupDir");
		break;
	default:
		die(0, "read bootstrap record: unknown attribute type %u", type);
	}
}

static void read_bootstrap(struct bootstrap *b)
{
	uint32_t size, off = 0;
	int r;

	r = read_full(initpipe, &size, sizeof(size));
	if (r != 0)
		die(r < 0 ? errno : 0, "read bootstrap record length%s", r > 0 ? ": unexpected EOF" : "");
	if (size > MAX_RECORD)
		die(0, "read bootstrap record: %u bytes is too large", size);
	b->buf = malloc(size ? size : 1);
	if (b->buf == NULL)
		die(errno, "read bootstrap record: allocate %u bytes", size);
	r = read_full(initpipe, b->buf, size);
	if (r != 0)
		die(r < 0 ? errno : 0, "read bootstrap record%s", r > 0 ? ": unexpected EOF" : "");
	while (off < size) {
		uint16_t type, pad;
		uint32_t len;

		if (size - off < 8)
			die(0, "read bootstrap record: truncated attribute header at offset %u", off);
		memcpy(&type, b->buf + off, sizeof(type));
		memcpy(&pad, b->buf + off + 2, sizeof(pad));
		memcpy(&len, b->buf + off + 4, sizeof(len));
		off += 8;
		if (pad != 0 || len > size - off)
			die(0, "read bootstrap record: malformed attribute %u at offset %u", type, off - 8);
		parse_attr(b, type, b->buf + off, len);
		off += len;
	}
}

static int open_proc_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		die(errno, "open %s", path);
	return fd;
}

/* write_proc_file writes val to fd, an open path, and closes it. */
static void write_proc_file(int fd, const char *path, const char *val, size_t len)
{
	if (write_full(fd, val, len, 0) < 0)
		die(errno, "write %s", path);
	if (close(fd) < 0)
		die(errno, "close %s", path);
	debugf("wrote %.*s to %s", (int)len, val, path);
}

static void join_namespaces(struct bootstrap *b)
{
	/* Open all first: joining a mount namespace may hide the later paths. */
	for (size_t i = 0; i < b->njoins; i++) {
		struct join *j = &b->joins[i];
		j->fd = open(j->path, O_RDONLY | O_CLOEXEC);
		if (j->fd < 0)
			die(errno, "open %s namespace %s", ns_name(j->type), j->path);
	}
	for (size_t i = 0; i < b->njoins; i++) {
		struct join *j = &b->joins[i];
		if (setns(j->fd, (int)j->type) < 0)
			die(errno, "join %s namespace %s", ns_name(j->type), j->path);
		if (close(j->fd) < 0)
			die(errno, "close %s namespace %s", ns_name(j->type), j->path);
		debugf("joined %s namespace %s", ns_name(j->type), j->path);
	}
}

static void send_byte(char c)
{
	if (write_full(initpipe, &c, 1, 1) < 0)
		die(errno, "send '%c' to the parent", c);
}

static void create_user_namespace(void)
{
	char c;
	int r;

	if (unshare(CLONE_NEWUSER) < 0)
		die(errno, "unshare user namespace");
	debugf("unshared user namespace, asking the parent for id maps");
	send_byte('U');
	r = read_full(initpipe, &c, 1);
	if (r > 0)
		_exit(1); /* the parent is gone: nobody to tell */
	if (r < 0)
		die(errno, "wait for id maps");
	if (c != 'u')
		die(0, "wait for id maps: unexpected message %#x", (unsigned char)c);
}

/* become_root makes us uid and gid 0 of the user namespace we are now in. */
static void become_root(void)
{
	if (setgroups(0, NULL) < 0 && errno != EPERM)
		die(errno, "drop supplementary groups");
	if (setresgid(0, 0, 0) < 0)
		die(errno, "become gid 0%s", errno == EINVAL ? " (gid 0 is not mapped in the user namespace)" : "");
	if (setresuid(0, 0, 0) < 0)
		die(errno, "become uid 0%s", errno == EINVAL ? " (uid 0 is not mapped in the user namespace)" : "");
	debugf("became root in the user namespace");
}

/* join_cgroup2 moves the whole process into a cgroup2 directory (the slow way). */
static void join_cgroup2(const char *dir)
{
	char path[PATH_MAX];
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/cgroup.procs", dir) >= sizeof(path))
		die(ENAMETOOLONG, "join cgroup %s", dir);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "0", 1) != 1)
		die(errno, "join cgroup: write %s", path);
	close(fd);
}

/*
 * join_cgroups moves this (single-threaded) process into the container's v1
 * cgroups and opens its cgroup2 directory for the clone; it returns that
 * directory's fd or -1. CLONE_INTO_CGROUP checks the cloning process's
 * credentials, which in a user namespace no longer own the host's cgroups:
 * with one, we join the cgroup2 directory now, before entering it.
 */
static int join_cgroups(struct bootstrap *b)
{
	int fd, user = (b->clone_flags & CLONE_NEWUSER) != 0;

	for (size_t i = 0; i < b->ncgroups; i++) {
		fd = open(b->cgroup_tasks[i], O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			die(errno, "join cgroup: open %s", b->cgroup_tasks[i]);
		if (write(fd, "0", 1) != 1)
			die(errno, "join cgroup: write %s", b->cgroup_tasks[i]);
		close(fd);
	}
	if (b->cgroup_dir == NULL)
		return -1;
	for (size_t i = 0; i < b->njoins; i++)
		user |= b->joins[i].type == CLONE_NEWUSER;
	if (user) {
		join_cgroup2(b->cgroup_dir);
		return -1;
	}
	fd = open(b->cgroup_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		die(errno, "join cgroup: open %s", b->cgroup_dir);
	return fd;
}

/*
 * clone_init forks the container init as a child of our parent, inside the
 * cgroup2 directory cgroup_fd when there is one. Kernels without clone3 or
 * CLONE_INTO_CGROUP (< 5.7) get the slow way: we join it, then clone.
 */
static pid_t clone_init(int cgroup_fd, const char *cgroup_dir)
{
	struct clone_args args = { 0 };
	pid_t pid;

	if (cgroup_fd >= 0) {
		/* With CLONE_PARENT the exit signal is our parent's choice: 0 here. */
		args.flags = CLONE_PARENT | CLONE_INTO_CGROUP;
		args.cgroup = (uint64_t)cgroup_fd;
		pid = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
		if (pid >= 0 || (errno != ENOSYS && errno != E2BIG && errno != EINVAL))
			return pid;
		debugf("clone3 into cgroup: %s; joining %s first", strerror(errno), cgroup_dir);
		join_cgroup2(cgroup_dir);
	}
	/* The raw syscall: fork semantics (no new stack) without glibc's atfork handlers. */
	return (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, NULL, NULL, 0);
}

static void free_bootstrap(struct bootstrap *b)
{
	for (size_t i = 0; i < b->ncgroups; i++)
		free(b->cgroup_tasks[i]);
	free(b->cgroup_dir);
	for (size_t i = 0; i < b->njoins; i++)
		free(b->joins[i].path);
	free(b->buf);
}

static void nsexec(void)
{
	struct bootstrap b = { 0 };
	const char *env = getenv("_OCIRUN_INITPIPE");
	int new_user, joined_user = 0, timens_fd = -1, cgroup_fd;
	uint32_t rest;
	char names[64];
	pid_t pid;
	char msg[5];

	if (env == NULL)
		return;
	setup_log();
	initpipe = env_fd("_OCIRUN_INITPIPE", env);

	read_bootstrap(&b);
	cgroup_fd = join_cgroups(&b);
	/*
	 * Opened now, written after unshare: the kernel checks CAP_SYS_TIME
	 * against the opener's credentials, and once we are non-dumpable in a
	 * new user namespace our /proc files belong to an unmapped root.
	 */
	if (b.timens_offsets != NULL)
		timens_fd = open_proc_file(TIMENS_OFFSETS);
	/* Not dumpable before anything of the container is touched (CVE-2016-9962). */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		die(errno, "make the process non-dumpable");

	if (b.oom_score_adj != NULL)
		write_proc_file(open_proc_file(OOM_SCORE_ADJ), OOM_SCORE_ADJ, b.oom_score_adj,
				b.oom_score_adj_len);
	join_namespaces(&b);
	for (size_t i = 0; i < b.njoins; i++)
		joined_user |= b.joins[i].type == CLONE_NEWUSER;
	new_user = (b.clone_flags & CLONE_NEWUSER) != 0;
	if (new_user)
		create_user_namespace();
	if (new_user || joined_user)
		become_root();

	rest = b.clone_flags & ~(uint32_t)(CLONE_NEWUSER | CLONE_NEWCGROUP);
	if (rest != 0) {
		ns_names(rest, names, sizeof(names));
		if (unshare((int)rest) < 0)
			die(errno, "unshare %s namespaces", names);
		debugf("unshared %s namespaces", names);
	}
	if (b.timens_offsets != NULL)
		write_proc_file(timens_fd, TIMENS_OFFSETS, b.timens_offsets, b.timens_offsets_len);

	pid = clone_init(cgroup_fd, b.cgroup_dir);
	if (pid < 0)
		die(errno, "clone the container init");
	if (pid == 0) {
		/* Born in the container's cgroups: a new cgroup namespace is rooted there. */
		if ((b.clone_flags & CLONE_NEWCGROUP) && unshare(CLONE_NEWCGROUP) < 0)
			die(errno, "unshare cgroup namespace");
		if (cgroup_fd >= 0)
			close(cgroup_fd);
		debugf("container init: starting the Go runtime");
		free_bootstrap(&b);
		return;
	}
	msg[0] = 'P';
	memcpy(msg + 1, &pid, sizeof(pid));
	if (write_full(initpipe, msg, sizeof(msg), 1) < 0) {
		int err = errno;
		kill(pid, SIGKILL); /* nobody would know of it */
		die(err, "send the init pid %d to the parent", pid);
	}
	debugf("forked the container init, pid %d", pid);
	_exit(0);
}

/*
 * usernsHolder: with _OCIRUN_USERNS_HOLDER set, the process only exists to
 * keep the user namespace it was started in (CLONE_NEWUSER, maps written by
 * the parent) alive while the parent opens it for id-mapped mounts: it waits
 * for EOF on stdin and exits, before the Go runtime starts.
 */
static void userns_holder(void)
{
	char c;

	if (getenv("_OCIRUN_USERNS_HOLDER") == NULL)
		return;
	while (read(0, &c, 1) < 0 && errno == EINTR)
		;
	_exit(0);
}

__attribute__((constructor)) static void nsenter_init(void)
{
	userns_holder();
	nsexec();
}
