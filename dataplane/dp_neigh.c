/* SPDX-License-Identifier: BSD-3-Clause
 * A worker's next-hop table: static MACs from config, others resolved by
 * ARP. Frames for an unresolved next hop wait in a bounded hold list. */
#include <errno.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_ether.h>

#include "dp_priv.h"

static int dp_neigh_find(const struct dp_worker *w, unsigned port, uint32_t ip)
{
	for (unsigned i = 0; i < w->n_neigh; i++)
		if (w->neigh[i].ip == ip && w->neigh[i].port == port)
			return (int)i;
	return -1;
}

/* A slot no flow uses and no held frame waits for (the table is full: rare), -1. */
static int dp_neigh_spare(const struct dp_worker *w)
{
	for (unsigned i = 0; i < w->n_neigh; i++) {
		bool waited = false;

		if (w->neigh[i].refs != 0)
			continue;
		for (unsigned h = 0; h < w->n_held && !waited; h++)
			waited = w->held[h].neigh_idx == i;
		if (!waited)
			return (int)i;
	}
	return -1;
}

int dp_neigh_get(struct dp_worker *w, unsigned port, uint32_t ip)
{
	int i = dp_neigh_find(w, port, ip);

	if (i >= 0)
		return i;
	if (w->n_neigh < DP_NEIGH_MAX)
		i = (int)w->n_neigh++;
	else if ((i = dp_neigh_spare(w)) < 0)
		return -ENOSPC;
	memset(&w->neigh[i], 0, sizeof(w->neigh[i]));
	w->neigh[i].ip = ip;
	w->neigh[i].port = (uint8_t)port;
	w->neigh[i].state = DP_NEIGH_INCOMPLETE;
	return i;
}

void dp_neigh_ref(struct dp_worker *w, uint32_t idx, int delta)
{
	w->neigh[idx].refs += (uint32_t)delta;
}

/* The outer tag of a frame leaving on a port with VLAN out_vlan: that VLAN (the tag's
 * id replaced, its priority kept, or a tag put in with the priority of an IPv4 frame's
 * DSCP class, DSCP / 8 as switches map it by default: EF voice goes as 5); none when it
 * came tagged from a port with a VLAN (in_vlan) to one without; else the tags it came
 * with. false: no headroom for the tag. */
static bool dp_vlan_out(struct rte_mbuf *m, uint16_t out_vlan, uint16_t in_vlan)
{
	uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);
	bool tagged = dp_is_vlan_tpid(rte_be_to_cpu_16(*(const rte_be16_t *)(f + 12)));
	rte_be16_t *tci;

	if (out_vlan == 0) {
		if (tagged && in_vlan != 0) {
			memmove(f + DP_VLAN_HLEN, f, 2 * RTE_ETHER_ADDR_LEN);
			rte_pktmbuf_adj(m, DP_VLAN_HLEN);
		}
		return true;
	}
	if (!tagged) {
		bool ipv4 = f[12] == 0x08 && f[13] == 0x00 && rte_pktmbuf_data_len(m) > 15;
		uint16_t pcp = ipv4 ? (uint16_t)(f[15] >> 5) << 13 : 0;
		uint8_t *g = (uint8_t *)rte_pktmbuf_prepend(m, DP_VLAN_HLEN);

		if (g == NULL)
			return false;
		memmove(g, f, 2 * RTE_ETHER_ADDR_LEN);
		*(rte_be16_t *)(g + 12) = rte_cpu_to_be_16(DP_ETHERTYPE_VLAN);
		*(rte_be16_t *)(g + 14) = rte_cpu_to_be_16(pcp);
		f = g;
	}
	tci = (rte_be16_t *)(f + 14);
	*tci = rte_cpu_to_be_16((uint16_t)((rte_be_to_cpu_16(*tci) & 0xf000u) | out_vlan));
	return true;
}

/* Ethernet addresses and VLAN tag for out_port; false (frame dropped) without room. */
static bool dp_neigh_fill_l2(struct dp_worker *w, struct rte_mbuf *m, unsigned out_port,
			     unsigned in_port, const struct dp_neigh *n)
{
	const struct dp_port_info *po = &w->dp->ports[out_port];
	uint16_t in_vlan = w->dp->ports[in_port].vlan;
	struct rte_ether_hdr *eth;

	if (unlikely((po->vlan | in_vlan) != 0) && !dp_vlan_out(m, po->vlan, in_vlan)) {
		dp_drop_pkt(w, in_port, DP_DROP_VLAN_NO_HEADROOM, m);
		return false;
	}
	eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	memcpy(&eth->dst_addr, n->mac, RTE_ETHER_ADDR_LEN);
	memcpy(&eth->src_addr, po->mac, RTE_ETHER_ADDR_LEN);
	return true;
}

/* Release the frames that waited for slot idx. */
static void dp_neigh_release(struct dp_worker *w, uint32_t idx)
{
	unsigned keep = 0;

	for (unsigned i = 0; i < w->n_held; i++) {
		struct dp_held *h = &w->held[i];
		if (h->neigh_idx == idx) {
			if (dp_neigh_fill_l2(w, h->m, h->out_port, h->in_port, &w->neigh[idx]))
				dp_tx(w, h->out_port, h->m);
		} else {
			w->held[keep++] = *h;
		}
	}
	w->n_held = keep;
}

void dp_neigh_set(struct dp_worker *w, unsigned port, uint32_t ip, const uint8_t mac[6],
		  bool create)
{
	int i = create ? dp_neigh_get(w, port, ip) : dp_neigh_find(w, port, ip);

	if (i < 0)
		return;
	memcpy(w->neigh[i].mac, mac, 6);
	w->neigh[i].state = DP_NEIGH_VALID;
	w->neigh[i].first_req_tsc = 0;
	dp_neigh_release(w, (uint32_t)i);
}

static void dp_neigh_request(struct dp_worker *w, struct dp_neigh *n, uint64_t now)
{
	const struct dp_port_info *pi = &w->dp->ports[n->port];
	struct rte_mbuf *m;
	struct rte_ether_hdr *eth;
	struct rte_arp_hdr *arp;

	if (n->last_req_tsc != 0 && now - n->last_req_tsc < w->arp_retry_tsc)
		return;
	m = rte_pktmbuf_alloc(w->pool);
	if (m == NULL)
		return;
	if (n->first_req_tsc == 0)
		n->first_req_tsc = now;
	n->last_req_tsc = now;
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, sizeof(*eth) + sizeof(*arp));
	if (eth == NULL) {
		rte_pktmbuf_free(m);
		return;
	}
	arp = (struct rte_arp_hdr *)(eth + 1);
	memset(&eth->dst_addr, 0xff, RTE_ETHER_ADDR_LEN);
	memcpy(&eth->src_addr, pi->mac, RTE_ETHER_ADDR_LEN);
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
	arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = RTE_ETHER_ADDR_LEN;
	arp->arp_plen = 4;
	arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
	memcpy(&arp->arp_data.arp_sha, pi->mac, RTE_ETHER_ADDR_LEN);
	arp->arp_data.arp_sip = pi->ip;
	memset(&arp->arp_data.arp_tha, 0, RTE_ETHER_ADDR_LEN);
	arp->arp_data.arp_tip = n->ip;
	if (pi->vlan != 0 && !dp_vlan_out(m, pi->vlan, 0)) {
		rte_pktmbuf_free(m);
		return;
	}
	dp_tx(w, n->port, m);
}

void dp_neigh_output(struct dp_worker *w, struct rte_mbuf *m, unsigned out_port,
		     uint32_t neigh_idx, unsigned in_port)
{
	struct dp_neigh *n = &w->neigh[neigh_idx];

	if (likely(n->state == DP_NEIGH_VALID)) {
		if (dp_neigh_fill_l2(w, m, out_port, in_port, n))
			dp_tx(w, out_port, m);
		return;
	}
	dp_neigh_request(w, n, rte_rdtsc());
	if (w->n_held >= w->max_held) {
		dp_drop_pkt(w, in_port, DP_DROP_NEIGH_HOLD_FULL, m);
		return;
	}
	w->held[w->n_held].m = m;
	w->held[w->n_held].neigh_idx = neigh_idx;
	w->held[w->n_held].out_port = (uint16_t)out_port;
	w->held[w->n_held].in_port = (uint16_t)in_port;
	w->n_held++;
}

void dp_neigh_free_held(struct dp_worker *w)
{
	for (unsigned i = 0; i < w->n_held; i++)
		rte_pktmbuf_free(w->held[i].m);
	w->n_held = 0;
}

/* Has the first request for n been unanswered longer than the give-up time? now may
 * be a little older than a request made in the same tick (TX requests): not yet. */
static bool dp_neigh_gave_up(const struct dp_worker *w, const struct dp_neigh *n, uint64_t now)
{
	return n->first_req_tsc != 0 && now > n->first_req_tsc &&
	       now - n->first_req_tsc > w->arp_giveup_tsc;
}

void dp_neigh_tick(struct dp_worker *w, uint64_t now)
{
	unsigned keep = 0;

	for (unsigned i = 0; i < w->n_held; i++) {
		struct dp_held *h = &w->held[i];
		struct dp_neigh *n = &w->neigh[h->neigh_idx];
		if (dp_neigh_gave_up(w, n, now)) {
			dp_drop_pkt(w, h->in_port, DP_DROP_NEIGH_TIMEOUT, h->m);
			continue;
		}
		dp_neigh_request(w, n, now); /* rate-limited per next hop */
		w->held[keep++] = *h;
	}
	w->n_held = keep;
	/* next hops that gave up start over with the next frame */
	for (unsigned i = 0; i < w->n_neigh; i++)
		if (w->neigh[i].state != DP_NEIGH_VALID && dp_neigh_gave_up(w, &w->neigh[i], now))
			w->neigh[i].first_req_tsc = 0;
}
