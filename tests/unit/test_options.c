/* Unit tests of option parsing, negotiation and OACK validation
 * (common/options.c). */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "options.h"
#include "packet.h"

/* A packet under construction: the buffer outlives the parsed slices. */
struct pkt {
	uint8_t buf[1024];
	size_t len;
	struct tftp_packet p;
};

static void pkt_rrq(struct pkt *k)
{
	k->len = tftp_build_request(k->buf, sizeof(k->buf), TFTP_OP_RRQ, "f",
				    "octet");
	ck_assert_uint_gt(k->len, 0);
}

static void pkt_oack(struct pkt *k)
{
	k->len = tftp_build_oack(k->buf, sizeof(k->buf));
}

static void pkt_opt(struct pkt *k, const char *name, const char *value)
{
	k->len = tftp_build_append_option(k->buf, sizeof(k->buf), k->len, name,
					  value);
	ck_assert_uint_gt(k->len, 0);
}

static void pkt_parse(struct pkt *k)
{
	ck_assert_int_eq(tftp_packet_parse(k->buf, k->len, &k->p),
			 TFTP_PARSE_OK);
}

/* The options of an RRQ carrying the single option name=value. */
static struct tftp_opts one(const char *name, const char *value)
{
	struct pkt k;
	struct tftp_opts o;
	pkt_rrq(&k);
	pkt_opt(&k, name, value);
	pkt_parse(&k);
	tftp_opts_from_packet(&k.p, &o);
	return o;
}

static struct tftp_slice sl(const char *s)
{
	struct tftp_slice x = {s, strlen(s)};
	return x;
}

/* ---- decimal ----------------------------------------------------------- */

START_TEST(decimal)
{
	uint64_t v = 77;
	ck_assert_int_eq(tftp_parse_decimal(sl("0"), 10, &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(tftp_parse_decimal(sl("0010"), 10, &v), 0);
	ck_assert_uint_eq(v, 10);
	ck_assert_int_eq(tftp_parse_decimal(sl("11"), 10, &v), -1);
	ck_assert_int_eq(tftp_parse_decimal(sl("18446744073709551615"),
					    UINT64_MAX, &v),
			 0);
	ck_assert(v == UINT64_MAX);
	v = 5;
	static const char *const bad[] = {
		"", "12a", "-1", "0x10", " 12", "12 ", "+5", "1.5",
		"18446744073709551616", "99999999999999999999999",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(tftp_parse_decimal(sl(bad[i]), UINT64_MAX, &v) ==
				      -1,
			      "'%s' accepted", bad[i]);
		ck_assert_uint_eq(v, 5); /* untouched on failure */
	}
	/* The slice's length bounds the scan, not the C string. */
	struct tftp_slice s = {"123abc", 3};
	ck_assert_int_eq(tftp_parse_decimal(s, 1000, &v), 0);
	ck_assert_uint_eq(v, 123);
}
END_TEST

/* ---- ranges ------------------------------------------------------------ */

struct edge {
	const char *name, *value;
	int ok;
	uint64_t want;
};

static uint64_t field(const struct tftp_opts *o, unsigned bit)
{
	switch (bit) {
	case TFTP_OPT_BLKSIZE:
		return o->blksize;
	case TFTP_OPT_TIMEOUT:
		return o->timeout;
	case TFTP_OPT_TSIZE:
		return o->tsize;
	default:
		return o->windowsize;
	}
}

static unsigned bit_of(const char *name)
{
	if (strcasecmp(name, "blksize") == 0)
		return TFTP_OPT_BLKSIZE;
	if (strcasecmp(name, "timeout") == 0)
		return TFTP_OPT_TIMEOUT;
	if (strcasecmp(name, "tsize") == 0)
		return TFTP_OPT_TSIZE;
	return TFTP_OPT_WINDOWSIZE;
}

START_TEST(range_edges)
{
	static const struct edge edges[] = {
		{"blksize", "7", 0, 0},
		{"blksize", "8", 1, 8},
		{"blksize", "65464", 1, 65464},
		{"blksize", "65465", 1, 65464}, /* above the cap: the cap */
		{"blksize", "70000", 1, 65464},
		{"timeout", "0", 0, 0},
		{"timeout", "1", 1, 1},
		{"timeout", "255", 1, 255},
		{"timeout", "256", 0, 0},
		{"windowsize", "0", 0, 0},
		{"windowsize", "1", 1, 1},
		{"windowsize", "65535", 1, 65535},
		{"windowsize", "65536", 0, 0},
		{"tsize", "0", 1, 0},
		{"tsize", "18446744073709551615", 1, UINT64_MAX},
		{"tsize", "18446744073709551616", 0, 0},
		{"blksize", "4294967304", 1, 65464}, /* 2^32 + 8: the cap, not 8 */
		{"blksize", "18446744073709551616", 0, 0}, /* overflows */
	};
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
		const struct edge *e = &edges[i];
		struct tftp_opts o = one(e->name, e->value);
		unsigned bit = bit_of(e->name);
		if (e->ok) {
			ck_assert_msg(o.present == bit, "%s=%s dropped",
				      e->name, e->value);
			ck_assert(field(&o, bit) == e->want);
		} else {
			ck_assert_msg(o.present == 0, "%s=%s accepted",
				      e->name, e->value);
		}
	}
}
END_TEST

START_TEST(garbage_values)
{
	static const char *const bad[] = {"12a", "-1", "0x10", " 12", "",
					  "+5", "12 ", "1e3"};
	static const char *const names[] = {"blksize", "timeout", "tsize",
					    "windowsize"};
	for (size_t n = 0; n < 4; n++)
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			struct tftp_opts o = one(names[n], bad[i]);
			ck_assert_msg(o.present == 0, "%s='%s' accepted",
				      names[n], bad[i]);
		}
}
END_TEST

START_TEST(names_case_and_unknown)
{
	struct tftp_opts o = one("BlkSize", "1024");
	ck_assert_uint_eq(o.present, TFTP_OPT_BLKSIZE);
	ck_assert_uint_eq(o.blksize, 1024);
	o = one("TSIZE", "5");
	ck_assert_uint_eq(o.present, TFTP_OPT_TSIZE);
	o = one("WindowSize", "4");
	ck_assert_uint_eq(o.present, TFTP_OPT_WINDOWSIZE);
	o = one("multicast", "1");
	ck_assert_uint_eq(o.present, 0);
	o = one("BlkSize2", "512");
	ck_assert_uint_eq(o.present, TFTP_OPT_BLKSIZE2);
	ck_assert_uint_eq(o.blksize2, 512);
	o = one("utimeout", "9999"); /* below tftp-hpa's 10000 */
	ck_assert_uint_eq(o.present, 0);
	o = one("rollover", "2");
	ck_assert_uint_eq(o.present, 0);
	o = one("blksiz", "512");
	ck_assert_uint_eq(o.present, 0);
}
END_TEST

START_TEST(all_options_together)
{
	struct pkt k;
	struct tftp_opts o;
	pkt_rrq(&k);
	pkt_opt(&k, "rollover", "0");
	pkt_opt(&k, "windowsize", "16");
	pkt_opt(&k, "tsize", "0");
	pkt_opt(&k, "timeout", "3");
	pkt_opt(&k, "blksize", "1428");
	pkt_parse(&k);
	tftp_opts_from_packet(&k.p, &o);
	ck_assert_uint_eq(o.present, TFTP_OPT_BLKSIZE | TFTP_OPT_TIMEOUT |
					     TFTP_OPT_TSIZE |
					     TFTP_OPT_WINDOWSIZE |
					     TFTP_OPT_ROLLOVER);
	ck_assert_uint_eq(o.rollover, 0);
	ck_assert_uint_eq(o.blksize, 1428);
	ck_assert_uint_eq(o.timeout, 3);
	ck_assert_uint_eq(o.tsize, 0);
	ck_assert_uint_eq(o.windowsize, 16);
}
END_TEST

/* The first occurrence of a repeated option decides, valid or not. */
START_TEST(duplicates)
{
	struct pkt k;
	struct tftp_opts o;
	pkt_rrq(&k);
	pkt_opt(&k, "blksize", "1024");
	pkt_opt(&k, "BLKSIZE", "2048");
	pkt_parse(&k);
	tftp_opts_from_packet(&k.p, &o);
	ck_assert_uint_eq(o.present, TFTP_OPT_BLKSIZE);
	ck_assert_uint_eq(o.blksize, 1024);

	pkt_rrq(&k);
	pkt_opt(&k, "timeout", "0");
	pkt_opt(&k, "timeout", "5");
	pkt_opt(&k, "tsize", "9");
	pkt_parse(&k);
	tftp_opts_from_packet(&k.p, &o);
	ck_assert_uint_eq(o.present, TFTP_OPT_TSIZE);

	pkt_rrq(&k);
	pkt_opt(&k, "windowsize", "8");
	pkt_opt(&k, "windowsize", "junk");
	pkt_parse(&k);
	tftp_opts_from_packet(&k.p, &o);
	ck_assert_uint_eq(o.present, TFTP_OPT_WINDOWSIZE);
	ck_assert_uint_eq(o.windowsize, 8);
}
END_TEST

/* ---- negotiation ------------------------------------------------------- */

static struct tftp_opts req_all(void)
{
	struct tftp_opts r;
	memset(&r, 0, sizeof(r));
	r.present = TFTP_OPT_BLKSIZE | TFTP_OPT_TIMEOUT | TFTP_OPT_TSIZE |
		    TFTP_OPT_WINDOWSIZE;
	r.blksize = 8192;
	r.timeout = 2;
	r.tsize = 0;
	r.windowsize = 64;
	return r;
}

START_TEST(negotiate_caps)
{
	struct tftp_opts req = req_all(), acc;
	struct tftp_server_caps caps = {1, 1468, 16, 0};
	tftp_opts_negotiate(&req, &caps, 1, TFTP_MODE_OCTET, 123456, &acc);
	ck_assert_uint_eq(acc.present, req.present);
	ck_assert_uint_eq(acc.blksize, 1468);
	ck_assert_uint_eq(acc.timeout, 2);
	ck_assert(acc.tsize == 123456);
	ck_assert_uint_eq(acc.windowsize, 16);

	/* Below the caps the request stands. */
	caps.max_blksize = 65464;
	caps.max_window = 65535;
	tftp_opts_negotiate(&req, &caps, 1, TFTP_MODE_OCTET, 7, &acc);
	ck_assert_uint_eq(acc.blksize, 8192);
	ck_assert_uint_eq(acc.windowsize, 64);

	/* Zero caps mean the protocol limits. */
	caps.max_blksize = 0;
	caps.max_window = 0;
	req.blksize = 65464;
	req.windowsize = 65535;
	tftp_opts_negotiate(&req, &caps, 1, TFTP_MODE_OCTET, 7, &acc);
	ck_assert_uint_eq(acc.blksize, 65464);
	ck_assert_uint_eq(acc.windowsize, 65535);
}
END_TEST

START_TEST(negotiate_no_options)
{
	struct tftp_opts req = req_all(), acc;
	struct tftp_server_caps caps = {0, 65464, 65535, 0};
	tftp_opts_negotiate(&req, &caps, 1, TFTP_MODE_OCTET, 5, &acc);
	ck_assert_uint_eq(acc.present, 0);
	/* Nothing requested: nothing accepted, no OACK. */
	caps.allow_options = 1;
	memset(&req, 0, sizeof(req));
	tftp_opts_negotiate(&req, &caps, 0, TFTP_MODE_OCTET, 0, &acc);
	ck_assert_uint_eq(acc.present, 0);
}
END_TEST

START_TEST(negotiate_tsize)
{
	struct tftp_opts req, acc;
	struct tftp_server_caps caps = {1, 65464, 65535, 0};
	memset(&req, 0, sizeof(req));
	req.present = TFTP_OPT_TSIZE;
	req.tsize = 0;
	/* RRQ octet: answered with the file size. */
	tftp_opts_negotiate(&req, &caps, 1, TFTP_MODE_OCTET, 4242, &acc);
	ck_assert_uint_eq(acc.present, TFTP_OPT_TSIZE);
	ck_assert(acc.tsize == 4242);
	/* RRQ netascii: the wire size is unknown, tsize is not offered. */
	tftp_opts_negotiate(&req, &caps, 1, TFTP_MODE_NETASCII, 4242, &acc);
	ck_assert_uint_eq(acc.present, 0);
	/* WRQ (either mode): the client's size is echoed. */
	req.tsize = 99999;
	tftp_opts_negotiate(&req, &caps, 0, TFTP_MODE_OCTET, 0, &acc);
	ck_assert_uint_eq(acc.present, TFTP_OPT_TSIZE);
	ck_assert(acc.tsize == 99999);
	tftp_opts_negotiate(&req, &caps, 0, TFTP_MODE_NETASCII, 0, &acc);
	ck_assert_uint_eq(acc.present, TFTP_OPT_TSIZE);
	ck_assert(acc.tsize == 99999);
}
END_TEST

/* --max-timeout: a larger timeout option is declined (not in the OACK);
 * one at the cap is granted. */
START_TEST(negotiate_max_timeout)
{
	struct tftp_opts req = {.present = TFTP_OPT_TIMEOUT, .timeout = 255};
	struct tftp_opts acc;
	struct tftp_server_caps caps = {1, 0, 0, 10};
	tftp_opts_negotiate(&req, &caps, 1, TFTP_MODE_OCTET, 1, &acc);
	ck_assert_uint_eq(acc.present, 0);
	req.timeout = 10;
	tftp_opts_negotiate(&req, &caps, 1, TFTP_MODE_OCTET, 1, &acc);
	ck_assert_uint_eq(acc.present, TFTP_OPT_TIMEOUT);
	ck_assert_uint_eq(acc.timeout, 10);
}
END_TEST

/* tftp-hpa's own options, granted as it grants them. */
START_TEST(negotiate_hpa_options)
{
	struct tftp_opts req = {.present = TFTP_OPT_BLKSIZE2 |
					   TFTP_OPT_UTIMEOUT | TFTP_OPT_ROLLOVER,
				.blksize2 = 1468, .utimeout = 250000};
	struct tftp_opts acc;
	struct tftp_server_caps caps = {1, 0, 0, 0};
	tftp_opts_negotiate(&req, &caps, 1, TFTP_MODE_OCTET, 1, &acc);
	ck_assert_uint_eq(acc.present, req.present);
	ck_assert_uint_eq(acc.blksize2, 1024); /* a power of 2 */
	ck_assert_uint_eq(acc.utimeout, 250000);
	ck_assert_uint_eq(acc.rollover, 0);
	/* Capped by -B and 32768; blksize wins over blksize2; timeout over
	 * utimeout; rollover 1 declined; utimeout above the timeout cap. */
	req.blksize2 = 65464;
	caps.max_blksize = 40000;
	tftp_opts_negotiate(&req, &caps, 1, TFTP_MODE_OCTET, 1, &acc);
	ck_assert_uint_eq(acc.blksize2, 32768);
	req.present |= TFTP_OPT_BLKSIZE | TFTP_OPT_TIMEOUT;
	req.blksize = 1000;
	req.timeout = 2;
	req.rollover = 1;
	tftp_opts_negotiate(&req, &caps, 1, TFTP_MODE_OCTET, 1, &acc);
	ck_assert_uint_eq(acc.present, TFTP_OPT_BLKSIZE | TFTP_OPT_TIMEOUT);
	req.present = TFTP_OPT_UTIMEOUT;
	req.utimeout = 11000000;
	caps.max_timeout = 10;
	tftp_opts_negotiate(&req, &caps, 1, TFTP_MODE_OCTET, 1, &acc);
	ck_assert_uint_eq(acc.present, 0);
}
END_TEST

/* A hand-made request with out-of-range values yields no bad OACK. */
START_TEST(negotiate_out_of_range_request)
{
	struct tftp_opts req = req_all(), acc;
	struct tftp_server_caps caps = {1, 65464, 65535, 0};
	req.blksize = 4;
	req.timeout = 0;
	req.windowsize = 0;
	tftp_opts_negotiate(&req, &caps, 1, TFTP_MODE_OCTET, 1, &acc);
	ck_assert_uint_eq(acc.present, TFTP_OPT_TSIZE);
}
END_TEST

/* ---- encoding ---------------------------------------------------------- */

START_TEST(append_order_and_values)
{
	struct tftp_opts o;
	uint8_t buf[256];
	memset(&o, 0, sizeof(o));
	o.present = TFTP_OPT_WINDOWSIZE | TFTP_OPT_TSIZE | TFTP_OPT_BLKSIZE |
		    TFTP_OPT_TIMEOUT;
	o.blksize = 1428;
	o.timeout = 7;
	o.tsize = UINT64_MAX;
	o.windowsize = 65535;
	size_t n = tftp_build_oack(buf, sizeof(buf));
	n = tftp_opts_append(buf, sizeof(buf), n, &o);
	static const char want[] = "\0\6blksize\0" "1428\0timeout\0" "7\0"
				   "tsize\0" "18446744073709551615\0"
				   "windowsize\0" "65535";
	ck_assert_uint_eq(n, sizeof(want));
	ck_assert_mem_eq(buf, want, sizeof(want));
	/* And it parses back to the same set. */
	struct tftp_packet p;
	struct tftp_opts back;
	ck_assert_int_eq(tftp_packet_parse(buf, n, &p), TFTP_PARSE_OK);
	tftp_opts_from_packet(&p, &back);
	ck_assert_uint_eq(back.present, o.present);
	ck_assert_uint_eq(back.blksize, o.blksize);
	ck_assert_uint_eq(back.timeout, o.timeout);
	ck_assert(back.tsize == o.tsize);
	ck_assert_uint_eq(back.windowsize, o.windowsize);
	/* Too small: 0 for every shorter capacity. */
	for (size_t cap = 2; cap < sizeof(want); cap++)
		ck_assert_uint_eq(tftp_opts_append(buf, cap, 2, &o), 0);
	/* Nothing present: the length is unchanged. */
	o.present = 0;
	ck_assert_uint_eq(tftp_opts_append(buf, sizeof(buf), 2, &o), 2);
}
END_TEST

/* ---- OACK validation --------------------------------------------------- */

static int validate(const struct tftp_opts *asked, struct pkt *k,
		    struct tftp_opts *agreed, char *why, size_t whylen)
{
	pkt_parse(k);
	return tftp_opts_validate_oack(asked, &k->p, agreed, why, whylen);
}

START_TEST(oack_accept)
{
	struct tftp_opts asked = req_all(), agreed;
	struct pkt k;
	char why[128];
	pkt_oack(&k);
	pkt_opt(&k, "blksize", "1024");
	pkt_opt(&k, "TIMEOUT", "2");
	pkt_opt(&k, "tsize", "31337");
	pkt_opt(&k, "windowsize", "64");
	ck_assert_int_eq(validate(&asked, &k, &agreed, why, sizeof(why)), 0);
	ck_assert_uint_eq(agreed.present, asked.present);
	ck_assert_uint_eq(agreed.blksize, 1024);
	ck_assert_uint_eq(agreed.timeout, 2);
	ck_assert(agreed.tsize == 31337);
	ck_assert_uint_eq(agreed.windowsize, 64);

	/* A subset: the rest was declined and takes its default. */
	pkt_oack(&k);
	pkt_opt(&k, "windowsize", "4");
	ck_assert_int_eq(validate(&asked, &k, &agreed, why, sizeof(why)), 0);
	ck_assert_uint_eq(agreed.present, TFTP_OPT_WINDOWSIZE);
	ck_assert_uint_eq(agreed.windowsize, 4);

	/* blksize at the minimum; a get's tsize may be anything. */
	pkt_oack(&k);
	pkt_opt(&k, "blksize", "8");
	pkt_opt(&k, "tsize", "18446744073709551615");
	ck_assert_int_eq(validate(&asked, &k, &agreed, NULL, 0), 0);
	ck_assert_uint_eq(agreed.blksize, 8);
	ck_assert(agreed.tsize == UINT64_MAX);
}
END_TEST

struct refusal {
	const char *name, *value;
	const char *why; /* a word the reason must contain */
};

START_TEST(oack_refuse)
{
	static const struct refusal cases[] = {
		{"blksize", "8193", "above"},      /* more than asked */
		{"blksize", "7", "invalid"},       /* below the minimum */
		{"blksize", "1k", "invalid"},
		{"windowsize", "65", "above"},
		{"windowsize", "0", "invalid"},
		{"timeout", "3", "differs"},
		{"timeout", "1", "differs"},
		{"tsize", "-1", "invalid"},
		{"tsize", "18446744073709551616", "invalid"},
		{"multicast", "1", "unknown"},
		{"", "1", "unknown"},
	};
	struct tftp_opts asked = req_all(), agreed;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pkt k;
		char why[128];
		pkt_oack(&k);
		pkt_opt(&k, cases[i].name, cases[i].value);
		ck_assert_int_eq(
			validate(&asked, &k, &agreed, why, sizeof(why)), -1);
		ck_assert_msg(strstr(why, cases[i].why) != NULL,
			      "%s=%s: reason '%s'", cases[i].name,
			      cases[i].value, why);
		ck_assert_uint_eq(agreed.present, 0);
	}
}
END_TEST

START_TEST(oack_refuse_structure)
{
	struct tftp_opts asked, agreed;
	struct pkt k;
	char why[128];
	memset(&asked, 0, sizeof(asked));
	asked.present = TFTP_OPT_BLKSIZE;
	asked.blksize = 1024;

	/* Empty OACK. */
	pkt_oack(&k);
	ck_assert_int_eq(validate(&asked, &k, &agreed, why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "empty"));

	/* An option that was not asked for. */
	pkt_oack(&k);
	pkt_opt(&k, "blksize", "512");
	pkt_opt(&k, "tsize", "100");
	ck_assert_int_eq(validate(&asked, &k, &agreed, why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "not requested"));
	ck_assert_uint_eq(agreed.present, 0);

	/* A repeated option. */
	pkt_oack(&k);
	pkt_opt(&k, "blksize", "512");
	pkt_opt(&k, "blksize", "512");
	ck_assert_int_eq(validate(&asked, &k, &agreed, why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "repeat"));

	/* Not an OACK at all. */
	k.len = tftp_build_ack(k.buf, sizeof(k.buf), 0);
	ck_assert_int_eq(validate(&asked, &k, &agreed, why, sizeof(why)), -1);

	/* A tiny why buffer is still NUL-terminated. */
	pkt_oack(&k);
	char small[6];
	ck_assert_int_eq(validate(&asked, &k, &agreed, small, sizeof(small)),
			 -1);
	ck_assert_uint_lt(strlen(small), sizeof(small));
}
END_TEST

static Suite *options_suite(void)
{
	Suite *s = suite_create("options");
	TCase *tc = tcase_create("parse");
	tcase_add_test(tc, decimal);
	tcase_add_test(tc, range_edges);
	tcase_add_test(tc, garbage_values);
	tcase_add_test(tc, names_case_and_unknown);
	tcase_add_test(tc, all_options_together);
	tcase_add_test(tc, duplicates);
	suite_add_tcase(s, tc);
	tc = tcase_create("negotiate");
	tcase_add_test(tc, negotiate_caps);
	tcase_add_test(tc, negotiate_no_options);
	tcase_add_test(tc, negotiate_tsize);
	tcase_add_test(tc, negotiate_out_of_range_request);
	tcase_add_test(tc, append_order_and_values);
	suite_add_tcase(s, tc);
	tc = tcase_create("oack");
	tcase_add_test(tc, negotiate_max_timeout);
	tcase_add_test(tc, negotiate_hpa_options);
	tcase_add_test(tc, oack_accept);
	tcase_add_test(tc, oack_refuse);
	tcase_add_test(tc, oack_refuse_structure);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(options_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
