/* SPDX-License-Identifier: BSD-3-Clause
 * rtprec-gen on DPDK ports: the TX loop (TSC pacing per burst, retries of what the
 * port refused) on the main lcore, the RX loop on a second lcore when EAL gave one,
 * else interleaved with TX. No allocation, stdio or locks per packet. */
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "gen.h"

volatile int gen_stop;

#define GEN_PACE_BURST_US 100 /* paced bursts are at most this far apart */
#define GEN_LATE_MS 10        /* further behind than this: restart pacing from now */
#define GEN_STALL_MS 1000     /* port refusing everything this long: give up */

struct gen_run {
	const struct gen_opts *o;
	struct gen_pkt_ctx *pc;
	struct gen_rx_ctx *rc;
	const struct gen_ports *ports;
	struct gen_totals *t;
	uint64_t hz;
	uint64_t tx_total;  /* RTP packets sent, valid once tx_done */
	uint64_t drain_end; /* TSC, valid once tx_done */
	int tx_done;
};

struct gen_txq {
	struct rte_mbuf *m[GEN_BURST_MAX];
	struct gen_slot slot[GEN_BURST_MAX];
	unsigned n, off;
};

/* Aggregate-rate pacing: deadline of the next burst, advanced by q + rem/rate
 * cycles per RTP packet without drift. */
struct gen_pace {
	uint64_t next, acc, q, rem, rate, late;
};

static unsigned gen_rx_poll(struct gen_run *r)
{
	struct rte_mbuf *m[GEN_BURST_MAX];
	uint16_t n = rte_eth_rx_burst(r->ports->rx, 0, m, GEN_BURST_MAX);
	uint64_t now;

	if (n == 0)
		return 0;
	now = rte_rdtsc();
	for (uint16_t i = 0; i < n; i++) {
		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(m[i + 1], void *));
		gen_rx_frame(r->rc, rte_pktmbuf_mtod(m[i], const uint8_t *),
			     rte_pktmbuf_data_len(m[i]), now);
	}
	rte_pktmbuf_free_bulk(m, n);
	return n;
}

static bool gen_rx_finished(struct gen_run *r)
{
	if (gen_stop)
		return true;
	if (!__atomic_load_n(&r->tx_done, __ATOMIC_ACQUIRE))
		return false;
	return r->rc->received >= r->tx_total || rte_rdtsc() >= r->drain_end;
}

static int gen_rx_main(void *arg)
{
	struct gen_run *r = arg;

	while (!gen_rx_finished(r))
		gen_rx_poll(r);
	return 0;
}

static unsigned gen_tx_build(struct gen_run *r, struct gen_txq *q, unsigned want, uint64_t now)
{
	unsigned rtp = 0;

	if (rte_pktmbuf_alloc_bulk(r->ports->pool, q->m, want) != 0) {
		r->t->alloc_failed++;
		return 0;
	}
	for (unsigned i = 0; i < want; i++) {
		struct rte_mbuf *m = q->m[i];
		uint16_t len = gen_pkt_next(r->pc, rte_pktmbuf_mtod(m, uint8_t *), now, &q->slot[i]);
		m->data_len = len;
		m->pkt_len = len;
		rtp += !q->slot[i].rtcp;
	}
	q->n = want;
	q->off = 0;
	return rtp;
}

static void gen_pace_init(struct gen_pace *p, const struct gen_opts *o, uint64_t hz, uint64_t now)
{
	memset(p, 0, sizeof(*p));
	p->next = now;
	if (o->rate_max)
		return;
	p->rate = o->rate_pps;
	p->q = hz / p->rate;
	p->rem = hz % p->rate;
	p->late = hz / 1000 * GEN_LATE_MS;
}

static void gen_pace_advance(struct gen_pace *p, unsigned pkts)
{
	p->next += pkts * p->q;
	p->acc += pkts * p->rem;
	p->next += p->acc / p->rate;
	p->acc %= p->rate;
}

static unsigned gen_burst_size(const struct gen_opts *o)
{
	uint64_t b;

	if (o->rate_max)
		return o->burst;
	b = o->rate_pps * GEN_PACE_BURST_US / 1000000;
	return b < 1 ? 1 : b > o->burst ? o->burst : (unsigned)b;
}

/* Returns false when the loop is over: nothing pending and nothing more to build. */
static bool gen_tx_refill(struct gen_run *r, struct gen_txq *q, struct gen_pace *p,
			  unsigned burst, uint64_t now, uint64_t end)
{
	unsigned want = burst;
	uint64_t left = gen_pkt_left(r->pc);

	if (left == 0 || now >= end)
		return false;
	if (p->rate != 0) {
		if (now < p->next)
			return true;
		if (now - p->next > p->late) {
			p->next = now;
			r->t->pace_late++;
		}
	}
	if (left < want)
		want = (unsigned)left;
	if (p->rate != 0)
		gen_pace_advance(p, gen_tx_build(r, q, want, now));
	else
		gen_tx_build(r, q, want, now);
	return true;
}

static void gen_tx_loop(struct gen_run *r, bool inline_rx, uint64_t start)
{
	const struct gen_opts *o = r->o;
	uint16_t port = r->ports->tx;
	uint64_t end = o->duration_s > 0 ? start + (uint64_t)(o->duration_s * (double)r->hz)
					  : UINT64_MAX;
	uint64_t stall = r->hz / 1000 * GEN_STALL_MS, progress = start;
	unsigned burst = gen_burst_size(o);
	struct gen_txq q = {.n = 0, .off = 0};
	struct gen_pace pace;

	gen_pace_init(&pace, o, r->hz, start);
	while (!gen_stop) {
		uint64_t now = rte_rdtsc();
		if (q.off == q.n) {
			if (!gen_tx_refill(r, &q, &pace, burst, now, end))
				break;
			progress = now; /* a stall counts from when a burst waits */
		}
		if (q.off < q.n) {
			uint16_t sent = rte_eth_tx_burst(port, 0, q.m + q.off, (uint16_t)(q.n - q.off));
			for (uint16_t i = 0; i < sent; i++)
				gen_pkt_account(r->pc, &q.slot[q.off + i], r->t);
			q.off += sent;
			if (sent != 0)
				progress = now;
			else if (now - progress > stall)
				break;
		}
		if (inline_rx)
			gen_rx_poll(r);
	}
	if (q.off < q.n) {
		rte_pktmbuf_free_bulk(q.m + q.off, q.n - q.off);
		r->t->tx_dropped += q.n - q.off;
	}
}

int gen_run_ports(const struct gen_opts *o, struct gen_pkt_ctx *pc, struct gen_rx_ctx *rc,
		  const struct gen_ports *ports, struct gen_totals *t, double *elapsed_s)
{
	struct gen_run r = {.o = o, .pc = pc, .rc = rc, .ports = ports, .t = t,
			    .hz = rte_get_tsc_hz()};
	unsigned rx_lcore = rte_get_next_lcore(-1, 1, 0);
	bool rx_thread = ports->has_rx && rx_lcore < RTE_MAX_LCORE;
	uint64_t start, stop;

	rc->since = rte_rdtsc();
	if (rx_thread && rte_eal_remote_launch(gen_rx_main, &r, rx_lcore) != 0)
		rx_thread = false;
	start = rte_rdtsc();
	gen_tx_loop(&r, ports->has_rx && !rx_thread, start);
	stop = rte_rdtsc();
	*elapsed_s = (double)(stop - start) / (double)r.hz;
	r.tx_total = t->sent;
	r.drain_end = stop + r.hz / 1000 * o->drain_ms;
	__atomic_store_n(&r.tx_done, 1, __ATOMIC_RELEASE);
	if (rx_thread)
		rte_eal_wait_lcore(rx_lcore);
	else if (ports->has_rx)
		gen_rx_main(&r);
	return 0;
}
