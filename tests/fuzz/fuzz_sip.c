/* SPDX-License-Identifier: BSD-3-Clause
 * libFuzzer target for the SIP receive path: the input is one or more UDP
 * datagrams (split on "\n~~~\n") fed through cp_sip_feed_datagram, with
 * an app that answers INVITEs (200 with a body when the request had one,
 * else 488) and a few polls so timers and dialogs run too. Responses go where
 * the fuzzed Via says (127.0.0.1:5060 and any other port), so the target runs in
 * a network namespace of its own, only its loopback up: nothing it sends reaches
 * the machine's own SIP servers or tests (without root: a warning, and sends go
 * to the host's loopback). */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "controlplane/cp_sip.h"
#include "controlplane/sip/cp_sip_priv.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

/* The calling thread (libFuzzer's, which runs the inputs) into a new network
 * namespace with lo up. 0 or -errno. */
static int fz_own_netns(void)
{
	struct ifreq ifr;
	int fd, rc = 0;

	if (unshare(CLONE_NEWNET) != 0)
		return -errno;
	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) != 0)
		rc = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (rc == 0 && ioctl(fd, SIOCSIFFLAGS, &ifr) != 0)
		rc = -errno;
	close(fd);
	return rc;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int rc = fz_own_netns();

	(void)argc;
	(void)argv;
	if (rc != 0)
		fprintf(stderr, "fuzz_sip: no network namespace of its own (%s): responses go to "
			"this machine's 127.0.0.1\n", strerror(-rc));
	return 0;
}

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
