/* SPDX-License-Identifier: BSD-3-Clause
 * sip.rate_limit: token buckets per source address (cp_sip_rate_priv.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cp_sip_rate_priv.h"

#define MILLI 1000u
#define MAX_GAP_MS 3600000u /* a longer silence refills as much as an hour */

int cp_sip_rate_init(struct cp_sip_rate *r, unsigned rate, unsigned burst, unsigned sources,
		     uint32_t seed)
{
	unsigned sets = 1;

	memset(r, 0, sizeof(*r));
	if (rate == 0)
		return 0;
	while (sets * CP_SIP_RATE_WAYS < sources && sets < (1u << 20))
		sets <<= 1;
	r->ent = calloc((size_t)sets * CP_SIP_RATE_WAYS, sizeof(*r->ent));
	if (r->ent == NULL)
		return -ENOMEM;
	r->rate = rate;
	r->burst = burst ? burst : 1;
	r->mask = sets - 1;
	r->seed = seed | 1u;
	return 0;
}

void cp_sip_rate_fini(struct cp_sip_rate *r)
{
	free(r->ent);
	memset(r, 0, sizeof(*r));
}

/* The source's entry: found, a free way, or the least recently seen one
 * (forgotten: it starts again with a full bucket). */
static struct cp_sip_rate_ent *rate_slot(struct cp_sip_rate *r, uint32_t ip, uint64_t now_ms)
{
	uint32_t h = (ip ^ r->seed) * 0x9e3779b1u;
	struct cp_sip_rate_ent *set = r->ent + (size_t)((h >> 12) & r->mask) * CP_SIP_RATE_WAYS;
	struct cp_sip_rate_ent *victim = NULL;
	uint64_t full = (uint64_t)r->burst * MILLI;

	for (unsigned w = 0; w < CP_SIP_RATE_WAYS; w++) {
		struct cp_sip_rate_ent *e = &set[w];

		if (e->used && e->ip == ip)
			return e;
		if (!e->used) {
			if (victim == NULL || victim->used)
				victim = e;
		} else if (victim == NULL || (victim->used && e->last_ms < victim->last_ms)) {
			victim = e;
		}
	}
	if (!victim->used)
		r->n_used++;
	*victim = (struct cp_sip_rate_ent){
		.ip = ip, .used = 1, .last_ms = now_ms, .tokens = full, .replies = full,
	};
	return victim;
}

static void refill(uint64_t *b, uint64_t add, uint64_t full)
{
	*b = *b + add > full ? full : *b + add;
}

enum cp_sip_rate_verdict cp_sip_rate_check(struct cp_sip_rate *r, uint32_t ip, uint64_t now_ms,
					   unsigned *retry_s)
{
	if (r->rate == 0)
		return CP_SIP_RATE_PASS;
	struct cp_sip_rate_ent *e = rate_slot(r, ip, now_ms);
	uint64_t full = (uint64_t)r->burst * MILLI;
	uint64_t gap = now_ms > e->last_ms ? now_ms - e->last_ms : 0;

	if (gap > MAX_GAP_MS)
		gap = MAX_GAP_MS;
	/* rate requests/s = rate milli-requests/ms */
	refill(&e->tokens, gap * r->rate, full);
	refill(&e->replies, gap * r->rate, full);
	e->last_ms = now_ms;
	if (e->tokens >= MILLI) {
		e->tokens -= MILLI;
		return CP_SIP_RATE_PASS;
	}
	if (e->replies < MILLI)
		return CP_SIP_RATE_DROP;
	e->replies -= MILLI;
	if (retry_s) {
		uint64_t ms = (MILLI - e->tokens + r->rate - 1) / r->rate;

		*retry_s = (unsigned)((ms + 999) / 1000);
		if (*retry_s == 0)
			*retry_s = 1;
	}
	return CP_SIP_RATE_REFUSE;
}
