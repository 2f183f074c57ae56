/* SPDX-License-Identifier: BSD-3-Clause
 * ICE for SIPREC calls (cp_sess_ice.c): the session layer's side. */
#ifndef RTPREC_CP_SESS_ICE_H
#define RTPREC_CP_SESS_ICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct cp_ctx;
struct cp_session;
struct cp_sess_ice;

/* Counters of agents that ended, added to the live ones when printed. */
struct cp_ice_sums {
	uint64_t checks_sent, requests_answered, requests_refused, dropped;
};

struct cp_ice_totals {
	uint64_t agents;        /* started (one per ICE stream) */
	uint64_t completed;     /* reached COMPLETED */
	uint64_t failed;        /* no pair worked */
	uint64_t consent_lost;  /* RFC 7675 */
	uint64_t tx_dropped;    /* checks the TX-request ring did not take */
	struct cp_ice_sums done;
};

/* An offer (INVITE or re-INVITE): the ICE attributes of the streams in use that have
 * no agent yet are kept for the answer. Nothing with nat.ice off. 0, or -1 (memory). */
int cp_sess_ice_offer(struct cp_ctx *cp, struct cp_session *s, const char *sdp, size_t len);
/* The answer sdp (len bytes of cap; -1 passes through) built for address conn[i] and
 * ports[i] of stream i (rtcp[i] the public RTCP port, 0: port + 1): starts the agents of
 * the kept offers and adds their credentials and candidates. The new length, or -1 when
 * it does not fit. */
int cp_sess_ice_answer(struct cp_ctx *cp, struct cp_session *s, const uint32_t *conn,
		       const uint16_t *ports, const uint16_t *rtcp, char *sdp, size_t cap, int len);
/* Answer text surgery shared with cp_sess_relay.c: where m= section idx ends (the next
 * m= line or the end; idx -1: the first m= line); text (n bytes) put at off of buf (len
 * used, cap in all): the new length or -1. */
size_t cp_sess_sdp_section_end(const char *sdp, size_t len, int idx);
int cp_sess_sdp_insert(char *buf, size_t cap, int len, size_t off, const char *text, int n);
/* Stream i's TURN relays were allocated again (st->relay_*): its agent's relayed
 * candidates take the new addresses (nat_ice_move_relay: same credentials, no restart). */
void cp_sess_ice_relay_moved(struct cp_ctx *cp, struct cp_session *s, unsigned i);
void cp_sess_ice_free(struct cp_ctx *cp, struct cp_session *s);
/* A cancelled re-offer: the ICE attributes it left for the answer are dropped, and the
 * agents of its streams from index `from` on. */
void cp_sess_ice_rollback(struct cp_ctx *cp, struct cp_session *s, unsigned from);
/* session.json: ,"ice":{...} of stream i (null without ICE). */
void cp_sess_ice_json(FILE *f, const struct cp_ctx *cp, const struct cp_session *s, unsigned i);

#endif
