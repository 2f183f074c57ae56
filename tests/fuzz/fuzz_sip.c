/* SPDX-License-Identifier: BSD-3-Clause
 * libFuzzer target for the SIP receive path: the input is one or more UDP
 * datagrams (split on "\n~~~\n") fed through cp_sip_feed_datagram, with
 * an app that answers INVITEs (200 with a body when the request had one,
 * else 488) and a few polls so timers and dialogs run too. Responses go to
 * 127.0.0.1:9, where nothing listens. */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "controlplane/cp_sip.h"
#include "controlplane/sip/cp_sip_priv.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

static void fz_invite(void *ctx, const struct cp_sip_request *req, struct cp_sip_pending *p)
{
	struct cp_sip_response r = { .status = req->body ? 200 : 488,
				     .content_type = "application/sdp", .body = "v=0\r\n",
				     .body_len = 5, .contact_params = ";+sip.srs" };
	struct cp_sip_dialog *dl = NULL;

	(void)ctx;
	cp_sip_answer(p, &r, &dl);
	if (dl && req->body_len > 3 && req->body[0] == 'B')
		cp_sip_send_bye(dl, "fuzz");
}

static const struct cp_sip_app fz_app = { .on_invite = fz_invite };

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static struct cfg cfg;
	struct cp_sip *s = NULL;
	struct sockaddr_in src = { .sin_family = AF_INET, .sin_port = htons(9),
				   .sin_addr.s_addr = htonl(0x7f000001) };
	static const char sep[] = "\n~~~\n";

	cfg.sip.n_listeners = 1;
	cfg.sip.listeners[0].transport = CFG_SIP_UDP;
	cfg.sip.listeners[0].addr.ip = 0x7f000001;
	cfg.sip.listeners[0].addr.port = 0;
	cfg.sip.max_message = 4096;
	cfg.sip.max_connections = 4;
	cfg.sip.max_sessions = 16;
	if (cp_sip_create(&cfg, &fz_app, &s) != 0)
		return 0;
	while (n > 0) {
		const uint8_t *e = memmem(d, n, sep, sizeof(sep) - 1);
		size_t len = e ? (size_t)(e - d) : n;

		cp_sip_feed_datagram(s, d, len, &src);
		cp_sip_poll(s, 0);
		if (!e)
			break;
		d = e + sizeof(sep) - 1;
		n -= len + sizeof(sep) - 1;
	}
	cp_sip_free(s);
	return 0;
}
