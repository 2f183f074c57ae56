/* SPDX-License-Identifier: BSD-3-Clause
 * nat_ice internals shared by the agent's files:
 *   nat_ice.c          set-up, candidates, pairs, state, selection
 *   nat_ice_check.c    our checks: pacing, requests, responses, nomination
 *   nat_ice_answer.c   the peer's checks: authentication, answers, triggers
 *   nat_ice_consent.c  consent freshness (RFC 7675) */
#ifndef RTPREC_NAT_ICE_PRIV_H
#define RTPREC_NAT_ICE_PRIV_H

#include "nat_ice.h"

#define NAT_ICE_MSG_MAX 768u   /* a check with 256-char ufrags fits */
#define NAT_ICE_TA_MS 50u
#define NAT_ICE_CONSENT_MS 5000u
#define NAT_ICE_CONSENT_TIMEOUT_MS 30000u
#define NAT_ICE_NOMINATE_WAIT_MS 1000u

/* nat_ice.c */
void nat_ice_emit(struct nat_ice *a, enum nat_ice_event ev, unsigned component);
void nat_ice_set_state(struct nat_ice *a, enum nat_ice_state s);
/* CHECKING / CONNECTED / COMPLETED / FAILED from the pairs */
void nat_ice_update(struct nat_ice *a, uint64_t now_ms);
/* the local candidate that is the base named local_port, -1 if none */
int nat_ice_base(const struct nat_ice *a, uint16_t local_port);
int nat_ice_find_local(const struct nat_ice *a, unsigned comp, uint32_t ip, uint16_t port);
int nat_ice_find_remote(const struct nat_ice *a, unsigned comp, uint32_t ip, uint16_t port);
int nat_ice_find_pair(const struct nat_ice *a, unsigned local, unsigned remote);
/* a new pair, FROZEN; -1 when the table is full */
int nat_ice_add_pair(struct nat_ice *a, unsigned local, unsigned remote, bool in_list);
bool nat_ice_same_foundation(const struct nat_ice *a, const struct nat_ice_pair *x,
			     const struct nat_ice_pair *y);
void nat_ice_switch_role(struct nat_ice *a);
/* marks valid pair v nominated and selects it when it is the best */
void nat_ice_nominate(struct nat_ice *a, unsigned v, uint64_t now_ms);
uint64_t nat_ice_random(struct nat_ice *a);
bool nat_ice_full(const struct nat_ice *a);   /* started, full, not failed */

/* nat_ice_check.c */
void nat_ice_trigger(struct nat_ice *a, unsigned pair);
/* a check request for pair p (USERNAME, PRIORITY, role, USE-CANDIDATE,
 * MI, FINGERPRINT) with id tid, sent from its base; 0 or -1 */
int nat_ice_send_check(struct nat_ice *a, const struct nat_ice_pair *p,
		       const uint8_t tid[NAT_STUN_TID_LEN], bool use_cand);
void nat_ice_checks_tick(struct nat_ice *a, uint64_t now_ms);
uint64_t nat_ice_checks_deadline(const struct nat_ice *a);
/* a response: 1 when it answered one of our checks */
int nat_ice_check_response(struct nat_ice *a, uint16_t local_port, uint32_t src_ip,
			   uint16_t src_port, const struct nat_stun_msg *m, uint64_t now_ms);
/* true when an authenticated response (MI with their pwd, FINGERPRINT) */
bool nat_ice_response_ok(const struct nat_ice *a, const struct nat_stun_msg *m);

/* nat_ice_answer.c */
void nat_ice_request(struct nat_ice *a, uint16_t local_port, uint32_t src_ip, uint16_t src_port,
		     const struct nat_stun_msg *m, uint64_t now_ms);

/* nat_ice_consent.c */
void nat_ice_consent_begin(struct nat_ice *a, unsigned component, uint64_t now_ms);
void nat_ice_consent_tick(struct nat_ice *a, uint64_t now_ms);
uint64_t nat_ice_consent_deadline(const struct nat_ice *a);
/* 1 when m answered a consent check */
int nat_ice_consent_response(struct nat_ice *a, uint16_t local_port, uint32_t src_ip,
			     uint16_t src_port, const struct nat_stun_msg *m, uint64_t now_ms);
/* lite: an authenticated request arrived on pair p */
void nat_ice_consent_seen(struct nat_ice *a, unsigned pair, uint64_t now_ms);

#endif
