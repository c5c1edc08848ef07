/* loadgen: many concurrent TFTP downloads from one process, for the
 * benchmark's crowd scenarios. Every transfer has its own non-blocking
 * socket (its own TID); one epoll loop drives them all, so the generator
 * costs far less CPU than as many client processes would, and the same
 * load goes to every server under test.
 *
 *   loadgen [options] IPV4:PORT
 *     -d DIR     local copy of the served files: every byte received is
 *                compared with it, and the length must match
 *     -f FMT     remote (and local) name, printf format with one %d
 *                (default "f%d.bin")
 *     -n N       files f0 .. f(N-1) (default 1); transfer i gets file i % N
 *     -c C       transfers running at once (default 200)
 *     -t T       transfers in all (default C)
 *     -b SIZE    request blksize SIZE (default: no options, 512)
 *     -w N       request windowsize N
 *     -a MS      slow client: hold every ACK but the last for MS ms
 *     -D SEC     stop after SEC seconds (transfers still running are ended
 *                with an ERROR and counted as "held" if they had
 *                received data)
 *     -T MS      retransmit timeout (default 500)
 *
 *   Boot-storm habits (bench/run.py's storm scenarios):
 *     -A         every transfer from a loopback address of its own
 *                (127.1.x.y), as separate machines would be
 *     -P MODE    a PXE ROM's size probe first: an RRQ with tsize 0, then
 *                on its OACK either ERROR 8 and the real RRQ from a new
 *                port (MODE "error8") or the real RRQ from the same port
 *                without a word (MODE "rerrq")
 *     -R         re-ACK every repeated block (a firmware habit)
 *     -L PCT     drop this share of the DATA arriving (simulated loss
 *                on the path to the client), -s SEED for its sequence
 *
 *   The RESULT line then also gives each transfer's time from its first
 *   request to its last ACK (p50, p99, max), the timeouts that fired,
 *   and amplification: the DATA payload bytes that arrived (lost ones
 *   included) over the file bytes of the transfers that completed.
 *
 * The last line is machine-readable:
 *   RESULT ok=N failed=N held=N bytes=B seconds=S
 * Exit status 0 when every transfer that was not held ended verified.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "net.h"
#include "options.h"
#include "packet.h"

#define MAX_RETRIES 20
#define LG_BATCH 32     /* datagrams read per system call */

enum lg_state { LG_IDLE, LG_REQUEST, LG_RUNNING, LG_DONE, LG_FAILED };
enum lg_probe { PROBE_NONE, PROBE_ERROR8, PROBE_RERRQ };

struct ref {
	uint8_t *data;
	size_t len;
};

struct lg_xfer {
	enum lg_state state;
	int fd;
	unsigned file;
	uint64_t expected;      /* next block wanted */
	uint64_t got;           /* bytes verified */
	uint32_t blksize, window, since;
	uint64_t due;           /* retransmit or held-ACK time (ms) */
	int ack_held;           /* an ACK waits for the slow-client delay */
	int retries;
	uint8_t last[600];      /* the last control packet (RRQ or ACK) */
	size_t last_len;
	int probing;            /* the size probe's answer is awaited */
	uint16_t probe_tid;     /* the probe's server port: ignored after */
	uint64_t t_start;       /* first request (ms) */
	unsigned index;         /* which transfer (for -A) */
};

struct lg {
	struct sockaddr_in server;
	const char *dir, *fmt;
	unsigned nfiles, conc, total;
	uint32_t blksize, window;
	uint32_t ack_delay, timeout;
	double duration;
	int own_addr, reack;    /* -A, -R */
	enum lg_probe probe;    /* -P */
	double loss;            /* -L, as a share */
	uint64_t rng;           /* -s: xorshift state */
	uint64_t arrived;       /* DATA payload bytes that arrived */
	uint64_t timeouts;
	double *times;          /* each completed transfer's, in s */
	struct ref *refs;
	struct lg_xfer *x;
	unsigned started, ok, failed, running;
	uint64_t bytes;
	int ep;
	struct mmsghdr msgs[LG_BATCH];
	struct iovec iov[LG_BATCH];
	uint8_t bufs[LG_BATCH][TFTP_PACKET_MAX + 1];
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void die(const char *what)
{
	perror(what);
	exit(2);
}

/* ---- the reference files ----------------------------------------------- */

static void file_name(const struct lg *g, unsigned i, char *out, size_t cap)
{
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	snprintf(out, cap, g->fmt, (int)i);
#pragma GCC diagnostic pop
}

static void load_refs(struct lg *g)
{
	g->refs = calloc(g->nfiles, sizeof(*g->refs));
	if (!g->refs)
		die("calloc");
	for (unsigned i = 0; i < g->nfiles; i++) {
		char name[512], path[1024];
		struct stat st;
		file_name(g, i, name, sizeof(name));
		snprintf(path, sizeof(path), "%s/%s", g->dir, name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) < 0)
			die(path);
		struct ref *r = &g->refs[i];
		r->len = (size_t)st.st_size;
		r->data = malloc(r->len ? r->len : 1u);
		if (!r->data)
			die("malloc");
		size_t have = 0;
		while (have < r->len) {
			ssize_t n = read(fd, r->data + have, r->len - have);
			if (n <= 0)
				die(path);
			have += (size_t)n;
		}
		close(fd);
	}
}

/* ---- packets out ---------------------------------------------------------- */

static void send_last(const struct lg *g, struct lg_xfer *x)
{
	/* Before the first reply, to the server's port; after it the socket
	 * is connected to the server's TID. */
	if (x->state == LG_REQUEST)
		(void)sendto(x->fd, x->last, x->last_len, 0,
			     (const struct sockaddr *)&g->server,
			     sizeof(g->server));
	else
		(void)send(x->fd, x->last, x->last_len, 0);
}

static void send_ack(struct lg *g, struct lg_xfer *x, uint64_t block,
		     uint64_t now)
{
	x->last_len = tftp_build_ack(x->last, sizeof(x->last), (uint16_t)block);
	send_last(g, x);
	x->due = now + g->timeout;
}

/* End a transfer; close its socket so the next one can start. */
static void finish(struct lg *g, struct lg_xfer *x, enum lg_state st,
		   const char *why)
{
	if (st == LG_FAILED) {
		g->failed++;
		fprintf(stderr, "loadgen: transfer of file %u failed: %s\n",
			x->file, why);
		uint8_t err[64];
		size_t n = tftp_build_error(err, sizeof(err), TFTP_ERR_UNDEF, why);
		(void)send(x->fd, err, n, 0);
	} else {
		g->times[g->ok] = (double)(now_ms() - x->t_start) / 1e3;
		g->ok++;
		g->bytes += x->got;
	}
	x->state = st;
	close(x->fd);
	x->fd = -1;
	g->running--;
}

/* Bind fd to a's address and a port of its own, named explicitly: a
 * socket bound to port 0 loses its port when it is disconnected, and
 * -P rerrq must ask again from the same one. */
static void bind_port(int fd, struct sockaddr_in *a)
{
	socklen_t len = sizeof(*a);
	int probe = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	a->sin_port = 0;
	if (probe < 0 || bind(probe, (struct sockaddr *)a, sizeof(*a)) < 0 ||
	    getsockname(probe, (struct sockaddr *)a, &len) < 0)
		die("bind (a port to use)");
	close(probe);
	if (bind(fd, (struct sockaddr *)a, sizeof(*a)) < 0)
		die("bind");
}

/* A socket for the transfer: its own loopback address with -A (127.1.x.y
 * from its index), registered with epoll. */
static void open_socket(struct lg *g, struct lg_xfer *x)
{
	x->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (x->fd < 0)
		die("socket");
	/* A window of big blocks must fit in the receive buffer. */
	int rcv = 4 << 20;
	if (g->window > 1)
		(void)setsockopt(x->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv,
				 sizeof(rcv));
	struct sockaddr_in a = {.sin_family = AF_INET};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (g->own_addr)
		a.sin_addr.s_addr = htonl(0x7f010000u | (1u + x->index % 65000u));
	if (g->own_addr || g->probe == PROBE_RERRQ)
		bind_port(x->fd, &a);
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = x};
	if (epoll_ctl(g->ep, EPOLL_CTL_ADD, x->fd, &ev) < 0)
		die("epoll_ctl");
}

/* The request into x->last: the size probe (tsize 0 and the blksize,
 * as PXE ROMs ask), or the real one. */
static void build_request(const struct lg *g, struct lg_xfer *x, int probe)
{
	char name[512];
	file_name(g, x->file, name, sizeof(name));
	size_t len = tftp_build_request(x->last, sizeof(x->last), TFTP_OP_RRQ,
					name, "octet");
	struct tftp_opts o = {0};
	if (g->blksize) {
		o.present |= TFTP_OPT_BLKSIZE;
		o.blksize = g->blksize;
	}
	if (g->window && !probe) {
		o.present |= TFTP_OPT_WINDOWSIZE;
		o.windowsize = g->window;
	}
	if (probe)
		o.present |= TFTP_OPT_TSIZE;
	if (o.present)
		len = tftp_opts_append(x->last, sizeof(x->last), len, &o);
	x->last_len = len;
	x->probing = probe;
	x->blksize = TFTP_BLKSIZE_DEFAULT;
	x->window = 1;
	x->expected = 1;
	x->state = LG_REQUEST;
}

static void start(struct lg *g, struct lg_xfer *x, unsigned file, uint64_t now)
{
	unsigned index = g->started;
	memset(x, 0, sizeof(*x));
	x->file = file;
	x->index = index;
	x->t_start = now;
	open_socket(g, x);
	build_request(g, x, g->probe != PROBE_NONE);
	send_last(g, x);
	x->due = now + g->timeout;
	g->started++;
	g->running++;
}

/* The probe's OACK came: the size is known, now the real request, from
 * a new port after ERROR 8, or from this one without a word. */
static void probe_answered(struct lg *g, struct lg_xfer *x, uint64_t now)
{
	struct sockaddr_in peer;
	socklen_t plen = sizeof(peer);
	x->probe_tid = getpeername(x->fd, (struct sockaddr *)&peer, &plen) == 0
			       ? ntohs(peer.sin_port)
			       : 0;
	if (g->probe == PROBE_ERROR8) {
		uint8_t err[64];
		size_t n = tftp_build_error(err, sizeof(err), TFTP_ERR_OPTNEG,
					    "size only");
		(void)send(x->fd, err, n, 0);
		close(x->fd);
		open_socket(g, x);
	} else {
		struct sockaddr un = {.sa_family = AF_UNSPEC};
		(void)connect(x->fd, &un, sizeof(un));
	}
	build_request(g, x, 0);
	send_last(g, x);
	x->due = now + g->timeout;
}

/* ---- packets in ------------------------------------------------------------ */

/* The server answers from a new port (its TID): from then on the socket
 * is connected to it, and the kernel drops anything from elsewhere.
 * Returns 1 to drop a datagram that is not from the server's host. */
static int lock_tid(const struct lg *g, struct lg_xfer *x,
		    const struct sockaddr_in *from)
{
	if (x->state != LG_REQUEST)
		return 0;
	if (from->sin_addr.s_addr != g->server.sin_addr.s_addr ||
	    (x->probe_tid && ntohs(from->sin_port) == x->probe_tid))
		return 1; /* a stranger, or the abandoned probe's repeats */
	return connect(x->fd, (const struct sockaddr *)from, sizeof(*from));
}

static void on_oack(struct lg *g, struct lg_xfer *x, const struct tftp_packet *p,
		    uint64_t now)
{
	struct tftp_opts o;
	tftp_opts_from_packet(p, &o);
	if (o.present & TFTP_OPT_BLKSIZE)
		x->blksize = o.blksize;
	if (o.present & TFTP_OPT_WINDOWSIZE)
		x->window = o.windowsize;
	if (x->probing) {
		probe_answered(g, x, now);
		return;
	}
	x->state = LG_RUNNING;
	send_ack(g, x, 0, now);
}

/* Ack the window's end, now or (slow client) after the delay. */
static void ack_window(struct lg *g, struct lg_xfer *x, uint64_t now)
{
	x->since = 0;
	if (g->ack_delay) {
		x->ack_held = 1;
		x->due = now + g->ack_delay;
		return;
	}
	send_ack(g, x, x->expected - 1u, now);
}

/* -L: whether this datagram is lost on its way (xorshift64). */
static int lost(struct lg *g)
{
	if (g->loss <= 0)
		return 0;
	g->rng ^= g->rng << 13;
	g->rng ^= g->rng >> 7;
	g->rng ^= g->rng << 17;
	return (double)(g->rng >> 11) / 9007199254740992.0 < g->loss;
}

static void on_data(struct lg *g, struct lg_xfer *x, const struct tftp_packet *p,
		    uint64_t now)
{
	const struct ref *r = &g->refs[x->file];
	uint16_t delta = (uint16_t)(p->block - (uint16_t)x->expected);
	g->arrived += p->datalen;
	if (lost(g))
		return;
	x->state = LG_RUNNING;
	x->probing = 0; /* a server without options answered with DATA */
	if (delta != 0) {
		/* Out of order: say where we are (unless an ACK is being
		 * held back on purpose); repeated: only with -R. */
		if (!x->ack_held && (delta < 0x8000u || g->reack))
			send_ack(g, x, x->expected - 1u, now);
		return;
	}
	uint64_t off = (x->expected - 1u) * x->blksize;
	if (p->datalen > x->blksize || off + p->datalen > r->len ||
	    memcmp(r->data + off, p->data, p->datalen) != 0) {
		finish(g, x, LG_FAILED, "content differs from the file");
		return;
	}
	x->got += p->datalen;
	x->expected++;
	x->retries = 0;
	if (p->datalen < x->blksize) {
		send_ack(g, x, x->expected - 1u, now);
		if (x->got != r->len)
			finish(g, x, LG_FAILED, "short file");
		else
			finish(g, x, LG_DONE, NULL);
		return;
	}
	if (++x->since >= x->window)
		ack_window(g, x, now);
	else
		x->due = now + g->timeout;
}

static void on_packet(struct lg *g, struct lg_xfer *x, const uint8_t *buf,
		      size_t len, uint64_t now)
{
	struct tftp_packet p;
	if (tftp_packet_parse(buf, len, &p) != TFTP_PARSE_OK)
		return;
	if (p.op == TFTP_OP_ERROR) {
		char why[160];
		snprintf(why, sizeof(why), "server sent ERROR %u (%.*s)",
			 (unsigned)p.errcode, (int)p.errmsg.len, p.errmsg.ptr);
		finish(g, x, LG_FAILED, why);
	} else if (p.op == TFTP_OP_OACK && x->state == LG_REQUEST) {
		on_oack(g, x, &p, now);
	} else if (p.op == TFTP_OP_DATA) {
		on_data(g, x, &p, now);
	}
}

/* Everything queued on the socket in one recvmmsg (MSG_DONTWAIT returns
 * what is there): one system call per wake-up, not one per datagram plus
 * a last one to hear EAGAIN. */
static void readable(struct lg *g, struct lg_xfer *x, uint64_t now)
{
	struct sockaddr_in from[LG_BATCH];
	for (unsigned i = 0; i < LG_BATCH; i++) {
		g->msgs[i].msg_hdr.msg_name = &from[i];
		g->msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
	}
	int fd = x->fd;
	int n = recvmmsg(fd, g->msgs, LG_BATCH, MSG_DONTWAIT, NULL);
	/* Only while the socket is the same: after a probe the rest of the
	 * batch belongs to the abandoned exchange. */
	for (int i = 0; i < n && x->fd == fd; i++) {
		int r = lock_tid(g, x, &from[i]);
		if (r < 0) {
			finish(g, x, LG_FAILED, "connect");
			return;
		}
		if (r == 0)
			on_packet(g, x, g->bufs[i], g->msgs[i].msg_len, now);
	}
}

/* ---- timers ------------------------------------------------------------------ */

static void expire(struct lg *g, struct lg_xfer *x, uint64_t now)
{
	if (x->ack_held) {
		x->ack_held = 0;
		send_ack(g, x, x->expected - 1u, now);
		return;
	}
	g->timeouts++;
	if (++x->retries > MAX_RETRIES) {
		finish(g, x, LG_FAILED, "timed out");
		return;
	}
	send_last(g, x);
	x->due = now + g->timeout;
}

/* Walk every slot: fire due timers, refill finished ones. Returns the
 * earliest deadline. */
static uint64_t sweep(struct lg *g, uint64_t now)
{
	uint64_t next = now + 1000u;
	for (unsigned i = 0; i < g->conc; i++) {
		struct lg_xfer *x = &g->x[i];
		if (x->state == LG_REQUEST || x->state == LG_RUNNING) {
			if (now >= x->due)
				expire(g, x, now);
		}
		if (x->state != LG_REQUEST && x->state != LG_RUNNING &&
		    g->started < g->total)
			start(g, x, g->started % g->nfiles, now);
		if ((x->state == LG_REQUEST || x->state == LG_RUNNING) &&
		    x->due < next)
			next = x->due;
	}
	return next;
}

/* ---- main -------------------------------------------------------------------- */

static void hold_end(struct lg *g, unsigned *held)
{
	uint8_t err[64];
	size_t n = tftp_build_error(err, sizeof(err), TFTP_ERR_UNDEF,
				    "benchmark over");
	for (unsigned i = 0; i < g->conc; i++) {
		struct lg_xfer *x = &g->x[i];
		if (x->state != LG_REQUEST && x->state != LG_RUNNING)
			continue;
		(void)send(x->fd, err, n, 0);
		close(x->fd);
		x->fd = -1;
		if (x->got > 0) /* held only if the server was serving it */
			(*held)++;
	}
}

static void run(struct lg *g, unsigned *held)
{
	struct epoll_event evs[256];
	uint64_t t0 = now_ms(), next = sweep(g, t0);
	for (;;) {
		uint64_t now = now_ms();
		if (g->duration > 0 && (double)(now - t0) >= g->duration * 1000.0) {
			hold_end(g, held);
			return;
		}
		if (g->running == 0 && g->started >= g->total)
			return;
		int wait = next > now ? (int)(next - now) : 0;
		int n = epoll_wait(g->ep, evs, 256, wait > 50 ? 50 : wait);
		if (n < 0 && errno != EINTR)
			die("epoll_wait");
		now = now_ms();
		int refill = 0;
		for (int i = 0; i < n; i++) {
			struct lg_xfer *x = evs[i].data.ptr;
			readable(g, x, now);
			refill |= x->state == LG_DONE || x->state == LG_FAILED;
		}
		if (refill || now >= next || n <= 0)
			next = sweep(g, now);
	}
}

static void usage(void)
{
	fputs("usage: loadgen [-d DIR] [-f FMT] [-n FILES] [-c CONC] [-t TOTAL]\n"
	      "               [-b BLKSIZE] [-w WINDOW] [-a ACK_DELAY_MS]\n"
	      "               [-D SECONDS] [-T TIMEOUT_MS] [-A] [-P error8|rerrq]\n"
	      "               [-R] [-L LOSS_PCT] [-s SEED] IPV4:PORT\n", stderr);
	exit(2);
}

static void parse_probe(struct lg *g, const char *mode)
{
	if (strcmp(mode, "error8") == 0)
		g->probe = PROBE_ERROR8;
	else if (strcmp(mode, "rerrq") == 0)
		g->probe = PROBE_RERRQ;
	else
		usage();
}

static void parse(int argc, char **argv, struct lg *g)
{
	int c;
	g->dir = ".";
	g->fmt = "f%d.bin";
	g->nfiles = 1;
	g->conc = 200;
	g->timeout = 500;
	g->rng = 88172645463325252ull;
	while ((c = getopt(argc, argv, "d:f:n:c:t:b:w:a:D:T:AP:RL:s:")) != -1) {
		switch (c) {
		case 'd': g->dir = optarg; break;
		case 'f': g->fmt = optarg; break;
		case 'n': g->nfiles = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'c': g->conc = (unsigned)strtoul(optarg, NULL, 10); break;
		case 't': g->total = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'b': g->blksize = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'w': g->window = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'a': g->ack_delay = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'D': g->duration = strtod(optarg, NULL); break;
		case 'T': g->timeout = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'A': g->own_addr = 1; break;
		case 'P': parse_probe(g, optarg); break;
		case 'R': g->reack = 1; break;
		case 'L': g->loss = strtod(optarg, NULL) / 100.0; break;
		case 's': g->rng ^= strtoull(optarg, NULL, 10) * 2654435761u; break;
		default: usage();
		}
	}
	if (optind + 1 != argc || !g->nfiles || !g->conc || !g->timeout)
		usage();
	if (!g->total)
		g->total = g->conc;
	char host[64];
	uint16_t port;
	memset(&g->server, 0, sizeof(g->server));
	g->server.sin_family = AF_INET;
	if (tftp_split_hostport(argv[optind], host, sizeof(host), &port, 69) < 0 ||
	    inet_pton(AF_INET, host, &g->server.sin_addr) != 1)
		usage();
	g->server.sin_port = htons(port);
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The RESULT line. */
static void report(struct lg *g, unsigned held, double s, double cpu)
{
	double p50 = 0, p99 = 0, max = 0, amp = 0;
	uint64_t want = 0;
	if (g->ok) {
		qsort(g->times, g->ok, sizeof(*g->times), by_value);
		p50 = g->times[(g->ok - 1u) / 2u];
		p99 = g->times[(size_t)((double)(g->ok - 1u) * 0.99)];
		max = g->times[g->ok - 1u];
	}
	want = g->bytes; /* the completed transfers' file bytes */
	if (want)
		amp = (double)g->arrived / (double)want;
	printf("RESULT ok=%u failed=%u held=%u bytes=%" PRIu64 " seconds=%.6f "
	       "cpu=%.3f p50=%.3f p99=%.3f max=%.3f timeouts=%" PRIu64
	       " amplification=%.4f\n", g->ok, g->failed, held, g->bytes, s,
	       cpu, p50, p99, max, g->timeouts, amp);
}

int main(int argc, char **argv)
{
	static struct lg g;
	unsigned held = 0;
	parse(argc, argv, &g);
	/* One descriptor per transfer. */
	struct rlimit rl = {g.conc + 64u, g.conc + 64u};
	(void)setrlimit(RLIMIT_NOFILE, &rl);
	load_refs(&g);
	for (unsigned i = 0; i < LG_BATCH; i++) {
		g.iov[i].iov_base = g.bufs[i];
		g.iov[i].iov_len = sizeof(g.bufs[i]);
		g.msgs[i].msg_hdr.msg_iov = &g.iov[i];
		g.msgs[i].msg_hdr.msg_iovlen = 1;
	}
	g.x = calloc(g.conc, sizeof(*g.x));
	g.times = calloc(g.total + 1u, sizeof(*g.times));
	g.ep = epoll_create1(EPOLL_CLOEXEC);
	if (!g.x || !g.times || g.ep < 0)
		die("setup");
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	run(&g, &held);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double s = (double)(t1.tv_sec - t0.tv_sec) +
		   (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
		     (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	report(&g, held, s, cpu);
	return g.failed ? 1 : 0;
}
