/* The origin's shared helpers: URLs, request options, spool files, the
 * mapping of HTTP and libcurl outcomes to TFTP errors, the log. */
#include "origin_int.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "clock.h"
#include "errmap.h"
#include "net.h"
#include "originurl.h"

const char *origin_check_url(const char *tmpl)
{
	if (strncmp(tmpl, "http://", 7) != 0 && strncmp(tmpl, "https://", 8) != 0)
		return "must start with http:// or https://";
	for (const char *p = tmpl; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p == 0x7f)
			return "must not hold spaces or control characters";
	if (strlen(tmpl) > ORIGIN_URL_MAX / 2)
		return "is too long";
	return NULL;
}

int origin_make_url(const struct origin *o, const struct src_request *rq,
		    char *url, size_t cap, struct tftp_err *err)
{
	char ip[64];
	if (!rq->client || tftp_sockaddr_addr_str(rq->client, ip, sizeof(ip)) < 0)
		ip[0] = '\0';
	switch (origin_url(o->cfg.url, rq->name, ip, rq->client_mac, url, cap)) {
	case ORIGIN_URL_OK:
		return 0;
	case ORIGIN_URL_NO_MAC:
		tftp_err_set(err, TFTP_ERR_NOTFOUND, "File not found",
			     "the origin URL needs {mac}; the client's is unknown");
		return -1;
	default:
		tftp_err_set(err, TFTP_ERR_NOTFOUND, "File not found",
			     "the origin URL would be too long");
		return -1;
	}
}

void origin_easy_common(const struct origin *o, CURL *e, char *errbuf)
{
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	/* Redirects are followed by hand, only within the origin. */
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	/* Straight to the origin: no proxy from the environment. */
	curl_easy_setopt(e, CURLOPT_PROXY, "");
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, (long)o->cfg.connect_timeout_s);
	/* Silence is the watchdog's (libcurl's low-speed limit averages
	 * over seconds: a burst then a stall was given up seconds late). */
	curl_easy_setopt(e, CURLOPT_USERAGENT, "tftpd/" TFTP_VERSION);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
	if (o->cfg.ca)
		curl_easy_setopt(e, CURLOPT_CAINFO, o->cfg.ca);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
}

int origin_spool(void)
{
	const char *dir = getenv("TMPDIR");
	if (!dir || !*dir)
		dir = "/tmp";
	int fd = open(dir, O_RDWR | O_TMPFILE | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR))
		return fd;
	char path[4096];
	snprintf(path, sizeof(path), "%s/tftpd-spool.XXXXXX", dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0)
		unlink(path);
	return fd;
}

static enum origin_result by_status(long status, struct tftp_err *err)
{
	if (status == 404 || status == 410) {
		tftp_err_set(err, TFTP_ERR_NOTFOUND, "File not found",
			     "not at the origin");
		return ORIGIN_NOT_FOUND;
	}
	if (status == 401 || status == 403) {
		tftp_err_set(err, TFTP_ERR_ACCESS, "Access violation",
			     "refused by the origin");
		return ORIGIN_DENIED;
	}
	if (status == 413 || status == 507) {
		tftp_err_set(err, TFTP_ERR_NOSPACE,
			     "Disk full or allocation exceeded",
			     "the origin has no room");
		return ORIGIN_HTTP_ERROR;
	}
	err->code = TFTP_ERR_UNDEF;
	snprintf(err->msg, sizeof(err->msg), "Origin: HTTP %ld", status);
	err->why = "the origin answered with an error";
	return ORIGIN_HTTP_ERROR;
}

static int is_tls(CURLcode rc)
{
	return rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_PEER_FAILED_VERIFICATION ||
	       rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_SSL_CERTPROBLEM ||
	       rc == CURLE_SSL_CIPHER || rc == CURLE_SSL_ENGINE_NOTFOUND ||
	       rc == CURLE_SSL_ISSUER_ERROR || rc == CURLE_SSL_CRL_BADFILE ||
	       rc == CURLE_SSL_PINNEDPUBKEYNOTMATCH || rc == CURLE_USE_SSL_FAILED;
}

enum origin_result origin_classify(CURLcode rc, long status,
				   struct tftp_err *err)
{
	if (rc == CURLE_OK)
		return by_status(status, err);
	if (is_tls(rc)) {
		tftp_err_set(err, TFTP_ERR_UNDEF, "Origin: TLS failure",
			     curl_easy_strerror(rc));
		return ORIGIN_TLS;
	}
	if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
	    rc == CURLE_COULDNT_RESOLVE_PROXY ||
	    (rc == CURLE_OPERATION_TIMEDOUT && status == 0)) {
		tftp_err_set(err, TFTP_ERR_UNDEF, "Origin unreachable",
			     curl_easy_strerror(rc));
		return ORIGIN_UNREACHABLE;
	}
	if (rc == CURLE_OPERATION_TIMEDOUT) {
		tftp_err_set(err, TFTP_ERR_UNDEF, "Origin timed out",
			     "no data from the origin in time");
		return ORIGIN_UNREACHABLE;
	}
	tftp_err_set(err, TFTP_ERR_UNDEF, "Origin: transfer cut off",
		     curl_easy_strerror(rc));
	return ORIGIN_CUT;
}

void origin_log_url(const struct origin *o, enum tftp_log_level lvl,
		    const char *method, const char *url, const char *fmt, ...)
{
	char shown[512], what[512];
	va_list ap;
	if (!tftp_log_enabled(o->log, lvl))
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	tftp_log_escape(url, strlen(url), shown, sizeof(shown));
	tftp_logf(o->log, lvl, "origin %s %s: %s", method, shown, what);
}

static void watchdog_arm(struct watchdog *w, uint64_t ms)
{
	struct timeval tv = {.tv_sec = (time_t)(ms / 1000u),
			     .tv_usec = (suseconds_t)((ms % 1000u) * 1000u)};
	evtimer_add(w->ev, &tv);
}

static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	struct watchdog *w = arg;
	uint64_t now = tftp_now_ms();
	(void)fd;
	(void)what;
	if (now - w->last_ms >= w->limit_ms) {
		w->fire(w->arg); /* may stop and free w */
		return;
	}
	watchdog_arm(w, w->last_ms + w->limit_ms - now);
}

int watchdog_start(struct watchdog *w, struct event_base *base,
		   uint32_t limit_ms, void (*fire)(void *), void *arg)
{
	w->limit_ms = limit_ms;
	w->fire = fire;
	w->arg = arg;
	w->last_ms = tftp_now_ms();
	w->ev = evtimer_new(base, on_watchdog, w);
	if (!w->ev)
		return -1;
	watchdog_arm(w, limit_ms);
	return 0;
}

void watchdog_feed(struct watchdog *w)
{
	w->last_ms = tftp_now_ms();
}

void watchdog_restart(struct watchdog *w)
{
	watchdog_feed(w);
	watchdog_arm(w, w->limit_ms);
}

void watchdog_stop(struct watchdog *w)
{
	if (w->ev)
		event_free(w->ev);
	w->ev = NULL;
}
