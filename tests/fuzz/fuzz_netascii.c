/* libFuzzer target: the streaming netascii codec.
 *
 * Input: a list of chunk sizes, then a byte stream. The stream is
 *  1. encoded, fed in input chunks and output buffers of those sizes: the
 *     result equals a one-shot reference encoding (LF -> CR LF, CR -> CR
 *     NUL), no call writes past its output buffer or consumes more than it
 *     was given, every call with room makes progress, nothing is left
 *     pending at the end;
 *  2. decoded again with another chunking: the round trip gives back the
 *     stream exactly;
 *  3. decoded as if it came off the wire (any bytes), chunked: the result
 *     equals a reference lenient decoder (CR LF -> LF, CR NUL -> CR, any
 *     other CR kept), each call writes at most inlen + 1 bytes, and the
 *     finish call flushes a trailing CR.
 * Output buffers are heap blocks of exactly the documented size, so ASan
 * catches a single byte over.
 */
#include "fuzz_util.h"
#include "netascii.h"

struct chunks {
	const uint8_t *sz;
	size_t n, i;
};

static size_t next_chunk(struct chunks *c, size_t remain)
{
	if (!c->n)
		return remain;
	uint8_t b = c->sz[c->i++ % c->n];
	return b == 0 || b > remain ? remain : b;
}

static size_t ref_encode(const uint8_t *in, size_t n, uint8_t *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (in[i] == '\n') {
			out[o++] = '\r';
			out[o++] = '\n';
		} else if (in[i] == '\r') {
			out[o++] = '\r';
			out[o++] = '\0';
		} else {
			out[o++] = in[i];
		}
	}
	return o;
}

static size_t ref_decode(const uint8_t *in, size_t n, uint8_t *out)
{
	size_t o = 0;
	int cr = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = in[i];
		if (cr) {
			cr = 0;
			if (c == '\n') {
				out[o++] = '\n';
				continue;
			}
			if (c == '\0') {
				out[o++] = '\r';
				continue;
			}
			out[o++] = '\r';
		}
		if (c == '\r')
			cr = 1;
		else
			out[o++] = c;
	}
	if (cr)
		out[o++] = '\r';
	return o;
}

/* Encode in[0..n) chunked; returns the length written into out (room for
 * 2n). */
static size_t chunked_encode(const uint8_t *in, size_t n, struct chunks *c,
			     uint8_t *out)
{
	struct tftp_nascii_enc e;
	tftp_nascii_enc_init(&e);
	size_t pos = 0, o = 0, calls = 0;
	for (;;) {
		size_t inlen = next_chunk(c, n - pos);
		size_t outcap = next_chunk(c, SIZE_MAX);
		if (outcap == SIZE_MAX || outcap > 2 * n + 2)
			outcap = 2 * n + 2;
		if (outcap == 0)
			outcap = 1;
		uint8_t *ob = malloc(outcap);
		if (!ob)
			abort();
		size_t used = SIZE_MAX;
		size_t w = tftp_nascii_encode(&e, in + pos, inlen, &used, ob,
					      outcap);
		FUZZ_CHECK(w <= outcap, "encode wrote %zu into %zu", w, outcap);
		FUZZ_CHECK(used <= inlen, "encode consumed %zu of %zu", used,
			   inlen);
		FUZZ_CHECK(o + w <= 2 * n, "encoded stream longer than 2n");
		int had_pending = e.pending >= 0;
		memcpy(out + o, ob, w);
		free(ob);
		o += w;
		pos += used;
		if (inlen > 0)
			FUZZ_CHECK(w > 0, "no progress with %zu in, %zu room",
				   inlen, outcap);
		if (pos == n && !had_pending) {
			/* End of stream: one more empty call flushes nothing
			 * new and leaves nothing pending. */
			size_t u2 = 7;
			uint8_t tail[4];
			size_t w2 = tftp_nascii_encode(&e, in + pos, 0, &u2,
						       tail, sizeof(tail));
			FUZZ_CHECK(w2 == 0 && u2 == 0,
				   "empty call at the end wrote %zu", w2);
			break;
		}
		FUZZ_CHECK(++calls <= 4 * n + 8, "encoder makes no progress");
	}
	FUZZ_CHECK(e.pending < 0, "half a pair left pending");
	return o;
}

/* Decode in[0..n) chunked into out (room for n + 1). */
static size_t chunked_decode(const uint8_t *in, size_t n, struct chunks *c,
			     uint8_t *out)
{
	struct tftp_nascii_dec d;
	tftp_nascii_dec_init(&d);
	size_t pos = 0, o = 0;
	while (pos < n) {
		size_t inlen = next_chunk(c, n - pos);
		uint8_t *ob = malloc(inlen + 1);
		if (!ob)
			abort();
		size_t w = tftp_nascii_decode(&d, in + pos, inlen, ob);
		FUZZ_CHECK(w <= inlen + 1, "decode wrote %zu for %zu in", w,
			   inlen);
		FUZZ_CHECK(o + w <= n, "decoded more bytes than came in");
		memcpy(out + o, ob, w);
		free(ob);
		o += w;
		pos += inlen;
	}
	uint8_t *ob = malloc(1);
	if (!ob)
		abort();
	size_t w = tftp_nascii_dec_finish(&d, ob);
	FUZZ_CHECK(w <= 1, "finish wrote %zu", w);
	FUZZ_CHECK(o + w <= n, "decoded more bytes than came in");
	memcpy(out + o, ob, w);
	free(ob);
	o += w;
	w = tftp_nascii_dec_finish(&d, out + o);
	FUZZ_CHECK(w == 0, "a second finish wrote %zu", w);
	return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = {data, size};
	struct chunks c;
	size_t nsz = fz_u8(&f) % 33u;
	c.sz = fz_bytes(&f, nsz, &c.n);
	c.i = 0;
	size_t n;
	const uint8_t *src = fz_bytes(&f, fz_left(&f), &n);
	uint8_t *in = fz_dup(src, n);
	uint8_t *enc = malloc(2 * n + 1);
	uint8_t *ref = malloc(2 * n + 1);
	uint8_t *dec = malloc(2 * n + 2);
	if (!enc || !ref || !dec)
		abort();

	/* 1. encode == reference */
	size_t el = chunked_encode(in, n, &c, enc);
	size_t rl = ref_encode(in, n, ref);
	FUZZ_CHECK(el == rl && memcmp(enc, ref, el) == 0,
		   "encoding differs from the reference (%zu vs %zu bytes)",
		   el, rl);

	/* 2. decode(encode(x)) == x */
	size_t dl = chunked_decode(enc, el, &c, dec);
	FUZZ_CHECK(dl == n && memcmp(dec, in, n) == 0,
		   "round trip differs (%zu vs %zu bytes)", dl, n);

	/* 3. decode(any bytes) == reference lenient decode */
	dl = chunked_decode(in, n, &c, dec);
	rl = ref_decode(in, n, ref);
	FUZZ_CHECK(dl == rl && memcmp(dec, ref, dl) == 0,
		   "decoding differs from the reference (%zu vs %zu bytes)",
		   dl, rl);

	free(in);
	free(enc);
	free(ref);
	free(dec);
	return 0;
}
