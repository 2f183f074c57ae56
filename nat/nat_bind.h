/* SPDX-License-Identifier: BSD-3-Clause
 * nat_bind: one STUN Binding transaction as a client (RFC 8489 6.2.1
 * retransmissions over UDP), with time injected and no socket: the caller
 * sends what nat_bind_tick() hands out from its one local port and feeds
 * parsed answers to nat_bind_input(). Used for external-address discovery,
 * keepalives and, through nat_behav, RFC 5780 tests. */
#ifndef RTPREC_NAT_BIND_H
#define RTPREC_NAT_BIND_H

#include <stddef.h>
#include <stdint.h>

#include "nat_stun.h"

/* Retransmission: first RTO, Rc transmissions in all, then Rm x RTO of
 * waiting after the last one. RFC 8489 defaults: 500 ms, 7, 16 (sends at
 * 0, 500, 1500, ..., 31500 ms; timeout at 39500 ms). */
struct nat_rto {
	uint32_t rto_ms;
	uint8_t rc;
	uint8_t rm;
};
#define NAT_RTO_RFC8489 ((struct nat_rto){ 500, 7, 16 })
#define NAT_RTO_MAX_RC 32

/* Fills buf with len random bytes; 0 on success. Tests inject their own. */
typedef int (*nat_rng_fn)(void *arg, uint8_t *buf, size_t len);

enum nat_bind_state {
	NAT_BIND_IDLE,
	NAT_BIND_RUNNING,
	NAT_BIND_OK,        /* success response with a mapped address */
	NAT_BIND_ERROR,     /* error response, or a success we cannot use */
	NAT_BIND_TIMEOUT,
};

#define NAT_BIND_REQ_MAX 48u  /* header + CHANGE-REQUEST + FINGERPRINT */

struct nat_bind {
	struct nat_rto rto;
	nat_rng_fn rng;
	void *rng_arg;

	enum nat_bind_state state;
	uint32_t dst_ip;            /* host order */
	uint16_t dst_port;
	uint8_t tid[NAT_STUN_TID_LEN];
	uint8_t req[NAT_BIND_REQ_MAX];
	uint16_t req_len;
	uint8_t sent;               /* transmissions so far */
	uint64_t next_ms;           /* next send, or the give-up time after the last */
	uint64_t wait_ms;           /* current RTO */

	/* from the answer */
	struct nat_stun_addr mapped;  /* XOR-MAPPED-ADDRESS, else MAPPED-ADDRESS */
	struct nat_stun_addr other;   /* OTHER-ADDRESS (RFC 5780), family 0 if none */
	struct nat_stun_addr origin;  /* RESPONSE-ORIGIN */
	uint16_t error_code;          /* of an error response, 0 if it had none */
};

/* rto NULL or rto->rto_ms 0: RFC 8489 defaults; rng NULL: getrandom().
 * -1 on a bad rto (rc 0 or above NAT_RTO_MAX_RC, rm 0). */
int nat_bind_init(struct nat_bind *t, const struct nat_rto *rto, nat_rng_fn rng, void *rng_arg);
/* Begin a transaction to dst with a fresh transaction id; change is
 * CHANGE-REQUEST's NAT_STUN_CHANGE_* bits (0: no such attribute). The first
 * send is due at now_ms. 0, or -1 when no random id could be had. */
int nat_bind_start(struct nat_bind *t, uint32_t dst_ip, uint16_t dst_port, uint32_t change,
		   uint64_t now_ms);
/* 1 with *msg and *len to send to dst now; 0 otherwise (the state may just have
 * become NAT_BIND_TIMEOUT). Sends follow the schedule from the start time,
 * so a late call sends at once and the next one stays on its slot. */
int nat_bind_tick(struct nat_bind *t, uint64_t now_ms, const uint8_t **msg, size_t *len);
/* When nat_bind_tick() next has work; UINT64_MAX when not running. */
uint64_t nat_bind_deadline(const struct nat_bind *t);
/* 1 when m answers the running transaction (same id; the state is then OK
 * or ERROR), 0 when it is not ours. */
int nat_bind_input(struct nat_bind *t, const struct nat_stun_msg *m);
const char *nat_bind_state_name(enum nat_bind_state s);

#endif
