/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef RTPREC_CP_PRIV_H
#define RTPREC_CP_PRIV_H

#include "cp.h"
#include "cp_nat.h"
#include "cp_static.h"
#include "dataplane/dp.h"
#include "recorder/rec.h"

struct cp_ctx {
	const struct cfg *cfg;
	struct dp_ctx *dp;
	struct rec_ctx *rec;
	struct cp_static st; /* the static flows */
	uint32_t req_id;
	unsigned dumps_done;
	unsigned stopped;
	uint64_t idle_events;
	uint64_t neigh_learned;
	struct cp_sessions *sess; /* SIPREC sessions, NULL until created */
	struct cp_nat *nat;       /* external address discovery */
	uint64_t start_ms;        /* cp_now_ms() at creation */
	/* most entries seen in each worker's rings, sampled by the control plane: after
	 * it enqueues (commands, TX requests), before it dequeues (events, punts) */
	struct cp_ring_high {
		uint32_t cmd, event, punt, txreq;
	} high[CFG_MAX_WORKERS];
};

/* high = max(high, entries in r) */
struct rte_ring;
void cp_ring_note(uint32_t *high, const struct rte_ring *r);

void cp_handle_event(struct cp_ctx *cp, const struct dp_msg *m);
/* Send one UDP datagram from a media address through worker 0 (TX-request ring) on the
 * media port; addresses in host order. 0, or -ENOBUFS (no mbuf, ring full). */
struct cp_udp_addr {
	uint32_t src_ip, dst_ip;
	uint16_t src_port, dst_port;
};
int cp_udp_send(struct cp_ctx *cp, const struct cp_udp_addr *a, const uint8_t *msg, size_t len);
/* Send to one worker, taking events while its ring is full (bounded). */
int cp_send(struct cp_ctx *cp, unsigned worker, const struct dp_msg *m);

#endif
