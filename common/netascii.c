/* Streaming netascii codec. See netascii.h. */
#include "netascii.h"

#define CR 0x0d
#define LF 0x0a

void tftp_nascii_enc_init(struct tftp_nascii_enc *e)
{
	e->pending = -1;
}

size_t tftp_nascii_encode(struct tftp_nascii_enc *e, const uint8_t *in,
			  size_t inlen, size_t *consumed, uint8_t *out,
			  size_t outcap)
{
	size_t i = 0, o = 0;
	/* The second byte of a pair split by the previous call goes first. */
	if (e->pending >= 0 && o < outcap) {
		out[o++] = (uint8_t)e->pending;
		e->pending = -1;
	}
	while (e->pending < 0 && i < inlen && o < outcap) {
		uint8_t c = in[i++];
		int second = -1;
		if (c == LF) {
			c = CR;
			second = LF;
		} else if (c == CR) {
			second = 0;
		}
		out[o++] = c;
		if (second < 0)
			continue;
		if (o < outcap)
			out[o++] = (uint8_t)second;
		else
			e->pending = second; /* the input byte counts as used */
	}
	*consumed = i;
	return o;
}

void tftp_nascii_dec_init(struct tftp_nascii_dec *d)
{
	d->cr_pending = 0;
}

size_t tftp_nascii_decode(struct tftp_nascii_dec *d, const uint8_t *in,
			  size_t inlen, uint8_t *out)
{
	size_t o = 0;
	for (size_t i = 0; i < inlen; i++) {
		uint8_t c = in[i];
		if (d->cr_pending) {
			d->cr_pending = 0;
			if (c == LF) {
				out[o++] = LF;
				continue;
			}
			out[o++] = CR;
			if (c == 0)
				continue; /* CR NUL is a bare CR */
			/* CR x (not a valid pair): keep both, x below. */
		}
		if (c == CR)
			d->cr_pending = 1; /* its meaning depends on the next byte */
		else
			out[o++] = c;
	}
	return o;
}

size_t tftp_nascii_dec_finish(struct tftp_nascii_dec *d, uint8_t *out)
{
	if (!d->cr_pending)
		return 0;
	d->cr_pending = 0;
	out[0] = CR;
	return 1;
}
