/* Unit tests of the packet codec (common/packet.c). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "packet.h"

/* Parse a copy of buf in a heap block of exactly len bytes, so ASan reports
 * a read of even one byte past the datagram. The slices of *p point into
 * the copy: it is handed back in *keep (free it), or freed at once when
 * keep is NULL. */
static enum tftp_parse_result parse_copy(const uint8_t *buf, size_t len,
					 struct tftp_packet *p, uint8_t **keep)
{
	uint8_t *copy = malloc(len ? len : 1u);
	ck_assert_ptr_nonnull(copy);
	if (len)
		memcpy(copy, buf, len);
	enum tftp_parse_result r = tftp_packet_parse(copy, len, p);
	if (keep)
		*keep = copy;
	else
		free(copy);
	return r;
}

static enum tftp_parse_result parse_exact(const uint8_t *buf, size_t len,
					  struct tftp_packet *p)
{
	return parse_copy(buf, len, p, NULL);
}

/* Parse a literal datagram (sizeof includes the literal's own NUL, so
 * callers pass the length explicitly). */
static enum tftp_parse_result parse_lit(const char *s, size_t len)
{
	struct tftp_packet p;
	return parse_exact((const uint8_t *)s, len, &p);
}

#define PARSE_LIT(s) parse_lit((s), sizeof(s) - 1u)

static int slice_eq(struct tftp_slice s, const char *want)
{
	return s.len == strlen(want) && memcmp(s.ptr, want, s.len) == 0 &&
	       s.ptr[s.len] == '\0';
}

/* ---- round trips ------------------------------------------------------- */

START_TEST(rt_rrq_wrq_with_options)
{
	static const enum tftp_opcode ops[] = {TFTP_OP_RRQ, TFTP_OP_WRQ};
	for (size_t k = 0; k < 2; k++) {
		uint8_t buf[512];
		struct tftp_packet p;
		size_t n = tftp_build_request(buf, sizeof(buf), ops[k],
					      "dir/file.bin", "octet");
		ck_assert_uint_eq(n, 2 + 13 + 6);
		n = tftp_build_append_option(buf, sizeof(buf), n, "blksize",
					     "1428");
		n = tftp_build_append_option(buf, sizeof(buf), n, "tsize", "0");
		ck_assert_uint_gt(n, 0);
		ck_assert_int_eq(tftp_packet_parse(buf, n, &p), TFTP_PARSE_OK);
		ck_assert_int_eq(p.op, ops[k]);
		ck_assert(slice_eq(p.filename, "dir/file.bin"));
		ck_assert(slice_eq(p.mode, "octet"));
		ck_assert_uint_eq(p.nopts, 2);
		ck_assert(slice_eq(p.opts[0].name, "blksize"));
		ck_assert(slice_eq(p.opts[0].value, "1428"));
		ck_assert(slice_eq(p.opts[1].name, "tsize"));
		ck_assert(slice_eq(p.opts[1].value, "0"));
		ck_assert_uint_eq(tftp_packet_opcode(buf, n), ops[k]);
	}
}
END_TEST

START_TEST(rt_rrq_wire_bytes)
{
	uint8_t buf[64];
	size_t n = tftp_build_request(buf, sizeof(buf), TFTP_OP_RRQ, "f",
				      "netascii");
	static const uint8_t want[] = "\0\1f\0netascii";
	ck_assert_uint_eq(n, sizeof(want));
	ck_assert_mem_eq(buf, want, sizeof(want));
}
END_TEST

START_TEST(rt_data)
{
	uint8_t payload[600], buf[700];
	struct tftp_packet p;
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7u);
	size_t n = tftp_build_data(buf, sizeof(buf), 0xfffe, payload, 512);
	ck_assert_uint_eq(n, 516);
	ck_assert_uint_eq(buf[0], 0);
	ck_assert_uint_eq(buf[1], 3);
	ck_assert_uint_eq(buf[2], 0xff);
	ck_assert_uint_eq(buf[3], 0xfe);
	ck_assert_int_eq(tftp_packet_parse(buf, n, &p), TFTP_PARSE_OK);
	ck_assert_int_eq(p.op, TFTP_OP_DATA);
	ck_assert_uint_eq(p.block, 0xfffe);
	ck_assert_uint_eq(p.datalen, 512);
	ck_assert_ptr_eq(p.data, buf + 4);
	ck_assert_mem_eq(p.data, payload, 512);
}
END_TEST

START_TEST(rt_data_empty_and_in_place)
{
	uint8_t buf[16];
	struct tftp_packet p;
	ck_assert_uint_eq(tftp_build_data(buf, sizeof(buf), 7, NULL, 0), 4);
	ck_assert_int_eq(tftp_packet_parse(buf, 4, &p), TFTP_PARSE_OK);
	ck_assert_uint_eq(p.block, 7);
	ck_assert_uint_eq(p.datalen, 0);
	/* Payload already in place after the header (read straight into the
	 * packet buffer). */
	memcpy(buf + 4, "abcdefgh", 8);
	ck_assert_uint_eq(tftp_build_data(buf, sizeof(buf), 9, buf + 4, 8), 12);
	ck_assert_mem_eq(buf + 4, "abcdefgh", 8);
	ck_assert_uint_eq(tftp_build_data_header(buf, sizeof(buf), 0x1234), 4);
	ck_assert_int_eq(tftp_packet_parse(buf, 12, &p), TFTP_PARSE_OK);
	ck_assert_uint_eq(p.block, 0x1234);
	ck_assert_mem_eq(p.data, "abcdefgh", 8);
}
END_TEST

START_TEST(rt_ack)
{
	uint8_t buf[4];
	struct tftp_packet p;
	static const uint16_t blocks[] = {0, 1, 255, 256, 65535};
	for (size_t i = 0; i < 5; i++) {
		ck_assert_uint_eq(tftp_build_ack(buf, 4, blocks[i]), 4);
		ck_assert_int_eq(parse_exact(buf, 4, &p), TFTP_PARSE_OK);
		ck_assert_int_eq(p.op, TFTP_OP_ACK);
		ck_assert_uint_eq(p.block, blocks[i]);
	}
}
END_TEST

START_TEST(rt_error)
{
	uint8_t buf[128];
	struct tftp_packet p;
	size_t n = tftp_build_error(buf, sizeof(buf), TFTP_ERR_ACCESS,
				    "nope");
	ck_assert_uint_eq(n, 4 + 5);
	ck_assert_int_eq(tftp_packet_parse(buf, n, &p), TFTP_PARSE_OK);
	ck_assert_int_eq(p.op, TFTP_OP_ERROR);
	ck_assert_uint_eq(p.errcode, TFTP_ERR_ACCESS);
	ck_assert(slice_eq(p.errmsg, "nope"));
	/* Codes beyond the RFC's survive too. */
	n = tftp_build_error(buf, sizeof(buf), 0xbeef, "x");
	ck_assert_int_eq(tftp_packet_parse(buf, n, &p), TFTP_PARSE_OK);
	ck_assert_uint_eq(p.errcode, 0xbeef);
}
END_TEST

START_TEST(rt_error_default_messages)
{
	static const char *const want[] = {
		"Undefined error", "File not found", "Access violation",
		"Disk full or allocation exceeded", "Illegal TFTP operation",
		"Unknown transfer ID", "File already exists", "No such user",
		"Option negotiation failed",
	};
	for (uint16_t c = 0; c <= 8; c++) {
		uint8_t buf[128];
		struct tftp_packet p;
		ck_assert_str_eq(tftp_errcode_message(c), want[c]);
		size_t n = tftp_build_error(buf, sizeof(buf), c, NULL);
		ck_assert_uint_eq(n, 4 + strlen(want[c]) + 1);
		ck_assert_int_eq(tftp_packet_parse(buf, n, &p), TFTP_PARSE_OK);
		ck_assert(slice_eq(p.errmsg, want[c]));
	}
	ck_assert_str_eq(tftp_errcode_message(9), "");
	ck_assert_str_eq(tftp_errcode_message(65535), "");
}
END_TEST

START_TEST(rt_oack)
{
	uint8_t buf[128];
	struct tftp_packet p;
	size_t n = tftp_build_oack(buf, sizeof(buf));
	ck_assert_uint_eq(n, 2);
	n = tftp_build_append_option(buf, sizeof(buf), n, "blksize", "1024");
	n = tftp_build_append_option(buf, sizeof(buf), n, "windowsize", "8");
	ck_assert_uint_eq(n, 2 + 8 + 5 + 11 + 2);
	ck_assert_int_eq(tftp_packet_parse(buf, n, &p), TFTP_PARSE_OK);
	ck_assert_int_eq(p.op, TFTP_OP_OACK);
	ck_assert_uint_eq(p.nopts, 2);
	ck_assert(slice_eq(p.opts[0].name, "blksize"));
	ck_assert(slice_eq(p.opts[0].value, "1024"));
	ck_assert(slice_eq(p.opts[1].name, "windowsize"));
	ck_assert(slice_eq(p.opts[1].value, "8"));
	/* An OACK with no options parses; refusing it is the client's job. */
	ck_assert_int_eq(tftp_packet_parse(buf, 2, &p), TFTP_PARSE_OK);
	ck_assert_uint_eq(p.nopts, 0);
}
END_TEST

START_TEST(rt_max_options_and_filename)
{
	uint8_t *buf = malloc(4096);
	char name[TFTP_FILENAME_MAX + 1];
	struct tftp_packet p;
	memset(name, 'a', TFTP_FILENAME_MAX);
	name[TFTP_FILENAME_MAX] = '\0';
	size_t n = tftp_build_request(buf, 4096, TFTP_OP_RRQ, name, "octet");
	for (unsigned i = 0; i < TFTP_OPTIONS_MAX; i++) {
		char on[16];
		snprintf(on, sizeof(on), "opt%u", i);
		n = tftp_build_append_option(buf, 4096, n, on, "v");
	}
	ck_assert_uint_gt(n, 0);
	ck_assert_int_eq(tftp_packet_parse(buf, n, &p), TFTP_PARSE_OK);
	ck_assert_uint_eq(p.filename.len, TFTP_FILENAME_MAX);
	ck_assert_uint_eq(p.nopts, TFTP_OPTIONS_MAX);
	ck_assert(slice_eq(p.opts[TFTP_OPTIONS_MAX - 1].name, "opt15"));
	/* One more option is too many. */
	n = tftp_build_append_option(buf, 4096, n, "extra", "v");
	ck_assert_int_eq(parse_exact(buf, n, &p),
			 TFTP_PARSE_TOO_MANY_OPTIONS);
	free(buf);
}
END_TEST

/* ---- malformed --------------------------------------------------------- */

START_TEST(bad_short_and_opcode)
{
	ck_assert_int_eq(parse_lit("", 0), TFTP_PARSE_SHORT);
	ck_assert_int_eq(PARSE_LIT("\0"), TFTP_PARSE_SHORT);
	ck_assert_int_eq(PARSE_LIT("\0\0"), TFTP_PARSE_BAD_OPCODE);
	ck_assert_int_eq(PARSE_LIT("\0\0\0\1"), TFTP_PARSE_BAD_OPCODE);
	ck_assert_int_eq(PARSE_LIT("\0\7\0\1"), TFTP_PARSE_BAD_OPCODE);
	ck_assert_int_eq(PARSE_LIT("\1\1\0\1"), TFTP_PARSE_BAD_OPCODE);
	ck_assert_int_eq(PARSE_LIT("\377\377"), TFTP_PARSE_BAD_OPCODE);
	/* DATA, ACK and ERROR need their 2-byte second field. */
	ck_assert_int_eq(PARSE_LIT("\0\3"), TFTP_PARSE_SHORT);
	ck_assert_int_eq(PARSE_LIT("\0\3\0"), TFTP_PARSE_SHORT);
	ck_assert_int_eq(PARSE_LIT("\0\4\0"), TFTP_PARSE_SHORT);
	ck_assert_int_eq(PARSE_LIT("\0\5\0"), TFTP_PARSE_SHORT);
	ck_assert_uint_eq(tftp_packet_opcode((const uint8_t *)"\0", 1), 0);
	ck_assert_uint_eq(tftp_packet_opcode((const uint8_t *)"\1\2", 2),
			  0x0102);
}
END_TEST

START_TEST(bad_request_strings)
{
	ck_assert_int_eq(PARSE_LIT("\0\1"), TFTP_PARSE_NO_NUL);
	ck_assert_int_eq(PARSE_LIT("\0\1file"), TFTP_PARSE_NO_NUL);
	ck_assert_int_eq(PARSE_LIT("\0\1file\0"), TFTP_PARSE_NO_NUL);
	ck_assert_int_eq(PARSE_LIT("\0\2file\0octet"), TFTP_PARSE_NO_NUL);
	ck_assert_int_eq(PARSE_LIT("\0\1\0octet\0"),
			 TFTP_PARSE_EMPTY_FILENAME);
	ck_assert_int_eq(PARSE_LIT("\0\1\0"), TFTP_PARSE_EMPTY_FILENAME);
	ck_assert_int_eq(PARSE_LIT("\0\1file\0\0"), TFTP_PARSE_EMPTY_MODE);
	ck_assert_int_eq(PARSE_LIT("\0\2file\0\0blksize\0" "512\0"),
			 TFTP_PARSE_EMPTY_MODE);
}
END_TEST

START_TEST(bad_filename_too_long)
{
	uint8_t *buf = malloc(TFTP_FILENAME_MAX + 16);
	char *name = malloc(TFTP_FILENAME_MAX + 2);
	memset(name, 'x', TFTP_FILENAME_MAX + 1);
	name[TFTP_FILENAME_MAX + 1] = '\0';
	size_t n = tftp_build_request(buf, TFTP_FILENAME_MAX + 16, TFTP_OP_RRQ,
				      name, "octet");
	ck_assert_uint_gt(n, 0);
	ck_assert_int_eq(parse_lit((const char *)buf, n),
			 TFTP_PARSE_FILENAME_TOO_LONG);
	free(name);
	free(buf);
}
END_TEST

/* The server's reading of a request: what buggy ROMs send is served. */
START_TEST(lenient_request_options)
{
	struct tftp_packet p;
	static const uint8_t novalue[] = "\0\1f\0octet\0blksize\0" "1024\0tsize\0";
	ck_assert_int_eq(tftp_packet_parse(novalue, sizeof(novalue) - 1, &p),
			 TFTP_PARSE_OPTION_NO_VALUE);
	ck_assert_int_eq(tftp_packet_parse_lenient(novalue, sizeof(novalue) - 1,
						   &p),
			 TFTP_PARSE_OK);
	ck_assert_uint_eq(p.nopts, 1);
	ck_assert(slice_eq(p.opts[0].name, "blksize"));
	ck_assert(slice_eq(p.filename, "f"));
	uint8_t buf[1024];
	size_t n = tftp_build_request(buf, sizeof(buf), TFTP_OP_RRQ, "f", "octet");
	for (unsigned i = 0; i < TFTP_OPTIONS_MAX + 3; i++) {
		char on[16];
		snprintf(on, sizeof(on), "x%u", i);
		n = tftp_build_append_option(buf, sizeof(buf), n, on, "1");
	}
	ck_assert_int_eq(tftp_packet_parse(buf, n, &p),
			 TFTP_PARSE_TOO_MANY_OPTIONS);
	ck_assert_int_eq(tftp_packet_parse_lenient(buf, n, &p), TFTP_PARSE_OK);
	ck_assert_uint_eq(p.nopts, TFTP_OPTIONS_MAX);
	/* an OACK stays strict: it is the client checking a server */
	static const uint8_t oack[] = "\0\6blksize\0";
	ck_assert_int_eq(tftp_packet_parse_lenient(oack, sizeof(oack) - 1, &p),
			 TFTP_PARSE_OPTION_NO_VALUE);
}
END_TEST

START_TEST(bad_options)
{
	/* A name with no value field at all. */
	ck_assert_int_eq(PARSE_LIT("\0\1f\0octet\0blksize\0"),
			 TFTP_PARSE_OPTION_NO_VALUE);
	ck_assert_int_eq(PARSE_LIT("\0\6blksize\0"),
			 TFTP_PARSE_OPTION_NO_VALUE);
	/* Name or value running off the datagram. */
	ck_assert_int_eq(PARSE_LIT("\0\1f\0octet\0blksize"), TFTP_PARSE_NO_NUL);
	ck_assert_int_eq(PARSE_LIT("\0\1f\0octet\0blksize\0" "512"),
			 TFTP_PARSE_NO_NUL);
	ck_assert_int_eq(PARSE_LIT("\0\6tsize\0" "1\0blk"), TFTP_PARSE_NO_NUL);
	/* Non-zero junk after zero bytes is not padding. */
	ck_assert_int_eq(PARSE_LIT("\0\1f\0octet\0\0\0x"), TFTP_PARSE_NO_NUL);
}
END_TEST

START_TEST(lenient_padding)
{
	struct tftp_packet p;
	uint8_t *keep;
	static const char req[] = "\0\1f\0octet\0blksize\0" "512\0\0\0\0\0";
	ck_assert_int_eq(
		parse_copy((const uint8_t *)req, sizeof(req) - 1, &p, &keep),
		TFTP_PARSE_OK);
	ck_assert_uint_eq(p.nopts, 1);
	ck_assert(slice_eq(p.opts[0].value, "512"));
	free(keep);
	static const char bare[] = "\0\2f\0octet\0\0";
	ck_assert_int_eq(
		parse_exact((const uint8_t *)bare, sizeof(bare) - 1, &p),
		TFTP_PARSE_OK);
	ck_assert_uint_eq(p.nopts, 0);
	/* Lots of padding does not count against the option limit. */
	uint8_t big[200] = {0, 1, 'f', 0, 'o', 'c', 't', 'e', 't', 0};
	ck_assert_int_eq(parse_exact(big, sizeof(big), &p), TFTP_PARSE_OK);
	ck_assert_uint_eq(p.nopts, 0);
	/* An OACK padded the same way. */
	ck_assert_int_eq(PARSE_LIT("\0\6tsize\0" "9\0\0"), TFTP_PARSE_OK);
}
END_TEST

START_TEST(lenient_ack_trailing)
{
	struct tftp_packet p;
	static const char ack[] = "\0\4\1\2\0\0\0";
	ck_assert_int_eq(parse_exact((const uint8_t *)ack, sizeof(ack) - 1, &p),
			 TFTP_PARSE_OK);
	ck_assert_int_eq(p.op, TFTP_OP_ACK);
	ck_assert_uint_eq(p.block, 0x0102);
}
END_TEST

START_TEST(lenient_error_message)
{
	struct tftp_packet p;
	uint8_t *keep;
	/* No message at all. */
	ck_assert_int_eq(parse_copy((const uint8_t *)"\0\5\0\1", 4, &p, &keep),
			 TFTP_PARSE_OK);
	ck_assert_uint_eq(p.errcode, 1);
	ck_assert(slice_eq(p.errmsg, ""));
	free(keep);
	/* A message without its NUL: the code counts, the message is empty so
	 * the slice still ends at a NUL. */
	ck_assert_int_eq(parse_copy((const uint8_t *)"\0\5\0\2oops", 8, &p, &keep),
			 TFTP_PARSE_OK);
	ck_assert_uint_eq(p.errcode, 2);
	ck_assert(slice_eq(p.errmsg, ""));
	free(keep);
	/* Bytes after the message's NUL are ignored. */
	ck_assert_int_eq(parse_copy((const uint8_t *)"\0\5\0\3ab\0cd", 9, &p, &keep),
			 TFTP_PARSE_OK);
	ck_assert(slice_eq(p.errmsg, "ab"));
	free(keep);
}
END_TEST

/* Every prefix of a valid packet parses (OK or an error) without reading
 * outside the prefix, and reports the reason expected for a cut there. */
static void all_truncations(const uint8_t *pkt, size_t len)
{
	for (size_t cut = 0; cut <= len; cut++) {
		struct tftp_packet p;
		enum tftp_parse_result r = parse_exact(pkt, cut, &p);
		ck_assert_ptr_nonnull(tftp_parse_strerror(r));
		if (cut < 2)
			ck_assert_int_eq(r, TFTP_PARSE_SHORT);
		if (cut == len)
			ck_assert_int_eq(r, TFTP_PARSE_OK);
	}
}

START_TEST(truncations)
{
	uint8_t buf[600];
	size_t n = tftp_build_request(buf, sizeof(buf), TFTP_OP_RRQ,
				      "boot/pxelinux.0", "octet");
	n = tftp_build_append_option(buf, sizeof(buf), n, "blksize", "1468");
	n = tftp_build_append_option(buf, sizeof(buf), n, "tsize", "0");
	n = tftp_build_append_option(buf, sizeof(buf), n, "windowsize", "16");
	all_truncations(buf, n);

	n = tftp_build_oack(buf, sizeof(buf));
	n = tftp_build_append_option(buf, sizeof(buf), n, "blksize", "1468");
	n = tftp_build_append_option(buf, sizeof(buf), n, "tsize", "123456");
	all_truncations(buf, n);

	uint8_t payload[100];
	memset(payload, 0xab, sizeof(payload));
	n = tftp_build_data(buf, sizeof(buf), 42, payload, sizeof(payload));
	all_truncations(buf, n);

	n = tftp_build_error(buf, sizeof(buf), 1, "File not found");
	all_truncations(buf, n);

	n = tftp_build_ack(buf, sizeof(buf), 3);
	all_truncations(buf, n);
}
END_TEST

/* The specific reasons at each cut of an RRQ with one option. */
START_TEST(truncation_reasons)
{
	static const char rrq[] = "\0\1f\0octet\0blksize\0" "512\0";
	size_t len = sizeof(rrq) - 1;
	for (size_t cut = 2; cut < len; cut++) {
		enum tftp_parse_result r = parse_lit(rrq, cut);
		/* Inside a string: NO_NUL; except right after the mode (a
		 * request without options) and right after the option name. */
		enum tftp_parse_result want = TFTP_PARSE_NO_NUL;
		if (cut == 10)
			want = TFTP_PARSE_OK;
		else if (cut == 18)
			want = TFTP_PARSE_OPTION_NO_VALUE;
		ck_assert_msg(r == want, "cut %zu: %s, want %s", cut,
			      tftp_parse_strerror(r),
			      tftp_parse_strerror(want));
	}
}
END_TEST

/* ---- builders ---------------------------------------------------------- */

START_TEST(build_capacity)
{
	uint8_t buf[64];
	/* "\0\1" "abc\0" "octet\0" = 12 bytes. */
	ck_assert_uint_eq(tftp_build_request(buf, 12, TFTP_OP_RRQ, "abc",
					     "octet"),
			  12);
	for (size_t cap = 0; cap < 12; cap++)
		ck_assert_uint_eq(tftp_build_request(buf, cap, TFTP_OP_RRQ,
						     "abc", "octet"),
				  0);
	ck_assert_uint_eq(tftp_build_request(buf, 64, TFTP_OP_DATA, "abc",
					     "octet"),
			  0);
	/* append: "tsize\0" "0\0" = 8 bytes after 12. */
	ck_assert_uint_eq(tftp_build_append_option(buf, 20, 12, "tsize", "0"),
			  20);
	for (size_t cap = 12; cap < 20; cap++)
		ck_assert_uint_eq(
			tftp_build_append_option(buf, cap, 12, "tsize", "0"),
			0);
	ck_assert_uint_eq(tftp_build_append_option(buf, 64, 0, "tsize", "0"),
			  0);
	ck_assert_uint_eq(tftp_build_oack(buf, 1), 0);
	ck_assert_uint_eq(tftp_build_ack(buf, 3, 1), 0);
	ck_assert_uint_eq(tftp_build_data_header(buf, 3, 1), 0);
	ck_assert_uint_eq(tftp_build_data(buf, 3, 1, NULL, 0), 0);
	ck_assert_uint_eq(tftp_build_data(buf, 9, 1, (const uint8_t *)"abcdef",
					  6),
			  0);
	ck_assert_uint_eq(tftp_build_data(buf, 10, 1,
					  (const uint8_t *)"abcdef", 6),
			  10);
	ck_assert_uint_eq(tftp_build_error(buf, 4, 0, "x"), 0);
}
END_TEST

/* Builders never write past cap: build into exact-size heap blocks. */
START_TEST(build_no_overflow)
{
	for (size_t cap = 0; cap < 40; cap++) {
		uint8_t *b = malloc(cap ? cap : 1u);
		size_t n = tftp_build_request(b, cap, TFTP_OP_WRQ, "name.txt",
					      "netascii");
		if (n)
			n = tftp_build_append_option(b, cap, n, "tsize",
						     "12345");
		ck_assert_uint_le(n, cap);
		n = tftp_build_error(b, cap, 3, "disk is full, sorry");
		ck_assert_uint_le(n, cap);
		free(b);
	}
}
END_TEST

START_TEST(build_error_truncation)
{
	const char *msg = "a rather long error message for a small buffer";
	for (size_t cap = 5; cap < 60; cap++) {
		uint8_t *b = malloc(cap);
		struct tftp_packet p;
		size_t n = tftp_build_error(b, cap, 2, msg);
		size_t want = strlen(msg) + 5 < cap ? strlen(msg) + 5 : cap;
		ck_assert_uint_eq(n, want);
		ck_assert_uint_eq(b[n - 1], 0);
		ck_assert_int_eq(tftp_packet_parse(b, n, &p), TFTP_PARSE_OK);
		ck_assert_uint_eq(p.errmsg.len, n - 5);
		ck_assert_mem_eq(p.errmsg.ptr, msg, p.errmsg.len);
		free(b);
	}
}
END_TEST

/* ---- names and modes --------------------------------------------------- */

START_TEST(names_and_modes)
{
	ck_assert_str_eq(tftp_opcode_name(1), "RRQ");
	ck_assert_str_eq(tftp_opcode_name(2), "WRQ");
	ck_assert_str_eq(tftp_opcode_name(3), "DATA");
	ck_assert_str_eq(tftp_opcode_name(4), "ACK");
	ck_assert_str_eq(tftp_opcode_name(5), "ERROR");
	ck_assert_str_eq(tftp_opcode_name(6), "OACK");
	ck_assert_ptr_nonnull(tftp_opcode_name(0));
	ck_assert_ptr_nonnull(tftp_opcode_name(999));
	for (int r = TFTP_PARSE_OK; r <= TFTP_PARSE_TRAILING; r++)
		ck_assert_ptr_nonnull(
			tftp_parse_strerror((enum tftp_parse_result)r));

	struct tftp_slice s;
	s.ptr = "OcTeT";
	s.len = 5;
	ck_assert_int_eq(tftp_mode_parse(s), TFTP_MODE_OCTET);
	s.ptr = "NETASCII";
	s.len = 8;
	ck_assert_int_eq(tftp_mode_parse(s), TFTP_MODE_NETASCII);
	s.ptr = "mail";
	s.len = 4;
	ck_assert_int_eq(tftp_mode_parse(s), TFTP_MODE_INVALID);
	s.ptr = "octets";
	s.len = 6;
	ck_assert_int_eq(tftp_mode_parse(s), TFTP_MODE_INVALID);
	s.ptr = "octet";
	s.len = 4; /* a slice is its length, not the C string */
	ck_assert_int_eq(tftp_mode_parse(s), TFTP_MODE_INVALID);
	s.ptr = "";
	s.len = 0;
	ck_assert_int_eq(tftp_mode_parse(s), TFTP_MODE_INVALID);
	ck_assert_str_eq(tftp_mode_name(TFTP_MODE_OCTET), "octet");
	ck_assert_str_eq(tftp_mode_name(TFTP_MODE_NETASCII), "netascii");
	ck_assert_ptr_nonnull(tftp_mode_name(TFTP_MODE_INVALID));
}
END_TEST

START_TEST(be16_helpers)
{
	uint8_t b[2];
	tftp_put16(b, 0xa1b2);
	ck_assert_uint_eq(b[0], 0xa1);
	ck_assert_uint_eq(b[1], 0xb2);
	ck_assert_uint_eq(tftp_get16(b), 0xa1b2);
}
END_TEST

static Suite *packet_suite(void)
{
	Suite *s = suite_create("packet");
	TCase *tc = tcase_create("roundtrip");
	tcase_add_test(tc, rt_rrq_wrq_with_options);
	tcase_add_test(tc, rt_rrq_wire_bytes);
	tcase_add_test(tc, rt_data);
	tcase_add_test(tc, rt_data_empty_and_in_place);
	tcase_add_test(tc, rt_ack);
	tcase_add_test(tc, rt_error);
	tcase_add_test(tc, rt_error_default_messages);
	tcase_add_test(tc, rt_oack);
	tcase_add_test(tc, rt_max_options_and_filename);
	suite_add_tcase(s, tc);

	tc = tcase_create("malformed");
	tcase_add_test(tc, bad_short_and_opcode);
	tcase_add_test(tc, bad_request_strings);
	tcase_add_test(tc, bad_filename_too_long);
	tcase_add_test(tc, bad_options);
	tcase_add_test(tc, lenient_request_options);
	tcase_add_test(tc, lenient_padding);
	tcase_add_test(tc, lenient_ack_trailing);
	tcase_add_test(tc, lenient_error_message);
	tcase_add_test(tc, truncations);
	tcase_add_test(tc, truncation_reasons);
	suite_add_tcase(s, tc);

	tc = tcase_create("build");
	tcase_add_test(tc, build_capacity);
	tcase_add_test(tc, build_no_overflow);
	tcase_add_test(tc, build_error_truncation);
	tcase_add_test(tc, names_and_modes);
	tcase_add_test(tc, be16_helpers);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(packet_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
