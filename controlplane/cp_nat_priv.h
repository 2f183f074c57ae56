/* SPDX-License-Identifier: BSD-3-Clause
 * cp_nat internals shared by the discovery logic and its frame I/O. */
#ifndef RTPREC_CP_NAT_PRIV_H
#define RTPREC_CP_NAT_PRIV_H

#include "cp_nat.h"
#include "cp_priv.h"
#include "nat/nat_behav.h"
#include "nat/nat_bind.h"

enum cp_nat_phase { CP_NAT_IDLE = 0, CP_NAT_STUN, CP_NAT_CLOUD };

#define CP_NAT_PORT_TXNS 256 /* per-port discoveries at once */
#define CP_NAT_RELAYS 4096   /* TURN allocations at once */
struct cp_relay;
struct cp_nat_port_txn {
	struct nat_bind b;
	uint16_t local_port;
	bool used;
	cp_nat_port_fn done;
	void *arg;
};

struct cp_nat {
	struct cp_ctx *cp;
	const struct cfg_nat *cfg;
	enum cp_nat_phase phase;
	unsigned src_idx;            /* source being tried, index in cfg->source_order */
	uint64_t next_check_ms;      /* recheck; UINT64_MAX: never */
	uint64_t now_ms;             /* of the current poll */
	struct nat_behav behav;      /* STUN with nat.behaviour yes */
	struct nat_bind bind;        /* STUN with nat.behaviour no */
	struct nat_cloud *cloud;     /* NULL unless "cloud" is a source */
	uint32_t local_ip;           /* host order: the media address STUN leaves from */
	/* what is known */
	bool ext_known;
	bool published;              /* this run gave an address already */
	uint32_t ext_ip;             /* host order */
	uint16_t ext_port;           /* STUN: the mapping of local_ip:stun_port, else 0 */
	enum cfg_nat_source ext_source;
	enum nat_mapping mapping;
	enum nat_filtering filtering;
	/* counters */
	uint64_t checks, changes, failures;
	uint64_t stun_in, stun_unmatched, tx_dropped;
	uint64_t port_lookups, port_failures;
	struct cp_nat_port_txn ports[CP_NAT_PORT_TXNS];
	struct cp_relay *relays[CP_NAT_RELAYS];
	uint64_t relays_started, relays_failed, relay_failovers, relay_packets, relay_bytes;
	uint64_t relays_lost;      /* allocated, then lost (also in relays_failed) */
	uint64_t relays_recovered; /* lost, then allocated again */
	unsigned relays_releasing; /* stopped, their release not confirmed yet */
};

/* cp_nat_io.c: STUN frames through the dataplane. */
void cp_nat_send(void *arg, uint32_t dst_ip, uint16_t dst_port, const uint8_t *msg, size_t len);
/* Take the workers' punted frames and hand STUN to the running discovery. */
void cp_nat_drain(struct cp_nat *n);
/* cp_nat_ports.c: an answer to a per-port Binding (true if it was one); timers. */
struct nat_stun_msg;
bool cp_nat_ports_input(struct cp_nat *n, uint16_t dst_port, const struct nat_stun_msg *m);
void cp_nat_ports_tick(struct cp_nat *n);
/* cp_nat_relay.c: STUN from the TURN server (true if a relay took it); timers; free all. */
bool cp_nat_relay_input(struct cp_nat *n, uint32_t src_ip, uint16_t src_port, uint16_t dst_port,
			const uint8_t *msg, size_t len);
void cp_nat_relays_tick(struct cp_nat *n);
void cp_nat_relays_free(struct cp_nat *n);

#endif
