/* SPDX-License-Identifier: BSD-3-Clause
 * Receive side of rtprec-gen: finds the stamp behind the RTP header of what comes
 * back (whatever a device under test did to addresses and ports) and keeps, per
 * stream, unique packets, reordering, duplicates and TSC latency. */
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>

#include "gen.h"

int gen_rx_init(struct gen_rx_ctx *c, uint32_t streams)
{
	memset(c, 0, sizeof(*c));
	c->streams = streams;
	c->rx = calloc(streams, sizeof(*c->rx));
	if (c->rx == NULL)
		return -1;
	for (uint32_t i = 0; i < streams; i++)
		c->rx[i].lat_min = UINT64_MAX;
	return 0;
}

void gen_rx_free(struct gen_rx_ctx *c)
{
	free(c->rx);
	c->rx = NULL;
}

static uint32_t gen_get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return rte_be_to_cpu_32(v);
}

/* Sequence bookkeeping: a window of GEN_RX_WINDOW sequences behind the highest
 * seen tells a duplicate from a late packet; older ones count as reordered. */
static void gen_rx_seq(struct gen_rx_ctx *c, struct gen_rx_stream *r, uint32_t xseq)
{
	if (xseq >= r->next) {
		uint32_t shift = xseq - r->next + 1;
		r->win = shift >= GEN_RX_WINDOW ? 0 : r->win << shift;
		r->win |= 1;
		r->next = xseq + 1;
	} else {
		uint32_t d = r->next - 1 - xseq;
		if (d < GEN_RX_WINDOW) {
			uint64_t bit = 1ull << d;
			if (r->win & bit) {
				r->duplicates++;
				return;
			}
			r->win |= bit;
		}
		r->reordered++;
	}
	r->received++;
	c->received++;
}

static void gen_rx_latency(struct gen_rx_stream *r, uint64_t tsc, uint64_t now)
{
	uint64_t lat;

	if (tsc == 0) /* replayed from a pcap: no send time */
		return;
	lat = now > tsc ? now - tsc : 0;
	r->lat_n++;
	r->lat_sum += lat;
	if (lat < r->lat_min)
		r->lat_min = lat;
	if (lat > r->lat_max)
		r->lat_max = lat;
}

void gen_rx_frame(struct gen_rx_ctx *c, const uint8_t *p, uint32_t len, uint64_t now)
{
	uint32_t off = 12, ihl, ulen, id, xseq;
	const uint8_t *u;
	uint64_t tsc;

	if (len >= 18 && p[12] == 0x81 && p[13] == 0x00)
		off = 16; /* one VLAN tag */
	if (len < off + 2 + 20 || p[off] != 0x08 || p[off + 1] != 0x00)
		goto other;
	p += off + 2;
	len -= off + 2;
	ihl = (uint32_t)(p[0] & 0x0f) * 4;
	if ((p[0] >> 4) != 4 || ihl < 20 || p[9] != 17 || len < ihl + 8)
		goto other;
	u = p + ihl + 8;
	ulen = len - ihl - 8;
	if (ulen >= 8 && (u[0] >> 6) == 2 && u[1] == 200) {
		c->rtcp_received++;
		return;
	}
	if (ulen < GEN_RTP_HDR + GEN_STAMP_LEN || (u[0] >> 6) != 2 ||
	    gen_get32(u + GEN_RTP_HDR) != GEN_MAGIC)
		goto other;
	id = gen_get32(u + GEN_RTP_HDR + 4);
	if (id >= c->streams)
		goto other;
	xseq = gen_get32(u + GEN_RTP_HDR + 8);
	tsc = ((uint64_t)gen_get32(u + GEN_RTP_HDR + 12) << 32) | gen_get32(u + GEN_RTP_HDR + 16);
	if (tsc != 0 && tsc < c->since)
		goto other;
	gen_rx_seq(c, &c->rx[id], xseq);
	gen_rx_latency(&c->rx[id], tsc, now);
	return;
other:
	c->rx_other++;
}
