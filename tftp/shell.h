/* tftp-hpa's (and BSD's) way of using tftp: "tftp HOST [PORT] -c get
 * FILE", and the interactive prompt (commands from stdin when it is not a
 * terminal). The transfers themselves are client.c's; exit codes stay
 * ours (enum tftp_exit). */
#ifndef TFTP_SHELL_H
#define TFTP_SHELL_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "client.h"

struct shell {
	char host[256];         /* "" until connect */
	uint16_t port;
	int family;
	enum tftp_mode mode;
	int verbose, trace, literal;
	unsigned rexmt_s;       /* retransmission timeout (cap) */
	unsigned total_s;       /* give up after this long without an answer */
	uint32_t blksize;       /* 0: not asked */
	uint32_t windowsize;    /* 0: not asked */
	int tsize;
	int no_options;
	uint16_t lport_lo, lport_hi;
	int interactive;        /* a terminal: prompt, Ctrl-C returns to it */
	int last_rc;            /* of the last failed command, 0 if none */
	volatile sig_atomic_t *stop;
};

void shell_init(struct shell *sh, volatile sig_atomic_t *stop);
/* "::1:6969": an IPv6 address that ends like a port (one meant [::1]:6969). */
int shell_ambiguous_v6(const char *s);
/* Set the server: "host" or "host port" (port as a number). Returns 0, or
 * TFTP_EXIT_USAGE with a message printed. */
int shell_connect(struct shell *sh, const char *host, const char *port);
/* Run one command line (split on blanks); its exit code, or -1 for quit. */
int shell_command(struct shell *sh, char *line);
/* Read and run commands until quit or end of input (libedit's line editing
 * and history on a terminal). Returns the exit code of the last failed
 * command, 0 if none failed, or 128+N after a signal N outside a prompt. */
int shell_run(struct shell *sh);

#endif
