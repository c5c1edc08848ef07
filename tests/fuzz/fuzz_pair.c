/* libFuzzer target: a client engine and a server engine talking through a
 * channel whose every decision (deliver, drop, duplicate, delay, reorder)
 * the fuzzer makes, on a virtual clock.
 *
 * The server side is set up as tftpd does it: the client's request is
 * parsed, its options read and negotiated against fuzzed caps, and the
 * server engine started with what was accepted. When the fuzz input runs
 * out the channel becomes perfect, so every transfer must end.
 *
 * Invariants:
 *  - both engines finish within a bounded number of steps;
 *  - the client never refuses the OACK our own negotiation produced;
 *  - whatever the losses, the receiver's file is always a prefix of the
 *    sender's, and once its data is complete, the whole of it, byte for
 *    byte (octet and netascii);
 *  - a sender that finished successfully means the receiver has all the
 *    data (the final ACK is sent only after the last write);
 *  - with no datagram lost or held back (duplicates and small delays
 *    only), both sides finish successfully.
 */
#include "fuzz_util.h"
#include "xfer.h"

#define QCAP 1024
#define MAX_STEPS 400000
#define NO_COV __attribute__((no_sanitize("coverage")))

struct qpkt {
	uint64_t at, seq;
	int to_server;
	size_t len;
	uint8_t *data;
};

struct side {
	struct tftp_xfer x;
	int up;            /* engine initialised */
};

struct sim {
	struct fz f;
	uint64_t now, seq;
	struct qpkt q[QCAP];
	size_t nq;
	struct side cli, srv;
	enum tftp_role cli_role;
	enum tftp_mode mode;
	struct tftp_server_caps caps;
	/* the file the sender reads and the one the receiver writes */
	uint8_t *src;
	size_t srclen;
	uint8_t *dst;
	size_t dstlen, dstcap;
	int server_created;
	unsigned faults;   /* datagrams lost or held back */
};

NO_COV static void enqueue(struct sim *s, int to_server, const uint8_t *p,
			   size_t len, uint64_t delay)
{
	if (s->nq == QCAP)
		return; /* a full queue is a loss */
	struct qpkt *q = &s->q[s->nq++];
	q->at = s->now + delay;
	q->seq = s->seq++;
	q->to_server = to_server;
	q->len = len;
	q->data = fz_dup(p, len);
}

/* The channel's decision for one datagram, from the fuzz input; a perfect
 * channel once the input is used up. */
static void channel(struct sim *s, int to_server, const uint8_t *p,
		    size_t len)
{
	if (!fz_left(&s->f)) {
		enqueue(s, to_server, p, len, 1);
		return;
	}
	uint8_t b = fz_u8(&s->f);
	switch (b & 7u) {
	case 0: /* lost */
		s->faults++;
		break;
	case 1: /* duplicated */
		enqueue(s, to_server, p, len, 1u + (b >> 3));
		enqueue(s, to_server, p, len, 1u + (b >> 3) + fz_u8(&s->f));
		break;
	case 2: /* held back: reordered behind later packets */
		s->faults++;
		enqueue(s, to_server, p, len, 1u + (uint64_t)fz_u8(&s->f) * 8u);
		break;
	default:
		enqueue(s, to_server, p, len, 1u + ((b >> 3) & 3u));
		break;
	}
}

static int cli_send(void *ctx, const uint8_t *p, size_t len)
{
	struct sim *s = ctx;
	channel(s, 1, p, len);
	return 0;
}

static int srv_send(void *ctx, const uint8_t *p, size_t len)
{
	struct sim *s = ctx;
	channel(s, 0, p, len);
	return 0;
}

NO_COV static long file_read(void *ctx, uint64_t off, uint8_t *buf, size_t len,
			     struct tftp_err *err)
{
	struct sim *s = ctx;
	(void)err;
	FUZZ_CHECK(off <= s->srclen, "read past the end");
	size_t n = s->srclen - off < len ? s->srclen - (size_t)off : len;
	memcpy(buf, s->src + off, n);
	return (long)n;
}

NO_COV static int file_write(void *ctx, uint64_t off, const uint8_t *buf,
			     size_t len, struct tftp_err *err)
{
	struct sim *s = ctx;
	(void)err;
	FUZZ_CHECK(off == s->dstlen, "write at %llu, have %zu",
		   (unsigned long long)off, s->dstlen);
	FUZZ_CHECK(s->dstlen + len <= s->srclen,
		   "receiver wrote %zu bytes, the file has %zu",
		   s->dstlen + len, s->srclen);
	FUZZ_CHECK(memcmp(buf, s->src + off, len) == 0,
		   "receiver wrote bytes the sender does not have at %llu",
		   (unsigned long long)off);
	memcpy(s->dst + s->dstlen, buf, len);
	s->dstlen += len;
	return 0;
}

/* tftpd's side of a request: parse, negotiate, start. */
static void create_server(struct sim *s, const uint8_t *req, size_t len)
{
	struct tftp_packet p;
	FUZZ_CHECK(tftp_packet_parse(req, len, &p) == TFTP_PARSE_OK &&
			   (p.op == TFTP_OP_RRQ || p.op == TFTP_OP_WRQ),
		   "the client's request does not parse");
	int is_read = p.op == TFTP_OP_RRQ;
	FUZZ_CHECK(is_read == (s->cli_role == TFTP_ROLE_RECEIVER),
		   "request direction");
	FUZZ_CHECK(tftp_mode_parse(p.mode) == s->mode, "request mode");
	struct tftp_opts req_opts, acc;
	tftp_opts_from_packet(&p, &req_opts);
	tftp_opts_negotiate(&req_opts, &s->caps, is_read, s->mode, s->srclen,
			    &acc);
	struct tftp_xfer_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.role = is_read ? TFTP_ROLE_SENDER : TFTP_ROLE_RECEIVER;
	cfg.mode = s->mode;
	cfg.opts = acc;
	cfg.timeout_ms = 1000;
	cfg.dally_ms = 0;
	struct tftp_xfer_io io = {.ctx = s, .send = srv_send,
				  .read = file_read, .write = file_write};
	FUZZ_CHECK(tftp_xfer_init(&s->srv.x, &cfg, &io) == 0, "server init");
	s->srv.up = 1;
	s->server_created = 1;
	tftp_xfer_start(&s->srv.x, s->now);
}

static int deliver_next(struct sim *s, uint64_t until)
{
	size_t best = fz_earliest(s->q, s->nq, sizeof(s->q[0]), until);
	if (best == SIZE_MAX)
		return 0;
	struct qpkt q = s->q[best];
	s->q[best] = s->q[--s->nq];
	if (q.at > s->now)
		s->now = q.at;
	if (q.to_server) {
		if (!s->server_created)
			create_server(s, q.data, q.len);
		else if (tftp_packet_opcode(q.data, q.len) != TFTP_OP_RRQ &&
			 tftp_packet_opcode(q.data, q.len) != TFTP_OP_WRQ)
			tftp_xfer_input(&s->srv.x, q.data, q.len, s->now);
		/* a repeated request from the live TID is ignored */
	} else {
		tftp_xfer_input(&s->cli.x, q.data, q.len, s->now);
	}
	free(q.data);
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sim *s = calloc(1, sizeof(*s));
	if (!s)
		abort();
	s->f.p = data;
	s->f.n = size;
	struct fz *f = &s->f;
	uint8_t kind = fz_u8(f);
	s->cli_role = (kind & 1) ? TFTP_ROLE_SENDER : TFTP_ROLE_RECEIVER;
	s->mode = (kind & 2) ? TFTP_MODE_NETASCII : TFTP_MODE_OCTET;
	s->caps.allow_options = (kind & 4) == 0;
	s->caps.max_blksize = fz_range(f, TFTP_BLKSIZE_MIN, TFTP_BLKSIZE_MAX);
	s->caps.max_window = fz_range(f, TFTP_WINDOW_MIN, 64);

	struct tftp_xfer_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.role = s->cli_role;
	cfg.is_client = 1;
	cfg.mode = s->mode;
	cfg.filename = "file";
	cfg.opts.present = fz_u8(f) & 0x0fu;
	cfg.opts.blksize = fz_range(f, TFTP_BLKSIZE_MIN, 1500);
	cfg.opts.timeout = fz_range(f, TFTP_TIMEOUT_MIN, 3);
	cfg.opts.windowsize = fz_range(f, TFTP_WINDOW_MIN, 32);
	cfg.timeout_ms = 1000;
	cfg.dally_ms = fz_bool(f) ? 0 : 2000;

	/* The file: a fuzzed prefix repeated, up to 48 KiB. */
	s->srclen = fz_range(f, 0, 48u << 10);
	size_t plen;
	const uint8_t *pat = fz_bytes(f, fz_range(f, 1, 64), &plen);
	s->src = malloc(s->srclen + 1);
	s->dstcap = s->srclen + 1;
	s->dst = malloc(s->dstcap);
	if (!s->src || !s->dst)
		abort();
	for (size_t i = 0; i < s->srclen; i++)
		s->src[i] = plen ? pat[i % plen] : (uint8_t)i;
	if (s->cli_role == TFTP_ROLE_SENDER)
		cfg.opts.tsize = s->srclen;
	else
		cfg.opts.tsize = 0;

	struct tftp_xfer_io io = {.ctx = s, .send = cli_send,
				  .read = file_read, .write = file_write};
	FUZZ_CHECK(tftp_xfer_init(&s->cli.x, &cfg, &io) == 0, "client init");
	s->cli.up = 1;
	s->now = 1000;
	tftp_xfer_start(&s->cli.x, s->now);

	int steps = 0;
	for (; steps < MAX_STEPS; steps++) {
		int cdone = tftp_xfer_finished(&s->cli.x);
		int sdone = !s->srv.up || tftp_xfer_finished(&s->srv.x);
		if (cdone && sdone && (s->srv.up || s->nq == 0))
			break;
		uint64_t next = tftp_xfer_deadline(&s->cli.x);
		if (s->srv.up && tftp_xfer_deadline(&s->srv.x) < next)
			next = tftp_xfer_deadline(&s->srv.x);
		size_t first = fz_earliest(s->q, s->nq, sizeof(s->q[0]), UINT64_MAX);
		uint64_t qnext = first == SIZE_MAX ? UINT64_MAX : s->q[first].at;
		if (next == UINT64_MAX && qnext == UINT64_MAX)
			break;
		if (qnext <= next) {
			deliver_next(s, qnext);
			continue;
		}
		if (next > s->now)
			s->now = next;
		tftp_xfer_tick(&s->cli.x, s->now);
		if (s->srv.up)
			tftp_xfer_tick(&s->srv.x, s->now);
	}
	FUZZ_CHECK(steps < MAX_STEPS, "not finished after %d steps", steps);

	struct tftp_xfer *snd = s->cli_role == TFTP_ROLE_SENDER ? &s->cli.x
								: &s->srv.x;
	struct tftp_xfer *rcv = s->cli_role == TFTP_ROLE_SENDER ? &s->srv.x
								: &s->cli.x;
	FUZZ_CHECK(tftp_xfer_finished(&s->cli.x), "client still running (%s)",
		   tftp_xfer_state_name(s->cli.x.state));
	FUZZ_CHECK(!(s->cli.x.state == TFTP_XS_FAILED &&
		     s->cli.x.err.code == TFTP_ERR_OPTNEG &&
		     !s->cli.x.err_from_peer),
		   "client refused our server's OACK: %s", s->cli.x.err.msg);
	if (s->srv.up) {
		FUZZ_CHECK(tftp_xfer_finished(&s->srv.x),
			   "server still running (%s)",
			   tftp_xfer_state_name(s->srv.x.state));
		if (snd->state == TFTP_XS_DONE)
			FUZZ_CHECK(tftp_xfer_data_complete(rcv),
				   "sender done, receiver %s with %zu of %zu bytes",
				   tftp_xfer_state_name(rcv->state), s->dstlen,
				   s->srclen);
		if (tftp_xfer_data_complete(rcv))
			FUZZ_CHECK(s->dstlen == s->srclen &&
					   memcmp(s->dst, s->src, s->srclen) == 0,
				   "receiver complete with %zu of %zu bytes",
				   s->dstlen, s->srclen);
		/* Nothing lost or held back (duplicates and small delays
		 * only): both sides done. */
		if (s->faults == 0)
			FUZZ_CHECK(snd->state == TFTP_XS_DONE &&
					   rcv->state == TFTP_XS_DONE,
				   "perfect channel, %s / %s",
				   tftp_xfer_state_name(snd->state),
				   tftp_xfer_state_name(rcv->state));
		tftp_xfer_free(&s->srv.x);
	}
	tftp_xfer_free(&s->cli.x);
	for (size_t i = 0; i < s->nq; i++)
		free(s->q[i].data);
	free(s->src);
	free(s->dst);
	free(s);
	return 0;
}
