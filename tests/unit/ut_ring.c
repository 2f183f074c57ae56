/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_arp.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include "ut_ring.h"

struct rte_mempool *ut_pool;

int ut_eal_init(const char *prefix, const char *lcores)
{
	char fp[64], lc[64];
	char *argv[] = {"test", "--no-huge", "-m", "512", "--no-pci", fp, lc,
			"--log-level=lib.*:error"};

	snprintf(fp, sizeof(fp), "--file-prefix=%s", prefix);
	snprintf(lc, sizeof(lc), "--lcores=%s", lcores);
	if (rte_eal_init(RTE_DIM(argv), argv) < 0)
		return -1;
	ut_pool = rte_pktmbuf_pool_create("ut_pool", 16383, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	return ut_pool ? 0 : -1;
}

int ut_port_create(struct ut_port *p, const char *tag, unsigned nq)
{
	char rn[RTE_RING_NAMESIZE];
	int pid;

	memset(p, 0, sizeof(*p));
	p->nq = nq;
	for (unsigned q = 0; q < nq; q++) {
		snprintf(rn, sizeof(rn), "%s_rx%u", tag, q);
		p->rx[q] = rte_ring_create(rn, 4096, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(rn, sizeof(rn), "%s_tx%u", tag, q);
		p->tx[q] = rte_ring_create(rn, 8192, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (p->rx[q] == NULL || p->tx[q] == NULL)
			return -1;
	}
	pid = rte_eth_from_rings(tag, p->rx, nq, p->tx, nq, 0);
	if (pid < 0)
		return -1;
	return rte_eth_dev_get_name_by_port((uint16_t)pid, p->name);
}

struct rte_mbuf *ut_udp(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport, uint16_t seq)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(ut_pool);
	const uint16_t len = 14 + 20 + 8 + 12 + 160;
	uint8_t *p;
	struct rte_ipv4_hdr *ip;
	struct rte_udp_hdr *udp;

	if (m == NULL)
		return NULL;
	p = (uint8_t *)rte_pktmbuf_append(m, len);
	memset(p, 0, len);
	p[12] = 0x08;
	ip = (struct rte_ipv4_hdr *)(p + 14);
	ip->version_ihl = 0x45;
	ip->total_length = rte_cpu_to_be_16(len - 14);
	ip->time_to_live = 64;
	ip->next_proto_id = 17;
	ip->src_addr = rte_cpu_to_be_32(src);
	ip->dst_addr = rte_cpu_to_be_32(dst);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp = (struct rte_udp_hdr *)(ip + 1);
	udp->src_port = rte_cpu_to_be_16(sport);
	udp->dst_port = rte_cpu_to_be_16(dport);
	udp->dgram_len = rte_cpu_to_be_16(len - 34);
	p[42] = 0x80;
	p[44] = (uint8_t)(seq >> 8);
	p[45] = (uint8_t)seq;
	return m;
}

struct rte_mbuf *ut_arp_reply(uint32_t sip, const uint8_t smac[6], uint32_t tip)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(ut_pool);
	struct rte_ether_hdr *eth;
	struct rte_arp_hdr *arp;

	if (m == NULL)
		return NULL;
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, sizeof(*eth) + sizeof(*arp));
	arp = (struct rte_arp_hdr *)(eth + 1);
	memset(eth, 0, sizeof(*eth) + sizeof(*arp));
	memcpy(&eth->src_addr, smac, 6);
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
	arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = 6;
	arp->arp_plen = 4;
	arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
	memcpy(&arp->arp_data.arp_sha, smac, 6);
	arp->arp_data.arp_sip = rte_cpu_to_be_32(sip);
	arp->arp_data.arp_tip = rte_cpu_to_be_32(tip);
	return m;
}

int ut_put(struct rte_ring *r, struct rte_mbuf *m)
{
	for (int i = 0; i < 100000; i++) {
		if (rte_ring_sp_enqueue(r, m) == 0)
			return 0;
		usleep(10);
	}
	rte_pktmbuf_free(m);
	return -1;
}
