/* SPDX-License-Identifier: BSD-3-Clause
 * cp_nat: the external address of the media path. Tries nat.sources in order
 * (static address, STUN through the dataplane with RFC 5780 behaviour tests, cloud
 * instance metadata, none), again every nat.recheck_s, and tells the session layer
 * which address its SDP answers carry. STUN leaves through a worker's TX-request ring
 * from the media address and nat.stun_port; answers come back on the punt rings. */
#ifndef RTPREC_CP_NAT_H
#define RTPREC_CP_NAT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct cp_ctx;
struct cp_nat;

/* NULL only without memory (or when the cloud client cannot be made). */
struct cp_nat *cp_nat_create(struct cp_ctx *cp);
void cp_nat_free(struct cp_nat *n);
/* First discovery (call once the workers run). */
void cp_nat_start(struct cp_nat *n, uint64_t now_ms);
/* Punted frames, retransmissions, lookups, the recheck timer. Never blocks. */
void cp_nat_poll(struct cp_nat *n, uint64_t now_ms);
/* Per-port discovery (behind an endpoint-independent NAT that moves port numbers):
 * does an answer need the public port of each media port? */
bool cp_nat_ports_remapped(const struct cp_nat *n);
/* Learn local_port's public port with a Binding from it; done(arg, local_port, public
 * port or 0 on failure) is called once, later. 0, or -1 (none started: no slot). */
typedef void (*cp_nat_port_fn)(void *arg, uint16_t local_port, uint16_t ext_port);
int cp_nat_map_port(struct cp_nat *n, uint16_t local_port, cp_nat_port_fn done, void *arg);
/* TURN relays (nat.turn, nat.relay): should a call's media go through one now? */
bool cp_nat_relay_wanted(const struct cp_nat *n);
/* Allocate a relay for our media port (addresses host order) and let peer (the SRC's
 * SDP address) in through a permission and a channel; done(arg, local_port, relayed
 * ip, port) is called once (0, 0 on failure). A handle (>= 0), or -1. */
typedef void (*cp_nat_relay_fn)(void *arg, uint16_t local_port, uint32_t relay_ip,
				uint16_t relay_port);
int cp_nat_relay_start(struct cp_nat *n, uint32_t local_ip, uint16_t local_port, uint32_t peer_ip,
		       uint16_t peer_port, cp_nat_relay_fn done, void *arg);
/* Send msg to a peer through relay handle (ChannelData on its channel, else a Send
 * indication; a permission for the peer's address is asked first when missing). 0, or
 * -1 (no such relay, not allocated, no room). */
int cp_nat_relay_send(struct cp_nat *n, int handle, uint32_t peer_ip, uint16_t peer_port,
		      const uint8_t *msg, size_t len);
/* Release it (done is not called any more). Its media port stays held (below) until the
 * server confirms the release, or gives no answer in time. */
void cp_nat_relay_stop(struct cp_nat *n, int handle);
/* Is local_ip's media port port (or port + 1, its RTCP) still held by a stopped relay
 * whose allocation may live on the server (ChannelData for it may still come)? */
bool cp_nat_relay_holds(const struct cp_nat *n, uint32_t local_ip, unsigned port);
/* A dataplane event about a relay's flow (true: taken). */
struct dp_msg;
bool cp_nat_relay_event(struct cp_nat *n, const struct dp_msg *m);
#define CP_NAT_RELAY_FLOW_BASE 0xF0000000u
/* Run the discovery again at the next poll (rtprecctl nat-recheck). */
void cp_nat_recheck(struct cp_nat *n);
/* Is a discovery running (no result yet)? */
bool cp_nat_busy(const struct cp_nat *n);
/* One JSON line: head (e.g. {"event":"stats","type":"nat"), then the fields. Also
 * printed on stdout as {"event":"nat",...} whenever a discovery ends. */
void cp_nat_print(const struct cp_nat *n, FILE *out, const char *head);

#endif
