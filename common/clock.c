/* The monotonic clock for the hosts. See clock.h. */
#include "clock.h"

#include <time.h>

uint64_t tftp_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t tftp_now_us(void)
{
	return tftp_now_ns() / 1000u;
}

uint64_t tftp_now_ms(void)
{
	return tftp_now_ns() / 1000000u;
}

uint64_t tftp_wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
