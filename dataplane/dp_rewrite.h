/* SPDX-License-Identifier: BSD-3-Clause
 * NAT rewrite of a parsed UDP/IPv4 frame with incremental checksum updates
 * (RFC 1624). A UDP checksum of 0 (none) stays 0. */
#ifndef RTPREC_DP_REWRITE_H
#define RTPREC_DP_REWRITE_H

#include <stdint.h>
#include "dp_parse.h"

/* One's-complement incremental update of a checksum field value (as stored,
 * network order) when a 16-bit / 32-bit word changes from old to new (network
 * order). */
uint16_t dp_csum_update16(uint16_t csum, uint16_t old_v, uint16_t new_v);
uint16_t dp_csum_update32(uint16_t csum, uint32_t old_v, uint32_t new_v);

/* Full one's-complement checksum of an IPv4 header (for tests and ARP/ICMP). */
uint16_t dp_ipv4_csum(const uint8_t *ip_hdr, unsigned hdr_len);

/* Rewrite source/destination address and ports (network order) of the UDP
 * frame p describes, fixing the IPv4 header checksum and the UDP checksum. */
void dp_rewrite_udp4(uint8_t *frame, const struct dp_parsed *p, uint32_t src_ip, uint32_t dst_ip,
		     uint16_t src_port, uint16_t dst_port);

/* Set destination and source MAC of the frame. */
void dp_rewrite_macs(uint8_t *frame, const uint8_t dst[6], const uint8_t src[6]);

#endif
