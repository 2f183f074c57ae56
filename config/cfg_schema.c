/* SPDX-License-Identifier: BSD-3-Clause
 * The libcyaml schema for struct cfg. Everything else (walk, env overrides)
 * reads this table generically: a new key only needs a line here, its
 * default/range in cfg_validate*.c and a line in rtprec.example.yaml.
 */
#include <stdlib.h>

#include "config/cfg_priv.h"

#define STR(key, flags, st, m) CYAML_FIELD_STRING_PTR(key, flags, st, m, 0, CYAML_UNLIMITED)
#define OPT CYAML_FLAG_OPTIONAL
#define REQ CYAML_FLAG_DEFAULT

static const cyaml_schema_value_t string_entry = {
	CYAML_VALUE_STRING(CYAML_FLAG_POINTER, char, 0, CYAML_UNLIMITED),
};

static const cyaml_schema_field_t dpdk_fields[] = {
	CYAML_FIELD_SEQUENCE("eal_args", CYAML_FLAG_POINTER | OPT, struct cfg_dpdk, eal_args,
			     &string_entry, 0, CYAML_UNLIMITED),
	CYAML_FIELD_END,
};

static const cyaml_schema_field_t port_fields[] = {
	STR("name", REQ, struct cfg_port, name),
	STR("device", REQ, struct cfg_port, device),
	STR("ipv4", REQ, struct cfg_port, ipv4),
	STR("gateway", OPT, struct cfg_port, gateway),
	STR("gateway_mac", OPT, struct cfg_port, gateway_mac),
	CYAML_FIELD_UINT("rx_desc", OPT, struct cfg_port, rx_desc),
	CYAML_FIELD_UINT("tx_desc", OPT, struct cfg_port, tx_desc),
	CYAML_FIELD_UINT("vlan", OPT, struct cfg_port, vlan),
	CYAML_FIELD_END,
};

static const cyaml_schema_value_t port_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct cfg_port, port_fields),
};

static const cyaml_schema_field_t recording_fields[] = {
	STR("dir", OPT, struct cfg_recording, dir),
	CYAML_FIELD_UINT("threads", OPT, struct cfg_recording, threads),
	STR("sync", OPT, struct cfg_recording, sync),
	CYAML_FIELD_UINT("sync_interval_ms", OPT, struct cfg_recording, sync_interval_ms),
	CYAML_FIELD_UINT("rotate_bytes", OPT, struct cfg_recording, rotate_bytes),
	CYAML_FIELD_UINT("rotate_seconds", OPT, struct cfg_recording, rotate_seconds),
	STR("file_mode", OPT, struct cfg_recording, file_mode),
	STR("dir_mode", OPT, struct cfg_recording, dir_mode),
	CYAML_FIELD_BOOL("refuse_when_full", OPT, struct cfg_recording, refuse_when_full),
	STR("on_close", OPT, struct cfg_recording, on_close),
	CYAML_FIELD_UINT("on_close_timeout_s", OPT, struct cfg_recording, on_close_timeout_s),
	CYAML_FIELD_UINT("write_buffer_kb", OPT, struct cfg_recording, write_buffer_kb),
	CYAML_FIELD_UINT("buffer_mb", OPT, struct cfg_recording, buffer_mb),
	STR("srtp", OPT, struct cfg_recording, srtp),
	CYAML_FIELD_END,
};

static const cyaml_schema_field_t match_fields[] = {
	STR("dst", REQ, struct cfg_flow_match, dst),
	STR("src", OPT, struct cfg_flow_match, src),
	CYAML_FIELD_END,
};

static const cyaml_schema_field_t forward_fields[] = {
	STR("to", REQ, struct cfg_flow_forward, to),
	STR("from", OPT, struct cfg_flow_forward, from),
	STR("port", OPT, struct cfg_flow_forward, port),
	CYAML_FIELD_END,
};

static const cyaml_schema_field_t flow_fields[] = {
	STR("name", REQ, struct cfg_flow, name),
	CYAML_FIELD_MAPPING("match", REQ, struct cfg_flow, match, match_fields),
	CYAML_FIELD_SEQUENCE("actions", CYAML_FLAG_POINTER, struct cfg_flow, actions,
			     &string_entry, 0, CYAML_UNLIMITED),
	CYAML_FIELD_MAPPING("forward", OPT, struct cfg_flow, forward, forward_fields),
	CYAML_FIELD_UINT("clock_rate", OPT, struct cfg_flow, clock_rate),
	CYAML_FIELD_UINT("count", OPT, struct cfg_flow, count),
	CYAML_FIELD_END,
};

static const cyaml_schema_value_t flow_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct cfg_flow, flow_fields),
};

static const cyaml_schema_field_t dataplane_fields[] = {
	CYAML_FIELD_UINT("flow_table_size", OPT, struct cfg_dataplane, flow_table_size),
	CYAML_FIELD_UINT("mbufs", OPT, struct cfg_dataplane, mbufs),
	CYAML_FIELD_UINT("record_ring_size", OPT, struct cfg_dataplane, record_ring_size),
	CYAML_FIELD_UINT("neigh_hold", OPT, struct cfg_dataplane, neigh_hold),
	CYAML_FIELD_UINT("burst", OPT, struct cfg_dataplane, burst),
	CYAML_FIELD_UINT("mbuf_size", OPT, struct cfg_dataplane, mbuf_size),
	CYAML_FIELD_UINT("idle_sleep_us", OPT, struct cfg_dataplane, idle_sleep_us),
	CYAML_FIELD_UINT("rx_pace_pps", OPT, struct cfg_dataplane, rx_pace_pps),
	CYAML_FIELD_END,
};

static const cyaml_schema_field_t nat_cloud_fields[] = {
	CYAML_FIELD_SEQUENCE("providers", CYAML_FLAG_POINTER | OPT, struct cfg_nat_cloud,
			     providers, &string_entry, 0, CYAML_UNLIMITED),
	STR("gcp_url", OPT, struct cfg_nat_cloud, gcp_url),
	STR("aws_url", OPT, struct cfg_nat_cloud, aws_url),
	STR("azure_url", OPT, struct cfg_nat_cloud, azure_url),
	CYAML_FIELD_UINT("timeout_ms", OPT, struct cfg_nat_cloud, timeout_ms),
	CYAML_FIELD_END,
};

static const cyaml_schema_field_t nat_turn_fields[] = {
	STR("uri", REQ, struct cfg_nat_turn, uri),
	STR("username", REQ, struct cfg_nat_turn, username),
	STR("password", REQ, struct cfg_nat_turn, password),
	CYAML_FIELD_END,
};

static const cyaml_schema_value_t nat_turn_entry = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct cfg_nat_turn, nat_turn_fields),
};

static const cyaml_schema_field_t nat_fields[] = {
	STR("behind_nat", OPT, struct cfg_nat, behind_nat),
	STR("external_ip", OPT, struct cfg_nat, external_ip),
	STR("internal_ip", OPT, struct cfg_nat, internal_ip),
	CYAML_FIELD_SEQUENCE("sources", CYAML_FLAG_POINTER | OPT, struct cfg_nat, sources,
			     &string_entry, 0, CYAML_UNLIMITED),
	STR("stun_server", OPT, struct cfg_nat, stun_server),
	CYAML_FIELD_UINT("stun_port", OPT, struct cfg_nat, stun_port),
	CYAML_FIELD_UINT("stun_rto_ms", OPT, struct cfg_nat, stun_rto_ms),
	STR("behaviour", OPT, struct cfg_nat, behaviour),
	CYAML_FIELD_UINT("recheck_s", OPT, struct cfg_nat, recheck_s),
	CYAML_FIELD_UINT("external_port_min", OPT, struct cfg_nat, external_port_min),
	CYAML_FIELD_BOOL("reinvite_on_change", OPT, struct cfg_nat, reinvite_on_change),
	STR("keepalive", OPT, struct cfg_nat, keepalive),
	CYAML_FIELD_UINT("keepalive_s", OPT, struct cfg_nat, keepalive_s),
	CYAML_FIELD_MAPPING("cloud", OPT, struct cfg_nat, cloud, nat_cloud_fields),
	CYAML_FIELD_SEQUENCE("turn", CYAML_FLAG_POINTER | OPT, struct cfg_nat, turn, &nat_turn_entry,
			     0, CYAML_UNLIMITED),
	STR("relay", OPT, struct cfg_nat, relay),
	STR("ice", OPT, struct cfg_nat, ice),
	CYAML_FIELD_UINT("ice_consent_timeout_s", OPT, struct cfg_nat, ice_consent_timeout_s),
	CYAML_FIELD_END,
};

static const cyaml_schema_field_t log_fields[] = {
	STR("level", OPT, struct cfg_log, level),
	STR("target", OPT, struct cfg_log, target),
	STR("format", OPT, struct cfg_log, format),
	CYAML_FIELD_END,
};

static const cyaml_schema_field_t sip_limits_fields[] = {
	CYAML_FIELD_UINT("tcp_idle_s", OPT, struct cfg_sip_limits, tcp_idle_s),
	CYAML_FIELD_UINT("message_timeout_s", OPT, struct cfg_sip_limits, message_timeout_s),
	CYAML_FIELD_UINT("tls_handshake_s", OPT, struct cfg_sip_limits, tls_handshake_s),
	CYAML_FIELD_END,
};

static const cyaml_schema_field_t sip_rate_fields[] = {
	CYAML_FIELD_UINT("requests_per_s", OPT, struct cfg_sip_rate, requests_per_s),
	CYAML_FIELD_UINT("burst", OPT, struct cfg_sip_rate, burst),
	CYAML_FIELD_END,
};

static const cyaml_schema_field_t sip_fields[] = {
	CYAML_FIELD_SEQUENCE("listen", CYAML_FLAG_POINTER | OPT, struct cfg_sip, listen,
			     &string_entry, 0, CYAML_UNLIMITED),
	STR("tls_cert", OPT, struct cfg_sip, tls_cert),
	STR("tls_key", OPT, struct cfg_sip, tls_key),
	STR("tls_ca", OPT, struct cfg_sip, tls_ca),
	CYAML_FIELD_BOOL("tls_verify_client", OPT, struct cfg_sip, tls_verify_client),
	STR("tls_ciphers", OPT, struct cfg_sip, tls_ciphers),
	STR("tls_ciphersuites", OPT, struct cfg_sip, tls_ciphersuites),
	CYAML_FIELD_SEQUENCE("allow", CYAML_FLAG_POINTER | OPT, struct cfg_sip, allow,
			     &string_entry, 0, CYAML_UNLIMITED),
	CYAML_FIELD_UINT("max_sessions", OPT, struct cfg_sip, max_sessions),
	CYAML_FIELD_UINT("min_se", OPT, struct cfg_sip, min_se),
	CYAML_FIELD_UINT("max_message", OPT, struct cfg_sip, max_message),
	CYAML_FIELD_UINT("max_connections", OPT, struct cfg_sip, max_connections),
	STR("external_address", OPT, struct cfg_sip, external_address),
	CYAML_FIELD_MAPPING("limits", OPT, struct cfg_sip, limits, sip_limits_fields),
	CYAML_FIELD_MAPPING("rate_limit", OPT, struct cfg_sip, rate_limit, sip_rate_fields),
	CYAML_FIELD_END,
};

static const cyaml_schema_field_t media_fields[] = {
	CYAML_FIELD_SEQUENCE("addresses", CYAML_FLAG_POINTER | OPT, struct cfg_media, addresses,
			     &string_entry, 0, CYAML_UNLIMITED),
	CYAML_FIELD_UINT("port_min", OPT, struct cfg_media, port_min),
	CYAML_FIELD_UINT("port_max", OPT, struct cfg_media, port_max),
	STR("port", OPT, struct cfg_media, port),
	CYAML_FIELD_UINT("timeout_s", OPT, struct cfg_media, timeout_s),
	CYAML_FIELD_BOOL("strict_source", OPT, struct cfg_media, strict_source),
	CYAML_FIELD_UINT("relatch_packets", OPT, struct cfg_media, relatch_packets),
	CYAML_FIELD_SEQUENCE("kinds", CYAML_FLAG_POINTER | OPT, struct cfg_media, kinds,
			     &string_entry, 0, CYAML_UNLIMITED),
	CYAML_FIELD_END,
};

static const cyaml_schema_field_t shutdown_fields[] = {
	CYAML_FIELD_UINT("drain_s", OPT, struct cfg_shutdown, drain_s),
	CYAML_FIELD_END,
};

static const cyaml_schema_field_t siprec_fields[] = {
	CYAML_FIELD_BOOL("require_metadata", OPT, struct cfg_siprec, require_metadata),
	CYAML_FIELD_BOOL("request_metadata", OPT, struct cfg_siprec, request_metadata),
	CYAML_FIELD_END,
};

static const cyaml_schema_field_t metrics_fields[] = {
	STR("listen", OPT, struct cfg_metrics, listen),
	CYAML_FIELD_END,
};

static const cyaml_schema_field_t control_fields[] = {
	STR("socket", OPT, struct cfg_control, socket),
	CYAML_FIELD_END,
};

static const cyaml_schema_field_t process_fields[] = {
	STR("user", OPT, struct cfg_process, user),
	CYAML_FIELD_END,
};

static const cyaml_schema_field_t top_fields[] = {
	CYAML_FIELD_MAPPING("dpdk", OPT, struct cfg, dpdk, dpdk_fields),
	CYAML_FIELD_SEQUENCE("ports", CYAML_FLAG_POINTER, struct cfg, ports, &port_entry, 0,
			     CYAML_UNLIMITED),
	CYAML_FIELD_UINT("workers", OPT, struct cfg, workers),
	CYAML_FIELD_MAPPING("recording", OPT, struct cfg, recording, recording_fields),
	CYAML_FIELD_SEQUENCE("flows", CYAML_FLAG_POINTER | OPT, struct cfg, flows, &flow_entry, 0,
			     CYAML_UNLIMITED),
	CYAML_FIELD_MAPPING("dataplane", OPT, struct cfg, dataplane, dataplane_fields),
	CYAML_FIELD_MAPPING("nat", OPT, struct cfg, nat, nat_fields),
	CYAML_FIELD_MAPPING("log", OPT, struct cfg, log, log_fields),
	CYAML_FIELD_MAPPING("sip", OPT, struct cfg, sip, sip_fields),
	CYAML_FIELD_MAPPING("media", OPT, struct cfg, media, media_fields),
	CYAML_FIELD_MAPPING("shutdown", OPT, struct cfg, shutdown, shutdown_fields),
	CYAML_FIELD_MAPPING("siprec", OPT, struct cfg, siprec, siprec_fields),
	CYAML_FIELD_MAPPING("metrics", OPT, struct cfg, metrics, metrics_fields),
	CYAML_FIELD_MAPPING("control", OPT, struct cfg, control, control_fields),
	CYAML_FIELD_MAPPING("process", OPT, struct cfg, process, process_fields),
	CYAML_FIELD_END,
};

const cyaml_schema_value_t cfg_schema_top = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_POINTER, struct cfg, top_fields),
};

static void *cfg_mem(void *ctx, void *ptr, size_t size)
{
	(void)ctx;
	if (size == 0) {
		free(ptr);
		return NULL;
	}
	return realloc(ptr, size);
}

void cfg_cyaml_config(cyaml_config_t *conf, void *log_ctx,
		      void (*log_fn)(cyaml_log_t, void *, const char *, va_list))
{
	*conf = (cyaml_config_t){
		.log_fn = log_fn,
		.log_ctx = log_ctx,
		.mem_fn = cfg_mem,
		.log_level = CYAML_LOG_ERROR,
		.flags = CYAML_CFG_DEFAULT,
	};
}

size_t cfg_entry_stride(const cyaml_schema_value_t *entry)
{
	return (entry->flags & CYAML_FLAG_POINTER) ? sizeof(void *) : entry->data_size;
}
