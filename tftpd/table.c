/* The table of live transfers. See table.h. */
#include "table.h"

#include <stdint.h>
#include <stdlib.h>

#include "limits.h"
#include "net.h"
#include "session.h"

static size_t bucket_of(const struct session_table *t,
			const struct sockaddr *sa)
{
	return limits_client_key(t->limits, sa) & (t->nbuckets - 1u);
}

/* The exact address:port (the client's TID): its address's key mixed
 * with the port. */
static size_t tid_bucket_of(const struct session_table *t,
			    const struct sockaddr *sa)
{
	uint32_t h = limits_client_key(t->limits, sa) ^
		     ((uint32_t)tftp_sockaddr_port(sa) * 2654435761u);
	h ^= h >> 15;
	return h & (t->nbuckets - 1u);
}

int table_init(struct session_table *t, size_t max,
	       const struct tftpd_limits *limits)
{
	t->limits = limits;
	t->all = NULL;
	t->count = 0;
	t->nbuckets = 16;
	while (t->nbuckets < max && t->nbuckets < 65536u)
		t->nbuckets <<= 1;
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	t->tids = calloc(t->nbuckets, sizeof(*t->tids));
	return t->buckets && t->tids ? 0 : -1;
}

void table_fini(struct session_table *t)
{
	free(t->buckets);
	free(t->tids);
	t->buckets = t->tids = NULL;
}

void table_add(struct session_table *t, struct session *s)
{
	s->bucket = bucket_of(t, (const struct sockaddr *)&s->peer);
	s->hnext = t->buckets[s->bucket];
	t->buckets[s->bucket] = s;
	s->tid_bucket = tid_bucket_of(t, (const struct sockaddr *)&s->peer);
	s->tnext = t->tids[s->tid_bucket];
	t->tids[s->tid_bucket] = s;
	s->prev = NULL;
	s->next = t->all;
	if (t->all)
		t->all->prev = s;
	t->all = s;
	t->count++;
}

void table_remove(struct session_table *t, struct session *s)
{
	struct session **pp = &t->buckets[s->bucket];
	while (*pp && *pp != s)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = s->hnext;
	pp = &t->tids[s->tid_bucket];
	while (*pp && *pp != s)
		pp = &(*pp)->tnext;
	if (*pp)
		*pp = s->tnext;
	if (s->prev)
		s->prev->next = s->next;
	else
		t->all = s->next;
	if (s->next)
		s->next->prev = s->prev;
	t->count--;
}

unsigned table_client(const struct session_table *t,
		      const struct sockaddr *peer, struct session **dup,
		      struct session **dally)
{
	unsigned n = 0;
	*dup = *dally = NULL;
	for (struct session *s = t->buckets[bucket_of(t, peer)]; s;
	     s = s->hnext) {
		const struct sockaddr *sp = (const struct sockaddr *)&s->peer;
		if (!limits_same_client(t->limits, sp, peer))
			continue;
		n++;
		if (tftp_sockaddr_equal(sp, peer))
			*dup = s;
		else if (tftp_xfer_dallying(&s->x))
			*dally = s;
	}
	return n;
}

struct session *table_any_dallying(const struct session_table *t)
{
	for (struct session *s = t->all; s; s = s->next)
		if (tftp_xfer_dallying(&s->x))
			return s;
	return NULL;
}

struct session *table_find(const struct session_table *t,
			   const struct sockaddr *peer)
{
	for (struct session *s = t->tids[tid_bucket_of(t, peer)]; s;
	     s = s->tnext)
		if (tftp_sockaddr_equal((const struct sockaddr *)&s->peer, peer))
			return s;
	return NULL;
}
