/* SPDX-License-Identifier: BSD-3-Clause
 * libFuzzer: nat_stun_parse with integrity and fingerprint checks, a
 * rebuild of what was decoded (it must parse back the same), and the input
 * fed to a Binding transaction and to RFC 5780 discovery whose ids are
 * taken from the input so that it answers every test. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nat/nat_behav.h"
#include "nat/nat_stun.h"

static const uint8_t key[] = "VOkJxbRl1RmTxUk/WvJxBt";
static uint8_t out[2048];

static bool same_addr(const struct nat_stun_addr *a, const struct nat_stun_addr *b)
{
	return a->family == b->family && a->port == b->port &&
	       (a->family != NAT_STUN_FAM_IPV4 || a->ip4 == b->ip4) &&
	       (a->family != NAT_STUN_FAM_IPV6 || memcmp(a->ip6, b->ip6, 16) == 0);
}

static void add_addr(struct nat_stun_builder *b, uint16_t type, const struct nat_stun_addr *a,
		     bool xor)
{
	if (!a->family)
		return;
	if (xor)
		nat_stun_add_xor_addr(b, type, a);
	else
		nat_stun_add_addr(b, type, a);
}

static void add_text(struct nat_stun_builder *b, uint16_t type, struct nat_stun_text t)
{
	if (t.p)
		nat_stun_add_raw(b, type, t.p, t.len);
}

/* What the parser decoded must survive being built again. */
static void rebuild(const struct nat_stun_msg *m)
{
	struct nat_stun_builder b;
	struct nat_stun_msg r;

	nat_stun_start(&b, out, sizeof(out), (enum nat_stun_class)m->cls, m->method, m->tid);
	add_addr(&b, NAT_STUN_A_XOR_MAPPED_ADDRESS, &m->xor_mapped, true);
	add_addr(&b, NAT_STUN_A_MAPPED_ADDRESS, &m->mapped, false);
	add_addr(&b, NAT_STUN_A_OTHER_ADDRESS, &m->other_address, false);
	add_addr(&b, NAT_STUN_A_RESPONSE_ORIGIN, &m->response_origin, false);
	add_text(&b, NAT_STUN_A_USERNAME, m->username);
	add_text(&b, NAT_STUN_A_SOFTWARE, m->software);
	if (m->error_code)
		nat_stun_add_error(&b, m->error_code, NULL);
	nat_stun_add_integrity(&b, key, sizeof(key) - 1);
	int len = nat_stun_add_fingerprint(&b);
	if (len < 0)
		return;    /* large texts may not fit out[] */
	if (nat_stun_parse(out, (size_t)len, &r) != 0 ||
	    nat_stun_check_integrity(&r, key, sizeof(key) - 1) != 0 ||
	    !same_addr(&r.xor_mapped, &m->xor_mapped) || !same_addr(&r.mapped, &m->mapped) ||
	    !same_addr(&r.other_address, &m->other_address) ||
	    r.error_code != m->error_code || r.cls != m->cls || r.method != m->method)
		abort();
}

static int input_tid(void *arg, uint8_t *buf, size_t len)
{
	memcpy(buf, arg, len);
	return 0;
}

static void no_send(void *arg, uint32_t ip, uint16_t port, const uint8_t *msg, size_t len)
{
	(void)arg;
	(void)ip;
	(void)port;
	if (!nat_stun_is_stun(msg, len))
		abort();
}

static void feed_bind(const struct nat_stun_msg *m)
{
	struct nat_bind t;

	nat_bind_init(&t, NULL, input_tid, (void *)m->tid);
	nat_bind_start(&t, 1, 2, 0, 0);
	if (nat_bind_input(&t, m) && t.state == NAT_BIND_OK &&
	    !same_addr(&t.mapped, m->xor_mapped.family ? &m->xor_mapped : &m->mapped))
		abort();
}

static void feed_behav(const uint8_t *d, size_t n)
{
	static const uint32_t srcs[] = { 0x0a000001, 0x0a000002 };
	struct nat_behav b;
	struct nat_behav_cfg cfg = { .server_ip = srcs[0], .server_port = 3478,
				     .rto = { 10, 2, 2 }, .send = no_send,
				     .rng = input_tid, .rng_arg = (void *)(d + 8) };

	if (n < NAT_STUN_HDR_LEN || nat_behav_start(&b, &cfg, 0) != 0)
		return;
	for (unsigned i = 0; i < 8 && b.state == NAT_BEHAV_RUNNING; i++) {
		uint16_t port = (i & 2) ? 3479 : 3478;
		if (!nat_behav_input(&b, srcs[i & 1], port, d, n, i))
			nat_behav_tick(&b, nat_behav_deadline(&b));
	}
	if (nat_behav_state_name(b.state) == NULL || nat_mapping_name(b.res.mapping) == NULL ||
	    nat_filtering_name(b.res.filtering) == NULL)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct nat_stun_msg m;
	uint16_t ch, dlen, l;

	(void)nat_stun_is_channel_data(d, n, &ch, &dlen);
	int e = nat_stun_parse(d, n, &m);
	if (!nat_stun_err_name(e))
		abort();
	feed_behav(d, n);
	if (e != 0)
		return 0;
	if (!nat_stun_is_stun(d, n) || m.n_unknown > NAT_STUN_MAX_UNKNOWN ||
	    (m.fp_off && m.fp_off + 8 != n))
		abort();
	(void)nat_stun_check_integrity(&m, key, sizeof(key) - 1);
	(void)nat_stun_find(&m, NAT_STUN_A_UNKNOWN_ATTRIBUTES, &l);
	rebuild(&m);
	feed_bind(&m);
	return 0;
}
