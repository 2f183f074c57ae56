/* SPDX-License-Identifier: BSD-3-Clause
 * rtprecctl: send one command to a running rtprec over its control socket
 * (control.socket) and print the JSON answer. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define CTL_DEFAULT "/run/rtprec/rtprec.sock"

static const char usage[] =
	"usage: rtprecctl [-s SOCKET] COMMAND [ARG]\n"
	"  status            version, uptime, workers, sessions, drain state, external address\n"
	"  sessions          the active recording sessions\n"
	"  session ID        one session, as its session.json will say\n"
	"  stop ID           end that session's recording (BYE to the SRC)\n"
	"  stats | flows | nat   counters (stats asks the workers for a fresh dump)\n"
	"  drain | resume    refuse new calls with 503 / accept them again\n"
	"  nat-recheck       run NAT discovery again now\n"
	"  log-level LEVEL   error, warning, info or debug\n"
	"  reload            read the config file again (log, sip.allow, sip.rate_limit,\n"
	"                    static flows)\n"
	"SOCKET: -s, else $RTPREC_CONTROL, else " CTL_DEFAULT ".\n"
	"Exit status: 0 when rtprec answered ok, 1 when it refused, 2 when it could not be asked.\n";

int main(int argc, char **argv)
{
	const char *path = getenv("RTPREC_CONTROL") ? getenv("RTPREC_CONTROL") : CTL_DEFAULT;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { 15, 0 };
	char line[256], buf[16384], head[16] = "";
	size_t len = 0;
	int fd, i = 1;

	if (argc > 2 && strcmp(argv[1], "-s") == 0) {
		path = argv[2];
		i = 3;
	}
	if (i >= argc || strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
		fputs(usage, i >= argc ? stderr : stdout);
		return i >= argc ? 2 : 0;
	}
	snprintf(line, sizeof(line), "%s%s%s\n", argv[i], i + 1 < argc ? " " : "",
		 i + 1 < argc ? argv[i + 1] : "");
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, "rtprecctl: %s: %s\n", path, strerror(errno));
		return 2;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (write(fd, line, strlen(line)) != (ssize_t)strlen(line)) {
		fprintf(stderr, "rtprecctl: %s: %s\n", path, strerror(errno));
		return 2;
	}
	/* answers of any size go straight out; they start with {"ok":true or {"ok":false */
	for (ssize_t n; (n = read(fd, buf, sizeof(buf))) > 0; len += (size_t)n) {
		if (len < sizeof(head) - 1)
			memcpy(head + len, buf, (size_t)n < sizeof(head) - 1 - len ? (size_t)n
										 : sizeof(head) - 1 - len);
		fwrite(buf, 1, (size_t)n, stdout);
	}
	close(fd);
	if (len == 0) {
		fprintf(stderr, "rtprecctl: no answer from %s\n", path);
		return 2;
	}
	return strncmp(head, "{\"ok\":true", 10) == 0 ? 0 : 1;
}
