/* Limits that hold for the whole server: --max-transfers and
 * --max-per-client counted in memory shared by every --workers process
 * (a MAP_SHARED mapping made before the fork), so N workers do not grant
 * N times the limits. A client is its IPv4 address or its IPv6 address's
 * first --client-prefix6 bits (a host on a /64 has many addresses). */
#ifndef TFTPD_LIMITS_H
#define TFTPD_LIMITS_H

#include <stdint.h>
#include <sys/socket.h>

struct tftpd_limits;

/* Before workers_start. NULL if the mapping fails (out of memory). */
struct tftpd_limits *limits_create(unsigned max_transfers,
				   unsigned max_per_client, unsigned prefix6);
void limits_free(struct tftpd_limits *l);

/* The client key of an address (its prefix, hashed). */
uint32_t limits_client_key(const struct tftpd_limits *l,
			   const struct sockaddr *sa);
/* Take a transfer slot for client key: NULL, or which limit is reached. */
const char *limits_take(struct tftpd_limits *l, uint32_t key);
void limits_release(struct tftpd_limits *l, uint32_t key);

/* Uploads in progress, by a key of their target (directory and name):
 * a claim before the first byte, released at the end, so that two WRQs
 * for one file (a Cisco switch resending its WRQ from a new port, two
 * hosts) never make two writers, whichever worker each reaches. Returns
 * the claim (>= 0), LIMITS_CLAIM_BUSY if that target is being written, or
 * LIMITS_CLAIM_FULL. key must not be 0. */
#define LIMITS_CLAIM_BUSY (-1)
#define LIMITS_CLAIM_FULL (-2)
int limits_claim_upload(struct tftpd_limits *l, uint64_t key);
void limits_release_upload(struct tftpd_limits *l, int claim);

/* Do a and b belong to the same client (same IPv4 address, or same first
 * prefix6 bits of the IPv6 address)? */
int limits_same_client(const struct tftpd_limits *l, const struct sockaddr *a,
		       const struct sockaddr *b);

#endif
