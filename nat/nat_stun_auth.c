/* SPDX-License-Identifier: BSD-3-Clause
 * MESSAGE-INTEGRITY(-SHA256), FINGERPRINT and long-term keys (OpenSSL 3
 * EVP, zlib crc32): see nat_stun.h. */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <zlib.h>

#include "nat_stun_priv.h"

/* The message is const on the receive side, so the adjusted length field is
 * fed to the MAC as a separate piece instead of being patched in. */
int nat_stun_hmac(const char *digest, const uint8_t *key, size_t keylen,
		  const uint8_t *msg, size_t upto, uint16_t adj_len,
		  uint8_t *out, size_t outlen)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
	EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)digest, 0),
		OSSL_PARAM_construct_end(),
	};
	uint8_t len_be[2];
	size_t n = 0;

	nat_put16(len_be, adj_len);
	int ok = ctx && EVP_MAC_init(ctx, key, keylen, params) &&
		 EVP_MAC_update(ctx, msg, 2) && EVP_MAC_update(ctx, len_be, 2) &&
		 EVP_MAC_update(ctx, msg + 4, upto - 4) &&
		 EVP_MAC_final(ctx, out, &n, outlen);
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return ok && n == outlen ? 0 : -1;
}

uint32_t nat_stun_crc(const uint8_t *msg, size_t upto, uint16_t adj_len)
{
	uint8_t len_be[2];
	uLong crc = crc32(0L, Z_NULL, 0);

	nat_put16(len_be, adj_len);
	crc = crc32(crc, msg, 2);
	crc = crc32(crc, len_be, 2);
	crc = crc32(crc, msg + 4, (uInt)(upto - 4));
	return (uint32_t)crc ^ NAT_STUN_FP_XOR;
}

/* The MAC covers the message up to the attribute, with the length field
 * counting through the end of the attribute itself. */
static int check_mac(const struct nat_stun_msg *m, uint16_t off, const char *digest,
		     size_t full, const uint8_t *key, size_t keylen)
{
	uint8_t mac[NAT_STUN_MI256_LEN];
	uint16_t vlen = nat_be16(m->buf + off + 2);

	if (nat_stun_hmac(digest, key, keylen, m->buf, off,
			  (uint16_t)(off + 4 + vlen - NAT_STUN_HDR_LEN), mac, full) != 0)
		return -1;
	return CRYPTO_memcmp(mac, m->buf + off + 4, vlen) == 0 ? 0 : -1;
}

int nat_stun_check_integrity(const struct nat_stun_msg *m, const uint8_t *key, size_t keylen)
{
	if (m->mi256_off)
		return check_mac(m, m->mi256_off, "SHA256", NAT_STUN_MI256_LEN, key, keylen);
	if (m->mi_off)
		return check_mac(m, m->mi_off, "SHA1", NAT_STUN_MI_LEN, key, keylen);
	return -2;
}

int nat_stun_long_term_key(const char *username, const char *realm, const char *password,
			   uint8_t key[NAT_STUN_LT_KEY_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int n = 0;
	int ok = ctx && EVP_DigestInit_ex(ctx, EVP_md5(), NULL) &&
		 EVP_DigestUpdate(ctx, username, strlen(username)) &&
		 EVP_DigestUpdate(ctx, ":", 1) &&
		 EVP_DigestUpdate(ctx, realm, strlen(realm)) &&
		 EVP_DigestUpdate(ctx, ":", 1) &&
		 EVP_DigestUpdate(ctx, password, strlen(password)) &&
		 EVP_DigestFinal_ex(ctx, key, &n);

	EVP_MD_CTX_free(ctx);
	return ok && n == NAT_STUN_LT_KEY_LEN ? 0 : -1;
}
