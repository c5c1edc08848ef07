/* TFTP packet codec (RFC 1350, RFC 2347 OACK).
 *
 * Parsing never copies: string fields are slices into the caller's datagram,
 * each found with a bounded scan, so the datagram must outlive the parsed
 * struct. Building writes into a caller buffer of known capacity and returns
 * the packet length, or 0 when it does not fit (no valid packet is empty).
 */
#ifndef TFTP_PACKET_H
#define TFTP_PACKET_H

#include <stddef.h>
#include <stdint.h>

enum tftp_opcode {
	TFTP_OP_RRQ = 1,
	TFTP_OP_WRQ = 2,
	TFTP_OP_DATA = 3,
	TFTP_OP_ACK = 4,
	TFTP_OP_ERROR = 5,
	TFTP_OP_OACK = 6,
};

/* Error codes of RFC 1350 (0-7) and RFC 2347 (8). */
enum tftp_errcode {
	TFTP_ERR_UNDEF = 0,     /* not defined, see message */
	TFTP_ERR_NOTFOUND = 1,  /* file not found */
	TFTP_ERR_ACCESS = 2,    /* access violation */
	TFTP_ERR_NOSPACE = 3,   /* disk full or allocation exceeded */
	TFTP_ERR_BADOP = 4,     /* illegal TFTP operation */
	TFTP_ERR_BADTID = 5,    /* unknown transfer ID */
	TFTP_ERR_EXISTS = 6,    /* file already exists */
	TFTP_ERR_NOUSER = 7,    /* no such user */
	TFTP_ERR_OPTNEG = 8,    /* option negotiation refused */
};

#define TFTP_PORT 69
#define TFTP_BLKSIZE_DEFAULT 512u
#define TFTP_BLKSIZE_MIN 8u
#define TFTP_BLKSIZE_MAX 65464u
#define TFTP_HDR_LEN 4u
/* Largest datagram the protocol produces: DATA with the largest blksize. */
#define TFTP_PACKET_MAX (TFTP_BLKSIZE_MAX + TFTP_HDR_LEN)
/* Limits on requests: longer names or more options are refused outright. */
#define TFTP_FILENAME_MAX 1024u
#define TFTP_OPTIONS_MAX 16u

/* A bounded view of a NUL-terminated string inside a datagram.
 * ptr[len] is the NUL; len excludes it. */
struct tftp_slice {
	const char *ptr;
	size_t len;
};

struct tftp_option_kv {
	struct tftp_slice name;
	struct tftp_slice value;
};

struct tftp_packet {
	enum tftp_opcode op;
	/* RRQ / WRQ */
	struct tftp_slice filename;
	struct tftp_slice mode;
	/* RRQ / WRQ / OACK */
	size_t nopts;
	struct tftp_option_kv opts[TFTP_OPTIONS_MAX];
	/* DATA / ACK */
	uint16_t block;
	/* DATA */
	const uint8_t *data;
	size_t datalen;
	/* ERROR */
	uint16_t errcode;
	struct tftp_slice errmsg;
};

enum tftp_parse_result {
	TFTP_PARSE_OK = 0,
	TFTP_PARSE_SHORT,              /* below the minimum for its opcode */
	TFTP_PARSE_BAD_OPCODE,         /* opcode not 1..6 */
	TFTP_PARSE_NO_NUL,             /* a string field runs off the datagram */
	TFTP_PARSE_EMPTY_FILENAME,
	TFTP_PARSE_FILENAME_TOO_LONG,
	TFTP_PARSE_EMPTY_MODE,
	TFTP_PARSE_OPTION_NO_VALUE,    /* option name with no value field */
	TFTP_PARSE_TOO_MANY_OPTIONS,
	TFTP_PARSE_TRAILING,           /* bytes after ACK's block number */
};

/* Parse a datagram. On error *out is unspecified. */
enum tftp_parse_result tftp_packet_parse(const uint8_t *buf, size_t len,
					 struct tftp_packet *out);
/* The same, but a request's options are read leniently: an option without
 * a value, a last option cut short, and options past the 16th are ignored
 * (the server's reading; tftp-hpa and atftpd serve such requests). */
enum tftp_parse_result tftp_packet_parse_lenient(const uint8_t *buf,
						 size_t len,
						 struct tftp_packet *out);
const char *tftp_parse_strerror(enum tftp_parse_result r);

/* Opcode of a datagram without parsing it; 0 if shorter than 2 bytes. */
uint16_t tftp_packet_opcode(const uint8_t *buf, size_t len);
const char *tftp_opcode_name(uint16_t op);

/* Default message for an error code ("" for unknown codes). */
const char *tftp_errcode_message(uint16_t code);

/* Transfer modes. "mail" is obsolete (RFC 1350) and refused. */
enum tftp_mode {
	TFTP_MODE_INVALID = 0,
	TFTP_MODE_OCTET,
	TFTP_MODE_NETASCII,
};
enum tftp_mode tftp_mode_parse(struct tftp_slice s); /* case-insensitive */
const char *tftp_mode_name(enum tftp_mode m);

/* Big-endian helpers: the only way this project reads or writes the wire. */
static inline uint16_t tftp_get16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}
static inline void tftp_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Builders: return the packet length, or 0 if it does not fit in cap. */
size_t tftp_build_request(uint8_t *buf, size_t cap, enum tftp_opcode op,
			  const char *filename, const char *mode);
/* Append "name\0value\0" to a packet of length len (request or OACK). */
size_t tftp_build_append_option(uint8_t *buf, size_t cap, size_t len,
				const char *name, const char *value);
size_t tftp_build_oack(uint8_t *buf, size_t cap); /* opcode only; append options */
size_t tftp_build_data_header(uint8_t *buf, size_t cap, uint16_t block);
size_t tftp_build_data(uint8_t *buf, size_t cap, uint16_t block,
		       const uint8_t *data, size_t len);
size_t tftp_build_ack(uint8_t *buf, size_t cap, uint16_t block);
/* The message is truncated to fit and always NUL-terminated; NULL means the
 * code's default message. Fails only if cap < 5. */
size_t tftp_build_error(uint8_t *buf, size_t cap, uint16_t code,
			const char *msg);

#endif
