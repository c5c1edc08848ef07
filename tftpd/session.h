/* One transfer: its own UDP socket (bound to the local address the request
 * came to), a timer, the open file or upload, and the engine driving them.
 * A session is created fully set up or not at all, and every way it ends
 * goes through one function that logs, unlinks and frees it. */
#ifndef TFTPD_SESSION_H
#define TFTPD_SESSION_H

#include <stdint.h>
#include <sys/socket.h>

#include "batch.h"
#include "settings.h"
#include "sock.h"
#include "log.h"
#include "options.h"
#include "packet.h"
#include "source.h"
#include "xfer.h"

struct event;
struct event_base;
struct session;
struct xfer_record;

/* What the server hands its sessions, and all they see of it: sessions
 * know nothing of the server, its table or its listeners. */
struct session_env {
	struct event_base *base;
	const struct tftpd_config *cfg;
	const struct tftp_log *log;
	const struct source *src;  /* where files come from and go to */
	struct tftpd_batch *batch; /* one per loop: DATA windows go out here */
	uint8_t *buf;              /* the loop's receive buffer */
	size_t bufcap;
	uint64_t activity;         /* datagrams from peers (for the spin) */
	uint32_t port_cursor;      /* next try in --port-range */
	size_t sendfile_max;       /* TFTPD_SENDFILE_MAX (tests): cap a call */
	/* A session is set up and about to send its first packet: the
	 * server enters it in its table. */
	void (*begun)(void *ctx, struct session *s);
	/* Its transfer begins (counted); for most sessions just after
	 * begun, for one whose source had to wait, when it answered. */
	void (*started)(void *ctx, struct session *s);
	/* The source failed a request that had to wait for it: the ERROR
	 * went to the client; the server logs and counts the refusal (the
	 * session then ends without a transfer line). */
	void (*refused)(void *ctx, const struct session *s,
			const struct tftp_err *err);
	/* A live session has ended and is about to be freed: the server
	 * takes it out of its table. */
	void (*ended)(void *ctx, struct session *s);
	/* A transfer's outcome is known (its log line is out): metrics and
	 * the --on-complete hook. May be NULL. */
	void (*finished)(void *ctx, const struct xfer_record *r);
	void *ctx;
};

struct session {
	struct session_env *env;
	/* The server's table (table.c) links it by these. */
	struct session *prev, *next;  /* the list of all sessions */
	struct session *hnext;        /* hash chain (by client) */
	size_t bucket;
	struct session *tnext;        /* hash chain (by address:port) */
	size_t tid_bucket;

	int fd;                       /* the transfer socket (our TID) */
	int shared;                   /* fd is the listener's (--single-port) */
	struct udp_from from;         /* shared: the source address to use */
	struct event *ev_read, *ev_timer;
	/* The source's news (src_wake), delivered from the loop. */
	struct event *ev_wake;
	/* The source is opening the file (SRC_PENDING): no engine yet; the
	 * request waits in pend, the session already holds its socket and
	 * its place in the table (a repeated request is a repeat). */
	int opening;
	struct session_pending *pend;
	int committing;               /* WRQ: the source is storing it */
	struct sockaddr_storage peer;
	socklen_t peerlen;

	int is_write;
	int logged;                   /* its one log line is out */
	struct src_file file;         /* RRQ: the file */
	/* RRQ with small blocks: the file read ahead, [ra_off, +ra_len) */
	uint8_t *ra;
	uint64_t ra_off;
	size_t ra_len;
	struct src_upload up;         /* WRQ: the upload */

	/* UDP GSO failed on this socket (old kernel, blocks larger than the
	 * path MTU): windows go out with sendmmsg instead. */
	int no_gso;
	int by_sendfile;              /* RRQ: large DATA straight from the file */

	/* ERROR 5 to strangers, at most a few per second (no loops with
	 * another server, no reflection). */
	struct tftp_stranger_budget strangers;

	/* The request that started it (FNV-1a of its bytes): a different
	 * one from the same port, before the client answered us, replaces
	 * this session (a PXE ROM's abandoned tsize probe). */
	uint64_t req_hash;
	int replaced;
	uint64_t start_us;            /* for the log line's duration */

	struct tftp_xfer x;
	char peer_str[64];
	char name[];                  /* the cleaned file name */
};

struct session_request {
	const struct sockaddr *peer;
	socklen_t peerlen;
	const struct sockaddr *local; /* the address the request came to */
	socklen_t locallen;
	int ifindex, have_pktinfo;    /* of local, as the kernel said */
	int shared_fd;                /* --single-port: the listener, else -1 */
	int is_write;
	enum tftp_mode mode;
	const char *clean;            /* fsroot_clean_name's result */
	const char *client_dir;       /* tried first (--client-root), or NULL */
	const char *client_mac;       /* its hardware address, or NULL */
	uint32_t max_blksize;         /* this client's caps (0: the server's) */
	uint32_t max_window;
	struct tftp_opts opts;        /* the request's options */
	const uint8_t *raw;           /* the request datagram */
	size_t rawlen;
};

/* Set up and start a transfer. Returns 0 once it runs (it is in the
 * server's table; it may even have finished already), or -1 with the ERROR
 * to answer the request with in *err (nothing was left open). */
int session_start(struct session_env *env, const struct session_request *req,
		  struct tftp_err *err);

/* End a session now: a running transfer gets ERROR 0 with why (NULL: the
 * default message); a dallying upload, already complete, just ends. */
void session_abort(struct session *s, const char *why);
/* A new request from this session's client address and port: 1 if it
 * replaced the session (it differs from the one that started it and the
 * client never answered us, so the client has given this transfer up and
 * sent no ERROR, as many PXE ROMs do after a tsize probe; or, on the
 * shared socket of --single-port, the client answered this transfer and
 * so has moved on to a next command), 0 if the
 * session goes on (an identical request is a retransmission). */
int session_replace_by(struct session *s, const uint8_t *req, size_t len);
uint64_t session_request_hash(const uint8_t *req, size_t len);
/* A datagram from the session's peer that arrived on the shared socket
 * (--single-port). Returns 1 if the session ended and is freed, else 0. */
int session_input(struct session *s, const uint8_t *pkt, size_t len);
/* Read what is queued on the transfer socket now, as its read event
 * would (the server's spin calls it without asking epoll first).
 * Returns 1 if the session ended and is freed, else 0. */
int session_poll(struct session *s);

#endif
