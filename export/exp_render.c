/* SPDX-License-Identifier: BSD-3-Clause
 * A placed track decoded into chunks (one per kept packet, in position
 * order, G.722 decoded in that order as its state needs), and read back
 * sample by sample with silence between the chunks. Where chunks overlap,
 * the one that starts first wins: sample i is in the first chunk (in position
 * order) that ends after i, if that one has begun. Each chunk keeps the
 * highest end so far (reach) so that chunk is found by bisection when the
 * reader moves back. */
#include <errno.h>
#include <stdlib.h>

#include "exp.h"

static int exp_pkt_pos_cmp(const void *a, const void *b)
{
	const struct exp_pkt *x = *(const struct exp_pkt *const *)a;
	const struct exp_pkt *y = *(const struct exp_pkt *const *)b;

	if (x->pos != y->pos)
		return x->pos < y->pos ? -1 : 1;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

int exp_track_render(struct exp_track *t)
{
	struct exp_pkt **order;
	struct exp_decoder *dec;
	uint64_t total = 0, off = 0;
	size_t n = 0;

	free(t->samples);
	free(t->chunks);
	t->samples = NULL;
	t->chunks = NULL;
	t->nchunks = 0;
	t->st.decoded = 0;
	order = malloc((t->n ? t->n : 1) * sizeof(*order));
	dec = exp_decoder_new();
	if (order == NULL || dec == NULL)
		goto nomem;
	for (size_t i = 0; i < t->n; i++) {
		if (t->pkts[i].drop != EXP_KEEP || t->pkts[i].nsamp == 0)
			continue;
		order[n++] = &t->pkts[i];
		total += t->pkts[i].nsamp;
	}
	qsort(order, n, sizeof(*order), exp_pkt_pos_cmp);
	t->chunks = malloc((n ? n : 1) * sizeof(*t->chunks));
	t->samples = total * sizeof(int16_t) <= SIZE_MAX ?
			     malloc((size_t)(total ? total : 1) * sizeof(int16_t)) : NULL;
	if (t->chunks == NULL || t->samples == NULL)
		goto nomem;
	for (size_t i = 0; i < n; i++) {
		const struct exp_pkt *p = order[i];
		struct exp_chunk *c = &t->chunks[t->nchunks++];
		uint32_t got = exp_decode(dec, p->codec, p->crate, t->bytes + p->off, p->len,
					  t->samples + off, t->rate);
		if (got > p->nsamp)
			got = p->nsamp; /* never: both come from exp_codec_samples */
		c->pos = p->pos - t->min_pos;
		c->off = off;
		c->n = got;
		c->reach = c->pos + (int64_t)got;
		if (i > 0 && c[-1].reach > c->reach)
			c->reach = c[-1].reach;
		off += got;
	}
	t->st.decoded = n;
	free(t->bytes); /* decoded now: the payloads are no longer needed */
	t->bytes = NULL;
	t->nbytes = t->capbytes = 0;
	free(order);
	exp_decoder_free(dec);
	return 0;
nomem:
	free(order);
	exp_decoder_free(dec);
	return -ENOMEM;
}

/* The first chunk whose reach passes i (the last one if none does). */
static size_t exp_chunk_reaching(const struct exp_track *t, int64_t i)
{
	size_t lo = 0, hi = t->nchunks - 1;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->chunks[mid].reach > i)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

int16_t exp_reader_get(struct exp_reader *r, int64_t i)
{
	const struct exp_track *t = r->t;
	const struct exp_chunk *c;

	if (t == NULL || t->nchunks == 0)
		return 0;
	/* every chunk before ci must have ended by i */
	if (r->ci > 0 && t->chunks[r->ci - 1].reach > i)
		r->ci = exp_chunk_reaching(t, i);
	while (r->ci + 1 < t->nchunks && t->chunks[r->ci].pos + (int64_t)t->chunks[r->ci].n <= i)
		r->ci++;
	c = &t->chunks[r->ci];
	if (i < c->pos || i >= c->pos + (int64_t)c->n)
		return 0;
	return t->samples[c->off + (uint64_t)(i - c->pos)];
}
