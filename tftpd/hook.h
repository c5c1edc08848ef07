/* --on-complete CMD: after each finished transfer, run CMD with the
 * transfer's fields in its environment (TFTP_OP, TFTP_FILE, TFTP_CLIENT,
 * TFTP_PORT, TFTP_MODE, TFTP_BYTES, TFTP_SECONDS, TFTP_RESULT,
 * TFTP_ERROR, TFTP_BLKSIZE, TFTP_WINDOW, TFTP_RETRANSMITS).
 *
 * Never in the way of transfers: CMD is started with posix_spawn (no
 * shell, unless --on-complete-shell), at most --on-complete-max at once
 * (the rest wait in a bounded queue; past it a hook is dropped and
 * logged), each killed after --on-complete-timeout seconds; children are
 * reaped from SIGCHLD on the loop. A hook that fails, hangs or cannot be
 * started is logged and changes nothing else. */
#ifndef TFTPD_HOOK_H
#define TFTPD_HOOK_H

#include "log.h"
#include "record.h"

struct event_base;
struct tftpd_config;
struct hook;

/* NULL after logging why (the command line is empty, or out of memory). */
struct hook *hook_new(struct event_base *base, const struct tftpd_config *cfg,
		      const struct tftp_log *log);
/* Queue the hook for r (its fields are copied). */
void hook_run(struct hook *h, const struct xfer_record *r);
/* Stop watching; running hooks are left to finish on their own. */
void hook_free(struct hook *h);

#endif
