/* tftp: the command line; the transfer itself is in client.c. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client.h"
#include "shell.h"
#include "config.h"
#include "net.h"
#include "cli.h"
#include "options.h"
#include "packet.h"

/* Asked for when the command line says nothing: a block that fits an
 * Ethernet frame over IPv4 and IPv6 (1428 + 4 + 8 + 40 <= 1500). */
#define DEFAULT_BLKSIZE 1428u
#define DEFAULT_TIMEOUT_S 1u
#define DEFAULT_RETRIES 5u
/* The command and up to three operands. */
#define MAX_OPERANDS 4

static const char usage_text[] =
	"Usage: tftp get [OPTION]... HOST[:PORT] REMOTE [LOCAL]\n"
	"       tftp put [OPTION]... HOST[:PORT] LOCAL [REMOTE]\n"
	"       tftp get [OPTION]... tftp://HOST[:PORT]/PATH [LOCAL]\n"
	"       tftp put [OPTION]... LOCAL tftp://HOST[:PORT]/PATH\n"
	"  tftp-hpa's syntax (see tftp(1)):\n"
	"       tftp [-4|-6] [-v] [-l] [-m MODE] [-R LO:HI] [HOST [PORT]] [-c COMMAND]\n"
	"       (without -c: commands from the prompt, or from stdin)\n"
	"Transfer a file over TFTP (RFC 1350, 2347, 2348, 2349, 7440).\n"
	"LOCAL defaults to the last part of REMOTE and REMOTE to that of LOCAL;\n"
	"LOCAL '-' is standard output (get) or standard input (put). An IPv6\n"
	"address is written [::1] or [::1]:6969. A download goes to a hidden\n"
	"temporary file next to LOCAL, renamed over it only when complete.\n"
	"\n"
	"  -b, --blksize N           block size to ask for (8..65464, default 1428)\n"
	"  -W, --windowsize N        window to ask for (1..65535; default: not asked,\n"
	"                            which means 1)\n"
	"  -t, --timeout SEC         retransmit timeout, also asked of the server\n"
	"                            (1..255; default 1, adaptive, not asked)\n"
	"      --retries N           give up after timeout x N seconds without an\n"
	"                            answer (1..1000, default 5)\n"
	"  -T, --tsize               ask for the size (get) / send it (put)\n"
	"      --no-options          pure RFC 1350: request no options at all\n"
	"  -m, --mode MODE           octet (default) or netascii\n"
	"  -4, --ipv4                IPv4 only\n"
	"  -6, --ipv6                IPv6 only\n"
	"  -p, --local-port LO:HI    bind a local port from this range\n"
	"  -v, --verbose             print the options in force and a summary\n"
	"      --trace               print every packet sent and received\n"
	"  -q, --quiet               print only errors\n"
	"      --json                a JSON summary on stdout (stderr when the\n"
	"                            file goes to stdout)\n"
	"      --progress            draw a progress bar even if stderr is no TTY\n"
	"      --no-progress         never draw a progress bar\n"
	"  -h, --help                this help\n"
	"  -V, --version             print the version\n"
	"\n"
	"Without options a request asks for blksize 1428 (and tsize when\n"
	"a progress bar is drawn); a server that refuses options with ERROR 8 is\n"
	"asked again without any.\n"
	"\n"
	"Exit status: 0 success, 1 TFTP error from the server, 2 timeout or no\n"
	"answer, 3 local file error, 64 usage error, 128+N killed by signal N\n"
	"(130 for Ctrl-C); no partial file is left behind on failure.\n";

#define usage_error(...) tftp_cli_usage_error("tftp", __VA_ARGS__)

static uint32_t parse_num(const char *opt, const char *s, uint64_t min,
			  uint64_t max)
{
	return (uint32_t)tftp_cli_num("tftp", opt, s, min, max);
}

static int is_url(const char *s);

/* What the options on the command line asked for. */
struct cmdline {
	struct tftp_client_args a;
	int blksize_set, window_set, timeout_set, tsize_set, no_options;
	int progress; /* -1 auto, 0 off, 1 on */
	const char *pos[MAX_OPERANDS];
	int npos;
	int is_get, is_put;
	char host[256];
	char *remote_buf; /* a decoded URL path */
};

enum {
	OPT_RETRIES = 256,
	OPT_NO_OPTIONS,
	OPT_TRACE,
	OPT_PROGRESS,
	OPT_NO_PROGRESS,
	OPT_JSON,
};

static const char short_opts[] = "+:b:W:t:Tm:46p:vqhV";

static const struct option long_opts[] = {
	{"blksize", required_argument, NULL, 'b'},
	{"windowsize", required_argument, NULL, 'W'},
	{"timeout", required_argument, NULL, 't'},
	{"retries", required_argument, NULL, OPT_RETRIES},
	{"tsize", no_argument, NULL, 'T'},
	{"no-options", no_argument, NULL, OPT_NO_OPTIONS},
	{"mode", required_argument, NULL, 'm'},
	{"ipv4", no_argument, NULL, '4'},
	{"ipv6", no_argument, NULL, '6'},
	{"local-port", required_argument, NULL, 'p'},
	{"verbose", no_argument, NULL, 'v'},
	{"trace", no_argument, NULL, OPT_TRACE},
	{"quiet", no_argument, NULL, 'q'},
	{"json", no_argument, NULL, OPT_JSON},
	{"progress", no_argument, NULL, OPT_PROGRESS},
	{"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{NULL, 0, NULL, 0},
};

static void set_mode(struct cmdline *cl, const char *s)
{
	struct tftp_slice sl = {s, strlen(s)};
	cl->a.mode = tftp_mode_parse(sl);
	if (cl->a.mode == TFTP_MODE_INVALID)
		usage_error("--mode: '%s' is not octet or netascii", s);
}

static void one_option(struct cmdline *cl, int o, const char *arg)
{
	struct tftp_client_args *a = &cl->a;
	switch (o) {
	case 'b':
		a->req.blksize = parse_num("--blksize", arg, TFTP_BLKSIZE_MIN,
					   TFTP_BLKSIZE_MAX);
		cl->blksize_set = 1;
		break;
	case 'W':
		a->req.windowsize = parse_num("--windowsize", arg,
					      TFTP_WINDOW_MIN, TFTP_WINDOW_MAX);
		cl->window_set = 1;
		break;
	case 't':
		a->req.timeout = parse_num("--timeout", arg, TFTP_TIMEOUT_MIN,
					   TFTP_TIMEOUT_MAX);
		cl->timeout_set = 1;
		break;
	case OPT_RETRIES:
		a->retries = parse_num("--retries", arg, 1, 1000);
		break;
	case 'T': cl->tsize_set = 1; break;
	case OPT_NO_OPTIONS: cl->no_options = 1; break;
	case 'm': set_mode(cl, arg); break;
	case '4': a->family = AF_INET; break;
	case '6': a->family = AF_INET6; break;
	case 'p':
		if (tftp_parse_port_range(arg, &a->lport_lo, &a->lport_hi) < 0)
			usage_error("--local-port: '%s' is not LO:HI", arg);
		break;
	case 'v': a->verbosity = TFTP_VERBOSE; break;
	case 'q': a->verbosity = TFTP_QUIET; break;
	case OPT_TRACE: a->trace = 1; break;
	case OPT_JSON: a->json = 1; break;
	case OPT_PROGRESS: cl->progress = 1; break;
	case OPT_NO_PROGRESS: cl->progress = 0; break;
	case 'h':
		fputs(usage_text, stdout);
		exit(0);
	case 'V':
		printf("tftp %s\n", TFTP_VERSION);
		exit(0);
	default:
		break;
	}
}

/* getopt without permutation, restarted after each positional argument:
 * options may come before or after the command and its operands, but "-"
 * and everything after "--" stay operands. */
static void add_operand(struct cmdline *cl, const char *s)
{
	if (cl->npos >= MAX_OPERANDS)
		usage_error("too many arguments");
	cl->pos[cl->npos++] = s;
}

static void parse_options(struct cmdline *cl, int argc, char **argv)
{
	opterr = 0;
	optind = 1;
	while (optind < argc) {
		int o = getopt_long(argc, argv, short_opts, long_opts, NULL);
		if (o == -1) {
			if (optind > 1 && strcmp(argv[optind - 1], "--") == 0) {
				while (optind < argc)
					add_operand(cl, argv[optind++]);
				break;
			}
			if (optind < argc)
				add_operand(cl, argv[optind++]);
			continue;
		}
		if (o == '?')
			usage_error("unknown option '%s'", argv[optind - 1]);
		if (o == ':')
			usage_error("option '%s' needs a value", argv[optind - 1]);
		one_option(cl, o, optarg);
	}
}

/* %XX escapes of a URL path. Returns a new string or NULL if malformed. */
static char *url_decode(const char *s)
{
	size_t n = strlen(s);
	char *out = malloc(n + 1u);
	size_t j = 0;
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '%') {
			out[j++] = s[i];
			continue;
		}
		unsigned v = 0;
		for (int k = 1; k <= 2; k++) {
			char h = s[i + (size_t)k];
			unsigned d = (h >= '0' && h <= '9') ? (unsigned)(h - '0')
				   : (h >= 'a' && h <= 'f') ? (unsigned)(h - 'a' + 10)
				   : (h >= 'A' && h <= 'F') ? (unsigned)(h - 'A' + 10)
				   : 16u;
			if (d > 15u) {
				free(out);
				return NULL;
			}
			v = v * 16u + d;
		}
		if (v == 0) {
			free(out);
			return NULL;
		}
		out[j++] = (char)v;
		i += 2;
	}
	out[j] = '\0';
	return out;
}

static void parse_hostport(struct cmdline *cl, const char *s)
{
	if (shell_ambiguous_v6(s)) {
		const char *c = strrchr(s, ':');
		usage_error("'%s' is ambiguous: an IPv6 address with a port is "
			    "written [%.*s]:%s", s, (int)(c - s), s, c + 1);
	}
	if (is_url(s))
		usage_error("put takes LOCAL then the URL: tftp put LOCAL %s", s);
	if (tftp_split_hostport(s, cl->host, sizeof(cl->host), &cl->a.port,
				TFTP_PORT) < 0 || !cl->host[0])
		usage_error("'%s' is not HOST, HOST:PORT or [IPV6]:PORT", s);
	cl->a.host = cl->host;
}

/* tftp://HOST[:PORT]/PATH[;mode=MODE] (RFC 3617). */
static void parse_url(struct cmdline *cl, const char *url)
{
	const char *auth = url + strlen("tftp://");
	const char *slash = strchr(auth, '/');
	if (!slash || slash == auth || !slash[1])
		usage_error("'%s' is not tftp://HOST[:PORT]/PATH", url);
	char hp[300];
	if ((size_t)(slash - auth) >= sizeof(hp))
		usage_error("'%s': host too long", url);
	memcpy(hp, auth, (size_t)(slash - auth));
	hp[slash - auth] = '\0';
	parse_hostport(cl, hp);
	char *path = strdup(slash + 1);
	if (!path)
		usage_error("out of memory");
	char *semi = strrchr(path, ';');
	if (semi && strncasecmp(semi, ";mode=", 6) == 0) {
		set_mode(cl, semi + 6);
		*semi = '\0';
	}
	cl->remote_buf = url_decode(path);
	free(path);
	if (!cl->remote_buf || !cl->remote_buf[0])
		usage_error("'%s': bad path", url);
	cl->a.remote = cl->remote_buf;
}

static int is_url(const char *s)
{
	return strncasecmp(s, "tftp://", 7) == 0;
}

/* The last component, or NULL if there is none worth naming a file by. */
static const char *name_from(const char *path)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	if (!*b || strcmp(b, ".") == 0 || strcmp(b, "..") == 0)
		return NULL;
	return b;
}

static void parse_operands(struct cmdline *cl)
{
	struct tftp_client_args *a = &cl->a;
	const char **p = cl->pos + 1; /* after the command */
	int n = cl->npos - 1;
	if (cl->is_get) {
		int url = n >= 1 && is_url(p[0]);
		if (n < (url ? 1 : 2) || n > (url ? 2 : 3))
			usage_error("get needs HOST REMOTE [LOCAL] or URL [LOCAL]");
		if (url)
			parse_url(cl, p[0]);
		else
			parse_hostport(cl, p[0]);
		if (!url && n == 3 && strspn(p[1], "0123456789") == strlen(p[1]) &&
		    strlen(p[1]) <= 5)
			usage_error("'get %s %s %s' reads as file '%s' from port 69: "
				    "for port %s write 'tftp get %s:%s %s' (or, as in "
				    "tftp-hpa, 'tftp %s %s -c get %s')", p[0], p[1], p[2],
				    p[1], p[1], p[0], p[1], p[2], p[0], p[1], p[2]);
		if (!url)
			a->remote = p[1];
		a->local = n > (url ? 1 : 2) ? p[url ? 1 : 2] : name_from(a->remote);
		if (!a->local)
			usage_error("no file name in '%s': give LOCAL", a->remote);
		return;
	}
	int url = n == 2 && is_url(p[1]);
	if (n < 2 || n > 3 || (url && n != 2))
		usage_error("put needs HOST LOCAL [REMOTE] or LOCAL URL");
	if (url) {
		parse_url(cl, p[1]);
		a->local = p[0];
		return;
	}
	parse_hostport(cl, p[0]);
	a->local = p[1];
	a->remote = n == 3 ? p[2] : name_from(a->local);
	if (n != 3 && (!a->remote || strcmp(a->local, "-") == 0))
		usage_error("no file name in '%s': give REMOTE", a->local);
}

/* The options to request: the defaults, or exactly what was asked. */
static void choose_options(struct cmdline *cl)
{
	struct tftp_client_args *a = &cl->a;
	struct tftp_opts *r = &a->req;
	if (cl->no_options) {
		if (cl->blksize_set || cl->window_set || cl->tsize_set)
			usage_error("--no-options with -b, -W or -T");
		if (cl->timeout_set)
			a->timeout_ms = r->timeout * 1000u;
		r->present = 0;
		return;
	}
	if (!cl->blksize_set)
		r->blksize = DEFAULT_BLKSIZE;
	r->present |= TFTP_OPT_BLKSIZE;
	if (cl->window_set)
		r->present |= TFTP_OPT_WINDOWSIZE;
	if (cl->timeout_set) {
		r->present |= TFTP_OPT_TIMEOUT;
		a->timeout_ms = r->timeout * 1000u;
	}
	/* A progress bar shows percent and ETA only if the size is known. */
	if (cl->tsize_set || (a->progress && !a->is_put))
		r->present |= TFTP_OPT_TSIZE;
	r->tsize = 0;
}

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

/* No SA_RESTART: a signal wakes poll() so the loop sees the flag, aborts
 * the transfer and removes the temporary file. */
static void install_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* A closed stdout pipe is a write error (EPIPE), not a silent death
	 * that would leave the temporary file of another run behind. */
	signal(SIGPIPE, SIG_IGN);
	/* Likewise a file-size limit (ulimit -f): EFBIG, exit 3, clean up. */
	signal(SIGXFSZ, SIG_IGN);
}

/* ---- tftp-hpa's syntax ---------------------------------------------------- */

/* Options that take a value (short and long), for finding the first
 * operand without parsing. */
static int takes_value(const char *arg)
{
	static const char *const longs[] = {"--blksize", "--windowsize",
		"--timeout", "--retries", "--mode", "--local-port"};
	if (arg[1] != '-')
		return arg[2] == '\0' && strchr("bWtmpR", arg[1]) != NULL;
	for (size_t i = 0; i < sizeof(longs) / sizeof(longs[0]); i++)
		if (strcmp(arg, longs[i]) == 0)
			return 1;
	return 0;
}

/* Ours ("get"/"put" or a URL first) or tftp-hpa's (anything else, -c,
 * or nothing at all: the prompt)? */
static int hpa_syntax(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-c") == 0)
			return 1;
		if (strcmp(a, "--") == 0)
			a = i + 1 < argc ? argv[++i] : "";
		else if (a[0] == '-' && a[1]) {
			if (takes_value(a))
				i++;
			continue;
		}
		return strcmp(a, "get") != 0 && strcmp(a, "put") != 0 &&
		       !is_url(a);
	}
	return 1;
}

static const char hpa_short_opts[] = "+:46vlm:R:b:W:t:TqhVc";

static void hpa_option(struct shell *sh, struct cmdline *cl, int o,
		       const char *arg)
{
	unsigned long v;
	switch (o) {
	case '4': sh->family = AF_INET; break;
	case '6': sh->family = AF_INET6; break;
	case 'v': sh->verbose = 1; break;
	case 'l': sh->literal = 1; break;
	case OPT_TRACE: sh->trace = 1; break;
	case 'T': sh->tsize = 1; break;
	case OPT_NO_OPTIONS: sh->no_options = 1; break;
	case 'm':
		if (strcmp(arg, "binary") && strcmp(arg, "ascii") &&
		    strcmp(arg, "octet") && strcmp(arg, "netascii"))
			usage_error("-m: '%s' is not binary, ascii, octet or "
				    "netascii", arg);
		sh->mode = (!strcmp(arg, "ascii") || !strcmp(arg, "netascii"))
				   ? TFTP_MODE_NETASCII : TFTP_MODE_OCTET;
		break;
	case 'R':
	case 'p':
		if (tftp_parse_port_range(arg, &sh->lport_lo, &sh->lport_hi) < 0)
			usage_error("-R: '%s' is not PORT:PORT", arg);
		break;
	case 'b': sh->blksize = parse_num("-b", arg, TFTP_BLKSIZE_MIN,
					  TFTP_BLKSIZE_MAX); break;
	case 'W': sh->windowsize = parse_num("-W", arg, TFTP_WINDOW_MIN,
					     TFTP_WINDOW_MAX); break;
	case 't':
		v = parse_num("-t", arg, TFTP_TIMEOUT_MIN, TFTP_TIMEOUT_MAX);
		sh->rexmt_s = (unsigned)v;
		break;
	case OPT_RETRIES:
		sh->total_s = sh->rexmt_s * parse_num("--retries", arg, 1, 1000);
		break;
	default:
		one_option(cl, o, arg); /* -h, -V, -q */
		break;
	}
}

/* Parse up to -c: options, then HOST [PORT]. Returns the index of the
 * command's first word, or argc if there is no -c. */
static int hpa_parse(struct shell *sh, int argc, char **argv, const char **host,
		     const char **port)
{
	struct cmdline cl;
	memset(&cl, 0, sizeof(cl));
	opterr = 0;
	optind = 1;
	while (optind < argc) {
		int o = getopt_long(argc, argv, hpa_short_opts, long_opts, NULL);
		if (o == 'c')
			return optind;
		if (o == '?')
			usage_error("unknown option '%s'", argv[optind - 1]);
		if (o == ':')
			usage_error("option '%s' needs a value", argv[optind - 1]);
		if (o != -1) {
			hpa_option(sh, &cl, o, optarg);
			continue;
		}
		if (optind >= argc)
			break;
		if (!*host)
			*host = argv[optind++];
		else if (!*port)
			*port = argv[optind++];
		else
			usage_error("unexpected '%s' (tftp HOST [PORT] -c COMMAND)",
				    argv[optind]);
	}
	return argc;
}


/* tftp [options] [HOST [PORT]] [-c COMMAND...]: one command, or the prompt
 * (commands from stdin when it is not a terminal). Exit codes are ours. */
static int run_hpa(int argc, char **argv)
{
	struct shell sh;
	const char *host = NULL, *port = NULL;
	shell_init(&sh, &got_signal);
	int cmd = hpa_parse(&sh, argc, argv, &host, &port);
	if (host && shell_connect(&sh, host, port) != 0)
		return TFTP_EXIT_USAGE;
	install_signals();
	if (cmd < argc) {
		size_t len = 1;
		for (int i = cmd; i < argc; i++)
			len += strlen(argv[i]) + 1u;
		char *line = malloc(len);
		if (!line)
			usage_error("out of memory");
		line[0] = '\0';
		for (int i = cmd; i < argc; i++) {
			strcat(line, argv[i]);
			strcat(line, " ");
		}
		int rc = shell_command(&sh, line);
		free(line);
		if (got_signal)
			return TFTP_EXIT_SIGNAL + (int)got_signal;
		return rc < 0 ? 0 : rc;
	}
	sh.interactive = isatty(STDIN_FILENO);
	return shell_run(&sh);
}

int main(int argc, char **argv)
{
	if (hpa_syntax(argc, argv))
		return run_hpa(argc, argv);
	struct cmdline cl;
	memset(&cl, 0, sizeof(cl));
	cl.progress = -1;
	cl.a.family = AF_UNSPEC;
	cl.a.mode = TFTP_MODE_OCTET;
	cl.a.timeout_ms = DEFAULT_TIMEOUT_S * 1000u;
	cl.a.retries = DEFAULT_RETRIES;
	parse_options(&cl, argc, argv);
	if (cl.npos == 0)
		usage_error("no command (get or put)");
	cl.is_get = strcmp(cl.pos[0], "get") == 0;
	cl.is_put = strcmp(cl.pos[0], "put") == 0;
	if (!cl.is_get && !cl.is_put)
		usage_error("unknown command '%s' (get or put)", cl.pos[0]);
	cl.a.is_put = cl.is_put;
	parse_operands(&cl);
	if (cl.progress < 0)
		cl.a.progress = isatty(STDERR_FILENO) &&
				cl.a.verbosity != TFTP_QUIET && !cl.a.trace;
	else
		cl.a.progress = cl.progress;
	choose_options(&cl);
	install_signals();
	cl.a.stop = &got_signal;
	int rc = tftp_client_run(&cl.a);
	free(cl.remote_buf);
	return rc;
}
