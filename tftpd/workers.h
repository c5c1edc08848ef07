/* --workers N: N server processes on the same listening addresses.
 *
 * Each worker is a complete, independent server (own event loop, own
 * transfer table, own listening sockets bound with SO_REUSEPORT). The
 * kernel spreads requests over the listening sockets by a hash of the
 * client's address and port, so one client TID always reaches the same
 * worker and a retransmitted request is still recognised as a duplicate.
 * The limits (--max-transfers, --max-per-client) apply per worker. */
#ifndef TFTPD_WORKERS_H
#define TFTPD_WORKERS_H

/* Fork n workers. Returns in each worker (with its index, 0..n-1) and never
 * in the supervisor, which forwards SIGTERM and SIGINT to the workers,
 * waits for all of them and exits: 0 if every worker exited 0, otherwise
 * 1. If a worker dies while the others run, the supervisor stops them all
 * (a half-served port is worse than a restart). */
int workers_start(unsigned n);

#endif
