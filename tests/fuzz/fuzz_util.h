/* Helpers shared by the libFuzzer targets: a byte reader over the fuzz
 * input (in the spirit of LLVM's FuzzedDataProvider, in C) and a check
 * macro that aborts with a message, so every broken invariant is a crash
 * libFuzzer records with its input. Test code only. */
#ifndef TFTP_FUZZ_UTIL_H
#define TFTP_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond, ...)                                                \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "%s:%d: invariant failed: %s: ",     \
				__FILE__, __LINE__, #cond);                  \
			fprintf(stderr, __VA_ARGS__);                        \
			fputc('\n', stderr);                                 \
			abort();                                             \
		}                                                            \
	} while (0)

struct fz {
	const uint8_t *p;
	size_t n;
};

static inline size_t fz_left(const struct fz *f)
{
	return f->n;
}

static inline uint8_t fz_u8(struct fz *f)
{
	if (!f->n)
		return 0;
	uint8_t v = *f->p;
	f->p++;
	f->n--;
	return v;
}

static inline uint16_t fz_u16(struct fz *f)
{
	uint16_t hi = fz_u8(f);
	return (uint16_t)(hi << 8 | fz_u8(f));
}

static inline uint32_t fz_u32(struct fz *f)
{
	uint32_t hi = fz_u16(f);
	return hi << 16 | fz_u16(f);
}

static inline uint64_t fz_u64(struct fz *f)
{
	uint64_t hi = fz_u32(f);
	return hi << 32 | fz_u32(f);
}

static inline int fz_bool(struct fz *f)
{
	return fz_u8(f) & 1;
}

/* A value in [lo, hi] (inclusive). */
static inline uint32_t fz_range(struct fz *f, uint32_t lo, uint32_t hi)
{
	if (hi <= lo)
		return lo;
	uint64_t span = (uint64_t)hi - lo + 1u;
	uint32_t v = span <= 0x100u ? fz_u8(f)
		     : span <= 0x10000u ? fz_u16(f)
					: fz_u32(f);
	return lo + (uint32_t)(v % span);
}

/* Take up to len bytes; *got gets how many there were. */
static inline const uint8_t *fz_bytes(struct fz *f, size_t len, size_t *got)
{
	if (len > f->n)
		len = f->n;
	const uint8_t *p = f->p;
	f->p += len;
	f->n -= len;
	*got = len;
	return p;
}

/* A heap copy of exactly len bytes, so ASan sees any access past the end. */
static inline uint8_t *fz_dup(const uint8_t *p, size_t len)
{
	uint8_t *q = malloc(len ? len : 1u);
	if (!q)
		abort();
	if (len)
		memcpy(q, p, len);
	return q;
}

/* Simulated channels queue datagrams as structs that begin with these two
 * fields: when each is due, and the order it was sent in. */
struct fz_qhead {
	uint64_t at, seq;
};

/* Of n queued structs (stride bytes apart, each beginning with a struct
 * fz_qhead), the earliest due by until, ties going to the first sent;
 * SIZE_MAX if none is due. */
static inline size_t fz_earliest(const void *q, size_t n, size_t stride,
				 uint64_t until)
{
	size_t best = SIZE_MAX;
	const struct fz_qhead *b = NULL;
	for (size_t i = 0; i < n; i++) {
		const struct fz_qhead *h =
			(const struct fz_qhead *)(const void *)((const char *)q +
								i * stride);
		if (h->at <= until &&
		    (!b || h->at < b->at || (h->at == b->at && h->seq < b->seq))) {
			best = i;
			b = h;
		}
	}
	return best;
}

#endif
