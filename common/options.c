/* TFTP options: RFC 2347/2348/2349/7440. See options.h.
 *
 * Decisions:
 *  - A repeated option: the FIRST occurrence decides, valid or not. If it is
 *    invalid the option is absent even when a later repeat would be valid;
 *    a peer that repeats an option is confused and we do not guess which
 *    copy it meant.
 *  - Values are plain decimal (leading zeros allowed); anything else,
 *    including an empty value, drops the option. A blksize above 65464 is
 *    read as 65464.
 *  - Caps of 0 in struct tftp_server_caps mean "the protocol limit", and
 *    caps are clamped to the protocol range, so a zeroed struct with
 *    allow_options = 1 accepts everything the RFCs allow.
 *  - OACK tsize is informational: any valid value is accepted (the server
 *    answers a get with the file size and should echo a put's size; a
 *    differing echo does not affect the transfer).
 */
#include "options.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

struct opt_def {
	const char *name;
	unsigned bit;
	uint64_t min, max;
};

static const struct opt_def opt_defs[] = {
	{"blksize", TFTP_OPT_BLKSIZE, TFTP_BLKSIZE_MIN, TFTP_BLKSIZE_MAX},
	{"timeout", TFTP_OPT_TIMEOUT, TFTP_TIMEOUT_MIN, TFTP_TIMEOUT_MAX},
	{"tsize", TFTP_OPT_TSIZE, 0, UINT64_MAX},
	{"windowsize", TFTP_OPT_WINDOWSIZE, TFTP_WINDOW_MIN, TFTP_WINDOW_MAX},
	{"blksize2", TFTP_OPT_BLKSIZE2, TFTP_BLKSIZE_MIN, TFTP_BLKSIZE_MAX},
	{"utimeout", TFTP_OPT_UTIMEOUT, TFTP_UTIMEOUT_MIN, TFTP_UTIMEOUT_MAX},
	{"rollover", TFTP_OPT_ROLLOVER, 0, 1},
};
#define N_OPT_DEFS (sizeof(opt_defs) / sizeof(opt_defs[0]))

static const struct opt_def *opt_lookup(struct tftp_slice name)
{
	for (size_t i = 0; i < N_OPT_DEFS; i++)
		if (name.len == strlen(opt_defs[i].name) &&
		    strncasecmp(name.ptr, opt_defs[i].name, name.len) == 0)
			return &opt_defs[i];
	return NULL;
}

int tftp_parse_decimal(struct tftp_slice s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	if (!s.ptr || s.len == 0)
		return -1;
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.ptr[i];
		if (c < '0' || c > '9')
			return -1;
		unsigned d = c - '0';
		if (v > (UINT64_MAX - d) / 10u)
			return -1; /* v * 10 + d would overflow */
		v = v * 10u + d;
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

/* The value of one option if it is decimal and within the option's range.
 * A blksize above the protocol's largest is read as the largest: RFC 2348
 * lets the server answer smaller, and a client asking 65535 gets 65464. */
static int opt_value(const struct opt_def *d, struct tftp_slice v,
		     uint64_t *out, int clamp)
{
	int size = d->bit == TFTP_OPT_BLKSIZE || d->bit == TFTP_OPT_BLKSIZE2;
	uint64_t max = clamp && size ? UINT64_MAX : d->max;
	if (tftp_parse_decimal(v, max, out) < 0 || *out < d->min)
		return -1;
	if (*out > d->max)
		*out = d->max;
	return 0;
}

static void opts_set(struct tftp_opts *o, unsigned bit, uint64_t v)
{
	/* Callers range-checked v, so the narrowing casts are exact. */
	switch (bit) {
	case TFTP_OPT_BLKSIZE:
		o->blksize = (uint32_t)v;
		break;
	case TFTP_OPT_TIMEOUT:
		o->timeout = (uint32_t)v;
		break;
	case TFTP_OPT_TSIZE:
		o->tsize = v;
		break;
	case TFTP_OPT_WINDOWSIZE:
		o->windowsize = (uint32_t)v;
		break;
	case TFTP_OPT_BLKSIZE2:
		o->blksize2 = (uint32_t)v;
		break;
	case TFTP_OPT_UTIMEOUT:
		o->utimeout = (uint32_t)v;
		break;
	case TFTP_OPT_ROLLOVER:
		o->rollover = (uint32_t)v;
		break;
	}
	o->present |= bit;
}

void tftp_opts_from_packet(const struct tftp_packet *p, struct tftp_opts *out)
{
	unsigned seen = 0;
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < p->nopts && i < TFTP_OPTIONS_MAX; i++) {
		const struct opt_def *d = opt_lookup(p->opts[i].name);
		uint64_t v;
		if (!d || (seen & d->bit))
			continue; /* unknown, or a repeat: the first decided */
		seen |= d->bit;
		if (opt_value(d, p->opts[i].value, &v, 1) == 0)
			opts_set(out, d->bit, v);
	}
}

static uint32_t clamp_cap(uint32_t cap, uint32_t lo, uint32_t hi)
{
	if (cap == 0 || cap > hi)
		return hi;
	return cap < lo ? lo : cap;
}

static uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

/* The largest power of 2 not above v (v >= 1). */
static uint32_t pow2_floor(uint32_t v)
{
	uint32_t p = 1;
	while (p <= v / 2u)
		p *= 2u;
	return p;
}

/* tftp-hpa's own options, each only where the standard one is absent. */
static void negotiate_hpa(const struct tftp_opts *req,
			  const struct tftp_server_caps *caps,
			  struct tftp_opts *acc)
{
	if ((req->present & TFTP_OPT_BLKSIZE2) &&
	    !(req->present & TFTP_OPT_BLKSIZE) &&
	    req->blksize2 >= TFTP_BLKSIZE_MIN &&
	    req->blksize2 <= TFTP_BLKSIZE_MAX) {
		uint32_t v = min_u32(min_u32(req->blksize2, TFTP_BLKSIZE2_MAX),
				     clamp_cap(caps->max_blksize,
					       TFTP_BLKSIZE_MIN,
					       TFTP_BLKSIZE_MAX));
		opts_set(acc, TFTP_OPT_BLKSIZE2, pow2_floor(v));
	}
	uint64_t max_us = (uint64_t)clamp_cap(caps->max_timeout,
					      TFTP_TIMEOUT_MIN,
					      TFTP_TIMEOUT_MAX) * 1000000u;
	if ((req->present & TFTP_OPT_UTIMEOUT) &&
	    !(acc->present & TFTP_OPT_TIMEOUT) &&
	    !(req->present & TFTP_OPT_TIMEOUT) &&
	    req->utimeout >= TFTP_UTIMEOUT_MIN && req->utimeout <= max_us)
		opts_set(acc, TFTP_OPT_UTIMEOUT, req->utimeout);
	if ((req->present & TFTP_OPT_ROLLOVER) && req->rollover == 0)
		opts_set(acc, TFTP_OPT_ROLLOVER, 0);
}

void tftp_opts_negotiate(const struct tftp_opts *req,
			 const struct tftp_server_caps *caps, int is_read,
			 enum tftp_mode mode, uint64_t file_size,
			 struct tftp_opts *acc)
{
	memset(acc, 0, sizeof(*acc));
	if (!caps->allow_options)
		return;
	/* req normally comes from tftp_opts_from_packet and is in range; the
	 * range checks here keep a hand-made req from producing a bad OACK. */
	if ((req->present & TFTP_OPT_BLKSIZE) &&
	    req->blksize >= TFTP_BLKSIZE_MIN && req->blksize <= TFTP_BLKSIZE_MAX)
		opts_set(acc, TFTP_OPT_BLKSIZE,
			 min_u32(req->blksize,
				 clamp_cap(caps->max_blksize, TFTP_BLKSIZE_MIN,
					   TFTP_BLKSIZE_MAX)));
	if ((req->present & TFTP_OPT_TIMEOUT) &&
	    req->timeout >= TFTP_TIMEOUT_MIN &&
	    req->timeout <= clamp_cap(caps->max_timeout, TFTP_TIMEOUT_MIN,
				      TFTP_TIMEOUT_MAX))
		opts_set(acc, TFTP_OPT_TIMEOUT, req->timeout);
	/* A netascii read's size on the wire is unknown until it is sent. */
	if ((req->present & TFTP_OPT_TSIZE) &&
	    !(is_read && mode == TFTP_MODE_NETASCII))
		opts_set(acc, TFTP_OPT_TSIZE, is_read ? file_size : req->tsize);
	if ((req->present & TFTP_OPT_WINDOWSIZE) &&
	    req->windowsize >= TFTP_WINDOW_MIN &&
	    req->windowsize <= TFTP_WINDOW_MAX)
		opts_set(acc, TFTP_OPT_WINDOWSIZE,
			 min_u32(req->windowsize,
				 clamp_cap(caps->max_window, TFTP_WINDOW_MIN,
					   TFTP_WINDOW_MAX)));
	negotiate_hpa(req, caps, acc);
}

static uint64_t opts_get(const struct tftp_opts *o, unsigned bit)
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

size_t tftp_opts_append(uint8_t *buf, size_t cap, size_t len,
			const struct tftp_opts *o)
{
	/* opt_defs is in the wire order: blksize timeout tsize windowsize. */
	for (size_t i = 0; i < N_OPT_DEFS && len; i++) {
		char num[24]; /* UINT64_MAX has 20 digits */
		if (!(o->present & opt_defs[i].bit))
			continue;
		snprintf(num, sizeof(num), "%" PRIu64,
			 opts_get(o, opt_defs[i].bit));
		len = tftp_build_append_option(buf, cap, len, opt_defs[i].name,
					       num);
	}
	return len;
}

/* Check one OACK option against what was asked. Returns 0 or -1 with why. */
static int check_oack_opt(const struct tftp_opts *asked,
			  const struct tftp_option_kv *kv, unsigned seen,
			  struct tftp_opts *agreed, char *why, size_t whylen)
{
	const struct opt_def *d = opt_lookup(kv->name);
	uint64_t v;
	if (!d) {
		snprintf(why, whylen, "OACK has unknown option '%.*s'",
			 (int)(kv->name.len > 32 ? 32 : kv->name.len),
			 kv->name.ptr);
		return -1;
	}
	if (!(asked->present & d->bit)) {
		snprintf(why, whylen, "OACK has %s, which was not requested",
			 d->name);
		return -1;
	}
	if (seen & d->bit) {
		snprintf(why, whylen, "OACK repeats %s", d->name);
		return -1;
	}
	if (opt_value(d, kv->value, &v, 0) < 0) { /* a server must not */
		snprintf(why, whylen, "OACK has an invalid %s value", d->name);
		return -1;
	}
	uint64_t want = opts_get(asked, d->bit);
	if ((d->bit == TFTP_OPT_BLKSIZE || d->bit == TFTP_OPT_WINDOWSIZE ||
	     d->bit == TFTP_OPT_BLKSIZE2) &&
	    v > want) {
		snprintf(why, whylen, "OACK %s %" PRIu64 " above the %" PRIu64
			 " requested", d->name, v, want);
		return -1;
	}
	if ((d->bit == TFTP_OPT_UTIMEOUT || d->bit == TFTP_OPT_ROLLOVER) &&
	    v != want) {
		snprintf(why, whylen, "OACK %s %" PRIu64 " differs from the %"
			 PRIu64 " requested", d->name, v, want);
		return -1;
	}
	if (d->bit == TFTP_OPT_TIMEOUT && v != want) {
		snprintf(why, whylen, "OACK timeout %" PRIu64
			 " differs from the %" PRIu64 " requested", v, want);
		return -1;
	}
	opts_set(agreed, d->bit, v);
	return 0;
}

int tftp_opts_validate_oack(const struct tftp_opts *asked,
			    const struct tftp_packet *oack,
			    struct tftp_opts *agreed, char *why, size_t whylen)
{
	char scratch[1];
	if (!why || whylen == 0) {
		why = scratch; /* the reason is optional for the caller */
		whylen = sizeof(scratch);
	}
	memset(agreed, 0, sizeof(*agreed));
	why[0] = '\0';
	if (oack->op != TFTP_OP_OACK) {
		snprintf(why, whylen, "not an OACK");
		return -1;
	}
	if (oack->nopts == 0) {
		snprintf(why, whylen, "empty OACK");
		return -1;
	}
	for (size_t i = 0; i < oack->nopts && i < TFTP_OPTIONS_MAX; i++)
		if (check_oack_opt(asked, &oack->opts[i], agreed->present,
				   agreed, why, whylen) < 0) {
			memset(agreed, 0, sizeof(*agreed));
			return -1;
		}
	return 0;
}
