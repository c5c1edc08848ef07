/* Confinement beneath the root and atomic uploads. See fsroot.h. */
#include "fsroot.h"
#include "errmap.h"
#include "fileio.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static void set_why(struct tftp_err *err, uint16_t code, const char *msg,
		    const char *why)
{
	tftp_err_set(err, code, msg, why);
}

static void set_err(struct tftp_err *err, uint16_t code, const char *msg)
{
	set_why(err, code, msg, NULL);
}


/* The log's reason for a refusal after errno e. */
static const char *errno_why(int e)
{
	switch (e) {
	case ENOENT:
		return "no such file";
	case ENOTDIR:
		return "a component of the name is not a directory";
	case EXDEV:
		return "the name resolves outside the root";
	case ELOOP:
		return "a symbolic link that leaves the root (or a loop)";
	case EACCES:
	case EPERM:
		return "permission denied to the server's user";
	case EISDIR:
		return "a directory";
	case ENAMETOOLONG:
		return "name too long";
	default:
		return NULL;
	}
}

void fsroot_errno_to_tftp(int e, struct tftp_err *err)
{
	tftp_err_from_errno(e, "Cannot open file", err);
	err->why = errno_why(e);
}


int fsroot_init(struct fsroot *r, const char *path)
{
	const char *no2 = getenv("TFTPD_NO_OPENAT2");
	r->link = FSROOT_LINK_NONE;
	r->use_openat2 = !(no2 && no2[0] == '1');
	r->dirfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (r->dirfd < 0)
		return -1;
	const char *tmp = getenv("TMPDIR");
	r->spooldir = open(tmp && tmp[0] == '/' ? tmp : "/tmp",
			   O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (r->use_openat2) {
		/* Probe now, so that the start-up log names the resolver
		 * really in use: a kernel older than 5.6, or valgrind 3.19,
		 * answers ENOSYS. */
		struct open_how how;
		memset(&how, 0, sizeof(how));
		how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
		how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
		long fd = syscall(SYS_openat2, r->dirfd, ".", &how, sizeof(how));
		if (fd >= 0)
			close((int)fd);
		else if (errno == ENOSYS)
			r->use_openat2 = 0;
	}
	return 0;
}

void fsroot_fini(struct fsroot *r)
{
	if (r->dirfd >= 0)
		close(r->dirfd);
	if (r->spooldir >= 0)
		close(r->spooldir);
	r->dirfd = r->spooldir = -1;
}

int fsroot_check_enter(const struct fsroot *r)
{
	return faccessat(r->dirfd, ".", X_OK, 0);
}

/* "small.txt/" and "x/." name a directory, as in.tftpd (and the kernel)
 * read them; dropping the empty last component would serve the file. */
static int names_a_directory(const char *in)
{
	size_t n = strlen(in);
	return (n >= 1 && in[n - 1] == '/') ||
	       (n >= 2 && in[n - 1] == '.' && in[n - 2] == '/');
}

/* One component [p, p + n) that may never be served: "..", the server's
 * own temporary files, control characters. */
static int bad_component(const char *p, size_t n, struct tftp_err *err)
{
	/* ".." is refused outright rather than resolved: nothing in the root
	 * needs it, and an escape is then impossible even before the
	 * kernel's RESOLVE_BENEATH check. */
	if (n == 2 && p[0] == '.' && p[1] == '.') {
		set_why(err, TFTP_ERR_ACCESS, "Access violation",
			"a '..' component (outside the root)");
		return -1;
	}
	if (n >= sizeof(FSROOT_TMP_PREFIX) - 1 &&
	    memcmp(p, FSROOT_TMP_PREFIX, sizeof(FSROOT_TMP_PREFIX) - 1) == 0) {
		set_why(err, TFTP_ERR_ACCESS, "Access violation",
			"the server's own temporary file");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		/* Control characters have no business in a file name and
		 * would garble the logs. */
		if (c < 0x20 || c == 0x7f) {
			set_why(err, TFTP_ERR_ACCESS, "Invalid file name",
				"control characters in the name");
			return -1;
		}
	}
	return 0;
}

int fsroot_clean_name(const char *in, char *out, size_t cap,
		      struct tftp_err *err)
{
	size_t o = 0;
	const char *p = in;
	if (cap < strlen(in) + 2) {
		set_err(err, TFTP_ERR_ACCESS, "File name too long");
		return -1;
	}
	while (*p) {
		/* One component: [p, e). Leading and repeated slashes make
		 * empty components, which are dropped, so "/pxelinux.0" and
		 * "//a//b" are the root's. */
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n == 0 || (n == 1 && p[0] == '.')) {
			p += n + (e ? 1 : 0);
			continue;
		}
		/* ".." is refused outright rather than resolved: nothing in
		 * the root needs it, and an escape is then impossible even
		 * before the kernel's RESOLVE_BENEATH check. */
		if (bad_component(p, n, err) < 0)
			return -1;
		if (o)
			out[o++] = '/';
		memcpy(out + o, p, n);
		o += n;
		p += n + (e ? 1 : 0);
	}
	out[o] = '\0';
	if (o == 0) {
		/* The root itself: a directory, never a file to serve. */
		set_why(err, TFTP_ERR_ACCESS, "Not a regular file",
			"the root directory");
		return -1;
	}
	if (names_a_directory(in)) {
		set_why(err, TFTP_ERR_ACCESS, "Not a regular file",
			"the name ends in '/' or '/.' (a directory)");
		return -1;
	}
	return 0;
}

/* ---- resolution -------------------------------------------------------- */

/* The fallback: walk the cleaned path one component at a time, following
 * no symlink (O_NOFOLLOW on every step), so nothing outside the root can be
 * reached. Stricter than openat2, which follows symlinks that stay inside. */
static int walk_open(int rootfd, const char *clean, int flags, mode_t mode)
{
	char comp[256];
	int cur = rootfd;
	const char *p = clean;
	for (;;) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		int fd;
		if (n >= sizeof(comp)) {
			if (cur != rootfd)
				close(cur);
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		if (e)
			fd = openat(cur, comp,
				    O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		else
			fd = openat(cur, comp, flags | O_NOFOLLOW | O_CLOEXEC,
				    mode);
		int saved = errno;
		struct stat st;
		/* O_DIRECTORY | O_NOFOLLOW on a symlink says ENOTDIR; report
		 * it as the refused symlink it is (ERROR 2, as openat2 does
		 * for one leaving the root), not as a missing file. */
		if (fd < 0 && saved == ENOTDIR &&
		    fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISLNK(st.st_mode))
			saved = ELOOP;
		if (cur != rootfd)
			close(cur);
		if (fd < 0) {
			errno = saved;
			return -1;
		}
		if (!e)
			return fd;
		cur = fd;
		p = e + 1;
	}
}

#define RESOLVE_TRIES 16

static int resolve(struct fsroot *r, const char *clean, int flags, mode_t mode)
{
	if (r->use_openat2) {
		struct open_how how;
		memset(&how, 0, sizeof(how));
		how.flags = (uint64_t)(flags | O_CLOEXEC);
		how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
		how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
		long fd = -1;
		/* EAGAIN: a rename somewhere raced the lookup and the kernel
		 * asks to retry. Bounded: under a storm of renames (anyone on
		 * the host may cause one) the walk below, which does not care,
		 * answers instead of the loop spinning. */
		for (int i = 0; i < RESOLVE_TRIES; i++) {
			fd = syscall(SYS_openat2, r->dirfd, clean, &how,
				     sizeof(how));
			if (fd >= 0 || errno != EAGAIN)
				break;
		}
		if (fd >= 0 || (errno != ENOSYS && errno != EAGAIN))
			return (int)fd;
		if (errno == ENOSYS)
			r->use_openat2 = 0; /* kernel older than 5.6 */
	}
	return walk_open(r->dirfd, clean, flags, mode);
}

int fsroot_open_read(struct fsroot *r, const char *clean, struct stat *st,
		     struct tftp_err *err)
{
	struct stat pst;
	/* First an O_PATH descriptor: it opens nothing for I/O, so a FIFO, a
	 * device or a socket is looked at (fstat) without the side effects of
	 * opening it (waking a FIFO writer, a device driver's open). */
	int pfd = resolve(r, clean, O_PATH, 0);
	if (pfd < 0) {
		fsroot_errno_to_tftp(errno, err);
		return -1;
	}
	if (fstat(pfd, &pst) < 0 || !S_ISREG(pst.st_mode)) {
		close(pfd);
		set_why(err, TFTP_ERR_ACCESS, "Not a regular file",
			S_ISDIR(pst.st_mode) ? "a directory"
					     : "not a regular file");
		return -1;
	}
	/* Then the real open. The name may have been swapped in between, so
	 * the result is checked again: same file, still regular. O_NONBLOCK
	 * keeps even a FIFO swapped in from blocking the loop. */
	int fd = resolve(r, clean, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0);
	int saved = errno;
	close(pfd);
	if (fd < 0) {
		fsroot_errno_to_tftp(saved, err);
		return -1;
	}
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode) ||
	    st->st_dev != pst.st_dev || st->st_ino != pst.st_ino) {
		close(fd);
		set_err(err, TFTP_ERR_ACCESS, "Not a regular file");
		return -1;
	}
	if (!r->permissive && !(st->st_mode & S_IROTH)) {
		close(fd);
		set_why(err, TFTP_ERR_ACCESS, "Access violation",
			"not readable by others (-p serves it)");
		return -1;
	}
	return fd;
}

int fsroot_open_dir(struct fsroot *r, const char *clean)
{
	return resolve(r, clean[0] ? clean : ".", O_RDONLY | O_DIRECTORY, 0);
}

int fsroot_make_dirs(struct fsroot *r, const char *clean, struct tftp_err *err)
{
	char path[TFTP_FILENAME_MAX + 2];
	size_t n = strlen(clean);
	if (n >= sizeof(path)) {
		set_err(err, TFTP_ERR_ACCESS, "File name too long");
		return -1;
	}
	memcpy(path, clean, n + 1);
	/* Each directory on the way, from the top: mkdirat beneath its
	 * parent, which is itself resolved confined (a symlink planted on
	 * the way cannot redirect the creation). */
	for (char *slash = strchr(path, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		char *base = strrchr(path, '/');
		int pfd = base ? (*base = '\0', resolve(r, path, O_PATH | O_DIRECTORY, 0))
			       : openat(r->dirfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (base)
			*base = '/';
		int rc = pfd < 0 ? -1 : mkdirat(pfd, base ? base + 1 : path, 0777);
		int e = errno;
		if (pfd >= 0)
			close(pfd);
		*slash = '/';
		if (rc < 0 && e != EEXIST) {
			fsroot_errno_to_tftp(e, err);
			err->why = "could not create its directory (--mkdir)";
			return -1;
		}
	}
	return 0;
}

/* ---- uploads ----------------------------------------------------------- */

static int link_tmpfile(const struct fsroot *r, const struct fsupload *u,
			const char *name)
{
	if (r->link == FSROOT_LINK_EMPTY_PATH)
		return linkat(u->fd, "", u->dirfd, name, AT_EMPTY_PATH);
	char proc[48];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", u->fd);
	return linkat(AT_FDCWD, proc, u->dirfd, name, AT_SYMLINK_FOLLOW);
}

static void tmp_name(char *buf, size_t cap)
{
	static uint64_t counter;
	uint64_t rnd = 0;
	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd))
		rnd = (uint64_t)time(NULL) * 6364136223846793005ull;
	rnd ^= ++counter * 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();
	/* The pid makes a file left by a killed server recognisable: the
	 * next start removes those whose process is gone. */
	snprintf(buf, cap, FSROOT_TMP_PREFIX "%ld-%016llx", (long)getpid(),
		 (unsigned long long)rnd);
}

/* A new, exclusive, hidden name in the upload's directory. */
static int create_named(struct fsupload *u)
{
	for (int i = 0; i < 16; i++) {
		tmp_name(u->tmpname, sizeof(u->tmpname));
		int fd = openat(u->dirfd, u->tmpname,
				O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
					O_CLOEXEC,
				0666);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	errno = EEXIST;
	return -1;
}

/* A temporary name whose server process is gone (killed with SIGKILL,
 * or a crash): ".tftpd-<pid>-<hex>" with no process <pid>. */
static int stale_tmp(const char *name)
{
	size_t plen = sizeof(FSROOT_TMP_PREFIX) - 1;
	if (strncmp(name, FSROOT_TMP_PREFIX, plen) != 0)
		return 0;
	char *end;
	long pid = strtol(name + plen, &end, 10);
	if (end == name + plen || *end != '-' || pid <= 0 || pid > INT32_MAX)
		return 0;
	return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

/* Depth-first over the directories below dfd, bounded in depth and in
 * entries looked at (*budget), removing stale temporary files. */
static unsigned clean_dir(int dfd, int depth, unsigned long *budget)
{
	unsigned removed = 0;
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL && *budget > 0) {
		(*budget)--;
		if (e->d_type == DT_REG && stale_tmp(e->d_name)) {
			if (unlinkat(dirfd(d), e->d_name, 0) == 0)
				removed++;
		} else if (e->d_type == DT_DIR && depth < 16 &&
			   strcmp(e->d_name, ".") != 0 &&
			   strcmp(e->d_name, "..") != 0) {
			int sub = openat(dirfd(d), e->d_name,
					 O_PATH | O_DIRECTORY | O_NOFOLLOW |
						 O_CLOEXEC);
			if (sub >= 0) {
				removed += clean_dir(sub, depth + 1, budget);
				close(sub);
			}
		}
	}
	closedir(d);
	return removed;
}

unsigned fsroot_clean_stale(const struct fsroot *r)
{
	unsigned long budget = 1000000;
	return clean_dir(r->dirfd, 0, &budget);
}

void fsroot_probe_tmpfile(struct fsroot *r)
{
	const char *no = getenv("TFTPD_NO_TMPFILE");
	r->link = FSROOT_LINK_NONE;
	if (no && no[0] == '1')
		return;
	struct fsupload u;
	memset(&u, 0, sizeof(u));
	u.dirfd = r->dirfd;
	u.fd = openat(r->dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (u.fd < 0)
		return;
	char name[40];
	tmp_name(name, sizeof(name));
	static const enum fsroot_link methods[] = {FSROOT_LINK_EMPTY_PATH,
						   FSROOT_LINK_PROC};
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		r->link = methods[i];
		if (link_tmpfile(r, &u, name) == 0) {
			unlinkat(r->dirfd, name, 0);
			close(u.fd);
			return;
		}
	}
	r->link = FSROOT_LINK_NONE;
	close(u.fd);
}

/* The spool: an unnamed file in $TMPDIR (or /tmp), else a memfd. */
static int open_spool(const struct fsroot *r)
{
	int fd = -1;
	if (r->spooldir >= 0)
		fd = openat(r->spooldir, ".", O_TMPFILE | O_RDWR | O_CLOEXEC,
			    0600);
	if (fd < 0)
		fd = memfd_create("tftpd-spool", MFD_CLOEXEC);
	return fd;
}

static int begin_spool(const struct fsroot *r, struct fsupload *u,
		       struct tftp_err *err)
{
	u->target = openat(u->dirfd, u->base,
			   O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
				   O_CLOEXEC);
	struct stat st;
	if (u->target < 0 || fstat(u->target, &st) < 0 ||
	    !S_ISREG(st.st_mode)) {
		if (u->target < 0)
			fsroot_errno_to_tftp(errno, err);
		else
			set_err(err, TFTP_ERR_ACCESS, "Not a regular file");
		return -1;
	}
	u->fd = open_spool(r);
	if (u->fd < 0) {
		fsroot_errno_to_tftp(errno, err);
		return -1;
	}
	return 0;
}

/* A replaced file keeps its mode, and its owner where we may set it (as
 * root); the new file otherwise gets the umask's mode and our uid. */
static void carry_over(const struct fsupload *u)
{
	if (!u->have_old)
		return;
	/* EPERM (not root) just leaves our own uid: not an error. */
	if (fchown(u->fd, u->old_uid, u->old_gid) < 0 && errno != EPERM)
		errno = 0;
	(void)fchmod(u->fd, u->old_mode);
}

/* The directory an upload goes in, resolved like any read: it must exist
 * inside the root (uploads do not create directories). */
static int upload_dir(struct fsroot *r, const char *clean, struct fsupload *u,
		      struct tftp_err *err)
{
	const char *slash = strrchr(clean, '/');
	u->base = slash ? slash + 1 : clean;
	if (slash) {
		char dir[TFTP_FILENAME_MAX + 2];
		size_t n = (size_t)(slash - clean);
		if (n >= sizeof(dir)) {
			set_err(err, TFTP_ERR_ACCESS, "File name too long");
			return -1;
		}
		memcpy(dir, clean, n);
		dir[n] = '\0';
		u->dirfd = resolve(r, dir, O_PATH | O_DIRECTORY, 0);
	} else {
		u->dirfd = openat(r->dirfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	}
	if (u->dirfd < 0) {
		fsroot_errno_to_tftp(errno, err);
		return -1;
	}
	return 0;
}

/* What is there already under the name: nothing (then a new file, unless
 * creating is off), or a regular file that may be replaced (its mode and
 * owner are kept). Never a directory, FIFO, device or symlink. */
static int upload_existing(struct fsroot *r, struct fsupload *u,
			   int overwrite, struct tftp_err *err)
{
	struct stat st;
	if (fstatat(u->dirfd, u->base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT) {
			fsroot_errno_to_tftp(errno, err);
			return -1;
		}
		if (r->no_create) {
			set_why(err, TFTP_ERR_NOTFOUND, "File not found",
				"does not exist, and new files are not "
				"created (no -c)");
			return -1;
		}
		return 0;
	}
	if (!S_ISREG(st.st_mode)) {
		set_err(err, TFTP_ERR_ACCESS, "Not a regular file");
		return -1;
	}
	if (!overwrite) {
		set_why(err, TFTP_ERR_EXISTS, "File already exists",
			"exists, and no --overwrite");
		return -1;
	}
	if (!r->permissive && !(st.st_mode & S_IWOTH)) {
		set_why(err, TFTP_ERR_ACCESS, "Access violation",
			"not writable by others (-p replaces it)");
		return -1;
	}
	u->have_old = 1;
	u->old_mode = st.st_mode & 07777;
	u->old_uid = st.st_uid;
	u->old_gid = st.st_gid;
	return 0;
}

/* Where the data goes until the commit: an unnamed O_TMPFILE file, or a
 * hidden temporary name where the file system has no O_TMPFILE. */
static int upload_data(struct fsroot *r, struct fsupload *u,
		       struct tftp_err *err)
{
	if (r->link != FSROOT_LINK_NONE) {
		u->fd = openat(u->dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC,
			       0666);
		if (u->fd < 0 && errno != EOPNOTSUPP && errno != EISDIR &&
		    errno != EINVAL) {
			fsroot_errno_to_tftp(errno, err);
			return -1;
		}
	}
	if (u->fd < 0) {
		u->fd = create_named(u);
		if (u->fd < 0) {
			fsroot_errno_to_tftp(errno, err);
			return -1;
		}
		u->named = 1;
	}
	return 0;
}

int fsroot_upload_begin(struct fsroot *r, const char *clean, int overwrite,
			uint64_t need, struct fsupload *u, struct tftp_err *err)
{
	memset(u, 0, sizeof(*u));
	u->dirfd = u->fd = u->target = -1;
	if (upload_dir(r, clean, u, err) < 0 ||
	    upload_existing(r, u, overwrite, err) < 0)
		goto fail;
	if (need) {
		struct statvfs vfs;
		if (fstatvfs(u->dirfd, &vfs) == 0 &&
		    (uint64_t)vfs.f_bavail * vfs.f_frsize < need) {
			set_err(err, TFTP_ERR_NOSPACE, "Not enough free space");
			goto fail;
		}
	}
	if (u->have_old && faccessat(u->dirfd, ".", W_OK, 0) < 0 &&
	    errno == EACCES) {
		/* Only the file is writable: spool, then write it in place. */
		if (begin_spool(r, u, err) < 0)
			goto fail;
		return 0;
	}
	if (upload_data(r, u, err) < 0)
		goto fail;
	return 0;
fail:
	fsroot_upload_discard(u);
	return -1;
}

int fsroot_upload_commit(struct fsroot *r, struct fsupload *u, int overwrite,
			 struct tftp_err *err)
{
	int rc;
	if (u->committed)
		return 0;
	if (u->target >= 0) {
		/* The spool into the file, in place. Synchronous, on the loop:
		 * once per upload, after its final block, and such uploads are
		 * small configuration files (a large one costs one sequential
		 * copy, bounded by --max-upload). A failure mid-copy can leave
		 * the file partly written: its directory could hold no new
		 * name to replace it atomically. */
		if (tftp_copy_into(u->fd, u->target) < 0) {
			fsroot_errno_to_tftp(errno, err);
			return -1;
		}
		u->committed = 1;
		return 0;
	}
	carry_over(u);
	if (!u->named) {
		if (!overwrite) {
			/* linkat never replaces: EEXIST if the name was taken
			 * while the data came in. */
			rc = link_tmpfile(r, u, u->base);
		} else {
			/* A link cannot replace a file: link under a hidden
			 * name, then rename over the old one. */
			tmp_name(u->tmpname, sizeof(u->tmpname));
			rc = link_tmpfile(r, u, u->tmpname);
			if (rc == 0) {
				u->named = 1;
				rc = renameat(u->dirfd, u->tmpname, u->dirfd,
					      u->base);
			}
		}
	} else if (!overwrite) {
		rc = linkat(u->dirfd, u->tmpname, u->dirfd, u->base, 0);
		if (rc == 0)
			unlinkat(u->dirfd, u->tmpname, 0);
	} else {
		rc = renameat(u->dirfd, u->tmpname, u->dirfd, u->base);
	}
	if (rc < 0) {
		int e = errno;
		fsroot_errno_to_tftp(e, err);
		if (e == EISDIR || e == ENOTDIR)
			set_err(err, TFTP_ERR_ACCESS, "Not a regular file");
		return -1;
	}
	u->committed = 1;
	u->named = 0; /* the temporary name is gone */
	return 0;
}

void fsroot_upload_discard(struct fsupload *u)
{
	if (u->named && !u->committed && u->dirfd >= 0)
		unlinkat(u->dirfd, u->tmpname, 0);
	u->named = 0;
	if (u->fd >= 0)
		close(u->fd);
	if (u->dirfd >= 0)
		close(u->dirfd);
	if (u->target >= 0)
		close(u->target);
	u->fd = u->dirfd = u->target = -1;
}
