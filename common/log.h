/* A tiny levelled logger. No globals: each host owns a struct tftp_log and
 * passes it where logging is needed; the sink decides where lines go
 * (stderr, syslog, a test buffer). */
#ifndef TFTP_LOG_H
#define TFTP_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

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
	tftp_log_sink sink;        /* NULL: lines are dropped */
	void *ctx;                 /* for the sink; NULL: prefix is passed */
	const char *prefix;        /* e.g. "tftpd"; may be NULL */
};

/* The hosts' sink (logsink.c, not in the core): "prefix: line\n" to
 * stderr, ctx being the prefix. */
void tftp_log_stderr(void *ctx, enum tftp_log_level lvl, const char *line);

/* NULL log is allowed and drops everything. */
/* Bytes from the network made safe for a log line or a terminal: printable
 * ASCII stays, a backslash becomes "\\", anything else "\xNN"; cut with
 * "..." to fit cap (>= 8). Returns out. */
char *tftp_log_escape(const char *s, size_t len, char *out, size_t cap);

/* s (len bytes) as a JSON string with its quotes, appended at out[*at]
 * (cap bytes in all, NUL-terminated): '"' and '\\' escaped, every byte
 * below 0x20 or from 0x7f as \u00XX (decode as Latin-1 for the exact
 * bytes). 0, or -1 (and *at unchanged) if it does not fit. */
int tftp_json_string(char *out, size_t cap, size_t *at, const char *s,
		     size_t len);

/* Human units for log and summary lines. Size: "" below 1 KiB, else
 * " (1.5 KiB)" (with the leading space and parentheses). Duration: "850 us",
 * "12.3 ms", "4.567 s" (never "0.000 s"). Rate: bytes over us, "512 B/s",
 * "1.4 MiB/s". Each returns out. */
char *tftp_human_size(uint64_t bytes, char *out, size_t cap);
char *tftp_human_duration(uint64_t us, char *out, size_t cap);
char *tftp_human_rate(uint64_t bytes, uint64_t us, char *out, size_t cap);

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
