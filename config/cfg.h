/* SPDX-License-Identifier: BSD-3-Clause
 * rtprec configuration: the immutable config struct, loaded from one YAML
 * file (libcyaml) plus environment overrides, validated with FILE:LINE:COL
 * errors. Nothing here depends on DPDK.
 */
#ifndef RTPREC_CFG_H
#define RTPREC_CFG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define CFG_MAX_PORTS 16
#define CFG_MAX_WORKERS 64
#define CFG_NAME_MAX 64

/* Flow action bits (same values as DP_ACT_* in dataplane/dp_contract.h). */
enum cfg_action_bit {
	CFG_ACT_RECORD = 1u << 0,
	CFG_ACT_FORWARD = 1u << 1,
	CFG_ACT_DROP = 1u << 2,
};

enum cfg_behind_nat {
	CFG_BEHIND_NAT_NO = 0,
	CFG_BEHIND_NAT_YES,
	CFG_BEHIND_NAT_AUTO,
};

enum cfg_log_level {
	CFG_LOG_ERROR = 0,
	CFG_LOG_WARNING,
	CFG_LOG_INFO,
	CFG_LOG_DEBUG,
};

/* An "a.b.c.d:port" value after validation; ip and port in host order. */
struct cfg_addr {
	uint32_t ip;
	uint16_t port;
};

struct cfg_port {
	/* from YAML */
	char *name;        /* ports[i].name, required, unique */
	char *device;      /* ports[i].device: DPDK device name or PCI address */
	char *ipv4;        /* ports[i].ipv4: "a.b.c.d/len", required */
	char *gateway;     /* optional "a.b.c.d", inside the port's subnet */
	char *gateway_mac; /* optional "xx:xx:xx:xx:xx:xx" */
	unsigned rx_desc;  /* default 1024 */
	unsigned tx_desc;  /* default 1024 */
	unsigned vlan;     /* ports[i].vlan: 802.1Q VLAN id 1..4094 of every frame the port
			      takes and sends; 0 (default): untagged */
	/* derived by validation (host order) */
	uint32_t ip;
	uint8_t prefix_len;
	bool has_gateway;
	uint32_t gateway_ip;
	bool has_gateway_mac;
	uint8_t gateway_mac_bytes[6];
};

struct cfg_flow_match {
	char *dst; /* "a.b.c.d:port", required */
	char *src; /* "a.b.c.d:port", optional: absent = any source */
};

struct cfg_flow_forward {
	char *to;   /* "a.b.c.d:port", required when forwarding */
	char *from; /* "a.b.c.d:port", optional: default out port ip + match dst port */
	char *port; /* port name, optional when there is one port */
};

struct cfg_flow {
	/* from YAML */
	char *name; /* unique, [A-Za-z0-9._-], not starting with '.' */
	struct cfg_flow_match match;
	char **actions; /* any of record, forward, drop */
	unsigned actions_count;
	struct cfg_flow_forward forward;
	unsigned clock_rate; /* RTP clock rate for jitter, default 8000 */
	unsigned count;      /* default 1: N flows, match.src address +1 each (src required) */
	/* derived by validation */
	unsigned action_mask; /* CFG_ACT_* bits */
	struct cfg_addr dst;
	bool has_src;
	struct cfg_addr src;
	struct cfg_addr fwd_to;   /* valid when CFG_ACT_FORWARD */
	struct cfg_addr fwd_from; /* valid when CFG_ACT_FORWARD */
	unsigned out_port;        /* index in cfg.ports, valid when CFG_ACT_FORWARD */
};

struct cfg_dpdk {
	char **eal_args;
	unsigned eal_args_count;
};

#define CFG_MAX_REC_THREADS 16

enum cfg_rec_sync {
	CFG_REC_SYNC_NONE = 0, /* records written when a buffer fills and at close; no fsync */
	CFG_REC_SYNC_INTERVAL, /* written and fdatasync'ed every sync_interval_ms */
	CFG_REC_SYNC_CLOSE,    /* written every sync_interval_ms; fsync when a file is closed */
};

enum cfg_rec_srtp {
	CFG_REC_SRTP_DECRYPT = 0, /* SDES-keyed SRTP streams written decrypted */
	CFG_REC_SRTP_KEEP,        /* written as received, keys in session.json */
};

struct cfg_recording {
	char *dir;                   /* default "./recordings" */
	unsigned threads;            /* recorder threads, default 1, 1..CFG_MAX_REC_THREADS */
	char *sync;                  /* none | interval | close, default interval */
	unsigned sync_interval_ms;   /* default 1000, 10..3600000 */
	uint64_t rotate_bytes;       /* new file past this size, default 0 = never */
	unsigned rotate_seconds;     /* new file after this long, default 0 = never */
	char *file_mode;             /* octal, default "0644" */
	char *dir_mode;              /* octal, default "0755" */
	bool refuse_when_full;       /* 503 to new INVITEs while storage fails, default false */
	char *on_close;              /* "/path/prog args {dir} {file}", default none */
	unsigned on_close_timeout_s; /* hook killed after this long, default 60 */
	unsigned write_buffer_kb;    /* largest buffer (one write) per file, default 256 */
	unsigned buffer_mb;          /* buffered records per recorder thread, default 512 */
	char *srtp;                  /* decrypt | keep, default decrypt */
	/* derived */
	enum cfg_rec_sync sync_mode;
	enum cfg_rec_srtp srtp_mode;
	unsigned file_mode_bits;
	unsigned dir_mode_bits;
};

struct cfg_dataplane {
	unsigned flow_table_size;  /* per worker, default 65536 */
	unsigned mbufs;            /* per NUMA socket pool, default 32767 */
	unsigned record_ring_size; /* per worker, power of two, default 16384 */
	unsigned neigh_hold;       /* packets held per worker while ARP resolves, default 64 */
	unsigned burst;            /* rx burst, 1..64, default 32 */
	unsigned mbuf_size;        /* mbuf data room incl. 128 B headroom, default 2176 */
	unsigned idle_sleep_us;    /* sleep after 64 empty polls, default 0 (busy poll), 0..10000 */
	unsigned rx_pace_pps;      /* bench: read at most this many packets/s per worker, 0 = off */
};

/* Where the external address comes from, tried in the configured order. */
enum cfg_nat_source { CFG_NAT_SRC_STATIC = 0, CFG_NAT_SRC_STUN, CFG_NAT_SRC_CLOUD, CFG_NAT_SRC_NONE };
#define CFG_NAT_MAX_SOURCES 4
enum cfg_cloud { CFG_CLOUD_GCP = 0, CFG_CLOUD_AWS, CFG_CLOUD_AZURE };
/* Keepalives from each media port toward the SRC's SDP address (behind NAT only):
 * an empty RTP packet (RFC 6263) or a STUN Binding Indication. */
enum cfg_keepalive { CFG_KEEPALIVE_OFF = 0, CFG_KEEPALIVE_RTP, CFG_KEEPALIVE_STUN };
#define CFG_CLOUD_MAX 3

struct cfg_nat_cloud {
	char **providers;  /* gcp | aws | azure, in order; default all three */
	unsigned providers_count;
	char *gcp_url;     /* base URLs, default http://169.254.169.254 (tests: a local fake) */
	char *aws_url;
	char *azure_url;
	unsigned timeout_ms; /* per request, default 1000, 50..30000 */
	/* derived */
	enum cfg_cloud order[CFG_CLOUD_MAX];
	unsigned n_order;
};

/* One TURN server (RFC 8656) of nat.turn; UDP, an IPv4 literal. */
struct cfg_nat_turn {
	char *uri;      /* "turn:a.b.c.d[:port][?transport=udp]" */
	char *username;
	char *password;
	/* derived */
	struct cfg_addr addr; /* host order, port default 3478 */
};
enum cfg_relay { CFG_RELAY_AUTO = 0, CFG_RELAY_ALWAYS, CFG_RELAY_NEVER };
enum cfg_ice { CFG_ICE_FULL = 0, CFG_ICE_LITE, CFG_ICE_OFF };

struct cfg_nat {
	char *behind_nat;  /* no | yes | auto (also true/false); env BEHIND_NAT */
	char *external_ip; /* env EXTERNAL_IP */
	char *internal_ip; /* env INTERNAL_IP; default: ports[0].ipv4 address */
	char **sources;    /* static | stun | cloud | none; default [static, stun] */
	unsigned sources_count;
	char *stun_server; /* "a.b.c.d:port": STUN server for the media path (RFC 5780 if it can) */
	unsigned stun_port;   /* local media port discovery uses, default media.port_max */
	unsigned stun_rto_ms; /* first retransmission timeout, default 500, 50..5000 */
	char *behaviour;      /* yes | no: RFC 5780 mapping/filtering tests, default yes */
	unsigned recheck_s;   /* re-run discovery, default 300, 0 = never, else 5..86400 */
	unsigned external_port_min; /* 1:1 port forwarding: the public port media.port_min is
				       forwarded from (the range keeps its offsets); 0 = same ports */
	bool reinvite_on_change; /* re-INVITE active calls when the external address changes */
	char *keepalive;      /* off | rtp | stun: hole punching toward the SRC, default rtp */
	unsigned keepalive_s; /* repeat while the call lives, default 20, 1..3600 */
	struct cfg_nat_cloud cloud;
	struct cfg_nat_turn *turn; /* TURN servers, tried in order: the next when one fails */
	unsigned turn_count;
	char *relay;          /* auto | always | never: media through a TURN relay; default auto
				 (when the NAT's mapping is not endpoint-independent) */
	char *ice;            /* full | lite | off: ICE (RFC 8445) when an offer carries it;
				 default full */
	unsigned ice_consent_timeout_s; /* RFC 7675: the selected pair's consent is lost after
					   this long without an answer; default 30, 6..3600 */
	/* derived */
	enum cfg_behind_nat behind;
	enum cfg_nat_source source_order[CFG_NAT_MAX_SOURCES];
	unsigned n_sources;
	bool has_stun;
	struct cfg_addr stun; /* host order */
	bool behaviour_on;
	enum cfg_keepalive keepalive_kind;
	enum cfg_relay relay_mode;
	enum cfg_ice ice_mode;
	bool has_external_ip;
	uint32_t external_ip_addr;
	uint32_t internal_ip_addr;
};

enum cfg_sip_transport {
	CFG_SIP_UDP = 0,
	CFG_SIP_TCP,
	CFG_SIP_TLS,
};

/* One "udp:a.b.c.d:port" / "tcp:..." / "tls:..." entry of sip.listen. */
struct cfg_sip_listener {
	enum cfg_sip_transport transport;
	struct cfg_addr addr; /* host order */
};

#define CFG_MAX_SIP_LISTEN 8
#define CFG_MAX_SIP_ALLOW 64

/* sip.limits: how long a TCP/TLS connection may take (0 in a struct not
 * validated: the default). */
struct cfg_sip_limits {
	unsigned tcp_idle_s;        /* idle TCP/TLS connection (no dialog) closed, default 60, 1..86400 */
	unsigned message_timeout_s; /* a message must be whole this long after its first byte
				       (slow loris), default 20, 1..3600 */
	unsigned tls_handshake_s;   /* TLS handshake must end this long after accept, default 5,
				       1..300 */
};

/* sip.rate_limit: a token bucket per source IPv4 address. */
struct cfg_sip_rate {
	unsigned requests_per_s; /* requests (not ACK) per second and source, default 0 = off,
				    0..1000000 */
	unsigned burst;          /* bucket size, 0..1000000, default 0 = requests_per_s */
};

struct cfg_sip {
	char **listen;           /* default ["udp:127.0.0.1:5060"] */
	unsigned listen_count;
	char *tls_cert;          /* PEM file, required with a tls: listener */
	char *tls_key;           /* PEM file, required with a tls: listener */
	char *tls_ca;            /* PEM CA file: client certificates must be signed by it */
	bool tls_verify_client;  /* a client without such a certificate fails the handshake,
				    default false; needs tls_ca */
	char *tls_ciphers;       /* OpenSSL cipher list for TLS 1.2, default OpenSSL's */
	char *tls_ciphersuites;  /* TLS 1.3 ciphersuites, default OpenSSL's */
	char **allow;            /* source IPv4 networks "a.b.c.d/len" allowed to send INVITEs; default any */
	unsigned allow_count;
	unsigned max_sessions;   /* concurrent recording sessions, default 1000, 1..1000000 */
	unsigned min_se;         /* RFC 4028: shortest Session-Expires taken (else 422), default 90,
				    1..86400 (RFC 4028 asks at least 90: lower for tests only) */
	unsigned max_message;    /* bytes in one SIP message, default 65535, 1024..1048576 */
	unsigned max_connections;/* TCP/TLS connections at once, default 1024, 1..65536 */
	char *external_address;  /* "a.b.c.d[:port]": Contact and Via behind NAT; default none */
	struct cfg_sip_limits limits;
	struct cfg_sip_rate rate_limit;
	/* derived */
	struct cfg_sip_listener listeners[CFG_MAX_SIP_LISTEN];
	unsigned n_listeners;
	bool has_external;
	struct cfg_addr external; /* host order; port 0: the listener's */
	uint32_t allow_ip[CFG_MAX_SIP_ALLOW];   /* host order */
	uint8_t allow_prefix[CFG_MAX_SIP_ALLOW];
};

#define CFG_MAX_MEDIA_ADDRS 16
struct cfg_media {
	char **addresses;        /* IPv4 addresses for SIPREC media on media.port, default its ipv4 */
	unsigned addresses_count;
	unsigned port_min;       /* RTP ports for SIPREC sessions, even, default 30000 */
	unsigned port_max;       /* default 39999, > port_min */
	char *port;              /* dataplane port that receives media, default ports[0].name */
	unsigned timeout_s;      /* no RTP on every stream for this long: BYE, default 30, 0 = never */
	bool strict_source;      /* accept media only from the SDP address and port, default false */
	unsigned relatch_packets; /* a new source replaces the latched one after this many packets
				    in a row, default 5, 0 = never, 0..1000 */
	char **kinds;            /* m= media types recorded: audio video text application image
				    message; default [audio, video]; others answered with port 0 */
	unsigned kinds_count;
	/* derived */
	unsigned port_index;
	unsigned kinds_mask;     /* bit i: cfg_media_kinds[i] is recorded */
	uint32_t addr_ip[CFG_MAX_MEDIA_ADDRS]; /* host order; [0] .. [n_addr - 1] */
	unsigned n_addr;
};

#define CFG_MEDIA_KINDS 6
extern const char *const cfg_media_kinds[CFG_MEDIA_KINDS];
/* Is an m= line of this media type ("audio", ...) recorded (media.kinds)? */
bool cfg_media_kind_ok(const struct cfg_media *m, const char *kind);

struct cfg_log {
	char *level;  /* error | warning | info | debug, default info */
	char *target; /* stderr | syslog (facility daemon), default stderr */
	char *format; /* text | json (one object per line), default text */
	enum cfg_log_level level_value;
	bool to_syslog;
	bool json;
};

struct cfg_shutdown {
	unsigned drain_s; /* on SIGTERM/SIGINT: refuse new calls (503), let active ones end for
			     this long, then BYE the rest; default 0 = BYE at once, 0..86400 */
};

/* Operations: Prometheus metrics over HTTP and the rtprecctl control socket. */
struct cfg_metrics {
	char *listen;          /* "a.b.c.d:port": HTTP GET /metrics there; default none (off) */
};
struct cfg_control {
	char *socket;          /* Unix socket path for rtprecctl; default none (off) */
};
/* Who rtprec runs as once it has started. */
struct cfg_process {
	char *user;   /* after start-up (ports, rings, sockets, files open): switch to this user
			 (and its group), keeping no capability; recording.dir is given to it;
			 default none: stay as started */
};
struct cfg_ops {
	bool has_metrics;
	struct cfg_addr metrics; /* host order */
};

/* What rtprec asks of an SRC's recording metadata (RFC 7865/7866). */
struct cfg_siprec {
	bool require_metadata; /* an INVITE without rs-metadata: 400 + Warning 399 (default
				  false: recorded, "metadata": false in session.json) */
	bool request_metadata; /* a call without metadata gets an UPDATE with an
				  application/rs-metadata-request body (default false) */
};

struct cfg {
	struct cfg_dpdk dpdk;
	struct cfg_port *ports;
	unsigned ports_count;
	unsigned workers; /* default 1 */
	struct cfg_recording recording;
	struct cfg_flow *flows;
	unsigned flows_count;
	struct cfg_dataplane dataplane;
	struct cfg_nat nat;
	struct cfg_log log;
	struct cfg_sip sip;
	struct cfg_media media;
	struct cfg_shutdown shutdown;
	struct cfg_siprec siprec;
	struct cfg_metrics metrics;
	struct cfg_control control;
	struct cfg_process process;
	/* derived */
	struct cfg_ops ops;
};

/*
 * Load, apply environment overrides (RTPREC_<PATH> for any scalar, e.g.
 * RTPREC_RECORDING_DIR, RTPREC_WORKERS, RTPREC_PORTS_0_IPV4, and BEHIND_NAT,
 * EXTERNAL_IP, INTERNAL_IP), fill defaults and validate.
 *
 * Every problem is printed to errf as "FILE:LINE:COL: message" (for a value
 * that came from the environment: "env:NAME: message"), all of them, not only
 * the first. Returns 0 and sets *out on success; otherwise returns the number
 * of errors (> 0) and *out is NULL. An unreadable file is one error.
 */
int cfg_load_file(const char *path, struct cfg **out, FILE *errf);
/* Same from memory; name is what errors print as FILE. */
int cfg_load_string(const char *name, const char *yaml, size_t len, struct cfg **out, FILE *errf);

/* A running rtprec reading its file again (reload): the files only a start opens
 * (sip.tls_cert, tls_key, tls_ca, the recording.on_close program) are not checked for
 * access, since a process that dropped its privileges (process.user) may no longer read
 * a root-only key, and those keys wait for a restart anyway. */
#define CFG_LOAD_RELOAD 1u
int cfg_load_file_flags(const char *path, unsigned flags, struct cfg **out, FILE *errf);
int cfg_load_string_flags(const char *name, const char *yaml, size_t len, unsigned flags,
			  struct cfg **out, FILE *errf);
void cfg_free(struct cfg *c);

/* The embedded default configuration (config/default.yaml). */
const char *cfg_default_yaml(void);

/* Flows the dataplane holds: the sum of every flow's count. */
unsigned cfg_flow_total(const struct cfg *c);

/* RX mbufs that descriptors, full record rings, lcore caches and packets in flight can
 * hold at once (docs/bare-metal.md, "Mbufs"): below it, a recorder that falls behind
 * drains the pool and the NIC drops everything before record_ring_full is counted. */
uint64_t cfg_mbufs_wanted(const struct cfg *c);

/* Recorder stream ids kept for static flows: the flows at start plus room for
 * CFG_FLOW_RELOAD_SPARE more that a reload may add; sessions' ids come after. */
#define CFG_FLOW_RELOAD_SPARE 1024u
unsigned cfg_flow_rec_slots(const struct cfg *c);
/* Recorder stream ids for sessions: two per sip.max_sessions, so an ended call's id is
 * not handed to a new call while the recorder may still be closing its files. */
#define CFG_SESS_REC_IDS(c) (2u * (c)->sip.max_sessions)

/* Index of the port with this name, or -1. */
int cfg_port_index(const struct cfg *c, const char *name);

/* "a.b.c.d" (host order ip) into buf of at least 16 bytes; returns buf. */
char *cfg_ip_str(uint32_t ip, char *buf);

#endif
