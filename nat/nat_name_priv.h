/* SPDX-License-Identifier: BSD-3-Clause
 * Stable names of enum values for logs and metrics, shared by nat/ files:
 * NAT_NAME_OF(table, value) with a designated-initialiser table of
 * strings gives "unknown" for a value outside it or without a name. */
#ifndef RTPREC_NAT_NAME_PRIV_H
#define RTPREC_NAT_NAME_PRIV_H

#include <stddef.h>

static inline const char *nat_name_of(const char *const *names, size_t n, unsigned i)
{
	return i < n && names[i] ? names[i] : "unknown";
}

#define NAT_NAME_OF(names, i) nat_name_of(names, sizeof(names) / sizeof(names[0]), (unsigned)(i))

#endif
