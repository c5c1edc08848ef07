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

static int fs_open(void *src, const char *name, const struct sockaddr *client,
		   struct src_file *f, struct tftp_err *err)
{
	struct fs_source *fs = src;
	struct stat st;
	(void)client;
	f->fd = fsroot_open_read(fs->root, name, &st, err);
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

static int fs_begin(void *src, const char *name, const struct sockaddr *client,
		    uint64_t need, struct src_upload *u, struct tftp_err *err)
{
	struct fs_source *fs = src;
	(void)client;
	struct fsupload *up = calloc(1, sizeof(*up));
	if (!up) {
		tftp_err_from_errno(ENOMEM, "", err);
		return -1;
	}
	up->fd = up->dirfd = up->target = -1;
	if (fsroot_upload_begin(fs->root, name, fs->overwrite, need, up,
				err) < 0) {
		fsroot_upload_discard(up);
		free(up);
		return -1;
	}
	u->impl = up;
	return 0;
}

static int fs_write(void *src, struct src_upload *u, uint64_t off,
		    const uint8_t *buf, size_t len, struct tftp_err *err)
{
	struct fsupload *up = u->impl;
	(void)src;
	if (tftp_pwrite_full(up->fd, buf, len, off) == 0)
		return 0;
	tftp_err_from_errno(errno, "Write error", err);
	return -1;
}

static int fs_commit(void *src, struct src_upload *u, struct tftp_err *err)
{
	struct fs_source *fs = src;
	struct fsupload *up = u->impl;
	if (fsroot_upload_commit(fs->root, up, fs->overwrite, err) < 0)
		return -1;
	fsroot_upload_discard(up); /* committed: only closes */
	return 0;
}

static void fs_abort(void *src, struct src_upload *u)
{
	(void)src;
	if (!u->impl)
		return;
	fsroot_upload_discard(u->impl);
	free(u->impl);
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

void source_fs_init(struct source *s, struct fs_source *fs,
		    struct fsroot *root, int overwrite)
{
	fs->root = root;
	fs->overwrite = overwrite;
	s->ops = &fs_ops;
	s->impl = fs;
}
