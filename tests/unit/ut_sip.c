/* SPDX-License-Identifier: BSD-3-Clause
 * Shared fixture for the cp_sip tests (see ut_sip.h). */
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

#include "ut_sip.h"

const char SDP[] = "v=0\r\no=rtprec 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
			  "t=0 0\r\nm=audio 30000 RTP/AVP 0\r\na=recvonly\r\n";


struct app_state A;
char tmpdir[64];
char cert_path[128], key_path[128];

static void on_invite(void *ctx, const struct cp_sip_request *req, struct cp_sip_pending *p)
{
	(void)ctx;
	snprintf(A.transport, sizeof(A.transport), "%s", req->transport);
	if (req->dialog)
		A.reinvites++;
	else
		A.invites++;
	A.last_pending = p;
	A.body_len = req->body_len;
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

const struct cp_sip_app APP = {
	.on_invite = on_invite, .on_cancel = on_cancel, .on_ack = on_ack,
	.on_bye = on_bye, .on_dialog_end = on_end,
};

/* ---- fixture ---- */


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

int group_setup(void **state)
{
	(void)state;
	return make_cert();
}

int group_teardown(void **state)
{
	(void)state;
	unlink(cert_path);
	unlink(key_path);
	rmdir(tmpdir);
	return 0;
}

int setup_max(void **state, unsigned max_message)
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

int setup(void **state) { return setup_max(state, 65535); }
int setup_small(void **state) { return setup_max(state, 1500); }

int teardown(void **state)
{
	struct fx *f = *state;

	cp_sip_free(f->s);
	close(f->udp);
	free(f);
	return 0;
}

/* ---- helpers ---- */

uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A request text. to_tag NULL: none. */
int req(char *buf, size_t n, const char *method, const char *tp, uint16_t lport,
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

void udp_send(struct fx *f, const char *msg)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(f->port[0]),
				  .sin_addr.s_addr = htonl(0x7f000001) };

	assert_true(sendto(f->udp, msg, strlen(msg), 0, (struct sockaddr *)&sa, sizeof(sa)) > 0);
}

/* Next datagram within ms (polling the server meanwhile); its length or 0. */
size_t udp_recv(struct fx *f, char *buf, size_t n, unsigned ms)
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
bool udp_expect(struct fx *f, char *buf, size_t n, int status, unsigned ms)
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

void pump(struct fx *f, unsigned ms)
{
	uint64_t end = now_ms() + ms;

	while (now_ms() < end)
		cp_sip_poll(f->s, 5);
}

const char *hdr(const char *msg, const char *name)
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

void to_tag_of(const char *msg, char *tag, size_t n)
{
	const char *to = hdr(msg, "To");
	const char *t;

	assert_non_null(to);
	t = strstr(to, "tag=");
	assert_non_null(t);
	snprintf(tag, n, "%.*s", (int)strcspn(t + 4, ";\r\n "), t + 4);
}

int tcp_connect(uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(0x7f000001) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* Read the stream until `want` copies of needle arrived (or ms passed). */
int stream_wait(struct fx *f, int fd, SSL *ssl, char *buf, size_t n, const char *needle,
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

bool udp_wait_req(struct fx *f, char *buf, size_t n, const char *method, unsigned ms)
{
	uint64_t end = now_ms() + ms;
	size_t ml = strlen(method);

	while (now_ms() < end)
		if (udp_recv(f, buf, n, (unsigned)(end - now_ms())) && strncmp(buf, method, ml) == 0 &&
		    buf[ml] == ' ')
			return true;
	return false;
}

void answer_text(char *ok, size_t size, const char *rq, int status)
{
	static const char *const names[] = { "Via", "From", "To", "Call-ID", "CSeq" };
	int n = snprintf(ok, size, "SIP/2.0 %d Whatever\r\n", status);

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *v = hdr(rq, names[i]);

		assert_non_null(v);
		n += snprintf(ok + n, size - (size_t)n, "%s: %s\r\n", names[i], v);
	}
	snprintf(ok + n, size - (size_t)n, "Content-Length: 0\r\n\r\n");
}

void udp_answer(struct fx *f, const char *rq, int status)
{
	char ok[4096];

	answer_text(ok, sizeof(ok), rq, status);
	udp_send(f, ok);
}

SSL *tls_connect(struct fx *f, SSL_CTX *ctx, int fd)
{
	SSL *ssl = SSL_new(ctx);
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
	return ssl;
}

void stream_send(int fd, SSL *ssl, const char *m)
{
	int n = (int)strlen(m);

	if (ssl)
		assert_int_equal(SSL_write(ssl, m, n), n);
	else
		assert_int_equal(send(fd, m, (size_t)n, 0), n);
}

void set_contact(char *msg, size_t n, const char *contact)
{
	char *c = strstr(msg, "\r\nContact: ");
	char *e;
	char tail[4096];

	assert_non_null(c);
	c += 11;
	e = strstr(c, "\r\n");
	assert_non_null(e);
	snprintf(tail, sizeof(tail), "%s", e);
	snprintf(c, n - (size_t)(c - msg), "%s%s", contact, tail);
}

void call_up(struct fx *f, const char *cid, const char *contact, char *tag, size_t n)
{
	char m[4096], r[4096], br[64];

	snprintf(br, sizeof(br), "%si", cid);
	req(m, sizeof(m), "INVITE", "UDP", f->lport, br, cid, NULL, 1, NULL, SDP);
	if (contact)
		set_contact(m, sizeof(m), contact);
	udp_send(f, m);
	assert_true(udp_expect(f, r, sizeof(r), 200, 1000));
	to_tag_of(r, tag, n);
	snprintf(br, sizeof(br), "%sa", cid);
	req(m, sizeof(m), "ACK", "UDP", f->lport, br, cid, tag, 1, NULL, NULL);
	udp_send(f, m);
	pump(f, 50);
	assert_non_null(A.dialog);
}

void wait_end(struct fx *f, const char *why, unsigned ms)
{
	uint64_t end = now_ms() + ms;

	while (!A.ends && now_ms() < end)
		cp_sip_poll(f->s, 5);
	assert_int_equal(A.ends, 1);
	assert_string_equal(A.end_why, why);
	assert_null(A.dialog);
}

void invite_pending(struct fx *f, char *m, size_t n, const char *branch, const char *cid)
{
	char r[4096];

	A.no_answer = true;
	req(m, n, "INVITE", "UDP", f->lport, branch, cid, NULL, 1, NULL, SDP);
	udp_send(f, m);
	assert_true(udp_expect(f, r, sizeof(r), 100, 1000));
	assert_non_null(A.last_pending);
}

void req_expect(struct fx *f, char *r, size_t n, const char *method, const char *branch,
		const char *cid, const char *to_tag, unsigned cseq, const char *body, int status)
{
	char m[4096];

	req(m, sizeof(m), method, "UDP", f->lport, branch, cid, to_tag, cseq, NULL, body);
	udp_send(f, m);
	assert_true(udp_expect(f, r, n, status, 1000));
}
