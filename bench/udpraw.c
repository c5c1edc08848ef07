/* udpraw: what the loopback itself can do, as a yardstick for the TFTP
 * benchmark. No TFTP here, just the same traffic shapes:
 *
 *   udpraw pingpong [-s SIZE] [-S SECONDS] [-b]
 *       lockstep: a SIZE-byte datagram (default 516, a 512-byte DATA) one
 *       way, a 4-byte one (an ACK) back, again and again. Both sides sleep
 *       in recv; -b: both spin on a non-blocking recv instead, which takes
 *       the wake-up of a sleeping CPU out of every round trip.
 *   udpraw blast [-s SIZE] [-w WINDOW] [-S SECONDS] [-p]
 *       windowed: WINDOW datagrams of SIZE bytes (default 64 x 65468, a full
 *       DATA at blksize 65464), then one 4-byte answer, again and again;
 *       sendmmsg/recvmmsg batches (-p: one sendto/recv per datagram).
 *
 * Two processes (fork), two connected sockets on 127.0.0.1. The last line
 * is machine-readable:
 *   RESULT mode=... size=... count=... seconds=... payload_Bps=...
 * where payload_Bps counts the bytes beyond a 4-byte TFTP header, the
 * figure a TFTP transfer of the same shape could move at best.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HDR 4u
#define MAX_DGRAM 65507u
#define MAX_WINDOW 1024u

struct opts {
	const char *mode;
	size_t size;
	unsigned window;
	double seconds;
	int plain;
	int busy;
};

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A socket bound to 127.0.0.1 on a kernel-chosen port, with buffers big
 * enough for a whole window (FORCE: past net.core.*mem_max as root). */
static int udp_socket(struct sockaddr_in *bound)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	int buf = 32 << 20;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	memset(bound, 0, sizeof(*bound));
	bound->sin_family = AF_INET;
	bound->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof(*bound);
	if (bind(fd, (struct sockaddr *)bound, len) < 0 ||
	    getsockname(fd, (struct sockaddr *)bound, &len) < 0)
		die("bind");
	return fd;
}

static void connect_to(int fd, const struct sockaddr_in *peer)
{
	if (connect(fd, (const struct sockaddr *)peer, sizeof(*peer)) < 0)
		die("connect");
}

static void send_all(int fd, const void *buf, size_t len)
{
	while (send(fd, buf, len, 0) < 0)
		if (errno != EINTR && errno != ENOBUFS)
			die("send");
}

/* ---- ping-pong ---------------------------------------------------------- */

/* One datagram: sleeping in recv, or spinning on a non-blocking one (-b).
 * Returns its length, or -1 after a second without one. */
static ssize_t wait_recv(int fd, void *buf, size_t len, int busy)
{
	if (busy) {
		double give_up = now_s() + 1.0;
		for (;;) {
			ssize_t n = recv(fd, buf, len, MSG_DONTWAIT);
			if (n >= 0 || (errno != EAGAIN && errno != EINTR))
				return n;
			if (now_s() > give_up)
				return -1;
			sched_yield(); /* as tftpd and tftp do when they spin */
		}
	}
	struct pollfd p = {.fd = fd, .events = POLLIN};
	if (poll(&p, 1, 1000) <= 0)
		return -1;
	return recv(fd, buf, len, 0);
}

/* The echo side: answer every datagram with its first 4 bytes, until a
 * datagram of 1 byte says stop. */
static void pong(int fd, size_t size, int busy)
{
	uint8_t *buf = malloc(size);
	if (!buf)
		die("malloc");
	for (;;) {
		ssize_t n = wait_recv(fd, buf, size, busy);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			die("recv");
		}
		if (n == 1)
			break;
		send_all(fd, buf, HDR);
	}
	free(buf);
}

/* Round trips in batches of 1024 until the time is up. A lost datagram
 * (it does not happen on loopback, but never hang) ends the run. */
static unsigned long ping(int fd, size_t size, double seconds, int busy,
			  double *took)
{
	uint8_t *buf = calloc(1, size);
	uint8_t ack[16];
	unsigned long count = 0;
	if (!buf)
		die("calloc");
	double t0 = now_s(), t = t0;
	while (t - t0 < seconds) {
		for (int i = 0; i < 1024; i++) {
			send_all(fd, buf, size);
			if (wait_recv(fd, ack, sizeof(ack), busy) < 0) {
				fprintf(stderr, "udpraw: lost a datagram\n");
				goto out;
			}
			count++;
		}
		t = now_s();
	}
out:
	*took = now_s() - t0;
	free(buf);
	return count;
}

/* ---- blast ---------------------------------------------------------------- */

/* The receiving side: read windows, answer each with a 4-byte datagram.
 * Datagram byte 0 is 1 on the last of a window and 2 on "stop"; a window
 * whose last datagram went missing is answered after 50 ms of silence.
 * The answer carries how many datagrams arrived. */
static void blast_sink(int fd, size_t size, int plain)
{
	static struct mmsghdr msgs[MAX_WINDOW];
	static struct iovec iov[MAX_WINDOW];
	unsigned batch = plain ? 1u : 64u;
	uint8_t *bufs = malloc(size * batch);
	uint32_t got = 0;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	if (!bufs)
		die("malloc");
	for (unsigned i = 0; i < batch; i++) {
		iov[i].iov_base = bufs + i * size;
		iov[i].iov_len = size;
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	for (;;) {
		if (poll(&p, 1, 50) == 0) {
			if (got)
				send_all(fd, &got, sizeof(got));
			got = 0;
			continue;
		}
		int n = recvmmsg(fd, msgs, batch, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			die("recvmmsg");
		}
		for (int i = 0; i < n; i++) {
			uint8_t flag = bufs[(size_t)i * size];
			got++;
			if (flag == 2) {
				free(bufs);
				return;
			}
			if (flag == 1) {
				send_all(fd, &got, sizeof(got));
				got = 0;
			}
		}
	}
}

/* Send one window: sendmmsg of the same buffer WINDOW times, the last one
 * flagged, or one send per datagram with -p. */
static void send_window(int fd, uint8_t *last, uint8_t *body, size_t size,
			unsigned window, int plain)
{
	static struct mmsghdr msgs[MAX_WINDOW];
	static struct iovec iov[MAX_WINDOW];
	if (plain) {
		for (unsigned i = 0; i + 1 < window; i++)
			send_all(fd, body, size);
		send_all(fd, last, size);
		return;
	}
	for (unsigned i = 0; i < window; i++) {
		iov[i].iov_base = i + 1 == window ? last : body;
		iov[i].iov_len = size;
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	unsigned done = 0;
	while (done < window) {
		int n = sendmmsg(fd, msgs + done, window - done, 0);
		if (n < 0) {
			if (errno == EINTR || errno == ENOBUFS)
				continue;
			die("sendmmsg");
		}
		done += (unsigned)n;
	}
}

static unsigned long blast(int fd, const struct opts *o, double *took)
{
	uint8_t *body = calloc(1, o->size), *last = calloc(1, o->size);
	unsigned long count = 0;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	if (!body || !last)
		die("calloc");
	last[0] = 1;
	double t0 = now_s();
	while (now_s() - t0 < o->seconds) {
		uint32_t got;
		send_window(fd, last, body, o->size, o->window, o->plain);
		if (poll(&p, 1, 1000) <= 0 || recv(fd, &got, sizeof(got), 0) < 0) {
			fprintf(stderr, "udpraw: no answer to a window\n");
			break;
		}
		count += got;
	}
	*took = now_s() - t0;
	free(body);
	free(last);
	return count;
}

/* ---- main ----------------------------------------------------------------- */

static void usage(void)
{
	fputs("usage: udpraw pingpong [-s SIZE] [-S SECONDS] [-b]\n"
	      "       udpraw blast [-s SIZE] [-w WINDOW] [-S SECONDS] [-p]\n",
	      stderr);
	exit(2);
}

static void parse(int argc, char **argv, struct opts *o)
{
	if (argc < 2)
		usage();
	o->mode = argv[1];
	int is_blast = strcmp(o->mode, "blast") == 0;
	if (!is_blast && strcmp(o->mode, "pingpong") != 0)
		usage();
	o->size = is_blast ? 65468u : 516u;
	o->window = is_blast ? 64u : 1u;
	o->seconds = 2.0;
	int c;
	optind = 2;
	while ((c = getopt(argc, argv, "s:w:S:pb")) != -1) {
		switch (c) {
		case 's': o->size = strtoul(optarg, NULL, 10); break;
		case 'w': o->window = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'S': o->seconds = strtod(optarg, NULL); break;
		case 'p': o->plain = 1; break;
		case 'b': o->busy = 1; break;
		default: usage();
		}
	}
	if (o->size < HDR || o->size > MAX_DGRAM || o->window < 1 ||
	    o->window > MAX_WINDOW || !(o->seconds > 0))
		usage();
}

int main(int argc, char **argv)
{
	struct opts o = {0};
	struct sockaddr_in a, b;
	parse(argc, argv, &o);
	int is_blast = strcmp(o.mode, "blast") == 0;
	int fa = udp_socket(&a), fb = udp_socket(&b);
	connect_to(fa, &b);
	connect_to(fb, &a);
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		close(fa);
		if (is_blast)
			blast_sink(fb, o.size, o.plain);
		else
			pong(fb, o.size, o.busy);
		_exit(0);
	}
	close(fb);
	double took = 0;
	unsigned long count = is_blast ? blast(fa, &o, &took)
				       : ping(fa, o.size, o.seconds, o.busy, &took);
	uint8_t stop[1] = {2};
	if (is_blast) {
		uint8_t *s = calloc(1, o.size);
		if (s) {
			s[0] = 2;
			send_all(fa, s, o.size);
			free(s);
		}
	} else {
		send_all(fa, stop, 1);
	}
	int st;
	waitpid(pid, &st, 0);
	double payload = (double)count * (double)(o.size - HDR);
	const char *shown = is_blast ? (o.plain ? "blast-plain" : "blast")
				     : (o.busy ? "pingpong-busy" : "pingpong");
	printf("RESULT mode=%s size=%zu window=%u count=%lu seconds=%.6f "
	       "rate=%.1f payload_Bps=%.0f\n",
	       shown, o.size, o.window, count, took,
	       took > 0 ? (double)count / took : 0.0,
	       took > 0 ? payload / took : 0.0);
	return 0;
}
