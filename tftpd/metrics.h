/* --metrics: counters of the whole server in memory shared by every
 * --workers process (made before they fork, like limits.h), and their
 * Prometheus text exposition, which any worker's /metrics endpoint
 * renders (metrics_http.c). Updates are lock-free atomics: a transfer's
 * start and end cost a few increments. */
#ifndef TFTPD_METRICS_H
#define TFTPD_METRICS_H

#include <stdint.h>

#include "record.h"

struct tftpd_metrics;
struct evbuffer;

/* Why a request was answered with an ERROR before any transfer. */
enum refusal {
	REFUSED_NOT_FOUND = 0,
	REFUSED_ACCESS,
	REFUSED_EXISTS,
	REFUSED_DISK_FULL,
	REFUSED_BAD_REQUEST,
	REFUSED_LIMIT,        /* "server busy": a limit was reached */
	REFUSED_ERROR,
	REFUSED_COUNT
};

/* How a request to the HTTP origin (--origin) ended. */
enum origin_result {
	ORIGIN_OK = 0,
	ORIGIN_NOT_MODIFIED,  /* 304: the cached copy is current */
	ORIGIN_NOT_FOUND,     /* 404, 410 */
	ORIGIN_DENIED,        /* 401, 403 */
	ORIGIN_HTTP_ERROR,    /* any other status */
	ORIGIN_UNREACHABLE,   /* no connection, no answer in time */
	ORIGIN_CUT,           /* the body stopped short or overran */
	ORIGIN_TLS,
	ORIGIN_REDIRECT,      /* too many, or off the origin */
	ORIGIN_RESULT_COUNT
};

/* How a read request for an origin file was met. */
enum cache_result {
	CACHE_HIT = 0,        /* a fresh cached copy */
	CACHE_MISS,           /* fetched */
	CACHE_REVALIDATED,    /* a conditional GET went out for a cached copy */
	CACHE_STALE,          /* served stale: the origin failed (stale-if-error) */
	CACHE_JOINED,         /* joined a fetch already under way */
	CACHE_RESULT_COUNT
};

/* NULL if the mapping fails. */
struct tftpd_metrics *metrics_create(void);
void metrics_free(struct tftpd_metrics *m);

/* Each accepts m == NULL (metrics off) and does nothing then. */
void metrics_started(struct tftpd_metrics *m, int is_write, uint32_t blksize,
		     uint32_t window);
void metrics_finished(struct tftpd_metrics *m, const struct xfer_record *r);
void metrics_refused(struct tftpd_metrics *m, int is_write,
		     enum refusal why);
void metrics_origin(struct tftpd_metrics *m, int is_put,
		    enum origin_result r, uint64_t bytes);
void metrics_cache(struct tftpd_metrics *m, enum cache_result r);
/* The refusal of an ERROR code and text. */
enum refusal metrics_refusal_of(uint16_t code, const char *msg);

/* The Prometheus text format (version 0.0.4) of everything. */
void metrics_render(const struct tftpd_metrics *m, struct evbuffer *out);

#endif
