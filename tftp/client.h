/* The tftp client's transfer driver: a blocking poll()/recvmmsg loop around
 * the transfer engine (common/xfer.h).
 *
 * It owns what the engine leaves to the host: name resolution, the UDP
 * socket, the server's TID (locked on the first reply; strangers get
 * ERROR 5), the local file (downloads go to a hidden temporary file next to
 * LOCAL and are renamed on success), the option fallback, the progress bar
 * and the exit code.
 */
#ifndef TFTP_CLIENT_H
#define TFTP_CLIENT_H

#include <signal.h>
#include <stdint.h>

#include "options.h"
#include "packet.h"

/* Exit codes (documented in --help and tftp(1)). */
enum tftp_exit {
	TFTP_EXIT_OK = 0,
	TFTP_EXIT_PEER = 1,     /* a TFTP error from the peer (or its reply was invalid) */
	TFTP_EXIT_TIMEOUT = 2,  /* no answer, timed out, server unreachable */
	TFTP_EXIT_LOCAL = 3,    /* local file error */
	TFTP_EXIT_USAGE = 64,
	TFTP_EXIT_SIGNAL = 128, /* + the signal number: 130 SIGINT, 143 SIGTERM */
};

enum tftp_verbosity {
	TFTP_QUIET = -1, /* errors only */
	TFTP_NORMAL = 0,
	TFTP_VERBOSE = 1, /* negotiated options and a summary */
};

struct tftp_client_args {
	int is_put;
	const char *host;       /* without brackets or port */
	uint16_t port;
	const char *remote;     /* the name sent to the server */
	const char *local;      /* "-": stdout / stdin */
	int family;             /* AF_UNSPEC, AF_INET or AF_INET6 */
	uint16_t lport_lo, lport_hi; /* 0: any local port */
	enum tftp_mode mode;
	/* Options to request (req.present == 0: none at all). For a put,
	 * TFTP_OPT_TSIZE here means "send the local size when known". */
	struct tftp_opts req;
	uint32_t timeout_ms;    /* retransmission timeout (cap) */
	uint32_t retries;
	int verbosity;          /* enum tftp_verbosity */
	int trace;              /* print every packet */
	int progress;           /* draw a progress bar on stderr */
	int json;               /* --json: a JSON summary (jsonsum.c) */
	/* Set by the host's signal handler: the signal number, 0 when none. */
	volatile sig_atomic_t *stop;
};

/* What a transfer came to, for --json. */
struct tftp_summary {
	int ran;                /* a transfer was attempted */
	char server[64];        /* the address it went to */
	uint64_t bytes, packets_sent, retransmits, us;
	uint32_t blksize, window;
	int peer_error;         /* error_code came from the server */
	uint16_t error_code;
	char error[128];
};

/* The summary as one JSON line: to stdout, or to stderr when the file
 * itself goes to stdout (get to "-"). */
void tftp_json_summary(const struct tftp_client_args *a,
		       const struct tftp_summary *s, int rc);

/* Run one transfer; prints its own messages to stderr. Returns an exit
 * code (enum tftp_exit, or TFTP_EXIT_SIGNAL + signo). */
int tftp_client_run(const struct tftp_client_args *a);

#endif
