/* SPDX-License-Identifier: BSD-3-Clause
 * udp-blast: G.711-sized RTP over kernel UDP sockets, for relays that only speak sockets
 * (bench/rtpengine.py drives rtpengine with it). Stream i goes from one socket bound to
 * --src to port i of --ports FILE (one port a line) with SSRC 0x10000000 + i, round robin,
 * by sendmmsg at --rate packets/s (0: as fast as the socket takes them) for --seconds;
 * a second thread reads --recv with recvmmsg and counts per stream by SSRC. Same payload
 * stamp as rtprec-gen (gen.h: magic, stream, sequence; TSC 0). One JSON line on stdout. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "gen.h"

#define UB_BATCH 32
#define UB_LEN (GEN_RTP_HDR + 160)

struct ub {
	uint32_t n, *ports;
	uint64_t *rx, *seq_next;
	uint64_t sent, send_err, received, reordered, rx_other;
	int tx_fd, rx_fd;
	volatile int stop;
};

static double ub_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int ub_sock(const char *ip, int port, int buf_opt)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_DGRAM, 0), sz = 8 << 20;

	inet_pton(AF_INET, ip, &a.sin_addr);
	/* the *FORCE variants pass net.core.[rw]mem_max (root); else the capped size */
	if (fd >= 0 && setsockopt(fd, SOL_SOCKET, buf_opt, &sz, sizeof(sz)) != 0)
		setsockopt(fd, SOL_SOCKET, buf_opt == SO_RCVBUFFORCE ? SO_RCVBUF : SO_SNDBUF, &sz,
			   sizeof(sz));
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		perror("udp-blast: socket");
		exit(1);
	}
	return fd;
}

/* Datagrams the kernel dropped on the receive socket (rcvbuf full): /proc/net/udp. */
static unsigned long ub_sock_drops(int port)
{
	FILE *f = fopen("/proc/net/udp", "r");
	char line[512];
	unsigned lport;
	unsigned long drops = 0, d;

	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "%*d: %*x:%x", &lport) == 1 && (int)lport == port) {
			char *last = strrchr(line, ' ');
			if (last != NULL && sscanf(last, "%lu", &d) == 1)
				drops += d;
		}
	if (f != NULL)
		fclose(f);
	return drops;
}

static void *ub_rx_main(void *arg)
{
	struct ub *u = arg;
	uint8_t buf[UB_BATCH][256];
	struct iovec iov[UB_BATCH];
	struct mmsghdr m[UB_BATCH];
	struct timeval tv = {.tv_sec = 0, .tv_usec = 50000};

	setsockopt(u->rx_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (int i = 0; i < UB_BATCH; i++) {
		iov[i] = (struct iovec){.iov_base = buf[i], .iov_len = sizeof(buf[i])};
		m[i].msg_hdr = (struct msghdr){.msg_iov = &iov[i], .msg_iovlen = 1};
	}
	while (!u->stop) {
		int k = recvmmsg(u->rx_fd, m, UB_BATCH, MSG_WAITFORONE, NULL);
		for (int i = 0; i < k; i++) {
			const uint8_t *p = buf[i];
			uint32_t magic, id, xseq;
			memcpy(&magic, p + GEN_RTP_HDR, 4);
			memcpy(&id, p + GEN_RTP_HDR + 4, 4);
			memcpy(&xseq, p + GEN_RTP_HDR + 8, 4);
			id = ntohl(id);
			xseq = ntohl(xseq);
			if (m[i].msg_len < UB_LEN || ntohl(magic) != GEN_MAGIC || id >= u->n) {
				u->rx_other++;
				continue;
			}
			u->reordered += xseq < u->seq_next[id];
			if (xseq >= u->seq_next[id])
				u->seq_next[id] = xseq + 1;
			u->rx[id]++;
			u->received++;
		}
	}
	return NULL;
}

/* Builds packet xseq of stream i into p. */
static void ub_build(uint8_t *p, uint32_t i, uint32_t xseq)
{
	uint32_t v[5] = {htonl(0x80000000u | ((xseq + 1) & 0xffff)), htonl(160 * (xseq + 1)),
			 htonl(0x10000000u + i), htonl(GEN_MAGIC), htonl(i)};
	uint32_t s = htonl(xseq);

	memcpy(p, v, sizeof(v));
	memcpy(p + GEN_RTP_HDR + 8, &s, 4);
	memset(p + GEN_RTP_HDR + 12, 0, UB_LEN - GEN_RTP_HDR - 12);
}

static void ub_send(struct ub *u, const char *dst, double rate, double seconds)
{
	uint8_t buf[UB_BATCH][UB_LEN];
	struct sockaddr_in to[UB_BATCH];
	struct iovec iov[UB_BATCH];
	struct mmsghdr m[UB_BATCH];
	uint32_t *xseq = calloc(u->n, sizeof(*xseq)), next = 0;
	double t0 = ub_now(), end = t0 + seconds;

	for (int i = 0; i < UB_BATCH; i++) {
		to[i] = (struct sockaddr_in){.sin_family = AF_INET};
		inet_pton(AF_INET, dst, &to[i].sin_addr);
		iov[i] = (struct iovec){.iov_base = buf[i], .iov_len = UB_LEN};
		m[i].msg_hdr = (struct msghdr){.msg_name = &to[i], .msg_namelen = sizeof(to[i]),
					       .msg_iov = &iov[i], .msg_iovlen = 1};
	}
	for (double now = t0; now < end; now = ub_now()) {
		double due = rate > 0 ? t0 + (double)u->sent / rate : now;
		if (due > now) { /* paced: sleep (the receiver shares the core) */
			struct timespec ts = {.tv_sec = (time_t)due, .tv_nsec = (long)((due - (double)(time_t)due) * 1e9)};
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
			continue;
		}
		for (int i = 0; i < UB_BATCH; i++) {
			uint32_t s = (next + (uint32_t)i) % u->n;
			to[i].sin_port = htons((uint16_t)u->ports[s]);
			ub_build(buf[i], s, xseq[s]);
		}
		int k = sendmmsg(u->tx_fd, m, UB_BATCH, 0);
		if (k <= 0) {
			u->send_err++;
			continue;
		}
		for (int i = 0; i < k; i++)
			xseq[(next + (uint32_t)i) % u->n]++;
		next = (next + (uint32_t)k) % u->n;
		u->sent += (uint64_t)k;
	}
	free(xseq);
}

static uint32_t ub_read_ports(const char *path, uint32_t **out)
{
	FILE *f = fopen(path, "r");
	uint32_t n = 0, cap = 1024, p;

	*out = malloc(cap * sizeof(**out));
	if (f == NULL || *out == NULL)
		return 0;
	while (fscanf(f, "%u", &p) == 1 && p > 0 && p < 65536) {
		if (n == cap)
			*out = realloc(*out, (cap *= 2) * sizeof(**out));
		(*out)[n++] = p;
	}
	fclose(f);
	return n;
}

int main(int argc, char **argv)
{
	struct ub u = {0};
	pthread_t rx;
	double t0, t1, rate, seconds;
	uint64_t lo = UINT64_MAX, hi = 0;

	if (argc != 8) {
		fputs("usage: udp-blast DST_IP PORTS_FILE SRC_PORT RECV_PORT RATE_PPS|0 SECONDS "
		      "DRAIN_MS\n", stderr);
		return 2;
	}
	u.n = ub_read_ports(argv[2], &u.ports);
	rate = atof(argv[5]);
	seconds = atof(argv[6]);
	if (u.n == 0 || seconds <= 0) {
		fprintf(stderr, "udp-blast: no ports in %s or bad SECONDS\n", argv[2]);
		return 2;
	}
	u.rx = calloc(u.n, sizeof(*u.rx));
	u.seq_next = calloc(u.n, sizeof(*u.seq_next));
	u.tx_fd = ub_sock(argv[1], atoi(argv[3]), SO_SNDBUFFORCE);
	u.rx_fd = ub_sock(argv[1], atoi(argv[4]), SO_RCVBUFFORCE);
	pthread_create(&rx, NULL, ub_rx_main, &u);
	t0 = ub_now();
	ub_send(&u, argv[1], rate, seconds);
	t1 = ub_now();
	usleep((useconds_t)atoi(argv[7]) * 1000);
	u.stop = 1;
	pthread_join(rx, NULL);
	unsigned long rx_drops = ub_sock_drops(atoi(argv[4]));
	for (uint32_t i = 0; i < u.n; i++) {
		lo = u.rx[i] < lo ? u.rx[i] : lo;
		hi = u.rx[i] > hi ? u.rx[i] : hi;
	}
	printf("{\"streams\":%u,\"udp_payload\":%d,\"sent\":%" PRIu64 ",\"send_errors\":%" PRIu64
	       ",\"elapsed_s\":%.6f,\"tx_pps\":%.0f,\"received\":%" PRIu64 ",\"lost\":%" PRIu64
	       ",\"reordered\":%" PRIu64 ",\"rx_other\":%" PRIu64 ",\"rx_pps\":%.0f"
	       ",\"stream_received_min\":%" PRIu64 ",\"stream_received_max\":%" PRIu64
	       ",\"recv_socket_drops\":%lu}\n",
	       u.n, UB_LEN, u.sent, u.send_err, t1 - t0, (double)u.sent / (t1 - t0), u.received,
	       u.sent > u.received ? u.sent - u.received : 0, u.reordered, u.rx_other,
	       (double)u.received / (t1 - t0), lo, hi, rx_drops);
	return 0;
}
