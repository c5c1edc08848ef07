/* Address text helpers shared by the server and the client. Pure string and
 * sockaddr manipulation: no sockets are opened and no names are resolved
 * here (the client resolves host names itself). */
#ifndef TFTP_NET_H
#define TFTP_NET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Split "HOST", "HOST:PORT", "[V6]", "[V6]:PORT", ":PORT" or "V6" (a bare
 * IPv6 literal with two or more colons has no port). host gets the host
 * part without brackets ("" if absent); *port gets the port, or
 * default_port when absent. Returns 0, or -1 on a malformed string or a
 * port outside 1..65535. */
int tftp_split_hostport(const char *s, char *host, size_t hostcap,
			uint16_t *port, uint16_t default_port);

/* Parse "LO:HI" (1 <= LO <= HI <= 65535). Returns 0 or -1. */
int tftp_parse_port_range(const char *s, uint16_t *lo, uint16_t *hi);

/* "1.2.3.4:69" or "[::1]:69" into buf. Always NUL-terminates. */
const char *tftp_sockaddr_str(const struct sockaddr *sa, char *buf,
			      size_t cap);

/* Same address family, address and port. */
int tftp_sockaddr_equal(const struct sockaddr *a, const struct sockaddr *b);
/* Same family and address; ports ignored. */
int tftp_sockaddr_same_host(const struct sockaddr *a,
			    const struct sockaddr *b);
uint16_t tftp_sockaddr_port(const struct sockaddr *sa);
/* The address alone, no port or brackets ("192.0.2.7", "2001:db8::7"),
 * into out (cap bytes). 0, or -1. */
int tftp_sockaddr_addr_str(const struct sockaddr *sa, char *out, size_t cap);
/* 1 if sa is the wildcard address (0.0.0.0 or ::). */
int tftp_sockaddr_is_any(const struct sockaddr *sa);
void tftp_sockaddr_set_port(struct sockaddr *sa, uint16_t port);
socklen_t tftp_sockaddr_len(const struct sockaddr *sa);
/* 127.0.0.0/8, ::1 or ::ffff:127.x.y.z. */
int tftp_sockaddr_is_loopback(const struct sockaddr *sa);

#endif
