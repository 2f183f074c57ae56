/* SPDX-License-Identifier: BSD-3-Clause
 * nat_turn internals shared by the allocation, the transactions and the
 * permissions/channels files. */
#ifndef RTPREC_NAT_TURN_PRIV_H
#define RTPREC_NAT_TURN_PRIV_H

#include "nat_turn.h"

/* What a transaction asks for (struct nat_turn_txn.req). */
enum nat_turn_req {
	NAT_TURN_REQ_ALLOCATE,
	NAT_TURN_REQ_REFRESH,
	NAT_TURN_REQ_RELEASE,       /* Refresh with LIFETIME 0 */
	NAT_TURN_REQ_PERMISSION,
	NAT_TURN_REQ_CHANNEL,
};

/* How a transaction ended: ok, or error (+ code for error responses). m is
 * the answer, NULL after a timeout. */
struct nat_turn_result {
	bool ok;
	enum nat_turn_error error;
	uint16_t code;
	const struct nat_stun_msg *m;
};

/* nat_turn_txn.c */
void nat_turn_txn_init(struct nat_turn *t, struct nat_turn_txn *x);
/* A new transaction (fresh id) for req, sent at once; p is the permission
 * or channel it is for, NULL for the allocation's. 0, or -1 without an id. */
int nat_turn_txn_begin(struct nat_turn *t, struct nat_turn_txn *x, enum nat_turn_req req,
		       const struct nat_turn_peer *p, uint64_t now_ms);
/* Retransmits when due; true when the transaction just timed out (r says
 * so and the transaction is stopped). */
bool nat_turn_txn_poll(struct nat_turn *t, struct nat_turn_txn *x, const struct nat_turn_peer *p,
		       uint64_t now_ms, struct nat_turn_result *r);
bool nat_turn_txn_matches(const struct nat_turn_txn *x, const struct nat_stun_msg *m);
/* An answer that matches x: 1 when the transaction ended (r filled in), 0
 * when a 401/438 challenge was taken and the request sent again, -1 when
 * the answer was dropped (integrity) and the transaction goes on. */
int nat_turn_txn_answer(struct nat_turn *t, struct nat_turn_txn *x, const struct nat_turn_peer *p,
			const struct nat_stun_msg *m, uint64_t now_ms, struct nat_turn_result *r);
bool nat_turn_txn_running(const struct nat_turn_txn *x);
void nat_turn_txn_stop(struct nat_turn_txn *x);
/* Every comprehension-required attribute the STUN parser did not know is
 * one of TURN's. */
bool nat_turn_known_attrs(const struct nat_stun_msg *m);

/* nat_turn_peer.c */
struct nat_turn_peer *nat_turn_peer_at(struct nat_turn *t, size_t i);
#define NAT_TURN_N_PEERS (NAT_TURN_MAX_PERMS + NAT_TURN_MAX_CHANNELS)
void nat_turn_peer_done(struct nat_turn *t, struct nat_turn_peer *p,
			const struct nat_turn_result *r, uint64_t now_ms);
void nat_turn_peers_tick(struct nat_turn *t, uint64_t now_ms);
uint64_t nat_turn_peers_deadline(const struct nat_turn *t);
void nat_turn_peers_drop(struct nat_turn *t);

/* nat_turn.c: the allocation is gone or unusable */
void nat_turn_fail(struct nat_turn *t, const struct nat_turn_result *r);

static inline uint64_t nat_turn_min(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

#endif
