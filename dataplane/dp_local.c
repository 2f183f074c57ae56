/* SPDX-License-Identifier: BSD-3-Clause
 * Answers for the dataplane's own addresses: ARP replies (and learning
 * next hops from ARP), ICMP echo replies. Rare frames: kept off the
 * UDP path. */
#include <stddef.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>

#include "dp_priv.h"
#include "dp_rewrite.h"

#define DP_LOCAL_TTL 64 /* of the replies we originate (RFC 1700 default) */

static void dp_swap_macs(struct rte_ether_hdr *eth, const uint8_t own[6])
{
	memcpy(&eth->dst_addr, &eth->src_addr, RTE_ETHER_ADDR_LEN);
	memcpy(&eth->src_addr, own, RTE_ETHER_ADDR_LEN);
}

/* Tell the control plane so every other worker learns the next hop too. */
static void dp_arp_learn(struct dp_worker *w, unsigned port, uint32_t ip, const uint8_t *mac)
{
	struct dp_msg ev = {.type = DP_EV_NEIGH_LEARNED};

	for (unsigned i = 0; i < w->n_neigh; i++) {
		struct dp_neigh *n = &w->neigh[i];
		if (n->ip != ip || n->port != port)
			continue;
		if (n->state == DP_NEIGH_VALID && memcmp(n->mac, mac, 6) == 0)
			return;
		dp_neigh_set(w, port, ip, mac, false);
		ev.u.neigh.ip = ip;
		ev.u.neigh.port = (uint8_t)port;
		memcpy(ev.u.neigh.mac, mac, 6);
		dp_worker_event(w, &ev);
		return;
	}
}

void dp_local_arp(struct dp_worker *w, struct rte_mbuf *m, const struct dp_parsed *p,
		  unsigned in_port)
{
	const struct dp_port_info *pi = &w->dp->ports[in_port];
	uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(frame + p->l3_off);
	uint8_t sha[6];
	uint32_t sip, tip;

	memcpy(sha, &arp->arp_data.arp_sha, 6);
	memcpy(&sip, &arp->arp_data.arp_sip, 4);
	memcpy(&tip, &arp->arp_data.arp_tip, 4);
	if (sip != 0)
		dp_arp_learn(w, in_port, sip, sha);

	bool ours = dp_port_owns(pi, tip);

	if (arp->arp_opcode != rte_cpu_to_be_16(RTE_ARP_OP_REQUEST) || !ours) {
		if (arp->arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REPLY) && ours) {
			rte_pktmbuf_free(m); /* an answer to us: learnt above */
			return;
		}
		dp_drop_pkt(w, in_port, DP_DROP_ARP_NOT_FOR_US, m);
		return;
	}
	arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
	memcpy(&arp->arp_data.arp_tha, sha, 6);
	memcpy(&arp->arp_data.arp_tip, &sip, 4);
	memcpy(&arp->arp_data.arp_sha, pi->mac, 6);
	memcpy(&arp->arp_data.arp_sip, &tip, 4); /* the address asked for */
	dp_swap_macs((struct rte_ether_hdr *)frame, pi->mac);
	dp_tx(w, in_port, m);
}

void dp_local_icmp(struct dp_worker *w, struct rte_mbuf *m, const struct dp_parsed *p,
		   unsigned in_port)
{
	const struct dp_port_info *pi = &w->dp->ports[in_port];
	uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(frame + p->l3_off);
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(frame + p->l4_off);
	uint16_t old_word, new_word;

	if (!dp_port_owns(pi, p->dst_ip)) {
		dp_drop_pkt(w, in_port, DP_DROP_ICMP_NOT_FOR_US, m);
		return;
	}
	if (icmp->icmp_type != RTE_IP_ICMP_ECHO_REQUEST || icmp->icmp_code != 0) {
		dp_drop_pkt(w, in_port, DP_DROP_ICMP_UNHANDLED, m);
		return;
	}
	/* type 8 -> 0: the first 16-bit word of the ICMP header changes */
	memcpy(&old_word, icmp, 2);
	icmp->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
	memcpy(&new_word, icmp, 2);
	icmp->icmp_cksum = dp_csum_update16(icmp->icmp_cksum, old_word, new_word);
	/* RFC 1624 eqn. 3 gives 0x0000 for both zeros; the one a message whose other
	 * words are all zero needs (id 0, seq 0, zero data: a sum of +0) is 0xFFFF */
	uint16_t sum;
	if (unlikely(icmp->icmp_cksum == 0) &&
	    rte_raw_cksum_mbuf(m, p->l4_off, p->l4_len, &sum) == 0 && sum == 0)
		icmp->icmp_cksum = 0xffff;
	/* a fresh TTL (the request's may be nearly spent): the TTL/protocol word changes;
	 * swapping the addresses leaves the IP checksum as it was */
	uint8_t *ttl_proto = frame + p->l3_off + offsetof(struct rte_ipv4_hdr, time_to_live);
	memcpy(&old_word, ttl_proto, 2);
	ip->time_to_live = DP_LOCAL_TTL;
	memcpy(&new_word, ttl_proto, 2);
	ip->hdr_checksum = dp_csum_update16(ip->hdr_checksum, old_word, new_word);
	ip->dst_addr = p->src_ip;
	ip->src_addr = p->dst_ip;
	dp_swap_macs((struct rte_ether_hdr *)frame, pi->mac);
	dp_tx(w, in_port, m);
}
