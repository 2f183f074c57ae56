/* SPDX-License-Identifier: BSD-3-Clause
 * nat_turn against a real coturn (Debian package `coturn`) on 127.0.0.1:
 * allocate, permission, Data and Send indications, channel binding and
 * ChannelData both ways, refresh, stale nonce, wrong password, release.
 * Kernel UDP sockets on loopback, every wait bounded; skipped when
 * `turnserver` is not on PATH. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "nat/nat_turn.h"

#define LOOPBACK 0x7F000001u
#define MIN_RELAY 49160
#define MAX_RELAY 49200
#define STALE_S 3            /* coturn's nonce lifetime here */
#define WAIT_MS 5000

struct coturn {
	pid_t pid;
	uint16_t port;
	char dir[64];
	char log[96];
};

static struct coturn S = { .pid = -1 };

/* ---- sockets and time --------------------------------------------------- */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A socket of type on 127.0.0.1:port (0: any); its port in *bound. -1
 * when the port is taken. */
static int loopback_socket(int type, uint16_t port, uint16_t *bound)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(LOOPBACK) };
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
		close(fd);
		return -1;
	}
	*bound = ntohs(a.sin_port);
	return fd;
}

static int udp_socket(uint16_t *port)
{
	int fd = loopback_socket(SOCK_DGRAM, 0, port);

	assert_true(fd >= 0);
	return fd;
}

static void send_to(int fd, uint32_t ip, uint16_t port, const uint8_t *msg, size_t len)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(ip) };

	assert_int_equal(sendto(fd, msg, len, 0, (struct sockaddr *)&a, sizeof(a)), (ssize_t)len);
}

/* One datagram within wait_ms: its length, -1 on timeout. */
static ssize_t recv_from(int fd, uint8_t *buf, size_t cap, int wait_ms, uint32_t *ip,
			 uint16_t *port)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);

	if (poll(&p, 1, wait_ms) != 1)
		return -1;
	ssize_t n = recvfrom(fd, buf, cap, 0, (struct sockaddr *)&a, &alen);
	*ip = ntohl(a.sin_addr.s_addr);
	*port = ntohs(a.sin_port);
	return n;
}

/* ---- the client --------------------------------------------------------- */

struct client {
	int fd;
	uint16_t port;
	struct nat_turn t;
	uint64_t offset;         /* added to the clock to bring timers forward */
	uint64_t mark, mark2;    /* expiry times a refresh must move */
	bool ffwd;               /* skip idle time: the clock jumps to the next timer */
	unsigned sent;           /* datagrams nat_turn sent */
	/* what came from the relay besides answers */
	uint8_t got[1500];
	ssize_t got_len;
};

static void client_send(void *arg, uint32_t ip, uint16_t port, const uint8_t *msg, size_t len)
{
	struct client *c = arg;

	c->sent++;
	send_to(c->fd, ip, port, msg, len);
}

static uint64_t cnow(const struct client *c)
{
	return now_ms() + c->offset;
}

static bool txns_idle(const struct nat_turn *t)
{
	for (size_t i = 0; i < NAT_TURN_MAX_PERMS; i++)
		if (t->perms[i].txn.timer.state == NAT_BIND_RUNNING)
			return false;
	for (size_t i = 0; i < NAT_TURN_MAX_CHANNELS; i++)
		if (t->chans[i].txn.timer.state == NAT_BIND_RUNNING)
			return false;
	return t->txn.timer.state != NAT_BIND_RUNNING;
}

/* Feeds the socket and the timers to nat_turn until done(c) or WAIT_MS. */
static bool drive(struct client *c, bool (*done)(struct client *c))
{
	uint64_t end = now_ms() + WAIT_MS;
	uint8_t buf[1500];
	uint32_t ip;
	uint16_t port;

	while (!done(c) && now_ms() < end) {
		uint64_t d = nat_turn_deadline(&c->t), n = cnow(c);
		if (c->ffwd && txns_idle(&c->t) && d != UINT64_MAX && d > n) {
			c->offset += d - n;
			n = d;
		}
		int wait = d <= n ? 0 : d - n > 50 ? 50 : (int)(d - n);
		ssize_t len = recv_from(c->fd, buf, sizeof(buf), wait, &ip, &port);
		if (len > 0 && ip == LOOPBACK && port == S.port) {
			if (!nat_turn_input(&c->t, buf, (size_t)len, cnow(c))) {
				memcpy(c->got, buf, (size_t)len);
				c->got_len = len;
			}
		}
		nat_turn_tick(&c->t, cnow(c));
	}
	return done(c);
}

static bool is_allocated(struct client *c)
{
	return c->t.state == NAT_TURN_ALLOCATED;
}

static bool is_final(struct client *c)
{
	return c->t.state == NAT_TURN_FAILED || c->t.state == NAT_TURN_RELEASED;
}

static bool got_something(struct client *c)
{
	return c->got_len > 0;
}

static bool perm_done(struct client *c)
{
	return nat_turn_permission(&c->t, LOOPBACK) >= NAT_TURN_PEER_ACTIVE;
}

static bool chan_done(struct client *c)
{
	return c->t.chans[0].state >= NAT_TURN_PEER_ACTIVE;
}

static bool alloc_refreshed(struct client *c)
{
	return is_allocated(c) && c->t.expire_ms > c->mark && txns_idle(&c->t);
}

static bool peers_refreshed(struct client *c)
{
	return is_allocated(c) && c->t.perms[0].expire_ms > c->mark &&
	       c->t.chans[0].expire_ms > c->mark2 && txns_idle(&c->t);
}

static void client_start(struct client *c, const char *password)
{
	struct nat_turn_cfg cfg = {
		.server_ip = LOOPBACK, .server_port = S.port, .username = "test",
		.password = password, .lifetime_s = 600, .software = "rtprec-test",
		.send = client_send, .send_arg = c,
	};

	memset(c, 0, sizeof(*c));
	c->fd = udp_socket(&c->port);
	assert_int_equal(nat_turn_start(&c->t, &cfg, cnow(c)), 0);
}

static void client_close(struct client *c)
{
	close(c->fd);
}

static void show(const char *what, const struct client *c)
{
	const struct nat_turn *t = &c->t;

	print_message("coturn: %-22s state=%s error=%s code=%u %s\n", what,
		      nat_turn_state_name(t->state), nat_turn_error_name(t->error),
		      t->error_code, t->reason);
}

/* ---- coturn ------------------------------------------------------------- */

static bool on_path(const char *prog)
{
	const char *path = getenv("PATH");
	char buf[512];

	while (path && *path) {
		size_t n = strcspn(path, ":");
		if (n && n + strlen(prog) + 2 <= sizeof(buf)) {
			snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, path, prog);
			if (access(buf, X_OK) == 0)
				return true;
		}
		path += n + (path[n] == ':');
	}
	return false;
}

/* A port free for UDP and TCP (coturn listens on both). */
static uint16_t free_port(void)
{
	for (int i = 0; i < 20; i++) {
		uint16_t port, same;
		int u = udp_socket(&port);
		int tcp = loopback_socket(SOCK_STREAM, port, &same);
		close(u);
		if (tcp >= 0) {
			close(tcp);
			return port;
		}
	}
	fail_msg("no free port");
	return 0;
}

static void spawn(void)
{
	char port[32], pidfile[128], stale[32];

	snprintf(port, sizeof(port), "--listening-port=%u", S.port);
	snprintf(pidfile, sizeof(pidfile), "--pidfile=%s/turnserver.pid", S.dir);
	snprintf(stale, sizeof(stale), "--stale-nonce=%u", STALE_S);
	S.pid = fork();
	assert_true(S.pid >= 0);
	if (S.pid)
		return;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	int fd = open(S.log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
		_exit(126);
	execlp("turnserver", "turnserver", "-n", "--listening-ip=127.0.0.1", port,
	       "--relay-ip=127.0.0.1", "--min-port=49160", "--max-port=49200", "--no-tls",
	       "--no-dtls", "--no-cli", "--lt-cred-mech", "--user=test:test",
	       "--realm=example.org", "--log-file=stdout", "--allow-loopback-peers", pidfile,
	       stale, (char *)NULL);
	_exit(127);
}

/* Ready when it answers a STUN Binding request (bounded). */
static bool wait_ready(void)
{
	struct nat_bind b;
	uint16_t lport;
	int fd = udp_socket(&lport);
	uint64_t end = now_ms() + WAIT_MS;
	bool ok = false;

	assert_int_equal(nat_bind_init(&b, &(struct nat_rto){ 100, 30, 4 }, NULL, NULL), 0);
	assert_int_equal(nat_bind_start(&b, LOOPBACK, S.port, 0, now_ms()), 0);
	while (!ok && now_ms() < end && b.state == NAT_BIND_RUNNING &&
	       waitpid(S.pid, NULL, WNOHANG) == 0) {
		const uint8_t *msg;
		size_t len;
		uint8_t buf[512];
		uint32_t ip;
		uint16_t port;
		struct nat_stun_msg m;
		if (nat_bind_tick(&b, now_ms(), &msg, &len))
			send_to(fd, LOOPBACK, S.port, msg, len);
		ssize_t n = recv_from(fd, buf, sizeof(buf), 20, &ip, &port);
		ok = n > 0 && nat_stun_parse(buf, (size_t)n, &m) == 0 && nat_bind_input(&b, &m) &&
		     b.state == NAT_BIND_OK;
	}
	close(fd);
	return ok;
}

static void dump_log(void)
{
	char line[256];
	FILE *f = fopen(S.log, "r");

	print_message("---- coturn log (%s) ----\n", S.log);
	while (f && fgets(line, sizeof(line), f))
		print_message("%s", line);
	if (f)
		fclose(f);
}

static int setup(void **state)
{
	(void)state;
	if (!on_path("turnserver"))
		return 0;
	snprintf(S.dir, sizeof(S.dir), "/tmp/rtprec-coturn-XXXXXX");
	if (!mkdtemp(S.dir))
		return -1;
	snprintf(S.log, sizeof(S.log), "%s/turnserver.log", S.dir);
	S.port = free_port();
	spawn();
	if (!wait_ready()) {
		dump_log();
		return -1;
	}
	print_message("coturn: turnserver pid %d on 127.0.0.1:%u\n", (int)S.pid, S.port);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (S.pid <= 0)
		return 0;
	kill(S.pid, SIGTERM);
	for (int i = 0; i < 100 && waitpid(S.pid, NULL, WNOHANG) == 0; i++)
		usleep(20000);
	if (waitpid(S.pid, NULL, WNOHANG) == 0) {
		kill(S.pid, SIGKILL);
		waitpid(S.pid, NULL, 0);
	}
	S.pid = -1;
	return 0;
}

static void cleanup(void)
{
	char path[128];

	if (!S.dir[0])
		return;
	snprintf(path, sizeof(path), "%s/turnserver.pid", S.dir);
	unlink(path);
	unlink(S.log);
	rmdir(S.dir);
}

/* ---- the checks --------------------------------------------------------- */

static void need_coturn(void)
{
	if (S.pid <= 0) {
		print_message("coturn: turnserver not on PATH, skipped\n");
		skip();
	}
}

/* A datagram from the peer socket to the relayed address must reach the
 * client as payload (Data indication or ChannelData per want_channel). */
static void peer_to_client(struct client *c, int peer, const char *payload, uint16_t want_channel)
{
	const uint8_t *p;
	size_t plen;

	c->got_len = 0;
	send_to(peer, c->t.relayed.ip4, c->t.relayed.port, (const uint8_t *)payload, strlen(payload));
	assert_true(drive(c, got_something));
	if (want_channel) {
		uint16_t ch;
		assert_int_equal(nat_turn_unwrap_channel(c->got, (size_t)c->got_len, &ch, &p, &plen), 0);
		assert_int_equal(ch, want_channel);
	} else {
		struct nat_stun_addr from;
		assert_int_equal(nat_turn_unwrap_data(c->got, (size_t)c->got_len, &from, &p, &plen), 0);
		assert_int_equal(from.ip4, LOOPBACK);
	}
	assert_int_equal(plen, strlen(payload));
	assert_memory_equal(p, payload, plen);
}

/* What the client sends through the relay must reach the peer socket,
 * from the relayed address. */
static void client_to_peer(struct client *c, int peer, const uint8_t *msg, size_t len,
			   const char *payload)
{
	uint8_t buf[1500];
	uint32_t ip;
	uint16_t port;

	send_to(c->fd, LOOPBACK, S.port, msg, len);
	ssize_t n = recv_from(peer, buf, sizeof(buf), WAIT_MS, &ip, &port);
	assert_int_equal(n, (ssize_t)strlen(payload));
	assert_memory_equal(buf, payload, (size_t)n);
	assert_int_equal(ip, c->t.relayed.ip4);
	assert_int_equal(port, c->t.relayed.port);
}

static void test_relay(void **state)
{
	(void)state;
	static struct client c;
	uint16_t peer_port;
	uint8_t msg[1500];

	need_coturn();
	client_start(&c, "test");
	assert_true(drive(&c, is_allocated));
	show("allocated", &c);
	print_message("coturn: relayed 127.0.0.1:%u mapped port %u (local %u) lifetime %u s\n",
		      c.t.relayed.port, c.t.mapped.port, c.port, c.t.lifetime_s);
	assert_int_equal(c.t.relayed.ip4, LOOPBACK);
	assert_in_range(c.t.relayed.port, MIN_RELAY, MAX_RELAY);
	assert_int_equal(c.t.mapped.ip4, LOOPBACK);
	assert_int_equal(c.t.mapped.port, c.port);

	int peer = udp_socket(&peer_port);
	assert_int_equal(nat_turn_permit(&c.t, LOOPBACK, cnow(&c)), 0);
	assert_true(drive(&c, perm_done));
	assert_int_equal(nat_turn_permission(&c.t, LOOPBACK), NAT_TURN_PEER_ACTIVE);
	print_message("coturn: permission for 127.0.0.1 active\n");

	/* before the channel: Data and Send indications */
	peer_to_client(&c, peer, "peer->client by Data indication", 0);
	struct nat_stun_addr pa = { .family = NAT_STUN_FAM_IPV4, .port = peer_port,
				    .ip4 = LOOPBACK };
	const char *s1 = "client->peer by Send indication";
	int n = nat_turn_wrap_send(&c.t, &pa, (const uint8_t *)s1, strlen(s1), msg, sizeof(msg));
	assert_true(n > 0);
	client_to_peer(&c, peer, msg, (size_t)n, s1);
	print_message("coturn: Send and Data indications relayed\n");

	int ch = nat_turn_bind_channel(&c.t, LOOPBACK, peer_port, cnow(&c));
	assert_int_equal(ch, NAT_TURN_CHANNEL_MIN);
	assert_true(drive(&c, chan_done));
	assert_int_equal(nat_turn_channel(&c.t, LOOPBACK, peer_port), ch);
	const char *s2 = "client->peer by ChannelData, odd size";
	n = nat_turn_wrap_channel((uint16_t)ch, (const uint8_t *)s2, strlen(s2), msg, sizeof(msg));
	assert_int_equal(n, 4 + (int)strlen(s2));
	client_to_peer(&c, peer, msg, (size_t)n, s2);
	peer_to_client(&c, peer, "peer->client by ChannelData", (uint16_t)ch);
	print_message("coturn: channel 0x%04x bound, ChannelData relayed both ways\n", ch);

	/* refresh now (the clock brought forward), then wait out coturn's
	 * nonce so that the next refreshes meet 438 first */
	/* the clock skips idle time: permission and channel refreshes at 240
	 * and 480 s, the allocation's at 540 s */
	c.mark = c.t.expire_ms;
	c.ffwd = true;
	unsigned sent = c.sent;
	assert_true(drive(&c, alloc_refreshed));
	show("refreshed", &c);
	print_message("coturn: 9 virtual minutes: %u refreshes\n", c.sent - sent);
	assert_int_equal(c.sent - sent, 5);
	/* coturn's nonce goes stale: the first refresh meets 438 and goes
	 * again; the other one too when both were due at once */
	sleep(STALE_S + 1);
	c.mark = c.t.perms[0].expire_ms;
	c.mark2 = c.t.chans[0].expire_ms;
	sent = c.sent;
	assert_true(drive(&c, peers_refreshed));
	print_message("coturn: refreshes with a stale nonce: %u requests\n", c.sent - sent);
	assert_in_range(c.sent - sent, 3, 4);
	c.ffwd = false;
	assert_int_equal(nat_turn_permission(&c.t, LOOPBACK), NAT_TURN_PEER_ACTIVE);
	assert_int_equal(nat_turn_channel(&c.t, LOOPBACK, peer_port), ch);
	show("after stale nonce", &c);
	peer_to_client(&c, peer, "still relayed after refreshes", (uint16_t)ch);

	assert_int_equal(nat_turn_release(&c.t, cnow(&c)), 0);
	assert_true(drive(&c, is_final));
	show("released", &c);
	assert_int_equal(c.t.state, NAT_TURN_RELEASED);
	close(peer);
	client_close(&c);
}

static void test_wrong_password(void **state)
{
	(void)state;
	static struct client c;

	need_coturn();
	client_start(&c, "not-the-password");
	assert_true(drive(&c, is_final));
	show("wrong password", &c);
	assert_int_equal(c.t.state, NAT_TURN_FAILED);
	assert_int_equal(c.t.error, NAT_TURN_ERR_AUTH);
	assert_int_equal(c.t.error_code, 401);
	client_close(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_relay),
		cmocka_unit_test(test_wrong_password),
	};
	int rc = cmocka_run_group_tests(tests, setup, teardown);

	if (rc && S.dir[0])
		dump_log();
	cleanup();
	return rc;
}
