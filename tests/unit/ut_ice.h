/* SPDX-License-Identifier: BSD-3-Clause
 * An in-memory network for the nat_ice tests: two agents (the SRC and rtprec),
 * optionally the SRC behind an endpoint-independent NAT with an address-dependent
 * filter, packets delayed by LATENCY ms in simulated time. */
#ifndef RTPREC_UT_ICE_H
#define RTPREC_UT_ICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nat/nat_ice.h"

#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))
#define SRC_IP IP(198, 51, 100, 20)
#define PRIV_IP IP(10, 0, 0, 1)         /* the SRC's address behind the NAT */
#define NAT_IP IP(203, 0, 113, 5)
#define NAT_SHIFT 1000                  /* endpoint-independent: port + 1000 */
#define REC_IP IP(192, 0, 2, 10)
#define SRC_PORT 5000
#define REC_PORT 40000
#define LATENCY 5
#define QMAX 512
#define PKT_MAX 800

enum { SRC = 0, REC = 1 };

struct ut_ice_pkt {
	int to;
	uint16_t port;
	uint32_t src_ip;
	uint16_t src_port;
	uint64_t at;
	size_t len;
	uint8_t data[PKT_MAX];
};

struct ut_ice_side {
	struct ut_ice_net *net;
	int idx;
	unsigned events[3];
	unsigned requests, responses;   /* sent */
	uint64_t req_at[256];           /* when each new request (fresh id) left */
	uint8_t tids[256][NAT_STUN_TID_LEN];
};

struct ut_ice_net {
	struct nat_ice ag[2];
	struct ut_ice_side side[2];
	uint64_t seed[2];
	uint32_t ip[2];
	bool natted;                    /* the SRC is behind the NAT */
	uint32_t contacted[8];          /* address-dependent filter of the NAT */
	unsigned n_contacted;
	struct ut_ice_pkt q[QMAX];
	unsigned n;
	bool cut;
	uint64_t now;
};

struct ut_ice_scen {
	unsigned components;
	bool natted;
	bool lite;
	enum nat_ice_role src_role, rec_role;
	uint64_t src_tie, rec_tie;     /* 0: drawn */
};

extern struct ut_ice_net ut_net;

int ut_ice_xrng(void *arg, uint8_t *buf, size_t len);
void ut_ice_on_event(void *arg, enum nat_ice_event ev, unsigned comp);
void ut_ice_net_send(void *arg, uint16_t port, uint32_t dst_ip, uint16_t dst_port,
		     const uint8_t *msg, size_t len);
void ut_ice_run(struct ut_ice_net *n, uint64_t until);
void ut_ice_setup_pair(const struct ut_ice_scen *s);

#endif
