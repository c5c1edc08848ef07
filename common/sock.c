/* See sock.h. */
#include "sock.h"

#include "packet.h"

/* ERROR 5 answers per transfer and second. */
#define STRANGER_BUDGET 16u

void tftp_sock_buffer(int fd, int rcv, size_t bytes)
{
	int v = bytes > (size_t)(1 << 30) ? (1 << 30) : (int)bytes;
	int force = rcv ? SO_RCVBUFFORCE : SO_SNDBUFFORCE;
	int plain = rcv ? SO_RCVBUF : SO_SNDBUF;
	if (setsockopt(fd, SOL_SOCKET, force, &v, sizeof(v)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, plain, &v, sizeof(v));
}

int tftp_answer_stranger(int fd, struct tftp_stranger_budget *b,
			 const struct sockaddr *from, socklen_t fromlen,
			 const uint8_t *pkt, size_t len, uint64_t now_ms)
{
	if (len < TFTP_HDR_LEN || tftp_packet_opcode(pkt, len) == TFTP_OP_ERROR)
		return 0;
	if (now_ms - b->epoch_ms >= 1000u) {
		b->epoch_ms = now_ms;
		b->used = 0;
	}
	if (b->used >= STRANGER_BUDGET)
		return 0;
	b->used++;
	uint8_t buf[64];
	size_t n = tftp_build_error(buf, sizeof(buf), TFTP_ERR_BADTID,
				    "Unknown transfer ID");
	return n && sendto(fd, buf, n, 0, from, fromlen) == (ssize_t)n;
}
