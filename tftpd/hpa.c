/* tftp-hpa's command line (in.tftpd 5.2), with its meanings, for a site
 * that switches by changing one binary: run as "in.tftpd", or with
 * --hpa-compat first. See hpa.h and tftpd(8), "TFTP-HPA COMPATIBILITY". */
#include "hpa.h"
#include "clientmap.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "cli.h"
#include "net.h"
#include "options.h"
#include "packet.h"

#define usage_error(...) tftp_cli_usage_error("in.tftpd", __VA_ARGS__)

static const char hpa_short[] = ":46cspvVhlLa:B:u:U:r:t:T:R:m:P:";

static const char hpa_usage[] =
	"Usage: in.tftpd [OPTION]... DIRECTORY...\n"
	"tftpd with tftp-hpa 5.2's command line (tftpd(8), TFTP-HPA COMPATIBILITY).\n"
	"\n"
	"  -l, --listen              standalone, in the background\n"
	"  -L, --foreground          standalone, in the foreground\n"
	"                            (neither: run by inetd, the socket on stdin)\n"
	"  -a, --address [ADDR][:PORT]  listen address (with -l or -L)\n"
	"  -4, --ipv4 / -6, --ipv6   one address family only\n"
	"  -s, --secure              serve the one DIRECTORY as the root (chroot)\n"
	"  -c, --create              allow uploads of new files\n"
	"  -p, --permissive          no world-readable/-writable checks\n"
	"  -U, --umask MASK          umask for created files (default 0, or the\n"
	"                            inherited one with -p)\n"
	"  -u, --user USER           run as USER (default nobody)\n"
	"  -m, --map-file FILE       filename remapping rules\n"
	"  -r, --refuse OPTION       never grant OPTION (repeatable)\n"
	"  -B, --blocksize N         largest block size (512..65464)\n"
	"  -R, --port-range LO:HI    ports for transfers\n"
	"  -T, --retransmit USEC     retransmit timeout, microseconds\n"
	"  -t, --timeout SEC         inetd mode: exit after SEC idle (default 900)\n"
	"  -P, --pidfile FILE        write the pid to FILE\n"
	"  -v, --verbose             more logging; --verbosity N sets it\n"
	"  -V, --version             print the version\n";

enum { HPA_VERBOSITY = 256, HPA_COMPAT };

static const struct option hpa_long[] = {
	{"ipv4", no_argument, NULL, '4'},
	{"ipv6", no_argument, NULL, '6'},
	{"create", no_argument, NULL, 'c'},
	{"secure", no_argument, NULL, 's'},
	{"permissive", no_argument, NULL, 'p'},
	{"verbose", no_argument, NULL, 'v'},
	{"verbosity", required_argument, NULL, HPA_VERBOSITY},
	{"version", no_argument, NULL, 'V'},
	{"listen", no_argument, NULL, 'l'},
	{"foreground", no_argument, NULL, 'L'},
	{"address", required_argument, NULL, 'a'},
	{"blocksize", required_argument, NULL, 'B'},
	{"user", required_argument, NULL, 'u'},
	{"umask", required_argument, NULL, 'U'},
	{"refuse", required_argument, NULL, 'r'},
	{"timeout", required_argument, NULL, 't'},
	{"retransmit", required_argument, NULL, 'T'},
	{"port-range", required_argument, NULL, 'R'},
	{"map-file", required_argument, NULL, 'm'},
	{"pidfile", required_argument, NULL, 'P'},
	{"hpa-compat", no_argument, NULL, HPA_COMPAT},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

int hpa_invoked(int argc, char **argv)
{
	const char *base = argc > 0 ? strrchr(argv[0], '/') : NULL;
	base = base ? base + 1 : (argc > 0 ? argv[0] : "");
	if (strcmp(base, "in.tftpd") == 0)
		return 1;
	return argc > 1 && strcmp(argv[1], "--hpa-compat") == 0;
}

/* -r: an option tftp-hpa knows, never granted. */
static void refuse_option(struct tftpd_config *cfg, const char *name)
{
	unsigned bit = clientmap_option_bit(name, strlen(name));
	if (!bit)
		usage_error("--refuse: unknown option '%s' ("
			    CLIENTMAP_OPTION_NAMES ")", name);
	cfg->refuse |= bit;
}

static int hpa_listen(struct tftpd_config *cfg, int c, const char *arg)
{
	switch (c) {
	case 'l':
		cfg->daemonize = 1;
		cfg->inetd = 0;
		return 1;
	case 'L':
		cfg->daemonize = 0;
		cfg->inetd = 0;
		return 1;
	case 'a': {
		struct tftpd_listen_spec *sp = &cfg->listen[0];
		if (tftp_split_hostport(arg, sp->host, sizeof(sp->host),
					&sp->port, TFTP_PORT) < 0)
			usage_error("--address: '%s' is not [address][:port] "
				    "(IPv6 in brackets)", arg);
		cfg->nlisten = 1; /* tftp-hpa listens on one address */
		return 1;
	}
	case '4':
	case '6':
		cfg->family = c == '4' ? AF_INET : AF_INET6;
		return 1;
	case 'R':
		if (tftp_parse_port_range(arg, &cfg->port_lo, &cfg->port_hi) < 0)
			usage_error("--port-range: '%s' is not port:port", arg);
		return 1;
	case 'P':
		cfg->pidfile = arg;
		return 1;
	}
	return 0;
}

static int hpa_transfer(struct tftpd_config *cfg, int c, const char *arg)
{
	switch (c) {
	case 'B':
		cfg->max_blksize = (uint32_t)tftp_cli_num(
			"in.tftpd", "--blocksize", arg, 512, TFTP_BLKSIZE_MAX);
		return 1;
	case 'T':
		/* Microseconds; our timers count milliseconds. */
		cfg->timeout_ms = (uint32_t)(tftp_cli_num(
			"in.tftpd", "--retransmit", arg, 10000, 255000000) / 1000u);
		return 1;
	case 't':
		cfg->idle_exit_s = (uint32_t)tftp_cli_num("in.tftpd", "--timeout",
							  arg, 0, 86400u * 365u);
		return 1;
	case 'r':
		refuse_option(cfg, arg);
		return 1;
	case 'm':
		cfg->remap_file = arg;
		return 1;
	}
	return 0;
}

static int hpa_access(struct tftpd_config *cfg, int c, const char *arg,
		      int *secure, int *umask_set)
{
	switch (c) {
	case 'c':
		cfg->no_create = 0;
		return 1;
	case 's':
		*secure = 1;
		return 1;
	case 'p':
		cfg->permissive = 1;
		return 1;
	case 'u':
		cfg->user = arg;
		return 1;
	case 'U':
		cfg->umask = (mode_t)tftp_cli_umask("in.tftpd", "--umask", arg);
		*umask_set = 1;
		return 1;
	case 'v':
		cfg->verbosity++;
		return 1;
	case HPA_VERBOSITY:
		cfg->verbosity = (int)tftp_cli_num("in.tftpd", "--verbosity",
						   arg, 0, 10);
		return 1;
	case 'V':
		printf("tftp-hpa compatible tftpd %s\n", TFTP_VERSION);
		exit(0);
	case 'h':
		fputs(hpa_usage, stdout);
		exit(0);
	case HPA_COMPAT:
		return 1;
	}
	return 0;
}

static void hpa_bad_option(int c, char **argv)
{
	if (c == ':')
		usage_error("option '%s' needs an argument", argv[optind - 1]);
	if (optopt == 0 || optopt >= 256 ||
	    (optopt != ':' && strchr(hpa_short, optopt)))
		usage_error("bad option '%s' (in.tftpd takes tftp-hpa's options; "
			    "see tftpd(8))", argv[optind - 1]);
	usage_error("unknown option '-%c' (in.tftpd takes tftp-hpa's "
		    "options; see tftpd(8))", optopt);
}

/* The directories: with -s exactly one, the root (chroot into it as
 * root, as tftp-hpa does); without, names are absolute paths beneath any
 * of them (or anywhere, with none). */
static void hpa_directories(struct tftpd_config *cfg, int secure, int argc,
			    char **argv)
{
	int ndirs = argc - optind;
	if (secure) {
		if (ndirs != 1)
			usage_error("--secure takes exactly one directory "
				    "(%d given)", ndirs);
		cfg->root = argv[optind];
		cfg->chroot = geteuid() == 0;
		return;
	}
	if (ndirs > TFTPD_MAX_LISTEN)
		usage_error("at most %d directories", TFTPD_MAX_LISTEN);
	cfg->root = "/";
	for (int i = 0; i < ndirs; i++) {
		if (argv[optind + i][0] != '/')
			usage_error("'%s': directories must be absolute paths "
				    "without --secure", argv[optind + i]);
		cfg->prefixes[cfg->nprefixes++] = argv[optind + i];
	}
}

void hpa_parse_args(int argc, char **argv, struct tftpd_config *cfg)
{
	int c, secure = 0, umask_set = 0;
	/* tftp-hpa's defaults: run from inetd, only replace existing files,
	 * user nobody, a 15-minute idle exit in inetd mode, writes allowed
	 * (to files that exist and anyone may write). */
	cfg->inetd = 1;
	cfg->no_create = 1;
	cfg->user = "nobody";
	cfg->idle_exit_s = 900;
	cfg->allow_write = 1;
	cfg->allow_overwrite = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, hpa_short, hpa_long, NULL)) != -1)
		if (!hpa_listen(cfg, c, optarg) &&
		    !hpa_transfer(cfg, c, optarg) &&
		    !hpa_access(cfg, c, optarg, &secure, &umask_set))
			hpa_bad_option(c, argv);
	hpa_directories(cfg, secure, argc, argv);
	/* The umask: 0 (anyone may read and write what is created) unless
	 * -p, which keeps the one inherited; -U sets it either way. */
	if (!umask_set)
		cfg->umask = cfg->permissive ? TFTPD_UMASK_INHERIT : 0;
	/* Logs go to syslog, as tftp-hpa's do, unless in the foreground
	 * (-L: stderr, which systemd's journal takes). */
	if (cfg->inetd || cfg->daemonize)
		cfg->use_syslog = 1;
	if (cfg->inetd && cfg->nlisten)
		usage_error("--address needs --listen or --foreground (without "
			    "them in.tftpd is run by inetd)");
}
