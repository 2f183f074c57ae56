/* SPDX-License-Identifier: BSD-3-Clause
 * RFC 5780 NAT behaviour discovery: see nat_behav.h. */
#include <string.h>

#include "nat_behav.h"
#include "nat_name_priv.h"

enum test { T_MAP1, T_FILT2, T_FILT3, T_MAP2, T_MAP3, T_END };
enum dst { D_PRIMARY, D_ALT_IP, D_ALT_BOTH };

/* A test's answer; NULL stands for a timeout. */
struct reply {
	bool ok;              /* success with an IPv4 mapped address */
	uint32_t src_ip;
	uint16_t src_port;
};

struct test_def {
	uint8_t dst;          /* enum dst */
	uint8_t change;       /* CHANGE-REQUEST bits */
	enum test (*done)(struct nat_behav *b, const struct reply *r);
};

static bool same_mapped(const struct nat_behav *b, uint32_t ip, uint16_t port)
{
	return b->t.mapped.ip4 == ip && b->t.mapped.port == port;
}

static bool from(const struct reply *r, uint32_t ip, uint16_t port)
{
	return r->src_ip == ip && r->src_port == port;
}

/* After the filtering tests; a host with no NAT has no mapping to probe. */
static enum test mapping_next(const struct nat_behav *b)
{
	return b->res.not_natted ? T_END : T_MAP2;
}

static void take_other(struct nat_behav *b)
{
	const struct nat_stun_addr *o = &b->t.other;

	/* tests II and III need a second IP; a server without one cannot tell */
	if (o->family != NAT_STUN_FAM_IPV4 || o->ip4 == b->cfg.server_ip)
		return;
	b->res.other_known = true;
	b->res.other_ip = o->ip4;
	b->res.other_port = o->port;
}

static enum test map1_done(struct nat_behav *b, const struct reply *r)
{
	if (!r || !r->ok) {
		b->state = r ? NAT_BEHAV_FAILED : NAT_BEHAV_NO_SERVER;
		return T_END;
	}
	b->res.mapped_known = true;
	b->res.mapped_ip = b->t.mapped.ip4;
	b->res.mapped_port = b->t.mapped.port;
	if (b->cfg.local_port && same_mapped(b, b->cfg.local_ip, b->cfg.local_port)) {
		b->res.not_natted = true;
		b->res.mapping = NAT_MAPPING_ENDPOINT_INDEPENDENT;
	}
	take_other(b);
	if (!b->res.other_known)
		return T_END;
	if (b->has_prev && b->prev.mapped_known && b->prev.other_known &&
	    b->prev.filtering != NAT_FILTERING_UNKNOWN &&
	    same_mapped(b, b->prev.mapped_ip, b->prev.mapped_port)) {
		b->res.filtering = b->prev.filtering;
		b->filtering_kept = true;
		return mapping_next(b);
	}
	return T_FILT2;
}

/* Test II asked for a reply from the other IP and port: it passing the
 * filter means anyone may send in. An answer from elsewhere means the
 * server did not change address, which tells nothing. */
static enum test filt2_done(struct nat_behav *b, const struct reply *r)
{
	if (!r)
		return T_FILT3;
	if (r->ok && from(r, b->res.other_ip, b->res.other_port))
		b->res.filtering = NAT_FILTERING_ENDPOINT_INDEPENDENT;
	return mapping_next(b);
}

/* Test III asked for a reply from the primary IP, other port. */
static enum test filt3_done(struct nat_behav *b, const struct reply *r)
{
	if (!r)
		b->res.filtering = NAT_FILTERING_ADDRESS_PORT_DEPENDENT;
	else if (r->ok && from(r, b->cfg.server_ip, b->res.other_port))
		b->res.filtering = NAT_FILTERING_ADDRESS_DEPENDENT;
	return mapping_next(b);
}

static enum test map2_done(struct nat_behav *b, const struct reply *r)
{
	if (!r || !r->ok)
		return T_END;
	if (same_mapped(b, b->res.mapped_ip, b->res.mapped_port)) {
		b->res.mapping = NAT_MAPPING_ENDPOINT_INDEPENDENT;
		return T_END;
	}
	b->map2_ip = b->t.mapped.ip4;
	b->map2_port = b->t.mapped.port;
	return T_MAP3;
}

static enum test map3_done(struct nat_behav *b, const struct reply *r)
{
	if (r && r->ok)
		b->res.mapping = same_mapped(b, b->map2_ip, b->map2_port) ?
			NAT_MAPPING_ADDRESS_DEPENDENT : NAT_MAPPING_ADDRESS_PORT_DEPENDENT;
	return T_END;
}

static const struct test_def tests[T_END] = {
	[T_MAP1] = { D_PRIMARY, 0, map1_done },
	[T_FILT2] = { D_PRIMARY, NAT_STUN_CHANGE_IP | NAT_STUN_CHANGE_PORT, filt2_done },
	[T_FILT3] = { D_PRIMARY, NAT_STUN_CHANGE_PORT, filt3_done },
	[T_MAP2] = { D_ALT_IP, 0, map2_done },
	[T_MAP3] = { D_ALT_BOTH, 0, map3_done },
};

static void flush(struct nat_behav *b, uint64_t now_ms)
{
	const uint8_t *msg;
	size_t len;

	if (nat_bind_tick(&b->t, now_ms, &msg, &len))
		b->cfg.send(b->cfg.send_arg, b->t.dst_ip, b->t.dst_port, msg, len);
}

static void run(struct nat_behav *b, enum test t, uint64_t now_ms)
{
	b->test = (uint8_t)t;
	if (t == T_END) {
		if (b->state == NAT_BEHAV_RUNNING)
			b->state = NAT_BEHAV_DONE;
		return;
	}
	const struct test_def *d = &tests[t];
	uint32_t ip = d->dst == D_PRIMARY ? b->cfg.server_ip : b->res.other_ip;
	uint16_t port = d->dst == D_ALT_BOTH ? b->res.other_port : b->cfg.server_port;
	if (nat_bind_start(&b->t, ip, port, d->change, now_ms) != 0) {
		b->state = NAT_BEHAV_FAILED;
		return;
	}
	flush(b, now_ms);
}

static void finish(struct nat_behav *b, const struct reply *r, uint64_t now_ms)
{
	run(b, tests[b->test].done(b, r), now_ms);
}

int nat_behav_start(struct nat_behav *b, const struct nat_behav_cfg *cfg, uint64_t now_ms)
{
	memset(b, 0, sizeof(*b));
	if (!cfg->send || nat_bind_init(&b->t, &cfg->rto, cfg->rng, cfg->rng_arg) != 0)
		return -1;
	b->cfg = *cfg;
	if (cfg->prev != NULL) {
		b->prev = *cfg->prev;
		b->has_prev = true;
	}
	b->cfg.prev = NULL;
	b->state = NAT_BEHAV_RUNNING;
	run(b, T_MAP1, now_ms);
	return b->state == NAT_BEHAV_FAILED ? -1 : 0;
}

int nat_behav_input(struct nat_behav *b, uint32_t src_ip, uint16_t src_port,
		    const uint8_t *msg, size_t len, uint64_t now_ms)
{
	struct nat_stun_msg m;

	if (b->state != NAT_BEHAV_RUNNING || nat_stun_parse(msg, len, &m) != 0 ||
	    !nat_bind_input(&b->t, &m))
		return 0;
	struct reply r = { b->t.state == NAT_BIND_OK && b->t.mapped.family == NAT_STUN_FAM_IPV4,
			   src_ip, src_port };
	finish(b, &r, now_ms);
	return 1;
}

enum nat_behav_state nat_behav_tick(struct nat_behav *b, uint64_t now_ms)
{
	if (b->state != NAT_BEHAV_RUNNING)
		return b->state;
	flush(b, now_ms);
	if (b->t.state == NAT_BIND_TIMEOUT)
		finish(b, NULL, now_ms);
	return b->state;
}

uint64_t nat_behav_deadline(const struct nat_behav *b)
{
	return b->state == NAT_BEHAV_RUNNING ? nat_bind_deadline(&b->t) : UINT64_MAX;
}

/* one table serves both enums, which list the same behaviours in order */
_Static_assert((int)NAT_MAPPING_ADDRESS_DEPENDENT == (int)NAT_FILTERING_ADDRESS_DEPENDENT &&
	       (int)NAT_MAPPING_ADDRESS_PORT_DEPENDENT == (int)NAT_FILTERING_ADDRESS_PORT_DEPENDENT,
	       "mapping and filtering enums differ");
static const char *const behaviour_names[] = {
	"unknown", "endpoint-independent", "address-dependent", "address-and-port-dependent",
};

const char *nat_mapping_name(enum nat_mapping m)
{
	return NAT_NAME_OF(behaviour_names, m);
}

const char *nat_filtering_name(enum nat_filtering f)
{
	return NAT_NAME_OF(behaviour_names, f);
}

const char *nat_behav_state_name(enum nat_behav_state s)
{
	static const char *const names[] = {
		[NAT_BEHAV_IDLE] = "idle", [NAT_BEHAV_RUNNING] = "running",
		[NAT_BEHAV_DONE] = "done", [NAT_BEHAV_NO_SERVER] = "no-server",
		[NAT_BEHAV_FAILED] = "failed",
	};

	return NAT_NAME_OF(names, s);
}
