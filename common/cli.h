/* Command-line helpers shared by tftp and tftpd: both report a bad
 * command line the same way, one line and exit status 64. */
#ifndef TFTP_CLI_H
#define TFTP_CLI_H

#include <stdint.h>

#define TFTP_CLI_EXIT_USAGE 64 /* EX_USAGE */

/* Print "PROG: <message> (see PROG --help)" and exit 64. */
void tftp_cli_usage_error(const char *prog, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

/* Plain decimal s in [min, max] for option opt; anything else is a usage
 * error. */
uint64_t tftp_cli_num(const char *prog, const char *opt, const char *s,
		      uint64_t min, uint64_t max);

/* A file mode mask in octal (e.g. 022), 0 to 0777, digits only; anything
 * else is a usage error. */
unsigned tftp_cli_umask(const char *prog, const char *opt, const char *s);

#endif
