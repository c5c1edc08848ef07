/* TFTP packet codec. See packet.h.
 *
 * Every read of the datagram is preceded by a length check against the
 * datagram's size, and every string is found with memchr bounded by the
 * datagram's end, so a malformed or truncated datagram can never make the
 * parser read past it.
 *
 * Leniency decisions (peers in the wild are sloppy; none of these makes a
 * packet ambiguous):
 *  - ACK: bytes after the block number are ignored (the ACK is accepted
 *    with its 4-byte meaning). TFTP_PARSE_TRAILING is therefore never
 *    returned; it stays in the enum for a stricter policy.
 *  - ERROR: a message without its NUL inside the datagram is accepted, but
 *    the message is then reported as empty, because a slice promises
 *    ptr[len] == NUL and consumers rely on that. The error code still
 *    counts, so the transfer is still aborted as the peer asked.
 *  - RRQ/WRQ/OACK: a tail of NUL bytes after the last complete option is
 *    padding and ignored (some PXE ROMs pad their requests).
 */
#include "packet.h"

#include <string.h>
#include <strings.h>

/* The empty string, for slices that have no bytes in the datagram. */
static const char empty_str[1] = "";

static struct tftp_slice empty_slice(void)
{
	struct tftp_slice s = {empty_str, 0};
	return s;
}

/* Find the NUL-terminated string starting at buf[*pos], bounded by len.
 * On success the slice is set and *pos moves past the NUL. */
static int take_string(const uint8_t *buf, size_t len, size_t *pos,
		       struct tftp_slice *out)
{
	if (*pos >= len)
		return -1;
	const uint8_t *start = buf + *pos;
	const uint8_t *nul = memchr(start, 0, len - *pos);
	if (!nul)
		return -1;
	out->ptr = (const char *)start;
	out->len = (size_t)(nul - start);
	*pos += out->len + 1u;
	return 0;
}

static int all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

/* Option pairs "name\0value\0" from buf[pos] to the end. Lenient (a
 * server reading a request, as tftp-hpa and atftpd do): an option without
 * a value, a last option cut short, and options past the 16th end the list
 * instead of failing the request: buggy ROMs send them, and the options
 * read so far still describe what the client wants. */
static enum tftp_parse_result parse_options(const uint8_t *buf, size_t len,
					    size_t pos,
					    struct tftp_packet *out,
					    int lenient)
{
	enum tftp_parse_result r = TFTP_PARSE_OK;
	out->nopts = 0;
	while (pos < len && r == TFTP_PARSE_OK) {
		if (all_zero(buf + pos, len - pos))
			break; /* padding */
		if (out->nopts == TFTP_OPTIONS_MAX) {
			r = TFTP_PARSE_TOO_MANY_OPTIONS;
			break;
		}
		struct tftp_option_kv *kv = &out->opts[out->nopts];
		if (take_string(buf, len, &pos, &kv->name) < 0)
			r = TFTP_PARSE_NO_NUL;
		else if (pos == len)
			r = TFTP_PARSE_OPTION_NO_VALUE;
		else if (take_string(buf, len, &pos, &kv->value) < 0)
			r = TFTP_PARSE_NO_NUL;
		else
			out->nopts++;
	}
	return lenient ? TFTP_PARSE_OK : r;
}

static enum tftp_parse_result parse_request(const uint8_t *buf, size_t len,
					    struct tftp_packet *out,
					    int lenient)
{
	size_t pos = 2;
	if (take_string(buf, len, &pos, &out->filename) < 0)
		return TFTP_PARSE_NO_NUL;
	if (out->filename.len == 0)
		return TFTP_PARSE_EMPTY_FILENAME;
	if (out->filename.len > TFTP_FILENAME_MAX)
		return TFTP_PARSE_FILENAME_TOO_LONG;
	if (take_string(buf, len, &pos, &out->mode) < 0)
		return TFTP_PARSE_NO_NUL;
	if (out->mode.len == 0)
		return TFTP_PARSE_EMPTY_MODE;
	return parse_options(buf, len, pos, out, lenient);
}

static enum tftp_parse_result parse_error(const uint8_t *buf, size_t len,
					  struct tftp_packet *out)
{
	size_t pos = 4;
	out->errcode = tftp_get16(buf + 2);
	if (take_string(buf, len, &pos, &out->errmsg) < 0)
		out->errmsg = empty_slice(); /* absent or unterminated */
	return TFTP_PARSE_OK;
}

static enum tftp_parse_result parse_any(const uint8_t *buf, size_t len,
					struct tftp_packet *out, int lenient)
{
	if (len < 2)
		return TFTP_PARSE_SHORT;
	uint16_t op = tftp_get16(buf);
	if (op < TFTP_OP_RRQ || op > TFTP_OP_OACK)
		return TFTP_PARSE_BAD_OPCODE;
	memset(out, 0, sizeof(*out));
	out->op = (enum tftp_opcode)op;
	out->filename = out->mode = out->errmsg = empty_slice();
	switch (out->op) {
	case TFTP_OP_RRQ:
	case TFTP_OP_WRQ:
		return parse_request(buf, len, out, lenient);
	case TFTP_OP_OACK:
		return parse_options(buf, len, 2, out, 0);
	case TFTP_OP_DATA:
	case TFTP_OP_ACK:
	case TFTP_OP_ERROR:
		break;
	}
	if (len < TFTP_HDR_LEN)
		return TFTP_PARSE_SHORT;
	if (out->op == TFTP_OP_ERROR)
		return parse_error(buf, len, out);
	out->block = tftp_get16(buf + 2);
	if (out->op == TFTP_OP_DATA) {
		out->data = buf + TFTP_HDR_LEN;
		out->datalen = len - TFTP_HDR_LEN;
	}
	return TFTP_PARSE_OK;
}

enum tftp_parse_result tftp_packet_parse(const uint8_t *buf, size_t len,
					 struct tftp_packet *out)
{
	return parse_any(buf, len, out, 0);
}

enum tftp_parse_result tftp_packet_parse_lenient(const uint8_t *buf,
						 size_t len,
						 struct tftp_packet *out)
{
	return parse_any(buf, len, out, 1);
}

const char *tftp_parse_strerror(enum tftp_parse_result r)
{
	switch (r) {
	case TFTP_PARSE_OK:
		return "ok";
	case TFTP_PARSE_SHORT:
		return "packet too short";
	case TFTP_PARSE_BAD_OPCODE:
		return "unknown opcode";
	case TFTP_PARSE_NO_NUL:
		return "string not terminated within the packet";
	case TFTP_PARSE_EMPTY_FILENAME:
		return "empty file name";
	case TFTP_PARSE_FILENAME_TOO_LONG:
		return "file name too long";
	case TFTP_PARSE_EMPTY_MODE:
		return "empty transfer mode";
	case TFTP_PARSE_OPTION_NO_VALUE:
		return "option without a value";
	case TFTP_PARSE_TOO_MANY_OPTIONS:
		return "too many options";
	case TFTP_PARSE_TRAILING:
		return "trailing bytes after the packet";
	}
	return "unknown parse error";
}

uint16_t tftp_packet_opcode(const uint8_t *buf, size_t len)
{
	return len < 2 ? 0 : tftp_get16(buf);
}

const char *tftp_opcode_name(uint16_t op)
{
	static const char *const names[] = {
		"opcode 0", "RRQ", "WRQ", "DATA", "ACK", "ERROR", "OACK",
	};
	if (op < sizeof(names) / sizeof(names[0]))
		return names[op];
	return "unknown opcode";
}

const char *tftp_errcode_message(uint16_t code)
{
	static const char *const msgs[] = {
		"Undefined error",
		"File not found",
		"Access violation",
		"Disk full or allocation exceeded",
		"Illegal TFTP operation",
		"Unknown transfer ID",
		"File already exists",
		"No such user",
		"Option negotiation failed",
	};
	if (code < sizeof(msgs) / sizeof(msgs[0]))
		return msgs[code];
	return "";
}

enum tftp_mode tftp_mode_parse(struct tftp_slice s)
{
	if (s.len == 5 && strncasecmp(s.ptr, "octet", 5) == 0)
		return TFTP_MODE_OCTET;
	if (s.len == 8 && strncasecmp(s.ptr, "netascii", 8) == 0)
		return TFTP_MODE_NETASCII;
	return TFTP_MODE_INVALID;
}

const char *tftp_mode_name(enum tftp_mode m)
{
	switch (m) {
	case TFTP_MODE_OCTET:
		return "octet";
	case TFTP_MODE_NETASCII:
		return "netascii";
	case TFTP_MODE_INVALID:
		break;
	}
	return "invalid";
}

/* ---- builders ---------------------------------------------------------- */

/* Append the string s with its NUL at buf[len]; 0 if it does not fit. */
static size_t put_string(uint8_t *buf, size_t cap, size_t len, const char *s)
{
	size_t n = strlen(s);
	if (len > cap || cap - len < n + 1u)
		return 0;
	memcpy(buf + len, s, n + 1u);
	return len + n + 1u;
}

/* The builders check fit, not content: they write what they are given, so
 * tests can also build packets the parser must refuse. */
size_t tftp_build_request(uint8_t *buf, size_t cap, enum tftp_opcode op,
			  const char *filename, const char *mode)
{
	if ((op != TFTP_OP_RRQ && op != TFTP_OP_WRQ) || !filename || !mode ||
	    cap < 2)
		return 0;
	tftp_put16(buf, (uint16_t)op);
	size_t len = put_string(buf, cap, 2, filename);
	return len ? put_string(buf, cap, len, mode) : 0;
}

size_t tftp_build_append_option(uint8_t *buf, size_t cap, size_t len,
				const char *name, const char *value)
{
	if (!name || !value || len == 0)
		return 0;
	/* Check the whole pair first so a failure leaves nothing half-written
	 * that a caller could mistake for the packet. */
	size_t nl = strlen(name), vl = strlen(value);
	if (len > cap || cap - len < nl + vl + 2u)
		return 0;
	len = put_string(buf, cap, len, name);
	return put_string(buf, cap, len, value);
}

size_t tftp_build_oack(uint8_t *buf, size_t cap)
{
	if (cap < 2)
		return 0;
	tftp_put16(buf, TFTP_OP_OACK);
	return 2;
}

size_t tftp_build_data_header(uint8_t *buf, size_t cap, uint16_t block)
{
	if (cap < TFTP_HDR_LEN)
		return 0;
	tftp_put16(buf, TFTP_OP_DATA);
	tftp_put16(buf + 2, block);
	return TFTP_HDR_LEN;
}

size_t tftp_build_data(uint8_t *buf, size_t cap, uint16_t block,
		       const uint8_t *data, size_t len)
{
	if (cap < TFTP_HDR_LEN || cap - TFTP_HDR_LEN < len || (len && !data))
		return 0;
	tftp_build_data_header(buf, cap, block);
	/* memmove: the payload may already sit in buf (read in place). */
	if (len)
		memmove(buf + TFTP_HDR_LEN, data, len);
	return TFTP_HDR_LEN + len;
}

size_t tftp_build_ack(uint8_t *buf, size_t cap, uint16_t block)
{
	if (cap < TFTP_HDR_LEN)
		return 0;
	tftp_put16(buf, TFTP_OP_ACK);
	tftp_put16(buf + 2, block);
	return TFTP_HDR_LEN;
}

size_t tftp_build_error(uint8_t *buf, size_t cap, uint16_t code,
			const char *msg)
{
	if (cap < TFTP_HDR_LEN + 1u)
		return 0;
	if (!msg)
		msg = tftp_errcode_message(code);
	/* Truncate to what fits, keeping one byte for the NUL. */
	size_t n = strnlen(msg, cap - TFTP_HDR_LEN - 1u);
	tftp_put16(buf, TFTP_OP_ERROR);
	tftp_put16(buf + 2, code);
	memcpy(buf + TFTP_HDR_LEN, msg, n);
	buf[TFTP_HDR_LEN + n] = 0;
	return TFTP_HDR_LEN + n + 1u;
}
