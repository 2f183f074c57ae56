/* SPDX-License-Identifier: BSD-3-Clause
 * SIPREC recording sessions: the application behind the SIP layer. Each
 * call gets RTP (and RTCP unless rtcp-mux) flows per stream on every
 * worker, a recording directory, metadata.xml and session.json. */
#ifndef RTPREC_CP_SESSION_H
#define RTPREC_CP_SESSION_H

#include <stdbool.h>
#include <stdio.h>

#include "cp.h"
#include "cp_sip.h"

struct dp_msg;

/* Flow ids at or above this belong to sessions. */
#define CP_SESS_FLOW_BASE 0x40000000u

int cp_sessions_create(struct cp_ctx *cp);
void cp_sessions_free(struct cp_ctx *cp);
/* The callbacks to hand to cp_sip_create. */
const struct cp_sip_app *cp_sessions_app(struct cp_ctx *cp);
/* Once a second: media timeouts. */
void cp_sessions_tick(struct cp_ctx *cp);
/* End every session (BYE sent, files finalised); waits at most timeout_ms. */
void cp_sessions_shutdown(struct cp_ctx *cp, unsigned timeout_ms);
/* A dataplane event about a session flow; false if not one. */
bool cp_sessions_event(struct cp_ctx *cp, const struct dp_msg *m);
unsigned cp_sessions_active(const struct cp_ctx *cp);
/* Whether ip:port (host order) is a media address and port that sessions (their pool,
 * RTCP above it, NAT discovery) may take. */
bool cp_sessions_port_owned(const struct cp_ctx *cp, uint32_t ip, unsigned port);
/* Refuse new calls with 503 from now on (shutdown.drain_s). */
void cp_sessions_drain(struct cp_ctx *cp);
/* The address new SDP answers carry instead of the local one (host order; 0: the
 * local one), from cp_nat. */
void cp_sess_set_external(struct cp_ctx *cp, uint32_t ip);
/* A STUN datagram punted to a media port (addresses host order; via_relay: it came from
 * the peer through the port's TURN relay): true when a call's ICE agent took it. */
bool cp_sessions_ice_input(struct cp_ctx *cp, uint32_t dst_ip, uint16_t dst_port, uint32_t src_ip,
			   uint16_t src_port, const uint8_t *msg, size_t len, bool via_relay);
/* ICE checks, retransmissions and consent as due (every loop; cheap when nothing is). */
void cp_sessions_ice_poll(struct cp_ctx *cp, uint64_t now_ms);
/* {"event":"stats","type":"ice",...}: agents, outcomes, checks. */
void cp_sessions_ice_print(const struct cp_ctx *cp, FILE *out);
/* {"event":"stats","type":"sessions",...}: active, total, refused by code. */
void cp_sessions_print(const struct cp_ctx *cp, FILE *out);

#endif
