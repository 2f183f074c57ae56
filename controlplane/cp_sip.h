/* SPDX-License-Identifier: BSD-3-Clause
 * SIP layer face: transports (UDP/TCP/TLS on kernel sockets), libosip2
 * transactions and INVITE dialogs, driven from the control-plane thread.
 * The application (the SIPREC session layer) sees requests through
 * struct cp_sip_app and answers INVITEs asynchronously. */
#ifndef RTPREC_CP_SIP_H
#define RTPREC_CP_SIP_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "config/cfg.h"

struct cp_sip;
struct cp_sip_dialog;   /* one per INVITE dialog (early or confirmed) */
struct cp_sip_pending;  /* an INVITE / re-INVITE / UPDATE waiting for the app's answer */

/* An incoming request as the application sees it. Strings are NUL-terminated
 * and valid only during the callback. */
struct cp_sip_request {
	const char *method;       /* "INVITE", "UPDATE", ... */
	const char *call_id;
	const char *from;         /* From header value as received */
	const char *to;           /* To header value as received */
	const char *from_tag;
	const char *require;      /* Require values joined by ", ", or NULL */
	const char *supported;    /* Supported values joined by ", ", or NULL */
	const char *session_expires; /* Session-Expires (or x) value (RFC 4028), or NULL */
	const char *min_se;       /* Min-SE value, or NULL */
	const char *contact;      /* first Contact header value as received, or NULL */
	const char *accept;       /* Accept media ranges joined by ", ", or NULL */
	const char *content_type; /* full Content-Type value incl. parameters, or NULL */
	const char *body;         /* raw body, or NULL */
	size_t body_len;
	const char *src_ip;       /* transport source address ("a.b.c.d") */
	uint16_t src_port;
	const char *transport;    /* "UDP", "TCP" or "TLS" */
	struct cp_sip_dialog *dialog; /* NULL out of dialog */
};

/* The application's final answer. */
struct cp_sip_response {
	int status;                 /* 200, 488, ... */
	const char *reason;         /* NULL: the standard phrase */
	const char *warning;        /* full Warning value, e.g. 399 host "why", or NULL */
	const char *unsupported;    /* Unsupported value (with 420), or NULL */
	unsigned retry_after;       /* Retry-After seconds (with 503), 0 = none */
	const char *content_type;   /* body type, or NULL for no body */
	const char *body;
	size_t body_len;
	const char *contact_params; /* appended to our Contact, e.g. ";+sip.srs" */
	const char *session_expires; /* Session-Expires value (RFC 4028), or NULL */
	const char *min_se;         /* Min-SE value (with 422), or NULL */
	const char *require;        /* Require value (e.g. "timer"), or NULL */
};

struct cp_sip_app {
	void *ctx;
	/* A new INVITE (req->dialog == NULL), a re-INVITE or an UPDATE (dialog
	 * set). The SIP layer has sent 100 Trying. The app answers now or later
	 * with cp_sip_answer(p, ...); p stays valid until answered or cancelled. */
	void (*on_invite)(void *ctx, const struct cp_sip_request *req, struct cp_sip_pending *p);
	/* CANCEL of a pending new INVITE: the SIP layer answers 487 itself; p is
	 * gone after the call. */
	void (*on_cancel)(void *ctx, struct cp_sip_pending *p);
	/* CANCEL of a pending re-INVITE (RFC 3261 9.2): the SIP layer answers 487 itself,
	 * the dialog stays up with the offer/answer from before the re-INVITE standing: the
	 * app goes back to it. p is gone after the call. May be NULL: then p stays until
	 * the app answers it, and that answer is dropped (-ECANCELED). */
	void (*on_reinvite_cancel)(void *ctx, struct cp_sip_pending *p);
	/* ACK for a 2xx: the dialog is confirmed. */
	void (*on_ack)(void *ctx, struct cp_sip_dialog *d);
	/* BYE from the peer (answered 200 by the SIP layer); d is gone after. */
	void (*on_bye)(void *ctx, struct cp_sip_dialog *d);
	/* The dialog ended otherwise (no ACK in time, BYE we sent answered or
	 * timed out, transport gone); d is gone after the call. */
	void (*on_dialog_end)(void *ctx, struct cp_sip_dialog *d, const char *why);
	/* Is the app refusing new calls (drain)? OPTIONS then get 503 + Retry-After, so a
	 * load balancer probing with OPTIONS takes this node out. May be NULL. */
	bool (*draining)(void *ctx);
};

/* Listeners from cfg->sip. 0 or -errno (logged). */
int cp_sip_create(const struct cfg *cfg, const struct cp_sip_app *app, struct cp_sip **out);
void cp_sip_free(struct cp_sip *s);

/* Take what the sockets have, run the transaction timers. Never blocks for
 * longer than timeout_ms (0: not at all). */
void cp_sip_poll(struct cp_sip *s, int timeout_ms);

/* Final answer to a pending INVITE/UPDATE. For a 2xx to a new INVITE the
 * dialog is created and returned through *dialog (may be NULL). 0 or -errno. */
int cp_sip_answer(struct cp_sip_pending *p, const struct cp_sip_response *r,
		  struct cp_sip_dialog **dialog);
/* What the app keeps with a pending request or a dialog. */
void cp_sip_pending_set_data(struct cp_sip_pending *p, void *data);
void *cp_sip_pending_data(const struct cp_sip_pending *p);
void cp_sip_dialog_set_data(struct cp_sip_dialog *d, void *data);
void *cp_sip_dialog_data(const struct cp_sip_dialog *d);

/* rtprec ends the call (media timeout, shutdown): BYE in the dialog; the
 * dialog ends (on_dialog_end) when the BYE is answered or times out. */
int cp_sip_send_bye(struct cp_sip_dialog *d, const char *reason);
/* rtprec re-offers (its media address changed): a re-INVITE with this SDP; the 2xx is
 * ACKed, a failure is logged. One at a time per dialog: a newer offer waits for the
 * running one (and replaces an older waiting one). 0 or -errno. */
int cp_sip_send_reinvite(struct cp_sip_dialog *d, const char *sdp, size_t len);
/* An UPDATE in the dialog with this body (e.g. an rs-metadata-request); its answer is
 * not waited for. 0 or -errno. */
int cp_sip_send_update(struct cp_sip_dialog *d, const char *ctype, const char *body, size_t len);

/* sip.rate_limit changed (reload): the table starts again. 0 or -ENOMEM. */
int cp_sip_set_rate_limit(struct cp_sip *s, unsigned requests_per_s, unsigned burst);

/* Responses sent by request method and status code (retransmissions included):
 * methods INVITE ACK BYE CANCEL OPTIONS UPDATE and "other"; codes 100..699. */
#define CP_SIP_N_METHODS 7
extern const char *const cp_sip_method_names[CP_SIP_N_METHODS];
uint64_t cp_sip_responses(const struct cp_sip *s, unsigned method, unsigned code);

/* Counters for stats lines. */
struct cp_sip_counters {
	uint64_t requests_in;
	uint64_t responses_out;
	uint64_t parse_errors;
	uint64_t tcp_connections;
	uint64_t rate_limited;     /* requests over sip.rate_limit answered 503 */
	uint64_t rate_dropped;     /* ... dropped unanswered (far over) */
	uint64_t idle_closed;      /* connections closed: sip.limits.tcp_idle_s */
	uint64_t message_timeouts; /* ... a message not whole in sip.limits.message_timeout_s */
	uint64_t tls_timeouts;     /* ... a handshake over sip.limits.tls_handshake_s */
	uint64_t tls_failures;     /* handshakes that failed (version, ciphers, client cert) */
};
void cp_sip_get_counters(const struct cp_sip *s, struct cp_sip_counters *c);
/* {"event":"stats","type":"sip",...} with the counters above. */
void cp_sip_print_stats(const struct cp_sip *s, FILE *out);

#endif
