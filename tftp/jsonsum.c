/* --json: the client's summary as one JSON object, for scripts (a
 * switch-config backup checks "result" and "bytes"). See client.h. */
#include "client.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

static void add(char *out, size_t cap, size_t *at, const char *key,
		const char *s)
{
	int n = snprintf(out + *at, cap - *at, ",\"%s\":", key);
	if (n < 0 || (size_t)n >= cap - *at)
		return;
	size_t j = *at + (size_t)n;
	if (tftp_json_string(out, cap, &j, s ? s : "", s ? strlen(s) : 0) == 0)
		*at = j;
	else
		out[*at] = '\0';
}

static void num(char *out, size_t cap, size_t *at, const char *key,
		uint64_t v)
{
	int n = snprintf(out + *at, cap - *at, ",\"%s\":%" PRIu64, key, v);
	if (n > 0 && (size_t)n < cap - *at)
		*at += (size_t)n;
}

void tftp_json_summary(const struct tftp_client_args *a,
		       const struct tftp_summary *s, int rc)
{
	char out[2048];
	size_t at = (size_t)snprintf(out, sizeof(out), "{\"op\":\"%s\"",
				     a->is_put ? "put" : "get");
	size_t cap = sizeof(out) - 2;
	add(out, cap, &at, "host", a->host);
	num(out, cap, &at, "port", a->port);
	if (s->ran)
		add(out, cap, &at, "server", s->server);
	add(out, cap, &at, "remote", a->remote);
	add(out, cap, &at, "local", a->local);
	add(out, cap, &at, "result", rc == TFTP_EXIT_OK ? "ok" : "failed");
	num(out, cap, &at, "exit_code", (uint64_t)rc);
	num(out, cap, &at, "bytes", s->bytes);
	int n = snprintf(out + at, cap - at, ",\"seconds\":%" PRIu64 ".%06u",
			 s->us / 1000000u, (unsigned)(s->us % 1000000u));
	if (n > 0 && (size_t)n < cap - at)
		at += (size_t)n;
	num(out, cap, &at, "blksize", s->blksize);
	num(out, cap, &at, "window", s->window);
	num(out, cap, &at, "packets_sent", s->packets_sent);
	num(out, cap, &at, "retransmits", s->retransmits);
	if (rc != TFTP_EXIT_OK && s->error[0]) {
		if (s->peer_error)
			num(out, cap, &at, "tftp_error", s->error_code);
		add(out, cap, &at, "error", s->error);
	}
	out[at++] = '}';
	out[at] = '\0';
	FILE *f = !a->is_put && strcmp(a->local, "-") == 0 ? stderr : stdout;
	fprintf(f, "%s\n", out);
	fflush(f);
}
