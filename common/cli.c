#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"

void tftp_cli_usage_error(const char *prog, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see %s --help)\n", prog);
	exit(TFTP_CLI_EXIT_USAGE);
}

uint64_t tftp_cli_num(const char *prog, const char *opt, const char *s,
		      uint64_t min, uint64_t max)
{
	uint64_t v;
	struct tftp_slice sl = {s, strlen(s)};
	if (tftp_parse_decimal(sl, max, &v) < 0 || v < min)
		tftp_cli_usage_error(prog,
				     "%s: '%s' is not a number from %llu to %llu",
				     opt, s, (unsigned long long)min,
				     (unsigned long long)max);
	return v;
}
