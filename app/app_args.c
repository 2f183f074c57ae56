/* SPDX-License-Identifier: BSD-3-Clause
 * Command line and EAL argument assembly. */
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_version.h>

#include "app_args.h"
#include "config/cfg_log.h"

static void app_usage(FILE *out)
{
	fprintf(out,
		"usage: rtprec [OPTIONS] [-- EAL-ARGS...]\n"
		"\n"
		"SIPREC recording server with a DPDK dataplane.\n"
		"\n"
		"  -c, --config FILE          YAML configuration (default: the embedded demo\n"
		"                             config, see --print-default-config)\n"
		"  -n, --check                validate the configuration and exit: 0 when valid,\n"
		"                             2 with every error as FILE:LINE:COL: message\n"
		"      --print-default-config print the embedded default configuration\n"
		"  -V, --version              print the version and exit\n"
		"  -h, --help                 print this help and exit\n"
		"\n"
		"EAL arguments come from dpdk.eal_args in the config, then from what follows\n"
		"\"--\". Without -l/-c/--lcores rtprec uses one lcore per worker plus one for the\n"
		"control plane. Environment: RTPREC_<PATH> overrides any scalar of the config\n"
		"(e.g. RTPREC_RECORDING_DIR); BEHIND_NAT, EXTERNAL_IP, INTERNAL_IP set nat.*.\n"
		"\n"
		"Signals: SIGUSR1 prints counters as JSON lines on stdout; SIGHUP reloads the\n"
		"config file (what can change without a restart: rtprec.yaml(5)); SIGINT/SIGTERM\n"
		"stop cleanly: with shutdown.drain_s new calls get 503 while active calls may end\n"
		"for that long (a second signal cuts it short); then calls are ended (BYE), every\n"
		"pcap is written, synced (unless\n"
		"recording.sync is none) and closed, every session.json written, running\n"
		"recording.on_close hooks are waited for (recording.on_close_timeout_s at most),\n"
		"then the final counters are printed. After kill -9, each pcap holds the records\n"
		"written up to the last flush (recording.sync_interval_ms).\n");
}

int app_args_parse(int argc, char **argv, struct app_args *a)
{
	enum { OPT_PRINT_DEFAULT = 256 };
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check", no_argument, NULL, 'n'},
		{"print-default-config", no_argument, NULL, OPT_PRINT_DEFAULT},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	memset(a, 0, sizeof(*a));
	opterr = 1;
	while ((c = getopt_long(argc, argv, "+c:nVh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			a->config = optarg;
			break;
		case 'n':
			a->check = 1;
			break;
		case OPT_PRINT_DEFAULT:
			a->print_default = 1;
			break;
		case 'V':
			printf("rtprec %s (%s)\n", RTPREC_VERSION, rte_version());
			return 0;
		case 'h':
			app_usage(stdout);
			return 0;
		default:
			app_usage(stderr);
			return 2;
		}
	}
	a->extra_eal = argv + optind;
	a->n_extra = argc - optind;
	if (a->n_extra > 0 && optind > 0 && strcmp(argv[optind - 1], "--") != 0) {
		fprintf(stderr, "rtprec: unexpected argument '%s' (EAL arguments go after --)\n",
			argv[optind]);
		return 2;
	}
	return -1;
}

static int app_has_corelist(char **v, int n)
{
	for (int i = 0; i < n; i++) {
		const char *s = v[i];
		if (strcmp(s, "-l") == 0 || strcmp(s, "-c") == 0 || strncmp(s, "--lcores", 8) == 0 ||
		    (s[0] == '-' && (s[1] == 'l' || s[1] == 'c') && s[2] != '\0' && s[1] != '-'))
			return 1;
	}
	return 0;
}

/* "--lcores=0@C0,1@C1,...": one lcore per worker plus the control plane,
 * spread over the CPUs this process may run on. */
static char *app_lcores_arg(unsigned n)
{
	cpu_set_t set;
	int cpus[CPU_SETSIZE], n_cpus = 0;
	size_t cap = 16 + (size_t)n * 16, len;
	char *s = malloc(cap);

	if (s == NULL)
		return NULL;
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		for (int i = 0; i < CPU_SETSIZE; i++)
			if (CPU_ISSET(i, &set))
				cpus[n_cpus++] = i;
	if (n_cpus == 0)
		cpus[n_cpus++] = 0;
	len = (size_t)snprintf(s, cap, "--lcores=");
	for (unsigned i = 0; i < n; i++)
		len += (size_t)snprintf(s + len, cap - len, "%s%u@%d", i ? "," : "", i,
					cpus[i % (unsigned)n_cpus]);
	return s;
}

int app_eal_init(const struct cfg *cfg, struct app_args *a)
{
	int n = 0, max = (int)cfg->dpdk.eal_args_count + a->n_extra + 3, rc;
	char *lcores = NULL;

	a->eal_argv = calloc((size_t)max + 1, sizeof(char *));
	if (a->eal_argv == NULL)
		return -1;
	a->eal_argv[n++] = (char *)"rtprec";
	for (unsigned i = 0; i < cfg->dpdk.eal_args_count; i++)
		a->eal_argv[n++] = cfg->dpdk.eal_args[i];
	for (int i = 0; i < a->n_extra; i++)
		a->eal_argv[n++] = a->extra_eal[i];
	if (!app_has_corelist(a->eal_argv + 1, n - 1)) {
		lcores = app_lcores_arg(cfg->workers + 1);
		if (lcores != NULL)
			a->eal_argv[n++] = a->lcores = lcores;
	}
	a->eal_argc = n;
	/* rte_eal_init may reorder argv: keep our copy of the pointers */
	char **copy = calloc((size_t)n + 1, sizeof(char *));
	if (copy == NULL)
		return -1;
	memcpy(copy, a->eal_argv, (size_t)n * sizeof(char *));
	rc = rte_eal_init(n, copy);
	free(copy);
	if (rc < 0) {
		LOG_ERR("EAL init failed: %s", rte_strerror(rte_errno));
		return -1;
	}
	return 0;
}

void app_args_free(struct app_args *a)
{
	/* only what app_eal_init made: a --lcores= of dpdk.eal_args is the config's */
	free(a->lcores);
	a->lcores = NULL;
	free(a->eal_argv);
	a->eal_argv = NULL;
}
