/* The /metrics endpoint: libevent's evhttp on the server's own loop. See
 * metrics_http.h. */
#include "metrics_http.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "metrics.h"
#include "net.h"

struct metrics_http {
	struct evhttp *http;
	const struct tftpd_metrics *m;
};

static void on_metrics(struct evhttp_request *req, void *arg)
{
	struct metrics_http *mh = arg;
	struct evbuffer *body = evbuffer_new();
	if (!body) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	metrics_render(mh->m, body);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(req, HTTP_OK, "OK", body);
	evbuffer_free(body);
}

static void on_other(struct evhttp_request *req, void *arg)
{
	(void)arg;
	evhttp_send_error(req, HTTP_NOTFOUND, "only /metrics here");
}

/* A listening TCP socket on host:port (numeric or a name, resolved now,
 * before the loop runs); SO_REUSEPORT for --workers, which each bind
 * it. */
static int listen_tcp(const char *host, uint16_t port, int reuseport,
		      const struct tftp_log *log)
{
	struct addrinfo hints, *res;
	char service[8];
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	snprintf(service, sizeof(service), "%u", (unsigned)port);
	int rc = getaddrinfo(host[0] ? host : NULL, service, &hints, &res);
	if (rc != 0) {
		tftp_logf(log, TFTP_LOG_ERR, "--metrics %s: %s", host,
			  gai_strerror(rc));
		return -1;
	}
	int one = 1, fd = socket(res->ai_family,
				 SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0 &&
	    (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	     (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one,
				      sizeof(one)) < 0) ||
	     bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 64) < 0)) {
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		char where[80];
		tftp_sockaddr_str(res->ai_addr, where, sizeof(where));
		tftp_logf(log, TFTP_LOG_ERR, "--metrics on %s: %s", where,
			  strerror(errno));
	}
	freeaddrinfo(res);
	return fd;
}

struct metrics_http *metrics_http_start(struct event_base *base,
					const char *host, uint16_t port,
					int reuseport,
					const struct tftpd_metrics *m,
					const struct tftp_log *log)
{
	struct metrics_http *mh = calloc(1, sizeof(*mh));
	int fd = mh ? listen_tcp(host, port, reuseport, log) : -1;
	if (fd < 0) {
		free(mh);
		return NULL;
	}
	mh->m = m;
	mh->http = evhttp_new(base);
	if (!mh->http || !evhttp_accept_socket_with_handle(mh->http, fd)) {
		tftp_logf(log, TFTP_LOG_ERR, "--metrics: cannot serve HTTP");
		if (mh->http)
			evhttp_free(mh->http);
		close(fd);
		free(mh);
		return NULL;
	}
	/* A scrape is one small GET: anything else is refused early, and a
	 * slow or idle connection cannot hold on. */
	evhttp_set_allowed_methods(mh->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_max_headers_size(mh->http, 8192);
	evhttp_set_max_body_size(mh->http, 0);
	evhttp_set_timeout(mh->http, 10);
	evhttp_set_cb(mh->http, "/metrics", on_metrics, mh);
	evhttp_set_gencb(mh->http, on_other, mh);
	tftp_logf(log, TFTP_LOG_INFO, "metrics on http://%s%s%s:%u/metrics",
		  strchr(host, ':') ? "[" : "", host[0] ? host : "*",
		  strchr(host, ':') ? "]" : "", (unsigned)port);
	return mh;
}

void metrics_http_stop(struct metrics_http *mh)
{
	if (!mh)
		return;
	evhttp_free(mh->http); /* closes the listening socket too */
	free(mh);
}
