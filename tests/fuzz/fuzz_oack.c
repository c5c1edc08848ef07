/* libFuzzer target: the client's check of a server's OACK.
 *
 * Input: what the client asked (options in their valid ranges, as the
 * client's command line allows), the size of the reason buffer, then the
 * OACK's option bytes (the opcode is prepended). Invariants:
 *  - the reason is always NUL-terminated inside the buffer it was given,
 *    never written past it (heap buffer of exactly that size);
 *  - an accepted OACK is not empty, carries only options that were asked,
 *    each once, with a valid value: blksize and windowsize no larger than
 *    asked, timeout equal to the one asked; the agreed values are the
 *    OACK's;
 *  - a clean OACK (each option asked, once, valid, within those limits) is
 *    accepted.
 */
#include "fuzz_util.h"
#include "opts_ref.h"

static int limit_ok(const struct tftp_opts *asked, unsigned bit, uint64_t v)
{
	switch (bit) {
	case TFTP_OPT_BLKSIZE:
		return v <= asked->blksize;
	case TFTP_OPT_WINDOWSIZE:
		return v <= asked->windowsize;
	case TFTP_OPT_TIMEOUT:
		return v == asked->timeout;
	case TFTP_OPT_BLKSIZE2:
		return v <= asked->blksize2;
	case TFTP_OPT_UTIMEOUT:
		return v == asked->utimeout;
	case TFTP_OPT_ROLLOVER:
		return v == asked->rollover;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = {data, size};
	struct tftp_opts asked;
	memset(&asked, 0, sizeof(asked));
	asked.present = fz_u8(&f) & REF_ALL_OPTS;
	asked.blksize = fz_range(&f, TFTP_BLKSIZE_MIN, TFTP_BLKSIZE_MAX);
	asked.timeout = fz_range(&f, TFTP_TIMEOUT_MIN, TFTP_TIMEOUT_MAX);
	asked.windowsize = fz_range(&f, TFTP_WINDOW_MIN, TFTP_WINDOW_MAX);
	asked.tsize = fz_u64(&f);
	asked.blksize2 = fz_range(&f, TFTP_BLKSIZE_MIN, TFTP_BLKSIZE_MAX);
	asked.utimeout = fz_range(&f, TFTP_UTIMEOUT_MIN, TFTP_UTIMEOUT_MAX);
	asked.rollover = fz_range(&f, 0, 1);
	size_t whylen = fz_range(&f, 1, 200);

	size_t restlen;
	const uint8_t *rest = fz_bytes(&f, fz_left(&f), &restlen);
	size_t len = 2 + restlen;
	uint8_t *buf = malloc(len);
	if (!buf)
		abort();
	tftp_put16(buf, TFTP_OP_OACK);
	if (restlen)
		memcpy(buf + 2, rest, restlen);

	struct tftp_packet p;
	if (tftp_packet_parse(buf, len, &p) != TFTP_PARSE_OK) {
		free(buf);
		return 0;
	}
	FUZZ_CHECK(p.op == TFTP_OP_OACK, "OACK parsed as %d", (int)p.op);

	/* Reference: is this a clean OACK for what was asked? */
	int clean = p.nopts > 0;
	unsigned seen = 0;
	for (size_t i = 0; i < p.nopts; i++) {
		unsigned bit = ref_opt_bit(p.opts[i].name);
		uint64_t v;
		if (!bit || !(asked.present & bit) || (seen & bit) ||
		    ref_opt_value(bit, p.opts[i].value, &v, 0) < 0 ||
		    !limit_ok(&asked, bit, v))
			clean = 0;
		seen |= bit;
	}

	char *why = malloc(whylen);
	if (!why)
		abort();
	memset(why, 'x', whylen);
	struct tftp_opts agreed;
	memset(&agreed, 0xa5, sizeof(agreed));
	int r = tftp_opts_validate_oack(&asked, &p, &agreed, why, whylen);
	FUZZ_CHECK(r == 0 || r == -1, "validate returned %d", r);
	if (r < 0) {
		FUZZ_CHECK(memchr(why, 0, whylen) != NULL,
			   "reason not NUL-terminated in %zu bytes", whylen);
		FUZZ_CHECK(!clean, "clean OACK refused: %s", why);
		free(why);
		free(buf);
		return 0;
	}
	FUZZ_CHECK(agreed.present != 0, "empty OACK accepted");
	FUZZ_CHECK((agreed.present & ~asked.present) == 0,
		   "agreed %#x, asked %#x", agreed.present, asked.present);
	/* Everything in an accepted OACK is asked, valid and within limits. */
	seen = 0;
	for (size_t i = 0; i < p.nopts; i++) {
		unsigned bit = ref_opt_bit(p.opts[i].name);
		uint64_t v = 0;
		FUZZ_CHECK(bit && (asked.present & bit),
			   "accepted an OACK with '%.*s' not asked",
			   (int)p.opts[i].name.len, p.opts[i].name.ptr);
		FUZZ_CHECK(ref_opt_value(bit, p.opts[i].value, &v, 0) == 0,
			   "accepted an invalid value '%.*s' for '%.*s'",
			   (int)p.opts[i].value.len, p.opts[i].value.ptr,
			   (int)p.opts[i].name.len, p.opts[i].name.ptr);
		FUZZ_CHECK(limit_ok(&asked, bit, v),
			   "accepted '%.*s' = %llu beyond what was asked",
			   (int)p.opts[i].name.len, p.opts[i].name.ptr,
			   (unsigned long long)v);
		FUZZ_CHECK(agreed.present & bit, "option %#x in OACK dropped",
			   bit);
		if (!(seen & bit))
			FUZZ_CHECK(ref_opts_get(&agreed, bit) == v,
				   "agreed %#x = %llu, OACK says %llu", bit,
				   (unsigned long long)ref_opts_get(&agreed, bit),
				   (unsigned long long)v);
		seen |= bit;
	}
	FUZZ_CHECK(seen == agreed.present, "agreed %#x, OACK had %#x",
		   agreed.present, seen);
	free(why);
	free(buf);
	return 0;
}
