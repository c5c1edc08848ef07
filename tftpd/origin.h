/* --origin: files from an HTTP(S) origin, as a source (source.h) standing
 * in front of the filesystem one. A name not under the local root (every
 * name, with --origin-only) is fetched with libcurl on the server's loop
 * (curlev.h): the transfer starts when the origin's head has come and
 * streams behind its body; every request for a name being fetched joins
 * that one fetch; with --cache the body is kept on disk (cache.h) and
 * revalidated after the TTL. With --origin-put a WRQ is streamed to an
 * HTTP PUT and its final ACK waits for the origin's 2xx. */
#ifndef TFTPD_ORIGIN_H
#define TFTPD_ORIGIN_H

#include <stdint.h>
#include <sys/types.h>

#include "log.h"
#include "source.h"

struct event_base;
struct tftpd_metrics;
struct origin;

struct origin_config {
	const char *url;             /* the template: {file} {ip} {mac} */
	int only;                    /* --origin-only: never the local root */
	const char *ca;              /* --origin-ca, or NULL: the system's */
	uint32_t connect_timeout_s;  /* --origin-connect-timeout */
	uint32_t timeout_s;          /* --origin-timeout: no byte for this long */
	int put;                     /* --origin-put */
	const char *cache_dir;       /* --cache, or NULL */
	uint64_t cache_size;         /* --cache-size */
	uint32_t cache_ttl_s;        /* --cache-ttl */
	uid_t owner;                 /* a cache directory made is theirs */
	gid_t group;
};

/* NULL if the template is usable, else why not (for the command line). */
const char *origin_check_url(const char *tmpl);
/* Once per process, before any thread or worker: libcurl's set-up. */
int origin_global_init(void);
void origin_global_cleanup(void);

/* fs: the local root, tried first. NULL with the reason logged. */
struct origin *origin_new(struct event_base *base,
			  const struct origin_config *cfg,
			  const struct source *fs, const struct tftp_log *log,
			  struct tftpd_metrics *metrics);
void origin_free(struct origin *o);
/* After privileges are dropped: the cache can be written (errno if
 * not). */
int origin_check_cache(struct origin *o);
void origin_source_init(struct source *s, struct origin *o);

#endif
