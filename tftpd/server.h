/* The server: one libevent loop, the listening sockets, the table of live
 * transfers, limits and shutdown. Each transfer is a struct session
 * (session.h). */
#ifndef TFTPD_SERVER_H
#define TFTPD_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/types.h>

#include "batch.h"
#include "settings.h"
#include "fsroot.h"
#include "log.h"
#include "packet.h"
#include "session.h"
#include "source.h"
#include "table.h"

struct event_base;
struct event;

struct tftpd_listener {
	struct server *srv;
	int fd;
	int family;
	int wildcard;             /* bound to 0.0.0.0 or :: */
	struct sockaddr_storage addr; /* as bound (may be a wildcard) */
	socklen_t addrlen;
	struct event *ev;
};

struct server {
	const struct tftpd_config *cfg;
	struct tftp_log log;
	struct event_base *base;
	struct fsroot root;
	struct remap *remap;       /* --remap rules, or NULL */
	struct fsroot uproot;      /* --upload-dir (dirfd -1 without) */
	struct clientmap *cmap;    /* --client-root-map, or NULL */
	struct fs_source fs;       /* the root as the sessions' source */
	struct source source;      /* what sessions use: fs, or the origin */
	struct source fs_source;   /* the root, behind the origin */
	struct origin *origin;     /* --origin, or NULL */
	struct tftpd_limits *limits; /* shared by the workers (limits.h) */
	struct tftpd_metrics *metrics; /* shared too; NULL without --metrics */
	struct metrics_http *mhttp;
	struct hook *hook;         /* --on-complete, or NULL */

	struct tftpd_listener listeners[TFTPD_MAX_LISTEN];
	size_t nlisteners;
	struct event *ev_sigterm, *ev_sigint, *ev_sighup, *ev_grace;
	struct event *ev_idle;     /* inetd mode: exit when idle */
	int stopping;

	struct session_table table; /* the live transfers */
	/* What sessions get of the server (session.h): its loop, config,
	 * log, source, buffers, and the call back when one ends. */
	struct session_env env;

	/* Every datagram is received into this one buffer (no allocation per
	 * packet); one more byte than the largest valid packet so an
	 * oversized datagram is recognisable. */
	uint8_t buf[TFTP_PACKET_MAX + 1];
	struct tftpd_batch batch;
};

/* Open the root and bind the listening sockets (before any privilege
 * drop). Returns 0, or -1 after logging why. */
/* The signals the server handles in its loop (TERM, INT: stop; HUP:
 * reopen), blocked from the start of main until server_init. */
void server_signals(sigset_t *set);
int server_init(struct server *srv, const struct tftpd_config *cfg);
/* After chroot/setuid: things that depend on the final credentials. */
void server_ready(struct server *srv);
/* Run the loop until a signal stops it and every transfer is gone. */
int server_run(struct server *srv);
void server_fini(struct server *srv);

#endif
