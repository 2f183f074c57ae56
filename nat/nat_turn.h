/* SPDX-License-Identifier: BSD-3-Clause
 * nat_turn: one TURN allocation over UDP as a client (RFC 8656, and RFC
 * 5766 servers such as coturn), IPv4, long-term credentials. A state
 * machine like nat_bind: no socket, time injected as now_ms, every request
 * sent from the caller's one local port through a callback, each request
 * its own transaction with RFC 8489 retransmissions.
 *
 * Allocate (401 -> credentials, 438 -> new nonce), Refresh before expiry,
 * Refresh with LIFETIME 0 to release, CreatePermission and ChannelBind
 * kept alive every 4 minutes. The wrap/unwrap helpers build and take apart
 * what flows through the relay: Send and Data indications, ChannelData. */
#ifndef RTPREC_NAT_TURN_H
#define RTPREC_NAT_TURN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nat_behav.h"   /* nat_send_fn */
#include "nat_bind.h"    /* nat_rto, nat_rng_fn */
#include "nat_stun.h"

/* TURN attribute types (RFC 8656 18); the STUN parser lists those below
 * 0x8000 as unknown, nat_turn knows them. */
enum nat_turn_attr_type {
	NAT_TURN_A_CHANNEL_NUMBER = 0x000C,
	NAT_TURN_A_LIFETIME = 0x000D,
	NAT_TURN_A_XOR_PEER_ADDRESS = 0x0012,
	NAT_TURN_A_DATA = 0x0013,
	NAT_TURN_A_XOR_RELAYED_ADDRESS = 0x0016,
	NAT_TURN_A_REQUESTED_ADDRESS_FAMILY = 0x0017,
	NAT_TURN_A_EVEN_PORT = 0x0018,
	NAT_TURN_A_REQUESTED_TRANSPORT = 0x0019,
	NAT_TURN_A_DONT_FRAGMENT = 0x001A,
	NAT_TURN_A_RESERVATION_TOKEN = 0x0022,
};

#define NAT_TURN_CHANNEL_MIN 0x4000u   /* RFC 8656 12 (RFC 5766 allowed up to 0x7FFF) */
#define NAT_TURN_CHANNEL_MAX 0x4FFFu
#define NAT_TURN_CHANNEL_HDR 4u
#define NAT_TURN_PERM_LIFETIME_S 300u  /* RFC 8656 9 */
#define NAT_TURN_CHAN_LIFETIME_S 600u  /* RFC 8656 12 */
/* Permissions and channels are refreshed this long after their last
 * success: a ChannelBind refreshes the peer's permission as well, which
 * lasts only 5 minutes. */
#define NAT_TURN_PEER_REFRESH_S 240u
#define NAT_TURN_MAX_PERMS 8
#define NAT_TURN_MAX_CHANNELS 8
#define NAT_TURN_USER_MAX 128          /* username and password, bytes */
#define NAT_TURN_TEXT_MAX 763          /* REALM and NONCE (RFC 8489 14.9, 14.10) */
#define NAT_TURN_STALE_MAX 3           /* 438 answers one request may get */
#define NAT_TURN_REQ_MAX 2048          /* the largest request nat_turn builds */

enum nat_turn_state {
	NAT_TURN_IDLE,
	NAT_TURN_ALLOCATING,
	NAT_TURN_ALLOCATED,
	NAT_TURN_REFRESHING,    /* allocated, a Refresh is running */
	NAT_TURN_RELEASING,     /* Refresh with LIFETIME 0 running */
	NAT_TURN_RELEASED,
	NAT_TURN_FAILED,        /* error and error_code say why */
};

enum nat_turn_error {
	NAT_TURN_ERR_NONE,
	NAT_TURN_ERR_TIMEOUT,   /* the server never answered */
	NAT_TURN_ERR_INTEGRITY, /* answers came, none passed MESSAGE-INTEGRITY */
	NAT_TURN_ERR_AUTH,      /* 401 to a request with credentials: bad username or password */
	NAT_TURN_ERR_STALE,     /* 438 more than NAT_TURN_STALE_MAX times */
	NAT_TURN_ERR_REJECTED,  /* another error response: see error_code (437, 441, 486, 508...) */
	NAT_TURN_ERR_RESPONSE,  /* an answer we cannot use (no IPv4 relayed address, no
				   LIFETIME, unknown required attribute, 401 without REALM) */
	NAT_TURN_ERR_EXPIRED,   /* the lifetime ran out before a refresh succeeded */
	NAT_TURN_ERR_LOCAL,     /* no random transaction id */
};

/* A permission or a channel binding. */
enum nat_turn_peer_state {
	NAT_TURN_PEER_FREE,
	NAT_TURN_PEER_PENDING,  /* first request running */
	NAT_TURN_PEER_ACTIVE,   /* confirmed by the server (refreshes keep it so) */
	NAT_TURN_PEER_FAILED,   /* error and error_code say why */
};

struct nat_turn_cfg {
	uint32_t server_ip;       /* host order */
	uint16_t server_port;
	const char *username;     /* copied; SASLprep/OpaqueString done by the caller */
	const char *password;
	uint32_t lifetime_s;      /* asked for in Allocate and Refresh; 0: the server's default */
	const char *software;     /* SOFTWARE in Allocate, NULL for none */
	struct nat_rto rto;       /* rto_ms 0: RFC 8489 defaults */
	nat_send_fn send;         /* must not call back into nat_turn_*() */
	void *send_arg;
	nat_rng_fn rng;           /* NULL: getrandom() */
	void *rng_arg;
};

/* One request in flight. Its timing and transaction id come from a
 * nat_bind (RFC 8489 schedule, injected RNG) whose own Binding bytes are
 * never sent; the TURN request is built at each (re)transmission. */
struct nat_turn_txn {
	struct nat_bind timer;
	uint8_t req;              /* internal request kind */
	bool authed;              /* carries MESSAGE-INTEGRITY */
	uint8_t stale;            /* 438 answers so far */
	uint8_t bad_mi;           /* answers dropped for a bad MESSAGE-INTEGRITY */
};

struct nat_turn_peer {
	uint32_t ip;              /* host order */
	uint16_t port;            /* channels only */
	uint16_t channel;         /* channels only, 0x4000..0x4FFF */
	uint8_t state;            /* enum nat_turn_peer_state */
	uint8_t error;            /* enum nat_turn_error */
	uint16_t error_code;
	uint64_t refresh_ms;      /* next refresh, ACTIVE only */
	uint64_t expire_ms;       /* the server forgets it then, ACTIVE only */
	struct nat_turn_txn txn;
};

struct nat_turn {
	struct nat_turn_cfg cfg;  /* its strings point at user/pass/software below */
	char user[NAT_TURN_USER_MAX + 1];
	char pass[NAT_TURN_USER_MAX + 1];
	char software[NAT_TURN_USER_MAX + 1];
	enum nat_turn_state state;
	enum nat_turn_error error;
	uint16_t error_code;      /* of the error response that ended it, 0 if none */
	char reason[64];          /* its reason phrase, printable ASCII */
	struct nat_stun_addr alternate;  /* ALTERNATE-SERVER of a 300 answer */

	/* long-term credentials, once the server gave a realm */
	bool have_key;
	uint8_t key[NAT_STUN_LT_KEY_LEN];
	char realm[NAT_TURN_TEXT_MAX + 1];
	uint8_t nonce[NAT_TURN_TEXT_MAX];
	uint16_t nonce_len;

	/* the allocation */
	struct nat_stun_addr relayed;   /* XOR-RELAYED-ADDRESS */
	struct nat_stun_addr mapped;    /* XOR-MAPPED-ADDRESS, family 0 if none */
	uint32_t lifetime_s;            /* as granted */
	uint64_t refresh_ms;            /* next Refresh, ALLOCATED only */
	uint64_t expire_ms;
	struct nat_turn_txn txn;        /* Allocate, Refresh, release */

	struct nat_turn_peer perms[NAT_TURN_MAX_PERMS];
	struct nat_turn_peer chans[NAT_TURN_MAX_CHANNELS];
	uint16_t next_channel;
	uint8_t ind_tid[NAT_STUN_TID_LEN];  /* Send indications: random base + counter */
	uint32_t ind_count;
};

/* Sends the Allocate at once. 0, or -1 on a bad cfg (no send, no server
 * port, username or password missing or longer than NAT_TURN_USER_MAX, bad
 * rto) or when no transaction id could be drawn. */
int nat_turn_start(struct nat_turn *t, const struct nat_turn_cfg *cfg, uint64_t now_ms);
/* A STUN message from the server address. 1 when it answered one of our
 * requests (the state may have moved, a retry may have been sent), 0 when
 * not (malformed, someone else's, an indication: give Data indications to
 * nat_turn_unwrap_data()). */
int nat_turn_input(struct nat_turn *t, const uint8_t *msg, size_t len, uint64_t now_ms);
/* Retransmissions, timeouts, refreshes and expiries due by now_ms; returns
 * the state. */
enum nat_turn_state nat_turn_tick(struct nat_turn *t, uint64_t now_ms);
/* When nat_turn_tick() next has work; UINT64_MAX when nothing is pending. */
uint64_t nat_turn_deadline(const struct nat_turn *t);
/* Refresh with LIFETIME 0 (RELEASING, then RELEASED whatever the answer);
 * without an allocation to release it goes to RELEASED at once. Permissions
 * and channels are dropped. 0, or -1 when no transaction id could be drawn
 * (then RELEASED too). */
int nat_turn_release(struct nat_turn *t, uint64_t now_ms);

/* CreatePermission for a peer IP (host order), kept alive until release.
 * 0 when sent or already there, -1 when not allocated or no slot is free. */
int nat_turn_permit(struct nat_turn *t, uint32_t peer_ip, uint64_t now_ms);
/* ChannelBind for a peer; returns its channel number (the same one for the
 * same peer), -1 when not allocated or no slot is free. The binding is
 * usable when nat_turn_channel() returns it. */
int nat_turn_bind_channel(struct nat_turn *t, uint32_t peer_ip, uint16_t peer_port,
			  uint64_t now_ms);
/* The confirmed channel of a peer, 0 when none (send indications then). */
uint16_t nat_turn_channel(const struct nat_turn *t, uint32_t peer_ip, uint16_t peer_port);
/* The peer of a channel number we bound (confirmed or not): 0, or -1. */
int nat_turn_channel_peer(const struct nat_turn *t, uint16_t channel, uint32_t *peer_ip,
			  uint16_t *peer_port);
/* The state of the permission nat_turn_permit() asked for a peer IP (FREE
 * when none; the one a ChannelBind installs is not counted here). */
enum nat_turn_peer_state nat_turn_permission(const struct nat_turn *t, uint32_t peer_ip);

/* ---- data path: no allocation, no OpenSSL ------------------------------- */

/* Send indication (XOR-PEER-ADDRESS, DATA) into out; payload must not
 * overlap out. Length, or -1 when it does not fit. */
int nat_turn_wrap_send(struct nat_turn *t, const struct nat_stun_addr *peer,
		       const uint8_t *payload, size_t len, uint8_t *out, size_t cap);
/* ChannelData: 4-byte header then the payload, unpadded (UDP). payload may
 * be out + 4 already (nothing is copied then) or anywhere else. Length, or
 * -1 for a channel outside 0x4000..0x4FFF, a payload over 65535 bytes or a
 * small cap. */
int nat_turn_wrap_channel(uint16_t channel, const uint8_t *payload, size_t len, uint8_t *out,
			  size_t cap);
/* ChannelData from the server: channel 0x4000..0x4FFF, the announced
 * length within the datagram (at most 3 padding bytes after it). 0 with
 * the payload pointing into buf, or -1. */
int nat_turn_unwrap_channel(const uint8_t *buf, size_t len, uint16_t *channel,
			    const uint8_t **payload, size_t *plen);
/* Data indication from the server: XOR-PEER-ADDRESS and DATA (FINGERPRINT
 * checked when present). 0 with the payload pointing into buf, or -1. */
int nat_turn_unwrap_data(const uint8_t *buf, size_t len, struct nat_stun_addr *peer,
			 const uint8_t **payload, size_t *plen);

/* Stable names for logs and metrics. */
const char *nat_turn_state_name(enum nat_turn_state s);
const char *nat_turn_error_name(enum nat_turn_error e);
const char *nat_turn_peer_state_name(enum nat_turn_peer_state s);
/* The meaning of a STUN/TURN error code: "allocation-mismatch" for 437...,
 * "error" for codes it does not know. */
const char *nat_turn_code_name(uint16_t code);

#endif
