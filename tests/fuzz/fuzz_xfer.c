/* libFuzzer target: the transfer engine, in all four roles (server sender,
 * server receiver, client sender, client receiver), driven by a fuzzed
 * sequence of events: raw datagrams, well-formed DATA/ACK/OACK/ERROR near
 * the engine's window (so the fuzzer gets deep into a transfer), runs of
 * many in-order blocks (to wrap the 16-bit block number), timer ticks,
 * clock jumps and host aborts. File I/O goes to in-memory callbacks, which
 * can be told to fail.
 *
 * Invariants checked on every event:
 *  - every datagram the engine sends parses, is of a kind its role may send
 *    (a sender never sends ACK, a receiver never DATA), and is no larger
 *    than blksize + 4 (DATA) or 516 bytes (anything else);
 *  - the blksize in force is the configured one (server) or at most the one
 *    asked (client);
 *  - a sender's DATA n carries exactly the file's bytes of block n (octet)
 *    or of the netascii-encoded file; nothing past the final block is sent;
 *    before the peer's first ACK a server sends no DATA but block 1
 *    (amplification guard); no call sends more than window + 1 packets;
 *  - a receiver writes each byte once, in order, only while handling a
 *    DATA packet; an octet receiver writes exactly the DATA payload and its
 *    ACKs name the block it has written up to; nothing is written past
 *    max_bytes or after the data is complete;
 *  - reads stay inside the file and ask for at most blksize bytes;
 *  - a running engine always has a deadline, no further ahead than its
 *    longest timeout; a tick at or past the deadline moves it forward;
 *    starved of input, the engine finishes within max_retries + 2 ticks
 *    once its backed-off timer has reached the timeout (give-up is a time
 *    of silence, timeout x retries, not a count of fast retransmissions);
 *  - a finished engine stays finished, has no deadline and sends nothing.
 */
#include "fuzz_util.h"
#include "netascii.h"
#include "xfer.h"

#define MAX_EVENTS 512
#define NOW_BASE 1000000u
#define PATTERN_LEN 4093u

struct harness {
	struct tftp_xfer x;
	int started;
	int server;
	enum tftp_role role;
	enum tftp_mode mode;
	uint32_t cfg_blksize;     /* server: in force; client: the ceiling */
	uint32_t cfg_window;
	uint32_t max_wait_ms;     /* longest timer the engine may arm */
	uint32_t max_retries;

	/* the file a sender serves */
	uint64_t fsize;
	uint64_t seed;
	uint8_t alphabet;
	uint8_t pattern[PATTERN_LEN];
	uint8_t *enc;             /* netascii: the encoded file */
	size_t enclen;
	uint64_t reads;
	uint64_t fail_read_at;    /* 1-based read call that fails; 0: never */

	/* the file a receiver writes */
	uint64_t written;
	uint64_t max_bytes;
	uint64_t writes;
	uint64_t fail_write_at;
	int complete_seen;        /* data_complete was true after some call */

	/* the call in progress */
	int in_call;
	int finished_before;
	int in_data;              /* a DATA packet is being input */
	const uint8_t *cur_payload;
	size_t cur_len;
	int octet_write_seen;
	unsigned sent_in_call;
	uint64_t sent_total;
	int first_op;             /* opcode of the first packet sent */
	int acks_fed;             /* server sender: an ACK has been input */

	/* peer model */
	uint64_t peer_blocks;     /* receiver: blocks the peer can send (virtual) */
	uint64_t idle_ticks;      /* fired ticks since the last input */
	uint32_t max_idle_ticks;  /* bound on them while still running */
};

/* The harness's own loops are not worth coverage feedback: keep them out
 * of the instrumentation so the fuzzer spends its time in the engine. */
#define NO_COV __attribute__((no_sanitize("coverage")))

/* The file's contents repeat a pattern of a prime length (so it never
 * lines up with a block size), drawn from a small alphabet for netascii
 * files so they are full of CR, LF and NUL. */
NO_COV static void make_pattern(struct harness *h)
{
	uint64_t z = h->seed;
	static const uint8_t crlf[4] = {'\r', '\n', 'a', '\0'};
	for (size_t i = 0; i < PATTERN_LEN; i++) {
		z += 0x9e3779b97f4a7c15ull;
		uint64_t v = z;
		v = (v ^ (v >> 30)) * 0xbf58476d1ce4e5b9ull;
		v = (v ^ (v >> 27)) * 0x94d049bb133111ebull;
		v ^= v >> 31;
		h->pattern[i] = h->alphabet == 0 ? crlf[v & 3u] : (uint8_t)v;
	}
}

NO_COV static inline uint8_t file_byte(const struct harness *h, uint64_t off)
{
	return h->pattern[off % PATTERN_LEN];
}

/* Copy the file's bytes [off, off + n) into buf. */
NO_COV static void file_bytes(const struct harness *h, uint64_t off,
			      uint8_t *buf, size_t n)
{
	size_t i = 0;
	while (i < n) {
		size_t at = (size_t)((off + i) % PATTERN_LEN);
		size_t k = PATTERN_LEN - at < n - i ? PATTERN_LEN - at : n - i;
		memcpy(buf + i, h->pattern + at, k);
		i += k;
	}
}

/* Whether buf[0..n) equals the file's bytes at off. */
NO_COV static int file_equal(const struct harness *h, uint64_t off,
			     const uint8_t *buf, size_t n)
{
	size_t i = 0;
	while (i < n) {
		size_t at = (size_t)((off + i) % PATTERN_LEN);
		size_t k = PATTERN_LEN - at < n - i ? PATTERN_LEN - at : n - i;
		if (memcmp(buf + i, h->pattern + at, k) != 0)
			return 0;
		i += k;
	}
	return 1;
}

static uint32_t cur_blksize(const struct harness *h)
{
	return h->x.blksize;
}

static int on_send(void *ctx, const uint8_t *pkt, size_t len)
{
	struct harness *h = ctx;
	struct tftp_xfer *x = &h->x;
	FUZZ_CHECK(h->in_call, "send outside an engine call");
	FUZZ_CHECK(!h->finished_before, "a finished engine sent %zu bytes",
		   len);
	h->sent_in_call++;
	struct tftp_packet p;
	enum tftp_parse_result r = tftp_packet_parse(pkt, len, &p);
	FUZZ_CHECK(r == TFTP_PARSE_OK, "engine sent an unparsable packet: %s",
		   tftp_parse_strerror(r));
	if (h->sent_total++ == 0)
		h->first_op = (int)p.op;
	uint32_t bs = cur_blksize(h);
	FUZZ_CHECK(bs >= TFTP_BLKSIZE_MIN && bs <= h->cfg_blksize,
		   "blksize %u in force, ceiling %u", bs, h->cfg_blksize);
	if (h->server)
		FUZZ_CHECK(bs == h->cfg_blksize, "server blksize %u, set %u", bs,
			   h->cfg_blksize);
	if (p.op == TFTP_OP_DATA)
		FUZZ_CHECK(len <= bs + TFTP_HDR_LEN && len <= TFTP_PACKET_MAX,
			   "DATA of %zu bytes with blksize %u", len, bs);
	else
		FUZZ_CHECK(len <= 516u, "%s of %zu bytes",
			   tftp_opcode_name((uint16_t)p.op), len);

	switch (p.op) {
	case TFTP_OP_RRQ:
		FUZZ_CHECK(!h->server && h->role == TFTP_ROLE_RECEIVER,
			   "RRQ from a server or sender");
		break;
	case TFTP_OP_WRQ:
		FUZZ_CHECK(!h->server && h->role == TFTP_ROLE_SENDER,
			   "WRQ from a server or receiver");
		break;
	case TFTP_OP_OACK:
		FUZZ_CHECK(h->server, "OACK from a client");
		break;
	case TFTP_OP_ACK:
		FUZZ_CHECK(h->role == TFTP_ROLE_RECEIVER, "ACK from a sender");
		if (h->mode == TFTP_MODE_OCTET) {
			/* The ACK names the block written up to: k full
			 * blocks, and the final one if it was short; after
			 * an empty final block, k + 1. */
			uint64_t k = h->written / bs;
			int short_final = h->written % bs != 0;
			int empty_final = tftp_xfer_data_complete(x) ||
					  (h->in_data && h->cur_len == 0);
			FUZZ_CHECK(p.block == (uint16_t)(k + (short_final ? 1u : 0u)) ||
					   (!short_final && empty_final &&
					    p.block == (uint16_t)(k + 1u)),
				   "ACK %u after %llu bytes at blksize %u",
				   p.block, (unsigned long long)h->written, bs);
		}
		break;
	case TFTP_OP_DATA: {
		FUZZ_CHECK(h->role == TFTP_ROLE_SENDER, "DATA from a receiver");
		/* send_pkt runs before next++: x->next is this block,
		 * except after a timeout, when the collapsed window
		 * resends its oldest (base) and newest (hi_sent) block. */
		uint64_t b = x->next;
		if (p.block != (uint16_t)b && p.block == (uint16_t)x->base)
			b = x->base;
		else if (p.block != (uint16_t)b &&
			 p.block == (uint16_t)x->hi_sent)
			b = x->hi_sent;
		FUZZ_CHECK(b >= 1 && p.block == (uint16_t)b,
			   "DATA %u while sending block %llu", p.block,
			   (unsigned long long)b);
		if (h->server && !h->acks_fed)
			FUZZ_CHECK(b == 1, "DATA %llu before any ACK",
				   (unsigned long long)b);
		uint64_t total = h->mode == TFTP_MODE_NETASCII ? h->enclen
							       : h->fsize;
		uint64_t off = (b - 1u) * bs;
		FUZZ_CHECK(off <= total, "DATA %llu past the end",
			   (unsigned long long)b);
		uint64_t want = total - off < bs ? total - off : bs;
		FUZZ_CHECK(p.datalen == want, "DATA %llu has %zu bytes, want %llu",
			   (unsigned long long)b, p.datalen,
			   (unsigned long long)want);
		int same = h->mode == TFTP_MODE_NETASCII
				   ? memcmp(p.data, h->enc + off, p.datalen) == 0
				   : file_equal(h, off, p.data, p.datalen);
		FUZZ_CHECK(same, "DATA %llu is not the file's block",
			   (unsigned long long)b);
		break;
	}
	case TFTP_OP_ERROR:
		break;
	}
	return 0;
}

static long on_read(void *ctx, uint64_t off, uint8_t *buf, size_t len,
		    struct tftp_err *err)
{
	struct harness *h = ctx;
	FUZZ_CHECK(h->in_call && h->role == TFTP_ROLE_SENDER,
		   "read outside a sender call");
	FUZZ_CHECK(len <= cur_blksize(h), "read of %zu at blksize %u", len,
		   cur_blksize(h));
	FUZZ_CHECK(off <= h->fsize, "read at %llu past the end %llu",
		   (unsigned long long)off, (unsigned long long)h->fsize);
	if (++h->reads == h->fail_read_at) {
		err->code = TFTP_ERR_UNDEF;
		snprintf(err->msg, sizeof(err->msg), "injected read error");
		return -1;
	}
	uint64_t n = h->fsize - off < len ? h->fsize - off : len;
	file_bytes(h, off, buf, (size_t)n);
	return (long)n;
}

static int on_write(void *ctx, uint64_t off, const uint8_t *buf, size_t len,
		    struct tftp_err *err)
{
	struct harness *h = ctx;
	FUZZ_CHECK(h->in_call && h->role == TFTP_ROLE_RECEIVER,
		   "write outside a receiver call");
	FUZZ_CHECK(h->in_data, "write while not handling DATA");
	FUZZ_CHECK(!h->complete_seen, "write after the data was complete");
	FUZZ_CHECK(off == h->written, "write at %llu, %llu written so far",
		   (unsigned long long)off, (unsigned long long)h->written);
	FUZZ_CHECK(len > 0, "empty write");
	FUZZ_CHECK(!h->max_bytes || off + len <= h->max_bytes,
		   "write past max_bytes %llu", (unsigned long long)h->max_bytes);
	if (h->mode == TFTP_MODE_OCTET) {
		FUZZ_CHECK(!h->octet_write_seen, "two writes for one DATA");
		FUZZ_CHECK(len == h->cur_len &&
				   memcmp(buf, h->cur_payload, len) == 0,
			   "wrote %zu bytes that are not the DATA payload", len);
		h->octet_write_seen = 1;
	} else {
		FUZZ_CHECK(len <= h->cur_len + 1, "netascii wrote %zu for %zu",
			   len, h->cur_len);
	}
	if (++h->writes == h->fail_write_at) {
		err->code = TFTP_ERR_NOSPACE;
		snprintf(err->msg, sizeof(err->msg), "injected disk full");
		return -1;
	}
	h->written += len;
	return 0;
}

/* ---- driving ------------------------------------------------------------ */

static void before(struct harness *h)
{
	h->in_call = 1;
	h->finished_before = tftp_xfer_finished(&h->x);
	h->sent_in_call = 0;
}

static void after(struct harness *h, uint64_t now, int fired_tick)
{
	struct tftp_xfer *x = &h->x;
	h->in_call = 0;
	h->in_data = 0;
	int fin = tftp_xfer_finished(x);
	uint64_t dl = tftp_xfer_deadline(x);
	FUZZ_CHECK(!h->finished_before || fin, "a finished engine came back");
	uint32_t win = x->window > h->cfg_window ? x->window : h->cfg_window;
	FUZZ_CHECK(h->sent_in_call <= win + 1u, "%u packets in one call",
		   h->sent_in_call);
	if (fin) {
		FUZZ_CHECK(dl == UINT64_MAX, "finished with a deadline");
	} else if (h->started) {
		FUZZ_CHECK(dl != UINT64_MAX, "running with no deadline (%s)",
			   tftp_xfer_state_name(x->state));
		if (dl > now)
			FUZZ_CHECK(dl - now <= h->max_wait_ms,
				   "deadline %llu ms ahead (max %u)",
				   (unsigned long long)(dl - now),
				   h->max_wait_ms);
		if (fired_tick)
			FUZZ_CHECK(dl > now, "tick left the deadline due");
	}
	if (h->role == TFTP_ROLE_RECEIVER) {
		FUZZ_CHECK(x->stats.bytes >= h->written || h->mode ==
				   TFTP_MODE_NETASCII,
			   "stats.bytes %llu < written %llu",
			   (unsigned long long)x->stats.bytes,
			   (unsigned long long)h->written);
		if (tftp_xfer_data_complete(x))
			h->complete_seen = 1;
	}
	if (h->started && !fin)
		FUZZ_CHECK(h->idle_ticks <= h->max_idle_ticks,
			   "still running after %llu idle ticks",
			   (unsigned long long)h->idle_ticks);
	uint64_t ts;
	(void)tftp_xfer_tsize(x, &ts);
}

static void input(struct harness *h, const uint8_t *pkt, size_t len,
		  uint64_t now)
{
	/* An exact-size heap copy: reads past the datagram are caught. */
	uint8_t *copy = fz_dup(pkt, len);
	if (len >= 2 && tftp_get16(copy) == TFTP_OP_ACK)
		h->acks_fed = 1;
	before(h);
	if (len >= 4 && tftp_get16(copy) == TFTP_OP_DATA) {
		h->in_data = 1;
		h->cur_payload = copy + 4;
		h->cur_len = len - 4;
		h->octet_write_seen = 0;
	}
	h->idle_ticks = 0;
	tftp_xfer_input(&h->x, copy, len, now);
	after(h, now, 0);
	free(copy);
}

static void tick(struct harness *h, uint64_t now)
{
	int fire = h->started && !tftp_xfer_finished(&h->x) &&
		   now >= tftp_xfer_deadline(&h->x);
	if (fire)
		h->idle_ticks++;
	before(h);
	tftp_xfer_tick(&h->x, now);
	after(h, now, fire);
}

/* DATA block b (64-bit) of the peer's file: the virtual peer sends
 * peer_blocks blocks, the last one short. */
static size_t make_data(struct harness *h, uint64_t b, uint8_t *buf,
			size_t cap, int oversize)
{
	uint32_t bs = cur_blksize(h);
	size_t n = bs;
	if (b >= h->peer_blocks)
		n = (size_t)((h->seed >> 8) % bs); /* the short final block */
	if (oversize)
		n = bs + 1u;
	if (n + 4 > cap)
		n = cap - 4;
	tftp_put16(buf, TFTP_OP_DATA);
	tftp_put16(buf + 2, (uint16_t)b);
	file_bytes(h, (b - 1u) * bs, buf + 4, n);
	return 4 + n;
}

static size_t make_oack(struct harness *h, struct fz *f, uint8_t *buf,
			size_t cap)
{
	const struct tftp_opts *a = &h->x.cfg.opts;
	size_t len = tftp_build_oack(buf, cap);
	uint8_t pick = fz_u8(f);
	char val[32];
	if ((pick & 1) && (a->present & TFTP_OPT_BLKSIZE)) {
		uint32_t v = a->blksize - (fz_u8(f) % 4u == 0
						   ? 0u
						   : fz_range(f, 0, a->blksize - 8u));
		if (pick & 0x80)
			v = fz_u32(f);
		snprintf(val, sizeof(val), "%u", v);
		len = tftp_build_append_option(buf, cap, len,
					       (pick & 0x40) ? "BLKSIZE"
							     : "blksize",
					       val);
	}
	if ((pick & 2) && (a->present & TFTP_OPT_TIMEOUT) && len) {
		snprintf(val, sizeof(val), "%u",
			 (pick & 0x80) ? fz_u8(f) : a->timeout);
		len = tftp_build_append_option(buf, cap, len, "timeout", val);
	}
	if ((pick & 4) && len) {
		snprintf(val, sizeof(val), "%llu",
			 (unsigned long long)((h->seed & 0xffff) * 3u));
		len = tftp_build_append_option(buf, cap, len, "tsize", val);
	}
	if ((pick & 8) && (a->present & TFTP_OPT_WINDOWSIZE) && len) {
		uint32_t v = fz_range(f, 1, a->windowsize);
		if (pick & 0x80)
			v = fz_u32(f);
		snprintf(val, sizeof(val), "%u", v);
		len = tftp_build_append_option(buf, cap, len, "windowsize", val);
	}
	if ((pick & 0x10) && len)
		len = tftp_build_append_option(buf, cap, len, "foo", "1");
	return len;
}

/* The netascii sender's expected wire stream: the file, encoded once. */
NO_COV static void encode_file(struct harness *h)
{
	h->enc = malloc(2 * h->fsize + 1);
	if (!h->enc)
		abort();
	size_t e = 0;
	for (uint64_t i = 0; i < h->fsize; i++) {
		uint8_t c = file_byte(h, i);
		if (c == '\n') {
			h->enc[e++] = '\r';
			h->enc[e++] = '\n';
		} else if (c == '\r') {
			h->enc[e++] = '\r';
			h->enc[e++] = '\0';
		} else {
			h->enc[e++] = c;
		}
	}
	h->enclen = e;
}

/* Set up an engine from the front of the input. Returns 0 or -1. */
static int setup(struct harness *h, struct fz *f, char *fname, size_t fcap)
{
	uint8_t kind = fz_u8(f);
	h->role = (kind & 1) ? TFTP_ROLE_RECEIVER : TFTP_ROLE_SENDER;
	h->server = (kind & 2) == 0;
	h->mode = (kind & 4) ? TFTP_MODE_NETASCII : TFTP_MODE_OCTET;

	struct tftp_xfer_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.role = h->role;
	cfg.is_client = !h->server;
	cfg.mode = h->mode;

	uint8_t optbits = fz_u8(f);
	struct tftp_opts *o = &cfg.opts;
	o->present = optbits & 0x0fu;
	o->blksize = (optbits & 0x10) ? fz_range(f, TFTP_BLKSIZE_MIN,
						  TFTP_BLKSIZE_MAX)
				      : fz_range(f, TFTP_BLKSIZE_MIN, 600);
	o->timeout = fz_range(f, TFTP_TIMEOUT_MIN, TFTP_TIMEOUT_MAX);
	o->windowsize = (optbits & 0x20) ? fz_range(f, TFTP_WINDOW_MIN,
						     TFTP_WINDOW_MAX)
					 : fz_range(f, TFTP_WINDOW_MIN, 16);
	o->tsize = fz_u64(f);
	cfg.timeout_ms = fz_range(f, 0, 5000);
	cfg.rto_min_ms = fz_range(f, 0, 200);
	cfg.max_retries = fz_range(f, 0, 8);
	cfg.dally_ms = fz_range(f, 0, 3000);
	h->max_bytes = (optbits & 0x40) ? fz_range(f, 1, 1u << 20) : 0;
	cfg.max_bytes = h->max_bytes;

	h->seed = fz_u64(f);
	h->alphabet = (uint8_t)(h->seed & 1u);
	make_pattern(h);
	h->fsize = (optbits & 0x80) ? fz_range(f, 0, 1u << 20)
				    : fz_range(f, 0, 2048);
	if (h->mode == TFTP_MODE_NETASCII && h->fsize > 65536u)
		h->fsize = 65536u;
	h->fail_read_at = fz_u8(f) < 16 ? fz_range(f, 1, 64) : 0;
	h->fail_write_at = fz_u8(f) < 16 ? fz_range(f, 1, 64) : 0;

	if (h->server) {
		/* The server's options are what negotiation accepted. */
		if (h->role == TFTP_ROLE_SENDER && (o->present & TFTP_OPT_TSIZE)) {
			if (h->mode == TFTP_MODE_NETASCII)
				o->present &= ~(unsigned)TFTP_OPT_TSIZE;
			else
				o->tsize = h->fsize;
		}
	} else {
		size_t fl = fz_range(f, 1, (uint32_t)fcap - 1u);
		for (size_t i = 0; i < fl; i++) {
			uint8_t c = fz_u8(f);
			fname[i] = (char)(c ? c : 'f');
		}
		fname[fl] = '\0';
		cfg.filename = fname;
		if (h->role == TFTP_ROLE_SENDER && (o->present & TFTP_OPT_TSIZE))
			o->tsize = h->fsize;
		else if (o->present & TFTP_OPT_TSIZE)
			o->tsize = 0;
	}

	h->cfg_blksize = (o->present & TFTP_OPT_BLKSIZE) ? o->blksize
							 : TFTP_BLKSIZE_DEFAULT;
	if (!h->server && h->cfg_blksize < TFTP_BLKSIZE_DEFAULT)
		h->cfg_blksize = TFTP_BLKSIZE_DEFAULT; /* before the OACK */
	h->cfg_window = (o->present & TFTP_OPT_WINDOWSIZE) ? o->windowsize : 1u;
	uint32_t tmo = cfg.timeout_ms ? cfg.timeout_ms : 1000u;
	uint32_t opt_tmo = (o->present & TFTP_OPT_TIMEOUT) ? o->timeout * 1000u : 0u;
	h->max_wait_ms = tmo > opt_tmo ? tmo : opt_tmo;
	if (cfg.dally_ms > h->max_wait_ms)
		h->max_wait_ms = cfg.dally_ms;
	if (2u * opt_tmo > h->max_wait_ms) /* the dally outlasts the peer's */
		h->max_wait_ms = 2u * opt_tmo;
	h->max_retries = cfg.max_retries ? cfg.max_retries : 5u;
	/* The RTO starts as low as rto_min and doubles up to the timeout:
	 * that many short ticks come before the retries at full timeout. */
	uint32_t r = cfg.rto_min_ms ? cfg.rto_min_ms : 10u;
	uint32_t doublings = 0;
	for (; r < tmo; r *= 2u)
		doublings++;
	h->max_idle_ticks = h->max_retries + doublings + 2u;

	uint32_t bsz = (o->present & TFTP_OPT_BLKSIZE) ? o->blksize : 512u;
	h->peer_blocks = fz_range(f, 1, 200000);
	if (h->peer_blocks * (uint64_t)bsz > (64u << 20))
		h->peer_blocks = (64u << 20) / bsz + 1u;

	if (h->role == TFTP_ROLE_SENDER && h->mode == TFTP_MODE_NETASCII) {
		encode_file(h);
	}

	struct tftp_xfer_io io = {
		.ctx = h,
		.send = on_send,
		.read = on_read,
		.write = on_write,
	};
	if (tftp_xfer_init(&h->x, &cfg, &io) < 0)
		return -1;
	if (h->server)
		FUZZ_CHECK(h->x.blksize == h->cfg_blksize,
			   "server engine blksize %u, configured %u",
			   h->x.blksize, h->cfg_blksize);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = {data, size};
	struct harness *h = calloc(1, sizeof(*h));
	char fname[48];
	if (!h)
		abort();
	if (setup(h, &f, fname, sizeof(fname)) < 0) {
		free(h->enc);
		free(h);
		return 0;
	}
	struct tftp_xfer *x = &h->x;
	uint64_t now = NOW_BASE + fz_u16(&f);

	/* Input before start is ignored. */
	{
		uint8_t ack[4] = {0, 4, 0, 0};
		before(h);
		tftp_xfer_input(x, ack, sizeof(ack), now);
		FUZZ_CHECK(h->sent_in_call == 0, "sent before start");
		h->in_call = 0;
	}
	before(h);
	tftp_xfer_start(x, now);
	h->started = 1;
	after(h, now, 0);
	/* A server with options in force opens with its OACK, whatever the
	 * block size (at blksize 8 the OACK is longer than a DATA packet). */
	if (h->server && x->cfg.opts.present)
		FUZZ_CHECK(h->first_op == TFTP_OP_OACK,
			   "server with options %#x opened with opcode %d",
			   x->cfg.opts.present, h->first_op);

	uint64_t run_budget = 1280u << 10;
	size_t pcap = TFTP_PACKET_MAX + 8u;
	uint8_t *pkt = malloc(pcap);
	if (!pkt)
		abort();
	for (int ev = 0; ev < MAX_EVENTS && fz_left(&f); ev++) {
		uint8_t op = fz_u8(&f);
		switch (op % 12u) {
		case 0: /* tick at the deadline */
		case 1: {
			uint64_t dl = tftp_xfer_deadline(x);
			if (dl != UINT64_MAX && dl > now)
				now = dl;
			tick(h, now);
			break;
		}
		case 2: /* the clock moves on; the host ticks if due */
			now += fz_u16(&f);
			if (op & 0x80)
				tick(h, now);
			break;
		case 3: { /* a raw datagram */
			size_t len;
			const uint8_t *p =
				fz_bytes(&f, fz_range(&f, 0, 600), &len);
			input(h, p, len, now);
			break;
		}
		case 4: /* ACK near the sender's window */
		case 5: {
			int64_t d = (int64_t)fz_range(&f, 0, h->cfg_window + 3u) - 2;
			uint64_t b = x->base ? x->base - 1u : 0u;
			if (op & 0x80)
				b = x->next ? x->next - 1u : 0u;
			uint8_t ack[4];
			tftp_put16(ack, TFTP_OP_ACK);
			tftp_put16(ack + 2, (uint16_t)(b + (uint64_t)d));
			input(h, ack, sizeof(ack), now);
			break;
		}
		case 6: /* DATA near the receiver's window */
		case 7: {
			int64_t d = (int64_t)fz_range(&f, 0, h->cfg_window + 3u) - 2;
			uint64_t b = x->expected ? x->expected : 1u;
			if ((int64_t)b + d >= 1)
				b = (uint64_t)((int64_t)b + d);
			size_t len = make_data(h, b, pkt, pcap,
					       fz_u8(&f) == 0xff);
			input(h, pkt, len, now);
			break;
		}
		case 8: { /* a run of in-order traffic: reaches the wrap */
			uint32_t n = fz_u16(&f);
			if (op & 0x80)
				n += 65536u;
			for (uint32_t i = 0; i < n && !tftp_xfer_finished(x); i++) {
				size_t len;
				/* Bounded work per input: 640 KiB of blocks is
				 * enough to wrap the block number at blksize 8. */
				if (run_budget < cur_blksize(h))
					break;
				run_budget -= cur_blksize(h);
				if (h->role == TFTP_ROLE_SENDER) {
					if (!x->next)
						break;
					tftp_put16(pkt, TFTP_OP_ACK);
					tftp_put16(pkt + 2,
						   (uint16_t)(x->next - 1u));
					len = 4;
				} else {
					if (!x->expected)
						break;
					len = make_data(h, x->expected, pkt,
							pcap, 0);
				}
				now += (i & 7u) == 0;
				input(h, pkt, len, now);
			}
			break;
		}
		case 9: { /* OACK */
			size_t len = make_oack(h, &f, pkt, 600);
			if (len)
				input(h, pkt, len, now);
			break;
		}
		case 10: { /* ERROR from the peer */
			size_t ml;
			const uint8_t *m = fz_bytes(&f, fz_range(&f, 0, 300), &ml);
			tftp_put16(pkt, TFTP_OP_ERROR);
			tftp_put16(pkt + 2, fz_u16(&f));
			memcpy(pkt + 4, m, ml);
			size_t len = 4 + ml;
			if (op & 0x80)
				pkt[len++] = 0;
			input(h, pkt, len, now);
			break;
		}
		case 11: { /* the host aborts */
			if (!(op & 0x40))
				break;
			before(h);
			tftp_xfer_abort(x, fz_u16(&f),
					(op & 0x80) ? NULL : "host abort", now);
			after(h, now, 0);
			FUZZ_CHECK(tftp_xfer_finished(x), "abort did not finish");
			break;
		}
		}
	}

	/* Starved of input, every engine finishes in a bounded number of
	 * ticks, and then stays silent. */
	for (uint32_t i = 0; i <= h->max_idle_ticks && !tftp_xfer_finished(x);
	     i++) {
		uint64_t dl = tftp_xfer_deadline(x);
		FUZZ_CHECK(dl != UINT64_MAX, "running with no deadline");
		if (dl > now)
			now = dl;
		tick(h, now);
	}
	FUZZ_CHECK(tftp_xfer_finished(x), "did not finish after %u ticks",
		   h->max_idle_ticks + 1u);
	uint8_t ack[4] = {0, 4, 0, 1};
	input(h, ack, sizeof(ack), now + 1u);
	tick(h, now + 100000u);
	before(h);
	tftp_xfer_abort(x, 0, NULL, now + 100001u);
	after(h, now + 100001u, 0);

	free(pkt);
	tftp_xfer_free(x);
	free(h->enc);
	free(h);
	return 0;
}
