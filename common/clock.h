/* Host helper (not the protocol core, which is handed the time): the
 * monotonic clock, in the units the hosts use. */
#ifndef TFTP_CLOCK_H
#define TFTP_CLOCK_H

#include <stdint.h>

uint64_t tftp_now_ns(void);
uint64_t tftp_now_us(void);
uint64_t tftp_now_ms(void);
/* The wall clock (for logs), us since 1970. */
uint64_t tftp_wall_us(void);

#endif
