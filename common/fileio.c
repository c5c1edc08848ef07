/* See fileio.h. */
#include "fileio.h"

#include <errno.h>
#include <stdint.h>
#include <unistd.h>

ssize_t tftp_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(fd, (uint8_t *)buf + got, len - got,
				  (off_t)(off + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int tftp_pwrite_full(int fd, const void *buf, size_t len, uint64_t off)
{
	size_t put = 0;
	while (put < len) {
		ssize_t n = pwrite(fd, (const uint8_t *)buf + put, len - put,
				   (off_t)(off + put));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		put += (size_t)n;
	}
	return 0;
}

int tftp_copy_into(int src, int dst)
{
	uint8_t buf[65536];
	uint64_t off = 0;
	for (;;) {
		ssize_t n = tftp_pread_full(src, buf, sizeof(buf), off);
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		if (tftp_pwrite_full(dst, buf, (size_t)n, off) < 0)
			return -1;
		off += (uint64_t)n;
	}
	return ftruncate(dst, (off_t)off);
}
