/* SPDX-License-Identifier: BSD-3-Clause
 * Payload types and decoding. The decoders are spandsp's (G.711 tables,
 * G.722 sub-band ADPCM); this file only picks one and resamples. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "exp.h" /* stdint.h first: spandsp's headers need it */

#include <spandsp/telephony.h>
#include <spandsp/bit_operations.h>
#include <spandsp/g711.h>
#include <spandsp/g722.h>

struct exp_decoder {
	g722_decode_state_t *g722;
};

static const struct {
	const char *name;
	uint8_t id;
	uint32_t rate_per_clock; /* decoded samples per RTP tick, 0: not audio */
} exp_names[] = {
	{"PCMU", EXP_CODEC_PCMU, 1},
	{"PCMA", EXP_CODEC_PCMA, 1},
	{"G722", EXP_CODEC_G722, 2}, /* RFC 3551: 16 kHz audio, 8000 Hz RTP clock */
	{"CN", EXP_CODEC_CN, 0},
	{"telephone-event", EXP_CODEC_DTMF, 0},
};

struct exp_codec exp_codec_by_name(const char *name, uint32_t clock)
{
	struct exp_codec c = {EXP_CODEC_UNKNOWN, clock, 0};

	for (size_t i = 0; i < sizeof(exp_names) / sizeof(exp_names[0]); i++) {
		if (strcasecmp(name, exp_names[i].name) != 0)
			continue;
		/* the audio codecs we decode exist at 8000 Hz RTP clock only */
		if (exp_names[i].rate_per_clock && clock != 8000)
			return c;
		c.id = exp_names[i].id;
		c.rate = clock * exp_names[i].rate_per_clock;
		return c;
	}
	return c;
}

const char *exp_codec_name(uint8_t id)
{
	for (size_t i = 0; i < sizeof(exp_names) / sizeof(exp_names[0]); i++)
		if (exp_names[i].id == id)
			return exp_names[i].name;
	return "unknown";
}

int exp_codec_is_audio(uint8_t id)
{
	return id == EXP_CODEC_PCMU || id == EXP_CODEC_PCMA || id == EXP_CODEC_G722;
}

uint32_t exp_codec_samples(uint8_t id, uint32_t len)
{
	switch (id) {
	case EXP_CODEC_PCMU:
	case EXP_CODEC_PCMA:
		return len;
	case EXP_CODEC_G722:
		return len * 2; /* 64 kbit/s: two 16 kHz samples per byte */
	default:
		return 0;
	}
}

void exp_ptmap_static(struct exp_ptmap *m)
{
	memset(m, 0, sizeof(*m));
	m->pt[0] = exp_codec_by_name("PCMU", 8000);
	m->pt[8] = exp_codec_by_name("PCMA", 8000);
	m->pt[9] = exp_codec_by_name("G722", 8000);
	m->pt[13] = exp_codec_by_name("CN", 8000);
}

int exp_ptmap_rtpmap(struct exp_ptmap *m, const char *line)
{
	char name[32];
	unsigned pt, clock;
	int used = 0;

	if (strncmp(line, "rtpmap:", 7) != 0)
		return -1;
	if (sscanf(line + 7, "%u %31[^/ ]/%u%n", &pt, name, &clock, &used) != 3 || used == 0 ||
	    pt >= EXP_PT_MAX)
		return -1;
	m->pt[pt] = exp_codec_by_name(name, clock);
	return 0;
}

struct exp_decoder *exp_decoder_new(void)
{
	return calloc(1, sizeof(struct exp_decoder));
}

void exp_decoder_free(struct exp_decoder *d)
{
	if (d == NULL)
		return;
	if (d->g722)
		g722_decode_free(d->g722);
	free(d);
}

/* In place: n samples at the front of out become n * k, each gap filled by
 * linear interpolation towards the next sample (the last one is held). */
static void exp_upsample(int16_t *out, uint32_t n, uint32_t k)
{
	for (uint32_t i = n; i-- > 0;) {
		int32_t a = out[i], b = (i + 1 < n) ? out[i + 1] : a;
		for (uint32_t j = k; j-- > 0;)
			out[i * k + j] = (int16_t)(a + (b - a) * (int32_t)j / (int32_t)k);
	}
}

uint32_t exp_decode(struct exp_decoder *d, uint8_t id, uint32_t crate, const uint8_t *p,
		    uint32_t len, int16_t *out, uint32_t rate)
{
	uint32_t n = exp_codec_samples(id, len);

	switch (id) {
	case EXP_CODEC_PCMU:
		for (uint32_t i = 0; i < len; i++)
			out[i] = ulaw_to_linear(p[i]);
		break;
	case EXP_CODEC_PCMA:
		for (uint32_t i = 0; i < len; i++)
			out[i] = alaw_to_linear(p[i]);
		break;
	case EXP_CODEC_G722:
		if (d->g722 == NULL)
			d->g722 = g722_decode_init(NULL, 64000, 0);
		if (d->g722 == NULL || len > (uint32_t)INT32_MAX / 2) {
			memset(out, 0, (size_t)n * sizeof(*out));
			break;
		}
		{
			int got = g722_decode(d->g722, out, p, (int)len);
			if (got < 0)
				got = 0;
			if ((uint32_t)got < n)
				memset(out + got, 0, (size_t)(n - (uint32_t)got) * sizeof(*out));
		}
		break;
	default:
		return 0;
	}
	if (crate == 0 || rate <= crate)
		return n;
	exp_upsample(out, n, rate / crate);
	return n * (rate / crate);
}
