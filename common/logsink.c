/* The host's default log sink: lines to stderr. Kept out of the core
 * library (log.c), which formats but never writes. */
#include "log.h"

#include <stdio.h>

void tftp_log_stderr(void *ctx, enum tftp_log_level lvl, const char *line)
{
	const char *prefix = ctx;
	(void)lvl;
	if (prefix && prefix[0])
		fprintf(stderr, "%s: %s\n", prefix, line);
	else
		fprintf(stderr, "%s\n", line);
}
