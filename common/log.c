/* Levelled logging into a host-provided sink. See log.h.
 *
 * tftp_log_stderr's ctx is the prefix (const char *, may be NULL). When a
 * log has no sink, tftp_vlogf calls tftp_log_stderr with log->prefix as
 * ctx, so the default output is "prefix: line".
 */
#include "log.h"

#include <stdio.h>

/* Longer lines are truncated: a log line is never worth an allocation. */
#define TFTP_LOG_LINE_MAX 1024

void tftp_log_stderr(void *ctx, enum tftp_log_level lvl, const char *line)
{
	const char *prefix = ctx;
	(void)lvl;
	if (prefix && prefix[0])
		fprintf(stderr, "%s: %s\n", prefix, line);
	else
		fprintf(stderr, "%s\n", line);
}

void tftp_vlogf(const struct tftp_log *log, enum tftp_log_level lvl,
		const char *fmt, va_list ap)
{
	char line[TFTP_LOG_LINE_MAX];
	if (!tftp_log_enabled(log, lvl))
		return;
	if (vsnprintf(line, sizeof(line), fmt, ap) < 0)
		line[0] = '\0';
	if (log->sink)
		log->sink(log->ctx, lvl, line);
	else
		tftp_log_stderr((void *)log->prefix, lvl, line);
}

void tftp_logf(const struct tftp_log *log, enum tftp_log_level lvl,
	       const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	tftp_vlogf(log, lvl, fmt, ap);
	va_end(ap);
}
