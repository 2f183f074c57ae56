/* SPDX-License-Identifier: BSD-3-Clause
 * One STUN Binding client transaction: see nat_bind.h. */
#include <string.h>
#include <sys/random.h>

#include "nat_bind.h"
#include "nat_name_priv.h"

static int os_random(void *arg, uint8_t *buf, size_t len)
{
	(void)arg;
	return getrandom(buf, len, 0) == (ssize_t)len ? 0 : -1;
}

int nat_bind_init(struct nat_bind *t, const struct nat_rto *rto, nat_rng_fn rng, void *rng_arg)
{
	struct nat_rto r = rto && rto->rto_ms ? *rto : NAT_RTO_RFC8489;

	memset(t, 0, sizeof(*t));
	if (!r.rc || r.rc > NAT_RTO_MAX_RC || !r.rm)
		return -1;
	t->rto = r;
	t->rng = rng ? rng : os_random;
	t->rng_arg = rng_arg;
	return 0;
}

static int build_request(struct nat_bind *t, uint32_t change)
{
	struct nat_stun_builder b;

	nat_stun_start(&b, t->req, sizeof(t->req), NAT_STUN_REQUEST, NAT_STUN_BINDING, t->tid);
	if (change)
		nat_stun_add_u32(&b, NAT_STUN_A_CHANGE_REQUEST, change);
	/* FINGERPRINT lets the peer tell STUN from media sharing the port */
	int len = nat_stun_add_fingerprint(&b);
	if (len < 0)
		return -1;
	t->req_len = (uint16_t)len;
	return 0;
}

int nat_bind_start(struct nat_bind *t, uint32_t dst_ip, uint16_t dst_port, uint32_t change,
		   uint64_t now_ms)
{
	*t = (struct nat_bind){ .rto = t->rto, .rng = t->rng, .rng_arg = t->rng_arg };
	if (t->rng(t->rng_arg, t->tid, sizeof(t->tid)) != 0 || build_request(t, change) != 0)
		return -1;
	t->dst_ip = dst_ip;
	t->dst_port = dst_port;
	t->next_ms = now_ms;
	t->wait_ms = t->rto.rto_ms;
	t->state = NAT_BIND_RUNNING;
	return 0;
}

int nat_bind_tick(struct nat_bind *t, uint64_t now_ms, const uint8_t **msg, size_t *len)
{
	if (t->state != NAT_BIND_RUNNING || now_ms < t->next_ms)
		return 0;
	if (t->sent == t->rto.rc) {
		t->state = NAT_BIND_TIMEOUT;
		return 0;
	}
	t->sent++;
	t->next_ms += t->sent == t->rto.rc ? (uint64_t)t->rto.rm * t->rto.rto_ms : t->wait_ms;
	t->wait_ms *= 2;
	*msg = t->req;
	*len = t->req_len;
	return 1;
}

uint64_t nat_bind_deadline(const struct nat_bind *t)
{
	return t->state == NAT_BIND_RUNNING ? t->next_ms : UINT64_MAX;
}

static bool answers(const struct nat_bind *t, const struct nat_stun_msg *m)
{
	return t->state == NAT_BIND_RUNNING && !m->classic && m->method == NAT_STUN_BINDING &&
	       (m->cls == NAT_STUN_SUCCESS || m->cls == NAT_STUN_ERROR_RESP) &&
	       memcmp(m->tid, t->tid, sizeof(t->tid)) == 0;
}

int nat_bind_input(struct nat_bind *t, const struct nat_stun_msg *m)
{
	if (!answers(t, m))
		return 0;
	t->other = m->other_address;
	t->origin = m->response_origin;
	if (m->cls == NAT_STUN_ERROR_RESP) {
		t->error_code = m->error_code;
		t->state = NAT_BIND_ERROR;
		return 1;
	}
	t->mapped = m->xor_mapped.family ? m->xor_mapped : m->mapped;
	/* RFC 8489 6.3.3: unknown comprehension-required attributes in a
	 * success response fail the transaction */
	t->state = t->mapped.family && !m->n_unknown ? NAT_BIND_OK : NAT_BIND_ERROR;
	return 1;
}

const char *nat_bind_state_name(enum nat_bind_state s)
{
	static const char *const names[] = {
		[NAT_BIND_IDLE] = "idle", [NAT_BIND_RUNNING] = "running", [NAT_BIND_OK] = "ok",
		[NAT_BIND_ERROR] = "error", [NAT_BIND_TIMEOUT] = "timeout",
	};

	return NAT_NAME_OF(names, s);
}
