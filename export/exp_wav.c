/* SPDX-License-Identifier: BSD-3-Clause
 * 16-bit PCM WAV (RIFF) files: the header, a mono track, and a stereo call
 * with the slower channel linearly interpolated to the faster one's rate. */
#include <string.h>

#include "exp.h"

#define EXP_WAV_BUF 4096 /* frames per write */

static void exp_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void exp_le32(uint8_t *p, uint32_t v)
{
	exp_le16(p, (uint16_t)v);
	exp_le16(p + 2, (uint16_t)(v >> 16));
}

void exp_wav_header(uint8_t h[EXP_WAV_HEADER], uint32_t rate, uint16_t channels,
		    uint32_t frames)
{
	uint32_t block = 2u * channels, data = frames * block;

	memcpy(h, "RIFF", 4);
	exp_le32(h + 4, 36 + data);
	memcpy(h + 8, "WAVEfmt ", 8);
	exp_le32(h + 16, 16);      /* fmt chunk size */
	exp_le16(h + 20, 1);       /* PCM */
	exp_le16(h + 22, channels);
	exp_le32(h + 24, rate);
	exp_le32(h + 28, rate * block); /* bytes per second */
	exp_le16(h + 32, (uint16_t)block);
	exp_le16(h + 34, 16); /* bits per sample */
	memcpy(h + 36, "data", 4);
	exp_le32(h + 40, data);
}

uint64_t exp_wav_max_frames(uint16_t channels)
{
	return (0xffffffffull - 36) / (2u * channels);
}

static int exp_wav_begin(FILE *f, uint32_t rate, uint16_t channels, uint64_t frames)
{
	uint8_t h[EXP_WAV_HEADER];

	if (frames > exp_wav_max_frames(channels))
		return -1;
	exp_wav_header(h, rate, channels, (uint32_t)frames);
	return fwrite(h, sizeof(h), 1, f) == 1 ? 0 : -1;
}

int exp_wav_mono(FILE *f, const struct exp_track *t, uint64_t frames)
{
	struct exp_reader r = {t, 0};
	uint8_t buf[EXP_WAV_BUF * 2];

	if (exp_wav_begin(f, t->rate, 1, frames) != 0)
		return -1;
	for (uint64_t i = 0; i < frames;) {
		size_t n = 0;
		for (; n < EXP_WAV_BUF && i < frames; n++, i++)
			exp_le16(buf + 2 * n, (uint16_t)exp_reader_get(&r, (int64_t)i));
		if (fwrite(buf, 2, n, f) != n)
			return -1;
	}
	return 0;
}

void exp_stereo_plan(struct exp_stereo *s, const struct exp_track *left,
		     const struct exp_track *right)
{
	int64_t t0 = INT64_MAX;

	memset(s, 0, sizeof(*s));
	s->ch[0] = left;
	s->ch[1] = right;
	for (int c = 0; c < 2; c++) {
		if (s->ch[c] == NULL)
			continue;
		if (s->ch[c]->rate > s->rate)
			s->rate = s->ch[c]->rate;
		if (s->ch[c]->start_ns < t0)
			t0 = s->ch[c]->start_ns;
	}
	for (int c = 0; c < 2; c++) {
		const struct exp_track *t = s->ch[c];
		uint64_t end;
		if (t == NULL)
			continue;
		s->off[c] = exp_scale(t->start_ns - t0, s->rate, 1000000000);
		/* ceil(len * rate / track rate) output frames */
		s->len[c] = (uint64_t)exp_scale(exp_track_len(t), s->rate, t->rate);
		if (exp_scale((int64_t)s->len[c], t->rate, s->rate) < exp_track_len(t))
			s->len[c]++;
		end = (uint64_t)s->off[c] + s->len[c];
		if (end > s->frames)
			s->frames = end;
	}
}

/* Output frame k (0 .. len-1) of channel c. */
static int16_t exp_stereo_sample(const struct exp_stereo *s, int c, struct exp_reader *r,
				 uint64_t k)
{
	uint32_t tr = s->ch[c]->rate;
	uint64_t num = k * tr;
	int64_t i = (int64_t)(num / s->rate), len = exp_track_len(s->ch[c]);
	uint64_t frac = num % s->rate;
	int32_t a = exp_reader_get(r, i), b;

	if (frac == 0)
		return (int16_t)a;
	b = i + 1 < len ? exp_reader_get(r, i + 1) : a;
	return (int16_t)(a + (int32_t)((int64_t)(b - a) * (int64_t)frac / s->rate));
}

int exp_wav_stereo(FILE *f, const struct exp_stereo *s, uint64_t frames)
{
	struct exp_reader r[2] = {{s->ch[0], 0}, {s->ch[1], 0}};
	uint8_t buf[EXP_WAV_BUF * 4];

	if (exp_wav_begin(f, s->rate, 2, frames) != 0)
		return -1;
	for (uint64_t n = 0; n < frames;) {
		size_t m = 0;
		for (; m < EXP_WAV_BUF && n < frames; m++, n++) {
			for (int c = 0; c < 2; c++) {
				int16_t v = 0;
				if (s->ch[c] && n >= (uint64_t)s->off[c] &&
				    n - (uint64_t)s->off[c] < s->len[c])
					v = exp_stereo_sample(s, c, &r[c], n - (uint64_t)s->off[c]);
				exp_le16(buf + 4 * m + 2 * c, (uint16_t)v);
			}
		}
		if (fwrite(buf, 4, m, f) != m)
			return -1;
	}
	return 0;
}
