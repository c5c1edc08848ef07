/* What origin.c (reads) and origin_put.c (uploads) share. */
#ifndef TFTPD_ORIGIN_INT_H
#define TFTPD_ORIGIN_INT_H

#include <curl/curl.h>

#include "cache.h"
#include "curlev.h"
#include "metrics.h"
#include "origin.h"

#define ORIGIN_URL_MAX 4096
#define FETCH_BUCKETS 256u

struct fetch;
struct event;
struct event_base;

/* A request's silence clock: fire when nothing has moved for limit_ms.
 * Fed on every byte, cheaply (no timer operation); the timer checks. */
struct watchdog {
	struct event *ev;
	uint64_t last_ms;
	uint32_t limit_ms;
	void (*fire)(void *arg);
	void *arg;
};

int watchdog_start(struct watchdog *w, struct event_base *base,
		   uint32_t limit_ms, void (*fire)(void *), void *arg);
void watchdog_feed(struct watchdog *w);
/* From its fire function: not now, the clock starts again. */
void watchdog_restart(struct watchdog *w);
void watchdog_stop(struct watchdog *w);

struct origin {
	struct origin_config cfg;
	struct event_base *base;
	struct curlev *ev;
	struct cache *cache;          /* NULL without --cache */
	const struct source *fs;
	const struct tftp_log *log;
	struct tftpd_metrics *metrics;
	struct fetch *active[FETCH_BUCKETS]; /* by URL: what a request joins */
};

/* The URL of rq's name, or -1 with the ERROR in *err. */
int origin_make_url(const struct origin *o, const struct src_request *rq,
		    char *url, size_t cap, struct tftp_err *err);
/* The options every request shares: timeouts, TLS, protocols. */
void origin_easy_common(const struct origin *o, CURL *e, char *errbuf);
/* An anonymous spool file for bytes on their way, or -1. */
int origin_spool(void);
/* How a failed request maps to TFTP, for the client and the metrics. */
enum origin_result origin_classify(CURLcode rc, long status,
				   struct tftp_err *err);
void origin_log_url(const struct origin *o, enum tftp_log_level lvl,
		    const char *method, const char *url, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

int origin_put_begin(void *src, const struct src_request *rq, uint64_t need,
		     struct src_upload *u, struct tftp_err *err);
int origin_put_write(void *src, struct src_upload *u, uint64_t off,
		     const uint8_t *buf, size_t len, struct tftp_err *err);
int origin_put_commit(void *src, struct src_upload *u, struct tftp_err *err);
int origin_put_commit_done(void *src, struct src_upload *u,
			   struct tftp_err *err);
void origin_put_abort(void *src, struct src_upload *u);

#endif
