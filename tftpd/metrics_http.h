/* --metrics ADDR:PORT: GET /metrics answers with the Prometheus text of
 * the whole server (metrics.h), served by libevent's evhttp on the
 * server's loop: no thread, nothing that blocks (rendering is a few
 * hundred lines from memory). With --workers every worker binds the port
 * (SO_REUSEPORT); the counters are shared, so any of them answers for
 * all. */
#ifndef TFTPD_METRICS_HTTP_H
#define TFTPD_METRICS_HTTP_H

#include <stdint.h>

#include "log.h"

struct event_base;
struct tftpd_metrics;
struct metrics_http;

/* Listen on host (""= every address) and port. NULL after logging why. */
struct metrics_http *metrics_http_start(struct event_base *base,
					const char *host, uint16_t port,
					int reuseport,
					const struct tftpd_metrics *m,
					const struct tftp_log *log);
void metrics_http_stop(struct metrics_http *mh);

#endif
