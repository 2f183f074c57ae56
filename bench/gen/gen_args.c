/* SPDX-License-Identifier: BSD-3-Clause
 * rtprec-gen options (what follows "--" after the EAL arguments). */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ether.h>

#include "gen.h"

enum {
	GEN_O_STREAMS = 256, GEN_O_PAYLOAD, GEN_O_PTIME, GEN_O_CLOCK, GEN_O_PT, GEN_O_SSRC,
	GEN_O_RATE, GEN_O_DURATION, GEN_O_COUNT, GEN_O_BURST, GEN_O_RTCP, GEN_O_RTCP_IVL,
	GEN_O_SRC, GEN_O_SPORT, GEN_O_SPORT_STEP, GEN_O_DST, GEN_O_DPORT, GEN_O_DPORT_STEP,
	GEN_O_SRC_MAC, GEN_O_DST_MAC, GEN_O_TX_PORT, GEN_O_RX_PORT, GEN_O_PCAP_OUT,
	GEN_O_DRAIN, GEN_O_LINK_WAIT, GEN_O_MBUFS, GEN_O_PER_STREAM, GEN_O_TRIALS,
};

static const struct option gen_longopts[] = {
	{"streams", required_argument, NULL, GEN_O_STREAMS},
	{"payload", required_argument, NULL, GEN_O_PAYLOAD},
	{"ptime", required_argument, NULL, GEN_O_PTIME},
	{"clock", required_argument, NULL, GEN_O_CLOCK},
	{"pt", required_argument, NULL, GEN_O_PT},
	{"ssrc", required_argument, NULL, GEN_O_SSRC},
	{"rate", required_argument, NULL, GEN_O_RATE},
	{"duration", required_argument, NULL, GEN_O_DURATION},
	{"count", required_argument, NULL, GEN_O_COUNT},
	{"burst", required_argument, NULL, GEN_O_BURST},
	{"rtcp", no_argument, NULL, GEN_O_RTCP},
	{"rtcp-interval", required_argument, NULL, GEN_O_RTCP_IVL},
	{"src", required_argument, NULL, GEN_O_SRC},
	{"sport", required_argument, NULL, GEN_O_SPORT},
	{"sport-step", required_argument, NULL, GEN_O_SPORT_STEP},
	{"dst", required_argument, NULL, GEN_O_DST},
	{"dport", required_argument, NULL, GEN_O_DPORT},
	{"dport-step", required_argument, NULL, GEN_O_DPORT_STEP},
	{"src-mac", required_argument, NULL, GEN_O_SRC_MAC},
	{"dst-mac", required_argument, NULL, GEN_O_DST_MAC},
	{"tx-port", required_argument, NULL, GEN_O_TX_PORT},
	{"rx-port", required_argument, NULL, GEN_O_RX_PORT},
	{"pcap-out", required_argument, NULL, GEN_O_PCAP_OUT},
	{"drain-ms", required_argument, NULL, GEN_O_DRAIN},
	{"link-wait", required_argument, NULL, GEN_O_LINK_WAIT},
	{"mbufs", required_argument, NULL, GEN_O_MBUFS},
	{"per-stream", no_argument, NULL, GEN_O_PER_STREAM},
	{"trials", no_argument, NULL, GEN_O_TRIALS},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static void gen_args_usage(FILE *f)
{
	fputs("usage: rtprec-gen [EAL args] -- [options]     (port mode)\n"
	      "       rtprec-gen [--] --pcap-out FILE [options] (no EAL, no port)\n"
	      "  --streams N          RTP streams (1)\n"
	      "  --payload BYTES      payload after the RTP header, 20..1440 (160: G.711 20 ms)\n"
	      "  --ptime MS           media time per packet (20); per-stream rate 1000/MS pps\n"
	      "  --clock HZ           RTP clock (8000): timestamp step HZ*MS/1000\n"
	      "  --pt N               RTP payload type (0: PCMU)\n"
	      "  --ssrc X             SSRC of stream 0, +1 per stream (0x10000000)\n"
	      "  --rate PPS|max       aggregate RTP packets/s (streams*1000/ptime)\n"
	      "  --duration S         seconds to send (10 when --count is not given)\n"
	      "  --count N            RTP packets to send (pcap: streams*1000/ptime)\n"
	      "  --burst N            largest TX burst, 1..64 (32)\n"
	      "  --rtcp               an RTCP SR per stream every --rtcp-interval s of media\n"
	      "  --rtcp-interval S    (5)\n"
	      "  --src IP             source of stream 0, +1 per stream (100.64.0.1)\n"
	      "  --sport P            UDP source port (4000); --sport-step N adds N per stream\n"
	      "  --dst IP[:PORT]      destination (192.0.2.10:30000); --dport P, --dport-step N\n"
	      "  --src-mac MAC        (the TX port's address; 02:00:00:00:00:01 in pcaps)\n"
	      "  --dst-mac MAC        (02:70:63:61:70:00)\n"
	      "  --tx-port ID|NAME    DPDK port to send on (0)\n"
	      "  --rx-port ID|NAME|none  port to receive on (the TX port)\n"
	      "  --drain-ms MS        wait for late packets after sending (500)\n"
	      "  --link-wait S        wait for link up (5)\n"
	      "  --mbufs N            mbuf pool size (16383)\n"
	      "  --pcap-out FILE      write the traffic to a pcap instead of a port\n"
	      "  --per-stream         one JSON line per stream before the summary\n"
	      "  --trials             keep the port: one trial per stdin line 'RATE|max SECONDS',\n"
	      "                       a summary line each, until end of input\n"
	      "Prints one JSON summary line on stdout (the last line).\n",
	      f);
}

int gen_args_split(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0)
			return i;
	return -1;
}

static int gen_num(const char *name, const char *s, uint64_t lo, uint64_t hi, uint64_t *v)
{
	char *end;

	errno = 0;
	unsigned long long x = strtoull(s, &end, 0);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || x < lo || x > hi) {
		fprintf(stderr, "rtprec-gen: --%s: '%s' is not a number in %" PRIu64 "..%" PRIu64 "\n",
			name, s, lo, hi);
		return -1;
	}
	*v = x;
	return 0;
}

static int gen_num32(const char *name, const char *s, uint64_t lo, uint64_t hi, uint32_t *v)
{
	uint64_t x;

	if (gen_num(name, s, lo, hi, &x) != 0)
		return -1;
	*v = (uint32_t)x;
	return 0;
}

static int gen_num16(const char *name, const char *s, uint16_t *v)
{
	uint32_t x;

	if (gen_num32(name, s, 0, 65535, &x) != 0)
		return -1;
	*v = (uint16_t)x;
	return 0;
}

static int gen_ip(const char *name, const char *s, uint32_t *ip)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1) {
		fprintf(stderr, "rtprec-gen: --%s: '%s' is not an IPv4 address\n", name, s);
		return -1;
	}
	*ip = ntohl(a.s_addr);
	return 0;
}

static int gen_mac(const char *name, const char *s, uint8_t mac[6])
{
	struct rte_ether_addr a;

	if (rte_ether_unformat_addr(s, &a) != 0) {
		fprintf(stderr, "rtprec-gen: --%s: '%s' is not a MAC address\n", name, s);
		return -1;
	}
	memcpy(mac, a.addr_bytes, 6);
	return 0;
}

static int gen_dst(const char *s, struct gen_opts *o)
{
	char buf[64];
	const char *colon = strchr(s, ':');
	size_t n = colon ? (size_t)(colon - s) : strlen(s);

	if (n >= sizeof(buf)) {
		fprintf(stderr, "rtprec-gen: --dst: '%s' is too long\n", s);
		return -1;
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (gen_ip("dst", buf, &o->dst_ip) != 0)
		return -1;
	return colon ? gen_num16("dst port", colon + 1, &o->dport) : 0;
}

static int gen_rate(const char *s, struct gen_opts *o)
{
	if (strcmp(s, "max") == 0) {
		o->rate_max = true;
		o->rate_pps = 0;
		return 0;
	}
	o->rate_max = false;
	return gen_num("rate", s, 1, 1000000000ull, &o->rate_pps);
}

static int gen_duration(const char *s, struct gen_opts *o)
{
	char *end;
	double d = strtod(s, &end);

	if (end == s || *end != '\0' || !(d > 0) || d > 86400 * 365.0) {
		fprintf(stderr, "rtprec-gen: --duration: '%s' is not a positive number of seconds\n",
			s);
		return -1;
	}
	o->duration_s = d;
	return 0;
}

int gen_args_trial(const char *line, struct gen_opts *o)
{
	char rate[32], secs[32], extra[2];

	if (sscanf(line, "%31s %31s %1s", rate, secs, extra) != 2) {
		fprintf(stderr, "rtprec-gen: --trials: expected 'RATE|max SECONDS', got: %s", line);
		return -1;
	}
	o->count = 0;
	return gen_rate(rate, o) == 0 && gen_duration(secs, o) == 0 ? 0 : -1;
}

static void gen_defaults(struct gen_opts *o)
{
	static const uint8_t dst_mac[6] = {0x02, 0x70, 0x63, 0x61, 0x70, 0x00};
	static const uint8_t src_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};

	memset(o, 0, sizeof(*o));
	o->streams = 1;
	o->payload = 160;
	o->ptime_ms = 20;
	o->clock_hz = 8000;
	o->ssrc_base = 0x10000000u;
	o->duration_s = -1;
	o->burst = 32;
	o->src_ip = 0x64400001u; /* 100.64.0.1 */
	o->dst_ip = 0xC000020Au; /* 192.0.2.10 */
	o->sport = 4000;
	o->dport = 30000;
	memcpy(o->dst_mac, dst_mac, 6);
	memcpy(o->src_mac, src_mac, 6);
	o->tx_port = "0";
	o->drain_ms = 500;
	o->link_wait_s = 5;
	o->mbufs = 16383;
}

static int gen_one(int c, const char *a, struct gen_opts *o)
{
	switch (c) {
	case GEN_O_STREAMS: return gen_num32("streams", a, 1, 1u << 24, &o->streams);
	case GEN_O_PAYLOAD: return gen_num32("payload", a, GEN_MIN_PAYLOAD, GEN_MAX_PAYLOAD, &o->payload);
	case GEN_O_PTIME: return gen_num32("ptime", a, 1, 1000, &o->ptime_ms);
	case GEN_O_CLOCK: return gen_num32("clock", a, 1, 1000000, &o->clock_hz);
	case GEN_O_PT: return gen_num32("pt", a, 0, 127, &o->pt);
	case GEN_O_SSRC: return gen_num32("ssrc", a, 0, UINT32_MAX, &o->ssrc_base);
	case GEN_O_RATE: return gen_rate(a, o);
	case GEN_O_DURATION: return gen_duration(a, o);
	case GEN_O_COUNT: return gen_num("count", a, 1, UINT64_MAX >> 8, &o->count);
	case GEN_O_BURST: return gen_num32("burst", a, 1, GEN_BURST_MAX, &o->burst);
	case GEN_O_RTCP:
		if (o->rtcp_interval_s == 0)
			o->rtcp_interval_s = 5;
		return 0;
	case GEN_O_RTCP_IVL: return gen_num32("rtcp-interval", a, 1, 3600, &o->rtcp_interval_s);
	case GEN_O_SRC: return gen_ip("src", a, &o->src_ip);
	case GEN_O_SPORT: return gen_num16("sport", a, &o->sport);
	case GEN_O_SPORT_STEP: return gen_num16("sport-step", a, &o->sport_step);
	case GEN_O_DST: return gen_dst(a, o);
	case GEN_O_DPORT: return gen_num16("dport", a, &o->dport);
	case GEN_O_DPORT_STEP: return gen_num16("dport-step", a, &o->dport_step);
	case GEN_O_SRC_MAC: o->src_mac_set = true; return gen_mac("src-mac", a, o->src_mac);
	case GEN_O_DST_MAC: return gen_mac("dst-mac", a, o->dst_mac);
	case GEN_O_TX_PORT: o->tx_port = a; return 0;
	case GEN_O_RX_PORT: o->rx_port = a; return 0;
	case GEN_O_PCAP_OUT: o->pcap_out = a; return 0;
	case GEN_O_DRAIN: return gen_num32("drain-ms", a, 0, 600000, &o->drain_ms);
	case GEN_O_LINK_WAIT: return gen_num32("link-wait", a, 0, 600, &o->link_wait_s);
	case GEN_O_MBUFS: return gen_num32("mbufs", a, 1023, 1u << 24, &o->mbufs);
	case GEN_O_PER_STREAM: o->per_stream = true; return 0;
	case GEN_O_TRIALS: o->trials = true; return 0;
	default: return -1;
	}
}

/* Fills what depends on other options: the default rate, count or duration. */
static int gen_resolve(struct gen_opts *o)
{
	uint64_t per_stream = 1000 / o->ptime_ms ? 1000 / o->ptime_ms : 1;

	/* with --rate max, rate_pps still times the packets of a pcap */
	if (o->rate_pps == 0)
		o->rate_pps = (uint64_t)o->streams * per_stream;
	if ((uint64_t)o->src_ip + o->streams - 1 > UINT32_MAX) {
		fprintf(stderr, "rtprec-gen: %u streams from --src overflow the IPv4 space\n",
			o->streams);
		return -1;
	}
	if (o->pcap_out != NULL && o->count == 0) {
		if (o->duration_s > 0)
			o->count = (uint64_t)(o->duration_s * (double)o->rate_pps + 0.5);
		else
			o->count = (uint64_t)o->streams * per_stream;
		if (o->count == 0)
			o->count = 1;
	}
	if (o->duration_s < 0)
		o->duration_s = o->count ? 0 : 10;
	return 0;
}

int gen_args_parse(int argc, char **argv, struct gen_opts *o)
{
	int c;

	gen_defaults(o);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", gen_longopts, NULL)) != -1) {
		if (c == 'h') {
			gen_args_usage(stdout);
			return 1;
		}
		if (c == '?')
			fprintf(stderr, "rtprec-gen: unknown option or missing value: %s\n",
				argv[optind - 1]);
		if (c == '?' || gen_one(c, optarg, o) != 0) {
			fputs("rtprec-gen: see rtprec-gen --help\n", stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "rtprec-gen: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	return gen_resolve(o);
}
