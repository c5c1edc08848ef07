/* libFuzzer target: tftp-hpa remap rules (tftpd/remap.c), the parser and
 * the rewriting.
 *
 * Input: a flags byte (WRQ or RRQ, IPv4 or IPv6 client), the length of a
 * rule file, the rule file, then file names separated by NUL bytes.
 * Invariants:
 *  - a rule file is accepted or refused with "NAME:LINE: reason", never a
 *    crash, a leak or a read past the input (exact-size heap copies);
 *  - every name gets an answer: OK with a NUL-terminated result that fits
 *    the buffer, REFUSED (its message terminated too) or FAILED, within
 *    the bounds (ASan, UBSan, the timeout catch the rest);
 *  - applying the same rules to the same name twice gives the same.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "fuzz_util.h"
#include "remap.h"

static void check_one(const struct remap *m, const char *name, int is_write,
		      const struct sockaddr *client)
{
	char out[256], again[256];
	memset(out, 'x', sizeof(out));
	enum remap_result r = remap_apply(m, name, is_write, client, out,
					  sizeof(out));
	FUZZ_CHECK(r == REMAP_OK || r == REMAP_REFUSED || r == REMAP_FAILED,
		   "result %d", (int)r);
	FUZZ_CHECK(memchr(out, 0, sizeof(out)) != NULL,
		   "result not terminated");
	enum remap_result r2 = remap_apply(m, name, is_write, client, again,
					   sizeof(again));
	FUZZ_CHECK(r2 == r && strcmp(out, again) == 0,
		   "not deterministic for '%s'", name);
	if (!m)
		FUZZ_CHECK(r == REMAP_FAILED || strcmp(out, name) == 0,
			   "no rules changed '%s'", name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = {data, size};
	uint8_t flags = fz_u8(&f);
	size_t rlen = fz_range(&f, 0, 4096);
	size_t got;
	const uint8_t *rules = fz_bytes(&f, rlen, &got);
	char *text = (char *)fz_dup(rules, got);
	char err[300];
	memset(err, 0, sizeof(err));
	struct remap *m = remap_parse(text, got, "fuzz", err, sizeof(err));
	if (!m)
		FUZZ_CHECK(strncmp(err, "fuzz:", 5) == 0, "reason '%s'", err);

	struct sockaddr_in v4 = {.sin_family = AF_INET};
	struct sockaddr_in6 v6 = {.sin6_family = AF_INET6};
	v4.sin_addr.s_addr = htonl(0xc00002a9u);
	v6.sin6_addr.s6_addr[15] = 1;
	const struct sockaddr *client = (flags & 2) ? (struct sockaddr *)&v6
						    : (struct sockaddr *)&v4;
	size_t left;
	const uint8_t *rest = fz_bytes(&f, fz_left(&f), &left);
	for (size_t i = 0, n = 0; i < left && n < 16; n++) {
		size_t j = i;
		while (j < left && rest[j])
			j++;
		char *name = malloc(j - i + 1u);
		if (!name)
			abort();
		memcpy(name, rest + i, j - i);
		name[j - i] = '\0';
		check_one(m, name, flags & 1, client);
		free(name);
		i = j + 1;
	}
	remap_free(m);
	free(text);
	return 0;
}
