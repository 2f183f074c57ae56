/* SPDX-License-Identifier: BSD-3-Clause
 * nat_ice_sdp: the ICE attributes of SDP (RFC 8839) for one media stream,
 * IPv4/UDP, plus the numbers ICE gives candidates (RFC 8445 5.1.2
 * priorities, 5.1.1.3 foundations) and credential generation (5.3). No
 * allocation: parsed values land in a caller-owned struct. */
#ifndef RTPREC_NAT_ICE_SDP_H
#define RTPREC_NAT_ICE_SDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nat_bind.h"   /* nat_rng_fn */

#define NAT_ICE_UFRAG_MIN 4u
#define NAT_ICE_UFRAG_MAX 256u
#define NAT_ICE_PWD_MIN 22u
#define NAT_ICE_PWD_MAX 256u
#define NAT_ICE_FOUNDATION_MAX 32u
#define NAT_ICE_SDP_MAX_CANDS 16u
#define NAT_ICE_SDP_LINE_MAX 1024u   /* longer ICE lines are refused */
/* what rtprec generates: 48 and 144 random bits (RFC 8445 5.3 asks 24, 128) */
#define NAT_ICE_UFRAG_GEN 8u
#define NAT_ICE_PWD_GEN 24u

enum nat_ice_type { NAT_ICE_HOST, NAT_ICE_SRFLX, NAT_ICE_PRFLX, NAT_ICE_RELAY, NAT_ICE_N_TYPES };

/* A candidate (IPv4, UDP). Remote ones come from nat_ice_sdp_parse_line(),
 * local ones from the caller through nat_ice_add_local(). */
struct nat_ice_cand {
	char foundation[NAT_ICE_FOUNDATION_MAX + 1];
	uint8_t type;           /* enum nat_ice_type */
	uint16_t component;     /* 1..256; ICE here uses 1 (RTP) and 2 (RTCP) */
	uint32_t priority;      /* 1..2^31-1 */
	uint32_t ip;            /* host order */
	uint16_t port;
	uint32_t rel_ip;        /* raddr/rport: 0 when absent (or hidden) */
	uint16_t rel_port;
	/* local candidates only */
	uint32_t base_ip;       /* host: itself; srflx: the host address it was
				   learnt from; relay: the relayed address */
	uint16_t base_port;     /* names the caller's socket, see nat_ice.h */
	uint32_t server_ip;     /* the STUN/TURN server it came from, 0 for host */
	uint16_t local_pref;    /* 0..65535 */
};

/* a=ice-options tags we know (others are accepted and ignored) */
#define NAT_ICE_OPT_TRICKLE 0x1u
#define NAT_ICE_OPT_ICE2 0x2u
#define NAT_ICE_OPT_RENOMINATION 0x4u

/* The ICE view of one media description (or of the session level). */
struct nat_ice_sdp {
	char ufrag[NAT_ICE_UFRAG_MAX + 1];   /* "" when absent */
	char pwd[NAT_ICE_PWD_MAX + 1];
	bool lite;                /* a=ice-lite (session level) */
	bool end_of_candidates;   /* a=end-of-candidates (RFC 8838), informative */
	uint32_t options;         /* NAT_ICE_OPT_* */
	uint32_t pacing_ms;       /* a=ice-pacing, 0 when absent */
	uint8_t n_cands;
	struct nat_ice_cand cands[NAT_ICE_SDP_MAX_CANDS];
	/* what was offered: usable candidates by type, and the candidate lines
	 * skipped (TCP and other transports, IPv6, FQDN, mDNS ".local", port 0,
	 * beyond NAT_ICE_SDP_MAX_CANDS) or refused as malformed */
	uint16_t n_by_type[NAT_ICE_N_TYPES];
	uint16_t n_skipped;
	uint16_t n_bad;
	const char *err;          /* why the last NAT_ICE_SDP_BAD line was refused */
};

enum nat_ice_sdp_res {
	NAT_ICE_SDP_BAD = -1,     /* an ICE attribute with a malformed value */
	NAT_ICE_SDP_NOT_ICE = 0,  /* not an ICE attribute: the caller's */
	NAT_ICE_SDP_OK = 1,       /* taken into the struct */
	NAT_ICE_SDP_SKIPPED = 2,  /* an ICE attribute rtprec does not use */
};

void nat_ice_sdp_init(struct nat_ice_sdp *s);
/* One SDP attribute line, with or without its "a=" and line end, len bytes
 * (no NUL needed). A malformed a=candidate is counted in n_bad and leaves
 * the rest alone; callers may skip it (RFC 8839 lets an agent ignore a
 * candidate it cannot use) or refuse the offer. */
enum nat_ice_sdp_res nat_ice_sdp_parse_line(struct nat_ice_sdp *s, const char *line, size_t len);
/* A media description inherits the session-level ufrag, pwd, options,
 * ice-lite and pacing it does not set itself (RFC 8839 5.4). */
void nat_ice_sdp_inherit(struct nat_ice_sdp *media, const struct nat_ice_sdp *session);
/* true when s has what ICE needs: ufrag and pwd */
bool nat_ice_sdp_usable(const struct nat_ice_sdp *s);

/* The value of one candidate attribute, "candidate:..." without "a=" and
 * line end. Returns its length, or -1 when it does not fit cap. */
int nat_ice_sdp_fmt_cand(char *buf, size_t cap, const struct nat_ice_cand *c);
/* Complete "a=...\r\n" lines for an answer: the session-level block
 * ("a=ice-lite" when lite, else nothing) and the media-level block (ufrag,
 * pwd, one a=candidate per candidate). Length, or -1 when it does not fit. */
int nat_ice_sdp_session_lines(char *buf, size_t cap, bool lite);
int nat_ice_sdp_media_lines(char *buf, size_t cap, const char *ufrag, const char *pwd,
			    const struct nat_ice_cand *c, size_t n);

/* RFC 8445 5.1.2.1: (2^24)type preference + (2^8)local preference +
 * (256 - component); type preferences host 126, prflx 110, srflx 100,
 * relay 0. component 1..256. */
uint32_t nat_ice_priority(enum nat_ice_type type, uint16_t local_pref, uint16_t component);
uint8_t nat_ice_type_pref(enum nat_ice_type type);
/* RFC 8445 6.1.2.3 with G the controlling and D the controlled agent's
 * candidate priority: 2^32 MIN(G,D) + 2 MAX(G,D) + (G > D ? 1 : 0). */
uint64_t nat_ice_pair_priority(uint32_t g, uint32_t d);
/* RFC 8445 5.1.1.3: sets c[i].foundation so that candidates of the same
 * type, base address and server share one, others differ (all are UDP).
 * Foundations are a type letter and a number ("H1", "S2", "R3", "P4") in
 * the order c[0..i] first show each (type, base, server): stable, short,
 * and they leak no address. */
void nat_ice_foundation(struct nat_ice_cand *c, size_t i);

/* Fresh credentials of ice-chars (ALPHA / DIGIT / "+" / "/"): ufrag of
 * NAT_ICE_UFRAG_GEN and pwd of NAT_ICE_PWD_GEN characters, NUL-terminated
 * (buffers of at least GEN + 1 bytes). rng NULL: getrandom(). 0 or -1. */
int nat_ice_gen_creds(nat_rng_fn rng, void *rng_arg, char *ufrag, char *pwd);
/* true when s[0..len) is len ice-chars */
bool nat_ice_chars(const char *s, size_t len);
const char *nat_ice_type_name(enum nat_ice_type t);

#endif
