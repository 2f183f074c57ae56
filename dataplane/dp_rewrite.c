/* SPDX-License-Identifier: BSD-3-Clause
 * NAT rewrite with RFC 1624 incremental checksum updates:
 *   HC' = ~(~HC + ~m + m')   (one's-complement arithmetic, eqn. 3)
 * All values are handled as stored in memory (network order): one's-
 * complement sums are byte-order independent, so no swaps are needed. */
#include <string.h>

#include "dp_rewrite.h"

static inline uint32_t fold32(uint32_t s)
{
	s = (s & 0xffffu) + (s >> 16);
	s = (s & 0xffffu) + (s >> 16);
	return s;
}

uint16_t dp_csum_update16(uint16_t csum, uint16_t old_v, uint16_t new_v)
{
	uint32_t s = (uint16_t)~csum;
	s += (uint16_t)~old_v;
	s += new_v;
	return (uint16_t)~fold32(s);
}

uint16_t dp_csum_update32(uint16_t csum, uint32_t old_v, uint32_t new_v)
{
	uint32_t s = (uint16_t)~csum;
	s += (uint16_t)~(uint16_t)old_v;
	s += (uint16_t)~(uint16_t)(old_v >> 16);
	s += (uint16_t)new_v;
	s += (uint16_t)(new_v >> 16);
	return (uint16_t)~fold32(s);
}

uint16_t dp_ipv4_csum(const uint8_t *ip_hdr, unsigned hdr_len)
{
	uint32_t s = 0;
	unsigned i;

	for (i = 0; i + 1 < hdr_len; i += 2) {
		uint16_t w;
		memcpy(&w, ip_hdr + i, 2);
		s += w;
	}
	if (hdr_len & 1) {
		uint16_t w = 0;
		memcpy(&w, ip_hdr + i, 1);
		s += w;
	}
	s = fold32(s);
	return (uint16_t)~s;
}

static inline uint32_t ld32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static inline uint16_t ld16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}

static inline void st32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static inline void st16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

void dp_rewrite_udp4(uint8_t *frame, const struct dp_parsed *p, uint32_t src_ip, uint32_t dst_ip,
		     uint16_t src_port, uint16_t dst_port)
{
	uint8_t *ip = frame + p->l3_off;
	uint8_t *udp = frame + p->l4_off;
	uint32_t old_src = ld32(ip + 12), old_dst = ld32(ip + 16);
	uint16_t old_sp = ld16(udp), old_dp = ld16(udp + 2);

	/* IPv4 header checksum: only the addresses change. */
	uint16_t ipc = ld16(ip + 10);
	ipc = dp_csum_update32(ipc, old_src, src_ip);
	ipc = dp_csum_update32(ipc, old_dst, dst_ip);
	st16(ip + 10, ipc);
	st32(ip + 12, src_ip);
	st32(ip + 16, dst_ip);

	/* UDP checksum: pseudo-header addresses and the ports. 0 = none. */
	uint16_t uc = ld16(udp + 6);
	if (uc != 0) {
		uc = dp_csum_update32(uc, old_src, src_ip);
		uc = dp_csum_update32(uc, old_dst, dst_ip);
		uc = dp_csum_update16(uc, old_sp, src_port);
		uc = dp_csum_update16(uc, old_dp, dst_port);
		if (uc == 0)
			uc = 0xffff; /* RFC 768: a computed 0 is sent as all ones */
		st16(udp + 6, uc);
	}
	st16(udp, src_port);
	st16(udp + 2, dst_port);
}

void dp_rewrite_macs(uint8_t *frame, const uint8_t dst[6], const uint8_t src[6])
{
	memcpy(frame, dst, 6);
	memcpy(frame + 6, src, 6);
}
