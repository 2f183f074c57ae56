/* SPDX-License-Identifier: BSD-3-Clause
 * libFuzzer: cp_sdp_parse_offer, then build an answer and parse it back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/siprec/cp_sdp.h"

static struct cp_sdp_offer o, o2;
static char out[16384];

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	uint16_t ports[CP_SDP_MAX_STREAMS];
	enum cp_sdp_dir dirs[CP_SDP_MAX_STREAMS];
	const char *why = NULL;

	if (cp_sdp_parse_offer((const char *)d, n, &o, &why) != 0) {
		if (!why)
			abort();
		return 0;
	}
	for (unsigned i = 0; i < CP_SDP_MAX_STREAMS; i++) {
		ports[i] = (uint16_t)(20000 + 2 * i);
		dirs[i] = (i & 1) ? CP_SDP_INACTIVE : CP_SDP_RECVONLY;
	}
	int len = cp_sdp_build_answer(&o, 0x0a000001, ports, dirs, 1, 2, out, sizeof(out));
	if (len < 0 || (size_t)len != strlen(out))
		abort();
	/* only CRLF line ends, no other control characters */
	for (int i = 0; i < len; i++)
		if (((unsigned char)out[i] < 0x20 && out[i] != '\r' && out[i] != '\n') ||
		    (out[i] == '\r' && out[i + 1] != '\n') ||
		    (out[i] == '\n' && (i == 0 || out[i - 1] != '\r')))
			abort();
	/* a small buffer must fail cleanly */
	(void)cp_sdp_build_answer(&o, 0x0a000001, ports, dirs, 1, 2, out, (size_t)len / 2 + 1);
	len = cp_sdp_build_answer(&o, 0x0a000001, ports, dirs, 1, 2, out, sizeof(out));
	/* our own answer must parse back with the same stream count
	 * (labels with odd characters may legitimately differ) */
	if (cp_sdp_parse_offer(out, (size_t)len, &o2, &why) == 0 && o2.n_streams != o.n_streams)
		abort();
	return 0;
}
