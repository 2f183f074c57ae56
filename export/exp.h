/* SPDX-License-Identifier: BSD-3-Clause
 * rtprec-export: one recorded call (media.pcap + session.json) to WAV files.
 * Modules: exp_pcap (files, frames), exp_rtp (RTP header), exp_session
 * (session.json), exp_codec (payload types, decoding with spandsp),
 * exp_track (placing a stream's packets on a timeline), exp_wav (WAV files),
 * exp_call (packets to streams, the whole export). */
#ifndef RTPREC_EXP_H
#define RTPREC_EXP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ------------------------------------------------------------ codecs */
enum exp_codec_id {
	EXP_CODEC_UNKNOWN = 0,
	EXP_CODEC_PCMU,
	EXP_CODEC_PCMA,
	EXP_CODEC_G722,
	EXP_CODEC_CN,   /* comfort noise: skipped */
	EXP_CODEC_DTMF, /* telephone-event: skipped */
};

struct exp_codec {
	uint8_t id;     /* enum exp_codec_id */
	uint32_t clock; /* RTP timestamp clock (G.722: 8000) */
	uint32_t rate;  /* decoded sample rate (G.722: 16000), 0 if not audio */
};

#define EXP_PT_MAX 128
struct exp_ptmap {
	struct exp_codec pt[EXP_PT_MAX];
};

/* The static payload types we decode or know: 0 PCMU, 8 PCMA, 9 G722, 13 CN. */
void exp_ptmap_static(struct exp_ptmap *m);
/* One "rtpmap:PT NAME/CLOCK[/CH]" line (as session.json's "codecs" holds
 * them) into m. 0, or -1 when the line is no rtpmap. */
int exp_ptmap_rtpmap(struct exp_ptmap *m, const char *line);
/* The codec named name (case-insensitive) at that RTP clock. */
struct exp_codec exp_codec_by_name(const char *name, uint32_t clock);
const char *exp_codec_name(uint8_t id);
/* Samples at the codec's own rate that a payload of len bytes decodes to. */
uint32_t exp_codec_samples(uint8_t id, uint32_t len);
int exp_codec_is_audio(uint8_t id);

struct exp_decoder; /* G.722 state (spandsp) */
struct exp_decoder *exp_decoder_new(void);
void exp_decoder_free(struct exp_decoder *d);
/* Decode payload p (codec id at its own rate crate) into out, resampled to
 * rate (a multiple of crate) by linear interpolation. out holds
 * exp_codec_samples(id, len) * rate / crate samples. Returns that count. */
uint32_t exp_decode(struct exp_decoder *d, uint8_t id, uint32_t crate, const uint8_t *p,
		    uint32_t len, int16_t *out, uint32_t rate);

/* ------------------------------------------------------------ frames, RTP */
struct exp_udp {
	uint32_t src_ip, dst_ip; /* host order */
	uint16_t src_port, dst_port;
	uint16_t csum; /* the UDP checksum as in the frame (0: none) */
	const uint8_t *payload;
	uint32_t len;
};

enum exp_frame_rc {
	EXP_FRAME_OK = 0,
	EXP_FRAME_SHORT = -1,    /* truncated somewhere */
	EXP_FRAME_NOT_IPV4 = -2, /* other ethertype / version / linktype */
	EXP_FRAME_NOT_UDP = -3,
	EXP_FRAME_FRAGMENT = -4,
};
/* Ethernet (802.1Q/802.1ad tags), Linux cooked (SLL), raw IPv4 (DLT_RAW,
 * LINKTYPE_IPV4) -> IPv4 -> UDP. */
int exp_frame_parse(int linktype, const uint8_t *data, uint32_t caplen, struct exp_udp *out);

struct exp_rtp {
	uint8_t pt, marker;
	uint16_t seq;
	uint32_t ts, ssrc;
	const uint8_t *payload;
	uint32_t len;
};
enum exp_rtp_rc { EXP_RTP_OK = 0, EXP_RTP_RTCP = 1, EXP_RTP_NOT = -1 };
/* RTP version 2 with CSRCs, extension and padding removed; RTCP (packet
 * types 192..223, RFC 5761) is told apart. */
int exp_rtp_parse(const uint8_t *p, uint32_t len, struct exp_rtp *r);

/* ------------------------------------------------------------ pcap files */
/* DIR/media.pcap then DIR/media.N.pcap by increasing N. *paths is malloc'd
 * (free with exp_pcap_list_free). 0, or -errno. */
int exp_pcap_list(const char *dir, char ***paths, unsigned *n);
void exp_pcap_list_free(char **paths, unsigned n);

typedef void (*exp_udp_cb)(void *ctx, int64_t ts_ns, const struct exp_udp *u);
struct exp_pcap_counts {
	uint64_t frames, udp, not_ipv4, not_udp, fragments, truncated;
};
/* Every frame of one pcap (opened by the caller with nanosecond precision);
 * UDP datagrams go to cb. 0, or -1 when the file ends in an error (what was
 * read before stays good; errbuf tells). */
struct pcap;
int exp_pcap_read(struct pcap *p, exp_udp_cb cb, void *ctx, struct exp_pcap_counts *c,
		  char *errbuf, size_t errlen);

/* ------------------------------------------------------------ session.json */
struct exp_addr {
	uint32_t ip; /* host order; 0: none */
	uint16_t port;
};

/* A stream's "srtp" "mode": with decrypt the recorder writes what it decrypted
 * with UDP checksum 0 and what it could not as received; with keep all is encrypted. */
enum exp_srtp { EXP_SRTP_NONE = 0, EXP_SRTP_DECRYPT, EXP_SRTP_KEEP };

struct exp_sstream {
	char label[64];
	uint8_t srtp; /* enum exp_srtp */
	uint16_t local_port;
	struct exp_addr negotiated, latched;
	struct exp_ptmap map; /* static types plus the rtpmap lines */
};

struct exp_session {
	struct exp_sstream *streams;
	unsigned n_streams;
};

/* Parse session.json text. 0, or -1 with a message in err. */
int exp_session_parse(const char *buf, size_t len, struct exp_session *s, char *err,
		      size_t errlen);
/* 0; -ENOENT when the file is missing; -1 with err set when it is bad. */
int exp_session_load(const char *path, struct exp_session *s, char *err, size_t errlen);
void exp_session_free(struct exp_session *s);

/* ------------------------------------------------------------ tracks */
/* How far arrival time and RTP time may disagree before the stream is
 * re-anchored on arrival time (a pause without a timestamp jump, or a
 * timestamp jump without a pause). */
#define EXP_TOLERANCE_NS 500000000LL

enum exp_drop { EXP_KEEP = 0, EXP_DROP_DUP, EXP_DROP_LATE, EXP_DROP_SSRCS };

struct exp_pkt {
	int64_t arr_ns; /* pcap time */
	uint64_t idx;   /* arrival order */
	uint32_t ssrc, ts;
	uint16_t seq;
	uint8_t codec; /* enum exp_codec_id */
	uint8_t drop;  /* enum exp_drop, set by exp_track_place */
	uint32_t clock, crate;
	uint32_t native; /* samples at crate */
	uint32_t nsamp;  /* samples at the track rate */
	uint64_t off;    /* payload in the track's byte store */
	uint32_t len;
	int64_t pos; /* set by exp_track_place: first sample on the track */
};

struct exp_chunk {
	int64_t pos;   /* from the start of the track */
	int64_t reach; /* highest end (pos + n) of this chunk and those before */
	uint64_t off;
	uint32_t n;
};

struct exp_track_stats {
	uint64_t packets, decoded, dups, late, reordered, lost;
	uint64_t pauses, jumps, ssrc_changes, ssrcs;
};

struct exp_ssrc_state;

struct exp_track {
	uint32_t rate; /* highest decoded rate of its packets */
	struct exp_pkt *pkts;
	size_t n, cap;
	uint8_t *bytes;
	uint64_t nbytes, capbytes;
	struct exp_ssrc_state *ssrcs;
	unsigned n_ssrcs;
	/* after exp_track_place */
	int64_t min_pos, max_end;
	int64_t start_ns; /* pcap time of the track's first sample */
	/* after exp_track_render */
	int16_t *samples;
	struct exp_chunk *chunks;
	size_t nchunks;
	struct exp_track_stats st;
};

/* Append one RTP packet of a decodable codec c. 0, or -ENOMEM. */
int exp_track_add(struct exp_track *t, int64_t arr_ns, const struct exp_rtp *r,
		  const struct exp_codec *c);
/* Order by arrival, unwrap sequence numbers and timestamps per SSRC, drop
 * duplicates, and give every packet its position (see exp_track.c). */
void exp_track_place(struct exp_track *t);
/* Decode the kept packets in position order into chunks, then free the
 * payloads (so once per track). 0, or -ENOMEM. */
int exp_track_render(struct exp_track *t);
/* Samples on the track (silence included). */
int64_t exp_track_len(const struct exp_track *t);
void exp_track_free(struct exp_track *t);

/* Sample i (0 .. len-1) of a rendered track; 0 where nothing was received.
 * Cheapest when i only moves forward. */
struct exp_reader {
	const struct exp_track *t;
	size_t ci;
};
int16_t exp_reader_get(struct exp_reader *r, int64_t i);

/* v * num / den without overflow, clamped to +-2^52. */
int64_t exp_scale(int64_t v, int64_t num, int64_t den);

/* ------------------------------------------------------------ WAV */
#define EXP_WAV_HEADER 44
/* The 44-byte header of a 16-bit PCM WAV with frames frames. */
void exp_wav_header(uint8_t h[EXP_WAV_HEADER], uint32_t rate, uint16_t channels,
		    uint32_t frames);
/* Most frames a WAV of that channel count can hold (4 GiB RIFF limit). */
uint64_t exp_wav_max_frames(uint16_t channels);
/* One track, mono at its rate. frames: how many to write (<= its length). */
int exp_wav_mono(FILE *f, const struct exp_track *t, uint64_t frames);

/* Two tracks (either may be NULL: a silent channel) at the higher rate, the
 * lower one linearly interpolated, aligned on their start_ns. */
struct exp_stereo {
	const struct exp_track *ch[2];
	uint32_t rate;
	int64_t off[2]; /* output frames before each channel's first sample */
	uint64_t len[2];
	uint64_t frames;
};
void exp_stereo_plan(struct exp_stereo *s, const struct exp_track *left,
		     const struct exp_track *right);
int exp_wav_stereo(FILE *f, const struct exp_stereo *s, uint64_t frames);

/* ------------------------------------------------------------ a call */
struct exp_opts {
	const char *dir;    /* the call directory */
	const char *outdir; /* NULL: dir */
	const char *left, *right; /* stream names for call.wav, NULL: the first two */
	int quiet;
	uint64_t max_frames; /* 0: the WAV limit */
};

/* The whole export: returns the exit code (0 written, 1 nothing to export,
 * 2 usage or I/O error). Reports go to stderr, written paths to stdout. */
int exp_run(const struct exp_opts *o);

struct exp_call; /* packets grouped into streams (exp_call.c) */
struct exp_call *exp_call_new(const struct exp_session *s, int quiet);
void exp_call_udp(void *call, int64_t ts_ns, const struct exp_udp *u); /* an exp_udp_cb */
/* Place and render every stream; 0, or -ENOMEM. */
int exp_call_finish(struct exp_call *c);
/* Streams with audio, in export order, and their file names. */
unsigned exp_call_n_audio(const struct exp_call *c);
const struct exp_track *exp_call_track(const struct exp_call *c, unsigned i);
const char *exp_call_stream_name(const struct exp_call *c, unsigned i);
void exp_call_report(const struct exp_call *c);
void exp_call_free(struct exp_call *c);

#endif
