/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdlib.h>

#include "cp_portpool.h"

int cp_portpool_init(struct cp_portpool *pp, unsigned min, unsigned max,
		     int (*taken)(unsigned port, void *ctx), void *ctx)
{
	pp->cap = (max - min) / 2 + 1;
	pp->n_free = 0;
	pp->free = calloc(pp->cap, sizeof(*pp->free));
	if (pp->free == NULL)
		return -ENOMEM;
	/* lowest port on top of the stack */
	for (unsigned p = min + (pp->cap - 1) * 2;; p -= 2) {
		if (p + 1 <= max && !(taken && (taken(p, ctx) || taken(p + 1, ctx))))
			pp->free[pp->n_free++] = (uint16_t)p;
		if (p == min)
			break;
	}
	return 0;
}

void cp_portpool_fini(struct cp_portpool *pp)
{
	free(pp->free);
	pp->free = NULL;
	pp->n_free = 0;
}

uint16_t cp_portpool_get(struct cp_portpool *pp)
{
	return pp->n_free ? pp->free[--pp->n_free] : 0;
}

void cp_portpool_put(struct cp_portpool *pp, uint16_t port)
{
	if (port != 0 && pp->n_free < pp->cap)
		pp->free[pp->n_free++] = port;
}
