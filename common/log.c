/* Levelled logging into a host-provided sink, and the text helpers of log
 * lines (escaping, human units). Part of the pure core: it formats, the
 * host's sink writes (the stderr sink is in logsink.c). See log.h. */
#include "log.h"

#include <stdio.h>
#include <string.h>

/* Longer lines are truncated: a log line is never worth an allocation. */
#define TFTP_LOG_LINE_MAX 1024

void tftp_vlogf(const struct tftp_log *log, enum tftp_log_level lvl,
		const char *fmt, va_list ap)
{
	char line[TFTP_LOG_LINE_MAX];
	if (!tftp_log_enabled(log, lvl))
		return;
	if (vsnprintf(line, sizeof(line), fmt, ap) < 0)
		line[0] = '\0';
	if (log->sink)
		log->sink(log->ctx ? log->ctx : (void *)log->prefix, lvl, line);
}

void tftp_logf(const struct tftp_log *log, enum tftp_log_level lvl,
	       const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	tftp_vlogf(log, lvl, fmt, ap);
	va_end(ap);
}

char *tftp_log_escape(const char *s, size_t len, char *out, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	size_t i = 0;
	for (; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		size_t need = (c >= 0x20 && c < 0x7f) ? (c == '\\' ? 2u : 1u) : 4u;
		if (o + need + 4u > cap) /* room for "..." and the NUL */
			break;
		if (need == 1u) {
			out[o++] = (char)c;
		} else if (need == 2u) {
			out[o++] = '\\';
			out[o++] = '\\';
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15u];
		}
	}
	if (i < len && o + 4u <= cap) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

/* The unit is chosen after rounding to one decimal, so 1048575 bytes read
 * "1.0 MiB", not "1024.0 KiB". */
static const char *scale(double *v)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	size_t u = 0;
	while (*v >= 1023.95 && u + 1 < sizeof(units) / sizeof(units[0])) {
		*v /= 1024.0;
		u++;
	}
	return units[u];
}

char *tftp_human_size(uint64_t bytes, char *out, size_t cap)
{
	double v = (double)bytes;
	const char *unit = scale(&v);
	if (bytes < 1024u)
		snprintf(out, cap, "%s", "");
	else
		snprintf(out, cap, " (%.1f %s)", v, unit);
	return out;
}

char *tftp_human_duration(uint64_t us, char *out, size_t cap)
{
	/* Bounds after rounding: 999960 us is "1.000 s", not "1000.0 ms". */
	if (us < 1000u)
		snprintf(out, cap, "%u us", (unsigned)us);
	else if (us < 999950u)
		snprintf(out, cap, "%.1f ms", (double)us / 1000.0);
	else
		snprintf(out, cap, "%.3f s", (double)us / 1e6);
	return out;
}

char *tftp_human_rate(uint64_t bytes, uint64_t us, char *out, size_t cap)
{
	double v = (double)bytes * 1e6 / (double)(us ? us : 1u);
	const char *unit = scale(&v);
	if (unit[0] == 'B')
		snprintf(out, cap, "%.0f B/s", v);
	else
		snprintf(out, cap, "%.1f %s/s", v, unit);
	return out;
}

int tftp_json_string(char *out, size_t cap, size_t *at, const char *s, size_t len)
{
	size_t j = *at;
	if (j + 2 > cap)
		return -1;
	out[j++] = '"';
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[8];
		size_t n;
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			n = 2;
		} else if (c < 0x20 || c >= 0x7f) {
			n = (size_t)snprintf(esc, sizeof(esc), "\\u%04x", c);
		} else {
			esc[0] = (char)c;
			n = 1;
		}
		if (j + n + 1 >= cap)
			return -1;
		memcpy(out + j, esc, n);
		j += n;
	}
	out[j++] = '"';
	out[j] = '\0';
	*at = j;
	return 0;
}

