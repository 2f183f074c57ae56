/* SPDX-License-Identifier: BSD-3-Clause
 * cp_sip over real loopback sockets: UDP, TCP and TLS (certificate made at
 * test time with openssl), driven by raw SIP texts from the test. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "controlplane/cp_sip.h"
#include "controlplane/sip/cp_sip_priv.h"

static const char SDP[] = "v=0\r\no=rtprec 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
			  "t=0 0\r\nm=audio 30000 RTP/AVP 0\r\na=recvonly\r\n";

struct app_state {
	bool no_answer;
	int invites, reinvites, acks, byes, cancels, ends;
	char end_why[64];
	struct cp_sip_pending *last_pending;
	struct cp_sip_dialog *dialog;
	char transport[8];
};

static struct app_state A;
static char tmpdir[64];
static char cert_path[128], key_path[128];

static void on_invite(void *ctx, const struct cp_sip_request *req, struct cp_sip_pending *p)
{
	(void)ctx;
	snprintf(A.transport, sizeof(A.transport), "%s", req->transport);
	if (req->dialog)
		A.reinvites++;
	else
		A.invites++;
	A.last_pending = p;
	if (A.no_answer)
		return;
	struct cp_sip_response r = {
		.status = 200, .content_type = "application/sdp", .body = SDP,
		.body_len = sizeof(SDP) - 1, .contact_params = ";+sip.srs",
	};
	struct cp_sip_dialog *d = NULL;

	assert_int_equal(cp_sip_answer(p, &r, &d), 0);
	A.last_pending = NULL;
	if (!req->dialog)
		A.dialog = d;
}

static void on_cancel(void *ctx, struct cp_sip_pending *p)
{
	(void)ctx;
	(void)p;
	A.cancels++;
	A.last_pending = NULL;
}

static void on_ack(void *ctx, struct cp_sip_dialog *d)
{
	(void)ctx;
	(void)d;
	A.acks++;
}

static void on_bye(void *ctx, struct cp_sip_dialog *d)
{
	(void)ctx;
	if (d == A.dialog)
		A.dialog = NULL;
	A.byes++;
}

static void on_end(void *ctx, struct cp_sip_dialog *d, const char *why)
{
	(void)ctx;
	if (d == A.dialog)
		A.dialog = NULL;
	snprintf(A.end_why, sizeof(A.end_why), "%s", why);
	A.ends++;
}

static const struct cp_sip_app APP = {
	.on_invite = on_invite, .on_cancel = on_cancel, .on_ack = on_ack,
	.on_bye = on_bye, .on_dialog_end = on_end,
};

/* ---- fixture ---- */

struct fx {
	struct cfg cfg;
	struct cp_sip *s;
	int udp;           /* client UDP socket */
	uint16_t lport;    /* its port */
	uint16_t port[3];  /* server UDP, TCP, TLS */
};

static int make_cert(void)
{
	char cmd[512];

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_sip.XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(cert_path, sizeof(cert_path), "%s/cert.pem", tmpdir);
	snprintf(key_path, sizeof(key_path), "%s/key.pem", tmpdir);
	snprintf(cmd, sizeof(cmd),
		 "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 1 "
		 "-keyout %s -out %s >/dev/null 2>&1", key_path, cert_path);
	return system(cmd) == 0 ? 0 : -1;
}

static int group_setup(void **state)
{
	(void)state;
	return make_cert();
}

static int group_teardown(void **state)
{
	(void)state;
	unlink(cert_path);
	unlink(key_path);
	rmdir(tmpdir);
	return 0;
}

static int setup_max(void **state, unsigned max_message)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);

	memset(&A, 0, sizeof(A));
	f->cfg.sip.n_listeners = 3;
	for (int i = 0; i < 3; i++) {
		f->cfg.sip.listeners[i].transport = (enum cfg_sip_transport)i;
		f->cfg.sip.listeners[i].addr.ip = 0x7f000001;
		f->cfg.sip.listeners[i].addr.port = 0;
	}
	f->cfg.sip.max_message = max_message;
	f->cfg.sip.max_connections = 8;
	f->cfg.sip.max_sessions = 100;
	f->cfg.sip.tls_cert = cert_path;
	f->cfg.sip.tls_key = key_path;
	assert_int_equal(cp_sip_create(&f->cfg, &APP, &f->s), 0);
	for (int i = 0; i < 3; i++)
		f->port[i] = cp_sip_listener_port(f->s, (unsigned)i);
	cp_sip_set_timers(f->s, 100, 400, 0);
	f->udp = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	sa.sin_addr.s_addr = htonl(0x7f000001);
	assert_int_equal(bind(f->udp, (struct sockaddr *)&sa, sizeof(sa)), 0);
	getsockname(f->udp, (struct sockaddr *)&sa, &sl);
	f->lport = ntohs(sa.sin_port);
	*state = f;
	return 0;
}

static int setup(void **state) { return setup_max(state, 65535); }
static int setup_small(void **state) { return setup_max(state, 1500); }

static int teardown(void **state)
{
	struct fx *f = *state;

	cp_sip_free(f->s);
	close(f->udp);
	free(f);
	return 0;
}

/* ---- helpers ---- */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A request text. to_tag NULL: none. */
static int req(char *buf, size_t n, const char *method, const char *tp, uint16_t lport,
	       const char *branch, const char *cid, const char *to_tag, unsigned cseq,
	       const char *cseq_method, const char *body)
{
	size_t bl = body ? strlen(body) : 0;

	return snprintf(buf, n,
			"%s sip:rtprec@127.0.0.1 SIP/2.0\r\n"
			"Via: SIP/2.0/%s 127.0.0.1:%u;branch=z9hG4bK%s;rport\r\n"
			"Max-Forwards: 70\r\n"
			"From: <sip:src@127.0.0.1>;tag=ft1\r\n"
			"To: <sip:rtprec@127.0.0.1>%s%s\r\n"
			"Call-ID: %s\r\n"
			"CSeq: %u %s\r\n"
			"Contact: <sip:src@127.0.0.1:%u;transport=%s>;+sip.src\r\n"
			"%s"
			"Content-Length: %zu\r\n\r\n%s",
			method, tp, lport, branch, to_tag ? ";tag=" : "", to_tag ? to_tag : "", cid,
			cseq, cseq_method ? cseq_method : method, lport, tp,
			body ? "Content-Type: application/sdp\r\n" : "", bl, body ? body : "");
}

static void udp_send(struct fx *f, const char *msg)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(f->port[0]),
				  .sin_addr.s_addr = htonl(0x7f000001) };

	assert_true(sendto(f->udp, msg, strlen(msg), 0, (struct sockaddr *)&sa, sizeof(sa)) > 0);
}

/* Next datagram within ms (polling the server meanwhile); its length or 0. */
static size_t udp_recv(struct fx *f, char *buf, size_t n, unsigned ms)
{
	uint64_t end = now_ms() + ms;

	do {
		ssize_t r = recv(f->udp, buf, n - 1, 0);

		if (r > 0) {
			buf[r] = 0;
			return (size_t)r;
		}
		cp_sip_poll(f->s, 5);
	} while (now_ms() < end);
	buf[0] = 0;
	return 0;
}

/* Next response with this status (skipping others), within ms. */
static bool udp_expect(struct fx *f, char *buf, size_t n, int status, unsigned ms)
{
	char want[32];
	uint64_t end = now_ms() + ms;

	snprintf(want, sizeof(want), "SIP/2.0 %d ", status);
	while (now_ms() < end) {
		if (udp_recv(f, buf, n, (unsigned)(end - now_ms())) &&
		    strncmp(buf, want, strlen(want)) == 0)
			return true;
	}
	return false;
}

static void pump(struct fx *f, unsigned ms)
{
	uint64_t end = now_ms() + ms;

	while (now_ms() < end)
		cp_sip_poll(f->s, 5);
}

static const char *hdr(const char *msg, const char *name)
{
	static char val[512];
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\r\n%s:", name);
	p = strcasestr(msg, pat);
	if (!p)
		return NULL;
	p += strlen(pat);
	while (*p == ' ')
		p++;
	size_t l = strcspn(p, "\r\n");

	if (l >= sizeof(val))
		l = sizeof(val) - 1;
	memcpy(val, p, l);
	val[l] = 0;
	return val;
}

static void to_tag_of(const char *msg, char *tag, size_t n)
{
	const char *to = hdr(msg, "To");
	const char *t;

	assert_non_null(to);
	t = strstr(to, "tag=");
	assert_non_null(t);
	snprintf(tag, n, "%.*s", (int)strcspn(t + 4, ";\r\n "), t + 4);
}

/* ---- UDP ---- */

static void test_options_udp(void **state)
{
	struct fx *f = *state;
	char m[2048], r[4096];

	req(m, sizeof(m), "OPTIONS", "UDP", f->lport, "opt1", "opt1@test", NULL, 1, NULL, NULL);
	udp_send(f, m);
	assert_true(udp_expect(f, r, sizeof(r), 200, 1000));
	assert_non_null(strstr(hdr(r, "Allow"), "UPDATE"));
	assert_string_equal(hdr(r, "Supported"), "siprec");
	assert_non_null(hdr(r, "Accept"));
	char rport[32];

	snprintf(rport, sizeof(rport), "rport=%u", f->lport);
	assert_non_null(strstr(hdr(r, "Via"), "received=127.0.0.1"));
	assert_non_null(strstr(hdr(r, "Via"), rport));
	assert_non_null(strstr(r, "\r\nServer: rtprec"));
	struct cp_sip_counters c;

	cp_sip_get_counters(f->s, &c);
	assert_int_equal(c.requests_in, 1);
	assert_int_equal(c.responses_out, 1);
}

/* INVITE -> 100, 200 (retransmitted until ACK), ACK, BYE -> 200. */
static void test_invite_ack_bye_udp(void **state)
{
	struct fx *f = *state;
	char m[4096], r[4096], tag[64];

	req(m, sizeof(m), "INVITE", "UDP", f->lport, "inv1", "inv1@test", NULL, 1, NULL, SDP);
	udp_send(f, m);
	assert_true(udp_expect(f, r, sizeof(r), 100, 1000));
	assert_true(udp_expect(f, r, sizeof(r), 200, 1000));
	assert_int_equal(A.invites, 1);
	assert_string_equal(A.transport, "UDP");
	assert_non_null(A.dialog);
	to_tag_of(r, tag, sizeof(tag));
	assert_true(strlen(tag) > 4);
	assert_non_null(strstr(hdr(r, "Contact"), ";+sip.srs"));
	assert_non_null(strstr(hdr(r, "Contact"), "transport=udp"));
	assert_non_null(strstr(r, "m=audio 30000"));
	/* retransmitted 2xx (T1 = 100 ms here) */
	assert_true(udp_expect(f, r, sizeof(r), 200, 1000));
	assert_true(udp_expect(f, r, sizeof(r), 200, 1000));
	/* a retransmitted INVITE gets the 2xx again, no new call */
	udp_send(f, m);
	assert_true(udp_expect(f, r, sizeof(r), 200, 1000));
	assert_int_equal(A.invites, 1);
	req(m, sizeof(m), "ACK", "UDP", f->lport, "ack1", "inv1@test", tag, 1, NULL, NULL);
	udp_send(f, m);
	pump(f, 100);
	assert_int_equal(A.acks, 1);
	while (udp_recv(f, r, sizeof(r), 50))
		;
	assert_int_equal(udp_recv(f, r, sizeof(r), 500), 0); /* no more 2xx */
	/* an old CSeq in the dialog: 500 */
	req(m, sizeof(m), "UPDATE", "UDP", f->lport, "old1", "inv1@test", tag, 1, NULL, SDP);
	udp_send(f, m);
	assert_true(udp_expect(f, r, sizeof(r), 500, 1000));
	assert_int_equal(A.reinvites, 0);
	/* re-INVITE in the dialog */
	req(m, sizeof(m), "INVITE", "UDP", f->lport, "inv2", "inv1@test", tag, 2, NULL, SDP);
	udp_send(f, m);
	assert_true(udp_expect(f, r, sizeof(r), 200, 1000));
	assert_int_equal(A.reinvites, 1);
	req(m, sizeof(m), "ACK", "UDP", f->lport, "ack2", "inv1@test", tag, 2, NULL, NULL);
	udp_send(f, m);
	/* UPDATE in the dialog */
	req(m, sizeof(m), "UPDATE", "UDP", f->lport, "upd1", "inv1@test", tag, 3, NULL, SDP);
	udp_send(f, m);
	assert_true(udp_expect(f, r, sizeof(r), 200, 1000));
	assert_int_equal(A.reinvites, 2);
	/* OPTIONS in dialog */
	req(m, sizeof(m), "OPTIONS", "UDP", f->lport, "opt2", "inv1@test", tag, 4, NULL, NULL);
	udp_send(f, m);
	assert_true(udp_expect(f, r, sizeof(r), 200, 1000));
	req(m, sizeof(m), "BYE", "UDP", f->lport, "bye1", "inv1@test", tag, 5, NULL, NULL);
	udp_send(f, m);
	assert_true(udp_expect(f, r, sizeof(r), 200, 1000));
	assert_int_equal(A.byes, 1);
	assert_null(A.dialog);
	/* BYE again: the dialog is gone; libosip2 answers the retransmission */
	req(m, sizeof(m), "BYE", "UDP", f->lport, "bye2", "inv1@test", tag, 6, NULL, NULL);
	udp_send(f, m);
	assert_true(udp_expect(f, r, sizeof(r), 481, 1000));
}

static void test_no_ack(void **state)
{
	struct fx *f = *state;
	char m[4096], r[4096];

	cp_sip_set_timers(f->s, 20, 80, 0);
	req(m, sizeof(m), "INVITE", "UDP", f->lport, "noack", "noack@test", NULL, 1, NULL, SDP);
	udp_send(f, m);
	assert_true(udp_expect(f, r, sizeof(r), 200, 1000));
	uint64_t end = now_ms() + 3000;

	while (!A.ends && now_ms() < end)
		cp_sip_poll(f->s, 10);
	assert_int_equal(A.ends, 1);
	assert_string_equal(A.end_why, "no ACK");
}

static void test_cancel(void **state)
{
	struct fx *f = *state;
	char m[4096], r[4096];

	A.no_answer = true;
	req(m, sizeof(m), "INVITE", "UDP", f->lport, "cnl1", "cnl1@test", NULL, 1, NULL, SDP);
	udp_send(f, m);
	assert_true(udp_expect(f, r, sizeof(r), 100, 1000));
	assert_non_null(A.last_pending);
	req(m, sizeof(m), "CANCEL", "UDP", f->lport, "cnl1", "cnl1@test", NULL, 1, NULL, NULL);
	udp_send(f, m);
	bool got200 = false, got487 = false;
	uint64_t end = now_ms() + 2000;

	while ((!got200 || !got487) && now_ms() < end) {
		if (!udp_recv(f, r, sizeof(r), 100))
			continue;
		if (strncmp(r, "SIP/2.0 200", 11) == 0 && strstr(hdr(r, "CSeq"), "CANCEL"))
			got200 = true;
		if (strncmp(r, "SIP/2.0 487", 11) == 0 && strstr(hdr(r, "CSeq"), "INVITE"))
			got487 = true;
	}
	assert_true(got200);
	assert_true(got487);
	assert_int_equal(A.cancels, 1);
	assert_null(A.last_pending);
	/* CANCEL for nothing -> 481 */
	req(m, sizeof(m), "CANCEL", "UDP", f->lport, "nothing", "zz@test", NULL, 1, NULL, NULL);
	udp_send(f, m);
	assert_true(udp_expect(f, r, sizeof(r), 481, 1000));
}

/* The app's refusals carry what cp_sip_response says. */
static void test_answer_fields(void **state)
{
	struct fx *f = *state;
	char m[4096], r[4096];

	A.no_answer = true;
	req(m, sizeof(m), "INVITE", "UDP", f->lport, "af1", "af1@test", NULL, 1, NULL, SDP);
	udp_send(f, m);
	assert_true(udp_expect(f, r, sizeof(r), 100, 1000));
	assert_non_null(A.last_pending);
	struct cp_sip_response busy = { .status = 503, .reason = "Too Many Sessions",
					.warning = "399 rtprec \"session limit\"", .retry_after = 30 };

	cp_sip_pending_set_data(A.last_pending, &busy);
	assert_ptr_equal(cp_sip_pending_data(A.last_pending), &busy);
	assert_int_equal(cp_sip_answer(A.last_pending, &busy, NULL), 0);
	assert_true(udp_expect(f, r, sizeof(r), 503, 1000));
	assert_memory_equal(r, "SIP/2.0 503 Too Many Sessions\r\n", 31);
	assert_string_equal(hdr(r, "Retry-After"), "30");
	assert_string_equal(hdr(r, "Warning"), "399 rtprec \"session limit\"");
	assert_non_null(strstr(hdr(r, "To"), "tag="));
	/* ACK for the 503 is absorbed by the transaction */
	char tag[64];

	to_tag_of(r, tag, sizeof(tag));
	req(m, sizeof(m), "ACK", "UDP", f->lport, "af1", "af1@test", tag, 1, NULL, NULL);
	udp_send(f, m);
	pump(f, 50);
	assert_int_equal(A.acks, 0);
	req(m, sizeof(m), "INVITE", "UDP", f->lport, "af2", "af2@test", NULL, 1, NULL, SDP);
	udp_send(f, m);
	assert_true(udp_expect(f, r, sizeof(r), 100, 1000));
	struct cp_sip_response ext = { .status = 420, .unsupported = "foo" };

	assert_int_equal(cp_sip_answer(A.last_pending, &ext, NULL), 0);
	assert_true(udp_expect(f, r, sizeof(r), 420, 1000));
	assert_string_equal(hdr(r, "Unsupported"), "foo");
	assert_null(A.dialog);
}

static void test_errors(void **state)
{
	struct fx *f = *state;
	char m[4096], r[4096];

	req(m, sizeof(m), "BYE", "UDP", f->lport, "e1", "unknown@test", "nope", 1, NULL, NULL);
	udp_send(f, m);
	assert_true(udp_expect(f, r, sizeof(r), 481, 1000));
	req(m, sizeof(m), "REGISTER", "UDP", f->lport, "e2", "reg@test", NULL, 1, NULL, NULL);
	udp_send(f, m);
	assert_true(udp_expect(f, r, sizeof(r), 405, 1000));
	assert_non_null(strstr(hdr(r, "Allow"), "INVITE"));
	req(m, sizeof(m), "INVITE", "UDP", f->lport, "e3", "bad@test", NULL, 1, "BYE", NULL);
	udp_send(f, m);
	assert_true(udp_expect(f, r, sizeof(r), 400, 1000));
	assert_non_null(strstr(r, "CSeq method"));
	assert_int_equal(A.invites, 0);
	/* no Call-ID */
	snprintf(m, sizeof(m), "OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKe4\r\n"
		 "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n", f->lport);
	udp_send(f, m);
	assert_true(udp_expect(f, r, sizeof(r), 400, 1000));
	/* garbage: dropped and counted */
	udp_send(f, "this is not SIP\r\n\r\n");
	assert_int_equal(udp_recv(f, r, sizeof(r), 200), 0);
	struct cp_sip_counters c;

	cp_sip_get_counters(f->s, &c);
	assert_true(c.parse_errors >= 3);
}

static void test_too_large(void **state)
{
	struct fx *f = *state;
	char body[3001], m[8192], r[4096];

	memset(body, 'x', sizeof(body) - 1);
	body[sizeof(body) - 1] = 0;
	req(m, sizeof(m), "INVITE", "UDP", f->lport, "big", "big@test", NULL, 1, NULL, body);
	udp_send(f, m);
	assert_true(udp_expect(f, r, sizeof(r), 513, 1000));
	assert_int_equal(A.invites, 0);
}

/* rtprec sends BYE; the test answers it. */
static void test_send_bye(void **state)
{
	struct fx *f = *state;
	char m[4096], r[4096], tag[64];

	req(m, sizeof(m), "INVITE", "UDP", f->lport, "sb1", "sb1@test", NULL, 7, NULL, SDP);
	udp_send(f, m);
	assert_true(udp_expect(f, r, sizeof(r), 200, 1000));
	to_tag_of(r, tag, sizeof(tag));
	req(m, sizeof(m), "ACK", "UDP", f->lport, "sb1a", "sb1@test", tag, 7, NULL, NULL);
	udp_send(f, m);
	pump(f, 50);
	assert_int_equal(A.acks, 1);
	assert_non_null(A.dialog);
	assert_int_equal(cp_sip_send_bye(A.dialog, "media timeout"), 0);
	assert_int_equal(cp_sip_send_bye(A.dialog, "again"), -EALREADY);
	uint64_t end = now_ms() + 1000;

	r[0] = 0;
	while (now_ms() < end && strncmp(r, "BYE ", 4) != 0)
		udp_recv(f, r, sizeof(r), 100);
	assert_memory_equal(r, "BYE sip:src@127.0.0.1:", 22);
	assert_string_equal(hdr(r, "Call-ID"), "sb1@test");
	assert_non_null(strstr(hdr(r, "From"), tag));
	assert_non_null(strstr(hdr(r, "To"), "tag=ft1"));
	assert_non_null(strstr(hdr(r, "Reason"), "media timeout"));
	assert_non_null(strstr(hdr(r, "CSeq"), "BYE"));
	/* answer 200: copy the BYE's headers */
	char ok[4096];
	const char *v = hdr(r, "Via");
	int n = snprintf(ok, sizeof(ok), "SIP/2.0 200 OK\r\nVia: %s\r\n", v);

	n += snprintf(ok + n, sizeof(ok) - (size_t)n, "From: %s\r\n", hdr(r, "From"));
	n += snprintf(ok + n, sizeof(ok) - (size_t)n, "To: %s\r\n", hdr(r, "To"));
	n += snprintf(ok + n, sizeof(ok) - (size_t)n, "Call-ID: %s\r\n", hdr(r, "Call-ID"));
	snprintf(ok + n, sizeof(ok) - (size_t)n, "CSeq: %s\r\nContent-Length: 0\r\n\r\n", hdr(r, "CSeq"));
	udp_send(f, ok);
	end = now_ms() + 1000;
	while (!A.ends && now_ms() < end)
		cp_sip_poll(f->s, 5);
	assert_int_equal(A.ends, 1);
	assert_string_equal(A.end_why, "BYE answered");
	assert_null(A.dialog);
}

/* ---- TCP ---- */

static int tcp_connect(uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(0x7f000001) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* Read the stream until `want` copies of needle arrived (or ms passed). */
static int stream_wait(struct fx *f, int fd, SSL *ssl, char *buf, size_t n, const char *needle,
		       int want, unsigned ms)
{
	size_t len = strlen(buf);
	uint64_t end = now_ms() + ms;

	while (count(buf, needle) < want && now_ms() < end) {
		ssize_t r = ssl ? SSL_read(ssl, buf + len, (int)(n - len - 1))
				: recv(fd, buf + len, n - len - 1, 0);

		if (r > 0) {
			len += (size_t)r;
			buf[len] = 0;
		} else {
			cp_sip_poll(f->s, 5);
		}
	}
	return count(buf, needle);
}

static void test_tcp_framing(void **state)
{
	struct fx *f = *state;
	char a[2048], b[2048], two[4096], r[16384] = "";
	int fd = tcp_connect(f->port[1]);

	req(a, sizeof(a), "OPTIONS", "TCP", f->lport, "t1", "t1@test", NULL, 1, NULL, NULL);
	req(b, sizeof(b), "OPTIONS", "TCP", f->lport, "t2", "t2@test", NULL, 1, NULL, NULL);
	snprintf(two, sizeof(two), "%s%s", a, b);
	assert_true(send(fd, two, strlen(two), 0) > 0);
	assert_int_equal(stream_wait(f, fd, NULL, r, sizeof(r), "SIP/2.0 200", 2, 2000), 2);
	/* one message in two segments */
	req(a, sizeof(a), "OPTIONS", "TCP", f->lport, "t3", "t3@test", NULL, 1, NULL, NULL);
	size_t half = strlen(a) / 2;

	assert_true(send(fd, a, half, 0) > 0);
	pump(f, 50);
	assert_int_equal(count(r, "SIP/2.0 200"), 2);
	assert_true(send(fd, a + half, strlen(a) - half, 0) > 0);
	assert_int_equal(stream_wait(f, fd, NULL, r, sizeof(r), "SIP/2.0 200", 3, 2000), 3);
	/* a whole call on the connection */
	req(a, sizeof(a), "INVITE", "TCP", f->lport, "t4", "t4@test", NULL, 1, NULL, SDP);
	assert_true(send(fd, a, strlen(a), 0) > 0);
	assert_int_equal(stream_wait(f, fd, NULL, r, sizeof(r), "SIP/2.0 200", 4, 2000), 4);
	assert_string_equal(A.transport, "TCP");
	assert_non_null(strstr(r, "transport=tcp>;+sip.srs"));
	assert_non_null(A.dialog);
	assert_int_equal(cp_sip_send_bye(A.dialog, NULL), 0);
	assert_int_equal(stream_wait(f, fd, NULL, r, sizeof(r), "BYE sip:", 1, 2000), 1);
	/* no Content-Length on a stream: 400 */
	const char *nocl = "OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5;branch=z9hG4bKn\r\n"
			   "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: n@t\r\nCSeq: 1 OPTIONS\r\n\r\n";

	assert_true(send(fd, nocl, strlen(nocl), 0) > 0);
	assert_int_equal(stream_wait(f, fd, NULL, r, sizeof(r), "SIP/2.0 400", 1, 2000), 1);
	close(fd);
	pump(f, 20);
	struct cp_sip_counters c;

	cp_sip_get_counters(f->s, &c);
	assert_int_equal(c.tcp_connections, 1);
}

static void test_tcp_too_large(void **state)
{
	struct fx *f = *state;
	char body[3001], m[8192], r[8192] = "";
	int fd = tcp_connect(f->port[1]);

	memset(body, 'x', sizeof(body) - 1);
	body[sizeof(body) - 1] = 0;
	req(m, sizeof(m), "INVITE", "TCP", f->lport, "tbig", "tbig@test", NULL, 1, NULL, body);
	assert_true(send(fd, m, strlen(m), 0) > 0);
	assert_int_equal(stream_wait(f, fd, NULL, r, sizeof(r), "SIP/2.0 513", 1, 2000), 1);
	/* the connection stays usable after the skipped body */
	req(m, sizeof(m), "OPTIONS", "TCP", f->lport, "tbig2", "tbig2@test", NULL, 1, NULL, NULL);
	assert_true(send(fd, m, strlen(m), 0) > 0);
	assert_int_equal(stream_wait(f, fd, NULL, r, sizeof(r), "SIP/2.0 200", 1, 2000), 1);
	close(fd);
}

/* At most max_connections (8 here); idle ones are closed. */
static void test_tcp_limits(void **state)
{
	struct fx *f = *state;
	int fd[9];
	char c;

	cp_sip_set_timers(f->s, 0, 0, 300);
	for (int i = 0; i < 9; i++) {
		fd[i] = tcp_connect(f->port[1]);
		pump(f, 10);
	}
	pump(f, 50);
	assert_int_equal(recv(fd[8], &c, 1, 0), 0); /* the 9th: closed at once */
	assert_int_equal(recv(fd[0], &c, 1, 0), -1);
	uint64_t end = now_ms() + 2000;
	ssize_t r = -1;

	while (now_ms() < end && (r = recv(fd[0], &c, 1, 0)) != 0)
		cp_sip_poll(f->s, 10);
	assert_int_equal(r, 0); /* idle: closed */
	for (int i = 0; i < 9; i++)
		close(fd[i]);
}

static void test_tls(void **state)
{
	struct fx *f = *state;
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	int fd = tcp_connect(f->port[2]);
	SSL *ssl = SSL_new(ctx);
	char m[4096], r[8192] = "";
	uint64_t end = now_ms() + 3000;
	int rc;

	SSL_set_fd(ssl, fd);
	SSL_set_connect_state(ssl);
	while ((rc = SSL_do_handshake(ssl)) != 1 && now_ms() < end) {
		int e = SSL_get_error(ssl, rc);

		assert_true(e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE);
		cp_sip_poll(f->s, 5);
	}
	assert_int_equal(rc, 1);
	req(m, sizeof(m), "OPTIONS", "TLS", f->lport, "tls1", "tls1@test", NULL, 1, NULL, NULL);
	assert_int_equal(SSL_write(ssl, m, (int)strlen(m)), (int)strlen(m));
	assert_int_equal(stream_wait(f, fd, ssl, r, sizeof(r), "SIP/2.0 200", 1, 2000), 1);
	req(m, sizeof(m), "INVITE", "TLS", f->lport, "tls2", "tls2@test", NULL, 1, NULL, SDP);
	assert_int_equal(SSL_write(ssl, m, (int)strlen(m)), (int)strlen(m));
	assert_int_equal(stream_wait(f, fd, ssl, r, sizeof(r), "SIP/2.0 200", 2, 2000), 2);
	assert_string_equal(A.transport, "TLS");
	assert_non_null(strstr(r, "transport=tls>;+sip.srs"));
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
	pump(f, 20);
}

/* A TLS connection that never says hello is closed in bounded time. */
static void test_tls_handshake_timeout(void **state)
{
	struct fx *f = *state;
	int fd = tcp_connect(f->port[2]);
	char c;
	uint64_t end = now_ms() + CP_SIP_TLS_HANDSHAKE_MS + 2000;
	ssize_t r = -1;

	while (now_ms() < end) {
		cp_sip_poll(f->s, 20);
		r = recv(fd, &c, 1, 0);
		if (r == 0)
			break;
	}
	assert_int_equal(r, 0);
	close(fd);
}

static void test_feed(void **state)
{
	struct fx *f = *state;
	char m[2048], r[2048];
	struct sockaddr_in src = { .sin_family = AF_INET, .sin_port = htons(f->lport),
				   .sin_addr.s_addr = htonl(0x7f000001) };

	req(m, sizeof(m), "OPTIONS", "UDP", f->lport, "feed", "feed@test", NULL, 1, NULL, NULL);
	assert_int_equal(cp_sip_feed_datagram(f->s, m, strlen(m), &src), 0);
	assert_true(udp_expect(f, r, sizeof(r), 200, 1000));
}

/* test_sip --serve PORT SECONDS: UDP+TCP on 127.0.0.1:PORT with the test
 * app, for checking the SIPp scenarios in tests/sipp by hand. */
static int serve(int port, int seconds)
{
	struct cfg cfg;
	struct cp_sip *s;
	struct cp_sip_counters c;

	memset(&cfg, 0, sizeof(cfg));
	cfg.sip.n_listeners = 2;
	for (int i = 0; i < 2; i++) {
		cfg.sip.listeners[i].transport = (enum cfg_sip_transport)i;
		cfg.sip.listeners[i].addr.ip = 0x7f000001;
		cfg.sip.listeners[i].addr.port = (uint16_t)port;
	}
	cfg.sip.max_message = 65535;
	cfg.sip.max_connections = 64;
	cfg.sip.max_sessions = 1000;
	if (cp_sip_create(&cfg, &APP, &s) != 0)
		return 1;
	uint64_t end = now_ms() + (uint64_t)seconds * 1000;

	while (now_ms() < end)
		cp_sip_poll(s, 50);
	cp_sip_get_counters(s, &c);
	printf("requests %llu responses %llu parse_errors %llu invites %d acks %d byes %d\n",
	       (unsigned long long)c.requests_in, (unsigned long long)c.responses_out,
	       (unsigned long long)c.parse_errors, A.invites, A.acks, A.byes);
	cp_sip_free(s);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "--serve") == 0)
		return serve(atoi(argv[2]), atoi(argv[3]));

	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_options_udp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invite_ack_bye_udp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_answer_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_large, setup_small, teardown),
		cmocka_unit_test_setup_teardown(test_send_bye, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_framing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_too_large, setup_small, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tls_handshake_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_feed, setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
