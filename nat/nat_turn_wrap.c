/* SPDX-License-Identifier: BSD-3-Clause
 * What flows through a TURN relay: Send and Data indications, ChannelData
 * (RFC 8656 11, 12). No allocation, no OpenSSL. See nat_turn.h. */
#include <string.h>

#include "nat_stun_priv.h"
#include "nat_turn_priv.h"

int nat_turn_wrap_send(struct nat_turn *t, const struct nat_stun_addr *peer,
		       const uint8_t *payload, size_t len, uint8_t *out, size_t cap)
{
	struct nat_stun_builder b;
	uint8_t tid[NAT_STUN_TID_LEN];

	/* indications get no answer: a random base and a counter make ids
	 * distinct without a syscall a packet */
	memcpy(tid, t->ind_tid, sizeof(tid));
	nat_put32(tid + 8, nat_be32(tid + 8) ^ t->ind_count++);
	nat_stun_start(&b, out, cap, NAT_STUN_INDICATION, NAT_STUN_SEND, tid);
	nat_stun_add_xor_addr(&b, NAT_TURN_A_XOR_PEER_ADDRESS, peer);
	return nat_stun_add_raw(&b, NAT_TURN_A_DATA, payload, len);
}

int nat_turn_wrap_channel(uint16_t channel, const uint8_t *payload, size_t len, uint8_t *out,
			  size_t cap)
{
	if (channel < NAT_TURN_CHANNEL_MIN || channel > NAT_TURN_CHANNEL_MAX || len > 0xFFFF ||
	    cap < NAT_TURN_CHANNEL_HDR || len > cap - NAT_TURN_CHANNEL_HDR)
		return -1;
	/* no padding: RFC 8656 12.5 does not ask for it over UDP */
	if (payload != out + NAT_TURN_CHANNEL_HDR)
		memmove(out + NAT_TURN_CHANNEL_HDR, payload, len);
	nat_put16(out, channel);
	nat_put16(out + 2, (uint16_t)len);
	return (int)(NAT_TURN_CHANNEL_HDR + len);
}

int nat_turn_unwrap_channel(const uint8_t *buf, size_t len, uint16_t *channel,
			    const uint8_t **payload, size_t *plen)
{
	uint16_t dlen;

	if (!nat_stun_is_channel_data(buf, len, channel, &dlen))
		return -1;
	*payload = buf + NAT_TURN_CHANNEL_HDR;
	*plen = dlen;
	return 0;
}

int nat_turn_unwrap_data(const uint8_t *buf, size_t len, struct nat_stun_addr *peer,
			 const uint8_t **payload, size_t *plen)
{
	struct nat_stun_msg m;
	uint16_t dlen;

	if (nat_stun_parse(buf, len, &m) != 0 || m.cls != NAT_STUN_INDICATION ||
	    m.method != NAT_STUN_DATA || !nat_turn_known_attrs(&m) ||
	    nat_stun_find_xor_addr(&m, NAT_TURN_A_XOR_PEER_ADDRESS, peer) != 0)
		return -1;
	const uint8_t *d = nat_stun_find(&m, NAT_TURN_A_DATA, &dlen);
	if (!d)
		return -1;
	*payload = d;
	*plen = dlen;
	return 0;
}
