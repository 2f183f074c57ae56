/* SPDX-License-Identifier: BSD-3-Clause
 * nat_stun internals shared by the builder, the parser and the checks. */
#ifndef RTPREC_NAT_STUN_PRIV_H
#define RTPREC_NAT_STUN_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include "nat_stun.h"

#define NAT_STUN_FP_XOR 0x5354554eu  /* "STUN", RFC 8489 14.7 */

static inline uint16_t nat_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t nat_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void nat_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void nat_put32(uint8_t *p, uint32_t v)
{
	nat_put16(p, (uint16_t)(v >> 16));
	nat_put16(p + 2, (uint16_t)v);
}

static inline size_t nat_pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

/* X-Port is xored with the cookie's top half and X-Address with cookie ||
 * transaction id, i.e. with header bytes 4.. in both cases (RFC 8489 14.2).
 * v is the address attribute value (reserved, family, port, address). */
static inline void nat_stun_xor(uint8_t *v, size_t alen, const uint8_t *hdr)
{
	v[2] ^= hdr[4];
	v[3] ^= hdr[5];
	for (size_t i = 0; i < alen; i++)
		v[4 + i] ^= hdr[4 + i];
}

/* HMAC (digest "SHA1" or "SHA256") of msg[0, upto) as if the header length
 * field held adj_len, which is how MESSAGE-INTEGRITY(-SHA256) are computed
 * (RFC 8489 14.5, 14.6). outlen is the full digest size. 0 or -1. */
int nat_stun_hmac(const char *digest, const uint8_t *key, size_t keylen,
		  const uint8_t *msg, size_t upto, uint16_t adj_len,
		  uint8_t *out, size_t outlen);
/* FINGERPRINT value of msg[0, upto) with the length field read as adj_len. */
uint32_t nat_stun_crc(const uint8_t *msg, size_t upto, uint16_t adj_len);

#endif
