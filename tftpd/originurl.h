/* The origin URL of a request: the --origin template with {file} (the
 * cleaned name, percent-encoded), {ip} and {mac} filled in, or the name
 * appended. Pure. */
#ifndef TFTPD_ORIGINURL_H
#define TFTPD_ORIGINURL_H

#include <stddef.h>

enum origin_url_result {
	ORIGIN_URL_OK = 0,
	ORIGIN_URL_TOO_LONG,
	ORIGIN_URL_NO_MAC,    /* {mac} asked, the client's is unknown */
};

/* Into out (cap bytes, NUL-terminated). ip and mac may be NULL. */
enum origin_url_result origin_url(const char *tmpl, const char *name,
				  const char *ip, const char *mac, char *out,
				  size_t cap);

#endif
