/* SPDX-License-Identifier: BSD-3-Clause
 * SIP over TLS: the server context (TLS 1.2 at least, certificate and key,
 * cipher lists, client certificates checked against sip.tls_ca) and what a
 * failed handshake leaves: a counter and a debug line, never key material. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "config/cfg_log.h"
#include "cp_sip_priv.h"

static int tls_err(const char *what, const char *val)
{
	unsigned long e = ERR_get_error();

	fprintf(stderr, "cp_sip: %s %s: %s\n", what, val, e ? ERR_error_string(e, NULL) : "refused");
	ERR_clear_error();
	return -EINVAL;
}

/* Client certificates: asked for when sip.tls_ca is set, required (and the
 * handshake fails without one) with sip.tls_verify_client. */
static int tls_client_ca(SSL_CTX *ctx, const struct cfg_sip *c)
{
	STACK_OF(X509_NAME) *names;

	if (!c->tls_ca)
		return 0;
	if (SSL_CTX_load_verify_locations(ctx, c->tls_ca, NULL) != 1)
		return tls_err("sip.tls_ca", c->tls_ca);
	names = SSL_load_client_CA_file(c->tls_ca);
	if (!names)
		return tls_err("sip.tls_ca", c->tls_ca);
	SSL_CTX_set_client_CA_list(ctx, names);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
			   (c->tls_verify_client ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0), NULL);
	return 0;
}

int cp_sip_tls_ctx(struct cp_sip *s)
{
	const struct cfg_sip *c = &s->cfg->sip;

	if (s->ssl_ctx)
		return 0;
	if (!c->tls_cert || !c->tls_key) {
		fprintf(stderr, "cp_sip: tls listener needs sip.tls_cert and sip.tls_key\n");
		return -EINVAL;
	}
	s->ssl_ctx = SSL_CTX_new(TLS_server_method());
	if (!s->ssl_ctx)
		return -ENOMEM;
	if (SSL_CTX_set_min_proto_version(s->ssl_ctx, TLS1_2_VERSION) != 1)
		return tls_err("TLS", "1.2 minimum");
	SSL_CTX_set_mode(s->ssl_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
			 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (SSL_CTX_use_certificate_chain_file(s->ssl_ctx, c->tls_cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(s->ssl_ctx, c->tls_key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(s->ssl_ctx) != 1) {
		unsigned long e = ERR_get_error();
		fprintf(stderr, "cp_sip: tls cert %s / key %s: %s\n", c->tls_cert, c->tls_key,
			ERR_error_string(e, NULL));
		return -EINVAL;
	}
	if (c->tls_ciphers && SSL_CTX_set_cipher_list(s->ssl_ctx, c->tls_ciphers) != 1)
		return tls_err("sip.tls_ciphers", c->tls_ciphers);
	if (c->tls_ciphersuites && SSL_CTX_set_ciphersuites(s->ssl_ctx, c->tls_ciphersuites) != 1)
		return tls_err("sip.tls_ciphersuites", c->tls_ciphersuites);
	return tls_client_ca(s->ssl_ctx, c);
}

void cp_sip_tls_failed(struct cp_sip *s, const struct cp_sip_conn *c)
{
	unsigned long e = ERR_peek_error();
	struct in_addr a = { htonl(c->peer.ip) };
	char ip[16];

	s->ctr.tls_failures++;
	LOG_DEBUG("sip: TLS handshake from %s:%u failed: %s",
		  inet_ntop(AF_INET, &a, ip, sizeof(ip)), c->peer.port,
		  e ? ERR_reason_error_string(e) : "connection closed");
	ERR_clear_error();
}
