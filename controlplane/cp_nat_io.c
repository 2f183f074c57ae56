/* SPDX-License-Identifier: BSD-3-Clause
 * cp_nat frame I/O: STUN requests built as IPv4/UDP frames from the media address and
 * nat.stun_port, sent by worker 0 (TX-request ring); punted frames parsed and handed
 * to the discovery that runs. */
#include <errno.h>
#include <string.h>

#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include "config/cfg_log.h"
#include "cp_nat_priv.h"
#include "cp_session.h"
#include "dataplane/dp_contract.h"
#include "dataplane/dp_parse.h"
#include "nat/nat_stun.h"

#define CP_NAT_PUNT_BURST 32

int cp_udp_send(struct cp_ctx *cp, const struct cp_udp_addr *a, const uint8_t *msg, size_t len)
{
	struct dp_ctx *dp = cp->dp;
	struct rte_mbuf *m = rte_pktmbuf_alloc(dp_txreq_pool(dp));
	struct rte_ipv4_hdr *ip;
	struct rte_udp_hdr *udp;
	uint8_t *p;

	if (m == NULL)
		goto drop;
	p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(DP_TXREQ_L2 + sizeof(*ip) + sizeof(*udp) + len));
	if (p == NULL)
		goto drop;
	memset(p, 0, DP_TXREQ_L2);
	ip = (struct rte_ipv4_hdr *)(p + DP_TXREQ_L2);
	udp = (struct rte_udp_hdr *)(ip + 1);
	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + sizeof(*udp) + len));
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = rte_cpu_to_be_32(a->src_ip);
	ip->dst_addr = rte_cpu_to_be_32(a->dst_ip);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp->src_port = rte_cpu_to_be_16(a->src_port);
	udp->dst_port = rte_cpu_to_be_16(a->dst_port);
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(sizeof(*udp) + len));
	udp->dgram_cksum = 0;
	memcpy(udp + 1, msg, len);
	udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
	m->port = (uint16_t)cp->cfg->media.port_index;
	if (rte_ring_sp_enqueue(dp_txreq_ring(dp, 0), m) == 0) {
		cp_ring_note(&cp->high[0].txreq, dp_txreq_ring(dp, 0));
		return 0;
	}
drop:
	rte_pktmbuf_free(m);
	return -ENOBUFS;
}

void cp_nat_send(void *arg, uint32_t dst_ip, uint16_t dst_port, const uint8_t *msg, size_t len)
{
	struct cp_nat *n = arg;
	struct cp_udp_addr a = { n->local_ip, dst_ip, (uint16_t)n->cfg->stun_port, dst_port };

	if (cp_udp_send(n->cp, &a, msg, len) != 0)
		n->tx_dropped++;
}

/* One STUN datagram from src to our dst_port. */
static void cp_nat_stun(struct cp_nat *n, uint32_t src_ip, uint16_t src_port, uint32_t dst_ip,
			uint16_t dst_port, const uint8_t *u, size_t len, bool via_relay)
{
	struct nat_stun_msg msg;
	int used = 0;

	n->stun_in++;
	if (via_relay) { /* a peer's check to one of our relayed candidates */
		used = cp_sessions_ice_input(n->cp, dst_ip, dst_port, src_ip, src_port, u, len, true);
	} else if (dst_port == n->cfg->stun_port && n->phase == CP_NAT_STUN) {
		if (n->cfg->behaviour_on)
			used = nat_behav_input(&n->behav, src_ip, src_port, u, len, n->now_ms);
		else if (nat_stun_parse(u, len, &msg) == 0)
			used = nat_bind_input(&n->bind, &msg);
	} else if (dst_port != n->cfg->stun_port && nat_stun_parse(u, len, &msg) == 0) {
		used = cp_nat_ports_input(n, dst_port, &msg) ||
		       cp_nat_relay_input(n, src_ip, src_port, dst_port, u, len) ||
		       cp_sessions_ice_input(n->cp, dst_ip, dst_port, src_ip, src_port, u, len,
					     false);
	}
	if (!used)
		n->stun_unmatched++;
}

void cp_nat_drain(struct cp_nat *n)
{
	struct dp_ctx *dp = n->cp->dp;
	struct rte_mbuf *m[CP_NAT_PUNT_BURST];

	for (unsigned w = 0; w < dp_worker_count(dp); w++) {
		unsigned left = 0;
		unsigned got = rte_ring_sc_dequeue_burst(dp_punt_ring(dp, w), (void **)m,
							 CP_NAT_PUNT_BURST, &left);
		if (got + left > n->cp->high[w].punt)
			n->cp->high[w].punt = got + left;
		for (unsigned i = 0; i < got; i++) {
			const uint8_t *f = rte_pktmbuf_mtod(m[i], const uint8_t *);
			struct dp_parsed p;
			enum dp_drop why;

			if (rte_pktmbuf_is_contiguous(m[i]) &&
			    dp_parse(f, rte_pktmbuf_data_len(m[i]), &p, &why) == DP_PKT_UDP4)
				cp_nat_stun(n, rte_be_to_cpu_32(p.src_ip), rte_be_to_cpu_16(p.src_port),
					    rte_be_to_cpu_32(p.dst_ip), rte_be_to_cpu_16(p.dst_port),
					    f + p.l4_off + 8, p.l4_len - 8u,
					    m[i]->hash.usr == DP_PUNT_VIA_RELAY);
			rte_pktmbuf_free(m[i]);
		}
	}
}
