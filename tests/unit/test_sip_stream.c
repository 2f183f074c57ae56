/* SPDX-License-Identifier: BSD-3-Clause
 * cp_sip over real loopback TCP and TLS: framing, limits, handshakes. */
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

/* Slow-loris: bytes trickled faster than the idle timeout, never the end
 * of the headers; the connection is closed once the message has taken
 * min(idle, CP_SIP_MSG_MS) (300 ms here), however often bytes come. */
static void test_tcp_slow_loris(void **state)
{
	struct fx *f = *state;
	const char *head = "OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nX-Slow: ";
	int fd = tcp_connect(f->port[1]);
	uint64_t start = now_ms(), end = start + 3000;
	ssize_t r = -1;
	char c;

	cp_sip_set_timers(f->s, 0, 0, 300);
	assert_true(send(fd, head, strlen(head), 0) > 0);
	while (now_ms() < end && r != 0) {
		send(fd, "x", 1, MSG_NOSIGNAL);
		pump(f, 50);
		r = recv(fd, &c, 1, 0);
	}
	assert_int_equal(r, 0);
	assert_true(now_ms() - start >= 250);
	close(fd);
}

/* A message framed, then the framing lost (no Content-Length) in the same
 * read: the first is still answered before the connection is closed. */
static void test_tcp_answer_before_close(void **state)
{
	struct fx *f = *state;
	char m[4096], r[8192] = "";
	int fd = tcp_connect(f->port[1]);
	uint64_t end;
	ssize_t n = -1;

	req(m, sizeof(m), "OPTIONS", "TCP", f->lport, "abc1", "abc1@test", NULL, 1, NULL, NULL);
	strcat(m, "JUNK\r\n\r\n");
	assert_true(send(fd, m, strlen(m), 0) > 0);
	assert_int_equal(stream_wait(f, fd, NULL, r, sizeof(r), "SIP/2.0 200", 1, 2000), 1);
	for (end = now_ms() + 2000; now_ms() < end && n != 0;) {
		pump(f, 10);
		n = recv(fd, r, sizeof(r), 0);
	}
	assert_int_equal(n, 0);
	close(fd);
}

/* What the server sends on fd within ms (polling it), into buf (NUL-ended); its length. */
static size_t tcp_drain(struct fx *f, int fd, char *buf, size_t n, unsigned ms)
{
	size_t len = 0;
	uint64_t end = now_ms() + ms;

	while (now_ms() < end) {
		ssize_t r = recv(fd, buf + len, n - len - 1, 0);

		if (r > 0)
			len += (size_t)r;
		else
			cp_sip_poll(f->s, 5);
	}
	buf[len] = 0;
	return len;
}

/* RFC 5626 3.5.1: a CRLFCRLF ping, whole or split at any byte in two reads, gets one
 * CRLF pong; a lone CRLF before a message gets none and the message its answer. */
static void test_tcp_crlf_ping(void **state)
{
	static const char ping[] = "\r\n\r\n";
	struct fx *f = *state;
	char m[4096], r[8192];
	int fd = tcp_connect(f->port[1]);

	for (size_t k = 0; k < 4; k++) {
		assert_true(send(fd, ping, k ? k : 4, 0) > 0);
		if (k) {
			assert_int_equal(tcp_drain(f, fd, r, sizeof(r), 50), 0);
			assert_true(send(fd, ping + k, 4 - k, 0) > 0);
		}
		assert_int_equal(tcp_drain(f, fd, r, sizeof(r), 150), 2);
		assert_string_equal(r, "\r\n");
	}
	assert_true(send(fd, "\r\n", 2, 0) > 0);
	assert_int_equal(tcp_drain(f, fd, r, sizeof(r), 100), 0);
	req(m, sizeof(m), "OPTIONS", "TCP", f->lport, "ka1", "ka1@test", NULL, 1, NULL, NULL);
	assert_true(send(fd, m, strlen(m), 0) > 0);
	assert_true(tcp_drain(f, fd, r, sizeof(r), 300) > 0);
	assert_memory_equal(r, "SIP/2.0 200 ", 12);
	close(fd);
}

/* RFC 3261 13.3.1.4: the 2xx to an INVITE over TCP or TLS is sent again (T1 doubling to
 * T2, 20 and 80 ms here) until its ACK, as over UDP: a proxy on the way may forward it
 * on UDP. The ACK stops it; the call stays. */
static void stream_2xx_until_ack(struct fx *f, int fd, SSL *ssl, const char *tp)
{
	char m[4096], r[16384] = "", tag[64];

	cp_sip_set_timers(f->s, 20, 80, 0);
	req(m, sizeof(m), "INVITE", tp, f->lport, "rt1", "rt1@test", NULL, 1, NULL, SDP);
	stream_send(fd, ssl, m);
	assert_int_equal(stream_wait(f, fd, ssl, r, sizeof(r), "SIP/2.0 200", 3, 1000), 3);
	to_tag_of(strstr(r, "SIP/2.0 200"), tag, sizeof(tag));
	req(m, sizeof(m), "ACK", tp, f->lport, "rt1a", "rt1@test", tag, 1, NULL, NULL);
	stream_send(fd, ssl, m);
	stream_wait(f, fd, ssl, r, sizeof(r), "never", 1, 100); /* one sent before the ACK */
	r[0] = 0;
	assert_int_equal(stream_wait(f, fd, ssl, r, sizeof(r), "SIP/2.0 200", 1, 400), 0);
	assert_int_equal(A.acks, 1);
	assert_int_equal(A.ends, 0);
	assert_non_null(A.dialog);
}

static void test_tcp_2xx_until_ack(void **state)
{
	struct fx *f = *state;
	int fd = tcp_connect(f->port[1]);

	stream_2xx_until_ack(f, fd, NULL, "TCP");
	close(fd);
}

static void test_tls_2xx_until_ack(void **state)
{
	struct fx *f = *state;
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	int fd = tcp_connect(f->port[2]);
	SSL *ssl = tls_connect(f, ctx, fd);

	stream_2xx_until_ack(f, fd, ssl, "TLS");
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
}

/* No ACK over TCP: the 2xx goes on until 64*T1 (1.28 s here), then a BYE on the
 * connection; the dialog ends ("no ACK") with its answer. */
static void test_tcp_no_ack(void **state)
{
	struct fx *f = *state;
	char m[4096], r[32768] = "";
	int fd = tcp_connect(f->port[1]);
	const char *bye;

	cp_sip_set_timers(f->s, 20, 80, 0);
	req(m, sizeof(m), "INVITE", "TCP", f->lport, "na1", "na1@test", NULL, 1, NULL, SDP);
	stream_send(fd, NULL, m);
	assert_int_equal(stream_wait(f, fd, NULL, r, sizeof(r), "BYE sip:", 1, 3000), 1);
	assert_true(count(r, "SIP/2.0 200") >= 10);
	bye = strstr(r, "BYE sip:");
	assert_non_null(strstr(hdr(bye, "Reason"), "no ACK"));
	assert_int_equal(A.ends, 0);
	answer_text(m, sizeof(m), bye, 200);
	stream_send(fd, NULL, m);
	wait_end(f, "no ACK", 1000);
	close(fd);
}

/* RFC 3261 7.5: header lines that end in a bare LF (some stacks send them) are framed on
 * a stream by their empty line as CRLF ones are, without waiting for the message timer;
 * Content-Length still counts the body, whose CRLF lines and blank lines (a multipart
 * SIPREC body) are its own; a CRLF message right after it is framed too. */
static void test_tcp_lf_only(void **state)
{
	static const char body[] = "--b1\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n"
				   "--b1\r\nContent-Type: application/rs-metadata+xml\r\n\r\n"
				   "<recording xmlns='urn:ietf:params:xml:ns:recording:1'/>\r\n"
				   "--b1--\r\n";
	struct fx *f = *state;
	char m[8192], two[8192], r[16384] = "";
	int fd = tcp_connect(f->port[1]);

	snprintf(m, sizeof(m), "OPTIONS sip:rtprec@127.0.0.1 SIP/2.0\nVia: SIP/2.0/TCP "
		 "127.0.0.1:%u;branch=z9hG4bKlf1\nFrom: <sip:a@b>;tag=1\nTo: <sip:c@d>\n"
		 "Call-ID: lf1@test\nCSeq: 1 OPTIONS\nContent-Length: 0\n\n", f->lport);
	stream_send(fd, NULL, m);
	assert_int_equal(stream_wait(f, fd, NULL, r, sizeof(r), "SIP/2.0 200", 1, 500), 1);
	snprintf(two, sizeof(two), "INVITE sip:rtprec@127.0.0.1 SIP/2.0\nVia: SIP/2.0/TCP "
		 "127.0.0.1:%u;branch=z9hG4bKlf2\nFrom: <sip:a@b>;tag=1\nTo: <sip:c@d>\n"
		 "Call-ID: lf2@test\nCSeq: 1 INVITE\nContact: <sip:a@127.0.0.1;transport=tcp>\n"
		 "Content-Type: multipart/mixed;boundary=b1\nContent-Length: %zu\n\n%s",
		 f->lport, strlen(body), body);
	req(m, sizeof(m), "OPTIONS", "TCP", f->lport, "lf3", "lf3@test", NULL, 1, NULL, NULL);
	strcat(two, m);
	stream_send(fd, NULL, two);
	assert_int_equal(stream_wait(f, fd, NULL, r, sizeof(r), "SIP/2.0 200", 3, 500), 3);
	assert_int_equal(A.invites, 1);
	assert_int_equal(A.body_len, strlen(body));
	assert_non_null(strstr(r, "Call-ID: lf3@test"));
	close(fd);
}

static char supported_seen[64];

static void on_invite_supported(void *ctx, const struct cp_sip_request *rq,
				struct cp_sip_pending *p)
{
	snprintf(supported_seen, sizeof(supported_seen), "%s", rq->supported ? rq->supported : "");
	APP.on_invite(ctx, rq, p);
}

/* An INVITE in compact forms only (RFC 3261 7.3.3, k: for Supported), framed on TCP by
 * l:: answered, and the app sees its option tags. */
static void test_tcp_compact(void **state)
{
	struct fx *f = *state;
	char m[4096], r[8192] = "";
	int fd = tcp_connect(f->port[1]);

	f->s->app.on_invite = on_invite_supported;
	snprintf(m, sizeof(m), "INVITE sip:rtprec@127.0.0.1 SIP/2.0\r\nv: SIP/2.0/TCP 127.0.0.1:%u"
		 ";branch=z9hG4bKcf1\r\nf: <sip:src@127.0.0.1>;tag=1\r\nt: <sip:rtprec@127.0.0.1>\r\n"
		 "i: cf1@test\r\nCSeq: 1 INVITE\r\nm: <sip:src@127.0.0.1:%u;transport=tcp>;+sip.src\r\n"
		 "k: siprec,timer\r\nc: application/sdp\r\nl: %zu\r\n\r\n%s",
		 f->lport, f->lport, strlen(SDP), SDP);
	assert_true(send(fd, m, strlen(m), 0) > 0);
	assert_int_equal(stream_wait(f, fd, NULL, r, sizeof(r), "SIP/2.0 200", 1, 2000), 1);
	assert_string_equal(supported_seen, "siprec, timer");
	close(fd);
	pump(f, 20);
}

/* RFC 3261 8.2.2.2: the same INVITE (Call-ID, From tag, CSeq) on another branch while
 * the first waits for its answer gets 482 (Loop Detected), not a second call; another
 * CSeq is a new request. */
static void test_merged_invite(void **state)
{
	struct fx *f = *state;
	char r[4096];

	A.no_answer = true;
	req_expect(f, r, sizeof(r), "INVITE", "mg1", "mg@test", NULL, 1, SDP, 100);
	req_expect(f, r, sizeof(r), "INVITE", "mg2", "mg@test", NULL, 1, SDP, 482);
	assert_int_equal(A.invites, 1);
	req_expect(f, r, sizeof(r), "INVITE", "mg3", "mg@test", NULL, 2, SDP, 100);
	assert_int_equal(A.invites, 2);
}

static void test_tls(void **state)
{
	struct fx *f = *state;
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	int fd = tcp_connect(f->port[2]);
	SSL *ssl = tls_connect(f, ctx, fd);
	char m[4096], r[8192] = "";

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tcp_framing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_too_large, setup_small, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_slow_loris, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_answer_before_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_crlf_ping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_compact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_2xx_until_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tls_2xx_until_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_no_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_lf_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merged_invite, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tls_handshake_timeout, setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
