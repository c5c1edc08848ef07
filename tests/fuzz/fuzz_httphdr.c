/* libFuzzer target: what tftpd reads from an HTTP origin's head
 * (tftpd/httphdr.c) and the origin URL it builds from a client's name
 * (tftpd/originurl.c).
 *
 * Input: lines separated by '\n', each handed over as libcurl would (with
 * its '\n'); the first line is also used as a file name for the URL.
 * Invariants:
 *  - the status is 0 or three digits; a length is -1 or in [0, 2^53];
 *  - validators are NUL-terminated, printable ASCII, within their arrays;
 *  - a blank line, and only that, ends a head;
 *  - a URL built is NUL-terminated, holds only unreserved characters, '/'
 *    and %XX escapes where the name went, and decodes back to the name.
 */
#include "fuzz_util.h"
#include "httphdr.h"
#include "originurl.h"

static void check_validator(const char *v)
{
	size_t n = strnlen(v, HTTP_VALIDATOR_MAX);
	FUZZ_CHECK(n < HTTP_VALIDATOR_MAX, "validator not terminated");
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK((unsigned char)v[i] >= 0x20 && (unsigned char)v[i] < 0x7f,
			   "validator byte 0x%02x", (unsigned char)v[i]);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "http://o/" + encoded name: decode it and compare. */
static void check_url(const char *name)
{
	char url[600];
	enum origin_url_result r = origin_url("http://o/", name, "10.0.0.1", NULL,
					      url, sizeof(url));
	FUZZ_CHECK(memchr(url, 0, sizeof(url)) != NULL, "URL not terminated");
	if (r != ORIGIN_URL_OK) {
		FUZZ_CHECK(r == ORIGIN_URL_TOO_LONG, "result %d", (int)r);
		return;
	}
	const char *p = url + 9;
	char back[600];
	size_t n = 0;
	while (*p) {
		char c = *p;
		if (c == '%') {
			int hi = hexval(p[1]), lo = hi >= 0 ? hexval(p[2]) : -1;
			FUZZ_CHECK(hi >= 0 && lo >= 0, "bad escape in %s", url);
			back[n++] = (char)(hi * 16 + lo);
			p += 3;
			continue;
		}
		FUZZ_CHECK((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			   (c >= '0' && c <= '9') || strchr("-._~/", c),
			   "raw byte 0x%02x in %s", (unsigned char)c, url);
		back[n++] = c;
		p++;
	}
	back[n] = '\0';
	FUZZ_CHECK(strcmp(back, name) == 0, "URL does not decode to the name");
	/* {mac} without a MAC is refused, never filled with garbage. */
	FUZZ_CHECK(origin_url("http://o/{mac}/{file}", name, NULL, NULL, url,
			      sizeof(url)) == ORIGIN_URL_NO_MAC, "no MAC");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_head h;
	http_head_reset(&h);
	char *copy = malloc(size + 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	size_t at = 0;
	int first = 1;
	while (at < size) {
		const char *nl = memchr(copy + at, '\n', size - at);
		size_t len = nl ? (size_t)(nl - (copy + at)) + 1 : size - at;
		/* An exact-size copy: a read past the line is ASan's. */
		char *line = malloc(len ? len : 1);
		memcpy(line, copy + at, len);
		int end = http_head_line(&h, line, len);
		size_t k = len;
		while (k > 0 && (line[k - 1] == '\n' || line[k - 1] == '\r'))
			k--;
		FUZZ_CHECK(end == (k == 0), "end of head %d for a line of %zu", end, k);
		if (first && k < 400) {
			char name[401];
			memcpy(name, line, k);
			name[k] = '\0';
			if (strlen(name) == k)
				check_url(name);
			first = 0;
		}
		free(line);
		FUZZ_CHECK(h.status == 0 || (h.status >= 100 && h.status <= 999),
			   "status %d", h.status);
		FUZZ_CHECK(h.length >= -1 && h.length <= ((int64_t)1 << 53),
			   "length %lld", (long long)h.length);
		check_validator(h.etag);
		check_validator(h.last_modified);
		at += len;
	}
	free(copy);
	return 0;
}
