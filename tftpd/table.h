/* The table of live transfers: a list of all (for shutdown, the spin and
 * signals) and a hash of chains keyed by the client's address, not its
 * port, so that one lookup answers both "is this address:port already
 * being served" and "how many transfers has this client". Chains are
 * short: --max-per-client bounds them, and the key is the limits' keyed
 * hash (random per start), so they cannot be aimed at. */
#ifndef TFTPD_TABLE_H
#define TFTPD_TABLE_H

#include <stddef.h>
#include <sys/socket.h>

struct session;
struct tftpd_limits;

struct session_table {
	const struct tftpd_limits *limits; /* client keys, "same client" */
	struct session *all;
	struct session **buckets;
	struct session **tids;             /* keyed by address and port */
	size_t nbuckets;                   /* a power of two */
	size_t count;
};

/* Sized for about max sessions. Returns 0, or -1 out of memory. */
int table_init(struct session_table *t, size_t max,
	       const struct tftpd_limits *limits);
void table_fini(struct session_table *t);

void table_add(struct session_table *t, struct session *s);
void table_remove(struct session_table *t, struct session *s);

/* The transfers of peer's client (its address, or IPv6 prefix): the count;
 * *dup gets the one from peer's very port, *dally one of the others that
 * is only dallying (either NULL if none). */
unsigned table_client(const struct session_table *t,
		      const struct sockaddr *peer, struct session **dup,
		      struct session **dally);
/* The transfer with peer's very address and port, or NULL: the lookup
 * of every datagram with --single-port, so not by a walk of the client's
 * chain (all clients behind one NAT are one client). */
struct session *table_find(const struct session_table *t,
			   const struct sockaddr *peer);
/* Any transfer that is only dallying (it may give way), or NULL. */
struct session *table_any_dallying(const struct session_table *t);

#endif
