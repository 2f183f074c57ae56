/* SPDX-License-Identifier: BSD-3-Clause
 * nat_cloud: the instance-metadata lookup against a fake metadata server run
 * in a thread on 127.0.0.1 (ephemeral port). Like the real services, the fake
 * refuses a request without its required header (GCP 403, AWS 400/401,
 * Azure 400). Every loop is bounded in time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "nat/cloud/nat_cloud.h"
#include "nat/cloud/nat_cloud_priv.h"

#define GCP_PATH "/computeMetadata/v1/instance/network-interfaces/0/access-configs/0/external-ip"
#define AWS_TOKEN_PATH "/latest/api/token"
#define AWS_IP_PATH "/latest/meta-data/public-ipv4"
#define AZURE_PATH                                                                  \
	"/metadata/instance/network/interface/0/ipv4/ipAddress/0/publicIpAddress" \
	"?api-version=2021-02-01&format=text"
#define TOKEN "AQAEAFakeIMDSv2Token_0123456789abcdef=="
#define MAX_REQS 8
#define SERVER_LIFE_MS 15000

static const char *const ips[NAT_CLOUD_NPROVIDERS] = {"203.0.113.1", "203.0.113.2",
						     "203.0.113.3"};
static const char *const bodies[NAT_CLOUD_NPROVIDERS] = {"203.0.113.1\n", "203.0.113.2",
							"  203.0.113.3\r\n"};

struct fake_req {
	char method[16];
	char path[256];
	char head[2048];
};

/* The fake metadata server: behaviour set by the test before the lookup. */
struct fake {
	int lfd;
	unsigned port;
	pthread_t thr;
	atomic_int stop;
	int status[NAT_CLOUD_NPROVIDERS];       /* 0: 200 with the address */
	const char *body[NAT_CLOUD_NPROVIDERS]; /* NULL: bodies[] */
	const char *token;                      /* NULL: TOKEN */
	int hang;                               /* read requests, never answer */
	int no_flavor;                          /* GCP answer without Metadata-Flavor */
	pthread_mutex_t mu;
	unsigned n_reqs;
	struct fake_req reqs[MAX_REQS];
	int held[MAX_REQS];
	unsigned n_held;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A TCP socket bound to 127.0.0.1 on an ephemeral port (*port). */
static int bound_socket(unsigned *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static int has_header(const struct fake_req *r, const char *line)
{
	char want[512];

	snprintf(want, sizeof(want), "\r\n%s\r\n", line);
	return strcasestr(r->head, want) != NULL;
}

/* A provider's address request: the method, its header, then the behaviour. */
static int fake_provider(const struct fake *f, const struct fake_req *r, int p,
			 const char *need, int refuse, const char **body, const char **extra)
{
	if (strcmp(r->method, "GET") != 0)
		return 405;
	if (!has_header(r, need))
		return refuse;
	if (f->status[p] != 0) {
		*extra = f->status[p] == 302 ? "Location: /\r\n" : "";
		return f->status[p];
	}
	*body = f->body[p] ? f->body[p] : bodies[p];
	if (p == NAT_CLOUD_GCP && !f->no_flavor)
		*extra = "Metadata-Flavor: Google\r\n";
	return 200;
}

static int fake_route(const struct fake *f, const struct fake_req *r, const char **body,
		      const char **extra)
{
	if (strcmp(r->path, GCP_PATH) == 0)
		return fake_provider(f, r, NAT_CLOUD_GCP, "Metadata-Flavor: Google", 403, body,
				     extra);
	if (strcmp(r->path, AZURE_PATH) == 0)
		return fake_provider(f, r, NAT_CLOUD_AZURE, "Metadata: true", 400, body, extra);
	if (strcmp(r->path, AWS_IP_PATH) == 0)
		return fake_provider(f, r, NAT_CLOUD_AWS, "X-aws-ec2-metadata-token: " TOKEN, 401,
				     body, extra);
	if (strcmp(r->path, AWS_TOKEN_PATH) != 0)
		return 404;
	if (strcmp(r->method, "PUT") != 0)
		return 405;
	if (!has_header(r, "X-aws-ec2-metadata-token-ttl-seconds: 21600"))
		return 400;
	*body = f->token ? f->token : TOKEN;
	return 200;
}

/* The request head (bounded by size and by SO_RCVTIMEO); 0 when complete. */
static int fake_read(int fd, struct fake_req *r)
{
	size_t n = 0;

	while (n + 1 < sizeof(r->head)) {
		ssize_t k = recv(fd, r->head + n, sizeof(r->head) - 1 - n, 0);

		if (k <= 0)
			return -1;
		n += (size_t)k;
		r->head[n] = '\0';
		if (strstr(r->head, "\r\n\r\n") != NULL)
			return sscanf(r->head, "%15s %255s", r->method, r->path) == 2 ? 0 : -1;
	}
	return -1;
}

static void fake_answer(struct fake *f, int fd, const struct fake_req *r)
{
	const char *body = "", *extra = "";
	char head[512];
	int status = fake_route(f, r, &body, &extra);
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d Fake\r\nContent-Type: text/plain\r\n"
			 "Content-Length: %zu\r\nConnection: close\r\n%s\r\n",
			 status, strlen(body), extra);

	send(fd, head, (size_t)n, MSG_NOSIGNAL);
	send(fd, body, strlen(body), MSG_NOSIGNAL);
}

static void fake_serve(struct fake *f, int fd)
{
	struct timeval tv = {.tv_sec = 2};
	struct fake_req r;

	memset(&r, 0, sizeof(r));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (fake_read(fd, &r) != 0) {
		close(fd);
		return;
	}
	pthread_mutex_lock(&f->mu);
	if (f->n_reqs < MAX_REQS)
		f->reqs[f->n_reqs++] = r;
	if (f->hang && f->n_held < MAX_REQS) {
		f->held[f->n_held++] = fd; /* closed by fake_teardown */
		fd = -1;
	}
	pthread_mutex_unlock(&f->mu);
	if (fd >= 0) {
		fake_answer(f, fd, &r);
		close(fd);
	}
}

static void *fake_run(void *arg)
{
	struct fake *f = arg;
	uint64_t end = now_ms() + SERVER_LIFE_MS;

	while (!atomic_load(&f->stop) && now_ms() < end) {
		struct pollfd p = {.fd = f->lfd, .events = POLLIN};
		int fd;

		if (poll(&p, 1, 20) <= 0)
			continue;
		fd = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			fake_serve(f, fd);
	}
	return NULL;
}

static int fake_setup(void **state)
{
	struct fake *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	pthread_mutex_init(&f->mu, NULL);
	f->lfd = bound_socket(&f->port);
	assert_int_equal(listen(f->lfd, 16), 0);
	assert_int_equal(pthread_create(&f->thr, NULL, fake_run, f), 0);
	*state = f;
	return 0;
}

static int fake_teardown(void **state)
{
	struct fake *f = *state;

	atomic_store(&f->stop, 1);
	pthread_join(f->thr, NULL);
	for (unsigned i = 0; i < f->n_held; i++)
		close(f->held[i]);
	close(f->lfd);
	pthread_mutex_destroy(&f->mu);
	free(f);
	return 0;
}

static struct fake_req fake_req_at(struct fake *f, unsigned i)
{
	struct fake_req r;

	pthread_mutex_lock(&f->mu);
	assert_true(i < f->n_reqs);
	r = f->reqs[i];
	pthread_mutex_unlock(&f->mu);
	return r;
}

static unsigned fake_count(struct fake *f)
{
	unsigned n;

	pthread_mutex_lock(&f->mu);
	n = f->n_reqs;
	pthread_mutex_unlock(&f->mu);
	return n;
}

static void assert_req(struct fake *f, unsigned i, const char *method, const char *path,
		       const char *header)
{
	struct fake_req r = fake_req_at(f, i);

	assert_string_equal(r.method, method);
	assert_string_equal(r.path, path);
	assert_true(has_header(&r, header));
}

/* The conf: these providers in this order, all at the fake's port. */
static void conf_for(struct nat_cloud_conf *cf, char base[][64], unsigned port,
		     const enum nat_cloud_provider *order, unsigned n)
{
	nat_cloud_conf_init(cf);
	cf->n_order = n;
	for (unsigned i = 0; i < n; i++)
		cf->order[i] = order[i];
	for (unsigned p = 0; p < NAT_CLOUD_NPROVIDERS; p++) {
		snprintf(base[p], 64, "http://127.0.0.1:%u", port);
		cf->base_url[p] = base[p];
	}
}

/* Poll as the control-plane loop would, for max_ms at most. */
static int drive(struct nat_cloud *c, unsigned max_ms)
{
	uint64_t t0 = now_ms();
	int st = nat_cloud_poll(c, now_ms());

	while (st == NAT_CLOUD_PENDING && now_ms() - t0 < max_ms) {
		long t = nat_cloud_timeout_ms(c, now_ms());

		assert_true(t >= 0);
		poll(NULL, 0, t > 5 ? 5 : (int)t);
		st = nat_cloud_poll(c, now_ms());
	}
	return st;
}

/* Run a lookup with this conf; the status, *out the handle. */
static int lookup_conf(struct nat_cloud **out, const struct nat_cloud_conf *cf)
{
	struct nat_cloud *c = nat_cloud_create(cf);

	assert_non_null(c);
	assert_int_equal(nat_cloud_start(c, now_ms()), 0);
	*out = c;
	return drive(c, 5000);
}

/* Run a lookup with these providers against the fake. */
static int lookup(struct fake *f, struct nat_cloud **out, const enum nat_cloud_provider *order,
		  unsigned n)
{
	struct nat_cloud_conf cf;
	char base[NAT_CLOUD_NPROVIDERS][64];

	conf_for(&cf, base, f->port, order, n);
	return lookup_conf(out, &cf);
}

static void assert_answer(struct nat_cloud *c, enum nat_cloud_provider p)
{
	assert_int_equal(nat_cloud_answered(c), p);
	assert_int_equal(nat_cloud_result(c), inet_addr(ips[p]));
}

static void assert_error_has(struct nat_cloud *c, const char *what)
{
	if (strstr(nat_cloud_error(c), what) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", nat_cloud_error(c), what);
}

struct want_req {
	const char *method, *path, *header;
};

static void expect_requests(struct fake *f, const struct want_req *w, unsigned n)
{
	assert_int_equal(fake_count(f), n);
	for (unsigned i = 0; i < n; i++)
		assert_req(f, i, w[i].method, w[i].path, w[i].header);
}

/* Provider p asked alone answers with its address after these requests. */
static void check_answer(struct fake *f, enum nat_cloud_provider p, const struct want_req *w,
			 unsigned n)
{
	struct nat_cloud *c;

	assert_int_equal(lookup(f, &c, &p, 1), NAT_CLOUD_DONE);
	assert_answer(c, p);
	assert_string_equal(nat_cloud_error(c), "");
	expect_requests(f, w, n);
	nat_cloud_free(c);
}

/* Provider p asked alone fails after n requests, its error line with what. */
static void check_failure(struct fake *f, enum nat_cloud_provider p, unsigned n, const char *what)
{
	struct nat_cloud *c;
	char who[32];

	assert_int_equal(lookup(f, &c, &p, 1), NAT_CLOUD_FAILED);
	assert_int_equal(nat_cloud_result(c), 0);
	assert_int_equal(nat_cloud_answered(c), NAT_CLOUD_NONE);
	assert_int_equal(fake_count(f), n);
	snprintf(who, sizeof(who), "%s http://127.0.0.1:", nat_cloud_provider_name(p));
	assert_error_has(c, who);
	assert_error_has(c, what);
	nat_cloud_free(c);
}

static void test_gcp(void **state)
{
	static const struct want_req w[] = {{"GET", GCP_PATH, "Metadata-Flavor: Google"}};

	check_answer(*state, NAT_CLOUD_GCP, w, 1);
}

static void test_aws_token_flow(void **state)
{
	static const struct want_req w[] = {
		{"PUT", AWS_TOKEN_PATH, "X-aws-ec2-metadata-token-ttl-seconds: 21600"},
		{"GET", AWS_IP_PATH, "X-aws-ec2-metadata-token: " TOKEN},
	};

	check_answer(*state, NAT_CLOUD_AWS, w, 2);
}

static void test_azure(void **state)
{
	static const struct want_req w[] = {{"GET", AZURE_PATH, "Metadata: true"}};

	check_answer(*state, NAT_CLOUD_AZURE, w, 1);
}

static void test_aws_bad_token(void **state)
{
	struct fake *f = *state;

	f->token = "two words"; /* would split the header it goes into */
	check_failure(f, NAT_CLOUD_AWS, 1, AWS_TOKEN_PATH ": IMDSv2 token with a byte 0x20");
}

/* First provider 404, the second answers; the error line keeps the 404. */
static void test_fallback_order(void **state)
{
	struct fake *f = *state;
	const enum nat_cloud_provider order[] = {NAT_CLOUD_GCP, NAT_CLOUD_AZURE, NAT_CLOUD_AWS};
	static const struct want_req w[] = {{"GET", GCP_PATH, "Metadata-Flavor: Google"},
					    {"GET", AZURE_PATH, "Metadata: true"}};
	struct nat_cloud *c;
	char want[128];

	f->status[NAT_CLOUD_GCP] = 404;
	assert_int_equal(lookup(f, &c, order, 3), NAT_CLOUD_DONE);
	assert_answer(c, NAT_CLOUD_AZURE);
	expect_requests(f, w, 2);
	snprintf(want, sizeof(want), "gcp http://127.0.0.1:%u%s: HTTP 404", f->port, GCP_PATH);
	assert_string_equal(nat_cloud_error(c), want);
	nat_cloud_free(c);
}

static void test_garbage_body(void **state)
{
	struct fake *f = *state;
	const enum nat_cloud_provider order[] = {NAT_CLOUD_AZURE, NAT_CLOUD_AWS};
	struct nat_cloud *c;

	f->body[NAT_CLOUD_AZURE] = "<html>\x01oops</html>";
	assert_int_equal(lookup(f, &c, order, 2), NAT_CLOUD_DONE);
	assert_answer(c, NAT_CLOUD_AWS);
	assert_error_has(c, "azure http://");
	assert_error_has(c, "not an IPv4 address: \"<html>?oops</html>\"");
	nat_cloud_free(c);
}

static void test_gcp_needs_flavor_answer(void **state)
{
	struct fake *f = *state;

	f->no_flavor = 1;
	check_failure(f, NAT_CLOUD_GCP, 1, GCP_PATH ": HTTP 200 without Metadata-Flavor: Google");
}

static void test_body_too_big(void **state)
{
	struct fake *f = *state;
	static char big[NAT_CLOUD_MAX_BODY + 100];

	memset(big, '1', sizeof(big) - 1);
	f->body[NAT_CLOUD_GCP] = big;
	check_failure(f, NAT_CLOUD_GCP, 1, "answer larger than 4096 bytes");
}

static void test_redirect_not_followed(void **state)
{
	struct fake *f = *state;

	f->status[NAT_CLOUD_AZURE] = 302;
	check_failure(f, NAT_CLOUD_AZURE, 1, "format=text: HTTP 302");
}

/* GCP's port has a bound socket that does not listen: connection refused. */
static void test_refused_then_next(void **state)
{
	struct fake *f = *state;
	struct nat_cloud_conf cf;
	char base[NAT_CLOUD_NPROVIDERS][64], gcp[64], want[96];
	const enum nat_cloud_provider order[] = {NAT_CLOUD_GCP, NAT_CLOUD_AZURE};
	unsigned dead;
	int fd = bound_socket(&dead);
	struct nat_cloud *c;

	conf_for(&cf, base, f->port, order, 2);
	snprintf(gcp, sizeof(gcp), "http://127.0.0.1:%u/", dead);
	cf.base_url[NAT_CLOUD_GCP] = gcp;
	assert_int_equal(lookup_conf(&c, &cf), NAT_CLOUD_DONE);
	assert_answer(c, NAT_CLOUD_AZURE);
	snprintf(want, sizeof(want), "gcp http://127.0.0.1:%u%s: ", dead, GCP_PATH);
	assert_error_has(c, want);
	assert_error_has(c, "onnect");
	nat_cloud_free(c);
	close(fd);
}

/* A server that reads the request and never answers: curl's timeout. */
static void test_no_answer_times_out(void **state)
{
	struct fake *f = *state;
	struct nat_cloud_conf cf;
	char base[NAT_CLOUD_NPROVIDERS][64];
	const enum nat_cloud_provider order[] = {NAT_CLOUD_GCP};
	struct nat_cloud *c;
	uint64_t took;

	f->hang = 1;
	conf_for(&cf, base, f->port, order, 1);
	cf.timeout_ms = 300;
	took = now_ms();
	assert_int_equal(lookup_conf(&c, &cf), NAT_CLOUD_FAILED);
	took = now_ms() - took;
	assert_true(took >= 250 && took < 300 + NAT_CLOUD_GRACE_MS + 500);
	assert_int_equal(fake_count(f), 1);
	assert_error_has(c, "gcp http://");
	assert_error_has(c, "imed out");
	nat_cloud_free(c);
}

static void test_all_fail(void **state)
{
	struct fake *f = *state;
	const enum nat_cloud_provider order[] = {NAT_CLOUD_AWS, NAT_CLOUD_GCP, NAT_CLOUD_AZURE};
	struct nat_cloud *c;

	f->status[NAT_CLOUD_GCP] = 500;
	f->status[NAT_CLOUD_AWS] = 404;
	f->body[NAT_CLOUD_AZURE] = "";
	assert_int_equal(lookup(f, &c, order, 3), NAT_CLOUD_FAILED);
	assert_int_equal(fake_count(f), 4);
	assert_error_has(c, "aws http://127.0.0.1:");
	assert_error_has(c, AWS_IP_PATH ": HTTP 404; gcp http://");
	assert_error_has(c, GCP_PATH ": HTTP 500; azure http://");
	assert_error_has(c, "format=text: empty answer");
	assert_int_equal(nat_cloud_poll(c, now_ms()), NAT_CLOUD_FAILED);
	assert_int_equal(nat_cloud_timeout_ms(c, now_ms()), -1);
	nat_cloud_free(c);
}

/* A second start drops the lookup in flight; a lookup can be run again. */
static void test_restart(void **state)
{
	struct fake *f = *state;
	const enum nat_cloud_provider order[] = {NAT_CLOUD_AWS};
	struct nat_cloud *c;

	assert_int_equal(lookup(f, &c, order, 1), NAT_CLOUD_DONE);
	assert_int_equal(nat_cloud_start(c, now_ms()), 0);
	assert_int_equal(nat_cloud_result(c), 0);
	nat_cloud_poll(c, now_ms());
	assert_int_equal(nat_cloud_start(c, now_ms()), 0);
	assert_int_equal(drive(c, 5000), NAT_CLOUD_DONE);
	assert_answer(c, NAT_CLOUD_AWS);
	assert_string_equal(nat_cloud_error(c), "");
	nat_cloud_free(c);
}

static void test_conf(void **state)
{
	struct nat_cloud_conf cf;
	struct nat_cloud *c;
	char longurl[NAT_CLOUD_MAX_BASE + 8];

	(void)state;
	nat_cloud_conf_init(&cf);
	c = nat_cloud_create(&cf);
	assert_non_null(c);
	assert_int_equal(nat_cloud_poll(c, 0), NAT_CLOUD_IDLE);
	assert_int_equal(nat_cloud_timeout_ms(c, 0), -1);
	assert_int_equal(nat_cloud_answered(c), NAT_CLOUD_NONE);
	assert_string_equal(c->conf.base_url[NAT_CLOUD_AWS], NAT_CLOUD_DEFAULT_BASE);
	assert_int_equal(c->conf.connect_timeout_ms, NAT_CLOUD_DEFAULT_TIMEOUT_MS);
	nat_cloud_free(c);
	cf.order[1] = NAT_CLOUD_GCP; /* twice */
	assert_null(nat_cloud_create(&cf));
	nat_cloud_conf_init(&cf);
	cf.n_order = 0;
	assert_null(nat_cloud_create(&cf));
	nat_cloud_conf_init(&cf);
	cf.base_url[NAT_CLOUD_AZURE] = "https://169.254.169.254";
	assert_null(nat_cloud_create(&cf));
	memset(longurl, 'a', sizeof(longurl) - 1);
	memcpy(longurl, "http://", 7);
	longurl[sizeof(longurl) - 1] = '\0';
	cf.base_url[NAT_CLOUD_AZURE] = longurl;
	assert_null(nat_cloud_create(&cf));
}

static void test_names(void **state)
{
	static const char *const names[] = {"gcp", "aws", "azure"};

	(void)state;
	for (int p = 0; p < NAT_CLOUD_NPROVIDERS; p++) {
		assert_string_equal(nat_cloud_provider_name((enum nat_cloud_provider)p), names[p]);
		assert_int_equal(nat_cloud_provider_parse(names[p]), p);
	}
	assert_string_equal(nat_cloud_provider_name(NAT_CLOUD_NONE), "none");
	assert_int_equal(nat_cloud_provider_parse("Azure"), NAT_CLOUD_AZURE);
	assert_int_equal(nat_cloud_provider_parse("oracle"), -1);
	assert_int_equal(nat_cloud_provider_parse(NULL), -1);
}

static int parse(const char *s, size_t n, uint32_t *a)
{
	char why[NAT_CLOUD_MAX_WHY];
	size_t tn;
	const char *t = nat_cloud_trim(s, n, &tn);

	return nat_cloud_parse_ipv4(t, tn, a, why, sizeof(why));
}

static void test_parse_ipv4(void **state)
{
	static const char *const bad[] = {
		"", " \r\n", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.4 x", "1.2.3.256",
		"0.0.0.0", "127.0.0.1", "224.0.0.1", "255.255.255.255", "169.254.1.1",
		"::1", "1.2.3.4/32", "1.2.3.4\n5.6.7.8", "203.0.113.10000",
	};
	uint32_t a = 0;

	(void)state;
	assert_int_equal(parse("198.51.100.7", 12, &a), 0);
	assert_int_equal(a, inet_addr("198.51.100.7"));
	assert_int_equal(parse("\t 10.1.2.3 \r\n", 13, &a), 0);
	assert_int_equal(a, inet_addr("10.1.2.3"));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse(bad[i], strlen(bad[i]), &a) != -1)
			fail_msg("\"%s\" taken as an address", bad[i]);
	assert_int_equal(parse("1.2.3.4\0", 8, &a), -1);
}

static void test_token_ok(void **state)
{
	char why[NAT_CLOUD_MAX_WHY];

	(void)state;
	assert_int_equal(nat_cloud_token_ok(TOKEN, strlen(TOKEN), why, sizeof(why)), 0);
	assert_int_equal(nat_cloud_token_ok("", 0, why, sizeof(why)), -1);
	assert_int_equal(nat_cloud_token_ok("a\r\nX: y", 8, why, sizeof(why)), -1);
	assert_string_equal(why, "IMDSv2 token with a byte 0x0d at 1");
	assert_int_equal(nat_cloud_token_ok("a\xc3\xa9", 3, why, sizeof(why)), -1);
}

#define FAKE_TEST(t) cmocka_unit_test_setup_teardown(t, fake_setup, fake_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		FAKE_TEST(test_gcp),
		FAKE_TEST(test_aws_token_flow),
		FAKE_TEST(test_aws_bad_token),
		FAKE_TEST(test_azure),
		FAKE_TEST(test_fallback_order),
		FAKE_TEST(test_garbage_body),
		FAKE_TEST(test_gcp_needs_flavor_answer),
		FAKE_TEST(test_body_too_big),
		FAKE_TEST(test_redirect_not_followed),
		FAKE_TEST(test_refused_then_next),
		FAKE_TEST(test_no_answer_times_out),
		FAKE_TEST(test_all_fail),
		FAKE_TEST(test_restart),
		cmocka_unit_test(test_conf),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_parse_ipv4),
		cmocka_unit_test(test_token_ok),
	};

	/* a proxy from the environment must not be used */
	setenv("http_proxy", "http://127.0.0.1:1", 1);
	setenv("HTTP_PROXY", "http://127.0.0.1:1", 1);
	setenv("ALL_PROXY", "http://127.0.0.1:1", 1);
	return cmocka_run_group_tests_name("nat_cloud", tests, NULL, NULL);
}
