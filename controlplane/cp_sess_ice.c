/* SPDX-License-Identifier: BSD-3-Clause
 * ICE for SIPREC calls (nat.ice full | lite): an offer's ICE attributes (RFC 8839)
 * give each of its media streams an agent (nat/nat_ice.h, controlled unless the SRC
 * is lite); the answer carries our credentials and candidates (host, and
 * server-reflexive behind NAT); connectivity checks arrive on the punt rings and
 * leave through the TX-request ring from the stream's own ports; once a stream's
 * pairs are selected its flows take media from the selected remote address only.
 * A stream that goes through a TURN relay has relayed candidates too: checks from them
 * leave as Send indications (or ChannelData) through the relay, and the peer's checks to
 * them come back unwrapped by the workers, punted with DP_PUNT_VIA_RELAY. Inside an
 * agent a candidate's base is named by a port number (nat_ice.h): the host ports for
 * host and server-reflexive candidates, the relayed port for a relayed one. */
#include <stdlib.h>
#include <string.h>

#include "config/cfg_log.h"
#include "cp_sess_ice.h"
#include "cp_session_priv.h"
#include "nat/nat_ice.h"

#define CP_ICE_PORTS 65536u

struct cp_ice_stream {
	struct cp_sess_ice *owner;
	unsigned idx;                /* stream index */
	bool started;
	uint32_t applied_ip;         /* the selected remote the flows were keyed on */
	uint16_t applied_port, applied_rtcp_port;
	struct nat_ice a;
};

struct cp_sess_ice {
	struct cp_session *s;
	struct cp_sess_ice *prev, *next;     /* ss->ice_list */
	struct nat_ice_sdp *remote[CP_SESS_STREAMS]; /* an offer's, until the agent starts */
	struct cp_ice_stream *st[CP_SESS_STREAMS];
};

static struct cp_sess_ice *cp_ice_of(struct cp_ctx *cp, struct cp_session *s)
{
	struct cp_sessions *ss = cp->sess;
	struct cp_sess_ice *x = s->ice;

	if (x != NULL)
		return x;
	if (ss->ice_port == NULL && (ss->ice_port = calloc(CP_ICE_PORTS, sizeof(*ss->ice_port))) == NULL)
		return NULL;
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return NULL;
	x->s = s;
	x->next = ss->ice_list;
	if (x->next != NULL)
		x->next->prev = x;
	ss->ice_list = x;
	s->ice = x;
	return x;
}

/* The ICE attributes of the offer's session level and of each m= section. */
static int cp_ice_parse(const char *sdp, size_t len, struct nat_ice_sdp *sess,
			struct nat_ice_sdp *media, unsigned n_media)
{
	struct nat_ice_sdp *cur = sess;
	int m = -1;

	nat_ice_sdp_init(sess);
	for (unsigned i = 0; i < n_media; i++)
		nat_ice_sdp_init(&media[i]);
	for (size_t p = 0; p < len;) {
		const char *line = sdp + p, *nl = memchr(line, '\n', len - p);
		size_t l = nl ? (size_t)(nl - line) : len - p;

		p += l + (nl != NULL);
		if (l > 0 && line[l - 1] == '\r')
			l--;
		if (l >= 2 && line[0] == 'm' && line[1] == '=') {
			m++;
			cur = (unsigned)m < n_media ? &media[m] : NULL;
		} else if (cur != NULL && l > 2 && line[0] == 'a' && line[1] == '=') {
			(void)nat_ice_sdp_parse_line(cur, line, l); /* bad candidates: skipped */
		}
	}
	for (unsigned i = 0; i < n_media; i++)
		nat_ice_sdp_inherit(&media[i], sess);
	return m + 1;
}

int cp_sess_ice_offer(struct cp_ctx *cp, struct cp_session *s, const char *sdp, size_t len)
{
	struct nat_ice_sdp *all;
	struct cp_sess_ice *x;
	unsigned n = s->offer.n_streams;

	if (cp->cfg->nat.ice_mode == CFG_ICE_OFF || sdp == NULL || n == 0)
		return 0;
	if ((all = calloc(n + 1, sizeof(*all))) == NULL)
		return -1;
	cp_ice_parse(sdp, len, &all[0], &all[1], n);
	for (unsigned i = 0; i < n; i++) {
		if (!s->streams[i].in_use || !nat_ice_sdp_usable(&all[i + 1]))
			continue;
		if ((x = cp_ice_of(cp, s)) == NULL)
			break;
		if (x->st[i] != NULL || x->remote[i] != NULL)
			continue; /* an agent runs: a re-offer keeps it (no ICE restart) */
		if ((x->remote[i] = malloc(sizeof(*x->remote[i]))) != NULL)
			*x->remote[i] = all[i + 1];
	}
	free(all);
	return 0;
}

static void cp_ice_send(void *arg, uint16_t local_port, uint32_t dst_ip, uint16_t dst_port,
			const uint8_t *msg, size_t len)
{
	struct cp_ice_stream *is = arg;
	struct cp_session *s = is->owner->s;
	const struct cp_stream *st = &s->streams[is->idx];
	struct cp_udp_addr a = { cp_sess_local_ip(s->cp->sess, s), dst_ip, local_port, dst_port };
	int rel = !st->relayed ? -1 : local_port == st->relay_port ? 0
		: !st->rtcp_mux && local_port == st->relay_rtcp_port ? 1 : -1;
	int rc;

	if (rel >= 0) /* from a relayed candidate: through that port's relay */
		rc = cp_nat_relay_send(s->cp->nat, st->relay[rel], dst_ip, dst_port, msg, len);
	else
		rc = cp_udp_send(s->cp, &a, msg, len);
	if (rc != 0)
		s->cp->sess->ice.tx_dropped++;
}

/* The selected pairs (all components): the stream's flows keyed on them. */
static void cp_ice_apply(struct cp_ice_stream *is)
{
	struct cp_session *s = is->owner->s;
	struct cp_ctx *cp = s->cp;
	struct cp_stream *st = &s->streams[is->idx];
	const struct nat_ice_pair *p1 = nat_ice_selected(&is->a, 1);
	const struct nat_ice_pair *p2 = nat_ice_selected(&is->a, 2);
	const struct nat_ice_cand *r1, *r2;

	if (p1 == NULL || (is->a.cfg.components == 2 && p2 == NULL) || !st->in_use ||
	    s->state == CP_SESS_CLOSING)
		return;
	r1 = &is->a.remote[p1->remote];
	r2 = p2 ? &is->a.remote[p2->remote] : NULL;
	if (r1->ip == is->applied_ip && r1->port == is->applied_port &&
	    (r2 == NULL || r2->port == is->applied_rtcp_port))
		return;
	is->applied_ip = r1->ip;
	is->applied_port = r1->port;
	is->applied_rtcp_port = r2 ? r2->port : 0;
	LOG_INFO("session %s stream %s: ICE selected %s -> %u.%u.%u.%u:%u", s->id, st->label,
		 nat_ice_type_name((enum nat_ice_type)is->a.local[p1->local].type), r1->ip >> 24,
		 (r1->ip >> 16) & 255, (r1->ip >> 8) & 255, r1->ip & 255, r1->port);
	cp_sess_flows_rekey(cp, s, is->idx, r1->ip, r1->port, r2 ? r2->port : 0);
}

static void cp_ice_event(void *arg, enum nat_ice_event ev, unsigned component)
{
	struct cp_ice_stream *is = arg;
	struct cp_session *s = is->owner->s;
	struct cp_ice_totals *t = &s->cp->sess->ice;

	(void)component;
	switch (ev) {
	case NAT_ICE_EV_SELECTED:
		cp_ice_apply(is);
		break;
	case NAT_ICE_EV_STATE:
		if (is->a.state == NAT_ICE_COMPLETED)
			t->completed++;
		else if (is->a.state == NAT_ICE_FAILED && !is->a.consent_lost)
			t->failed++;
		if (is->a.state == NAT_ICE_FAILED)
			LOG_WARN("session %s stream %s: ICE failed%s", s->id,
				 s->streams[is->idx].label,
				 is->a.consent_lost ? " (consent lost)" : "");
		break;
	case NAT_ICE_EV_CONSENT_LOST:
		t->consent_lost++;
		break;
	}
}

/* Our candidates for stream i: host (and RTCP's without rtcp-mux), and the answered
 * address when it is another (the NAT's): server-reflexive with the host as base. */
static void cp_ice_locals(struct cp_ctx *cp, struct cp_session *s, unsigned i, uint32_t ans_ip,
			  uint16_t ans_port, uint16_t ans_rtcp, struct nat_ice *a)
{
	const struct cp_stream *st = &s->streams[i];
	uint32_t host = cp_sess_local_ip(cp->sess, s);

	for (unsigned c = 1; c <= a->cfg.components; c++) {
		struct nat_ice_cand k;
		uint16_t port = (uint16_t)(st->port + c - 1);

		memset(&k, 0, sizeof(k));
		k.type = NAT_ICE_HOST;
		k.component = (uint16_t)c;
		k.ip = host;
		k.port = port;
		(void)nat_ice_add_local(a, &k);
		if ((c == 1 ? st->relay_ip : st->relay_rtcp_ip) != 0) {
			k.type = NAT_ICE_RELAY;
			k.ip = c == 1 ? st->relay_ip : st->relay_rtcp_ip;
			k.port = c == 1 ? st->relay_port : st->relay_rtcp_port;
			k.server_ip = k.ip; /* its base is itself (nat_ice.h) */
			(void)nat_ice_add_local(a, &k);
			memset(&k, 0, sizeof(k));
			k.component = (uint16_t)c;
		}
		if (ans_ip == host || ans_ip == st->relay_ip || ans_ip == st->relay_rtcp_ip)
			continue;
		k.type = NAT_ICE_SRFLX;
		k.ip = ans_ip;
		k.port = c == 1 ? ans_port : ans_rtcp ? ans_rtcp : (uint16_t)(ans_port + 1);
		k.base_ip = host;
		k.base_port = port;
		k.server_ip = cp->cfg->nat.has_stun ? cp->cfg->nat.stun.ip : ans_ip;
		(void)nat_ice_add_local(a, &k);
	}
}

static struct cp_ice_stream *cp_ice_start(struct cp_ctx *cp, struct cp_sess_ice *x, unsigned i,
					  uint32_t ans_ip, uint16_t ans_port, uint16_t ans_rtcp)
{
	struct cp_session *s = x->s;
	struct cp_sessions *ss = cp->sess;
	const struct cp_stream *st = &s->streams[i];
	struct cp_ice_stream *is = calloc(1, sizeof(*is));
	struct nat_ice_cfg c;

	if (is == NULL)
		return NULL;
	memset(&c, 0, sizeof(c));
	c.role = NAT_ICE_CONTROLLED;
	c.lite = cp->cfg->nat.ice_mode == CFG_ICE_LITE;
	c.consent_timeout_ms = cp->cfg->nat.ice_consent_timeout_s * 1000u;
	c.components = st->rtcp_mux ? 1 : 2;
	c.send = cp_ice_send;
	c.send_arg = is;
	c.on_event = cp_ice_event;
	c.event_arg = is;
	is->owner = x;
	is->idx = i;
	if (nat_ice_init(&is->a, &c) != 0) {
		free(is);
		return NULL;
	}
	cp_ice_locals(cp, s, i, ans_ip, ans_port, ans_rtcp, &is->a);
	if (nat_ice_start(&is->a, x->remote[i], cp_now_ms()) != 0) {
		free(is);
		return NULL;
	}
	is->started = true;
	ss->ice_port[st->port] = s;
	if (c.components == 2)
		ss->ice_port[(uint16_t)(st->port + 1)] = s;
	ss->ice.agents++;
	ss->ice_next_ms = 0;
	return is;
}

int cp_sess_sdp_insert(char *buf, size_t cap, int len, size_t off, const char *text, int n)
{
	if (n <= 0)
		return len;
	if ((size_t)len + (size_t)n + 1 > cap)
		return -1;
	memmove(buf + off + (size_t)n, buf + off, (size_t)len - off + 1);
	memcpy(buf + off, text, (size_t)n);
	return len + n;
}

size_t cp_sess_sdp_section_end(const char *sdp, size_t len, int idx)
{
	int m = -1;

	for (size_t p = 0; p < len;) {
		if (p + 1 < len && sdp[p] == 'm' && sdp[p + 1] == '=' && ++m == idx + 1)
			return p;
		const char *nl = memchr(sdp + p, '\n', len - p);
		p = nl ? (size_t)(nl - sdp) + 1 : len;
	}
	return len;
}

int cp_sess_ice_answer(struct cp_ctx *cp, struct cp_session *s, const uint32_t *conn,
		       const uint16_t *ports, const uint16_t *rtcp, char *sdp, size_t cap, int len)
{
	struct cp_sess_ice *x = s->ice;
	char lines[4096];
	bool any = false;

	if (x == NULL || len < 0)
		return len;
	/* from the last m= section back, so earlier offsets stay valid */
	for (int i = (int)s->offer.n_streams - 1; i >= 0 && len >= 0; i--) {
		struct cp_ice_stream *is = x->st[i];
		const struct cp_stream *st = &s->streams[i];
		int n;

		if (is == NULL && x->remote[i] != NULL && st->in_use) {
			is = x->st[i] = cp_ice_start(cp, x, (unsigned)i, conn[i], ports[i],
						     rtcp ? rtcp[i] : 0);
			free(x->remote[i]);
			x->remote[i] = NULL;
		}
		if (is == NULL || !st->in_use)
			continue;
		any = true;
		n = nat_ice_sdp_media_lines(lines, sizeof(lines), is->a.ufrag, is->a.pwd,
					    is->a.local, is->a.n_local);
		len = n < 0 ? -1
			    : cp_sess_sdp_insert(sdp, cap, len, cp_sess_sdp_section_end(sdp, (size_t)len, i),
					    lines, n);
	}
	if (any && len >= 0) {
		int n = nat_ice_sdp_session_lines(lines, sizeof(lines),
						  cp->cfg->nat.ice_mode == CFG_ICE_LITE);
		len = n < 0 ? -1
			    : cp_sess_sdp_insert(sdp, cap, len, cp_sess_sdp_section_end(sdp, (size_t)len, -1),
					    lines, n);
	}
	return len;
}

void cp_sess_ice_relay_moved(struct cp_ctx *cp, struct cp_session *s, unsigned i)
{
	struct cp_ice_stream *is = s->ice != NULL ? s->ice->st[i] : NULL;
	const struct cp_stream *st = &s->streams[i];

	if (is == NULL)
		return; /* no agent, or it starts with the answer: with the new address */
	for (unsigned c = 1; c <= is->a.cfg.components; c++)
		if (nat_ice_move_relay(&is->a, c, c == 1 ? st->relay_ip : st->relay_rtcp_ip,
				       c == 1 ? st->relay_port : st->relay_rtcp_port, cp_now_ms()) != 0)
			LOG_WARN("session %s stream %s: ICE keeps no relayed candidate of component "
				 "%u", s->id, st->label, c);
	cp->sess->ice_next_ms = 0;
}

static void cp_ice_add_totals(struct cp_ice_sums *t, const struct nat_ice_stats *st)
{
	t->checks_sent += st->checks_sent;
	t->requests_answered += st->requests_answered;
	t->requests_refused += st->requests_refused;
	t->dropped += st->dropped;
}

/* Stream i's kept offer and agent gone: its counters into the totals, its ports no
 * longer fed to s. */
static void cp_ice_stream_free(struct cp_sessions *ss, struct cp_session *s, unsigned i)
{
	struct cp_sess_ice *x = s->ice;
	const struct cp_stream *st = &s->streams[i];

	free(x->remote[i]);
	x->remote[i] = NULL;
	if (x->st[i] == NULL)
		return;
	cp_ice_add_totals(&ss->ice.done, &x->st[i]->a.stats);
	for (unsigned c = 0; c < 2; c++)
		if (ss->ice_port[(uint16_t)(st->port + c)] == s)
			ss->ice_port[(uint16_t)(st->port + c)] = NULL;
	free(x->st[i]);
	x->st[i] = NULL;
}

void cp_sess_ice_rollback(struct cp_ctx *cp, struct cp_session *s, unsigned from)
{
	struct cp_sess_ice *x = s->ice;
	bool any = false;

	if (x == NULL)
		return;
	/* an answer starts every kept offer: those there now are the cancelled offer's */
	for (unsigned i = 0; i < CP_SESS_STREAMS; i++) {
		if (i >= from) {
			cp_ice_stream_free(cp->sess, s, i);
		} else {
			free(x->remote[i]);
			x->remote[i] = NULL;
		}
		any = any || x->st[i] != NULL;
	}
	if (!any)
		cp_sess_ice_free(cp, s);
}

void cp_sess_ice_free(struct cp_ctx *cp, struct cp_session *s)
{
	struct cp_sessions *ss = cp->sess;
	struct cp_sess_ice *x = s->ice;

	if (x == NULL)
		return;
	for (unsigned i = 0; i < CP_SESS_STREAMS; i++)
		cp_ice_stream_free(ss, s, i);
	if (x->prev != NULL)
		x->prev->next = x->next;
	else
		ss->ice_list = x->next;
	if (x->next != NULL)
		x->next->prev = x->prev;
	free(x);
	s->ice = NULL;
}

bool cp_sessions_ice_input(struct cp_ctx *cp, uint32_t dst_ip, uint16_t dst_port, uint32_t src_ip,
			   uint16_t src_port, const uint8_t *msg, size_t len, bool via_relay)
{
	struct cp_sessions *ss = cp->sess;
	struct cp_session *s = ss && ss->ice_port ? ss->ice_port[dst_port] : NULL;
	int used = 0;

	if (s == NULL || s->ice == NULL || cp_sess_local_ip(ss, s) != dst_ip)
		return false;
	for (unsigned i = 0; i < s->n_streams && !used; i++) {
		struct cp_ice_stream *is = s->ice->st[i];
		const struct cp_stream *st = &s->streams[i];
		bool rtp = dst_port == st->port;
		if (is == NULL || (!rtp && !(is->a.cfg.components == 2 && dst_port == st->port + 1)))
			continue;
		/* through the relay: the base is the relayed candidate, named by its port */
		used = nat_ice_input(&is->a,
				     via_relay ? (rtp ? st->relay_port : st->relay_rtcp_port) : dst_port,
				     src_ip, src_port, msg, len, cp_now_ms());
	}
	ss->ice_next_ms = 0; /* a triggered check may be due */
	return used != 0;
}

void cp_sessions_ice_poll(struct cp_ctx *cp, uint64_t now)
{
	struct cp_sessions *ss = cp->sess;
	uint64_t next = UINT64_MAX;

	if (ss == NULL || ss->ice_list == NULL || now < ss->ice_next_ms)
		return;
	for (struct cp_sess_ice *x = ss->ice_list; x != NULL; x = x->next)
		for (unsigned i = 0; i < CP_SESS_STREAMS; i++) {
			struct cp_ice_stream *is = x->st[i];
			uint64_t d;
			if (is == NULL)
				continue;
			if (nat_ice_deadline(&is->a) <= now)
				nat_ice_tick(&is->a, now);
			d = nat_ice_deadline(&is->a);
			next = d < next ? d : next;
		}
	ss->ice_next_ms = next;
}

static void cp_ice_types(FILE *f, const char *name, const uint16_t *by_type)
{
	fprintf(f, "\"%s\":{", name);
	for (unsigned t = 0; t < NAT_ICE_N_TYPES; t++)
		fprintf(f, "%s\"%s\":%u", t ? "," : "", nat_ice_type_name((enum nat_ice_type)t),
			by_type[t]);
	fputc('}', f);
}

void cp_sess_ice_json(FILE *f, const struct cp_ctx *cp, const struct cp_session *s, unsigned i)
{
	const struct cp_ice_stream *is = s->ice ? s->ice->st[i] : NULL;
	const struct nat_ice *a;
	const struct nat_ice_pair *p;
	uint16_t local[NAT_ICE_N_TYPES] = { 0 };

	if (is == NULL) {
		fputs(",\"ice\":null", f);
		return;
	}
	a = &is->a;
	p = nat_ice_selected(a, 1);
	for (unsigned k = 0; k < a->n_local; k++)
		local[a->local[k].type < NAT_ICE_N_TYPES ? a->local[k].type : NAT_ICE_HOST]++;
	fprintf(f, ",\"ice\":{\"mode\":\"%s\",\"role\":\"%s\",\"state\":\"%s\",\"remote_lite\":%s,",
		cp->cfg->nat.ice_mode == CFG_ICE_LITE ? "lite" : "full", nat_ice_role_name(a->role),
		nat_ice_state_name(a->state), a->remote_lite ? "true" : "false");
	cp_ice_types(f, "offered", a->stats.offered);
	fputc(',', f);
	cp_ice_types(f, "local", local);
	if (p != NULL) {
		const struct nat_ice_cand *r = &a->remote[p->remote];
		fprintf(f, ",\"selected\":{\"local\":\"%s\",\"remote\":\"%s\",\"ip\":\"%u.%u.%u.%u\","
			"\"port\":%u}", nat_ice_type_name((enum nat_ice_type)a->local[p->local].type),
			nat_ice_type_name((enum nat_ice_type)r->type), r->ip >> 24, (r->ip >> 16) & 255,
			(r->ip >> 8) & 255, r->ip & 255, r->port);
	} else {
		fputs(",\"selected\":null", f);
	}
	if (a->stats.nomination_ms >= 0)
		fprintf(f, ",\"nomination_ms\":%lld", (long long)a->stats.nomination_ms);
	else
		fputs(",\"nomination_ms\":null", f);
	fprintf(f, ",\"checks_sent\":%u,\"checks_ok\":%u,\"requests_answered\":%u,"
		"\"requests_refused\":%u,\"prflx_remote\":%u,\"role_conflicts\":%u,"
		"\"consent_lost\":%s}", a->stats.checks_sent, a->stats.checks_ok,
		a->stats.requests_answered, a->stats.requests_refused, a->stats.prflx_remote,
		a->stats.role_conflicts, a->consent_lost ? "true" : "false");
}

void cp_sessions_ice_print(const struct cp_ctx *cp, FILE *out)
{
	const struct cp_sessions *ss = cp->sess;
	struct cp_ice_sums now = ss->ice.done;
	unsigned active = 0;

	for (const struct cp_sess_ice *x = ss->ice_list; x != NULL; x = x->next)
		for (unsigned i = 0; i < CP_SESS_STREAMS; i++)
			if (x->st[i] != NULL) {
				active++;
				cp_ice_add_totals(&now, &x->st[i]->a.stats);
			}
	fprintf(out,
		"{\"event\":\"stats\",\"type\":\"ice\",\"agents\":%llu,\"active\":%u,"
		"\"completed\":%llu,\"failed\":%llu,\"consent_lost\":%llu,\"checks_sent\":%llu,"
		"\"requests_answered\":%llu,\"requests_refused\":%llu,\"dropped\":%llu,"
		"\"tx_dropped\":%llu}\n",
		(unsigned long long)ss->ice.agents, active, (unsigned long long)ss->ice.completed,
		(unsigned long long)ss->ice.failed, (unsigned long long)ss->ice.consent_lost,
		(unsigned long long)now.checks_sent, (unsigned long long)now.requests_answered,
		(unsigned long long)now.requests_refused, (unsigned long long)now.dropped,
		(unsigned long long)ss->ice.tx_dropped);
}
