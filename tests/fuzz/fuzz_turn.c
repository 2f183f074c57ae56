/* SPDX-License-Identifier: BSD-3-Clause
 * libFuzzer: a TURN client in each state (allocating without and with
 * credentials, allocated with a permission and a channel pending,
 * refreshing, releasing) fed one message from the server, then its timers;
 * the unwrap helpers on the raw bytes and the wrap helpers round trip.
 *
 * Byte 0 picks the state (low 3 bits) and, with bit 7, a mode where the
 * rest is not a datagram but a recipe (class, method, attributes) for an
 * answer built and signed with the right key, so that answers pass the
 * integrity check and their content is what gets fuzzed. Transaction ids
 * come from the input so that the answer matches. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nat/nat_turn.h"

#define SERVER 0x0a000001u
#define PEER 0x0a000002u

static const uint8_t *tid_src;
static uint8_t key[NAT_STUN_LT_KEY_LEN];
static uint8_t ans[2048];

static int input_tid(void *arg, uint8_t *buf, size_t len)
{
	(void)arg;
	memset(buf, 0, len);
	memcpy(buf, tid_src, len < NAT_STUN_TID_LEN ? len : NAT_STUN_TID_LEN);
	return 0;
}

static void check_sent(void *arg, uint32_t ip, uint16_t port, const uint8_t *msg, size_t len)
{
	struct nat_stun_msg m;

	(void)arg;
	if (ip != SERVER || port != 3478 || nat_stun_parse(msg, len, &m) != 0 ||
	    m.cls != NAT_STUN_REQUEST || !m.fp_off)
		abort();
}

/* A correct answer from the server, signed when sign. */
static size_t answer(uint16_t method, enum nat_stun_class cls, uint16_t code, bool sign)
{
	struct nat_stun_builder b;
	struct nat_stun_addr relay = { .family = NAT_STUN_FAM_IPV4, .port = 50000, .ip4 = 7 };

	nat_stun_start(&b, ans, sizeof(ans), cls, method, tid_src);
	if (code) {
		nat_stun_add_error(&b, code, "x");
		nat_stun_add_str(&b, NAT_STUN_A_REALM, "realm");
		nat_stun_add_str(&b, NAT_STUN_A_NONCE, "nonce");
	}
	if (method == NAT_STUN_ALLOCATE && !code)
		nat_stun_add_xor_addr(&b, NAT_TURN_A_XOR_RELAYED_ADDRESS, &relay);
	if ((method == NAT_STUN_ALLOCATE || method == NAT_STUN_REFRESH) && !code)
		nat_stun_add_u32(&b, NAT_TURN_A_LIFETIME, 600);
	if (sign)
		nat_stun_add_integrity(&b, key, sizeof(key));
	int n = nat_stun_add_fingerprint(&b);
	return n > 0 ? (size_t)n : 0;
}

/* The client brought to one of its states by a well-behaved server. */
static void bring_to(struct nat_turn *t, unsigned st)
{
	struct nat_turn_cfg cfg = { .server_ip = SERVER, .server_port = 3478, .username = "u",
				    .password = "p", .rto = { 100, 3, 2 }, .send = check_sent,
				    .rng = input_tid };
	size_t n;

	if (nat_turn_start(t, &cfg, 0) != 0)
		abort();
	if (st >= 1) {
		n = answer(NAT_STUN_ALLOCATE, NAT_STUN_ERROR_RESP, 401, false);
		if (nat_turn_input(t, ans, n, 1) != 1 || !t->have_key)
			abort();
	}
	if (st >= 2) {
		n = answer(NAT_STUN_ALLOCATE, NAT_STUN_SUCCESS, 0, true);
		if (nat_turn_input(t, ans, n, 2) != 1 || t->state != NAT_TURN_ALLOCATED)
			abort();
	}
	if (st >= 3 && (nat_turn_permit(t, PEER, 3) != 0 ||
			nat_turn_bind_channel(t, PEER, 9, 3) != NAT_TURN_CHANNEL_MIN))
		abort();
	if (st == 4 && nat_turn_tick(t, t->refresh_ms) != NAT_TURN_REFRESHING)
		abort();
	if (st == 5 && (nat_turn_release(t, 4) != 0 || t->state != NAT_TURN_RELEASING))
		abort();
}

/* Recipe: class, method, then (type16, len8, value) records; MESSAGE-
 * INTEGRITY and FINGERPRINT as bits 2 and 3 of the first byte ask. */
static size_t cook(const uint8_t *d, size_t n)
{
	static const uint16_t methods[] = { NAT_STUN_ALLOCATE, NAT_STUN_REFRESH,
					    NAT_STUN_CREATE_PERM, NAT_STUN_CHANNEL_BIND,
					    NAT_STUN_DATA, NAT_STUN_SEND, NAT_STUN_BINDING, 0x0FF };
	struct nat_stun_builder b;

	if (n < 2)
		return 0;
	nat_stun_start(&b, ans, sizeof(ans), (enum nat_stun_class)(d[0] & 3), methods[d[1] & 7],
		       tid_src);
	size_t i = 2;
	while (i + 3 <= n) {
		uint16_t type = (uint16_t)(d[i] << 8 | d[i + 1]);
		size_t len = d[i + 2];
		i += 3;
		if (len > n - i)
			len = n - i;
		nat_stun_add_raw(&b, type, d + i, len);
		i += len;
	}
	if (d[0] & 4)
		nat_stun_add_integrity(&b, key, sizeof(key));
	int r = (d[0] & 8) ? nat_stun_add_fingerprint(&b) : (int)b.len;
	return r > 0 && !b.failed ? (size_t)r : 0;
}

static void check_invariants(const struct nat_turn *t)
{
	if (!nat_turn_state_name(t->state) || !nat_turn_error_name(t->error) ||
	    !nat_turn_code_name(t->error_code) || strlen(t->reason) >= sizeof(t->reason))
		abort();
	if ((t->state == NAT_TURN_ALLOCATED || t->state == NAT_TURN_REFRESHING) &&
	    (t->relayed.family != NAT_STUN_FAM_IPV4 || !t->lifetime_s))
		abort();
	for (size_t i = 0; i < NAT_TURN_MAX_CHANNELS; i++)
		if (t->chans[i].state != NAT_TURN_PEER_FREE &&
		    (t->chans[i].channel < NAT_TURN_CHANNEL_MIN ||
		     t->chans[i].channel > NAT_TURN_CHANNEL_MAX))
			abort();
}

static void run_client(const uint8_t *d, size_t n)
{
	static struct nat_turn t;
	static const uint8_t zero[NAT_STUN_TID_LEN];
	static const uint64_t later[] = { 0, 100, 1000, 300000, 540000, 600000, 900000 };
	unsigned st = (d[0] & 7) % 6;
	const uint8_t *msg = d + 1;
	size_t len = n - 1;
	bool cooked = d[0] & 0x80;

	tid_src = !cooked && len >= NAT_STUN_HDR_LEN ? msg + 8 : zero;
	bring_to(&t, st);
	uint64_t base = st == 4 ? t.refresh_ms + 10 : 10;
	if (cooked) {
		len = cook(msg, len);
		msg = ans;
	}
	nat_turn_input(&t, msg, len, base);
	check_invariants(&t);
	for (size_t i = 0; i < sizeof(later) / sizeof(later[0]); i++) {
		uint64_t now = base + later[i];
		/* ticks at one time come to rest: nothing left due */
		for (int k = 0; nat_turn_deadline(&t) <= now; k++) {
			if (k == 1000)
				abort();
			nat_turn_tick(&t, now);
		}
		check_invariants(&t);
	}
}

static bool inside(const uint8_t *p, size_t plen, const uint8_t *buf, size_t len)
{
	return p >= buf && plen <= len && (size_t)(p - buf) <= len - plen;
}

static void unwrap(const uint8_t *d, size_t n)
{
	static uint8_t out[70000];
	static struct nat_turn t;
	struct nat_stun_addr peer, back;
	struct nat_stun_msg m;
	const uint8_t *p;
	size_t plen;
	uint16_t ch, l;

	if (nat_turn_unwrap_channel(d, n, &ch, &p, &plen) == 0 &&
	    (!inside(p, plen, d, n) || ch < NAT_TURN_CHANNEL_MIN || ch > NAT_TURN_CHANNEL_MAX))
		abort();
	if (nat_turn_unwrap_data(d, n, &peer, &p, &plen) == 0 &&
	    (!inside(p, plen, d, n) || !peer.family))
		abort();
	/* ChannelData and Send round trips of the input as a payload */
	uint16_t chan = (uint16_t)(NAT_TURN_CHANNEL_MIN + (n & 0xFFF));
	int w = nat_turn_wrap_channel(chan, d, n, out, sizeof(out));
	if ((w < 0) != (n > 0xFFFF))
		abort();
	if (w >= 0 && (nat_turn_unwrap_channel(out, (size_t)w, &ch, &p, &plen) != 0 ||
		       ch != chan || plen != n || memcmp(p, d, n) != 0))
		abort();
	peer = (struct nat_stun_addr){ .family = NAT_STUN_FAM_IPV4, .port = (uint16_t)n,
				       .ip4 = PEER };
	w = nat_turn_wrap_send(&t, &peer, d, n, out, sizeof(out));
	if (w < 0 && n <= 1000)
		abort();
	if (w >= 0 && (nat_stun_parse(out, (size_t)w, &m) != 0 ||
		       nat_stun_find_xor_addr(&m, NAT_TURN_A_XOR_PEER_ADDRESS, &back) != 0 ||
		       back.ip4 != PEER || back.port != peer.port ||
		       !(p = nat_stun_find(&m, NAT_TURN_A_DATA, &l)) || l != n ||
		       memcmp(p, d, n) != 0))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static bool have_key;

	if (!have_key && nat_stun_long_term_key("u", "realm", "p", key) != 0)
		abort();
	have_key = true;
	unwrap(d, n);
	if (n >= 1)
		run_client(d, n);
	return 0;
}
