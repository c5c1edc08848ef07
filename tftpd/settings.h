/* The server's configuration, as the command line sets it (main.c) and
 * every part of the server reads it. */
#ifndef TFTPD_SETTINGS_H
#define TFTPD_SETTINGS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TFTPD_MAX_LISTEN 16
/* umask: leave the inherited one (tftp-hpa's -p). */
#define TFTPD_UMASK_INHERIT ((mode_t)-1)
/* Datagrams read from one socket per wake-up before the others get their
 * turn (a listening socket, or a transfer's). */
#define TFTPD_RECV_BATCH 64
#define TFTPD_HOST_MAX 256

/* One -a argument: host ("" = every address) and port. */
struct tftpd_listen_spec {
	char host[TFTPD_HOST_MAX];
	uint16_t port;
};

/* --client-root: the client's own directory under the root. */
enum tftpd_client_root {
	TFTPD_CLIENT_ROOT_NONE = 0,
	TFTPD_CLIENT_ROOT_IP,      /* ROOT/192.0.2.7/ */
	TFTPD_CLIENT_ROOT_MAC,     /* ROOT/01-aa-bb-cc-dd-ee-ff/ */
};

struct tftpd_config {
	const char *root;
	struct tftpd_listen_spec listen[TFTPD_MAX_LISTEN];
	size_t nlisten;
	int single_port;           /* every transfer on the listening socket */
	int family;                /* AF_UNSPEC, or AF_INET (-4) / AF_INET6 (-6) */
	int allow_write;
	int allow_overwrite;
	uint16_t port_lo, port_hi; /* 0, 0: the kernel picks */
	uint32_t max_blksize;
	uint32_t max_window;
	int no_options;
	uint32_t timeout_s;
	uint32_t max_timeout_s;    /* larger timeout options are declined */
	uint32_t retries;
	unsigned max_transfers;
	unsigned max_per_client;
	unsigned client_prefix6;   /* IPv6 clients counted per this prefix */
	uint64_t max_upload;       /* 0: unlimited */
	mode_t umask;
	const char *user;
	int permissive;            /* -p: no world-readable/-writable rule */
	int chroot;
	int verbosity;             /* number of -v */
	int use_syslog;
	int log_json;              /* --log-format json */
	const char *hook_cmd;      /* --on-complete CMD, or NULL */
	int hook_shell;            /* --on-complete-shell: via /bin/sh -c */
	unsigned hook_max;         /* --on-complete-max (at once) */
	uint32_t hook_timeout_s;   /* --on-complete-timeout */
	int metrics;               /* --metrics given: */
	char metrics_host[TFTPD_HOST_MAX];
	uint16_t metrics_port;
	uint32_t grace_ms;         /* after SIGTERM/SIGINT */
	unsigned workers;          /* --workers: >1 binds with SO_REUSEPORT */
	const char *remap_file;    /* --remap / hpa's -m: tftp-hpa's rules */
	uint32_t timeout_ms;       /* hpa's -T (us): overrides timeout_s */
	unsigned refuse;           /* hpa's -r: TFTP_OPT_* bits never granted */
	int no_create;             /* hpa without -c: only replace files */
	enum tftpd_client_root client_root;
	const char *client_root_map; /* --client-root-map FILE */
	int windows_names;         /* --windows-names */
	const char *upload_dir;    /* --upload-dir: WRQs land there */
	int mkdir;                 /* --mkdir: uploads create directories */
	/* --origin: files from an HTTP(S) origin (origin.h). */
	const char *origin_url;    /* the template, or NULL */
	int origin_only;           /* never the local root */
	const char *origin_ca;
	uint32_t origin_connect_timeout_s;
	uint32_t origin_timeout_s;
	int origin_put;            /* WRQs become PUTs */
	const char *cache_dir;     /* --cache, or NULL */
	uint64_t cache_size;
	uint32_t cache_ttl_s;
	uid_t run_uid;             /* who serves, after -u */
	gid_t run_gid;
	const char *pidfile;       /* hpa's -P */
	int daemonize;             /* hpa's -l: detach from the terminal */
	int inetd;                 /* hpa without -l/-L: the socket is stdin */
	uint32_t idle_exit_s;      /* inetd mode: exit after this idle time */
	/* hpa without -s: names are absolute paths, served if beneath one of
	 * these directories (the root is then "/"). */
	const char *prefixes[TFTPD_MAX_LISTEN];
	size_t nprefixes;
};

/* The retransmit timeout in ms: hpa's -T (microseconds), else -t. */
static inline uint32_t tftpd_timeout_ms(const struct tftpd_config *cfg)
{
	return cfg->timeout_ms ? cfg->timeout_ms : cfg->timeout_s * 1000u;
}

#endif
