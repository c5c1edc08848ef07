/* See cache.h. */
#include "cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NBUCKETS 1024u
#define META_MAX 8192u

struct cache {
	int dirfd;
	uint64_t max, bytes;
	unsigned count, tmp_seq;
	struct cache_entry *lru_head, *lru_tail;
	struct cache_entry *bucket[NBUCKETS];
	const struct tftp_log *log;
};

static uint64_t fnv(const char *s, uint64_t h)
{
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return h;
}

/* 128 bits of two FNV-1a runs: collisions are caught anyway (the meta
 * holds the URL), they would only cost a refetch. */
static void url_key(const char *url, char key[33])
{
	snprintf(key, 33, "%016" PRIx64 "%016" PRIx64,
		 fnv(url, 1469598103934665603ull),
		 fnv(url, 0x9e3779b97f4a7c15ull));
}

static unsigned bucket_of(const char *key)
{
	return (unsigned)strtoul((char[9]){key[0], key[1], key[2], key[3],
					   key[4], key[5], key[6], key[7], 0},
				 NULL, 16) % NBUCKETS;
}

static void lru_unlink(struct cache *c, struct cache_entry *e)
{
	if (e->lru_prev)
		e->lru_prev->lru_next = e->lru_next;
	else
		c->lru_head = e->lru_next;
	if (e->lru_next)
		e->lru_next->lru_prev = e->lru_prev;
	else
		c->lru_tail = e->lru_prev;
	e->lru_prev = e->lru_next = NULL;
}

static void lru_front(struct cache *c, struct cache_entry *e)
{
	e->lru_next = c->lru_head;
	e->lru_prev = NULL;
	if (c->lru_head)
		c->lru_head->lru_prev = e;
	c->lru_head = e;
	if (!c->lru_tail)
		c->lru_tail = e;
}

static void index_add(struct cache *c, struct cache_entry *e)
{
	unsigned b = bucket_of(e->key);
	e->hnext = c->bucket[b];
	c->bucket[b] = e;
	lru_front(c, e);
	c->bytes += e->size;
	c->count++;
}

static void index_remove(struct cache *c, struct cache_entry *e)
{
	struct cache_entry **pp = &c->bucket[bucket_of(e->key)];
	while (*pp && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = e->hnext;
	lru_unlink(c, e);
	c->bytes -= e->size;
	c->count--;
	free(e->url);
	free(e);
}

static void file_name(char *out, size_t cap, const char *key, const char *ext)
{
	snprintf(out, cap, "%s.%s", key, ext);
}

static void unlink_entry_files(struct cache *c, const char *key)
{
	char name[48];
	file_name(name, sizeof(name), key, "meta");
	(void)unlinkat(c->dirfd, name, 0);
	file_name(name, sizeof(name), key, "body");
	(void)unlinkat(c->dirfd, name, 0);
}

/* One "name value" line of a meta file into e. */
static int meta_field(struct cache_entry *e, const char *line)
{
	const char *sp = strchr(line, ' ');
	if (!sp)
		return 0;
	size_t n = (size_t)(sp - line);
	const char *v = sp + 1;
	if (n == 3 && !memcmp(line, "url", 3))
		return (e->url = strdup(v)) ? 0 : -1;
	if (n == 4 && !memcmp(line, "size", 4))
		e->size = strtoull(v, NULL, 10);
	else if (n == 4 && !memcmp(line, "etag", 4))
		snprintf(e->etag, sizeof(e->etag), "%s", v);
	else if (n == 13 && !memcmp(line, "last-modified", 13))
		snprintf(e->last_modified, sizeof(e->last_modified), "%s", v);
	else if (n == 9 && !memcmp(line, "validated", 9))
		e->validated = strtoull(v, NULL, 10);
	return 0;
}

/* Read KEY.meta; the entry only if its body has the length it says. */
static struct cache_entry *load_entry(struct cache *c, const char *key)
{
	char name[48], buf[META_MAX + 1];
	file_name(name, sizeof(name), key, "meta");
	int fd = openat(c->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return NULL;
	ssize_t n = read(fd, buf, META_MAX);
	close(fd);
	struct cache_entry *e = calloc(1, sizeof(*e));
	if (n <= 0 || !e || memcmp(buf, "tftpd-cache 1\n", 14) != 0)
		goto bad;
	buf[n] = '\0';
	snprintf(e->key, sizeof(e->key), "%s", key);
	for (char *line = buf, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
		*nl = '\0';
		if (meta_field(e, line) < 0)
			goto bad;
	}
	struct stat st;
	file_name(name, sizeof(name), key, "body");
	if (!e->url || fstatat(c->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISREG(st.st_mode) || (uint64_t)st.st_size != e->size)
		goto bad;
	return e;
bad:
	if (e)
		free(e->url);
	free(e);
	unlink_entry_files(c, key);
	return NULL;
}

static struct cache_entry *index_get(struct cache *c, const char *key)
{
	for (struct cache_entry *e = c->bucket[bucket_of(key)]; e; e = e->hnext)
		if (!strcmp(e->key, key))
			return e;
	return NULL;
}

/* Least recently used first out, until the total fits (keep, just
 * stored, stays). Open descriptors keep their bytes readable. */
static void evict(struct cache *c, const struct cache_entry *keep)
{
	while (c->bytes > c->max && c->lru_tail && c->lru_tail != keep) {
		struct cache_entry *e = c->lru_tail;
		tftp_logf(c->log, TFTP_LOG_DEBUG, "cache: evicted %s (%" PRIu64
			  " bytes)", e->key, e->size);
		unlink_entry_files(c, e->key);
		index_remove(c, e);
	}
}

static int is_key(const char *s, size_t n)
{
	if (n != 32)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* .tmp.PID.N of a process that is gone (not another worker's, which may
 * be filling it now). */
static int tmp_orphan(const char *name)
{
	long pid = strtol(name + 5, NULL, 10);
	return pid <= 0 || pid == (long)getpid() ||
	       (kill((pid_t)pid, 0) < 0 && errno == ESRCH);
}

/* Temporaries of a server that was killed go; complete entries are
 * indexed, the least recently validated last in line. */
static void scan(struct cache *c)
{
	int fd = dup(c->dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	unsigned stale = 0;
	for (struct dirent *de; (de = readdir(d));) {
		const char *n = de->d_name;
		size_t len = strlen(n);
		if (!strncmp(n, ".tmp.", 5)) {
			stale += tmp_orphan(n) && unlinkat(c->dirfd, n, 0) == 0;
			continue;
		}
		if (len != 37 || strcmp(n + 32, ".meta") || !is_key(n, 32))
			continue;
		char key[33];
		memcpy(key, n, 32);
		key[32] = '\0';
		struct cache_entry *e = load_entry(c, key);
		if (!e)
			continue;
		/* Older validations toward the tail. */
		struct cache_entry *at = c->lru_head;
		index_add(c, e);
		while (at && at->validated > e->validated) {
			struct cache_entry *next = at->lru_next;
			lru_unlink(c, e);
			e->lru_prev = at;
			e->lru_next = next;
			at->lru_next = e;
			if (next)
				next->lru_prev = e;
			else
				c->lru_tail = e;
			at = next;
		}
	}
	closedir(d);
	if (stale)
		tftp_logf(c->log, TFTP_LOG_INFO, "cache: removed %u unfinished "
			  "download(s) left by a server that was killed", stale);
}

struct cache *cache_open(const char *dir, uint64_t max_bytes, uid_t owner,
			 gid_t group, const struct tftp_log *log)
{
	struct cache *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->max = max_bytes;
	c->log = log;
	int made = mkdir(dir, 0750) == 0;
	c->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (made && c->dirfd >= 0 && geteuid() == 0 &&
	    fchown(c->dirfd, owner, group) < 0)
		tftp_logf(log, TFTP_LOG_WARN, "--cache %s: chown: %s", dir,
			  strerror(errno));
	if (c->dirfd < 0) {
		tftp_logf(log, TFTP_LOG_ERR, "--cache %s: %s", dir,
			  strerror(errno));
		free(c);
		return NULL;
	}
	scan(c);
	evict(c, NULL);
	tftp_logf(log, TFTP_LOG_INFO, "cache %s: %u entries, %" PRIu64
		  " bytes of at most %" PRIu64, dir, c->count, c->bytes, c->max);
	return c;
}

void cache_close(struct cache *c)
{
	if (!c)
		return;
	while (c->lru_head)
		index_remove(c, c->lru_head);
	close(c->dirfd);
	free(c);
}

struct cache_entry *cache_find(struct cache *c, const char *url)
{
	char key[33];
	url_key(url, key);
	struct cache_entry *e = index_get(c, key);
	if (!e && (e = load_entry(c, key))) /* stored by another worker */
		index_add(c, e);
	if (!e)
		return NULL;
	if (strcmp(e->url, url) != 0)
		return NULL; /* another URL with the same hash: a miss */
	lru_unlink(c, e);
	lru_front(c, e);
	return e;
}

int cache_open_body(struct cache *c, struct cache_entry *e)
{
	char name[48];
	file_name(name, sizeof(name), e->key, "body");
	int fd = openat(c->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	if (fd >= 0 && fstat(fd, &st) == 0 && (uint64_t)st.st_size == e->size)
		return fd;
	if (fd >= 0)
		close(fd);
	index_remove(c, e); /* evicted or replaced by another worker */
	return -1;
}

int cache_tmp(struct cache *c, char *path, size_t cap)
{
	for (int tries = 0; tries < 16; tries++) {
		snprintf(path, cap, ".tmp.%ld.%u", (long)getpid(), c->tmp_seq++);
		int fd = openat(c->dirfd, path, O_RDWR | O_CREAT | O_EXCL |
					       O_CLOEXEC | O_NOFOLLOW, 0640);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	return -1;
}

/* KEY.meta, written to a temporary and renamed. */
static int write_meta(struct cache *c, const struct cache_entry *e)
{
	char buf[META_MAX], tmp[64], name[48];
	int n = snprintf(buf, sizeof(buf), "tftpd-cache 1\nurl %s\nsize %" PRIu64
			 "\netag %s\nlast-modified %s\nvalidated %" PRIu64 "\n",
			 e->url, e->size, e->etag, e->last_modified,
			 e->validated);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -1;
	int fd = cache_tmp(c, tmp, sizeof(tmp));
	if (fd < 0)
		return -1;
	int ok = write(fd, buf, (size_t)n) == n;
	close(fd);
	file_name(name, sizeof(name), e->key, "meta");
	if (!ok || renameat(c->dirfd, tmp, c->dirfd, name) < 0) {
		(void)unlinkat(c->dirfd, tmp, 0);
		return -1;
	}
	return 0;
}

static struct cache_entry *new_entry(const char *url, uint64_t size,
				     const struct http_head *h, uint64_t now_s)
{
	struct cache_entry *e = calloc(1, sizeof(*e));
	if (!e || !(e->url = strdup(url))) {
		free(e);
		return NULL;
	}
	url_key(url, e->key);
	e->size = size;
	snprintf(e->etag, sizeof(e->etag), "%s", h->etag);
	snprintf(e->last_modified, sizeof(e->last_modified), "%s",
		 h->last_modified);
	e->validated = now_s;
	return e;
}

int cache_store(struct cache *c, const char *path, const char *url,
		uint64_t size, const struct http_head *h, uint64_t now_s)
{
	char name[48];
	struct cache_entry *e = new_entry(url, size, h, now_s);
	if (!e || size > c->max) {
		if (e)
			free(e->url);
		free(e);
		(void)unlinkat(c->dirfd, path, 0);
		return -1;
	}
	struct cache_entry *old = index_get(c, e->key);
	if (old)
		index_remove(c, old);
	/* Meta first out of the way: an old meta never names a new body. */
	file_name(name, sizeof(name), e->key, "meta");
	(void)unlinkat(c->dirfd, name, 0);
	file_name(name, sizeof(name), e->key, "body");
	if (renameat(c->dirfd, path, c->dirfd, name) < 0 ||
	    write_meta(c, e) < 0) {
		(void)unlinkat(c->dirfd, path, 0);
		unlink_entry_files(c, e->key);
		free(e->url);
		free(e);
		return -1;
	}
	index_add(c, e);
	evict(c, e);
	return 0;
}

int cache_probe(struct cache *c)
{
	char tmp[64];
	int fd = cache_tmp(c, tmp, sizeof(tmp));
	if (fd < 0)
		return -1;
	close(fd);
	(void)unlinkat(c->dirfd, tmp, 0);
	return 0;
}

void cache_discard(struct cache *c, const char *path)
{
	(void)unlinkat(c->dirfd, path, 0);
}

void cache_validated(struct cache *c, struct cache_entry *e, uint64_t now_s)
{
	e->validated = now_s;
	(void)write_meta(c, e);
}

void cache_drop(struct cache *c, struct cache_entry *e)
{
	unlink_entry_files(c, e->key);
	index_remove(c, e);
}

uint64_t cache_bytes(const struct cache *c)
{
	return c->bytes;
}

unsigned cache_count(const struct cache *c)
{
	return c->count;
}
