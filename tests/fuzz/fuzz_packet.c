/* libFuzzer target: the packet parser, and the builders as its inverse.
 *
 * The input is one datagram. Invariants:
 *  - parsing never reads past the datagram (the datagram is a heap copy of
 *    exactly its length, so ASan catches a single byte over);
 *  - every slice of a parsed packet lies inside the datagram, is
 *    NUL-terminated there and has no NUL inside; the documented limits hold
 *    (filename 1..TFTP_FILENAME_MAX, mode non-empty, at most
 *    TFTP_OPTIONS_MAX options);
 *  - a parsed packet rebuilt with the builders gives back the datagram byte
 *    for byte, up to what packet.c documents it ignores (NUL padding after
 *    a request's or OACK's last option, bytes after an ACK's block number,
 *    bytes after an ERROR message's NUL; an ERROR message without its NUL
 *    reads as empty); a buffer one byte short makes the builder fail, and
 *    no builder writes past the capacity it is given (heap buffers of
 *    exactly that size);
 *  - an ERROR built into any capacity >= 5 is truncated, NUL-terminated and
 *    parses back with a prefix of the message.
 */
#include <strings.h>

#include "fuzz_util.h"
#include "packet.h"

static void check_slice(const uint8_t *buf, size_t len, struct tftp_slice s,
			const char *what)
{
	const uint8_t *p = (const uint8_t *)s.ptr;
	FUZZ_CHECK(p >= buf && p + s.len < buf + len,
		   "%s slice outside the datagram", what);
	FUZZ_CHECK(p[s.len] == 0, "%s slice not NUL-terminated", what);
	FUZZ_CHECK(memchr(p, 0, s.len) == NULL, "%s slice contains a NUL",
		   what);
}

/* Build the packet p again into a heap buffer of exactly cap bytes.
 * Returns the length (0 if it did not fit); *out gets the buffer. */
static size_t rebuild(const struct tftp_packet *p, size_t cap, uint8_t **out)
{
	uint8_t *b = malloc(cap ? cap : 1u);
	size_t n = 0;
	if (!b)
		abort();
	switch (p->op) {
	case TFTP_OP_RRQ:
	case TFTP_OP_WRQ:
		n = tftp_build_request(b, cap, p->op, p->filename.ptr,
				       p->mode.ptr);
		break;
	case TFTP_OP_OACK:
		n = tftp_build_oack(b, cap);
		break;
	case TFTP_OP_DATA:
		n = tftp_build_data(b, cap, p->block, p->data, p->datalen);
		break;
	case TFTP_OP_ACK:
		n = tftp_build_ack(b, cap, p->block);
		break;
	case TFTP_OP_ERROR:
		/* Exact rebuild only: the message must not be truncated. */
		n = tftp_build_error(b, cap, p->errcode, p->errmsg.ptr);
		if (n && n != 4u + p->errmsg.len + 1u)
			n = 0;
		break;
	}
	FUZZ_CHECK(n <= cap, "builder returned %zu > cap %zu", n, cap);
	if (n && (p->op == TFTP_OP_RRQ || p->op == TFTP_OP_WRQ ||
		  p->op == TFTP_OP_OACK)) {
		for (size_t i = 0; i < p->nopts && n; i++) {
			size_t m = tftp_build_append_option(
				b, cap, n, p->opts[i].name.ptr,
				p->opts[i].value.ptr);
			FUZZ_CHECK(m == 0 || (m > n && m <= cap),
				   "append_option returned %zu (len %zu cap %zu)",
				   m, n, cap);
			n = m;
		}
	}
	*out = b;
	return n;
}

static void check_parsed(const uint8_t *buf, size_t len,
			 const struct tftp_packet *p)
{
	FUZZ_CHECK(len >= 2 && p->op == tftp_get16(buf), "opcode %d vs wire",
		   (int)p->op);
	FUZZ_CHECK(p->op >= TFTP_OP_RRQ && p->op <= TFTP_OP_OACK,
		   "opcode %d accepted", (int)p->op);
	switch (p->op) {
	case TFTP_OP_RRQ:
	case TFTP_OP_WRQ:
		check_slice(buf, len, p->filename, "filename");
		check_slice(buf, len, p->mode, "mode");
		FUZZ_CHECK(p->filename.len >= 1 &&
				   p->filename.len <= TFTP_FILENAME_MAX,
			   "filename length %zu", p->filename.len);
		FUZZ_CHECK(p->mode.len >= 1, "empty mode accepted");
		/* fall through */
	case TFTP_OP_OACK:
		FUZZ_CHECK(p->nopts <= TFTP_OPTIONS_MAX, "%zu options",
			   p->nopts);
		for (size_t i = 0; i < p->nopts; i++) {
			check_slice(buf, len, p->opts[i].name, "option name");
			check_slice(buf, len, p->opts[i].value, "option value");
		}
		break;
	case TFTP_OP_DATA:
		FUZZ_CHECK(len >= 4 && p->block == tftp_get16(buf + 2),
			   "DATA block");
		FUZZ_CHECK(p->data == buf + 4 && p->datalen == len - 4,
			   "DATA payload %zu of %zu", p->datalen, len);
		break;
	case TFTP_OP_ACK:
		FUZZ_CHECK(len >= 4 && p->block == tftp_get16(buf + 2),
			   "ACK of %zu bytes", len);
		break;
	case TFTP_OP_ERROR:
		FUZZ_CHECK(len >= 4 && p->errcode == tftp_get16(buf + 2),
			   "ERROR code");
		if (memchr(buf + 4, 0, len - 4))
			check_slice(buf, len, p->errmsg, "error message");
		else
			FUZZ_CHECK(p->errmsg.len == 0 && p->errmsg.ptr &&
					   p->errmsg.ptr[0] == 0,
				   "unterminated ERROR message not empty");
		break;
	}
}

static int all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

/* The rebuilt packet out[0..n) against the datagram buf[0..len). */
static void check_rebuilt(const uint8_t *buf, size_t len,
			  const struct tftp_packet *p, const uint8_t *out,
			  size_t n)
{
	const char *what = tftp_opcode_name((uint16_t)p->op);
	switch (p->op) {
	case TFTP_OP_RRQ:
	case TFTP_OP_WRQ:
	case TFTP_OP_OACK:
		/* Only NUL padding may follow the last option. */
		FUZZ_CHECK(n <= len && memcmp(out, buf, n) == 0 &&
				   all_zero(buf + n, len - n),
			   "%s of %zu bytes rebuilt as %zu bytes", what, len, n);
		break;
	case TFTP_OP_DATA:
		FUZZ_CHECK(n == len && memcmp(out, buf, n) == 0,
			   "DATA of %zu bytes rebuilt as %zu bytes", len, n);
		break;
	case TFTP_OP_ACK:
		FUZZ_CHECK(n == 4 && memcmp(out, buf, 4) == 0,
			   "ACK rebuilt as %zu bytes", n);
		break;
	case TFTP_OP_ERROR:
		if (memchr(buf + 4, 0, len - 4))
			FUZZ_CHECK(n == 4 + p->errmsg.len + 1 && n <= len &&
					   memcmp(out, buf, n) == 0,
				   "ERROR of %zu bytes rebuilt as %zu", len, n);
		else
			FUZZ_CHECK(n == 5 && memcmp(out, buf, 4) == 0 &&
					   out[4] == 0,
				   "unterminated ERROR rebuilt as %zu", n);
		break;
	}
}

static void check_mode(struct tftp_slice s)
{
	enum tftp_mode m = tftp_mode_parse(s);
	enum tftp_mode want = TFTP_MODE_INVALID;
	if (s.len == 5 && strncasecmp(s.ptr, "octet", 5) == 0)
		want = TFTP_MODE_OCTET;
	else if (s.len == 8 && strncasecmp(s.ptr, "netascii", 8) == 0)
		want = TFTP_MODE_NETASCII;
	FUZZ_CHECK(m == want, "mode %.*s parsed as %d", (int)s.len, s.ptr,
		   (int)m);
	FUZZ_CHECK(tftp_mode_name(m) != NULL, "mode name");
}

/* ERROR truncation: any capacity from 5 gives a valid ERROR whose message
 * is a prefix of the one asked for. */
static void check_error_truncation(const uint8_t *data, size_t size)
{
	if (size < 3)
		return;
	uint16_t code = tftp_get16(data);
	size_t cap = data[2];
	char msg[256];
	size_t mlen = size - 3 < sizeof(msg) - 1 ? size - 3 : sizeof(msg) - 1;
	memcpy(msg, data + 3, mlen);
	msg[mlen] = '\0';
	mlen = strlen(msg);
	uint8_t *b = malloc(cap ? cap : 1u);
	if (!b)
		abort();
	/* An odd capacity asks for the code's default message (msg NULL). */
	int dflt = (cap & 1) != 0;
	if (dflt) {
		const char *d = tftp_errcode_message(code);
		FUZZ_CHECK(d != NULL, "no default message for %u", code);
		snprintf(msg, sizeof(msg), "%s", d);
		mlen = strlen(msg);
	}
	size_t n = tftp_build_error(b, cap, code, dflt ? NULL : msg);
	if (cap < 5) {
		FUZZ_CHECK(n == 0, "ERROR into cap %zu gave %zu", cap, n);
		free(b);
		return;
	}
	FUZZ_CHECK(n >= 5 && n <= cap, "ERROR into cap %zu gave %zu", cap, n);
	struct tftp_packet p;
	FUZZ_CHECK(tftp_packet_parse(b, n, &p) == TFTP_PARSE_OK &&
			   p.op == TFTP_OP_ERROR && p.errcode == code,
		   "built ERROR does not parse");
	FUZZ_CHECK(p.errmsg.len <= mlen &&
			   memcmp(p.errmsg.ptr, msg, p.errmsg.len) == 0,
		   "ERROR message is not a prefix");
	FUZZ_CHECK(p.errmsg.len == mlen || n == cap,
		   "message truncated with room to spare");
	free(b);
	/* The default message of every code. */
	FUZZ_CHECK(tftp_errcode_message(code) != NULL, "errcode message");
}

/* The server's lenient reading: whatever parses strictly parses the same
 * way; a request may parse where the strict parser failed only on its
 * options, with every slice inside the datagram and at most 16 options. */
static void check_lenient(const uint8_t *buf, size_t size,
			  enum tftp_parse_result strict,
			  const struct tftp_packet *sp)
{
	struct tftp_packet lp;
	enum tftp_parse_result r = tftp_packet_parse_lenient(buf, size, &lp);
	if (strict == TFTP_PARSE_OK) {
		FUZZ_CHECK(r == TFTP_PARSE_OK && lp.nopts == sp->nopts,
			   "lenient parse differs from strict");
		return;
	}
	if (r != TFTP_PARSE_OK)
		return;
	FUZZ_CHECK(lp.op == TFTP_OP_RRQ || lp.op == TFTP_OP_WRQ,
		   "lenient parse accepted a %s the strict one refused",
		   tftp_opcode_name((uint16_t)lp.op));
	FUZZ_CHECK(strict == TFTP_PARSE_OPTION_NO_VALUE ||
			   strict == TFTP_PARSE_TOO_MANY_OPTIONS ||
			   strict == TFTP_PARSE_NO_NUL,
		   "lenient parse accepted %s", tftp_parse_strerror(strict));
	FUZZ_CHECK(lp.nopts <= TFTP_OPTIONS_MAX, "too many options");
	check_parsed(buf, size, &lp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = fz_dup(data, size);
	struct tftp_packet p;
	enum tftp_parse_result r = tftp_packet_parse(buf, size, &p);
	FUZZ_CHECK(tftp_parse_strerror(r) != NULL, "strerror(%d)", (int)r);
	uint16_t op = tftp_packet_opcode(buf, size);
	FUZZ_CHECK(size >= 2 ? op == tftp_get16(buf) : op == 0,
		   "tftp_packet_opcode");
	FUZZ_CHECK(tftp_opcode_name(op) != NULL, "opcode name");

	if (r == TFTP_PARSE_OK) {
		check_parsed(buf, size, &p);
		if (p.op == TFTP_OP_RRQ || p.op == TFTP_OP_WRQ)
			check_mode(p.mode);
		uint8_t *out;
		size_t n = rebuild(&p, size + 8, &out);
		FUZZ_CHECK(n > 0, "%s of %zu bytes does not rebuild",
			   tftp_opcode_name(op), size);
		check_rebuilt(buf, size, &p, out, n);
		free(out);
		size_t m = rebuild(&p, n - 1, &out);
		FUZZ_CHECK(m == 0, "rebuilt into a buffer one byte short");
		free(out);
	}
	check_lenient(buf, size, r, &p);
	free(buf);
	check_error_truncation(data, size);
	return 0;
}
