/* SPDX-License-Identifier: BSD-3-Clause
 * The transaction table. libosip2 keeps its transactions in linked lists
 * that every lookup, every execute pass and every timer pass walks, so its
 * cost per message grows with the transactions alive (a non-INVITE server
 * transaction lingers 32 s over UDP). Here each transaction is taken out of
 * libosip2's lists as soon as it is made and kept in a hash (RFC 3261
 * 17.1.3/17.2.3 matching keys), a ready list (transactions with events to
 * run) and a min-heap on the next timer. A due transaction is put back into
 * libosip2's list for one osip_timers_*_execute call, so the timer events
 * are still libosip2's own. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cp_sip_priv.h"

#define TX_MAGIC "z9hG4bK"

static osip_list_t *osip_list_of(osip_t *o, osip_fsm_type_t type)
{
	switch (type) {
	case ICT: return &o->osip_ict_transactions;
	case IST: return &o->osip_ist_transactions;
	case NICT: return &o->osip_nict_transactions;
	default: return &o->osip_nist_transactions;
	}
}

/* "S|INVITE|branch|host:port" (server) or "C|BYE|branch" (client). A branch
 * without the RFC 3261 cookie (RFC 2543 peers) is keyed on Call-ID, From
 * tag and CSeq number instead. ACK matches the INVITE's transaction. */
static char *tx_key(bool server, const char *method, const osip_via_t *via,
		    const osip_call_id_t *cid, osip_from_t *from, const osip_cseq_t *cseq)
{
	osip_generic_param_t *br = NULL;
	const char *b = NULL;
	char *k = NULL;
	int n;

	if (!via || !method)
		return NULL;
	if (strcmp(method, "ACK") == 0)
		method = "INVITE";
	osip_via_param_get_byname((osip_via_t *)via, "branch", &br);
	if (br && br->gvalue && strncmp(br->gvalue, TX_MAGIC, sizeof(TX_MAGIC) - 1) == 0)
		b = br->gvalue;
	if (!server)
		n = b ? asprintf(&k, "C|%s|%s", method, b) : -1;
	else if (b)
		n = asprintf(&k, "S|%s|%s|%s:%s", method, b, via->host ? via->host : "",
			     via->port ? via->port : "");
	else if (cid && cid->number && cseq && cseq->number)
		n = asprintf(&k, "O|%s|%s@%s|%s|%s|%s:%s", method, cid->number,
			     cid->host ? cid->host : "", from ? cp_sip_msg_tag(from) ?: "" : "",
			     cseq->number, via->host ? via->host : "", via->port ? via->port : "");
	else
		n = -1;
	return n < 0 ? NULL : k;
}

static struct cp_sip_txd **bucket(struct cp_sip *s, const char *key)
{
	return &s->thash[cp_sip_hash_str(key) & s->thash_mask];
}

static void grow(struct cp_sip *s)
{
	unsigned nb = (s->thash_mask + 1) * 2;
	struct cp_sip_txd **nh = calloc(nb, sizeof(*nh));

	if (!nh)
		return; /* longer chains, still correct */
	for (unsigned i = 0; i <= s->thash_mask; i++)
		for (struct cp_sip_txd *t = s->thash[i], *n; t; t = n) {
			n = t->hnext;
			unsigned b = cp_sip_hash_str(t->key) & (nb - 1);

			t->hnext = nh[b];
			nh[b] = t;
		}
	free(s->thash);
	s->thash = nh;
	s->thash_mask = nb - 1;
}

int cp_sip_tx_adopt(struct cp_sip *s, osip_transaction_t *tr, struct cp_sip_txd *t)
{
	bool server = tr->ctx_type == IST || tr->ctx_type == NIST;

	osip_remove_transaction(s->osip, tr);
	t->tr = tr;
	t->heap_idx = UINT32_MAX;
	osip_transaction_set_reserved1(tr, t);
	t->key = tx_key(server, tr->cseq ? tr->cseq->method : NULL, tr->topvia, tr->callid,
			tr->from, tr->cseq);
	if (!t->key && server) {
		t->tr = NULL; /* not adopted: cp_sip_tx_free frees it as libosip2's */
		return -1;
	}
	if (t->key) {
		struct cp_sip_txd **b;

		if (s->n_tx >= s->thash_mask + 1)
			grow(s);
		b = bucket(s, t->key);
		t->hnext = *b;
		*b = t;
	}
	t->all_next = s->tx_all;
	t->all_prev = NULL;
	if (s->tx_all)
		s->tx_all->all_prev = t;
	s->tx_all = t;
	s->n_tx++;
	return 0;
}

osip_transaction_t *cp_sip_tx_find(struct cp_sip *s, osip_message_t *m, const char *method)
{
	bool server = MSG_IS_REQUEST(m);
	char *key = tx_key(server, method ? method : m->cseq->method, osip_list_get(&m->vias, 0),
			   m->call_id, m->from, m->cseq);
	struct cp_sip_txd *t;

	if (!key)
		return NULL;
	for (t = *bucket(s, key); t; t = t->hnext)
		if (strcmp(t->key, key) == 0)
			break;
	free(key);
	return t ? t->tr : NULL;
}

/* ---- timer heap (on due_ms) ---- */

static void heap_set(struct cp_sip *s, unsigned i, struct cp_sip_txd *t)
{
	s->heap[i] = t;
	t->heap_idx = i;
}

static void heap_up(struct cp_sip *s, unsigned i)
{
	struct cp_sip_txd *t = s->heap[i];

	while (i > 0) {
		unsigned p = (i - 1) / 2;

		if (s->heap[p]->due_ms <= t->due_ms)
			break;
		heap_set(s, i, s->heap[p]);
		i = p;
	}
	heap_set(s, i, t);
}

static void heap_down(struct cp_sip *s, unsigned i)
{
	struct cp_sip_txd *t = s->heap[i];

	for (;;) {
		unsigned c = 2 * i + 1;

		if (c >= s->heap_n)
			break;
		if (c + 1 < s->heap_n && s->heap[c + 1]->due_ms < s->heap[c]->due_ms)
			c++;
		if (s->heap[c]->due_ms >= t->due_ms)
			break;
		heap_set(s, i, s->heap[c]);
		i = c;
	}
	heap_set(s, i, t);
}

static void heap_remove(struct cp_sip *s, struct cp_sip_txd *t)
{
	unsigned i = t->heap_idx;

	if (i == UINT32_MAX)
		return;
	t->heap_idx = UINT32_MAX;
	if (--s->heap_n == i)
		return;
	struct cp_sip_txd *last = s->heap[s->heap_n];

	heap_set(s, i, last);
	heap_down(s, i);
	if (last->heap_idx == i)
		heap_up(s, i);
}

static void heap_put(struct cp_sip *s, struct cp_sip_txd *t, uint64_t due)
{
	if (t->heap_idx != UINT32_MAX) {
		uint64_t old = t->due_ms;

		t->due_ms = due;
		if (due < old)
			heap_up(s, t->heap_idx);
		else
			heap_down(s, t->heap_idx);
		return;
	}
	if (s->heap_n == s->heap_cap) {
		unsigned cap = s->heap_cap ? s->heap_cap * 2 : 1024;
		struct cp_sip_txd **nh = realloc(s->heap, cap * sizeof(*nh));

		if (!nh)
			return; /* no timer: the transaction ends when its dialog does */
		s->heap = nh;
		s->heap_cap = cap;
	}
	t->due_ms = due;
	heap_set(s, s->heap_n++, t);
	heap_up(s, s->heap_n - 1);
}

static uint64_t tv_ms(const struct timeval *tv)
{
	return (uint64_t)tv->tv_sec * 1000u + (uint64_t)tv->tv_usec / 1000u;
}

static void tv_min(uint64_t *due, const struct timeval *tv)
{
	if (tv->tv_sec == -1)
		return;
	/* libosip2 fires when now > start: one ms after it */
	uint64_t ms = tv->tv_sec < 0 ? 0 : tv_ms(tv) + 1;

	if (ms < *due)
		*due = ms;
}

/* The next timer of tr in gettimeofday ms (the states libosip2 looks at), or
 * UINT64_MAX. */
static uint64_t tx_due(const osip_transaction_t *tr)
{
	uint64_t due = UINT64_MAX;

	switch (tr->ctx_type) {
	case ICT:
		if (tr->state == ICT_CALLING) {
			tv_min(&due, &tr->ict_context->timer_a_start);
			tv_min(&due, &tr->ict_context->timer_b_start);
		} else if (tr->state == ICT_COMPLETED) {
			tv_min(&due, &tr->ict_context->timer_d_start);
		}
		break;
	case IST:
		if (tr->state == IST_COMPLETED) {
			tv_min(&due, &tr->ist_context->timer_g_start);
			tv_min(&due, &tr->ist_context->timer_h_start);
		} else if (tr->state == IST_CONFIRMED) {
			tv_min(&due, &tr->ist_context->timer_i_start);
		}
		break;
	case NICT:
		if (tr->state == NICT_TRYING || tr->state == NICT_PROCEEDING) {
			tv_min(&due, &tr->nict_context->timer_e_start);
			tv_min(&due, &tr->nict_context->timer_f_start);
		} else if (tr->state == NICT_COMPLETED) {
			tv_min(&due, &tr->nict_context->timer_k_start);
		}
		break;
	default:
		if (tr->state == NIST_COMPLETED)
			tv_min(&due, &tr->nist_context->timer_j_start);
		break;
	}
	return due;
}

static uint64_t wall_ms(void)
{
	struct timeval tv;

	osip_gettimeofday(&tv, NULL);
	return tv_ms(&tv);
}

static void reschedule(struct cp_sip *s, struct cp_sip_txd *t, uint64_t now)
{
	uint64_t due = tx_due(t->tr);

	if (due == UINT64_MAX) {
		heap_remove(s, t);
		return;
	}
	if (due <= now)
		due = now + 1; /* a timer libosip2 did not fire: look again soon */
	heap_put(s, t, due);
}

/* ---- ready list and execution ---- */

static void mark_ready(struct cp_sip *s, struct cp_sip_txd *t)
{
	if (t->ready)
		return;
	t->ready = true;
	t->rnext = NULL;
	if (s->ready_tail)
		s->ready_tail->rnext = t;
	else
		s->ready_head = t;
	s->ready_tail = t;
}

void cp_sip_tx_event(struct cp_sip *s, osip_transaction_t *tr, osip_event_t *ev)
{
	struct cp_sip_txd *t = osip_transaction_get_reserved1(tr);

	if (!ev)
		return;
	osip_transaction_add_event(tr, ev);
	if (t)
		mark_ready(s, t);
}

void cp_sip_tx_run(struct cp_sip *s)
{
	uint64_t now = wall_ms();
	struct cp_sip_txd *t;

	while ((t = s->ready_head) != NULL) {
		osip_event_t *ev;

		s->ready_head = t->rnext;
		if (!s->ready_head)
			s->ready_tail = NULL;
		t->ready = false;
		while (!t->dead && (ev = osip_fifo_tryget(t->tr->transactionff)) != NULL)
			osip_transaction_execute(t->tr, ev);
		if (!t->dead)
			reschedule(s, t, now);
	}
}

void cp_sip_tx_timers(struct cp_sip *s)
{
	uint64_t now = wall_ms();
	osip_fsm_type_t used[4];
	unsigned n_used = 0;

	if (s->heap_n == 0 || s->heap[0]->due_ms > now)
		return;
	/* the due ones go back into libosip2's lists for one timer pass */
	struct cp_sip_txd *due = NULL;

	while (s->heap_n > 0 && s->heap[0]->due_ms <= now) {
		struct cp_sip_txd *t = s->heap[0];
		osip_list_t *l = osip_list_of(s->osip, t->tr->ctx_type);
		bool seen = false;

		heap_remove(s, t);
		osip_list_add(l, t->tr, -1);
		for (unsigned i = 0; i < n_used; i++)
			seen |= used[i] == t->tr->ctx_type;
		if (!seen)
			used[n_used++] = t->tr->ctx_type;
		t->tnext = due;
		due = t;
	}
	for (unsigned i = 0; i < n_used; i++) {
		osip_list_t *l = osip_list_of(s->osip, used[i]);

		if (used[i] == ICT)
			osip_timers_ict_execute(s->osip);
		else if (used[i] == IST)
			osip_timers_ist_execute(s->osip);
		else if (used[i] == NICT)
			osip_timers_nict_execute(s->osip);
		else
			osip_timers_nist_execute(s->osip);
		while (osip_list_size(l) > 0)
			osip_list_remove(l, 0);
	}
	for (; due; due = due->tnext)
		mark_ready(s, due);
}

uint64_t cp_sip_tx_next_ms(const struct cp_sip *s)
{
	if (s->heap_n == 0)
		return UINT64_MAX;
	uint64_t now = wall_ms(), due = s->heap[0]->due_ms;

	return due > now ? due - now : 0;
}

bool cp_sip_tx_busy(const struct cp_sip *s)
{
	return s->ready_head != NULL;
}

/* ---- end of a transaction ---- */

static void unlink_tx(struct cp_sip *s, struct cp_sip_txd *t)
{
	if (t->key) {
		for (struct cp_sip_txd **p = bucket(s, t->key); *p; p = &(*p)->hnext)
			if (*p == t) {
				*p = t->hnext;
				break;
			}
		free(t->key);
		t->key = NULL;
	}
	heap_remove(s, t);
	if (t->ready) {
		struct cp_sip_txd *prev = NULL;

		for (struct cp_sip_txd *r = s->ready_head; r; prev = r, r = r->rnext)
			if (r == t) {
				if (prev)
					prev->rnext = r->rnext;
				else
					s->ready_head = r->rnext;
				if (s->ready_tail == t)
					s->ready_tail = prev;
				break;
			}
		t->ready = false;
	}
	if (t->all_prev)
		t->all_prev->all_next = t->all_next;
	else
		s->tx_all = t->all_next;
	if (t->all_next)
		t->all_next->all_prev = t->all_prev;
	s->n_tx--;
}

void cp_sip_tx_kill(struct cp_sip *s, osip_transaction_t *tr)
{
	struct cp_sip_txd *t = osip_transaction_get_reserved1(tr);

	if (t) {
		t->dead = true;
		heap_remove(s, t);
	}
}

void cp_sip_tx_free(struct cp_sip *s, osip_transaction_t *tr)
{
	struct cp_sip_txd *t = osip_transaction_get_reserved1(tr);

	if (!t || !t->tr) {
		/* never adopted: still in libosip2's list */
		free(t);
		osip_transaction_set_reserved1(tr, NULL);
		osip_transaction_free(tr);
		return;
	}
	unlink_tx(s, t);
	free(t);
	osip_transaction_set_reserved1(tr, NULL);
	osip_transaction_free2(tr);
}

void cp_sip_tx_free_all(struct cp_sip *s)
{
	while (s->tx_all)
		cp_sip_tx_free(s, s->tx_all->tr);
	free(s->thash);
	free(s->heap);
	s->thash = NULL;
	s->heap = NULL;
}

int cp_sip_tx_init(struct cp_sip *s, unsigned buckets)
{
	s->thash = calloc(buckets, sizeof(*s->thash));
	s->thash_mask = buckets - 1;
	return s->thash ? 0 : -1;
}
