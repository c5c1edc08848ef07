/* Address text helpers. See net.h. String work and inet_ntop only: nothing
 * here opens a socket or resolves a name. */
#include "net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

/* A port: 1..5 decimal digits, value 1..65535, nothing else. */
static int parse_port(const char *s, size_t n, uint16_t *port)
{
	unsigned v = 0;
	if (n == 0 || n > 5)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10u + (unsigned)(s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

static int copy_host(const char *s, size_t n, char *host, size_t hostcap)
{
	if (n >= hostcap)
		return -1;
	memcpy(host, s, n);
	host[n] = '\0';
	return 0;
}

/* "[V6]" or "[V6]:PORT". */
static int split_bracketed(const char *s, char *host, size_t hostcap,
			   uint16_t *port, uint16_t default_port)
{
	const char *close = strchr(s, ']');
	if (!close || close == s + 1)
		return -1;
	if (copy_host(s + 1, (size_t)(close - s - 1), host, hostcap) < 0)
		return -1;
	if (close[1] == '\0') {
		*port = default_port;
		return 0;
	}
	if (close[1] != ':')
		return -1;
	return parse_port(close + 2, strlen(close + 2), port);
}

int tftp_split_hostport(const char *s, char *host, size_t hostcap,
			uint16_t *port, uint16_t default_port)
{
	if (!s || !host || hostcap == 0 || s[0] == '\0')
		return -1;
	if (s[0] == '[')
		return split_bracketed(s, host, hostcap, port, default_port);
	/* Brackets only make sense around a whole IPv6 literal. */
	if (strpbrk(s, "[]"))
		return -1;
	const char *colon = strchr(s, ':');
	if (colon && strchr(colon + 1, ':'))
		colon = NULL; /* two or more colons: a bare IPv6 literal */
	if (!colon) {
		*port = default_port;
		return copy_host(s, strlen(s), host, hostcap);
	}
	uint16_t p;
	if (parse_port(colon + 1, strlen(colon + 1), &p) < 0 ||
	    copy_host(s, (size_t)(colon - s), host, hostcap) < 0)
		return -1;
	*port = p;
	return 0;
}

int tftp_parse_port_range(const char *s, uint16_t *lo, uint16_t *hi)
{
	if (!s)
		return -1;
	const char *colon = strchr(s, ':');
	uint16_t a, b;
	if (!colon || parse_port(s, (size_t)(colon - s), &a) < 0 ||
	    parse_port(colon + 1, strlen(colon + 1), &b) < 0 || a > b)
		return -1;
	*lo = a;
	*hi = b;
	return 0;
}

const char *tftp_sockaddr_str(const struct sockaddr *sa, char *buf,
			      size_t cap)
{
	char addr[INET6_ADDRSTRLEN];
	if (cap == 0)
		return buf;
	buf[0] = '\0';
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		if (!inet_ntop(AF_INET, &in->sin_addr, addr, sizeof(addr)))
			return buf;
		snprintf(buf, cap, "%s:%u", addr, (unsigned)ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 =
			(const struct sockaddr_in6 *)sa;
		if (!inet_ntop(AF_INET6, &in6->sin6_addr, addr, sizeof(addr)))
			return buf;
		/* The scope is printed as its number: mapping it to an
		 * interface name would be a system call. */
		if (in6->sin6_scope_id)
			snprintf(buf, cap, "[%s%%%u]:%u", addr,
				 (unsigned)in6->sin6_scope_id,
				 (unsigned)ntohs(in6->sin6_port));
		else
			snprintf(buf, cap, "[%s]:%u", addr,
				 (unsigned)ntohs(in6->sin6_port));
	} else {
		snprintf(buf, cap, "(address family %d)", (int)sa->sa_family);
	}
	return buf;
}

int tftp_sockaddr_same_host(const struct sockaddr *a,
			    const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return 0;
	if (a->sa_family == AF_INET) {
		const struct sockaddr_in *x = (const struct sockaddr_in *)a;
		const struct sockaddr_in *y = (const struct sockaddr_in *)b;
		return x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->sa_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a;
		const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)b;
		return memcmp(&x->sin6_addr, &y->sin6_addr,
			      sizeof(x->sin6_addr)) == 0 &&
		       x->sin6_scope_id == y->sin6_scope_id;
	}
	return 0;
}

int tftp_sockaddr_equal(const struct sockaddr *a, const struct sockaddr *b)
{
	return tftp_sockaddr_same_host(a, b) &&
	       tftp_sockaddr_port(a) == tftp_sockaddr_port(b);
}

uint16_t tftp_sockaddr_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return 0;
}

void tftp_sockaddr_set_port(struct sockaddr *sa, uint16_t port)
{
	if (sa->sa_family == AF_INET)
		((struct sockaddr_in *)sa)->sin_port = htons(port);
	else if (sa->sa_family == AF_INET6)
		((struct sockaddr_in6 *)sa)->sin6_port = htons(port);
}

socklen_t tftp_sockaddr_len(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (socklen_t)sizeof(struct sockaddr_in);
	if (sa->sa_family == AF_INET6)
		return (socklen_t)sizeof(struct sockaddr_in6);
	return 0;
}

int tftp_sockaddr_is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
		return (ntohl(a->sin_addr.s_addr) >> 24) == 127u;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a =
			&((const struct sockaddr_in6 *)sa)->sin6_addr;
		return IN6_IS_ADDR_LOOPBACK(a) ||
		       (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127u);
	}
	return 0;
}

int tftp_sockaddr_is_any(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ((const struct sockaddr_in *)(const void *)sa)
			       ->sin_addr.s_addr == htonl(INADDR_ANY);
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(
			&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr);
	return 0;
}

int tftp_sockaddr_addr_str(const struct sockaddr *sa, char *out, size_t cap)
{
	const void *a;
	if (sa->sa_family == AF_INET)
		a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	else
		return -1;
	return inet_ntop(sa->sa_family, a, out, (socklen_t)cap) ? 0 : -1;
}
