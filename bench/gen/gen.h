/* SPDX-License-Identifier: BSD-3-Clause
 * rtprec-gen: RTP stream generator and loss/latency meter (bench/gen/).
 * One face for the generator's files; everything external is prefixed gen_. */
#ifndef GEN_H
#define GEN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Stamp the generator writes right after the RTP header of every RTP packet:
 * magic, stream index, 32-bit per-stream sequence, TSC at build time (0 in pcaps). */
#define GEN_MAGIC 0x52544753u /* "RTGS" */
#define GEN_STAMP_LEN 20
#define GEN_RTP_HDR 12
#define GEN_MIN_PAYLOAD GEN_STAMP_LEN
#define GEN_MAX_PAYLOAD 1440
#define GEN_HDRS (14 + 20 + 8) /* Ethernet + IPv4 + UDP */
#define GEN_FRAME_MAX (GEN_HDRS + GEN_RTP_HDR + GEN_MAX_PAYLOAD)
#define GEN_BURST_MAX 64
#define GEN_RX_WINDOW 64 /* sequences behind the highest seen that tell dup from reorder */

struct gen_opts {
	uint32_t streams;
	uint32_t payload;    /* bytes after the RTP header */
	uint32_t ptime_ms;   /* media time per packet */
	uint32_t clock_hz;   /* RTP clock: timestamp step = clock_hz * ptime_ms / 1000 */
	uint32_t pt;         /* RTP payload type */
	uint32_t ssrc_base;  /* stream i has SSRC ssrc_base + i */
	uint64_t rate_pps;   /* aggregate RTP packets/s (unpaced when rate_max) */
	bool rate_max;
	double duration_s;   /* 0: until count */
	uint64_t count;      /* RTP packets in all; 0: until duration */
	uint32_t burst;
	uint32_t rtcp_interval_s; /* 0: no RTCP */
	uint32_t src_ip, dst_ip;  /* host order */
	uint16_t sport, dport, sport_step, dport_step;
	uint8_t src_mac[6], dst_mac[6];
	bool src_mac_set;
	const char *tx_port; /* port id or device name */
	const char *rx_port; /* NULL: the TX port; "none": no receive side */
	const char *pcap_out;
	uint32_t drain_ms;
	uint32_t link_wait_s;
	uint32_t mbufs;
	bool per_stream;
	bool trials; /* --trials: one trial per stdin line "RATE|max SECONDS" */
};

/* Per-stream state of the sending side (written by the TX lcore only). */
struct gen_tx_stream {
	uint32_t ip_be;
	uint16_t sport_be, dport_be;
	uint16_t ip_csum;  /* IPv4 header checksum of this stream's RTP packets */
	uint16_t seq;      /* next RTP sequence number */
	uint32_t udp_base; /* UDP checksum sum of everything but the per-packet bytes */
	uint32_t ts;       /* next RTP timestamp */
	uint32_t xseq;     /* packets built so far (stamped sequence) */
	uint64_t sent;     /* RTP packets the port accepted */
	uint64_t octets;   /* RTP payload octets built (for RTCP SR) */
	uint32_t rtcp_sent;
};

/* Per-stream state of the receiving side (written by the RX lcore only). */
struct gen_rx_stream {
	uint64_t received; /* unique stamped packets */
	uint64_t reordered, duplicates;
	uint64_t win;      /* bit k: sequence next - 1 - k seen */
	uint32_t next;     /* highest stamped sequence seen + 1 */
	uint64_t lat_n, lat_sum, lat_min, lat_max; /* TSC cycles */
};

struct gen_totals {
	uint64_t sent, rtcp_sent, tx_dropped, alloc_failed, pace_late;
	uint64_t received, reordered, duplicates, rtcp_received, rx_other;
};

/* What the packet builder needs: constant frames and per-stream state. */
struct gen_pkt_ctx {
	const struct gen_opts *o;
	uint8_t rtp_tmpl[GEN_FRAME_MAX];
	uint16_t rtp_len;
	uint32_t ts_step;
	uint32_t sr_every;    /* RTP packets of a stream between two SRs; 0: none */
	uint64_t ntp_start;   /* NTP time (32.32) of media time 0 */
	struct gen_tx_stream *tx;
	uint64_t built;       /* RTP packets built */
	uint32_t next_stream; /* round robin */
	int64_t pending_sr;   /* stream whose SR goes in the next slot, -1: none */
};

/* What one built slot was, for the TX accounting. */
struct gen_slot {
	uint32_t stream;
	bool rtcp;
};

/* gen_args.c */
/* 0: run, 1: --help printed, -1: bad options (said on stderr) */
int gen_args_parse(int argc, char **argv, struct gen_opts *o);
/* index of "--" in argv, or -1 */
int gen_args_split(int argc, char **argv);
/* One --trials line, "RATE|max SECONDS": sets the rate and the duration; 0 or -1. */
int gen_args_trial(const char *line, struct gen_opts *o);

/* gen_pkt.c */
int gen_pkt_init(struct gen_pkt_ctx *c, const struct gen_opts *o);
void gen_pkt_free(struct gen_pkt_ctx *c);
/* Builds the next frame into buf (GEN_FRAME_MAX bytes), stamped with tsc: the
 * pending RTCP SR if any, else the next stream's RTP packet. Returns its length. */
uint16_t gen_pkt_next(struct gen_pkt_ctx *c, uint8_t *buf, uint64_t tsc, struct gen_slot *slot);
/* Frames still to build before --count is reached (UINT64_MAX without --count). */
uint64_t gen_pkt_left(const struct gen_pkt_ctx *c);
/* Counts a slot that went out (port accepted it, or written to the pcap). */
void gen_pkt_account(struct gen_pkt_ctx *c, const struct gen_slot *slot, struct gen_totals *t);

/* gen_rx.c */
struct gen_rx_ctx {
	struct gen_rx_stream *rx;
	uint32_t streams;
	uint64_t received, rtcp_received, rx_other;
	uint64_t since; /* TSC: frames stamped earlier (an earlier --trials run) are rx_other */
};
int gen_rx_init(struct gen_rx_ctx *c, uint32_t streams);
void gen_rx_free(struct gen_rx_ctx *c);
void gen_rx_frame(struct gen_rx_ctx *c, const uint8_t *p, uint32_t len, uint64_t now);

/* gen_port.c */
struct gen_ports {
	uint16_t tx, rx;
	bool has_rx;
	struct rte_mempool *pool;
};
int gen_ports_open(const struct gen_opts *o, struct gen_ports *p);
void gen_ports_close(struct gen_ports *p);

/* gen_run.c */
int gen_run_ports(const struct gen_opts *o, struct gen_pkt_ctx *pc, struct gen_rx_ctx *rc,
		  const struct gen_ports *ports, struct gen_totals *t, double *elapsed_s);
extern volatile int gen_stop;

/* gen_pcap.c */
int gen_pcap_write(const struct gen_opts *o, struct gen_pkt_ctx *pc, struct gen_totals *t);

/* gen_report.c */
void gen_report(FILE *f, const struct gen_opts *o, const struct gen_pkt_ctx *pc,
		const struct gen_rx_ctx *rc, struct gen_totals *t, double elapsed_s,
		uint64_t tsc_hz);

#endif
