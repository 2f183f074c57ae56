/* SPDX-License-Identifier: BSD-3-Clause
 * The one contract between the control plane and the dataplane workers:
 * fixed-size messages on SP/SC rte_rings (command ring per worker, event ring
 * per worker) and the record-ring item handed to the recorder.
 * All addresses and ports in these messages are in network byte order.
 */
#ifndef RTPREC_DP_CONTRACT_H
#define RTPREC_DP_CONTRACT_H

#include <stdint.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

struct rte_mbuf;

/* Flow key: exact 5-tuple (proto is always UDP). src_ip == 0 && src_port == 0
 * means "any source": the worker looks exact keys up first, then the
 * wildcard-source key. 16 bytes so rte_hash uses its fast compare. */
struct dp_flow_key {
	uint32_t src_ip;
	uint32_t dst_ip;
	uint16_t src_port;
	uint16_t dst_port;
	uint32_t pad; /* always 0 */
};

#define DP_ACT_RECORD  (1u << 0)
#define DP_ACT_FORWARD (1u << 1)
#define DP_ACT_DROP    (1u << 2)
/* A TURN relay's traffic to one of our ports (key: exact relay address -> ours):
 * ChannelData on a channel given by DP_CMD_TURN_CHANNEL is unwrapped into the peer's
 * datagram, which then goes through the flow table as if the peer had sent it (the
 * TURN flow counts the relayed packets and bytes); Data indications are unwrapped the
 * same way; STUN from the relay is punted like all STUN, and so is STUN a peer sent
 * through the relay (ICE checks to a relayed candidate), unwrapped and marked
 * DP_PUNT_VIA_RELAY; anything else is dropped (turn_bad). */
#define DP_ACT_TURN    (1u << 3)

#define DP_REC_NONE UINT32_MAX

/* dp_flow_spec.flags */
/* Latch: report the source of the first plausible RTP packet (version 2, not RTCP) in
 * DP_EV_FLOW_LATCHED; from then on packets from another source are dropped
 * (latch_other) until one source has sent relatch_pkts packets in a row, which is
 * then latched instead (DP_EV_FLOW_LATCHED with relatched = 1). relatch_pkts 0: the
 * first source stays. */
#define DP_FLOW_F_LATCH (1u << 0)

/* What a flow does; carried by FLOW_ADD and FLOW_UPDATE. */
struct dp_flow_spec {
	struct dp_flow_key key;
	uint32_t flow_id;     /* control plane's id, echoed in events */
	uint32_t rec_id;      /* recorder stream id, DP_REC_NONE if not recording */
	uint8_t actions;      /* DP_ACT_* */
	uint8_t out_port;     /* dataplane port index for FORWARD */
	uint8_t has_nexthop_mac;
	uint8_t flags;        /* DP_FLOW_F_* */
	uint32_t fwd_src_ip;
	uint32_t fwd_dst_ip;
	uint16_t fwd_src_port;
	uint16_t fwd_dst_port;
	uint32_t nexthop_ip;  /* where the frame goes at L2: fwd_dst_ip or the gateway */
	uint8_t nexthop_mac[6];
	uint16_t idle_s;      /* DP_EV_FLOW_IDLE after this long without packets; 0 = never */
	uint32_t clock_rate;  /* RTP clock rate for jitter */
	uint16_t relatch_pkts; /* DP_FLOW_F_LATCH: see above */
	uint16_t pad2;
};

/* One flow's counters as a worker saw them. */
struct dp_flow_stats {
	uint32_t flow_id;
	uint32_t jitter;       /* RFC 3550 A.8 interarrival jitter, timestamp units */
	uint64_t packets;
	uint64_t bytes;
	uint64_t rtp_received; /* RFC 3550 A.1 "received" */
	uint64_t rtp_expected; /* RFC 3550 A.1 extended_max - base_seq + 1 */
	int64_t rtp_lost;      /* expected - received (may be < 0 with duplicates) */
	uint64_t rtp_reordered;
	uint64_t rtp_duplicate;
	uint64_t record_drops; /* copies the recorder could not take */
	uint64_t last_tsc;     /* TSC of the last packet, 0 if none */
	uint32_t final;        /* 1: sent as the flow is deleted */
	uint32_t rtcp_packets; /* RTCP seen on the flow (rtcp-mux): in packets, not in rtp_* */
};

enum dp_cmd_type {
	DP_CMD_FLOW_ADD = 1, /* u.spec; answered by DP_EV_FLOW_ADDED / _FAILED */
	DP_CMD_FLOW_DEL,     /* u.del; answered by the final DP_EV_FLOW_STATS, then DP_EV_FLOW_DELETED;
			      * the key's flow must have u.del.flow_id (else kept, -ENOENT) */
	DP_CMD_FLOW_UPDATE,  /* u.spec; replaces actions, keeps counters */
	DP_CMD_NEIGH_SET,    /* u.neigh; next hop resolved */
	DP_CMD_STATS_DUMP,   /* u.dump; one DP_EV_FLOW_STATS per flow, then DP_EV_DUMP_DONE */
	DP_CMD_STOP,         /* like STATS_DUMP, then flush and leave the loop: DP_EV_STOPPED */
	DP_CMD_RX_START,     /* start polling the ports (sent once the static flows are in) */
	DP_CMD_TURN_CHANNEL, /* u.chan: bind (peer_ip != 0) or free a channel of a TURN flow */
};

enum dp_ev_type {
	DP_EV_FLOW_ADDED = 1, /* u.result */
	DP_EV_FLOW_ADD_FAILED,/* u.result (err = -errno) */
	DP_EV_FLOW_DELETED,   /* u.result */
	DP_EV_FLOW_STATS,     /* u.stats */
	DP_EV_FLOW_IDLE,      /* u.stats: flow saw no packet for the idle time */
	DP_EV_DUMP_DONE,      /* u.dump */
	DP_EV_NEIGH_LEARNED,  /* u.neigh */
	DP_EV_STOPPED,        /* u.dump */
	DP_EV_FLOW_LATCHED,   /* u.latch: first packet of a DP_FLOW_F_LATCH flow */
	DP_EV_FLOW_ACTIVE,    /* u.result: packets again after DP_EV_FLOW_IDLE */
};

struct dp_msg {
	uint16_t type;   /* dp_cmd_type or dp_ev_type */
	uint16_t worker; /* sender worker index for events */
	uint32_t seq;
	union {
		struct dp_flow_spec spec;
		struct {
			struct dp_flow_key key;
			uint32_t flow_id;
		} del;
		struct {
			uint32_t flow_id;
			int32_t err;
		} result;
		struct {
			uint32_t ip;
			uint8_t port;
			uint8_t mac[6];
			uint8_t pad;
		} neigh;
		struct {
			uint32_t req_id;
		} dump;
		struct {
			struct dp_flow_key key; /* the TURN flow */
			uint32_t peer_ip;       /* network order; 0 frees the channel */
			uint16_t peer_port;     /* network order */
			uint16_t channel;       /* host order, 0x4000..0x4FFF */
		} chan;
		struct {
			uint32_t flow_id;
			uint32_t src_ip;  /* network order */
			uint16_t src_port;
			uint16_t relatched; /* 1: a new source replaced the latched one */
		} latch;
		struct dp_flow_stats stats;
	} u;
};

#define DP_MSG_SIZE 128
_Static_assert(sizeof(struct dp_msg) <= DP_MSG_SIZE, "dp_msg grew past its ring slot");
_Static_assert(sizeof(struct dp_flow_key) == 16, "flow key must stay 16 bytes");

/* Ring slot: messages travel by value. */
struct dp_msg_slot {
	struct dp_msg m;
	uint8_t pad[DP_MSG_SIZE - sizeof(struct dp_msg)];
};

static inline struct rte_ring *dp_msg_ring_create(const char *name, unsigned count, int socket)
{
	return rte_ring_create_elem(name, DP_MSG_SIZE, count, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
}

/* 0, or -ENOBUFS when the ring is full (the sender retries or refuses). */
static inline int dp_msg_send(struct rte_ring *r, const struct dp_msg *m)
{
	struct dp_msg_slot s;
	s.m = *m;
	return rte_ring_sp_enqueue_elem(r, &s, DP_MSG_SIZE);
}

/* 1 if a message was taken into *m, 0 if the ring was empty. */
static inline int dp_msg_recv(struct rte_ring *r, struct dp_msg *m)
{
	struct dp_msg_slot s;
	if (rte_ring_sc_dequeue_elem(r, &s, DP_MSG_SIZE) != 0)
		return 0;
	*m = s.m;
	return 1;
}

/* Record ring item: worker -> recorder. The mbuf holds the frame exactly as
 * received, or, with DP_REC_F_SAVED, a frame that is also being forwarded: the
 * worker took a reference (the forward path and the recorder each free it) and
 * rewrote its first bytes, which it saved as received in the mbuf's private area
 * (struct dp_rec_saved, in every pool the dataplane makes) before the rewrite; the
 * bytes after them are the same, where they were when received. A frame it could not share so (chained, or longer
 * headers) is a copy. The recorder frees the mbuf.
 * Each worker has one record ring per recorder thread; an item goes to the
 * ring of thread dp_rec_thread(rec_id, threads), the only thread that writes
 * that stream, so every ring stays single-producer, single-consumer. */
struct dp_rec_item {
	struct rte_mbuf *m;
	uint64_t tsc;    /* receive time (TSC of the rx burst) */
	uint32_t rec_id;
	uint32_t flags;  /* DP_REC_F_* */
};
#define DP_REC_F_SAVED 1u

#define DP_REC_SAVED_MAX 96 /* Ethernet, VLAN, IPv4 with options, UDP */
struct dp_rec_saved {
	uint8_t len;       /* frame bytes saved in hdr */
	uint8_t pad;
	uint16_t data_off; /* where the frame started in the buffer, and its length, as */
	uint32_t pkt_len;  /* received (a VLAN tag put in or taken out moves the start) */
	uint8_t hdr[DP_REC_SAVED_MAX];
};
#define DP_REC_ITEM_SIZE ((unsigned)sizeof(struct dp_rec_item))
_Static_assert(sizeof(struct dp_rec_item) % 4 == 0, "ring element size must be a multiple of 4");

/* Punt ring (worker -> control plane, one per worker, SP/SC, mbuf pointers): frames
 * for the slow path, today STUN (RFC 8489: first two bits 0, magic cookie) sent to one
 * of the dataplane's own addresses, whatever the port: binding responses for discovery
 * and ICE connectivity checks. m->port is the dataplane port index the frame came in
 * on (not the DPDK port id); m->hash.usr is DP_PUNT_VIA_RELAY for a peer's STUN that
 * came through a TURN relay (unwrapped: its source is the peer), else 0; the control
 * plane frees the mbuf.
 *
 * TX-request ring (control plane -> worker, one per worker, SP/SC, mbuf pointers):
 * frames the control plane sends from a media address through the dataplane, so that
 * NAT mappings it discovers are the media's (STUN requests, keepalives). The mbuf holds
 * an IPv4/UDP packet (checksums set) after DP_TXREQ_L2 bytes the worker fills in with
 * the MACs of the next hop (the destination on the port's subnet, else the port's
 * gateway; ARP as for forwarded frames); m->port is the dataplane port index to send on.
 * The worker frees what it cannot send and counts it (txreq_bad). Mbufs come from
 * dp_txreq_pool(). */
#define DP_PUNT_RING 1024
#define DP_PUNT_VIA_RELAY 0x52454c59u /* "RELY" */
#define DP_TXREQ_RING 1024
#define DP_TXREQ_L2 14

/* Does this UDP payload look like a STUN message (RFC 8489 section 5)? */
static inline int dp_is_stun(const uint8_t *u, uint32_t len)
{
	return len >= 20 && (u[0] & 0xC0) == 0 && u[4] == 0x21 && u[5] == 0x12 &&
	       u[6] == 0xA4 && u[7] == 0x42;
}

/* The recorder thread (and so the record ring) of stream rec_id. */
static inline unsigned dp_rec_thread(uint32_t rec_id, unsigned threads)
{
	return threads > 1 ? rec_id % threads : 0;
}

#endif
