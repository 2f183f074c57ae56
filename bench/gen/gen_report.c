/* SPDX-License-Identifier: BSD-3-Clause
 * rtprec-gen results as JSON: optionally one line per stream, then one summary line
 * (always the last line on stdout). */
#include <arpa/inet.h>
#include <inttypes.h>
#include <string.h>

#include "gen.h"

struct gen_lat {
	uint64_t n, sum, min, max;
};

static void gen_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", (unsigned char)*s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void gen_json_latency(FILE *f, const struct gen_lat *l, uint64_t hz)
{
	double us = 1e6 / (double)hz;

	if (l->n == 0 || hz == 0) {
		fputs("\"latency_us\":null", f);
		return;
	}
	fprintf(f, "\"latency_us\":{\"min\":%.3f,\"avg\":%.3f,\"max\":%.3f,\"samples\":%" PRIu64 "}",
		(double)l->min * us, (double)l->sum / (double)l->n * us, (double)l->max * us, l->n);
}

static void gen_lat_add(struct gen_lat *l, const struct gen_rx_stream *r)
{
	if (r->lat_n == 0)
		return;
	if (l->n == 0 || r->lat_min < l->min)
		l->min = r->lat_min;
	if (r->lat_max > l->max)
		l->max = r->lat_max;
	l->n += r->lat_n;
	l->sum += r->lat_sum;
}

static uint64_t gen_lost(uint64_t sent, uint64_t received)
{
	return sent > received ? sent - received : 0;
}

static void gen_report_stream(FILE *f, const struct gen_opts *o, const struct gen_tx_stream *s,
			      const struct gen_rx_stream *r, uint32_t i, uint64_t hz)
{
	char ip[INET_ADDRSTRLEN];
	struct in_addr a = {.s_addr = s->ip_be};

	inet_ntop(AF_INET, &a, ip, sizeof(ip));
	fprintf(f, "{\"stream\":%u,\"ssrc\":%u,\"src\":\"%s:%u\",\"dport\":%u,\"sent\":%" PRIu64
		   ",\"rtcp_sent\":%u",
		i, o->ssrc_base + i, ip, ntohs(s->sport_be), ntohs(s->dport_be), s->sent,
		s->rtcp_sent);
	if (r != NULL) {
		struct gen_lat l = {0, 0, 0, 0};
		gen_lat_add(&l, r);
		fprintf(f, ",\"received\":%" PRIu64 ",\"lost\":%" PRIu64 ",\"reordered\":%" PRIu64
			   ",\"duplicates\":%" PRIu64 ",",
			r->received, gen_lost(s->sent, r->received), r->reordered, r->duplicates);
		gen_json_latency(f, &l, hz);
	}
	fputs("}\n", f);
}

/* Sums the per-stream receive counters into t; returns the latency over all. */
static struct gen_lat gen_sum_rx(const struct gen_rx_ctx *rc, struct gen_totals *t)
{
	struct gen_lat l = {0, 0, 0, 0};

	t->received = t->reordered = t->duplicates = 0;
	for (uint32_t i = 0; i < rc->streams; i++) {
		const struct gen_rx_stream *r = &rc->rx[i];
		t->received += r->received;
		t->reordered += r->reordered;
		t->duplicates += r->duplicates;
		gen_lat_add(&l, r);
	}
	t->rtcp_received = rc->rtcp_received;
	t->rx_other = rc->rx_other;
	return l;
}

void gen_report(FILE *f, const struct gen_opts *o, const struct gen_pkt_ctx *pc,
		const struct gen_rx_ctx *rc, struct gen_totals *t, double elapsed_s,
		uint64_t tsc_hz)
{
	uint64_t lost = 0;
	struct gen_lat l = {0, 0, 0, 0};

	if (rc != NULL) {
		l = gen_sum_rx(rc, t);
		for (uint32_t i = 0; i < o->streams; i++)
			lost += gen_lost(pc->tx[i].sent, rc->rx[i].received);
	}
	if (o->per_stream)
		for (uint32_t i = 0; i < o->streams; i++)
			gen_report_stream(f, o, &pc->tx[i], rc ? &rc->rx[i] : NULL, i, tsc_hz);
	fprintf(f, "{\"mode\":\"%s\",", o->pcap_out ? "pcap" : "port");
	if (o->pcap_out) {
		fputs("\"file\":", f);
		gen_json_str(f, o->pcap_out);
		fputc(',', f);
	}
	fprintf(f, "\"streams\":%u,\"payload\":%u,\"frame_len\":%u,", o->streams, o->payload,
		pc->rtp_len);
	if (o->rate_max)
		fputs("\"rate_pps\":\"max\",", f);
	else
		fprintf(f, "\"rate_pps\":%" PRIu64 ",", o->rate_pps);
	fprintf(f, "\"sent\":%" PRIu64 ",\"rtcp_sent\":%" PRIu64, t->sent, t->rtcp_sent);
	if (o->pcap_out == NULL)
		fprintf(f, ",\"elapsed_s\":%.6f,\"tx_pps\":%.0f,\"tx_dropped\":%" PRIu64
			   ",\"alloc_failed\":%" PRIu64 ",\"pace_late\":%" PRIu64,
			elapsed_s, elapsed_s > 0 ? (double)t->sent / elapsed_s : 0.0, t->tx_dropped,
			t->alloc_failed, t->pace_late);
	if (rc != NULL) {
		fprintf(f, ",\"received\":%" PRIu64 ",\"lost\":%" PRIu64 ",\"reordered\":%" PRIu64
			   ",\"duplicates\":%" PRIu64 ",\"rtcp_received\":%" PRIu64
			   ",\"rx_other\":%" PRIu64 ",",
			t->received, lost, t->reordered, t->duplicates, t->rtcp_received, t->rx_other);
		gen_json_latency(f, &l, tsc_hz);
	}
	if (tsc_hz != 0)
		fprintf(f, ",\"tsc_hz\":%" PRIu64, tsc_hz);
	fputs("}\n", f);
	fflush(f);
}
