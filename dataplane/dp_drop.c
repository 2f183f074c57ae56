/* SPDX-License-Identifier: BSD-3-Clause
 * Drop reason names, generated from the X-macro in dp_drop.h. */
#include "dp_drop.h"

static const char *const dp_drop_names[DP_DROP_MAX] = {
#define DP_DROP_NAME(sym, name) [DP_DROP_##sym] = name,
	DP_DROP_REASONS(DP_DROP_NAME)
#undef DP_DROP_NAME
};

const char *dp_drop_name(enum dp_drop d)
{
	if ((unsigned)d >= DP_DROP_MAX)
		return "unknown";
	return dp_drop_names[d];
}
