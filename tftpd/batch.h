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
#include <sys/socket.h>

#define TFTPD_BATCH_BYTES 65000u  /* one GSO send stays below the IP limit */
#define TFTPD_BATCH_MAX 64u       /* segments per send (UDP_MAX_SEGMENTS) */

/* Where a batch goes: the transfer's socket and peer, and its flag that
 * GSO was refused on that socket (set here, kept by the owner). The
 * pointers must stay valid until the batch is flushed. */
struct batch_dest {
	int fd;
	const struct sockaddr *peer;
	socklen_t peerlen;
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

/* One datagram to peer, retried on EINTR. Returns 0 or -1. */
int udp_send(int fd, const struct sockaddr *peer, socklen_t peerlen,
	     const uint8_t *pkt, size_t len);

#endif
