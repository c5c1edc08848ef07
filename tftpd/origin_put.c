/* Uploads to the HTTP origin (--origin-put): a WRQ becomes a PUT that
 * streams while the client sends. The bytes go to a spool file as they
 * come (a write never waits for the origin) and libcurl reads them from
 * there, pausing when it has caught up. The final ACK waits for the
 * origin's answer (commit -> SRC_PENDING -> commit_done): a client that
 * got it knows the file is stored. */
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

struct hput {
	struct origin *o;
	CURL *easy;               /* NULL once the origin has answered */
	char errbuf[CURL_ERROR_SIZE];
	int fd;                   /* the spool */
	uint64_t written, sent;
	int finished;             /* every byte is written */
	int paused;               /* libcurl waits for bytes */
	CURLcode rc;
	long status;
	struct src_wake wake;
	struct watchdog silence;  /* --origin-timeout */
	uint64_t t0;
	char url[];
};

static size_t on_read(char *buf, size_t size, size_t n, void *arg)
{
	struct hput *p = arg;
	uint64_t avail = p->written - p->sent;
	if (avail == 0) {
		if (p->finished)
			return 0; /* the end of the body */
		p->paused = 1;
		return CURL_READFUNC_PAUSE;
	}
	watchdog_feed(&p->silence);
	size_t want = size * n < avail ? size * n : (size_t)avail;
	ssize_t got = tftp_pread_full(p->fd, buf, want, p->sent);
	if (got <= 0)
		return CURL_READFUNC_ABORT;
	p->sent += (uint64_t)got;
	return (size_t)got;
}

static size_t on_reply(char *b, size_t size, size_t n, void *arg)
{
	(void)b;
	(void)arg;
	return size * n; /* the answer's body: not needed */
}

static void on_put_done(void *arg, CURL *e, CURLcode rc)
{
	struct hput *p = arg;
	struct tftp_err err = {0};
	watchdog_stop(&p->silence);
	p->rc = rc;
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &p->status);
	curl_easy_cleanup(e);
	p->easy = NULL;
	uint64_t ms = (tftp_now_us() - p->t0) / 1000u;
	int ok = rc == CURLE_OK && p->status >= 200 && p->status < 300;
	enum origin_result r = ok ? ORIGIN_OK : origin_classify(rc, p->status, &err);
	metrics_origin(p->o->metrics, 1, r, p->sent);
	if (ok)
		origin_log_url(p->o, TFTP_LOG_INFO, "PUT", p->url, "%ld, %" PRIu64
			       " bytes in %" PRIu64 " ms", p->status, p->sent, ms);
	else
		origin_log_url(p->o, TFTP_LOG_WARN, "PUT", p->url,
			       "%ld, failed: %s%s%s%s", p->status, err.msg,
			       err.why ? " (" : "", err.why ? err.why : "",
			       err.why ? ")" : "");
	if (p->wake.fn)
		p->wake.fn(p->wake.arg);
}

/* The origin took nothing and said nothing for --origin-timeout; while
 * it waits for our client's next bytes, that is the client's time. */
static void on_put_silence(void *arg)
{
	struct hput *p = arg;
	CURL *e = p->easy;
	if (p->paused && !p->finished) {
		watchdog_restart(&p->silence);
		return;
	}
	curlev_remove(p->o->ev, e);
	on_put_done(p, e, CURLE_OPERATION_TIMEDOUT);
}

static void put_free(struct hput *p)
{
	watchdog_stop(&p->silence);
	if (p->easy) {
		curlev_remove(p->o->ev, p->easy); /* the origin sees it cut */
		curl_easy_cleanup(p->easy);
	}
	if (p->fd >= 0)
		close(p->fd);
	free(p);
}

int origin_put_begin(void *src, const struct src_request *rq, uint64_t need,
		     struct src_upload *u, struct tftp_err *err)
{
	struct origin *o = src;
	char url[ORIGIN_URL_MAX];
	if (!o->cfg.put) {
		tftp_err_set(err, TFTP_ERR_ACCESS, "Access violation",
			     "uploads to the origin need --origin-put");
		return -1;
	}
	if (origin_make_url(o, rq, url, sizeof(url), err) < 0)
		return -1;
	struct hput *p = calloc(1, sizeof(*p) + strlen(url) + 1);
	if (!p) {
		tftp_err_from_errno(ENOMEM, "", err);
		return -1;
	}
	strcpy(p->url, url);
	p->o = o;
	p->wake = u->wake;
	p->t0 = tftp_now_us();
	if ((p->fd = origin_spool()) < 0 || !(p->easy = curl_easy_init())) {
		tftp_err_from_errno(errno ? errno : ENOMEM, "Write error", err);
		put_free(p);
		return -1;
	}
	origin_easy_common(o, p->easy, p->errbuf);
	curl_easy_setopt(p->easy, CURLOPT_URL, url);
	curl_easy_setopt(p->easy, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(p->easy, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(p->easy, CURLOPT_READDATA, p);
	curl_easy_setopt(p->easy, CURLOPT_WRITEFUNCTION, on_reply);
	/* The client's tsize is the length; else the body goes chunked. */
	if (need)
		curl_easy_setopt(p->easy, CURLOPT_INFILESIZE_LARGE,
				 (curl_off_t)need);
	if (curlev_add(o->ev, p->easy, on_put_done, p) < 0 ||
	    watchdog_start(&p->silence, o->base, o->cfg.timeout_s * 1000u,
			   on_put_silence, p) < 0) {
		tftp_err_from_errno(ENOMEM, "", err);
		put_free(p);
		return -1;
	}
	u->impl = p;
	return 0;
}

/* libcurl may go on: bytes came, or the end did. */
static void resume(struct hput *p)
{
	if (!p->paused || !p->easy)
		return;
	p->paused = 0;
	curl_easy_pause(p->easy, CURLPAUSE_CONT);
	curlev_kick(p->o->ev);
}

/* The origin answered before the upload was over (refused it early). */
static int answered_early(const struct hput *p, struct tftp_err *err)
{
	if (p->rc == CURLE_OK && p->status >= 200 && p->status < 300)
		tftp_err_set(err, TFTP_ERR_UNDEF, "Origin: upload cut short",
			     "the origin answered before the upload ended");
	else
		(void)origin_classify(p->rc, p->status, err);
	return -1;
}

int origin_put_write(void *src, struct src_upload *u, uint64_t off,
		     const uint8_t *buf, size_t len, struct tftp_err *err)
{
	struct hput *p = u->impl;
	(void)src;
	if (!p->easy)
		return answered_early(p, err);
	if (tftp_pwrite_full(p->fd, buf, len, off) < 0) {
		tftp_err_from_errno(errno, "Write error", err);
		return -1;
	}
	p->written = off + len;
	resume(p);
	return 0;
}

int origin_put_commit(void *src, struct src_upload *u, struct tftp_err *err)
{
	struct hput *p = u->impl;
	p->finished = 1;
	resume(p);
	return origin_put_commit_done(src, u, err);
}

int origin_put_commit_done(void *src, struct src_upload *u,
			   struct tftp_err *err)
{
	struct hput *p = u->impl;
	(void)src;
	if (p->easy)
		return SRC_PENDING;
	if (p->rc == CURLE_OK && p->status >= 200 && p->status < 300 &&
	    p->sent == p->written)
		return 0;
	return answered_early(p, err);
}

void origin_put_abort(void *src, struct src_upload *u)
{
	(void)src;
	if (u->impl)
		put_free(u->impl);
	u->impl = NULL;
}
