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

/* Sum of ~old + new over the 16-bit halves of a 32-bit word (RFC 1624). */
static inline uint32_t delta32(uint32_t old_v, uint32_t new_v)
{
	return (uint32_t)(uint16_t)~(uint16_t)old_v + (uint16_t)~(uint16_t)(old_v >> 16) +
	       (uint16_t)new_v + (uint16_t)(new_v >> 16);
}

static inline uint16_t apply(uint16_t csum, uint32_t delta)
{
	return (uint16_t)~fold32((uint32_t)(uint16_t)~csum + fold32(delta));
}

void dp_rewrite_udp4(uint8_t *frame, const struct dp_parsed *p, uint32_t src_ip, uint32_t dst_ip,
		     uint16_t src_port, uint16_t dst_port)
{
	uint8_t *ip = frame + p->l3_off;
	uint8_t *udp = frame + p->l4_off;
	/* one delta for the addresses serves both checksums (the IPv4 header
	 * and the UDP pseudo-header); the ports add to the UDP one only */
	uint32_t d_addr = delta32(ld32(ip + 12), src_ip) + delta32(ld32(ip + 16), dst_ip);
	uint16_t uc = ld16(udp + 6);

	st16(ip + 10, apply(ld16(ip + 10), d_addr));
	st32(ip + 12, src_ip);
	st32(ip + 16, dst_ip);
	if (uc != 0) { /* 0 = no UDP checksum: stays 0 */
		uint32_t d = d_addr + (uint16_t)~ld16(udp) + src_port + (uint16_t)~ld16(udp + 2) +
			     dst_port;
		uc = apply(uc, d);
		st16(udp + 6, uc == 0 ? 0xffff : uc); /* RFC 768: computed 0 goes as all ones */
	}
	st16(udp, src_port);
	st16(udp + 2, dst_port);
}

void dp_rewrite_macs(uint8_t *frame, const uint8_t dst[6], const uint8_t src[6])
{
	memcpy(frame, dst, 6);
	memcpy(frame + 6, src, 6);
}
