/* The confined filesystem root as a source (see source.h): fsroot.c does
 * the confinement and the atomic uploads; this file reads and writes the
 * descriptors it hands out. */
#include "source.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errmap.h"
#include "fileio.h"
#include "fsroot.h"
#include "limits.h"
#include "winnames.h"

/* Join a client's directory and a name into buf (cap bytes); NULL if it
 * does not fit. */
static const char *in_dir(const char *dir, const char *name, char *buf,
			  size_t cap)
{
	int n = snprintf(buf, cap, "%s/%s", dir, name);
	return n > 0 && (size_t)n < cap ? buf : NULL;
}

/* Open name, or (--windows-names) the file it names regardless of
 * case. */
static int open_one(struct fs_source *fs, const char *name, struct stat *st,
		    struct tftp_err *err)
{
	char found[TFTP_FILENAME_MAX + 2];
	int fd = fsroot_open_read(fs->root, name, st, err);
	if (fd >= 0 || err->code != TFTP_ERR_NOTFOUND || !fs->ci ||
	    ci_resolve(fs->ci, fs->root, name, found, sizeof(found)) < 0)
		return fd;
	return fsroot_open_read(fs->root, found, st, err);
}

static int fs_open(void *src, const struct src_request *rq,
		   struct src_file *f, struct tftp_err *err)
{
	struct fs_source *fs = src;
	struct stat st;
	char path[2 * TFTP_FILENAME_MAX + 4];
	const char *own = rq->client_dir
				  ? in_dir(rq->client_dir, rq->name, path,
					   sizeof(path))
				  : NULL;
	/* The client's own directory first, then the root. */
	f->fd = own ? open_one(fs, own, &st, err) : -1;
	if (f->fd < 0 && (!own || err->code == TFTP_ERR_NOTFOUND))
		f->fd = open_one(fs, rq->name, &st, err);
	if (f->fd < 0)
		return -1;
	f->size = (uint64_t)st.st_size;
	f->size_known = 1;
	return 0;
}

static long fs_read(void *src, struct src_file *f, uint64_t off, uint8_t *buf,
		    size_t len, struct tftp_err *err)
{
	(void)src;
	ssize_t n = tftp_pread_full(f->fd, buf, len, off);
	if (n < 0) {
		tftp_err_from_errno(errno, "Read error", err);
		return -1;
	}
	return (long)n;
}

static void fs_close(void *src, struct src_file *f)
{
	(void)src;
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

/* An upload: the file's, and its claim on the target. */
struct fs_upload {
	struct fsupload u;
	int claim;
	char path[2 * TFTP_FILENAME_MAX + 4]; /* what u.base points into */
};

/* The claim's key: the target directory's identity and the name in it. */
static uint64_t target_key(const struct fsupload *u)
{
	struct stat st;
	uint64_t h = 1469598103934665603ull;
	if (fstat(u->dirfd, &st) < 0)
		return 0;
	uint64_t id[2] = {(uint64_t)st.st_dev, (uint64_t)st.st_ino};
	const uint8_t *b = (const uint8_t *)id;
	for (size_t i = 0; i < sizeof(id); i++)
		h = (h ^ b[i]) * 1099511628211ull;
	for (const char *p = u->base; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ull;
	return h ? h : 1;
}

static int claim(struct fs_source *fs, struct fs_upload *up,
		 struct tftp_err *err)
{
	uint64_t key = target_key(&up->u);
	up->claim = key ? limits_claim_upload(fs->limits, key)
			: LIMITS_CLAIM_FULL;
	if (up->claim >= 0)
		return 0;
	if (up->claim == LIMITS_CLAIM_BUSY)
		tftp_err_set(err, TFTP_ERR_ACCESS, "File is being written",
			     "another upload of this file is in progress");
	else
		tftp_err_set(err, TFTP_ERR_UNDEF, "server busy",
			     "too many uploads at once");
	return -1;
}

/* Begin the upload of path: its directories made (--mkdir), its data
 * file opened, its target claimed. */
static int begin_at(struct fs_source *fs, struct fs_upload *up,
		    const char *path, uint64_t need, struct tftp_err *err)
{
	if (path != up->path)
		snprintf(up->path, sizeof(up->path), "%s", path);
	if (fs->mkdir && fsroot_make_dirs(fs->uproot, up->path, err) < 0)
		return -1;
	if (fsroot_upload_begin(fs->uproot, up->path, fs->overwrite, need,
				&up->u, err) < 0)
		return -1;
	if (claim(fs, up, err) < 0) {
		fsroot_upload_discard(&up->u);
		return -1;
	}
	return 0;
}

/* --mkdir makes what is below a client's directory, never that
 * directory itself: a client without one uploads as named. */
static int dir_exists(struct fsroot *r, const char *dir)
{
	int fd = fsroot_open_dir(r, dir);
	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

static int fs_begin(void *src, const struct src_request *rq, uint64_t need,
		    struct src_upload *u, struct tftp_err *err)
{
	struct fs_source *fs = src;
	struct fs_upload *up = calloc(1, sizeof(*up));
	if (!up) {
		tftp_err_from_errno(ENOMEM, "", err);
		return -1;
	}
	up->u.fd = up->u.dirfd = up->u.target = -1;
	up->claim = -1;
	/* Into the client's own directory where it exists, else as named. */
	int rc = -1;
	if (rq->client_dir && dir_exists(fs->uproot, rq->client_dir) &&
	    in_dir(rq->client_dir, rq->name, up->path, sizeof(up->path))) {
		rc = begin_at(fs, up, up->path, need, err);
		if (rc < 0 && err->code != TFTP_ERR_NOTFOUND)
			goto fail;
	}
	if (rc < 0 && begin_at(fs, up, rq->name, need, err) < 0)
		goto fail;
	u->impl = up;
	return 0;
fail:
	fsroot_upload_discard(&up->u);
	free(up);
	return -1;
}

static int fs_write(void *src, struct src_upload *u, uint64_t off,
		    const uint8_t *buf, size_t len, struct tftp_err *err)
{
	struct fs_upload *up = u->impl;
	(void)src;
	if (tftp_pwrite_full(up->u.fd, buf, len, off) == 0)
		return 0;
	tftp_err_from_errno(errno, "Write error", err);
	return -1;
}

static int fs_commit(void *src, struct src_upload *u, struct tftp_err *err)
{
	struct fs_source *fs = src;
	struct fs_upload *up = u->impl;
	if (fsroot_upload_commit(fs->uproot, &up->u, fs->overwrite, err) < 0)
		return -1;
	fsroot_upload_discard(&up->u); /* committed: only closes */
	limits_release_upload(fs->limits, up->claim);
	up->claim = -1;
	return 0;
}

static void fs_abort(void *src, struct src_upload *u)
{
	struct fs_source *fs = src;
	struct fs_upload *up = u->impl;
	if (!up)
		return;
	fsroot_upload_discard(&up->u);
	limits_release_upload(fs->limits, up->claim);
	free(up);
	u->impl = NULL;
}

static const struct src_ops fs_ops = {
	.name = "fs",
	.open = fs_open,
	.read = fs_read,
	.close = fs_close,
	.begin = fs_begin,
	.write = fs_write,
	.commit = fs_commit,
	.abort = fs_abort,
};

void source_fs_init(struct source *s, struct fs_source *fs)
{
	s->ops = &fs_ops;
	s->impl = fs;
}
