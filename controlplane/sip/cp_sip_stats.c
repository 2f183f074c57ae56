/* SPDX-License-Identifier: BSD-3-Clause
 * The SIP layer's stats line (SIGUSR1 and exit). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cp_sip_priv.h"

const char *const cp_sip_method_names[CP_SIP_N_METHODS] = { "INVITE", "ACK", "BYE", "CANCEL",
							       "OPTIONS", "UPDATE", "other" };

unsigned cp_sip_method_index(const char *method)
{
	for (unsigned i = 0; method != NULL && i + 1 < CP_SIP_N_METHODS; i++)
		if (strcmp(method, cp_sip_method_names[i]) == 0)
			return i;
	return CP_SIP_N_METHODS - 1;
}

int cp_sip_set_rate_limit(struct cp_sip *s, unsigned requests_per_s, unsigned burst)
{
	cp_sip_rate_fini(&s->rate);
	return cp_sip_rate_init(&s->rate, requests_per_s, burst, CP_SIP_RATE_SOURCES,
				(uint32_t)s->rnd);
}

uint64_t cp_sip_responses(const struct cp_sip *s, unsigned method, unsigned code)
{
	if (method >= CP_SIP_N_METHODS || code < 100 || code > 699)
		return 0;
	return s->by_method[method][code - 100];
}

void cp_sip_print_stats(const struct cp_sip *s, FILE *out)
{
	const struct cp_sip_counters *c = &s->ctr;

	fprintf(out,
		"{\"event\":\"stats\",\"type\":\"sip\",\"requests_in\":%" PRIu64
		",\"responses_out\":%" PRIu64 ",\"parse_errors\":%" PRIu64 ",\"drops\":%" PRIu64
		",\"tcp_connections\":%" PRIu64 ",\"open_connections\":%u,\"rate_limited\":%" PRIu64
		",\"rate_dropped\":%" PRIu64 ",\"rate_sources\":%u,\"idle_closed\":%" PRIu64
		",\"message_timeouts\":%" PRIu64 ",\"tls_timeouts\":%" PRIu64
		",\"tls_failures\":%" PRIu64 "}\n",
		c->requests_in, c->responses_out, c->parse_errors, s->drops, c->tcp_connections,
		s->n_conns, c->rate_limited, c->rate_dropped, s->rate.n_used, c->idle_closed,
		c->message_timeouts, c->tls_timeouts, c->tls_failures);
}
