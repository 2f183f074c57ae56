/* SPDX-License-Identifier: BSD-3-Clause
 * The dataplane's face for app/ and controlplane/: set up pools, ports and
 * workers from the config, launch them, reach their rings and counters. */
#ifndef RTPREC_DP_H
#define RTPREC_DP_H

#include <stdint.h>
#include "config/cfg.h"
#include "dp_contract.h"
#include "dp_drop.h"

struct dp_ctx;

/* Per worker counters, written only by the worker, read by the control plane. */
struct dp_worker_counters {
	uint64_t rx_packets;
	uint64_t tx_packets;
	uint64_t cycles;      /* TSC cycles in the loop since launch */
	uint64_t busy_cycles; /* cycles spent on bursts that had packets */
	uint64_t punted;      /* frames handed to the control plane (punt ring) */
	uint64_t txreq;       /* frames the control plane asked this worker to send */
	uint64_t record_high; /* record rings: most entries seen in one (after an enqueue) */
	uint64_t port_rx[CFG_MAX_PORTS];
	uint64_t port_tx[CFG_MAX_PORTS];
	uint64_t drops[CFG_MAX_PORTS][DP_DROP_MAX]; /* by receiving port */
} __attribute__((aligned(64)));

struct dp_port_info {
	uint16_t port_id; /* DPDK port id */
	uint32_t ip;      /* network order */
	uint32_t mask;    /* network order */
	uint8_t mac[6];
	uint16_t vlan;    /* ports[i].vlan: the only VLAN taken, the tag of all sent; 0: none */
	const struct cfg_port *cfg;
	uint32_t extra_ip[CFG_MAX_MEDIA_ADDRS]; /* network order: media.addresses */
	unsigned n_extra;
};

/* Is ip (network order) one of the port's own addresses? */
static inline bool dp_port_owns(const struct dp_port_info *pi, uint32_t ip)
{
	if (ip == pi->ip)
		return true;
	for (unsigned i = 0; i < pi->n_extra; i++)
		if (ip == pi->extra_ip[i])
			return true;
	return false;
}

/* After rte_eal_init: pools, ports (configured and started), workers (flow
 * tables and rings). 0 or -errno with the reason logged. */
int dp_create(const struct cfg *cfg, struct dp_ctx **out);
/* Launch every worker on its lcore. */
int dp_launch(struct dp_ctx *dp);
/* Wait for the workers to leave their loops (after DP_CMD_STOP). */
void dp_wait(struct dp_ctx *dp);
/* Stop and close the ports (net_pcap writes its tx file here), free all. */
void dp_destroy(struct dp_ctx *dp);

unsigned dp_worker_count(const struct dp_ctx *dp);
unsigned dp_port_count(const struct dp_ctx *dp);
const struct dp_port_info *dp_port(const struct dp_ctx *dp, unsigned idx);
struct rte_ring *dp_cmd_ring(struct dp_ctx *dp, unsigned worker);
struct rte_ring *dp_event_ring(struct dp_ctx *dp, unsigned worker);
/* Worker's record ring for recorder thread t (recording.threads rings each). */
struct rte_ring *dp_record_ring(struct dp_ctx *dp, unsigned worker, unsigned t);
/* Worker's punt ring (frames for the control plane) and TX-request ring (frames the
 * control plane sends), see dp_contract.h; the pool for TX requests. */
struct rte_ring *dp_punt_ring(struct dp_ctx *dp, unsigned worker);
struct rte_ring *dp_txreq_ring(struct dp_ctx *dp, unsigned worker);
struct rte_mempool *dp_txreq_pool(struct dp_ctx *dp);
const struct dp_worker_counters *dp_counters(const struct dp_ctx *dp, unsigned worker);
unsigned dp_worker_lcore(const struct dp_ctx *dp, unsigned worker);

#endif
