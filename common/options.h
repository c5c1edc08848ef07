/* TFTP option extension: RFC 2347 (framework), 2348 (blksize),
 * 2349 (timeout, tsize), 7440 (windowsize). */
#ifndef TFTP_OPTIONS_H
#define TFTP_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "packet.h"

enum tftp_opt_bit {
	TFTP_OPT_BLKSIZE = 1u << 0,
	TFTP_OPT_TIMEOUT = 1u << 1,
	TFTP_OPT_TSIZE = 1u << 2,
	TFTP_OPT_WINDOWSIZE = 1u << 3,
	/* tftp-hpa's own, granted as it grants them (clients use them): */
	TFTP_OPT_BLKSIZE2 = 1u << 4, /* a block size, answered as a power of 2 */
	TFTP_OPT_UTIMEOUT = 1u << 5, /* the timeout in microseconds */
	TFTP_OPT_ROLLOVER = 1u << 6, /* the block number after 65535 (0) */
};
#define TFTP_OPT_LAST TFTP_OPT_ROLLOVER

#define TFTP_TIMEOUT_MIN 1u
#define TFTP_TIMEOUT_MAX 255u
#define TFTP_WINDOW_MIN 1u
#define TFTP_WINDOW_MAX 65535u
#define TFTP_UTIMEOUT_MIN 10000u      /* tftp-hpa's range, microseconds */
#define TFTP_UTIMEOUT_MAX 255000000u
#define TFTP_BLKSIZE2_MAX 32768u      /* the largest power of 2 <= 65464 */

/* A set of options: a field is meaningful only if its bit is in present. */
struct tftp_opts {
	unsigned present;
	uint32_t blksize;
	uint32_t timeout;     /* seconds */
	uint64_t tsize;
	uint32_t windowsize;
	uint32_t blksize2;    /* a power of 2 in an OACK */
	uint32_t utimeout;    /* microseconds */
	uint32_t rollover;    /* 0 or 1; only 0 is granted */
};

/* Options of a request (or OACK) packet. Names are case-insensitive, unknown
 * names are skipped, the first of a repeated option wins, and a value that is
 * not plain decimal, overflows or is out of range is dropped (as if absent). */
void tftp_opts_from_packet(const struct tftp_packet *p, struct tftp_opts *out);

/* Parse a plain decimal number: digits only, no sign, no spaces, no
 * overflow. Returns 0 on success. */
int tftp_parse_decimal(struct tftp_slice s, uint64_t max, uint64_t *out);

struct tftp_server_caps {
	int allow_options;     /* 0: pure RFC 1350, never OACK */
	uint32_t max_blksize;  /* <= TFTP_BLKSIZE_MAX */
	uint32_t max_window;   /* <= TFTP_WINDOW_MAX */
	/* A timeout option above this (seconds) is not acknowledged: the
	 * server keeps its own timer (RFC 2349 lets it decline), so a forged
	 * timeout=255 cannot hold a session for many minutes. 0: 255. */
	uint32_t max_timeout;
};

/* Server side: decide which of the request's options are accepted.
 * tftp-hpa's: blksize2 (if no blksize) as the largest power of 2 within
 * the request and the cap; utimeout (if no timeout) echoed within the
 * timeout cap; rollover only as 0 (wrapping to block 0, as here; a server
 * may decline the rest, RFC 2347).
 * is_read: RRQ (tsize answered with file_size) or WRQ (tsize echoed).
 * tsize is not offered for netascii reads (the wire size is unknown).
 * An OACK is due iff acc->present != 0. */
void tftp_opts_negotiate(const struct tftp_opts *req,
			 const struct tftp_server_caps *caps, int is_read,
			 enum tftp_mode mode, uint64_t file_size,
			 struct tftp_opts *acc);

/* Append the options of o to a request or OACK of length len. Returns the
 * new length or 0 if it does not fit. Order: blksize timeout tsize
 * windowsize blksize2 utimeout rollover. */
size_t tftp_opts_append(uint8_t *buf, size_t cap, size_t len,
			const struct tftp_opts *o);

/* Client side: check an OACK against what was asked. On success the agreed
 * values are in *agreed (present = options the server accepted) and 0 is
 * returned; otherwise -1 with a reason in why, and the client must answer
 * ERROR 8 and abort. Refused: an option not asked for, an unparsable or
 * out-of-range value, blksize or windowsize above the request, a timeout
 * different from the request, an empty OACK. */
int tftp_opts_validate_oack(const struct tftp_opts *asked,
			    const struct tftp_packet *oack,
			    struct tftp_opts *agreed, char *why, size_t whylen);

#endif
