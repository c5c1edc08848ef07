/* Unit tests of the streaming netascii codec (common/netascii.c). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "netascii.h"

/* xorshift64*: a seeded PRNG so every run tests the same streams. */
static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

/* Text rich in the bytes that matter: CR, LF, NUL, and CR at both ends. */
static uint8_t *random_text(uint64_t seed, size_t len)
{
	uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1u;
	uint8_t *t = malloc(len ? len : 1u);
	ck_assert_ptr_nonnull(t);
	for (size_t i = 0; i < len; i++) {
		uint64_t r = rng_next(&s) % 10u;
		t[i] = r == 0 ? '\r' : r == 1 ? '\n' : r == 2 ? 0
		       : r == 3 ? (uint8_t)(rng_next(&s) & 0xffu)
				: (uint8_t)('a' + r);
	}
	if (len) {
		t[0] = '\r';
		t[len - 1] = '\r';
	}
	return t;
}

/* Encode all of in with output chunks of at most chunk bytes. */
static size_t encode_chunked(const uint8_t *in, size_t inlen, size_t chunk,
			     uint8_t *out, size_t outcap)
{
	struct tftp_nascii_enc e;
	size_t off = 0, o = 0;
	tftp_nascii_enc_init(&e);
	for (;;) {
		size_t room = outcap - o < chunk ? outcap - o : chunk;
		size_t used = 0;
		size_t n = tftp_nascii_encode(&e, in + off, inlen - off, &used,
					      out + o, room);
		ck_assert_uint_le(n, room);
		ck_assert_uint_le(used, inlen - off);
		off += used;
		o += n;
		if (n == 0) {
			/* Nothing more came out: everything was consumed. */
			ck_assert_uint_eq(off, inlen);
			ck_assert_int_eq(e.pending, -1);
			return o;
		}
	}
}

/* Decode in two calls split at cut, then finish. */
static size_t decode_split(const uint8_t *in, size_t inlen, size_t cut,
			   uint8_t *out)
{
	struct tftp_nascii_dec d;
	tftp_nascii_dec_init(&d);
	size_t o = tftp_nascii_decode(&d, in, cut, out);
	ck_assert_uint_le(o, cut + 1);
	size_t n = tftp_nascii_decode(&d, in + cut, inlen - cut, out + o);
	ck_assert_uint_le(n, inlen - cut + 1);
	o += n;
	return o + tftp_nascii_dec_finish(&d, out + o);
}

static void check_vector(const char *in, size_t inlen, const char *enc,
			 size_t enclen)
{
	uint8_t out[64];
	ck_assert_uint_eq(encode_chunked((const uint8_t *)in, inlen, 64, out,
					 sizeof(out)),
			  enclen);
	ck_assert_mem_eq(out, enc, enclen);
	ck_assert_uint_eq(decode_split((const uint8_t *)enc, enclen, 0, out),
			  inlen);
	ck_assert_mem_eq(out, in, inlen);
}

#define VEC(in, enc) check_vector(in, sizeof(in) - 1, enc, sizeof(enc) - 1)

START_TEST(known_vectors)
{
	VEC("a\nb", "a\r\nb");
	VEC("\r", "\r\0");
	VEC("\n", "\r\n");
	VEC("\r\n", "\r\0\r\n");
	VEC("\n\r", "\r\n\r\0");
	VEC("x\0y", "x\0y");
	VEC("", "");
	VEC("plain text", "plain text");
}
END_TEST

START_TEST(decode_lenient)
{
	uint8_t out[16];
	struct tftp_nascii_dec d;
	/* CR followed by neither LF nor NUL is kept with its follower. */
	tftp_nascii_dec_init(&d);
	size_t n = tftp_nascii_decode(&d, (const uint8_t *)"a\rb", 3, out);
	ck_assert_uint_eq(n, 3);
	ck_assert_mem_eq(out, "a\rb", 3);
	/* CR CR LF: the first CR is lone, the pair is a newline. */
	tftp_nascii_dec_init(&d);
	n = tftp_nascii_decode(&d, (const uint8_t *)"\r\r\n", 3, out);
	ck_assert_uint_eq(n, 2);
	ck_assert_mem_eq(out, "\r\n", 2);
	ck_assert_uint_eq(tftp_nascii_dec_finish(&d, out), 0);
	/* A trailing lone CR comes out at finish, once. */
	tftp_nascii_dec_init(&d);
	n = tftp_nascii_decode(&d, (const uint8_t *)"ab\r", 3, out);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(tftp_nascii_dec_finish(&d, out + n), 1);
	ck_assert_uint_eq(out[2], '\r');
	ck_assert_uint_eq(tftp_nascii_dec_finish(&d, out), 0);
}
END_TEST

/* A CR held back at the end of one call resolves with the next call's first
 * byte: the output of the second call may be inlen + 1 bytes. */
START_TEST(decode_cr_across_calls)
{
	uint8_t out[8];
	struct tftp_nascii_dec d;
	static const char *const seconds[] = {"\n", "\0", "z"};
	static const char *const want[] = {"\n", "\r", "\rz"};
	for (size_t k = 0; k < 3; k++) {
		tftp_nascii_dec_init(&d);
		ck_assert_uint_eq(
			tftp_nascii_decode(&d, (const uint8_t *)"\r", 1, out), 0);
		size_t n = tftp_nascii_decode(
			&d, (const uint8_t *)seconds[k], 1, out);
		ck_assert_uint_eq(n, strlen(want[k]));
		ck_assert_mem_eq(out, want[k], n);
		ck_assert_uint_eq(tftp_nascii_dec_finish(&d, out), 0);
	}
}
END_TEST

/* The encoder carries the second byte of a pair when the output fills. */
START_TEST(encode_pending)
{
	struct tftp_nascii_enc e;
	uint8_t out[4];
	size_t used;
	tftp_nascii_enc_init(&e);
	size_t n = tftp_nascii_encode(&e, (const uint8_t *)"a\n", 2, &used,
				      out, 2);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(used, 2);
	ck_assert_mem_eq(out, "a\r", 2);
	ck_assert_int_eq(e.pending, '\n');
	/* No room at all: nothing moves. */
	n = tftp_nascii_encode(&e, (const uint8_t *)"b", 1, &used, out, 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_eq(used, 0);
	ck_assert_int_eq(e.pending, '\n');
	n = tftp_nascii_encode(&e, (const uint8_t *)"\r", 1, &used, out, 2);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(used, 1);
	ck_assert_mem_eq(out, "\n\r", 2);
	ck_assert_int_eq(e.pending, 0);
	/* The pending byte is flushed even with no new input. */
	n = tftp_nascii_encode(&e, NULL, 0, &used, out, 4);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(used, 0);
	ck_assert_uint_eq(out[0], 0);
	ck_assert_int_eq(e.pending, -1);
}
END_TEST

/* Expected encoding, computed the obvious way. */
static size_t encode_ref(const uint8_t *in, size_t len, uint8_t *out)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		if (in[i] == '\n') {
			out[o++] = '\r';
			out[o++] = '\n';
		} else if (in[i] == '\r') {
			out[o++] = '\r';
			out[o++] = 0;
		} else {
			out[o++] = in[i];
		}
	}
	return o;
}

/* Random text, encoded with every small output capacity, then decoded
 * split at every index of the encoded stream. */
START_TEST(roundtrip_all_splits)
{
	static const size_t lens[] = {1, 2, 3, 17, 64, 300};
	uint64_t seed = (uint64_t)_i;
	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		size_t len = lens[k];
		uint8_t *text = random_text(seed + k, len);
		uint8_t *ref = malloc(2 * len);
		uint8_t *enc = malloc(2 * len);
		uint8_t *dec = malloc(2 * len + 1);
		size_t reflen = encode_ref(text, len, ref);
		for (size_t chunk = 1; chunk <= 9; chunk++) {
			size_t n = encode_chunked(text, len, chunk, enc,
						  2 * len);
			ck_assert_uint_eq(n, reflen);
			ck_assert_mem_eq(enc, ref, reflen);
		}
		for (size_t cut = 0; cut <= reflen; cut++) {
			size_t n = decode_split(ref, reflen, cut, dec);
			ck_assert_msg(n == len && memcmp(dec, text, len) == 0,
				      "seed %llu len %zu cut %zu",
				      (unsigned long long)seed, len, cut);
		}
		free(text);
		free(ref);
		free(enc);
		free(dec);
	}
}
END_TEST

/* Block-sized encoding as the sender does it (fixed output blocks), then
 * block-by-block decoding as the receiver does it. */
START_TEST(roundtrip_blocks)
{
	static const size_t blks[] = {8, 9, 512};
	for (size_t b = 0; b < 3; b++) {
		size_t len = 5000;
		uint8_t *text = random_text(100 + b, len);
		uint8_t *enc = malloc(2 * len);
		uint8_t *dec = malloc(2 * len + 1);
		size_t enclen = encode_chunked(text, len, blks[b], enc,
					       2 * len);
		struct tftp_nascii_dec d;
		size_t o = 0;
		tftp_nascii_dec_init(&d);
		for (size_t off = 0; off < enclen; off += blks[b]) {
			size_t n = enclen - off < blks[b] ? enclen - off
							  : blks[b];
			o += tftp_nascii_decode(&d, enc + off, n, dec + o);
		}
		o += tftp_nascii_dec_finish(&d, dec + o);
		ck_assert_uint_eq(o, len);
		ck_assert_mem_eq(dec, text, len);
		free(text);
		free(enc);
		free(dec);
	}
}
END_TEST

static Suite *netascii_suite(void)
{
	Suite *s = suite_create("netascii");
	TCase *tc = tcase_create("vectors");
	tcase_add_test(tc, known_vectors);
	tcase_add_test(tc, decode_lenient);
	tcase_add_test(tc, decode_cr_across_calls);
	tcase_add_test(tc, encode_pending);
	suite_add_tcase(s, tc);
	tc = tcase_create("roundtrip");
	tcase_add_loop_test(tc, roundtrip_all_splits, 1, 9);
	tcase_add_test(tc, roundtrip_blocks);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(netascii_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
