/* SPDX-License-Identifier: BSD-3-Clause
 * The slow path's two rings: frames punted to the control plane, and frames the
 * control plane sends through a worker (see dp_contract.h). */
#include <rte_ip.h>

#include "dp_priv.h"

#define DP_TXREQ_PER_TICK 32

void dp_punt(struct dp_worker *w, struct rte_mbuf *m, unsigned in_port, uint32_t mark)
{
	m->port = (uint16_t)in_port;
	m->hash.usr = mark;
	if (rte_ring_sp_enqueue(w->punt, m) != 0) {
		dp_drop_pkt(w, in_port, DP_DROP_PUNT_RING_FULL, m);
		return;
	}
	w->c.punted++;
}

/* Next hop of dst (network order) on port: itself on the subnet, else the gateway
 * (whose configured MAC is taken as known); -1 without a route. */
static int dp_txreq_nexthop(struct dp_worker *w, unsigned port, uint32_t dst)
{
	const struct dp_port_info *pi = &w->dp->ports[port];
	const struct cfg_port *pc = pi->cfg;
	uint32_t gw;
	int idx;

	if ((dst & pi->mask) == (pi->ip & pi->mask))
		return dp_neigh_get(w, port, dst);
	if (!pc->has_gateway)
		return -1;
	gw = rte_cpu_to_be_32(pc->gateway_ip);
	idx = dp_neigh_get(w, port, gw);
	if (idx >= 0 && pc->has_gateway_mac)
		dp_neigh_set(w, port, gw, pc->gateway_mac_bytes, false);
	return idx;
}

static void dp_txreq_one(struct dp_worker *w, struct rte_mbuf *m)
{
	unsigned port = m->port;
	const struct rte_ipv4_hdr *ip;
	int idx;

	if (port >= w->dp->n_ports || rte_pktmbuf_data_len(m) < DP_TXREQ_L2 + sizeof(*ip) + 8) {
		dp_drop_pkt(w, 0, DP_DROP_TXREQ_BAD, m);
		return;
	}
	ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, DP_TXREQ_L2);
	idx = dp_txreq_nexthop(w, port, ip->dst_addr);
	if (idx < 0) {
		dp_drop_pkt(w, port, DP_DROP_TXREQ_BAD, m);
		return;
	}
	rte_pktmbuf_mtod(m, struct rte_ether_hdr *)->ether_type =
		rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	w->c.txreq++;
	dp_neigh_output(w, m, port, (uint32_t)idx, port);
}

void dp_txreq_drain(struct dp_worker *w)
{
	struct rte_mbuf *m[DP_TXREQ_PER_TICK];
	unsigned n = rte_ring_sc_dequeue_burst(w->txreq, (void **)m, DP_TXREQ_PER_TICK, NULL);

	for (unsigned i = 0; i < n; i++)
		dp_txreq_one(w, m[i]);
}
