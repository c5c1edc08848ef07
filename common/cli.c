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

unsigned tftp_cli_umask(const char *prog, const char *opt, const char *s)
{
	unsigned v = 0;
	size_t n = strlen(s);
	for (size_t i = 0; i < n && n <= 4u; i++) {
		if (s[i] < '0' || s[i] > '7') {
			n = 0;
			break;
		}
		v = v * 8u + (unsigned)(s[i] - '0');
	}
	if (n == 0 || n > 4u || v > 0777u)
		tftp_cli_usage_error(prog, "%s: '%s' is not an octal mask "
				     "(e.g. 022)", opt, s);
	return v;
}
