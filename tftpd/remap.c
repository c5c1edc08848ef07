/* File name remapping, tftp-hpa's format and semantics. See remap.h. */
#include "remap.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "packet.h"

#define REMAP_MAX_RULES 1024u
#define REMAP_MAX_STEPS 1024u  /* rules tried a request (hpa's deadman) */
#define REMAP_MAX_REPEATS 1024u /* matches of one g rule in a row */
#define REMAP_LINE_MAX 16384u
/* Room for a name between rules: a rule may lengthen it for a later one
 * to shorten; the result must still fit TFTP_FILENAME_MAX. */
#define REMAP_WORK_MAX (4u * TFTP_FILENAME_MAX)
#define REMAP_FILE_MAX (16u << 20)
/* Where "start over" (s) resumes: tftp-hpa steps on from the head of its
 * list, i.e. to the second rule; checked against in.tftpd by
 * tests/integration/tftpd/test_remap.py. */
#define REMAP_RESTART_AT 0u

enum rule_flag {
	RULE_REWRITE = 1u << 0,  /* r */
	RULE_GLOBAL = 1u << 1,   /* g */
	RULE_ICASE = 1u << 2,    /* i */
	RULE_EXIT = 1u << 3,     /* e */
	RULE_RESTART = 1u << 4,  /* s */
	RULE_ABORT = 1u << 5,    /* a */
	RULE_GETONLY = 1u << 6,  /* G */
	RULE_PUTONLY = 1u << 7,  /* P */
	RULE_IPV4 = 1u << 8,     /* 4 */
	RULE_IPV6 = 1u << 9,     /* 6 */
	RULE_INVERSE = 1u << 10, /* ~ */
};

struct rule {
	unsigned flags;
	regex_t rx;
	char *pattern; /* the replacement as written, "" if none */
};

struct remap {
	struct rule *rules;
	unsigned n;
};

/* ---- reading the rules ------------------------------------------------- */

/* The next field of line at *pos into buf (cap bytes): white space first
 * is skipped; the field ends at unescaped white space or "#"; a backslash
 * keeps the next character in the field, and stays itself. Returns its
 * length (0: no more fields), or -1 if it does not fit. */
static long read_field(const char *line, size_t *pos, char *buf, size_t cap)
{
	size_t p = *pos, n = 0;
	int escaped = 0;
	while (line[p] && isspace((unsigned char)line[p]))
		p++;
	while (line[p]) {
		char c = line[p];
		if (!escaped && (isspace((unsigned char)c) || c == '#'))
			break;
		/* Two backslashes leave the escape off again. */
		escaped = !escaped && c == '\\';
		if (n + 1 >= cap)
			return -1;
		buf[n++] = c;
		p++;
	}
	buf[n] = '\0';
	*pos = p;
	return (long)n;
}

static int parse_ops(const char *ops, unsigned *flags, char *why, size_t wl)
{
	static const char letters[] = "rgiesaGP46~";
	*flags = 0;
	for (const char *c = ops; *c; c++) {
		const char *at = strchr(letters, *c);
		if (!at) {
			snprintf(why, wl, "unknown operation '%c'", *c);
			return -1;
		}
		*flags |= 1u << (at - letters);
	}
	if ((*flags & RULE_REWRITE) && (*flags & RULE_INVERSE)) {
		snprintf(why, wl, "'r' and '~' exclude each other");
		return -1;
	}
	return 0;
}

/* The end of a bracket expression starting at p ("[" at p[-1]): "]" first
 * (after an optional "^") is a member; [:class:] and the like are skipped
 * whole. NULL if it does not end. */
static const char *bracket_end(const char *p)
{
	if (*p == '^')
		p++;
	if (*p == ']')
		p++;
	for (; *p && *p != ']'; p++)
		if (p[0] == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
			const char *e = strchr(p + 2, p[1]);
			if (!e || e[1] != ']')
				return NULL;
			p = e + 1;
		}
	return *p ? p : NULL;
}

/* Expressions that make glibc's regcomp build exponentially large
 * automata (it copies a repeated subexpression once per repetition):
 * a quantifier on a quantifier ("a++", "a{9}{9}"), bounds above 255, or
 * bounded repetitions whose counts multiply past 4096. POSIX leaves the
 * first undefined and no remap file needs the others. NULL, or why. */
static const char *too_costly(const char *rx)
{
	unsigned long product = 1;
	int after_quantifier = 0;
	for (const char *p = rx; *p; p++) {
		int quant = *p == '*' || *p == '+' || *p == '?' || *p == '{';
		if (quant && after_quantifier)
			return "a quantifier on a quantifier";
		after_quantifier = quant;
		if (*p == '\\' && p[1]) {
			p++;
		} else if (*p == '[') {
			p = bracket_end(p + 1);
			if (!p)
				return NULL; /* regcomp reports it */
		} else if (*p == '{') {
			char *end;
			unsigned long lo = strtoul(p + 1, &end, 10), hi = lo;
			if (*end == ',')
				hi = end[1] == '}' ? lo : strtoul(end + 1, &end, 10);
			if (lo > 255 || hi > 255)
				return "a repetition count above 255";
			product *= (hi > lo ? hi : lo) + 1u;
			if (product > 4096)
				return "repetition counts multiply past 4096";
			const char *close = strchr(p, '}');
			if (close)
				p = close;
		}
	}
	return NULL;
}

/* One line into rule r. 1: a rule; 0: nothing on the line; -1: why. */
static int parse_line(const char *line, struct rule *r, char *why, size_t wl)
{
	char ops[64], rx[REMAP_LINE_MAX], pat[REMAP_LINE_MAX];
	size_t pos = 0;
	long n = read_field(line, &pos, ops, sizeof(ops));
	if (n == 0)
		return 0;
	if (n < 0 || parse_ops(ops, &r->flags, why, wl) < 0) {
		if (n < 0)
			snprintf(why, wl, "operations too long");
		return -1;
	}
	if (read_field(line, &pos, rx, sizeof(rx)) <= 0) {
		snprintf(why, wl, "no regular expression");
		return -1;
	}
	if (read_field(line, &pos, pat, sizeof(pat)) <= 0) {
		if (r->flags & RULE_REWRITE) {
			snprintf(why, wl, "'r' without a replacement");
			return -1;
		}
		pat[0] = '\0';
	}
	const char *costly = too_costly(rx);
	if (costly) {
		snprintf(why, wl, "regular expression '%.40s': %s", rx, costly);
		return -1;
	}
	int rc = regcomp(&r->rx, rx,
			 REG_EXTENDED | ((r->flags & RULE_ICASE) ? REG_ICASE : 0));
	if (rc != 0) {
		char msg[128];
		regerror(rc, &r->rx, msg, sizeof(msg));
		snprintf(why, wl, "bad regular expression '%.40s': %s", rx, msg);
		return -1;
	}
	r->pattern = strdup(pat);
	if (!r->pattern) {
		regfree(&r->rx);
		snprintf(why, wl, "out of memory");
		return -1;
	}
	return 1;
}

/* The next line of text (no NUL inside: a NUL ends the rule file there,
 * as it would tftp-hpa's fgets-based reader) into line. */
static int next_line(const char *text, size_t len, size_t *at, char *line,
		     size_t cap)
{
	size_t n = 0;
	if (*at >= len)
		return 0;
	while (*at < len && text[*at] != '\n') {
		if (n + 1 < cap && text[*at] != '\0' && text[*at] != '\r')
			line[n++] = text[*at];
		(*at)++;
	}
	if (*at < len)
		(*at)++; /* the newline */
	line[n] = '\0';
	return 1;
}

static int add_rule(struct remap *m, const struct rule *r)
{
	struct rule *nr = realloc(m->rules, (m->n + 1u) * sizeof(*nr));
	if (!nr)
		return -1;
	m->rules = nr;
	m->rules[m->n++] = *r;
	return 0;
}

struct remap *remap_parse(const char *text, size_t len, const char *name,
			  char *err, size_t errlen)
{
	struct remap *m = calloc(1, sizeof(*m));
	char *line = malloc(REMAP_LINE_MAX);
	size_t at = 0;
	unsigned lineno = 0;
	char why[256];
	if (!m || !line) {
		snprintf(err, errlen, "%s: out of memory", name);
		goto fail;
	}
	while (next_line(text, len, &at, line, REMAP_LINE_MAX)) {
		struct rule r;
		lineno++;
		int rc = parse_line(line, &r, why, sizeof(why));
		if (rc == 0)
			continue;
		if (rc > 0 && m->n >= REMAP_MAX_RULES)
			snprintf(why, sizeof(why), "more than %u rules",
				 REMAP_MAX_RULES);
		if (rc < 0 || m->n >= REMAP_MAX_RULES || add_rule(m, &r) < 0) {
			if (rc > 0) {
				regfree(&r.rx);
				free(r.pattern);
			}
			snprintf(err, errlen, "%s:%u: %s", name, lineno, why);
			goto fail;
		}
	}
	free(line);
	return m;
fail:
	free(line);
	remap_free(m);
	return NULL;
}

struct remap *remap_load(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	char *buf = malloc(REMAP_FILE_MAX);
	size_t n = buf ? fread(buf, 1, REMAP_FILE_MAX, f) : 0;
	int bad = !buf || ferror(f) || !feof(f);
	fclose(f);
	if (bad) {
		snprintf(err, errlen, "%s: %s", path,
			 !buf ? "out of memory" : "cannot read it whole "
						  "(16 MiB at most)");
		free(buf);
		return NULL;
	}
	struct remap *m = remap_parse(buf, n, path, err, errlen);
	free(buf);
	return m;
}

void remap_free(struct remap *m)
{
	if (!m)
		return;
	for (unsigned i = 0; i < m->n; i++) {
		regfree(&m->rules[i].rx);
		free(m->rules[i].pattern);
	}
	free(m->rules);
	free(m);
}

unsigned remap_count(const struct remap *m)
{
	return m ? m->n : 0;
}

/* ---- applying them ----------------------------------------------------- */

/* Where a replacement is written, bounded. */
struct sink {
	char *p;
	size_t n, cap;
	int over;
};

static void put(struct sink *s, char c)
{
	if (s->n + 1 >= s->cap) {
		s->over = 1;
		return;
	}
	s->p[s->n++] = c;
}

static char xform(char c, int casemode)
{
	if (casemode == 'U')
		return (char)toupper((unsigned char)c);
	if (casemode == 'L')
		return (char)tolower((unsigned char)c);
	return c;
}

/* \i and \x: the client's address as text, or in hex (8 digits for IPv4,
 * 32 for IPv6, upper case). 1 if macro is one of them. */
static int put_address(struct sink *s, char macro, const struct sockaddr *sa)
{
	char buf[INET6_ADDRSTRLEN + 1] = "";
	const uint8_t *b = NULL;
	size_t nb = 0;
	if (macro != 'i' && macro != 'x')
		return 0;
	if (sa->sa_family == AF_INET) {
		b = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
		nb = 4;
	} else if (sa->sa_family == AF_INET6) {
		b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		nb = 16;
	}
	if (macro == 'i' && b)
		(void)inet_ntop(sa->sa_family, b, buf, sizeof(buf));
	for (size_t i = 0; macro == 'x' && i < nb; i++)
		snprintf(buf + 2 * i, 3, "%02X", b[i]);
	for (const char *c = buf; *c; c++)
		put(s, *c);
	return 1;
}

/* The replacement pattern for the match pm in cur, with the text before
 * and after the match around it (tftp-hpa's genmatchstring). */
static void expand(struct sink *s, const char *pattern, const char *cur,
		   const regmatch_t *pm, const struct sockaddr *client)
{
	int casemode = 0;
	if (pm[0].rm_so >= 0)
		for (regoff_t i = 0; i < pm[0].rm_so; i++)
			put(s, cur[i]);
	for (const char *p = pattern; *p; p++) {
		if (p[0] != '\\' || p[1] == '\0') {
			put(s, xform(*p, casemode));
			continue;
		}
		char c = *++p;
		if (c >= '0' && c <= '9') {
			const regmatch_t *g = &pm[c - '0'];
			for (regoff_t i = g->rm_so; g->rm_so >= 0 && i < g->rm_eo; i++)
				put(s, xform(cur[i], casemode));
		} else if (c == 'U' || c == 'L') {
			casemode = c;
		} else if (c == 'E') {
			casemode = 0;
		} else if (!put_address(s, c, client)) {
			put(s, xform(c, casemode));
		}
	}
	if (pm[0].rm_so >= 0)
		for (const char *t = cur + pm[0].rm_eo; *t; t++)
			put(s, *t);
	s->p[s->n] = '\0';
}

static int applies(const struct rule *r, int is_write, int family)
{
	if ((r->flags & RULE_GETONLY) && is_write)
		return 0;
	if ((r->flags & RULE_PUTONLY) && !is_write)
		return 0;
	if ((r->flags & RULE_IPV4) && family != AF_INET)
		return 0;
	if ((r->flags & RULE_IPV6) && family != AF_INET6)
		return 0;
	return 1;
}

/* One rule on cur, repeated while it matches if global. Returns -1 if it
 * did not match, else 0, or REMAP_REFUSED/REMAP_FAILED + 1 to stop. */
static int run_rule(const struct rule *r, char *cur, char *tmp,
		    const struct sockaddr *client, char *out, size_t outcap)
{
	int matched = 0;
	for (unsigned reps = 0;; reps++) {
		regmatch_t pm[10];
		int rc = regexec(&r->rx, cur, 10, pm, 0);
		if ((r->flags & RULE_INVERSE) ? rc != REG_NOMATCH : rc != 0)
			break;
		matched = 1;
		if (reps >= REMAP_MAX_REPEATS)
			return REMAP_FAILED + 1;
		if (r->flags & RULE_INVERSE)
			for (int i = 0; i < 10; i++)
				pm[i].rm_so = pm[i].rm_eo = -1;
		if (r->flags & RULE_ABORT) {
			struct sink s = {out, 0, outcap, 0};
			if (r->pattern[0])
				expand(&s, r->pattern, cur, pm, client);
			else
				out[0] = '\0';
			return REMAP_REFUSED + 1;
		}
		if (r->flags & RULE_REWRITE) {
			struct sink s = {tmp, 0, REMAP_WORK_MAX, 0};
			expand(&s, r->pattern, cur, pm, client);
			if (s.over)
				return REMAP_FAILED + 1;
			memcpy(cur, tmp, s.n + 1u);
		}
		if (!(r->flags & RULE_GLOBAL))
			break;
	}
	return matched ? 0 : -1;
}

static enum remap_result run_rules(const struct remap *m, char *cur, char *tmp,
				   int is_write, const struct sockaddr *client,
				   char *out, size_t outcap)
{
	unsigned steps = 0;
	for (unsigned i = 0; i < m->n; i++) {
		const struct rule *r = &m->rules[i];
		if (!applies(r, is_write, client->sa_family))
			continue;
		if (steps++ >= REMAP_MAX_STEPS)
			return REMAP_FAILED;
		int rc = run_rule(r, cur, tmp, client, out, outcap);
		if (rc > 0)
			return (enum remap_result)(rc - 1);
		if (rc < 0)
			continue;
		if (r->flags & RULE_EXIT)
			break;
		/* Like tftp-hpa: "start over" resumes at the rule after the
		 * first (its loop steps on from the head of the list). */
		if (r->flags & RULE_RESTART)
			i = REMAP_RESTART_AT;
	}
	return REMAP_OK;
}

enum remap_result remap_apply(const struct remap *m, const char *name,
			      int is_write, const struct sockaddr *client,
			      char *out, size_t outcap)
{
	size_t len = strlen(name);
	if (outcap == 0)
		return REMAP_FAILED;
	out[0] = '\0';
	if (len >= REMAP_WORK_MAX)
		return REMAP_FAILED;
	char *cur = malloc(REMAP_WORK_MAX), *tmp = malloc(REMAP_WORK_MAX);
	enum remap_result res = REMAP_FAILED;
	if (cur && tmp) {
		memcpy(cur, name, len + 1u);
		res = m ? run_rules(m, cur, tmp, is_write, client, out, outcap)
			: REMAP_OK;
		if (res == REMAP_OK) {
			if (strlen(cur) < outcap)
				memcpy(out, cur, strlen(cur) + 1u);
			else
				res = REMAP_FAILED;
		}
	}
	free(cur);
	free(tmp);
	return res;
}
