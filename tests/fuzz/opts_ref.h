/* A reference model of the option rules of RFC 2347/2348/2349/7440 as
 * options.h documents them, written independently of common/options.c so
 * the fuzz targets can compare the two. Test code only. */
#ifndef TFTP_FUZZ_OPTS_REF_H
#define TFTP_FUZZ_OPTS_REF_H

#include <stdint.h>
#include <strings.h>

#include "options.h"
#include "packet.h"

/* Which option a name is (its TFTP_OPT_* bit), or 0 if unknown. */
static inline unsigned ref_opt_bit(struct tftp_slice name)
{
	static const struct {
		const char *name;
		unsigned bit;
	} known[] = {
		{"blksize", TFTP_OPT_BLKSIZE},
		{"timeout", TFTP_OPT_TIMEOUT},
		{"tsize", TFTP_OPT_TSIZE},
		{"windowsize", TFTP_OPT_WINDOWSIZE},
		{"blksize2", TFTP_OPT_BLKSIZE2},
		{"utimeout", TFTP_OPT_UTIMEOUT},
		{"rollover", TFTP_OPT_ROLLOVER},
	};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (name.len == strlen(known[i].name) &&
		    strncasecmp(name.ptr, known[i].name, name.len) == 0)
			return known[i].bit;
	return 0;
}

/* Plain decimal: one or more digits, nothing else, no overflow, <= max. */
static inline int ref_decimal(struct tftp_slice s, uint64_t max,
			      uint64_t *out)
{
	uint64_t v = 0;
	if (s.len == 0)
		return -1;
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.ptr[i];
		if (c < '0' || c > '9')
			return -1;
		unsigned d = c - '0';
		if (v > (UINT64_MAX - d) / 10u)
			return -1;
		v = v * 10u + d;
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

/* The value of an option of kind bit, if it is in range. In a request
 * (in_request), a blksize above the largest is read as the largest (RFC
 * 2348 lets the server answer a smaller one); in an OACK it is invalid. */
static inline int ref_opt_value(unsigned bit, struct tftp_slice v,
				uint64_t *out, int in_request)
{
	uint64_t lo = 0, hi = UINT64_MAX;
	switch (bit) {
	case TFTP_OPT_BLKSIZE:
		lo = TFTP_BLKSIZE_MIN;
		hi = TFTP_BLKSIZE_MAX;
		break;
	case TFTP_OPT_TIMEOUT:
		lo = TFTP_TIMEOUT_MIN;
		hi = TFTP_TIMEOUT_MAX;
		break;
	case TFTP_OPT_WINDOWSIZE:
		lo = TFTP_WINDOW_MIN;
		hi = TFTP_WINDOW_MAX;
		break;
	case TFTP_OPT_BLKSIZE2:
		lo = TFTP_BLKSIZE_MIN;
		hi = TFTP_BLKSIZE_MAX;
		break;
	case TFTP_OPT_UTIMEOUT:
		lo = TFTP_UTIMEOUT_MIN;
		hi = TFTP_UTIMEOUT_MAX;
		break;
	case TFTP_OPT_ROLLOVER:
		lo = 0;
		hi = 1;
		break;
	case TFTP_OPT_TSIZE:
		break;
	default:
		return -1;
	}
	uint64_t x;
	int size = bit == TFTP_OPT_BLKSIZE || bit == TFTP_OPT_BLKSIZE2;
	uint64_t lim = size && in_request ? UINT64_MAX : hi;
	if (ref_decimal(v, lim, &x) < 0 || x < lo)
		return -1;
	*out = x > hi ? hi : x;
	return 0;
}

static inline uint64_t ref_opts_get(const struct tftp_opts *o, unsigned bit)
{
	switch (bit) {
	case TFTP_OPT_BLKSIZE:
		return o->blksize;
	case TFTP_OPT_TIMEOUT:
		return o->timeout;
	case TFTP_OPT_TSIZE:
		return o->tsize;
	case TFTP_OPT_WINDOWSIZE:
		return o->windowsize;
	case TFTP_OPT_BLKSIZE2:
		return o->blksize2;
	case TFTP_OPT_UTIMEOUT:
		return o->utimeout;
	case TFTP_OPT_ROLLOVER:
		return o->rollover;
	}
	return 0;
}

#define REF_ALL_OPTS                                                         \
	(TFTP_OPT_BLKSIZE | TFTP_OPT_TIMEOUT | TFTP_OPT_TSIZE |              \
	 TFTP_OPT_WINDOWSIZE | TFTP_OPT_BLKSIZE2 | TFTP_OPT_UTIMEOUT |        \
	 TFTP_OPT_ROLLOVER)

/* Check tftp_opts_from_packet's result o against the packet's options:
 * an option with no valid occurrence is absent; one whose first
 * occurrence is valid has that value; otherwise (the first is invalid, a
 * later one valid) the value, if present, is one of the valid ones.
 * Returns NULL or a description of the mismatch. */
static inline const char *ref_check_from_packet(const struct tftp_packet *p,
						const struct tftp_opts *o)
{
	if (o->present & ~(unsigned)REF_ALL_OPTS)
		return "unknown bit present";
	for (unsigned bit = 1; bit <= TFTP_OPT_LAST; bit <<= 1) {
		int seen = 0, first_valid = 0, any_valid = 0, match = 0;
		uint64_t first = 0;
		uint64_t got = ref_opts_get(o, bit);
		for (size_t i = 0; i < p->nopts; i++) {
			if (ref_opt_bit(p->opts[i].name) != bit)
				continue;
			uint64_t v = 0;
			int ok = ref_opt_value(bit, p->opts[i].value, &v, 1) == 0;
			if (!seen) {
				first_valid = ok;
				first = v;
			}
			seen = 1;
			if (ok) {
				any_valid = 1;
				if (v == got)
					match = 1;
			}
		}
		int present = (o->present & bit) != 0;
		if (!any_valid && present)
			return "option present without a valid value";
		if (first_valid && !present)
			return "valid first occurrence dropped";
		if (first_valid && got != first)
			return "value is not the first occurrence's";
		if (present && !match)
			return "value not from the packet";
	}
	return NULL;
}

#endif
