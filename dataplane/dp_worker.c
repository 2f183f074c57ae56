/* SPDX-License-Identifier: BSD-3-Clause
 * Worker loop: rx burst -> parse -> bulk flow lookup -> RTP stats ->
 * record / forward / drop; commands from the control plane on the drain tick. */
#include <errno.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_prefetch.h>

#include "dp_priv.h"
#include "dp_rewrite.h"

#define DP_PREFETCH_AHEAD 4
#define DP_CMDS_PER_TICK 64
#define DP_DUMP_PER_TICK 256
#define DP_IDLE_SCAN_PER_TICK 64

int dp_worker_event(struct dp_worker *w, struct dp_msg *m)
{
	m->worker = (uint16_t)w->idx;
	m->seq = w->ev_seq++;
	if (dp_msg_send(w->ev, m) != 0) {
		w->c.drops[0][DP_DROP_EVENT_RING_FULL]++;
		return -ENOBUFS;
	}
	return 0;
}

static void dp_flow_stats_fill(const struct dp_flow *f, struct dp_flow_stats *s)
{
	s->flow_id = f->spec.flow_id;
	s->packets = f->packets;
	s->bytes = f->bytes;
	s->rtp_received = f->rtp.received;
	s->rtp_expected = dp_rtp_expected(&f->rtp);
	s->rtp_lost = dp_rtp_lost(&f->rtp);
	s->jitter = dp_rtp_jitter(&f->rtp);
	s->rtp_reordered = f->rtp.reordered;
	s->rtp_duplicate = f->rtp.duplicate;
	s->rtcp_packets = f->rtp.rtcp;
	s->record_drops = f->record_drops;
	s->last_tsc = f->last_tsc;
}

static void dp_reply(struct dp_worker *w, uint16_t type, uint32_t flow_id, int32_t err)
{
	struct dp_msg ev = {.type = type};

	ev.u.result.flow_id = flow_id;
	ev.u.result.err = err;
	dp_worker_event(w, &ev);
}

static void dp_cmd_flow_add(struct dp_worker *w, const struct dp_flow_spec *spec, bool update)
{
	int replaced = 0, err = 0, nidx = 0;
	struct dp_flow *f;

	if ((spec->actions & DP_ACT_FORWARD) && spec->out_port >= w->dp->n_ports) {
		dp_reply(w, DP_EV_FLOW_ADD_FAILED, spec->flow_id, -EINVAL);
		return;
	}
	if (spec->actions & DP_ACT_FORWARD) {
		nidx = dp_neigh_get(w, spec->out_port, spec->nexthop_ip);
		if (nidx < 0) {
			dp_reply(w, DP_EV_FLOW_ADD_FAILED, spec->flow_id, nidx);
			return;
		}
		if (spec->has_nexthop_mac)
			dp_neigh_set(w, spec->out_port, spec->nexthop_ip, spec->nexthop_mac, false);
	}
	f = dp_ft_add(w->ft, &spec->key, &replaced, &err);
	if (f == NULL) {
		dp_reply(w, DP_EV_FLOW_ADD_FAILED, spec->flow_id, err);
		return;
	}
	if (spec->actions & DP_ACT_FORWARD)
		dp_neigh_ref(w, (uint32_t)nidx, 1);
	if (replaced && (f->actions & DP_ACT_FORWARD))
		dp_neigh_ref(w, f->neigh_idx, -1); /* the flow it replaces */
	if (!replaced || !update) {
		/* a fresh flow (or an ADD over an old one) starts from zero */
		memset(f, 0, sizeof(*f));
		f->in_use = 1;
		dp_rtp_init(&f->rtp);
	}
	f->spec = *spec;
	f->actions = spec->actions;
	f->out_port = spec->out_port;
	f->fwd_src_ip = spec->fwd_src_ip;
	f->fwd_dst_ip = spec->fwd_dst_ip;
	f->fwd_src_port = spec->fwd_src_port;
	f->fwd_dst_port = spec->fwd_dst_port;
	f->rec_id = spec->rec_id;
	f->neigh_idx = (uint32_t)nidx;
	f->idle_tsc = w->tsc_hz * spec->idle_s;
	/* latch on the next RTP packet: a new flow, or an update (a new offer may move the
	 * SRC's media, so the lock is lifted until the next packet) */
	if (spec->flags & DP_FLOW_F_LATCH)
		f->flags |= DP_FLOWX_LATCH;
	f->clock_mult = dp_rtp_clock_mult(spec->clock_rate ? spec->clock_rate : 8000, w->tsc_hz);
	dp_reply(w, DP_EV_FLOW_ADDED, spec->flow_id, 0);
}

/* The flow's last counters, then the answer. */
static void dp_cmd_flow_del(struct dp_worker *w, const struct dp_flow_key *key, uint32_t flow_id)
{
	struct dp_flow *f = dp_ft_find(w->ft, key);

	if (f != NULL && f->spec.flow_id != flow_id) { /* another flow took the key */
		dp_reply(w, DP_EV_FLOW_DELETED, flow_id, -ENOENT);
		return;
	}
	if (f != NULL) {
		struct dp_msg ev = {.type = DP_EV_FLOW_STATS};
		dp_flow_stats_fill(f, &ev.u.stats);
		ev.u.stats.final = 1;
		dp_worker_event(w, &ev);
		if (f->actions & DP_ACT_FORWARD)
			dp_neigh_ref(w, f->neigh_idx, -1);
	}
	dp_reply(w, DP_EV_FLOW_DELETED, flow_id, dp_ft_del(w->ft, key));
}

/* Bind or free one channel of a TURN flow; answered like a flow update. */
static void dp_cmd_turn_channel(struct dp_worker *w, const struct dp_msg *m)
{
	struct dp_flow *f = dp_ft_find(w->ft, &m->u.chan.key);
	struct dp_turn_chan *slot = NULL;

	if (f == NULL || !(f->actions & DP_ACT_TURN) || m->u.chan.channel < 0x4000 ||
	    m->u.chan.channel > 0x4FFF) {
		dp_reply(w, DP_EV_FLOW_ADD_FAILED, f ? f->spec.flow_id : 0, -EINVAL);
		return;
	}
	for (unsigned i = 0; i < DP_TURN_CHANNELS && slot == NULL; i++)
		if (f->chans[i].channel == m->u.chan.channel)
			slot = &f->chans[i];
	for (unsigned i = 0; i < DP_TURN_CHANNELS && slot == NULL; i++)
		if (f->chans[i].channel == 0)
			slot = &f->chans[i];
	if (slot == NULL) {
		dp_reply(w, DP_EV_FLOW_ADD_FAILED, f->spec.flow_id, -ENOSPC);
		return;
	}
	slot->channel = m->u.chan.peer_ip ? m->u.chan.channel : 0;
	slot->peer_ip = m->u.chan.peer_ip;
	slot->peer_port = m->u.chan.peer_port;
	dp_reply(w, DP_EV_FLOW_ADDED, f->spec.flow_id, 0);
}

static void dp_cmd_handle(struct dp_worker *w, const struct dp_msg *m)
{
	switch (m->type) {
	case DP_CMD_FLOW_ADD:
	case DP_CMD_FLOW_UPDATE:
		dp_cmd_flow_add(w, &m->u.spec, m->type == DP_CMD_FLOW_UPDATE);
		break;
	case DP_CMD_FLOW_DEL:
		dp_cmd_flow_del(w, &m->u.del.key, m->u.del.flow_id);
		break;
	case DP_CMD_RX_START:
		w->rx_enabled = true;
		break;
	case DP_CMD_TURN_CHANNEL:
		dp_cmd_turn_channel(w, m);
		break;
	case DP_CMD_NEIGH_SET:
		dp_neigh_set(w, m->u.neigh.port, m->u.neigh.ip, m->u.neigh.mac, true);
		break;
	case DP_CMD_STOP:
		w->stopping = true;
		/* a stop reports the final counters first */
		__attribute__((fallthrough));
	case DP_CMD_STATS_DUMP:
		w->dumping = true;
		w->dump_cursor = 0;
		w->dump_req = m->u.dump.req_id;
		break;
	default:
		break;
	}
}

/* Send stats for a slice of the table; finish with DUMP_DONE or STOPPED. */
static void dp_dump_step(struct dp_worker *w)
{
	uint32_t cap = dp_ft_capacity(w->ft);
	unsigned sent = 0;
	struct dp_msg ev;

	while (w->dump_cursor < cap && sent < DP_DUMP_PER_TICK) {
		struct dp_flow *f = dp_ft_slot(w->ft, w->dump_cursor);
		if (f != NULL) {
			memset(&ev, 0, sizeof(ev));
			ev.type = DP_EV_FLOW_STATS;
			dp_flow_stats_fill(f, &ev.u.stats);
			if (dp_msg_send(w->ev, &ev) != 0)
				return; /* ring full: resume on the next tick */
			sent++;
		}
		w->dump_cursor++;
	}
	if (w->dump_cursor < cap)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.type = w->stopping ? DP_EV_STOPPED : DP_EV_DUMP_DONE;
	ev.u.dump.req_id = w->dump_req;
	ev.worker = (uint16_t)w->idx;
	if (dp_msg_send(w->ev, &ev) != 0)
		return;
	w->dumping = false;
	if (w->stopping)
		w->stopped = true;
}

/* Report flows that went quiet, a slice per tick. */
static void dp_idle_step(struct dp_worker *w, uint64_t now)
{
	uint32_t cap = dp_ft_capacity(w->ft);

	for (unsigned i = 0; i < DP_IDLE_SCAN_PER_TICK; i++) {
		struct dp_flow *f;
		if (++w->idle_cursor >= cap)
			w->idle_cursor = 0;
		f = dp_ft_slot(w->ft, w->idle_cursor);
		if (f == NULL || f->idle_tsc == 0 || f->last_tsc == 0 ||
		    f->idle_reported_tsc == f->last_tsc || now - f->last_tsc < f->idle_tsc)
			continue;
		struct dp_msg ev = {.type = DP_EV_FLOW_IDLE};
		dp_flow_stats_fill(f, &ev.u.stats);
		if (dp_worker_event(w, &ev) == 0) {
			f->idle_reported_tsc = f->last_tsc;
			f->flags |= DP_FLOWX_IDLE;
		}
	}
}

static void dp_tick(struct dp_worker *w, uint64_t now)
{
	struct dp_msg m;

	for (unsigned p = 0; p < w->dp->n_ports; p++) {
		uint16_t n = rte_eth_tx_buffer_flush(w->dp->ports[p].port_id, w->queue, w->txb[p]);
		w->c.tx_packets += n;
		w->c.port_tx[p] += n;
	}
	for (unsigned i = 0; i < DP_CMDS_PER_TICK && !w->stopping && dp_msg_recv(w->cmd, &m); i++)
		dp_cmd_handle(w, &m);
	dp_txreq_drain(w);
	if (w->n_held != 0)
		dp_neigh_tick(w, now);
	if (w->dumping)
		dp_dump_step(w);
	else
		dp_idle_step(w, now);
}

/* A frame about to be forwarded, shared with the recorder: its headers (all the
 * rewrite touches) saved as received, a reference for the recorder. A copy cost
 * about 300 cycles a packet more (bench/README.md); this, a 42-byte copy into the
 * mbuf's own private area, and one atomic decrement of the reference count where
 * the first of the TX path and the recorder frees it. No TX queue may use
 * RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE, which ignores the reference count. */
static inline bool dp_record_share(struct rte_mbuf *m, const struct dp_parsed *p)
{
	uint32_t len = p->l4_off + 8u;
	struct dp_rec_saved *s;

	if (unlikely(len > DP_REC_SAVED_MAX || m->nb_segs != 1 || !RTE_MBUF_DIRECT(m) ||
		     rte_pktmbuf_priv_size(m->pool) < sizeof(*s)))
		return false;
	s = rte_mbuf_to_priv(m);
	s->len = (uint8_t)len;
	s->data_off = m->data_off;
	s->pkt_len = rte_pktmbuf_pkt_len(m);
	memcpy(s->hdr, rte_pktmbuf_mtod(m, const uint8_t *), len);
	rte_mbuf_refcnt_update(m, 1);
	return true;
}

/* Hand a frame to the recorder: the original when it is not forwarded, else
 * shared with the forward path (above) or, when it cannot be, a copy taken
 * before the rewrite. */
static inline void dp_record(struct dp_worker *w, struct dp_flow *f, struct rte_mbuf *m,
			     const struct dp_parsed *p, unsigned in_port, uint64_t now,
			     struct dp_rec_item *items, struct dp_flow **owners, unsigned *n_items,
			     bool fwd)
{
	struct rte_mbuf *r = m;
	uint32_t flags = 0;

	if (fwd) {
		if (likely(dp_record_share(m, p)))
			flags = DP_REC_F_SAVED;
		else
			r = rte_pktmbuf_copy(m, w->rec_pool, 0, UINT32_MAX);
		if (r == NULL) {
			w->c.drops[in_port][DP_DROP_RECORD_NO_MBUF]++;
			f->record_drops++;
			return;
		}
	}
	items[*n_items].m = r;
	items[*n_items].tsc = now;
	items[*n_items].rec_id = f->rec_id;
	items[*n_items].flags = flags;
	owners[*n_items] = f;
	(*n_items)++;
}

static void dp_record_enqueue(struct dp_worker *w, struct rte_ring *ring, unsigned in_port,
			      struct dp_rec_item *items, struct dp_flow **owners, unsigned n)
{
	unsigned room = 0;
	unsigned done = rte_ring_sp_enqueue_burst_elem(ring, items, DP_REC_ITEM_SIZE, n, &room);
	uint64_t used = rte_ring_get_capacity(ring) - room;

	if (unlikely(used > w->c.record_high))
		w->c.record_high = used;

	for (unsigned i = done; i < n; i++) {
		owners[i]->record_drops++;
		w->c.drops[in_port][DP_DROP_RECORD_RING_FULL]++;
		rte_pktmbuf_free(items[i].m);
	}
}

/* The burst's record items, each to the ring of the recorder thread that
 * owns its stream. */
static void dp_record_flush(struct dp_worker *w, unsigned in_port, struct dp_rec_item *items,
			    struct dp_flow **owners, unsigned n)
{
	struct dp_rec_item part[DP_MAX_BURST];
	struct dp_flow *part_owners[DP_MAX_BURST];

	if (n == 0)
		return;
	if (w->n_rec == 1) {
		dp_record_enqueue(w, w->rec[0], in_port, items, owners, n);
		return;
	}
	for (unsigned t = 0; t < w->n_rec; t++) {
		unsigned k = 0;
		for (unsigned i = 0; i < n; i++) {
			if (dp_rec_thread(items[i].rec_id, w->n_rec) != t)
				continue;
			part[k] = items[i];
			part_owners[k++] = owners[i];
		}
		if (k != 0)
			dp_record_enqueue(w, w->rec[t], in_port, part, part_owners, k);
	}
}

/* Lock the flow onto the packet's source and say so. */
static int dp_flow_latch(struct dp_worker *w, struct dp_flow *f, const struct dp_parsed *p,
			 uint16_t relatched)
{
	struct dp_msg ev;

	f->latched_ip = p->src_ip;
	f->latched_port = p->src_port;
	f->cand_count = 0;
	f->actions |= DP_ACTX_SRC;
	memset(&ev, 0, sizeof(ev));
	ev.type = DP_EV_FLOW_LATCHED;
	ev.u.latch.flow_id = f->spec.flow_id;
	ev.u.latch.src_ip = p->src_ip;
	ev.u.latch.src_port = p->src_port;
	ev.u.latch.relatched = relatched;
	return dp_worker_event(w, &ev);
}

/* A packet from another source than the latched one: true when that source has now
 * sent relatch_pkts in a row and is latched instead, false to drop the packet. */
static bool __attribute__((noinline)) dp_flow_other_src(struct dp_worker *w, struct dp_flow *f,
							const struct dp_parsed *p)
{
	if (f->cand_ip == p->src_ip && f->cand_port == p->src_port) {
		f->cand_count++;
	} else {
		f->cand_ip = p->src_ip;
		f->cand_port = p->src_port;
		f->cand_count = 1;
	}
	if (f->spec.relatch_pkts == 0 || f->cand_count < f->spec.relatch_pkts)
		return false;
	dp_flow_latch(w, f, p, 1);
	return true;
}

/* Rare per-flow work: the first packet's source, or packets after idle. */
static void __attribute__((noinline)) dp_flow_note(struct dp_worker *w, struct dp_flow *f,
						   const struct dp_parsed *p, const uint8_t *frame)
{
	struct dp_msg ev;

	if (f->flags & DP_FLOWX_LATCH) {
		/* not RTP yet (a keepalive, garbage): let it through, latch on a later one */
		if (dp_rtp_plausible(frame + p->l4_off + 8, p->l4_len - 8u) &&
		    dp_flow_latch(w, f, p, f->latched_ip != 0) == 0)
			f->flags &= (uint16_t)~DP_FLOWX_LATCH;
		return;
	}
	memset(&ev, 0, sizeof(ev));
	ev.type = DP_EV_FLOW_ACTIVE;
	ev.u.result.flow_id = f->spec.flow_id;
	if (dp_worker_event(w, &ev) == 0)
		f->flags &= (uint16_t)~DP_FLOWX_IDLE;
}

static void dp_turn_packet(struct dp_worker *w, struct dp_flow *f, struct rte_mbuf *m,
			   const struct dp_parsed *p, unsigned in_port, uint64_t now,
			   struct dp_rec_item *items, struct dp_flow **owners, unsigned *n_items);

static inline void dp_flow_packet(struct dp_worker *w, struct dp_flow *f, struct rte_mbuf *m,
				  const struct dp_parsed *p, unsigned in_port, uint64_t now,
				  struct dp_rec_item *items, struct dp_flow **owners,
				  unsigned *n_items)
{
	uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);

	/* one test for static flows; TURN relays and latched call media look closer */
	if (f->actions & (DP_ACT_TURN | DP_ACTX_SRC)) {
		if (unlikely(f->actions & DP_ACT_TURN)) {
			dp_turn_packet(w, f, m, p, in_port, now, items, owners, n_items);
			return;
		}
		if (p->src_ip == f->latched_ip && p->src_port == f->latched_port) {
			f->cand_count = 0; /* a re-latch needs packets in a row */
		} else if (!dp_flow_other_src(w, f, p)) {
			dp_drop_pkt(w, in_port, DP_DROP_LATCH_OTHER, m);
			return;
		}
	}
	if (unlikely(f->flags != 0))
		dp_flow_note(w, f, p, frame);
	f->packets++;
	f->bytes += rte_pktmbuf_pkt_len(m);
	f->last_tsc = now;
	dp_rtp_update(&f->rtp, frame + p->l4_off + 8, p->l4_len - 8u,
		      dp_rtp_arrival(now, f->clock_mult));

	if (unlikely(f->actions & DP_ACT_DROP)) {
		dp_drop_pkt(w, in_port, DP_DROP_FLOW_DROP, m);
		return;
	}
	if (f->actions & DP_ACT_RECORD) {
		bool fwd = (f->actions & DP_ACT_FORWARD) != 0;
		dp_record(w, f, m, p, in_port, now, items, owners, n_items, fwd);
		if (!fwd)
			return; /* the recorder owns m now */
	}
	if (f->actions & DP_ACT_FORWARD) {
		dp_rewrite_udp4(frame, p, f->fwd_src_ip, f->fwd_dst_ip, f->fwd_src_port,
				f->fwd_dst_port);
		dp_neigh_output(w, m, f->out_port, f->neigh_idx, in_port);
		return;
	}
	rte_pktmbuf_free(m);
}

/* ChannelData or a Data indication from a TURN relay: the peer's datagram goes on through
 * the flow table (its STUN to the control plane). */
static void __attribute__((noinline))
dp_turn_packet(struct dp_worker *w, struct dp_flow *f, struct rte_mbuf *m, const struct dp_parsed *p,
	       unsigned in_port, uint64_t now, struct dp_rec_item *items, struct dp_flow **owners,
	       unsigned *n_items)
{
	uint32_t shift = 0;
	uint32_t n = rte_pktmbuf_is_contiguous(m)
		? dp_turn_unwrap(rte_pktmbuf_mtod(m, uint8_t *), rte_pktmbuf_data_len(m), p, f->chans,
				 DP_TURN_CHANNELS, &shift) : 0;
	struct dp_parsed inner;
	struct dp_flow_key key;
	struct dp_flow *g = NULL;
	enum dp_drop why = DP_DROP_TURN_BAD;

	f->packets++;
	f->bytes += rte_pktmbuf_pkt_len(m);
	f->last_tsc = now;
	if (n == 0)
		goto drop;
	rte_pktmbuf_adj(m, (uint16_t)shift);
	rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_data_len(m) - n));
	if (dp_parse(rte_pktmbuf_mtod(m, const uint8_t *), n, &inner, &why) != DP_PKT_UDP4)
		goto drop;
	if (dp_is_stun(rte_pktmbuf_mtod_offset(m, const uint8_t *, inner.l4_off + 8),
		       inner.l4_len - 8u)) {
		dp_punt(w, m, in_port, DP_PUNT_VIA_RELAY); /* an ICE check to our relayed address */
		return;
	}
	key = (struct dp_flow_key){ inner.src_ip, inner.dst_ip, inner.src_port, inner.dst_port, 0 };
	dp_ft_lookup_burst(w->ft, &key, 1, &g);
	why = DP_DROP_NO_FLOW;
	if (g == NULL || (g->actions & DP_ACT_TURN))
		goto drop;
	dp_flow_packet(w, g, m, &inner, in_port, now, items, owners, n_items);
	return;
drop:
	dp_drop_pkt(w, in_port, why, m);
}

static void dp_burst(struct dp_worker *w, unsigned in_port, struct rte_mbuf **pkts, unsigned n,
		     uint64_t now)
{
	struct dp_parsed parsed[DP_MAX_BURST];
	struct dp_flow_key keys[DP_MAX_BURST];
	struct dp_flow *flows[DP_MAX_BURST];
	struct rte_mbuf *udp[DP_MAX_BURST];
	struct dp_rec_item items[DP_MAX_BURST];
	struct dp_flow *owners[DP_MAX_BURST];
	unsigned n_udp = 0, n_items = 0;
	const uint16_t vlan = w->dp->ports[in_port].vlan;

	for (unsigned i = 0; i < n && i < DP_PREFETCH_AHEAD; i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
	for (unsigned i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		enum dp_drop why = DP_DROP_MAX;
		enum dp_pkt_kind kind;

		if (i + DP_PREFETCH_AHEAD < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + DP_PREFETCH_AHEAD], void *));
		/* a chained frame (longer than an mbuf: dataplane.mbuf_size) is parsed whole
		 * when its headers are in the first segment (any RX segment holds 256 bytes) */
		uint32_t len = rte_pktmbuf_data_len(m);
		if (unlikely(m->nb_segs != 1) && len >= DP_PARSE_CONTIG)
			len = rte_pktmbuf_pkt_len(m);
		kind = dp_parse(rte_pktmbuf_mtod(m, const uint8_t *), len, &parsed[n_udp], &why);
		/* a port with a VLAN takes frames of that VLAN only */
		if (unlikely(vlan != 0) && kind != DP_PKT_DROP &&
		    dp_frame_vlan(rte_pktmbuf_mtod(m, const uint8_t *)) != vlan) {
			kind = DP_PKT_DROP;
			why = DP_DROP_VLAN_OTHER;
		}
		if (likely(kind == DP_PKT_UDP4)) {
			const struct dp_parsed *pp = &parsed[n_udp];
			const uint8_t *u = rte_pktmbuf_mtod_offset(m, const uint8_t *, pp->l4_off + 8);
			if (unlikely(dp_is_stun(u, pp->l4_len - 8u)) && !dp_turn_is_data_ind(u) &&
			    dp_port_owns(&w->dp->ports[in_port], pp->dst_ip)) {
				dp_punt(w, m, in_port, 0);
				continue;
			}
			struct dp_flow_key *k = &keys[n_udp];
			k->src_ip = parsed[n_udp].src_ip;
			k->dst_ip = parsed[n_udp].dst_ip;
			k->src_port = parsed[n_udp].src_port;
			k->dst_port = parsed[n_udp].dst_port;
			k->pad = 0;
			udp[n_udp] = m;
			n_udp++;
		} else if (kind == DP_PKT_ARP) {
			dp_local_arp(w, m, &parsed[n_udp], in_port);
		} else if (kind == DP_PKT_ICMP4) {
			dp_local_icmp(w, m, &parsed[n_udp], in_port);
		} else {
			dp_drop_pkt(w, in_port, why, m);
		}
	}
	if (n_udp == 0)
		return;
	dp_ft_lookup_burst(w->ft, keys, n_udp, flows);
	/* the entries of a big table are cold: fetch the burst's in parallel */
	for (unsigned j = 0; j < n_udp; j++) {
		if (flows[j] == NULL)
			continue;
		rte_prefetch0(flows[j]);
		rte_prefetch0(&flows[j]->rtp);
	}
	for (unsigned j = 0; j < n_udp; j++) {
		if (unlikely(flows[j] == NULL)) {
			dp_drop_pkt(w, in_port, DP_DROP_NO_FLOW, udp[j]);
			continue;
		}
		dp_flow_packet(w, flows[j], udp[j], &parsed[j], in_port, now, items, owners,
			       &n_items);
	}
	dp_record_flush(w, in_port, items, owners, n_items);
}

/* dataplane.rx_pace_pps: how many packets the worker may read now. The wire has
 * brought (now - pace_start) x rate packets; more owed than a NIC ring holds means
 * the worker was late and a NIC would have lost the rest: counted, then forgotten. */
static unsigned dp_pace_budget(struct dp_worker *w, uint64_t now)
{
	uint64_t due, owed;

	if (w->pace_start == 0)
		w->pace_start = now;
	due = (uint64_t)(((unsigned __int128)(now - w->pace_start) * w->pace_q32) >> 32);
	if (due <= w->pace_taken)
		return 0;
	owed = due - w->pace_taken;
	if (owed > w->pace_ring) {
		w->c.drops[0][DP_DROP_PACE_MISSED] += owed - w->pace_ring;
		w->pace_taken += owed - w->pace_ring;
		owed = w->pace_ring;
	}
	if (owed >= w->burst)
		return w->burst;
	/* a part burst only once its first packet has waited a while: bursts of one
	 * would cost the worker more than the wire's rate leaves it */
	if (now - w->pace_last < w->drain_tsc / 8)
		return 0;
	return (unsigned)owed;
}

int dp_worker_main(void *arg)
{
	struct dp_worker *w = arg;
	struct rte_mbuf *pkts[DP_MAX_BURST];
	const unsigned n_ports = w->dp->n_ports;
	uint64_t start = rte_rdtsc(), last_tick = start;

	while (!w->stopped) {
		unsigned burst = w->burst;
		bool got = false;

		if (w->pace_q32 != 0 && w->rx_enabled)
			burst = dp_pace_budget(w, rte_rdtsc());
		for (unsigned p = 0; p < n_ports && w->rx_enabled && burst != 0; p++) {
			uint16_t n = rte_eth_rx_burst(w->dp->ports[p].port_id, w->queue, pkts,
						      (uint16_t)burst);
			if (n == 0)
				continue;
			got = true;
			uint64_t t0 = rte_rdtsc();
			if (w->pace_q32 != 0) {
				/* the budget is the worker's, over all its ports */
				burst -= n;
				w->pace_taken += n;
				w->pace_last = t0;
			}
			w->c.rx_packets += n;
			w->c.port_rx[p] += n;
			dp_burst(w, p, pkts, n, t0);
			w->c.busy_cycles += rte_rdtsc() - t0;
		}
		if (got)
			w->empty_polls = 0;
		else if (w->idle_sleep_us != 0 && ++w->empty_polls >= DP_IDLE_POLLS)
			rte_delay_us_sleep(w->idle_sleep_us);
		uint64_t now = rte_rdtsc();
		if (now - last_tick >= w->drain_tsc) {
			dp_tick(w, now);
			last_tick = now;
		}
		w->c.cycles = now - start;
	}
	for (unsigned p = 0; p < n_ports; p++) {
		uint16_t n = rte_eth_tx_buffer_flush(w->dp->ports[p].port_id, w->queue, w->txb[p]);
		w->c.tx_packets += n;
		w->c.port_tx[p] += n;
	}
	dp_neigh_free_held(w);
	return 0;
}
