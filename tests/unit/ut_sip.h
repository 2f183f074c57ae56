/* SPDX-License-Identifier: BSD-3-Clause
 * Shared fixture for the cp_sip tests: a SIP layer on loopback UDP, TCP and
 * TLS (certificate made at test time with openssl), an application that
 * records what it saw, and helpers that speak raw SIP. */
#ifndef RTPREC_UT_SIP_H
#define RTPREC_UT_SIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "controlplane/cp_sip.h"

struct app_state {
	bool no_answer;
	int invites, reinvites, acks, byes, cancels, ends;
	char end_why[64];
	struct cp_sip_pending *last_pending;
	struct cp_sip_dialog *dialog;
	char transport[8];
	size_t body_len; /* of the last INVITE/UPDATE the app saw */
};

struct fx {
	struct cfg cfg;
	struct cp_sip *s;
	int udp;           /* client UDP socket */
	uint16_t lport;    /* its port */
	uint16_t port[3];  /* server UDP, TCP, TLS */
};

extern const char SDP[];
extern struct app_state A;
extern char cert_path[128], key_path[128];
extern const struct cp_sip_app APP;

int group_setup(void **state);
int group_teardown(void **state);
int setup_max(void **state, unsigned max_message);
int setup(void **state);
int setup_small(void **state);
int teardown(void **state);
uint64_t now_ms(void);
int req(char *buf, size_t n, const char *method, const char *tp, uint16_t lport,
	const char *branch, const char *cid, const char *to_tag, unsigned cseq,
	const char *cseq_method, const char *body);
void udp_send(struct fx *f, const char *msg);
size_t udp_recv(struct fx *f, char *buf, size_t n, unsigned ms);
bool udp_expect(struct fx *f, char *buf, size_t n, int status, unsigned ms);
void pump(struct fx *f, unsigned ms);
const char *hdr(const char *msg, const char *name);
void to_tag_of(const char *msg, char *tag, size_t n);
int tcp_connect(uint16_t port);
int count(const char *hay, const char *needle);
/* The next request with this method (others skipped) within ms, into buf. */
bool udp_wait_req(struct fx *f, char *buf, size_t n, const char *method, unsigned ms);
/* The response with status to the request rq (as received), into ok. */
void answer_text(char *ok, size_t size, const char *rq, int status);
/* Answer the request rq (as received) with status, from the test's socket. */
void udp_answer(struct fx *f, const char *rq, int status);
/* A TLS client on the connected fd, its handshake done (the server polled meanwhile). */
SSL *tls_connect(struct fx *f, SSL_CTX *ctx, int fd);
/* All of m on the connection (TLS when ssl). */
void stream_send(int fd, SSL *ssl, const char *m);
/* Replace the value of the Contact header of the message in msg. */
void set_contact(char *msg, size_t n, const char *contact);
/* INVITE (cid, branch "<cid>i", Contact as req() makes it unless contact), 200, ACK;
 * the dialog's To tag into tag. */
void call_up(struct fx *f, const char *cid, const char *contact, char *tag, size_t n);
/* The one dialog ends (on_dialog_end, why) within ms. */
void wait_end(struct fx *f, const char *why, unsigned ms);
/* A new INVITE (into m) the app leaves pending: 100, A.last_pending. */
void invite_pending(struct fx *f, char *m, size_t n, const char *branch, const char *cid);
/* A request over UDP (as req() makes it); its answer with status into r. */
void req_expect(struct fx *f, char *r, size_t n, const char *method, const char *branch,
		const char *cid, const char *to_tag, unsigned cseq, const char *body, int status);
int stream_wait(struct fx *f, int fd, SSL *ssl, char *buf, size_t n, const char *needle,
		       int want, unsigned ms);

#endif
