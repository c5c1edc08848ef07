/* Streaming netascii codec (RFC 764 line endings as used by RFC 1350).
 *
 * Encoding turns LF into CR LF and a bare CR into CR NUL; decoding reverses
 * it. Both carry state across calls so a pair split across two blocks is
 * handled: the codecs can be fed any chunking of the stream.
 */
#ifndef TFTP_NETASCII_H
#define TFTP_NETASCII_H

#include <stddef.h>
#include <stdint.h>

struct tftp_nascii_enc {
	/* Second byte of a CR LF / CR NUL pair that did not fit the last output
	 * buffer; -1 when none. */
	int pending;
};

struct tftp_nascii_dec {
	int cr_pending; /* the last input byte was a CR not yet resolved */
};

void tftp_nascii_enc_init(struct tftp_nascii_enc *e);
/* Encode from in[0..inlen) into out[0..outcap). Returns bytes written;
 * *consumed gets the input bytes used. Stops when out is full. */
size_t tftp_nascii_encode(struct tftp_nascii_enc *e, const uint8_t *in,
			  size_t inlen, size_t *consumed, uint8_t *out,
			  size_t outcap);

void tftp_nascii_dec_init(struct tftp_nascii_dec *d);
/* Decode all of in into out; out must hold inlen + 1 bytes (a CR held back
 * from the previous call may be emitted). Returns bytes written. A CR
 * followed by anything but LF or NUL is kept as is (lenient). */
size_t tftp_nascii_decode(struct tftp_nascii_dec *d, const uint8_t *in,
			  size_t inlen, uint8_t *out);
/* End of stream: emit a trailing lone CR, if any, into out (room for 1).
 * Returns bytes written (0 or 1). */
size_t tftp_nascii_dec_finish(struct tftp_nascii_dec *d, uint8_t *out);

#endif
