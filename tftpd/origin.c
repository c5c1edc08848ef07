/* Reading from the HTTP origin: fetches, their readers, the cache. See
 * origin.h. One fetch per URL at a time: every request for it joins,
 * reads what has arrived and waits (TFTP_IO_AGAIN, then a wake) for the
 * rest. The body goes to a spool file as it comes (with --cache, a
 * temporary in the cache directory, renamed into place when complete). */
#include "origin_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "errmap.h"
#include "fileio.h"
#include "httphdr.h"

/* Bodies of error answers are read and dropped, up to this much. */
#define ERROR_BODY_MAX (64u << 10)
#define REDIRECTS_MAX 5u

enum fetch_state {
	FETCH_HEAD = 0,  /* waiting for the origin's head */
	FETCH_BODY,      /* the body is arriving */
	FETCH_DONE,      /* all of it, or (use_cache) the cache has it */
	FETCH_FAILED,
};

struct hfile;

struct fetch {
	struct origin *o;
	struct fetch *hnext;
	int listed;               /* in o->active: new requests join it */
	char *url;                /* as asked: the cache's key */
	CURL *easy;               /* while running */
	struct curl_slist *hdrs;
	char errbuf[CURL_ERROR_SIZE];
	struct http_head head;
	unsigned redirects;
	enum fetch_state state;
	int fd;                   /* the spool */
	char tmp[64];             /* its name in the cache directory, or "" */
	uint64_t have;            /* body bytes in the spool */
	uint64_t dropped;         /* bytes of error bodies read and dropped */
	/* Revalidating a cached copy: its validators (the entry itself may
	 * be evicted meanwhile: it is looked up again by URL). */
	int stale;
	char etag[HTTP_VALIDATOR_MAX], last_modified[HTTP_VALIDATOR_MAX];
	int use_cache;            /* 304 or stale-if-error: read the cache */
	struct tftp_err err;
	/* Stopped by us (a callback, the watchdog): how, for the metrics;
	 * ORIGIN_RESULT_COUNT: not. */
	enum origin_result stop;
	struct watchdog silence;  /* --origin-timeout */
	struct hfile *files;      /* its readers (and openers) */
	unsigned refs;
	uint64_t t0;
};

/* A reader of a fetch (src_file.impl). A file read from the root or the
 * cache has no impl: just its descriptor. */
struct hfile {
	struct fetch *f;
	uint64_t want;            /* wake when this much has come; 0: not */
	struct src_wake wake;
	struct hfile *prev, *next;
};

static unsigned url_bucket(const char *url)
{
	uint64_t h = 1469598103934665603ull;
	for (; *url; url++)
		h = (h ^ (uint8_t)*url) * 1099511628211ull;
	return (unsigned)(h % FETCH_BUCKETS);
}

static struct fetch *fetch_find(struct origin *o, const char *url)
{
	for (struct fetch *f = o->active[url_bucket(url)]; f; f = f->hnext)
		if (!strcmp(f->url, url))
			return f;
	return NULL;
}

static void unlist(struct fetch *f)
{
	if (!f->listed)
		return;
	struct fetch **pp = &f->o->active[url_bucket(f->url)];
	while (*pp && *pp != f)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = f->hnext;
	f->listed = 0;
}

static void fetch_free(struct fetch *f)
{
	unlist(f);
	watchdog_stop(&f->silence);
	if (f->easy) {
		curlev_remove(f->o->ev, f->easy);
		curl_easy_cleanup(f->easy);
	}
	curl_slist_free_all(f->hdrs);
	if (f->tmp[0])
		cache_discard(f->o->cache, f->tmp);
	if (f->fd >= 0)
		close(f->fd);
	free(f->url);
	free(f);
}

static void wake(struct hfile *h)
{
	h->want = 0;
	if (h->wake.fn)
		h->wake.fn(h->wake.arg);
}

/* Readers waiting for bytes that are now in, or everyone (news). */
static void wake_readers(struct fetch *f, int all)
{
	for (struct hfile *h = f->files; h; h = h->next)
		if (all || (h->want && f->have >= h->want))
			wake(h);
}

/* ---- the request ------------------------------------------------------- */

/* Stop the transfer from a callback: libcurl ends it with an error. */
static size_t fail_in_callback(struct fetch *f, uint16_t code,
			       const char *msg, const char *why)
{
	tftp_err_set(&f->err, code, msg, why);
	f->stop = ORIGIN_CUT;
	return 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct fetch *f = arg;
	size_t len = size * n;
	watchdog_feed(&f->silence);
	if (!http_head_line(&f->head, p, len) || f->head.status != 200 ||
	    f->state != FETCH_HEAD)
		return len;
	/* A 200's head is complete: the body follows; who waits may start
	 * (tsize from its Content-Length). */
	if (f->head.bad_length)
		return fail_in_callback(f, TFTP_ERR_UNDEF,
					"Origin: bad Content-Length",
					"the origin sent an unusable length");
	f->state = FETCH_BODY;
	wake_readers(f, 1);
	return len;
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct fetch *f = arg;
	size_t len = size * n;
	watchdog_feed(&f->silence);
	if (f->state != FETCH_BODY) {
		/* An error's or a redirect's body: not for anyone. */
		f->dropped += len;
		return f->dropped > ERROR_BODY_MAX ? 0 : len;
	}
	int64_t want = f->head.length;
	if (want >= 0 && f->have + len > (uint64_t)want)
		return fail_in_callback(f, TFTP_ERR_UNDEF,
					"Origin: transfer cut off",
					"the origin sent more than its "
					"Content-Length");
	if (tftp_pwrite_full(f->fd, p, len, f->have) < 0)
		return fail_in_callback(f, TFTP_ERR_UNDEF, "Origin: spool error",
					"cannot write the body to disk");
	f->have += len;
	wake_readers(f, 0);
	return len;
}

static void on_done(void *arg, CURL *e, CURLcode rc);

/* Nothing from the origin for --origin-timeout (connected or not): given
 * up as unreachable, like a failed connect (a cached copy may stand in). */
static void on_silence(void *arg)
{
	struct fetch *f = arg;
	CURL *e = f->easy;
	tftp_err_set(&f->err, TFTP_ERR_UNDEF, "Origin timed out",
		     "no data from the origin in time");
	f->stop = ORIGIN_UNREACHABLE;
	curlev_remove(f->o->ev, e);
	on_done(f, e, CURLE_OPERATION_TIMEDOUT);
}

static int start_easy(struct fetch *f, const char *url)
{
	CURL *e = f->easy;
	curl_easy_setopt(e, CURLOPT_URL, url);
	http_head_reset(&f->head);
	f->dropped = 0;
	return curlev_add(f->o->ev, e, on_done, f);
}

/* A conditional request for a cached copy: 304 if it is current. */
static int conditional(struct fetch *f)
{
	char line[HTTP_VALIDATOR_MAX + 32];
	const struct fetch *c = f;
	if (c->etag[0]) {
		snprintf(line, sizeof(line), "If-None-Match: %s", c->etag);
		if (!(f->hdrs = curl_slist_append(f->hdrs, line)))
			return -1;
	}
	if (c->last_modified[0]) {
		snprintf(line, sizeof(line), "If-Modified-Since: %s",
			 c->last_modified);
		if (!(f->hdrs = curl_slist_append(f->hdrs, line)))
			return -1;
	}
	if (f->hdrs)
		curl_easy_setopt(f->easy, CURLOPT_HTTPHEADER, f->hdrs);
	return 0;
}

static int spool(struct fetch *f)
{
	struct origin *o = f->o;
	f->fd = o->cache ? cache_tmp(o->cache, f->tmp, sizeof(f->tmp))
			 : origin_spool();
	if (f->fd < 0)
		f->tmp[0] = '\0';
	return f->fd;
}

static struct fetch *fetch_start(struct origin *o, const char *url,
				 struct cache_entry *stale,
				 struct tftp_err *err)
{
	struct fetch *f = calloc(1, sizeof(*f));
	if (!f || !(f->url = strdup(url))) {
		free(f);
		tftp_err_from_errno(ENOMEM, "", err);
		return NULL;
	}
	f->o = o;
	f->stop = ORIGIN_RESULT_COUNT;
	if (stale) {
		f->stale = 1;
		memcpy(f->etag, stale->etag, sizeof(f->etag));
		memcpy(f->last_modified, stale->last_modified,
		       sizeof(f->last_modified));
	}
	f->t0 = tftp_now_us();
	if (spool(f) < 0 || !(f->easy = curl_easy_init()) ||
	    (stale && conditional(f) < 0)) {
		tftp_err_set(err, TFTP_ERR_UNDEF, "Origin: spool error",
			     "cannot make a file for the body (--cache or "
			     "TMPDIR not writable?)");
		fetch_free(f);
		return NULL;
	}
	origin_easy_common(o, f->easy, f->errbuf);
	curl_easy_setopt(f->easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(f->easy, CURLOPT_HEADERDATA, f);
	curl_easy_setopt(f->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(f->easy, CURLOPT_WRITEDATA, f);
	if (start_easy(f, url) < 0 ||
	    watchdog_start(&f->silence, o->base, o->cfg.timeout_s * 1000u,
			   on_silence, f) < 0) {
		tftp_err_from_errno(ENOMEM, "", err);
		fetch_free(f);
		return NULL;
	}
	unsigned b = url_bucket(url);
	f->hnext = o->active[b];
	o->active[b] = f;
	f->listed = 1;
	return f;
}

/* ---- the outcome ------------------------------------------------------- */

static int same_site(const char *a, const char *b)
{
	static const CURLUPart parts[] = {CURLUPART_SCHEME, CURLUPART_HOST,
					  CURLUPART_PORT};
	CURLU *ua = curl_url(), *ub = curl_url();
	int same = ua && ub && curl_url_set(ua, CURLUPART_URL, a, 0) == CURLUE_OK &&
		   curl_url_set(ub, CURLUPART_URL, b, 0) == CURLUE_OK;
	for (size_t i = 0; same && i < sizeof(parts) / sizeof(parts[0]); i++) {
		char *x = NULL, *y = NULL;
		same = curl_url_get(ua, parts[i], &x, CURLU_DEFAULT_PORT) == CURLUE_OK &&
		       curl_url_get(ub, parts[i], &y, CURLU_DEFAULT_PORT) == CURLUE_OK &&
		       strcasecmp(x, y) == 0;
		curl_free(x);
		curl_free(y);
	}
	curl_url_cleanup(ua);
	curl_url_cleanup(ub);
	return same;
}

/* 301/302/303/307/308: on to Location, within the origin, a few times.
 * 1 if the request goes on, 0 if this is the end (err filled). */
static int follow(struct fetch *f, long status)
{
	char *loc = NULL;
	if (status != 301 && status != 302 && status != 303 && status != 307 &&
	    status != 308)
		return 0;
	curl_easy_getinfo(f->easy, CURLINFO_REDIRECT_URL, &loc);
	if (!loc || ++f->redirects > REDIRECTS_MAX) {
		tftp_err_set(&f->err, TFTP_ERR_UNDEF, "Origin: redirect loop",
			     "too many redirects, or one without a Location");
		f->stop = ORIGIN_REDIRECT;
		return 0;
	}
	if (!same_site(f->url, loc)) {
		tftp_err_set(&f->err, TFTP_ERR_UNDEF, "Origin: bad redirect",
			     "the origin redirected to another site");
		f->stop = ORIGIN_REDIRECT;
		return 0;
	}
	char next[ORIGIN_URL_MAX];
	snprintf(next, sizeof(next), "%s", loc); /* loc lives in the handle */
	origin_log_url(f->o, TFTP_LOG_DEBUG, "GET", f->url,
		       "%ld, redirected", status);
	if (start_easy(f, next) < 0) {
		tftp_err_set(&f->err, TFTP_ERR_UNDEF, "Origin: out of memory", NULL);
		f->stop = ORIGIN_CUT;
		return 0;
	}
	return 1;
}

/* The request is over: its result for the metrics; f->err filled unless
 * it succeeded. */
static enum origin_result outcome(struct fetch *f, CURLcode rc, long status)
{
	if (f->stop != ORIGIN_RESULT_COUNT) /* our own stop */
		return f->stop;
	if (rc == CURLE_OK && status == 200) {
		int64_t want = f->head.length;
		if (want < 0 || f->have == (uint64_t)want)
			return ORIGIN_OK;
		tftp_err_set(&f->err, TFTP_ERR_UNDEF, "Origin: transfer cut off",
			     "the body was shorter than its Content-Length");
		return ORIGIN_CUT;
	}
	if (rc == CURLE_OK && status == 304 && f->stale)
		return ORIGIN_NOT_MODIFIED;
	if (rc == CURLE_OK && status == 304) /* not asked for */
		status = 502;
	enum origin_result r = origin_classify(rc, status, &f->err);
	if (r == ORIGIN_CUT && f->state == FETCH_HEAD && rc != CURLE_OK &&
	    status == 0)
		r = ORIGIN_UNREACHABLE; /* nothing came at all */
	return r;
}

/* The origin failed before any byte of a new body went out: the cached
 * copy, though due for revalidation, is still the best answer. */
static int stale_ok(const struct fetch *f, enum origin_result r, long status)
{
	return f->stale && f->state == FETCH_HEAD &&
	       (r == ORIGIN_UNREACHABLE || r == ORIGIN_TLS || r == ORIGIN_CUT ||
		(r == ORIGIN_HTTP_ERROR && status >= 500));
}

static void log_outcome(struct fetch *f, enum origin_result r, long status)
{
	uint64_t ms = (tftp_now_us() - f->t0) / 1000u;
	struct origin *o = f->o;
	if (r == ORIGIN_OK)
		origin_log_url(o, TFTP_LOG_INFO, "GET", f->url, "%ld, %" PRIu64
			       " bytes in %" PRIu64 " ms%s", status, f->have, ms,
			       o->cache ? ", cached" : "");
	else if (r == ORIGIN_NOT_MODIFIED)
		origin_log_url(o, TFTP_LOG_INFO, "GET", f->url,
			       "304 not modified, cached copy current");
	else
		origin_log_url(o, TFTP_LOG_WARN, "GET", f->url,
			       "%ld, failed: %s%s%s%s", status, f->err.msg,
			       f->err.why ? " (" : "", f->err.why ? f->err.why : "",
			       f->err.why ? ")" : "");
	if (f->use_cache && r != ORIGIN_NOT_MODIFIED)
		origin_log_url(o, TFTP_LOG_WARN, "GET", f->url,
			       "serving the stale cached copy (stale-if-error)");
}

/* A complete body into the cache (or a current one confirmed). */
static void keep(struct fetch *f, enum origin_result r)
{
	struct origin *o = f->o;
	uint64_t now_s = tftp_wall_us() / 1000000u;
	if (!o->cache)
		return;
	struct cache_entry *e = f->stale ? cache_find(o->cache, f->url) : NULL;
	if (r == ORIGIN_NOT_MODIFIED && e)
		cache_validated(o->cache, e, now_s);
	if (r == ORIGIN_NOT_FOUND && e)
		cache_drop(o->cache, e); /* gone at the origin */
	if (r != ORIGIN_OK || !f->tmp[0])
		return;
	if (cache_store(o->cache, f->tmp, f->url, f->have, &f->head, now_s) < 0)
		origin_log_url(o, TFTP_LOG_WARN, "GET", f->url,
			       "not cached: cannot store it");
	f->tmp[0] = '\0'; /* stored, or removed */
}

static void on_done(void *arg, CURL *e, CURLcode rc)
{
	struct fetch *f = arg;
	long status = 0;
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	if (rc == CURLE_OK && f->stop == ORIGIN_RESULT_COUNT && follow(f, status))
		return;
	watchdog_stop(&f->silence);
	enum origin_result r = outcome(f, rc, status);
	f->use_cache = r == ORIGIN_NOT_MODIFIED || stale_ok(f, r, status);
	keep(f, r);
	f->state = r == ORIGIN_OK || f->use_cache ? FETCH_DONE : FETCH_FAILED;
	/* A body just fetched is shared on while anyone reads it (a storm's
	 * late arrivals); after a failure a request starts its own. */
	if (r != ORIGIN_OK)
		unlist(f);
	log_outcome(f, r, status);
	metrics_origin(f->o->metrics, 0, r, f->have);
	if (f->use_cache && r != ORIGIN_NOT_MODIFIED)
		metrics_cache(f->o->metrics, CACHE_STALE);
	curl_easy_cleanup(e);
	f->easy = NULL;
	if (f->state == FETCH_FAILED && f->tmp[0]) {
		cache_discard(f->o->cache, f->tmp); /* never a partial entry */
		f->tmp[0] = '\0';
	}
	wake_readers(f, 1);
	if (f->refs == 0)
		fetch_free(f);
}

/* ---- the source -------------------------------------------------------- */

static void attach(struct fetch *f, struct hfile *h)
{
	h->f = f;
	h->next = f->files;
	if (f->files)
		f->files->prev = h;
	f->files = h;
	f->refs++;
}

/* A reader leaves. With no reader left a fetch without a cache to fill
 * stops; one with a cache goes on, so the next request finds it there. */
static void detach(struct hfile *h)
{
	struct fetch *f = h->f;
	if (h->prev)
		h->prev->next = h->next;
	else
		f->files = h->next;
	if (h->next)
		h->next->prev = h->prev;
	free(h);
	if (--f->refs > 0)
		return;
	if (!f->easy || !f->o->cache)
		fetch_free(f);
}

static int fresh(const struct origin *o, const struct cache_entry *e)
{
	uint64_t now_s = tftp_wall_us() / 1000000u;
	return o->cfg.cache_ttl_s && now_s >= e->validated &&
	       now_s - e->validated < o->cfg.cache_ttl_s;
}

static int open_cached(struct origin *o, const char *url, struct src_file *sf,
		       struct tftp_err *err)
{
	struct cache_entry *e = o->cache ? cache_find(o->cache, url) : NULL;
	int fd = e ? cache_open_body(o->cache, e) : -1;
	if (fd < 0) {
		tftp_err_set(err, TFTP_ERR_UNDEF, "Origin: cache error",
			     "the cached copy went away");
		return -1;
	}
	sf->fd = fd;
	sf->size = e->size;
	sf->size_known = 1;
	return 0;
}

/* A request joins the fetch of url (started if none runs). */
static int join(struct origin *o, const char *url, struct cache_entry *e,
		struct src_file *sf, struct tftp_err *err)
{
	struct fetch *f = fetch_find(o, url);
	if (f) {
		metrics_cache(o->metrics, CACHE_JOINED);
	} else {
		if (!(f = fetch_start(o, url, e, err)))
			return -1;
		metrics_cache(o->metrics, e ? CACHE_REVALIDATED : CACHE_MISS);
	}
	struct hfile *h = calloc(1, sizeof(*h));
	if (!h) {
		if (f->refs == 0 && !o->cache)
			fetch_free(f);
		tftp_err_from_errno(ENOMEM, "", err);
		return -1;
	}
	h->wake = sf->wake;
	attach(f, h);
	sf->impl = h;
	return 0;
}

static int o_open_done(void *src, struct src_file *sf, struct tftp_err *err);

static int o_open(void *src, const struct src_request *rq, struct src_file *sf,
		  struct tftp_err *err)
{
	struct origin *o = src;
	char url[ORIGIN_URL_MAX];
	if (!o->cfg.only) {
		int r = src_open(o->fs, rq, sf, err);
		if (r == 0 || err->code != TFTP_ERR_NOTFOUND)
			return r;
	}
	if (origin_make_url(o, rq, url, sizeof(url), err) < 0)
		return -1;
	struct cache_entry *e = o->cache ? cache_find(o->cache, url) : NULL;
	if (e && fresh(o, e)) {
		if (open_cached(o, url, sf, err) == 0) {
			metrics_cache(o->metrics, CACHE_HIT);
			return 0;
		}
		e = cache_find(o->cache, url); /* it went: e with it */
	}
	if (join(o, url, e, sf, err) < 0)
		return -1;
	return o_open_done(src, sf, err);
}

static int o_open_done(void *src, struct src_file *sf, struct tftp_err *err)
{
	struct origin *o = src;
	struct hfile *h = sf->impl;
	struct fetch *f = h ? h->f : NULL;
	if (!f)
		return 0; /* the root's or the cache's file */
	if (f->state == FETCH_HEAD)
		return SRC_PENDING;
	if (f->state == FETCH_FAILED || f->use_cache) {
		int r = -1;
		if (f->state == FETCH_FAILED)
			*err = f->err;
		else
			r = open_cached(o, f->url, sf, err);
		sf->impl = NULL;
		detach(h);
		return r;
	}
	if (f->head.length >= 0) {
		sf->size = (uint64_t)f->head.length;
		sf->size_known = 1;
	} else if (f->state == FETCH_DONE) {
		sf->size = f->have;
		sf->size_known = 1;
	}
	return 0;
}

static long o_read(void *src, struct src_file *sf, uint64_t off, uint8_t *buf,
		   size_t len, struct tftp_err *err)
{
	struct origin *o = src;
	struct hfile *h = sf->impl;
	if (!h)
		return src_read(o->fs, sf, off, buf, len, err);
	struct fetch *f = h->f;
	if (f->state == FETCH_FAILED) {
		*err = f->err;
		return -1;
	}
	int64_t n = f->head.length;
	int all = f->state == FETCH_DONE || (n >= 0 && f->have == (uint64_t)n);
	if (!all && off + len > f->have) {
		h->want = off + len;
		return TFTP_IO_AGAIN;
	}
	size_t take = off >= f->have ? 0
		      : (f->have - off < len ? (size_t)(f->have - off) : len);
	ssize_t got = tftp_pread_full(f->fd, buf, take, off);
	if (got < 0) {
		tftp_err_from_errno(errno, "Read error", err);
		return -1;
	}
	return (long)got;
}

static void o_close(void *src, struct src_file *sf)
{
	struct origin *o = src;
	struct hfile *h = sf->impl;
	if (h)
		detach(h);
	sf->impl = NULL;
	src_close(o->fs, sf);
}

/* Uploads go to the origin with --origin-put, else to the root. */
static int o_begin(void *src, const struct src_request *rq, uint64_t need,
		   struct src_upload *u, struct tftp_err *err)
{
	struct origin *o = src;
	if (o->cfg.put)
		return origin_put_begin(src, rq, need, u, err);
	return o->fs->ops->begin(o->fs->impl, rq, need, u, err);
}

static int o_write(void *src, struct src_upload *u, uint64_t off,
		   const uint8_t *buf, size_t len, struct tftp_err *err)
{
	struct origin *o = src;
	if (o->cfg.put)
		return origin_put_write(src, u, off, buf, len, err);
	return src_write(o->fs, u, off, buf, len, err);
}

static int o_commit(void *src, struct src_upload *u, struct tftp_err *err)
{
	struct origin *o = src;
	if (o->cfg.put)
		return origin_put_commit(src, u, err);
	return o->fs->ops->commit(o->fs->impl, u, err);
}

static int o_commit_done(void *src, struct src_upload *u,
			 struct tftp_err *err)
{
	struct origin *o = src;
	return o->cfg.put ? origin_put_commit_done(src, u, err) : 0;
}

static void o_abort(void *src, struct src_upload *u)
{
	struct origin *o = src;
	if (o->cfg.put)
		origin_put_abort(src, u);
	else
		src_abort(o->fs, u);
}

static const struct src_ops origin_ops = {
	.name = "origin",
	.open = o_open,
	.open_done = o_open_done,
	.read = o_read,
	.close = o_close,
	.begin = o_begin,
	.write = o_write,
	.commit = o_commit,
	.commit_done = o_commit_done,
	.abort = o_abort,
};

void origin_source_init(struct source *s, struct origin *o)
{
	s->ops = &origin_ops;
	s->impl = o;
}

int origin_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void origin_global_cleanup(void)
{
	curl_global_cleanup();
}

struct origin *origin_new(struct event_base *base,
			  const struct origin_config *cfg,
			  const struct source *fs, const struct tftp_log *log,
			  struct tftpd_metrics *metrics)
{
	struct origin *o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->cfg = *cfg;
	o->base = base;
	o->fs = fs;
	o->log = log;
	o->metrics = metrics;
	o->ev = curlev_new(base);
	if (!o->ev) {
		tftp_logf(log, TFTP_LOG_ERR, "--origin: cannot set up libcurl");
		origin_free(o);
		return NULL;
	}
	if (cfg->cache_dir &&
	    !(o->cache = cache_open(cfg->cache_dir, cfg->cache_size,
				    cfg->owner, cfg->group, log))) {
		origin_free(o);
		return NULL;
	}
	return o;
}

int origin_check_cache(struct origin *o)
{
	return o->cache ? cache_probe(o->cache) : 0;
}

void origin_free(struct origin *o)
{
	if (!o)
		return;
	/* Fetches still filling the cache with no reader left stop here;
	 * their temporaries go. */
	for (unsigned b = 0; b < FETCH_BUCKETS; b++)
		while (o->active[b])
			fetch_free(o->active[b]);
	curlev_free(o->ev);
	cache_close(o->cache);
	free(o);
}
