/* A finished transfer as JSON; see record.h. */
#include "record.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "options.h"

const char *record_result_name(enum record_result r)
{
	static const char *const names[RESULT_COUNT] = {
		"ok", "not_found", "access", "timeout", "client_abort",
		"size_probe", "error",
	};
	return (unsigned)r < RESULT_COUNT ? names[r] : "error";
}

/* ,"key":value (printf) appended; -1 if it does not fit. */
static int field(char *out, size_t cap, size_t *at, const char *key,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int field(char *out, size_t cap, size_t *at, const char *key,
		 const char *fmt, ...)
{
	char val[64];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	int n = snprintf(out + *at, cap - *at, ",\"%s\":%s", key, val);
	if (n < 0 || (size_t)n >= cap - *at) {
		out[*at] = '\0';
		return -1;
	}
	*at += (size_t)n;
	return 0;
}

/* ,"key":"string" appended. */
static int sfield(char *out, size_t cap, size_t *at, const char *key,
		  const char *s)
{
	size_t j = *at;
	int n = snprintf(out + j, cap - j, ",\"%s\":", key);
	if (n < 0 || (size_t)n >= cap - j)
		return -1;
	j += (size_t)n;
	if (tftp_json_string(out, cap, &j, s, strlen(s)) < 0) {
		out[*at] = '\0';
		return -1;
	}
	*at = j;
	return 0;
}

static void options(const struct xfer_record *r, char *out, size_t cap,
		    size_t *at)
{
	if (r->granted & (TFTP_OPT_BLKSIZE | TFTP_OPT_BLKSIZE2))
		(void)field(out, cap, at, "opt_blksize", "%u", (unsigned)r->blksize);
	if (r->granted & TFTP_OPT_WINDOWSIZE)
		(void)field(out, cap, at, "opt_windowsize", "%u", (unsigned)r->window);
	if (r->granted & TFTP_OPT_TSIZE)
		(void)field(out, cap, at, "opt_tsize", "%" PRIu64, r->tsize);
	if (r->granted & (TFTP_OPT_TIMEOUT | TFTP_OPT_UTIMEOUT))
		(void)field(out, cap, at, "opt_timeout", "true");
}

size_t record_json(const struct xfer_record *r, char *out, size_t cap)
{
	size_t at = 0;
	if (cap < 3)
		return 0;
	int n = snprintf(out, cap, "{\"time\":%" PRIu64 ".%06u",
			 r->time_us / 1000000u, (unsigned)(r->time_us % 1000000u));
	if (n < 0 || (size_t)n >= cap - 1) {
		out[0] = '{';
		out[1] = '}';
		out[2] = '\0';
		return 2;
	}
	at = (size_t)n;
	(void)sfield(out, cap - 1, &at, "event", "transfer");
	(void)sfield(out, cap - 1, &at, "client", r->client);
	(void)field(out, cap - 1, &at, "port", "%u", (unsigned)r->port);
	(void)sfield(out, cap - 1, &at, "op", r->is_write ? "WRQ" : "RRQ");
	(void)sfield(out, cap - 1, &at, "mode", r->mode);
	(void)field(out, cap - 1, &at, "blksize", "%u", (unsigned)r->blksize);
	(void)field(out, cap - 1, &at, "window", "%u", (unsigned)r->window);
	options(r, out, cap - 1, &at);
	(void)field(out, cap - 1, &at, "bytes", "%" PRIu64, r->bytes);
	(void)field(out, cap - 1, &at, "seconds", "%" PRIu64 ".%06u",
		    r->us / 1000000u, (unsigned)(r->us % 1000000u));
	(void)field(out, cap - 1, &at, "retransmits", "%" PRIu64, r->retransmits);
	(void)sfield(out, cap - 1, &at, "result", record_result_name(r->result));
	if (r->result != RESULT_OK) {
		(void)field(out, cap - 1, &at, "error_code", "%u",
			    (unsigned)r->error_code);
		(void)sfield(out, cap - 1, &at, "error",
			     r->error_msg ? r->error_msg : "");
		(void)sfield(out, cap - 1, &at, "outcome", r->outcome);
	}
	/* The name last: the longest, and the one field that may not fit. */
	(void)sfield(out, cap - 1, &at, "file", r->file);
	out[at++] = '}';
	out[at] = '\0';
	return at;
}
