/* Host helper (not the protocol core): copy a finished spool into the file
 * it replaces in place, for the server's and the client's "only the file
 * is writable, not its directory" case. */
#ifndef TFTP_FILEIO_H
#define TFTP_FILEIO_H

/* Copy all of src (from offset 0) over dst from offset 0, then cut dst to
 * that length. Returns 0, or -1 with errno set (dst may then be partly
 * written: the caller chose in-place writing because nothing else was
 * possible). */
int tftp_copy_into(int src, int dst);

#endif
