/* systemd's socket activation and notification protocols. See systemd.h. */
#include "systemd.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* A decimal in 0..max, nothing else. */
static int parse_count(const char *s, long max, long *out)
{
	char *end;
	if (!s || !*s)
		return -1;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || v < 0 || v > max)
		return -1;
	*out = v;
	return 0;
}

int systemd_listen_fds(void)
{
	static int saved = -1;
	if (saved >= 0)
		return saved;
	long pid, n;
	saved = 0;
	if (parse_count(getenv("LISTEN_FDS"), 4096, &n) == 0 &&
	    parse_count(getenv("LISTEN_PID"), 0x7fffffffL, &pid) == 0 &&
	    (pid_t)pid == getpid()) {
		saved = (int)n;
		for (int i = 0; i < saved; i++)
			(void)fcntl(TFTPD_LISTEN_FDS_START + i, F_SETFD,
				    FD_CLOEXEC);
	}
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDNAMES");
	return saved;
}

void systemd_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	size_t n = path ? strlen(path) : 0;
	if (n < 2 || n >= sizeof(sa.sun_path) ||
	    (path[0] != '/' && path[0] != '@'))
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, n);
	if (path[0] == '@')
		sa.sun_path[0] = '\0'; /* the abstract namespace */
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return;
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	(void)sendto(fd, state, strlen(state), MSG_NOSIGNAL,
		     (struct sockaddr *)&sa, len);
	close(fd);
}
