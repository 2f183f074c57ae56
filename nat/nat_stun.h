/* SPDX-License-Identifier: BSD-3-Clause
 * nat_stun: STUN message codec (RFC 8489, wire-compatible with RFC 5389
 * peers; RFC 5780 and RFC 8445 attributes). No allocation: the builder
 * writes into the caller's buffer, the parser points into the caller's
 * datagram. No sockets, no DPDK. */
#ifndef RTPREC_NAT_STUN_H
#define RTPREC_NAT_STUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NAT_STUN_COOKIE 0x2112A442u
#define NAT_STUN_HDR_LEN 20u
#define NAT_STUN_TID_LEN 12u
#define NAT_STUN_MAX_BODY 65532u     /* largest 4-aligned value of the 16-bit length */
#define NAT_STUN_MI_LEN 20u          /* HMAC-SHA1 */
#define NAT_STUN_MI256_LEN 32u       /* HMAC-SHA256, untruncated */
#define NAT_STUN_LT_KEY_LEN 16u      /* MD5 */
#define NAT_STUN_MAX_UNKNOWN 16u

enum nat_stun_class {
	NAT_STUN_REQUEST = 0,
	NAT_STUN_INDICATION = 1,
	NAT_STUN_SUCCESS = 2,
	NAT_STUN_ERROR_RESP = 3,
};

enum nat_stun_method {
	NAT_STUN_BINDING = 0x001,
	NAT_STUN_ALLOCATE = 0x003,     /* RFC 8656 */
	NAT_STUN_REFRESH = 0x004,
	NAT_STUN_SEND = 0x006,
	NAT_STUN_DATA = 0x007,
	NAT_STUN_CREATE_PERM = 0x008,
	NAT_STUN_CHANNEL_BIND = 0x009,
};

/* Attribute types. Below 0x8000 a receiver that does not know the type must
 * refuse the message (420); the parser lists such types in msg.unknown. */
enum nat_stun_attr_type {
	NAT_STUN_A_MAPPED_ADDRESS = 0x0001,
	NAT_STUN_A_CHANGE_REQUEST = 0x0003,      /* RFC 5780 */
	NAT_STUN_A_USERNAME = 0x0006,
	NAT_STUN_A_MESSAGE_INTEGRITY = 0x0008,
	NAT_STUN_A_ERROR_CODE = 0x0009,
	NAT_STUN_A_UNKNOWN_ATTRIBUTES = 0x000A,
	NAT_STUN_A_REALM = 0x0014,
	NAT_STUN_A_NONCE = 0x0015,
	NAT_STUN_A_MESSAGE_INTEGRITY_SHA256 = 0x001C,
	NAT_STUN_A_PASSWORD_ALGORITHM = 0x001D,
	NAT_STUN_A_USERHASH = 0x001E,
	NAT_STUN_A_XOR_MAPPED_ADDRESS = 0x0020,
	NAT_STUN_A_PRIORITY = 0x0024,            /* RFC 8445 */
	NAT_STUN_A_USE_CANDIDATE = 0x0025,
	NAT_STUN_A_PADDING = 0x0026,             /* RFC 5780 */
	NAT_STUN_A_RESPONSE_PORT = 0x0027,
	NAT_STUN_A_PASSWORD_ALGORITHMS = 0x8002,
	NAT_STUN_A_ALTERNATE_DOMAIN = 0x8003,
	NAT_STUN_A_SOFTWARE = 0x8022,
	NAT_STUN_A_ALTERNATE_SERVER = 0x8023,
	NAT_STUN_A_CACHE_TIMEOUT = 0x8027,
	NAT_STUN_A_FINGERPRINT = 0x8028,
	NAT_STUN_A_ICE_CONTROLLED = 0x8029,
	NAT_STUN_A_ICE_CONTROLLING = 0x802A,
	NAT_STUN_A_RESPONSE_ORIGIN = 0x802B,
	NAT_STUN_A_OTHER_ADDRESS = 0x802C,
};

/* CHANGE-REQUEST flag bits (RFC 5780 section 7.2) */
#define NAT_STUN_CHANGE_IP 0x4u
#define NAT_STUN_CHANGE_PORT 0x2u

enum nat_stun_family { NAT_STUN_FAM_NONE = 0, NAT_STUN_FAM_IPV4 = 1, NAT_STUN_FAM_IPV6 = 2 };

/* A transport address. family NONE means "absent" in a parsed message. */
struct nat_stun_addr {
	uint8_t family;     /* enum nat_stun_family */
	uint16_t port;      /* host order */
	uint32_t ip4;       /* host order */
	uint8_t ip6[16];    /* network order */
};

/* A text or opaque value inside the datagram; p == NULL when absent. */
struct nat_stun_text {
	const uint8_t *p;
	uint16_t len;
};

/* ---- builder ---------------------------------------------------------- */

/* Errors are sticky: after a failed add every later call fails too, so a
 * caller may chain adds and test only the last result. */
struct nat_stun_builder {
	uint8_t *buf;
	size_t cap;
	size_t len;        /* bytes written so far (header included) */
	uint8_t pad;       /* value of padding bytes; any value is legal, 0 default */
	bool failed;
};

/* Each function returns the message length so far, or -1 when the buffer
 * (or the 16-bit STUN length) is too small or an argument is invalid. */
int nat_stun_start(struct nat_stun_builder *b, uint8_t *buf, size_t cap,
		   enum nat_stun_class cls, uint16_t method,
		   const uint8_t tid[NAT_STUN_TID_LEN]);
int nat_stun_add_raw(struct nat_stun_builder *b, uint16_t type, const void *val, size_t len);
/* C string values: SOFTWARE, USERNAME, REALM, NONCE, ... */
int nat_stun_add_str(struct nat_stun_builder *b, uint16_t type, const char *s);
/* PRIORITY, CHANGE-REQUEST (NAT_STUN_CHANGE_* bits), ... */
int nat_stun_add_u32(struct nat_stun_builder *b, uint16_t type, uint32_t v);
/* ICE-CONTROLLED / ICE-CONTROLLING tie-breakers */
int nat_stun_add_u64(struct nat_stun_builder *b, uint16_t type, uint64_t v);
/* MAPPED-ADDRESS, RESPONSE-ORIGIN, OTHER-ADDRESS, ALTERNATE-SERVER */
int nat_stun_add_addr(struct nat_stun_builder *b, uint16_t type, const struct nat_stun_addr *a);
/* XOR-MAPPED-ADDRESS (and TURN's XOR-PEER/RELAYED-ADDRESS) */
int nat_stun_add_xor_addr(struct nat_stun_builder *b, uint16_t type, const struct nat_stun_addr *a);
/* code 300..699; reason may be NULL */
int nat_stun_add_error(struct nat_stun_builder *b, uint16_t code, const char *reason);
/* UNKNOWN-ATTRIBUTES for a 420 answer */
int nat_stun_add_unknown(struct nat_stun_builder *b, const uint16_t *types, size_t n);
/* MESSAGE-INTEGRITY(-SHA256) over everything added so far; key is the
 * short-term password or nat_stun_long_term_key()'s output. */
int nat_stun_add_integrity(struct nat_stun_builder *b, const uint8_t *key, size_t keylen);
int nat_stun_add_integrity_sha256(struct nat_stun_builder *b, const uint8_t *key, size_t keylen);
/* FINGERPRINT; must be the last add */
int nat_stun_add_fingerprint(struct nat_stun_builder *b);

/* ---- parser ----------------------------------------------------------- */

enum nat_stun_err {
	NAT_STUN_OK = 0,
	NAT_STUN_E_SHORT,          /* shorter than a header */
	NAT_STUN_E_NOT_STUN,       /* first two bits not 00 */
	NAT_STUN_E_LENGTH,         /* length field not 4-aligned or not the datagram's */
	NAT_STUN_E_CLASSIC,        /* well framed but no magic cookie: RFC 3489 */
	NAT_STUN_E_ATTR_OVERRUN,   /* attribute (or its padding) past the end */
	NAT_STUN_E_ATTR_VALUE,     /* a known attribute with a malformed value */
	NAT_STUN_E_AFTER_FINGERPRINT,
	NAT_STUN_E_FINGERPRINT,    /* CRC mismatch */
	NAT_STUN_E_COUNT
};

/* Flags for value-less or integer attributes in nat_stun_msg.flags */
#define NAT_STUN_F_PRIORITY 0x01u
#define NAT_STUN_F_USE_CANDIDATE 0x02u
#define NAT_STUN_F_ICE_CONTROLLED 0x04u
#define NAT_STUN_F_ICE_CONTROLLING 0x08u
#define NAT_STUN_F_CHANGE_REQUEST 0x10u

/* A parsed message. Only the first instance of an attribute type counts
 * (RFC 8489 section 14). Offsets are from the start of the datagram and
 * point at the attribute header; 0 means absent. */
struct nat_stun_msg {
	const uint8_t *buf;
	size_t len;
	uint16_t method;
	uint8_t cls;                 /* enum nat_stun_class */
	uint8_t tid[NAT_STUN_TID_LEN];
	uint32_t flags;              /* NAT_STUN_F_* */
	struct nat_stun_addr xor_mapped, mapped, response_origin, other_address,
		alternate_server;
	uint16_t error_code;         /* 300..699, 0 when absent */
	struct nat_stun_text error_reason, username, realm, nonce, software;
	uint32_t priority;
	uint32_t change_request;     /* NAT_STUN_CHANGE_* */
	uint64_t tiebreaker;         /* of ICE-CONTROLLED or ICE-CONTROLLING */
	uint32_t mi_off, mi256_off, fp_off;
	bool classic;                /* no magic cookie (RFC 3489) */
	/* distinct comprehension-required types we do not know, at most
	 * NAT_STUN_MAX_UNKNOWN of them: the 420 answer's list */
	uint16_t n_unknown;
	uint16_t unknown[NAT_STUN_MAX_UNKNOWN];
};

/* Strict parse (FINGERPRINT, when present, is checked here). Returns 0 or a
 * negative enum nat_stun_err. On -NAT_STUN_E_CLASSIC the header fields and
 * the non-XOR attributes of *m are filled in, XOR addresses are left absent. */
int nat_stun_parse(const uint8_t *p, size_t len, struct nat_stun_msg *m);
const char *nat_stun_err_name(int err);

/* First attribute of a type, for those the struct does not decode (TURN). */
const uint8_t *nat_stun_find(const struct nat_stun_msg *m, uint16_t type, uint16_t *len);
/* The first attribute of a type decoded as an XOR address (TURN's
 * XOR-PEER-ADDRESS and XOR-RELAYED-ADDRESS). 0, or -1 with *a cleared when
 * it is absent or malformed. */
int nat_stun_find_xor_addr(const struct nat_stun_msg *m, uint16_t type, struct nat_stun_addr *a);

/* 0: MESSAGE-INTEGRITY-SHA256 (preferred when both are present, RFC 8489
 * 14.6) or MESSAGE-INTEGRITY matches; -1 mismatch; -2 neither attribute. */
int nat_stun_check_integrity(const struct nat_stun_msg *m, const uint8_t *key, size_t keylen);
/* Long-term credential key MD5(username ":" realm ":" password), RFC 8489
 * 9.2.2. The strings must already be SASLprep/OpaqueString processed.
 * Returns 0, -1 on an OpenSSL failure. */
int nat_stun_long_term_key(const char *username, const char *realm, const char *password,
			   uint8_t key[NAT_STUN_LT_KEY_LEN]);

/* ---- classifiers for a packet path ------------------------------------ */

/* A plausible RFC 5389/8489 message: 00 bits, cookie, consistent length. */
bool nat_stun_is_stun(const uint8_t *p, size_t len);
/* TURN ChannelData (RFC 8656 12.4): 01 bits, channel 0x4000..0x4FFF, the
 * announced data within len (UDP may carry up to 3 padding bytes more). */
bool nat_stun_is_channel_data(const uint8_t *p, size_t len, uint16_t *channel, uint16_t *dlen);

#endif
