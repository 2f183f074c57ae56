/* SPDX-License-Identifier: BSD-3-Clause
 * libFuzzer: cp_multipart_split. The first line of the input is the
 * Content-Type value (and, for cp_ctype_accepts_sdp, an Accept value), the
 * rest the body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/siprec/cp_multipart.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	const uint8_t *nl = memchr(d, '\n', n);
	size_t ctl = nl ? (size_t)(nl - d) : n;
	struct cp_part parts[CP_MAX_PARTS];
	const char *why = NULL;
	char base[64];
	char *ct = malloc(ctl + 1);
	size_t blen = nl ? n - ctl - 1 : 0;
	/* body in its own allocation so reads past it are caught */
	char *body = malloc(blen ? blen : 1);

	if (!ct || !body)
		goto out;
	memcpy(ct, d, ctl);
	ct[ctl] = '\0';
	if (blen)
		memcpy(body, nl + 1, blen);
	(void)cp_ctype_accepts_sdp(ct);
	int k = cp_multipart_split(ct, body, blen, parts, CP_MAX_PARTS, &why);
	if (k < 0 && !why)
		abort();
	for (int i = 0; i < k; i++) {
		if (parts[i].body < body || parts[i].body + parts[i].len > body + blen)
			abort();
		cp_ctype_base(parts[i].ctype, parts[i].ctype_len, base, sizeof(base));
		(void)cp_ctype_is_metadata(parts[i].ctype, parts[i].ctype_len);
	}
out:
	free(ct);
	free(body);
	return 0;
}
