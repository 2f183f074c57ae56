/* SPDX-License-Identifier: BSD-3-Clause
 * SIP over TCP and TLS: accepting, non-blocking OpenSSL handshakes, stream
 * framing by Content-Length (bounded by sip.max_message; header lines may end in CRLF
 * or a bare LF), output backlog. */
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

void cp_sip_conn_close(struct cp_sip *s, struct cp_sip_conn *c)
{
	s->conns[c->slot] = NULL;
	s->n_conns--;
	if (c->ssl) {
		if (!c->handshaking)
			SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	close(c->fd);
	free(c->rbuf);
	free(c->wbuf);
	free(c);
}

/* ---- TCP / TLS ---- */

void cp_sip_conn_accept(struct cp_sip *s, unsigned li)
{
	struct cp_sip_lis *l = &s->lis[li];

	for (int burst = 0; burst < 32; burst++) {
		struct sockaddr_in src, loc;
		socklen_t sl = sizeof(src), ll = sizeof(loc);
		int fd = accept4(l->fd, (struct sockaddr *)&src, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct cp_sip_conn *c;
		unsigned slot;

		if (fd < 0)
			return;
		if (s->n_conns >= s->max_conns) {
			close(fd);
			s->drops++;
			continue;
		}
		for (slot = 0; slot < s->max_conns && s->conns[slot]; slot++)
			;
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		getsockname(fd, (struct sockaddr *)&loc, &ll);
		c->fd = fd;
		c->slot = slot;
		c->id = (++s->conn_gen << 20) | slot;
		c->peer.transport = l->transport;
		c->peer.listener = li;
		c->peer.conn_id = c->id;
		c->peer.ip = ntohl(src.sin_addr.s_addr);
		c->peer.port = ntohs(src.sin_port);
		c->peer.local_ip = ntohl(loc.sin_addr.s_addr);
		c->peer.local_port = l->addr.port;
		c->created_ms = c->last_ms = cp_sip_now_ms();
		if (l->transport == CFG_SIP_TLS) {
			c->ssl = SSL_new(s->ssl_ctx);
			if (!c->ssl || SSL_set_fd(c->ssl, fd) != 1) {
				if (c->ssl)
					SSL_free(c->ssl);
				close(fd);
				free(c);
				continue;
			}
			SSL_set_accept_state(c->ssl);
			c->handshaking = true;
		}
		s->conns[slot] = c;
		s->n_conns++;
		s->ctr.tcp_connections++;
	}
}

/* Content-Length (or "l") from a header block; -1 when absent or bad. */
static long header_content_length(const char *h, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t e = i;

		while (e < n && h[e] != '\n')
			e++;
		size_t ln = e - i;
		const char *p = h + i;
		size_t k = 0;

		if (ln >= 14 && strncasecmp(p, "content-length", 14) == 0)
			k = 14;
		else if (ln >= 1 && (p[0] == 'l' || p[0] == 'L') && ln >= 2 &&
			 (p[1] == ':' || p[1] == ' ' || p[1] == '\t'))
			k = 1;
		if (k) {
			while (k < ln && (p[k] == ' ' || p[k] == '\t'))
				k++;
			if (k < ln && p[k] == ':') {
				long v = 0;
				bool digit = false;

				k++;
				while (k < ln && (p[k] == ' ' || p[k] == '\t'))
					k++;
				while (k < ln && p[k] >= '0' && p[k] <= '9' && v < 100000000) {
					v = v * 10 + (p[k] - '0');
					digit = true;
					k++;
				}
				return digit ? v : -1;
			}
		}
		i = e + 1;
	}
	return -1;
}

/* CRLF keepalives between messages (RFC 5626 3.5.1): each "\r\n\r\n" ping gets one
 * "\r\n" pong, however the reads split it (c->ping: its bytes seen so far, kept out of
 * rbuf so no message timer runs); a lone CRLF is ignored (RFC 3261 7.5), forgotten when
 * a message starts. Returns the bytes taken from the start of rbuf. */
static size_t conn_keepalive(struct cp_sip *s, struct cp_sip_conn *c)
{
	size_t off = 0;

	while (off < c->rlen && c->rbuf[off] == ((c->ping & 1) ? '\n' : '\r')) {
		off++;
		if (++c->ping == 4) {
			cp_sip_send_raw(s, &c->peer, "\r\n", 2);
			c->ping = 0;
		}
	}
	if (off < c->rlen)
		c->ping = 0;
	return off;
}

/* Take every complete message out of c->rbuf. false: close the connection. */
static bool conn_frame(struct cp_sip *s, struct cp_sip_conn *c)
{
	for (;;) {
		if (c->skip) {
			size_t k = c->skip < c->rlen ? c->skip : c->rlen;

			c->skip -= k;
			memmove(c->rbuf, c->rbuf + k, c->rlen - k);
			c->rlen -= k;
			if (c->skip)
				return true;
			c->msg_ms = cp_sip_now_ms(); /* the refused message is over */
		}
		size_t off = conn_keepalive(s, c);

		if (off) {
			memmove(c->rbuf, c->rbuf + off, c->rlen - off);
			c->rlen -= off;
		}
		if (!c->rlen)
			return true;
		size_t hl = cp_sip_hdr_end(c->rbuf, c->rlen);

		if (!hl)
			return c->rlen < s->max_message; /* no header end within the bound: close */
		long cl = header_content_length(c->rbuf, hl);

		if (cl < 0) {
			/* Stream without Content-Length: answer 400 if possible, close. */
			cp_sip_receive(s, c->rbuf, hl, CP_SIP_RX_NOCL, &c->peer);
			return false;
		}
		if (hl + (size_t)cl > s->max_message) {
			cp_sip_receive(s, c->rbuf, hl, CP_SIP_RX_TOOBIG, &c->peer);
			c->skip = (size_t)cl;
			memmove(c->rbuf, c->rbuf + hl, c->rlen - hl);
			c->rlen -= hl;
			continue;
		}
		if (c->rlen < hl + (size_t)cl)
			return true;
		size_t ml = hl + (size_t)cl;

		cp_sip_receive(s, c->rbuf, ml, 0, &c->peer);
		if (c->dead)
			return false;
		memmove(c->rbuf, c->rbuf + ml, c->rlen - ml);
		c->rlen -= ml;
		c->msg_ms = cp_sip_now_ms(); /* what follows is a new message */
	}
}

static bool conn_flush(struct cp_sip_conn *c)
{
	while (c->wlen) {
		ssize_t n;

		if (c->ssl) {
			int r = SSL_write(c->ssl, c->wbuf, (int)c->wlen);

			if (r <= 0) {
				int e = SSL_get_error(c->ssl, r);

				c->want_write = e == SSL_ERROR_WANT_WRITE;
				return e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ;
			}
			n = r;
		} else {
			n = send(c->fd, c->wbuf, c->wlen, MSG_NOSIGNAL);
			if (n < 0)
				return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
		}
		memmove(c->wbuf, c->wbuf + n, c->wlen - (size_t)n);
		c->wlen -= (size_t)n;
	}
	c->want_write = false;
	return true;
}

static bool conn_handshake(struct cp_sip *s, struct cp_sip_conn *c)
{
	int r = SSL_do_handshake(c->ssl);

	if (r == 1) {
		c->handshaking = false;
		c->want_write = false;
		return true;
	}
	int e = SSL_get_error(c->ssl, r);

	c->want_write = e == SSL_ERROR_WANT_WRITE;
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		ERR_clear_error();
		return true;
	}
	cp_sip_tls_failed(s, c);
	return false;
}

/* false: close. */
static bool conn_read(struct cp_sip *s, struct cp_sip_conn *c)
{
	/* TLS: drain what OpenSSL already holds, poll() would not tell */
	for (int burst = 0; burst < 16 || (c->ssl && burst < 256 && SSL_pending(c->ssl) > 0); burst++) {
		if (c->rcap - c->rlen < 4096) {
			size_t cap = c->rcap ? c->rcap * 2 : 8192;
			size_t lim = s->max_message + 4096;

			if (cap > lim)
				cap = lim;
			if (cap <= c->rcap)
				return conn_frame(s, c) && c->rcap - c->rlen > 0;
			char *nb = realloc(c->rbuf, cap);

			if (!nb)
				return false;
			c->rbuf = nb;
			c->rcap = cap;
		}
		ssize_t n;

		if (c->ssl) {
			int r = SSL_read(c->ssl, c->rbuf + c->rlen, (int)(c->rcap - c->rlen));

			if (r <= 0) {
				int e = SSL_get_error(c->ssl, r);

				ERR_clear_error();
				if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
					c->want_write = e == SSL_ERROR_WANT_WRITE;
					return true;
				}
				return false;
			}
			n = r;
		} else {
			n = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, 0);
			if (n == 0)
				return false;
			if (n < 0)
				return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
		}
		c->rlen += (size_t)n;
		c->last_ms = cp_sip_now_ms();
		if (!c->msg_ms)
			c->msg_ms = c->last_ms;
		if (!conn_frame(s, c))
			return false;
		if (!c->rlen && !c->skip)
			c->msg_ms = 0;
	}
	return true;
}

/* Queue and try to send on the peer's connection. 0 or -errno. */
int cp_sip_conn_send(struct cp_sip *s, const struct cp_sip_peer *p, const char *buf, size_t len)
{
	struct cp_sip_conn *c = cp_sip_conn_get(s, p->conn_id);

	if (!c || c->dead)
		return -ENOTCONN;
	if (c->wlen + len > CP_SIP_WBUF_FACTOR * s->max_message) {
		c->dead = true;
		return -ENOBUFS;
	}
	if (c->wcap < c->wlen + len) {
		size_t cap = c->wlen + len + 4096;
		char *nb = realloc(c->wbuf, cap);

		if (!nb)
			return -ENOMEM;
		c->wbuf = nb;
		c->wcap = cap;
	}
	memcpy(c->wbuf + c->wlen, buf, len);
	c->wlen += len;
	c->last_ms = cp_sip_now_ms();
	if (c->handshaking)
		return 0;
	if (!conn_flush(c)) {
		c->dead = true;
		return -EPIPE;
	}
	return 0;
}

/* Readiness on a connection. false: close it now. A read that ends the
 * stream (EOF, framing lost) only marks it closing: the transactions of the
 * messages read before still answer on it, the transport timers close it
 * after this pass (RFC 4475 3.1.1.8 over TCP: the REGISTER is answered). */
bool cp_sip_conn_io(struct cp_sip *s, struct cp_sip_conn *c, short revents)
{
	bool ok = true;

	if (c->handshaking) {
		ok = conn_handshake(s, c);
		if (ok && !c->handshaking)
			ok = conn_read(s, c);
	} else {
		if (revents & POLLOUT)
			ok = conn_flush(c);
		if (ok && !c->closing && (revents & (POLLIN | POLLHUP | POLLERR)))
			c->closing = !conn_read(s, c);
	}
	return ok && !c->dead;
}
