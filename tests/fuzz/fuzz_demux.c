/* libFuzzer target: the --single-port demultiplexer. Many clients share
 * the server's one socket; every datagram is handed to the transfer its
 * source address and port names, through the server's own session table
 * (tftpd/table.c, with its two hashes, keyed as tftpd keys them).
 *
 * Up to 8 client engines, on addresses and ports the fuzzer picks from a
 * small set (so several share an address, as behind a NAT, and chains
 * grow), download one file at once through a channel whose every
 * decision (deliver, drop, duplicate, hold back) the fuzzer makes, with
 * strangers' datagrams (DATA, ACK, ERROR, requests, garbage) mixed in. A
 * request from a new address:port starts a server engine, one from a live
 * one is a repeat; anything else goes to the table's transfer or nowhere.
 *
 * Invariants:
 *  - the table's lookup always agrees with a walk of every live transfer;
 *  - a datagram reaches only the engine of the transfer with its source;
 *    a stranger's never reaches any;
 *  - every engine's packets go to its own client, which exists;
 *  - every client's file is a prefix of the server's, and whole when
 *    complete; with no datagram lost or held back, every transfer ends
 *    successfully; everything ends within a bounded number of steps.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "fuzz_util.h"
#include "limits.h"
#include "net.h"
#include "session.h"
#include "table.h"
#include "xfer.h"

#define NPEERS 8
#define QCAP 2048
#define MAX_STEPS 200000
#define FILE_MAX (24u << 10)

struct qpkt {
	uint64_t at, seq;
	int to_server;
	int peer;                  /* client index, or -1: a stranger */
	struct sockaddr_storage from;
	size_t len;
	uint8_t *data;
};

struct client {
	struct tftp_xfer x;
	struct sockaddr_storage addr;
	uint8_t *got;
	size_t gotlen;
	int up;
};

struct srv_ctx;

struct sim {
	struct fz f;
	uint64_t now, seq;
	struct qpkt q[QCAP];
	size_t nq;
	struct client cli[NPEERS];
	int ncli;
	struct session_table table;
	const uint8_t *file;
	size_t filelen;
	unsigned faults;
	struct srv_ctx *ctxs[256]; /* every server engine's context */
	int nctx;
};

static struct tftpd_limits *limits;

static void addr_of(struct fz *f, struct sockaddr_storage *ss, int stranger)
{
	memset(ss, 0, sizeof(*ss));
	uint8_t b = fz_u8(f);
	uint16_t port = (uint16_t)(1000u + (fz_u8(f) & 7u) + (stranger ? 100u : 0u));
	if (b & 1u) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_addr.s6_addr[15] = (uint8_t)(1u + ((b >> 1) & 1u));
		s6->sin6_port = htons(port);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
		s4->sin_family = AF_INET;
		s4->sin_addr.s_addr = htonl(0x7f000001u + ((b >> 1) & 3u));
		s4->sin_port = htons(port);
	}
}

static void enqueue(struct sim *s, int to_server, int peer,
		    const struct sockaddr_storage *from, const uint8_t *p,
		    size_t len, uint64_t delay)
{
	if (s->nq == QCAP)
		return;
	struct qpkt *q = &s->q[s->nq++];
	q->at = s->now + delay;
	q->seq = s->seq++;
	q->to_server = to_server;
	q->peer = peer;
	if (from)
		q->from = *from;
	q->len = len;
	q->data = fz_dup(p, len);
}

static void channel(struct sim *s, int to_server, int peer,
		    const struct sockaddr_storage *from, const uint8_t *p,
		    size_t len)
{
	if (!fz_left(&s->f)) {
		enqueue(s, to_server, peer, from, p, len, 1);
		return;
	}
	uint8_t b = fz_u8(&s->f);
	switch (b & 7u) {
	case 0:
		s->faults++;
		break;
	case 1:
		enqueue(s, to_server, peer, from, p, len, 1u + (b >> 3));
		enqueue(s, to_server, peer, from, p, len, 2u + (b >> 3));
		break;
	case 2:
		s->faults++;
		enqueue(s, to_server, peer, from, p, len, 1u + (uint64_t)fz_u8(&s->f) * 8u);
		break;
	default:
		enqueue(s, to_server, peer, from, p, len, 1u + ((b >> 3) & 3u));
		break;
	}
}

/* ---- the clients ---------------------------------------------------- */

struct cli_ctx {
	struct sim *s;
	int i;
};
static struct cli_ctx cctx[NPEERS];

static int cli_send(void *ctx, const uint8_t *p, size_t len)
{
	struct cli_ctx *c = ctx;
	channel(c->s, 1, c->i, &c->s->cli[c->i].addr, p, len);
	return 0;
}

static int cli_write(void *ctx, uint64_t off, const uint8_t *buf, size_t len,
		     struct tftp_err *err)
{
	struct cli_ctx *c = ctx;
	struct client *cl = &c->s->cli[c->i];
	(void)err;
	FUZZ_CHECK(off == cl->gotlen && off + len <= c->s->filelen &&
			   memcmp(buf, c->s->file + off, len) == 0,
		   "client %d wrote wrong bytes at %llu", c->i,
		   (unsigned long long)off);
	memcpy(cl->got + cl->gotlen, buf, len);
	cl->gotlen += len;
	return 0;
}

static void start_client(struct sim *s, int i, uint32_t blksize, uint32_t window)
{
	struct client *cl = &s->cli[i];
	struct tftp_xfer_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.role = TFTP_ROLE_RECEIVER;
	cfg.is_client = 1;
	cfg.mode = TFTP_MODE_OCTET;
	cfg.filename = "file";
	cfg.opts.present = TFTP_OPT_BLKSIZE | TFTP_OPT_WINDOWSIZE;
	cfg.opts.blksize = blksize;
	cfg.opts.windowsize = window;
	cfg.timeout_ms = 1000;
	cctx[i].s = s;
	cctx[i].i = i;
	struct tftp_xfer_io io = {.ctx = &cctx[i], .send = cli_send,
				  .write = cli_write};
	cl->got = malloc(s->filelen + 1);
	FUZZ_CHECK(cl->got && tftp_xfer_init(&cl->x, &cfg, &io) == 0,
		   "client init");
	cl->up = 1;
	tftp_xfer_start(&cl->x, s->now);
}

/* ---- the server ------------------------------------------------------ */

struct srv_ctx {
	struct sim *s;
	struct session *sess;
};

static int srv_send(void *ctx, const uint8_t *p, size_t len)
{
	struct srv_ctx *c = ctx;
	struct sim *s = c->s;
	/* The client this goes to: the one at the session's peer. */
	int to = -1;
	for (int i = 0; i < s->ncli; i++)
		if (tftp_sockaddr_equal((struct sockaddr *)&s->cli[i].addr,
					(struct sockaddr *)&c->sess->peer))
			to = i;
	FUZZ_CHECK(to >= 0, "a transfer sends to no client");
	channel(s, 0, to, NULL, p, len);
	return 0;
}

static long srv_read(void *ctx, uint64_t off, uint8_t *buf, size_t len,
		     struct tftp_err *err)
{
	struct srv_ctx *c = ctx;
	(void)err;
	size_t n = c->s->filelen - off < len ? c->s->filelen - (size_t)off : len;
	memcpy(buf, c->s->file + off, n);
	return (long)n;
}

static void start_session(struct sim *s, const struct qpkt *q)
{
	struct tftp_packet p;
	if (tftp_packet_parse(q->data, q->len, &p) != TFTP_PARSE_OK)
		return;
	if (s->nctx == (int)(sizeof(s->ctxs) / sizeof(s->ctxs[0])))
		return;
	struct session *sess = calloc(1, sizeof(*sess) + 8);
	struct srv_ctx *c = calloc(1, sizeof(*c));
	FUZZ_CHECK(sess && c, "out of memory");
	s->ctxs[s->nctx++] = c;
	memcpy(&sess->peer, &q->from, sizeof(q->from));
	sess->peerlen = tftp_sockaddr_len((struct sockaddr *)&q->from);
	c->s = s;
	c->sess = sess;
	struct tftp_opts req, acc;
	struct tftp_server_caps caps = {.allow_options = 1, .max_blksize = 1468,
					.max_window = 16, .max_timeout = 10};
	tftp_opts_from_packet(&p, &req);
	tftp_opts_negotiate(&req, &caps, 1, TFTP_MODE_OCTET, s->filelen, &acc);
	struct tftp_xfer_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.role = TFTP_ROLE_SENDER;
	cfg.mode = TFTP_MODE_OCTET;
	cfg.opts = acc;
	cfg.timeout_ms = 1000;
	struct tftp_xfer_io io = {.ctx = c, .send = srv_send, .read = srv_read};
	FUZZ_CHECK(tftp_xfer_init(&sess->x, &cfg, &io) == 0, "server init");
	table_add(&s->table, sess);
	tftp_xfer_start(&sess->x, s->now);
}

static void end_session(struct sim *s, struct session *sess)
{
	for (int i = 0; i < s->nctx; i++)
		if (s->ctxs[i] && s->ctxs[i]->sess == sess)
			s->ctxs[i]->sess = NULL;
	table_remove(&s->table, sess);
	tftp_xfer_free(&sess->x);
	free(sess);
}

/* The table's answer, checked against a walk of every transfer. */
static struct session *lookup(struct sim *s, const struct sockaddr *from)
{
	struct session *found = table_find(&s->table, from), *walk = NULL;
	for (struct session *x = s->table.all; x; x = x->next)
		if (tftp_sockaddr_equal((struct sockaddr *)&x->peer, from)) {
			FUZZ_CHECK(!walk, "two transfers for one address:port");
			walk = x;
		}
	FUZZ_CHECK(found == walk, "the table's lookup disagrees with a walk");
	return found;
}

static void to_server(struct sim *s, struct qpkt *q)
{
	const struct sockaddr *from = (const struct sockaddr *)&q->from;
	uint16_t op = tftp_packet_opcode(q->data, q->len);
	struct session *sess = lookup(s, from);
	if (op == TFTP_OP_RRQ || op == TFTP_OP_WRQ) {
		if (!sess && q->peer >= 0)
			start_session(s, q);
		return; /* a repeat, or a stranger's: not started here */
	}
	if (!sess)
		return; /* for no transfer: dropped */
	FUZZ_CHECK(q->peer >= 0, "a stranger's datagram reached a transfer");
	FUZZ_CHECK(tftp_sockaddr_equal((struct sockaddr *)&s->cli[q->peer].addr,
				       (struct sockaddr *)&sess->peer),
		   "client %d's datagram reached another's transfer", q->peer);
	tftp_xfer_input(&sess->x, q->data, q->len, s->now);
	if (tftp_xfer_finished(&sess->x))
		end_session(s, sess);
}

/* A stranger's datagram: any opcode, from an address:port no client
 * uses. */
static void inject(struct sim *s)
{
	struct sockaddr_storage from;
	uint8_t pkt[64];
	addr_of(&s->f, &from, 1);
	size_t len = fz_range(&s->f, 2, sizeof(pkt));
	for (size_t i = 0; i < len; i++)
		pkt[i] = fz_u8(&s->f);
	pkt[0] = 0;
	pkt[1] = (uint8_t)(fz_u8(&s->f) % 8u);
	enqueue(s, 1, -1, &from, pkt, len, 1);
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
	if (q.to_server)
		to_server(s, &q);
	else if (s->cli[q.peer].up)
		tftp_xfer_input(&s->cli[q.peer].x, q.data, q.len, s->now);
	free(q.data);
	return 1;
}

static uint64_t next_deadline(struct sim *s)
{
	uint64_t next = UINT64_MAX;
	for (int i = 0; i < s->ncli; i++)
		if (tftp_xfer_deadline(&s->cli[i].x) < next)
			next = tftp_xfer_deadline(&s->cli[i].x);
	for (struct session *x = s->table.all; x; x = x->next)
		if (tftp_xfer_deadline(&x->x) < next)
			next = tftp_xfer_deadline(&x->x);
	return next;
}

static void tick_all(struct sim *s)
{
	for (int i = 0; i < s->ncli; i++)
		tftp_xfer_tick(&s->cli[i].x, s->now);
	for (struct session *x = s->table.all, *nx; x; x = nx) {
		nx = x->next;
		tftp_xfer_tick(&x->x, s->now);
		if (tftp_xfer_finished(&x->x))
			end_session(s, x);
	}
}

static int all_done(struct sim *s)
{
	for (int i = 0; i < s->ncli; i++)
		if (!tftp_xfer_finished(&s->cli[i].x))
			return 0;
	return s->table.count == 0;
}

static int run(struct sim *s)
{
	int steps = 0;
	for (; steps < MAX_STEPS && !all_done(s); steps++) {
		if (fz_left(&s->f) && (fz_u8(&s->f) & 7u) == 0)
			inject(s);
		uint64_t next = next_deadline(s);
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
		tick_all(s);
	}
	return steps;
}

/* Distinct addresses:ports for the clients, picked by the fuzzer. */
static void place_clients(struct sim *s)
{
	int want = (int)fz_range(&s->f, 1, NPEERS);
	for (int tries = 0; s->ncli < want && tries < 4 * NPEERS; tries++) {
		struct sockaddr_storage a;
		addr_of(&s->f, &a, 0);
		int dup = 0;
		for (int i = 0; i < s->ncli; i++)
			dup |= tftp_sockaddr_equal((struct sockaddr *)&a,
						   (struct sockaddr *)&s->cli[i].addr);
		if (!dup)
			s->cli[s->ncli++].addr = a;
	}
}

static void check_and_free(struct sim *s)
{
	for (int i = 0; i < s->ncli; i++) {
		struct client *cl = &s->cli[i];
		FUZZ_CHECK(tftp_xfer_finished(&cl->x), "client %d still running", i);
		if (tftp_xfer_data_complete(&cl->x))
			FUZZ_CHECK(cl->gotlen == s->filelen, "client %d complete "
				   "with %zu of %zu bytes", i, cl->gotlen,
				   s->filelen);
		if (s->faults == 0)
			FUZZ_CHECK(tftp_xfer_end_reason(&cl->x) == TFTP_END_DONE,
				   "perfect channel, client %d did not finish", i);
		tftp_xfer_free(&cl->x);
		free(cl->got);
	}
	while (s->table.all)
		end_session(s, s->table.all);
	for (int i = 0; i < s->nctx; i++)
		free(s->ctxs[i]);
	for (size_t i = 0; i < s->nq; i++)
		free(s->q[i].data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!limits && !(limits = limits_create(1000, 1000, 64)))
		abort();
	struct sim *s = calloc(1, sizeof(*s));
	if (!s || table_init(&s->table, 64, limits) < 0)
		abort();
	s->f.p = data;
	s->f.n = size;
	s->now = 1000;
	s->filelen = fz_range(&s->f, 0, FILE_MAX);
	uint8_t *file = malloc(s->filelen + 1);
	if (!file)
		abort();
	for (size_t i = 0; i < s->filelen; i++)
		file[i] = (uint8_t)(i * 7u + (i >> 8));
	s->file = file;
	place_clients(s);
	for (int i = 0; i < s->ncli; i++)
		start_client(s, i, fz_range(&s->f, 512, 1468),
			     fz_range(&s->f, 1, 16));
	int steps = run(s);
	FUZZ_CHECK(steps < MAX_STEPS, "not finished after %d steps", steps);
	check_and_free(s);
	table_fini(&s->table);
	free(file);
	free(s);
	return 0;
}
