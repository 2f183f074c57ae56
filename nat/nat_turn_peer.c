/* SPDX-License-Identifier: BSD-3-Clause
 * TURN permissions (CreatePermission) and channel bindings (ChannelBind):
 * one slot a peer, confirmed by the server, refreshed every
 * NAT_TURN_PEER_REFRESH_S, forgotten when they expire. See nat_turn.h. */
#include "nat_turn_priv.h"

struct nat_turn_peer *nat_turn_peer_at(struct nat_turn *t, size_t i)
{
	return i < NAT_TURN_MAX_PERMS ? &t->perms[i] : &t->chans[i - NAT_TURN_MAX_PERMS];
}

static bool is_live(const struct nat_turn_peer *p)
{
	return p->state == NAT_TURN_PEER_PENDING || p->state == NAT_TURN_PEER_ACTIVE;
}

static enum nat_turn_req req_of(const struct nat_turn_peer *p)
{
	return p->channel ? NAT_TURN_REQ_CHANNEL : NAT_TURN_REQ_PERMISSION;
}

static void set_failed(struct nat_turn_peer *p, enum nat_turn_error e, uint16_t code)
{
	nat_turn_txn_stop(&p->txn);
	p->state = NAT_TURN_PEER_FAILED;
	p->error = (uint8_t)e;
	p->error_code = code;
}

/* A first request or a refresh, sent at once. */
static int send_req(struct nat_turn *t, struct nat_turn_peer *p, uint64_t now_ms)
{
	if (p->state != NAT_TURN_PEER_ACTIVE)
		p->state = NAT_TURN_PEER_PENDING;
	if (nat_turn_txn_begin(t, &p->txn, req_of(p), p, now_ms) == 0)
		return 0;
	set_failed(p, NAT_TURN_ERR_LOCAL, 0);
	return -1;
}

/* The slot of this peer (port ignored for permissions), else a free one,
 * else one that failed; NULL when all are in use. */
static struct nat_turn_peer *slot_for(struct nat_turn_peer *tab, size_t n, uint32_t ip,
				      uint16_t port)
{
	struct nat_turn_peer *spare = NULL;

	for (size_t i = 0; i < n; i++) {
		struct nat_turn_peer *p = &tab[i];
		if (p->state != NAT_TURN_PEER_FREE && p->ip == ip && p->port == port)
			return p;
		if (p->state == NAT_TURN_PEER_FREE && (!spare || spare->state != NAT_TURN_PEER_FREE))
			spare = p;
		else if (p->state == NAT_TURN_PEER_FAILED && !spare)
			spare = p;
	}
	return spare;
}

static bool usable(const struct nat_turn *t)
{
	return t->state == NAT_TURN_ALLOCATED || t->state == NAT_TURN_REFRESHING;
}

int nat_turn_permit(struct nat_turn *t, uint32_t peer_ip, uint64_t now_ms)
{
	struct nat_turn_peer *p = usable(t) ?
		slot_for(t->perms, NAT_TURN_MAX_PERMS, peer_ip, 0) : NULL;

	if (!p)
		return -1;
	if (is_live(p) && p->ip == peer_ip)
		return 0;
	nat_turn_txn_stop(&p->txn);
	*p = (struct nat_turn_peer){ .ip = peer_ip, .txn = p->txn };
	return send_req(t, p, now_ms);
}

static bool channel_taken(const struct nat_turn *t, uint16_t ch)
{
	for (size_t i = 0; i < NAT_TURN_MAX_CHANNELS; i++)
		if (t->chans[i].state != NAT_TURN_PEER_FREE && t->chans[i].channel == ch)
			return true;
	return false;
}

/* Numbers go round 0x4000..0x4FFF so that one is not reused soon after it
 * expired (RFC 8656 12: not for 5 minutes). */
static uint16_t next_channel(struct nat_turn *t)
{
	uint16_t ch;

	do {
		ch = t->next_channel;
		t->next_channel = ch >= NAT_TURN_CHANNEL_MAX ? NAT_TURN_CHANNEL_MIN : (uint16_t)(ch + 1);
	} while (channel_taken(t, ch));
	return ch;
}

int nat_turn_bind_channel(struct nat_turn *t, uint32_t peer_ip, uint16_t peer_port,
			  uint64_t now_ms)
{
	struct nat_turn_peer *p = usable(t) ?
		slot_for(t->chans, NAT_TURN_MAX_CHANNELS, peer_ip, peer_port) : NULL;

	if (!p)
		return -1;
	if (is_live(p) && p->ip == peer_ip && p->port == peer_port)
		return p->channel;
	/* after silence the server may hold the binding: the same number
	 * again; after an error (400: number in use...) a new one */
	bool same = p->state == NAT_TURN_PEER_FAILED && p->ip == peer_ip && p->port == peer_port &&
		    (p->error == NAT_TURN_ERR_TIMEOUT || p->error == NAT_TURN_ERR_EXPIRED);
	uint16_t ch = same ? p->channel : next_channel(t);
	nat_turn_txn_stop(&p->txn);
	*p = (struct nat_turn_peer){ .ip = peer_ip, .port = peer_port, .channel = ch,
				     .txn = p->txn };
	return send_req(t, p, now_ms) == 0 ? p->channel : -1;
}

void nat_turn_peer_done(struct nat_turn *t, struct nat_turn_peer *p,
			const struct nat_turn_result *r, uint64_t now_ms)
{
	if (r->ok) {
		uint32_t life = p->channel ? NAT_TURN_CHAN_LIFETIME_S : NAT_TURN_PERM_LIFETIME_S;
		p->state = NAT_TURN_PEER_ACTIVE;
		p->error = NAT_TURN_ERR_NONE;
		p->error_code = 0;
		p->expire_ms = now_ms + (uint64_t)life * 1000;
		p->refresh_ms = now_ms + (uint64_t)NAT_TURN_PEER_REFRESH_S * 1000;
	} else if (r->code == 437) {
		nat_turn_fail(t, r);   /* the server has no allocation for us */
	} else if (r->error == NAT_TURN_ERR_TIMEOUT && p->state == NAT_TURN_PEER_ACTIVE &&
		   now_ms < p->expire_ms) {
		(void)send_req(t, p, now_ms);   /* a lost refresh: again while it lasts */
	} else {
		set_failed(p, r->error, r->code);
	}
}

void nat_turn_peers_tick(struct nat_turn *t, uint64_t now_ms)
{
	struct nat_turn_result r;

	for (size_t i = 0; i < NAT_TURN_N_PEERS && usable(t); i++) {
		struct nat_turn_peer *p = nat_turn_peer_at(t, i);
		if (nat_turn_txn_poll(t, &p->txn, p, now_ms, &r))
			nat_turn_peer_done(t, p, &r, now_ms);
		if (p->state != NAT_TURN_PEER_ACTIVE || !usable(t))
			continue;
		if (now_ms >= p->expire_ms)
			set_failed(p, NAT_TURN_ERR_EXPIRED, 0);
		else if (now_ms >= p->refresh_ms && !nat_turn_txn_running(&p->txn))
			(void)send_req(t, p, now_ms);
	}
}

static uint64_t table_deadline(const struct nat_turn_peer *tab, size_t n)
{
	uint64_t d = UINT64_MAX;

	for (size_t i = 0; i < n; i++) {
		const struct nat_turn_peer *p = &tab[i];
		d = nat_turn_min(d, nat_bind_deadline(&p->txn.timer));
		if (p->state != NAT_TURN_PEER_ACTIVE)
			continue;
		d = nat_turn_min(d, p->expire_ms);
		if (!nat_turn_txn_running(&p->txn))
			d = nat_turn_min(d, p->refresh_ms);
	}
	return d;
}

uint64_t nat_turn_peers_deadline(const struct nat_turn *t)
{
	return nat_turn_min(table_deadline(t->perms, NAT_TURN_MAX_PERMS),
			    table_deadline(t->chans, NAT_TURN_MAX_CHANNELS));
}

void nat_turn_peers_drop(struct nat_turn *t)
{
	for (size_t i = 0; i < NAT_TURN_N_PEERS; i++) {
		struct nat_turn_peer *p = nat_turn_peer_at(t, i);
		nat_turn_txn_stop(&p->txn);
		*p = (struct nat_turn_peer){ .txn = p->txn };
	}
}

uint16_t nat_turn_channel(const struct nat_turn *t, uint32_t peer_ip, uint16_t peer_port)
{
	for (size_t i = 0; i < NAT_TURN_MAX_CHANNELS; i++) {
		const struct nat_turn_peer *p = &t->chans[i];
		if (p->state == NAT_TURN_PEER_ACTIVE && p->ip == peer_ip && p->port == peer_port)
			return p->channel;
	}
	return 0;
}

int nat_turn_channel_peer(const struct nat_turn *t, uint16_t channel, uint32_t *peer_ip,
			  uint16_t *peer_port)
{
	for (size_t i = 0; i < NAT_TURN_MAX_CHANNELS; i++) {
		const struct nat_turn_peer *p = &t->chans[i];
		if (is_live(p) && p->channel == channel) {
			*peer_ip = p->ip;
			*peer_port = p->port;
			return 0;
		}
	}
	return -1;
}

enum nat_turn_peer_state nat_turn_permission(const struct nat_turn *t, uint32_t peer_ip)
{
	for (size_t i = 0; i < NAT_TURN_MAX_PERMS; i++)
		if (t->perms[i].state != NAT_TURN_PEER_FREE && t->perms[i].ip == peer_ip)
			return (enum nat_turn_peer_state)t->perms[i].state;
	return NAT_TURN_PEER_FREE;
}
