/* Windows clients' names; see winnames.h. */
#include "winnames.h"

#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsroot.h"

/* Directories whose listings are kept, and the bounds of one listing (a
 * larger directory is not searched: a request must not cost a scan of a
 * million names). */
#define CI_DIRS 64u
#define CI_NAMES_MAX 16384u
#define CI_BYTES_MAX (1u << 20)

struct ci_dir {
	char *path;              /* relative, exact case; NULL: unused */
	dev_t dev;
	ino_t ino;
	struct timespec mtime;
	char *names;             /* NUL-separated, in byte order */
	size_t nnames;
	uint64_t used;           /* for eviction: the least recently used */
};

struct ci_cache {
	struct ci_dir dirs[CI_DIRS];
	uint64_t tick;
};

int winname_normalize(const char *in, char *out, size_t cap)
{
	size_t n = strlen(in), j = 0;
	/* "C:" only as a drive: a letter, a colon, then a separator or the
	 * end ("c:foo" is a name like any other). */
	if (n >= 2 && ((in[0] | 0x20) >= 'a' && (in[0] | 0x20) <= 'z') &&
	    in[1] == ':' && (n == 2 || in[2] == '\\' || in[2] == '/'))
		in += 2, n -= 2;
	if (n + 1 > cap)
		return -1;
	for (size_t i = 0; i < n; i++)
		out[j++] = in[i] == '\\' ? '/' : in[i];
	out[j] = '\0';
	return 0;
}

struct ci_cache *ci_cache_new(void)
{
	return calloc(1, sizeof(struct ci_cache));
}

static void dir_clear(struct ci_dir *d)
{
	free(d->path);
	free(d->names);
	memset(d, 0, sizeof(*d));
}

void ci_cache_free(struct ci_cache *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < CI_DIRS; i++)
		dir_clear(&c->dirs[i]);
	free(c);
}

static int by_bytes(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The entries of the directory fd (consumed), sorted, as one buffer of
 * NUL-terminated names. Returns the buffer (count in *n), or NULL. */
static char *read_names(int fd, size_t *n)
{
	DIR *dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return NULL;
	}
	char **v = malloc(CI_NAMES_MAX * sizeof(*v));
	size_t count = 0, bytes = 0;
	struct dirent *e;
	while (v && (e = readdir(dir)) != NULL && count < CI_NAMES_MAX) {
		size_t len = strlen(e->d_name) + 1;
		if (bytes + len > CI_BYTES_MAX || !(v[count] = strdup(e->d_name)))
			break;
		bytes += len;
		count++;
	}
	closedir(dir);
	char *buf = v ? malloc(bytes ? bytes : 1) : NULL;
	if (buf) {
		qsort(v, count, sizeof(*v), by_bytes);
		for (size_t i = 0, off = 0; i < count; i++) {
			size_t len = strlen(v[i]) + 1;
			memcpy(buf + off, v[i], len);
			off += len;
		}
	}
	for (size_t i = 0; v && i < count; i++)
		free(v[i]);
	free(v);
	*n = count;
	return buf;
}

/* The cache entry for path: a fresh one, reused while the directory's
 * identity and modification time stay; the least recently used one is
 * replaced. NULL if the directory cannot be listed. */
static struct ci_dir *dir_listing(struct ci_cache *c, struct fsroot *r,
				  const char *path)
{
	struct stat st;
	int fd = fsroot_open_dir(r, path);
	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	struct ci_dir *d = NULL, *lru = &c->dirs[0];
	for (unsigned i = 0; i < CI_DIRS && !d; i++) {
		if (c->dirs[i].path && strcmp(c->dirs[i].path, path) == 0)
			d = &c->dirs[i];
		else if (c->dirs[i].used < lru->used)
			lru = &c->dirs[i];
	}
	if (d && d->dev == st.st_dev && d->ino == st.st_ino &&
	    d->mtime.tv_sec == st.st_mtim.tv_sec &&
	    d->mtime.tv_nsec == st.st_mtim.tv_nsec) {
		close(fd);
		d->used = ++c->tick;
		return d;
	}
	d = d ? d : lru;
	dir_clear(d);
	d->path = strdup(path);
	d->names = read_names(fd, &d->nnames);
	if (!d->path || !d->names) {
		dir_clear(d);
		return NULL;
	}
	d->dev = st.st_dev;
	d->ino = st.st_ino;
	d->mtime = st.st_mtim;
	d->used = ++c->tick;
	return d;
}

/* In the listing: comp itself, else the first name equal to it but for
 * case. NULL if neither. */
static const char *match(const struct ci_dir *d, const char *comp,
			 size_t len)
{
	const char *p = d->names, *found = NULL;
	for (size_t i = 0; i < d->nnames; i++, p += strlen(p) + 1) {
		if (strlen(p) != len)
			continue;
		if (memcmp(p, comp, len) == 0)
			return p;
		if (!found && strncasecmp(p, comp, len) == 0)
			found = p;
	}
	return found;
}

int ci_resolve(struct ci_cache *c, struct fsroot *r, const char *clean,
	       char *out, size_t cap)
{
	size_t have = 0;
	out[0] = '\0';
	for (const char *p = clean; *p;) {
		const char *end = strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const struct ci_dir *d = dir_listing(c, r, out);
		const char *m = d ? match(d, p, len) : NULL;
		if (!m || have + (have ? 1 : 0) + len + 1 > cap)
			return -1;
		if (have)
			out[have++] = '/';
		memcpy(out + have, m, len + 1);
		have += len;
		p = end ? end + 1 : p + len;
	}
	return have ? 0 : -1;
}
