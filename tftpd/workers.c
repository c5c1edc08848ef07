/* The supervisor of --workers. See workers.h. */
#include "workers.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define WORKERS_MAX 256

static void signal_all(const pid_t *pids, unsigned n, int sig)
{
	for (unsigned i = 0; i < n; i++)
		if (pids[i] > 0)
			(void)kill(pids[i], sig);
}

/* In a new worker: undo the supervisor's signal mask, except SIGTERM and
 * SIGINT, which stay blocked (pending if they come) until the server has
 * its handlers in place (server.c unblocks them): a stop passed on by the
 * supervisor in between must not kill the worker, which would then not
 * exit 0. Make sure the worker does not outlive the supervisor. Its own
 * process group keeps a terminal's ^C away: only the supervisor gets it
 * and passes it on, once (a worker takes a second signal as "abort now"). */
static void become_worker(pid_t supervisor, const sigset_t *old)
{
	(void)setpgid(0, 0);
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != supervisor)
		_exit(1); /* the supervisor died before the line above */
	sigset_t mask = *old;
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_SETMASK, &mask, NULL);
}

/* Reap every exited worker; returns how many are left. *failed is set if
 * one exited with anything but 0. */
static unsigned reap(pid_t *pids, unsigned n, unsigned alive, int *failed)
{
	int st;
	pid_t p;
	while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
		for (unsigned i = 0; i < n; i++) {
			if (pids[i] != p)
				continue;
			pids[i] = 0;
			alive--;
			if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
				*failed = 1;
		}
	}
	return alive;
}

static void supervise(pid_t *pids, unsigned n, const sigset_t *set)
{
	unsigned alive = n;
	int failed = 0, stopping = 0;
	while (alive > 0) {
		int sig;
		if (sigwait(set, &sig) != 0)
			continue;
		if (sig == SIGCHLD) {
			alive = reap(pids, n, alive, &failed);
			if (alive > 0 && !stopping) {
				/* One worker gone on its own: stop the rest. */
				stopping = 1;
				failed = 1;
				signal_all(pids, n, SIGTERM);
			}
			continue;
		}
		/* SIGHUP: each worker reopens what it holds. SIGTERM/SIGINT:
		 * the workers' own graceful shutdown; a second one makes
		 * them abort, as it would a single server. */
		if (sig != SIGHUP)
			stopping = 1;
		signal_all(pids, n, sig);
	}
	exit(failed ? 1 : 0);
}

int workers_start(unsigned n)
{
	static pid_t pids[WORKERS_MAX];
	sigset_t set, old;
	if (n > WORKERS_MAX)
		n = WORKERS_MAX;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	/* Blocked before the first fork, so no signal is lost in between;
	 * the workers unblock them in become_worker. */
	sigprocmask(SIG_BLOCK, &set, &old);
	pid_t self = getpid();
	for (unsigned i = 0; i < n; i++) {
		pid_t p = fork();
		if (p == 0) {
			become_worker(self, &old);
			return (int)i;
		}
		if (p < 0) {
			fprintf(stderr, "tftpd: fork: %s\n", strerror(errno));
			signal_all(pids, i, SIGTERM);
			/* Wait for the ones started, then fail. */
			while (wait(NULL) > 0 || errno == EINTR)
				;
			exit(1);
		}
		pids[i] = p;
	}
	supervise(pids, n, &set);
	return -1; /* not reached */
}
