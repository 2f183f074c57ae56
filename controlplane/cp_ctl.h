/* SPDX-License-Identifier: BSD-3-Clause
 * Operator commands and Prometheus metrics of the control plane (cp_ctl.c,
 * cp_metrics.c); the sockets that carry them are app/'s. */
#ifndef RTPREC_CP_CTL_H
#define RTPREC_CP_CTL_H

#include <stdio.h>

#include "cp.h"
#include "cp_sip.h"

/* One command line (status, sessions, session ID, stop ID, stats, flows, nat, drain,
 * resume, nat-recheck, log-level LEVEL) answered as one JSON object with "ok" on out;
 * sip (may be NULL) gives the sip line of "stats". */
void cp_ctl_command(struct cp_ctx *cp, const struct cp_sip *sip, const char *line, FILE *out);
/* The Prometheus text exposition of everything below (sip may be NULL). */
void cp_metrics_write(struct cp_ctx *cp, const struct cp_sip *sip, FILE *out);

#endif
