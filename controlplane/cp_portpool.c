/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdlib.h>

#include "cp_portpool.h"

int cp_portpool_init(struct cp_portpool *pp, unsigned min, unsigned max,
		     int (*taken)(unsigned port, void *ctx), void *ctx)
{
	pp->cap = (max - min) / 2 + 1;
	pp->head = 0;
	pp->n_free = 0;
	pp->free = calloc(pp->cap, sizeof(*pp->free));
	if (pp->free == NULL)
		return -ENOMEM;
	for (unsigned p = min; p + 1 <= max && pp->n_free < pp->cap; p += 2) /* lowest first */
		if (!(taken && (taken(p, ctx) || taken(p + 1, ctx))))
			pp->free[pp->n_free++] = (uint16_t)p;
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
	uint16_t port;

	if (pp->n_free == 0)
		return 0;
	port = pp->free[pp->head];
	pp->head = pp->head + 1 == pp->cap ? 0 : pp->head + 1;
	pp->n_free--;
	return port;
}

uint16_t cp_portpool_get_if(struct cp_portpool *pp, int (*busy)(unsigned port, void *ctx),
			    void *ctx)
{
	for (unsigned n = pp->n_free; n > 0; n--) {
		uint16_t port = cp_portpool_get(pp);

		if (!busy(port, ctx))
			return port;
		cp_portpool_put(pp, port); /* to the back: tried again after the others */
	}
	return 0;
}

void cp_portpool_put(struct cp_portpool *pp, uint16_t port)
{
	if (port == 0 || pp->n_free >= pp->cap)
		return;
	pp->free[(pp->head + pp->n_free) % pp->cap] = port;
	pp->n_free++;
}
