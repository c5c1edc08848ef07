/* An HTTP response's head, one line at a time as libcurl hands the lines
 * over: the status, Content-Length, and the validators a cache keeps
 * (ETag, Last-Modified). Pure: the origin's bytes are untrusted, so every
 * scan is bounded by the line's length and every value checked; what does
 * not parse is ignored or marks the response bad. */
#ifndef TFTPD_HTTPHDR_H
#define TFTPD_HTTPHDR_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_VALIDATOR_MAX 128

struct http_head {
	int status;              /* of the last status line; 0: none yet */
	int64_t length;          /* Content-Length; -1: none */
	int bad_length;          /* unparsable, or two that differ */
	int chunked;             /* Transfer-Encoding: chunked */
	char etag[HTTP_VALIDATOR_MAX];          /* "" if none (or unusable) */
	char last_modified[HTTP_VALIDATOR_MAX]; /* "" if none */
};

void http_head_reset(struct http_head *h);
/* One line of the head, with or without its CRLF. A status line starts a
 * new head (after a 1xx, or a redirect's). Returns 1 for the blank line
 * that ends a head, else 0. */
int http_head_line(struct http_head *h, const char *line, size_t len);

#endif
