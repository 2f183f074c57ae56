/* SPDX-License-Identifier: BSD-3-Clause
 * The SIP layer's stats line (SIGUSR1 and exit). */
#include <inttypes.h>
#include <stdio.h>

#include "cp_sip_priv.h"

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
