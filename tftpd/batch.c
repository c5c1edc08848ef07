/* Windows of small DATA packets in one system call. See batch.h. */
#include "batch.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <string.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103 /* linux/udp.h, for older C libraries */
#endif

void udp_from_set(struct udp_from *from, const struct sockaddr *local,
		  int ifindex)
{
	struct msghdr m;
	memset(from, 0, sizeof(*from));
	memset(&m, 0, sizeof(m));
	m.msg_control = from->buf;
	m.msg_controllen = sizeof(from->buf);
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	if (local->sa_family == AF_INET) {
		struct in_pktinfo pi;
		memset(&pi, 0, sizeof(pi));
		pi.ipi_spec_dst = ((const struct sockaddr_in *)local)->sin_addr;
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		from->len = CMSG_SPACE(sizeof(pi));
	} else if (local->sa_family == AF_INET6) {
		struct in6_pktinfo pi;
		memset(&pi, 0, sizeof(pi));
		pi.ipi6_addr = ((const struct sockaddr_in6 *)local)->sin6_addr;
		pi.ipi6_ifindex = (unsigned)ifindex;
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		from->len = CMSG_SPACE(sizeof(pi));
	}
}

int udp_send(int fd, const struct sockaddr *peer, socklen_t peerlen,
	     const struct udp_from *from, const uint8_t *pkt, size_t len)
{
	struct iovec iov = {.iov_base = (void *)pkt, .iov_len = len};
	struct msghdr m = {
		.msg_name = (void *)peer,
		.msg_namelen = peerlen,
		.msg_iov = &iov,
		.msg_iovlen = 1,
	};
	if (from && from->len) {
		m.msg_control = (void *)from->buf;
		m.msg_controllen = from->len;
	}
	ssize_t n;
	do
		n = sendmsg(fd, &m, 0);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -1 : 0;
}

static void batch_reset(struct tftpd_batch *b)
{
	memset(&b->to, 0, sizeof(b->to));
	b->to.fd = -1;
	b->len = b->seg = 0;
	b->count = 0;
	b->closed = 0;
}

static int send_gso(const struct tftpd_batch *b)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(uint16_t)) +
			 sizeof(((struct udp_from *)0)->buf)];
	} cbuf;
	/* CMSG_SPACE pads past CMSG_LEN: zero the padding so the kernel is
	 * never handed uninitialised stack bytes (valgrind flags them). */
	memset(&cbuf, 0, sizeof(cbuf));
	size_t fromlen = b->to.from ? b->to.from->len : 0;
	if (fromlen)
		memcpy(cbuf.buf, b->to.from->buf, fromlen);
	struct iovec iov = {.iov_base = (void *)b->buf, .iov_len = b->len};
	struct msghdr m = {
		.msg_name = (void *)b->to.peer,
		.msg_namelen = b->to.peerlen,
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cbuf.buf,
		.msg_controllen = fromlen + CMSG_SPACE(sizeof(uint16_t)),
	};
	/* After the source address's message, if any. */
	struct cmsghdr *c = (struct cmsghdr *)(void *)(cbuf.buf + fromlen);
	uint16_t seg = (uint16_t)b->seg;
	c->cmsg_level = SOL_UDP;
	c->cmsg_type = UDP_SEGMENT;
	c->cmsg_len = CMSG_LEN(sizeof(seg));
	memcpy(CMSG_DATA(c), &seg, sizeof(seg));
	ssize_t n;
	do
		n = sendmsg(b->to.fd, &m, 0);
	while (n < 0 && errno == EINTR);
	if (n >= 0)
		return 0;
	/* EAGAIN and the like: the window is lost, the timer recovers. Any
	 * other error means GSO itself is refused here. */
	if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS)
		*b->to.no_gso = 1;
	return -1;
}

static void send_mmsg(const struct tftpd_batch *b)
{
	struct mmsghdr msgs[TFTPD_BATCH_MAX];
	struct iovec iov[TFTPD_BATCH_MAX];
	size_t off = 0;
	for (unsigned i = 0; i < b->count; i++) {
		size_t len = i + 1 == b->count ? b->len - off : b->seg;
		iov[i].iov_base = (void *)(b->buf + off);
		iov[i].iov_len = len;
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_name = (void *)b->to.peer;
		msgs[i].msg_hdr.msg_namelen = b->to.peerlen;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		if (b->to.from && b->to.from->len) {
			msgs[i].msg_hdr.msg_control = (void *)b->to.from->buf;
			msgs[i].msg_hdr.msg_controllen = b->to.from->len;
		}
		off += len;
	}
	unsigned done = 0;
	while (done < b->count) {
		int n = sendmmsg(b->to.fd, msgs + done, b->count - done, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* the rest is lost; the timer recovers */
		done += (unsigned)n;
	}
}

void batch_flush(struct tftpd_batch *b)
{
	if (b->count == 1)
		(void)udp_send(b->to.fd, b->to.peer, b->to.peerlen, b->to.from,
			       b->buf, b->len);
	else if (b->count > 1 && (*b->to.no_gso || send_gso(b) < 0))
		if (*b->to.no_gso) /* refused just now, or before */
			send_mmsg(b);
	batch_reset(b);
}

void batch_add(struct tftpd_batch *b, const struct batch_dest *to,
	       const uint8_t *pkt, size_t len)
{
	if (b->count && (b->to.fd != to->fd || b->to.peer != to->peer ||
			 b->closed || len > b->seg ||
			 b->len + len > sizeof(b->buf) ||
			 b->count >= TFTPD_BATCH_MAX))
		batch_flush(b);
	if (!b->count) {
		b->to = *to;
		b->seg = len;
	}
	memcpy(b->buf + b->len, pkt, len);
	b->len += len;
	b->count++;
	if (len < b->seg)
		b->closed = 1; /* GSO: only the last segment may be shorter */
}
