/* SPDX-License-Identifier: BSD-3-Clause
 * --pcap-out: the traffic rtprec-gen would send, written to a pcap file (libpcap)
 * for replay (net_pcap, pktgen -s, tcpreplay). Timestamps follow the rate; the
 * stamp's TSC is 0, so a receiver measures no latency on replays. */
#include <pcap/pcap.h>
#include <string.h>
#include <time.h>

#include "gen.h"

int gen_pcap_write(const struct gen_opts *o, struct gen_pkt_ctx *pc, struct gen_totals *t)
{
	uint8_t buf[GEN_FRAME_MAX];
	struct pcap_pkthdr h;
	struct timespec t0;
	pcap_dumper_t *d;
	pcap_t *p;
	int rc = 0;

	p = pcap_open_dead(DLT_EN10MB, 65535);
	if (p == NULL) {
		fprintf(stderr, "rtprec-gen: pcap_open_dead failed\n");
		return -1;
	}
	d = pcap_dump_open(p, o->pcap_out);
	if (d == NULL) {
		fprintf(stderr, "rtprec-gen: %s: %s\n", o->pcap_out, pcap_geterr(p));
		pcap_close(p);
		return -1;
	}
	clock_gettime(CLOCK_REALTIME, &t0);
	memset(&h, 0, sizeof(h));
	while (gen_pkt_left(pc) != 0 && !gen_stop) {
		struct gen_slot slot;
		/* RTP packet j goes out at j / rate, an SR with the RTP packet before it */
		uint64_t j = pc->pending_sr >= 0 ? pc->built - 1 : pc->built;
		uint64_t us = j * 1000000ull / o->rate_pps + (uint64_t)t0.tv_nsec / 1000;
		h.caplen = h.len = gen_pkt_next(pc, buf, 0, &slot);
		h.ts.tv_sec = t0.tv_sec + (time_t)(us / 1000000);
		h.ts.tv_usec = (suseconds_t)(us % 1000000);
		pcap_dump((u_char *)d, &h, buf);
		gen_pkt_account(pc, &slot, t);
	}
	if (pcap_dump_flush(d) != 0) {
		fprintf(stderr, "rtprec-gen: %s: write failed\n", o->pcap_out);
		rc = -1;
	}
	pcap_dump_close(d);
	pcap_close(p);
	return rc;
}
