/* The transfer engine: one TFTP transfer as a state machine with no I/O.
 *
 * The host feeds it packets that came from the peer's TID and timer ticks
 * with the current monotonic time; the engine answers through callbacks:
 * packets to send, file bytes to read or write at absolute offsets. Between
 * calls the host asks for the next deadline and the status.
 *
 * Roles:
 *   sender   = server RRQ, client put
 *   receiver = server WRQ, client get
 * The client side also sends the request and handles the first reply (OACK,
 * DATA 1, ACK 0 or ERROR); the server side starts with OACK, DATA 1 or ACK 0.
 *
 * Block numbers are 64-bit inside and their low 16 bits on the wire, so any
 * file size works (the wire number wraps 65535 -> 0).
 */
#ifndef TFTP_XFER_H
#define TFTP_XFER_H

#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "netascii.h"
#include "options.h"
#include "packet.h"

enum tftp_role {
	TFTP_ROLE_SENDER,
	TFTP_ROLE_RECEIVER,
};

enum tftp_xfer_state {
	TFTP_XS_INIT = 0,     /* configured, nothing sent */
	TFTP_XS_REQUEST,      /* client: RRQ/WRQ sent, waiting for the first reply */
	TFTP_XS_OACK_SENT,    /* server: OACK sent, waiting for ACK 0 / DATA 1 */
	TFTP_XS_SENDING,      /* sender: window(s) in flight */
	TFTP_XS_RECEIVING,    /* receiver: ACKed up to some block, waiting for DATA */
	TFTP_XS_DALLY,        /* receiver: all data in, re-ACK a repeated last block */
	TFTP_XS_DONE,         /* finished successfully */
	TFTP_XS_FAILED,       /* finished with an error (see err) */
};
const char *tftp_xfer_state_name(enum tftp_xfer_state s);

/* Why a transfer ended: hosts log, count and choose exit codes by this,
 * never by the error text. */
enum tftp_xfer_end {
	TFTP_END_NONE = 0,    /* still running */
	TFTP_END_DONE,        /* every byte sent and acknowledged, or received */
	TFTP_END_TIMED_OUT,   /* the peer was silent for the give-up time */
	TFTP_END_PEER_ERROR,  /* the peer sent an ERROR (tftp_xfer_error) */
	TFTP_END_LOCAL_ERROR, /* we sent an ERROR: a callback failed, a limit
	                       * was hit, or the peer broke the protocol */
	TFTP_END_ABORTED,     /* the host called tftp_xfer_abort */
};
const char *tftp_xfer_end_name(enum tftp_xfer_end e);

/* An error the engine reports, or that a callback returns. */
struct tftp_err {
	uint16_t code;       /* enum tftp_errcode */
	char msg[128];
	/* Hosts only, never sent: why, for the log, when msg is the RFC's
	 * terse text ("Access violation" for an unreadable file, a ".."
	 * and an unwritable directory alike). A static string or NULL. */
	const char *why;
};

/* A read or flush callback that cannot answer yet (the bytes are still on
 * their way from an HTTP origin, an upload is being stored): the engine
 * waits, with no timer of its own, until the host calls
 * tftp_xfer_resume or tftp_xfer_flush_done. */
#define TFTP_IO_AGAIN (-2)

struct tftp_xfer_io {
	void *ctx;
	/* Send one datagram to the peer. A failure is treated like a loss. */
	int (*send)(void *ctx, const uint8_t *pkt, size_t len);
	/* Sender: read up to len bytes at file offset off into buf. Returns the
	 * count (less than len only at end of file), -1 with *err filled, or
	 * TFTP_IO_AGAIN: not yet (then tftp_xfer_resume when it can). */
	long (*read)(void *ctx, uint64_t off, uint8_t *buf, size_t len,
		     struct tftp_err *err);
	/* Receiver: write len bytes at file offset off; called in order, each
	 * byte once. Returns 0, or -1 with *err filled (e.g. code 3 disk full). */
	int (*write)(void *ctx, uint64_t off, const uint8_t *buf, size_t len,
		     struct tftp_err *err);
	/* Optional, receiver: the last block is in and written, its ACK is
	 * about to leave: write out anything held back. Returns 0, or -1
	 * with *err filled (the ERROR then goes instead of the ACK), or
	 * TFTP_IO_AGAIN: the final ACK waits for tftp_xfer_flush_done. */
	int (*flush)(void *ctx, struct tftp_err *err);
	/* Optional, octet sender: send one DATA packet made of the 4-byte
	 * header hdr and the file's bytes at off (up to len) straight from the
	 * file (e.g. sendfile), in place of read + send, so the bytes need not
	 * pass through the engine's buffer. Returns the number of file bytes
	 * in the packet (less than len only at end of file) or -1 with *err
	 * filled. A send that fails is a loss, not an error: return the count
	 * as if it had gone. NULL: read and send are used. */
	long (*send_file)(void *ctx, const uint8_t *hdr, uint64_t off,
			  size_t len, struct tftp_err *err);
};

struct tftp_xfer_config {
	enum tftp_role role;
	int is_client;
	enum tftp_mode mode;
	/* Client: the request's file name (copied). */
	const char *filename;
	/* Server: the accepted options (an OACK is sent iff present != 0).
	 * Client: the options to request (tsize for a put must hold the size). */
	struct tftp_opts opts;
	/* Retransmission. Without a negotiated timeout option the engine adapts
	 * its retransmit timeout to the measured round trip, between rto_min_ms
	 * and timeout_ms; each timeout doubles it (up to timeout_ms). With the
	 * option, the timeout is exactly the negotiated one (RFC 2349). */
	uint32_t timeout_ms;   /* default 1000 */
	uint32_t rto_min_ms;   /* default 10; = timeout_ms disables adaptation */
	/* Give-up rule, in time: the transfer fails after timeout x max_retries
	 * of silence (no valid packet from the peer), the timeout being the
	 * negotiated one if any, else timeout_ms: never after a count of fast
	 * adaptive retransmissions (a client pausing for seconds to write
	 * flash must survive an RTO of 10 ms). Default 5. */
	uint32_t max_retries;
	/* Receiver: how long to linger after the final ACK, re-ACKing a repeated
	 * last block; never less than twice a negotiated timeout (the peer's
	 * retransmit period). 0 = finish at once. */
	uint32_t dally_ms;
	/* Receiver: refuse with ERROR 3 past this many file bytes (0 = none). */
	uint64_t max_bytes;
	const struct tftp_log *log; /* may be NULL */
};

struct tftp_xfer_stats {
	uint64_t bytes;        /* file bytes read or written */
	uint64_t blocks;       /* distinct DATA blocks sent or received */
	uint64_t packets_sent;
	uint64_t retransmits;  /* packets sent again after a timeout or gap */
	uint64_t duplicates;   /* DATA or ACK received again */
	uint64_t start_ms, end_ms;
};

/* Netascii sender: where each block of the window starts in the file, so a
 * window can be regenerated after a loss without keeping its bytes. */
struct tftp_nascii_mark {
	uint64_t block;
	uint64_t file_off;
	struct tftp_nascii_enc enc;
};

struct tftp_xfer {
	struct tftp_xfer_config cfg;
	struct tftp_xfer_io io;
	enum tftp_xfer_state state;
	char *filename;

	/* Effective parameters (after negotiation). */
	uint32_t blksize;
	uint32_t window;
	struct tftp_opts agreed;    /* options in force (client: from OACK) */
	int fixed_timeout;          /* timeout option in force: no adaptation */

	/* Sender: blocks [base, next) are in flight; base-1 is acknowledged.
	 * last is the final block number once known (0: not yet). */
	uint64_t base, next, last;
	/* Receiver: the next block wanted; blocks < expected are written. */
	uint64_t expected;
	uint32_t since_ack;         /* in-order blocks since the last ACK sent */
	int gap_acked;              /* gap ACKs sent since the last progress (2 at most) */
	int dup_acked;              /* a duplicate was re-ACKed since progress */
	uint64_t file_off;          /* receiver: next write offset */
	int final_seen;

	/* Timers (monotonic ms). */
	uint64_t deadline;          /* UINT64_MAX: none */
	uint64_t sent_at;           /* when the packet(s) now awaited went out */
	int sent_retx;              /* ... and whether that was a retransmission */
	uint32_t rto_ms;            /* current retransmit timeout */
	uint32_t srtt_ms, rttvar_ms; /* RFC 6298 round-trip estimator */
	int have_rtt;
	uint32_t retries;           /* consecutive timeouts without progress */
	uint64_t heard_at;          /* last valid packet from the peer (or start) */
	int answered;               /* a valid packet from the peer came */
	int collapsed;              /* sender: a timeout shrank the window to 1
	                             * block until the next ACK (as TCP after an
	                             * RTO): a silent peer gets no more windows */
	enum tftp_xfer_end end;     /* why it finished (NONE while running) */
	int acked_any;              /* sender: the peer has acknowledged something */
	uint64_t hi_sent;           /* sender: highest block sent so far */
	uint64_t hole;              /* sender: the last go-back's first block; */
	uint64_t resent_to;         /* it resent up to here, */
	uint64_t resent_at;         /* at this time */
	int probe_due;              /* sender: deadline is a tail loss probe's; */
	uint64_t rto_deadline;      /* the retransmit timeout's, after it */
	uint64_t phase_first;       /* sender: the peer's first ACK, and the */
	uint64_t phase_hole;        /* last before a hole: its windows' ends */
	uint64_t sample_from;       /* sender: first block the last burst sent for
	                             * the first time (0: none); an ACK at or past
	                             * it times that burst unambiguously (Karn) */

	/* One packet buffer, blksize + 4 (grown on negotiation). */
	uint8_t *pkt;
	size_t pktcap;
	size_t last_len;            /* receiver/control: last packet, for resend */

	/* netascii */
	struct tftp_nascii_dec dec;
	struct tftp_nascii_mark *marks; /* ring of window + 1 */
	size_t nmarks;
	uint8_t *scratch;           /* blksize (+1) bytes */

	/* Sender: a read said TFTP_IO_AGAIN; the block at next waits for
	 * tftp_xfer_resume. Receiver: the flush did, and the final ACK waits
	 * for tftp_xfer_flush_done. */
	int starved;
	int flushing;

	struct tftp_err err;
	int err_from_peer;          /* the peer sent the ERROR */
	int err_on_request;         /* client: ERROR answered the request itself */
	struct tftp_xfer_stats stats;
};

/* Set up; returns 0, or -1 (out of memory or an invalid config). */
int tftp_xfer_init(struct tftp_xfer *x, const struct tftp_xfer_config *cfg,
		   const struct tftp_xfer_io *io);
void tftp_xfer_free(struct tftp_xfer *x);

/* Send the first packet: the client's request, or the server's OACK, DATA 1
 * (read) or ACK 0 (write). */
void tftp_xfer_start(struct tftp_xfer *x, uint64_t now_ms);
/* A datagram from the peer's TID. */
void tftp_xfer_input(struct tftp_xfer *x, const uint8_t *pkt, size_t len,
		     uint64_t now_ms);
/* Call when now_ms >= tftp_xfer_deadline(x). */
void tftp_xfer_tick(struct tftp_xfer *x, uint64_t now_ms);
/* Abort from the host (shutdown, interrupt, local policy): sends ERROR code
 * with msg (NULL: default) to the peer and fails. */
void tftp_xfer_abort(struct tftp_xfer *x, uint16_t code, const char *msg,
		     uint64_t now_ms);

/* The host's data is ready after a read said TFTP_IO_AGAIN: send on. */
void tftp_xfer_resume(struct tftp_xfer *x, uint64_t now_ms);
/* The flush that said TFTP_IO_AGAIN is done: ok sends the final ACK, else
 * *err goes to the peer instead. */
void tftp_xfer_flush_done(struct tftp_xfer *x, int ok,
			  const struct tftp_err *err, uint64_t now_ms);
/* Waiting for the host (TFTP_IO_AGAIN) with nothing of its own in flight:
 * no deadline; the host's resume or flush_done is what comes next. */
int tftp_xfer_waiting(const struct tftp_xfer *x);

/* The peer has answered our first packet (ACK of the OACK or of DATA 1,
 * or its first DATA): until then a session may be a probe it gave up. */
int tftp_xfer_peer_answered(const struct tftp_xfer *x);

/* ---- accessors: hosts read these, never the struct's fields ---- */
/* Why it ended; TFTP_END_NONE while running. */
enum tftp_xfer_end tftp_xfer_end_reason(const struct tftp_xfer *x);
/* FAILED because the peer was silent too long (not an ERROR). */
int tftp_xfer_timed_out(const struct tftp_xfer *x);
/* The error it ended with (code 0 and "" if none): the peer's for
 * PEER_ERROR (its text made printable), else the one we sent. */
const struct tftp_err *tftp_xfer_error(const struct tftp_xfer *x);
/* Client: the peer's ERROR answered the request itself (no transfer ever
 * began), e.g. a server that refuses options. */
int tftp_xfer_refused_request(const struct tftp_xfer *x);
/* The options in force: the server's accepted ones, the client's from the
 * OACK (present == 0: none, RFC 1350 defaults). */
const struct tftp_opts *tftp_xfer_agreed(const struct tftp_xfer *x);
/* The options a client asked for (its configuration). */
const struct tftp_opts *tftp_xfer_requested(const struct tftp_xfer *x);
uint32_t tftp_xfer_blksize(const struct tftp_xfer *x);
uint32_t tftp_xfer_window(const struct tftp_xfer *x);
enum tftp_mode tftp_xfer_mode(const struct tftp_xfer *x);
const struct tftp_xfer_stats *tftp_xfer_stats(const struct tftp_xfer *x);
/* Client: still waiting for the first reply to its request. */
int tftp_xfer_awaiting_reply(const struct tftp_xfer *x);
/* Receiver: every byte is in and acknowledged, only lingering to repeat
 * the final ACK (a new request from the client may end it). */
int tftp_xfer_dallying(const struct tftp_xfer *x);
/* How long the peer may stay silent before the transfer is given up, ms. */
uint64_t tftp_xfer_give_up_ms(const struct tftp_xfer *x);
/* Next time tftp_xfer_tick wants to run; UINT64_MAX when nothing is due. */
uint64_t tftp_xfer_deadline(const struct tftp_xfer *x);
/* DONE or FAILED: nothing more will be sent; the host may free it. */
int tftp_xfer_finished(const struct tftp_xfer *x);
/* Receiver: every byte is written (DALLY or DONE): commit the file now. */
int tftp_xfer_data_complete(const struct tftp_xfer *x);
/* The transfer size, if known: the tsize from an OACK (client get) or the
 * configured one. Returns 0 and sets *size, or -1. */
int tftp_xfer_tsize(const struct tftp_xfer *x, uint64_t *size);

#endif
