/* SPDX-License-Identifier: BSD-3-Clause
 * Frames of rtprec-gen: one constant RTP frame, patched per packet (source address,
 * ports, RTP sequence/timestamp/SSRC, stamp) with an incremental UDP checksum, and
 * RTCP sender reports. The same bytes go to a DPDK port or to a pcap file. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_byteorder.h>
#include <rte_ip.h>

#include "gen.h"

/* Offsets in an untagged IPv4/UDP frame. */
#define GEN_OFF_IP 14
#define GEN_OFF_IP_LEN (GEN_OFF_IP + 2)
#define GEN_OFF_IP_CSUM (GEN_OFF_IP + 10)
#define GEN_OFF_IP_SRC (GEN_OFF_IP + 12)
#define GEN_OFF_UDP (GEN_OFF_IP + 20)
#define GEN_OFF_UDP_LEN (GEN_OFF_UDP + 4)
#define GEN_OFF_UDP_CSUM (GEN_OFF_UDP + 6)
#define GEN_OFF_RTP (GEN_OFF_UDP + 8)
/* What changes per packet: RTP sequence, timestamp, SSRC and the stamp. */
#define GEN_OFF_VAR (GEN_OFF_RTP + 2)
#define GEN_VAR_LEN (GEN_RTP_HDR - 2 + GEN_STAMP_LEN)
#define GEN_SR_LEN 28 /* RTCP SR without report blocks */
#define GEN_NTP_UNIX_OFFSET 2208988800ull
#define GEN_FILL 0xd5

static void gen_put16(uint8_t *p, uint16_t v)
{
	v = rte_cpu_to_be_16(v);
	memcpy(p, &v, 2);
}

static void gen_put32(uint8_t *p, uint32_t v)
{
	v = rte_cpu_to_be_32(v);
	memcpy(p, &v, 4);
}

static void gen_put64(uint8_t *p, uint64_t v)
{
	v = rte_cpu_to_be_64(v);
	memcpy(p, &v, 8);
}

/* Ethernet + IPv4 + UDP headers for an L4 payload of l4_len bytes, checksums 0. */
static void gen_headers(const struct gen_opts *o, uint8_t *f, uint16_t l4_len)
{
	memcpy(f, o->dst_mac, 6);
	memcpy(f + 6, o->src_mac, 6);
	gen_put16(f + 12, 0x0800);
	f[GEN_OFF_IP] = 0x45;
	f[GEN_OFF_IP + 1] = 0xB8; /* DSCP EF */
	gen_put16(f + GEN_OFF_IP_LEN, (uint16_t)(20 + 8 + l4_len));
	f[GEN_OFF_IP + 8] = 64;
	f[GEN_OFF_IP + 9] = 17;
	gen_put32(f + GEN_OFF_IP + 16, o->dst_ip);
	gen_put16(f + GEN_OFF_UDP_LEN, (uint16_t)(8 + l4_len));
}

static void gen_rtp_template(struct gen_pkt_ctx *c)
{
	const struct gen_opts *o = c->o;
	uint8_t *f = c->rtp_tmpl;
	uint16_t l4 = (uint16_t)(GEN_RTP_HDR + o->payload);

	memset(f, 0, sizeof(c->rtp_tmpl));
	gen_headers(o, f, l4);
	f[GEN_OFF_RTP] = 0x80;
	f[GEN_OFF_RTP + 1] = (uint8_t)o->pt;
	gen_put32(f + GEN_OFF_RTP + GEN_RTP_HDR, GEN_MAGIC);
	memset(f + GEN_OFF_RTP + GEN_RTP_HDR + GEN_STAMP_LEN, GEN_FILL,
	       o->payload - GEN_STAMP_LEN);
	c->rtp_len = (uint16_t)(GEN_OFF_RTP + l4);
}

/* Sum of the UDP pseudo-header and datagram of frame f, as it is (checksum field 0). */
static uint32_t gen_udp_sum(const uint8_t *f)
{
	uint8_t ph[12];
	uint16_t udp_len;

	memcpy(ph, f + GEN_OFF_IP_SRC, 8);
	ph[8] = 0;
	ph[9] = 17;
	memcpy(ph + 10, f + GEN_OFF_UDP_LEN, 2);
	memcpy(&udp_len, f + GEN_OFF_UDP_LEN, 2);
	udp_len = rte_be_to_cpu_16(udp_len);
	return __rte_raw_cksum(f + GEN_OFF_UDP, udp_len, __rte_raw_cksum(ph, sizeof(ph), 0));
}

static void gen_stream_init(struct gen_pkt_ctx *c, uint32_t i, uint8_t *scratch)
{
	const struct gen_opts *o = c->o;
	struct gen_tx_stream *s = &c->tx[i];
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(scratch + GEN_OFF_IP);

	s->ip_be = rte_cpu_to_be_32(o->src_ip + i);
	s->sport_be = rte_cpu_to_be_16((uint16_t)(o->sport + i * o->sport_step));
	s->dport_be = rte_cpu_to_be_16((uint16_t)(o->dport + i * o->dport_step));
	memcpy(scratch, c->rtp_tmpl, c->rtp_len);
	/* the per-packet bytes count in each packet's own sum, not in the base */
	memset(scratch + GEN_OFF_VAR, 0, GEN_VAR_LEN);
	memcpy(scratch + GEN_OFF_IP_SRC, &s->ip_be, 4);
	memcpy(scratch + GEN_OFF_UDP, &s->sport_be, 2);
	memcpy(scratch + GEN_OFF_UDP + 2, &s->dport_be, 2);
	s->ip_csum = rte_ipv4_cksum(ip);
	s->udp_base = gen_udp_sum(scratch);
	s->seq = 1;
	s->ts = c->ts_step;
}

static uint64_t gen_ntp_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (((uint64_t)ts.tv_sec + GEN_NTP_UNIX_OFFSET) << 32) +
	       (((uint64_t)ts.tv_nsec << 32) / 1000000000ull);
}

int gen_pkt_init(struct gen_pkt_ctx *c, const struct gen_opts *o)
{
	uint8_t scratch[GEN_FRAME_MAX];

	memset(c, 0, sizeof(*c));
	c->o = o;
	c->ts_step = (uint32_t)((uint64_t)o->clock_hz * o->ptime_ms / 1000);
	if (o->rtcp_interval_s != 0) {
		c->sr_every = o->rtcp_interval_s * 1000 / o->ptime_ms;
		if (c->sr_every == 0)
			c->sr_every = 1;
	}
	c->ntp_start = gen_ntp_now();
	c->pending_sr = -1;
	c->tx = calloc(o->streams, sizeof(*c->tx));
	if (c->tx == NULL)
		return -1;
	gen_rtp_template(c);
	for (uint32_t i = 0; i < o->streams; i++)
		gen_stream_init(c, i, scratch);
	return 0;
}

void gen_pkt_free(struct gen_pkt_ctx *c)
{
	free(c->tx);
	c->tx = NULL;
}

static uint16_t gen_rtp(struct gen_pkt_ctx *c, uint32_t id, uint8_t *f, uint64_t tsc)
{
	struct gen_tx_stream *s = &c->tx[id];
	uint8_t *rtp = f + GEN_OFF_RTP;
	uint32_t sum;
	uint16_t ck;

	memcpy(f, c->rtp_tmpl, c->rtp_len);
	memcpy(f + GEN_OFF_IP_CSUM, &s->ip_csum, 2);
	memcpy(f + GEN_OFF_IP_SRC, &s->ip_be, 4);
	memcpy(f + GEN_OFF_UDP, &s->sport_be, 2);
	memcpy(f + GEN_OFF_UDP + 2, &s->dport_be, 2);
	gen_put16(rtp + 2, s->seq);
	gen_put32(rtp + 4, s->ts);
	gen_put32(rtp + 8, c->o->ssrc_base + id);
	gen_put32(rtp + GEN_RTP_HDR + 4, id);
	gen_put32(rtp + GEN_RTP_HDR + 8, s->xseq);
	gen_put64(rtp + GEN_RTP_HDR + 12, tsc);
	sum = __rte_raw_cksum(f + GEN_OFF_VAR, GEN_VAR_LEN, s->udp_base);
	ck = (uint16_t)~__rte_raw_cksum_reduce(sum);
	if (ck == 0)
		ck = 0xffff;
	memcpy(f + GEN_OFF_UDP_CSUM, &ck, 2);
	s->seq++;
	s->ts += c->ts_step;
	s->xseq++;
	s->octets += c->o->payload;
	if (c->sr_every != 0 && s->xseq % c->sr_every == 0)
		c->pending_sr = id;
	return c->rtp_len;
}

/* RTCP SR (RFC 3550 6.4.1, no report blocks) from port+1 to port+1; its NTP time is
 * the stream's media time from the start, so the SRs of a pcap are reproducible. */
static uint16_t gen_sr(struct gen_pkt_ctx *c, uint32_t id, uint8_t *f)
{
	const struct gen_opts *o = c->o;
	struct gen_tx_stream *s = &c->tx[id];
	uint8_t *sr = f + GEN_OFF_RTP;
	uint64_t ms = (uint64_t)s->xseq * o->ptime_ms;
	uint64_t ntp = c->ntp_start + ((ms / 1000) << 32) + (((ms % 1000) << 32) / 1000);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(f + GEN_OFF_IP);
	uint16_t ck;

	memset(f, 0, GEN_OFF_RTP + GEN_SR_LEN);
	gen_headers(o, f, GEN_SR_LEN);
	memcpy(f + GEN_OFF_IP_SRC, &s->ip_be, 4);
	gen_put16(f + GEN_OFF_UDP, (uint16_t)(rte_be_to_cpu_16(s->sport_be) + 1));
	gen_put16(f + GEN_OFF_UDP + 2, (uint16_t)(rte_be_to_cpu_16(s->dport_be) + 1));
	sr[0] = 0x80;
	sr[1] = 200;
	gen_put16(sr + 2, GEN_SR_LEN / 4 - 1);
	gen_put32(sr + 4, o->ssrc_base + id);
	gen_put64(sr + 8, ntp);
	gen_put32(sr + 16, s->ts);
	gen_put32(sr + 20, s->xseq);
	gen_put32(sr + 24, (uint32_t)s->octets);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	ck = rte_ipv4_udptcp_cksum(ip, f + GEN_OFF_UDP);
	memcpy(f + GEN_OFF_UDP_CSUM, &ck, 2);
	return GEN_OFF_RTP + GEN_SR_LEN;
}

uint16_t gen_pkt_next(struct gen_pkt_ctx *c, uint8_t *buf, uint64_t tsc, struct gen_slot *slot)
{
	uint32_t id;

	if (c->pending_sr >= 0) {
		id = (uint32_t)c->pending_sr;
		c->pending_sr = -1;
		slot->stream = id;
		slot->rtcp = true;
		return gen_sr(c, id, buf);
	}
	id = c->next_stream;
	if (++c->next_stream == c->o->streams)
		c->next_stream = 0;
	c->built++;
	slot->stream = id;
	slot->rtcp = false;
	return gen_rtp(c, id, buf, tsc);
}

void gen_pkt_account(struct gen_pkt_ctx *c, const struct gen_slot *slot, struct gen_totals *t)
{
	if (slot->rtcp) {
		c->tx[slot->stream].rtcp_sent++;
		t->rtcp_sent++;
	} else {
		c->tx[slot->stream].sent++;
		t->sent++;
	}
}

uint64_t gen_pkt_left(const struct gen_pkt_ctx *c)
{
	uint64_t left;

	if (c->o->count == 0)
		return UINT64_MAX;
	left = c->o->count - c->built;
	/* the SR a stream's last packet called for still goes out */
	return left == 0 && c->pending_sr >= 0 ? 1 : left;
}
