/* SPDX-License-Identifier: BSD-3-Clause
 * A worker's own flow table: rte_hash keyed by dp_flow_key, with the flow
 * entries in an array indexed by the hash position. Single writer and single
 * reader (the owning worker): no locks. */
#ifndef RTPREC_DP_FLOWTABLE_H
#define RTPREC_DP_FLOWTABLE_H

#include <stdint.h>
#include "dp_contract.h"
#include "dp_rtp.h"
#include "dp_turn.h"

#define DP_FLOWX_LATCH (1u << 0)   /* report the first packet's source */
#define DP_FLOWX_IDLE (1u << 1)    /* reported idle: report the next packet */
/* Internal action bit (beside DP_ACT_*): only the latched source gets in. */
#define DP_ACTX_SRC (1u << 7)

/* Laid out for the per-packet path: line 0 is what forwarding reads and the
 * counters it bumps, line 1 the RTP state; the rest is cold. */
struct dp_flow {
	/* line 0 */
	uint8_t actions;   /* DP_ACT_*, copied from spec */
	uint8_t out_port;
	uint16_t fwd_src_port;
	uint16_t fwd_dst_port;
	uint16_t flags;    /* DP_FLOWX_*: rare work on the next packet */
	uint32_t fwd_src_ip;
	uint32_t fwd_dst_ip;
	uint32_t rec_id;
	uint32_t neigh_idx; /* worker neighbour slot for FORWARD */
	uint64_t clock_mult; /* dp_rtp_clock_mult(spec.clock_rate, tsc hz) */
	uint64_t packets;
	uint64_t bytes;
	uint64_t last_tsc;
	uint32_t latched_ip;   /* network order: the source DP_ACTX_SRC lets in */
	uint16_t latched_port;
	uint16_t cand_count;   /* packets in a row from cand_ip:cand_port */
	/* line 1 */
	struct dp_rtp_stats rtp;
	/* cold */
	uint64_t record_drops;
	uint32_t cand_ip;      /* another source, candidate for a re-latch */
	uint16_t cand_port;
	struct dp_turn_chan chans[DP_TURN_CHANNELS]; /* DP_ACT_TURN: bound channels */
	struct dp_flow_spec spec; /* as programmed (network order) */
	uint64_t idle_reported_tsc;
	uint64_t idle_tsc;  /* 0: no idle reports */
	uint32_t in_use;
} __attribute__((aligned(64)));
_Static_assert(__builtin_offsetof(struct dp_flow, rtp) == 64, "hot fields must fill line 0");

struct dp_flowtable;

/* capacity: max flows; socket: NUMA socket for the memory. NULL on failure. */
struct dp_flowtable *dp_ft_create(const char *name, uint32_t capacity, int socket);
void dp_ft_free(struct dp_flowtable *ft);

/* Insert or replace the key; returns the entry (zeroed on insert, kept on
 * replace with *replaced = 1), or NULL with *err = -ENOSPC / -EINVAL. */
struct dp_flow *dp_ft_add(struct dp_flowtable *ft, const struct dp_flow_key *key, int *replaced,
			  int *err);
/* 0, or -ENOENT. */
int dp_ft_del(struct dp_flowtable *ft, const struct dp_flow_key *key);
struct dp_flow *dp_ft_find(struct dp_flowtable *ft, const struct dp_flow_key *key);

/* Look up n keys (n <= 64): exact key first, then for misses the key with
 * the source zeroed (wildcard source). out[i] = entry or NULL. */
void dp_ft_lookup_burst(struct dp_flowtable *ft, const struct dp_flow_key *keys, unsigned n,
			struct dp_flow **out);

uint32_t dp_ft_count(const struct dp_flowtable *ft);
uint32_t dp_ft_capacity(const struct dp_flowtable *ft);
/* Entry at array slot i (0 <= i < capacity), NULL when the slot is free:
 * for walking the table. */
struct dp_flow *dp_ft_slot(struct dp_flowtable *ft, uint32_t i);

#endif
