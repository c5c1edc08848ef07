/* A tiny levelled logger. No globals: each host owns a struct tftp_log and
 * passes it where logging is needed; the sink decides where lines go
 * (stderr, syslog, a test buffer). */
#ifndef TFTP_LOG_H
#define TFTP_LOG_H

#include <stdarg.h>

enum tftp_log_level {
	TFTP_LOG_ERR = 0,
	TFTP_LOG_WARN = 1,
	TFTP_LOG_INFO = 2,
	TFTP_LOG_DEBUG = 3,
	TFTP_LOG_TRACE = 4,
};

typedef void (*tftp_log_sink)(void *ctx, enum tftp_log_level lvl,
			      const char *line);

struct tftp_log {
	enum tftp_log_level level; /* lines above this level are dropped */
	tftp_log_sink sink;        /* NULL: tftp_log_stderr */
	void *ctx;
	const char *prefix;        /* e.g. "tftpd"; may be NULL */
};

/* The default sink: "prefix: line\n" to stderr. */
void tftp_log_stderr(void *ctx, enum tftp_log_level lvl, const char *line);

/* NULL log is allowed and drops everything. */
void tftp_logf(const struct tftp_log *log, enum tftp_log_level lvl,
	       const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void tftp_vlogf(const struct tftp_log *log, enum tftp_log_level lvl,
		const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
static inline int tftp_log_enabled(const struct tftp_log *log,
				   enum tftp_log_level lvl)
{
	return log && lvl <= log->level;
}

#endif
