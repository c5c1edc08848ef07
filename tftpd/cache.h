/* --cache DIR: origin files kept on disk, bounded by --cache-size with
 * least-recently-used eviction, revalidated after --cache-ttl.
 *
 * An entry is two files named by a hash of its URL: KEY.body (the bytes)
 * and KEY.meta (the URL, the length, the validators, when it was last
 * validated). A body is written under a temporary name (.tmp.*) while it
 * arrives and renamed into place only when all of it came and its length
 * matches; the meta is written the same way after it, and an entry whose
 * body does not have the meta's length is no entry. So a cut download is
 * never served as complete, and nothing half-written survives a crash
 * (temporary names are removed at start). The index is loaded at start:
 * the cache survives a restart. --workers share the directory; each
 * keeps its own index and looks on disk for what it has not seen. */
#ifndef TFTPD_CACHE_H
#define TFTPD_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "httphdr.h"
#include "log.h"

struct cache;

struct cache_entry {
	char key[33];                 /* hex of the URL's hash */
	char *url;
	uint64_t size;
	char etag[HTTP_VALIDATOR_MAX];
	char last_modified[HTTP_VALIDATOR_MAX];
	uint64_t validated;           /* wall-clock seconds */
	struct cache_entry *lru_prev, *lru_next; /* most recent first */
	struct cache_entry *hnext;
};

/* Open dir, or make it (owned by owner:group); NULL with the reason
 * logged. */
struct cache *cache_open(const char *dir, uint64_t max_bytes, uid_t owner,
			 gid_t group, const struct tftp_log *log);
/* A temporary can be made and removed: 0, or -1 with errno. */
int cache_probe(struct cache *c);
void cache_close(struct cache *c);

/* The entry for url, or NULL. A hit becomes the most recently used. */
struct cache_entry *cache_find(struct cache *c, const char *url);
/* Its body, opened for reading; -1 if it is gone (the entry is then
 * dropped from the index). */
int cache_open_body(struct cache *c, struct cache_entry *e);
/* A new temporary body file in the directory: its descriptor (read and
 * write) and, in path, its name for cache_store or cache_discard. */
int cache_tmp(struct cache *c, char *path, size_t cap);
/* The temporary body at path is complete (size bytes): into place as
 * url's entry with these validators; evicts what no longer fits.
 * 0, or -1 (the temporary is removed). */
int cache_store(struct cache *c, const char *path, const char *url,
		uint64_t size, const struct http_head *h, uint64_t now_s);
void cache_discard(struct cache *c, const char *path);
/* Confirmed current by the origin (304) at now_s. */
void cache_validated(struct cache *c, struct cache_entry *e, uint64_t now_s);
/* Gone at the origin: remove it. */
void cache_drop(struct cache *c, struct cache_entry *e);
uint64_t cache_bytes(const struct cache *c);
unsigned cache_count(const struct cache *c);

#endif
