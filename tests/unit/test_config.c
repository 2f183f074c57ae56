/* SPDX-License-Identifier: BSD-3-Clause
 * config/: every error path, asserted as the user sees it
 * ("FILE:LINE:COL: message" / "env:NAME: message"), plus defaults, derived
 * fields, environment overrides and the shipped YAML files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/cfg.h"

#include "ut_cfg.h"

#ifndef RTPREC_CONFIG_DIR
#error "RTPREC_CONFIG_DIR must point at the config/ source folder"
#endif

/* One port, lines 1-4; what a case appends starts at line 5. */
#define P "ports:\n  - name: media0\n    device: net_tap0\n    ipv4: 192.0.2.10/24\n"
/* P plus a flow whose mapping starts at 6:5 (name value at 6:11). */
#define F P "flows:\n  - name: f1\n"

/* ---- table of error cases ------------------------------------------- */

struct ecase {
	const char *name, *yaml;
	int nerr;
	const char *out;
};

static const struct ecase ecases[] = {
	/* step 1: syntax */
	{ "syntax", "a: [", 1,
	  "t.yaml:2:1: syntax error: did not find expected node content (while parsing a flow "
	  "node)\n" },
	{ "syntax_mapping", "a: b: c", 1,
	  "t.yaml:1:5: syntax error: mapping values are not allowed in this context\n" },
	{ "syntax_control_char", P "workers: \x01\n", 1,
	  "t.yaml:5:10: syntax error: control characters are not allowed\n" },
	{ "second_document", P "---\nworkers: 1\n", 1,
	  "t.yaml:6:1: only one YAML document is allowed in a config file\n" },
	/* step 2: schema */
	{ "empty", "", 1, "t.yaml:1:1: missing key 'ports' in top level\n" },
	{ "top_not_mapping", "- a\n", 1,
	  "t.yaml:1:1: top level: expected a mapping, got a sequence\n" },
	{ "unknown_top", P "wokers: 2\n", 1, "t.yaml:5:1: unknown key 'wokers' in top level\n" },
	{ "unknown_in_port", P "    mtu: 9000\n", 1, "t.yaml:5:5: unknown key 'mtu' in ports[0]\n" },
	{ "unknown_in_match", F "    match: {dst: \"1.2.3.4:5\", dport: 5}\n    actions: [record]\n",
	  1, "t.yaml:7:31: unknown key 'dport' in flows[0].match\n" },
	{ "non_scalar_key", P "? [a]\n: 1\n", 1, "t.yaml:5:3: top level: keys must be scalars\n" },
	{ "kind_mapping", P "recording: ./rec\n", 1,
	  "t.yaml:5:12: recording: expected a mapping, got a scalar\n" },
	{ "kind_sequence", P "flows: x\n", 1,
	  "t.yaml:5:8: flows: expected a sequence, got a scalar\n" },
	{ "kind_scalar", P "workers: [1]\n", 1,
	  "t.yaml:5:10: workers: expected a scalar, got a sequence\n" },
	{ "kind_port_entry", "ports: [media0]\n", 1,
	  "t.yaml:1:9: ports[0]: expected a mapping, got a scalar\n" },
	{ "bad_uint", P "workers: abc\n", 1,
	  "t.yaml:5:10: workers: 'abc' is not an unsigned integer\n" },
	{ "uint_junk", P "workers: 12abc\n", 1,
	  "t.yaml:5:10: workers: '12abc' is not an unsigned integer\n" },
	{ "uint_negative", P "workers: -1\n", 1,
	  "t.yaml:5:10: workers: '-1' is not an unsigned integer\n" },
	{ "uint_octal", P "workers: 010\n", 1,
	  "t.yaml:5:10: workers: '010' is not an unsigned integer\n" },
	{ "uint_range", P "workers: 4294967296\n", 1,
	  "t.yaml:5:10: workers: '4294967296' is out of range (0..4294967295)\n" },
	{ "uint_huge", P "workers: 99999999999999999999999\n", 1,
	  "t.yaml:5:10: workers: '99999999999999999999999' is out of range (0..4294967295)\n" },
	{ "duplicate_key", P "workers: 1\nworkers: 2\n", 1,
	  "t.yaml:6:1: duplicate key 'workers' in top level\n" },
	{ "missing_device", "ports:\n  - name: a\n    ipv4: 1.2.3.4/24\n", 1,
	  "t.yaml:2:5: missing key 'device' in ports[0]\n" },
	{ "missing_ports", "workers: 1\n", 1, "t.yaml:1:1: missing key 'ports' in top level\n" },
	{ "missing_forward_to", F "    match: {dst: \"1.2.3.4:5\"}\n    actions: [forward]\n"
	  "    forward: {port: media0}\n", 1,
	  "t.yaml:9:14: missing key 'to' in flows[0].forward\n" },
	{ "several", P "workers: abc\nworkers: 3\nflows:\n  - name: x\n    match: {}\n"
	  "    colour: red\n", 5,
	  "t.yaml:5:10: workers: 'abc' is not an unsigned integer\n"
	  "t.yaml:6:1: duplicate key 'workers' in top level\n"
	  "t.yaml:8:5: missing key 'actions' in flows[0]\n"
	  "t.yaml:9:12: missing key 'dst' in flows[0].match\n"
	  "t.yaml:10:5: unknown key 'colour' in flows[0]\n" },
	/* step 5: ports */
	{ "no_ports", "ports: []\n", 1, "t.yaml:1:8: ports: at least one port is required\n" },
	{ "port_name_empty", "ports:\n  - {name: \"\", device: d, ipv4: 1.2.3.4/24}\n", 1,
	  "t.yaml:2:12: ports[0].name: must not be empty\n" },
	{ "port_dups", P "  - {name: media0, device: net_tap0, ipv4: 192.0.2.11/24}\n", 2,
	  "t.yaml:5:12: ports[1].name: duplicate port name 'media0' (first used in ports[0])\n"
	  "t.yaml:5:28: ports[1].device: duplicate device 'net_tap0' (first used in ports[0])\n" },
	{ "ipv4_forms",
	  "ports:\n"
	  "  - {name: a, device: a, ipv4: 192.0.2.10}\n"
	  "  - {name: b, device: b, ipv4: 192.0.2.10/33}\n"
	  "  - {name: c, device: c, ipv4: 192.0.2.10/0}\n"
	  "  - {name: d, device: d, ipv4: \"x192.0.2.10/24\"}\n"
	  "  - {name: e, device: e, ipv4: 192.0.2.010/24}\n"
	  "  - {name: f, device: f, ipv4: 192.0.2.256/24}\n"
	  "  - {name: g, device: g, ipv4: \"192.0.2.1 /24\"}\n", 7,
	  "t.yaml:2:32: ports[0].ipv4: '192.0.2.10' is not an IPv4 address with prefix length "
	  "(a.b.c.d/len, len 1..32)\n"
	  "t.yaml:3:32: ports[1].ipv4: '192.0.2.10/33' is not an IPv4 address with prefix length "
	  "(a.b.c.d/len, len 1..32)\n"
	  "t.yaml:4:32: ports[2].ipv4: '192.0.2.10/0' is not an IPv4 address with prefix length "
	  "(a.b.c.d/len, len 1..32)\n"
	  "t.yaml:5:32: ports[3].ipv4: 'x192.0.2.10/24' is not an IPv4 address with prefix length "
	  "(a.b.c.d/len, len 1..32)\n"
	  "t.yaml:6:32: ports[4].ipv4: '192.0.2.010/24' is not an IPv4 address with prefix length "
	  "(a.b.c.d/len, len 1..32)\n"
	  "t.yaml:7:32: ports[5].ipv4: '192.0.2.256/24' is not an IPv4 address with prefix length "
	  "(a.b.c.d/len, len 1..32)\n"
	  "t.yaml:8:32: ports[6].ipv4: '192.0.2.1 /24' is not an IPv4 address with prefix length "
	  "(a.b.c.d/len, len 1..32)\n" },
	{ "gateway_outside", P "    gateway: 192.0.3.1\n", 1,
	  "t.yaml:5:14: ports[0].gateway: 192.0.3.1 is outside the port's subnet 192.0.2.10/24\n" },
	{ "gateway_bad", P "    gateway: 192.0.2\n", 1,
	  "t.yaml:5:14: ports[0].gateway: '192.0.2' is not an IPv4 address (a.b.c.d)\n" },
	{ "gateway_mac_bad", P "    gateway_mac: \"02:00:00:00:00\"\n", 1,
	  "t.yaml:5:18: ports[0].gateway_mac: '02:00:00:00:00' is not a MAC address "
	  "(xx:xx:xx:xx:xx:xx)\n" },
	{ "gateway_mac_dash", P "    gateway_mac: \"02-00-00-00-00-01\"\n", 1,
	  "t.yaml:5:18: ports[0].gateway_mac: '02-00-00-00-00-01' is not a MAC address "
	  "(xx:xx:xx:xx:xx:xx)\n" },
	{ "desc_zero", P "    rx_desc: 0\n    tx_desc: 20000\n", 2,
	  "t.yaml:5:14: ports[0].rx_desc: 0 is out of range (64..16384)\n"
	  "t.yaml:6:14: ports[0].tx_desc: 20000 is out of range (64..16384)\n" },
	{ "vlan_range", P "    vlan: 4095\n", 1,
	  "t.yaml:5:11: ports[0].vlan: 4095 is out of range (0..4094)\n" },
	/* workers, recording */
	{ "workers_zero", P "workers: 0\n", 1, "t.yaml:5:10: workers: 0 is out of range (1..64)\n" },
	{ "workers_big", P "workers: 65\n", 1, "t.yaml:5:10: workers: 65 is out of range (1..64)\n" },
	{ "dir_empty", P "recording: {dir: \"\"}\n", 1,
	  "t.yaml:5:18: recording.dir: must not be empty\n" },
	/* flows */
	{ "flow_missing_name", P "flows:\n  - {match: {dst: \"1.2.3.4:5\"}, actions: [record]}\n", 1,
	  "t.yaml:6:5: missing key 'name' in flows[0]\n" },
	{ "flow_names",
	  P "flows:\n"
	  "  - {name: a/b, match: {dst: \"1.2.3.4:1\"}, actions: [record]}\n"
	  "  - {name: .hidden, match: {dst: \"1.2.3.4:2\"}, actions: [record]}\n"
	  "  - {name: 0123456789012345678901234567890123456789012345678901234567890123,"
	  " match: {dst: \"1.2.3.4:3\"}, actions: [record]}\n"
	  "  - {name: \"\", match: {dst: \"1.2.3.4:4\"}, actions: [record]}\n"
	  "  - {name: ok, match: {dst: \"1.2.3.4:5\"}, actions: [record]}\n"
	  "  - {name: ok, match: {dst: \"1.2.3.4:6\"}, actions: [record]}\n", 5,
	  "t.yaml:6:12: flows[0].name: 'a/b' may contain only letters, digits, '.', '_' and '-'\n"
	  "t.yaml:7:12: flows[1].name: '.hidden' must not start with '.'\n"
	  "t.yaml:8:12: flows[2].name: '0123456789012345678901234567890123456789012345678901234567"
	  "890123' is longer than 63 characters\n"
	  "t.yaml:9:12: flows[3].name: must not be empty\n"
	  "t.yaml:11:12: flows[5].name: duplicate flow name 'ok' (first used in flows[4])\n" },
	{ "flow_match_forms", F "    match: {dst: \"1.2.3.4:0\", src: \"1.2.3.4\"}\n"
	  "    actions: [record]\n", 2,
	  "t.yaml:7:18: flows[0].match.dst: '1.2.3.4:0' is not an IPv4 address and port "
	  "(a.b.c.d:port, port 1..65535)\n"
	  "t.yaml:7:36: flows[0].match.src: '1.2.3.4' is not an IPv4 address and port "
	  "(a.b.c.d:port, port 1..65535)\n" },
	{ "flow_port_big", F "    match: {dst: \"1.2.3.4:65536\"}\n    actions: [record]\n", 1,
	  "t.yaml:7:18: flows[0].match.dst: '1.2.3.4:65536' is not an IPv4 address and port "
	  "(a.b.c.d:port, port 1..65535)\n" },
	{ "flow_same_match",
	  P "flows:\n"
	  "  - {name: a, match: {dst: \"1.2.3.4:5\", src: \"5.6.7.8:9\"}, actions: [record]}\n"
	  "  - {name: b, match: {dst: \"1.2.3.4:5\"}, actions: [record]}\n"
	  "  - {name: c, match: {dst: \"1.2.3.4:5\", src: \"5.6.7.8:9\"}, actions: [drop]}\n", 1,
	  "t.yaml:8:22: flows[2].match: same match as flows[0]\n" },
	{ "actions_empty", F "    match: {dst: \"1.2.3.4:5\"}\n    actions: []\n", 1,
	  "t.yaml:8:14: flows[0].actions: at least one action is required (record, forward, "
	  "drop)\n" },
	{ "actions_bad", F "    match: {dst: \"1.2.3.4:5\"}\n    actions: [record, mirror, record]\n",
	  2,
	  "t.yaml:8:23: flows[0].actions[1]: unknown action 'mirror' (record, forward, drop)\n"
	  "t.yaml:8:31: flows[0].actions[2]: action 'record' is repeated\n" },
	{ "actions_drop_combined", F "    match: {dst: \"1.2.3.4:5\"}\n    actions: [drop, record]\n",
	  1, "t.yaml:8:14: flows[0].actions: 'drop' cannot be combined with other actions\n" },
	{ "forward_missing", F "    match: {dst: \"1.2.3.4:5\"}\n    actions: [forward]\n", 1,
	  "t.yaml:6:5: missing key 'forward' in flows[0] (the forward action needs it)\n" },
	{ "forward_without_action", F "    match: {dst: \"1.2.3.4:5\"}\n    actions: [record]\n"
	  "    forward: {to: \"5.6.7.8:9\"}\n", 1,
	  "t.yaml:9:14: flows[0].forward: given but 'forward' is not in actions\n" },
	{ "forward_bad", F "    match: {dst: \"1.2.3.4:5\"}\n    actions: [forward]\n"
	  "    forward: {to: \"5.6.7.8\", from: \"1.2.3.4:x\", port: media9}\n", 3,
	  "t.yaml:9:19: flows[0].forward.to: '5.6.7.8' is not an IPv4 address and port "
	  "(a.b.c.d:port, port 1..65535)\n"
	  "t.yaml:9:36: flows[0].forward.from: '1.2.3.4:x' is not an IPv4 address and port "
	  "(a.b.c.d:port, port 1..65535)\n"
	  "t.yaml:9:55: flows[0].forward.port: no port named 'media9'\n" },
	{ "forward_port_needed", P "  - {name: media1, device: net_tap1, ipv4: 10.0.0.1/8}\n"
	  "flows:\n  - name: f\n    match: {dst: \"1.2.3.4:5\"}\n    actions: [forward]\n"
	  "    forward: {to: \"5.6.7.8:9\"}\n", 1,
	  "t.yaml:10:14: missing key 'port' in flows[0].forward (there is more than one port)\n" },
	{ "clock_rate", P "flows:\n"
	  "  - {name: a, match: {dst: \"1.2.3.4:1\"}, actions: [record], clock_rate: 0}\n"
	  "  - {name: b, match: {dst: \"1.2.3.4:2\"}, actions: [record], clock_rate: 200000}\n", 2,
	  "t.yaml:6:73: flows[0].clock_rate: 0 is out of range (1000..192000)\n"
	  "t.yaml:7:73: flows[1].clock_rate: 200000 is out of range (1000..192000)\n" },
	{ "count", P "dataplane: {flow_table_size: 100}\nflows:\n"
	  "  - {name: a, match: {dst: \"1.2.3.4:1\"}, actions: [record], count: 2}\n"
	  "  - {name: b, match: {dst: \"1.2.3.4:2\", src: \"255.255.255.250:1\"}, actions: [record], "
	  "count: 7}\n"
	  "  - {name: c, match: {dst: \"1.2.3.4:3\", src: \"10.0.0.1:1\"}, actions: [record], "
	  "count: 95}\n", 3,
	  "t.yaml:5:30: dataplane.flow_table_size: 100 is less than the number of flows (104)\n"
	  "t.yaml:7:68: flows[0].count: 2 flows need match.src (its address is what varies)\n"
	  "t.yaml:8:94: flows[1].count: 7 flows from match.src run past 255.255.255.255\n" },
	/* sip, media */
	{ "sip", P "sip:\n  listen: [\"udp:127.0.0.1:5060\", \"sctp:1.2.3.4:5\", \"tls:127.0.0.1:5061\",\n"
	  "           \"udp:127.0.0.1:5060\"]\n  allow: [\"10.0.0.0/8\", \"10.1\"]\n"
	  "  max_sessions: 0\n  tls_key: /nonexistent/key.pem\n", 6,
	  "t.yaml:6:3: missing key 'tls_cert' in sip (a tls: listener needs it)\n"
	  "t.yaml:6:34: sip.listen[1]: 'sctp:1.2.3.4:5' is not udp:|tcp:|tls: followed by "
	  "a.b.c.d:port\n"
	  "t.yaml:7:12: sip.listen[3]: 'udp:127.0.0.1:5060' is listed twice\n"
	  "t.yaml:8:25: sip.allow[1]: '10.1' is not an IPv4 address or network (a.b.c.d/len)\n"
	  "t.yaml:9:17: sip.max_sessions: 0 is out of range (1..1000000)\n"
	  "t.yaml:10:12: sip.tls_key: cannot read '/nonexistent/key.pem'\n" },
	{ "media", P "media: {port_min: 30001, port_max: 30001, port: media9, timeout_s: 90000}\n", 4,
	  "t.yaml:5:19: media.port_min: 30001 is odd (RTP takes the even port)\n"
	  "t.yaml:5:36: media.port_max: 30001 is not above media.port_min (30001)\n"
	  "t.yaml:5:49: media.port: no port named 'media9'\n"
	  "t.yaml:5:68: media.timeout_s: 90000 is out of range (0..86400)\n" },
	{ "media addresses", P "media:\n  addresses: [192.0.2.11, 10.0.0.1, 192.0.2.11, x]\n", 3,
	  "t.yaml:6:27: media.addresses[1]: 10.0.0.1 is not in port media0's subnet (192.0.2.10/24)\n"
	  "t.yaml:6:37: media.addresses[2]: 192.0.2.11 is listed twice\n"
	  "t.yaml:6:49: media.addresses[3]: 'x' is not an IPv4 address\n" },
	{ "media addresses nat", P "nat: {behind_nat: yes, external_ip: 203.0.113.5}\n"
	  "media: {addresses: [192.0.2.10, 192.0.2.11]}\n", 1,
	  "t.yaml:6:20: media.addresses: one address only behind a static NAT (nat.external_ip "
	  "maps one internal address)\n" },
	{ "nat sources", P "nat:\n  sources: [stun, dns, static, stun]\n  stun_server: 1.2.3.4\n"
	  "  recheck_s: 2\n  behaviour: maybe\n"
	  "  cloud: {providers: [aws, ibm], gcp_url: \"ftp://x\", timeout_ms: 10}\n", 9,
	  "t.yaml:6:12: nat.sources: 'static' needs nat.external_ip (env EXTERNAL_IP)\n"
	  "t.yaml:6:19: nat.sources[1]: 'dns' is not one of static, stun, cloud, none\n"
	  "t.yaml:6:32: nat.sources[3]: 'stun' is listed twice\n"
	  "t.yaml:7:16: nat.stun_server: '1.2.3.4' is not an IPv4 address and port "
	  "(a.b.c.d:port)\n"
	  "t.yaml:8:14: nat.recheck_s: 2 is out of range (0 = never, or 5..86400)\n"
	  "t.yaml:9:14: nat.behaviour: 'maybe' is not one of yes, no\n"
	  "t.yaml:10:28: nat.cloud.providers[1]: 'ibm' is not one of gcp, aws, azure\n"
	  "t.yaml:10:43: nat.cloud.gcp_url: 'ftp://x' is not an http:// URL\n"
	  "t.yaml:10:66: nat.cloud.timeout_ms: 10 is out of range (50..30000)\n" },
	/* a malformed address is one error, not also "needs" on the sources that use it */
	{ "nat sources malformed", P "nat:\n  sources: [static, stun]\n  external_ip: 1.2.3\n"
	  "  stun_server: 1.2.3.4\n", 2,
	  "t.yaml:7:16: nat.external_ip: '1.2.3' is not an IPv4 address (a.b.c.d)\n"
	  "t.yaml:8:16: nat.stun_server: '1.2.3.4' is not an IPv4 address and port "
	  "(a.b.c.d:port)\n" },
	{ "sip external", P "sip: {external_address: 198.51.100.50:99999}\n", 1,
	  "t.yaml:5:25: sip.external_address: '198.51.100.50:99999' is not an IPv4 address "
	  "(a.b.c.d or a.b.c.d:port)\n" },
	{ "nat port forward", P "nat: {external_port_min: 60000, keepalive: often}\n", 2,
	  "t.yaml:5:26: nat.external_port_min: 60000: the forwarded range (10000 ports) must lie "
	  "in 1024..65535\n"
	  "t.yaml:5:44: nat.keepalive: 'often' is not one of off, rtp, stun\n" },
	/* dataplane */
	{ "idle sleep", P "dataplane: {idle_sleep_us: 20000}\n", 1,
	  "t.yaml:5:28: dataplane.idle_sleep_us: 20000 is out of range (0..10000)\n" },
	{ "pace", P "dataplane: {rx_pace_pps: 2000000000}\n", 1,
	  "t.yaml:5:26: dataplane.rx_pace_pps: 2000000000 is out of range (0..1000000000)\n" },
	{ "dataplane", P "dataplane:\n  flow_table_size: 32\n  mbufs: 1000\n"
	  "  record_ring_size: 3000\n  neigh_hold: 5000\n  burst: 0\n", 5,
	  "t.yaml:6:20: dataplane.flow_table_size: 32 is out of range (64..16777216)\n"
	  "t.yaml:7:10: dataplane.mbufs: 1000 is out of range (1023..4194303)\n"
	  "t.yaml:8:21: dataplane.record_ring_size: 3000 is not a power of two\n"
	  "t.yaml:9:15: dataplane.neigh_hold: 5000 is out of range (0..4096)\n"
	  "t.yaml:10:10: dataplane.burst: 0 is out of range (1..64)\n" },
	{ "dataplane_high", P "dataplane: {flow_table_size: 16777217, mbufs: 4194304,"
	  " record_ring_size: 512, burst: 65, mbuf_size: 100}\n", 5,
	  "t.yaml:5:30: dataplane.flow_table_size: 16777217 is out of range (64..16777216)\n"
	  "t.yaml:5:47: dataplane.mbufs: 4194304 is out of range (1023..4194303)\n"
	  "t.yaml:5:74: dataplane.record_ring_size: 512 is out of range (1024..4194304)\n"
	  "t.yaml:5:86: dataplane.burst: 65 is out of range (1..64)\n"
	  "t.yaml:5:101: dataplane.mbuf_size: 100 is out of range (384..65535)\n" },
	/* nat, log */
	{ "nat", P "nat:\n  behind_nat: maybe\n  external_ip: 1.2.3\n  internal_ip: 10.0.0.1/8\n",
	  3,
	  "t.yaml:6:15: nat.behind_nat: 'maybe' is not one of no, yes, auto, true, false\n"
	  "t.yaml:7:16: nat.external_ip: '1.2.3' is not an IPv4 address (a.b.c.d)\n"
	  "t.yaml:8:16: nat.internal_ip: '10.0.0.1/8' is not an IPv4 address (a.b.c.d)\n" },
	{ "log_level", P "log: {level: verbose}\n", 1,
	  "t.yaml:5:14: log.level: 'verbose' is not one of error, warning, info, debug\n" },
	/* everything semantic at once, reported in file order */
	{ "semantic_all", P "    gateway: 10.0.0.1\nworkers: 0\nlog: {level: loud}\n", 3,
	  "t.yaml:5:14: ports[0].gateway: 10.0.0.1 is outside the port's subnet 192.0.2.10/24\n"
	  "t.yaml:6:10: workers: 0 is out of range (1..64)\n"
	  "t.yaml:7:14: log.level: 'loud' is not one of error, warning, info, debug\n" },
	/* found by fuzzing / edge cases: must not crash */
	{ "alias_loop", "&a [*a]\n", 1, "t.yaml:1:1: top level: expected a mapping, got a sequence\n" },
	{ "alias_key", "&k ports: *k\n", 1, "t.yaml:1:1: ports: expected a sequence, got a scalar\n" },
	{ "null_values", "ports:\n  -\n", 1, "t.yaml:2:4: ports[0]: expected a mapping, got a scalar\n" },
};

static void test_ecase(void **state)
{
	const struct ecase *e = *state;
	expect_errors(e->yaml, e->nerr, e->out);
}

/* ---- generated inputs ------------------------------------------------- */

static void test_too_many_ports(void **state)
{
	char yaml[4096];
	size_t n = (size_t)snprintf(yaml, sizeof(yaml), "ports:\n");
	(void)state;
	for (int i = 0; i <= CFG_MAX_PORTS; i++)
		n += (size_t)snprintf(yaml + n, sizeof(yaml) - n,
				      "  - {name: p%d, device: d%d, ipv4: 10.0.%d.1/24}\n", i, i, i);
	expect_errors(yaml, 1, "t.yaml:2:3: ports: at most 16 ports are supported, got 17\n");
}

static void test_flow_table_too_small(void **state)
{
	char yaml[8192];
	size_t n = (size_t)snprintf(yaml, sizeof(yaml), P "dataplane: {flow_table_size: 64}\nflows:\n");
	(void)state;
	for (int i = 0; i < 65; i++)
		n += (size_t)snprintf(yaml + n, sizeof(yaml) - n,
				      "  - {name: f%d, match: {dst: \"1.2.3.4:%d\"}, actions: [record]}\n",
				      i, i + 1);
	expect_errors(yaml, 1,
		      "t.yaml:5:30: dataplane.flow_table_size: 64 is less than the number of flows "
		      "(65)\n");
}

/* An alias "bomb": 100 aliases of a flow with 200 actions. The walk stops
 * with one error instead of expanding every alias. */
static void test_alias_bomb(void **state)
{
	char yaml[8192];
	struct cfg *c = (struct cfg *)1;
	char *out = NULL;
	size_t n = (size_t)snprintf(yaml, sizeof(yaml),
				    P "flows:\n  - &f {name: f, match: {dst: \"1.2.3.4:5\"}, actions: [");
	(void)state;
	for (int i = 0; i < 200; i++)
		n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "%srecord", i ? "," : "");
	n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "]}\n");
	for (int i = 0; i < 100; i++)
		n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "  - *f\n");
	assert_true(n < sizeof(yaml));
	assert_int_equal(ut_cfg_load(yaml, &c, &out), 1);
	assert_null(c);
	assert_non_null(strstr(out, "aliases expand to too many nodes\n"));
	assert_int_equal(strncmp(out, "t.yaml:6:", 9), 0);
	free(out);
}

/* ---- loads that succeed ---------------------------------------------- */

static void test_defaults(void **state)
{
	(void)state;
	struct cfg *c = expect_ok(P "flows:\n  - {name: f, match: {dst: \"192.0.2.10:5004\"}, "
				    "actions: [record]}\n");
	assert_int_equal(c->workers, 1);
	assert_string_equal(c->recording.dir, "./recordings");
	assert_int_equal(c->ports_count, 1);
	assert_int_equal(c->ports[0].rx_desc, 1024);
	assert_int_equal(c->ports[0].tx_desc, 1024);
	assert_int_equal(c->ports[0].ip, 0xc000020a);
	assert_int_equal(c->ports[0].prefix_len, 24);
	assert_false(c->ports[0].has_gateway);
	assert_false(c->ports[0].has_gateway_mac);
	assert_int_equal(c->flows[0].clock_rate, 8000);
	assert_int_equal(c->flows[0].action_mask, CFG_ACT_RECORD);
	assert_false(c->flows[0].has_src);
	assert_int_equal(c->flows[0].dst.ip, 0xc000020a);
	assert_int_equal(c->flows[0].dst.port, 5004);
	assert_int_equal(c->dataplane.flow_table_size, 65536);
	assert_int_equal(c->dataplane.mbufs, 32767);
	assert_int_equal(c->dataplane.record_ring_size, 16384);
	assert_int_equal(c->dataplane.neigh_hold, 64);
	assert_int_equal(c->dataplane.burst, 32);
	assert_int_equal(c->dataplane.mbuf_size, 2176);
	assert_int_equal(c->dataplane.idle_sleep_us, 0);
	assert_int_equal(c->dataplane.rx_pace_pps, 0);
	assert_int_equal(c->sip.n_listeners, 1);
	assert_int_equal(c->sip.listeners[0].transport, CFG_SIP_UDP);
	assert_int_equal(c->sip.listeners[0].addr.ip, 0x7f000001);
	assert_int_equal(c->sip.listeners[0].addr.port, 5060);
	assert_int_equal(c->sip.max_sessions, 1000);
	assert_int_equal(c->sip.limits.tcp_idle_s, 60);
	assert_int_equal(c->sip.limits.message_timeout_s, 20);
	assert_int_equal(c->sip.limits.tls_handshake_s, 5);
	assert_int_equal(c->media.port_min, 30000);
	assert_int_equal(c->media.port_max, 39999);
	assert_int_equal(c->media.timeout_s, 30);
	assert_string_equal(c->media.port, "media0");
	assert_int_equal(c->media.n_addr, 1);
	assert_int_equal(c->media.addr_ip[0], 0xc000020a);
	assert_string_equal(c->nat.behind_nat, "no");
	assert_int_equal(c->nat.behind, CFG_BEHIND_NAT_NO);
	assert_false(c->nat.has_external_ip);
	assert_int_equal(c->nat.n_sources, 0);
	assert_false(c->nat.has_stun);
	assert_true(c->nat.behaviour_on);
	assert_int_equal(c->nat.stun_port, c->media.port_max);
	assert_int_equal(c->nat.recheck_s, 300);
	assert_int_equal(c->nat.cloud.n_order, 3);
	assert_int_equal(c->nat.cloud.order[2], CFG_CLOUD_AZURE);
	assert_string_equal(c->nat.internal_ip, "192.0.2.10");
	assert_int_equal(c->nat.internal_ip_addr, 0xc000020a);
	assert_string_equal(c->log.level, "info");
	assert_int_equal(c->log.level_value, CFG_LOG_INFO);
	assert_null(c->dpdk.eal_args);
	assert_int_equal(c->dpdk.eal_args_count, 0);
	cfg_free(c);
}

static void test_derived(void **state)
{
	(void)state;
	struct cfg *c = expect_ok(
		"ports:\n"
		"  - {name: a, device: d0, ipv4: 10.0.0.2/8, gateway: 10.255.0.1,"
		" gateway_mac: \"02:0A:0b:0c:0d:FF\", rx_desc: 64, tx_desc: 16384, vlan: 4094}\n"
		"  - {name: b, device: d1, ipv4: 192.0.2.10/32}\n"
		"workers: 0x10\n"
		"flows:\n"
		"  - name: Trunk_a-1.x\n"
		"    match: {dst: \"10.0.0.2:30000\", src: \"198.51.100.5:4000\"}\n"
		"    actions: [record, forward]\n"
		"    forward: {to: \"203.0.113.7:40000\", port: b}\n"
		"    clock_rate: 48000\n"
		"  - {name: d, match: {dst: \"10.0.0.2:30000\"}, actions: [drop]}\n"
		"dataplane: {neigh_hold: 0, record_ring_size: 1048576}\n"
		"nat: {behind_nat: AUTO, external_ip: 203.0.113.1}\n"
		"log: {level: DEBUG}\n");
	assert_int_equal(c->workers, 16);
	assert_true(c->ports[0].has_gateway);
	assert_int_equal(c->ports[0].gateway_ip, 0x0aff0001);
	assert_true(c->ports[0].has_gateway_mac);
	const uint8_t mac[6] = { 2, 0x0a, 0x0b, 0x0c, 0x0d, 0xff };
	assert_memory_equal(c->ports[0].gateway_mac_bytes, mac, 6);
	assert_int_equal(c->ports[0].rx_desc, 64);
	assert_int_equal(c->ports[0].tx_desc, 16384);
	assert_int_equal(c->ports[0].vlan, 4094);
	assert_int_equal(c->ports[1].vlan, 0);
	assert_int_equal(c->ports[1].prefix_len, 32);
	const struct cfg_flow *f = &c->flows[0];
	assert_int_equal(f->action_mask, CFG_ACT_RECORD | CFG_ACT_FORWARD);
	assert_true(f->has_src);
	assert_int_equal(f->src.ip, 0xc6336405);
	assert_int_equal(f->src.port, 4000);
	assert_int_equal(f->fwd_to.ip, 0xcb007107);
	assert_int_equal(f->fwd_to.port, 40000);
	assert_int_equal(f->out_port, 1);
	assert_int_equal(f->fwd_from.ip, 0xc000020a); /* port b's address */
	assert_int_equal(f->fwd_from.port, 30000);    /* match.dst's port */
	assert_string_equal(f->forward.from, "192.0.2.10:30000");
	assert_int_equal(f->clock_rate, 48000);
	assert_int_equal(c->flows[1].action_mask, CFG_ACT_DROP); /* other src: not a duplicate */
	assert_int_equal(c->dataplane.neigh_hold, 0);
	assert_int_equal(c->dataplane.record_ring_size, 1048576);
	assert_int_equal(c->nat.behind, CFG_BEHIND_NAT_AUTO);
	assert_true(c->nat.has_external_ip);
	assert_int_equal(c->nat.external_ip_addr, 0xcb007101);
	assert_int_equal(c->nat.internal_ip_addr, 0x0a000002);
	assert_int_equal(c->log.level_value, CFG_LOG_DEBUG);
	assert_int_equal(cfg_port_index(c, "b"), 1);
	assert_int_equal(cfg_port_index(c, "zz"), -1);
	cfg_free(c);
}

static void test_forward_single_port_default(void **state)
{
	(void)state;
	struct cfg *c = expect_ok(F "    match: {dst: \"192.0.2.10:7000\"}\n    actions: [forward]\n"
				    "    forward: {to: \"203.0.113.7:40000\"}\n"
				    "nat: {behind_nat: \"true\"}\n");
	assert_int_equal(c->flows[0].out_port, 0);
	assert_string_equal(c->flows[0].forward.port, "media0");
	assert_int_equal(c->flows[0].fwd_from.ip, 0xc000020a);
	assert_int_equal(c->flows[0].fwd_from.port, 7000);
	assert_int_equal(c->nat.behind, CFG_BEHIND_NAT_YES);
	cfg_free(c);
}

static void test_ip_str(void **state)
{
	char buf[16];
	(void)state;
	assert_string_equal(cfg_ip_str(0xc000020a, buf), "192.0.2.10");
	assert_string_equal(cfg_ip_str(0xffffffff, buf), "255.255.255.255");
	assert_string_equal(cfg_ip_str(0, buf), "0.0.0.0");
}

/* ---- environment overrides ------------------------------------------ */

static const char *const env_names[] = {
	"RTPREC_WORKERS", "RTPREC_PORTS_0_IPV4", "BEHIND_NAT", "EXTERNAL_IP", "INTERNAL_IP",
	"RTPREC_NAT_EXTERNAL_IP", "RTPREC_RECORDING_DIR", "RTPREC_FLOWS_0_FORWARD_TO",
	"RTPREC_DATAPLANE_FLOW_TABLE_SIZE", "RTPREC_DPDK_EAL_ARGS_1", "RTPREC_FLOWS_1_NAME",
	"RTPREC_PORTS_0_RX_DESC",
};

static int env_clear(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(env_names) / sizeof(env_names[0]); i++)
		unsetenv(env_names[i]);
	return 0;
}

#define ENV_FLOW F "    match: {dst: \"192.0.2.10:7000\"}\n    actions: [forward]\n" \
	"    forward: {to: \"203.0.113.7:40000\"}\n"

static void test_env_overrides(void **state)
{
	(void)state;
	setenv("RTPREC_WORKERS", "4", 1);
	setenv("RTPREC_PORTS_0_IPV4", "10.1.2.3/16", 1);
	setenv("BEHIND_NAT", "auto", 1);
	setenv("EXTERNAL_IP", "198.51.100.1", 1);
	setenv("INTERNAL_IP", "10.1.2.3", 1);
	setenv("RTPREC_RECORDING_DIR", "/var/lib/rtprec", 1);
	setenv("RTPREC_FLOWS_0_FORWARD_TO", "203.0.113.9:5000", 1);
	setenv("RTPREC_DATAPLANE_FLOW_TABLE_SIZE", "1024", 1);
	setenv("RTPREC_DPDK_EAL_ARGS_1", "--in-memory", 1);
	setenv("RTPREC_FLOWS_1_NAME", "nobody", 1); /* no flows[1]: ignored */
	struct cfg *c = expect_ok(ENV_FLOW "dpdk: {eal_args: [--no-pci, --no-huge]}\n");
	assert_int_equal(c->workers, 4);
	assert_string_equal(c->ports[0].ipv4, "10.1.2.3/16");
	assert_int_equal(c->ports[0].ip, 0x0a010203);
	assert_int_equal(c->ports[0].prefix_len, 16);
	assert_int_equal(c->nat.behind, CFG_BEHIND_NAT_AUTO);
	assert_int_equal(c->nat.external_ip_addr, 0xc6336401);
	assert_int_equal(c->nat.internal_ip_addr, 0x0a010203);
	assert_string_equal(c->recording.dir, "/var/lib/rtprec");
	assert_int_equal(c->flows[0].fwd_to.ip, 0xcb007109);
	assert_int_equal(c->flows[0].fwd_to.port, 5000);
	assert_int_equal(c->flows[0].fwd_from.ip, 0x0a010203);
	assert_int_equal(c->dataplane.flow_table_size, 1024);
	assert_string_equal(c->dpdk.eal_args[1], "--in-memory");
	cfg_free(c);
}

static void test_env_rtprec_wins(void **state)
{
	(void)state;
	setenv("EXTERNAL_IP", "198.51.100.1", 1);
	setenv("RTPREC_NAT_EXTERNAL_IP", "198.51.100.2", 1);
	struct cfg *c = expect_ok(P "nat: {external_ip: 198.51.100.3}\n");
	assert_string_equal(c->nat.external_ip, "198.51.100.2");
	assert_int_equal(c->nat.external_ip_addr, 0xc6336402);
	cfg_free(c);
}

static void test_env_errors(void **state)
{
	(void)state;
	setenv("RTPREC_WORKERS", "abc", 1);
	setenv("RTPREC_PORTS_0_RX_DESC", "0", 1);
	setenv("BEHIND_NAT", "maybe", 1);
	setenv("EXTERNAL_IP", "1.2.3.4.5", 1);
	setenv("RTPREC_PORTS_0_IPV4", "1.2.3.4", 1);
	expect_errors(P "log: {level: loud}\n", 6,
		      "t.yaml:5:14: log.level: 'loud' is not one of error, warning, info, debug\n"
		      "env:RTPREC_WORKERS: workers: 'abc' is not an unsigned integer\n"
		      "env:RTPREC_PORTS_0_IPV4: ports[0].ipv4: '1.2.3.4' is not an IPv4 address with "
		      "prefix length (a.b.c.d/len, len 1..32)\n"
		      "env:RTPREC_PORTS_0_RX_DESC: ports[0].rx_desc: 0 is out of range (64..16384)\n"
		      "env:BEHIND_NAT: nat.behind_nat: 'maybe' is not one of no, yes, auto, true, "
		      "false\n"
		      "env:EXTERNAL_IP: nat.external_ip: '1.2.3.4.5' is not an IPv4 address "
		      "(a.b.c.d)\n");
}

static void test_env_semantic_zero(void **state)
{
	(void)state;
	setenv("RTPREC_WORKERS", "0", 1);
	expect_errors(P "workers: 2\n", 1, "env:RTPREC_WORKERS: workers: 0 is out of range (1..64)\n");
}

/* ---- shipped files ---------------------------------------------------- */

static void test_default_yaml(void **state)
{
	(void)state;
	struct cfg *c = expect_ok(cfg_default_yaml());
	assert_int_equal(c->ports_count, 1);
	assert_string_equal(c->ports[0].device, "net_tap0");
	assert_int_equal(c->dpdk.eal_args_count, 4);
	assert_string_equal(c->dpdk.eal_args[3], "--vdev=net_tap0,iface=rtprec0");
	assert_int_equal(c->flows_count, 1);
	assert_string_equal(c->flows[0].name, "demo");
	assert_int_equal(c->flows[0].dst.port, 30000);
	cfg_free(c);

	FILE *f = fopen(RTPREC_CONFIG_DIR "/default.yaml", "r");
	char buf[4096];
	assert_non_null(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	assert_string_equal(cfg_default_yaml(), buf);
}

static void test_example_yaml(void **state)
{
	struct cfg *c = NULL;
	char *out = NULL;
	size_t len;
	FILE *f = open_memstream(&out, &len);
	(void)state;
	int n = cfg_load_file(RTPREC_CONFIG_DIR "/rtprec.example.yaml", &c, f);
	fclose(f);
	if (n)
		print_error("%s", out);
	assert_int_equal(n, 0);
	assert_int_equal(c->flows_count, 2);
	assert_int_equal(c->flows[0].action_mask, CFG_ACT_RECORD | CFG_ACT_FORWARD);
	assert_int_equal(c->flows[0].fwd_from.port, 40002);
	assert_true(c->ports[0].has_gateway_mac);
	free(out);
	cfg_free(c);
}

static void test_unreadable_file(void **state)
{
	struct cfg *c = (struct cfg *)1;
	char *out = NULL;
	size_t len;
	FILE *f = open_memstream(&out, &len);
	(void)state;
	assert_int_equal(cfg_load_file("/nonexistent/rtprec.yaml", &c, f), 1);
	fclose(f);
	assert_null(c);
	assert_string_equal(out, "/nonexistent/rtprec.yaml: cannot read: No such file or directory\n");
	free(out);
}

/* A reload (CFG_LOAD_RELOAD) does not ask whether the files only a start opens can be
 * read: after process.user a root-only TLS key cannot, and the key waits for a restart. */
static void test_reload_skips_start_files(void **state)
{
	static const char yaml[] = P "sip:\n  listen: [\"tls:127.0.0.1:5061\"]\n"
				     "  tls_cert: /nonexistent/cert.pem\n"
				     "  tls_key: /nonexistent/key.pem\n"
				     "  tls_ca: /nonexistent/ca.pem\n"
				     "recording:\n  on_close: /nonexistent/hook {dir}\n";
	struct cfg *c = NULL;
	char *out = NULL;
	size_t len;
	FILE *f = open_memstream(&out, &len);
	(void)state;
	assert_int_equal(cfg_load_string_flags("t.yaml", yaml, strlen(yaml), 0, &c, f), 4);
	assert_null(c);
	fclose(f);
	free(out);
	f = open_memstream(&out, &len);
	assert_int_equal(cfg_load_string_flags("t.yaml", yaml, strlen(yaml), CFG_LOAD_RELOAD, &c,
					       f), 0);
	fclose(f);
	assert_string_equal(out, "");
	assert_non_null(c);
	assert_string_equal(c->sip.tls_key, "/nonexistent/key.pem");
	cfg_free(c);
	free(out);
}

int main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_too_many_ports),
		cmocka_unit_test(test_flow_table_too_small),
		cmocka_unit_test(test_alias_bomb),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_derived),
		cmocka_unit_test(test_forward_single_port_default),
		cmocka_unit_test(test_ip_str),
		cmocka_unit_test_setup_teardown(test_env_overrides, env_clear, env_clear),
		cmocka_unit_test_setup_teardown(test_env_rtprec_wins, env_clear, env_clear),
		cmocka_unit_test_setup_teardown(test_env_errors, env_clear, env_clear),
		cmocka_unit_test_setup_teardown(test_env_semantic_zero, env_clear, env_clear),
		cmocka_unit_test(test_default_yaml),
		cmocka_unit_test(test_example_yaml),
		cmocka_unit_test(test_unreadable_file),
		cmocka_unit_test(test_reload_skips_start_files),
	};
	const size_t ne = sizeof(ecases) / sizeof(ecases[0]);
	const size_t nf = sizeof(fixed) / sizeof(fixed[0]);
	struct CMUnitTest *tests = calloc(ne + nf, sizeof(*tests));
	if (!tests)
		return 1;
	for (size_t i = 0; i < ne; i++)
		tests[i] = (struct CMUnitTest){ .name = ecases[i].name, .test_func = test_ecase,
						.initial_state = (void *)&ecases[i] };
	memcpy(tests + ne, fixed, sizeof(fixed));
	env_clear(NULL);
	int r = _cmocka_run_group_tests("config", tests, ne + nf, NULL, NULL);
	free(tests);
	return r;
}
