/* SPDX-License-Identifier: BSD-3-Clause
 * SRTP decryption of recorded frames (libsrtp2): one srtp_t per media stream
 * keyed by SDES (policy ssrc_any_inbound), picked by the frame's UDP
 * destination port. A packet that does not authenticate (or replays, or whose
 * key libsrtp refused) is written as received and counted: never fatal.
 * New keys for a stream (an SBC re-keying in a re-INVITE) keep the rollover
 * counter of the SSRC last decrypted (RFC 3711 3.3.1: the index goes on across
 * master keys); a sender that restarts it instead is taken as well. An MKI is
 * checked and taken out here, before libsrtp. */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <srtp2/srtp.h>

#include "config/cfg_log.h"
#include "dataplane/dp_parse.h"
#include "dataplane/dp_rtp.h"
#include "rec_priv.h"

#define REC_ETH_HDR 14u
#define REC_UDP_HDR 8u

struct rec_srtp_ent {
	struct rec_srtp_key key;
	srtp_t ctx;   /* NULL: no key, or libsrtp refused it */
	srtp_t carry; /* after new keys: ctx's twin with ssrc's rollover counter, tried
		       * first until a packet of ssrc tells which one the sender uses */
	uint32_t ssrc, roc; /* last SSRC decrypted; roc: what carry was given */
	bool has_ssrc;
};

struct rec_srtp {
	unsigned n;
	struct rec_srtp_ent e[REC_SRTP_MAX];
	struct rec_srtp_count c[REC_SRTP_MAX];
};

static pthread_once_t rec_srtp_once = PTHREAD_ONCE_INIT;
static srtp_err_status_t rec_srtp_init_rc;

static void rec_srtp_init(void)
{
	rec_srtp_init_rc = srtp_init();
	if (rec_srtp_init_rc != srtp_err_status_ok)
		LOG_ERR("recorder: srtp_init failed (%d): SRTP streams are written as received",
			(int)rec_srtp_init_rc);
}

int rec_srtp_lib_init(void)
{
	pthread_once(&rec_srtp_once, rec_srtp_init);
	return rec_srtp_init_rc == srtp_err_status_ok ? 0 : -EIO;
}

/* ssrc != NULL: a stream of its own for *ssrc, its rollover counter set to roc. */
static srtp_t rec_srtp_ctx(const struct rec_srtp_key *k, const uint32_t *ssrc, uint32_t roc)
{
	srtp_policy_t pol;
	srtp_t ctx = NULL;
	uint8_t key[sizeof(k->key)];
	srtp_err_status_t rc;

	if (rec_srtp_lib_init() != 0 || k->suite == REC_SRTP_NONE)
		return NULL;
	memset(&pol, 0, sizeof(pol));
	if (k->suite == REC_SRTP_AES128_SHA1_32)
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&pol.rtp);
	else
		srtp_crypto_policy_set_rtp_default(&pol.rtp);
	/* RFC 4568 6.2.1: SRTCP keeps the 80-bit tag with either suite */
	srtp_crypto_policy_set_rtcp_default(&pol.rtcp);
	memcpy(key, k->key, sizeof(key));
	pol.ssrc.type = ssrc_any_inbound;
	pol.key = key;
	pol.window_size = 1024;
	pol.allow_repeat_tx = 0;
	rc = srtp_create(&ctx, &pol);
	if (rc == srtp_err_status_ok && ssrc != NULL) {
		pol.ssrc.type = ssrc_specific;
		pol.ssrc.value = *ssrc;
		rc = srtp_add_stream(ctx, &pol);
		if (rc == srtp_err_status_ok)
			rc = srtp_set_stream_roc(ctx, *ssrc, roc);
		if (rc != srtp_err_status_ok) {
			srtp_dealloc(ctx);
			return NULL; /* ctx alone then: as with a restarted counter */
		}
		return ctx;
	}
	if (rc != srtp_err_status_ok) {
		LOG_WARN("recorder: SRTP key for port %u refused by libsrtp (%d): its packets are "
			 "written as received", k->rtp_port, (int)rc);
		return NULL;
	}
	return ctx;
}

static void rec_srtp_drop(srtp_t *ctx)
{
	if (*ctx != NULL)
		srtp_dealloc(*ctx);
	*ctx = NULL;
}

static void rec_srtp_clear(struct rec_srtp *s)
{
	for (unsigned i = 0; i < s->n; i++) {
		rec_srtp_drop(&s->e[i].ctx);
		rec_srtp_drop(&s->e[i].carry);
	}
	s->n = 0;
}

/* Entry e's context(s) for new keys k; old: the entry before, NULL for a new stream. */
static void rec_srtp_rekey(struct rec_srtp_ent *e, const struct rec_srtp_key *k,
			   const struct rec_srtp_ent *old)
{
	uint32_t roc = 0;

	memset(e, 0, sizeof(*e));
	memcpy(&e->key, k, sizeof(*k)); /* padding too */
	e->ctx = rec_srtp_ctx(k, NULL, 0);
	if (old == NULL || !old->has_ssrc || old->key.rtp_port != k->rtp_port)
		return;
	if (old->carry != NULL)
		roc = old->roc; /* keyed again before ssrc sent: still unconfirmed */
	else if (old->ctx == NULL || srtp_get_stream_roc(old->ctx, old->ssrc, &roc) !=
					     srtp_err_status_ok)
		roc = 0;
	e->ssrc = old->ssrc;
	e->has_ssrc = true;
	if (roc != 0 && e->ctx != NULL) {
		e->roc = roc;
		e->carry = rec_srtp_ctx(k, &e->ssrc, roc);
	}
}

int rec_srtp_set(struct rec_srtp *s, const struct rec_srtp_key *keys, unsigned n)
{
	struct rec_srtp_ent old[REC_SRTP_MAX];
	unsigned old_n = s->n;

	if (n > REC_SRTP_MAX)
		n = REC_SRTP_MAX;
	memcpy(old, s->e, sizeof(old));
	for (unsigned i = 0; i < n; i++) {
		/* the same key (a re-INVITE answered again) keeps its context: its
		 * rollover counter and replay window stay right */
		if (i < old_n && memcmp(&old[i].key, &keys[i], sizeof(keys[i])) == 0) {
			s->e[i] = old[i];
			old[i].ctx = NULL;
			old[i].carry = NULL;
		} else {
			rec_srtp_rekey(&s->e[i], &keys[i], i < old_n ? &old[i] : NULL);
		}
		/* the same stream keeps its counters */
		if (i >= old_n)
			memset(&s->c[i], 0, sizeof(s->c[i]));
		s->c[i].rtp_port = keys[i].rtp_port;
	}
	for (unsigned i = 0; i < old_n; i++) {
		rec_srtp_drop(&old[i].ctx);
		rec_srtp_drop(&old[i].carry);
	}
	for (unsigned i = n; i < REC_SRTP_MAX; i++)
		memset(&s->c[i], 0, sizeof(s->c[i]));
	s->n = n;
	return 0;
}

struct rec_srtp *rec_srtp_create(const struct rec_srtp_key *keys, unsigned n)
{
	struct rec_srtp *s = calloc(1, sizeof(*s));

	if (s != NULL)
		rec_srtp_set(s, keys, n);
	return s;
}

void rec_srtp_free(struct rec_srtp *s)
{
	if (s == NULL)
		return;
	rec_srtp_clear(s);
	free(s);
}

const struct rec_srtp_count *rec_srtp_counts(const struct rec_srtp *s, unsigned *n)
{
	*n = s->n;
	return s->c;
}

static uint16_t rec_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void rec_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t rec_ip_csum(const uint8_t *h, unsigned len)
{
	uint32_t sum = 0;

	for (unsigned i = 0; i + 1 < len; i += 2)
		sum += rec_get16(h + i);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static srtp_err_status_t rec_srtp_unprotect1(srtp_t ctx, bool rtcp, uint8_t *pl, int *n)
{
	if (ctx == NULL)
		return srtp_err_status_no_ctx;
	return rtcp ? srtp_unprotect_rtcp(ctx, pl, n) : srtp_unprotect(ctx, pl, n);
}

/* The authentication tag's length: 80 bits, 32 for SRTP of the _32 suite (RFC 4568 6.2.1). */
static unsigned rec_srtp_tag_len(const struct rec_srtp_key *k, bool rtcp)
{
	return rtcp || k->suite != REC_SRTP_AES128_SHA1_32 ? 10u : 4u;
}

/* With an MKI (RFC 3711 3.1, 3.4: after the packet, before the tag, not authenticated):
 * checked and taken out, so libsrtp sees the packet as without one (libsrtp 2.5 looks
 * for an SRTCP MKI by the SRTP tag length, wrong with the _32 suite). saved: the bytes
 * moved, for rec_srtp_mki_back. 0, or -1 when the MKI is not the offered one. */
static int rec_srtp_mki_out(const struct rec_srtp_key *k, bool rtcp, uint8_t *pl, int *n,
			    uint8_t *saved)
{
	unsigned tag = rec_srtp_tag_len(k, rtcp), at;

	if (k->mki_len == 0)
		return 0;
	if ((unsigned)*n < 8u + k->mki_len + tag)
		return -1;
	at = (unsigned)*n - tag - k->mki_len;
	if (memcmp(pl + at, k->mki, k->mki_len) != 0)
		return -1;
	memcpy(saved, pl + at, k->mki_len + tag);
	memmove(pl + at, pl + at + k->mki_len, tag);
	*n -= k->mki_len;
	return 0;
}

/* A packet that did not authenticate back as received (n: its length without the MKI). */
static void rec_srtp_mki_back(const struct rec_srtp_key *k, bool rtcp, uint8_t *pl, int n,
			      const uint8_t *saved)
{
	unsigned tag = rec_srtp_tag_len(k, rtcp);

	if (k->mki_len != 0)
		memcpy(pl + (unsigned)n - tag, saved, k->mki_len + tag);
}

/* Unprotect with e's context; after new keys the one carrying the rollover counter
 * first: the first RTP packet of e->ssrc that authenticates settles which one stays. */
static srtp_err_status_t rec_srtp_unprotect(struct rec_srtp_ent *e, bool rtcp, uint8_t *pl,
					    int *n)
{
	uint8_t saved[sizeof(e->key.mki) + 10];
	int len = *n;
	srtp_err_status_t rc;
	uint32_t ssrc = 0;

	if (!rtcp && len >= 12)
		memcpy(&ssrc, pl + 8, 4);
	if (rec_srtp_mki_out(&e->key, rtcp, pl, n, saved) != 0)
		return srtp_err_status_bad_mki;
	len = *n;
	if (e->carry != NULL) {
		rc = rec_srtp_unprotect1(e->carry, rtcp, pl, n);
		if (rc == srtp_err_status_ok) {
			if (!rtcp && ntohl(ssrc) == e->ssrc) {
				rec_srtp_drop(&e->ctx);
				e->ctx = e->carry; /* the sender went on counting */
				e->carry = NULL;
			}
			goto done;
		}
		*n = len;
	}
	rc = rec_srtp_unprotect1(e->ctx, rtcp, pl, n);
	if (rc == srtp_err_status_ok && !rtcp && ntohl(ssrc) == e->ssrc)
		rec_srtp_drop(&e->carry); /* the sender restarted its counter */
done:
	if (rc == srtp_err_status_ok && !rtcp && e->carry == NULL) { /* else: still the carried one */
		e->ssrc = ntohl(ssrc);
		e->has_ssrc = true;
	} else if (rc != srtp_err_status_ok) {
		rec_srtp_mki_back(&e->key, rtcp, pl, len, saved);
	}
	return rc;
}

/* The entry whose port is dport: *rtcp set when the packet is SRTCP. */
static int rec_srtp_find(const struct rec_srtp *s, uint16_t dport, const uint8_t *pl,
			 uint32_t plen, bool *rtcp)
{
	for (unsigned i = 0; i < s->n; i++) {
		const struct rec_srtp_key *k = &s->e[i].key;

		if (k->suite == REC_SRTP_NONE)
			continue;
		if (k->rtcp_port != 0 && dport == k->rtcp_port) {
			*rtcp = true;
			return (int)i;
		}
		if (dport == k->rtp_port) {
			*rtcp = k->rtcp_port == 0 && plen >= 2 && dp_rtp_is_rtcp(pl); /* rtcp-mux */
			return (int)i;
		}
	}
	return -1;
}

uint32_t rec_srtp_frame(struct rec_srtp *s, uint8_t *frame, uint32_t len)
{
	uint32_t l3 = REC_ETH_HDR, ihl, tot, ulen, plen;
	uint16_t type;
	uint8_t *ip, *udp, *pl;
	bool rtcp = false;
	srtp_err_status_t rc;
	int i, n;

	if (s == NULL || s->n == 0 || len < REC_ETH_HDR + 20 + REC_UDP_HDR)
		return len;
	type = rec_get16(frame + 12);
	/* up to two tags (802.1Q or 802.1ad), as the dataplane takes them */
	for (unsigned tags = 0; tags < 2 && dp_is_vlan_tpid(type); tags++) {
		l3 += 4; /* len >= 42: both tags are in the frame */
		type = rec_get16(frame + l3 - 2);
	}
	ip = frame + l3;
	if (type != 0x0800 || len < l3 + 20 || (ip[0] >> 4) != 4 || ip[9] != 17)
		return len;
	ihl = (ip[0] & 15u) * 4u;
	tot = rec_get16(ip + 2);
	if (ihl < 20 || (rec_get16(ip + 6) & 0x3fff) != 0 || tot < ihl + REC_UDP_HDR ||
	    l3 + tot > len)
		return len;
	udp = ip + ihl;
	ulen = rec_get16(udp + 4);
	if (ulen < REC_UDP_HDR || ihl + ulen > tot)
		return len;
	pl = udp + REC_UDP_HDR;
	plen = ulen - REC_UDP_HDR;
	i = rec_srtp_find(s, rec_get16(udp + 2), pl, plen, &rtcp);
	if (i < 0)
		return len;
	n = (int)plen;
	rc = rec_srtp_unprotect(&s->e[i], rtcp, pl, &n);
	if (rc != srtp_err_status_ok || n < 0 || (uint32_t)n > plen) {
		/* libsrtp checks the tag (and replay) before it decrypts: pl unchanged */
		s->c[i].srtp_errors++;
		return len;
	}
	s->c[i].decrypted++;
	ulen = REC_UDP_HDR + (uint32_t)n;
	tot = ihl + ulen;
	rec_put16(udp + 4, (uint16_t)ulen);
	rec_put16(udp + 6, 0);
	rec_put16(ip + 2, (uint16_t)tot);
	rec_put16(ip + 10, 0);
	rec_put16(ip + 10, rec_ip_csum(ip, ihl));
	return l3 + tot; /* Ethernet padding, if any, goes with the tag */
}
