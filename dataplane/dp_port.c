/* SPDX-License-Identifier: BSD-3-Clause
 * Dataplane set-up: mbuf pools per NUMA socket, ports (any PMD), one RX and
 * one TX queue per worker (RSS when there are several), workers and rings. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "config/cfg_log.h"
#include "dp_priv.h"

#define DP_POOL_CACHE 256
#define DP_REC_COPY_POOL 4096u /* mbufs (+ caches) for record copies per worker, at most */

static int dp_socket_of_port(uint16_t port_id)
{
	int s = rte_eth_dev_socket_id(port_id);
	return s < 0 ? 0 : s;
}

static struct rte_mempool *dp_make_pool(const struct dp_ctx *dp, const char *name, int socket,
				       unsigned n)
{
	return rte_pktmbuf_pool_create(name, n, DP_POOL_CACHE,
				       RTE_ALIGN(sizeof(struct dp_rec_saved), RTE_MBUF_PRIV_ALIGN),
				       (uint16_t)dp->cfg->dataplane.mbuf_size, socket);
}

struct rte_mempool *dp_pool_for_socket(struct dp_ctx *dp, int socket)
{
	if (socket < 0 || socket >= RTE_MAX_NUMA_NODES)
		socket = 0;
	if (dp->pools[socket] == NULL) {
		char name[RTE_MEMPOOL_NAMESIZE];
		snprintf(name, sizeof(name), "mbuf_s%d", socket);
		dp->pools[socket] = dp_make_pool(dp, name, socket, dp->cfg->dataplane.mbufs);
		if (dp->pools[socket] == NULL)
			LOG_ERR("cannot create a pool of %u mbufs on socket %d: %s (raise hugepages "
				"or lower dataplane.mbufs)",
				dp->cfg->dataplane.mbufs, socket, rte_strerror(rte_errno));
	}
	return dp->pools[socket];
}

static void dp_list_devices(void)
{
	uint16_t pid;
	char name[RTE_ETH_NAME_MAX_LEN];

	RTE_ETH_FOREACH_DEV(pid)
	{
		if (rte_eth_dev_get_name_by_port(pid, name) == 0)
			LOG_ERR("  available: %s", name);
	}
}

/* net_af_packet's socket takes frames from every interface until the PMD binds it to
 * its own: those left in its ring at start are not ours (they would count as no_flow).
 * Other PMDs keep theirs (net_pcap's input file starts at once). */
static void dp_port_flush_stale(uint16_t port_id, uint16_t nq)
{
	struct rte_eth_dev_info info;
	struct rte_mbuf *m[32];

	if (rte_eth_dev_info_get(port_id, &info) != 0 || info.driver_name == NULL ||
	    strcmp(info.driver_name, "net_af_packet") != 0)
		return;
	for (uint16_t q = 0; q < nq; q++)
		for (unsigned i = 0, n = 1; i < 64 && n != 0; i++) {
			n = rte_eth_rx_burst(port_id, q, m, 32);
			rte_pktmbuf_free_bulk(m, n);
		}
}

static int dp_port_configure(struct dp_ctx *dp, unsigned idx)
{
	const struct cfg_port *cp = &dp->cfg->ports[idx];
	struct dp_port_info *pi = &dp->ports[idx];
	struct rte_eth_conf conf;
	struct rte_eth_dev_info info;
	struct rte_ether_addr mac;
	uint16_t nw = (uint16_t)dp->n_workers;
	uint16_t rxd = (uint16_t)cp->rx_desc, txd = (uint16_t)cp->tx_desc;
	int socket, rc;

	if (rte_eth_dev_get_port_by_name(cp->device, &pi->port_id) != 0) {
		LOG_ERR("port %s: no DPDK device named '%s' (add a --vdev or bind the NIC)",
			cp->name, cp->device);
		dp_list_devices();
		return -ENODEV;
	}
	rc = rte_eth_dev_info_get(pi->port_id, &info);
	if (rc != 0)
		return rc;
	if (info.max_rx_queues < nw || info.max_tx_queues < nw) {
		LOG_ERR("port %s (%s): %u workers need %u rx and tx queues, the device has %u/%u",
			cp->name, cp->device, nw, nw, info.max_rx_queues, info.max_tx_queues);
		return -EINVAL;
	}
	memset(&conf, 0, sizeof(conf));
	if (nw > 1) {
		uint64_t hf = (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP) & info.flow_type_rss_offloads;
		if (hf != 0) {
			conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
			conf.rx_adv_conf.rss_conf.rss_hf = hf;
		} else {
			LOG_WARN("port %s: device has no RSS; flows land on whatever queue it picks",
				 cp->name);
		}
	}
	if (dp->cfg->dataplane.mbuf_size <
	    RTE_PKTMBUF_HEADROOM + RTE_ETHER_MAX_LEN + 2 * DP_VLAN_HLEN) {
		/* frames longer than an mbuf come chained: to be received and sent so, where
		 * the device can (only then: it costs some PMDs their vector paths) */
		conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_SCATTER & info.rx_offload_capa;
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS & info.tx_offload_capa;
	}
	rc = rte_eth_dev_configure(pi->port_id, nw, nw, &conf);
	if (rc != 0) {
		LOG_ERR("port %s: configure failed: %s", cp->name, rte_strerror(-rc));
		return rc;
	}
	rte_eth_dev_adjust_nb_rx_tx_desc(pi->port_id, &rxd, &txd);
	socket = dp_socket_of_port(pi->port_id);
	struct rte_mempool *pool = dp_pool_for_socket(dp, socket);
	if (pool == NULL)
		return -ENOMEM;
	for (uint16_t q = 0; q < nw; q++) {
		rc = rte_eth_rx_queue_setup(pi->port_id, q, rxd, (unsigned)socket, NULL, pool);
		if (rc == 0)
			rc = rte_eth_tx_queue_setup(pi->port_id, q, txd, (unsigned)socket, NULL);
		if (rc != 0) {
			LOG_ERR("port %s: queue %u set-up failed: %s", cp->name, q,
				rte_strerror(-rc));
			return rc;
		}
	}
	rc = rte_eth_dev_start(pi->port_id);
	if (rc != 0) {
		LOG_ERR("port %s: start failed: %s", cp->name, rte_strerror(-rc));
		return rc;
	}
	dp->ports_started[idx] = true;
	dp_port_flush_stale(pi->port_id, nw);
	rte_eth_promiscuous_enable(pi->port_id); /* not every PMD can: fine */
	rte_eth_macaddr_get(pi->port_id, &mac);
	memcpy(pi->mac, mac.addr_bytes, 6);
	pi->ip = rte_cpu_to_be_32(cp->ip);
	pi->mask = rte_cpu_to_be_32(cp->prefix_len ? ~0u << (32 - cp->prefix_len) : 0);
	pi->vlan = (uint16_t)cp->vlan;
	pi->cfg = cp;
	pi->n_extra = 0;
	if (idx == dp->cfg->media.port_index)
		for (unsigned i = 0; i < dp->cfg->media.n_addr; i++)
			if (dp->cfg->media.addr_ip[i] != cp->ip)
				pi->extra_ip[pi->n_extra++] = rte_cpu_to_be_32(dp->cfg->media.addr_ip[i]);
	LOG_INFO("port %s: %s (port %u, socket %d) %s mac " RTE_ETHER_ADDR_PRT_FMT, cp->name,
		 cp->device, pi->port_id, socket, cp->ipv4,
		 RTE_ETHER_ADDR_BYTES(&mac));
	if (pi->vlan != 0)
		LOG_INFO("port %s: VLAN %u only, all it sends tagged", cp->name, pi->vlan);
	return 0;
}

int dp_ports_setup(struct dp_ctx *dp)
{
	dp->n_ports = dp->cfg->ports_count;
	for (unsigned i = 0; i < dp->n_ports; i++) {
		int rc = dp_port_configure(dp, i);
		if (rc != 0)
			return rc;
	}
	return 0;
}

void dp_ports_close(struct dp_ctx *dp)
{
	for (unsigned i = 0; i < dp->n_ports; i++) {
		if (!dp->ports_started[i])
			continue;
		rte_eth_dev_stop(dp->ports[i].port_id);
		rte_eth_dev_close(dp->ports[i].port_id);
		dp->ports_started[i] = false;
	}
}

static int dp_worker_create(struct dp_ctx *dp, unsigned idx, unsigned lcore)
{
	const struct cfg_dataplane *dc = &dp->cfg->dataplane;
	int socket = (int)rte_lcore_to_socket_id(lcore);
	struct dp_worker *w;
	char name[64];

	w = rte_zmalloc_socket("dp_worker", sizeof(*w), RTE_CACHE_LINE_SIZE, socket);
	if (w == NULL)
		return -ENOMEM;
	dp->workers[idx] = w;
	w->idx = idx;
	w->lcore = lcore;
	w->queue = (uint16_t)idx;
	w->burst = dc->burst > DP_MAX_BURST ? DP_MAX_BURST : dc->burst;
	w->idle_sleep_us = dc->idle_sleep_us;
	if (dc->rx_pace_pps != 0) {
		w->pace_q32 = ((uint64_t)dc->rx_pace_pps << 32) / rte_get_tsc_hz();
		w->pace_ring = dp->n_ports ? dp->ports[0].cfg->rx_desc : 1024;
	}
	w->dp = dp;
	w->tsc_hz = rte_get_tsc_hz();
	w->drain_tsc = (w->tsc_hz + US_PER_S - 1) / US_PER_S * DP_DRAIN_US;
	w->arp_retry_tsc = w->tsc_hz / 1000 * DP_ARP_RETRY_MS;
	w->arp_giveup_tsc = w->tsc_hz / 1000 * DP_ARP_GIVEUP_MS;
	w->pool = dp_pool_for_socket(dp, socket);
	snprintf(name, sizeof(name), "ft_w%u", idx);
	w->ft = dp_ft_create(name, dc->flow_table_size, socket);
	snprintf(name, sizeof(name), "cmd_w%u", idx);
	w->cmd = dp_msg_ring_create(name, DP_CMD_RING, socket);
	snprintf(name, sizeof(name), "ev_w%u", idx);
	w->ev = dp_msg_ring_create(name, DP_EVENT_RING, socket);
	w->n_rec = dp->cfg->recording.threads ? dp->cfg->recording.threads : 1;
	for (unsigned t = 0; t < w->n_rec; t++) {
		snprintf(name, sizeof(name), "rec_w%u_%u", idx, t);
		w->rec[t] = rte_ring_create_elem(name, DP_REC_ITEM_SIZE, dc->record_ring_size,
						 socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (w->rec[t] == NULL)
			w->n_rec = 0; /* reported below */
	}
	snprintf(name, sizeof(name), "punt_w%u", idx);
	w->punt = rte_ring_create(name, DP_PUNT_RING, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
	snprintf(name, sizeof(name), "txreq_w%u", idx);
	w->txreq = rte_ring_create(name, DP_TXREQ_RING, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
	snprintf(name, sizeof(name), "reccp_w%u", idx);
	/* only for frames that cannot be shared with the recorder (chained mbufs) */
	w->rec_pool = dp_make_pool(dp, name, socket,
				   RTE_MIN(dc->record_ring_size, DP_REC_COPY_POOL) + 2 * DP_POOL_CACHE);
	w->max_held = dc->neigh_hold;
	w->held = rte_zmalloc_socket("dp_held", sizeof(*w->held) * (w->max_held + 1), 0, socket);
	if (w->ft == NULL || w->cmd == NULL || w->ev == NULL || w->n_rec == 0 ||
	    w->punt == NULL || w->txreq == NULL ||
	    w->rec_pool == NULL || w->held == NULL || w->pool == NULL) {
		LOG_ERR("worker %u: cannot allocate its table, rings or pools: %s "
			"(flow_table_size %u, record_ring_size %u)",
			idx, rte_strerror(rte_errno), dc->flow_table_size, dc->record_ring_size);
		return -ENOMEM;
	}
	for (unsigned p = 0; p < dp->n_ports; p++) {
		w->txb[p] = rte_zmalloc_socket("dp_txb", RTE_ETH_TX_BUFFER_SIZE(DP_MAX_BURST), 0,
					       socket);
		if (w->txb[p] == NULL)
			return -ENOMEM;
		rte_eth_tx_buffer_init(w->txb[p], DP_MAX_BURST);
		rte_eth_tx_buffer_set_err_callback(w->txb[p], rte_eth_tx_buffer_count_callback,
						   &w->c.drops[p][DP_DROP_TX_FULL]);
	}
	return 0;
}

static void dp_worker_free(struct dp_worker *w)
{
	if (w == NULL)
		return;
	for (unsigned p = 0; p < CFG_MAX_PORTS; p++)
		rte_free(w->txb[p]);
	dp_ft_free(w->ft);
	rte_ring_free(w->cmd);
	rte_ring_free(w->ev);
	rte_ring_free(w->punt);
	rte_ring_free(w->txreq);
	for (unsigned t = 0; t < CFG_MAX_REC_THREADS; t++)
		rte_ring_free(w->rec[t]);
	rte_mempool_free(w->rec_pool);
	rte_free(w->held);
	rte_free(w);
}

int dp_create(const struct cfg *cfg, struct dp_ctx **out)
{
	struct dp_ctx *dp = rte_zmalloc("dp_ctx", sizeof(*dp), RTE_CACHE_LINE_SIZE);
	unsigned lcore, idx = 0;
	int rc;

	*out = NULL;
	if (dp == NULL)
		return -ENOMEM;
	dp->cfg = cfg;
	dp->n_workers = cfg->workers;
	if (rte_lcore_count() < cfg->workers + 1) {
		LOG_ERR("%u workers need %u lcores (one more for the control plane); EAL has %u",
			cfg->workers, cfg->workers + 1, rte_lcore_count());
		rte_free(dp);
		return -EINVAL;
	}
	rc = dp_ports_setup(dp);
	if (rc == 0) {
		/* whole STUN/TURN messages in one segment, whatever mbuf_size is */
		dp->txreq_pool = rte_pktmbuf_pool_create("txreq", DP_TXREQ_POOL, DP_POOL_CACHE, 0,
							 RTE_MBUF_DEFAULT_BUF_SIZE,
							 (int)rte_socket_id());
		if (dp->txreq_pool == NULL)
			rc = -ENOMEM;
	}
	RTE_LCORE_FOREACH_WORKER(lcore)
	{
		if (rc != 0 || idx >= dp->n_workers)
			break;
		rc = dp_worker_create(dp, idx++, lcore);
	}
	if (rc != 0) {
		dp_destroy(dp);
		return rc;
	}
	*out = dp;
	return 0;
}

int dp_launch(struct dp_ctx *dp)
{
	for (unsigned i = 0; i < dp->n_workers; i++) {
		int rc = rte_eal_remote_launch(dp_worker_main, dp->workers[i], dp->workers[i]->lcore);
		if (rc != 0)
			return rc;
	}
	return 0;
}

void dp_wait(struct dp_ctx *dp)
{
	for (unsigned i = 0; i < dp->n_workers; i++)
		rte_eal_wait_lcore(dp->workers[i]->lcore);
}

void dp_destroy(struct dp_ctx *dp)
{
	if (dp == NULL)
		return;
	dp_ports_close(dp);
	for (unsigned i = 0; i < dp->n_workers; i++)
		dp_worker_free(dp->workers[i]);
	for (unsigned s = 0; s < RTE_MAX_NUMA_NODES; s++)
		rte_mempool_free(dp->pools[s]);
	rte_mempool_free(dp->txreq_pool);
	rte_free(dp);
}

unsigned dp_worker_count(const struct dp_ctx *dp) { return dp->n_workers; }
unsigned dp_port_count(const struct dp_ctx *dp) { return dp->n_ports; }
const struct dp_port_info *dp_port(const struct dp_ctx *dp, unsigned idx) { return &dp->ports[idx]; }
struct rte_ring *dp_cmd_ring(struct dp_ctx *dp, unsigned w) { return dp->workers[w]->cmd; }
struct rte_ring *dp_punt_ring(struct dp_ctx *dp, unsigned w) { return dp->workers[w]->punt; }
struct rte_ring *dp_txreq_ring(struct dp_ctx *dp, unsigned w) { return dp->workers[w]->txreq; }
struct rte_mempool *dp_txreq_pool(struct dp_ctx *dp) { return dp->txreq_pool; }
struct rte_ring *dp_event_ring(struct dp_ctx *dp, unsigned w) { return dp->workers[w]->ev; }
struct rte_ring *dp_record_ring(struct dp_ctx *dp, unsigned w, unsigned t) { return dp->workers[w]->rec[t]; }
const struct dp_worker_counters *dp_counters(const struct dp_ctx *dp, unsigned w) { return &dp->workers[w]->c; }
unsigned dp_worker_lcore(const struct dp_ctx *dp, unsigned w) { return dp->workers[w]->lcore; }
