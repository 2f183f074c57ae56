/* SPDX-License-Identifier: BSD-3-Clause
 * process.user: once everything privileged is done (EAL, ports, rings, listeners, the
 * control socket, TLS keys, open files), rtprec switches every thread to that user and
 * its group and keeps no capability. The dataplane goes on with what is already open:
 * hugepage memory, the NIC or virtual device, packet sockets. recording.dir is handed to
 * the user first, so the files of later calls can be created. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "app_user.h"
#include "config/cfg_log.h"

int app_drop_privileges(const struct cfg *cfg)
{
	const struct passwd *pw;

	if (cfg->process.user == NULL)
		return 0;
	pw = getpwnam(cfg->process.user);
	if (pw == NULL) {
		LOG_ERR("process.user %s: no such user", cfg->process.user);
		return -1;
	}
	if (chown(cfg->recording.dir, pw->pw_uid, pw->pw_gid) != 0)
		LOG_WARN("process.user: cannot give %s to %s: %s", cfg->recording.dir, pw->pw_name,
			 strerror(errno));
	/* setgroups/setgid/setuid change every thread (glibc), the workers' too */
	if (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
		LOG_ERR("process.user %s: cannot switch: %s", pw->pw_name, strerror(errno));
		return -1;
	}
	if (setuid(0) == 0) { /* must not be able to come back */
		LOG_ERR("process.user %s: root could be regained", pw->pw_name);
		return -1;
	}
	prctl(PR_SET_DUMPABLE, 1); /* core dumps and /proc for the operator */
	LOG_INFO("running as %s (uid %u, gid %u), no capabilities", pw->pw_name,
		 (unsigned)pw->pw_uid, (unsigned)pw->pw_gid);
	return 0;
}
