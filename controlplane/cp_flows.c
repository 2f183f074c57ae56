/* SPDX-License-Identifier: BSD-3-Clause
 * The control plane's context, and the workers' command rings: sending with
 * a bound, and letting the workers poll their ports once the static flows are in. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_byteorder.h>

#include "config/cfg_log.h"
#include "cp_priv.h"

#define CP_SEND_TIMEOUT_MS 5000

uint64_t cp_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct cp_ctx *cp_create(const struct cfg *cfg, struct dp_ctx *dp, struct rec_ctx *rec)
{
	struct cp_ctx *cp = calloc(1, sizeof(*cp));

	if (cp == NULL)
		return NULL;
	cp->cfg = cfg;
	cp->dp = dp;
	cp->rec = rec;
	cp->start_ms = cp_now_ms();
	cp->nat = cp_nat_create(cp);
	if (cp_static_init(&cp->st, cfg) != 0 || cp->nat == NULL) {
		cp_free(cp);
		return NULL;
	}
	return cp;
}

void cp_free(struct cp_ctx *cp)
{
	if (cp == NULL)
		return;
	cp_nat_free(cp->nat);
	cp_static_fini(&cp->st);
	free(cp);
}

int cp_send(struct cp_ctx *cp, unsigned worker, const struct dp_msg *m)
{
	struct rte_ring *r = dp_cmd_ring(cp->dp, worker);
	uint64_t deadline = 0;

	while (dp_msg_send(r, m) != 0) {
		uint64_t now = cp_now_ms();
		if (deadline == 0)
			deadline = now + CP_SEND_TIMEOUT_MS;
		else if (now > deadline)
			return -ETIMEDOUT;
		cp_poll(cp); /* the worker may be waiting for room on its event ring */
		usleep(50);
	}
	cp_ring_note(&cp->high[worker].cmd, r);
	return 0;
}

int cp_start_rx(struct cp_ctx *cp)
{
	struct dp_msg m;

	memset(&m, 0, sizeof(m));
	m.type = DP_CMD_RX_START;
	for (unsigned w = 0; w < dp_worker_count(cp->dp); w++)
		if (cp_send(cp, w, &m) != 0)
			return -ETIMEDOUT;
	cp_nat_start(cp->nat, cp_now_ms());
	return 0;
}
