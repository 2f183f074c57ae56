/* SPDX-License-Identifier: BSD-3-Clause
 * Frame classifier for the per-packet path: Ethernet, up to two VLAN tags
 * (0x8100 / 0x88a8), ARP, IPv4 without options, UDP, ICMP.
 * Only byte loads: no unaligned access, never a read at or past len. */
#include <string.h>

#include "dp_parse.h"

#define ETH_HLEN 14u
#define IPV4_HLEN 20u
#define UDP_HLEN 8u
#define ICMP_MIN 8u
#define ARP_LEN 28u

#define ETHERTYPE_IPV4 0x0800u
#define ETHERTYPE_ARP 0x0806u

#define IPPROTO_ICMP_ 1u
#define IPPROTO_UDP_ 17u

#define likely_(x) __builtin_expect(!!(x), 1)
#define unlikely_(x) __builtin_expect(!!(x), 0)

static inline uint16_t be16_at(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

/* Network-order value as stored in memory (memcpy: unaligned-safe). */
static inline uint32_t raw32_at(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint16_t raw16_at(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static inline enum dp_pkt_kind drop(enum dp_drop *reason, enum dp_drop r)
{
	*reason = r;
	return DP_PKT_DROP;
}

static inline enum dp_pkt_kind parse_arp(const uint8_t *frame, uint32_t len, uint32_t off,
					 struct dp_parsed *out, enum dp_drop *reason)
{
	const uint8_t *a = frame + off;

	if (unlikely_(len - off < ARP_LEN))
		return drop(reason, DP_DROP_ARP_MALFORMED);
	/* htype 1, ptype 0x0800, hlen 6, plen 4 */
	if (unlikely_(a[0] != 0 || a[1] != 1 || a[2] != 0x08 || a[3] != 0x00 || a[4] != 6 ||
		      a[5] != 4))
		return drop(reason, DP_DROP_ARP_MALFORMED);
	out->l3_off = (uint16_t)off;
	out->l4_off = 0;
	out->l4_len = 0;
	out->ip_len = 0;
	out->src_ip = raw32_at(a + 14); /* sender protocol address */
	out->dst_ip = raw32_at(a + 24); /* target protocol address */
	out->src_port = 0;
	out->dst_port = 0;
	return DP_PKT_ARP;
}

enum dp_pkt_kind dp_parse(const uint8_t *frame, uint32_t len, struct dp_parsed *out,
			  enum dp_drop *reason)
{
	uint32_t off = ETH_HLEN;
	uint16_t et;

	if (unlikely_(len < ETH_HLEN))
		return drop(reason, DP_DROP_ETH_TRUNCATED);
	et = be16_at(frame + 12);

	/* Up to two tags: outer (802.1ad or 802.1Q), inner. */
	if (unlikely_(dp_is_vlan_tpid(et))) {
		if (len - off < DP_VLAN_HLEN)
			return drop(reason, DP_DROP_VLAN_TRUNCATED);
		et = be16_at(frame + off + 2);
		off += DP_VLAN_HLEN;
		if (dp_is_vlan_tpid(et)) {
			if (len - off < DP_VLAN_HLEN)
				return drop(reason, DP_DROP_VLAN_TRUNCATED);
			et = be16_at(frame + off + 2);
			off += DP_VLAN_HLEN;
		}
	}

	if (unlikely_(et != ETHERTYPE_IPV4)) {
		if (et == ETHERTYPE_ARP)
			return parse_arp(frame, len, off, out, reason);
		return drop(reason, DP_DROP_NOT_IPV4);
	}

	/* IPv4 */
	uint32_t avail = len - off;
	const uint8_t *ip = frame + off;

	if (unlikely_(avail < IPV4_HLEN)) {
		/* Report a bad version when the byte is there to say so. */
		if (avail >= 1 && (ip[0] >> 4) != 4)
			return drop(reason, DP_DROP_IP_BAD_VERSION);
		return drop(reason, DP_DROP_IP_TRUNCATED);
	}
	uint8_t vihl = ip[0];
	if (unlikely_(vihl != 0x45)) {
		if ((vihl >> 4) != 4)
			return drop(reason, DP_DROP_IP_BAD_VERSION);
		if ((vihl & 0x0f) < 5)
			return drop(reason, DP_DROP_IP_BAD_IHL);
		return drop(reason, DP_DROP_IP_OPTIONS);
	}
	uint32_t tot = be16_at(ip + 2);
	if (unlikely_(tot < IPV4_HLEN || tot > avail))
		return drop(reason, DP_DROP_IP_BAD_LENGTH);
	/* MF bit or a non-zero fragment offset (DF is fine). */
	if (unlikely_((be16_at(ip + 6) & 0x3fffu) != 0))
		return drop(reason, DP_DROP_IP_FRAGMENT);

	uint8_t proto = ip[9];
	uint32_t l4_off = off + IPV4_HLEN;
	uint32_t l4_avail = tot - IPV4_HLEN; /* IP payload; Ethernet padding excluded */

	out->l3_off = (uint16_t)off;
	out->l4_off = (uint16_t)l4_off;
	out->ip_len = (uint16_t)tot;
	out->src_ip = raw32_at(ip + 12);
	out->dst_ip = raw32_at(ip + 16);

	if (likely_(proto == IPPROTO_UDP_)) {
		const uint8_t *udp = frame + l4_off;
		if (unlikely_(l4_avail < UDP_HLEN))
			return drop(reason, DP_DROP_UDP_TRUNCATED);
		uint32_t ulen = be16_at(udp + 4);
		if (unlikely_(ulen < UDP_HLEN || ulen > l4_avail))
			return drop(reason, DP_DROP_UDP_BAD_LENGTH);
		out->l4_len = (uint16_t)ulen;
		out->src_port = raw16_at(udp);
		out->dst_port = raw16_at(udp + 2);
		return DP_PKT_UDP4;
	}
	if (proto == IPPROTO_ICMP_) {
		if (unlikely_(l4_avail < ICMP_MIN))
			return drop(reason, DP_DROP_ICMP_MALFORMED);
		out->l4_len = (uint16_t)l4_avail;
		out->src_port = 0;
		out->dst_port = 0;
		return DP_PKT_ICMP4;
	}
	return drop(reason, DP_DROP_NOT_UDP);
}
