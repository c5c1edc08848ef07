/* tftpd: command line, logging set-up, privilege drop; the server itself
 * is in server.c and session.c. */
#include <errno.h>
#include <fcntl.h>
#include <event2/event.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "config.h"
#include "net.h"
#include "cli.h"
#include "limits.h"
#include "options.h"
#include "packet.h"
#include "server.h"
#include "hpa.h"
#include "clientmap.h"
#include "clock.h"
#include "record.h"
#include "metrics.h"
#include "workers.h"
#include "origin.h"


static const char usage_text[] =
	"Usage: tftpd [OPTION]...\n"
	"Serve files over TFTP (RFC 1350, 2347, 2348, 2349, 7440).\n"
	"\n"
	"  -r, --root DIR            served directory (default /srv/tftp)\n"
	"  -a, --address [ADDR][:PORT]\n"
	"                            listen address, e.g. 127.0.0.1:6969, [::1]:69,\n"
	"                            :6969 (repeatable; default all addresses, port 69)\n"
	"  -4, --ipv4                IPv4 only\n"
	"  -6, --ipv6                IPv6 only\n"
	"  -w, --write               accept uploads (WRQ) of new files\n"
	"      --overwrite           with -w, also replace existing files\n"
	"      --upload-dir DIR      with -w, uploads go to DIR (reads stay on -r)\n"
	"      --mkdir               with -w, uploads create missing directories\n"
	"      --client-root ip|mac  look in ROOT/<client address>/ (or\n"
	"                            ROOT/01-aa-bb-cc-dd-ee-ff/) first, then ROOT/\n"
	"      --client-root-map FILE\n"
	"                            per network: a directory tried first, and\n"
	"                            option caps (CIDR DIR [blksize=N] ...)\n"
	"      --windows-names       \\ as /, no drive letter, and a name not found\n"
	"                            is looked up again regardless of case\n"
	"      --refuse OPTION       never grant OPTION (repeatable)\n"
	"  -R, --port-range LO:HI    local ports for transfers (default: any)\n"
	"      --single-port         every transfer on the listening port (behind\n"
	"                            NAT, in containers, through load balancers)\n"
	"  -B, --max-blksize N       largest blksize granted (8..65464, default 65464)\n"
	"      --max-window N        largest windowsize granted (1..65535, default 64)\n"
	"      --no-options          ignore option requests (pure RFC 1350)\n"
	"  -t, --timeout SEC         retransmit timeout (1..255, default 1)\n"
	"      --max-timeout SEC     largest timeout option granted (1..255, default 10)\n"
	"      --retries N           give up after timeout x N seconds of silence\n"
	"                            (default 5)\n"
	"  -m, --max-transfers N     concurrent transfers (default 1000)\n"
	"      --max-per-client N    concurrent transfers per client address (default 32)\n"
	"      --client-prefix6 N    IPv6 clients counted per /N (0..128, default 64)\n"
	"      --max-upload SIZE     largest upload, e.g. 100M (default unlimited)\n"
	"  -U, --umask MASK          umask for uploaded files (octal, default 022)\n"
	"  -u, --user USER           drop privileges to USER after binding (as root,\n"
	"                            default: tftp if it exists, else nobody;\n"
	"                            -u root keeps root)\n"
	"  -p, --permissive          serve files not readable by others, replace\n"
	"                            files not writable by others\n"
	"      --chroot              chroot into the root directory (with -u)\n"
	"  -v, --verbose             more logging (repeatable)\n"
	"      --syslog              log to syslog instead of stderr\n"
	"      --metrics [ADDR]:PORT Prometheus metrics at http://ADDR:PORT/metrics\n"
	"      --on-complete CMD     run CMD after each transfer, its fields in\n"
	"                            TFTP_* variables (no shell; see tftpd(8))\n"
	"      --on-complete-shell   run CMD with /bin/sh -c\n"
	"      --on-complete-max N   hooks at once (1..256, default 8)\n"
	"      --on-complete-timeout SEC\n"
	"                            kill a hook after SEC (default 30)\n"
	"      --log-format text|json\n"
	"                            json: one JSON object per line (see tftpd(8))\n"
	"      --origin URL          fetch names not under the root from this\n"
	"                            http(s) URL ({file} {ip} {mac}, else the name\n"
	"                            is appended); streamed, one fetch per name\n"
	"      --origin-only         every read request goes to the origin\n"
	"      --origin-ca FILE      CA certificates for an https origin\n"
	"      --origin-connect-timeout SEC\n"
	"                            give up connecting after SEC (default 5)\n"
	"      --origin-timeout SEC  give up after SEC without a byte (default 10)\n"
	"      --origin-put          uploads (WRQ) become HTTP PUTs to the origin;\n"
	"                            the final ACK waits for its 2xx\n"
	"      --cache DIR           keep origin files in DIR (survives restarts)\n"
	"      --cache-size SIZE     at most SIZE in DIR, e.g. 20G (default 1G)\n"
	"      --cache-ttl SEC       revalidate after SEC (ETag, Last-Modified;\n"
	"                            default 60; 0: every time)\n"
	"      --remap FILE          rename requested files by tftp-hpa's remap\n"
	"                            rules (its -m file; re-read on SIGHUP)\n"
	"      --hpa-compat          take tftp-hpa's in.tftpd command line instead\n"
	"                            (also when run as in.tftpd; see tftpd(8))\n"
	"      --workers N           N server processes sharing the port through\n"
	"                            SO_REUSEPORT, e.g. one per core (default 1;\n"
	"                            limits hold for all of them together)\n"
	"  -h, --help                this help\n"
	"  -V, --version             print the version\n";

#define usage_error(...) tftp_cli_usage_error("tftpd", __VA_ARGS__)

static uint64_t parse_num(const char *opt, const char *s, uint64_t min,
			  uint64_t max)
{
	return tftp_cli_num("tftpd", opt, s, min, max);
}

/* A size: decimal with an optional K, M, G or T (powers of 1024). */
static uint64_t parse_size(const char *opt, const char *s)
{
	size_t n = strlen(s);
	unsigned shift = 0;
	if (n > 1) {
		switch (s[n - 1]) {
		case 'k': case 'K': shift = 10; break;
		case 'm': case 'M': shift = 20; break;
		case 'g': case 'G': shift = 30; break;
		case 't': case 'T': shift = 40; break;
		default: break;
		}
	}
	if (shift)
		n--;
	uint64_t v;
	struct tftp_slice sl = {s, n};
	if (tftp_parse_decimal(sl, UINT64_MAX >> shift, &v) < 0)
		usage_error("%s: '%s' is not a size (e.g. 1048576, 512K, 100M, 2G)",
			    opt, s);
	return v << shift;
}

enum {
	OPT_OVERWRITE = 256,
	OPT_MAX_WINDOW,
	OPT_NO_OPTIONS,
	OPT_RETRIES,
	OPT_MAX_TIMEOUT,
	OPT_CLIENT_PREFIX6,
	OPT_MAX_PER_CLIENT,
	OPT_MAX_UPLOAD,
	OPT_CHROOT,
	OPT_SYSLOG,
	OPT_WORKERS,
	OPT_REMAP,
	OPT_HPA,
	OPT_SINGLE_PORT,
	OPT_UPLOAD_DIR,
	OPT_MKDIR,
	OPT_CLIENT_ROOT,
	OPT_CLIENT_ROOT_MAP,
	OPT_WINDOWS_NAMES,
	OPT_REFUSE,
	OPT_LOG_FORMAT,
	OPT_METRICS,
	OPT_HOOK,
	OPT_HOOK_SHELL,
	OPT_HOOK_MAX,
	OPT_HOOK_TIMEOUT,
	OPT_ORIGIN,
	OPT_ORIGIN_ONLY,
	OPT_ORIGIN_CA,
	OPT_ORIGIN_CONNECT_TIMEOUT,
	OPT_ORIGIN_TIMEOUT,
	OPT_ORIGIN_PUT,
	OPT_CACHE,
	OPT_CACHE_SIZE,
	OPT_CACHE_TTL,
};

static const char short_opts[] = ":r:a:46wR:B:t:m:U:u:pvhV";

static const struct option long_opts[] = {
	{"root", required_argument, NULL, 'r'},
	{"address", required_argument, NULL, 'a'},
	{"ipv4", no_argument, NULL, '4'},
	{"ipv6", no_argument, NULL, '6'},
	{"write", no_argument, NULL, 'w'},
	{"overwrite", no_argument, NULL, OPT_OVERWRITE},
	{"port-range", required_argument, NULL, 'R'},
	{"single-port", no_argument, NULL, OPT_SINGLE_PORT},
	{"upload-dir", required_argument, NULL, OPT_UPLOAD_DIR},
	{"mkdir", no_argument, NULL, OPT_MKDIR},
	{"client-root", required_argument, NULL, OPT_CLIENT_ROOT},
	{"client-root-map", required_argument, NULL, OPT_CLIENT_ROOT_MAP},
	{"windows-names", no_argument, NULL, OPT_WINDOWS_NAMES},
	{"refuse", required_argument, NULL, OPT_REFUSE},
	{"log-format", required_argument, NULL, OPT_LOG_FORMAT},
	{"metrics", required_argument, NULL, OPT_METRICS},
	{"on-complete", required_argument, NULL, OPT_HOOK},
	{"on-complete-shell", no_argument, NULL, OPT_HOOK_SHELL},
	{"on-complete-max", required_argument, NULL, OPT_HOOK_MAX},
	{"on-complete-timeout", required_argument, NULL, OPT_HOOK_TIMEOUT},
	{"origin", required_argument, NULL, OPT_ORIGIN},
	{"origin-only", no_argument, NULL, OPT_ORIGIN_ONLY},
	{"origin-ca", required_argument, NULL, OPT_ORIGIN_CA},
	{"origin-connect-timeout", required_argument, NULL,
	 OPT_ORIGIN_CONNECT_TIMEOUT},
	{"origin-timeout", required_argument, NULL, OPT_ORIGIN_TIMEOUT},
	{"origin-put", no_argument, NULL, OPT_ORIGIN_PUT},
	{"cache", required_argument, NULL, OPT_CACHE},
	{"cache-size", required_argument, NULL, OPT_CACHE_SIZE},
	{"cache-ttl", required_argument, NULL, OPT_CACHE_TTL},
	{"max-blksize", required_argument, NULL, 'B'},
	{"max-window", required_argument, NULL, OPT_MAX_WINDOW},
	{"no-options", no_argument, NULL, OPT_NO_OPTIONS},
	{"timeout", required_argument, NULL, 't'},
	{"retries", required_argument, NULL, OPT_RETRIES},
	{"max-timeout", required_argument, NULL, OPT_MAX_TIMEOUT},
	{"client-prefix6", required_argument, NULL, OPT_CLIENT_PREFIX6},
	{"max-transfers", required_argument, NULL, 'm'},
	{"max-per-client", required_argument, NULL, OPT_MAX_PER_CLIENT},
	{"max-upload", required_argument, NULL, OPT_MAX_UPLOAD},
	{"umask", required_argument, NULL, 'U'},
	{"user", required_argument, NULL, 'u'},
	{"permissive", no_argument, NULL, 'p'},
	{"chroot", no_argument, NULL, OPT_CHROOT},
	{"verbose", no_argument, NULL, 'v'},
	{"syslog", no_argument, NULL, OPT_SYSLOG},
	{"workers", required_argument, NULL, OPT_WORKERS},
	{"remap", required_argument, NULL, OPT_REMAP},
	{"hpa-compat", no_argument, NULL, OPT_HPA},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{NULL, 0, NULL, 0},
};

/* Each group of options sets its part of the configuration; 1 if the
 * option was one of the group's. */
static int listen_option(struct tftpd_config *cfg, int c, const char *arg)
{
	switch (c) {
	case 'r':
		if (!arg[0])
			usage_error("--root: empty directory name");
		cfg->root = arg;
		return 1;
	case 'a': {
		if (cfg->nlisten >= TFTPD_MAX_LISTEN)
			usage_error("--address: at most %d addresses",
				    TFTPD_MAX_LISTEN);
		struct tftpd_listen_spec *sp = &cfg->listen[cfg->nlisten];
		if (tftp_split_hostport(arg, sp->host, sizeof(sp->host),
					&sp->port, TFTP_PORT) < 0)
			usage_error("--address: '%s' is not [ADDR][:PORT]", arg);
		cfg->nlisten++;
		return 1;
	}
	case '4':
	case '6': {
		int fam = c == '4' ? AF_INET : AF_INET6;
		if (cfg->family != AF_UNSPEC && cfg->family != fam)
			usage_error("-4 and -6 exclude each other");
		cfg->family = fam;
		return 1;
	}
	case 'R':
		if (tftp_parse_port_range(arg, &cfg->port_lo, &cfg->port_hi) < 0)
			usage_error("--port-range: '%s' is not LO:HI "
				    "(1 <= LO <= HI <= 65535)", arg);
		return 1;
	case OPT_SINGLE_PORT:
		cfg->single_port = 1;
		return 1;
	case OPT_WORKERS:
		cfg->workers = (unsigned)parse_num("--workers", arg, 1, 256);
		return 1;
	}
	return 0;
}

static int transfer_option(struct tftpd_config *cfg, int c, const char *arg)
{
	switch (c) {
	case 'B':
		cfg->max_blksize = (uint32_t)parse_num(
			"--max-blksize", arg, TFTP_BLKSIZE_MIN, TFTP_BLKSIZE_MAX);
		return 1;
	case OPT_MAX_WINDOW:
		cfg->max_window = (uint32_t)parse_num(
			"--max-window", arg, TFTP_WINDOW_MIN, TFTP_WINDOW_MAX);
		return 1;
	case OPT_NO_OPTIONS:
		cfg->no_options = 1;
		return 1;
	case 't':
		cfg->timeout_s = (uint32_t)parse_num(
			"--timeout", arg, TFTP_TIMEOUT_MIN, TFTP_TIMEOUT_MAX);
		return 1;
	case OPT_MAX_TIMEOUT:
		cfg->max_timeout_s = (uint32_t)parse_num(
			"--max-timeout", arg, TFTP_TIMEOUT_MIN, TFTP_TIMEOUT_MAX);
		return 1;
	case OPT_RETRIES:
		cfg->retries = (uint32_t)parse_num("--retries", arg, 1, 1000);
		return 1;
	}
	return 0;
}

static int limit_option(struct tftpd_config *cfg, int c, const char *arg)
{
	switch (c) {
	case 'm':
		cfg->max_transfers = (unsigned)parse_num("--max-transfers", arg,
							 1, 1000000);
		return 1;
	case OPT_MAX_PER_CLIENT:
		cfg->max_per_client = (unsigned)parse_num("--max-per-client",
							  arg, 1, 1000000);
		return 1;
	case OPT_CLIENT_PREFIX6:
		cfg->client_prefix6 = (unsigned)parse_num("--client-prefix6",
							  arg, 0, 128);
		return 1;
	case OPT_MAX_UPLOAD:
		cfg->max_upload = parse_size("--max-upload", arg);
		return 1;
	}
	return 0;
}

static int access_option(struct tftpd_config *cfg, int c, const char *arg)
{
	switch (c) {
	case 'w':
		cfg->allow_write = 1;
		return 1;
	case OPT_OVERWRITE:
		cfg->allow_overwrite = 1;
		return 1;
	case 'U':
		cfg->umask = (mode_t)tftp_cli_umask("tftpd", "--umask", arg);
		return 1;
	case 'u':
		if (!arg[0])
			usage_error("--user: empty user name");
		cfg->user = arg;
		return 1;
	case 'p':
		cfg->permissive = 1;
		return 1;
	case OPT_CHROOT:
		cfg->chroot = 1;
		return 1;
	case OPT_REMAP:
		if (!arg[0])
			usage_error("--remap: empty file name");
		cfg->remap_file = arg;
		return 1;
	}
	return 0;
}

/* Where files are looked for and uploads go, per client. */
static int place_option(struct tftpd_config *cfg, int c, const char *arg)
{
	switch (c) {
	case OPT_UPLOAD_DIR:
		if (!arg[0])
			usage_error("--upload-dir: empty directory name");
		cfg->upload_dir = arg;
		return 1;
	case OPT_MKDIR:
		cfg->mkdir = 1;
		return 1;
	case OPT_CLIENT_ROOT:
		if (strcmp(arg, "ip") == 0)
			cfg->client_root = TFTPD_CLIENT_ROOT_IP;
		else if (strcmp(arg, "mac") == 0)
			cfg->client_root = TFTPD_CLIENT_ROOT_MAC;
		else
			usage_error("--client-root: '%s' is not ip or mac", arg);
		return 1;
	case OPT_CLIENT_ROOT_MAP:
		if (!arg[0])
			usage_error("--client-root-map: empty file name");
		cfg->client_root_map = arg;
		return 1;
	case OPT_WINDOWS_NAMES:
		cfg->windows_names = 1;
		return 1;
	case OPT_REFUSE: {
		unsigned bit = clientmap_option_bit(arg, strlen(arg));
		if (!bit)
			usage_error("--refuse: unknown option '%s' ("
				    CLIENTMAP_OPTION_NAMES ")", arg);
		cfg->refuse |= bit;
		return 1;
	}
	}
	return 0;
}

static int misc_option(struct tftpd_config *cfg, int c)
{
	switch (c) {
	case 'v':
		cfg->verbosity++;
		return 1;
	case OPT_SYSLOG:
		cfg->use_syslog = 1;
		return 1;
	case OPT_HOOK:
		if (!optarg[0])
			usage_error("--on-complete: empty command");
		cfg->hook_cmd = optarg;
		return 1;
	case OPT_HOOK_SHELL:
		cfg->hook_shell = 1;
		return 1;
	case OPT_HOOK_MAX:
		cfg->hook_max = (unsigned)parse_num("--on-complete-max", optarg,
						    1, 256);
		return 1;
	case OPT_HOOK_TIMEOUT:
		cfg->hook_timeout_s = (uint32_t)parse_num(
			"--on-complete-timeout", optarg, 1, 86400);
		return 1;
	case OPT_METRICS:
		if (tftp_split_hostport(optarg, cfg->metrics_host,
					sizeof(cfg->metrics_host),
					&cfg->metrics_port, 0) < 0 ||
		    cfg->metrics_port == 0)
			usage_error("--metrics: '%s' is not [ADDR]:PORT", optarg);
		cfg->metrics = 1;
		return 1;
	case OPT_LOG_FORMAT:
		if (strcmp(optarg, "json") == 0)
			cfg->log_json = 1;
		else if (strcmp(optarg, "text") == 0)
			cfg->log_json = 0;
		else
			usage_error("--log-format: '%s' is not text or json",
				    optarg);
		return 1;
	case OPT_HPA:
		usage_error("--hpa-compat must come first");
	case 'h':
		fputs(usage_text, stdout);
		exit(0);
	case 'V':
		printf("tftpd %s\n", TFTP_VERSION);
		exit(0);
	}
	return 0;
}

static int origin_option(struct tftpd_config *cfg, int c, const char *arg)
{
	const char *why;
	switch (c) {
	case OPT_ORIGIN:
		if ((why = origin_check_url(arg)))
			usage_error("--origin: '%s' %s", arg, why);
		cfg->origin_url = arg;
		return 1;
	case OPT_ORIGIN_ONLY:
		cfg->origin_only = 1;
		return 1;
	case OPT_ORIGIN_CA:
		cfg->origin_ca = arg;
		return 1;
	case OPT_ORIGIN_CONNECT_TIMEOUT:
		cfg->origin_connect_timeout_s = (uint32_t)parse_num(
			"--origin-connect-timeout", arg, 1, 600);
		return 1;
	case OPT_ORIGIN_TIMEOUT:
		cfg->origin_timeout_s = (uint32_t)parse_num("--origin-timeout",
							    arg, 1, 3600);
		return 1;
	case OPT_ORIGIN_PUT:
		cfg->origin_put = 1;
		return 1;
	case OPT_CACHE:
		if (!arg[0])
			usage_error("--cache: empty directory name");
		cfg->cache_dir = arg;
		return 1;
	case OPT_CACHE_SIZE:
		cfg->cache_size = parse_size("--cache-size", arg);
		return 1;
	case OPT_CACHE_TTL:
		cfg->cache_ttl_s = (uint32_t)parse_num("--cache-ttl", arg, 0,
						       31536000);
		return 1;
	}
	return 0;
}

/* The origin's options need --origin, and uploads go to one place. */
static void check_origin(const struct tftpd_config *cfg)
{
	if (!cfg->origin_url &&
	    (cfg->origin_only || cfg->origin_ca || cfg->origin_put ||
	     cfg->cache_dir || cfg->origin_connect_timeout_s ||
	     cfg->origin_timeout_s))
		usage_error("--origin-* and --cache need --origin URL");
	if ((cfg->cache_size || cfg->cache_ttl_s != 60) && !cfg->cache_dir)
		usage_error("--cache-size and --cache-ttl need --cache DIR");
	if (cfg->origin_put && (cfg->allow_write || cfg->upload_dir))
		usage_error("--origin-put excludes -w and --upload-dir (uploads "
			    "go to the origin)");
}

/* getopt_long's complaint, as our one-line usage error. */
static void bad_option(int c, char **argv, const char *shorts)
{
	if (c == ':')
		usage_error("option '%s' needs an argument", argv[optind - 1]);
	/* optopt is 0 for an unknown or ambiguous long option, and a known
	 * option's value for a long one given an argument it does not take;
	 * either way getopt_long has moved past it. */
	if (optopt == 0 || optopt >= 256 ||
	    (optopt != ':' && strchr(shorts, optopt)))
		usage_error("bad option '%s'", argv[optind - 1]);
	usage_error("unknown option '-%c'", optopt);
}

static void parse_args(int argc, char **argv, struct tftpd_config *cfg)
{
	int c;
	opterr = 0; /* our own one-line messages */
	while ((c = getopt_long(argc, argv, short_opts, long_opts, NULL)) != -1) {
		if (!listen_option(cfg, c, optarg) &&
		    !transfer_option(cfg, c, optarg) &&
		    !limit_option(cfg, c, optarg) &&
		    !access_option(cfg, c, optarg) &&
		    !place_option(cfg, c, optarg) &&
		    !origin_option(cfg, c, optarg) && !misc_option(cfg, c))
			bad_option(c, argv, short_opts);
	}
	if (optind < argc)
		usage_error("unexpected argument '%s' (the directory is given "
			    "with -r)", argv[optind]);
	if (cfg->allow_overwrite && !cfg->allow_write)
		usage_error("--overwrite needs -w");
	if (cfg->hook_shell && !cfg->hook_cmd)
		usage_error("--on-complete-shell needs --on-complete");
	if ((cfg->upload_dir || cfg->mkdir) && !cfg->allow_write)
		usage_error("%s needs -w", cfg->mkdir ? "--mkdir" : "--upload-dir");
	check_origin(cfg);
	if (cfg->single_port && cfg->port_lo)
		usage_error("--port-range and --single-port exclude each other "
			    "(transfers use the listening port)");
}

/* ---- logging ----------------------------------------------------------- */

static void syslog_sink(void *ctx, enum tftp_log_level lvl, const char *line)
{
	static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG,
				   LOG_DEBUG};
	(void)ctx;
	syslog(prio[(unsigned)lvl < 5u ? (unsigned)lvl : 4u], "%s", line);
}

/* --log-format json: every line one JSON object. A transfer's end comes
 * as one already (session.c, record.c); any other message is wrapped as
 * {"time","level","msg"} (ctx: &json_to_syslog, or anything else for
 * standard error). */
static int json_to_syslog;

static void json_sink(void *ctx, enum tftp_log_level lvl, const char *line)
{
	static const char *const names[] = {"error", "warning", "info",
					    "debug", "trace"};
	char buf[2048];
	const char *out = line;
	if (line[0] != '{') {
		uint64_t t = tftp_wall_us();
		size_t at = (size_t)snprintf(
			buf, sizeof(buf) - 1,
			"{\"time\":%llu.%06u,\"level\":\"%s\",\"msg\":",
			(unsigned long long)(t / 1000000u), (unsigned)(t % 1000000u),
			names[(unsigned)lvl < 5u ? (unsigned)lvl : 4u]);
		if (tftp_json_string(buf, sizeof(buf) - 1, &at, line, strlen(line)) < 0)
			(void)tftp_json_string(buf, sizeof(buf) - 1, &at, "(too long)", 10);
		buf[at++] = '}';
		buf[at] = '\0';
		out = buf;
	}
	if (ctx == &json_to_syslog)
		syslog_sink(ctx, lvl, out);
	else
		fprintf(stderr, "%s\n", out);
}

/* ---- privileges -------------------------------------------------------- */

static int drop_privileges(const struct tftpd_config *cfg,
			   const struct passwd *pw, const struct tftp_log *log)
{
	if (cfg->chroot) {
		/* The root descriptor was opened before; after this nothing
		 * outside the tree is even nameable. */
		if (chroot(cfg->root) < 0 || chdir("/") < 0) {
			tftp_logf(log, TFTP_LOG_ERR, "chroot %s: %s", cfg->root,
				  strerror(errno));
			return -1;
		}
	}
	if (pw) {
		/* Groups first (needs root), then gid, then uid; real,
		 * effective and saved ids all change, so nothing can be
		 * regained, and a uid change from 0 clears the
		 * capabilities. */
		if (setgroups(0, NULL) < 0 ||
		    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
		    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0) {
			tftp_logf(log, TFTP_LOG_ERR, "cannot become %s: %s",
				  pw->pw_name, strerror(errno));
			return -1;
		}
		if (pw->pw_uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
			tftp_logf(log, TFTP_LOG_ERR, "privileges not dropped");
			return -1;
		}
	}
	/* No set-uid program run from here could gain anything either. */
	(void)prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	return 0;
}

/* Started as root without -u, tftpd does not keep root: it becomes the
 * "tftp" user if there is one, else "nobody", as tftp-hpa does. Only an
 * explicit -u root keeps root. */
static int lookup_user(struct tftpd_config *cfg, struct passwd *pwbuf,
		       char *store, size_t cap, struct passwd **pw,
		       const struct tftp_log *log)
{
	*pw = NULL;
	if (!cfg->user && geteuid() == 0) {
		static const char *const dflt[] = {"tftp", "nobody"};
		for (size_t i = 0; i < 2 && !*pw; i++)
			(void)getpwnam_r(dflt[i], pwbuf, store, cap, pw);
		if (!*pw) {
			tftp_logf(log, TFTP_LOG_ERR,
				  "started as root without -u, and neither a "
				  "tftp nor a nobody user exists: give -u USER "
				  "(or -u root to keep root)");
			return -1;
		}
		cfg->user = (*pw)->pw_name;
		return 0;
	}
	if (!cfg->user)
		return 0;
	int rc = getpwnam_r(cfg->user, pwbuf, store, cap, pw);
	if (!*pw) {
		tftp_logf(log, TFTP_LOG_ERR, "user %s: %s", cfg->user,
			  rc ? strerror(rc) : "no such user");
		return -1;
	}
	return 0;
}

/* After the drop: the user must be able to enter the root, or every
 * request would fail with a puzzling "Access violation". */
static int check_root(struct server *srv, const struct passwd *pw)
{
	if (srv->origin && origin_check_cache(srv->origin) < 0) {
		tftp_logf(&srv->log, TFTP_LOG_ERR,
			  "--cache %s: user %s cannot write it (%s); give it "
			  "to that user or choose another -u", srv->cfg->cache_dir,
			  pw ? pw->pw_name : "(current)", strerror(errno));
		return -1;
	}
	if (fsroot_check_enter(&srv->root) == 0)
		return 0;
	tftp_logf(&srv->log, TFTP_LOG_ERR,
		  "root %s: user %s cannot enter it (%s); make it and its "
		  "parents searchable by that user (o+x) or choose another -u",
		  srv->cfg->root, pw ? pw->pw_name : "(current)",
		  strerror(errno));
	return -1;
}

/* The log: stderr, or syslog (connected now, while /dev/log is still
 * reachable before a chroot), at the level the -v flags ask. */
static void setup_log(struct tftp_log *log, const struct tftpd_config *cfg)
{
	int lvl = TFTP_LOG_WARN + cfg->verbosity;
	log->level = lvl > TFTP_LOG_TRACE ? TFTP_LOG_TRACE
					  : (enum tftp_log_level)lvl;
	log->prefix = "tftpd";
	log->sink = tftp_log_stderr;
	if (cfg->use_syslog) {
		openlog("tftpd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
		log->sink = syslog_sink;
	}
	if (cfg->log_json) {
		log->sink = json_sink;
		log->ctx = cfg->use_syslog ? &json_to_syslog : (void *)"";
	}
}

/* tftp-hpa's -l: into the background once the sockets are bound (so a
 * port in use is still reported to whoever started it), the parent
 * exiting 0. */
static int daemonize(const struct tftp_log *log)
{
	pid_t p = fork();
	if (p < 0) {
		tftp_logf(log, TFTP_LOG_ERR, "fork: %s", strerror(errno));
		return -1;
	}
	if (p > 0)
		_exit(0);
	(void)setsid();
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		(void)dup2(fd, STDIN_FILENO);
		(void)dup2(fd, STDOUT_FILENO);
		(void)dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	return 0;
}

static int write_pidfile(const char *path, const struct tftp_log *log)
{
	FILE *f = fopen(path, "we");
	if (!f || fprintf(f, "%ld\n", (long)getpid()) < 0 || fclose(f) != 0) {
		tftp_logf(log, TFTP_LOG_ERR, "pid file %s: %s", path,
			  strerror(errno));
		return -1;
	}
	return 0;
}

/* Bound: into the background (-l), the pid file, privileges dropped. */
static int become_server(struct server *srv, struct tftpd_config *cfg,
			 const struct passwd *pw)
{
	if (cfg->daemonize && daemonize(&srv->log) < 0)
		return -1;
	if (cfg->pidfile && write_pidfile(cfg->pidfile, &srv->log) < 0)
		return -1;
	return drop_privileges(cfg, pw, &srv->log) == 0 &&
			       check_root(srv, pw) == 0
		       ? 0
		       : -1;
}

/* One server process (each --workers process runs this): set up, drop
 * privileges, serve until stopped. Returns the exit status. */
static int serve(struct tftpd_config *cfg, struct tftpd_limits *limits,
		 struct tftpd_metrics *metrics)
{
	struct server *srv = calloc(1, sizeof(*srv));
	if (!srv) {
		fputs("tftpd: out of memory\n", stderr);
		return 1;
	}
	srv->limits = limits;
	srv->metrics = metrics;
	setup_log(&srv->log, cfg);
	/* Sending to a vanished peer must never kill the server. */
	signal(SIGPIPE, SIG_IGN);
	if (cfg->umask != TFTPD_UMASK_INHERIT)
		umask(cfg->umask);
	/* Look the user up while /etc is still in reach. */
	struct passwd pwbuf, *pw = NULL;
	char pwstore[4096];
	int status = 1;
	if (lookup_user(cfg, &pwbuf, pwstore, sizeof(pwstore), &pw,
			&srv->log) == 0) {
		/* A cache directory tftpd makes belongs to that user. */
		cfg->run_uid = pw ? pw->pw_uid : geteuid();
		cfg->run_gid = pw ? pw->pw_gid : getegid();
		if (server_init(srv, cfg) == 0 &&
		    become_server(srv, cfg, pw) == 0) {
			server_ready(srv);
			if (server_run(srv) == 0)
				status = 0;
		}
		server_fini(srv);
		if (cfg->pidfile)
			(void)unlink(cfg->pidfile);
		tftp_logf(&srv->log, TFTP_LOG_INFO, "exiting");
	}
	free(srv);
	if (cfg->use_syslog)
		closelog();
	return status;
}

int main(int argc, char **argv)
{
	static struct tftpd_config cfg = {
		.root = "/srv/tftp",
		.family = AF_UNSPEC,
		.max_blksize = TFTP_BLKSIZE_MAX,
		.max_window = 64,
		.timeout_s = 1,
		.max_timeout_s = 10,
		.retries = 5,
		.max_transfers = 1000,
		.max_per_client = 32,
		.client_prefix6 = 64,
		.umask = 022,
		.grace_ms = 2000,
		.hook_max = 8,
		.hook_timeout_s = 30,
		.cache_ttl_s = 60,
	};
	if (hpa_invoked(argc, argv))
		hpa_parse_args(argc, argv, &cfg);
	else
		parse_args(argc, argv, &cfg);
	/* TERM, INT and HUP wait (blocked) until the loop handles them
	 * (server_init): a signal during start-up must not kill a half-made
	 * server, and a HUP from a supervisor must never kill it. */
	sigset_t early;
	server_signals(&early);
	sigprocmask(SIG_BLOCK, &early, NULL);
	/* Shared by the workers: made before they fork. */
	struct tftpd_limits *limits = limits_create(
		cfg.max_transfers, cfg.max_per_client, cfg.client_prefix6);
	struct tftpd_metrics *metrics = cfg.metrics ? metrics_create() : NULL;
	if (!limits || (cfg.metrics && !metrics)) {
		fputs("tftpd: out of memory\n", stderr);
		return 1;
	}
	if (cfg.origin_url) {
		if (!cfg.origin_connect_timeout_s)
			cfg.origin_connect_timeout_s = 5;
		if (!cfg.origin_timeout_s)
			cfg.origin_timeout_s = 10;
		if (!cfg.cache_size)
			cfg.cache_size = (uint64_t)1 << 30;
		/* libcurl's global set-up, once, before any worker. */
		if (origin_global_init() < 0) {
			fputs("tftpd: cannot initialise libcurl\n", stderr);
			return 1;
		}
	}
	/* From here on every worker runs the rest of main on its own. */
	if (cfg.workers > 1)
		(void)workers_start(cfg.workers);
	int status = serve(&cfg, limits, metrics);
	/* Last: server_fini's sessions released their slots into it. */
	limits_free(limits);
	metrics_free(metrics);
	if (cfg.origin_url)
		origin_global_cleanup();
	libevent_global_shutdown();
	return status;
}
