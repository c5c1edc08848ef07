/* The --on-complete hook; see hook.h. */
#include "hook.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "settings.h"

extern char **environ;

#define HOOK_QUEUE 1024u
#define HOOK_VARS 12u
#define HOOK_ARGS 64u

struct job {
	char *vars[HOOK_VARS + 1];  /* "TFTP_X=..." each, NULL-terminated */
	char what[96];              /* for the log: "RRQ file" */
};

struct child {
	pid_t pid;                  /* 0: free */
	struct event *timer;
	struct hook *h;
	char what[96];
};

struct hook {
	const struct tftp_log *log;
	char *cmd;                  /* split in place into argv */
	char *argv[HOOK_ARGS + 1];
	int devnull;                /* the hooks' stdin */
	unsigned max;
	uint32_t timeout_s;
	struct child *kids;
	unsigned running;
	struct job *queue[HOOK_QUEUE];
	unsigned qhead, qlen;
	struct event *ev_chld;
};

static void spawn_next(struct hook *h);

static void job_free(struct job *j)
{
	for (unsigned i = 0; j && i < HOOK_VARS && j->vars[i]; i++)
		free(j->vars[i]);
	free(j);
}

/* The environment: the server's own, less any TFTP_ variable, and the
 * job's. NULL if out of memory. */
static char **environment(const struct job *j)
{
	size_t n = 0;
	while (environ && environ[n])
		n++;
	char **env = malloc((n + HOOK_VARS + 1) * sizeof(*env));
	size_t k = 0;
	for (size_t i = 0; env && i < n; i++)
		if (strncmp(environ[i], "TFTP_", 5) != 0)
			env[k++] = environ[i];
	for (unsigned i = 0; env && j->vars[i]; i++)
		env[k++] = j->vars[i];
	if (env)
		env[k] = NULL;
	return env;
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct child *c = arg;
	(void)fd;
	(void)what;
	/* Its process group: whatever it started goes too. */
	(void)kill(-c->pid, SIGKILL);
	tftp_logf(c->h->log, TFTP_LOG_WARN, "--on-complete for %s: still "
		  "running after %u s, killed", c->what,
		  (unsigned)c->h->timeout_s);
}

static int start_child(struct hook *h, struct child *c, const struct job *j)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, dflt;
	char **env = environment(j);
	sigemptyset(&none);
	sigemptyset(&dflt);
	for (int s = 1; s < 32; s++)
		if (s != SIGKILL && s != SIGSTOP)
			sigaddset(&dflt, s);
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	if (h->devnull >= 0)
		posix_spawn_file_actions_adddup2(&fa, h->devnull, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK |
					      POSIX_SPAWN_SETSIGDEF |
					      POSIX_SPAWN_SETPGROUP);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &dflt);
	posix_spawnattr_setpgroup(&at, 0);
	int rc = env ? posix_spawn(&c->pid, h->argv[0], &fa, &at, h->argv, env)
		     : ENOMEM;
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	free(env);
	if (rc != 0) {
		c->pid = 0;
		tftp_logf(h->log, TFTP_LOG_WARN, "--on-complete for %s: cannot "
			  "run %s: %s", j->what, h->argv[0], strerror(rc));
		return -1;
	}
	return 0;
}

/* Start queued hooks while there is room. */
static void spawn_next(struct hook *h)
{
	while (h->qlen && h->running < h->max) {
		struct job *j = h->queue[h->qhead];
		h->qhead = (h->qhead + 1u) % HOOK_QUEUE;
		h->qlen--;
		struct child *c = NULL;
		for (unsigned i = 0; i < h->max && !c; i++)
			if (!h->kids[i].pid)
				c = &h->kids[i];
		if (c && start_child(h, c, j) == 0) {
			struct timeval tv = {.tv_sec = (time_t)h->timeout_s};
			snprintf(c->what, sizeof(c->what), "%s", j->what);
			evtimer_add(c->timer, &tv);
			h->running++;
		}
		job_free(j);
	}
}

static void reaped(struct hook *h, pid_t pid, int status)
{
	for (unsigned i = 0; i < h->max; i++) {
		struct child *c = &h->kids[i];
		if (c->pid != pid)
			continue;
		evtimer_del(c->timer);
		if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
			tftp_logf(h->log, TFTP_LOG_WARN, "--on-complete for %s: "
				  "exit status %d", c->what, WEXITSTATUS(status));
		else if (WIFSIGNALED(status))
			tftp_logf(h->log, TFTP_LOG_WARN, "--on-complete for %s: "
				  "killed by signal %d", c->what,
				  WTERMSIG(status));
		c->pid = 0;
		h->running--;
		return;
	}
}

static void on_sigchld(evutil_socket_t sig, short what, void *arg)
{
	struct hook *h = arg;
	int status;
	pid_t pid;
	(void)sig;
	(void)what;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		reaped(h, pid, status);
	spawn_next(h);
}

/* CMD into argv: at blanks, no quoting (a shell with
 * --on-complete-shell). */
static int split_cmd(struct hook *h, const struct tftpd_config *cfg)
{
	unsigned n = 0;
	char *save = NULL;
	if (cfg->hook_shell) {
		h->argv[0] = (char *)"/bin/sh";
		h->argv[1] = (char *)"-c";
		h->argv[2] = h->cmd;
		h->argv[3] = NULL;
		return 0;
	}
	for (char *p = strtok_r(h->cmd, " \t", &save); p && n < HOOK_ARGS;
	     p = strtok_r(NULL, " \t", &save))
		h->argv[n++] = p;
	h->argv[n] = NULL;
	return n ? 0 : -1;
}

struct hook *hook_new(struct event_base *base, const struct tftpd_config *cfg,
		      const struct tftp_log *log)
{
	struct hook *h = calloc(1, sizeof(*h));
	if (h)
		h->devnull = -1;
	if (!h || !(h->cmd = strdup(cfg->hook_cmd)) || split_cmd(h, cfg) < 0) {
		tftp_logf(log, TFTP_LOG_ERR, "--on-complete: %s",
			  h && h->cmd ? "empty command" : "out of memory");
		hook_free(h);
		return NULL;
	}
	h->log = log;
	h->max = cfg->hook_max;
	h->timeout_s = cfg->hook_timeout_s;
	/* Opened now: after --chroot there may be no /dev/null. */
	h->devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	h->kids = calloc(h->max, sizeof(*h->kids));
	h->ev_chld = evsignal_new(base, SIGCHLD, on_sigchld, h);
	int ok = h->kids && h->ev_chld && evsignal_add(h->ev_chld, NULL) == 0;
	for (unsigned i = 0; ok && i < h->max; i++) {
		h->kids[i].h = h;
		h->kids[i].timer = evtimer_new(base, on_timeout, &h->kids[i]);
		ok = h->kids[i].timer != NULL;
	}
	if (!ok) {
		tftp_logf(log, TFTP_LOG_ERR, "--on-complete: out of memory");
		hook_free(h);
		return NULL;
	}
	return h;
}

static char *var(const char *name, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static char *var(const char *name, const char *fmt, ...)
{
	char val[1200], *out = NULL;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	return asprintf(&out, "%s=%s", name, val) < 0 ? NULL : out;
}

static struct job *job_of(const struct xfer_record *r)
{
	struct job *j = calloc(1, sizeof(*j));
	if (!j)
		return NULL;
	char **v = j->vars;
	unsigned n = 0;
	v[n++] = var("TFTP_OP", "%s", r->is_write ? "WRQ" : "RRQ");
	v[n++] = var("TFTP_FILE", "%s", r->file);
	v[n++] = var("TFTP_CLIENT", "%s", r->client);
	v[n++] = var("TFTP_PORT", "%u", (unsigned)r->port);
	v[n++] = var("TFTP_MODE", "%s", r->mode);
	v[n++] = var("TFTP_BYTES", "%" PRIu64, r->bytes);
	v[n++] = var("TFTP_SECONDS", "%" PRIu64 ".%06u", r->us / 1000000u,
		     (unsigned)(r->us % 1000000u));
	v[n++] = var("TFTP_RESULT", "%s", record_result_name(r->result));
	v[n++] = var("TFTP_ERROR", "%s", r->result == RESULT_OK || !r->error_msg
						 ? "" : r->error_msg);
	v[n++] = var("TFTP_BLKSIZE", "%u", (unsigned)r->blksize);
	v[n++] = var("TFTP_WINDOW", "%u", (unsigned)r->window);
	v[n++] = var("TFTP_RETRANSMITS", "%" PRIu64, r->retransmits);
	for (unsigned i = 0; i < n; i++)
		if (!v[i]) {
			job_free(j);
			return NULL;
		}
	snprintf(j->what, sizeof(j->what), "%s %s", r->is_write ? "WRQ" : "RRQ",
		 r->file);
	return j;
}

void hook_run(struct hook *h, const struct xfer_record *r)
{
	if (!h)
		return;
	if (h->qlen == HOOK_QUEUE) {
		tftp_logf(h->log, TFTP_LOG_WARN, "--on-complete: %u hooks "
			  "waiting already; not run for %s %s", HOOK_QUEUE,
			  r->is_write ? "WRQ" : "RRQ", r->file);
		return;
	}
	struct job *j = job_of(r);
	if (!j) {
		tftp_logf(h->log, TFTP_LOG_WARN, "--on-complete: out of memory");
		return;
	}
	h->queue[(h->qhead + h->qlen) % HOOK_QUEUE] = j;
	h->qlen++;
	spawn_next(h);
}

void hook_free(struct hook *h)
{
	if (!h)
		return;
	for (unsigned i = 0; h->kids && i < h->max; i++)
		if (h->kids[i].timer)
			event_free(h->kids[i].timer);
	while (h->qlen) {
		job_free(h->queue[h->qhead]);
		h->qhead = (h->qhead + 1u) % HOOK_QUEUE;
		h->qlen--;
	}
	if (h->ev_chld)
		event_free(h->ev_chld);
	if (h->devnull >= 0)
		close(h->devnull);
	free(h->kids);
	free(h->cmd);
	free(h);
}
