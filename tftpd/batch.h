/* A window of small DATA packets on its way out in one system call. The
 * engine hands a window over one packet at a time; they are collected
 * here and leave together when the engine returns, or before any other
 * packet to the same peer. With UDP GSO (UDP_SEGMENT) the whole window
 * makes one trip through the stack and is cut into datagrams at the
 * receiving end; where that is refused, one sendmmsg still saves a system
 * call per packet. One batch per server loop. */
#ifndef TFTPD_BATCH_H
#define TFTPD_BATCH_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define TFTPD_BATCH_BYTES 65000u  /* one GSO send stays below the IP limit */
#define TFTPD_BATCH_MAX 64u       /* segments per send (UDP_MAX_SEGMENTS) */

/* The source address of what goes out of a socket bound to a wildcard
 * (one shared by many clients: --single-port, or a listener's ERROR): an
 * IP_PKTINFO / IPV6_PKTINFO control message, so that every answer comes
 * from the address its request was sent to (PXE ROMs drop others). */
struct udp_from {
	size_t len; /* 0: none, the socket's own address */
	_Alignas(struct cmsghdr) char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
};

/* from for the local address (from the request's packet info; its port
 * is ignored) and interface; len 0 for a family without it. */
void udp_from_set(struct udp_from *from, const struct sockaddr *local,
		  int ifindex);

/* Where a batch goes: the transfer's socket and peer, the source address
 * on a shared socket (NULL: none), and its flag that GSO was refused on
 * that socket (set here, kept by the owner). The pointers must stay
 * valid until the batch is flushed. */
struct batch_dest {
	int fd;
	const struct sockaddr *peer;
	socklen_t peerlen;
	const struct udp_from *from;
	int *no_gso;
};

struct tftpd_batch {
	struct batch_dest to;
	size_t len;                /* bytes collected */
	size_t seg;                /* the size of every packet but the last */
	unsigned count;
	int closed;                /* a shorter packet came: it ends the batch */
	uint8_t buf[TFTPD_BATCH_BYTES];
};

/* Add one packet for to; a batch for another socket, or one this packet
 * cannot join, is sent first. */
void batch_add(struct tftpd_batch *b, const struct batch_dest *to,
	       const uint8_t *pkt, size_t len);
/* Send what is collected (a failed send is a loss: the timer recovers). */
void batch_flush(struct tftpd_batch *b);

/* One datagram to peer (from from, if not NULL), retried on EINTR.
 * Returns 0 or -1. */
int udp_send(int fd, const struct sockaddr *peer, socklen_t peerlen,
	     const struct udp_from *from, const uint8_t *pkt, size_t len);

#endif
