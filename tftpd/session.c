/* One transfer driven by the engine on the libevent loop. See session.h. */
#include "session.h"

#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "errmap.h"
#include "fileio.h"
#include "net.h"
#include "sock.h"
#include "record.h"

/* DATA packets up to this size are batched; a larger one is sent at once
 * (batching it would cost a copy and save only a system call). */
#define BATCH_SEG_MAX 16384u
/* RRQ: read-ahead size, and the largest block served from it. */
#define RA_BYTES 8192u
#define RA_BLOCK_MAX 2048u


static void src_woke(void *arg);

/* ---- engine callbacks -------------------------------------------------- */

static int raw_send(struct session *s, const uint8_t *pkt, size_t len)
{
	return udp_send(s->fd, (const struct sockaddr *)&s->peer, s->peerlen,
			&s->from, pkt, len);
}

static void batch_add_for(struct session *s, const uint8_t *pkt, size_t len)
{
	struct batch_dest to = {
		.fd = s->fd,
		.peer = (const struct sockaddr *)&s->peer,
		.peerlen = s->peerlen,
		.from = &s->from,
		.no_gso = &s->no_gso,
	};
	batch_add(s->env->batch, &to, pkt, len);
}

/* ---- engine callbacks -------------------------------------------------- */

/* The engine's flush hook: the last byte is written and the final ACK is
 * about to leave, so give the upload its name now; the client's success
 * then always means the file is in place, and a failure goes to the
 * client as the ERROR in place of that ACK. The descriptors go at once: a
 * dallying session needs only its socket. */
static int io_flush(void *ctx, struct tftp_err *err)
{
	struct session *s = ctx;
	int r = src_commit(s->env->src, &s->up, err);
	if (r == SRC_PENDING) {
		s->committing = 1; /* the final ACK waits: on_wake */
		return TFTP_IO_AGAIN;
	}
	if (r < 0)
		return -1;
	src_abort(s->env->src, &s->up); /* committed: only releases */
	return 0;
}

static int io_send(void *ctx, const uint8_t *pkt, size_t len)
{
	struct session *s = ctx;
	if (len <= BATCH_SEG_MAX + TFTP_HDR_LEN && len >= TFTP_HDR_LEN &&
	    tftp_get16(pkt) == TFTP_OP_DATA) {
		batch_add_for(s, pkt, len);
		return 0;
	}
	batch_flush(s->env->batch); /* everything leaves in order */
	return raw_send(s, pkt, len);
}

/* The engine wants a short count only at end of file. Reads come from
 * the page cache with pread, so a regular file never makes the loop wait.
 * Small blocks are served from a read-ahead of RA_BYTES: in lockstep at
 * 512 bytes a pread per block cost as much as the receive or the send. */
static long io_read(void *ctx, uint64_t off, uint8_t *buf, size_t len,
		    struct tftp_err *err)
{
	struct session *s = ctx;
	if (!s->ra || len > RA_BYTES)
		return src_read(s->env->src, &s->file, off, buf, len, err);
	if (off < s->ra_off || off + len > s->ra_off + s->ra_len) {
		/* A miss (or the end of what was read). Past the end of
		 * a short read-ahead is end of file only if a new read says
		 * so: the file may have grown. */
		long n = src_read(s->env->src, &s->file, off, s->ra, RA_BYTES,
				  err);
		if (n == TFTP_IO_AGAIN) /* streaming: the block may be in */
			return src_read(s->env->src, &s->file, off, buf, len,
					err);
		if (n < 0)
			return -1;
		s->ra_off = off;
		s->ra_len = (size_t)n;
	}
	size_t have = (size_t)(s->ra_off + s->ra_len - off);
	size_t n = have < len ? have : len;
	memcpy(buf, s->ra + (off - s->ra_off), n);
	return (long)n;
}

/* Large octet blocks leave without passing through our memory: the
 * header is corked (MSG_MORE) and sendfile appends the file's pages to
 * the same datagram, one copy in all (on loopback the receiver copies
 * straight from the page cache) instead of pread's and sendto's two. */
static int set_cork(int fd, int on)
{
	return setsockopt(fd, IPPROTO_UDP, UDP_CORK, &on, sizeof(on));
}

/* sendfile until want bytes are in the corked datagram, resuming after a
 * short return (a signal, a capped call); stops at the end of the file or
 * on an error. TFTPD_SENDFILE_MAX (tests) caps each call. */
static size_t sendfile_all(struct session *s, uint64_t off, size_t want)
{
	size_t done = 0;
	size_t cap = s->env->sendfile_max ? s->env->sendfile_max : want;
	for (int tries = 0; done < want && tries < 4096; tries++) {
		off_t pos = (off_t)(off + done);
		size_t n = want - done < cap ? want - done : cap;
		ssize_t r = sendfile(s->fd, s->file.fd, &pos, n);
		if (r > 0)
			done += (size_t)r;
		else if (r == 0 || errno != EINTR)
			break;
	}
	return done;
}

static long io_send_file(void *ctx, const uint8_t *hdr, uint64_t off,
			 size_t len, struct tftp_err *err)
{
	struct session *s = ctx;
	const struct sockaddr *to = (const struct sockaddr *)&s->peer;
	size_t want = off >= s->file.size ? 0
		      : (size_t)(s->file.size - off < len ? s->file.size - off
							  : len);
	(void)err;
	batch_flush(s->env->batch);
	if (want == 0) {
		(void)sendto(s->fd, hdr, TFTP_HDR_LEN, 0, to, s->peerlen);
		return 0;
	}
	/* The datagram is built under UDP_CORK: the header, the file's bytes
	 * by sendfile (resumed when a call comes back short) and, if the
	 * file ran short of what it had, the rest by pread; uncorking sends
	 * it whole. A short sendfile never becomes a short, final-looking
	 * block. */
	if (set_cork(s->fd, 1) < 0 ||
	    sendto(s->fd, hdr, TFTP_HDR_LEN, 0, to, s->peerlen) < 0) {
		(void)set_cork(s->fd, 0);
		return (long)want; /* a failed send is a loss */
	}
	size_t done = sendfile_all(s, off, want);
	if (done < want) {
		/* Fewer bytes only at a real end of file (it shrank since it
		 * was opened): then the short block is the end. */
		ssize_t r = tftp_pread_full(s->file.fd, s->env->buf,
					    want - done, off + done);
		if (r > 0 &&
		    sendto(s->fd, s->env->buf, (size_t)r, 0, to, s->peerlen) ==
			    (ssize_t)r)
			done += (size_t)r;
	}
	(void)set_cork(s->fd, 0);
	return (long)done;
}

static int io_write(void *ctx, uint64_t off, const uint8_t *buf, size_t len,
		    struct tftp_err *err)
{
	struct session *s = ctx;
	return src_write(s->env->src, &s->up, off, buf, len, err);
}

/* ---- the end ----------------------------------------------------------- */

static const char *op_name(const struct session *s)
{
	return s->is_write ? "WRQ" : "RRQ";
}

/* An RRQ whose OACK (with tsize) the client took only to learn the size:
 * it ends the session with ERROR 8, or sends a new request without one. */
static int is_size_probe(const struct session *s)
{
	const struct tftp_xfer *x = &s->x;
	if (s->is_write || !(tftp_xfer_agreed(x)->present & TFTP_OPT_TSIZE) ||
	    tftp_xfer_peer_answered(x))
		return 0;
	return s->replaced ||
	       (tftp_xfer_end_reason(x) == TFTP_END_PEER_ERROR &&
		tftp_xfer_error(x)->code == TFTP_ERR_OPTNEG);
}

static void outcome_text(const struct session *s, int ok, int probe,
			 char *out, size_t cap)
{
	const struct tftp_xfer *x = &s->x;
	const struct tftp_err *e = tftp_xfer_error(x);
	if (ok)
		snprintf(out, cap, "ok");
	else if (probe)
		snprintf(out, cap, s->replaced
			 ? "size probe, replaced by a new request from the same port"
			 : "size probe, ended by the client (ERROR 8)");
	else if (s->replaced)
		snprintf(out, cap, "replaced by a new request from the same port");
	else if (tftp_xfer_end_reason(x) == TFTP_END_PEER_ERROR)
		snprintf(out, cap, "failed, client sent ERROR %u (%s)",
			 (unsigned)e->code, e->msg);
	else if (tftp_xfer_end_reason(x) == TFTP_END_TIMED_OUT)
		snprintf(out, cap, "failed, timed out");
	else
		snprintf(out, cap, "failed, sent ERROR %u (%s)%s%s",
			 (unsigned)e->code, e->msg, e->why ? ": " : "",
			 e->why ? e->why : "");
}

static const char *shown_name(const struct session *s, char *out, size_t cap)
{
	return tftp_log_escape(s->name, strlen(s->name), out, cap);
}

/* What the transfer came to, for the log, the metrics and the hook. */
static enum record_result result_of(const struct session *s, int ok,
				    int probe)
{
	const struct tftp_xfer *x = &s->x;
	if (ok)
		return RESULT_OK;
	if (probe)
		return RESULT_SIZE_PROBE;
	if (s->replaced || tftp_xfer_end_reason(x) == TFTP_END_PEER_ERROR)
		return RESULT_CLIENT_ABORT;
	if (tftp_xfer_end_reason(x) == TFTP_END_TIMED_OUT)
		return RESULT_TIMEOUT;
	switch (tftp_xfer_error(x)->code) {
	case TFTP_ERR_NOTFOUND:
		return RESULT_NOT_FOUND;
	case TFTP_ERR_ACCESS:
		return RESULT_ACCESS;
	default:
		return RESULT_ERROR;
	}
}

static void fill_record(const struct session *s, struct xfer_record *r,
			char *client, size_t cap)
{
	const struct tftp_xfer *x = &s->x;
	const struct tftp_xfer_stats *st = tftp_xfer_stats(x);
	const struct tftp_opts *agreed = tftp_xfer_agreed(x);
	const struct sockaddr *peer = (const struct sockaddr *)&s->peer;
	memset(r, 0, sizeof(*r));
	r->time_us = tftp_wall_us();
	if (tftp_sockaddr_addr_str(peer, client, cap) < 0)
		client[0] = '\0';
	r->client = client;
	r->port = tftp_sockaddr_port(peer);
	r->is_write = s->is_write;
	r->file = s->name;
	r->mode = tftp_mode_name(tftp_xfer_mode(x));
	r->granted = agreed->present;
	r->tsize = agreed->tsize;
	r->blksize = tftp_xfer_blksize(x);
	r->window = tftp_xfer_window(x);
	r->bytes = st->bytes;
	r->retransmits = st->retransmits;
	r->us = tftp_now_us() - s->start_us;
	r->error_code = tftp_xfer_error(x)->code;
	r->error_msg = tftp_xfer_error(x)->msg;
}

/* The text line: bytes (and KiB/MiB), the time in us, ms or s, the rate
 * in human units. */
static void log_text(struct session *s, const struct xfer_record *r,
		     enum tftp_log_level lvl)
{
	char shown[256], size[32], dur[32], rate[32];
	tftp_human_size(r->bytes, size, sizeof(size));
	tftp_human_duration(r->us, dur, sizeof(dur));
	tftp_human_rate(r->bytes, r->us, rate, sizeof(rate));
	tftp_logf(s->env->log, lvl,
		  "%s %s %s %s: %" PRIu64 " bytes%s in %s (%s), blksize %u, "
		  "window %u, %" PRIu64 " retransmits: %s",
		  s->peer_str, op_name(s), shown_name(s, shown, sizeof(shown)),
		  r->mode, r->bytes, size, dur, rate, (unsigned)r->blksize,
		  (unsigned)r->window, r->retransmits, r->outcome);
}

/* One line per transfer (text, or --log-format json), then the server's
 * metrics and hook. */
static void log_end(struct session *s)
{
	const struct tftp_xfer *x = &s->x;
	/* An upload is complete (and so committed) once it dallies. */
	int ok = tftp_xfer_end_reason(x) == TFTP_END_DONE ||
		 tftp_xfer_dallying(x);
	int probe = !ok && is_size_probe(s);
	s->logged = 1;
	char outcome[200], client[INET6_ADDRSTRLEN + 1];
	struct xfer_record r;
	fill_record(s, &r, client, sizeof(client));
	outcome_text(s, ok, probe, outcome, sizeof(outcome));
	r.outcome = outcome;
	r.result = result_of(s, ok, probe);
	enum tftp_log_level lvl = ok || probe || s->replaced ? TFTP_LOG_INFO
							      : TFTP_LOG_WARN;
	if (s->env->cfg->log_json && tftp_log_enabled(s->env->log, lvl)) {
		char json[1024];
		record_json(&r, json, sizeof(json));
		tftp_logf(s->env->log, lvl, "%s", json);
	} else {
		log_text(s, &r, lvl);
	}
	if (s->env->finished)
		s->env->finished(s->env->ctx, &r);
}

/* Release what a session holds, started or not. An upload that was not
 * committed leaves nothing behind. */
static void session_free(struct session *s)
{
	if (s->ev_read)
		event_free(s->ev_read);
	if (s->ev_timer)
		event_free(s->ev_timer);
	if (s->ev_wake)
		event_free(s->ev_wake);
	free(s->pend);
	if (s->fd >= 0 && !s->shared)
		close(s->fd);
	if (s->is_write)
		src_abort(s->env->src, &s->up);
	else
		src_close(s->env->src, &s->file);
	free(s->ra);
	tftp_xfer_free(&s->x);
	free(s);
}

/* The one way out: log, unlink, release everything. */
static void session_end(struct session *s)
{
	struct session_env *env = s->env;
	if (!s->logged && !s->opening)
		log_end(s);
	env->ended(env->ctx, s);
	session_free(s);
}

/* After every call into the engine: commit, finish, or re-arm the timer.
 * Returns 1 if the session is gone. */
static int session_after(struct session *s)
{
	struct tftp_xfer *x = &s->x;
	batch_flush(s->env->batch);
	if (s->opening)
		return 0; /* no engine yet; its guard timer runs */
	if (tftp_xfer_finished(x)) {
		session_end(s);
		return 1;
	}
	if (tftp_xfer_waiting(x)) {
		/* On the source (streaming, storing): it wakes us. */
		evtimer_del(s->ev_timer);
		return 0;
	}
	/* The upload is complete and in place; only the dally is left, which
	 * may last seconds: say so now. */
	if (tftp_xfer_dallying(x) && !s->logged)
		log_end(s);
	uint64_t deadline = tftp_xfer_deadline(x);
	uint64_t now = tftp_now_ms();
	/* A running engine always has a deadline; if it ever had none the
	 * session would live forever, so check again after the timeout. */
	uint64_t wait = deadline == UINT64_MAX
				? (uint64_t)tftpd_timeout_ms(s->env->cfg)
				: (deadline > now ? deadline - now : 0);
	struct timeval tv = {.tv_sec = (time_t)(wait / 1000u),
			     .tv_usec = (suseconds_t)((wait % 1000u) * 1000u)};
	evtimer_add(s->ev_timer, &tv);
	return 0;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	uint64_t now = tftp_now_ms();
	(void)fd;
	(void)what;
	if (tftp_xfer_deadline(&s->x) == UINT64_MAX)
		tftp_xfer_abort(&s->x, TFTP_ERR_UNDEF, "Internal error", now);
	else
		tftp_xfer_tick(&s->x, now);
	session_after(s);
}

/* A datagram from anyone but the peer: RFC 1350 says answer ERROR 5 and
 * leave the transfer alone (within limits: sock.h). */
static void stranger(struct session *s, const struct sockaddr *from,
		     socklen_t fromlen, size_t len, uint64_t now)
{
	char who[64];
	if (!tftp_answer_stranger(s->fd, &s->strangers, from, fromlen,
				  s->env->buf, len, now))
		return;
	if (tftp_log_enabled(s->env->log, TFTP_LOG_DEBUG))
		tftp_logf(s->env->log, TFTP_LOG_DEBUG,
			  "%s: packet from stranger %s: sent ERROR 5",
			  s->peer_str, tftp_sockaddr_str(from, who, sizeof(who)));
}

/* A datagram from the peer: into the engine. 1 if the session ended. */
static int peer_input(struct session *s, const uint8_t *pkt, size_t len,
		      uint64_t now)
{
	/* Larger than any TFTP packet (MSG_TRUNC gives the real size): not
	 * from a working peer; the timer covers a real loss. */
	if (len > TFTP_PACKET_MAX || s->opening)
		return 0;
	tftp_xfer_input(&s->x, pkt, len, now);
	return session_after(s);
}

int session_input(struct session *s, const uint8_t *pkt, size_t len)
{
	s->env->activity++;
	return peer_input(s, pkt, len, tftp_now_ms());
}

int session_poll(struct session *s)
{
	int fd = s->fd;
	if (s->shared)
		return 0; /* the server reads the shared socket */
	uint8_t *buf = s->env->buf;
	for (int i = 0; i < TFTPD_RECV_BATCH; i++) {
		struct sockaddr_storage from;
		socklen_t fromlen = sizeof(from);
		ssize_t n = recvfrom(fd, buf, s->env->bufcap, MSG_TRUNC,
				     (struct sockaddr *)&from, &fromlen);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break; /* EAGAIN, or an ICMP error: nothing to read */
		}
		uint64_t now = tftp_now_ms();
		s->env->activity++;
		if (!tftp_sockaddr_equal((struct sockaddr *)&from,
					 (struct sockaddr *)&s->peer)) {
			stranger(s, (struct sockaddr *)&from, fromlen,
				 (size_t)n, now);
			continue;
		}
		if (peer_input(s, buf, (size_t)n, now))
			return 1;
		/* Lockstep: the peer waits for our answer, so nothing else is
		 * queued; skip the read that would only say EAGAIN (epoll
		 * reports a stray datagram again, level-triggered). */
		if (tftp_xfer_window(&s->x) <= 1)
			return 0;
	}
	return 0;
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	session_poll(arg);
}

/* ---- set-up ------------------------------------------------------------ */

static int transfer_socket(struct session_env *env,
			   const struct sockaddr *local, socklen_t locallen)
{
	const struct tftpd_config *cfg = env->cfg;
	struct sockaddr_storage a;
	int fd = socket(local->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			0);
	if (fd < 0)
		return -1;
	memcpy(&a, local, locallen);
	if (!cfg->port_lo) {
		tftp_sockaddr_set_port((struct sockaddr *)&a, 0);
		if (bind(fd, (struct sockaddr *)&a, locallen) == 0)
			return fd;
	} else {
		uint32_t n = (uint32_t)cfg->port_hi - cfg->port_lo + 1u;
		for (uint32_t i = 0; i < n; i++) {
			uint32_t k = (env->port_cursor + i) % n;
			tftp_sockaddr_set_port((struct sockaddr *)&a,
					       (uint16_t)(cfg->port_lo + k));
			if (bind(fd, (struct sockaddr *)&a, locallen) == 0) {
				/* Spread transfers over the range. */
				env->port_cursor = (k + 1u) % n;
				return fd;
			}
			if (errno != EADDRINUSE)
				break;
		}
	}
	int e = errno;
	close(fd);
	errno = e;
	return -1;
}

/* Setting up a session: only shortages have a better text than what (a
 * socket's EACCES is not the client's access violation). */
static void errno_err(int e, struct tftp_err *err, const char *what)
{
	int shortage = e == EMFILE || e == ENFILE || e == ENOMEM ||
		       e == ENOBUFS || e == EADDRINUSE;
	tftp_err_from_errno(shortage ? e : 0, what, err);
	if (e == EADDRINUSE)
		err->why = "no free transfer port";
}

static struct session *session_new(struct session_env *env,
				   const struct session_request *req)
{
	size_t namelen = strlen(req->clean);
	struct session *s = calloc(1, sizeof(*s) + namelen + 1u);
	if (!s)
		return NULL;
	s->env = env;
	s->fd = s->file.fd = -1;
	s->file.wake = s->up.wake = (struct src_wake){src_woke, s};
	s->is_write = req->is_write;
	memcpy(s->name, req->clean, namelen + 1u);
	memcpy(&s->peer, req->peer, req->peerlen);
	s->peerlen = req->peerlen;
	/* --single-port: everything goes out of the listening socket, from
	 * the address the request came to. */
	s->shared = req->shared_fd >= 0;
	if (s->shared && req->have_pktinfo)
		udp_from_set(&s->from, req->local, req->ifindex);
	s->req_hash = session_request_hash(req->raw, req->rawlen);
	s->start_us = tftp_now_us();
	tftp_sockaddr_str(req->peer, s->peer_str, sizeof(s->peer_str));
	return s;
}

/* Open the file, or begin the upload, at the source. */
static int open_data(struct session *s, const struct session_request *req,
		     struct tftp_err *err)
{
	struct src_request rq = {
		.name = s->name,
		.client = (const struct sockaddr *)&s->peer,
		.client_dir = req->client_dir,
		.client_mac = req->client_mac,
	};
	if (req->is_write) {
		uint64_t need = (req->opts.present & TFTP_OPT_TSIZE)
					? req->opts.tsize
					: 0;
		return src_begin(s->env->src, &rq, need, &s->up, err);
	}
	return src_open(s->env->src, &rq, &s->file, err);
}

/* The engine's configuration: the options negotiated against the
 * server's limits, its timers, the upload cap. */
static void xfer_config(const struct session *s,
			const struct session_request *req,
			struct tftp_xfer_config *xc)
{
	const struct tftpd_config *cfg = s->env->cfg;
	struct tftp_server_caps caps = {
		.allow_options = !cfg->no_options,
		.max_blksize = req->max_blksize && req->max_blksize < cfg->max_blksize
				       ? req->max_blksize : cfg->max_blksize,
		.max_window = req->max_window && req->max_window < cfg->max_window
				      ? req->max_window : cfg->max_window,
		.max_timeout = cfg->max_timeout_s,
	};
	memset(xc, 0, sizeof(*xc));
	xc->role = req->is_write ? TFTP_ROLE_RECEIVER : TFTP_ROLE_SENDER;
	xc->is_client = 0;
	xc->mode = req->mode;
	/* A file of unknown size gets no tsize in the OACK (RFC 2349). */
	int sized = !req->is_write && s->file.size_known;
	struct tftp_opts asked = req->opts;
	if (!req->is_write && !sized)
		asked.present &= ~(unsigned)TFTP_OPT_TSIZE;
	tftp_opts_negotiate(&asked, &caps, !req->is_write, req->mode,
			    sized ? s->file.size : 0, &xc->opts);
	xc->timeout_ms = tftpd_timeout_ms(cfg);
	xc->max_retries = cfg->retries;
	/* Linger after the final ACK to repeat it if the client sends the
	 * last block again. Three timeouts: the client's retransmit timer is
	 * its own (tftp-hpa's and atftp's are whole seconds), and a dally of
	 * just one timeout ends a moment before their repeat arrives. */
	xc->dally_ms = req->is_write ? 3u * xc->timeout_ms : 0;
	xc->max_bytes = req->is_write ? cfg->max_upload : 0;
	xc->log = s->env->log;
}

/* Small blocks go out a window at a time through the batch instead.
 * Not to a loopback peer: a datagram that fits the device (lo's 64 KiB
 * MTU) is sent with the checksum left to the device, i.e. skipped on
 * loopback, while a corked one (sendfile's header with MSG_MORE) is
 * checksummed in software by us and again by the receiver; pread + sendto
 * measured ~15% less server CPU and 1.2-2x the throughput into a tmpfs
 * file (bench/run.py 2, 2n). A block larger than a real NIC's MTU is
 * fragmented and summed in software either way, and there sendfile saves
 * the copies (over a veth pair of MTU 1500, 1 GiB at blksize 65464: ~1.2x
 * the throughput and ~20% less server CPU than pread + sendto). Only for
 * an even block size: from an odd file offset the kernel (6.18 here) gets
 * the checksum of the spliced datagram wrong and the receiver drops every
 * such block (UdpInCsumErrors); found by
 * tests/integration/tftpd/test_sendfile.py at blksize 16385. Only from a
 * source that hands out a descriptor. */
static int use_sendfile(const struct session *s,
			const struct session_request *req, uint32_t blk)
{
	return !req->is_write && req->mode == TFTP_MODE_OCTET &&
	       !s->shared && s->file.fd >= 0 && blk > BATCH_SEG_MAX && blk % 2u == 0 &&
	       !tftp_sockaddr_is_loopback(req->peer);
}

static int xfer_setup(struct session *s, const struct session_request *req,
		      struct tftp_err *err)
{
	struct tftp_xfer_config xc;
	xfer_config(s, req, &xc);
	struct tftp_xfer_io io = {
		.ctx = s,
		.send = io_send,
		.read = io_read,
		.write = io_write,
		.flush = req->is_write ? io_flush : NULL,
	};
	uint32_t blk = (xc.opts.present & TFTP_OPT_BLKSIZE)    ? xc.opts.blksize
		       : (xc.opts.present & TFTP_OPT_BLKSIZE2) ? xc.opts.blksize2
							       : TFTP_BLKSIZE_DEFAULT;
	s->by_sendfile = use_sendfile(s, req, blk);
	if (s->by_sendfile)
		io.send_file = io_send_file;
	/* Without it (out of memory) every block is read by itself. */
	if (!req->is_write && blk <= RA_BLOCK_MAX)
		s->ra = malloc(RA_BYTES);
	if (tftp_xfer_init(&s->x, &xc, &io) < 0) {
		errno_err(ENOMEM, err, "");
		return -1;
	}
	size_t burst = (size_t)tftp_xfer_window(&s->x) *
		       (tftp_xfer_blksize(&s->x) + TFTP_HDR_LEN + 64u);
	/* Room in the socket buffer for a whole window, so a window is not
	 * lost to our own buffer (capped at 8 MiB). */
	if (burst > (200u << 10) && !s->shared)
		tftp_sock_buffer(s->fd, req->is_write,
				 burst > (8u << 20) ? (8u << 20) : burst);
	return 0;
}

static int arm_events(struct session *s, struct tftp_err *err)
{
	/* On a shared socket the server reads and hands datagrams over. */
	if (!s->shared)
		s->ev_read = event_new(s->env->base, s->fd,
				       EV_READ | EV_PERSIST, on_readable, s);
	s->ev_timer = evtimer_new(s->env->base, on_timer, s);
	if ((!s->ev_read && !s->shared) || !s->ev_timer ||
	    (s->ev_read && event_add(s->ev_read, NULL) < 0)) {
		errno_err(ENOMEM, err, "");
		return -1;
	}
	return 0;
}

/* ---- a source that waits ------------------------------------------- */

/* The request, kept for when the source answers. */
struct session_pending {
	struct session_request req;
	struct sockaddr_storage local;
};

/* How long a source may take to open a file before the request is given
 * up; its own timeouts (the origin's connect and read timeouts) come
 * first. */
#define OPEN_GUARD_S 120

static void src_woke(void *arg)
{
	struct session *s = arg;
	event_active(s->ev_wake, 0, 0);
}

/* The source failed the request: the client gets the ERROR, from this
 * session's port (or the shared one), and the server logs the refusal. */
static void refuse_opening(struct session *s, const struct tftp_err *err)
{
	uint8_t pkt[TFTP_HDR_LEN + sizeof(err->msg)];
	size_t len = tftp_build_error(pkt, sizeof(pkt), err->code, err->msg);
	if (len)
		(void)raw_send(s, pkt, len);
	if (s->env->refused)
		s->env->refused(s->env->ctx, s, err);
	session_end(s);
}

static void on_open_guard(evutil_socket_t fd, short what, void *arg)
{
	struct tftp_err err = {.code = TFTP_ERR_UNDEF,
			       .msg = "Source timed out",
			       .why = "the source did not answer in time"};
	(void)fd;
	(void)what;
	refuse_opening(arg, &err);
}

static int session_go(struct session *s, const struct session_request *req,
		      int enter, struct tftp_err *err);

/* The source answered the open: start, or refuse. */
static void opened(struct session *s)
{
	struct tftp_err err = {0};
	int r = src_open_done(s->env->src, &s->file, &err);
	if (r == SRC_PENDING)
		return;
	if (r == 0) {
		s->opening = 0;
		evtimer_del(s->ev_timer);
		event_free(s->ev_timer);
		s->ev_timer = NULL;
		if (session_go(s, &s->pend->req, 0, &err) == 0)
			return;
		s->opening = 1;
	}
	refuse_opening(s, &err);
}

/* The stored upload's answer: the final ACK, or the ERROR instead. */
static void committed(struct session *s)
{
	struct tftp_err err = {0};
	int r = src_commit_done(s->env->src, &s->up, &err);
	if (r == SRC_PENDING)
		return;
	s->committing = 0;
	if (r == 0)
		src_abort(s->env->src, &s->up); /* committed: only releases */
	tftp_xfer_flush_done(&s->x, r == 0, &err, tftp_now_ms());
	session_after(s);
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	(void)fd;
	(void)what;
	if (s->opening)
		opened(s);
	else if (s->committing)
		committed(s);
	else if (!s->is_write) {
		tftp_xfer_resume(&s->x, tftp_now_ms());
		session_after(s);
	}
}

/* The source will answer later: keep the request, take the table's
 * place (a repeat of the request is then recognised), and wait with a
 * guard. */
static int wait_source(struct session *s, const struct session_request *req,
		       struct tftp_err *err)
{
	struct session_pending *p = calloc(1, sizeof(*p));
	s->ev_timer = evtimer_new(s->env->base, on_open_guard, s);
	struct timeval guard = {.tv_sec = OPEN_GUARD_S};
	if (!p || !s->ev_timer || evtimer_add(s->ev_timer, &guard) < 0) {
		free(p);
		errno_err(ENOMEM, err, "");
		return -1;
	}
	memcpy(&p->local, req->local, req->locallen);
	p->req = *req;
	p->req.peer = (const struct sockaddr *)&s->peer;
	p->req.local = (const struct sockaddr *)&p->local;
	p->req.clean = s->name;
	p->req.client_dir = p->req.client_mac = NULL; /* open's alone */
	p->req.raw = NULL;
	p->req.rawlen = 0;
	s->pend = p;
	s->opening = 1;
	s->env->begun(s->env->ctx, s);
	char shown[256];
	tftp_logf(s->env->log, TFTP_LOG_DEBUG, "%s %s %s: waiting for the source",
		  s->peer_str, op_name(s), shown_name(s, shown, sizeof(shown)));
	return 0;
}

/* The engine set up and started: the first packet leaves. */
static int session_go(struct session *s, const struct session_request *req,
		      int enter, struct tftp_err *err)
{
	struct session_env *env = s->env;
	if (xfer_setup(s, req, err) < 0 || arm_events(s, err) < 0)
		return -1;
	/* From here on the session is live and ends only via session_end. */
	if (enter)
		env->begun(env->ctx, s);
	if (env->started)
		env->started(env->ctx, s);
	char shown[256];
	tftp_logf(env->log, TFTP_LOG_DEBUG, "%s %s %s %s: started%s%s",
		  s->peer_str, op_name(s), shown_name(s, shown, sizeof(shown)),
		  tftp_mode_name(req->mode),
		  tftp_xfer_agreed(&s->x)->present ? " with OACK" : "",
		  s->by_sendfile ? ", DATA by sendfile" : "");
	tftp_xfer_start(&s->x, tftp_now_ms());
	session_after(s);
	return 0;
}

int session_start(struct session_env *env, const struct session_request *req,
		  struct tftp_err *err)
{
	struct session *s = session_new(env, req);
	if (!s) {
		errno_err(ENOMEM, err, "");
		return -1;
	}
	if (!(s->ev_wake = event_new(env->base, -1, 0, on_wake, s))) {
		errno_err(ENOMEM, err, "");
		goto fail;
	}
	int r = open_data(s, req, err);
	if (r < 0 && r != SRC_PENDING)
		goto fail;
	s->fd = s->shared ? req->shared_fd
			  : transfer_socket(env, req->local, req->locallen);
	if (s->fd < 0) {
		errno_err(errno, err, "Cannot open a transfer socket");
		goto fail;
	}
	if (r == SRC_PENDING)
		return wait_source(s, req, err) < 0 ? (session_free(s), -1) : 0;
	if (session_go(s, req, 1, err) < 0)
		goto fail;
	return 0;

fail:
	session_free(s);
	return -1;
}

uint64_t session_request_hash(const uint8_t *req, size_t len)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < len; i++)
		h = (h ^ req[i]) * 1099511628211ull;
	return h ^ len;
}

int session_replace_by(struct session *s, const uint8_t *req, size_t len)
{
	/* On the shared socket (--single-port) the client's next request
	 * may come before its final ACK of this transfer, and never is a
	 * repeat once it has answered us: a client repeats a request only
	 * while it has had no answer. */
	int next = s->shared && tftp_xfer_peer_answered(&s->x);
	if (!next && (tftp_xfer_peer_answered(&s->x) ||
		      session_request_hash(req, len) == s->req_hash))
		return 0;
	/* Ended without an ERROR: the client already waits for the answer
	 * to its new request, and an ERROR from the old port could be taken
	 * for it. */
	s->replaced = 1;
	session_end(s);
	return 1;
}

void session_abort(struct session *s, const char *why)
{
	if (s->opening) {
		struct tftp_err err = {.code = TFTP_ERR_UNDEF};
		snprintf(err.msg, sizeof(err.msg), "%s",
			 why ? why : tftp_errcode_message(TFTP_ERR_UNDEF));
		refuse_opening(s, &err);
		return;
	}
	tftp_xfer_abort(&s->x, TFTP_ERR_UNDEF, why, tftp_now_ms());
	session_after(s);
}
