/* Simulated channel for the engine tests; see simchan.h. A linear queue is
 * plenty: at most a window or two of packets is ever in flight. */
#include "simchan.h"

#include <stdlib.h>
#include <string.h>

uint64_t sim_rand(struct simchan *c)
{
	/* splitmix64: tiny, seedable, good enough for fault injection */
	uint64_t z = (c->rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int chance(struct simchan *c, double p)
{
	if (p <= 0.0)
		return 0;
	return (double)(sim_rand(c) >> 11) / 9007199254740992.0 < p;
}

void sim_init(struct simchan *c, uint64_t seed, const struct sim_model *m)
{
	memset(c, 0, sizeof(*c));
	c->m = *m;
	c->rng = seed;
}

void sim_free(struct simchan *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->q[i].data);
	free(c->q);
	c->q = NULL;
	c->n = c->cap = 0;
}

static void enqueue(struct simchan *c, int to, const uint8_t *p, size_t len,
		    uint64_t at)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->q = realloc(c->q, c->cap * sizeof(*c->q));
		if (!c->q)
			abort();
	}
	struct sim_pkt *s = &c->q[c->n++];
	s->at = at;
	s->seq = c->seq++;
	s->to = to;
	s->len = len;
	s->data = malloc(len ? len : 1);
	if (!s->data)
		abort();
	memcpy(s->data, p, len);
}

void sim_send(struct simchan *c, int to, const uint8_t *p, size_t len,
	      uint64_t now)
{
	c->sent[to]++;
	if (chance(c, c->m.drop))
		return;
	uint64_t at = now + c->m.delay_ms;
	if (chance(c, c->m.reorder))
		at += 1 + sim_rand(c) % (c->m.reorder_ms ? c->m.reorder_ms : 1);
	enqueue(c, to, p, len, at);
	if (chance(c, c->m.dup))
		enqueue(c, to, p, len, at + sim_rand(c) % 3);
}

uint64_t sim_next_time(const struct simchan *c)
{
	uint64_t t = UINT64_MAX;
	for (size_t i = 0; i < c->n; i++)
		if (c->q[i].at < t)
			t = c->q[i].at;
	return t;
}

int sim_pop(struct simchan *c, struct sim_pkt *out)
{
	if (!c->n)
		return -1;
	size_t best = 0;
	for (size_t i = 1; i < c->n; i++) {
		if (c->q[i].at < c->q[best].at ||
		    (c->q[i].at == c->q[best].at && c->q[i].seq < c->q[best].seq))
			best = i;
	}
	*out = c->q[best];
	c->q[best] = c->q[--c->n];
	c->delivered[out->to]++;
	return 0;
}
