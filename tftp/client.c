/* The client's transfer driver. See client.h. */
#include "client.h"
#include "fileio.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/errqueue.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "clock.h"
#include "errmap.h"
#include "net.h"
#include "progress.h"
#include "sock.h"
#include "xfer.h"

/* Datagrams taken per recvmmsg call when a window is in use. */
#define RECV_BATCH_MAX 64u
/* Socket buffers: a whole window of large blocks (64 x 64 KiB) must fit,
 * or the kernel drops the window's tail and the sender has to repeat it. */
#define SOCKBUF_BYTES (8 << 20)
/* The adaptive retransmission timeout's floor (see setup_xfer). */
#ifndef RTO_MIN_MS
#define RTO_MIN_MS 100u
#endif
/* Downloads: blocks smaller than WBUF_SMALL are gathered and written
 * WBUF_BYTES at a time. */
#define WBUF_BYTES (64u << 10)
#define WBUF_SMALL (8u << 10)

/* The local side of a transfer. */
struct local_file {
	int fd;
	const char *path;     /* what the user named ("-" for stdio) */
	char *final_path;     /* get: where the file goes (LOCAL, or inside it) */
	char *tmp_path;       /* get: the hidden temporary file, or NULL */
	char *dir;            /* get: final_path's directory */
	int unnamed;          /* get: fd is O_TMPFILE in dir, linked at commit */
	int target;           /* get into a file in a read-only directory: the
	                       * file itself; fd is a spool in $TMPDIR */
	mode_t mode;          /* get: permissions for the finished file */
	int have_old;         /* get replaces a file: its owner, carried over */
	uid_t uid;
	gid_t gid;
	uint64_t reserved;    /* bytes fallocated for the announced tsize */
	volatile sig_atomic_t *stop; /* a signal came: stop blocking */
	int regular;          /* put: pread works; size is known */
	uint64_t size;
	/* put from a pipe: the last bytes read, so the engine can regenerate
	 * a lost window (it never reads before its window's first block). */
	uint8_t *ring;
	size_t ringcap;
	uint64_t lo, hi;      /* file offsets held: [lo, hi) */
	int eof;
	int failed;           /* an I/O callback failed */
	int err;              /* its errno */
	/* get: received data not yet written (see io_write) */
	uint8_t *wbuf;
	size_t wlen;
};

struct client {
	const struct tftp_client_args *a;
	struct tftp_summary sum;          /* for --json */
	int fd;
	struct sockaddr_storage server;  /* the request goes here */
	struct sockaddr_storage peer;    /* the locked TID (server until then) */
	int locked;
	int refused;      /* errno of an ICMP error for the request, or 0 */
	struct tftp_xfer x;
	struct tftp_log log;
	struct local_file lf;
	/* receive batch */
	uint8_t *rbuf;
	size_t slot;
	unsigned nslots;
	struct mmsghdr *msgs;
	struct iovec *iov;
	struct sockaddr_storage *from;
	struct tftp_stranger_budget strangers;
	int options_reported;
	struct tftp_progress prog;
	uint64_t start_us;            /* the request went out */
};

static void errf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void errf(const char *fmt, ...)
{
	va_list ap;
	fputs("tftp: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int verbose(const struct client *c)
{
	return c->a->verbosity >= TFTP_VERBOSE;
}

/* ---- trace ------------------------------------------------------------ */

/* One readable line per packet: only called when --trace is on. */
static void trace_packet(const struct client *c, const char *dir,
			 const uint8_t *pkt, size_t len)
{
	struct tftp_packet p;
	char line[600];
	int n;
	(void)c;
	if (tftp_packet_parse(pkt, len, &p) != TFTP_PARSE_OK) {
		fprintf(stderr, "tftp: %s malformed datagram, %zu bytes (opcode %u)\n",
			dir, len, (unsigned)tftp_packet_opcode(pkt, len));
		return;
	}
	char e1[200], e2[80];
	switch (p.op) {
	case TFTP_OP_RRQ:
	case TFTP_OP_WRQ:
		n = snprintf(line, sizeof(line), "%s \"%s\" %s",
			     tftp_opcode_name((uint16_t)p.op),
			     tftp_log_escape(p.filename.ptr, p.filename.len, e1,
					     sizeof(e1)),
			     tftp_log_escape(p.mode.ptr, p.mode.len, e2,
					     sizeof(e2)));
		break;
	case TFTP_OP_OACK:
		n = snprintf(line, sizeof(line), "OACK");
		break;
	case TFTP_OP_DATA:
		n = snprintf(line, sizeof(line), "DATA %u, %zu bytes",
			     (unsigned)p.block, p.datalen);
		break;
	case TFTP_OP_ACK:
		n = snprintf(line, sizeof(line), "ACK %u", (unsigned)p.block);
		break;
	default:
		n = snprintf(line, sizeof(line), "ERROR %u \"%s\"",
			     (unsigned)p.errcode,
			     tftp_log_escape(p.errmsg.ptr, p.errmsg.len, e1,
					     sizeof(e1)));
		break;
	}
	/* Every byte from the network is escaped: a name or message could
	 * carry terminal escape sequences. */
	for (size_t i = 0; i < p.nopts && n > 0 && (size_t)n < sizeof(line); i++)
		n += snprintf(line + n, sizeof(line) - (size_t)n, " %s=%s",
			      tftp_log_escape(p.opts[i].name.ptr,
					      p.opts[i].name.len, e2, 40),
			      tftp_log_escape(p.opts[i].value.ptr,
					      p.opts[i].value.len, e1, 40));
	fprintf(stderr, "tftp: %s %s\n", dir, line);
}

/* ---- engine callbacks --------------------------------------------------- */

/* Errors that say the server's address cannot be reached at all. */
static int unreachable(int e)
{
	return e == ECONNREFUSED || e == EHOSTUNREACH || e == ENETUNREACH ||
	       e == EADDRNOTAVAIL || e == EAFNOSUPPORT;
}

static int io_send(void *ctx, const uint8_t *pkt, size_t len)
{
	struct client *c = ctx;
	const struct sockaddr *to = (const struct sockaddr *)&c->peer;
	if (c->a->trace)
		trace_packet(c, ">", pkt, len);
	ssize_t n;
	do
		n = sendto(c->fd, pkt, len, 0, to, tftp_sockaddr_len(to));
	while (n < 0 && errno == EINTR);
	if (n < 0 && !c->locked && unreachable(errno))
		c->refused = errno; /* no route, or an ICMP error pending */
	return n < 0 ? -1 : 0;
}

static void local_err(struct local_file *lf, int e, struct tftp_err *err)
{
	lf->failed = 1;
	lf->err = e;
	tftp_err_from_errno(e, "Client I/O error", err);
}

static int write_all(struct local_file *lf, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = write(lf->fd, buf, len);
		if (n < 0) {
			/* No SA_RESTART: a signal interrupts a write blocked on
			 * a full pipe, and ends the client. */
			if (errno == EINTR && !(lf->stop && *lf->stop))
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int flush_writes(struct local_file *lf)
{
	size_t n = lf->wlen;
	lf->wlen = 0;
	return write_all(lf, lf->wbuf, n);
}

/* The engine writes each byte once, in order: a plain write() works for
 * files, pipes and terminals. Small blocks are gathered first (in
 * lockstep at 512 bytes a write() per block costs as much as the
 * receive); the engine calls io_flush before the final ACK, so a failed
 * write still reaches the server as an ERROR. */
static int io_write(void *ctx, uint64_t off, const uint8_t *buf, size_t len,
		    struct tftp_err *err)
{
	struct client *c = ctx;
	struct local_file *lf = &c->lf;
	(void)off;
	int rc = 0;
	if (lf->wbuf && len < WBUF_SMALL) {
		if (lf->wlen + len > WBUF_BYTES)
			rc = flush_writes(lf);
		memcpy(lf->wbuf + lf->wlen, buf, len);
		lf->wlen += len;
	} else {
		rc = lf->wlen ? flush_writes(lf) : 0;
		if (rc == 0)
			rc = write_all(lf, buf, len);
	}
	if (rc < 0)
		local_err(lf, errno, err);
	return rc;
}

static int io_flush(void *ctx, struct tftp_err *err)
{
	struct client *c = ctx;
	if (c->lf.wlen && flush_writes(&c->lf) < 0) {
		local_err(&c->lf, errno, err);
		return -1;
	}
	return 0;
}

static long read_regular(struct local_file *lf, uint64_t off, uint8_t *buf,
			 size_t len, struct tftp_err *err)
{
	ssize_t n = tftp_pread_full(lf->fd, buf, len, off);
	if (n < 0) {
		local_err(lf, errno, err);
		return -1;
	}
	return (long)n;
}

/* Pull bytes from the pipe into the ring until [off, off + len) is held
 * or the input ends. */
static int ring_fill(struct local_file *lf, uint64_t want,
		     struct tftp_err *err)
{
	while (lf->hi < want && !lf->eof) {
		size_t at = (size_t)(lf->hi % lf->ringcap);
		size_t room = lf->ringcap - at;
		if (room > want - lf->hi)
			room = (size_t)(want - lf->hi);
		ssize_t n = read(lf->fd, lf->ring + at, room);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			local_err(lf, errno, err);
			return -1;
		}
		if (n == 0)
			lf->eof = 1;
		lf->hi += (uint64_t)n;
		if (lf->hi - lf->lo > lf->ringcap)
			lf->lo = lf->hi - lf->ringcap;
	}
	return 0;
}

static long read_stream(struct client *c, uint64_t off, uint8_t *buf,
			size_t len, struct tftp_err *err)
{
	struct local_file *lf = &c->lf;
	if (!lf->ring) {
		/* The engine re-reads at most its window (plus the block a
		 * netascii mark points into) behind the newest block. */
		lf->ringcap = ((size_t)tftp_xfer_window(&c->x) + 2u) *
			      tftp_xfer_blksize(&c->x);
		lf->ring = malloc(lf->ringcap);
		if (!lf->ring) {
			local_err(lf, ENOMEM, err);
			return -1;
		}
	}
	if (ring_fill(lf, off + len, err) < 0)
		return -1;
	if (off < lf->lo) {
		local_err(lf, ESPIPE, err);
		return -1;
	}
	size_t got = 0;
	while (got < len && off + got < lf->hi) {
		size_t at = (size_t)((off + got) % lf->ringcap);
		size_t n = lf->ringcap - at;
		if (n > len - got)
			n = len - got;
		if (n > lf->hi - (off + got))
			n = (size_t)(lf->hi - (off + got));
		memcpy(buf + got, lf->ring + at, n);
		got += n;
	}
	return (long)got;
}

static long io_read(void *ctx, uint64_t off, uint8_t *buf, size_t len,
		    struct tftp_err *err)
{
	struct client *c = ctx;
	if (c->lf.regular)
		return read_regular(&c->lf, off, buf, len, err);
	return read_stream(c, off, buf, len, err);
}

/* ---- network ------------------------------------------------------------ */

/* Every address of the host, in getaddrinfo's order of preference: a
 * name like "localhost" may have ::1 first while the server listens on
 * 127.0.0.1 only, so the others are tried when one does not answer. */
/* A lookup in flight: on the heap, because a lookup that cannot be
 * cancelled still writes into it after a signal made us give up. */
struct lookup {
	struct gaicb req;
	struct addrinfo hints;
	char port[8];
};

/* Resolve the server, asynchronously so that a signal ends the wait for a
 * slow DNS server within 100 ms (plain getaddrinfo retries through
 * signals). */
static struct addrinfo *resolve(const struct tftp_client_args *a)
{
	struct lookup *l = calloc(1, sizeof(*l));
	if (!l) {
		errf("out of memory");
		return NULL;
	}
	l->hints.ai_family = a->family;
	l->hints.ai_socktype = SOCK_DGRAM;
	snprintf(l->port, sizeof(l->port), "%u", (unsigned)a->port);
	l->req.ar_name = a->host;
	l->req.ar_service = l->port;
	l->req.ar_request = &l->hints;
	struct gaicb *list[1] = {&l->req};
	int rc = getaddrinfo_a(GAI_NOWAIT, list, 1, NULL);
	if (rc == 0)
		rc = gai_error(&l->req);
	while (rc == EAI_INPROGRESS && !*a->stop) {
		struct timespec tick = {.tv_sec = 0, .tv_nsec = 100000000};
		(void)gai_suspend((const struct gaicb *const *)list, 1, &tick);
		rc = gai_error(&l->req);
	}
	if (rc == EAI_INPROGRESS) {
		/* Interrupted: a lookup already running is left to finish on
		 * its own (the process is about to exit) with l for it. */
		if (gai_cancel(&l->req) == EAI_CANCELED)
			free(l);
		return NULL;
	}
	struct addrinfo *res = l->req.ar_result;
	free(l);
	if (rc != 0) {
		errf("%s: cannot resolve the host: %s", a->host, gai_strerror(rc));
		return NULL;
	}
	return res;
}

/* Ask for big socket buffers; FORCE works for root past the sysctl cap. */
static int bind_local(int fd, const struct tftp_client_args *a, int family)
{
	struct sockaddr_storage local;
	memset(&local, 0, sizeof(local));
	local.ss_family = (sa_family_t)family;
	socklen_t len = tftp_sockaddr_len((struct sockaddr *)&local);
	if (!a->lport_lo)
		return 0; /* the kernel picks a port on the first send */
	for (uint32_t p = a->lport_lo; p <= a->lport_hi; p++) {
		tftp_sockaddr_set_port((struct sockaddr *)&local, (uint16_t)p);
		if (bind(fd, (struct sockaddr *)&local, len) == 0)
			return 0;
		if (errno != EADDRINUSE && errno != EACCES)
			return -1;
	}
	errno = EADDRINUSE;
	return -1;
}

static int open_socket(struct client *c)
{
	int family = c->server.ss_family;
	c->fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		errf("socket: %s", strerror(errno));
		return -1;
	}
	tftp_sock_buffer(c->fd, 1, SOCKBUF_BYTES);
	tftp_sock_buffer(c->fd, 0, SOCKBUF_BYTES);
	/* ICMP errors (port unreachable) on this unconnected socket: a
	 * request nobody listens for fails at once instead of timing out. */
	int on = 1;
	if (family == AF_INET6)
		(void)setsockopt(c->fd, IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof(on));
	else
		(void)setsockopt(c->fd, IPPROTO_IP, IP_RECVERR, &on, sizeof(on));
	if (bind_local(c->fd, c->a, family) < 0) {
		errf("local port %u:%u: %s", (unsigned)c->a->lport_lo,
		     (unsigned)c->a->lport_hi, strerror(errno));
		return -1;
	}
	return 0;
}

/* Receive slots: one datagram each, as large as the largest DATA asked
 * for (a bigger datagram is truncated and dropped). A get with a window
 * takes a window's worth per system call. */
static int alloc_slots(struct client *c)
{
	const struct tftp_opts *r = &c->a->req;
	uint32_t bs = (r->present & TFTP_OPT_BLKSIZE) ? r->blksize : 512u;
	uint32_t win = (r->present & TFTP_OPT_WINDOWSIZE) ? r->windowsize : 1u;
	c->slot = (size_t)(bs < 1024u ? 1024u : bs) + TFTP_HDR_LEN;
	c->nslots = c->a->is_put ? 8u : (win < RECV_BATCH_MAX ? win : RECV_BATCH_MAX);
	if (c->nslots < 2u)
		c->nslots = 2u;
	c->rbuf = malloc(c->slot * c->nslots);
	c->msgs = calloc(c->nslots, sizeof(*c->msgs));
	c->iov = calloc(c->nslots, sizeof(*c->iov));
	c->from = calloc(c->nslots, sizeof(*c->from));
	if (!c->rbuf || !c->msgs || !c->iov || !c->from) {
		errf("out of memory");
		return -1;
	}
	for (unsigned i = 0; i < c->nslots; i++) {
		c->iov[i].iov_base = c->rbuf + (size_t)i * c->slot;
		c->iov[i].iov_len = c->slot;
		c->msgs[i].msg_hdr.msg_iov = &c->iov[i];
		c->msgs[i].msg_hdr.msg_iovlen = 1;
	}
	return 0;
}

/* A datagram from neither the server (before the lock) nor its TID:
 * RFC 1350 says answer ERROR 5 and carry on. Rate-limited, and never for
 * runts, so the port is no reflector. */
static void stranger(struct client *c, const struct sockaddr *from,
		     const uint8_t *pkt, size_t len, uint64_t now)
{
	/* Never answer an ERROR: two hosts doing so ping-pong for ever. */
	int is_error = tftp_packet_opcode(pkt, len) == TFTP_OP_ERROR;
	if (c->a->trace) {
		char who[80];
		fprintf(stderr, "tftp: < %zu bytes from stranger %s%s\n",
			len, tftp_sockaddr_str(from, who, sizeof(who)),
			is_error ? " (an ERROR: not answered)" : ": ERROR 5");
	}
	(void)tftp_answer_stranger(c->fd, &c->strangers, from,
				   tftp_sockaddr_len(from), pkt, len, now);
}

/* What may answer a request: an OACK, an ERROR, DATA 1 (get) or ACK 0
 * (put). Anything else from the server's address (garbage from another of
 * its ports) must not become the transfer's TID. */
static int first_reply(const struct client *c, const uint8_t *pkt,
		       size_t len)
{
	uint16_t op = tftp_packet_opcode(pkt, len);
	if (op == TFTP_OP_OACK || (op == TFTP_OP_ERROR && len >= TFTP_HDR_LEN))
		return 1;
	if (len < TFTP_HDR_LEN)
		return 0;
	uint16_t block = tftp_get16(pkt + 2);
	if (c->a->is_put)
		return op == TFTP_OP_ACK && block == 0 && len == TFTP_HDR_LEN;
	return op == TFTP_OP_DATA && block == 1;
}

/* The first valid reply fixes the server's TID: same address as the
 * server, any port. Afterwards only that address and port are the peer. */
static int from_peer(struct client *c, const struct sockaddr *from,
		     const uint8_t *pkt, size_t len)
{
	if (c->locked)
		return tftp_sockaddr_equal(from, (struct sockaddr *)&c->peer);
	if (!tftp_sockaddr_same_host(from, (struct sockaddr *)&c->server) ||
	    !first_reply(c, pkt, len))
		return 0;
	memcpy(&c->peer, from, tftp_sockaddr_len(from));
	c->locked = 1;
	return 1;
}

static void report_options(struct client *c)
{
	const struct tftp_opts *ag = tftp_xfer_agreed(&c->x);
	char buf[200];
	int n = 0;
	c->options_reported = 1;
	if (!verbose(c) || !c->a->req.present)
		return;
	if (!ag->present) {
		fprintf(stderr, "tftp: server accepted no options: blksize 512, "
				"window 1\n");
		return;
	}
	buf[0] = '\0';
	if (ag->present & TFTP_OPT_BLKSIZE)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, " blksize %u",
			      (unsigned)ag->blksize);
	if (ag->present & TFTP_OPT_TIMEOUT)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, " timeout %u",
			      (unsigned)ag->timeout);
	if (ag->present & TFTP_OPT_TSIZE)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n,
			      " tsize %" PRIu64, ag->tsize);
	if (ag->present & TFTP_OPT_WINDOWSIZE)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, " windowsize %u",
			      (unsigned)ag->windowsize);
	fprintf(stderr, "tftp: options accepted:%s\n", buf);
}

/* The server told the size (tsize): reserve the disk space now, so a
 * download that cannot fit fails before its data is sent rather than at
 * the end. Blocks only; the file's size grows as data arrives. */
static void reserve_space(struct client *c, uint64_t size)
{
	struct local_file *lf = &c->lf;
	if ((!lf->tmp_path && !lf->unnamed && lf->target < 0) || size == 0 ||
	    size > (uint64_t)INT64_MAX)
		return;
	if (fallocate(lf->fd, FALLOC_FL_KEEP_SIZE, 0, (off_t)size) == 0) {
		lf->reserved = size;
		return;
	}
	if (errno != ENOSPC && errno != EDQUOT && errno != EFBIG)
		return; /* not supported here: nothing reserved, no harm */
	lf->failed = 1;
	lf->err = errno;
	tftp_xfer_abort(&c->x, TFTP_ERR_NOSPACE, NULL, tftp_now_ms());
}

static void after_input(struct client *c)
{
	if (!c->options_reported && !tftp_xfer_awaiting_reply(&c->x) &&
	    !tftp_xfer_finished(&c->x)) {
		uint64_t size;
		report_options(c);
		if (!c->a->is_put && tftp_xfer_tsize(&c->x, &size) == 0) {
			tftp_progress_set_total(&c->prog, size);
			reserve_space(c, size);
		}
	}
}

static void handle_datagram(struct client *c, unsigned i, uint64_t now)
{
	const struct sockaddr *from = (const struct sockaddr *)&c->from[i];
	uint8_t *pkt = c->iov[i].iov_base;
	size_t len = c->msgs[i].msg_len;
	int trunc = (c->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
	if (trunc) {
		/* Larger than the slot: only an ERROR (its message may be of
		 * any length) is worth reading; it ends at the slot, cut. */
		if (tftp_packet_opcode(pkt, len) != TFTP_OP_ERROR)
			return;
		len = c->slot;
		pkt[len - 1] = 0;
	}
	if (!from_peer(c, from, pkt, len)) {
		if (c->locked || tftp_sockaddr_same_host(from,
					(struct sockaddr *)&c->server) == 0)
			stranger(c, from, pkt, len, now);
		return;
	}
	if (c->a->trace)
		trace_packet(c, "<", pkt, len);
	tftp_xfer_input(&c->x, pkt, len, now);
	after_input(c);
}

/* Read the queued ICMP errors. One about our request to the server,
 * before any reply, means nobody is listening there; later ones are left
 * to the timer (an ICMP message is easier to forge than a reply). */
static void drain_errors(struct client *c)
{
	for (int i = 0; i < 16; i++) {
		struct sockaddr_storage to;
		union {
			struct cmsghdr align;
			char buf[512];
		} cbuf;
		uint8_t data[64];
		struct iovec iov = {.iov_base = data, .iov_len = sizeof(data)};
		struct msghdr m = {
			.msg_name = &to, .msg_namelen = sizeof(to),
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = cbuf.buf, .msg_controllen = sizeof(cbuf.buf),
		};
		if (recvmsg(c->fd, &m, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
			return;
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m); cm;
		     cm = CMSG_NXTHDR(&m, cm)) {
			if (!((cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_RECVERR) ||
			      (cm->cmsg_level == IPPROTO_IPV6 &&
			       cm->cmsg_type == IPV6_RECVERR)))
				continue;
			struct sock_extended_err ee;
			memcpy(&ee, CMSG_DATA(cm), sizeof(ee));
			if (!c->locked && m.msg_namelen &&
			    tftp_sockaddr_equal((struct sockaddr *)&to,
						(struct sockaddr *)&c->server) &&
			    unreachable((int)ee.ee_errno))
				c->refused = (int)ee.ee_errno;
		}
	}
}

/* Take what is queued (up to a batch); returns the count, 0 if nothing
 * was waiting. */
static int receive_batch(struct client *c, uint64_t *now)
{
	for (unsigned i = 0; i < c->nslots; i++) {
		c->msgs[i].msg_hdr.msg_name = &c->from[i];
		c->msgs[i].msg_hdr.msg_namelen = sizeof(c->from[i]);
		c->msgs[i].msg_hdr.msg_flags = 0;
	}
	int n = recvmmsg(c->fd, c->msgs, c->nslots, MSG_DONTWAIT, NULL);
	if (n < 0 && errno != EAGAIN && errno != EINTR)
		drain_errors(c); /* an ICMP error was reported */
	if (n <= 0)
		return 0;
	*now = tftp_now_ms();
	for (int i = 0; i < n && !tftp_xfer_finished(&c->x); i++)
		handle_datagram(c, (unsigned)i, *now);
	return n;
}

/* Before sleeping, keep trying to receive this long: the answer to what
 * we just sent usually comes sooner than a sleeping CPU can be woken for
 * it (on a virtual machine that alone can be 100 us, many times the round
 * trip), and lockstep transfers pay it for every block. */
#define SPIN_NS 200000

/* Take what is queued; if nothing is, try again for up to SPIN_NS (not
 * past the engine's deadline). Spinning on the receive itself rather
 * than on poll() saves a system call per datagram. Returns the count. */
static int spin_receive(struct client *c, uint64_t *now)
{
	/* tftp_now_ms() reads the same clock in milliseconds. */
	uint64_t end = tftp_now_ns() + SPIN_NS;
	uint64_t deadline = tftp_xfer_deadline(&c->x);
	if (deadline < end / 1000000u)
		end = deadline * 1000000u;
	for (;;) {
		int got = receive_batch(c, now);
		if (got || c->refused || *c->a->stop)
			return got;
		if (tftp_now_ns() >= end)
			return 0;
		sched_yield(); /* the peer may be waiting for this CPU */
	}
}

/* Sleep until a datagram, the engine's deadline, or the next progress
 * redraw. A signal ends the wait early (EINTR). */
static void wait_input(struct client *c, uint64_t now)
{
	uint64_t deadline = tftp_xfer_deadline(&c->x);
	uint64_t wait = deadline > now ? deadline - now : 0;
	if (c->prog.enabled && wait > 250u)
		wait = 250u;
	if (wait > 60000u)
		wait = 60000u;
	struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
	if (poll(&pfd, 1, (int)wait) > 0 && (pfd.revents & POLLERR))
		drain_errors(c);
}

/* Drive the engine until it is done or a signal arrives. */
static void run_engine(struct client *c)
{
	struct tftp_xfer *x = &c->x;
	uint64_t now = tftp_now_ms();
	c->start_us = tftp_now_us();
	tftp_xfer_start(x, now);
	while (!tftp_xfer_finished(x)) {
		if (*c->a->stop) {
			/* Before the server has answered there is no TID to
			 * tell; afterwards the peer learns why we stop. */
			if (c->locked)
				tftp_xfer_abort(x, TFTP_ERR_UNDEF,
						"Transfer interrupted", tftp_now_ms());
			break;
		}
		if (c->refused)
			break;
		int got = spin_receive(c, &now);
		if (c->refused)
			break;
		if (got == 0) {
			now = tftp_now_ms();
			if (now >= tftp_xfer_deadline(x))
				tftp_xfer_tick(x, now);
			else
				wait_input(c, now);
			now = tftp_now_ms();
		} else if (now >= tftp_xfer_deadline(x)) {
			tftp_xfer_tick(x, now);
		}
		tftp_progress_update(&c->prog, tftp_xfer_stats(x)->bytes, now);
	}
}

/* ---- local files --------------------------------------------------------- */

static char *path_join(const char *dir, const char *name)
{
	size_t dl = strlen(dir), nl = strlen(name);
	char *p = malloc(dl + nl + 2u);
	if (!p)
		return NULL;
	memcpy(p, dir, dl);
	p[dl] = '/';
	memcpy(p + dl + 1, name, nl + 1u);
	return p;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* The directory part of path ("." if none). */
static char *dir_name(const char *path)
{
	const char *s = strrchr(path, '/');
	if (!s)
		return strdup(".");
	if (s == path)
		return strdup("/");
	return strndup(path, (size_t)(s - path));
}

/* LOCAL is a symbolic link to a file: replace the file it points to, as
 * cp would, rather than the link itself. A dangling link is replaced. */
static int follow_link(struct local_file *lf)
{
	struct stat st;
	if (lstat(lf->final_path, &st) < 0 || !S_ISLNK(st.st_mode))
		return 0;
	char *real = realpath(lf->final_path, NULL);
	if (!real)
		return errno == ENOMEM ? -1 : 0;
	free(lf->final_path);
	lf->final_path = real;
	return 0;
}

/* Where a get goes: LOCAL, or REMOTE's name inside LOCAL if that is a
 * directory, through a symbolic link. */
static int target_path(struct client *c)
{
	struct local_file *lf = &c->lf;
	struct stat st;
	lf->final_path = strdup(lf->path);
	if (!lf->final_path)
		return -1;
	if (stat(lf->final_path, &st) == 0 && S_ISDIR(st.st_mode)) {
		char *p = path_join(lf->final_path, base_name(c->a->remote));
		if (!p)
			return -1;
		free(lf->final_path);
		lf->final_path = p;
	}
	return follow_link(lf);
}

/* The temporary file in the target's directory (mode 0600 while it is
 * incomplete): unnamed (O_TMPFILE, linked at commit) where the file system
 * has it and /proc is there to link it, so a killed client leaves
 * nothing; else a hidden name. */
static int create_temp(struct local_file *lf)
{
	lf->dir = dir_name(lf->final_path);
	if (!lf->dir)
		return -1;
	if (access("/proc/self/fd", X_OK) == 0) {
		lf->fd = open(lf->dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		if (lf->fd >= 0) {
			lf->unnamed = 1;
			return 0;
		}
	}
	lf->tmp_path = path_join(lf->dir, ".tftp-XXXXXX");
	if (!lf->tmp_path)
		return -1;
	lf->fd = mkostemp(lf->tmp_path, O_CLOEXEC);
	if (lf->fd < 0) {
		errf("%s: cannot create a file in %s: %s", lf->final_path,
		     lf->dir, strerror(errno));
		free(lf->tmp_path);
		lf->tmp_path = NULL;
	}
	return 0;
}

/* A file we may write in a directory we may not: the download goes to a
 * spool in $TMPDIR (or /tmp) and is copied into the file only once it is
 * complete, so a failed one never touches it (and hard links stay). */
static int create_spool(struct local_file *lf)
{
	lf->target = open(lf->final_path, O_WRONLY | O_CLOEXEC);
	if (lf->target < 0) {
		errf("%s: %s", lf->final_path, strerror(errno));
		return -1;
	}
	const char *tmp = getenv("TMPDIR");
	if (!tmp || tmp[0] != '/')
		tmp = "/tmp";
	lf->fd = open(tmp, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (lf->fd < 0) {
		char *p = path_join(tmp, ".tftp-spool-XXXXXX");
		lf->fd = p ? mkostemp(p, O_CLOEXEC) : -1;
		if (lf->fd >= 0)
			unlink(p);
		free(p);
	}
	if (lf->fd < 0) {
		errf("%s: cannot create a spool file in %s: %s", lf->final_path,
		     tmp, strerror(errno));
		return -1;
	}
	return 0;
}

/* Open the destination of a get. A regular (or new) file is written to a
 * hidden temporary file in the same directory, renamed over LOCAL on
 * success; a device or FIFO (e.g. /dev/null) is written in place, as
 * renaming over it would replace the device node. */
static int open_get_target(struct client *c)
{
	struct local_file *lf = &c->lf;
	struct stat st;
	if (strcmp(lf->path, "-") == 0) {
		lf->fd = STDOUT_FILENO;
		return 0;
	}
	if (target_path(c) < 0)
		goto nomem;
	if (stat(lf->final_path, &st) < 0) {
		mode_t um = umask(0);
		umask(um);
		lf->mode = 0666 & ~um;
	} else if (S_ISDIR(st.st_mode)) {
		errf("%s: Is a directory", lf->final_path);
		return -1;
	} else if (!S_ISREG(st.st_mode)) {
		lf->fd = open(lf->final_path, O_WRONLY | O_CLOEXEC);
		if (lf->fd < 0)
			errf("%s: %s", lf->final_path, strerror(errno));
		return lf->fd < 0 ? -1 : 0;
	} else if (access(lf->final_path, W_OK) < 0) {
		errf("%s: %s", lf->final_path, strerror(errno));
		return -1;
	} else {
		lf->mode = st.st_mode & 07777;
		lf->have_old = 1;
		lf->uid = st.st_uid;
		lf->gid = st.st_gid;
		char *dir = dir_name(lf->final_path);
		int ro = dir && access(dir, W_OK) < 0 && errno == EACCES;
		free(dir);
		if (ro)
			return create_spool(lf);
	}
	if (create_temp(lf) < 0)
		goto nomem;
	return lf->fd < 0 ? -1 : 0;
nomem:
	errf("out of memory");
	return -1;
}

static int open_put_source(struct client *c)
{
	struct local_file *lf = &c->lf;
	struct stat st;
	if (strcmp(lf->path, "-") == 0) {
		lf->fd = STDIN_FILENO;
	} else {
		lf->fd = open(lf->path, O_RDONLY | O_CLOEXEC);
		if (lf->fd < 0) {
			errf("%s: %s", lf->path, strerror(errno));
			return -1;
		}
	}
	if (fstat(lf->fd, &st) < 0) {
		errf("%s: %s", lf->path, strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		errf("%s: Is a directory", lf->path);
		return -1;
	}
	/* stdin redirected from a file is read by offset like any file. */
	lf->regular = S_ISREG(st.st_mode) &&
		      lseek(lf->fd, 0, SEEK_CUR) == 0;
	lf->size = (uint64_t)st.st_size;
	return 0;
}

/* Give back what fallocate reserved past the data (a server may announce
 * a larger tsize than it sends). */
static void trim_reserved(struct local_file *lf, uint64_t size)
{
	if (lf->reserved > size)
		(void)fallocate(lf->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				(off_t)size, (off_t)(lf->reserved - size));
	lf->reserved = 0;
}


/* Link the unnamed temporary file: straight to its name if that is free,
 * else to a hidden name renamed over the old file (a link cannot replace). */
static int link_unnamed(struct local_file *lf)
{
	char proc[48];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", lf->fd);
	if (linkat(AT_FDCWD, proc, AT_FDCWD, lf->final_path,
		   AT_SYMLINK_FOLLOW) == 0)
		return 0;
	if (errno != EEXIST)
		return -1;
	for (int i = 0; i < 16; i++) {
		char *tmp = path_join(lf->dir, ".tftp-XXXXXX");
		if (!tmp)
			return -1;
		int fd = mkstemp(tmp); /* only to pick a free name */
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		int rc = linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW);
		if (rc == 0) {
			rc = rename(tmp, lf->final_path);
			if (rc < 0)
				unlink(tmp);
			free(tmp);
			return rc;
		}
		free(tmp);
		if (errno != EEXIST)
			return -1;
	}
	return -1;
}

/* Get succeeded: give the temporary file its mode (and the old file's
 * owner, where permitted) and its name; or copy a spool into place. */
static int commit_get(struct client *c)
{
	struct local_file *lf = &c->lf;
	int rc = 0;
	trim_reserved(lf, tftp_xfer_stats(&c->x)->bytes);
	if (lf->target >= 0) {
		rc = tftp_copy_into(lf->fd, lf->target);
	} else if (lf->tmp_path || lf->unnamed) {
		if (lf->have_old && fchown(lf->fd, lf->uid, lf->gid) < 0)
			errno = 0; /* not root: the file becomes ours */
		rc = fchmod(lf->fd, lf->mode);
		if (rc == 0)
			rc = lf->unnamed ? link_unnamed(lf)
					 : rename(lf->tmp_path, lf->final_path);
	}
	if (rc < 0) {
		errf("%s: %s", lf->final_path, strerror(errno));
		return -1;
	}
	free(lf->tmp_path);
	lf->tmp_path = NULL;
	return 0;
}

static void close_local(struct client *c)
{
	struct local_file *lf = &c->lf;
	if (lf->fd > STDERR_FILENO)
		close(lf->fd);
	lf->fd = -1;
	if (lf->target >= 0)
		close(lf->target);
	lf->target = -1;
	/* Anything not committed leaves nothing behind (an unnamed file
	 * vanishes with its descriptor). */
	if (lf->tmp_path)
		unlink(lf->tmp_path);
	free(lf->tmp_path);
	free(lf->dir);
	free(lf->final_path);
	free(lf->ring);
	free(lf->wbuf);
}

/* ---- one attempt, the fallback, the outcome ------------------------------ */

static int setup_xfer(struct client *c, const struct tftp_opts *req)
{
	const struct tftp_client_args *a = c->a;
	struct tftp_xfer_config xc;
	memset(&xc, 0, sizeof(xc));
	xc.role = a->is_put ? TFTP_ROLE_SENDER : TFTP_ROLE_RECEIVER;
	xc.is_client = 1;
	xc.mode = a->mode;
	xc.filename = a->remote;
	xc.opts = *req;
	if (a->is_put && (req->present & TFTP_OPT_TSIZE)) {
		if (c->lf.regular)
			xc.opts.tsize = c->lf.size;
		else /* the size of a pipe is not known */
			xc.opts.present &= ~(unsigned)TFTP_OPT_TSIZE;
	}
	xc.timeout_ms = a->timeout_ms;
	/* A floor for the adaptive timeout well above a loopback round trip:
	 * a spurious timeout repeats a whole window (up to 64 x 64 KiB), and
	 * a peer briefly off the CPU or blocked on its disk must not cause
	 * one. TCP's floor is 200 ms; real losses are rare enough. */
	xc.rto_min_ms = RTO_MIN_MS;
	xc.max_retries = a->retries;
	/* No dally: like other clients, exit after the final ACK. If it is
	 * lost the server repeats the last block into a closed port; the
	 * file is complete either way. */
	xc.dally_ms = 0;
	xc.log = &c->log;
	struct tftp_xfer_io io = {
		.ctx = c, .send = io_send, .read = io_read, .write = io_write,
		.flush = io_flush,
	};
	c->lf.wlen = 0;
	if (!a->is_put && !c->lf.wbuf && !(c->lf.wbuf = malloc(WBUF_BYTES))) {
		errf("cannot set up the transfer (out of memory?)");
		return -1;
	}
	if (tftp_xfer_init(&c->x, &xc, &io) < 0) {
		errf("cannot set up the transfer (out of memory?)");
		return -1;
	}
	memcpy(&c->peer, &c->server, sizeof(c->server));
	c->locked = 0;
	c->refused = 0;
	c->options_reported = 0;
	return 0;
}

/* An ERROR 8, 0 or 4 in answer to a request with options: the server
 * may want plain RFC 1350 (ERROR 8 says so; others answer options they do
 * not know with an undefined error or "illegal operation"), so the
 * request is tried once more without them. By the code, never the text. */
static int options_refused(const struct tftp_xfer *x)
{
	if (!tftp_xfer_refused_request(x) || !tftp_xfer_requested(x)->present)
		return 0;
	uint16_t code = tftp_xfer_error(x)->code;
	return code == TFTP_ERR_OPTNEG || code == TFTP_ERR_UNDEF ||
	       code == TFTP_ERR_BADOP;
}

static int outcome(struct client *c)
{
	const struct tftp_client_args *a = c->a;
	const struct tftp_xfer *x = &c->x;
	const struct tftp_err *e = tftp_xfer_error(x);
	enum tftp_xfer_end end = tftp_xfer_end_reason(x);
	if (*a->stop) {
		errf("interrupted");
		return TFTP_EXIT_SIGNAL + (int)*a->stop;
	}
	if (end == TFTP_END_DONE)
		return TFTP_EXIT_OK;
	if (c->lf.failed) {
		errf("%s: %s", strcmp(c->lf.path, "-") ? c->lf.path
			       : a->is_put ? "stdin" : "stdout",
		     c->lf.err == ESPIPE ? "input cannot be read again"
					 : strerror(c->lf.err));
		return TFTP_EXIT_LOCAL;
	}
	char shown[400];
	const char *msg = e->msg[0] ? e->msg : tftp_errcode_message(e->code);
	tftp_log_escape(msg, strlen(msg), shown, sizeof(shown));
	if (end == TFTP_END_PEER_ERROR) {
		errf("%s: %s: %s (TFTP error %u)", a->host, a->remote, shown,
		     (unsigned)e->code);
		return TFTP_EXIT_PEER;
	}
	if (c->refused) {
		errf("%s: %s: %s", a->host, a->remote, strerror(c->refused));
		return TFTP_EXIT_TIMEOUT;
	}
	if (end == TFTP_END_TIMED_OUT) {
		errf("%s: %s: %s", a->host, a->remote,
		     c->locked ? "timed out" : "no answer from the server");
		return TFTP_EXIT_TIMEOUT;
	}
	/* We refused the server's reply (e.g. an invalid OACK). */
	errf("%s: %s: %s (sent TFTP error %u)", a->host, a->remote, shown,
	     (unsigned)e->code);
	return TFTP_EXIT_PEER;
}

/* The time in us, ms or s: a transfer of a few hundred microseconds on
 * loopback is not "0.000 s". */
static void summary(struct client *c)
{
	const struct tftp_xfer *x = &c->x;
	const struct tftp_xfer_stats *st = tftp_xfer_stats(x);
	uint64_t us = tftp_now_us() - c->start_us;
	char dur[32], rate[32];
	tftp_human_duration(us, dur, sizeof(dur));
	tftp_human_rate(st->bytes, us, rate, sizeof(rate));
	fprintf(stderr,
		"tftp: %s %" PRIu64 " bytes in %s (%s), blksize %u, window %u, "
		"%" PRIu64 " packets sent, %" PRIu64 " retransmits\n",
		c->a->is_put ? "sent" : "received", st->bytes, dur, rate,
		(unsigned)tftp_xfer_blksize(x), (unsigned)tftp_xfer_window(x),
		st->packets_sent,
		st->retransmits);
}

/* What --json reports of the transfer that just ended. */
static void keep_summary(struct client *c)
{
	const struct tftp_xfer *x = &c->x;
	const struct tftp_xfer_stats *st = tftp_xfer_stats(x);
	struct tftp_summary *s = &c->sum;
	s->ran = 1;
	tftp_sockaddr_str((struct sockaddr *)&c->server, s->server,
			  sizeof(s->server));
	s->bytes = st->bytes;
	s->packets_sent = st->packets_sent;
	s->retransmits = st->retransmits;
	s->us = tftp_now_us() - c->start_us;
	s->blksize = tftp_xfer_blksize(x);
	s->window = tftp_xfer_window(x);
	s->peer_error = tftp_xfer_end_reason(x) == TFTP_END_PEER_ERROR;
	s->error_code = tftp_xfer_error(x)->code;
	snprintf(s->error, sizeof(s->error), "%s",
		 tftp_xfer_end_reason(x) == TFTP_END_TIMED_OUT
			 ? "timed out"
			 : tftp_xfer_error(x)->msg);
}

/* An octet get that ended short of (or beyond) the size the server
 * announced: the file changed under the transfer, or the server lies;
 * either way the bytes are not the file, and none is kept. */
static int size_differs(const struct client *c)
{
	uint64_t size;
	if (c->a->mode != TFTP_MODE_OCTET || tftp_xfer_tsize(&c->x, &size) < 0 ||
	    size == tftp_xfer_stats(&c->x)->bytes)
		return 0;
	errf("%s: %s: the server announced %" PRIu64 " bytes (tsize) but "
	     "sent %" PRIu64 "; nothing kept", c->a->host, c->a->remote, size,
	     tftp_xfer_stats(&c->x)->bytes);
	return 1;
}

/* transfer(): this address did not answer; the next one may. */
#define TRY_NEXT (-1)

static int unanswered(const struct client *c)
{
	return !*c->a->stop && !c->locked && (c->refused || tftp_xfer_timed_out(&c->x));
}

static int transfer(struct client *c, int more)
{
	const struct tftp_client_args *a = c->a;
	if (setup_xfer(c, &a->req) < 0)
		return TFTP_EXIT_LOCAL;
	/* The engine counts bytes on the wire: only octet matches the file. */
	if (c->a->is_put && c->lf.regular && a->mode == TFTP_MODE_OCTET)
		tftp_progress_set_total(&c->prog, c->lf.size);
	run_engine(c);
	if (!*a->stop && options_refused(&c->x)) {
		if (verbose(c))
			fprintf(stderr, "tftp: server refused the options (%s, "
					"TFTP error %u); retrying without\n",
				tftp_xfer_error(&c->x)->msg,
				(unsigned)tftp_xfer_error(&c->x)->code);
		static const struct tftp_opts none;
		tftp_xfer_free(&c->x);
		if (setup_xfer(c, &none) < 0)
			return TFTP_EXIT_LOCAL;
		run_engine(c);
	}
	if (more && unanswered(c)) {
		if (verbose(c)) {
			char who[80];
			fprintf(stderr, "tftp: %s: %s; trying the next address\n",
				tftp_sockaddr_str((struct sockaddr *)&c->server, who,
						  sizeof(who)),
				c->refused ? strerror(c->refused) : "no answer");
		}
		tftp_xfer_free(&c->x);
		return TRY_NEXT;
	}
	uint64_t end = tftp_now_ms();
	/* The bar goes first, so an error message gets a line of its own. */
	tftp_progress_finish(&c->prog, tftp_xfer_stats(&c->x)->bytes, end,
			     tftp_xfer_end_reason(&c->x) == TFTP_END_DONE &&
				     !*a->stop);
	int rc = outcome(c);
	if (rc == TFTP_EXIT_OK && !a->is_put && size_differs(c))
		rc = TFTP_EXIT_PEER;
	if (rc == TFTP_EXIT_OK && !a->is_put && commit_get(c) < 0)
		rc = TFTP_EXIT_LOCAL;
	if (rc == TFTP_EXIT_OK && verbose(c))
		summary(c);
	keep_summary(c);
	tftp_xfer_free(&c->x);
	return rc;
}

int tftp_client_run(const struct tftp_client_args *a)
{
	struct client c;
	memset(&c, 0, sizeof(c));
	c.a = a;
	c.fd = -1;
	c.lf.fd = -1;
	c.lf.target = -1;
	c.lf.stop = a->stop;
	c.lf.path = a->local;
	c.log.level = a->trace ? TFTP_LOG_TRACE : TFTP_LOG_WARN;
	c.log.prefix = "tftp";
	c.log.sink = tftp_log_stderr;
	tftp_progress_init(&c.prog, a->progress, STDERR_FILENO, a->remote,
			   tftp_now_ms());
	struct addrinfo *list = NULL;
	int rc = TFTP_EXIT_LOCAL;
	if ((a->is_put ? open_put_source(&c) : open_get_target(&c)) < 0)
		goto out;
	if (alloc_slots(&c) < 0)
		goto out;
	rc = TFTP_EXIT_TIMEOUT;
	list = resolve(a);
	if (!list && *a->stop) {
		errf("interrupted");
		rc = TFTP_EXIT_SIGNAL + (int)*a->stop;
	}
	for (struct addrinfo *ai = list; ai; ai = ai->ai_next) {
		memcpy(&c.server, ai->ai_addr, ai->ai_addrlen);
		if (c.fd >= 0)
			close(c.fd);
		if (open_socket(&c) < 0) {
			rc = TFTP_EXIT_TIMEOUT;
			continue;
		}
		if (verbose(&c)) {
			char who[80];
			fprintf(stderr, "tftp: %s %s %s %s\n",
				a->is_put ? "put" : "get",
				tftp_sockaddr_str((struct sockaddr *)&c.server,
						  who, sizeof(who)),
				a->remote, tftp_mode_name(a->mode));
		}
		rc = transfer(&c, ai->ai_next != NULL);
		if (rc != TRY_NEXT)
			break;
	}
	if (list)
		freeaddrinfo(list);
out:
	if (a->json)
		tftp_json_summary(a, &c.sum, rc);
	if (c.fd >= 0)
		close(c.fd);
	close_local(&c);
	free(c.rbuf);
	free(c.msgs);
	free(c.iov);
	free(c.from);
	return rc;
}
