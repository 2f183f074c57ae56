/* SPDX-License-Identifier: BSD-3-Clause
 * STUN message builder: see nat_stun.h. */
#include <string.h>

#include "nat_stun_priv.h"

static int fail(struct nat_stun_builder *b)
{
	b->failed = true;
	return -1;
}

static int result(const struct nat_stun_builder *b)
{
	return b->failed ? -1 : (int)b->len;
}

static uint16_t type_of(enum nat_stun_class cls, uint16_t m)
{
	/* the class bits sit between method bits: M11..M7 C1 M6..M4 C0 M3..M0 */
	return (uint16_t)(((m & 0xF80) << 2) | ((m & 0x070) << 1) | (m & 0x00F) |
			  ((cls & 2) << 7) | ((cls & 1) << 4));
}

int nat_stun_start(struct nat_stun_builder *b, uint8_t *buf, size_t cap,
		   enum nat_stun_class cls, uint16_t method,
		   const uint8_t tid[NAT_STUN_TID_LEN])
{
	*b = (struct nat_stun_builder){ .buf = buf, .cap = cap, .len = NAT_STUN_HDR_LEN };
	if (cap < NAT_STUN_HDR_LEN || method > 0xFFF || (unsigned)cls > 3)
		return fail(b);
	nat_put16(buf, type_of(cls, method));
	nat_put16(buf + 2, 0);
	nat_put32(buf + 4, NAT_STUN_COOKIE);
	memcpy(buf + 8, tid, NAT_STUN_TID_LEN);
	return result(b);
}

/* Append an attribute header and padding for a value of len bytes and keep
 * the header length current (integrity and fingerprint read it). Returns
 * where the value goes, NULL when it does not fit. */
static uint8_t *attr_begin(struct nat_stun_builder *b, uint16_t type, size_t len)
{
	size_t total = 4 + nat_pad4(len);

	if (b->failed || len > 0xFFFF || total > b->cap - b->len ||
	    b->len - NAT_STUN_HDR_LEN + total > NAT_STUN_MAX_BODY) {
		b->failed = true;
		return NULL;
	}
	uint8_t *a = b->buf + b->len;
	nat_put16(a, type);
	nat_put16(a + 2, (uint16_t)len);
	memset(a + 4 + len, b->pad, total - 4 - len);
	b->len += total;
	nat_put16(b->buf + 2, (uint16_t)(b->len - NAT_STUN_HDR_LEN));
	return a + 4;
}

int nat_stun_add_raw(struct nat_stun_builder *b, uint16_t type, const void *val, size_t len)
{
	uint8_t *v = attr_begin(b, type, len);

	if (v && len)
		memcpy(v, val, len);
	return result(b);
}

int nat_stun_add_str(struct nat_stun_builder *b, uint16_t type, const char *s)
{
	return nat_stun_add_raw(b, type, s, strlen(s));
}

int nat_stun_add_u32(struct nat_stun_builder *b, uint16_t type, uint32_t v)
{
	uint8_t be[4];

	nat_put32(be, v);
	return nat_stun_add_raw(b, type, be, sizeof(be));
}

int nat_stun_add_u64(struct nat_stun_builder *b, uint16_t type, uint64_t v)
{
	uint8_t be[8];

	nat_put32(be, (uint32_t)(v >> 32));
	nat_put32(be + 4, (uint32_t)v);
	return nat_stun_add_raw(b, type, be, sizeof(be));
}

static int put_addr(struct nat_stun_builder *b, uint16_t type, const struct nat_stun_addr *a,
		    bool xor)
{
	size_t alen = a->family == NAT_STUN_FAM_IPV4 ? 4 : a->family == NAT_STUN_FAM_IPV6 ? 16 : 0;

	if (!alen)
		return fail(b);
	uint8_t *v = attr_begin(b, type, 4 + alen);
	if (!v)
		return -1;
	v[0] = 0;
	v[1] = a->family;
	nat_put16(v + 2, a->port);
	if (alen == 4)
		nat_put32(v + 4, a->ip4);
	else
		memcpy(v + 4, a->ip6, 16);
	if (xor)
		nat_stun_xor(v, alen, b->buf);
	return result(b);
}

int nat_stun_add_addr(struct nat_stun_builder *b, uint16_t type, const struct nat_stun_addr *a)
{
	return put_addr(b, type, a, false);
}

int nat_stun_add_xor_addr(struct nat_stun_builder *b, uint16_t type, const struct nat_stun_addr *a)
{
	return put_addr(b, type, a, true);
}

int nat_stun_add_error(struct nat_stun_builder *b, uint16_t code, const char *reason)
{
	size_t rlen = reason ? strlen(reason) : 0;

	if (code < 300 || code > 699)
		return fail(b);
	uint8_t *v = attr_begin(b, NAT_STUN_A_ERROR_CODE, 4 + rlen);
	if (!v)
		return -1;
	v[0] = v[1] = 0;
	v[2] = (uint8_t)(code / 100);
	v[3] = (uint8_t)(code % 100);
	if (rlen)
		memcpy(v + 4, reason, rlen);
	return result(b);
}

int nat_stun_add_unknown(struct nat_stun_builder *b, const uint16_t *types, size_t n)
{
	uint8_t *v = attr_begin(b, NAT_STUN_A_UNKNOWN_ATTRIBUTES, 2 * n);

	for (size_t i = 0; v && i < n; i++)
		nat_put16(v + 2 * i, types[i]);
	return result(b);
}

static int add_mac(struct nat_stun_builder *b, uint16_t type, const char *digest, size_t maclen,
		   const uint8_t *key, size_t keylen)
{
	uint8_t *v = attr_begin(b, type, maclen);

	if (!v)
		return -1;
	/* attr_begin already set the length field to end with this attribute */
	if (nat_stun_hmac(digest, key, keylen, b->buf, (size_t)(v - 4 - b->buf),
			  nat_be16(b->buf + 2), v, maclen) != 0)
		return fail(b);
	return result(b);
}

int nat_stun_add_integrity(struct nat_stun_builder *b, const uint8_t *key, size_t keylen)
{
	return add_mac(b, NAT_STUN_A_MESSAGE_INTEGRITY, "SHA1", NAT_STUN_MI_LEN, key, keylen);
}

int nat_stun_add_integrity_sha256(struct nat_stun_builder *b, const uint8_t *key, size_t keylen)
{
	return add_mac(b, NAT_STUN_A_MESSAGE_INTEGRITY_SHA256, "SHA256", NAT_STUN_MI256_LEN,
		       key, keylen);
}

int nat_stun_add_fingerprint(struct nat_stun_builder *b)
{
	uint8_t *v = attr_begin(b, NAT_STUN_A_FINGERPRINT, 4);

	if (v)
		nat_put32(v, nat_stun_crc(b->buf, (size_t)(v - 4 - b->buf), nat_be16(b->buf + 2)));
	return result(b);
}
