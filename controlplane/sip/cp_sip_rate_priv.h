/* SPDX-License-Identifier: BSD-3-Clause
 * sip.rate_limit: a token bucket per source IPv4 address in a bounded table
 * (set-associative, the least recently seen entry of a set is forgotten).
 * Refusals (503) are limited by a second bucket of the same size: a source
 * far over its limit is dropped without an answer. */
#ifndef RTPREC_CP_SIP_RATE_PRIV_H
#define RTPREC_CP_SIP_RATE_PRIV_H

#include <stdint.h>

#define CP_SIP_RATE_WAYS 4u
#define CP_SIP_RATE_SOURCES 4096u /* sources tracked at once (default table) */

enum cp_sip_rate_verdict {
	CP_SIP_RATE_PASS = 0, /* within the limit */
	CP_SIP_RATE_REFUSE,   /* over: answer 503 with Retry-After */
	CP_SIP_RATE_DROP,     /* far over (the 503s are over the limit too): no answer */
};

struct cp_sip_rate_ent {
	uint32_t ip;
	uint32_t used;     /* 0 = free */
	uint64_t last_ms;  /* last refill */
	uint64_t tokens;   /* milli-requests, at most burst * 1000 */
	uint64_t replies;  /* milli-refusals, same bound */
};

struct cp_sip_rate {
	unsigned rate;   /* per second; 0 = off */
	unsigned burst;
	unsigned mask;   /* sets - 1 */
	uint32_t seed;
	unsigned n_used;
	struct cp_sip_rate_ent *ent; /* (mask + 1) * CP_SIP_RATE_WAYS */
};

/* sources: entries to hold (rounded up to a power of two, at least one set).
 * 0 or -ENOMEM; rate 0 allocates nothing and passes everything. */
int cp_sip_rate_init(struct cp_sip_rate *r, unsigned rate, unsigned burst, unsigned sources,
		     uint32_t seed);
void cp_sip_rate_fini(struct cp_sip_rate *r);
/* One request from ip at now_ms. On REFUSE, *retry_s is the wait (>= 1 s)
 * until the source has a request again. */
enum cp_sip_rate_verdict cp_sip_rate_check(struct cp_sip_rate *r, uint32_t ip, uint64_t now_ms,
					   unsigned *retry_s);

#endif
