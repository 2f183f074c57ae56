/* SPDX-License-Identifier: BSD-3-Clause
 * libFuzzer: rtprec-export's readers. Input: 2 bytes (little-endian) giving
 * the length of a session.json text, that text, then a pcap file. The whole
 * export runs on it: session.json, frames, RTP, streams, the timeline,
 * decoding, and WAV writing (to /dev/null, lengths capped). The input is
 * also parsed as one frame of each link type we read. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include "export/exp.h"

#define FUZZ_MAX_FRAMES (1u << 15)

static FILE *devnull;

static uint64_t fuzz_cap(uint64_t frames)
{
	return frames < FUZZ_MAX_FRAMES ? frames : FUZZ_MAX_FRAMES;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static const int links[] = {1, 12, 113, 228, 276, 0};
	char err[PCAP_ERRBUF_SIZE];
	struct exp_session sess;
	struct exp_pcap_counts cnt = {0};
	struct exp_udp u;
	struct exp_rtp r;
	struct exp_call *c;
	size_t jl;
	FILE *f;
	pcap_t *p;

	if (devnull == NULL && (devnull = fopen("/dev/null", "w")) == NULL)
		abort();
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		if (exp_frame_parse(links[i], d, (uint32_t)n, &u) == EXP_FRAME_OK &&
		    (u.payload < d || u.payload + u.len > d + n))
			abort();
	if (exp_rtp_parse(d, (uint32_t)n, &r) == EXP_RTP_OK &&
	    (r.payload < d || r.payload + r.len > d + n))
		abort();
	if (n < 2)
		return 0;
	jl = (size_t)d[0] | (size_t)d[1] << 8;
	if (jl > n - 2)
		jl = n - 2;
	if (exp_session_parse((const char *)d + 2, jl, &sess, err, sizeof(err)) != 0)
		memset(&sess, 0, sizeof(sess));
	d += 2 + jl;
	n -= 2 + jl;
	c = exp_call_new(&sess, 1);
	if (c == NULL)
		abort();
	if (n > 0 && (f = fmemopen((void *)d, n, "rb")) != NULL) {
		p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, err);
		if (p == NULL) {
			fclose(f);
		} else {
			(void)exp_pcap_read(p, exp_call_udp, c, &cnt, err, sizeof(err));
			pcap_close(p);
		}
	}
	if (exp_call_finish(c) == 0) {
		struct exp_stereo st;
		for (unsigned i = 0; i < exp_call_n_audio(c); i++) {
			const struct exp_track *t = exp_call_track(c, i);
			if (exp_track_len(t) <= 0 || t->rate == 0)
				abort();
			if (strlen(exp_call_stream_name(c, i)) == 0)
				abort();
			(void)exp_wav_mono(devnull, t, fuzz_cap((uint64_t)exp_track_len(t)));
		}
		exp_stereo_plan(&st, exp_call_track(c, 0), exp_call_track(c, 1));
		(void)exp_wav_stereo(devnull, &st, fuzz_cap(st.frames));
	}
	exp_call_free(c);
	exp_session_free(&sess);
	return 0;
}
