/* SPDX-License-Identifier: BSD-3-Clause
 * SDP offer parsing (libosip2's SDP parser) and answer building for the
 * SIPREC SRS: one m= per offered stream, codecs accepted as offered. */
#ifndef CP_SDP_H
#define CP_SDP_H

#include <stddef.h>
#include <stdint.h>

#define CP_SDP_MAX_STREAMS 8
#define CP_SDP_MAX_ATTRS 16
enum cp_sdp_dir { CP_SDP_SENDRECV = 0, CP_SDP_SENDONLY, CP_SDP_RECVONLY, CP_SDP_INACTIVE };
/* SDES (RFC 4568) suites we accept; NONE = no acceptable a=crypto line. */
enum cp_sdp_suite { CP_SDP_SUITE_NONE = 0, CP_SDP_AES_CM_128_HMAC_SHA1_80,
		    CP_SDP_AES_CM_128_HMAC_SHA1_32 };
#define CP_SDP_KEY_LEN 30 /* AES-128 key (16) || salt (14) */
#define CP_SDP_MKI_MAX 8  /* longest MKI taken, in bytes */
struct cp_sdp_crypto {
	unsigned tag;
	enum cp_sdp_suite suite;
	uint8_t key[CP_SDP_KEY_LEN];       /* the offerer's master key || salt */
	uint8_t mki_len;                   /* 0: no MKI in the offerer's packets */
	uint8_t mki[CP_SDP_MKI_MAX];       /* its value, big-endian, mki_len bytes */
	uint8_t local_key[CP_SDP_KEY_LEN]; /* ours for the answer (random, never used) */
	char params[96];                   /* the offered key-params, "inline:..." */
};
struct cp_sdp_stream {
	char media[16];          /* "audio", "video", ... */
	char proto[32];          /* "RTP/AVP", "RTP/SAVP", ... */
	uint32_t ip;             /* c= of the stream or the session, host order; 0 if none */
	uint16_t port;           /* 0 = stream rejected/disabled by the offerer */
	enum cp_sdp_dir dir;     /* no direction attribute (media or session): SENDONLY (issue 10) */
	int rtcp_mux;
	char label[64];          /* a=label, "" if none */
	char fmts[128];          /* payload types as offered, e.g. "0 8 101" */
	unsigned clock_rate;     /* RTP clock of the first format: its rtpmap, RFC 3551's
				    static types, else 8000 */
	char attrs[CP_SDP_MAX_ATTRS][160]; /* rtpmap/fmtp/ptime lines to echo, without "a=" */
	unsigned n_attrs;
	/* SDES: the first acceptable a=crypto line (crypto.suite NONE if none). Acceptable:
	 * a supported suite, one inline: key of 30 bytes, optional |lifetime, no MKI and
	 * no session parameters. An RTP/SAVP stream without one is answered with port 0
	 * (RFC 4568 7.1.2); a=crypto on other protos is ignored. */
	struct cp_sdp_crypto crypto;
};
struct cp_sdp_offer { uint32_t ip; unsigned n_streams; struct cp_sdp_stream streams[CP_SDP_MAX_STREAMS]; };
/* 0, or -1 with *why. Streams past CP_SDP_MAX_STREAMS: -1 "too many streams". */
int cp_sdp_parse_offer(const char *sdp, size_t len, struct cp_sdp_offer *o, const char **why);
/* Answer: one m= per offered stream, same order; ports[i] our RTP port for stream i (0 =
 * reject that stream: port 0); dirs[i] the direction to answer (recvonly for a recording,
 * inactive when paused/offered inactive); the same a=label; the offered formats and their
 * rtpmap/fmtp accepted as they are; a=rtcp-mux when offered; for an accepted SRTP stream one
 * a=crypto with the offered tag and suite and crypto.local_key. o= with sess_id / sess_ver,
 * c=IN IP4 local_ip. Returns the length written (NUL-terminated) or -1 if out is too small. */
int cp_sdp_build_answer(const struct cp_sdp_offer *o, uint32_t local_ip, const uint16_t *ports,
                        const enum cp_sdp_dir *dirs, uint64_t sess_id, uint64_t sess_ver,
                        char *out, size_t outlen);
/* The same with rtcp_ports[i] (NULL: none) the public RTCP port of stream i behind a
 * NAT: a=rtcp:PORT (RFC 3605) when it is not ports[i] + 1 and there is no rtcp-mux. */
int cp_sdp_build_answer_nat(const struct cp_sdp_offer *o, uint32_t local_ip,
			    const uint16_t *ports, const uint16_t *rtcp_ports,
			    const enum cp_sdp_dir *dirs, uint64_t sess_id, uint64_t sess_ver,
			    char *out, size_t outlen);
/* "AES_CM_128_HMAC_SHA1_80" etc.; NULL for NONE. */
const char *cp_sdp_suite_name(enum cp_sdp_suite s);
/* Is the proto an SRTP one ("RTP/SAVP", "RTP/SAVPF")? */
int cp_sdp_is_savp(const char *proto);
/* RTP over UDP, plain or SDES-keyed SRTP (RTP/AVP, RTP/AVPF, RTP/SAVP, RTP/SAVPF): what
 * rtprec records. Not DTLS-SRTP (UDP/TLS/RTP/SAVP[F]), not RTP over TCP. */
int cp_sdp_is_rtp(const char *proto);
/* Parse one a=crypto value ("<tag> <suite> inline:<b64>[|lifetime][|MKI:length]", MKI
 * length 1..CP_SDP_MKI_MAX): 0, or -1 if not acceptable. local_key is left alone. */
int cp_sdp_parse_crypto(const char *v, struct cp_sdp_crypto *c);
/* "recvonly" etc. */
const char *cp_sdp_dir_name(enum cp_sdp_dir d);

#endif
