/* A client's hardware address from the kernel's neighbour table, over
 * rtnetlink; see neigh.h. */
#include "neigh.h"

#include <errno.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* Bounds on one dump: datagrams read, and how long the kernel may take
 * (it answers from memory at once; the bound is for a wedged socket). */
#define NEIGH_READS 256
#define NEIGH_TIMEOUT_US 50000

static int ask(int fd, int family)
{
	struct {
		struct nlmsghdr h;
		struct ndmsg nd;
	} req;
	memset(&req, 0, sizeof(req));
	req.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ndmsg));
	req.h.nlmsg_type = RTM_GETNEIGH;
	req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.h.nlmsg_seq = 1;
	req.nd.ndm_family = (uint8_t)family;
	struct sockaddr_nl k = {.nl_family = AF_NETLINK};
	return sendto(fd, &req, req.h.nlmsg_len, 0, (struct sockaddr *)&k,
		      sizeof(k)) < 0 ? -1 : 0;
}

/* One neighbour message: if it is addr's with a 6-byte (Ethernet)
 * address, that address into mac. 1 if so. */
static int entry(const struct nlmsghdr *h, const uint8_t *addr, size_t alen,
		 uint8_t mac[6])
{
	const struct ndmsg *nd = NLMSG_DATA(h);
	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*nd)) ||
	    (nd->ndm_state & (NUD_FAILED | NUD_INCOMPLETE)))
		return 0;
	int len = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*nd));
	const uint8_t *dst = NULL, *ll = NULL;
	for (const struct rtattr *a = (const struct rtattr *)(const void *)
		     ((const char *)nd + NLMSG_ALIGN(sizeof(*nd)));
	     RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		size_t n = RTA_PAYLOAD(a);
		if (a->rta_type == NDA_DST && n == alen)
			dst = RTA_DATA(a);
		else if (a->rta_type == NDA_LLADDR && n == 6)
			ll = RTA_DATA(a);
	}
	if (!dst || !ll || memcmp(dst, addr, alen) != 0)
		return 0;
	memcpy(mac, ll, 6);
	return 1;
}

/* Read the dump's answer until its end; 1 if addr was in it. */
static int scan(int fd, const uint8_t *addr, size_t alen, uint8_t mac[6])
{
	uint8_t buf[16384];
	int found = 0;
	for (int i = 0; i < NEIGH_READS; i++) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0)
			return found;
		int left = (int)n;
		for (struct nlmsghdr *h = (struct nlmsghdr *)(void *)buf;
		     NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
			if (h->nlmsg_type == NLMSG_DONE ||
			    h->nlmsg_type == NLMSG_ERROR)
				return found;
			if (h->nlmsg_type == RTM_NEWNEIGH && !found)
				found = entry(h, addr, alen, mac);
		}
	}
	return found;
}

int neigh_mac(const struct sockaddr *sa, char *out, size_t cap)
{
	const uint8_t *addr;
	size_t alen;
	if (sa->sa_family == AF_INET) {
		addr = (const uint8_t *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
		alen = 4;
	} else if (sa->sa_family == AF_INET6) {
		addr = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
		alen = 16;
	} else {
		return -1;
	}
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -1;
	struct timeval tv = {.tv_sec = 0, .tv_usec = NEIGH_TIMEOUT_US};
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	uint8_t mac[6];
	int found = ask(fd, sa->sa_family) == 0 && scan(fd, addr, alen, mac);
	close(fd);
	if (!found)
		return -1;
	int n = snprintf(out, cap, "01-%02x-%02x-%02x-%02x-%02x-%02x", mac[0],
			 mac[1], mac[2], mac[3], mac[4], mac[5]);
	return n > 0 && (size_t)n < cap ? 0 : -1;
}
