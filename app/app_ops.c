/* SPDX-License-Identifier: BSD-3-Clause
 * The operator's ways in, all served on the control-plane thread between its polls:
 * HTTP GET /metrics on metrics.listen, one-line commands on control.socket (rtprecctl),
 * and DPDK telemetry commands (/rtprec/...), whose callbacks run on DPDK's telemetry
 * thread and hand the command over through a mailbox. Every connection is bounded in
 * size and time; nothing here blocks the loop for long. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <rte_telemetry.h>

#include "app_ops.h"
#include "config/cfg_log.h"
#include "controlplane/cp_ctl.h"

#define OPS_CONNS 16
#define OPS_REQ_MAX 2048
#define OPS_DEADLINE_MS 2000
#define OPS_ACCEPT_MS 5 /* how often the listeners are tried: not two syscalls per loop pass */

enum ops_kind { OPS_HTTP, OPS_CTL };

struct ops_conn {
	int fd;
	enum ops_kind kind;
	uint64_t deadline;
	size_t len;
	char buf[OPS_REQ_MAX + 1];
};

struct app_ops {
	int http_fd, ctl_fd;
	char ctl_path[108];
	struct ops_conn conns[OPS_CONNS];
	uint64_t accept_due; /* ops_now_ms() of the next accept() try */
	app_ops_reload_fn reload;
	void *reload_arg;
	/* telemetry mailbox: one command at a time */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool tel_pending, tel_done;
	char tel_cmd[160];
	char *tel_answer;
};

static struct app_ops *ops_tel; /* the instance telemetry callbacks reach */

static uint64_t ops_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int ops_listen_tcp(const struct cfg_addr *a)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(a->port),
				  .sin_addr.s_addr = htonl(a->ip) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 16) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int ops_listen_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[sizeof(sa.sun_path)];
	char *slash;
	int fd;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		mkdir(dir, 0750); /* /run/rtprec: fine if it exists */
	}
	unlink(path); /* a stale socket of an earlier run */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 16) != 0) {
		close(fd);
		return -1;
	}
	chmod(path, 0660);
	return fd;
}

struct app_ops *app_ops_create(const struct cfg *cfg, app_ops_reload_fn reload, void *arg)
{
	struct app_ops *o = calloc(1, sizeof(*o));

	if (o == NULL)
		return NULL;
	o->http_fd = o->ctl_fd = -1;
	o->reload = reload;
	o->reload_arg = arg;
	for (unsigned i = 0; i < OPS_CONNS; i++)
		o->conns[i].fd = -1;
	pthread_mutex_init(&o->mu, NULL);
	pthread_cond_init(&o->cv, NULL);
	if (cfg->ops.has_metrics && (o->http_fd = ops_listen_tcp(&cfg->ops.metrics)) < 0)
		LOG_ERR("metrics.listen %s: %s (metrics off)", cfg->metrics.listen, strerror(errno));
	if (cfg->control.socket != NULL) {
		snprintf(o->ctl_path, sizeof(o->ctl_path), "%s", cfg->control.socket);
		if ((o->ctl_fd = ops_listen_unix(o->ctl_path)) < 0)
			LOG_ERR("control.socket %s: %s (rtprecctl off)", o->ctl_path,
				strerror(errno));
	}
	ops_tel = o;
	return o;
}

void app_ops_free(struct app_ops *o)
{
	if (o == NULL)
		return;
	pthread_mutex_lock(&o->mu);
	ops_tel = NULL;
	pthread_mutex_unlock(&o->mu);
	for (unsigned i = 0; i < OPS_CONNS; i++)
		if (o->conns[i].fd >= 0)
			close(o->conns[i].fd);
	if (o->http_fd >= 0)
		close(o->http_fd);
	if (o->ctl_fd >= 0) {
		close(o->ctl_fd);
		unlink(o->ctl_path);
	}
	free(o->tel_answer);
	free(o);
}

/* A command's JSON answer (malloc'd): reload is the app's, the rest the control plane's. */
static char *ops_answer(struct app_ops *o, struct cp_ctx *cp, const struct cp_sip *sip,
			const char *line)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);

	if (m == NULL)
		return NULL;
	if (strncmp(line, "reload", 6) == 0 && (line[6] == '\0' || line[6] == ' ')) {
		char *det = NULL;
		size_t det_len = 0;
		FILE *detail = open_memstream(&det, &det_len);
		const char *why = o->reload && detail ? o->reload(o->reload_arg, detail)
						     : "reload not possible";
		if (detail != NULL)
			fclose(detail);
		if (why != NULL)
			fprintf(m, "{\"ok\":false,\"error\":\"%s\"}", why);
		else
			fprintf(m, "{\"ok\":true%s}", det ? det : "");
		free(det);
	} else {
		cp_ctl_command(cp, sip, line, m);
	}
	fputc('\n', m);
	fclose(m);
	return text;
}

static void ops_write_all(int fd, const char *p, size_t n)
{
	struct timeval tv = { 1, 0 };
	int fl = fcntl(fd, F_GETFL);

	fcntl(fd, F_SETFL, fl & ~O_NONBLOCK); /* the answer is small: at most 1 s */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static void ops_http(struct cp_ctx *cp, const struct cp_sip *sip, struct ops_conn *c)
{
	char *body = NULL, head[160];
	size_t len = 0;
	FILE *m;

	if (strncmp(c->buf, "GET /metrics ", 13) != 0 && strncmp(c->buf, "GET /metrics?", 13) != 0) {
		static const char nf[] = "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n";
		ops_write_all(c->fd, nf, sizeof(nf) - 1);
		return;
	}
	if ((m = open_memstream(&body, &len)) == NULL)
		return;
	cp_metrics_write(cp, sip, m);
	fclose(m);
	snprintf(head, sizeof(head), "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
		 "Content-Length: %zu\r\nConnection: close\r\n\r\n", len);
	ops_write_all(c->fd, head, strlen(head));
	ops_write_all(c->fd, body, len);
	free(body);
}

/* A complete request on c? HTTP: its head; control: one line. */
static bool ops_complete(struct ops_conn *c)
{
	char *nl;

	if (c->kind == OPS_HTTP)
		return strstr(c->buf, "\r\n\r\n") != NULL || strstr(c->buf, "\n\n") != NULL;
	if ((nl = strchr(c->buf, '\n')) == NULL)
		return false;
	*nl = '\0';
	if (nl > c->buf && nl[-1] == '\r')
		nl[-1] = '\0';
	return true;
}

static void ops_close(struct ops_conn *c)
{
	close(c->fd);
	c->fd = -1;
}

static void ops_serve(struct app_ops *o, struct cp_ctx *cp, const struct cp_sip *sip,
		      struct ops_conn *c, uint64_t now)
{
	ssize_t n = recv(c->fd, c->buf + c->len, OPS_REQ_MAX - c->len, MSG_DONTWAIT);

	if (n > 0) {
		c->len += (size_t)n;
		c->buf[c->len] = '\0';
	}
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) || now > c->deadline ||
	    (c->len == OPS_REQ_MAX && !ops_complete(c))) {
		ops_close(c);
		return;
	}
	if (n <= 0 || !ops_complete(c))
		return;
	if (c->kind == OPS_HTTP) {
		ops_http(cp, sip, c);
	} else {
		char *a = ops_answer(o, cp, sip, c->buf);
		if (a != NULL)
			ops_write_all(c->fd, a, strlen(a));
		free(a);
	}
	ops_close(c);
}

static void ops_accept(struct app_ops *o, int lfd, enum ops_kind kind, uint64_t now)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	for (unsigned i = 0; i < OPS_CONNS; i++)
		if (o->conns[i].fd < 0) {
			o->conns[i].fd = fd;
			o->conns[i].kind = kind;
			o->conns[i].len = 0;
			o->conns[i].buf[0] = '\0';
			o->conns[i].deadline = now + OPS_DEADLINE_MS;
			return;
		}
	close(fd); /* all busy: the client tries again */
}

/* A telemetry command waiting: answer it here, on the control-plane thread. */
static void ops_mailbox(struct app_ops *o, struct cp_ctx *cp, const struct cp_sip *sip)
{
	char cmd[sizeof(o->tel_cmd)], *a;

	pthread_mutex_lock(&o->mu);
	if (!o->tel_pending) {
		pthread_mutex_unlock(&o->mu);
		return;
	}
	memcpy(cmd, o->tel_cmd, sizeof(cmd));
	pthread_mutex_unlock(&o->mu);
	a = ops_answer(o, cp, sip, cmd);
	pthread_mutex_lock(&o->mu);
	free(o->tel_answer);
	o->tel_answer = a;
	o->tel_pending = false;
	o->tel_done = true;
	pthread_cond_broadcast(&o->cv);
	pthread_mutex_unlock(&o->mu);
}

void app_ops_poll(struct app_ops *o, struct cp_ctx *cp, const struct cp_sip *sip)
{
	uint64_t now;

	if (o == NULL)
		return;
	now = ops_now_ms();
	if (now >= o->accept_due) {
		o->accept_due = now + OPS_ACCEPT_MS;
		if (o->http_fd >= 0)
			ops_accept(o, o->http_fd, OPS_HTTP, now);
		if (o->ctl_fd >= 0)
			ops_accept(o, o->ctl_fd, OPS_CTL, now);
	}
	for (unsigned i = 0; i < OPS_CONNS; i++)
		if (o->conns[i].fd >= 0)
			ops_serve(o, cp, sip, &o->conns[i], now);
	ops_mailbox(o, cp, sip);
}

/* Telemetry thread: post the command, wait (bounded) for the control plane's answer. */
static int ops_tel_cb(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct app_ops *o = ops_tel;
	struct timespec until;
	char *answer = NULL;

	if (o == NULL)
		return -1;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 12; /* a stats dump waits up to 10 s for the workers */
	pthread_mutex_lock(&o->mu);
	while (o->tel_pending) /* another command first */
		if (pthread_cond_timedwait(&o->cv, &o->mu, &until) != 0)
			break;
	snprintf(o->tel_cmd, sizeof(o->tel_cmd), "%s %s", cmd + strlen("/rtprec/"),
		 params ? params : "");
	o->tel_pending = true;
	o->tel_done = false;
	while (!o->tel_done)
		if (pthread_cond_timedwait(&o->cv, &o->mu, &until) != 0)
			break;
	if (o->tel_done) {
		answer = o->tel_answer;
		o->tel_answer = NULL;
	}
	o->tel_pending = false;
	pthread_mutex_unlock(&o->mu);
	if (answer == NULL)
		return -1;
	answer[strcspn(answer, "\n")] = '\0';
	if (strlen(answer) >= RTE_TEL_MAX_SINGLE_STRING_LEN)
		strcpy(answer, "{\"ok\":false,\"error\":\"too large for telemetry: use rtprecctl\"}");
	rte_tel_data_string(d, answer);
	free(answer);
	return 0;
}

void app_ops_telemetry(void)
{
	static const struct { const char *cmd, *help; } c[] = {
		{ "/rtprec/status", "rtprec status. No parameters" },
		{ "/rtprec/stats", "rtprec stats lines (ports, workers, flows, recorder, ...)" },
		{ "/rtprec/sessions", "Active recording sessions. No parameters" },
		{ "/rtprec/session", "One session as in its session.json. Parameter: session id" },
		{ "/rtprec/flows", "Static flows' counters. No parameters" },
		{ "/rtprec/nat", "NAT discovery state and counters. No parameters" },
	};

	for (unsigned i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		if (rte_telemetry_register_cmd(c[i].cmd, ops_tel_cb, c[i].help) != 0)
			LOG_WARN("telemetry: cannot register %s", c[i].cmd);
}
