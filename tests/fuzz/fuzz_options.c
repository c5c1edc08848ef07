/* libFuzzer target: server-side option negotiation.
 *
 * Input: the server's caps, the direction, the mode and the file size, then
 * the options of a request (or, with a flag, a whole raw datagram).
 * Invariants:
 *  - tftp_parse_decimal agrees with a reference (digits only, no overflow,
 *    <= max), and tftp_opts_from_packet with the documented rules
 *    (case-insensitive names, unknown ones skipped, first occurrence wins,
 *    invalid values dropped, ranges);
 *  - negotiation: nothing with options disabled; accepted ⊆ requested;
 *    blksize = min(requested, cap), windowsize = min(requested, cap),
 *    timeout echoed, tsize = file size on a read (never for netascii
 *    reads) and echoed on a write;
 *  - the OACK built from the accepted set never overflows its buffer, parses
 *    back to exactly the accepted set, and the client's own OACK check
 *    accepts it with the same values (server and client agree).
 */
#include "fuzz_util.h"
#include "opts_ref.h"

static void check_decimal(struct tftp_slice s, uint64_t max)
{
	uint64_t a = 0xdeadbeef, b = 0;
	int ra = tftp_parse_decimal(s, max, &a);
	int rb = ref_decimal(s, max, &b);
	FUZZ_CHECK((ra == 0) == (rb == 0), "parse_decimal('%.*s', %llu) = %d",
		   (int)s.len, s.ptr, (unsigned long long)max, ra);
	if (ra == 0)
		FUZZ_CHECK(a == b, "parse_decimal('%.*s') = %llu", (int)s.len,
			   s.ptr, (unsigned long long)a);
}

/* tftp-hpa's options: blksize2 as a power of 2 (without blksize),
 * utimeout echoed within the timeout cap (without timeout), rollover 0. */
static void check_hpa_options(const struct tftp_opts *req,
			      const struct tftp_server_caps *caps,
			      const struct tftp_opts *acc)
{
	int b2 = (req->present & TFTP_OPT_BLKSIZE2) &&
		 !(req->present & TFTP_OPT_BLKSIZE);
	FUZZ_CHECK(!!(acc->present & TFTP_OPT_BLKSIZE2) == b2,
		   "blksize2 granted %d", !b2);
	if (b2) {
		uint32_t lim = req->blksize2 < caps->max_blksize
				       ? req->blksize2
				       : caps->max_blksize;
		if (lim > TFTP_BLKSIZE2_MAX)
			lim = TFTP_BLKSIZE2_MAX;
		uint32_t v = acc->blksize2;
		FUZZ_CHECK(v && (v & (v - 1u)) == 0 && v <= lim && 2u * v > lim,
			   "blksize2 %u asked, cap %u, answered %u",
			   req->blksize2, caps->max_blksize, v);
	}
	uint32_t mt = caps->max_timeout == 0 || caps->max_timeout > 255u
			      ? 255u
			      : caps->max_timeout;
	uint64_t max_us = (uint64_t)mt * 1000000u;
	int ut = (req->present & TFTP_OPT_UTIMEOUT) &&
		 !(req->present & TFTP_OPT_TIMEOUT) && req->utimeout <= max_us;
	FUZZ_CHECK(!!(acc->present & TFTP_OPT_UTIMEOUT) == ut &&
			   (!ut || acc->utimeout == req->utimeout),
		   "utimeout %u (timeout cap %u)", req->utimeout,
		   caps->max_timeout);
	int ro = (req->present & TFTP_OPT_ROLLOVER) && req->rollover == 0;
	FUZZ_CHECK(!!(acc->present & TFTP_OPT_ROLLOVER) == ro &&
			   (!ro || acc->rollover == 0),
		   "rollover %u", req->rollover);
}

static void check_negotiation(const struct tftp_opts *req,
			      const struct tftp_server_caps *caps, int is_read,
			      enum tftp_mode mode, uint64_t fsize,
			      const struct tftp_opts *acc)
{
	if (!caps->allow_options) {
		FUZZ_CHECK(acc->present == 0, "options accepted while disabled");
		return;
	}
	FUZZ_CHECK((acc->present & ~req->present) == 0,
		   "accepted %#x not requested %#x", acc->present, req->present);
	if (req->present & TFTP_OPT_BLKSIZE) {
		uint32_t want = req->blksize < caps->max_blksize
					? req->blksize
					: caps->max_blksize;
		FUZZ_CHECK((acc->present & TFTP_OPT_BLKSIZE) &&
				   acc->blksize == want,
			   "blksize %u asked, cap %u, answered %u",
			   req->blksize, caps->max_blksize, acc->blksize);
	}
	if (req->present & TFTP_OPT_WINDOWSIZE) {
		uint32_t want = req->windowsize < caps->max_window
					? req->windowsize
					: caps->max_window;
		FUZZ_CHECK((acc->present & TFTP_OPT_WINDOWSIZE) &&
				   acc->windowsize == want,
			   "windowsize %u asked, cap %u, answered %u",
			   req->windowsize, caps->max_window, acc->windowsize);
	}
	if (req->present & TFTP_OPT_TIMEOUT)
		FUZZ_CHECK((acc->present & TFTP_OPT_TIMEOUT) &&
				   acc->timeout == req->timeout,
			   "timeout %u answered %u", req->timeout, acc->timeout);
	check_hpa_options(req, caps, acc);
	if (req->present & TFTP_OPT_TSIZE) {
		if (is_read && mode == TFTP_MODE_NETASCII)
			FUZZ_CHECK(!(acc->present & TFTP_OPT_TSIZE),
				   "tsize offered for a netascii read");
		else
			FUZZ_CHECK((acc->present & TFTP_OPT_TSIZE) &&
					   acc->tsize ==
						   (is_read ? fsize : req->tsize),
				   "tsize %llu answered %llu",
				   (unsigned long long)req->tsize,
				   (unsigned long long)acc->tsize);
	}
}

static void check_oack(const struct tftp_opts *req,
		       const struct tftp_opts *acc, size_t cap)
{
	uint8_t *b = malloc(cap ? cap : 1u);
	if (!b)
		abort();
	size_t n = tftp_build_oack(b, cap);
	if (n)
		n = tftp_opts_append(b, cap, n, acc);
	FUZZ_CHECK(n <= cap, "OACK %zu bytes in cap %zu", n, cap);
	if (cap >= 128)
		FUZZ_CHECK(n > 0, "OACK did not fit in %zu bytes", cap);
	if (n == 0) {
		free(b);
		return;
	}
	struct tftp_packet p;
	FUZZ_CHECK(tftp_packet_parse(b, n, &p) == TFTP_PARSE_OK &&
			   p.op == TFTP_OP_OACK,
		   "built OACK does not parse");
	struct tftp_opts back;
	memset(&back, 0, sizeof(back));
	tftp_opts_from_packet(&p, &back);
	FUZZ_CHECK(back.present == acc->present, "OACK options %#x vs %#x",
		   back.present, acc->present);
	for (unsigned bit = 1; bit <= TFTP_OPT_LAST; bit <<= 1)
		if (acc->present & bit)
			FUZZ_CHECK(ref_opts_get(&back, bit) ==
					   ref_opts_get(acc, bit),
				   "OACK value of option %#x", bit);
	/* The client that asked req accepts what the server answered. */
	struct tftp_opts agreed;
	char why[96] = "";
	int r = tftp_opts_validate_oack(req, &p, &agreed, why, sizeof(why));
	FUZZ_CHECK(r == 0, "client refuses the server's OACK: %s", why);
	FUZZ_CHECK(agreed.present == acc->present, "agreed %#x vs %#x",
		   agreed.present, acc->present);
	for (unsigned bit = 1; bit <= TFTP_OPT_LAST; bit <<= 1)
		if (acc->present & bit)
			FUZZ_CHECK(ref_opts_get(&agreed, bit) ==
					   ref_opts_get(acc, bit),
				   "agreed value of option %#x", bit);
	free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = {data, size};
	uint8_t flags = fz_u8(&f);
	struct tftp_server_caps caps = {
		.allow_options = flags & 1,
		.max_blksize = fz_range(&f, TFTP_BLKSIZE_MIN, TFTP_BLKSIZE_MAX),
		.max_window = fz_range(&f, TFTP_WINDOW_MIN, TFTP_WINDOW_MAX),
	};
	int is_read = (flags & 2) != 0;
	enum tftp_mode mode = (flags & 4) ? TFTP_MODE_NETASCII
					  : TFTP_MODE_OCTET;
	uint64_t fsize = fz_u64(&f);
	size_t cap = fz_u8(&f);

	/* The datagram: raw, or a request for "f" followed by the options. */
	size_t restlen;
	const uint8_t *rest = fz_bytes(&f, fz_left(&f), &restlen);
	size_t len;
	uint8_t *buf;
	if (flags & 8) {
		len = restlen;
		buf = fz_dup(rest, restlen);
	} else {
		const char *m = mode == TFTP_MODE_NETASCII ? "netascii"
							   : "octet";
		uint8_t head[16];
		size_t hl = 0;
		tftp_put16(head, is_read ? TFTP_OP_RRQ : TFTP_OP_WRQ);
		hl = 2;
		head[hl++] = 'f';
		head[hl++] = 0;
		memcpy(head + hl, m, strlen(m) + 1);
		hl += strlen(m) + 1;
		int nul = restlen == 0 || rest[restlen - 1] == 0;
		len = hl + restlen + (nul ? 0u : 1u);
		buf = malloc(len);
		if (!buf)
			abort();
		memcpy(buf, head, hl);
		if (restlen)
			memcpy(buf + hl, rest, restlen);
		if (!nul)
			buf[len - 1] = 0;
	}

	struct tftp_packet p;
	if (tftp_packet_parse(buf, len, &p) != TFTP_PARSE_OK ||
	    (p.op != TFTP_OP_RRQ && p.op != TFTP_OP_WRQ)) {
		free(buf);
		return 0;
	}
	is_read = p.op == TFTP_OP_RRQ;
	enum tftp_mode pm = tftp_mode_parse(p.mode);
	if (pm != TFTP_MODE_INVALID)
		mode = pm;

	for (size_t i = 0; i < p.nopts; i++) {
		check_decimal(p.opts[i].value, UINT64_MAX);
		check_decimal(p.opts[i].value, TFTP_BLKSIZE_MAX);
		check_decimal(p.opts[i].value, fsize);
	}

	struct tftp_opts req;
	memset(&req, 0xa5, sizeof(req)); /* from_packet must set every field it reports */
	tftp_opts_from_packet(&p, &req);
	const char *why = ref_check_from_packet(&p, &req);
	FUZZ_CHECK(why == NULL, "tftp_opts_from_packet: %s", why);

	struct tftp_opts acc;
	memset(&acc, 0x5a, sizeof(acc));
	tftp_opts_negotiate(&req, &caps, is_read, mode, fsize, &acc);
	check_negotiation(&req, &caps, is_read, mode, fsize, &acc);
	if (acc.present)
		check_oack(&req, &acc, cap < 128 ? cap : 516u);
	free(buf);
	return 0;
}
