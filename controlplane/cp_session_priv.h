/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef RTPREC_CP_SESSION_PRIV_H
#define RTPREC_CP_SESSION_PRIV_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "controlplane/siprec/cp_metadata.h"
#include "controlplane/siprec/cp_sdp.h"
#include "cp_portpool.h"
#include "cp_sess_ice.h"
#include "cp_priv.h"
#include "cp_session.h"

#define CP_SESS_STREAMS CP_SDP_MAX_STREAMS
#define CP_SESS_FLOWS_PER 16      /* flow ids per session: stream * 2 + rtcp */
#define CP_SESS_MD_BODIES 32      /* rs-metadata bodies kept for metadata.xml */

enum cp_sess_state {
	CP_SESS_FREE = 0,
	CP_SESS_STARTING,  /* flows being added; INVITE not answered yet */
	CP_SESS_ACTIVE,    /* answered (ACK or not) */
	CP_SESS_UPDATING,  /* re-INVITE/UPDATE: flow changes in flight */
	CP_SESS_CLOSING,   /* flows being deleted */
};

struct cp_stream_stats {
	uint64_t packets;
	uint64_t bytes;
	uint64_t rtp_expected;
	uint64_t rtp_received;
	int64_t rtp_lost;
	uint32_t jitter;
	uint32_t rtcp_packets; /* RTCP on the RTP port (rtcp-mux): in packets, not in rtp_* */
	uint64_t last_tsc;
	uint64_t record_drops; /* copies the recorder could not take (RTP and RTCP) */
};

struct cp_stream {
	bool in_use;
	bool paused;
	bool rtcp_mux;
	bool idle;          /* its RTP flow was reported idle */
	uint64_t expect_ms; /* cp_now_ms() since when it is due to send: added, resumed, moved */
	char label[64];
	char media[16];
	char fmts[128];      /* payload types of the accepted offers before the last one */
	char maps[256];      /* their rtpmap lines ("rtpmap:PT ...\n"), a PT's first kept */
	uint16_t port;      /* ours (RTP); RTCP on port + 1 unless rtcp_mux */
	uint32_t offer_ip;  /* host order, from the SDP */
	uint16_t offer_port;
	uint32_t latched_ip; /* host order, 0 until the first packet */
	uint16_t latched_port;
	uint32_t relatches;  /* times another source replaced the latched one */
	uint16_t ext_port;   /* per-port discovery: the NAT's public port for port, 0 if none */
	uint16_t ext_rtcp_port;
	bool port_mapped;    /* asked already (public port or relay) */
	bool relayed;        /* relay[] holds TURN relays of port and port + 1 */
	bool relay_failed;   /* its allocation failed on every nat.turn server */
	int relay[2];        /* cp_nat handles, -1: none */
	uint32_t relay_ip;   /* host order: the relayed address the answer carries, 0: none */
	uint16_t relay_port;
	uint32_t relay_rtcp_ip; /* host order: RTCP's relayed address (its own allocation) */
	uint16_t relay_rtcp_port;
	uint8_t relay_got;   /* results in (bit k: relay[k]); the pair settles when both are */
	uint32_t strict_ip;  /* media.strict_source: the source the flows take (host order) */
	uint16_t strict_port;
	uint16_t strict_rtcp_port; /* 0: strict_port + 1 */
	bool ice_keyed;      /* strict_* come from ICE's selected pairs */
	bool del_failed;     /* its flows' delete did not reach every worker: sent again */
	uint64_t first_ns;  /* wall clock of the first packet */
	uint64_t *pauses;   /* [2 * n_pauses]: start and end (0: still paused) wall clock ns */
	unsigned n_pauses;
	struct cp_stream_stats st;
};

#define CP_SESS_MAX_PAUSES 256 /* intervals kept per stream; later ones are merged */

struct cp_session {
	struct cp_ctx *cp;
	enum cp_sess_state state;
	uint32_t slot;
	uint32_t rec_id;     /* recorder stream id (cp_sess_rec_take) */
	char id[33];
	char dir[PATH_MAX];
	char *call_id;
	char *from;
	char *to;
	char *src;           /* transport source "ip:port transport" */
	bool siprec;         /* recognised as SIPREC (else recorded anyway) */
	struct cp_metadata md;
	bool has_md;
	char *md_bodies[CP_SESS_MD_BODIES];
	uint64_t md_times[CP_SESS_MD_BODIES];
	unsigned n_md;
	struct cp_stream streams[CP_SESS_STREAMS];
	unsigned n_streams;
	unsigned addr;       /* index of the media address all its streams use */
	struct cp_sdp_offer offer; /* last offer, for the answer */
	uint64_t sdp_version;
	unsigned acks_pending;
	unsigned lookups;    /* STUN port lookups out (in acks_pending until the end) */
	bool del_blocked;    /* a worker took no flow delete: the session waits for it */
	bool files_done;     /* ended, its files finished (cp_sess_close.c) */
	bool add_failed;
	bool answer_bare;    /* the pending request carried no offer and wants no SDP back */
	bool md_requested;   /* an rs-metadata-request UPDATE went out */
	unsigned se_s;       /* RFC 4028 session interval, 0: no timer */
	bool se_we_refresh;  /* refresher=uas */
	bool se_require;     /* Require: timer in our 2xx */
	char se_hdr[32];
	uint64_t se_refreshed_ms; /* last refresh (our 2xx, or our re-INVITE) */
	struct cp_sip_pending *pending;
	struct cp_sip_dialog *dialog;
	uint64_t start_ns;
	uint64_t end_ns;
	uint64_t next_ka_ms;  /* next keepalive (nat.keepalive), 0 before the answer */
	uint32_t ka_ssrc;     /* of the empty RTP keepalives */
	uint16_t ka_seq;
	struct cp_sess_ice *ice; /* NULL unless the offer carried ICE */
	struct cp_sess_undo *undo; /* while a re-INVITE waits: what it changed (cp_sess_undo.c) */
	char end_reason[64];
};

/* The session's media address (host order) and what its SDP carries. */
#define cp_sess_local_ip(ss, s) ((ss)->media_ip[(s)->addr])
#define cp_sess_answer_ip(ss, s) ((ss)->external_ip ? (ss)->external_ip : cp_sess_local_ip(ss, s))

struct cp_sessions {
	struct cp_session **slots; /* [max_sessions] */
	uint32_t max;
	uint32_t active;
	uint32_t finished;         /* of them, ended with their files done but held */
	uint32_t hint;             /* where to look for a free slot */
	uint32_t rec_base;         /* the first of the sessions' recorder stream ids */
	uint32_t rec_ids;          /* how many: CFG_SESS_REC_IDS */
	uint32_t rec_hint;         /* where to look for a free one */
	uint8_t *rec_used;         /* [rec_ids]: held by a live session */
	struct cp_portpool ports[CFG_MAX_MEDIA_ADDRS]; /* one per media address */
	uint32_t media_ip[CFG_MAX_MEDIA_ADDRS];        /* host order: media.addresses */
	unsigned n_addr;
	uint32_t external_ip;      /* host order: static NAT address for SDP, or 0 */
	struct cp_sip_app app;
	uint64_t tsc_base;
	uint64_t ns_base;
	uint64_t tsc_hz;
	uint64_t counter;
	uint64_t total;
	uint64_t keepalives;       /* keepalive datagrams sent */
	uint64_t reoffers;         /* re-INVITEs sent for a new external address */
	uint64_t timer_refreshes;  /* re-INVITEs sent as the session-timer refresher */
	uint64_t timer_expired;    /* calls ended because no refresh came */
	bool draining;             /* shutdown.drain_s: new calls refused */
	struct cp_session **ice_port; /* [65536]: whose ICE agent a media port feeds */
	struct cp_sess_ice *ice_list; /* sessions with ICE */
	uint64_t ice_next_ms;      /* the next agent deadline; 0: look now */
	struct cp_ice_totals ice;
	uint64_t refused[600];     /* by status code */
};

/* cp_sess_flows.c */
int cp_sess_flows_program(struct cp_ctx *cp, struct cp_session *s, unsigned first_stream);
int cp_sess_flows_add(struct cp_ctx *cp, struct cp_session *s, unsigned stream);
int cp_sess_flows_update(struct cp_ctx *cp, struct cp_session *s, unsigned stream);
/* -1 when a worker took no command in time: the stream's del_failed stays for the retry;
 * once that happened while s is closing, the other deletes do not wait again. */
int cp_sess_flows_delete(struct cp_ctx *cp, struct cp_session *s, unsigned stream);
/* The deletes of a closing s that a worker did not take, sent again without waiting for
 * room; s->del_blocked cleared once all went out. */
void cp_sess_flows_retry(struct cp_ctx *cp, struct cp_session *s);
/* Key stream's flows on one source from now on (ICE's selected pair; rtcp_port 0:
 * port + 1): deleted and added again. */
int cp_sess_flows_rekey(struct cp_ctx *cp, struct cp_session *s, unsigned stream, uint32_t ip,
			uint16_t port, uint16_t rtcp_port);
uint32_t cp_sess_flow_id(const struct cp_session *s, unsigned stream, int rtcp);

/* cp_sess_files.c */
int cp_sess_files_open(struct cp_ctx *cp, struct cp_session *s);
void cp_sess_files_finish(struct cp_ctx *cp, struct cp_session *s);
/* recording.srtp decrypt: hand the recorder the SDES keys of the streams in use. */
void cp_sess_files_srtp(struct cp_ctx *cp, const struct cp_session *s);
void cp_sess_keep_metadata(struct cp_session *s, const char *xml, size_t len);
/* Refuse new calls (503)? recording.refuse_when_full and storage failing. */
bool cp_sess_recording_refused(const struct cp_ctx *cp);
/* session.json as the control plane knows it, without its closing brace. */
void cp_sess_write_json(FILE *f, const struct cp_ctx *cp, const struct cp_session *s);

/* cp_sess_natport.c: start the per-port discoveries the answer needs (acks_pending
 * grows by their number, which is returned; 0: answer now). */
unsigned cp_sess_map_ports(struct cp_ctx *cp, struct cp_session *s);
void cp_sess_release_relays(struct cp_ctx *cp, struct cp_session *s);
/* Release st's relays for good: s no longer waits for their results (they never come). */
void cp_sess_relay_forget(struct cp_ctx *cp, struct cp_session *s, struct cp_stream *st);
/* cp_sess_relay.c: a TURN relay for each new media port of s (RTP and RTCP, both or
 * neither); the count of results to wait for. */
unsigned cp_sess_relay_ports(struct cp_ctx *cp, struct cp_session *s);
/* A free media port of s's address that no stopped relay still holds (its release not
 * confirmed yet), or 0. */
uint16_t cp_sess_port_take(struct cp_ctx *cp, struct cp_session *s);
/* A relay result for one of s's media ports (first result or a new
 * address after the relay was made again); settles RTP and RTCP together. */
void cp_sess_relay_result(struct cp_ctx *cp, struct cp_session *s, uint16_t local_port,
			  uint32_t ip, uint16_t port);
/* The answer sdp (len of cap, session-level c= sess_ip; -1 passes through), conn[i] the
 * address of stream i: when the streams in use have different addresses, a c= line in
 * every m= section; a=rtcp:PORT IN IP4 ADDR for each relayed stream whose RTCP relay is on
 * another address than its RTP relay. New length or -1. */
int cp_sess_relay_answer(const struct cp_session *s, uint32_t sess_ip, const uint32_t *conn,
			 char *sdp, size_t cap, int len);
/* cp_sess_run.c: a re-INVITE with s's current addresses when s is active (counted in
 * reoffers); false when none was sent. */
bool cp_sess_reoffer(struct cp_ctx *cp, struct cp_session *s);
/* cp_sess_pause.c: does the SRC's m= line stop sending (a=inactive, a=recvonly, or
 * c=IN IP4 0.0.0.0)? Pause or resume a stream, keeping the interval for session.json. */
bool cp_sess_offer_paused(const struct cp_sdp_stream *o);
void cp_sess_set_paused(struct cp_stream *st, bool paused, uint64_t now_ns);
void cp_sess_pauses_free(struct cp_stream *st);
/* Can the SRC's m= line be recorded (a port, RTP, a kind media.kinds takes, SRTP with an
 * acceptable key)? st's fields from it (label, media, formats, address, rtcp-mux). */
bool cp_sess_offer_usable(const struct cp_ctx *cp, const struct cp_sdp_stream *o);
void cp_sess_stream_offer(struct cp_stream *st, const struct cp_sdp_stream *o);
/* o, an offer st was recorded with, is replaced by a new one: its payload types and rtpmap
 * lines kept in st (session.json's "formats" and "codecs" describe every accepted offer:
 * packets from before a codec change keep theirs). */
void cp_sess_stream_history(struct cp_stream *st, const struct cp_sdp_stream *o);
/* Is payload type pt (len chars) mapped by one of o's rtpmap lines? */
bool cp_sess_fmt_mapped(const struct cp_sdp_stream *o, const char *pt, size_t len);
/* Append the payload types of add that list lacks (bounded by cap). */
void cp_sess_fmts_union(char *list, size_t cap, const char *add);
/* Stream i, not in use, has a port again in the re-offer (RFC 3264 8.1): recorded again
 * (its flows added) when usable and the same stream (label) or a slot never recorded;
 * else it stays answered with port 0. */
void cp_sess_stream_reenable(struct cp_ctx *cp, struct cp_session *s, unsigned i);

/* cp_sess_timer.c: Session-Expires of an INVITE/UPDATE into s: 0, 422 (min_se gets our
 * Min-SE) or 400. Our 2xx's Session-Expires and Require; the refresh clock (true: s ended). */
int cp_sess_timer_request(struct cp_ctx *cp, struct cp_session *s, const struct cp_sip_request *req,
			  char *min_se, size_t len);
void cp_sess_timer_answer(struct cp_session *s, struct cp_sip_response *r);
bool cp_sess_timer_tick(struct cp_ctx *cp, struct cp_session *s, uint64_t now_ms);
/* cp_session.c: our SDP for s's streams now (a new version); its length or -1. */
int cp_sess_current_sdp(struct cp_ctx *cp, struct cp_session *s, char *sdp, size_t len);

/* cp_sess_undo.c: a re-INVITE's offer about to be applied to s: keep what it may change
 * (0, or -1: no memory); drop that once it is answered (or s ends). The SIP layer's
 * on_reinvite_cancel: s goes back to the offer/answer before the cancelled re-INVITE. */
int cp_sess_undo_keep(struct cp_session *s);
void cp_sess_undo_drop(struct cp_session *s);
void cp_sess_reinvite_cancel(void *ctx, struct cp_sip_pending *p);

/* cp_sess_run.c: st is due to send from now on (added, resumed or moved): media.timeout_s
 * counts for it from now, whatever its flow reported before. */
void cp_sess_stream_expect(struct cp_stream *st);

/* cp_sess_keepalive.c: keepalives of s's media ports now (behind NAT, nat.keepalive on);
 * sets s->next_ka_ms. */
void cp_sess_keepalive(struct cp_ctx *cp, struct cp_session *s, uint64_t now_ms);
/* cp_session.c: answer p (a 399 Warning with why unless NULL; 503 with Retry-After),
 * counted as refused when not 2xx. */
void cp_sess_answer(struct cp_ctx *cp, struct cp_sip_pending *p, int status, const char *reason,
		    const char *why);
void cp_sess_flows_settled(struct cp_ctx *cp, struct cp_session *s);
/* cp_sess_close.c: end s (flows deleted, then cp_sess_closed); s's flows' answers are in:
 * its files finished, s freed unless STUN port lookups or refused deletes are out. */
void cp_sess_end(struct cp_ctx *cp, struct cp_session *s, const char *reason);
void cp_sess_closed(struct cp_ctx *cp, struct cp_session *s);
void cp_sess_free(struct cp_ctx *cp, struct cp_session *s);
uint64_t cp_sess_now_ns(void);
uint64_t cp_sess_tsc_ns(const struct cp_sessions *ss, uint64_t tsc);

#endif
