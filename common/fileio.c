/* See fileio.h. */
#include "fileio.h"

#include <errno.h>
#include <stdint.h>
#include <unistd.h>

int tftp_copy_into(int src, int dst)
{
	uint8_t buf[65536];
	off_t off = 0;
	for (;;) {
		ssize_t n = pread(src, buf, sizeof(buf), off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		for (ssize_t put = 0; put < n;) {
			ssize_t w = pwrite(dst, buf + put, (size_t)(n - put),
					   off + put);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return -1;
			put += w;
		}
		off += n;
	}
	return ftruncate(dst, off);
}
