/* See curlev.h. */
#include "curlev.h"

#include <event2/event.h>
#include <stdlib.h>

struct curlev {
	struct event_base *base;
	CURLM *multi;
	struct event *timer;
	int running;
};

/* What a handle carries (CURLOPT_PRIVATE). */
struct job {
	curlev_done_fn done;
	void *arg;
};

/* What a watched socket carries (curl_multi_assign). */
struct watch {
	struct event *ev;
	struct curlev *c;
};

/* Every finished transfer leaves the multi, then its owner hears of it. */
static void reap(struct curlev *c)
{
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(c->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		CURL *e = m->easy_handle;
		CURLcode rc = m->data.result;
		struct job *j = NULL;
		curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&j);
		curl_multi_remove_handle(c->multi, e);
		curl_easy_setopt(e, CURLOPT_PRIVATE, NULL);
		if (j) {
			curlev_done_fn done = j->done;
			void *arg = j->arg;
			free(j);
			done(arg, e, rc);
		}
	}
}

static void on_socket(evutil_socket_t fd, short what, void *arg)
{
	struct curlev *c = arg;
	int flags = ((what & EV_READ) ? CURL_CSELECT_IN : 0) |
		    ((what & EV_WRITE) ? CURL_CSELECT_OUT : 0);
	curl_multi_socket_action(c->multi, fd, flags, &c->running);
	reap(c);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct curlev *c = arg;
	(void)fd;
	(void)what;
	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &c->running);
	reap(c);
}

static int timer_cb(CURLM *multi, long ms, void *arg)
{
	struct curlev *c = arg;
	(void)multi;
	if (ms < 0) {
		evtimer_del(c->timer);
		return 0;
	}
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
	return evtimer_add(c->timer, &tv) < 0 ? -1 : 0;
}

static int socket_cb(CURL *e, curl_socket_t s, int what, void *arg,
		     void *sockp)
{
	struct curlev *c = arg;
	struct watch *w = sockp;
	(void)e;
	if (what == CURL_POLL_REMOVE) {
		if (w) {
			event_free(w->ev);
			free(w);
			curl_multi_assign(c->multi, s, NULL);
		}
		return 0;
	}
	short ev = (short)(EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) |
			   ((what & CURL_POLL_OUT) ? EV_WRITE : 0));
	if (!w) {
		w = calloc(1, sizeof(*w));
		if (!w)
			return -1;
		w->c = c;
		curl_multi_assign(c->multi, s, w);
	} else {
		event_free(w->ev);
	}
	w->ev = event_new(c->base, s, ev, on_socket, c);
	if (!w->ev || event_add(w->ev, NULL) < 0)
		return -1;
	return 0;
}

struct curlev *curlev_new(struct event_base *base)
{
	struct curlev *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->base = base;
	c->multi = curl_multi_init();
	c->timer = evtimer_new(base, on_timer, c);
	if (!c->multi || !c->timer) {
		curlev_free(c);
		return NULL;
	}
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	return c;
}

void curlev_free(struct curlev *c)
{
	if (!c)
		return;
	if (c->multi)
		curl_multi_cleanup(c->multi);
	if (c->timer)
		event_free(c->timer);
	free(c);
}

int curlev_add(struct curlev *c, CURL *easy, curlev_done_fn done, void *arg)
{
	struct job *j = malloc(sizeof(*j));
	if (!j)
		return -1;
	j->done = done;
	j->arg = arg;
	curl_easy_setopt(easy, CURLOPT_PRIVATE, j);
	if (curl_multi_add_handle(c->multi, easy) != CURLM_OK) {
		curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
		free(j);
		return -1;
	}
	return 0;
}

void curlev_remove(struct curlev *c, CURL *easy)
{
	struct job *j = NULL;
	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&j);
	curl_multi_remove_handle(c->multi, easy);
	curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
	free(j);
}

void curlev_kick(struct curlev *c)
{
	struct timeval now = {0, 0};
	evtimer_add(c->timer, &now);
}
