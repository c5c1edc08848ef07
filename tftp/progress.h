/* A one-line progress bar on a terminal (stderr). Redrawn at most ten
 * times a second, so calling tftp_progress_update for every batch of
 * packets costs a comparison. */
#ifndef TFTP_PROGRESS_H
#define TFTP_PROGRESS_H

#include <stdint.h>

struct tftp_progress {
	int enabled;
	int fd;               /* where to draw (2) */
	const char *label;    /* the file name shown */
	uint64_t total;       /* valid if have_total */
	int have_total;
	uint64_t start_ms;
	uint64_t next_ms;     /* no redraw before this */
	int drawn;            /* something is on the line */
};

void tftp_progress_init(struct tftp_progress *p, int enabled, int fd,
			const char *label, uint64_t now_ms);
void tftp_progress_set_total(struct tftp_progress *p, uint64_t total);
/* Redraw if a tenth of a second has passed. */
void tftp_progress_update(struct tftp_progress *p, uint64_t bytes,
			  uint64_t now_ms);
/* Final state: on success a last full line and a newline; on failure the
 * line is cleared so the error message stands alone. */
void tftp_progress_finish(struct tftp_progress *p, uint64_t bytes,
			  uint64_t now_ms, int ok);

/* "1.5 MiB" style, into buf. */
const char *tftp_human_bytes(double v, char *buf, unsigned long cap);

#endif
