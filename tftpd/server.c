/* The listening side: requests in, policy and limits, sessions out; signals
 * and shutdown. See server.h. */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <event2/event.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <syslog.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "limits.h"
#include "remap.h"
#include "clientmap.h"
#include "record.h"
#include "metrics.h"
#include "metrics_http.h"
#include "hook.h"
#include "neigh.h"
#include "origin.h"
#include "winnames.h"
#include "sock.h"
#include "net.h"
#include "options.h"
#include "session.h"
#include "systemd.h"

#define LISTEN_STARTS_MAX 8

/* ---- the sessions' environment ----------------------------------------- */

/* A session is about to start: it enters the table (its server-wide slot
 * was taken in handle_request). */
static void on_begun(void *ctx, struct session *s)
{
	struct server *srv = ctx;
	table_add(&srv->table, s);
}

static void on_started(void *ctx, struct session *s)
{
	struct server *srv = ctx;
	metrics_started(srv->metrics, s->is_write, tftp_xfer_blksize(&s->x),
			tftp_xfer_window(&s->x));
}

static void log_refusal(struct server *srv, const struct sockaddr *peer,
			uint16_t op, const struct tftp_slice *name,
			uint16_t code, const char *msg, const char *why);

/* A request that waited for the source was refused by it (the session
 * sent the ERROR). */
static void on_refused(void *ctx, const struct session *s,
		       const struct tftp_err *err)
{
	struct server *srv = ctx;
	struct tftp_slice name = {.ptr = s->name, .len = strlen(s->name)};
	uint16_t op = s->is_write ? TFTP_OP_WRQ : TFTP_OP_RRQ;
	metrics_refused(srv->metrics, s->is_write,
			metrics_refusal_of(err->code, err->msg));
	log_refusal(srv, (const struct sockaddr *)&s->peer, op, &name,
		    err->code, err->msg, err->why);
}

/* A transfer's outcome: counted, and handed to the hook. */
static void on_finished(void *ctx, const struct xfer_record *r)
{
	struct server *srv = ctx;
	metrics_finished(srv->metrics, r);
	hook_run(srv->hook, r);
}

/* A session ends: out of the table, its slot released; the last one
 * during shutdown stops the loop. */
static void on_ended(void *ctx, struct session *s)
{
	struct server *srv = ctx;
	table_remove(&srv->table, s);
	limits_release(srv->limits,
		       limits_client_key(srv->limits,
					 (const struct sockaddr *)&s->peer));
	if (srv->stopping && srv->table.count == 0)
		event_base_loopbreak(srv->base);
}

static void env_init(struct server *srv)
{
	struct session_env *e = &srv->env;
	const char *sfmax = getenv("TFTPD_SENDFILE_MAX");
	memset(e, 0, sizeof(*e));
	e->base = srv->base;
	e->cfg = srv->cfg;
	e->log = &srv->log;
	srv->fs.root = &srv->root;
	srv->fs.uproot = srv->uproot.dirfd >= 0 ? &srv->uproot : &srv->root;
	srv->fs.overwrite = srv->cfg->allow_overwrite;
	srv->fs.mkdir = srv->cfg->mkdir;
	srv->fs.limits = srv->limits;
	source_fs_init(&srv->source, &srv->fs);
	e->src = &srv->source;
	e->batch = &srv->batch;
	e->buf = srv->buf;
	e->bufcap = sizeof(srv->buf);
	e->sendfile_max = sfmax ? (size_t)strtoul(sfmax, NULL, 10) : 0;
	e->begun = on_begun;
	e->started = on_started;
	e->refused = on_refused;
	e->ended = on_ended;
	e->finished = on_finished;
	e->ctx = srv;
}

/* ---- requests ---------------------------------------------------------- */

/* Where a request arrived: the local address (from IP_PKTINFO /
 * IPV6_PKTINFO) that the transfer socket binds to and that answers come
 * from. */
struct arrival {
	struct tftpd_listener *l;
	struct sockaddr_storage peer;
	socklen_t peerlen;
	struct sockaddr_storage local;
	socklen_t locallen;
	int ifindex;
	int have_pktinfo;
};

/* Answer a request from the listening socket, from the address it was sent
 * to. Needs no new descriptor, so even out of descriptors a client hears
 * why. */
static void reply_error(const struct arrival *a, uint16_t code, const char *msg)
{
	uint8_t pkt[TFTP_HDR_LEN + 128];
	size_t len = tftp_build_error(pkt, sizeof(pkt), code, msg);
	struct udp_from from;
	if (!len)
		return;
	from.len = 0;
	if (a->have_pktinfo)
		udp_from_set(&from, (const struct sockaddr *)&a->local,
			     a->ifindex);
	(void)udp_send(a->l->fd, (const struct sockaddr *)&a->peer, a->peerlen,
		       &from, pkt, len);
}

static void refuse_why(struct server *srv, const struct arrival *a,
		       uint16_t op, const struct tftp_slice *name,
		       uint16_t code, const char *msg, const char *why);

/* --log-format json: a refused request as one object. */
static void log_refusal_json(struct server *srv, const struct sockaddr *peer,
			     uint16_t op, const struct tftp_slice *name,
			     uint16_t code, const char *msg, const char *why)
{
	char line[1024], client[INET6_ADDRSTRLEN + 1];
	uint64_t t = tftp_wall_us();
	if (tftp_sockaddr_addr_str(peer, client, sizeof(client)) < 0)
		client[0] = '\0';
	size_t at = (size_t)snprintf(
		line, sizeof(line) - 1, "{\"time\":%llu.%06u,\"event\":"
		"\"refused\",\"client\":\"%s\",\"port\":%u,\"op\":\"%s\","
		"\"error_code\":%u,\"error\":", (unsigned long long)(t / 1000000u),
		(unsigned)(t % 1000000u), client, (unsigned)tftp_sockaddr_port(peer),
		op == TFTP_OP_WRQ ? "WRQ" : "RRQ", (unsigned)code);
	(void)tftp_json_string(line, sizeof(line) - 1, &at, msg, strlen(msg));
	if (why && at + 10 < sizeof(line)) {
		memcpy(line + at, ",\"why\":", 7);
		at += 7;
		if (tftp_json_string(line, sizeof(line) - 1, &at, why, strlen(why)) < 0)
			at -= 7;
	}
	if (name && at + 10 < sizeof(line)) {
		memcpy(line + at, ",\"file\":", 8);
		at += 8;
		if (tftp_json_string(line, sizeof(line) - 1, &at, name->ptr, name->len) < 0)
			at -= 8;
	}
	line[at++] = '}';
	line[at] = '\0';
	tftp_logf(&srv->log, TFTP_LOG_INFO, "%s", line);
}

static void refuse(struct server *srv, const struct arrival *a, uint16_t op,
		   const struct tftp_slice *name, uint16_t code,
		   const char *msg)
{
	refuse_why(srv, a, op, name, code, msg, NULL);
}

/* The client gets the RFC's terse ERROR; the log also says why. */
static void refuse_why(struct server *srv, const struct arrival *a,
		       uint16_t op, const struct tftp_slice *name,
		       uint16_t code, const char *msg, const char *why)
{
	reply_error(a, code, msg);
	metrics_refused(srv->metrics, op == TFTP_OP_WRQ,
			metrics_refusal_of(code, msg));
	log_refusal(srv, (const struct sockaddr *)&a->peer, op, name, code,
		    msg, why);
}

static void log_refusal(struct server *srv, const struct sockaddr *peer,
			uint16_t op, const struct tftp_slice *name,
			uint16_t code, const char *msg, const char *why)
{
	if (!tftp_log_enabled(&srv->log, TFTP_LOG_INFO))
		return;
	if (srv->cfg->log_json) {
		log_refusal_json(srv, peer, op, name, code, msg, why);
		return;
	}
	char who[64], shown[160];
	tftp_sockaddr_str(peer, who, sizeof(who));
	if (name)
		tftp_log_escape(name->ptr, name->len, shown, sizeof(shown));
	else
		snprintf(shown, sizeof(shown), "(malformed)");
	tftp_logf(&srv->log, TFTP_LOG_INFO,
		  "%s %s %s: refused, sent ERROR %u (%s)%s%s",
		  who, op == TFTP_OP_WRQ ? "WRQ" : "RRQ", shown, (unsigned)code,
		  msg, why ? ": " : "", why ? why : "");
}

/* The client's own transfers, before a new request from it counts: one
 * from the same port that only dallies ends (its final ACK evidently
 * arrived: clients reuse one port for several commands), one that is an
 * abandoned size probe is replaced. Returns how many it has left, or -1
 * if the request is a repeat for a transfer still running (ignored). */
static int client_transfers(struct server *srv, const struct sockaddr *peer,
			    const uint8_t *buf, size_t len,
			    struct session **dally)
{
	struct session *dup;
	unsigned n = table_client(&srv->table, peer, &dup, dally);
	if (dup && tftp_xfer_dallying(&dup->x)) {
		session_abort(dup, NULL);
		n--;
		dup = NULL;
	}
	if (dup && session_replace_by(dup, buf, len)) {
		n--;
		dup = NULL;
	}
	if (dup) {
		/* A retransmitted request (or another one from the same TID):
		 * that transfer is already answering it. */
		tftp_logf(&srv->log, TFTP_LOG_DEBUG,
			  "%s: request ignored, a transfer from there is running",
			  dup->peer_str);
		return -1;
	}
	return (int)n;
}

/* This worker's limits; a dallying upload (complete, committed) gives way
 * to a new request. NULL, or which limit refuses the request. */
static const char *local_limits(struct server *srv, unsigned from_host,
				struct session *dally)
{
	const struct tftpd_config *cfg = srv->cfg;
	if (from_host >= cfg->max_per_client && dally) {
		session_abort(dally, NULL);
		from_host--;
	}
	if (srv->table.count >= cfg->max_transfers &&
	    (dally = table_any_dallying(&srv->table)) != NULL)
		session_abort(dally, NULL);
	if (srv->table.count >= cfg->max_transfers)
		return "--max-transfers reached";
	if (from_host >= cfg->max_per_client)
		return "--max-per-client reached";
	return NULL;
}

/* The name the request is served under: remapped (--remap, hpa's -m),
 * then, in tftp-hpa's mode without -s, checked against its directories;
 * into mapped (cap bytes). 0, or -1 after answering with the ERROR. */
static int map_name(struct server *srv, const struct arrival *a, uint16_t op,
		    const struct tftp_slice *name, char *mapped, size_t cap)
{
	const struct tftpd_config *cfg = srv->cfg;
	if (!srv->remap) {
		snprintf(mapped, cap, "%s", name->ptr);
	} else {
		enum remap_result r = remap_apply(
			srv->remap, name->ptr, op == TFTP_OP_WRQ,
			(const struct sockaddr *)&a->peer, mapped, cap);
		if (r != REMAP_OK) {
			refuse_why(srv, a, op, name, TFTP_ERR_ACCESS,
				   r == REMAP_FAILED ? "Remap table failure"
				   : mapped[0] ? mapped : "Access denied",
				   r == REMAP_FAILED ? "a remap bound was hit"
						     : "refused by a remap rule");
			return -1;
		}
		if (strcmp(mapped, name->ptr) != 0)
			tftp_logf(&srv->log, TFTP_LOG_DEBUG, "remapped to %s",
				  mapped);
	}
	if (!cfg->nprefixes)
		return 0;
	/* tftp-hpa's own test: a plain prefix of the absolute name. */
	for (size_t i = 0; mapped[0] == '/' && i < cfg->nprefixes; i++)
		if (strncmp(mapped, cfg->prefixes[i], strlen(cfg->prefixes[i])) == 0)
			return 0;
	refuse_why(srv, a, op, name, TFTP_ERR_ACCESS,
		   mapped[0] == '/' ? "Access violation"
				    : "Only absolute filenames allowed",
		   "not beneath the directories given");
	return -1;
}

/* Where a client's files are looked for first, and what it is granted:
 * --client-root-map's entry for its network, else --client-root's
 * directory (its address, or its hardware address). Strings into *w. */
struct client_where {
	char dir[INET6_ADDRSTRLEN + 1];
	char mac[32];
};

static void client_policy(struct server *srv, const struct arrival *a,
			  struct session_request *req, struct client_where *w)
{
	const struct tftpd_config *cfg = srv->cfg;
	const struct sockaddr *peer = (const struct sockaddr *)&a->peer;
	const struct clientmap_entry *e = clientmap_find(srv->cmap, peer);
	/* The hardware address, for --client-root mac or the origin URL's
	 * {mac}. */
	if (cfg->client_root == TFTPD_CLIENT_ROOT_MAC ||
	    (cfg->origin_url && strstr(cfg->origin_url, "{mac}"))) {
		if (neigh_mac(peer, w->mac, sizeof(w->mac)) == 0)
			req->client_mac = w->mac;
		else
			tftp_logf(&srv->log, TFTP_LOG_DEBUG, "%s: no hardware "
				  "address in the neighbour table; the root "
				  "only", tftp_sockaddr_str(peer, w->dir,
							    sizeof(w->dir)));
	}
	if (e && e->dir)
		req->client_dir = e->dir;
	else if (cfg->client_root == TFTPD_CLIENT_ROOT_IP &&
		 tftp_sockaddr_addr_str(peer, w->dir, sizeof(w->dir)) == 0)
		req->client_dir = w->dir;
	else if (cfg->client_root == TFTPD_CLIENT_ROOT_MAC)
		req->client_dir = req->client_mac;
	if (!e)
		return;
	req->max_blksize = e->max_blksize;
	req->max_window = e->max_window;
	req->opts.present &= ~e->refuse;
}

/* --windows-names: C:\Boot\BCD as /Boot/BCD, before anything else looks
 * at the name. Returns the name to go on with (into buf). */
static const struct tftp_slice *windows_name(const struct server *srv,
					     const struct tftp_slice *name,
					     struct tftp_slice *out, char *buf,
					     size_t cap)
{
	if (!srv->cfg->windows_names || winname_normalize(name->ptr, buf, cap) < 0)
		return name;
	out->ptr = buf;
	out->len = strlen(buf);
	return out;
}

/* What a request asks that the server's policy refuses before anything is
 * opened; 0, or -1 after answering with the ERROR. */
static int policy(struct server *srv, const struct arrival *a, uint16_t op,
		  const struct tftp_packet *p, struct session_request *req,
		  char *clean, size_t cap, struct client_where *where)
{
	const struct tftpd_config *cfg = srv->cfg;
	struct tftp_slice wslice;
	char wbuf[TFTP_FILENAME_MAX + 2];
	const struct tftp_slice *name = windows_name(srv, &p->filename, &wslice,
						     wbuf, sizeof(wbuf));
	struct tftp_err err = {0};
	char mapped[TFTP_FILENAME_MAX + 2];
	req->mode = tftp_mode_parse(p->mode);
	if (req->mode == TFTP_MODE_INVALID) {
		refuse(srv, a, op, name, TFTP_ERR_BADOP,
		       "Unsupported transfer mode");
		return -1;
	}
	if (op == TFTP_OP_WRQ && !cfg->allow_write && !cfg->origin_put) {
		refuse(srv, a, op, name, TFTP_ERR_ACCESS,
		       "Writes are not allowed");
		return -1;
	}
	if (map_name(srv, a, op, name, mapped, sizeof(mapped)) < 0)
		return -1;
	if (fsroot_clean_name(mapped, clean, cap, &err) < 0) {
		refuse_why(srv, a, op, &p->filename, err.code, err.msg, err.why);
		return -1;
	}
	/* --no-options: a pure RFC 1350 server does not look at them at all,
	 * not even at a tsize to refuse an upload early (the data is still
	 * held to --max-upload). hpa's -r: those are never granted. */
	if (!cfg->no_options)
		tftp_opts_from_packet(p, &req->opts);
	req->opts.present &= ~cfg->refuse;
	client_policy(srv, a, req, where);
	if (op == TFTP_OP_WRQ && cfg->max_upload &&
	    (req->opts.present & TFTP_OPT_TSIZE) &&
	    req->opts.tsize > cfg->max_upload) {
		refuse(srv, a, op, name, TFTP_ERR_NOSPACE, "File too large");
		return -1;
	}
	return 0;
}

/* Take a slot of the whole server's (all --workers) and start. 1 if a
 * transfer started, 0 after answering with the ERROR. */
static int start(struct server *srv, const struct arrival *a, uint16_t op,
		 const struct tftp_slice *name,
		 const struct session_request *req)
{
	struct tftp_err err = {0};
	uint32_t key = limits_client_key(srv->limits, req->peer);
	const char *full = limits_take(srv->limits, key);
	if (full) {
		refuse_why(srv, a, op, name, TFTP_ERR_UNDEF, "server busy",
			   full);
		return 0;
	}
	if (session_start(&srv->env, req, &err) < 0) {
		limits_release(srv->limits, key);
		refuse_why(srv, a, op, name, err.code, err.msg, err.why);
		return 0;
	}
	return 1;
}

/* A new request from the port of a transfer that has not ended: clients
 * reuse one port for their next command, and the final ACK of the last
 * one, sent just before, may be waiting unread on the transfer's socket.
 * Read it first. The session reads into the loop's buffer, which holds
 * the request: it is copied away first (*copy, for the caller to free).
 * Returns the request to go on with. */
static const uint8_t *settle_same_port(struct server *srv,
				       const struct sockaddr *peer,
				       const uint8_t *buf, size_t len,
				       uint8_t **copy)
{
	struct session *dup, *dally;
	*copy = NULL;
	(void)table_client(&srv->table, peer, &dup, &dally);
	/* On a shared socket (--single-port) it was read in order. */
	if (!dup || dup->shared || tftp_xfer_dallying(&dup->x))
		return buf;
	*copy = malloc(len);
	if (!*copy)
		return buf; /* then the request is judged as it is */
	memcpy(*copy, buf, len);
	(void)session_poll(dup);
	return *copy;
}

static int handle_request_in(struct server *srv, struct arrival *a,
			     uint16_t op, const uint8_t *buf, size_t len);

/* A datagram on a listening socket. Returns 1 if it started a transfer. */
static int handle_request(struct server *srv, struct arrival *a,
			  const uint8_t *buf, size_t len)
{
	const struct sockaddr *peer = (const struct sockaddr *)&a->peer;
	uint16_t op = tftp_packet_opcode(buf, len);
	/* Only requests are answered here: an answer to a stray DATA, ACK,
	 * ERROR or OACK could start an ERROR ping-pong with another server,
	 * or reflect traffic at a forged source. */
	if ((op != TFTP_OP_RRQ && op != TFTP_OP_WRQ) ||
	    tftp_sockaddr_port(peer) == 0) /* nowhere to answer */
		return 0;
	uint8_t *copy;
	buf = settle_same_port(srv, peer, buf, len, &copy);
	int started = handle_request_in(srv, a, op, buf, len);
	free(copy);
	return started;
}

static int handle_request_in(struct server *srv, struct arrival *a,
			     uint16_t op, const uint8_t *buf, size_t len)
{
	const struct sockaddr *peer = (const struct sockaddr *)&a->peer;
	struct tftp_packet p;
	enum tftp_parse_result pr = tftp_packet_parse_lenient(buf, len, &p);
	if (pr != TFTP_PARSE_OK) {
		refuse(srv, a, op, NULL, TFTP_ERR_BADOP, tftp_parse_strerror(pr));
		return 0;
	}
	struct session *dally;
	int from_host = client_transfers(srv, peer, buf, len, &dally);
	if (from_host < 0)
		return 0;
	struct session_request req;
	struct client_where where;
	char clean[TFTP_FILENAME_MAX + 2];
	memset(&req, 0, sizeof(req));
	if (policy(srv, a, op, &p, &req, clean, sizeof(clean), &where) < 0)
		return 0;
	const char *full = local_limits(srv, (unsigned)from_host, dally);
	if (full) {
		refuse_why(srv, a, op, &p.filename, TFTP_ERR_UNDEF,
			   "server busy", full);
		return 0;
	}
	req.peer = peer;
	req.peerlen = a->peerlen;
	req.local = (const struct sockaddr *)&a->local;
	req.locallen = a->locallen;
	req.ifindex = a->ifindex;
	/* The source address matters only on a wildcard listener. */
	req.have_pktinfo = a->have_pktinfo && a->l->wildcard;
	req.shared_fd = srv->cfg->single_port ? a->l->fd : -1;
	req.is_write = op == TFTP_OP_WRQ;
	req.clean = clean;
	req.raw = buf;
	req.rawlen = len;
	return start(srv, a, op, &p.filename, &req);
}

/* Where the datagram was sent (IP_PKTINFO / IPV6_PKTINFO): the transfer
 * socket binds to that address, so answers come from where the client
 * sent its request. Without it: the listener's own address (a wildcard if
 * bound to one). */
static void arrival_local(const struct tftpd_listener *l, struct msghdr *m,
			  struct arrival *a)
{
	a->local = l->addr;
	a->locallen = l->addrlen;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
		    l->family == AF_INET) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			((struct sockaddr_in *)&a->local)->sin_addr =
				pi.ipi_spec_dst;
			a->ifindex = pi.ipi_ifindex;
			a->have_pktinfo = 1;
		} else if (c->cmsg_level == IPPROTO_IPV6 &&
			   c->cmsg_type == IPV6_PKTINFO &&
			   l->family == AF_INET6) {
			struct in6_pktinfo pi;
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a->local;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			s6->sin6_addr = pi.ipi6_addr;
			a->ifindex = (int)pi.ipi6_ifindex;
			/* A link-local address means nothing without its
			 * interface. */
			s6->sin6_scope_id = IN6_IS_ADDR_LINKLOCAL(&pi.ipi6_addr)
						    ? pi.ipi6_ifindex
						    : 0;
			a->have_pktinfo = 1;
		}
	}
}

/* One datagram from a listening socket into srv->buf, with where it came
 * from and went to. Its length; 0 to skip it; -1 when nothing is left. */
static ssize_t listen_recv(struct tftpd_listener *l, struct arrival *a)
{
	struct server *srv = l->srv;
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) +
			 CMSG_SPACE(sizeof(struct in_pktinfo))];
	} cbuf;
	struct iovec iov = {.iov_base = srv->buf, .iov_len = sizeof(srv->buf)};
	struct msghdr m;
	memset(&m, 0, sizeof(m));
	memset(a, 0, sizeof(*a));
	a->l = l;
	m.msg_name = &a->peer;
	m.msg_namelen = sizeof(a->peer);
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = cbuf.buf;
	m.msg_controllen = sizeof(cbuf.buf);
	ssize_t n = recvmsg(l->fd, &m, 0);
	if (n < 0)
		return errno == EINTR ? 0 : -1;
	if (m.msg_flags & MSG_TRUNC)
		return 0; /* larger than any request can be */
	a->peerlen = m.msg_namelen;
	arrival_local(l, &m, a);
	if (a->peer.ss_family != l->family)
		return 0;
	return n;
}

/* Run by inetd: once nothing has come for the idle time and no transfer
 * runs, exit; inetd starts a new one with the next request. */
static void arm_idle(struct server *srv)
{
	struct timeval tv = {.tv_sec = (time_t)srv->cfg->idle_exit_s};
	if (srv->ev_idle)
		evtimer_add(srv->ev_idle, &tv);
}

static void on_idle(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	(void)fd;
	(void)what;
	if (srv->table.count > 0) {
		arm_idle(srv);
		return;
	}
	tftp_logf(&srv->log, TFTP_LOG_INFO, "idle for %u s: exiting",
		  (unsigned)srv->cfg->idle_exit_s);
	srv->stopping = 1;
	event_base_loopbreak(srv->base);
}

/* --single-port: a datagram on the listening socket that is not a
 * request belongs to the transfer with its source's address and port.
 * From anyone else it gets no answer, as on a listener in the normal mode:
 * an ERROR 5 could reach a client that has just sent its next request
 * from that port and be taken for the answer to it. Returns 1 if the
 * datagram was taken (2: and the socket need not be read again now), 0
 * if it is a request. */
static int demux(struct server *srv, const struct arrival *a,
		 const uint8_t *buf, size_t len)
{
	uint16_t op = tftp_packet_opcode(buf, len);
	if (op == TFTP_OP_RRQ || op == TFTP_OP_WRQ)
		return 0;
	struct session *s = table_find(&srv->table,
				       (const struct sockaddr *)&a->peer);
	if (s && s->fd == a->l->fd) {
		/* Lockstep and alone: nothing else is queued (the peer waits
		 * for our answer); the caller need not ask for more. */
		int alone = srv->table.count == 1 && tftp_xfer_window(&s->x) <= 1;
		return session_input(s, buf, len) || !alone ? 1 : 2;
	}
	if (tftp_log_enabled(&srv->log, TFTP_LOG_DEBUG)) {
		char who[64];
		tftp_logf(&srv->log, TFTP_LOG_DEBUG, "%s: packet for no "
			  "transfer, ignored", tftp_sockaddr_str(
				  (const struct sockaddr *)&a->peer, who,
				  sizeof(who)));
	}
	return 1;
}

/* Read what a listening socket has queued, up to a batch. */
static void listen_drain(struct tftpd_listener *l)
{
	struct server *srv = l->srv;
	int started = 0;
	/* A bounded number of new transfers a turn: the transfers running
	 * get their turn in between. A fast client asks again as soon as it
	 * has sent its final ACK, and reading on here would start transfer
	 * after transfer while the finished ones wait unread, until the
	 * client is refused for having --max-per-client of them. */
	for (int i = 0; i < TFTPD_RECV_BATCH && started < LISTEN_STARTS_MAX;
	     i++) {
		struct arrival a;
		ssize_t n = listen_recv(l, &a);
		if (n < 0)
			break;
		int taken = srv->cfg->single_port
				    ? demux(srv, &a, srv->buf, (size_t)n) : 0;
		if (taken == 2)
			break;
		if (n == 0 || taken)
			continue;
		/* Shutting down (--single-port keeps the socket for the
		 * transfers that run): no new ones. */
		if (!srv->stopping)
			started += handle_request(srv, &a, srv->buf, (size_t)n);
	}
}

static void on_listen(evutil_socket_t fd, short what, void *arg)
{
	struct tftpd_listener *l = arg;
	(void)fd;
	(void)what;
	arm_idle(l->srv);
	listen_drain(l);
}

/* ---- listening sockets ------------------------------------------------- */

static const char *bind_hint(int e, const struct sockaddr *sa);

/* Room for a burst of requests; with --single-port for every transfer's
 * windows both ways. */
static void listener_buffers(const struct server *srv, int fd)
{
	tftp_sock_buffer(fd, 1, srv->cfg->single_port ? 8u << 20 : 1u << 20);
	if (srv->cfg->single_port)
		tftp_sock_buffer(fd, 0, 8u << 20);
}

/* On a wildcard listener, where each request was sent (IP_PKTINFO /
 * IPV6_PKTINFO): the answers come from there. A listener bound to one
 * address has it already, and is spared the work per datagram. */
static int want_pktinfo(int fd, const struct sockaddr *sa)
{
	int one = 1;
	if (!tftp_sockaddr_is_any(sa))
		return 0;
	return sa->sa_family == AF_INET6
		       ? setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one,
				    sizeof(one))
		       : setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
}

/* A bound listening socket for sa, or -1 after logging why. */
static int listen_socket(struct server *srv, const struct sockaddr *sa,
			 socklen_t len, const char *where)
{
	int one = 1;
	int fd = socket(sa->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		tftp_logf(&srv->log, TFTP_LOG_ERR, "socket for %s: %s", where,
			  strerror(errno));
		return -1;
	}
	const char *what = "packet info";
	int rc;
	if (sa->sa_family == AF_INET6) {
		/* One socket per family: IPv4 requests come to the IPv4
		 * socket with plain IPv4 addresses, not v4-mapped ones. */
		rc = setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		if (rc == 0)
			rc = want_pktinfo(fd, sa);
	} else {
		rc = want_pktinfo(fd, sa);
	}
	/* --workers: every worker binds its own socket to the same address
	 * and the kernel spreads the clients over them. */
	if (rc == 0 && srv->cfg->workers > 1) {
		what = "SO_REUSEPORT";
		rc = setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	}
	/* Room for a burst of requests; with --single-port for every
	 * transfer's windows both ways. */
	listener_buffers(srv, fd);
	if (rc == 0) {
		what = "cannot listen";
		rc = bind(fd, sa, len);
	}
	if (rc < 0) {
		int e = errno;
		tftp_logf(&srv->log, TFTP_LOG_ERR, "%s on %s: %s%s", what, where,
			  strerror(e), bind_hint(e, sa));
		close(fd);
		return -1;
	}
	return fd;
}

/* What an admin needs to know when the port cannot be had. */
static const char *bind_hint(int e, const struct sockaddr *sa)
{
	if (e == EACCES && tftp_sockaddr_port(sa) < 1024)
		return " (a port below 1024 needs root or the "
		       "CAP_NET_BIND_SERVICE capability)";
	if (e == EADDRINUSE)
		return " (another TFTP server holds the port: tftpd-hpa, "
		       "atftpd, dnsmasq or inetd; see ss -ulpn)";
	return "";
}

static int register_listener(struct server *srv, int fd,
			     const struct sockaddr *sa, socklen_t len,
			     const char *where);

static int add_listener(struct server *srv, const struct sockaddr *sa,
			socklen_t len)
{
	char where[80];
	tftp_sockaddr_str(sa, where, sizeof(where));
	if (srv->nlisteners >= TFTPD_MAX_LISTEN) {
		tftp_logf(&srv->log, TFTP_LOG_ERR, "too many listening addresses");
		return -1;
	}
	int fd = listen_socket(srv, sa, len, where);
	if (fd < 0)
		return -1;
	return register_listener(srv, fd, sa, len, where);
}

/* Watch a bound socket for requests. */
static int register_listener(struct server *srv, int fd,
			     const struct sockaddr *sa, socklen_t len,
			     const char *where)
{
	struct tftpd_listener *l = &srv->listeners[srv->nlisteners];
	l->srv = srv;
	l->fd = fd;
	l->family = sa->sa_family;
	l->wildcard = tftp_sockaddr_is_any(sa);
	memcpy(&l->addr, sa, len);
	l->addrlen = len;
	l->ev = event_new(srv->base, fd, EV_READ | EV_PERSIST, on_listen, l);
	if (!l->ev || event_add(l->ev, NULL) < 0) {
		tftp_logf(&srv->log, TFTP_LOG_ERR, "event for %s", where);
		if (l->ev)
			event_free(l->ev);
		close(fd);
		return -1;
	}
	srv->nlisteners++;
	tftp_logf(&srv->log, TFTP_LOG_INFO, "listening on %s", where);
	return 0;
}

static int listen_wildcard(struct server *srv, int family, uint16_t port,
			   int optional)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = (sa_family_t)family;
	if (family == AF_INET6)
		((struct sockaddr_in6 *)&ss)->sin6_addr = in6addr_any;
	tftp_sockaddr_set_port((struct sockaddr *)&ss, port);
	if (optional) {
		/* "All addresses" on a host without IPv6: IPv4 only. */
		int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return 0;
		close(fd);
	}
	return add_listener(srv, (struct sockaddr *)&ss,
			    tftp_sockaddr_len((struct sockaddr *)&ss));
}

/* -a [::ffff:192.0.2.1]: an IPv4 address written as IPv6 (as some tools
 * print them) is listened on as that IPv4 address; an IPv6-only socket
 * cannot bind it. Returns the length of *out. */
static socklen_t unmap_v4(struct sockaddr *out, const struct sockaddr *in,
			  socklen_t len)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)in;
	if (in->sa_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		memcpy(out, in, len);
		return len;
	}
	struct sockaddr_in v4;
	memset(&v4, 0, sizeof(v4));
	v4.sin_family = AF_INET;
	memcpy(&v4.sin_addr, &s6->sin6_addr.s6_addr[12], 4);
	memcpy(out, &v4, sizeof(v4));
	return (socklen_t)sizeof(v4);
}

static int listen_spec(struct server *srv, const struct tftpd_listen_spec *sp)
{
	const struct tftpd_config *cfg = srv->cfg;
	if (!sp->host[0]) {
		if (cfg->family != AF_UNSPEC)
			return listen_wildcard(srv, cfg->family, sp->port, 0);
		if (listen_wildcard(srv, AF_INET6, sp->port, 1) < 0)
			return -1;
		return listen_wildcard(srv, AF_INET, sp->port, 0);
	}
	/* Resolved once, at start-up, before the loop runs. */
	struct addrinfo hints, *res, *ai;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = cfg->family;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_PASSIVE;
	int rc = getaddrinfo(sp->host, NULL, &hints, &res);
	if (rc != 0) {
		tftp_logf(&srv->log, TFTP_LOG_ERR, "address %s: %s", sp->host,
			  gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
			continue;
		struct sockaddr_storage ss;
		socklen_t len = unmap_v4((struct sockaddr *)&ss, ai->ai_addr,
					 ai->ai_addrlen);
		tftp_sockaddr_set_port((struct sockaddr *)&ss, sp->port);
		if (add_listener(srv, (struct sockaddr *)&ss, len) < 0) {
			freeaddrinfo(res);
			return -1;
		}
	}
	freeaddrinfo(res);
	return 0;
}

/* A socket systemd passed (tftpd.socket, ListenDatagram=): it must be a
 * bound UDP socket; it gets the packet-info option here. */
static int adopt_listener(struct server *srv, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int type = 0;
	socklen_t tl = sizeof(type);
	char where[80];
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 ||
	    type != SOCK_DGRAM ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0 ||
	    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)) {
		tftp_logf(&srv->log, TFTP_LOG_ERR, "socket %d from systemd is "
			  "not a UDP socket (ListenDatagram= in the .socket)",
			  fd);
		return -1;
	}
	tftp_sockaddr_str((struct sockaddr *)&ss, where, sizeof(where));
	listener_buffers(srv, fd);
	int rc = want_pktinfo(fd, (struct sockaddr *)&ss);
	int fl = fcntl(fd, F_GETFL);
	if (rc < 0 || fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    srv->nlisteners >= TFTPD_MAX_LISTEN) {
		tftp_logf(&srv->log, TFTP_LOG_ERR, "socket %d (%s) from "
			  "systemd: cannot use it", fd, where);
		return -1;
	}
	return register_listener(srv, fd, (struct sockaddr *)&ss, len, where);
}

/* The listening sockets: systemd's if it passed any (-a is then ignored),
 * else those of -a (or every address, port 69). */
static int open_listeners(struct server *srv)
{
	const struct tftpd_config *cfg = srv->cfg;
	static const struct tftpd_listen_spec dflt = {"", TFTP_PORT};
	int passed = systemd_listen_fds();
	for (int i = 0; i < passed; i++)
		if (adopt_listener(srv, TFTPD_LISTEN_FDS_START + i) < 0)
			return -1;
	/* Run by inetd (tftp-hpa's way without -l): the socket is stdin. */
	if (cfg->inetd && !passed)
		return adopt_listener(srv, STDIN_FILENO);
	if (passed && cfg->nlisten)
		tftp_logf(&srv->log, TFTP_LOG_INFO, "sockets from systemd: "
			  "-a ignored");
	if (!passed && cfg->nlisten == 0 && listen_spec(srv, &dflt) < 0)
		return -1;
	for (size_t i = 0; !passed && i < cfg->nlisten; i++)
		if (listen_spec(srv, &cfg->listen[i]) < 0)
			return -1;
	if (srv->nlisteners == 0) {
		tftp_logf(&srv->log, TFTP_LOG_ERR, "no address to listen on");
		return -1;
	}
	return 0;
}

/* ---- signals and shutdown ---------------------------------------------- */

static void abort_all(struct server *srv)
{
	/* session_abort ends the session, which unlinks it from the list. */
	while (srv->table.all)
		session_abort(srv->table.all, "Server shutting down");
}

static void on_grace(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	(void)fd;
	(void)what;
	tftp_logf(&srv->log, TFTP_LOG_INFO,
		  "grace period over: aborting %zu transfer(s)", srv->table.count);
	abort_all(srv);
	event_base_loopbreak(srv->base);
}

static void close_listeners(struct server *srv)
{
	for (size_t i = 0; i < srv->nlisteners; i++) {
		struct tftpd_listener *l = &srv->listeners[i];
		if (l->ev)
			event_free(l->ev);
		if (l->fd >= 0)
			close(l->fd);
		l->ev = NULL;
		l->fd = -1;
	}
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;
	(void)what;
	if (srv->stopping) {
		/* A second signal: no more waiting. */
		tftp_logf(&srv->log, TFTP_LOG_INFO, "signal %d again: aborting",
			  (int)sig);
		abort_all(srv);
		event_base_loopbreak(srv->base);
		return;
	}
	srv->stopping = 1;
	systemd_notify("STOPPING=1");
	/* --single-port: the running transfers use them. */
	if (!srv->cfg->single_port)
		close_listeners(srv);
	/* A dallying upload is complete and in place: nothing to wait for. */
	for (struct session *s = srv->table.all, *next; s; s = next) {
		next = s->next;
		if (tftp_xfer_dallying(&s->x))
			session_abort(s, NULL);
	}
	tftp_logf(&srv->log, TFTP_LOG_INFO,
		  "signal %d: not accepting requests; %zu transfer(s) running",
		  (int)sig, srv->table.count);
	if (srv->table.count == 0) {
		event_base_loopbreak(srv->base);
		return;
	}
	struct timeval tv = {.tv_sec = (time_t)(srv->cfg->grace_ms / 1000u),
			     .tv_usec = (suseconds_t)((srv->cfg->grace_ms % 1000u) *
						      1000u)};
	evtimer_add(srv->ev_grace, &tv);
}

static void reload_remap(struct server *srv);
static void reload_clientmap(struct server *srv);
static void reopen(struct server *srv);

/* SIGHUP, as from systemd's ExecReload or logrotate: transfers go on.
 * The remap file is read again (a bad one leaves the old rules); what can
 * change under a running server is re-opened: the syslog connection
 * (syslogd restarted) and the root directory (a new mount or a replaced
 * directory at the same path). Not after --chroot: the root's path is not
 * reachable any more (a remap file is, if it is inside). */
static void on_reload(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;
	(void)sig;
	(void)what;
	systemd_notify("RELOADING=1");
	reload_remap(srv);
	reload_clientmap(srv);
	reopen(srv);
	systemd_notify("READY=1");
}

/* The remap file read again; a bad new one is reported and the rules in
 * force stay. */
static void reload_remap(struct server *srv)
{
	const char *path = srv->cfg->remap_file;
	char why[512];
	if (!path)
		return;
	struct remap *r = remap_load(path, why, sizeof(why));
	if (!r) {
		tftp_logf(&srv->log, TFTP_LOG_WARN,
			  "SIGHUP: remap file %s; the %u rules read before "
			  "stay", why, remap_count(srv->remap));
		return;
	}
	remap_free(srv->remap);
	srv->remap = r;
	tftp_logf(&srv->log, TFTP_LOG_INFO, "SIGHUP: remap file %s: %u rules",
		  path, remap_count(r));
}

/* The client map read again, the same way. Sessions hold no pointer
 * into it after their start, so the old one can go at once. */
static void reload_clientmap(struct server *srv)
{
	const char *path = srv->cfg->client_root_map;
	char why[512];
	if (!path)
		return;
	struct clientmap *m = clientmap_load(path, why, sizeof(why));
	if (!m) {
		tftp_logf(&srv->log, TFTP_LOG_WARN, "SIGHUP: client map %s: %s; "
			  "the %u networks read before stay", path, why,
			  clientmap_count(srv->cmap));
		return;
	}
	clientmap_free(srv->cmap);
	srv->cmap = m;
	tftp_logf(&srv->log, TFTP_LOG_INFO, "SIGHUP: client map %s: %u "
		  "networks", path, clientmap_count(m));
}

static void reopen(struct server *srv)
{
	const struct tftpd_config *cfg = srv->cfg;
	if (cfg->chroot) {
		tftp_logf(&srv->log, TFTP_LOG_INFO,
			  "SIGHUP: nothing to reopen inside --chroot; "
			  "%zu transfer(s) go on", srv->table.count);
		return;
	}
	if (cfg->use_syslog) {
		closelog();
		openlog("tftpd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	}
	int fd = open(cfg->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		tftp_logf(&srv->log, TFTP_LOG_WARN,
			  "SIGHUP: root %s: %s (still serving the old one)",
			  cfg->root, strerror(errno));
		return;
	}
	close(srv->root.dirfd);
	srv->root.dirfd = fd;
	tftp_logf(&srv->log, TFTP_LOG_INFO,
		  "SIGHUP: reopened the log and the root %s; %zu transfer(s) "
		  "go on", cfg->root, srv->table.count);
}

/* ---- life cycle -------------------------------------------------------- */

void server_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
}

/* The root, and --upload-dir's, opened before any chroot or privilege
 * drop. */
static int open_roots(struct server *srv)
{
	const struct tftpd_config *cfg = srv->cfg;
	if (fsroot_init(&srv->root, cfg->root) < 0) {
		tftp_logf(&srv->log, TFTP_LOG_ERR, "root %s: %s", cfg->root,
			  strerror(errno));
		return -1;
	}
	srv->root.permissive = cfg->permissive;
	srv->root.no_create = cfg->no_create;
	if (!cfg->upload_dir)
		return 0;
	if (fsroot_init(&srv->uproot, cfg->upload_dir) < 0) {
		tftp_logf(&srv->log, TFTP_LOG_ERR, "--upload-dir %s: %s",
			  cfg->upload_dir, strerror(errno));
		return -1;
	}
	srv->uproot.permissive = cfg->permissive;
	srv->uproot.no_create = cfg->no_create;
	return 0;
}

/* The remap rules and the client map, each reported with its size. */
static int load_policy(struct server *srv)
{
	const struct tftpd_config *cfg = srv->cfg;
	char why[512];
	if (cfg->remap_file) {
		srv->remap = remap_load(cfg->remap_file, why, sizeof(why));
		if (!srv->remap) {
			tftp_logf(&srv->log, TFTP_LOG_ERR, "remap file %s", why);
			return -1;
		}
		tftp_logf(&srv->log, TFTP_LOG_INFO, "remap file %s: %u rules",
			  cfg->remap_file, remap_count(srv->remap));
	}
	if (cfg->client_root_map) {
		srv->cmap = clientmap_load(cfg->client_root_map, why, sizeof(why));
		if (!srv->cmap) {
			tftp_logf(&srv->log, TFTP_LOG_ERR, "client map %s: %s",
				  cfg->client_root_map, why);
			return -1;
		}
		tftp_logf(&srv->log, TFTP_LOG_INFO, "client map %s: %u "
			  "networks", cfg->client_root_map,
			  clientmap_count(srv->cmap));
	}
	if (cfg->windows_names && !(srv->fs.ci = ci_cache_new())) {
		tftp_logf(&srv->log, TFTP_LOG_ERR, "out of memory");
		return -1;
	}
	return 0;
}

/* --origin: the sessions' source becomes the origin, the root behind
 * it. */
static int setup_origin(struct server *srv)
{
	const struct tftpd_config *cfg = srv->cfg;
	struct origin_config oc = {
		.url = cfg->origin_url,
		.only = cfg->origin_only,
		.ca = cfg->origin_ca,
		.connect_timeout_s = cfg->origin_connect_timeout_s,
		.timeout_s = cfg->origin_timeout_s,
		.put = cfg->origin_put,
		.cache_dir = cfg->cache_dir,
		.cache_size = cfg->cache_size,
		.cache_ttl_s = cfg->cache_ttl_s,
		.owner = cfg->run_uid,
		.group = cfg->run_gid,
	};
	source_fs_init(&srv->fs_source, &srv->fs);
	srv->origin = origin_new(srv->base, &oc, &srv->fs_source, &srv->log,
				 srv->metrics);
	if (!srv->origin)
		return -1;
	origin_source_init(&srv->source, srv->origin);
	char shown[512];
	tftp_log_escape(cfg->origin_url, strlen(cfg->origin_url), shown,
			sizeof(shown));
	tftp_logf(&srv->log, TFTP_LOG_INFO, "origin %s%s%s%s", shown,
		  cfg->origin_only ? " for every read" : " behind the root",
		  cfg->origin_put ? ", uploads by PUT" : "",
		  cfg->cache_dir ? ", cached" : "");
	return 0;
}

int server_init(struct server *srv, const struct tftpd_config *cfg)
{
	/* srv->log is set by the caller. */
	srv->cfg = cfg;
	srv->root.dirfd = srv->root.spooldir = -1;
	srv->uproot.dirfd = srv->uproot.spooldir = -1;
	for (size_t i = 0; i < TFTPD_MAX_LISTEN; i++)
		srv->listeners[i].fd = -1;
	srv->base = event_base_new();
	if (table_init(&srv->table, cfg->max_transfers, srv->limits) < 0 ||
	    !srv->base) {
		tftp_logf(&srv->log, TFTP_LOG_ERR, "out of memory");
		return -1;
	}
	if (open_roots(srv) < 0 || load_policy(srv) < 0)
		return -1;
	env_init(srv);
	if (cfg->origin_url && setup_origin(srv) < 0)
		return -1;
	if (open_listeners(srv) < 0)
		return -1;
	if (cfg->hook_cmd && !(srv->hook = hook_new(srv->base, cfg, &srv->log)))
		return -1;
	if (cfg->metrics &&
	    !(srv->mhttp = metrics_http_start(srv->base, cfg->metrics_host,
					      cfg->metrics_port,
					      cfg->workers > 1, srv->metrics,
					      &srv->log)))
		return -1;
	if (cfg->inetd && cfg->idle_exit_s) {
		srv->ev_idle = evtimer_new(srv->base, on_idle, srv);
		if (!srv->ev_idle)
			return -1;
		arm_idle(srv);
	}
	srv->ev_sigterm = evsignal_new(srv->base, SIGTERM, on_signal, srv);
	srv->ev_sigint = evsignal_new(srv->base, SIGINT, on_signal, srv);
	srv->ev_sighup = evsignal_new(srv->base, SIGHUP, on_reload, srv);
	srv->ev_grace = evtimer_new(srv->base, on_grace, srv);
	if (!srv->ev_sigterm || !srv->ev_sigint || !srv->ev_sighup ||
	    !srv->ev_grace || evsignal_add(srv->ev_sigterm, NULL) < 0 ||
	    evsignal_add(srv->ev_sigint, NULL) < 0 ||
	    evsignal_add(srv->ev_sighup, NULL) < 0) {
		tftp_logf(&srv->log, TFTP_LOG_ERR, "cannot set up signals");
		return -1;
	}
	/* main (and a worker, workers.c) starts with these blocked so that
	 * a signal before this point waits instead of killing a half-made
	 * server (leaving files behind); from here on the loop handles them. */
	sigset_t stop;
	server_signals(&stop);
	sigprocmask(SIG_UNBLOCK, &stop, NULL);
	return 0;
}

void server_ready(struct server *srv)
{
	const struct tftpd_config *cfg = srv->cfg;
	/* Not over a whole file system (tftp-hpa's mode without -s serves
	 * "/"): the walk would take minutes. */
	int whole_fs = strcmp(cfg->root, "/") == 0;
	if (cfg->allow_write) {
		fsroot_probe_tmpfile(srv->fs.uproot);
		unsigned stale = whole_fs && !cfg->upload_dir
					 ? 0
					 : fsroot_clean_stale(srv->fs.uproot);
		if (stale)
			tftp_logf(&srv->log, TFTP_LOG_INFO,
				  "removed %u temporary upload file(s) left by a "
				  "server that was killed", stale);
	}
	/* How uploads are stored is only probed (and only worth saying)
	 * with -w. */
	const char *uploads = !cfg->allow_write ? ""
			      : srv->fs.uproot->link == FSROOT_LINK_NONE
				      ? ", uploads via hidden temporary names"
				      : ", uploads via O_TMPFILE";
	tftp_logf(&srv->log, TFTP_LOG_INFO, "serving %s (%s)%s, %s, as %s",
		  cfg->root,
		  !cfg->allow_write ? "read-only"
		  : cfg->no_create ? "writes to existing files only"
		  : cfg->allow_overwrite ? "writes, overwrite allowed"
					 : "writes, new files only",
		  uploads,
		  srv->root.use_openat2 ? "openat2 confinement"
					: "component-walk confinement",
		  cfg->user ? cfg->user : "the invoking user");
	/* Type=notify: the sockets are bound and privileges dropped; the
	 * status line is what systemctl status shows. */
	char state[600];
	snprintf(state, sizeof(state), "READY=1\nSTATUS=serving %s on %zu "
		 "socket(s)", cfg->root, srv->nlisteners);
	systemd_notify(state);
}

/* A lockstep transfer waits for its peer after every packet, and a peer
 * that answers at once answers in microseconds, sooner than a sleeping CPU
 * wakes up for it (on a virtual machine that alone can take 100 us, many
 * round trips). So while only a few transfers run, the loop polls without
 * sleeping until SPIN_US have passed without a datagram, and only then
 * sleeps. With more transfers the loop is rarely idle anyway, and an idle
 * server never spins. While spinning, the transfer sockets are read
 * directly, so a datagram costs its recvfrom alone and not an epoll_wait
 * as well; the loop itself (timers, new requests, signals) still runs at
 * least every SPIN_LOOP_US. */
#define SPIN_US 100u
#define SPIN_LOOP_US 250u
#define SPIN_MAX_SESSIONS 4u

static void poll_sessions(struct server *srv)
{
	for (size_t i = 0; srv->cfg->single_port && i < srv->nlisteners; i++)
		if (srv->listeners[i].fd >= 0)
			listen_drain(&srv->listeners[i]);
	for (struct session *s = srv->table.all, *next; s; s = next) {
		next = s->next; /* s may end and be freed */
		session_poll(s);
	}
}

/* Returns -1 on a loop failure, 1 when the loop was told to stop. */
static int spin(struct server *srv)
{
	/* t: the time at the end of the last turn (one clock read a turn) */
	uint64_t seen = srv->env.activity, t = tftp_now_us(), last = t, looped = t;
	while (srv->table.count > 0 && srv->table.count <= SPIN_MAX_SESSIONS) {
		if (t - looped >= SPIN_LOOP_US) {
			if (event_base_loop(srv->base, EVLOOP_NONBLOCK) < 0)
				return -1;
			if (event_base_got_break(srv->base) ||
			    event_base_got_exit(srv->base))
				return 1;
			looped = t;
		} else {
			poll_sessions(srv);
		}
		t = tftp_now_us();
		if (srv->env.activity != seen) {
			seen = srv->env.activity;
			last = t;
			continue; /* an answer went out: the next comes soon */
		}
		if (t - last >= SPIN_US)
			break;
		/* On a busy machine the peer may be waiting for this CPU:
		 * let it run (on an idle one this returns at once). */
		sched_yield();
	}
	return 0;
}

int server_run(struct server *srv)
{
	for (;;) {
		int rc = event_base_loop(srv->base, EVLOOP_ONCE);
		if (rc == 0 && !event_base_got_break(srv->base) &&
		    !event_base_got_exit(srv->base))
			rc = spin(srv);
		if (rc < 0) {
			tftp_logf(&srv->log, TFTP_LOG_ERR, "event loop failed");
			return -1;
		}
		if (rc > 0 || event_base_got_break(srv->base) ||
		    event_base_got_exit(srv->base))
			return 0; /* stopped, or nothing left to wait for */
	}
}

void server_fini(struct server *srv)
{
	abort_all(srv);
	close_listeners(srv);
	origin_free(srv->origin); /* after the sessions: they read from it */
	srv->origin = NULL;
	metrics_http_stop(srv->mhttp);
	srv->mhttp = NULL;
	hook_free(srv->hook);
	srv->hook = NULL;
	if (srv->ev_sigterm)
		event_free(srv->ev_sigterm);
	if (srv->ev_sigint)
		event_free(srv->ev_sigint);
	if (srv->ev_sighup)
		event_free(srv->ev_sighup);
	srv->ev_sighup = NULL;
	if (srv->ev_grace)
		event_free(srv->ev_grace);
	if (srv->ev_idle)
		event_free(srv->ev_idle);
	srv->ev_idle = NULL;
	srv->ev_sigterm = srv->ev_sigint = srv->ev_grace = NULL;
	if (srv->base)
		event_base_free(srv->base);
	srv->base = NULL;
	table_fini(&srv->table);
	remap_free(srv->remap);
	srv->remap = NULL;
	clientmap_free(srv->cmap);
	srv->cmap = NULL;
	ci_cache_free(srv->fs.ci);
	srv->fs.ci = NULL;
	fsroot_fini(&srv->root);
	if (srv->uproot.dirfd >= 0)
		fsroot_fini(&srv->uproot);
}
