/* SPDX-License-Identifier: BSD-3-Clause
 * Hole punching (nat.keepalive): behind NAT, each media port of a call sends toward
 * the SRC's SDP address right after the answer and every nat.keepalive_s, so a NAT
 * that filters by remote address (and port) lets the SRC's media in. An empty RTP
 * packet (RFC 6263: header only, a payload type the call does not use) or a STUN
 * Binding Indication (RFC 8489, with FINGERPRINT). */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "cp_session_priv.h"
#include "nat/nat_stun.h"

/* A payload type the stream's m= line does not list. */
static uint8_t cp_ka_pt(const struct cp_stream *st)
{
	for (unsigned pt = 127; pt > 96; pt--) {
		char want[8];
		snprintf(want, sizeof(want), "%u", pt);
		const char *p = st->fmts;
		bool used = false;
		while (!used && (p = strstr(p, want)) != NULL) {
			size_t n = strlen(want);
			used = (p == st->fmts || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' ');
			p += n;
		}
		if (!used)
			return (uint8_t)pt;
	}
	return 127;
}

static size_t cp_ka_rtp(struct cp_session *s, const struct cp_stream *st, uint8_t *buf)
{
	uint16_t seq = s->ka_seq++;

	buf[0] = 0x80;
	buf[1] = cp_ka_pt(st);
	buf[2] = (uint8_t)(seq >> 8);
	buf[3] = (uint8_t)seq;
	memset(buf + 4, 0, 4); /* timestamp */
	memcpy(buf + 8, &s->ka_ssrc, 4);
	return 12;
}

static size_t cp_ka_stun(uint8_t *buf, size_t cap)
{
	uint8_t tid[NAT_STUN_TID_LEN];
	struct nat_stun_builder b;

	if (getrandom(tid, sizeof(tid), 0) != (ssize_t)sizeof(tid))
		return 0;
	nat_stun_start(&b, buf, cap, NAT_STUN_INDICATION, NAT_STUN_BINDING, tid);
	int n = nat_stun_add_fingerprint(&b);
	return n < 0 ? 0 : (size_t)n;
}

static void cp_ka_send(struct cp_ctx *cp, struct cp_session *s, uint16_t port, uint32_t dst_ip,
		       uint16_t dst_port, const struct cp_stream *st)
{
	struct cp_udp_addr a = { cp_sess_local_ip(cp->sess, s), dst_ip, port, dst_port };
	uint8_t buf[64];
	size_t n = cp->cfg->nat.keepalive_kind == CFG_KEEPALIVE_STUN ? cp_ka_stun(buf, sizeof(buf))
								     : cp_ka_rtp(s, st, buf);

	if (n != 0 && cp_udp_send(cp, &a, buf, n) == 0)
		cp->sess->keepalives++;
}

void cp_sess_keepalive(struct cp_ctx *cp, struct cp_session *s, uint64_t now_ms)
{
	const struct cfg_nat *nc = &cp->cfg->nat;

	if (nc->keepalive_kind == CFG_KEEPALIVE_OFF || cp->sess->external_ip == 0)
		return;
	if (s->ka_ssrc == 0 && getrandom(&s->ka_ssrc, sizeof(s->ka_ssrc), 0) < 0)
		s->ka_ssrc = (uint32_t)rand();
	for (unsigned i = 0; i < s->n_streams; i++) {
		const struct cp_stream *st = &s->streams[i];
		/* where the media comes from once latched (an SRC behind NAT), else the SDP's */
		uint32_t ip = st->latched_ip ? st->latched_ip : st->offer_ip;
		uint16_t port = st->latched_ip ? st->latched_port : st->offer_port;
		if (!st->in_use || st->port == 0 || ip == 0 || port == 0 || st->relay_ip != 0)
			continue; /* a relayed stream's media comes through the relay */
		cp_ka_send(cp, s, st->port, ip, port, st);
		if (!st->rtcp_mux) /* the SRC's RTCP port by RFC 3550's convention */
			cp_ka_send(cp, s, (uint16_t)(st->port + 1), ip, (uint16_t)(port + 1), st);
	}
	s->next_ka_ms = now_ms + nc->keepalive_s * 1000ull;
}
