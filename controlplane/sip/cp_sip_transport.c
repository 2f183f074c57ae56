/* SPDX-License-Identifier: BSD-3-Clause
 * SIP transports on kernel sockets: UDP, TCP and TLS (OpenSSL), all
 * non-blocking, driven by cp_sip_poll's poll(). Streams are framed by
 * Content-Length and bounded by sip.max_message. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "cp_sip_priv.h"

uint64_t cp_sip_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

const char *cp_sip_transport_name(enum cfg_sip_transport t)
{
	return t == CFG_SIP_TCP ? "TCP" : t == CFG_SIP_TLS ? "TLS" : "UDP";
}

static void sa_set(struct sockaddr_in *sa, uint32_t ip, uint16_t port)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(ip);
	sa->sin_port = htons(port);
}

int cp_sip_transport_open(struct cp_sip *s)
{
	const struct cfg_sip *c = &s->cfg->sip;

	for (unsigned i = 0; i < c->n_listeners && i < CFG_MAX_SIP_LISTEN; i++) {
		const struct cfg_sip_listener *l = &c->listeners[i];
		struct cp_sip_lis *ls = &s->lis[s->n_lis];
		int type = l->transport == CFG_SIP_UDP ? SOCK_DGRAM : SOCK_STREAM;
		struct sockaddr_in sa;
		socklen_t sl = sizeof(sa);
		int one = 1, fd;

		if (l->transport == CFG_SIP_TLS && cp_sip_tls_ctx(s) < 0)
			return -EINVAL;
		fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (type == SOCK_DGRAM)
			setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
		sa_set(&sa, l->addr.ip, l->addr.port);
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		    (type == SOCK_STREAM && listen(fd, 512) < 0)) {
			int e = errno;
			char ip[16];

			fprintf(stderr, "cp_sip: %s:%s:%u: %s\n", cp_sip_transport_name(l->transport),
				inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof(ip)), l->addr.port,
				strerror(e));
			close(fd);
			return -e;
		}
		getsockname(fd, (struct sockaddr *)&sa, &sl);
		ls->fd = fd;
		ls->transport = l->transport;
		ls->addr.ip = l->addr.ip;
		ls->addr.port = ntohs(sa.sin_port);
		s->n_lis++;
	}
	return 0;
}

void cp_sip_transport_close(struct cp_sip *s)
{
	for (unsigned i = 0; s->conns && i < s->max_conns; i++)
		if (s->conns[i])
			cp_sip_conn_close(s, s->conns[i]);
	for (unsigned i = 0; i < s->n_lis; i++)
		close(s->lis[i].fd);
	s->n_lis = 0;
	if (s->ssl_ctx)
		SSL_CTX_free(s->ssl_ctx);
	s->ssl_ctx = NULL;
}

struct cp_sip_conn *cp_sip_conn_get(struct cp_sip *s, uint64_t id)
{
	unsigned slot = (unsigned)(id & 0xfffffu);

	if (id == 0 || slot >= s->max_conns || !s->conns[slot] || s->conns[slot]->id != id)
		return NULL;
	return s->conns[slot];
}

unsigned cp_sip_transport_pollfds(struct cp_sip *s, struct pollfd *pfd, unsigned max)
{
	unsigned n = 0;

	for (unsigned i = 0; i < s->n_lis && n < max; i++, n++) {
		pfd[n].fd = s->lis[i].fd;
		pfd[n].events = POLLIN;
		pfd[n].revents = 0;
	}
	for (unsigned i = 0; i < s->max_conns && n < max; i++) {
		struct cp_sip_conn *c = s->conns[i];

		if (!c)
			continue;
		s->pfd_slot[n] = i;
		pfd[n].fd = c->fd;
		pfd[n].events = c->closing ? 0 : POLLIN;
		if (c->wlen || c->want_write)
			pfd[n].events |= POLLOUT;
		pfd[n].revents = 0;
		n++;
	}
	return n;
}

/* ---- UDP ---- */

static void udp_read(struct cp_sip *s, unsigned li)
{
	struct cp_sip_lis *l = &s->lis[li];

	for (int burst = 0; burst < 64; burst++) {
		struct sockaddr_in src;
		char cbuf[CMSG_SPACE(sizeof(struct in_pktinfo))];
		struct iovec iov = { s->udp_buf, s->max_message };
		struct msghdr mh = {
			.msg_name = &src, .msg_namelen = sizeof(src),
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
		};
		struct cp_sip_peer p = { .transport = CFG_SIP_UDP, .listener = li };
		ssize_t n = recvmsg(l->fd, &mh, MSG_TRUNC);

		if (n < 0)
			return;
		p.ip = ntohl(src.sin_addr.s_addr);
		p.port = ntohs(src.sin_port);
		p.local_ip = l->addr.ip;
		p.local_port = l->addr.port;
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
			if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
				struct in_pktinfo pi;

				memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
				p.local_ip = ntohl(pi.ipi_addr.s_addr);
			}
		}
		if ((size_t)n > s->max_message)
			cp_sip_receive(s, s->udp_buf, s->max_message, CP_SIP_RX_TOOBIG, &p);
		else
			cp_sip_receive(s, s->udp_buf, (size_t)n, 0, &p);
	}
}

int cp_sip_send_udp(struct cp_sip *s, uint32_t ip, uint16_t port, const char *buf, size_t len)
{
	for (unsigned i = 0; i < s->n_lis; i++) {
		if (s->lis[i].transport != CFG_SIP_UDP)
			continue;
		struct sockaddr_in sa;

		sa_set(&sa, ip, port);
		if (sendto(s->lis[i].fd, buf, len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			return -errno;
		return 0;
	}
	return -ENOTCONN;
}

void cp_sip_transport_events(struct cp_sip *s, struct pollfd *pfd, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (!pfd[i].revents)
			continue;
		if (i < s->n_lis) {
			if (s->lis[i].transport == CFG_SIP_UDP)
				udp_read(s, i);
			else
				cp_sip_conn_accept(s, i);
			continue;
		}
		struct cp_sip_conn *c = s->conns[s->pfd_slot[i]];

		if (!c || c->fd != pfd[i].fd)
			continue;
		if (!cp_sip_conn_io(s, c, pfd[i].revents))
			cp_sip_conn_close(s, c);
	}
}

/* Why a connection is closed now, or NULL with *due its next deadline
 * (UINT64_MAX: none). Counted by reason. */
static uint64_t *conn_deadline(struct cp_sip *s, const struct cp_sip_conn *c, uint64_t *due)
{
	uint64_t msg_limit = s->idle_ms < s->msg_limit_ms ? s->idle_ms : s->msg_limit_ms;
	uint64_t *why = NULL;

	if (c->handshaking) {
		*due = c->created_ms + s->hs_ms;
		why = &s->ctr.tls_timeouts;
	} else if (c->refs == 0) {
		*due = c->last_ms + s->idle_ms;
		why = &s->ctr.idle_closed;
	} else {
		*due = UINT64_MAX;
	}
	if (c->msg_ms && c->msg_ms + msg_limit < *due) {
		*due = c->msg_ms + msg_limit;
		why = &s->ctr.message_timeouts;
	}
	return why;
}

/* Connections close when dead, when a TLS handshake or a message (however
 * slowly trickled: slow-loris) takes too long (sip.limits), when idle without
 * dialogs. */
void cp_sip_transport_timers(struct cp_sip *s, uint64_t now, uint64_t *next)
{
	for (unsigned i = 0; i < s->max_conns; i++) {
		struct cp_sip_conn *c = s->conns[i];
		uint64_t due, *why;

		if (!c)
			continue;
		if (c->dead || c->closing) {
			cp_sip_conn_close(s, c);
			continue;
		}
		why = conn_deadline(s, c, &due);
		if (due == UINT64_MAX)
			continue;
		if (now >= due) {
			(*why)++;
			cp_sip_conn_close(s, c);
		} else if (due < *next) {
			*next = due;
		}
	}
}

int cp_sip_send_raw(struct cp_sip *s, const struct cp_sip_peer *p, const char *buf, size_t len)
{
	if (p->transport == CFG_SIP_UDP) {
		struct sockaddr_in sa;

		if (p->listener >= s->n_lis || s->lis[p->listener].transport != CFG_SIP_UDP)
			return cp_sip_send_udp(s, p->ip, p->port, buf, len);
		sa_set(&sa, p->ip, p->port);
		if (sendto(s->lis[p->listener].fd, buf, len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			return -errno;
		return 0;
	}
	return cp_sip_conn_send(s, p, buf, len);
}

uint16_t cp_sip_listener_port(const struct cp_sip *s, unsigned i)
{
	return i < s->n_lis ? s->lis[i].addr.port : 0;
}

