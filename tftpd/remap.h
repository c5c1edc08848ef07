/* File name remapping in tftp-hpa's format and with its semantics, rule
 * for rule (in.tftpd(8), "FILENAME REMAPPING"), so that a site's remap
 * file works unchanged.
 *
 * One rule per line: operation letters, a regular expression and, for
 * "r" and optionally "a", a replacement; "#" starts a comment. Fields are
 * separated by white space; a backslash keeps the next character in the
 * field (so "\ " and "\#" are part of it) and stays in it. Operations:
 *   r  replace the match with the replacement     g  repeat while it matches
 *   i  match ignoring case                        e  end if it matched
 *   s  start over from the first rule if it matched
 *   a  refuse the request if it matched (the replacement, if any, is the
 *      error message)
 *   G  RRQ only     P  WRQ only     4  IPv4 clients only     6  IPv6 only
 *   ~  the rule applies where the expression does NOT match (not with r)
 * Replacement escapes: \0 the match, \1-\9 its groups, \i the client's
 * address, \x the address in hex (C00002A9), \U \L upper/lower case until
 * \E; any other \c is c (\\, \ , \#).
 *
 * The expressions are POSIX extended regular expressions (regcomp with
 * REG_EXTENDED, REG_ICASE for i), which is what tftp-hpa uses: "egrep
 * style". The remapped name is then cleaned and confined beneath the root
 * like any other. Bounded: 1024 rules, 1024 rule steps a request (as
 * tftp-hpa's "deadman"), 1024 repeats of a g rule, names of
 * TFTP_FILENAME_MAX bytes; past a bound the request is refused. */
#ifndef TFTPD_REMAP_H
#define TFTPD_REMAP_H

#include <stddef.h>
#include <sys/socket.h>

struct remap;

/* Read rules from a file, or from a buffer (len bytes; name is for
 * messages). NULL on a malformed rule, with "FILE:LINE: reason" in err. */
struct remap *remap_load(const char *path, char *err, size_t errlen);
struct remap *remap_parse(const char *text, size_t len, const char *name,
			  char *err, size_t errlen);
void remap_free(struct remap *r);
unsigned remap_count(const struct remap *r);

enum remap_result {
	REMAP_OK,        /* out holds the (possibly unchanged) name */
	REMAP_REFUSED,   /* an "a" rule matched: out holds its message or "" */
	REMAP_FAILED,    /* a bound was hit: refuse ("Remap table failure") */
};

/* Apply the rules to name for a request (is_write: WRQ) from client.
 * out (outcap bytes) gets the result, NUL-terminated. */
enum remap_result remap_apply(const struct remap *r, const char *name,
			      int is_write, const struct sockaddr *client,
			      char *out, size_t outcap);

#endif
