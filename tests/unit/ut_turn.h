/* SPDX-License-Identifier: BSD-3-Clause
 * A fake TURN server in simulated time for the nat_turn tests: long-term
 * credentials (401, 438, MESSAGE-INTEGRITY both ways), forced errors, losses;
 * it answers what the client under test sends through ut_turn_pump(). */
#ifndef RTPREC_UT_TURN_H
#define RTPREC_UT_TURN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nat/nat_stun.h"
#include "nat/nat_turn.h"

#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))
#define SERVER IP(198, 51, 100, 1)
#define SERVER_PORT 3478
#define RELAY IP(203, 0, 113, 9)
#define RELAY_PORT 50000
#define MAPPED IP(203, 0, 113, 1)
#define MAPPED_PORT 40000
#define PEER IP(192, 0, 2, 10)
#define PEER2 IP(192, 0, 2, 11)
#define REALM "example.org"
#define SEC 1000u
#define RING 64

struct ut_turn_fake {
	/* behaviour */
	const char *password;      /* the server's idea of user's password */
	bool open;                 /* no credentials asked */
	int stale;                 /* 438 answers to give to good requests */
	bool drop;                 /* answer nothing */
	int drop_first;            /* lose this many requests first */
	bool bad_mi;               /* sign answers with a wrong key */
	bool unsigned_err;         /* error answers without MESSAGE-INTEGRITY */
	bool no_relayed, unknown_attr;
	uint32_t grant;            /* LIFETIME granted, 0: 600 */
	uint16_t err[16];          /* forced error code by method */
	/* state */
	uint32_t nonce;
	uint64_t now;
	uint64_t n_req, done;
	struct { uint8_t buf[NAT_TURN_REQ_MAX]; size_t len; uint64_t at; } reqs[RING];
	int by_method[16];
	uint32_t last_lifetime;    /* LIFETIME of the last Allocate/Refresh, ~0u when absent */
	struct nat_stun_addr last_peer;
	uint16_t last_channel;
};

extern struct ut_turn_fake ut_tf;

void ut_turn_key_of(const char *password, uint8_t key[NAT_STUN_LT_KEY_LEN]);
void ut_turn_answer(struct nat_stun_builder *b, uint8_t *out, const struct nat_stun_msg *q,
		   uint16_t code);
bool ut_turn_text_is(struct nat_stun_text t, const char *s);
uint32_t ut_turn_u32_attr(const struct nat_stun_msg *q, uint16_t type, uint32_t absent);
int ut_turn_handle(struct ut_turn_fake *f, const uint8_t *req, size_t len, uint8_t *out);
void ut_turn_pump(struct nat_turn *t);
void ut_turn_run_until(struct nat_turn *t, uint64_t until);
void ut_turn_fake_reset(void);
struct nat_turn_cfg ut_turn_cfg_default(void);
const struct nat_stun_msg *ut_turn_last_req(void);
void ut_turn_start(struct nat_turn *t, const struct nat_turn_cfg *c);
void ut_turn_allocate_for(struct nat_turn *t, uint32_t grant);
void ut_turn_allocate(struct nat_turn *t);

#endif
