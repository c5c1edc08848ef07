/* A simulated UDP channel between two transfer engines, on a virtual clock,
 * with a seeded model of loss, duplication, reordering and delay. Test code
 * only. */
#ifndef SIMCHAN_H
#define SIMCHAN_H

#include <stddef.h>
#include <stdint.h>

struct sim_pkt {
	uint64_t at;     /* delivery time, ms */
	uint64_t seq;    /* tie-break: FIFO among equal times */
	int to;          /* 0 = client side, 1 = server side */
	size_t len;
	uint8_t *data;
};

struct sim_model {
	double drop;     /* probability a packet is lost */
	double dup;      /* probability it is delivered twice */
	double reorder;  /* probability it is held back by extra delay */
	uint32_t delay_ms;        /* one-way delay */
	uint32_t reorder_ms;      /* extra delay of a held-back packet */
};

struct simchan {
	struct sim_model m;
	uint64_t rng;
	struct sim_pkt *q;
	size_t n, cap;
	uint64_t seq;
	uint64_t sent[2];      /* packets offered towards each side */
	uint64_t delivered[2];
};

void sim_init(struct simchan *c, uint64_t seed, const struct sim_model *m);
void sim_free(struct simchan *c);
/* Offer a packet sent at now towards side to. */
void sim_send(struct simchan *c, int to, const uint8_t *p, size_t len,
	      uint64_t now);
/* Earliest delivery time, UINT64_MAX when empty. */
uint64_t sim_next_time(const struct simchan *c);
/* Remove the earliest packet into *out (caller frees out->data). */
int sim_pop(struct simchan *c, struct sim_pkt *out);
uint64_t sim_rand(struct simchan *c);

#endif
