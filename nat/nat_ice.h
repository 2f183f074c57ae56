/* SPDX-License-Identifier: BSD-3-Clause
 * nat_ice: an ICE agent (RFC 8445) for one media stream of one or two
 * components (RTP 1, RTCP 2 unless rtcp-mux), IPv4/UDP, with consent
 * freshness (RFC 7675). Full or lite; controlled by default (rtprec answers
 * the SRC's offer) with role conflicts repaired, and the controlling role
 * too (regular nomination). Pure C: no sockets, no allocation, time
 * injected as now_ms, datagrams leave through a callback.
 *
 * Use, for one stream:
 *   nat_ice_init(&a, &cfg)                  our ufrag/pwd/tie-breaker
 *   nat_ice_add_local(&a, &cand) ...        host / srflx / relay with bases
 *   nat_ice_sdp_media_lines(..., a.ufrag, a.pwd, a.local, a.n_local)  answer
 *   nat_ice_start(&a, &remote_sdp, now)     the offer's ICE attributes
 *   then nat_ice_input() for every STUN datagram on the stream's ports,
 *   nat_ice_tick() by nat_ice_deadline(), and read nat_ice_selected().
 *
 * Local ports: every datagram leaves from and arrives on a candidate's base,
 * named by its base_port: the host port for host and server-reflexive
 * candidates, the relayed port for a relayed one (the caller maps it to its
 * TURN allocation and wraps the datagram). Bases need distinct ports. */
#ifndef RTPREC_NAT_ICE_H
#define RTPREC_NAT_ICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nat_bind.h"
#include "nat_ice_sdp.h"

#define NAT_ICE_MAX_COMPONENTS 2u
#define NAT_ICE_MAX_LOCAL 8u      /* the caller's, and local peer-reflexive ones */
#define NAT_ICE_MAX_REMOTE 24u    /* the offer's 16 and learnt peer-reflexive ones */
#define NAT_ICE_MAX_PAIRS 64u
#define NAT_ICE_CHECKLIST_MAX 48u /* pairs formed from the SDP; the rest of the
				     table takes triggered and valid pairs */
#define NAT_ICE_CONSENT_TIDS 8u   /* consent requests answerable (30 s / 4 s) */
#define NAT_ICE_NONE 0xFFu

enum nat_ice_role { NAT_ICE_CONTROLLED = 0, NAT_ICE_CONTROLLING = 1 };

enum nat_ice_state {
	NAT_ICE_IDLE,       /* before nat_ice_start() */
	NAT_ICE_CHECKING,
	NAT_ICE_CONNECTED,  /* a valid pair for every component, not all nominated */
	NAT_ICE_COMPLETED,  /* a selected (nominated) pair for every component */
	NAT_ICE_FAILED,     /* no pair could work, or consent was lost */
};

enum nat_ice_pair_state {
	NAT_ICE_FROZEN, NAT_ICE_WAITING, NAT_ICE_IN_PROGRESS, NAT_ICE_SUCCEEDED,
	NAT_ICE_PAIR_FAILED,
};

enum nat_ice_event {
	NAT_ICE_EV_STATE,         /* a.state changed */
	NAT_ICE_EV_SELECTED,      /* a component got (or changed) its selected pair */
	NAT_ICE_EV_CONSENT_LOST,  /* RFC 7675: stop sending media; a.state is FAILED */
};

/* Sends one datagram from the base named local_port; addresses host order.
 * Called from inside nat_ice_*(): it must not call back into the agent. */
typedef void (*nat_ice_send_fn)(void *arg, uint16_t local_port, uint32_t dst_ip,
				uint16_t dst_port, const uint8_t *msg, size_t len);
/* component is 0 for NAT_ICE_EV_STATE. Same rule as send. */
typedef void (*nat_ice_event_fn)(void *arg, enum nat_ice_event ev, unsigned component);

struct nat_ice_cfg {
	enum nat_ice_role role;        /* CONTROLLED (0) for an answerer */
	bool lite;                     /* answer with a=ice-lite; send no checks */
	uint8_t components;            /* 1 (rtcp-mux) or 2; 0: 1 */
	uint32_t ta_ms;                /* pacing of new checks; 0: 50 */
	struct nat_rto rto;            /* rto_ms 0: RFC 8445 14.3, MAX(500 ms,
					  Ta x (Waiting + In-Progress)), Rc 7, Rm 16 */
	uint32_t consent_ms;           /* RFC 7675 base interval; 0: 5000 (4..6 s) */
	uint32_t consent_timeout_ms;   /* 0: 30000 */
	uint32_t nominate_wait_ms;     /* controlling: longest wait for better pairs
					  after the first valid one; 0: 1000 */
	bool hide_raddr;               /* raddr 0.0.0.0 rport 0 in our candidates */
	const char *ufrag, *pwd;       /* NULL: generated from rng */
	nat_ice_send_fn send;
	void *send_arg;
	nat_ice_event_fn on_event;     /* may be NULL */
	void *event_arg;
	nat_rng_fn rng;                /* NULL: getrandom() */
	void *rng_arg;
};

struct nat_ice_pair {
	uint8_t local, remote;   /* indexes into a.local / a.remote */
	uint8_t component;
	uint8_t state;           /* enum nat_ice_pair_state */
	bool in_list;            /* on the checklist (else a valid pair built from another) */
	bool valid;              /* on the valid list */
	bool nominated;
	bool use_cand;           /* controlling: our check carries USE-CANDIDATE */
	bool nominate_ok;        /* controlled: nominate when our check succeeds */
	bool triggered;          /* on the triggered-check queue */
	bool req_controlling;    /* the role our running check announced */
	bool has_old;            /* a cancelled check still awaits its answer */
	uint8_t valid_idx;       /* the valid pair this pair's check produced */
	uint8_t via;             /* valid pair: the checklist pair that produced it */
	uint64_t prio;
	uint8_t old_tid[NAT_STUN_TID_LEN];
	struct nat_bind t;       /* the check: its timing and its transaction id */
};

/* Per component after selection: the selected pair and consent (RFC 7675). */
struct nat_ice_comp {
	uint8_t selected;        /* pair index, NAT_ICE_NONE before */
	uint64_t first_valid_ms; /* controlling: when the first valid pair came */
	uint64_t consent_ok_ms;  /* last answer (lite: authenticated request) */
	uint64_t consent_next_ms;
	struct nat_bind consent; /* the latest consent check */
	uint8_t tids[NAT_ICE_CONSENT_TIDS][NAT_STUN_TID_LEN];
	uint8_t n_tids;
};

struct nat_ice_stats {
	uint32_t checks_sent;       /* our checks (first transmissions) */
	uint32_t retransmits;
	uint32_t checks_ok;         /* our checks answered with success */
	uint32_t checks_failed;     /* timed out, refused, or answered asymmetrically */
	uint32_t requests_rcvd;     /* Binding requests seen (before any check) */
	uint32_t requests_answered; /* success responses we sent */
	uint32_t requests_refused;  /* 400, 401, 420, 487 we sent */
	uint32_t dropped;           /* ignored: no FINGERPRINT, unmatched or
				       unauthenticated responses, unknown port */
	uint32_t role_conflicts;    /* conflicts repaired (switched or 487 either way) */
	uint32_t prflx_remote;      /* peer-reflexive candidates learnt */
	uint32_t prflx_local;
	uint32_t consent_sent;
	uint32_t consent_ok;
	uint16_t offered[NAT_ICE_N_TYPES];  /* the offer's usable candidates by type */
	uint16_t offered_skipped;           /* its candidate lines skipped or refused */
	int64_t nomination_ms;      /* start to COMPLETED; -1 until then */
};

struct nat_ice {
	struct nat_ice_cfg cfg;
	enum nat_ice_role role;
	enum nat_ice_state state;
	bool remote_lite;
	bool consent_lost;
	uint64_t tiebreaker;
	uint32_t ta_ms;
	char ufrag[NAT_ICE_UFRAG_MAX + 1], pwd[NAT_ICE_PWD_MAX + 1];
	char rufrag[NAT_ICE_UFRAG_MAX + 1], rpwd[NAT_ICE_PWD_MAX + 1];
	uint8_t n_local, n_remote, n_pairs, n_trig;
	struct nat_ice_cand local[NAT_ICE_MAX_LOCAL];
	struct nat_ice_cand remote[NAT_ICE_MAX_REMOTE];
	struct nat_ice_pair pairs[NAT_ICE_MAX_PAIRS];
	uint8_t trig[NAT_ICE_MAX_PAIRS];  /* triggered-check queue (FIFO of pairs) */
	struct nat_ice_comp comp[NAT_ICE_MAX_COMPONENTS];
	uint64_t start_ms;
	uint64_t next_check_ms;           /* next Ta slot */
	struct nat_ice_stats stats;
};

/* 0, or -1 on a bad cfg (no send, components above 2, bad rto, ufrag or
 * pwd not of ice-chars or too short) or when no random value was had. */
int nat_ice_init(struct nat_ice *a, const struct nat_ice_cfg *cfg);
/* One local candidate: type HOST, SRFLX or RELAY, component, ip/port,
 * base_ip/base_port (host: 0 or the same), server_ip, rel_ip/rel_port for
 * relay (the allocation's mapped address; srflx takes its base), local_pref
 * (0 stands for 65535). The agent sets priority (when 0) and foundation. A
 * srflx equal to its base is redundant and dropped (5.1.3). Returns the
 * index, or -1 when invalid or the table is full. Before nat_ice_start(). */
int nat_ice_add_local(struct nat_ice *a, const struct nat_ice_cand *c);
/* The offer's ICE attributes (after nat_ice_sdp_inherit()): credentials,
 * ice-lite, candidates. Forms the checklist and starts: checks (full mode)
 * from now_ms. A lite peer makes a full agent controlling (RFC 8445 6.1.1).
 * 0, or -1 when the offer is not usable (no ufrag/pwd) or already started. */
int nat_ice_start(struct nat_ice *a, const struct nat_ice_sdp *remote, uint64_t now_ms);
/* A datagram that arrived on the base local_port from src. Returns 1 when it
 * was a STUN Binding message (answered, used or dropped: do not record it as
 * media), 0 when it is not STUN (media) or no base of ours has that port. */
int nat_ice_input(struct nat_ice *a, uint16_t local_port, uint32_t src_ip, uint16_t src_port,
		  const uint8_t *msg, size_t len, uint64_t now_ms);
/* Checks, retransmissions, nomination, consent and timeouts as due. */
void nat_ice_tick(struct nat_ice *a, uint64_t now_ms);
/* When nat_ice_tick() next has work; UINT64_MAX when it has none. */
uint64_t nat_ice_deadline(const struct nat_ice *a);

/* The TURN relay of a component was allocated again at ip:port (host order): its relayed
 * candidate (same credentials, same priority) takes that address and base; pairs on
 * the old base stop (a selected one is unselected, its consent checks end), the
 * checklist's are checked again from the new base. No ICE restart: the SDP lines show
 * the new candidate. 0 (also when unchanged), or -1: no relayed candidate for that
 * component, or the port names another base. */
int nat_ice_move_relay(struct nat_ice *a, unsigned component, uint32_t ip, uint16_t port,
		       uint64_t now_ms);

/* The selected pair of a component (1 or 2), NULL when none; its local and
 * remote candidates through a.local[p->local], a.remote[p->remote]. Media
 * comes from (and goes to) the remote candidate's address. */
const struct nat_ice_pair *nat_ice_selected(const struct nat_ice *a, unsigned component);

const char *nat_ice_state_name(enum nat_ice_state s);
const char *nat_ice_pair_state_name(enum nat_ice_pair_state s);
const char *nat_ice_role_name(enum nat_ice_role r);

#endif
