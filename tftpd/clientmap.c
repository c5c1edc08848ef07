/* Per-network directories and option caps; see clientmap.h. */
#include "clientmap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "fileio.h"
#include "fsroot.h"
#include "options.h"
#include "packet.h"

#define LINE_MAX_BYTES 1024u
#define FILE_MAX_BYTES (1u << 20)

struct rule {
	int family;
	uint8_t net[16];
	unsigned prefix;          /* bits */
	struct clientmap_entry e;
};

struct clientmap {
	struct rule *rules;
	unsigned n;
};

unsigned clientmap_option_bit(const char *name, size_t len)
{
	static const struct {
		const char *name;
		unsigned bit;
	} known[] = {
		{"blksize", TFTP_OPT_BLKSIZE},
		{"blksize2", TFTP_OPT_BLKSIZE2},
		{"tsize", TFTP_OPT_TSIZE},
		{"timeout", TFTP_OPT_TIMEOUT},
		{"utimeout", TFTP_OPT_UTIMEOUT},
		{"rollover", TFTP_OPT_ROLLOVER},
		{"windowsize", TFTP_OPT_WINDOWSIZE},
	};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strlen(known[i].name) == len &&
		    strncasecmp(name, known[i].name, len) == 0)
			return known[i].bit;
	return 0;
}

static void say(char *why, size_t cap, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void say(char *why, size_t cap, unsigned line, const char *fmt, ...)
{
	char msg[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(why, cap, "line %u: %s", line, msg);
}

/* "192.0.2.0/24", "2001:db8::/32", or an address alone (a host). */
static int parse_cidr(const char *tok, struct rule *r)
{
	char addr[64];
	const char *slash = strchr(tok, '/');
	size_t n = slash ? (size_t)(slash - tok) : strlen(tok);
	if (n == 0 || n >= sizeof(addr))
		return -1;
	memcpy(addr, tok, n);
	addr[n] = '\0';
	if (inet_pton(AF_INET, addr, r->net) == 1)
		r->family = AF_INET;
	else if (inet_pton(AF_INET6, addr, r->net) == 1)
		r->family = AF_INET6;
	else
		return -1;
	unsigned max = r->family == AF_INET ? 32u : 128u;
	uint64_t bits = max;
	if (slash) {
		struct tftp_slice sl = {slash + 1, strlen(slash + 1)};
		if (tftp_parse_decimal(sl, max, &bits) < 0)
			return -1;
	}
	r->prefix = (unsigned)bits;
	/* The host bits of the network are ignored, as ip(8) would. */
	for (unsigned b = r->prefix; b < max; b++)
		r->net[b / 8u] &= (uint8_t)~(0x80u >> (b % 8u));
	return 0;
}

static int parse_dir(const char *tok, struct rule *r, char *why, size_t cap,
		     unsigned line)
{
	char clean[TFTP_FILENAME_MAX + 2];
	struct tftp_err err = {0};
	if (strcmp(tok, "-") == 0)
		return 0;
	if (tok[0] == '/' || strlen(tok) > TFTP_FILENAME_MAX ||
	    fsroot_clean_name(tok, clean, sizeof(clean), &err) < 0) {
		say(why, cap, line, "directory '%s' must be a plain path "
		    "relative to the root (no '..', not absolute)", tok);
		return -1;
	}
	r->e.dir = strdup(clean);
	if (!r->e.dir) {
		say(why, cap, line, "out of memory");
		return -1;
	}
	return 0;
}

/* refuse=LIST: option names separated by commas. */
static int parse_refuse(const char *list, struct rule *r)
{
	for (const char *p = list; *p;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		unsigned bit = clientmap_option_bit(p, n);
		if (!bit)
			return -1;
		r->e.refuse |= bit;
		p = end ? end + 1 : p + n;
	}
	return 0;
}

static int parse_cap(const char *tok, struct rule *r)
{
	const char *eq = strchr(tok, '=');
	if (!eq || !eq[1])
		return -1;
	size_t klen = (size_t)(eq - tok);
	struct tftp_slice val = {eq + 1, strlen(eq + 1)};
	uint64_t v;
	if (klen == 7 && strncmp(tok, "blksize", 7) == 0) {
		if (tftp_parse_decimal(val, TFTP_BLKSIZE_MAX, &v) < 0 ||
		    v < TFTP_BLKSIZE_MIN)
			return -1;
		r->e.max_blksize = (uint32_t)v;
		return 0;
	}
	if (klen == 10 && strncmp(tok, "windowsize", 10) == 0) {
		if (tftp_parse_decimal(val, TFTP_WINDOW_MAX, &v) < 0 ||
		    v < TFTP_WINDOW_MIN)
			return -1;
		r->e.max_window = (uint32_t)v;
		return 0;
	}
	if (klen == 6 && strncmp(tok, "refuse", 6) == 0)
		return parse_refuse(eq + 1, r);
	return -1;
}

/* One line's fields (tok, already split, n of them) into r. */
static int parse_fields(char **tok, unsigned n, struct rule *r, char *why,
			size_t cap, unsigned line)
{
	if (n < 2) {
		say(why, cap, line, "expected a network and a directory "
		    "('-' for none)");
		return -1;
	}
	if (parse_cidr(tok[0], r) < 0) {
		say(why, cap, line, "'%s' is not a network (192.0.2.0/24, "
		    "2001:db8::/32 or an address)", tok[0]);
		return -1;
	}
	if (parse_dir(tok[1], r, why, cap, line) < 0)
		return -1;
	for (unsigned i = 2; i < n; i++)
		if (parse_cap(tok[i], r) < 0) {
			say(why, cap, line, "'%s' is not blksize=N, "
			    "windowsize=N or refuse=OPTION[,OPTION]", tok[i]);
			return -1;
		}
	return 0;
}

/* Split buf (modified) at blanks, up to max fields; a '#' starts a
 * comment. Returns the count; more than max is max + 1. */
static unsigned split(char *buf, char **tok, unsigned max)
{
	unsigned n = 0;
	char *hash = strchr(buf, '#'), *save = NULL;
	if (hash)
		*hash = '\0';
	for (char *p = strtok_r(buf, " \t\r", &save); p;
	     p = strtok_r(NULL, " \t\r", &save)) {
		if (n == max)
			return max + 1;
		tok[n++] = p;
	}
	return n;
}

static int add_line(struct clientmap *m, const char *text, size_t len,
		    unsigned line, char *why, size_t cap)
{
	char buf[LINE_MAX_BYTES + 1], *tok[12];
	if (len > LINE_MAX_BYTES || memchr(text, '\0', len)) {
		say(why, cap, line, "too long, or a NUL byte");
		return -1;
	}
	memcpy(buf, text, len);
	buf[len] = '\0';
	unsigned n = split(buf, tok, 11);
	if (n == 0)
		return 0;
	if (n > 11 || m->n >= CLIENTMAP_MAX_LINES) {
		say(why, cap, line, n > 11 ? "too many fields"
				    : "too many lines");
		return -1;
	}
	struct rule *r = &m->rules[m->n];
	memset(r, 0, sizeof(*r));
	if (parse_fields(tok, n, r, why, cap, line) < 0) {
		free((char *)r->e.dir);
		return -1;
	}
	m->n++;
	return 0;
}

struct clientmap *clientmap_parse(const char *text, size_t len, char *why,
				  size_t cap)
{
	struct clientmap *m = calloc(1, sizeof(*m));
	if (m)
		m->rules = calloc(CLIENTMAP_MAX_LINES, sizeof(*m->rules));
	if (!m || !m->rules) {
		snprintf(why, cap, "out of memory");
		clientmap_free(m);
		return NULL;
	}
	unsigned line = 1;
	for (size_t off = 0; off < len; line++) {
		const char *nl = memchr(text + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (text + off)) : len - off;
		if (add_line(m, text + off, n, line, why, cap) < 0) {
			clientmap_free(m);
			return NULL;
		}
		off += n + 1;
	}
	return m;
}

struct clientmap *clientmap_load(const char *path, char *why, size_t cap)
{
	char *buf = malloc(FILE_MAX_BYTES + 1);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 || !buf ? -1
				   : tftp_pread_full(fd, buf, FILE_MAX_BYTES + 1, 0);
	int e = errno;
	if (fd >= 0)
		close(fd);
	if (n < 0 || (size_t)n > FILE_MAX_BYTES) {
		snprintf(why, cap, "%s", n < 0 ? strerror(e) : "larger than 1 MiB");
		free(buf);
		return NULL;
	}
	struct clientmap *m = clientmap_parse(buf, (size_t)n, why, cap);
	free(buf);
	return m;
}

void clientmap_free(struct clientmap *m)
{
	if (!m)
		return;
	for (unsigned i = 0; m->rules && i < m->n; i++)
		free((char *)m->rules[i].e.dir);
	free(m->rules);
	free(m);
}

unsigned clientmap_count(const struct clientmap *m)
{
	return m ? m->n : 0;
}

static int holds(const struct rule *r, const uint8_t *a)
{
	unsigned full = r->prefix / 8u, bits = r->prefix % 8u;
	if (memcmp(r->net, a, full) != 0)
		return 0;
	return !bits || ((r->net[full] ^ a[full]) & (0xffu << (8u - bits))) == 0;
}

const struct clientmap_entry *clientmap_find(const struct clientmap *m,
					     const struct sockaddr *addr)
{
	const uint8_t *a;
	if (!m)
		return NULL;
	if (addr->sa_family == AF_INET)
		a = (const uint8_t *)&((const struct sockaddr_in *)(const void *)addr)->sin_addr;
	else if (addr->sa_family == AF_INET6)
		a = ((const struct sockaddr_in6 *)(const void *)addr)->sin6_addr.s6_addr;
	else
		return NULL;
	const struct rule *best = NULL;
	for (unsigned i = 0; i < m->n; i++) {
		const struct rule *r = &m->rules[i];
		if (r->family == addr->sa_family && holds(r, a) &&
		    (!best || r->prefix > best->prefix))
			best = r;
	}
	return best ? &best->e : NULL;
}
