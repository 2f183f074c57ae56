/* SPDX-License-Identifier: BSD-3-Clause
 * Even RTP ports (RTCP on the odd one above) for recording sessions. A queue: a port a
 * call gives back is taken again only after every other free port was, so the late
 * packets of an ended call (an SRC that goes on sending for a while after its BYE) do
 * not land in the next call's recording. */
#ifndef RTPREC_CP_PORTPOOL_H
#define RTPREC_CP_PORTPOOL_H

#include <stdint.h>

struct cp_portpool {
	uint16_t *free; /* ring of free even ports: n_free of them from head on */
	unsigned head;
	unsigned n_free;
	unsigned cap;
};

/* [min, max], min even; ports for which taken(port, ctx) is true are left out. */
int cp_portpool_init(struct cp_portpool *pp, unsigned min, unsigned max,
		     int (*taken)(unsigned port, void *ctx), void *ctx);
void cp_portpool_fini(struct cp_portpool *pp);
/* The free port given back longest ago (at first the lowest), or 0 when none is left. */
uint16_t cp_portpool_get(struct cp_portpool *pp);
/* The same, passing over the ports busy(port, ctx) refuses (they go to the back of the
 * queue); 0 when every free port is busy or none is left. */
uint16_t cp_portpool_get_if(struct cp_portpool *pp, int (*busy)(unsigned port, void *ctx),
			    void *ctx);
void cp_portpool_put(struct cp_portpool *pp, uint16_t port);

#endif
