/* Host helper (not the protocol core): the TFTP error for an errno met on
 * the host's side of a transfer (a lookup, an open, a read or write, a
 * socket), one map for the client and the server. */
#ifndef TFTP_ERRMAP_H
#define TFTP_ERRMAP_H

#include "xfer.h"

/* Fill *err for errno e: file not found (1), access violation (2), disk
 * full (3), file exists (6), or an undefined error (0) for transient
 * shortages ("Out of resources, try again later", "server busy") and
 * everything else (then fallback is the message). err->why is left as
 * it is. */
void tftp_err_from_errno(int e, const char *fallback, struct tftp_err *err);

/* Fill *err: code, msg (the client's), why (the log's; static or NULL). */
void tftp_err_set(struct tftp_err *err, uint16_t code, const char *msg,
		  const char *why);

#endif
