/* Host helpers (not the protocol core) for files by offset: whole reads
 * and writes, and copying a finished spool into the file it replaces in
 * place, for the server's and the client's "only the file is writable,
 * not its directory" case. */
#ifndef TFTP_FILEIO_H
#define TFTP_FILEIO_H

/* Copy all of src (from offset 0) over dst from offset 0, then cut dst to
 * that length. Returns 0, or -1 with errno set (dst may then be partly
 * written: the caller chose in-place writing because nothing else was
 * possible). */
int tftp_copy_into(int src, int dst);

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* pread until len bytes or the end of the file (retrying EINTR and short
 * reads). Returns the count, or -1 with errno set. */
ssize_t tftp_pread_full(int fd, void *buf, size_t len, uint64_t off);
/* pwrite all len bytes. Returns 0, or -1 with errno set. */
int tftp_pwrite_full(int fd, const void *buf, size_t len, uint64_t off);

#endif
