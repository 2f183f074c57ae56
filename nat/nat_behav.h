/* SPDX-License-Identifier: BSD-3-Clause
 * nat_behav: RFC 5780 NAT behaviour discovery (mapping section 4.3,
 * filtering section 4.4) as a state machine over IPv4, with time and the
 * sending injected. Every request leaves from the caller's one local port.
 *
 * Order: test I, then the filtering tests, then mapping tests II and III.
 * The filtering tests go first because the mapping tests send to the
 * server's alternate address, which would open an address-dependent filter
 * to the very responses the filtering tests watch for. A recheck that finds the
 * same mapping keeps the last filtering instead (nat_behav_cfg.prev). */
#ifndef RTPREC_NAT_BEHAV_H
#define RTPREC_NAT_BEHAV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nat_bind.h"

enum nat_mapping {
	NAT_MAPPING_UNKNOWN,
	NAT_MAPPING_ENDPOINT_INDEPENDENT,
	NAT_MAPPING_ADDRESS_DEPENDENT,
	NAT_MAPPING_ADDRESS_PORT_DEPENDENT,
};

enum nat_filtering {
	NAT_FILTERING_UNKNOWN,
	NAT_FILTERING_ENDPOINT_INDEPENDENT,
	NAT_FILTERING_ADDRESS_DEPENDENT,
	NAT_FILTERING_ADDRESS_PORT_DEPENDENT,
};

enum nat_behav_state {
	NAT_BEHAV_IDLE,
	NAT_BEHAV_RUNNING,
	NAT_BEHAV_DONE,       /* the result holds what could be learnt */
	NAT_BEHAV_NO_SERVER,  /* test I timed out */
	NAT_BEHAV_FAILED,     /* test I got an error or an unusable answer */
};

/* Sends one datagram from the caller's local port; addresses host order.
 * Called from inside nat_behav_*(): it must not call back into them (queue
 * what comes back and feed it after the call returns). */
typedef void (*nat_send_fn)(void *arg, uint32_t dst_ip, uint16_t dst_port,
			    const uint8_t *msg, size_t len);

struct nat_behav_cfg {
	uint32_t server_ip;       /* the STUN server's primary address */
	uint16_t server_port;
	uint32_t local_ip;        /* optional (0): lets "not behind a NAT" be seen */
	uint16_t local_port;
	struct nat_rto rto;       /* rto_ms 0: RFC 8489 defaults */
	nat_send_fn send;
	void *send_arg;
	nat_rng_fn rng;           /* NULL: getrandom() */
	void *rng_arg;
	/* The last discovery's result from this local port, NULL for none. When test I
	 * maps to the same address again, the NAT binding may be the one the last mapping
	 * tests opened to the server's alternate address, which would let the filtering
	 * tests' answers in whatever the filter: they are skipped and its filtering kept. */
	const struct nat_behav_result *prev;
};

struct nat_behav_result {
	bool mapped_known;        /* test I's XOR-MAPPED-ADDRESS */
	uint32_t mapped_ip;
	uint16_t mapped_port;
	bool other_known;         /* the server gave a usable OTHER-ADDRESS */
	uint32_t other_ip;
	uint16_t other_port;
	bool not_natted;          /* mapped == local address (mapping is then
				     endpoint-independent, filtering still tested) */
	enum nat_mapping mapping;
	enum nat_filtering filtering;
};

struct nat_behav {
	struct nat_behav_cfg cfg; /* cfg.prev is copied into prev at the start */
	struct nat_behav_result prev;
	bool has_prev;
	enum nat_behav_state state;
	uint8_t test;             /* the running test, internal */
	struct nat_bind t;
	uint32_t map2_ip;         /* mapping test II's mapped address */
	uint16_t map2_port;
	struct nat_behav_result res;
	bool filtering_kept;      /* res.filtering is prev's (see cfg.prev) */
};

/* Sends test I at once. 0, or -1 on a bad cfg (no send, bad rto) or when
 * no transaction id could be drawn. */
int nat_behav_start(struct nat_behav *b, const struct nat_behav_cfg *cfg, uint64_t now_ms);
/* A datagram the local port received from src. 1 when it answered the
 * running test (the next test may have been sent), 0 otherwise. */
int nat_behav_input(struct nat_behav *b, uint32_t src_ip, uint16_t src_port,
		    const uint8_t *msg, size_t len, uint64_t now_ms);
/* Retransmits or gives up as due; returns the state. */
enum nat_behav_state nat_behav_tick(struct nat_behav *b, uint64_t now_ms);
/* When nat_behav_tick() next has work; UINT64_MAX when finished. */
uint64_t nat_behav_deadline(const struct nat_behav *b);

/* Stable names for logs and metrics: "endpoint-independent",
 * "address-dependent", "address-and-port-dependent", "unknown". */
const char *nat_mapping_name(enum nat_mapping m);
const char *nat_filtering_name(enum nat_filtering f);
const char *nat_behav_state_name(enum nat_behav_state s);

#endif
