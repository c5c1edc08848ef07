/* libcurl's multi interface driven by the server's libevent loop (the
 * curl_multi_socket_action pattern of curl's hiperfifo example): libcurl
 * says which sockets to watch and when its timer is due, the loop tells
 * it what happened. No thread, no blocking call: DNS, connects, TLS and
 * bodies all progress from the loop. */
#ifndef TFTPD_CURLEV_H
#define TFTPD_CURLEV_H

#include <curl/curl.h>

struct event_base;
struct curlev;

/* A transfer is over: rc and the handle's info say how. Called from the
 * loop with the handle already out of the multi; the callee owns it
 * again (may add it anew, e.g. to follow a redirect, or clean it up). */
typedef void (*curlev_done_fn)(void *arg, CURL *easy, CURLcode rc);

struct curlev *curlev_new(struct event_base *base);
void curlev_free(struct curlev *c);
/* Start easy; done is called exactly once, unless it is removed first. */
int curlev_add(struct curlev *c, CURL *easy, curlev_done_fn done, void *arg);
/* Stop it; done is not called. */
void curlev_remove(struct curlev *c, CURL *easy);
/* After curl_easy_pause(CURLPAUSE_CONT) outside a callback: let libcurl
 * see at once that it may go on. */
void curlev_kick(struct curlev *c);

#endif
