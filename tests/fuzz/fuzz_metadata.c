/* SPDX-License-Identifier: BSD-3-Clause
 * libFuzzer: cp_metadata_parse, then a merge into a parsed snapshot; the vendor
 * extension blocks, which must come out of a document that parses. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/siprec/cp_metadata.h"

static struct cp_metadata md, acc;

static void ext_check(void *arg, const char *xml, size_t len)
{
	(void)arg;
	if (len == 0 || xml[0] != '<')
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	const char *why = NULL;

	if (cp_metadata_parse((const char *)d, n, &md, &why) != 0) {
		if (!why)
			abort();
		return 0;
	}
	for (unsigned i = 0; i < md.n_streams; i++)
		if (cp_metadata_stream_by_label(&md, md.streams[i].label) == NULL &&
		    md.streams[i].label[0])
			abort();
	if (md.n_participants > CP_MD_MAX || md.n_streams > CP_MD_MAX || md.n_assocs > CP_MD_MAX)
		abort();
	if (cp_metadata_extensions((const char *)d, n, ext_check, NULL) < 0)
		abort(); /* it parsed above */
	cp_metadata_merge(&acc, &md);
	if (acc.n_participants > CP_MD_MAX || acc.n_streams > CP_MD_MAX)
		abort();
	if (acc.n_streams > 0)
		(void)cp_metadata_sender(&acc, acc.streams[0].id);
	if (acc.n_participants == CP_MD_MAX)
		memset(&acc, 0, sizeof(acc));
	return 0;
}
