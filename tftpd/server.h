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

#include "fsroot.h"
#include "log.h"
#include "packet.h"

struct event_base;
struct event;
struct session;

#define TFTPD_MAX_LISTEN 16
#define TFTPD_HOST_MAX 256

/* One -a argument: host ("" = every address) and port. */
struct tftpd_listen_spec {
	char host[TFTPD_HOST_MAX];
	uint16_t port;
};

struct tftpd_config {
	const char *root;
	struct tftpd_listen_spec listen[TFTPD_MAX_LISTEN];
	size_t nlisten;
	int family;                /* AF_UNSPEC, or AF_INET (-4) / AF_INET6 (-6) */
	int allow_write;
	int allow_overwrite;
	uint16_t port_lo, port_hi; /* 0, 0: the kernel picks */
	uint32_t max_blksize;
	uint32_t max_window;
	int no_options;
	uint32_t timeout_s;
	uint32_t max_timeout_s;    /* larger timeout options are declined */
	uint32_t retries;
	unsigned max_transfers;
	unsigned max_per_client;
	unsigned client_prefix6;   /* IPv6 clients counted per this prefix */
	uint64_t max_upload;       /* 0: unlimited */
	mode_t umask;
	const char *user;
	int permissive;            /* -p: no world-readable/-writable rule */
	int chroot;
	int verbosity;             /* number of -v */
	int use_syslog;
	uint32_t grace_ms;         /* after SIGTERM/SIGINT */
	unsigned workers;          /* --workers: >1 binds with SO_REUSEPORT */
};

struct tftpd_listener {
	struct server *srv;
	int fd;
	int family;
	struct sockaddr_storage addr; /* as bound (may be a wildcard) */
	socklen_t addrlen;
	struct event *ev;
};

/* A window of small DATA packets on its way out in one system call
 * (session.c: batch_add, batch_flush). One per server: a session's packets
 * are collected while the engine runs and sent before it returns. */
#define TFTPD_BATCH_BYTES 65000u  /* one GSO send stays below the IP limit */
#define TFTPD_BATCH_MAX 64u       /* segments per send (UDP_MAX_SEGMENTS) */
struct tftpd_batch {
	struct session *owner;
	size_t len;                /* bytes collected */
	size_t seg;                /* the size of every packet but the last */
	unsigned count;
	int closed;                /* a shorter packet came: it ends the batch */
	uint8_t buf[TFTPD_BATCH_BYTES];
};

struct server {
	const struct tftpd_config *cfg;
	struct tftp_log log;
	struct event_base *base;
	struct fsroot root;
	struct tftpd_limits *limits; /* shared by the workers (limits.h) */
	size_t sendfile_max;       /* TFTPD_SENDFILE_MAX (tests): cap a call */

	struct tftpd_listener listeners[TFTPD_MAX_LISTEN];
	size_t nlisteners;
	struct event *ev_sigterm, *ev_sigint, *ev_sighup, *ev_grace;
	int stopping;

	/* Live transfers: a list for shutdown and a hash of chains keyed by
	 * the client's address (not port), so one lookup answers both "is
	 * this addr:port already being served" and "how many from this
	 * address". */
	struct session *all;
	struct session **buckets;
	size_t nbuckets;           /* a power of two */
	size_t nsessions;
	uint32_t hash_key;         /* random: chains cannot be aimed at */
	uint32_t port_cursor;      /* next try in --port-range */
	uint64_t activity;         /* datagrams from peers (for the spin) */

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

/* Monotonic milliseconds. */
uint64_t server_now_ms(void);

/* For session.c: enter a new session in the table, take an ending one
 * out, and note that one is gone (for shutdown). */
void server_table_add(struct server *srv, struct session *s);
void server_table_remove(struct server *srv, struct session *s);
void server_session_gone(struct server *srv);

#endif
