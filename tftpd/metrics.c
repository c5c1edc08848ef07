/* Server-wide counters and their exposition; see metrics.h. */
#include "metrics.h"

#include <event2/buffer.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "packet.h"

/* Upper bounds of the histograms' buckets (the last is +Inf). */
static const double duration_le[] = {0.005, 0.01, 0.05, 0.1, 0.5, 1,
				     2.5, 5, 10, 30, 60, 300};
static const uint32_t blksize_le[] = {512, 1024, 1428, 1468, 4096, 8192,
				      16384, 32768, 65464};
static const uint32_t window_le[] = {1, 2, 4, 8, 16, 32, 64, 65535};
#define NDUR (sizeof(duration_le) / sizeof(duration_le[0]))
#define NBLK (sizeof(blksize_le) / sizeof(blksize_le[0]))
#define NWIN (sizeof(window_le) / sizeof(window_le[0]))

typedef _Atomic uint64_t counter;

struct hist {
	counter bucket[16];  /* per bucket, not cumulative; [n] is +Inf */
	counter sum;         /* in the unit's millionths (durations: us) */
	counter count;
};

struct tftpd_metrics {
	counter started[2];                    /* [is_write] */
	counter finished[2][RESULT_COUNT];
	counter refused[2][REFUSED_COUNT];
	counter sent_bytes, received_bytes, retransmits;
	counter origin[2][ORIGIN_RESULT_COUNT];  /* [is_put] */
	counter origin_bytes[2];                 /* [is_put]: in, out */
	counter cache[CACHE_RESULT_COUNT];
	struct hist duration, blksize, window;
};

struct tftpd_metrics *metrics_create(void)
{
	/* Anonymous shared memory comes zeroed: every counter starts at 0. */
	struct tftpd_metrics *m = mmap(NULL, sizeof(*m), PROT_READ | PROT_WRITE,
				       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	return m == MAP_FAILED ? NULL : m;
}

void metrics_free(struct tftpd_metrics *m)
{
	if (m)
		munmap(m, sizeof(*m));
}

static void observe(struct hist *h, size_t n, size_t idx, uint64_t micro)
{
	atomic_fetch_add(&h->bucket[idx < n ? idx : n], 1u);
	atomic_fetch_add(&h->sum, micro);
	atomic_fetch_add(&h->count, 1u);
}

static size_t index_u32(const uint32_t *le, size_t n, uint32_t v)
{
	size_t i = 0;
	while (i < n && v > le[i])
		i++;
	return i;
}

void metrics_started(struct tftpd_metrics *m, int is_write, uint32_t blksize,
		     uint32_t window)
{
	if (!m)
		return;
	atomic_fetch_add(&m->started[is_write ? 1 : 0], 1u);
	observe(&m->blksize, NBLK, index_u32(blksize_le, NBLK, blksize),
		(uint64_t)blksize * 1000000u);
	observe(&m->window, NWIN, index_u32(window_le, NWIN, window),
		(uint64_t)window * 1000000u);
}

void metrics_finished(struct tftpd_metrics *m, const struct xfer_record *r)
{
	if (!m)
		return;
	unsigned res = (unsigned)r->result < RESULT_COUNT ? (unsigned)r->result
							  : RESULT_ERROR;
	atomic_fetch_add(&m->finished[r->is_write ? 1 : 0][res], 1u);
	atomic_fetch_add(r->is_write ? &m->received_bytes : &m->sent_bytes,
			 r->bytes);
	atomic_fetch_add(&m->retransmits, r->retransmits);
	size_t i = 0;
	while (i < NDUR && (double)r->us / 1e6 > duration_le[i])
		i++;
	observe(&m->duration, NDUR, i, r->us);
}

void metrics_refused(struct tftpd_metrics *m, int is_write, enum refusal why)
{
	if (m && (unsigned)why < REFUSED_COUNT)
		atomic_fetch_add(&m->refused[is_write ? 1 : 0][why], 1u);
}

void metrics_origin(struct tftpd_metrics *m, int is_put,
		    enum origin_result r, uint64_t bytes)
{
	if (!m || (unsigned)r >= ORIGIN_RESULT_COUNT)
		return;
	atomic_fetch_add(&m->origin[is_put ? 1 : 0][r], 1u);
	atomic_fetch_add(&m->origin_bytes[is_put ? 1 : 0], bytes);
}

void metrics_cache(struct tftpd_metrics *m, enum cache_result r)
{
	if (m && (unsigned)r < CACHE_RESULT_COUNT)
		atomic_fetch_add(&m->cache[r], 1u);
}

enum refusal metrics_refusal_of(uint16_t code, const char *msg)
{
	switch (code) {
	case TFTP_ERR_NOTFOUND:
		return REFUSED_NOT_FOUND;
	case TFTP_ERR_ACCESS:
		return REFUSED_ACCESS;
	case TFTP_ERR_EXISTS:
		return REFUSED_EXISTS;
	case TFTP_ERR_NOSPACE:
		return REFUSED_DISK_FULL;
	case TFTP_ERR_BADOP:
		return REFUSED_BAD_REQUEST;
	default:
		return msg && strcmp(msg, "server busy") == 0 ? REFUSED_LIMIT
							     : REFUSED_ERROR;
	}
}

/* ---- exposition ------------------------------------------------------- */

static const char *const ops[2] = {"rrq", "wrq"};
static const char *const refusal_names[REFUSED_COUNT] = {
	"not_found", "access", "exists", "disk_full", "bad_request", "limit",
	"error",
};

static void head(struct evbuffer *o, const char *name, const char *type,
		 const char *help)
{
	evbuffer_add_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
			    type);
}

static uint64_t get(const counter *c)
{
	return atomic_load(c);
}

/* A counter without labels. */
static void single(struct evbuffer *o, const char *name, const char *help,
		   const counter *c)
{
	head(o, name, "counter", help);
	evbuffer_add_printf(o, "%s %" PRIu64 "\n", name, get(c));
}

/* A histogram's buckets (cumulative), sum (micro: in millionths) and
 * count; le[] given as text. */
static void hist(struct evbuffer *o, const char *name, const struct hist *h,
		 const char *const *le, size_t n)
{
	uint64_t cum = 0;
	for (size_t i = 0; i <= n; i++) {
		cum += get(&h->bucket[i]);
		evbuffer_add_printf(o, "%s_bucket{le=\"%s\"} %" PRIu64 "\n", name,
				    i < n ? le[i] : "+Inf", cum);
	}
	uint64_t sum = get(&h->sum);
	evbuffer_add_printf(o, "%s_sum %" PRIu64 ".%06" PRIu64 "\n", name,
			    sum / 1000000u, sum % 1000000u);
	evbuffer_add_printf(o, "%s_count %" PRIu64 "\n", name, get(&h->count));
}

static void render_transfers(const struct tftpd_metrics *m, struct evbuffer *o)
{
	uint64_t active = 0;
	head(o, "tftp_transfers_started_total", "counter",
	     "Transfers started, by request type.");
	for (int w = 0; w < 2; w++) {
		evbuffer_add_printf(o, "tftp_transfers_started_total{op=\"%s\"} %"
				    PRIu64 "\n", ops[w], get(&m->started[w]));
		active += get(&m->started[w]);
	}
	head(o, "tftp_transfers_total", "counter",
	     "Transfers finished, by request type and result.");
	for (int w = 0; w < 2; w++)
		for (unsigned r = 0; r < RESULT_COUNT; r++) {
			uint64_t v = get(&m->finished[w][r]);
			active -= v < active ? v : active;
			evbuffer_add_printf(
				o, "tftp_transfers_total{op=\"%s\",result=\"%s\"} %"
				PRIu64 "\n", ops[w],
				record_result_name((enum record_result)r), v);
		}
	head(o, "tftp_transfers_active", "gauge", "Transfers running now.");
	evbuffer_add_printf(o, "tftp_transfers_active %" PRIu64 "\n", active);
	head(o, "tftp_requests_refused_total", "counter",
	     "Requests answered with an ERROR before any transfer, by reason.");
	for (int w = 0; w < 2; w++)
		for (unsigned r = 0; r < REFUSED_COUNT; r++)
			evbuffer_add_printf(
				o, "tftp_requests_refused_total{op=\"%s\","
				"reason=\"%s\"} %" PRIu64 "\n", ops[w],
				refusal_names[r], get(&m->refused[w][r]));
}

static void render_origin(const struct tftpd_metrics *m, struct evbuffer *o)
{
	static const char *const results[ORIGIN_RESULT_COUNT] = {
		"ok", "not_modified", "not_found", "denied", "http_error",
		"unreachable", "cut", "tls", "redirect"};
	static const char *const lookups[CACHE_RESULT_COUNT] = {
		"hit", "miss", "revalidated", "stale", "joined"};
	static const char *const method[2] = {"GET", "PUT"};
	head(o, "tftp_origin_requests_total", "counter",
	     "Requests to the HTTP origin, by method and how they ended.");
	for (int p = 0; p < 2; p++)
		for (unsigned r = 0; r < ORIGIN_RESULT_COUNT; r++)
			evbuffer_add_printf(o, "tftp_origin_requests_total{method="
					    "\"%s\",result=\"%s\"} %" PRIu64 "\n",
					    method[p], results[r],
					    get(&m->origin[p][r]));
	head(o, "tftp_origin_bytes_total", "counter",
	     "Body bytes from (in) and to (out) the HTTP origin.");
	evbuffer_add_printf(o, "tftp_origin_bytes_total{direction=\"in\"} %"
			    PRIu64 "\ntftp_origin_bytes_total{direction=\"out\"} %"
			    PRIu64 "\n", get(&m->origin_bytes[0]),
			    get(&m->origin_bytes[1]));
	head(o, "tftp_cache_lookups_total", "counter",
	     "Read requests for origin files, by how they were met.");
	for (unsigned r = 0; r < CACHE_RESULT_COUNT; r++)
		evbuffer_add_printf(o, "tftp_cache_lookups_total{result=\"%s\"} %"
				    PRIu64 "\n", lookups[r], get(&m->cache[r]));
}

void metrics_render(const struct tftpd_metrics *m, struct evbuffer *o)
{
	char dl[NDUR][16], bl[NBLK][16], wl[NWIN][16];
	const char *dp[NDUR], *bp[NBLK], *wp[NWIN];
	for (size_t i = 0; i < NDUR; i++)
		snprintf(dl[i], sizeof(dl[i]), "%g", duration_le[i]), dp[i] = dl[i];
	for (size_t i = 0; i < NBLK; i++)
		snprintf(bl[i], sizeof(bl[i]), "%u", blksize_le[i]), bp[i] = bl[i];
	for (size_t i = 0; i < NWIN; i++)
		snprintf(wl[i], sizeof(wl[i]), "%u", window_le[i]), wp[i] = wl[i];
	render_transfers(m, o);
	single(o, "tftp_sent_bytes_total",
	       "File bytes sent in DATA packets (downloads).", &m->sent_bytes);
	single(o, "tftp_received_bytes_total",
	       "File bytes received in DATA packets (uploads).",
	       &m->received_bytes);
	single(o, "tftp_retransmits_total",
	       "Packets sent again after a timeout or a gap the client showed.",
	       &m->retransmits);
	head(o, "tftp_transfer_duration_seconds", "histogram",
	     "How long finished transfers took.");
	hist(o, "tftp_transfer_duration_seconds", &m->duration, dp, NDUR);
	head(o, "tftp_granted_blksize_bytes", "histogram",
	     "Block size of each transfer started (512 without the option).");
	hist(o, "tftp_granted_blksize_bytes", &m->blksize, bp, NBLK);
	head(o, "tftp_granted_windowsize_blocks", "histogram",
	     "Window of each transfer started (1 without the option).");
	hist(o, "tftp_granted_windowsize_blocks", &m->window, wp, NWIN);
	render_origin(m, o);
}
