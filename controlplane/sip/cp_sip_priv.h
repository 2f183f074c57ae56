/* SPDX-License-Identifier: BSD-3-Clause
 * SIP layer internals shared by the cp_sip_*.c files (not a public face). */
#ifndef RTPREC_CP_SIP_PRIV_H
#define RTPREC_CP_SIP_PRIV_H

#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

#include <osip2/osip.h>
#include <osipparser2/osip_message.h>
#include <osipparser2/osip_parser.h>
#include <openssl/ssl.h>

#include "controlplane/cp_sip.h"
#include "cp_sip_rate_priv.h"

#define CP_SIP_T1_MS 500u
#define CP_SIP_T2_MS 4000u
/* Defaults of sip.limits.* (a cfg that was not validated has 0s there). */
#define CP_SIP_TLS_HANDSHAKE_MS 5000u /* tls_handshake_s */
#define CP_SIP_IDLE_MS 60000u      /* tcp_idle_s: TCP/TLS idle close (no dialog on it) */
#define CP_SIP_MSG_MS 20000u       /* message_timeout_s: TCP/TLS: a message started
                                    * must end within this (or idle_ms if less),
                                    * however slowly its bytes come (Kamailio's
                                    * default too) */
#define CP_SIP_WBUF_FACTOR 4u      /* output backlog bound: 4 * max_message */
#define CP_SIP_ALLOW "INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE"
#define CP_SIP_ACCEPT "application/sdp, application/rs-metadata+xml, multipart/mixed"
#define CP_SIP_AGENT "rtprec"

/* Where a message came from / goes to. conn_id == 0 for UDP. */
struct cp_sip_peer {
	enum cfg_sip_transport transport;
	unsigned listener;    /* index in s->lis (UDP socket or accepting listener) */
	uint64_t conn_id;     /* TCP/TLS connection, 0 = none */
	uint32_t ip;          /* peer, host order */
	uint16_t port;
	uint32_t local_ip;    /* our address the peer talked to, host order */
	uint16_t local_port;
};

struct cp_sip_lis {
	int fd;
	enum cfg_sip_transport transport;
	struct cfg_addr addr; /* bound address (port filled after bind) */
};

struct cp_sip_conn {
	int fd;
	uint64_t id;
	unsigned slot;
	struct cp_sip_peer peer;
	SSL *ssl;
	bool handshaking;
	bool want_write;       /* TLS needs POLLOUT to progress */
	bool dead;             /* close at the next transport pass */
	bool closing;          /* EOF or framing lost: read no more, close once
				* the answers to what was read are out */
	char *rbuf;
	size_t rlen, rcap;
	size_t skip;           /* body bytes still to discard (refused message) */
	uint8_t ping;          /* bytes of a "\r\n\r\n" keepalive seen between messages */
	char *wbuf;
	size_t wlen, wcap;
	uint64_t created_ms, last_ms;
	uint64_t msg_ms;       /* first byte of the message being read, 0 = none */
	unsigned refs;         /* dialogs using this connection */
};

/* Per transaction data (reserved1), and its place in the transaction table
 * (cp_sip_txtab.c). */
struct cp_sip_txd {
	osip_transaction_t *tr;
	char *key;                        /* matching key (hash) */
	struct cp_sip_txd *hnext;         /* hash chain */
	struct cp_sip_txd *all_prev, *all_next;
	struct cp_sip_txd *rnext, *tnext; /* ready list, due chain */
	uint64_t due_ms;                  /* next timer (gettimeofday ms) */
	unsigned heap_idx;                /* in the timer heap, or UINT32_MAX */
	bool ready;
	bool dead;                        /* killed: freed after the run */
	struct cp_sip_peer peer;
	struct cp_sip_pending *pending; /* IST/NIST waiting for the app */
	struct cp_sip_dialog *bye_dialog; /* NICT: the BYE we sent */
	struct cp_sip_dialog *reinvite_dialog; /* ICT: our re-INVITE */
	size_t body_len;                  /* the request body as received: libosip2 */
	char body[];                      /* splits multipart bodies, SIPREC wants them whole */
};

/* cp_sip_raw.c: the length of the header block of a raw message (to just past its
 * blank line, CRLF or LF), 0 when it has none; its body: after the blank line,
 * Content-Length long. */
size_t cp_sip_hdr_end(const char *buf, size_t len);
size_t cp_sip_raw_body(const char *buf, size_t len, const osip_message_t *m, const char **body);
/* The header name (n bytes) is full or its compact form (0: none), any case. */
bool cp_sip_is_hdr(const char *name, size_t n, const char *full, char compact);

struct cp_sip_pending {
	struct cp_sip *s;
	osip_transaction_t *tr;
	struct cp_sip_dialog *dialog;   /* re-INVITE/UPDATE */
	bool invite;
	void *data;
	struct cp_sip_pending *prev, *next;
};

struct cp_sip_dialog {
	struct cp_sip *s;
	char *call_id;
	char *local_tag;
	char *remote_tag;
	char *local_hdr;   /* our side (To of the INVITE + our tag), as a From value */
	char *remote_hdr;  /* their side (From of the INVITE), as a To value */
	char *remote_target; /* Contact URI of the peer */
	char **routes;       /* route set: the INVITE's Record-Route values, in order */
	unsigned n_routes;
	uint32_t local_cseq;
	uint32_t remote_cseq;
	uint32_t invite_cseq; /* CSeq of the INVITE whose 2xx we sent */
	struct cp_sip_peer peer;
	/* 2xx retransmission until ACK */
	char *ok_buf;
	size_t ok_len;
	struct cp_sip_peer ok_peer;
	bool initial;      /* the 2xx is for the dialog-creating INVITE */
	bool acked;
	bool bye_sent;
	struct cp_sip_txd *bye_txd;
	const char *bye_why;             /* the end reason once our BYE is done (NULL: its outcome) */
	/* our re-INVITEs (cp_sip_reinvite.c) */
	struct cp_sip_txd *reinvite_txd; /* running, NULL if none */
	uint32_t reinvite_cseq;          /* of the last one sent (its 2xx get ACKs) */
	char *offer;                     /* the latest offer */
	size_t offer_len;
	bool offer_waiting;              /* not sent yet */
	uint64_t retry_ms;               /* after a 491: sent again then (0: none) */
	struct cp_sip_dialog *retry_next; /* in s->retrying */
	bool ending;
	uint64_t ok_start_ms, ok_next_ms;
	unsigned ok_interval_ms;
	void *data;
	struct cp_sip_dialog *hnext;          /* hash chain */
	struct cp_sip_dialog *wprev, *wnext;  /* waiting for the ACK */
	bool waiting;
	struct cp_sip_dialog *prev, *next;    /* all dialogs */
};

struct cp_sip {
	uint64_t by_method[CP_SIP_N_METHODS][600]; /* responses sent: method x (code - 100) */
	const struct cfg *cfg;
	struct cp_sip_app app;
	osip_t *osip;
	struct cp_sip_lis lis[CFG_MAX_SIP_LISTEN];
	unsigned n_lis;
	SSL_CTX *ssl_ctx;
	struct cp_sip_conn **conns; /* max_connections slots */
	unsigned n_conns, max_conns;
	struct pollfd *pfd;         /* n_lis + max_conns */
	unsigned *pfd_slot;         /* pfd index -> conn slot */
	uint64_t conn_gen;
	size_t max_message;
	char *udp_buf;
	struct cp_sip_counters ctr;
	/* pending and dialogs */
	struct cp_sip_pending *pending;
	unsigned n_pending, max_pending;
	struct cp_sip_dialog *dialogs;
	struct cp_sip_dialog *waiting;  /* 2xx sent, no ACK yet */
	struct cp_sip_dialog *retrying; /* our re-INVITE waits to be sent again (491) */
	struct cp_sip_dialog **dhash;
	unsigned dhash_mask;
	unsigned n_dialogs;
	/* transaction table */
	struct cp_sip_txd **thash;
	unsigned thash_mask, n_tx;
	struct cp_sip_txd *tx_all;
	struct cp_sip_txd **heap;
	unsigned heap_n, heap_cap;
	struct cp_sip_txd *ready_head, *ready_tail;
	/* transactions to free after the execute loops */
	osip_transaction_t **dead;
	unsigned n_dead, cap_dead;
	unsigned t1_ms, t2_ms;
	unsigned idle_ms;
	unsigned msg_limit_ms;      /* sip.limits.message_timeout_s */
	unsigned hs_ms;             /* sip.limits.tls_handshake_s */
	struct cp_sip_rate rate;    /* sip.rate_limit */
	int in_poll;
	uint64_t rnd;
	uint64_t drops;
};

/* cp_sip_transport.c */
uint64_t cp_sip_now_ms(void);
int cp_sip_transport_open(struct cp_sip *s);
void cp_sip_transport_close(struct cp_sip *s);
/* Fill pfd with every socket; returns count. */
unsigned cp_sip_transport_pollfds(struct cp_sip *s, struct pollfd *pfd, unsigned max);
void cp_sip_transport_events(struct cp_sip *s, struct pollfd *pfd, unsigned n);
void cp_sip_transport_timers(struct cp_sip *s, uint64_t now, uint64_t *next);
struct cp_sip_conn *cp_sip_conn_get(struct cp_sip *s, uint64_t id);
/* Send bytes to a peer: TCP/TLS on its connection, UDP by sendto. 0 or -errno. */
/* cp_sip_stats.c: INVITE -> 0 ... (cp_sip_method_names), anything else the last. */
unsigned cp_sip_method_index(const char *method);
int cp_sip_send_raw(struct cp_sip *s, const struct cp_sip_peer *p, const char *buf, size_t len);
/* UDP to ip:port from the first UDP listener (fallback). */
int cp_sip_send_udp(struct cp_sip *s, uint32_t ip, uint16_t port, const char *buf, size_t len);
const char *cp_sip_transport_name(enum cfg_sip_transport t);

/* cp_sip_tls.c: the server context from sip.tls_* (0 or -EINVAL, logged);
 * a handshake that failed, counted and logged at debug level. */
int cp_sip_tls_ctx(struct cp_sip *s);
void cp_sip_tls_failed(struct cp_sip *s, const struct cp_sip_conn *c);

/* cp_sip_stream.c */
void cp_sip_conn_accept(struct cp_sip *s, unsigned li);
void cp_sip_conn_close(struct cp_sip *s, struct cp_sip_conn *c);
bool cp_sip_conn_io(struct cp_sip *s, struct cp_sip_conn *c, short revents);
int cp_sip_conn_send(struct cp_sip *s, const struct cp_sip_peer *p, const char *buf, size_t len);

/* cp_sip_core.c: one whole message from any transport. */
#define CP_SIP_RX_TOOBIG 1u /* only the start (headers) of a message over max_message */
#define CP_SIP_RX_NOCL 2u   /* stream message without Content-Length */
void cp_sip_receive(struct cp_sip *s, const char *buf, size_t len, unsigned flags,
		    const struct cp_sip_peer *from);
void cp_sip_run(struct cp_sip *s);
void cp_sip_kill_later(struct cp_sip *s, osip_transaction_t *tr);
uint64_t cp_sip_random(struct cp_sip *s);

/* cp_sip_txtab.c */
int cp_sip_tx_init(struct cp_sip *s, unsigned buckets);
/* Take a new transaction out of libosip2's lists into the table; t is its
 * reserved1 from now on. -1: not taken (free tr with cp_sip_kill_later). */
int cp_sip_tx_adopt(struct cp_sip *s, osip_transaction_t *tr, struct cp_sip_txd *t);
/* The transaction a message belongs to (method: the CSeq method unless
 * given, say "INVITE" to find the INVITE a CANCEL names), or NULL. */
osip_transaction_t *cp_sip_tx_find(struct cp_sip *s, osip_message_t *m, const char *method);
/* Queue an event (NULL is ignored) and mark the transaction ready. */
void cp_sip_tx_event(struct cp_sip *s, osip_transaction_t *tr, osip_event_t *ev);
void cp_sip_tx_run(struct cp_sip *s);
void cp_sip_tx_timers(struct cp_sip *s);
uint64_t cp_sip_tx_next_ms(const struct cp_sip *s); /* ms to the next timer */
bool cp_sip_tx_busy(const struct cp_sip *s);
void cp_sip_tx_kill(struct cp_sip *s, osip_transaction_t *tr);
void cp_sip_tx_free(struct cp_sip *s, osip_transaction_t *tr);
void cp_sip_tx_free_all(struct cp_sip *s);
unsigned cp_sip_hash_str(const char *str);

/* cp_sip_txn.c */
int cp_sip_osip_setup(struct cp_sip *s);

/* cp_sip_msg.c */
int cp_sip_msg_response(struct cp_sip *s, const osip_message_t *req, int status,
			const char *reason, osip_message_t **out);
void cp_sip_msg_add_caps(osip_message_t *m);
int cp_sip_msg_send(struct cp_sip *s, const osip_message_t *m, const struct cp_sip_peer *p);
/* A response sent outside any transaction (ACK-less errors, 513, ...). */
void cp_sip_msg_reply_stateless(struct cp_sip *s, osip_message_t *req, int status,
				const char *reason, const struct cp_sip_peer *p);
/* 503 with Retry-After: retry_s to a request over sip.rate_limit. */
void cp_sip_msg_reply_busy(struct cp_sip *s, osip_message_t *req, unsigned retry_s,
			   const struct cp_sip_peer *p);
void cp_sip_msg_send_stateless(struct cp_sip *s, osip_message_t *r, int status,
			       const char *reason, const struct cp_sip_peer *p);
void cp_sip_msg_add_tag(struct cp_sip *s, osip_message_t *r, int status);
bool cp_sip_msg_method_known(const char *m, size_t n);
bool cp_sip_msg_scheme_ok(const char *scheme, size_t n);
char *cp_sip_msg_unsupported(const osip_message_t *m);

/* cp_sip_raw.c: a stateless refusal built from the raw text of a request
 * libosip2 cannot parse; false: nothing could be answered. */
bool cp_sip_raw_reply(struct cp_sip *s, const char *buf, size_t len,
		      const struct cp_sip_peer *from);
void cp_sip_msg_response_peer(const osip_message_t *req, const struct cp_sip_peer *in,
			      struct cp_sip_peer *out);
void cp_sip_msg_fix_via(osip_message_t *req, const struct cp_sip_peer *p);
char *cp_sip_msg_join(const osip_message_t *m, const char *hname);
/* The same for a header libosip2 keeps under its compact name too (k: Supported):
 * both forms, the full one first. */
char *cp_sip_msg_join_forms(const osip_message_t *m, const char *full, const char *compact);
/* The Accept headers' media ranges joined by ", " (malloc'd), or NULL without one. */
char *cp_sip_msg_accepts(const osip_message_t *m);
const char *cp_sip_msg_tag(osip_from_t *h);
/* Our address and port as the peer should see them: sip.external_address if set, else
 * the local address it talked to. */
void cp_sip_msg_self(const struct cp_sip *s, const struct cp_sip_peer *p, char ip[16],
		     uint16_t *port);
void cp_sip_msg_contact(const struct cp_sip *s, const struct cp_sip_peer *p, const char *params,
			char *buf, size_t n);
void cp_sip_msg_random_token(struct cp_sip *s, char *buf, size_t n);

/* cp_sip_dialog.c */
struct cp_sip_dialog *cp_sip_dialog_find(struct cp_sip *s, const osip_message_t *req);
struct cp_sip_dialog *cp_sip_dialog_of_response(struct cp_sip *s, const osip_message_t *resp);
bool cp_sip_dialog_is_retrans_invite(struct cp_sip *s, const osip_message_t *req,
				     const struct cp_sip_peer *p);
/* req belongs to a dialog: it is in one (To tag), or repeats a dialog's INVITE. */
bool cp_sip_dialog_known(struct cp_sip *s, const osip_message_t *req);
void cp_sip_dialog_ack(struct cp_sip *s, osip_message_t *ack);
void cp_sip_dialog_end(struct cp_sip_dialog *d, const char *why, bool by_bye);
void cp_sip_dialog_timers(struct cp_sip *s, uint64_t now, uint64_t *next);
void cp_sip_dialog_free_all(struct cp_sip *s);
struct cp_sip_pending *cp_sip_pending_new(struct cp_sip *s, osip_transaction_t *tr,
					  struct cp_sip_dialog *d, bool invite);
void cp_sip_pending_drop(struct cp_sip_pending *p);
/* p's transaction was answered without the app: p stays (in s->pending, holding off
 * other offers in its dialog) until the app's own answer, which only frees it. */
void cp_sip_pending_detach(struct cp_sip_pending *p);
struct cp_sip_pending *cp_sip_pending_of(osip_transaction_t *inv);
void cp_sip_bye_result(struct cp_sip *s, osip_transaction_t *tr, int status);
/* cp_sip_reinvite.c: a final (or, again, a repeated 2xx) answer to our re-INVITE;
 * a 2xx with no transaction left that answers it (its ACK is sent again). */
void cp_sip_reinvite_result(struct cp_sip *s, osip_transaction_t *tr, const osip_message_t *m,
			    bool again);
bool cp_sip_reinvite_stray_2xx(struct cp_sip *s, const osip_message_t *m);
/* re-INVITEs due again after a 491; a dialog going away leaves the list. */
void cp_sip_reinvite_timers(struct cp_sip *s, uint64_t now, uint64_t *next);
void cp_sip_reinvite_forget(struct cp_sip_dialog *d);
int cp_sip_dialog_request(struct cp_sip_dialog *d, const char *method, uint32_t cseq,
			  osip_message_t **out, struct cp_sip_peer *peer);
int cp_sip_dialog_send(struct cp_sip *s, osip_message_t *m, osip_fsm_type_t type,
		       const struct cp_sip_peer *peer, struct cp_sip_txd **out);

/* Test/fuzz entry points. */
int cp_sip_feed_datagram(struct cp_sip *s, const void *buf, size_t len,
			 const struct sockaddr_in *src);
void cp_sip_set_timers(struct cp_sip *s, unsigned t1_ms, unsigned t2_ms, unsigned idle_ms);
/* Bound port of listener i (for ephemeral port 0 in tests), or 0. */
uint16_t cp_sip_listener_port(const struct cp_sip *s, unsigned i);

#endif
