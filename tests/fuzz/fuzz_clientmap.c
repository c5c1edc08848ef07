/* libFuzzer target: --client-root-map files (tftpd/clientmap.c) and
 * --windows-names' name normalisation (tftpd/winnames.c).
 *
 * Input: a map file's text, a NUL, then bytes used as client addresses
 * (a family byte and 16 address bytes each), and names to normalise.
 * Invariants:
 *  - a map is accepted or refused with "line N: reason", never a crash,
 *    a leak or a read past the input;
 *  - an accepted map's every answer is sane: its directory a cleaned
 *    relative path without "..", its caps within the options' ranges,
 *    its refusals known option bits; the same address gives the same
 *    entry; an address of another family than every rule gets none;
 *  - a normalised name is NUL-terminated, no longer than the input, and
 *    has no backslash left.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "clientmap.h"
#include "fuzz_util.h"
#include "options.h"
#include "winnames.h"

static void check_entry(const struct clientmap_entry *e)
{
	if (!e)
		return;
	if (e->dir) {
		FUZZ_CHECK(e->dir[0] && e->dir[0] != '/', "dir '%s'", e->dir);
		FUZZ_CHECK(strstr(e->dir, "..") == NULL ||
				   (strcmp(e->dir, "..") != 0 &&
				    strncmp(e->dir, "../", 3) != 0 &&
				    !strstr(e->dir, "/../")),
			   "dir '%s' climbs", e->dir);
	}
	FUZZ_CHECK(e->max_blksize == 0 ||
			   (e->max_blksize >= TFTP_BLKSIZE_MIN &&
			    e->max_blksize <= TFTP_BLKSIZE_MAX),
		   "blksize cap %u", (unsigned)e->max_blksize);
	FUZZ_CHECK(e->max_window <= TFTP_WINDOW_MAX, "window cap %u",
		   (unsigned)e->max_window);
	FUZZ_CHECK((e->refuse & ~((TFTP_OPT_LAST << 1) - 1u)) == 0,
		   "refuse bits %#x", e->refuse);
}

static void lookups(const struct clientmap *m, struct fz *f)
{
	for (int i = 0; i < 16 && fz_left(f) >= 17; i++) {
		struct sockaddr_storage ss;
		memset(&ss, 0, sizeof(ss));
		uint8_t fam = fz_u8(f);
		size_t got;
		const uint8_t *a = fz_bytes(f, 16, &got);
		if (fam & 1) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
			s6->sin6_family = AF_INET6;
			memcpy(&s6->sin6_addr, a, got);
		} else {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
			s4->sin_family = AF_INET;
			memcpy(&s4->sin_addr, a, got < 4 ? got : 4);
		}
		const struct clientmap_entry *e =
			clientmap_find(m, (struct sockaddr *)&ss);
		check_entry(e);
		FUZZ_CHECK(e == clientmap_find(m, (struct sockaddr *)&ss),
			   "not deterministic");
		if (fam & 2) {
			ss.ss_family = AF_UNIX;
			FUZZ_CHECK(!clientmap_find(m, (struct sockaddr *)&ss),
				   "an entry for a non-IP address");
		}
	}
}

static void names(struct fz *f)
{
	size_t got;
	const uint8_t *p = fz_bytes(f, fz_left(f), &got);
	char *in = malloc(got + 1);
	if (!in)
		abort();
	memcpy(in, p, got);
	in[got] = '\0';
	char out[TFTP_FILENAME_MAX + 2];
	if (winname_normalize(in, out, sizeof(out)) == 0) {
		FUZZ_CHECK(strlen(out) <= strlen(in), "grew");
		FUZZ_CHECK(!strchr(out, '\\'), "a backslash left in '%s'", out);
	} else {
		FUZZ_CHECK(strlen(in) + 1 > sizeof(out), "refused a short name");
	}
	free(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t tlen = nul ? (size_t)(nul - data) : size;
	char *text = (char *)fz_dup(data, tlen);
	char why[300];
	memset(why, 0, sizeof(why));
	struct clientmap *m = clientmap_parse(text, tlen, why, sizeof(why));
	if (!m)
		FUZZ_CHECK(strncmp(why, "line ", 5) == 0 ||
				   strcmp(why, "out of memory") == 0,
			   "refused without a line: '%s'", why);
	struct fz f = {nul ? nul + 1 : data + size, nul ? size - tlen - 1 : 0};
	lookups(m, &f);
	names(&f);
	clientmap_free(m);
	free(text);
	return 0;
}
