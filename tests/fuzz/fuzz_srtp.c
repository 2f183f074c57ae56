/* SPDX-License-Identifier: BSD-3-Clause
 * libFuzzer: the recorder's SRTP step (rec_srtp_frame) on one frame as the
 * dataplane hands it over: Ethernet with up to two VLAN tags, IPv4, UDP to a
 * keyed port. Two streams: AES_CM_128_HMAC_SHA1_80 with RTCP on port+1, and
 * AES_CM_128_HMAC_SHA1_32 with rtcp-mux and a 4-byte MKI. The first input byte
 * picks the keys again (a re-INVITE: same keys, or new ones keeping the ROC). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "recorder/rec_priv.h"

static struct rec_srtp *srtp;
static uint8_t frame[2048];

static void fuzz_keys(struct rec_srtp_key k[2], uint8_t salt)
{
	memset(k, 0, 2 * sizeof(*k));
	k[0].suite = REC_SRTP_AES128_SHA1_80;
	k[0].rtp_port = 40000;
	k[0].rtcp_port = 40001;
	k[1].suite = REC_SRTP_AES128_SHA1_32;
	k[1].rtp_port = 40002;
	k[1].mki_len = 4;
	k[1].mki[3] = 1;
	for (unsigned i = 0; i < sizeof(k[0].key); i++) {
		k[0].key[i] = (uint8_t)(i + salt);
		k[1].key[i] = (uint8_t)(3 * i + salt);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct rec_srtp_key k[2];
	uint32_t out;

	if (srtp == NULL) {
		fuzz_keys(k, 0);
		if ((srtp = rec_srtp_create(k, 2)) == NULL)
			abort();
	}
	if (n < 1 || n - 1 > sizeof(frame))
		return 0;
	if (d[0] >= 0xf0) { /* keys again: 0xf0 the same ones, others new */
		fuzz_keys(k, (uint8_t)(d[0] - 0xf0));
		rec_srtp_set(srtp, k, 2);
	}
	memcpy(frame, d + 1, n - 1);
	out = rec_srtp_frame(srtp, frame, (uint32_t)(n - 1));
	if (out > n - 1)
		abort(); /* never longer than received */
	return 0;
}
