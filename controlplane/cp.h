/* SPDX-License-Identifier: BSD-3-Clause
 * Control plane: programs the workers' flow tables through their command
 * rings, consumes their events, aggregates and prints counters. */
#ifndef RTPREC_CP_H
#define RTPREC_CP_H

#include <stdint.h>
#include <stdio.h>

#include "config/cfg.h"

struct dp_ctx;
struct rec_ctx;
struct cp_ctx;

struct cp_ctx *cp_create(const struct cfg *cfg, struct dp_ctx *dp, struct rec_ctx *rec);
void cp_free(struct cp_ctx *cp);

/* Open the recordings of the static flows (before the recorder starts). */
int cp_open_recordings(struct cp_ctx *cp);
/* Send FLOW_ADD for every static flow to every worker and wait for the
 * answers. 0, or -errno when a flow could not be programmed. */
int cp_program_static_flows(struct cp_ctx *cp);
/* Let the workers poll their ports (after the static flows are in). */
int cp_start_rx(struct cp_ctx *cp);

/* Take every pending event (neighbours learnt, idle flows, ...). */
void cp_poll(struct cp_ctx *cp);

/* Ask the workers for their flow counters (stop: and to leave their loop)
 * and wait until each has answered. 0 or -ETIMEDOUT. */
int cp_collect_stats(struct cp_ctx *cp, int stop);
/* JSON lines: ports, workers, flows, then stats_end with reason. */
void cp_print_stats(struct cp_ctx *cp, FILE *out, const char *reason);
/* mkdir -p; the directories it creates get mode (umask ignored). 0 or -errno. */
int cp_mkdir_p(const char *dir, unsigned mode);

/* Monotonic milliseconds. */
uint64_t cp_now_ms(void);

/* s as a JSON string, quotes included. */
void cp_json_str(FILE *out, const char *s);

/* The {"event":"ready"} line. */
void cp_print_ready(struct cp_ctx *cp, FILE *out);

#endif
