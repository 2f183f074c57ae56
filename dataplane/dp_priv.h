/* SPDX-License-Identifier: BSD-3-Clause
 * Dataplane internals shared by the worker loop, ports and local answers. */
#ifndef RTPREC_DP_PRIV_H
#define RTPREC_DP_PRIV_H

#include <stdbool.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "dp.h"
#include "dp_flowtable.h"
#include "dp_parse.h"

#define DP_MAX_BURST 64
#define DP_NEIGH_MAX 256
#define DP_CMD_RING 4096
#define DP_EVENT_RING 16384
#define DP_DRAIN_US 100
#define DP_IDLE_POLLS 64 /* empty passes before dataplane.idle_sleep_us */
#define DP_TXREQ_POOL 4095 /* mbufs for the control plane's frames */
#define DP_ARP_RETRY_MS 1000
#define DP_ARP_GIVEUP_MS 3000 /* held frames are dropped after this */

enum dp_neigh_state { DP_NEIGH_FREE = 0, DP_NEIGH_INCOMPLETE, DP_NEIGH_VALID };

struct dp_neigh {
	uint32_t ip; /* network order */
	uint8_t port;
	uint8_t state;
	uint8_t mac[6];
	uint32_t refs; /* FORWARD flows using the slot; at 0 it may be taken for another */
	uint64_t first_req_tsc; /* 0 when no request is outstanding */
	uint64_t last_req_tsc;
};

/* A packet waiting for its next hop's MAC. */
struct dp_held {
	struct rte_mbuf *m;
	uint32_t neigh_idx;
	uint16_t out_port;
	uint16_t in_port;
};

struct dp_worker {
	struct dp_worker_counters c; /* first: own cache lines */
	unsigned idx;
	unsigned lcore;
	uint16_t queue;
	unsigned burst;
	struct dp_ctx *dp;
	struct dp_flowtable *ft;
	struct rte_ring *cmd;
	struct rte_ring *ev;
	struct rte_ring *punt;  /* frames for the control plane */
	struct rte_ring *txreq; /* frames from the control plane */
	struct rte_ring *rec[CFG_MAX_REC_THREADS]; /* one per recorder thread */
	unsigned n_rec;
	struct rte_mempool *pool;     /* for ARP requests */
	struct rte_mempool *rec_pool; /* copies of forwarded frames to record that cannot be shared */
	struct rte_eth_dev_tx_buffer *txb[CFG_MAX_PORTS];
	uint64_t tsc_hz;
	uint64_t drain_tsc;
	uint64_t arp_retry_tsc;
	uint64_t arp_giveup_tsc;
	/* neighbours */
	struct dp_neigh neigh[DP_NEIGH_MAX];
	unsigned n_neigh;
	struct dp_held *held;
	unsigned n_held;
	unsigned max_held;
	/* stats dump / stop in progress */
	bool rx_enabled;
	bool dumping;
	bool stopping;
	bool stopped;
	uint32_t dump_req;
	uint32_t dump_cursor;
	uint32_t idle_cursor;
	unsigned idle_sleep_us; /* dataplane.idle_sleep_us */
	unsigned empty_polls;   /* passes in a row without a packet */
	/* dataplane.rx_pace_pps: packets the "wire" has brought since pace_start */
	uint64_t pace_q32;      /* packets per TSC cycle, 32.32 fixed point; 0 = no pacing */
	uint64_t pace_start;    /* TSC when RX started */
	uint64_t pace_taken;    /* packets read or counted missed since then */
	uint64_t pace_last;     /* TSC of the last read that got packets */
	unsigned pace_ring;     /* what a NIC ring holds: more owed than that was lost */
	uint32_t ev_seq;
} __rte_cache_aligned;

struct dp_ctx {
	const struct cfg *cfg;
	unsigned n_ports;
	struct dp_port_info ports[CFG_MAX_PORTS];
	unsigned n_workers;
	struct dp_worker *workers[CFG_MAX_WORKERS];
	struct rte_mempool *pools[RTE_MAX_NUMA_NODES];
	struct rte_mempool *rec_pools[RTE_MAX_NUMA_NODES];
	struct rte_mempool *txreq_pool; /* control plane's frames (TX requests) */
	bool ports_started[CFG_MAX_PORTS];
};

/* dp_port.c */
int dp_ports_setup(struct dp_ctx *dp);
void dp_ports_close(struct dp_ctx *dp);
struct rte_mempool *dp_pool_for_socket(struct dp_ctx *dp, int socket);

/* dp_worker.c */
int dp_worker_main(void *arg);
/* Send an event; counts EVENT_RING_FULL and returns -ENOBUFS when full. */
int dp_worker_event(struct dp_worker *w, struct dp_msg *m);

/* dp_neigh.c */
int dp_neigh_get(struct dp_worker *w, unsigned port, uint32_t ip); /* slot or -ENOSPC */
/* A FORWARD flow starts (+1) or stops (-1) using slot idx. */
void dp_neigh_ref(struct dp_worker *w, uint32_t idx, int delta);
void dp_neigh_set(struct dp_worker *w, unsigned port, uint32_t ip, const uint8_t mac[6],
		  bool create);
/* Forward m (already rewritten at L3/L4) to its next hop: MACs set and
 * buffered for TX, or held while ARP resolves. */
void dp_neigh_output(struct dp_worker *w, struct rte_mbuf *m, unsigned out_port,
		     uint32_t neigh_idx, unsigned in_port);
void dp_neigh_free_held(struct dp_worker *w);
/* On the drain tick: retry ARP for next hops with held frames, drop frames
 * held longer than DP_ARP_GIVEUP_MS. */
void dp_neigh_tick(struct dp_worker *w, uint64_t now);

/* dp_txreq.c: hand a frame to the control plane (takes ownership); send what the
 * control plane queued (on the drain tick). */
void dp_punt(struct dp_worker *w, struct rte_mbuf *m, unsigned in_port, uint32_t mark);
void dp_txreq_drain(struct dp_worker *w);

/* dp_local.c: frames for the dataplane's own addresses. Takes ownership. */
void dp_local_arp(struct dp_worker *w, struct rte_mbuf *m, const struct dp_parsed *p,
		  unsigned in_port);
void dp_local_icmp(struct dp_worker *w, struct rte_mbuf *m, const struct dp_parsed *p,
		   unsigned in_port);

/* TX one frame on a port through the worker's buffer. */
static inline void dp_tx(struct dp_worker *w, unsigned port, struct rte_mbuf *m)
{
	uint16_t n = rte_eth_tx_buffer(w->dp->ports[port].port_id, w->queue, w->txb[port], m);
	w->c.tx_packets += n;
	w->c.port_tx[port] += n;
}

static inline void dp_drop_pkt(struct dp_worker *w, unsigned in_port, enum dp_drop why,
			       struct rte_mbuf *m)
{
	w->c.drops[in_port][why]++;
	rte_pktmbuf_free(m);
}

#endif
