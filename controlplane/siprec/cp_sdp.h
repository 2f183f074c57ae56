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
struct cp_sdp_stream {
	char media[16];          /* "audio", "video", ... */
	char proto[32];          /* "RTP/AVP", "RTP/SAVP", ... */
	uint32_t ip;             /* c= of the stream or the session, host order; 0 if none */
	uint16_t port;           /* 0 = stream rejected/disabled by the offerer */
	enum cp_sdp_dir dir;     /* no direction attribute (media or session): SENDONLY (issue 10) */
	int rtcp_mux;
	char label[64];          /* a=label, "" if none */
	char fmts[128];          /* payload types as offered, e.g. "0 8 101" */
	char attrs[CP_SDP_MAX_ATTRS][160]; /* rtpmap/fmtp/ptime lines to echo, without "a=" */
	unsigned n_attrs;
};
struct cp_sdp_offer { uint32_t ip; unsigned n_streams; struct cp_sdp_stream streams[CP_SDP_MAX_STREAMS]; };
/* 0, or -1 with *why. Streams past CP_SDP_MAX_STREAMS: -1 "too many streams". */
int cp_sdp_parse_offer(const char *sdp, size_t len, struct cp_sdp_offer *o, const char **why);
/* Answer: one m= per offered stream, same order; ports[i] our RTP port for stream i (0 =
 * reject that stream: port 0); dirs[i] the direction to answer (recvonly for a recording,
 * inactive when paused/offered inactive); the same a=label; the offered formats and their
 * rtpmap/fmtp accepted as they are; a=rtcp-mux when offered. o= with sess_id / sess_ver,
 * c=IN IP4 local_ip. Returns the length written (NUL-terminated) or -1 if out is too small. */
int cp_sdp_build_answer(const struct cp_sdp_offer *o, uint32_t local_ip, const uint16_t *ports,
                        const enum cp_sdp_dir *dirs, uint64_t sess_id, uint64_t sess_ver,
                        char *out, size_t outlen);
/* "recvonly" etc. */
const char *cp_sdp_dir_name(enum cp_sdp_dir d);

#endif
