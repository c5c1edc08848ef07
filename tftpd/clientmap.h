/* --client-root-map FILE: per-network policy. One line per network:
 *
 *     # CIDR           directory   caps
 *     10.1.0.0/16      lab         blksize=1468
 *     192.0.2.0/24     -           windowsize=1 refuse=tsize,timeout
 *     2001:db8::/32    v6
 *
 * A client's directory (relative to the root; "-" for none) is tried
 * before the root itself, like --client-root's; its caps bound what it is
 * granted: blksize=N and windowsize=N cap those options, refuse=LIST
 * never grants the options named (blksize, blksize2, tsize, timeout,
 * utimeout, windowsize, rollover), for boot ROMs that ask for an option
 * and then fail with it. The most specific network (longest prefix) that
 * holds the client's address applies.
 *
 * The parser takes the file's text (a fuzz target feeds it), checks every
 * field and reports the first bad line with its number and why. */
#ifndef TFTPD_CLIENTMAP_H
#define TFTPD_CLIENTMAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define CLIENTMAP_MAX_LINES 4096u

struct clientmap;

/* What applies to one client. */
struct clientmap_entry {
	const char *dir;          /* cleaned, relative; NULL: none */
	uint32_t max_blksize;     /* 0: the server's */
	uint32_t max_window;      /* 0: the server's */
	unsigned refuse;          /* TFTP_OPT_* bits never granted */
};

/* Parse len bytes of text. NULL with why (cap bytes: "line N: ...") if a
 * line is malformed or memory runs out. */
struct clientmap *clientmap_parse(const char *text, size_t len, char *why,
				  size_t cap);
/* Read and parse a file (at most 1 MiB). NULL with why. */
struct clientmap *clientmap_load(const char *path, char *why, size_t cap);
void clientmap_free(struct clientmap *m);
unsigned clientmap_count(const struct clientmap *m);

/* The entry for addr (the longest prefix holding it), or NULL. */
const struct clientmap_entry *clientmap_find(const struct clientmap *m,
					     const struct sockaddr *addr);

#define CLIENTMAP_OPTION_NAMES \
	"blksize, blksize2, tsize, timeout, utimeout, rollover, windowsize"
/* The TFTP_OPT_* bit of an option name (case-insensitive), 0 if none. */
unsigned clientmap_option_bit(const char *name, size_t len);

#endif
