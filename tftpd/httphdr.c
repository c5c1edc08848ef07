/* See httphdr.h. */
#include "httphdr.h"

#include <string.h>

void http_head_reset(struct http_head *h)
{
	memset(h, 0, sizeof(*h));
	h->length = -1;
}

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* The header's name is name (lower case), followed by a colon. */
static int is_header(const char *line, size_t len, const char *name,
		     size_t *value_at)
{
	size_t n = strlen(name);
	if (len <= n || line[n] != ':')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (lower((unsigned char)line[i]) != name[i])
			return 0;
	*value_at = n + 1;
	return 1;
}

/* "HTTP/1.1 200 OK", "HTTP/2 304": the three-digit code. */
static int status_line(struct http_head *h, const char *line, size_t len)
{
	if (len < 5 || memcmp(line, "HTTP/", 5) != 0)
		return 0;
	size_t i = 5;
	while (i < len && line[i] != ' ')
		i++;
	if (len - i < 4)
		return 1; /* a status line without a code: no status */
	int code = 0;
	for (size_t k = i + 1; k < i + 4; k++) {
		if (line[k] < '0' || line[k] > '9')
			return 1;
		code = code * 10 + (line[k] - '0');
	}
	if ((i + 4 < len && line[i + 4] != ' ') || code < 100)
		return 1;
	http_head_reset(h); /* a new head: after a 1xx, or a redirect's */
	h->status = code;
	return 1;
}

/* Decimal, nothing else, at most 2^53 (no body that large is real). */
static void content_length(struct http_head *h, const char *v, size_t n)
{
	int64_t x = 0;
	if (n == 0 || n > 16) {
		h->bad_length = 1;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9') {
			h->bad_length = 1;
			return;
		}
		x = x * 10 + (v[i] - '0');
	}
	if (x > ((int64_t)1 << 53) || (h->length >= 0 && h->length != x))
		h->bad_length = 1;
	else
		h->length = x;
}

/* A validator is sent back verbatim in a conditional request: only
 * printable ASCII that fits, else none (the entry is then refetched). */
static void validator(char *out, const char *v, size_t n)
{
	out[0] = '\0';
	if (n == 0 || n >= HTTP_VALIDATOR_MAX)
		return;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e)
			return;
	memcpy(out, v, n);
	out[n] = '\0';
}

static int has_token(const char *v, size_t n, const char *tok)
{
	size_t t = strlen(tok);
	for (size_t i = 0; i + t <= n; i++) {
		size_t k = 0;
		while (k < t && lower((unsigned char)v[i + k]) == tok[k])
			k++;
		if (k == t)
			return 1;
	}
	return 0;
}

int http_head_line(struct http_head *h, const char *line, size_t len)
{
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (len == 0)
		return 1;
	if (status_line(h, line, len))
		return 0;
	size_t at;
	const char *names[] = {"content-length", "etag", "last-modified",
			       "transfer-encoding"};
	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		if (!is_header(line, len, names[k], &at))
			continue;
		while (at < len && (line[at] == ' ' || line[at] == '\t'))
			at++;
		size_t end = len;
		while (end > at && (line[end - 1] == ' ' || line[end - 1] == '\t'))
			end--;
		const char *v = line + at;
		size_t n = end - at;
		if (k == 0)
			content_length(h, v, n);
		else if (k == 1)
			validator(h->etag, v, n);
		else if (k == 2)
			validator(h->last_modified, v, n);
		else
			h->chunked = has_token(v, n, "chunked");
		break;
	}
	return 0;
}
