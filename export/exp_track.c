/* SPDX-License-Identifier: BSD-3-Clause
 * One stream's packets on a timeline of samples at the track's rate.
 *
 * Packets are taken in arrival (pcap) order. Sequence numbers and RTP
 * timestamps are unwrapped per SSRC, a sequence number seen before is a
 * duplicate. The timeline is cut into epochs; within an epoch a packet's
 * position comes from its RTP timestamp: pos = anchor_pos + (ts - anchor_ts)
 * * rate / clock, so lost and reordered packets leave or fill holes and a
 * pause during which the sender's timestamps went on leaves silence.
 *
 * A new epoch starts, anchored on arrival time, when
 *  - the SSRC (or the RTP clock) changes,
 *  - a packet that advances the timestamp disagrees with its arrival time by
 *    more than EXP_TOLERANCE_NS: arrival later than the timestamps say is a
 *    pause whose timestamps did not jump (silence of the arrival gap), earlier
 *    is a timestamp jump with no pause (no silence),
 *  - a packet new by its sequence number has a timestamp that does not
 *    advance yet arrives more than EXP_TOLERANCE_NS later than that timestamp
 *    says: the sender restarted its timestamps lower (or jumped forward by
 *    more than 2^31), a jump; the SSRC's timestamps are unwrapped from there.
 * Sequence numbers farther than EXP_SEQ_DROPOUT ahead or EXP_SEQ_MISORDER
 * behind the highest start a new sequence segment (RFC 3550 A.1); the
 * expected packet counts of the segments add up.
 * "Disagrees" is measured against the lowest transit (arrival minus RTP
 * time) seen in the epoch, which rises slowly to follow clock drift.
 * A packet older than the anchor of a later epoch is dropped as late.
 * Positions never overlap the audio already placed when an epoch starts. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "exp.h"

#define EXP_MAX_SSRCS 256
#define EXP_POS_LIMIT (1LL << 52)
#define EXP_SEQ_DROPOUT 3000
#define EXP_SEQ_MISORDER 100

struct exp_ssrc_state {
	uint32_t ssrc;
	int64_t seq_max, seq_min, ts_max; /* seq_min: of the current segment */
	int64_t expected;                 /* packets expected in earlier segments */
	uint64_t got;
};

int64_t exp_scale(int64_t v, int64_t num, int64_t den)
{
	__int128 r;

	if (den == 0)
		return 0;
	r = (__int128)v * num / den;
	if (r > EXP_POS_LIMIT)
		return EXP_POS_LIMIT;
	if (r < -EXP_POS_LIMIT)
		return -EXP_POS_LIMIT;
	return (int64_t)r;
}

static int64_t exp_clamp(int64_t v)
{
	return v > EXP_POS_LIMIT ? EXP_POS_LIMIT : v < -EXP_POS_LIMIT ? -EXP_POS_LIMIT : v;
}

int exp_track_add(struct exp_track *t, int64_t arr_ns, const struct exp_rtp *r,
		  const struct exp_codec *c)
{
	struct exp_pkt *p;

	if (t->n == t->cap) {
		size_t nc = t->cap ? t->cap * 2 : 256;
		struct exp_pkt *np = realloc(t->pkts, nc * sizeof(*np));
		if (np == NULL)
			return -ENOMEM;
		t->pkts = np;
		t->cap = nc;
	}
	if (t->nbytes + r->len > t->capbytes) {
		uint64_t nc = t->capbytes ? t->capbytes : 16384;
		while (nc < t->nbytes + r->len)
			nc *= 2;
		uint8_t *nb = nc <= SIZE_MAX ? realloc(t->bytes, (size_t)nc) : NULL;
		if (nb == NULL)
			return -ENOMEM;
		t->bytes = nb;
		t->capbytes = nc;
	}
	p = &t->pkts[t->n];
	memset(p, 0, sizeof(*p));
	p->arr_ns = arr_ns;
	p->idx = t->n++;
	p->ssrc = r->ssrc;
	p->ts = r->ts;
	p->seq = r->seq;
	p->codec = c->id;
	p->clock = c->clock;
	p->crate = c->rate;
	p->native = exp_codec_samples(c->id, r->len);
	p->off = t->nbytes;
	p->len = r->len;
	if (r->len)
		memcpy(t->bytes + t->nbytes, r->payload, r->len);
	t->nbytes += r->len;
	if (c->rate > t->rate)
		t->rate = c->rate;
	t->st.packets++;
	return 0;
}

static int exp_pkt_arrival_cmp(const void *a, const void *b)
{
	const struct exp_pkt *x = a, *y = b;

	if (x->arr_ns != y->arr_ns)
		return x->arr_ns < y->arr_ns ? -1 : 1;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

static struct exp_ssrc_state *exp_ssrc_get(struct exp_track *t, uint32_t ssrc, int *is_new)
{
	*is_new = 0;
	for (unsigned i = 0; i < t->n_ssrcs; i++)
		if (t->ssrcs[i].ssrc == ssrc)
			return &t->ssrcs[i];
	if (t->n_ssrcs == EXP_MAX_SSRCS)
		return NULL;
	*is_new = 1;
	t->ssrcs[t->n_ssrcs].ssrc = ssrc;
	return &t->ssrcs[t->n_ssrcs++];
}

/* (ssrc, extended sequence number) pairs already seen: open addressing. */
struct exp_seen {
	struct exp_seen_slot {
		int64_t seq;
		uint32_t ssrc;
		uint8_t used;
	} *slot;
	size_t mask;
};

static int exp_seen_init(struct exp_seen *s, size_t n)
{
	size_t sz = 16;

	while (sz < 2 * n)
		sz *= 2;
	s->slot = calloc(sz, sizeof(*s->slot));
	s->mask = sz - 1;
	return s->slot ? 0 : -ENOMEM;
}

/* 1 if already there, else adds it and returns 0. */
static int exp_seen_add(struct exp_seen *s, uint32_t ssrc, int64_t seq)
{
	uint64_t h = ((uint64_t)seq * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)ssrc * 0xc2b2ae3d27d4eb4full);
	size_t i = (size_t)(h >> 17) & s->mask;

	while (s->slot[i].used) {
		if (s->slot[i].seq == seq && s->slot[i].ssrc == ssrc)
			return 1;
		i = (i + 1) & s->mask;
	}
	s->slot[i].used = 1;
	s->slot[i].seq = seq;
	s->slot[i].ssrc = ssrc;
	return 0;
}

struct exp_epoch {
	uint32_t ssrc, clock;
	int64_t ts, ts_max; /* anchor and highest extended timestamp */
	int64_t pos;        /* the anchor's position */
	int64_t arr;        /* the anchor's arrival */
	int64_t off;        /* lowest transit seen, relative to the anchor's */
	unsigned index;
};

static void exp_epoch_start(struct exp_epoch *e, const struct exp_pkt *p, int64_t ts,
			    int64_t pos)
{
	unsigned index = e->index;

	memset(e, 0, sizeof(*e));
	e->ssrc = p->ssrc;
	e->clock = p->clock;
	e->ts = e->ts_max = ts;
	e->pos = pos;
	e->arr = p->arr_ns;
	e->index = index + 1;
}

/* Start an epoch at p's arrival, never before the audio already placed. */
static int64_t exp_epoch_on_arrival(const struct exp_track *t, struct exp_epoch *e,
				    const struct exp_pkt *p, int64_t ts)
{
	int64_t pos = exp_clamp(e->pos + exp_scale(p->arr_ns - e->arr - e->off, t->rate,
						   1000000000));

	if (pos < t->max_end)
		pos = t->max_end;
	exp_epoch_start(e, p, ts, pos);
	return pos;
}

/* Where the timestamp ts falls in the epoch e. */
static int64_t exp_epoch_ts_pos(const struct exp_track *t, const struct exp_epoch *e, int64_t ts)
{
	return exp_clamp(e->pos + exp_scale(ts - e->ts, t->rate, e->clock));
}

/* Arrival minus what the timestamps predict, relative to the anchor's. */
static int64_t exp_epoch_delta(const struct exp_epoch *e, const struct exp_pkt *p, int64_t ts)
{
	return (p->arr_ns - e->arr) - exp_scale(ts - e->ts, 1000000000, e->clock);
}

/* p's timestamp does not advance: reordered, a repeated timestamp, or (p new
 * by sequence number and its arrival well past what its timestamp says) a
 * timestamp restart. 1 when that started an epoch, -1 when p is late. */
static int exp_epoch_behind(struct exp_track *t, struct exp_epoch *e, const struct exp_pkt *p,
			    int64_t ts, int fresh, int64_t *pos)
{
	if (fresh && exp_epoch_delta(e, p, ts) - e->off > EXP_TOLERANCE_NS) {
		*pos = exp_epoch_on_arrival(t, e, p, ts);
		t->st.jumps++;
		return 1;
	}
	if (ts < e->ts && e->index > 1)
		return -1;
	if (ts < e->ts_max)
		t->st.reordered++;
	*pos = exp_epoch_ts_pos(t, e, ts);
	return 0;
}

/* Position of p (extended timestamp ts; fresh: its sequence number is beyond
 * the SSRC's highest) in the running epoch e; may start a new epoch. -1 when
 * p is dropped as late, 1 when its timestamp went back and the SSRC's
 * timestamps restart from ts. */
static int exp_epoch_place(struct exp_track *t, struct exp_epoch *e, const struct exp_pkt *p,
			   int64_t ts, int fresh, int64_t *pos)
{
	int64_t ts_pos = exp_epoch_ts_pos(t, e, ts);
	int64_t delta, d;

	if (p->ssrc != e->ssrc || p->clock != e->clock) {
		*pos = exp_epoch_on_arrival(t, e, p, ts);
		t->st.ssrc_changes++;
		return 0;
	}
	if (ts <= e->ts_max)
		return exp_epoch_behind(t, e, p, ts, fresh, pos);
	delta = exp_epoch_delta(e, p, ts);
	d = delta - e->off;
	if (d > EXP_TOLERANCE_NS || d < -EXP_TOLERANCE_NS) {
		*pos = exp_clamp(ts_pos + exp_scale(d, t->rate, 1000000000));
		if (*pos < t->max_end)
			*pos = t->max_end;
		if (d > 0)
			t->st.pauses++;
		else
			t->st.jumps++;
		exp_epoch_start(e, p, ts, *pos);
		return 0;
	}
	if (d < 0)
		e->off = delta;
	else
		e->off += d / 256; /* follow a slow drift upwards */
	e->ts_max = ts;
	*pos = ts_pos;
	return 0;
}

/* p's extended sequence number: near the highest, or past every earlier one
 * when it starts a new segment (farther than the dropout or misorder). */
static int64_t exp_seq_unwrap(const struct exp_ssrc_state *s, uint16_t seq)
{
	uint16_t d = (uint16_t)(seq - (uint16_t)s->seq_max);

	if (d <= EXP_SEQ_DROPOUT || d >= 65536 - EXP_SEQ_MISORDER)
		return s->seq_max + (int16_t)d;
	return s->seq_max + 65536 + d;
}

/* Account a kept packet (extended seq and ts) in its SSRC's state. */
static void exp_ssrc_keep(struct exp_ssrc_state *s, int64_t seq, int64_t ts)
{
	if (seq > s->seq_max + EXP_SEQ_DROPOUT) { /* a new segment */
		s->expected += s->seq_max - s->seq_min + 1;
		s->seq_min = seq;
	}
	s->got++;
	if (seq > s->seq_max)
		s->seq_max = seq;
	if (seq < s->seq_min)
		s->seq_min = seq;
	if (ts > s->ts_max)
		s->ts_max = ts;
}

void exp_track_place(struct exp_track *t)
{
	struct exp_epoch e = {0};
	struct exp_seen seen;
	int have = 0;

	uint64_t packets = t->st.packets;

	memset(&t->st, 0, sizeof(t->st));
	t->st.packets = packets;
	t->min_pos = t->max_end = 0;
	t->start_ns = 0;
	if (t->n == 0 || t->rate == 0)
		return;
	qsort(t->pkts, t->n, sizeof(*t->pkts), exp_pkt_arrival_cmp);
	free(t->ssrcs);
	t->n_ssrcs = 0;
	t->ssrcs = calloc(EXP_MAX_SSRCS, sizeof(*t->ssrcs));
	if (t->ssrcs == NULL || exp_seen_init(&seen, t->n) != 0) {
		free(t->ssrcs);
		t->ssrcs = NULL;
		for (size_t i = 0; i < t->n; i++)
			t->pkts[i].drop = EXP_DROP_SSRCS;
		return;
	}
	for (size_t i = 0; i < t->n; i++) {
		struct exp_pkt *p = &t->pkts[i];
		int is_new;
		struct exp_ssrc_state *s = exp_ssrc_get(t, p->ssrc, &is_new);
		int64_t seq, ts, pos;
		int rc = 0;

		p->nsamp = p->crate ? (uint32_t)((uint64_t)p->native * t->rate / p->crate) : 0;
		if (s == NULL) {
			p->drop = EXP_DROP_SSRCS;
			continue;
		}
		if (is_new) {
			seq = s->seq_max = s->seq_min = p->seq;
			ts = s->ts_max = p->ts;
		} else {
			seq = exp_seq_unwrap(s, p->seq);
			ts = s->ts_max + (int32_t)(uint32_t)(p->ts - (uint32_t)s->ts_max);
		}
		if (exp_seen_add(&seen, p->ssrc, seq)) {
			p->drop = EXP_DROP_DUP;
			t->st.dups++;
			continue;
		}
		if (!have) {
			exp_epoch_start(&e, p, ts, 0);
			t->start_ns = p->arr_ns;
			have = 1;
			pos = 0;
		} else if ((rc = exp_epoch_place(t, &e, p, ts, seq > s->seq_max, &pos)) < 0) {
			p->drop = EXP_DROP_LATE;
			t->st.late++;
			continue;
		}
		if (rc > 0) /* the timestamps restarted: unwrap from here */
			s->ts_max = ts;
		exp_ssrc_keep(s, seq, ts);
		p->pos = pos;
		if (pos < t->min_pos)
			t->min_pos = pos;
		if (pos + (int64_t)p->nsamp > t->max_end)
			t->max_end = pos + (int64_t)p->nsamp;
	}
	free(seen.slot);
	t->st.ssrcs = t->n_ssrcs;
	t->st.lost = 0;
	for (unsigned i = 0; i < t->n_ssrcs; i++) {
		int64_t expected = t->ssrcs[i].expected + t->ssrcs[i].seq_max -
				   t->ssrcs[i].seq_min + 1;
		if (expected > (int64_t)t->ssrcs[i].got)
			t->st.lost += (uint64_t)(expected - (int64_t)t->ssrcs[i].got);
	}
	t->start_ns += exp_scale(t->min_pos, 1000000000, t->rate);
}

int64_t exp_track_len(const struct exp_track *t)
{
	return t->max_end - t->min_pos;
}

void exp_track_free(struct exp_track *t)
{
	free(t->pkts);
	free(t->bytes);
	free(t->ssrcs);
	free(t->samples);
	free(t->chunks);
	memset(t, 0, sizeof(*t));
}
