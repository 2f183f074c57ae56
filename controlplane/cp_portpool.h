/* SPDX-License-Identifier: BSD-3-Clause
 * Even RTP ports (RTCP on the odd one above) for recording sessions. */
#ifndef RTPREC_CP_PORTPOOL_H
#define RTPREC_CP_PORTPOOL_H

#include <stdint.h>

struct cp_portpool {
	uint16_t *free; /* stack of free even ports */
	unsigned n_free;
	unsigned cap;
};

/* [min, max], min even; ports for which taken(port, ctx) is true are left out. */
int cp_portpool_init(struct cp_portpool *pp, unsigned min, unsigned max,
		     int (*taken)(unsigned port, void *ctx), void *ctx);
void cp_portpool_fini(struct cp_portpool *pp);
/* An even port, or 0 when none is left. */
uint16_t cp_portpool_get(struct cp_portpool *pp);
void cp_portpool_put(struct cp_portpool *pp, uint16_t port);

#endif
