/* SPDX-License-Identifier: BSD-3-Clause
 * Operator interfaces served on the control-plane thread (app_ops.c): Prometheus
 * metrics over HTTP, the rtprecctl control socket, DPDK telemetry commands. */
#ifndef RTPREC_APP_OPS_H
#define RTPREC_APP_OPS_H

#include "config/cfg.h"
#include "controlplane/cp.h"
#include "controlplane/cp_sip.h"

struct app_ops;
/* Applies what a reload can change; NULL when done, else why not (a static string).
 * Done: what changed goes to out as JSON members (",\"key\":value..."). */
typedef const char *(*app_ops_reload_fn)(void *arg, FILE *out);

/* Listeners from metrics.listen and control.socket (a failure is logged, not fatal).
 * NULL only without memory. */
struct app_ops *app_ops_create(const struct cfg *cfg, app_ops_reload_fn reload, void *arg);
void app_ops_free(struct app_ops *o);
/* Accept, read, answer: never waits on a client (answers are written with a 1 s bound). */
void app_ops_poll(struct app_ops *o, struct cp_ctx *cp, const struct cp_sip *sip);
/* Register /rtprec/status, stats, sessions, session, flows, nat (after rte_eal_init). */
void app_ops_telemetry(void);

#endif
