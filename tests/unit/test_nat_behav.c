/* SPDX-License-Identifier: BSD-3-Clause
 * nat_behav: RFC 5780 discovery against a fake NAT (each mapping x filtering
 * behaviour) and a fake STUN server with two addresses, in simulated time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "nat/nat_behav.h"

#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))
#define LOCAL_IP IP(10, 0, 0, 2)
#define LOCAL_PORT 5000
#define EXT_IP IP(203, 0, 113, 1)
#define PRIMARY_IP IP(198, 51, 100, 1)
#define ALT_IP IP(198, 51, 100, 2)
#define PRIMARY_PORT 3478
#define ALT_PORT 3479

enum server_kind { SRV_RFC5780, SRV_NO_OTHER, SRV_NONE, SRV_NO_CHANGE };

struct endpoint {
	uint32_t ip;
	uint16_t port;
};

/* One NAT binding: what it was made for, its port and whom it sent to. */
struct mapping {
	struct endpoint key;     /* the part of the destination the mapping depends on */
	uint16_t ext_port;
	int n_sent;
	struct endpoint sent[8];
};

struct sim {
	enum nat_mapping map;      /* UNKNOWN stands for "no NAT at all" */
	uint16_t port_base;        /* of the NAT's external ports, 0: 40000 */
	enum nat_filtering filt;
	enum server_kind server;
	int n_maps;
	struct mapping maps[8];
	int n_queued;
	struct { struct endpoint src; uint8_t msg[128]; size_t len; } queue[8];
	int sends;
};

static bool same(struct endpoint a, struct endpoint b)
{
	return a.ip == b.ip && a.port == b.port;
}

/* The destination as far as the mapping behaviour looks at it. */
static struct endpoint map_key(const struct sim *s, struct endpoint dst)
{
	if (s->map == NAT_MAPPING_ENDPOINT_INDEPENDENT)
		return (struct endpoint){ 0, 0 };
	if (s->map == NAT_MAPPING_ADDRESS_DEPENDENT)
		return (struct endpoint){ dst.ip, 0 };
	return dst;
}

static struct mapping *nat_out(struct sim *s, struct endpoint dst)
{
	struct endpoint k = map_key(s, dst);
	struct mapping *m = NULL;

	for (int i = 0; i < s->n_maps && !m; i++)
		if (same(s->maps[i].key, k))
			m = &s->maps[i];
	if (!m) {
		assert_true(s->n_maps < 8);
		m = &s->maps[s->n_maps];
		*m = (struct mapping){ .key = k,
				       .ext_port = (uint16_t)((s->port_base ? s->port_base : 40000) +
							      s->n_maps) };
		s->n_maps++;
	}
	if (m->n_sent < 8)
		m->sent[m->n_sent++] = dst;
	return m;
}

static bool filter_passes(const struct sim *s, const struct mapping *m, struct endpoint src)
{
	for (int i = 0; i < m->n_sent; i++)
		if (s->filt == NAT_FILTERING_ENDPOINT_INDEPENDENT ||
		    (s->filt == NAT_FILTERING_ADDRESS_DEPENDENT && m->sent[i].ip == src.ip) ||
		    same(m->sent[i], src))
			return true;
	return false;
}

/* The server answers from the address CHANGE-REQUEST asks for. */
static struct endpoint reply_source(const struct sim *s, struct endpoint dst, uint32_t change)
{
	if (s->server == SRV_NO_CHANGE)
		return dst;
	if (change & NAT_STUN_CHANGE_IP)
		dst.ip = dst.ip == PRIMARY_IP ? ALT_IP : PRIMARY_IP;
	if (change & NAT_STUN_CHANGE_PORT)
		dst.port = dst.port == PRIMARY_PORT ? ALT_PORT : PRIMARY_PORT;
	return dst;
}

static bool server_listens(const struct sim *s, struct endpoint dst)
{
	if (s->server == SRV_NONE)
		return false;
	if (s->server == SRV_NO_OTHER)
		return dst.ip == PRIMARY_IP && dst.port == PRIMARY_PORT;
	return (dst.ip == PRIMARY_IP || dst.ip == ALT_IP) &&
	       (dst.port == PRIMARY_PORT || dst.port == ALT_PORT);
}

static size_t server_answer(const struct sim *s, const struct nat_stun_msg *req,
			    struct endpoint from, struct endpoint origin, uint8_t *out, size_t cap)
{
	struct nat_stun_builder b;
	struct nat_stun_addr x = { .family = NAT_STUN_FAM_IPV4, .ip4 = from.ip, .port = from.port };
	struct nat_stun_addr o = { .family = NAT_STUN_FAM_IPV4, .ip4 = origin.ip, .port = origin.port };
	struct nat_stun_addr alt = { .family = NAT_STUN_FAM_IPV4, .ip4 = ALT_IP, .port = ALT_PORT };

	nat_stun_start(&b, out, cap, NAT_STUN_SUCCESS, NAT_STUN_BINDING, req->tid);
	nat_stun_add_xor_addr(&b, NAT_STUN_A_XOR_MAPPED_ADDRESS, &x);
	nat_stun_add_addr(&b, NAT_STUN_A_RESPONSE_ORIGIN, &o);
	if (s->server != SRV_NO_OTHER)
		nat_stun_add_addr(&b, NAT_STUN_A_OTHER_ADDRESS, &alt);
	int len = nat_stun_add_fingerprint(&b);
	assert_true(len > 0);
	return (size_t)len;
}

static void sim_send(void *arg, uint32_t dst_ip, uint16_t dst_port, const uint8_t *msg, size_t len)
{
	struct sim *s = arg;
	struct endpoint dst = { dst_ip, dst_port };
	struct nat_stun_msg req;

	s->sends++;
	assert_int_equal(nat_stun_parse(msg, len, &req), 0);
	assert_int_equal(req.cls, NAT_STUN_REQUEST);
	bool no_nat = s->map == NAT_MAPPING_UNKNOWN;
	struct mapping *m = no_nat ? NULL : nat_out(s, dst);
	struct endpoint from = { no_nat ? LOCAL_IP : EXT_IP, no_nat ? LOCAL_PORT : m->ext_port };
	if (!server_listens(s, dst))
		return;
	struct endpoint src = reply_source(s, dst, req.change_request);
	if (m && !filter_passes(s, m, src))
		return;
	assert_true(s->n_queued < 8);
	s->queue[s->n_queued].src = src;
	s->queue[s->n_queued].len = server_answer(s, &req, from, src, s->queue[s->n_queued].msg,
						  sizeof(s->queue[0].msg));
	s->n_queued++;
}

/* Deterministic ids: a counter in the first bytes. */
static int sim_rng(void *arg, uint8_t *buf, size_t len)
{
	static uint32_t n;

	(void)arg;
	memset(buf, 0, len);
	memcpy(buf, &(uint32_t){ ++n }, sizeof(n));
	return 0;
}

/* Runs discovery to its end (a recheck after prev when not NULL); answers arrive 5 ms
 * after their request. */
static void run_after(struct sim *s, struct nat_behav *b, const struct nat_behav_result *prev)
{
	struct nat_behav_cfg cfg = {
		.server_ip = PRIMARY_IP, .server_port = PRIMARY_PORT,
		.local_ip = LOCAL_IP, .local_port = LOCAL_PORT,
		.rto = { 20, 3, 4 },
		.send = sim_send, .send_arg = s, .rng = sim_rng, .prev = prev,
	};
	uint64_t now = 1000;

	assert_int_equal(nat_behav_start(b, &cfg, now), 0);
	for (int steps = 0; b->state == NAT_BEHAV_RUNNING; steps++) {
		assert_true(steps < 100);
		if (s->n_queued) {
			/* pop first: the answer may make the next request, queued behind */
			__typeof__(s->queue[0]) q = s->queue[0];
			s->n_queued--;
			memmove(&s->queue[0], &s->queue[1], sizeof(q) * (size_t)s->n_queued);
			now += 5;
			assert_int_equal(nat_behav_input(b, q.src.ip, q.src.port, q.msg, q.len, now), 1);
			continue;
		}
		now = nat_behav_deadline(b);
		nat_behav_tick(b, now);
	}
	assert_true(nat_behav_deadline(b) == UINT64_MAX);
}

static void run(struct sim *s, struct nat_behav *b)
{
	run_after(s, b, NULL);
}

struct behav_case {
	enum nat_mapping nat_map;      /* UNKNOWN: no NAT */
	enum nat_filtering nat_filt;
	enum server_kind server;
	enum nat_behav_state state;    /* what discovery should end with */
	enum nat_mapping map;
	enum nat_filtering filt;
	bool other;
	int sends;                     /* Rc is 3: a timed-out test costs 3 */
};

#define EI(x) NAT_##x##_ENDPOINT_INDEPENDENT
#define AD(x) NAT_##x##_ADDRESS_DEPENDENT
#define APD(x) NAT_##x##_ADDRESS_PORT_DEPENDENT
#define UNK(x) NAT_##x##_UNKNOWN
static const struct behav_case cases[] = {
	/* RFC 5780 server: every mapping x filtering pair is told apart */
	{ EI(MAPPING), EI(FILTERING), SRV_RFC5780, NAT_BEHAV_DONE, EI(MAPPING), EI(FILTERING), true, 3 },
	{ EI(MAPPING), AD(FILTERING), SRV_RFC5780, NAT_BEHAV_DONE, EI(MAPPING), AD(FILTERING), true, 6 },
	{ EI(MAPPING), APD(FILTERING), SRV_RFC5780, NAT_BEHAV_DONE, EI(MAPPING), APD(FILTERING), true, 8 },
	{ AD(MAPPING), EI(FILTERING), SRV_RFC5780, NAT_BEHAV_DONE, AD(MAPPING), EI(FILTERING), true, 4 },
	{ AD(MAPPING), AD(FILTERING), SRV_RFC5780, NAT_BEHAV_DONE, AD(MAPPING), AD(FILTERING), true, 7 },
	{ AD(MAPPING), APD(FILTERING), SRV_RFC5780, NAT_BEHAV_DONE, AD(MAPPING), APD(FILTERING), true, 9 },
	{ APD(MAPPING), EI(FILTERING), SRV_RFC5780, NAT_BEHAV_DONE, APD(MAPPING), EI(FILTERING), true, 4 },
	{ APD(MAPPING), AD(FILTERING), SRV_RFC5780, NAT_BEHAV_DONE, APD(MAPPING), AD(FILTERING), true, 7 },
	{ APD(MAPPING), APD(FILTERING), SRV_RFC5780, NAT_BEHAV_DONE, APD(MAPPING), APD(FILTERING), true, 9 },
	/* no OTHER-ADDRESS: only the mapped address is learnt */
	{ AD(MAPPING), APD(FILTERING), SRV_NO_OTHER, NAT_BEHAV_DONE, UNK(MAPPING), UNK(FILTERING), false, 1 },
	/* nobody answers test I */
	{ EI(MAPPING), EI(FILTERING), SRV_NONE, NAT_BEHAV_NO_SERVER, UNK(MAPPING), UNK(FILTERING), false, 3 },
	/* change requests answered from the primary address: filtering unknown */
	{ APD(MAPPING), EI(FILTERING), SRV_NO_CHANGE, NAT_BEHAV_DONE, APD(MAPPING), UNK(FILTERING), true, 4 },
	/* no NAT: mapped == local, mapping tests skipped, filtering still tested */
	{ UNK(MAPPING), EI(FILTERING), SRV_RFC5780, NAT_BEHAV_DONE, EI(MAPPING), EI(FILTERING), true, 2 },
};

static void check_case(const struct behav_case *c)
{
	struct sim s = { .map = c->nat_map, .filt = c->nat_filt, .server = c->server };
	struct nat_behav b;
	bool no_nat = c->nat_map == NAT_MAPPING_UNKNOWN, answered = c->server != SRV_NONE;

	run(&s, &b);
	print_message("NAT %s/%s: %s, %s mapping, %s filtering, %d requests\n",
		      nat_mapping_name(c->nat_map), nat_filtering_name(c->nat_filt),
		      nat_behav_state_name(b.state), nat_mapping_name(b.res.mapping),
		      nat_filtering_name(b.res.filtering), s.sends);
	assert_int_equal(b.state, c->state);
	assert_int_equal(b.res.mapping, c->map);
	assert_int_equal(b.res.filtering, c->filt);
	assert_int_equal(s.sends, c->sends);
	assert_int_equal(b.res.other_known, c->other);
	assert_int_equal(b.res.not_natted, no_nat);
	assert_int_equal(b.res.mapped_known, answered);
	if (answered) {
		assert_int_equal(b.res.mapped_ip, no_nat ? LOCAL_IP : EXT_IP);
		assert_int_equal(b.res.mapped_port, no_nat ? LOCAL_PORT : 40000);
	}
	if (c->other) {
		assert_int_equal(b.res.other_ip, ALT_IP);
		assert_int_equal(b.res.other_port, ALT_PORT);
	}
}

static void test_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_case(&cases[i]);
}

/* A recheck from the same port while the NAT still holds the binding the first run's
 * mapping tests sent through (to the server's other address): the filtering tests would
 * see that address let in. The same mapping keeps the first filtering; a new mapping
 * (the NAT lost its state) is tested again. */
static void test_recheck(void **state)
{
	(void)state;
	for (size_t i = 0; i < 9; i++) { /* the RFC 5780 server cases */
		const struct behav_case *c = &cases[i];
		struct sim s = { .map = c->nat_map, .filt = c->nat_filt, .server = c->server };
		struct nat_behav first, again;

		run(&s, &first);
		assert_false(first.filtering_kept);
		run_after(&s, &again, &first.res);
		assert_int_equal(again.state, NAT_BEHAV_DONE);
		assert_int_equal(again.res.mapping, c->map);
		assert_int_equal(again.res.filtering, c->filt);
		assert_true(again.filtering_kept);
		/* the NAT restarted: new bindings on other ports, the filter tested again */
		s.n_maps = 0;
		s.port_base = 41000;
		run_after(&s, &again, &first.res);
		assert_int_equal(again.res.mapped_port, 41000);
		assert_int_equal(again.res.filtering, c->filt);
		assert_false(again.filtering_kept);
	}
}

static void test_stray_input_ignored(void **state)
{
	(void)state;
	struct sim s = { .map = NAT_MAPPING_ENDPOINT_INDEPENDENT,
			 .filt = NAT_FILTERING_ENDPOINT_INDEPENDENT, .server = SRV_RFC5780 };
	struct nat_behav b;
	struct nat_behav_cfg cfg = { .server_ip = PRIMARY_IP, .server_port = PRIMARY_PORT,
				     .send = sim_send, .send_arg = &s, .rng = sim_rng };

	assert_int_equal(nat_behav_start(&b, &cfg, 0), 0);
	assert_int_equal(s.n_queued, 1);
	s.queue[0].msg[8] ^= 1;                            /* breaks the FINGERPRINT */
	assert_int_equal(nat_behav_input(&b, PRIMARY_IP, PRIMARY_PORT, s.queue[0].msg,
					 s.queue[0].len, 5), 0);
	assert_int_equal(nat_behav_input(&b, PRIMARY_IP, PRIMARY_PORT, (const uint8_t *)"x", 1, 5), 0);
	assert_int_equal(b.state, NAT_BEHAV_RUNNING);
	cfg.send = NULL;
	assert_int_equal(nat_behav_start(&b, &cfg, 0), -1);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(nat_mapping_name(NAT_MAPPING_ENDPOINT_INDEPENDENT), "endpoint-independent");
	assert_string_equal(nat_mapping_name(NAT_MAPPING_ADDRESS_DEPENDENT), "address-dependent");
	assert_string_equal(nat_mapping_name(NAT_MAPPING_ADDRESS_PORT_DEPENDENT),
			    "address-and-port-dependent");
	assert_string_equal(nat_mapping_name(NAT_MAPPING_UNKNOWN), "unknown");
	assert_string_equal(nat_mapping_name((enum nat_mapping)42), "unknown");
	assert_string_equal(nat_filtering_name(NAT_FILTERING_ENDPOINT_INDEPENDENT), "endpoint-independent");
	assert_string_equal(nat_filtering_name(NAT_FILTERING_ADDRESS_DEPENDENT), "address-dependent");
	assert_string_equal(nat_filtering_name(NAT_FILTERING_ADDRESS_PORT_DEPENDENT),
			    "address-and-port-dependent");
	assert_string_equal(nat_filtering_name(NAT_FILTERING_UNKNOWN), "unknown");
	assert_string_equal(nat_behav_state_name(NAT_BEHAV_DONE), "done");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_recheck),
		cmocka_unit_test(test_stray_input_ignored),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
