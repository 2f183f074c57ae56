/* SPDX-License-Identifier: BSD-3-Clause
 * UDP datagrams of a call to streams. A datagram belongs to the first
 * session.json stream whose local port is its destination port, else whose
 * latched address, else whose negotiated address is its source; the rest is
 * grouped by SSRC (streams "ssrc-XXXXXXXX", static payload types only).
 * RTCP and what is not RTP are counted and skipped, so are comfort noise,
 * telephone-event, payload types without a decodable codec, and SRTP that the
 * recorder did not decrypt. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "exp.h"

#define EXP_MAX_FALLBACK 1024

struct exp_stream {
	char name[96];
	int sess; /* index in the session, -1: grouped by SSRC */
	uint32_t ssrc;
	const struct exp_ptmap *map;
	struct exp_track track;
	uint64_t cn, dtmf, unknown, encrypted;
	uint64_t unknown_pt[EXP_PT_MAX];
};

struct exp_call {
	const struct exp_session *sess;
	struct exp_ptmap static_map;
	struct exp_stream *streams;
	unsigned n, cap;
	unsigned *audio, n_audio;
	uint64_t rtcp, not_rtp, overflow;
	int nomem, quiet;
};

static struct exp_stream *exp_call_push(struct exp_call *c)
{
	struct exp_stream *st;

	if (c->n == c->cap) {
		unsigned nc = c->cap ? c->cap * 2 : 8;
		struct exp_stream *ns = realloc(c->streams, nc * sizeof(*ns));
		if (ns == NULL)
			return NULL;
		c->streams = ns;
		c->cap = nc;
	}
	st = &c->streams[c->n++];
	memset(st, 0, sizeof(*st));
	st->sess = -1;
	st->map = &c->static_map;
	return st;
}

struct exp_call *exp_call_new(const struct exp_session *s, int quiet)
{
	struct exp_call *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->sess = s;
	c->quiet = quiet;
	exp_ptmap_static(&c->static_map);
	for (unsigned i = 0; s && i < s->n_streams; i++) {
		struct exp_stream *st = exp_call_push(c);
		if (st == NULL) {
			exp_call_free(c);
			return NULL;
		}
		st->sess = (int)i;
		st->map = &s->streams[i].map;
	}
	return c;
}

static int exp_addr_eq(const struct exp_addr *a, uint32_t ip, uint16_t port)
{
	return a->ip != 0 && a->ip == ip && a->port == port;
}

static struct exp_stream *exp_call_match(struct exp_call *c, const struct exp_udp *u,
					 uint32_t ssrc)
{
	unsigned ns = c->sess ? c->sess->n_streams : 0, i;
	const struct exp_sstream *ss = ns ? c->sess->streams : NULL;
	struct exp_stream *st;

	for (i = 0; i < ns; i++)
		if (ss[i].local_port != 0 && ss[i].local_port == u->dst_port)
			return &c->streams[i];
	for (i = 0; i < ns; i++)
		if (exp_addr_eq(&ss[i].latched, u->src_ip, u->src_port))
			return &c->streams[i];
	for (i = 0; i < ns; i++)
		if (exp_addr_eq(&ss[i].negotiated, u->src_ip, u->src_port))
			return &c->streams[i];
	for (i = ns; i < c->n; i++)
		if (c->streams[i].ssrc == ssrc)
			return &c->streams[i];
	if (c->n - ns >= EXP_MAX_FALLBACK)
		return NULL;
	st = exp_call_push(c);
	if (st != NULL)
		st->ssrc = ssrc;
	return st;
}

/* The payload is still SRTP: a decrypted packet has UDP checksum 0 (the recorder
 * sets it), any other was written as received. */
static int exp_call_encrypted(const struct exp_call *c, const struct exp_stream *st,
			      const struct exp_udp *u)
{
	uint8_t mode = st->sess >= 0 ? c->sess->streams[st->sess].srtp : EXP_SRTP_NONE;

	return mode == EXP_SRTP_KEEP || (mode == EXP_SRTP_DECRYPT && u->csum != 0);
}

void exp_call_udp(void *call, int64_t ts_ns, const struct exp_udp *u)
{
	struct exp_call *c = call;
	struct exp_stream *st;
	const struct exp_codec *codec;
	struct exp_rtp r;

	switch (exp_rtp_parse(u->payload, u->len, &r)) {
	case EXP_RTP_RTCP:
		c->rtcp++;
		return;
	case EXP_RTP_NOT:
		c->not_rtp++;
		return;
	default:
		break;
	}
	st = exp_call_match(c, u, r.ssrc);
	if (st == NULL) {
		c->overflow++;
		return;
	}
	if (exp_call_encrypted(c, st, u)) {
		st->encrypted++;
		return;
	}
	codec = &st->map->pt[r.pt];
	if (exp_codec_is_audio(codec->id)) {
		if (exp_track_add(&st->track, ts_ns, &r, codec) != 0)
			c->nomem = 1;
	} else if (codec->id == EXP_CODEC_CN) {
		st->cn++;
	} else if (codec->id == EXP_CODEC_DTMF) {
		st->dtmf++;
	} else {
		st->unknown++;
		st->unknown_pt[r.pt]++;
	}
}

/* A file name from a label: [A-Za-z0-9_.-] kept, the rest '_', no leading
 * dot; unique among the streams before and never "call". */
static void exp_stream_name(struct exp_call *c, unsigned idx)
{
	struct exp_stream *st = &c->streams[idx];
	char base[80];
	size_t n = 0;

	if (st->sess >= 0) {
		for (const char *p = c->sess->streams[st->sess].label; *p && n + 1 < sizeof(base);
		     p++) {
			char ch = *p;
			int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
				 (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' ||
				 (ch == '.' && n > 0);
			base[n++] = ok ? ch : '_';
		}
		base[n] = '\0';
		if (n == 0)
			snprintf(base, sizeof(base), "stream%d", st->sess + 1);
	} else {
		snprintf(base, sizeof(base), "ssrc-%08x", st->ssrc);
	}
	snprintf(st->name, sizeof(st->name), "%s", base);
	for (unsigned k = 2;; k++) {
		int clash = strcmp(st->name, "call") == 0;
		for (unsigned j = 0; j < c->n_audio && !clash; j++)
			clash = strcmp(c->streams[c->audio[j]].name, st->name) == 0;
		if (!clash)
			break;
		snprintf(st->name, sizeof(st->name), "%s-%u", base, k);
	}
}

int exp_call_finish(struct exp_call *c)
{
	free(c->audio);
	c->n_audio = 0;
	c->audio = malloc((c->n ? c->n : 1) * sizeof(*c->audio));
	if (c->audio == NULL || c->nomem)
		return -ENOMEM;
	for (unsigned i = 0; i < c->n; i++) {
		struct exp_track *t = &c->streams[i].track;
		exp_track_place(t);
		if (exp_track_render(t) != 0)
			return -ENOMEM;
		if (t->nchunks == 0)
			continue;
		exp_stream_name(c, i);
		c->audio[c->n_audio++] = i;
	}
	return 0;
}

unsigned exp_call_n_audio(const struct exp_call *c)
{
	return c->n_audio;
}

const struct exp_track *exp_call_track(const struct exp_call *c, unsigned i)
{
	return i < c->n_audio ? &c->streams[c->audio[i]].track : NULL;
}

const char *exp_call_stream_name(const struct exp_call *c, unsigned i)
{
	return i < c->n_audio ? c->streams[c->audio[i]].name : NULL;
}

static void exp_stream_report(const struct exp_call *c, const struct exp_stream *st)
{
	const struct exp_track *t = &st->track;
	const struct exp_track_stats *s = &t->st;
	char who[96], codecs[64] = "";
	unsigned seen = 0;

	if (st->sess >= 0)
		snprintf(who, sizeof(who), "stream \"%s\"", c->sess->streams[st->sess].label);
	else
		snprintf(who, sizeof(who), "ssrc %08x", st->ssrc);
	for (size_t i = 0; i < t->n; i++)
		seen |= 1u << t->pkts[i].codec;
	for (uint8_t id = EXP_CODEC_PCMU; id <= EXP_CODEC_G722; id++)
		if (seen & (1u << id))
			snprintf(codecs + strlen(codecs), sizeof(codecs) - strlen(codecs), "%s%s",
				 codecs[0] ? "+" : "", exp_codec_name(id));
	if (t->nchunks > 0)
		fprintf(stderr,
			"rtprec-export: %s -> %s.wav: %s, %u Hz, %.2f s, %llu packets (%llu lost, "
			"%llu duplicate, %llu reordered, %llu late), %llu pause(s), %llu "
			"timestamp jump(s), %llu SSRC change(s)\n",
			who, st->name, codecs, t->rate, (double)exp_track_len(t) / t->rate,
			(unsigned long long)s->packets, (unsigned long long)s->lost,
			(unsigned long long)s->dups, (unsigned long long)s->reordered,
			(unsigned long long)s->late, (unsigned long long)s->pauses,
			(unsigned long long)s->jumps, (unsigned long long)s->ssrc_changes);
	else
		fprintf(stderr, "rtprec-export: %s: no decodable audio (%llu packets)\n", who,
			(unsigned long long)(s->packets + st->cn + st->dtmf + st->unknown +
					     st->encrypted));
	if (st->encrypted)
		fprintf(stderr,
			"rtprec-export: %s: skipped %llu SRTP packet(s) the recorder did not "
			"decrypt (recording.srtp keep, or failed authentication)\n",
			who, (unsigned long long)st->encrypted);
	if (st->cn)
		fprintf(stderr, "rtprec-export: %s: skipped %llu comfort noise packet(s)\n", who,
			(unsigned long long)st->cn);
	if (st->dtmf)
		fprintf(stderr, "rtprec-export: %s: skipped %llu telephone-event packet(s)\n", who,
			(unsigned long long)st->dtmf);
	for (unsigned pt = 0; pt < EXP_PT_MAX; pt++)
		if (st->unknown_pt[pt])
			fprintf(stderr,
				"rtprec-export: %s: skipped %llu packet(s) of payload type %u "
				"(unknown or unsupported codec)\n",
				who, (unsigned long long)st->unknown_pt[pt], pt);
}

void exp_call_report(const struct exp_call *c)
{
	if (c->quiet)
		return;
	for (unsigned i = 0; i < c->n; i++) {
		const struct exp_stream *st = &c->streams[i];
		/* session streams that never saw a packet are not worth a line */
		if (st->track.n || st->cn || st->dtmf || st->unknown || st->encrypted)
			exp_stream_report(c, st);
		else if (st->sess >= 0)
			fprintf(stderr, "rtprec-export: stream \"%s\": no packets\n",
				c->sess->streams[st->sess].label);
	}
	if (c->rtcp)
		fprintf(stderr, "rtprec-export: skipped %llu RTCP packet(s)\n",
			(unsigned long long)c->rtcp);
	if (c->not_rtp)
		fprintf(stderr, "rtprec-export: skipped %llu UDP datagram(s) that are not RTP\n",
			(unsigned long long)c->not_rtp);
	if (c->overflow)
		fprintf(stderr, "rtprec-export: skipped %llu packet(s) beyond %d SSRC streams\n",
			(unsigned long long)c->overflow, EXP_MAX_FALLBACK);
}

void exp_call_free(struct exp_call *c)
{
	if (c == NULL)
		return;
	for (unsigned i = 0; i < c->n; i++)
		exp_track_free(&c->streams[i].track);
	free(c->streams);
	free(c->audio);
	free(c);
}
