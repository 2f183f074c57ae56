/* SPDX-License-Identifier: BSD-3-Clause
 * STUN message parser and packet classifiers: see nat_stun.h. */
#include <string.h>

#include "nat_stun_priv.h"

#define TEXT_MAX 763u      /* REALM, NONCE, SOFTWARE, reason phrase (RFC 8489 14) */
#define USERNAME_MAX 513u  /* RFC 5389's bound, looser than 8489's 509 */

enum kind { K_OPAQUE, K_ADDR, K_XADDR, K_TEXT, K_U32, K_U64, K_FLAG, K_ERROR,
	    K_MI, K_MI256, K_FP, K_NKINDS };

/* How each attribute we know is checked and where it lands in the struct. */
struct known {
	uint16_t type;
	uint8_t kind;
	uint16_t field;    /* offsetof into struct nat_stun_msg */
	uint32_t arg;      /* K_TEXT: max length; K_U32/K_U64/K_FLAG: NAT_STUN_F_* */
};

#define AT(t, k, f, a) { NAT_STUN_A_##t, k, offsetof(struct nat_stun_msg, f), a }
#define OPAQUE(t) { NAT_STUN_A_##t, K_OPAQUE, 0, 0 }
static const struct known known[] = {
	AT(MAPPED_ADDRESS, K_ADDR, mapped, 0),
	AT(CHANGE_REQUEST, K_U32, change_request, NAT_STUN_F_CHANGE_REQUEST),
	AT(USERNAME, K_TEXT, username, USERNAME_MAX),
	AT(MESSAGE_INTEGRITY, K_MI, mi_off, 0),
	AT(ERROR_CODE, K_ERROR, error_code, 0),
	OPAQUE(UNKNOWN_ATTRIBUTES),
	AT(REALM, K_TEXT, realm, TEXT_MAX),
	AT(NONCE, K_TEXT, nonce, TEXT_MAX),
	AT(MESSAGE_INTEGRITY_SHA256, K_MI256, mi256_off, 0),
	OPAQUE(PASSWORD_ALGORITHM),
	OPAQUE(USERHASH),
	AT(XOR_MAPPED_ADDRESS, K_XADDR, xor_mapped, 0),
	AT(PRIORITY, K_U32, priority, NAT_STUN_F_PRIORITY),
	AT(USE_CANDIDATE, K_FLAG, flags, NAT_STUN_F_USE_CANDIDATE),
	OPAQUE(PADDING),
	OPAQUE(RESPONSE_PORT),
	OPAQUE(PASSWORD_ALGORITHMS),
	OPAQUE(ALTERNATE_DOMAIN),
	AT(SOFTWARE, K_TEXT, software, TEXT_MAX),
	AT(ALTERNATE_SERVER, K_ADDR, alternate_server, 0),
	OPAQUE(CACHE_TIMEOUT),
	AT(FINGERPRINT, K_FP, fp_off, 0),
	AT(ICE_CONTROLLED, K_U64, tiebreaker, NAT_STUN_F_ICE_CONTROLLED),
	AT(ICE_CONTROLLING, K_U64, tiebreaker, NAT_STUN_F_ICE_CONTROLLING),
	AT(RESPONSE_ORIGIN, K_ADDR, response_origin, 0),
	AT(OTHER_ADDRESS, K_ADDR, other_address, 0),
};
#define N_KNOWN (sizeof(known) / sizeof(known[0]))
_Static_assert(N_KNOWN <= 32, "the seen mask is 32 bits");

/* Where an attribute is being decoded. */
struct at {
	struct nat_stun_msg *m;
	const struct known *k;
	const uint8_t *v;
	uint16_t len;
	uint32_t off;      /* of the attribute header */
};

static void *field(const struct at *a)
{
	return (uint8_t *)a->m + a->k->field;
}

static int decode_addr(const uint8_t *v, uint16_t len, struct nat_stun_addr *out)
{
	if (len == 8 && v[1] == NAT_STUN_FAM_IPV4)
		out->ip4 = nat_be32(v + 4);
	else if (len == 20 && v[1] == NAT_STUN_FAM_IPV6)
		memcpy(out->ip6, v + 4, 16);
	else
		return NAT_STUN_E_ATTR_VALUE;
	out->family = v[1];
	out->port = nat_be16(v + 2);
	return 0;
}

static int dec_opaque(const struct at *a)
{
	(void)a;
	return 0;
}

static int dec_addr(const struct at *a)
{
	return decode_addr(a->v, a->len, field(a));
}

static int decode_xaddr(const struct nat_stun_msg *m, const uint8_t *val, uint16_t len,
			struct nat_stun_addr *out)
{
	uint8_t v[20];

	if (len != 8 && len != 20)
		return NAT_STUN_E_ATTR_VALUE;
	memcpy(v, val, len);
	nat_stun_xor(v, len - 4u, m->buf);
	return decode_addr(v, len, out);
}

static int dec_xaddr(const struct at *a)
{
	/* without the cookie the xor key is unknown: leave the address absent */
	if (a->m->classic)
		return 0;
	return decode_xaddr(a->m, a->v, a->len, field(a));
}

static int dec_text(const struct at *a)
{
	if (a->len > a->k->arg)
		return NAT_STUN_E_ATTR_VALUE;
	*(struct nat_stun_text *)field(a) = (struct nat_stun_text){ a->v, a->len };
	return 0;
}

/* PRIORITY, CHANGE-REQUEST, ICE tie-breakers, USE-CANDIDATE: a fixed-size
 * integer (or nothing) and a flag saying it was there. */
static int dec_int(const struct at *a)
{
	uint16_t want = a->k->kind == K_U64 ? 8 : a->k->kind == K_U32 ? 4 : 0;

	if (a->len != want)
		return NAT_STUN_E_ATTR_VALUE;
	if (want == 8)
		*(uint64_t *)field(a) = (uint64_t)nat_be32(a->v) << 32 | nat_be32(a->v + 4);
	else if (want == 4)
		*(uint32_t *)field(a) = nat_be32(a->v);
	a->m->flags |= a->k->arg;
	return 0;
}

static int dec_error(const struct at *a)
{
	unsigned cls = a->len >= 4 ? a->v[2] & 7u : 0, num = a->len >= 4 ? a->v[3] : 100;

	if (cls < 3 || cls > 6 || num > 99 || a->len - 4u > TEXT_MAX)
		return NAT_STUN_E_ATTR_VALUE;
	a->m->error_code = (uint16_t)(cls * 100 + num);
	a->m->error_reason = (struct nat_stun_text){ a->v + 4, (uint16_t)(a->len - 4) };
	return 0;
}

static int dec_offset(const struct at *a, bool len_ok)
{
	if (!len_ok)
		return NAT_STUN_E_ATTR_VALUE;
	*(uint32_t *)field(a) = a->off;
	return 0;
}

static int dec_mi(const struct at *a)
{
	return dec_offset(a, a->len == NAT_STUN_MI_LEN);
}

static int dec_mi256(const struct at *a)
{
	/* RFC 8489 14.6: truncation to 16..32 bytes in steps of 4 is allowed */
	return dec_offset(a, a->len >= 16 && a->len <= NAT_STUN_MI256_LEN && a->len % 4 == 0);
}

static int dec_fp(const struct at *a)
{
	if (a->len != 4)
		return NAT_STUN_E_ATTR_VALUE;
	/* the length field as the sender saw it: through this attribute */
	uint16_t adj = (uint16_t)(a->off + 8 - NAT_STUN_HDR_LEN);
	if (nat_stun_crc(a->m->buf, a->off, adj) != nat_be32(a->v))
		return NAT_STUN_E_FINGERPRINT;
	return dec_offset(a, true);
}

static int (*const decoders[K_NKINDS])(const struct at *) = {
	[K_OPAQUE] = dec_opaque, [K_ADDR] = dec_addr, [K_XADDR] = dec_xaddr,
	[K_TEXT] = dec_text, [K_U32] = dec_int, [K_U64] = dec_int, [K_FLAG] = dec_int,
	[K_ERROR] = dec_error, [K_MI] = dec_mi, [K_MI256] = dec_mi256, [K_FP] = dec_fp,
};

static const struct known *lookup(uint16_t type)
{
	for (size_t i = 0; i < N_KNOWN; i++)
		if (known[i].type == type)
			return &known[i];
	return NULL;
}

static void note_unknown(struct nat_stun_msg *m, uint16_t type)
{
	if (type >= 0x8000 || m->n_unknown == NAT_STUN_MAX_UNKNOWN)
		return;
	for (uint16_t i = 0; i < m->n_unknown; i++)
		if (m->unknown[i] == type)
			return;
	m->unknown[m->n_unknown++] = type;
}

/* Nothing may follow FINGERPRINT. After MESSAGE-INTEGRITY only
 * MESSAGE-INTEGRITY-SHA256 and FINGERPRINT count, after SHA256 only
 * FINGERPRINT: any other attribute there is ignored (RFC 8489 14.5, 14.6),
 * not decoded and not listed as unknown. -1: ignore it. */
static int order_check(const struct nat_stun_msg *m, uint16_t type)
{
	if (m->fp_off)
		return NAT_STUN_E_AFTER_FINGERPRINT;
	if (type == NAT_STUN_A_FINGERPRINT)
		return 0;
	if (m->mi256_off || (m->mi_off && type != NAT_STUN_A_MESSAGE_INTEGRITY_SHA256))
		return -1;
	return 0;
}

static int take(struct nat_stun_msg *m, uint32_t off, uint32_t *seen)
{
	uint16_t type = nat_be16(m->buf + off);
	int e = order_check(m, type);
	if (e)
		return e < 0 ? 0 : e;
	const struct known *k = lookup(type);
	if (!k) {
		note_unknown(m, type);
		return 0;
	}
	uint32_t bit = 1u << (k - known);
	if (*seen & bit)
		return 0;
	*seen |= bit;
	struct at a = { m, k, m->buf + off + 4, nat_be16(m->buf + off + 2), off };
	return decoders[k->kind](&a);
}

static int walk(struct nat_stun_msg *m)
{
	uint32_t seen = 0;

	/* the body length is 4-aligned and so is every padded attribute, so a
	 * whole attribute header is always there */
	for (uint32_t off = NAT_STUN_HDR_LEN; off < m->len;) {
		size_t vlen = nat_pad4(nat_be16(m->buf + off + 2));
		if (vlen > m->len - off - 4)
			return NAT_STUN_E_ATTR_OVERRUN;
		int e = take(m, off, &seen);
		if (e)
			return e;
		off += 4 + (uint32_t)vlen;
	}
	return 0;
}

static int header(const uint8_t *p, size_t len, struct nat_stun_msg *m)
{
	if (len < NAT_STUN_HDR_LEN)
		return NAT_STUN_E_SHORT;
	if (p[0] & 0xC0)
		return NAT_STUN_E_NOT_STUN;
	uint16_t body = nat_be16(p + 2), type = nat_be16(p);
	if (body % 4 || body + NAT_STUN_HDR_LEN != len)
		return NAT_STUN_E_LENGTH;
	m->buf = p;
	m->len = len;
	m->method = (uint16_t)(((type >> 2) & 0xF80) | ((type >> 1) & 0x070) | (type & 0x00F));
	m->cls = (uint8_t)(((type >> 7) & 2) | ((type >> 4) & 1));
	memcpy(m->tid, p + 8, NAT_STUN_TID_LEN);
	m->classic = nat_be32(p + 4) != NAT_STUN_COOKIE;
	return 0;
}

int nat_stun_parse(const uint8_t *p, size_t len, struct nat_stun_msg *m)
{
	memset(m, 0, sizeof(*m));
	int e = header(p, len, m);
	if (!e)
		e = walk(m);
	if (!e && m->classic)
		e = NAT_STUN_E_CLASSIC;
	return -e;
}

const char *nat_stun_err_name(int err)
{
	static const char *const names[NAT_STUN_E_COUNT] = {
		[NAT_STUN_OK] = "ok",
		[NAT_STUN_E_SHORT] = "shorter than a STUN header",
		[NAT_STUN_E_NOT_STUN] = "first two bits not zero",
		[NAT_STUN_E_LENGTH] = "bad message length",
		[NAT_STUN_E_CLASSIC] = "RFC 3489 message without magic cookie",
		[NAT_STUN_E_ATTR_OVERRUN] = "attribute overruns the message",
		[NAT_STUN_E_ATTR_VALUE] = "malformed attribute value",
		[NAT_STUN_E_AFTER_FINGERPRINT] = "attribute after FINGERPRINT",
		[NAT_STUN_E_FINGERPRINT] = "FINGERPRINT mismatch",
	};
	int i = err < 0 ? -err : err;

	return i < NAT_STUN_E_COUNT ? names[i] : "unknown error";
}

const uint8_t *nat_stun_find(const struct nat_stun_msg *m, uint16_t type, uint16_t *len)
{
	/* what follows the integrity attribute is not covered by it: never used */
	size_t end = m->mi_off ? m->mi_off : m->mi256_off ? m->mi256_off : m->len;

	for (size_t off = NAT_STUN_HDR_LEN; off + 4 <= end;) {
		uint16_t t = nat_be16(m->buf + off), l = nat_be16(m->buf + off + 2);
		if (l > m->len - off - 4)
			break;
		if (t == type) {
			*len = l;
			return m->buf + off + 4;
		}
		off += 4 + nat_pad4(l);
	}
	return NULL;
}

int nat_stun_find_xor_addr(const struct nat_stun_msg *m, uint16_t type, struct nat_stun_addr *a)
{
	uint16_t len;
	const uint8_t *v = nat_stun_find(m, type, &len);

	if (!v || m->classic || decode_xaddr(m, v, len, a) != 0) {
		memset(a, 0, sizeof(*a));
		return -1;
	}
	return 0;
}

bool nat_stun_is_stun(const uint8_t *p, size_t len)
{
	return len >= NAT_STUN_HDR_LEN && (p[0] & 0xC0) == 0 &&
	       nat_be32(p + 4) == NAT_STUN_COOKIE &&
	       nat_be16(p + 2) % 4 == 0 && nat_be16(p + 2) + NAT_STUN_HDR_LEN == len;
}

bool nat_stun_is_channel_data(const uint8_t *p, size_t len, uint16_t *channel, uint16_t *dlen)
{
	if (len < 4 || (p[0] & 0xF0) != 0x40)
		return false;
	uint16_t n = nat_be16(p + 2);
	if (len < 4u + n || len > 4u + nat_pad4(n))
		return false;
	*channel = nat_be16(p);
	*dlen = n;
	return true;
}
