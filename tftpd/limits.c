/* Server-wide limits in shared memory; see limits.h. */
#include "limits.h"

#include <netinet/in.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* Per-client counters by hash bucket: two clients in one bucket share a
 * budget (rarely: 65536 buckets), which errs on the side of the limit. */
#define LIMIT_BUCKETS 65536u

/* Uploads that may run at once (their claims are scanned whole). */
#define UPLOAD_CLAIMS 4096u

struct tftpd_limits {
	unsigned max_transfers, max_per_client, prefix6;
	uint32_t key_seed;
	atomic_uint total;
	atomic_uint client[LIMIT_BUCKETS];
	_Atomic uint64_t claims[UPLOAD_CLAIMS]; /* 0: free */
};

struct tftpd_limits *limits_create(unsigned max_transfers,
				   unsigned max_per_client, unsigned prefix6)
{
	struct tftpd_limits *l = mmap(NULL, sizeof(*l), PROT_READ | PROT_WRITE,
				      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (l == MAP_FAILED)
		return NULL;
	l->max_transfers = max_transfers;
	l->max_per_client = max_per_client;
	l->prefix6 = prefix6 > 128u ? 128u : prefix6;
	if (getrandom(&l->key_seed, sizeof(l->key_seed), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(l->key_seed))
		l->key_seed = (uint32_t)getpid() ^ (uint32_t)time(NULL);
	atomic_init(&l->total, 0);
	for (size_t i = 0; i < LIMIT_BUCKETS; i++)
		atomic_init(&l->client[i], 0);
	for (size_t i = 0; i < UPLOAD_CLAIMS; i++)
		atomic_init(&l->claims[i], 0);
	return l;
}

void limits_free(struct tftpd_limits *l)
{
	if (l)
		munmap(l, sizeof(*l));
}

/* The bytes that name the client: 4 of IPv4, prefix6 bits of IPv6 (the
 * last byte masked). Returns the count, with out filled. */
static size_t client_bytes(const struct tftpd_limits *l,
			   const struct sockaddr *sa, uint8_t out[16])
{
	if (sa->sa_family == AF_INET) {
		memcpy(out, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return 4;
	}
	if (sa->sa_family != AF_INET6)
		return 0;
	const uint8_t *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
	size_t full = l->prefix6 / 8u, bits = l->prefix6 % 8u;
	memcpy(out, a, full);
	if (bits) {
		out[full] = (uint8_t)(a[full] & (0xffu << (8u - bits)));
		full++;
	}
	return full;
}

int limits_same_client(const struct tftpd_limits *l, const struct sockaddr *a,
		       const struct sockaddr *b)
{
	uint8_t x[16], y[16];
	if (a->sa_family != b->sa_family)
		return 0;
	size_t n = client_bytes(l, a, x);
	return n == client_bytes(l, b, y) && memcmp(x, y, n) == 0;
}

uint32_t limits_client_key(const struct tftpd_limits *l,
			   const struct sockaddr *sa)
{
	uint8_t b[16];
	size_t n = client_bytes(l, sa, b);
	uint32_t h = 2166136261u ^ l->key_seed ^ (uint32_t)sa->sa_family;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 16777619u;
	}
	h ^= h >> 16;
	return h;
}

/* Increment c unless it is at max; 1 if taken. */
static int take_one(atomic_uint *c, unsigned max)
{
	unsigned v = atomic_load(c);
	do {
		if (v >= max)
			return 0;
	} while (!atomic_compare_exchange_weak(c, &v, v + 1u));
	return 1;
}

const char *limits_take(struct tftpd_limits *l, uint32_t key)
{
	atomic_uint *c = &l->client[key % LIMIT_BUCKETS];
	if (!take_one(&l->total, l->max_transfers))
		return "--max-transfers reached (all workers)";
	if (!take_one(c, l->max_per_client)) {
		atomic_fetch_sub(&l->total, 1u);
		return "--max-per-client reached (all workers)";
	}
	return NULL;
}

void limits_release(struct tftpd_limits *l, uint32_t key)
{
	atomic_fetch_sub(&l->client[key % LIMIT_BUCKETS], 1u);
	atomic_fetch_sub(&l->total, 1u);
}

/* Lock-free across processes: a claim is published in a free slot, then
 * the table is scanned again; if two claims for one key raced in, the one
 * in the lower slot wins and the other withdraws. Whichever published
 * second sees the first on its scan, so at most one can stay. */
int limits_claim_upload(struct tftpd_limits *l, uint64_t key)
{
	int mine = -1;
	for (unsigned i = 0; i < UPLOAD_CLAIMS; i++)
		if (atomic_load(&l->claims[i]) == key)
			return LIMITS_CLAIM_BUSY;
	for (unsigned i = 0; i < UPLOAD_CLAIMS && mine < 0; i++) {
		uint64_t free_slot = 0;
		if (atomic_compare_exchange_strong(&l->claims[i], &free_slot, key))
			mine = (int)i;
	}
	if (mine < 0)
		return LIMITS_CLAIM_FULL;
	for (unsigned i = 0; i < (unsigned)mine; i++)
		if (atomic_load(&l->claims[i]) == key) {
			atomic_store(&l->claims[mine], 0);
			return LIMITS_CLAIM_BUSY;
		}
	return mine;
}

void limits_release_upload(struct tftpd_limits *l, int claim)
{
	if (claim >= 0 && (unsigned)claim < UPLOAD_CLAIMS)
		atomic_store(&l->claims[claim], 0);
}
