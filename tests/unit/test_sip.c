/* SPDX-License-Identifier: BSD-3-Clause
 * cp_sip over real loopback UDP, driven by raw SIP texts from the test;
 * TCP and TLS are in test_sip_stream.c. */
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

static void test_options_udp(void **state)
{
	struct fx *f = *state;
	char m[2048], r[4096];

	req(m, sizeof(m), "OPTIONS", "UDP", f->lport, "opt1", "opt1@test", NULL, 1, NULL, NULL);
	udp_send(f, m);
	assert_true(udp_expect(f, r, sizeof(r), 200, 1000));
	assert_non_null(strstr(hdr(r, "Allow"), "UPDATE"));
	assert_string_equal(hdr(r, "Supported"), "siprec, timer");
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

/* No ACK within 64*T1: BYE (RFC 3261 13.3.1.4), the dialog ends with its answer. */
static void test_no_ack(void **state)
{
	struct fx *f = *state;
	char m[4096], r[4096];

	cp_sip_set_timers(f->s, 20, 80, 0);
	req(m, sizeof(m), "INVITE", "UDP", f->lport, "noack", "noack@test", NULL, 1, NULL, SDP);
	udp_send(f, m);
	assert_true(udp_expect(f, r, sizeof(r), 200, 1000));
	assert_true(udp_wait_req(f, r, sizeof(r), "BYE", 3000));
	assert_string_equal(hdr(r, "Call-ID"), "noack@test");
	assert_non_null(strstr(hdr(r, "Reason"), "no ACK"));
	assert_int_equal(A.ends, 0);
	udp_answer(f, r, 200);
	wait_end(f, "no ACK", 1000);
}

/* The CANCEL in m sent: its 200 and the INVITE's 487 come within 2 s. */
static void cancel_answered(struct fx *f, const char *m)
{
	char r[4096];
	bool got200 = false, got487 = false;
	uint64_t end = now_ms() + 2000;

	udp_send(f, m);
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
}

static void test_cancel(void **state)
{
	struct fx *f = *state;
	char m[4096], r[4096];

	invite_pending(f, m, sizeof(m), "cnl1", "cnl1@test");
	req(m, sizeof(m), "CANCEL", "UDP", f->lport, "cnl1", "cnl1@test", NULL, 1, NULL, NULL);
	cancel_answered(f, m);
	assert_int_equal(A.cancels, 1);
	assert_null(A.last_pending);
	/* CANCEL for nothing -> 481 */
	req(m, sizeof(m), "CANCEL", "UDP", f->lport, "nothing", "zz@test", NULL, 1, NULL, NULL);
	udp_send(f, m);
	assert_true(udp_expect(f, r, sizeof(r), 481, 1000));
}

/* A call up (Call-ID cid, To tag into tag), a re-INVITE the app leaves pending, its
 * CANCEL answered 200 and 487 and the 487 ACKed: the pending re-INVITE. */
static struct cp_sip_pending *reinvite_cancelled(struct fx *f, const char *cid, char *tag,
						 size_t n)
{
	char m[4096], r[4096];
	struct cp_sip_pending *p;

	call_up(f, cid, NULL, tag, n);
	A.no_answer = true;
	req(m, sizeof(m), "INVITE", "UDP", f->lport, "crv2", cid, tag, 2, NULL, SDP);
	udp_send(f, m);
	assert_true(udp_expect(f, r, sizeof(r), 100, 1000));
	assert_int_equal(A.reinvites, 1);
	p = A.last_pending;
	assert_non_null(p);
	req(m, sizeof(m), "CANCEL", "UDP", f->lport, "crv2", cid, tag, 2, NULL, NULL);
	cancel_answered(f, m);
	req(m, sizeof(m), "ACK", "UDP", f->lport, "crv2", cid, tag, 2, NULL, NULL);
	udp_send(f, m);
	pump(f, 50);
	assert_int_equal(A.cancels, 0);
	assert_int_equal(A.ends, 0);
	assert_int_equal(A.acks, 1); /* the call's; the 487's went to its transaction */
	A.no_answer = false;
	return p;
}

/* CANCEL of a re-INVITE the app still works on (RFC 3261 9.2): 200 and 487, the ACK
 * of the 487 taken by the transaction; the dialog stays up. An app without
 * on_reinvite_cancel is not told, its late answer goes nowhere (-ECANCELED). */
static void test_cancel_reinvite(void **state)
{
	struct fx *f = *state;
	char r[4096], tag[64];
	struct cp_sip_pending *p = reinvite_cancelled(f, "crv@test", tag, sizeof(tag));

	/* still at work: another offer waits (500 Retry-After) */
	A.no_answer = true;
	req_expect(f, r, sizeof(r), "UPDATE", "crv3", "crv@test", tag, 3, SDP, 500);
	struct cp_sip_response ok = { .status = 200, .content_type = "application/sdp",
				      .body = SDP, .body_len = strlen(SDP) };

	assert_int_equal(cp_sip_answer(p, &ok, NULL), -ECANCELED);
	assert_false(udp_expect(f, r, sizeof(r), 200, 300));
	A.no_answer = false;
	req_expect(f, r, sizeof(r), "UPDATE", "crv4", "crv@test", tag, 4, SDP, 200);
	req_expect(f, r, sizeof(r), "BYE", "crv5", "crv@test", tag, 5, NULL, 200);
	assert_int_equal(A.byes, 1);
}

static struct cp_sip_pending *reinvite_cancel_seen;
static int reinvite_cancels;

static void on_reinvite_cancel(void *ctx, struct cp_sip_pending *p)
{
	(void)ctx;
	reinvite_cancel_seen = p;
	reinvite_cancels++;
}

/* With on_reinvite_cancel the app is told at the CANCEL (and goes back to the previous
 * offer/answer): the pending re-INVITE is gone then, the next offer is taken at once. */
static void test_cancel_reinvite_told(void **state)
{
	struct fx *f = *state;
	char r[4096], tag[64];
	struct cp_sip_pending *p;

	f->s->app.on_reinvite_cancel = on_reinvite_cancel;
	reinvite_cancels = 0;
	p = reinvite_cancelled(f, "crt@test", tag, sizeof(tag));
	assert_int_equal(reinvite_cancels, 1);
	assert_ptr_equal(reinvite_cancel_seen, p);
	req_expect(f, r, sizeof(r), "UPDATE", "crt3", "crt@test", tag, 3, SDP, 200);
	assert_int_equal(A.reinvites, 2);
	req_expect(f, r, sizeof(r), "BYE", "crt4", "crt@test", tag, 4, NULL, 200);
	assert_int_equal(A.byes, 1);
	assert_int_equal(reinvite_cancels, 1);
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
	assert_true(udp_wait_req(f, r, sizeof(r), "BYE", 1000));
	assert_memory_equal(r, "BYE sip:src@127.0.0.1:", 22);
	assert_string_equal(hdr(r, "Call-ID"), "sb1@test");
	assert_non_null(strstr(hdr(r, "From"), tag));
	assert_non_null(strstr(hdr(r, "To"), "tag=ft1"));
	assert_non_null(strstr(hdr(r, "Reason"), "media timeout"));
	assert_non_null(strstr(hdr(r, "CSeq"), "BYE"));
	udp_answer(f, r, 200);
	wait_end(f, "BYE answered", 1000);
}

/* The transaction table: a retransmitted request meets its transaction,
 * libosip2's timers still fire (Timer G for a non-2xx INVITE answer, Timer E
 * for our BYE), and the ACK for a non-2xx answer stops Timer G. */
static void test_txn_table(void **state)
{
	struct fx *f = *state;
	char m[4096], r[4096], tag[64];

	req(m, sizeof(m), "OPTIONS", "UDP", f->lport, "tt1", "tt1@test", NULL, 1, NULL, NULL);
	udp_send(f, m);
	assert_true(udp_expect(f, r, sizeof(r), 200, 1000));
	unsigned n_tx = f->s->n_tx;

	udp_send(f, m); /* same branch: the completed NIST answers again */
	assert_true(udp_expect(f, r, sizeof(r), 200, 1000));
	assert_int_equal(f->s->n_tx, n_tx);
	/* 487 after CANCEL, repeated by Timer G until the ACK */
	A.no_answer = true;
	req(m, sizeof(m), "INVITE", "UDP", f->lport, "tt2", "tt2@test", NULL, 1, NULL, SDP);
	udp_send(f, m);
	assert_true(udp_expect(f, r, sizeof(r), 100, 1000));
	req(m, sizeof(m), "CANCEL", "UDP", f->lport, "tt2", "tt2@test", NULL, 1, NULL, NULL);
	udp_send(f, m);
	assert_true(udp_expect(f, r, sizeof(r), 487, 1000));
	to_tag_of(r, tag, sizeof(tag));
	assert_true(udp_expect(f, r, sizeof(r), 487, 1500));
	req(m, sizeof(m), "ACK", "UDP", f->lport, "tt2", "tt2@test", tag, 1, NULL, NULL);
	udp_send(f, m);
	pump(f, 100);
	while (udp_recv(f, r, sizeof(r), 20))
		;
	assert_false(udp_expect(f, r, sizeof(r), 487, 1500));
	assert_int_equal(A.acks, 0); /* absorbed by the INVITE transaction */
	/* our BYE, unanswered: Timer E sends it again with the same branch */
	A.no_answer = false;
	req(m, sizeof(m), "INVITE", "UDP", f->lport, "tt3", "tt3@test", NULL, 1, NULL, SDP);
	udp_send(f, m);
	assert_true(udp_expect(f, r, sizeof(r), 200, 1000));
	to_tag_of(r, tag, sizeof(tag));
	req(m, sizeof(m), "ACK", "UDP", f->lport, "tt3a", "tt3@test", tag, 1, NULL, NULL);
	udp_send(f, m);
	pump(f, 50);
	assert_int_equal(cp_sip_send_bye(A.dialog, NULL), 0);
	char via1[256] = "", via2[256] = "";
	uint64_t end = now_ms() + 3000;

	while (now_ms() < end && !via2[0]) {
		if (!udp_recv(f, r, sizeof(r), 100) || strncmp(r, "BYE ", 4) != 0)
			continue;
		snprintf(via1[0] ? via2 : via1, sizeof(via1), "%s", hdr(r, "Via"));
	}
	assert_true(via2[0] != 0);
	assert_string_equal(via1, via2);
}

/* Record-Route: copied into the 2xx, kept as the dialog's route set, and
 * our BYE carries it as Route and goes to the first (loose) route. */
static void test_route_set(void **state)
{
	struct fx *f = *state;
	char m[4096], inv[4096], r[4096], tag[64], rr[256];

	req(inv, sizeof(inv), "INVITE", "UDP", f->lport, "rs1", "rs1@test", NULL, 1, NULL, SDP);
	snprintf(rr, sizeof(rr), "Record-Route: <sip:127.0.0.1:%u;lr>\r\n"
		 "Record-Route: <sip:198.51.100.99;lr;ftag=x>\r\n", f->lport);
	char *at = strstr(inv, "Max-Forwards:"), *ct = strstr(inv, "Contact: <sip:src@127.0.0.1:");

	assert_non_null(at);
	assert_non_null(ct);
	memcpy(ct + 28, "9", 1); /* the Contact now names port 9xxxx or 9: not the test socket */
	snprintf(m, sizeof(m), "%.*s%s%s", (int)(at - inv), inv, rr, at);
	udp_send(f, m);
	assert_true(udp_expect(f, r, sizeof(r), 200, 1000));
	char *r1 = strstr(r, "Record-Route: <sip:127.0.0.1:");
	char *r2 = strstr(r, "Record-Route: <sip:198.51.100.99;lr;ftag=x>");

	assert_non_null(r1);
	assert_non_null(r2);
	assert_true(r1 < r2);
	to_tag_of(r, tag, sizeof(tag));
	req(m, sizeof(m), "ACK", "UDP", f->lport, "rs1a", "rs1@test", tag, 1, NULL, NULL);
	udp_send(f, m);
	pump(f, 50);
	assert_non_null(A.dialog);
	assert_int_equal(cp_sip_send_bye(A.dialog, NULL), 0);
	uint64_t end = now_ms() + 2000;

	r[0] = 0;
	while (now_ms() < end && strncmp(r, "BYE ", 4) != 0)
		udp_recv(f, r, sizeof(r), 100);
	assert_memory_equal(r, "BYE sip:src@127.0.0.1:9", 23); /* the remote target */
	r1 = strstr(r, "Route: <sip:127.0.0.1:");
	r2 = strstr(r, "Route: <sip:198.51.100.99;lr;ftag=x>");
	assert_non_null(r1);
	assert_non_null(r2);
	assert_true(r1 < r2);
}

/* Our BYE or re-INVITE sent outside cp_sip_poll (media timeout tick, shutdown) whose
 * send fails at once (Contact port 0: sendto refuses): the failed re-INVITE is over
 * (another may follow), the failed BYE ends the dialog. */
static void test_send_fails(void **state)
{
	struct fx *f = *state;
	char tag[64];

	call_up(f, "sf1@test", "<sip:src@127.0.0.1:0>", tag, sizeof(tag));
	struct cp_sip_dialog *d = A.dialog;

	assert_int_equal(cp_sip_send_reinvite(d, SDP, strlen(SDP)), 0);
	pump(f, 50);
	assert_null(d->reinvite_txd);
	assert_int_equal(cp_sip_send_reinvite(d, SDP, strlen(SDP)), 0);
	assert_int_equal(cp_sip_send_bye(d, "media timeout"), 0);
	wait_end(f, "BYE timeout", 1000);
}

/* sip.rate_limit limits new out-of-dialog requests only: a retransmitted INVITE
 * meets its transaction, a CANCEL its INVITE, a BYE its dialog; a new OPTIONS is
 * refused meanwhile (burst 2: the two INVITEs). */
static void test_rate_limit_dialog(void **state)
{
	struct fx *f = *state;
	char m[4096], inv[4096], r[4096], tag[64];

	assert_int_equal(cp_sip_set_rate_limit(f->s, 1, 2), 0);
	invite_pending(f, m, sizeof(m), "rl3", "rl3@test");
	invite_pending(f, inv, sizeof(inv), "rl1", "rl1@test");
	struct cp_sip_pending *p = A.last_pending;

	udp_send(f, inv);
	assert_true(udp_recv(f, r, sizeof(r), 300) > 0);
	assert_memory_equal(r, "SIP/2.0 100 ", 12);
	req_expect(f, r, sizeof(r), "OPTIONS", "rl2", "rl2@test", NULL, 1, NULL, 503);
	req_expect(f, r, sizeof(r), "CANCEL", "rl3", "rl3@test", NULL, 1, NULL, 487);
	assert_int_equal(A.cancels, 1);
	struct cp_sip_response ok = { .status = 200, .content_type = "application/sdp",
				      .body = SDP, .body_len = strlen(SDP) };

	assert_int_equal(cp_sip_answer(p, &ok, &A.dialog), 0);
	assert_true(udp_expect(f, r, sizeof(r), 200, 1000));
	to_tag_of(r, tag, sizeof(tag));
	udp_send(f, inv); /* after the 2xx: the dialog's INVITE again */
	assert_true(udp_expect(f, r, sizeof(r), 200, 1000));
	req(m, sizeof(m), "ACK", "UDP", f->lport, "rl1a", "rl1@test", tag, 1, NULL, NULL);
	udp_send(f, m);
	req_expect(f, r, sizeof(r), "BYE", "rl1b", "rl1@test", tag, 2, NULL, 200);
	assert_non_null(strstr(hdr(r, "CSeq"), "BYE"));
	assert_int_equal(A.byes, 1);
	struct cp_sip_counters c;

	cp_sip_get_counters(f->s, &c);
	assert_int_equal(c.rate_limited, 1); /* the OPTIONS */
	assert_int_equal(c.rate_dropped, 0);
}

/* A CANCEL that crosses the final answer: its INVITE transaction is still there,
 * so 200 (RFC 3261 9.2), and no 487. */
static void test_cancel_after_final(void **state)
{
	struct fx *f = *state;
	char m[4096], r[4096];

	invite_pending(f, m, sizeof(m), "caf", "caf@test");
	assert_int_equal(cp_sip_answer(A.last_pending, &(struct cp_sip_response){ .status = 486 },
				       NULL), 0);
	assert_true(udp_expect(f, r, sizeof(r), 486, 1000));
	req(m, sizeof(m), "CANCEL", "UDP", f->lport, "caf", "caf@test", NULL, 1, NULL, NULL);
	udp_send(f, m);
	assert_true(udp_recv(f, r, sizeof(r), 500) > 0);
	assert_memory_equal(r, "SIP/2.0 200 ", 12);
	assert_non_null(strstr(hdr(r, "CSeq"), "CANCEL"));
	assert_false(udp_expect(f, r, sizeof(r), 487, 300));
	assert_int_equal(A.cancels, 0);
}

/* rtprec re-INVITEs the call with SDP: the request as the SRC gets it, in ours. */
static void our_reinvite(struct fx *f, char *ours, size_t n)
{
	assert_int_equal(cp_sip_send_reinvite(A.dialog, SDP, strlen(SDP)), 0);
	assert_true(udp_wait_req(f, ours, n, "INVITE", 1000));
}

/* re-INVITE glare (RFC 3261 14.2): one while ours is outstanding gets 491; a second
 * one while the peer's first waits gets 500 with Retry-After 0-10. */
static void test_reinvite_glare(void **state)
{
	struct fx *f = *state;
	char r[4096], ours[4096], tag[64];

	call_up(f, "gl1@test", NULL, tag, sizeof(tag));
	our_reinvite(f, ours, sizeof(ours));
	req_expect(f, r, sizeof(r), "INVITE", "gl2", "gl1@test", tag, 2, SDP, 491);
	/* an UPDATE offering SDP in a multipart body (RFC 3311 5.2) */
	char mp[1024], m[4096], *ct;

	snprintf(mp, sizeof(mp), "--b1\r\nContent-Type: application/sdp\r\n\r\n%s--b1--\r\n", SDP);
	req(m, sizeof(m), "UPDATE", "UDP", f->lport, "gl5", "gl1@test", tag, 3, NULL, mp);
	ct = strstr(m, "application/sdp");
	memmove(ct + 27, ct + 15, strlen(ct + 15) + 1);
	memcpy(ct, "multipart/mixed;boundary=b1", 27);
	udp_send(f, m);
	do /* skipping the INVITE's 491, sent again until ACKed */
		assert_true(udp_expect(f, r, sizeof(r), 491, 1000));
	while (!strstr(hdr(r, "CSeq"), "UPDATE"));
	assert_int_equal(A.reinvites, 0);
	udp_answer(f, ours, 488); /* ours is over */
	pump(f, 50);
	assert_null(A.dialog->reinvite_txd);
	A.no_answer = true;
	req_expect(f, r, sizeof(r), "INVITE", "gl3", "gl1@test", tag, 4, SDP, 100);
	assert_int_equal(A.reinvites, 1);
	req_expect(f, r, sizeof(r), "INVITE", "gl4", "gl1@test", tag, 5, SDP, 500);
	const char *ra = hdr(r, "Retry-After");

	assert_non_null(ra);
	assert_true(strspn(ra, "0123456789") == strlen(ra) && atoi(ra) <= 10);
	assert_int_equal(A.reinvites, 1);
}

/* Our re-INVITE's 2xx sent again (our ACK lost): each copy gets an ACK (RFC 3261
 * 13.2.2.4), also once the transaction is gone; an in-dialog OPTIONS for no
 * dialog gets 481 (RFC 3261 12.2.2: an SBC's session audit). */
static void test_reinvite_2xx_again(void **state)
{
	struct fx *f = *state;
	char r[4096], ours[4096], tag[64];

	call_up(f, "rx1@test", NULL, tag, sizeof(tag));
	our_reinvite(f, ours, sizeof(ours));
	for (int i = 0; i < 2; i++) {
		udp_answer(f, ours, 200);
		assert_true(udp_wait_req(f, r, sizeof(r), "ACK", 1000));
		assert_non_null(strstr(hdr(r, "CSeq"), " ACK"));
	}
	req_expect(f, r, sizeof(r), "OPTIONS", "rx2", "rx1@test", "nosuchtag", 9, NULL, 481);
	/* 491 (glare): the same offer again after 0-2 s (RFC 3261 14.1; 4*T1 here) */
	our_reinvite(f, ours, sizeof(ours));
	udp_answer(f, ours, 491);
	assert_true(udp_wait_req(f, r, sizeof(r), "INVITE", 1500));
	assert_int_equal(atoi(hdr(r, "CSeq")), atoi(hdr(ours, "CSeq")) + 1);
}

/* A re-INVITE's Contact is the dialog's new remote target (RFC 3261 12.2.2): an SBC
 * that moved (failover) gets our BYE there, not at the INVITE's Contact. */
static void test_target_refresh(void **state)
{
	struct fx *f = *state;
	char m[4096], r[4096], tag[64];

	call_up(f, "tr1@test", "<sip:src@127.0.0.1:9>", tag, sizeof(tag));
	req(m, sizeof(m), "INVITE", "UDP", f->lport, "tr2", "tr1@test", tag, 2, NULL, SDP);
	udp_send(f, m);
	assert_true(udp_expect(f, r, sizeof(r), 200, 1000));
	req(m, sizeof(m), "ACK", "UDP", f->lport, "tr3", "tr1@test", tag, 2, NULL, NULL);
	udp_send(f, m);
	pump(f, 50);
	assert_int_equal(cp_sip_send_bye(A.dialog, NULL), 0);
	assert_true(udp_wait_req(f, r, sizeof(r), "BYE", 1000));
	snprintf(m, sizeof(m), "BYE sip:src@127.0.0.1:%u;transport=UDP SIP/2.0", f->lport);
	assert_memory_equal(r, m, strlen(m));
}

/* Send a request from the test's UDP port: start line, then a Via with a
 * fresh branch and rport, then hdrs (CRLF-ended lines, blank line
 * included); expect status (0: nothing) into r. */
static void raw_expect(struct fx *f, char *r, size_t rn, const char *line, const char *hdrs,
		       int status)
{
	static unsigned seq;
	char m[4096];

	snprintf(m, sizeof(m), "%s\r\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKraw%u;rport\r\n%s",
		 line, f->lport, ++seq, hdrs);
	udp_send(f, m);
	if (status)
		assert_true(udp_expect(f, r, rn, status, 1000));
	else
		assert_int_equal(udp_recv(f, r, rn, 300), 0);
}

#define RAW_HDRS(cseq) "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: " cseq "@raw\r\n" \
		       "CSeq: 1 " cseq "\r\nContent-Length: 0\r\n\r\n"

/* RFC 4475 expectations the SIP layer answers itself: 501 for an unknown
 * method, 505 for another SIP version, 416 for a Request-URI scheme other
 * than sip/sips/tel, 420 for an unknown Require on a non-INVITE, 400 for a
 * Content-Length that is no number (not a call). */
static void test_rfc4475_codes(void **state)
{
	struct fx *f = *state;
	char r[4096];

	raw_expect(f, r, sizeof(r), "FOO sip:x@127.0.0.1 SIP/2.0", RAW_HDRS("FOO"), 501);
	assert_non_null(strstr(hdr(r, "Allow"), "INVITE"));
	raw_expect(f, r, sizeof(r), "OPTIONS sip:x@127.0.0.1 SIP/7.0", RAW_HDRS("OPTIONS"), 505);
	raw_expect(f, r, sizeof(r), "OPTIONS nobody:opaque SIP/2.0", RAW_HDRS("OPTIONS"), 416);
	raw_expect(f, r, sizeof(r), "OPTIONS sip:x@127.0.0.1 SIP/2.0",
		   "Require: siprec, foo,bar\r\n" RAW_HDRS("OPTIONS"), 420);
	assert_string_equal(hdr(r, "Unsupported"), "foo, bar");
	raw_expect(f, r, sizeof(r), "OPTIONS sip:x@127.0.0.1 SIP/2.0",
		   "Require: siprec\r\n" RAW_HDRS("OPTIONS"), 200);
	raw_expect(f, r, sizeof(r), "INVITE sip:x@127.0.0.1 SIP/2.0",
		   "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: ncl@raw\r\nCSeq: 1 INVITE\r\n"
		   "Content-Type: application/sdp\r\nContent-Length: -999\r\n\r\nv=0\r\n", 400);
	assert_non_null(strstr(r, "Bad Content-Length"));
	assert_int_equal(A.invites, 0);
}

/* Requests libosip2 cannot parse are still answered from their raw text
 * when they have a Via (RFC 4475 3.1.2); ACKs and Via-less ones are not. */
static void test_unparsable(void **state)
{
	struct fx *f = *state;
	char m[4096], r[4096];

	raw_expect(f, r, sizeof(r), "INVITE sip:x@127.0.0.1 SIP/2.0",
		   "To: \"Mr. J. User <sip:c@d>\r\nFrom: <sip:a@b>;tag=1\r\nCall-ID: quot@raw\r\n"
		   "CSeq: 8 INVITE\r\nContent-Length: 0\r\n\r\n", 400);
	assert_non_null(strstr(hdr(r, "To"), ";tag="));
	assert_string_equal(hdr(r, "Call-ID"), "quot@raw");
	assert_string_equal(hdr(r, "CSeq"), "8 INVITE");
	assert_non_null(strstr(hdr(r, "Via"), "received=127.0.0.1"));
	assert_non_null(strstr(hdr(r, "Warning"), "Malformed message"));
	/* an unknown method: 501 (RFC 3261 8.2.1 before 8.2.2) */
	raw_expect(f, r, sizeof(r), "NEWTHING sip:x@127.0.0.1 SIP/2.0",
		   "From:    Bell, Alexander <sip:a@b>;tag=43\r\nTo: <sip:c@d>\r\nCall-ID: dn@raw\r\n"
		   "CSeq: 1 NEWTHING\r\nl: 0\r\n\r\n", 501);
	/* Request-Lines libosip2 refuses: a bracketed URI, an odd scheme, folded Via */
	raw_expect(f, r, sizeof(r), "INVITE <sip:x@127.0.0.1> SIP/2.0", RAW_HDRS("INVITE"), 400);
	raw_expect(f, r, sizeof(r), "OPTIONS soap.beep://192.0.2.103:3002 SIP/2.0",
		   RAW_HDRS("OPTIONS"), 416);
	snprintf(m, sizeof(m), "OPTIONS  sip:x@127.0.0.1  SIP/2.0\r\nv: SIP/2.0/UDP\r\n  127.0.0.1:%u"
		 ";branch=z9hG4bKfold;rport\r\n" RAW_HDRS("OPTIONS"), f->lport);
	udp_send(f, m);
	assert_true(udp_expect(f, r, sizeof(r), 400, 1000));
	/* nothing to answer: an ACK, a request without Via */
	raw_expect(f, r, sizeof(r), "ACK <sip:x@127.0.0.1> SIP/2.0", RAW_HDRS("ACK"), 0);
	udp_send(f, "INVITE <sip:x@127.0.0.1> SIP/2.0\r\n" RAW_HDRS("INVITE"));
	assert_int_equal(udp_recv(f, r, sizeof(r), 300), 0);
	assert_int_equal(A.invites, 0);
}

/* ---- TCP ---- */

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
		cmocka_unit_test_setup_teardown(test_cancel_reinvite, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_reinvite_told, setup, teardown),
		cmocka_unit_test_setup_teardown(test_answer_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rfc4475_codes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unparsable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_large, setup_small, teardown),
		cmocka_unit_test_setup_teardown(test_send_bye, setup, teardown),
		cmocka_unit_test_setup_teardown(test_feed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_txn_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_route_set, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_limit_dialog, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_after_final, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reinvite_glare, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reinvite_2xx_again, setup, teardown),
		cmocka_unit_test_setup_teardown(test_target_refresh, setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
