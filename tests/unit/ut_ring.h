/* SPDX-License-Identifier: BSD-3-Clause
 * Helpers for tests that run the real worker over net_ring ports. */
#ifndef RTPREC_UT_RING_H
#define RTPREC_UT_RING_H

#include <stdint.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

struct ut_port {
	char name[RTE_ETH_NAME_MAX_LEN];
	unsigned nq;
	struct rte_ring *rx[4]; /* the test enqueues here: the port receives */
	struct rte_ring *tx[4]; /* the port transmits here: the test dequeues */
};

/* EAL with --no-huge, the given lcores, and a packet pool. 0 or -1. */
int ut_eal_init(const char *prefix, const char *lcores);
extern struct rte_mempool *ut_pool;

/* A port "tag" with nq queues backed by rings. 0 or -1. */
int ut_port_create(struct ut_port *p, const char *tag, unsigned nq);

/* An RTP/UDP/IPv4 frame (host-order addresses), 214 bytes. */
struct rte_mbuf *ut_udp(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport, uint16_t seq);
/* An ARP reply from sender (ip, mac) to target ip. */
struct rte_mbuf *ut_arp_reply(uint32_t sip, const uint8_t smac[6], uint32_t tip);

/* Enqueue, waiting (bounded) for room. 0 or -1. */
int ut_put(struct rte_ring *r, struct rte_mbuf *m);

#endif
