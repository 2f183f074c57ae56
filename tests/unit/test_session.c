/* SPDX-License-Identifier: BSD-3-Clause
 * The session layer between a real SIP layer (loopback UDP), a real recorder and a
 * worker that the test plays itself: it takes the flow commands from the command ring
 * and answers them as dp_worker.c does, or leaves the ring full to play a stuck worker. */
#include <glob.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/cfg.h"
#include "controlplane/cp_priv.h"
#include "controlplane/cp_session.h"
#include "controlplane/cp_sip.h"
#include "dataplane/dp.h"
#include "recorder/rec.h"
#include "ut_ring.h"

static struct ut_port port0;
static struct cfg *cfg;
static struct dp_ctx *dp;
static struct rec_ctx *rec;
static struct cp_ctx *cp;
static struct cp_sip *sip;
static int sock;
static uint16_t sip_port, local_port;
static char rec_dir[64];

/* The worker's flow table as the test keeps it, keyed like the worker's by the flow key
 * (here its destination port: one media address, any source); call: which INVITE added
 * the flow. */
static struct {
	bool used;
	uint16_t port;
	uint32_t flow_id, rec_id;
	unsigned call;
} flows[64];
static unsigned call_no;
static unsigned rec_id_reused; /* flows added with the recorder id of an older call's flow */
static bool worker_stuck;

static void worker_reply(uint16_t type, uint32_t flow_id)
{
	struct dp_msg ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.u.result.flow_id = flow_id;
	assert_int_equal(dp_msg_send(dp_event_ring(dp, 0), &ev), 0);
}

static void worker_add(const struct dp_msg *m)
{
	unsigned free_i = 64;

	for (unsigned i = 0; i < 64; i++) {
		if (!flows[i].used) {
			free_i = free_i < 64 ? free_i : i;
			continue;
		}
		if (flows[i].rec_id == m->u.spec.rec_id && flows[i].call != call_no)
			rec_id_reused++;
		if (flows[i].port == m->u.spec.key.dst_port) { /* an update */
			assert_int_equal(m->type, DP_CMD_FLOW_UPDATE);
			worker_reply(DP_EV_FLOW_ADDED, m->u.spec.flow_id);
			return;
		}
	}
	assert_true(free_i < 64);
	flows[free_i].used = true;
	flows[free_i].port = m->u.spec.key.dst_port;
	flows[free_i].flow_id = m->u.spec.flow_id;
	flows[free_i].rec_id = m->u.spec.rec_id;
	flows[free_i].call = call_no;
	worker_reply(DP_EV_FLOW_ADDED, m->u.spec.flow_id);
}

/* What the worker has in its command ring, answered. */
static void worker_run(void)
{
	struct dp_msg m;

	while (!worker_stuck && dp_msg_recv(dp_cmd_ring(dp, 0), &m)) {
		if (m.type == DP_CMD_FLOW_ADD || m.type == DP_CMD_FLOW_UPDATE) {
			worker_add(&m);
		} else if (m.type == DP_CMD_FLOW_DEL) {
			for (unsigned i = 0; i < 64; i++)
				if (flows[i].used && flows[i].port == m.u.del.key.dst_port &&
				    flows[i].flow_id == m.u.del.flow_id)
					flows[i].used = false;
			worker_reply(DP_EV_FLOW_DELETED, m.u.del.flow_id);
		}
	}
}

static unsigned flows_of(unsigned call)
{
	unsigned n = 0;

	for (unsigned i = 0; i < 64; i++)
		n += flows[i].used && flows[i].call == call;
	return n;
}

/* The main loop for ms: SIP, the worker, its events, the once-a-second tick. */
static void pump(unsigned ms)
{
	uint64_t end = cp_now_ms() + ms, tick = 0;

	while (cp_now_ms() < end) {
		cp_sip_poll(sip, 1);
		worker_run();
		cp_poll(cp);
		if (cp_now_ms() >= tick) {
			cp_sessions_tick(cp);
			tick = cp_now_ms() + 1000;
		}
	}
}

static void sip_send(const char *msg)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(sip_port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};

	assert_true(sendto(sock, msg, strlen(msg), 0, (struct sockaddr *)&a, sizeof(a)) > 0);
}

/* The final response to the last request, pumping meanwhile; its status. */
static int sip_final(char *buf, size_t n)
{
	for (unsigned i = 0; i < 200; i++) {
		ssize_t len;

		pump(20);
		len = recv(sock, buf, n - 1, MSG_DONTWAIT);
		if (len <= 0)
			continue;
		buf[len] = '\0';
		if (strncmp(buf, "SIP/2.0 1", 9) != 0)
			return atoi(buf + 8);
	}
	return 0;
}

static const char SDP[] = "v=0\r\no=SRC 1 1 IN IP4 192.0.2.20\r\ns=-\r\nc=IN IP4 192.0.2.20\r\n"
			  "t=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=label:1\r\na=sendonly\r\n";

/* "METHOD" in call `cid`: to_tag "" before the answer; cseq 1 for INVITE and ACK. */
static void sip_req(const char *method, const char *cid, const char *to_tag, unsigned cseq)
{
	char msg[2048];
	bool invite = strcmp(method, "INVITE") == 0;

	snprintf(msg, sizeof(msg),
		 "%s sip:srs@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bK%s%s;"
		 "rport\r\nFrom: <sip:src@127.0.0.1>;tag=src%s\r\nTo: <sip:srs@127.0.0.1>%s%s\r\n"
		 "Call-ID: %s\r\nCSeq: %u %s\r\nMax-Forwards: 70\r\n"
		 "Contact: <sip:src@127.0.0.1:%u>;+sip.src\r\n%sContent-Length: %zu\r\n\r\n%s",
		 method, local_port, cid, method, cid, to_tag[0] ? ";tag=" : "", to_tag, cid, cseq,
		 method, local_port, invite ? "Content-Type: application/sdp\r\n" : "",
		 invite ? strlen(SDP) : 0, invite ? SDP : "");
	sip_send(msg);
}

/* A call answered (and ACKed); its To tag into tag. */
static void call_start(const char *cid, char *tag, size_t n)
{
	char resp[4096];
	const char *t;

	call_no++;
	sip_req("INVITE", cid, "", 1);
	assert_int_equal(sip_final(resp, sizeof(resp)), 200);
	t = strstr(resp, "To: ");
	t = t ? strstr(t, ";tag=") : NULL;
	assert_non_null(t);
	snprintf(tag, n, "%.*s", (int)strcspn(t + 5, "\r\n;>"), t + 5);
	sip_req("ACK", cid, tag, 1);
}

static void call_bye(const char *cid, const char *tag)
{
	char resp[4096];

	sip_req("BYE", cid, tag, 2);
	assert_int_equal(sip_final(resp, sizeof(resp)), 200);
}

/* A UDP port free on loopback now, for the SIP listener. */
static uint16_t free_udp_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	uint16_t port = 0;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &alen) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* session.json files written (the recorder thread writes them: waited for a while). */
static unsigned session_files(void)
{
	char pat[128];
	glob_t g;
	unsigned n = 0;

	snprintf(pat, sizeof(pat), "%s/*/*/*/*/session.json", rec_dir);
	for (unsigned i = 0; i < 50; i++) {
		pump(20);
		if (glob(pat, 0, NULL, &g) != 0)
			continue;
		n = (unsigned)g.gl_pathc;
		globfree(&g);
		if (n == 3)
			break;
	}
	return n;
}

static int setup(void **state)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	struct rte_ring *rings[CFG_MAX_WORKERS * CFG_MAX_REC_THREADS];
	struct rec_params rp;
	char yaml[2048];
	size_t len;

	(void)state;
	snprintf(rec_dir, sizeof(rec_dir), "/tmp/ut_session.XXXXXX");
	if (mkdtemp(rec_dir) == NULL)
		return -1;
	sock = socket(AF_INET, SOCK_DGRAM, 0);
	if (sock < 0 || bind(sock, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(sock, (struct sockaddr *)&a, &alen) != 0)
		return -1;
	local_port = ntohs(a.sin_port);
	sip_port = free_udp_port();
	len = (size_t)snprintf(yaml, sizeof(yaml),
			       "ports:\n  - { name: media0, device: \"%s\", ipv4: 192.0.2.10/24 }\n"
			       "workers: 1\nrecording: { dir: %s }\n"
			       "sip:\n  listen: [\"udp:127.0.0.1:%u\"]\n  max_sessions: 1\n"
			       "media:\n  port_min: 30000\n  port_max: 30099\nflows: []\n",
			       port0.name, rec_dir, sip_port);
	if (cfg_load_string("session", yaml, len, &cfg, stderr) != 0 || dp_create(cfg, &dp) != 0)
		return -1;
	rec_params_from_cfg(&rp, cfg);
	for (unsigned t = 0; t < rp.threads; t++)
		rings[t] = dp_record_ring(dp, 0, t);
	rec = rec_create(&rp, rings, 1);
	cp = rec ? cp_create(cfg, dp, rec) : NULL;
	if (cp == NULL || rec_start(rec) != 0 || cp_sessions_create(cp) != 0 ||
	    cp_sip_create(cfg, cp_sessions_app(cp), &sip) != 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	cp_sessions_free(cp);
	cp_sip_free(sip);
	rec_stop(rec);
	cp_free(cp);
	rec_free(rec);
	dp_destroy(dp);
	cfg_free(cfg);
	close(sock);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", rec_dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A call ends while its worker takes no command (its ring full for cp_send's 5 s): the
 * flow deletes are sent again once there is room, and until they are through the call's
 * recorder id is not given to another call (its flows would record into that call's
 * pcap). With sip.max_sessions 1 there are two ids: the third call would take the first
 * call's. The first call's session.json is written meanwhile. */
static void test_refused_delete_retried(void **state)
{
	struct dp_msg fill = {.type = DP_CMD_RX_START};
	char tag[64];
	unsigned filled = 0;

	(void)state;
	call_start("c1", tag, sizeof(tag));
	assert_int_equal(flows_of(1), 2); /* RTP and RTCP */
	worker_stuck = true;
	while (dp_msg_send(dp_cmd_ring(dp, 0), &fill) == 0)
		filled++;
	assert_true(filled > 0);
	call_bye("c1", tag); /* the delete waits 5 s for room, then gives up */
	worker_stuck = false;
	pump(1500); /* the backlog taken, ticks */
	assert_int_equal(flows_of(1), 0);
	assert_int_equal(cp_sessions_active(cp), 0);
	for (unsigned c = 2; c <= 3; c++) {
		char cid[8];
		snprintf(cid, sizeof(cid), "c%u", c);
		call_start(cid, tag, sizeof(tag));
		call_bye(cid, tag);
	}
	assert_int_equal(rec_id_reused, 0);
	assert_int_equal(flows_of(1) + flows_of(2) + flows_of(3), 0);
	assert_int_equal(session_files(), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_refused_delete_retried, setup, teardown),
	};

	if (ut_eal_init("ut_session", "0@0,1@0") != 0 || ut_port_create(&port0, "ut_sess", 1) != 0) {
		fprintf(stderr, "EAL or ring ports could not be set up\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
