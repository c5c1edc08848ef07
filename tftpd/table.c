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
	return t->buckets ? 0 : -1;
}

void table_fini(struct session_table *t)
{
	free(t->buckets);
	t->buckets = NULL;
}

void table_add(struct session_table *t, struct session *s)
{
	s->bucket = bucket_of(t, (const struct sockaddr *)&s->peer);
	s->hnext = t->buckets[s->bucket];
	t->buckets[s->bucket] = s;
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
