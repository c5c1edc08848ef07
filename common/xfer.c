/* The transfer engine. See xfer.h for the contract; the comments here
 * explain the protocol decisions. */
#include "xfer.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NO_DEADLINE UINT64_MAX

static const char *const state_names[] = {
	[TFTP_XS_INIT] = "init",
	[TFTP_XS_REQUEST] = "request",
	[TFTP_XS_OACK_SENT] = "oack-sent",
	[TFTP_XS_SENDING] = "sending",
	[TFTP_XS_RECEIVING] = "receiving",
	[TFTP_XS_DALLY] = "dally",
	[TFTP_XS_DONE] = "done",
	[TFTP_XS_FAILED] = "failed",
};

const char *tftp_xfer_state_name(enum tftp_xfer_state s)
{
	if ((unsigned)s < sizeof(state_names) / sizeof(state_names[0]))
		return state_names[s];
	return "?";
}

/* Every state change goes through here so a debug log shows the path. */
static void set_state(struct tftp_xfer *x, enum tftp_xfer_state s)
{
	if (x->state == s)
		return;
	tftp_logf(x->cfg.log, TFTP_LOG_TRACE, "xfer %s -> %s",
		  tftp_xfer_state_name(x->state), tftp_xfer_state_name(s));
	x->state = s;
}

/* ---- buffers and parameters ------------------------------------------- */

static int grow(uint8_t **buf, size_t *cap, size_t need)
{
	if (*cap >= need)
		return 0;
	uint8_t *p = realloc(*buf, need);
	if (!p)
		return -1;
	*buf = p;
	*cap = need;
	return 0;
}

/* The negotiated timeout in ms: the timeout option (seconds), else
 * tftp-hpa's utimeout (microseconds, at least 1 ms). */
static uint32_t agreed_timeout_ms(const struct tftp_opts *o)
{
	if (o->present & TFTP_OPT_TIMEOUT)
		return o->timeout * 1000u;
	uint32_t ms = o->utimeout / 1000u;
	return ms ? ms : 1u;
}

/* Put the negotiated (or default) parameters in force and size the buffers
 * for them. o == NULL means plain RFC 1350. */
static int apply_opts(struct tftp_xfer *x, const struct tftp_opts *o)
{
	static const struct tftp_opts none;
	if (!o)
		o = &none;
	x->agreed = *o;
	x->blksize = (o->present & TFTP_OPT_BLKSIZE)    ? o->blksize
		     : (o->present & TFTP_OPT_BLKSIZE2) ? o->blksize2
							: TFTP_BLKSIZE_DEFAULT;
	x->window = (o->present & TFTP_OPT_WINDOWSIZE) ? o->windowsize : 1;
	x->fixed_timeout =
		(o->present & (TFTP_OPT_TIMEOUT | TFTP_OPT_UTIMEOUT)) != 0;
	if (x->fixed_timeout)
		x->rto_ms = agreed_timeout_ms(o);
	/* The buffer also holds the control packets: at a small blksize an
	 * OACK (blksize 8 with tsize, timeout, windowsize) is longer than a
	 * DATA packet, so never less than a default-size packet. */
	size_t need = (size_t)x->blksize + TFTP_HDR_LEN;
	if (need < TFTP_BLKSIZE_DEFAULT + TFTP_HDR_LEN)
		need = TFTP_BLKSIZE_DEFAULT + TFTP_HDR_LEN;
	if (grow(&x->pkt, &x->pktcap, need) < 0)
		return -1;
	if (x->cfg.mode != TFTP_MODE_NETASCII)
		return 0;
	size_t scratch_cap = 0;
	free(x->scratch);
	x->scratch = NULL;
	if (grow(&x->scratch, &scratch_cap, x->blksize + 1u) < 0)
		return -1;
	if (x->cfg.role == TFTP_ROLE_SENDER) {
		free(x->marks);
		x->nmarks = (size_t)x->window + 1u;
		x->marks = calloc(x->nmarks, sizeof(*x->marks));
		if (!x->marks)
			return -1;
		x->marks[1 % x->nmarks].block = 1;
		tftp_nascii_enc_init(&x->marks[1 % x->nmarks].enc);
	}
	return 0;
}

/* The receiver waits longer than the sender before repeating itself: the
 * sender knows best when a window is lost and should act first. */
static uint32_t wait_ms(const struct tftp_xfer *x)
{
	if (x->fixed_timeout || x->cfg.role == TFTP_ROLE_SENDER)
		return x->rto_ms;
	uint32_t t = x->rto_ms * 2u;
	return t < x->cfg.timeout_ms ? t : x->cfg.timeout_ms;
}

uint64_t tftp_xfer_give_up_ms(const struct tftp_xfer *x)
{
	uint64_t t = x->fixed_timeout ? agreed_timeout_ms(&x->agreed)
				      : x->cfg.timeout_ms;
	return t * x->cfg.max_retries;
}

/* A valid packet from the peer: the silence clock starts again. */
static void heard(struct tftp_xfer *x, uint64_t now)
{
	x->answered = 1;
	x->heard_at = now;
	x->retries = 0;
}

/* The next timer: a retransmission, or the give-up if that comes first. */
static void set_deadline(struct tftp_xfer *x, uint64_t now, uint64_t wait)
{
	uint64_t end = x->heard_at + tftp_xfer_give_up_ms(x);
	x->deadline = now + wait < end ? now + wait : end;
	if (x->deadline < now)
		x->deadline = now;
}

/* A window in flight whose last block is lost draws no ACK at all: the
 * receiver waits for the end of its window, and the sender for its ACK,
 * until the retransmit timeout (a hole earlier in the window shows in the
 * blocks after it, this one does not). So once the ACK is overdue, two
 * round trips (2 ms at least) after the window went out, its newest block
 * is sent once more (a tail loss probe, as TCP's): if it was the one
 * lost, the window's ACK follows; if not, the receiver's answer to a
 * repeat shows where it is. Only when that comes before the timeout. */
#define PROBE_MIN_MS 2u

static void arm_probe(struct tftp_xfer *x, uint64_t now)
{
	uint64_t pto = 2u * (uint64_t)x->srtt_ms + 1u;
	if (pto < PROBE_MIN_MS)
		pto = PROBE_MIN_MS;
	x->probe_due = 0;
	if (x->cfg.role != TFTP_ROLE_SENDER || x->window <= 1 ||
	    !x->acked_any || x->collapsed || x->next <= x->base + 1u ||
	    now + pto >= x->deadline)
		return;
	x->probe_due = 1;
	x->rto_deadline = x->deadline;
	x->deadline = now + pto;
}

static void arm(struct tftp_xfer *x, uint64_t now, int retx)
{
	x->sent_at = now;
	x->sent_retx = retx;
	set_deadline(x, now, wait_ms(x));
	if (x->state == TFTP_XS_SENDING)
		arm_probe(x, now);
}

/* srtt + 4 rttvar (RFC 6298), but never less than 1.5 srtt: a steady
 * round trip drives rttvar to 0, and a peer that answers 40 ms late with a
 * few ms of jitter would then be sent every other block twice. */
static uint32_t rto_estimate(const struct tftp_xfer *x)
{
	uint32_t var = x->rttvar_ms * 4u;
	if (var < x->srtt_ms / 2u)
		var = x->srtt_ms / 2u;
	uint32_t rto = x->srtt_ms + (var > 1u ? var : 1u);
	if (rto < x->cfg.rto_min_ms)
		rto = x->cfg.rto_min_ms;
	return rto > x->cfg.timeout_ms ? x->cfg.timeout_ms : rto;
}

/* RFC 6298 in whole milliseconds; loopback samples of 0 ms simply pin the
 * timeout to rto_min_ms. Karn: callers pass only samples of packets that
 * were not retransmitted. */
static void rtt_sample(struct tftp_xfer *x, uint64_t now)
{
	if (x->fixed_timeout || x->sent_retx || now < x->sent_at)
		return;
	uint64_t r64 = now - x->sent_at;
	uint32_t r = r64 > 60000u ? 60000u : (uint32_t)r64;
	if (!x->have_rtt) {
		x->srtt_ms = r;
		x->rttvar_ms = r / 2u;
		x->have_rtt = 1;
	} else {
		uint32_t d = x->srtt_ms > r ? x->srtt_ms - r : r - x->srtt_ms;
		x->rttvar_ms = (3u * x->rttvar_ms + d) / 4u;
		x->srtt_ms = (7u * x->srtt_ms + r) / 8u;
	}
	x->sent_retx = 1; /* one sample per packet awaited */
	x->rto_ms = rto_estimate(x);
}

/* Progress without a valid sample (Karn: a repeated block gives none):
 * halve a backed-off timeout, never below the estimate. Under steady loss
 * a windowed transfer repeats blocks in nearly every window and would
 * otherwise keep the timeout at its cap for good; a round trip that
 * really grew is still met by the doubling on each timeout. */
static void unwind_backoff(struct tftp_xfer *x)
{
	if (x->fixed_timeout || !x->have_rtt)
		return;
	uint32_t est = rto_estimate(x);
	uint32_t half = x->rto_ms / 2u;
	x->rto_ms = half > est ? half : est < x->rto_ms ? est : x->rto_ms;
}

static void backoff(struct tftp_xfer *x)
{
	if (x->fixed_timeout)
		return;
	uint32_t t = x->rto_ms * 2u;
	x->rto_ms = t < x->cfg.timeout_ms ? t : x->cfg.timeout_ms;
}

/* ---- output ------------------------------------------------------------ */

static void send_pkt(struct tftp_xfer *x, const uint8_t *p, size_t len)
{
	x->stats.packets_sent++;
	/* A failed send is a lost packet: the timer recovers from it. */
	(void)x->io.send(x->io.ctx, p, len);
}

/* Control packets (request, OACK, ACK) live in pkt so a timeout can repeat
 * them verbatim: "retransmit = resend the last packet". */
static void send_ctl(struct tftp_xfer *x, size_t len)
{
	x->last_len = len;
	send_pkt(x, x->pkt, len);
}

static void send_ack(struct tftp_xfer *x, uint64_t block)
{
	send_ctl(x, tftp_build_ack(x->pkt, x->pktcap, (uint16_t)block));
}

static void finish(struct tftp_xfer *x, enum tftp_xfer_state s, uint64_t now)
{
	if (s == TFTP_XS_DONE)
		x->end = TFTP_END_DONE;
	else if (x->end == TFTP_END_NONE)
		x->end = TFTP_END_LOCAL_ERROR;
	set_state(x, s);
	x->deadline = NO_DEADLINE;
	x->stats.end_ms = now;
}

static void set_err(struct tftp_xfer *x, uint16_t code, const char *msg)
{
	x->err.code = code;
	/* The io callbacks fill x->err themselves and their message is passed
	 * back in here: copying it onto itself would be undefined (glibc's
	 * snprintf empties it). */
	if (msg == x->err.msg)
		return;
	snprintf(x->err.msg, sizeof(x->err.msg), "%s",
		 msg ? msg : tftp_errcode_message(code));
}

/* Fail locally and tell the peer. */
static void fail_send(struct tftp_xfer *x, uint16_t code, const char *msg,
		      uint64_t now)
{
	set_err(x, code, msg);
	uint8_t buf[4 + sizeof(x->err.msg)];
	size_t len = tftp_build_error(buf, sizeof(buf), code, x->err.msg);
	if (len)
		send_pkt(x, buf, len);
	finish(x, TFTP_XS_FAILED, now);
}

/* ---- sender -------------------------------------------------------------- */

/* Octet: the block is read straight into the packet, by offset, so a lost
 * window is regenerated from the file rather than kept in memory. */
static long fill_octet(struct tftp_xfer *x, uint64_t block)
{
	uint64_t off = (block - 1u) * x->blksize;
	return x->io.read(x->io.ctx, off, x->pkt + TFTP_HDR_LEN, x->blksize,
			  &x->err);
}

/* Netascii: the encoded stream has no fixed mapping to file offsets, so the
 * file offset and encoder state at the start of each block of the window
 * are kept in a ring (window + 1 marks) to regenerate any of them. */
static long fill_netascii(struct tftp_xfer *x, uint64_t block)
{
	struct tftp_nascii_mark *m = &x->marks[block % x->nmarks];
	if (m->block != block) {
		set_err(x, TFTP_ERR_UNDEF, "netascii position lost");
		return -1;
	}
	uint64_t foff = m->file_off;
	struct tftp_nascii_enc enc = m->enc;
	uint8_t *out = x->pkt + TFTP_HDR_LEN;
	size_t len = 0;
	while (len < x->blksize) {
		/* Every input byte encodes to at least one output byte, so
		 * reading no more than the room left never wastes a read. */
		size_t room = x->blksize - len;
		long n = x->io.read(x->io.ctx, foff, x->scratch, room, &x->err);
		if (n < 0)
			return n; /* an error, or TFTP_IO_AGAIN: the block waits */
		size_t used = 0;
		len += tftp_nascii_encode(&enc, x->scratch, (size_t)n, &used,
					  out + len, room);
		foff += used;
		if (n == 0)
			break; /* end of file; a pending half pair went out above */
	}
	struct tftp_nascii_mark *nx = &x->marks[(block + 1u) % x->nmarks];
	nx->block = block + 1u;
	nx->file_off = foff;
	nx->enc = enc;
	return (long)len;
}

/* One DATA packet for block b; returns its data length, or -1 with x->err
 * filled. */
static long send_block(struct tftp_xfer *x, uint64_t b)
{
	tftp_build_data_header(x->pkt, x->pktcap, (uint16_t)b);
	if (x->cfg.mode == TFTP_MODE_OCTET && x->io.send_file) {
		/* The host sends the bytes from the file itself: no copy. */
		long n = x->io.send_file(x->io.ctx, x->pkt,
					 (b - 1u) * x->blksize, x->blksize,
					 &x->err);
		if (n >= 0)
			x->stats.packets_sent++;
		return n;
	}
	long n = x->cfg.mode == TFTP_MODE_NETASCII ? fill_netascii(x, b)
						   : fill_octet(x, b);
	if (n >= 0)
		send_pkt(x, x->pkt, TFTP_HDR_LEN + (size_t)n);
	return n;
}

/* Send blocks from next up to the window's end. Before the peer has
 * acknowledged anything only one packet may be outstanding, so a spoofed
 * request cannot make us blast a window at a victim. */
static void send_window(struct tftp_xfer *x, uint64_t now, int retx)
{
	uint64_t limit = x->acked_any && !x->collapsed ? x->window : 1u;
	uint64_t first_new = 0;
	x->starved = 0;
	while (x->next < x->base + limit && (!x->last || x->next <= x->last)) {
		uint64_t b = x->next;
		long n = send_block(x, b);
		if (n == TFTP_IO_AGAIN) {
			x->starved = 1; /* the rest waits for tftp_xfer_resume */
			break;
		}
		if (n < 0) {
			fail_send(x, x->err.code, x->err.msg, now);
			return;
		}
		if ((size_t)n < x->blksize)
			x->last = b;
		if (b <= x->hi_sent) {
			x->stats.retransmits++;
			retx = 1;
		} else {
			if (!first_new)
				first_new = b;
			x->hi_sent = b;
			x->stats.blocks++;
			x->stats.bytes += (uint64_t)n;
		}
		x->next++;
	}
	x->sample_from = first_new;
	if (x->starved && x->next == x->base) {
		/* Nothing in flight: the peer owes us nothing, so there is
		 * nothing to time out until the host has the data. */
		x->deadline = NO_DEADLINE;
		return;
	}
	arm(x, now, retx);
}

/* Block b once more (it was sent once, so its bytes are there: a source
 * that still says TFTP_IO_AGAIN has slipped, and the block waits). -1
 * if the transfer failed. */
static int resend_block(struct tftp_xfer *x, uint64_t b, uint64_t now)
{
	long r = send_block(x, b);
	if (r < 0 && r != TFTP_IO_AGAIN) {
		fail_send(x, x->err.code, x->err.msg, now);
		return -1;
	}
	x->stats.retransmits++;
	return 0;
}

/* After a timeout: the window shrinks to its first block until an ACK
 * comes (as TCP's after an RTO), so a peer that went silent is not sent
 * whole windows again and again. The newest block sent goes too: a
 * windowed receiver that holds the first block answers it at once (a gap
 * or a repeat), where the first block alone may just wait for the rest of
 * its window. */
static void resend_collapsed(struct tftp_xfer *x, uint64_t now)
{
	uint64_t blocks[2] = {x->base, x->hi_sent};
	size_t n = x->hi_sent > x->base ? 2u : 1u;
	x->collapsed = 1;
	for (size_t i = 0; i < n; i++)
		if (resend_block(x, blocks[i], now) < 0)
			return;
	x->next = x->base + 1u;
	x->sample_from = 0;
	arm(x, now, 1);
}

static void sender_start_data(struct tftp_xfer *x, uint64_t now)
{
	set_state(x, TFTP_XS_SENDING);
	x->base = x->next = 1;
	x->retries = 0;
	x->heard_at = now;
	send_window(x, now, 0);
}

/* Whether an ACK that leaves blocks in flight shows a hole. A receiver
 * ACKs at the end of each of its windows: some (ours, RFC 7440's) count
 * them again from where they last reported a hole, others (many
 * firmwares) from their first ACK for good. An ACK a whole number of
 * windows after either is a window's end: the window slides (going back
 * would resend blocks already on their way, and a receiver that ACKs
 * every repeated block would answer each with an ACK that looked like
 * the next hole). Any other points at a hole. */
static int shows_hole(const struct tftp_xfer *x, uint64_t n)
{
	return (n - x->phase_first) % x->window != 0 &&
	       (n - x->phase_hole) % x->window != 0;
}

/* Resend from the hole at base; a receiver that counts its windows
 * from its report of the hole now does so from base - 1. */
static void go_back(struct tftp_xfer *x, uint64_t now)
{
	x->phase_hole = x->base - 1u;
	x->hole = x->base;
	x->next = x->base;
	send_window(x, now, 1);
	x->resent_to = x->next - 1u;
	x->resent_at = now;
}

/* Whether an ACK for n is what a go-back's blocks draw when they arrive
 * twice: a receiver that ACKs every repeated block answers each one it
 * had with an ACK of the last block resent, within a round trip or two.
 * Taken for a hole just past them, it resent the next window at once,
 * and that window's repeats the one after, for the rest of the file. A
 * hole really there is left to the timer. */
static int echo_of_resend(const struct tftp_xfer *x, uint64_t n, uint64_t now)
{
	uint64_t echo = 2u * (uint64_t)x->srtt_ms + 1u;
	return x->resent_to && n == x->resent_to && now - x->resent_at <= echo;
}

/* A repeated ACK: in lockstep nothing (Sorcerer's Apprentice, RFC 1123
 * 4.2.3.1: only the timer resends); with blocks of a window in flight, a
 * receiver repeating itself sees blocks past a hole at base, which is
 * resent at once, once: every block past the hole draws another repeat
 * (if the resent block is lost too, the timer resends it). */
static void sender_dup_ack(struct tftp_xfer *x, uint64_t now)
{
	x->stats.duplicates++;
	if (x->window <= 1 || x->collapsed || x->next <= x->base ||
	    x->hole == x->base || echo_of_resend(x, x->base - 1u, now))
		return;
	go_back(x, now);
}

/* An ACK for block n acknowledges every block up to n (RFC 7440); the wire
 * number is mapped into the window in flight. */
static void sender_ack(struct tftp_xfer *x, uint16_t wire, uint64_t now)
{
	uint64_t acked = x->base - 1u;
	uint64_t n = acked + (uint16_t)(wire - (uint16_t)acked);
	/* hi_sent, not next: after a timeout collapsed the window, next is
	 * just past the one block resent, while the peer may hold more. */
	if (n > x->hi_sent)
		return; /* not sent yet: stale or bogus */
	if (n == acked) {
		sender_dup_ack(x, now);
		return;
	}
	/* Karn: a burst that repeated blocks gives no sample, unless this ACK
	 * covers a block the burst sent for the first time, which only that
	 * burst can have delivered. Without it, go-back-N under steady loss
	 * repeats blocks in every window and the backed-off timeout would
	 * never come down again. */
	if (x->sample_from && n >= x->sample_from)
		x->sent_retx = 0;
	x->sample_from = 0;
	if (x->sent_retx)
		unwind_backoff(x);
	rtt_sample(x, now);
	if (!x->acked_any)
		x->phase_first = x->phase_hole = n;
	x->acked_any = 1;
	heard(x, now);
	x->base = n + 1u;
	if (x->last && n >= x->last) {
		finish(x, TFTP_XS_DONE, now);
		return;
	}
	int collapsed = x->collapsed;
	x->collapsed = 0;
	if (x->next < x->base)
		x->next = x->base; /* the peer holds more than we resent */
	if (collapsed && x->next > x->base) {
		/* After a timeout the blocks past the one resent are not in
		 * flight any more (the peer was silent). */
		x->next = x->base;
		send_window(x, now, 1);
	} else if (x->next > x->base && n < x->hi_sent && shows_hole(x, n) &&
		   !echo_of_resend(x, n, now)) {
		go_back(x, now);
	} else {
		send_window(x, now, 0);
	}
}

/* ---- receiver ------------------------------------------------------------ */

/* Linger after the final ACK at least twice the peer's retransmit period
 * (a negotiated timeout), so its repeat of the last block, sent when our
 * final ACK was lost, still finds us. */
static uint64_t dally_ms(const struct tftp_xfer *x)
{
	uint64_t d = x->cfg.dally_ms;
	uint64_t peer = x->fixed_timeout ? 2u * (uint64_t)agreed_timeout_ms(&x->agreed)
					  : 0;
	return d > peer ? d : peer;
}

static int store(struct tftp_xfer *x, const uint8_t *data, size_t len,
		 uint64_t now)
{
	if (x->cfg.mode == TFTP_MODE_NETASCII) {
		len = tftp_nascii_decode(&x->dec, data, len, x->scratch);
		data = x->scratch;
	}
	if (len == 0)
		return 0;
	if (x->cfg.max_bytes && x->file_off + len > x->cfg.max_bytes) {
		fail_send(x, TFTP_ERR_NOSPACE, "File too large", now);
		return -1;
	}
	if (x->io.write(x->io.ctx, x->file_off, data, len, &x->err) < 0) {
		fail_send(x, x->err.code, x->err.msg, now);
		return -1;
	}
	x->file_off += len;
	return 0;
}

/* The end of the data: a netascii stream may end on a lone CR the
 * decoder held back, and the host may hold writes back. */
static int store_final(struct tftp_xfer *x, uint64_t now)
{
	size_t n = x->cfg.mode == TFTP_MODE_NETASCII
			   ? tftp_nascii_dec_finish(&x->dec, x->scratch)
			   : 0;
	/* The CR held back counts against the limit like any other byte. */
	if (n && x->cfg.max_bytes && x->file_off + n > x->cfg.max_bytes) {
		fail_send(x, TFTP_ERR_NOSPACE, "File too large", now);
		return -1;
	}
	if (n && x->io.write(x->io.ctx, x->file_off, x->scratch, n,
			     &x->err) < 0) {
		fail_send(x, x->err.code, x->err.msg, now);
		return -1;
	}
	x->file_off += n;
	int r = x->io.flush ? x->io.flush(x->io.ctx, &x->err) : 0;
	if (r == TFTP_IO_AGAIN) {
		/* The final ACK says the file is stored: it waits for the
		 * host, and so does the clock (tftp_xfer_flush_done). */
		x->flushing = 1;
		x->deadline = NO_DEADLINE;
		return 1;
	}
	if (r < 0) {
		fail_send(x, x->err.code, x->err.msg, now);
		return -1;
	}
	return 0;
}

/* The last block is stored: the final ACK, then the dally. */
static void receiver_final_ack(struct tftp_xfer *x, uint64_t now)
{
	send_ack(x, x->expected - 1u);
	x->stats.end_ms = now;
	if (x->cfg.dally_ms) {
		set_state(x, TFTP_XS_DALLY);
		x->deadline = now + dally_ms(x);
	} else {
		finish(x, TFTP_XS_DONE, now);
	}
}

static void receiver_in_order(struct tftp_xfer *x, const uint8_t *data,
			      size_t len, uint64_t now)
{
	if (x->sent_retx)
		unwind_backoff(x);
	rtt_sample(x, now);
	if (store(x, data, len, now) < 0)
		return;
	x->stats.blocks++;
	x->stats.bytes += len;
	x->expected++;
	x->since_ack++;
	x->gap_acked = 0;
	x->dup_acked = 0;
	heard(x, now);
	if (len < x->blksize) {
		if (store_final(x, now) == 0)
			receiver_final_ack(x, now);
		return;
	}
	if (x->since_ack >= x->window) {
		x->since_ack = 0;
		send_ack(x, x->expected - 1u);
		arm(x, now, 0);
	} else {
		set_deadline(x, now, wait_ms(x));
	}
}

static void receiver_data(struct tftp_xfer *x, uint16_t wire,
			  const uint8_t *data, size_t len, uint64_t now)
{
	if (len > x->blksize) {
		fail_send(x, TFTP_ERR_BADOP, "DATA larger than the block size", now);
		return;
	}
	if (x->flushing)
		return; /* all in; the final ACK waits for the host */
	uint16_t delta = (uint16_t)(wire - (uint16_t)x->expected);
	if (delta == 0) {
		receiver_in_order(x, data, len, now);
	} else if (delta <= x->window) {
		/* A gap: something before this block was lost. ACK what we
		 * have, so the sender restarts there (RFC 7440). */
		if (x->gap_acked < 2) {
			/* Twice: a sender takes a repeated ACK for a loss, a
			 * single one may be its window's end. */
			x->gap_acked++;
			x->since_ack = 0;
			send_ack(x, x->expected - 1u);
			x->stats.retransmits++;
		}
	} else if (delta >= 0x8000u) {
		/* Already written. Re-ACK the last block of the previous window
		 * (its ACK was lost) and the first repeat after progress. */
		x->stats.duplicates++;
		if (delta == 0xffffu || !x->dup_acked) {
			x->dup_acked = 1;
			send_ack(x, x->expected - 1u);
		}
	}
}

/* ---- first replies ------------------------------------------------------- */

static void client_oack(struct tftp_xfer *x, const struct tftp_packet *p,
			uint64_t now)
{
	struct tftp_opts agreed;
	char why[96];
	if (tftp_opts_validate_oack(&x->cfg.opts, p, &agreed, why,
				    sizeof(why)) < 0) {
		fail_send(x, TFTP_ERR_OPTNEG, why, now);
		return;
	}
	if (apply_opts(x, &agreed) < 0) {
		fail_send(x, TFTP_ERR_UNDEF, "Out of memory", now);
		return;
	}
	rtt_sample(x, now);
	heard(x, now);
	if (x->cfg.role == TFTP_ROLE_SENDER) {
		x->acked_any = 1; /* the server answered us: no guard needed */
		sender_start_data(x, now);
		return;
	}
	set_state(x, TFTP_XS_RECEIVING);
	x->expected = 1;
	send_ack(x, 0);
	arm(x, now, 0);
}

/* The server answered without OACK: plain RFC 1350 parameters. */
static int client_plain(struct tftp_xfer *x, uint64_t now)
{
	if (apply_opts(x, NULL) < 0) {
		fail_send(x, TFTP_ERR_UNDEF, "Out of memory", now);
		return -1;
	}
	rtt_sample(x, now);
	heard(x, now);
	return 0;
}

static void on_request_reply(struct tftp_xfer *x, const struct tftp_packet *p,
			     uint64_t now)
{
	if (p->op == TFTP_OP_OACK) {
		client_oack(x, p, now);
	} else if (p->op == TFTP_OP_DATA && x->cfg.role == TFTP_ROLE_RECEIVER &&
		   p->block == 1) {
		if (client_plain(x, now) < 0)
			return;
		set_state(x, TFTP_XS_RECEIVING);
		x->expected = 1;
		receiver_data(x, p->block, p->data, p->datalen, now);
	} else if (p->op == TFTP_OP_ACK && x->cfg.role == TFTP_ROLE_SENDER &&
		   p->block == 0) {
		if (client_plain(x, now) < 0)
			return;
		x->acked_any = 1;
		sender_start_data(x, now);
	}
}

static void on_oack_sent_reply(struct tftp_xfer *x, const struct tftp_packet *p,
			       uint64_t now)
{
	if (x->cfg.role == TFTP_ROLE_SENDER) {
		if (p->op == TFTP_OP_ACK && p->block == 0) {
			rtt_sample(x, now);
			heard(x, now);
			x->acked_any = 1;
			sender_start_data(x, now);
		}
		return;
	}
	if (p->op == TFTP_OP_DATA) {
		set_state(x, TFTP_XS_RECEIVING);
		x->expected = 1;
		receiver_data(x, p->block, p->data, p->datalen, now);
	}
}

/* ---- public API -------------------------------------------------------- */

int tftp_xfer_init(struct tftp_xfer *x, const struct tftp_xfer_config *cfg,
		   const struct tftp_xfer_io *io)
{
	memset(x, 0, sizeof(*x));
	x->cfg = *cfg;
	x->io = *io;
	if (!io->send || (cfg->role == TFTP_ROLE_SENDER && !io->read) ||
	    (cfg->role == TFTP_ROLE_RECEIVER && !io->write))
		return -1;
	if (cfg->mode != TFTP_MODE_OCTET && cfg->mode != TFTP_MODE_NETASCII)
		return -1;
	if (!x->cfg.timeout_ms)
		x->cfg.timeout_ms = 1000;
	if (!x->cfg.rto_min_ms)
		x->cfg.rto_min_ms = 10;
	if (x->cfg.rto_min_ms > x->cfg.timeout_ms)
		x->cfg.rto_min_ms = x->cfg.timeout_ms;
	if (!x->cfg.max_retries)
		x->cfg.max_retries = 5;
	x->rto_ms = x->cfg.timeout_ms;
	x->deadline = NO_DEADLINE;
	x->cfg.filename = NULL;
	tftp_nascii_dec_init(&x->dec);
	if (cfg->is_client) {
		if (!cfg->filename || !*cfg->filename)
			return -1;
		x->filename = strdup(cfg->filename);
		size_t need = strlen(cfg->filename) + 160u;
		if (!x->filename ||
		    grow(&x->pkt, &x->pktcap, need > 516u ? need : 516u) < 0) {
			tftp_xfer_free(x);
			return -1;
		}
		/* Plain parameters until the server agrees to options. */
		if (apply_opts(x, NULL) < 0) {
			tftp_xfer_free(x);
			return -1;
		}
		return 0;
	}
	if (apply_opts(x, &cfg->opts) < 0) {
		tftp_xfer_free(x);
		return -1;
	}
	return 0;
}

void tftp_xfer_free(struct tftp_xfer *x)
{
	free(x->filename);
	free(x->pkt);
	free(x->marks);
	free(x->scratch);
	x->filename = NULL;
	x->pkt = NULL;
	x->marks = NULL;
	x->scratch = NULL;
	x->pktcap = 0;
}

static void client_start(struct tftp_xfer *x, uint64_t now)
{
	enum tftp_opcode op = x->cfg.role == TFTP_ROLE_RECEIVER ? TFTP_OP_RRQ
								: TFTP_OP_WRQ;
	size_t len = tftp_build_request(x->pkt, x->pktcap, op, x->filename,
					tftp_mode_name(x->cfg.mode));
	if (len && x->cfg.opts.present)
		len = tftp_opts_append(x->pkt, x->pktcap, len, &x->cfg.opts);
	if (!len) {
		set_err(x, TFTP_ERR_UNDEF, "Request too long");
		finish(x, TFTP_XS_FAILED, now);
		return;
	}
	set_state(x, TFTP_XS_REQUEST);
	send_ctl(x, len);
	arm(x, now, 0);
}

static void server_start(struct tftp_xfer *x, uint64_t now)
{
	if (x->agreed.present) {
		size_t len = tftp_build_oack(x->pkt, x->pktcap);
		len = tftp_opts_append(x->pkt, x->pktcap, len, &x->agreed);
		if (!len) {
			fail_send(x, TFTP_ERR_UNDEF, "OACK too long", now);
			return;
		}
		set_state(x, TFTP_XS_OACK_SENT);
		send_ctl(x, len);
		arm(x, now, 0);
	} else if (x->cfg.role == TFTP_ROLE_SENDER) {
		sender_start_data(x, now);
	} else {
		set_state(x, TFTP_XS_RECEIVING);
		x->expected = 1;
		send_ack(x, 0);
		arm(x, now, 0);
	}
}

void tftp_xfer_start(struct tftp_xfer *x, uint64_t now_ms)
{
	if (x->state != TFTP_XS_INIT)
		return;
	x->stats.start_ms = now_ms;
	x->heard_at = now_ms;
	if (x->cfg.is_client)
		client_start(x, now_ms);
	else
		server_start(x, now_ms);
}

static void on_peer_error(struct tftp_xfer *x, const struct tftp_packet *p,
			  uint64_t now)
{
	x->err.code = p->errcode;
	size_t n = p->errmsg.len < sizeof(x->err.msg) - 1u
			   ? p->errmsg.len
			   : sizeof(x->err.msg) - 1u;
	/* The message is the peer's text: keep it printable for logs. */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p->errmsg.ptr[i];
		x->err.msg[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	x->err.msg[n] = '\0';
	x->err_from_peer = 1;
	x->err_on_request = x->state == TFTP_XS_REQUEST;
	x->end = TFTP_END_PEER_ERROR;
	finish(x, TFTP_XS_FAILED, now);
}

void tftp_xfer_input(struct tftp_xfer *x, const uint8_t *pkt, size_t len,
		     uint64_t now_ms)
{
	struct tftp_packet p;
	if (tftp_xfer_finished(x) || x->state == TFTP_XS_INIT)
		return;
	if (tftp_packet_parse(pkt, len, &p) != TFTP_PARSE_OK)
		return; /* malformed: dropped, the timer covers a real loss */
	if (p.op == TFTP_OP_ERROR) {
		if (x->state == TFTP_XS_DALLY) {
			/* Everything is written; a late ERROR changes nothing. */
			finish(x, TFTP_XS_DONE, now_ms);
			return;
		}
		on_peer_error(x, &p, now_ms);
		return;
	}
	switch (x->state) {
	case TFTP_XS_REQUEST:
		on_request_reply(x, &p, now_ms);
		break;
	case TFTP_XS_OACK_SENT:
		on_oack_sent_reply(x, &p, now_ms);
		break;
	case TFTP_XS_SENDING:
		if (p.op == TFTP_OP_ACK)
			sender_ack(x, p.block, now_ms);
		break;
	case TFTP_XS_RECEIVING:
		if (p.op == TFTP_OP_DATA)
			receiver_data(x, p.block, p.data, p.datalen, now_ms);
		else if (p.op == TFTP_OP_OACK && x->cfg.is_client &&
			 x->expected == 1u)
			send_ack(x, 0); /* our ACK of the OACK was lost */
		break;
	case TFTP_XS_DALLY:
		/* The final ACK was lost if the last block comes again. That
		 * ACK may be lost too: linger a full dally again, as many
		 * times as a timeout may be retried, so a peer that keeps
		 * repeating cannot hold the transfer open for ever. */
		if (p.op == TFTP_OP_DATA &&
		    p.block == (uint16_t)(x->expected - 1u)) {
			x->stats.duplicates++;
			send_ack(x, x->expected - 1u);
			if (x->retries++ < x->cfg.max_retries)
				x->deadline = now_ms + dally_ms(x);
		}
		break;
	default:
		break;
	}
}

void tftp_xfer_tick(struct tftp_xfer *x, uint64_t now_ms)
{
	if (tftp_xfer_finished(x) || now_ms < x->deadline)
		return;
	if (x->state == TFTP_XS_DALLY) {
		finish(x, TFTP_XS_DONE, x->stats.end_ms);
		return;
	}
	if (x->probe_due && x->state == TFTP_XS_SENDING) {
		x->probe_due = 0;
		x->deadline = x->rto_deadline;
		if (now_ms >= x->deadline) {
			tftp_xfer_tick(x, now_ms); /* late: the timeout's turn */
			return;
		}
		(void)resend_block(x, x->next - 1u, now_ms);
		return;
	}
	if (now_ms - x->heard_at >= tftp_xfer_give_up_ms(x)) {
		x->end = TFTP_END_TIMED_OUT;
		set_err(x, TFTP_ERR_UNDEF, "Timed out");
		finish(x, TFTP_XS_FAILED, now_ms);
		return;
	}
	x->retries++;
	backoff(x);
	if (x->state == TFTP_XS_SENDING) {
		resend_collapsed(x, now_ms);
		return;
	}
	x->stats.retransmits++;
	if (x->state == TFTP_XS_RECEIVING) {
		x->since_ack = 0;
		send_ack(x, x->expected - 1u);
	} else { /* REQUEST, OACK_SENT: repeat the last control packet */
		send_pkt(x, x->pkt, x->last_len);
	}
	arm(x, now_ms, 1);
}

void tftp_xfer_resume(struct tftp_xfer *x, uint64_t now_ms)
{
	if (x->state != TFTP_XS_SENDING || !x->starved)
		return;
	/* With nothing in flight the peer was waiting for us, not silent:
	 * its silence clock starts now. */
	if (x->next == x->base)
		x->heard_at = now_ms;
	send_window(x, now_ms, 0);
}

void tftp_xfer_flush_done(struct tftp_xfer *x, int ok,
			  const struct tftp_err *err, uint64_t now_ms)
{
	if (x->state != TFTP_XS_RECEIVING || !x->flushing)
		return;
	x->flushing = 0;
	x->heard_at = now_ms;
	if (ok) {
		receiver_final_ack(x, now_ms);
		return;
	}
	x->err = *err;
	fail_send(x, err->code, x->err.msg, now_ms);
}

int tftp_xfer_waiting(const struct tftp_xfer *x)
{
	if (tftp_xfer_finished(x))
		return 0;
	return x->flushing ||
	       (x->state == TFTP_XS_SENDING && x->starved && x->next == x->base);
}

void tftp_xfer_abort(struct tftp_xfer *x, uint16_t code, const char *msg,
		     uint64_t now_ms)
{
	if (tftp_xfer_finished(x))
		return;
	if (x->state == TFTP_XS_DALLY) {
		finish(x, TFTP_XS_DONE, x->stats.end_ms);
		return;
	}
	x->end = TFTP_END_ABORTED;
	fail_send(x, code, msg, now_ms);
}

int tftp_xfer_peer_answered(const struct tftp_xfer *x)
{
	return x->answered;
}

int tftp_xfer_timed_out(const struct tftp_xfer *x)
{
	return x->end == TFTP_END_TIMED_OUT;
}

enum tftp_xfer_end tftp_xfer_end_reason(const struct tftp_xfer *x)
{
	return x->end;
}

const char *tftp_xfer_end_name(enum tftp_xfer_end e)
{
	switch (e) {
	case TFTP_END_NONE:
		return "running";
	case TFTP_END_DONE:
		return "ok";
	case TFTP_END_TIMED_OUT:
		return "timed out";
	case TFTP_END_PEER_ERROR:
		return "peer error";
	case TFTP_END_LOCAL_ERROR:
		return "error";
	case TFTP_END_ABORTED:
		return "aborted";
	}
	return "?";
}

const struct tftp_err *tftp_xfer_error(const struct tftp_xfer *x)
{
	return &x->err;
}

int tftp_xfer_refused_request(const struct tftp_xfer *x)
{
	return x->end == TFTP_END_PEER_ERROR && x->err_on_request;
}

const struct tftp_opts *tftp_xfer_agreed(const struct tftp_xfer *x)
{
	return &x->agreed;
}

const struct tftp_opts *tftp_xfer_requested(const struct tftp_xfer *x)
{
	return &x->cfg.opts;
}

uint32_t tftp_xfer_blksize(const struct tftp_xfer *x)
{
	return x->blksize;
}

uint32_t tftp_xfer_window(const struct tftp_xfer *x)
{
	return x->window;
}

enum tftp_mode tftp_xfer_mode(const struct tftp_xfer *x)
{
	return x->cfg.mode;
}

const struct tftp_xfer_stats *tftp_xfer_stats(const struct tftp_xfer *x)
{
	return &x->stats;
}

int tftp_xfer_awaiting_reply(const struct tftp_xfer *x)
{
	return x->state == TFTP_XS_REQUEST;
}

int tftp_xfer_dallying(const struct tftp_xfer *x)
{
	return x->state == TFTP_XS_DALLY;
}

uint64_t tftp_xfer_deadline(const struct tftp_xfer *x)
{
	return tftp_xfer_finished(x) ? NO_DEADLINE : x->deadline;
}

int tftp_xfer_finished(const struct tftp_xfer *x)
{
	return x->state == TFTP_XS_DONE || x->state == TFTP_XS_FAILED;
}

int tftp_xfer_data_complete(const struct tftp_xfer *x)
{
	return x->cfg.role == TFTP_ROLE_RECEIVER &&
	       (x->state == TFTP_XS_DALLY || x->state == TFTP_XS_DONE);
}

int tftp_xfer_tsize(const struct tftp_xfer *x, uint64_t *size)
{
	if (x->agreed.present & TFTP_OPT_TSIZE) {
		*size = x->agreed.tsize;
		return 0;
	}
	if (x->cfg.opts.present & TFTP_OPT_TSIZE && x->cfg.role == TFTP_ROLE_SENDER) {
		*size = x->cfg.opts.tsize;
		return 0;
	}
	return -1;
}
