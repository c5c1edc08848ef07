/* Host helper (not the protocol core): socket chores the client and the
 * server share on their transfer sockets. */
#ifndef TFTP_SOCK_H
#define TFTP_SOCK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Ask for bytes of receive (rcv) or send buffer: the FORCE option first,
 * which works as root past net.core.*mem_max, else the plain one. */
void tftp_sock_buffer(int fd, int rcv, size_t bytes);

/* Answering strangers (datagrams on a transfer port from anyone but the
 * peer) with ERROR 5, as RFC 1350 asks, at most a few a second. */
struct tftp_stranger_budget {
	uint64_t epoch_ms;
	unsigned used;
};
/* Answer pkt (len bytes) from from, or not: never a runt (an answer larger
 * than the packet would make the port a reflector), never an ERROR (two
 * hosts doing so would ping-pong), never past the budget. 1 if ERROR 5
 * was sent. */
int tftp_answer_stranger(int fd, struct tftp_stranger_budget *b,
			 const struct sockaddr *from, socklen_t fromlen,
			 const uint8_t *pkt, size_t len, uint64_t now_ms);

#endif
