/* tftp-hpa-style commands and the interactive prompt. See shell.h. */
#include "shell.h"

#include <arpa/inet.h>
#include <editline/readline.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net.h"
#include "options.h"
#include "packet.h"

#define MAX_ARGS 64
#define DEFAULT_BLKSIZE 1428u

void shell_init(struct shell *sh, volatile sig_atomic_t *stop)
{
	memset(sh, 0, sizeof(*sh));
	sh->port = TFTP_PORT;
	sh->family = AF_UNSPEC;
	sh->mode = TFTP_MODE_OCTET;
	sh->rexmt_s = 1;
	sh->total_s = 5;
	sh->blksize = DEFAULT_BLKSIZE;
	sh->stop = stop;
}

static int usage(const char *msg)
{
	fprintf(stderr, "tftp: %s\n", msg);
	return TFTP_EXIT_USAGE;
}

/* "::1:6969" is both an address and (as people mean it) ::1 port 6969. */
int shell_ambiguous_v6(const char *s)
{
	const char *last = strrchr(s, ':');
	struct in6_addr a;
	char head[64];
	if (!last || s[0] == '[' || strchr(s, ':') == last)
		return 0;
	size_t digits = strspn(last + 1, "0123456789");
	size_t n = (size_t)(last - s);
	if (digits == 0 || digits > 5 || last[1 + digits] || n >= sizeof(head))
		return 0;
	memcpy(head, s, n);
	head[n] = '\0';
	return inet_pton(AF_INET6, head, &a) == 1;
}

int shell_connect(struct shell *sh, const char *host, const char *port)
{
	uint16_t p = TFTP_PORT;
	if (shell_ambiguous_v6(host)) {
		const char *c = strrchr(host, ':');
		fprintf(stderr, "tftp: '%s' is ambiguous: an IPv6 address with a "
			"port is written [%.*s]:%s (see tftp --help)\n",
			host, (int)(c - host), host, c + 1);
		return TFTP_EXIT_USAGE;
	}
	if (tftp_split_hostport(host, sh->host, sizeof(sh->host), &p,
				TFTP_PORT) < 0 || !sh->host[0]) {
		sh->host[0] = '\0';
		fprintf(stderr, "tftp: '%s' is not a host name or address "
			"(see tftp --help)\n", host);
		return TFTP_EXIT_USAGE;
	}
	if (port) {
		char *end;
		unsigned long v = strtoul(port, &end, 10);
		if (!*port || *end || v == 0 || v > 65535) {
			fprintf(stderr, "tftp: '%s' is not a port number (see tftp "
				"--help)\n", port);
			return TFTP_EXIT_USAGE;
		}
		p = (uint16_t)v;
	}
	sh->port = p;
	return 0;
}

/* The options a transfer asks for: ours by default (blksize 1428),
 * exactly what blksize/windowsize/tsize set, none after "options off". */
static void request_options(const struct shell *sh, struct tftp_opts *r)
{
	memset(r, 0, sizeof(*r));
	if (sh->no_options)
		return;
	if (sh->blksize) {
		r->present |= TFTP_OPT_BLKSIZE;
		r->blksize = sh->blksize;
	}
	if (sh->windowsize) {
		r->present |= TFTP_OPT_WINDOWSIZE;
		r->windowsize = sh->windowsize;
	}
	if (sh->tsize)
		r->present |= TFTP_OPT_TSIZE;
}

static int transfer(struct shell *sh, int put, const char *remote,
		    const char *local)
{
	struct tftp_client_args a;
	memset(&a, 0, sizeof(a));
	if (!sh->host[0])
		return usage("not connected: use 'connect HOST [PORT]' first");
	a.is_put = put;
	a.host = sh->host;
	a.port = sh->port;
	a.remote = remote;
	a.local = local;
	a.family = sh->family;
	a.lport_lo = sh->lport_lo;
	a.lport_hi = sh->lport_hi;
	a.mode = sh->mode;
	request_options(sh, &a.req);
	a.timeout_ms = sh->rexmt_s * 1000u;
	a.retries = sh->total_s / sh->rexmt_s ? sh->total_s / sh->rexmt_s : 1u;
	a.verbosity = sh->verbose ? TFTP_VERBOSE : TFTP_NORMAL;
	a.trace = sh->trace;
	a.progress = 0;
	a.stop = sh->stop;
	return tftp_client_run(&a);
}

static const char *base_of(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

/* hpa's "get host:file": unless literal, a name with a colon before any
 * slash names the server too. */
static const char *take_host(struct shell *sh, const char *arg, char *buf,
			     size_t cap)
{
	const char *colon = strchr(arg, ':');
	const char *slash = strchr(arg, '/');
	if (sh->literal || !colon || colon == arg || (slash && slash < colon) ||
	    (size_t)(colon - arg) >= cap)
		return arg;
	memcpy(buf, arg, (size_t)(colon - arg));
	buf[colon - arg] = '\0';
	if (shell_connect(sh, buf, NULL) != 0)
		return NULL;
	return colon + 1;
}

static int record(struct shell *sh, int rc)
{
	if (rc != 0)
		sh->last_rc = rc;
	return rc;
}

/* get REMOTE [LOCAL], or get R1 R2 ... RN (each to its base name). */
static int cmd_get(struct shell *sh, int argc, char **argv)
{
	char hostbuf[256];
	if (argc < 2)
		return usage("usage: get REMOTE [LOCAL] | get REMOTE1 REMOTE2 ...");
	if (argc == 3) {
		const char *r = take_host(sh, argv[1], hostbuf, sizeof(hostbuf));
		return r ? record(sh, transfer(sh, 0, r, argv[2]))
			 : TFTP_EXIT_USAGE;
	}
	int rc = 0;
	for (int i = 1; i < argc && !*sh->stop; i++) {
		const char *r = take_host(sh, argv[i], hostbuf, sizeof(hostbuf));
		int one = r ? transfer(sh, 0, r, base_of(r)) : TFTP_EXIT_USAGE;
		if (one)
			rc = record(sh, one);
	}
	return rc;
}

/* put LOCAL [REMOTE], or put L1 L2 ... LN DIR (each into DIR). */
static int cmd_put(struct shell *sh, int argc, char **argv)
{
	char hostbuf[256], remote[1024];
	if (argc < 2)
		return usage("usage: put LOCAL [REMOTE] | put LOCAL1 LOCAL2 ... DIR");
	if (argc <= 3) {
		const char *r = argc == 3 ? argv[2] : base_of(argv[1]);
		r = take_host(sh, r, hostbuf, sizeof(hostbuf));
		return r ? record(sh, transfer(sh, 1, r, argv[1])) : TFTP_EXIT_USAGE;
	}
	const char *dir = take_host(sh, argv[argc - 1], hostbuf, sizeof(hostbuf));
	if (!dir)
		return TFTP_EXIT_USAGE;
	int rc = 0;
	for (int i = 1; i < argc - 1 && !*sh->stop; i++) {
		snprintf(remote, sizeof(remote), "%s/%s", dir, base_of(argv[i]));
		int one = transfer(sh, 1, remote, argv[i]);
		if (one)
			rc = record(sh, one);
	}
	return rc;
}

static int set_mode(struct shell *sh, const char *m)
{
	if (strcmp(m, "binary") == 0 || strcmp(m, "image") == 0)
		m = "octet";
	else if (strcmp(m, "ascii") == 0)
		m = "netascii";
	struct tftp_slice sl = {m, strlen(m)};
	enum tftp_mode v = tftp_mode_parse(sl);
	if (v == TFTP_MODE_INVALID)
		return usage("mode: ascii, netascii, binary or octet");
	sh->mode = v;
	return 0;
}

/* A number for rexmt, timeout, blksize, windowsize. */
static int number(const char *s, unsigned long lo, unsigned long hi,
		  unsigned long *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (!*s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int cmd_number(struct shell *sh, const char *cmd, int argc, char **argv)
{
	unsigned long v;
	struct { const char *name; unsigned long lo, hi; } t[] = {
		{"rexmt", 1, 255}, {"timeout", 1, 86400},
		{"blksize", TFTP_BLKSIZE_MIN, TFTP_BLKSIZE_MAX},
		{"windowsize", TFTP_WINDOW_MIN, TFTP_WINDOW_MAX},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (strcmp(cmd, t[i].name) != 0)
			continue;
		if (argc != 2 || number(argv[1], t[i].lo, t[i].hi, &v) < 0) {
			fprintf(stderr, "tftp: usage: %s N (%lu..%lu)\n", cmd,
				t[i].lo, t[i].hi);
			return TFTP_EXIT_USAGE;
		}
		if (i == 0)
			sh->rexmt_s = (unsigned)v;
		else if (i == 1)
			sh->total_s = (unsigned)v;
		else if (i == 2)
			sh->blksize = (uint32_t)v;
		else
			sh->windowsize = (uint32_t)v;
		return 0;
	}
	return -2; /* not a numeric setting */
}

static const char *onoff(int v)
{
	return v ? "on" : "off";
}

static void status(const struct shell *sh)
{
	if (sh->host[0])
		printf("Connected to %s port %u.\n", sh->host, (unsigned)sh->port);
	else
		printf("Not connected.\n");
	printf("Mode: %s Verbose: %s Tracing: %s Literal: %s\n",
	       tftp_mode_name(sh->mode), onoff(sh->verbose), onoff(sh->trace),
	       onoff(sh->literal));
	printf("Rexmt-interval: %u seconds, Max-timeout: %u seconds\n",
	       sh->rexmt_s, sh->total_s);
	printf("Options: blksize %u, windowsize %u, tsize %s\n",
	       (unsigned)sh->blksize, (unsigned)sh->windowsize, onoff(sh->tsize));
}

static void help(void)
{
	fputs("Commands:\n"
	      "  connect HOST [PORT]  the server (also \"tftp HOST [PORT]\")\n"
	      "  get REMOTE [LOCAL]   download; get R1 R2 ...: several\n"
	      "  put LOCAL [REMOTE]   upload; put L1 L2 ... DIR: several into DIR\n"
	      "  mode ascii|binary    transfer mode (also: ascii, binary)\n"
	      "  verbose, trace       toggle the summary / a line per packet\n"
	      "  literal              toggle reading HOST:FILE in get/put names\n"
	      "  rexmt SEC            retransmission timeout\n"
	      "  timeout SEC          give up after SEC without an answer\n"
	      "  blksize N, windowsize N, tsize   options to ask for\n"
	      "  status               show the settings\n"
	      "  quit                 leave (end of input too)\n"
	      "  help, ?              this list\n", stdout);
}

static int toggle(int *v, const char *what)
{
	*v = !*v;
	printf("%s %s.\n", what, onoff(*v));
	return 0;
}

static int settings(struct shell *sh, int argc, char **argv)
{
	const char *c = argv[0];
	if (strcmp(c, "connect") == 0)
		return argc >= 2 && argc <= 3
			       ? shell_connect(sh, argv[1], argc == 3 ? argv[2] : NULL)
			       : usage("usage: connect HOST [PORT]");
	if (strcmp(c, "mode") == 0) {
		if (argc == 1) {
			printf("Using %s mode to transfer files.\n",
			       tftp_mode_name(sh->mode));
			return 0;
		}
		return set_mode(sh, argv[1]);
	}
	if (strcmp(c, "binary") == 0 || strcmp(c, "ascii") == 0)
		return set_mode(sh, c);
	if (strcmp(c, "verbose") == 0)
		return toggle(&sh->verbose, "Verbose mode");
	if (strcmp(c, "trace") == 0)
		return toggle(&sh->trace, "Packet tracing");
	if (strcmp(c, "literal") == 0)
		return toggle(&sh->literal, "Literal mode");
	if (strcmp(c, "tsize") == 0)
		return toggle(&sh->tsize, "Tsize option");
	return cmd_number(sh, c, argc, argv);
}

int shell_command(struct shell *sh, char *line)
{
	char *argv[MAX_ARGS];
	int argc = 0;
	for (char *t = strtok(line, " \t\r\n"); t && argc < MAX_ARGS;
	     t = strtok(NULL, " \t\r\n"))
		argv[argc++] = t;
	if (argc == 0)
		return 0;
	const char *c = argv[0];
	if (strcmp(c, "quit") == 0 || strcmp(c, "q") == 0 || strcmp(c, "exit") == 0)
		return -1;
	if (strcmp(c, "get") == 0)
		return cmd_get(sh, argc, argv);
	if (strcmp(c, "put") == 0)
		return cmd_put(sh, argc, argv);
	if (strcmp(c, "status") == 0) {
		status(sh);
		return 0;
	}
	if (strcmp(c, "help") == 0 || strcmp(c, "?") == 0) {
		help();
		return 0;
	}
	int rc = settings(sh, argc, argv);
	if (rc == -2) {
		fprintf(stderr, "tftp: ?Invalid command '%s' (help lists them)\n", c);
		rc = TFTP_EXIT_USAGE;
	}
	return record(sh, rc);
}

/* One line: libedit's readline (editing, history) on a terminal, plain
 * stdio otherwise. NULL at end of input. */
static char *next_line(const struct shell *sh)
{
	if (sh->interactive) {
		char *l = readline("tftp> ");
		if (l && *l)
			add_history(l);
		return l;
	}
	char *l = NULL;
	size_t cap = 0;
	if (getline(&l, &cap, stdin) < 0) {
		free(l);
		return NULL;
	}
	return l;
}

int shell_run(struct shell *sh)
{
	char *l;
	while ((l = next_line(sh)) != NULL) {
		int rc = shell_command(sh, l);
		free(l);
		if (*sh->stop) {
			int sig = (int)*sh->stop;
			if (!sh->interactive || sig != SIGINT)
				return TFTP_EXIT_SIGNAL + sig;
			*sh->stop = 0; /* ^C ends the transfer, not the session */
		}
		if (rc < 0)
			break;
	}
	if (sh->interactive)
		putchar('\n');
	return sh->last_rc;
}
