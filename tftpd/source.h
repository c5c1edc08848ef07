/* What a session reads from and writes to. A session opens a file by name
 * for a client, reads it at offsets, or begins an upload, writes it in
 * order and commits or aborts it; it never knows what is behind. The
 * confined filesystem root (source_fs.c) is the first implementation; an
 * HTTP origin, or an in-memory source in tests, plugs in here.
 *
 * Every call may fail with the TFTP error to send in *err (why, for the
 * log, in err->why). None may block the server's loop for long: the
 * filesystem's reads come from the page cache. A source that must wait
 * (an HTTP origin: source_http.c) says so instead: open and commit return
 * SRC_PENDING and read TFTP_IO_AGAIN, and the source later calls the
 * wake function the session gave it, from the loop; the session then
 * asks again (open_done, read, commit_done). */
#ifndef TFTPD_SOURCE_H
#define TFTPD_SOURCE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "xfer.h"

/* What a session asks its source for: a cleaned name, for a client. */
struct src_request {
	const char *name;              /* cleaned, relative to the root */
	const struct sockaddr *client;
	/* The client's own directory (--client-root, --client-root-map),
	 * relative to the root, tried before the root itself; or NULL. */
	const char *client_dir;
	const char *client_mac;        /* "01-aa-bb-cc-dd-ee-ff", or NULL */
};

#define SRC_PENDING TFTP_IO_AGAIN

/* How a source tells its session there is news (never from inside one of
 * the session's own calls into it). */
struct src_wake {
	void (*fn)(void *arg);
	void *arg;
};

/* An open file for a read request. */
struct src_file {
	void *impl;          /* the source's own state, if any */
	struct src_wake wake;
	uint64_t size;       /* bytes, when size_known */
	int size_known;
	/* A descriptor the file's bytes can be sent from directly
	 * (sendfile, pread), or -1: then only src_read. */
	int fd;
};

/* An upload in progress. */
struct src_upload {
	void *impl;
	struct src_wake wake;
	int committed;
};

struct src_ops {
	const char *name;
	int (*open)(void *src, const struct src_request *rq,
		    struct src_file *f, struct tftp_err *err);
	/* After open said SRC_PENDING and woke the session: 0, -1 or still
	 * SRC_PENDING. NULL for a source that never waits. */
	int (*open_done)(void *src, struct src_file *f, struct tftp_err *err);
	/* Up to len bytes at off; fewer only at the end of the file;
	 * TFTP_IO_AGAIN: not here yet (the session is woken). */
	long (*read)(void *src, struct src_file *f, uint64_t off, uint8_t *buf,
		     size_t len, struct tftp_err *err);
	void (*close)(void *src, struct src_file *f);
	/* need: the size the client announced (tsize), 0 if unknown. */
	int (*begin)(void *src, const struct src_request *rq, uint64_t need,
		     struct src_upload *u, struct tftp_err *err);
	/* In order, each byte once. */
	int (*write)(void *src, struct src_upload *u, uint64_t off,
		     const uint8_t *buf, size_t len, struct tftp_err *err);
	/* Put the upload in place, atomically; after the last write.
	 * SRC_PENDING: under way (the session is woken, then commit_done). */
	int (*commit)(void *src, struct src_upload *u, struct tftp_err *err);
	int (*commit_done)(void *src, struct src_upload *u,
			   struct tftp_err *err);
	/* Release it; an upload not committed leaves nothing behind. Safe
	 * on a zeroed or already aborted one. */
	void (*abort)(void *src, struct src_upload *u);
};

struct source {
	const struct src_ops *ops;
	void *impl;
};

/* f->wake is the caller's; the rest is the source's. */
static inline int src_open(const struct source *s,
			   const struct src_request *rq, struct src_file *f,
			   struct tftp_err *err)
{
	f->impl = NULL;
	f->fd = -1;
	f->size = 0;
	f->size_known = 0;
	return s->ops->open(s->impl, rq, f, err);
}

static inline int src_open_done(const struct source *s, struct src_file *f,
				struct tftp_err *err)
{
	return s->ops->open_done ? s->ops->open_done(s->impl, f, err) : 0;
}

static inline long src_read(const struct source *s, struct src_file *f,
			    uint64_t off, uint8_t *buf, size_t len,
			    struct tftp_err *err)
{
	return s->ops->read(s->impl, f, off, buf, len, err);
}

static inline void src_close(const struct source *s, struct src_file *f)
{
	s->ops->close(s->impl, f);
}

static inline int src_begin(const struct source *s,
			    const struct src_request *rq, uint64_t need,
			    struct src_upload *u, struct tftp_err *err)
{
	u->impl = NULL;
	u->committed = 0;
	return s->ops->begin(s->impl, rq, need, u, err);
}

static inline int src_write(const struct source *s, struct src_upload *u,
			    uint64_t off, const uint8_t *buf, size_t len,
			    struct tftp_err *err)
{
	return s->ops->write(s->impl, u, off, buf, len, err);
}

static inline int src_commit(const struct source *s, struct src_upload *u,
			     struct tftp_err *err)
{
	int r = s->ops->commit(s->impl, u, err);
	if (r == 0)
		u->committed = 1;
	return r;
}

static inline int src_commit_done(const struct source *s,
				  struct src_upload *u, struct tftp_err *err)
{
	int r = s->ops->commit_done ? s->ops->commit_done(s->impl, u, err) : 0;
	if (r == 0)
		u->committed = 1;
	return r;
}

static inline void src_abort(const struct source *s, struct src_upload *u)
{
	s->ops->abort(s->impl, u);
}

/* The confined filesystem root (fsroot.h) as a source. */
struct fsroot;
struct ci_cache;
struct tftpd_limits;
struct fs_source {
	struct fsroot *root;
	struct fsroot *uproot; /* where uploads go: --upload-dir, or root */
	int overwrite;       /* -w --overwrite: uploads may replace files */
	int mkdir;           /* --mkdir: uploads create missing directories */
	/* --windows-names: a name not found as asked is looked up again
	 * regardless of case (listings cached); NULL: off. */
	struct ci_cache *ci;
	/* Claims on names being uploaded, shared by all workers: never two
	 * writers of one file. */
	struct tftpd_limits *limits;
};
void source_fs_init(struct source *s, struct fs_source *fs);

/* The HTTP origin (--origin) as a source, standing in front of the
 * filesystem one: see origin.h. */

#endif
