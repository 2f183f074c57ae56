/* SPDX-License-Identifier: BSD-3-Clause
 * rtprec-gen ports: any ethdev EAL made (PCI or --vdev), by id or device name,
 * one RX and one TX queue each, one mbuf pool. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "gen.h"

#define GEN_RX_DESC 1024
#define GEN_TX_DESC 1024

static int gen_port_find(const char *s, uint16_t *pid)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (end != s && *end == '\0' && v < RTE_MAX_ETHPORTS && rte_eth_dev_is_valid_port((uint16_t)v)) {
		*pid = (uint16_t)v;
		return 0;
	}
	if (rte_eth_dev_get_port_by_name(s, pid) == 0)
		return 0;
	fprintf(stderr, "rtprec-gen: no DPDK port '%s' (%u ports; add --vdev=... or -a PCI)\n", s,
		rte_eth_dev_count_avail());
	return -ENODEV;
}

static int gen_port_start(uint16_t pid, struct rte_mempool *pool)
{
	struct rte_eth_conf conf;
	uint16_t rxd = GEN_RX_DESC, txd = GEN_TX_DESC;
	int socket = rte_eth_dev_socket_id(pid), rc;

	if (socket < 0)
		socket = 0;
	memset(&conf, 0, sizeof(conf));
	rc = rte_eth_dev_configure(pid, 1, 1, &conf);
	if (rc == 0)
		rc = rte_eth_dev_adjust_nb_rx_tx_desc(pid, &rxd, &txd);
	if (rc == 0)
		rc = rte_eth_rx_queue_setup(pid, 0, rxd, (unsigned)socket, NULL, pool);
	if (rc == 0)
		rc = rte_eth_tx_queue_setup(pid, 0, txd, (unsigned)socket, NULL);
	if (rc == 0)
		rc = rte_eth_dev_start(pid);
	if (rc != 0) {
		fprintf(stderr, "rtprec-gen: port %u set-up failed: %s\n", pid, rte_strerror(-rc));
		return rc;
	}
	rte_eth_promiscuous_enable(pid); /* not every PMD can: fine */
	return 0;
}

static void gen_port_wait_link(uint16_t pid, uint32_t seconds)
{
	uint64_t end = rte_get_tsc_cycles() + (uint64_t)seconds * rte_get_tsc_hz();
	struct rte_eth_link link;

	do {
		memset(&link, 0, sizeof(link));
		if (rte_eth_link_get_nowait(pid, &link) == 0 && link.link_status)
			return;
		rte_delay_ms(10);
	} while (rte_get_tsc_cycles() < end);
	fprintf(stderr, "rtprec-gen: port %u: link still down after %u s, sending anyway\n", pid,
		seconds);
}

int gen_ports_open(const struct gen_opts *o, struct gen_ports *p)
{
	unsigned n_mbufs = o->mbufs;
	int rc;

	memset(p, 0, sizeof(*p));
	if (gen_port_find(o->tx_port, &p->tx) != 0)
		return -ENODEV;
	p->has_rx = o->rx_port == NULL || strcmp(o->rx_port, "none") != 0;
	p->rx = p->tx;
	if (o->rx_port != NULL && p->has_rx && gen_port_find(o->rx_port, &p->rx) != 0)
		return -ENODEV;
	p->pool = rte_pktmbuf_pool_create("gen_pool", n_mbufs + 2 * (GEN_RX_DESC + GEN_TX_DESC),
					  256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
	if (p->pool == NULL) {
		fprintf(stderr, "rtprec-gen: cannot create a pool of %u mbufs: %s\n", n_mbufs,
			rte_strerror(rte_errno));
		return -ENOMEM;
	}
	rc = gen_port_start(p->tx, p->pool);
	if (rc == 0 && p->rx != p->tx)
		rc = gen_port_start(p->rx, p->pool);
	if (rc != 0)
		return rc;
	gen_port_wait_link(p->tx, o->link_wait_s);
	if (p->rx != p->tx)
		gen_port_wait_link(p->rx, o->link_wait_s);
	return 0;
}

void gen_ports_close(struct gen_ports *p)
{
	rte_eth_dev_stop(p->tx);
	rte_eth_dev_close(p->tx);
	if (p->rx != p->tx) {
		rte_eth_dev_stop(p->rx);
		rte_eth_dev_close(p->rx);
	}
	rte_mempool_free(p->pool);
	p->pool = NULL;
}
