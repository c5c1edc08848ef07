/* What is known of a transfer when it ends, in one place: the log line
 * (text or JSON), the metrics and the --on-complete hook are all made
 * from it, so they never disagree. */
#ifndef TFTPD_RECORD_H
#define TFTPD_RECORD_H

#include <stddef.h>
#include <stdint.h>

enum record_result {
	RESULT_OK = 0,
	RESULT_NOT_FOUND,     /* ERROR 1 sent */
	RESULT_ACCESS,        /* ERROR 2 sent */
	RESULT_TIMEOUT,       /* the client went silent */
	RESULT_CLIENT_ABORT,  /* the client sent an ERROR, or gave up */
	RESULT_SIZE_PROBE,    /* a PXE ROM only wanted the size */
	RESULT_ERROR,         /* any other ERROR sent */
	RESULT_COUNT
};

struct xfer_record {
	uint64_t time_us;       /* wall clock at the end, us since 1970 */
	const char *client;     /* the address alone */
	uint16_t port;
	int is_write;
	const char *file;       /* the name served (bytes as received) */
	const char *mode;       /* "octet", "netascii" */
	unsigned granted;       /* TFTP_OPT_* bits of the OACK (0: none) */
	uint32_t blksize, window;
	uint64_t tsize;         /* if granted */
	uint64_t bytes, retransmits;
	uint64_t us;            /* duration */
	enum record_result result;
	const char *outcome;    /* the text log's words for it */
	uint16_t error_code;    /* unless ok */
	const char *error_msg;
};

/* "ok", "not_found", "access", "timeout", "client_abort", "size_probe",
 * "error". */
const char *record_result_name(enum record_result r);

/* One JSON object, no newline, into out (cap bytes; cut records end
 * with a valid object all the same: fields that do not fit are left
 * out). Strings escaped for any byte: a name's bytes 0x80-0xff become
 * \u0080-\u00ff (decode the string as Latin-1 for the exact bytes).
 * Returns the length. */
size_t record_json(const struct xfer_record *r, char *out, size_t cap);


#endif
