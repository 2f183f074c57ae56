/* SPDX-License-Identifier: BSD-3-Clause
 * rtprec: load the config, start EAL, ports, workers and the recorder,
 * program the static flows, then run the control plane until a signal. */
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_version.h>

#include "app_args.h"
#include "app_ops.h"
#include "app_reload.h"
#include "app_user.h"
#include "config/cfg_log.h"
#include "controlplane/cp.h"
#include "controlplane/cp_session.h"
#include "controlplane/cp_sip.h"
#include "dataplane/dp.h"
#include "recorder/rec.h"

static volatile sig_atomic_t app_quit;
static volatile sig_atomic_t app_dump;
static volatile sig_atomic_t app_hup;

static void app_on_signal(int sig)
{
	if (sig == SIGUSR1)
		app_dump = 1;
	else if (sig == SIGHUP)
		app_hup = 1;
	else if (app_quit < 2)
		app_quit++; /* a second stop signal ends a drain */
}

static void app_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = app_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL); /* reload */
	signal(SIGPIPE, SIG_IGN);
}

/* After the first stop signal, with shutdown.drain_s: refuse new calls and go on while
 * calls are active, until the drain time is over or a second signal comes. */
static bool app_draining(struct cp_ctx *cp, unsigned drain_s, uint64_t *end)
{
	if (drain_s == 0 || app_quit >= 2 || cp_sessions_active(cp) == 0)
		return false;
	if (*end == 0) {
		*end = cp_now_ms() + drain_s * 1000ull;
		cp_sessions_drain(cp);
		LOG_INFO("draining: %u calls active, new calls refused; waiting up to %u s",
			 cp_sessions_active(cp), drain_s);
	}
	return cp_now_ms() < *end;
}

/* Control loop: SIP and dataplane events, operator requests, session timers once a
 * second, stats on SIGUSR1, reload on SIGHUP, until a stop signal. */
static void app_run(struct cp_ctx *cp, struct cp_sip *sip, struct app_ops *ops,
		    struct app_reload_ctx *rl, unsigned drain_s)
{
	uint64_t next_tick = cp_now_ms() + 1000;

	uint64_t drain_end = 0;

	while (!app_quit || app_draining(cp, drain_s, &drain_end)) {
		cp_poll(cp);
		cp_sip_poll(sip, 1);
		app_ops_poll(ops, cp, sip);
		if (app_hup) {
			const char *why;
			app_hup = 0;
			if ((why = app_reload(rl, NULL)) != NULL) /* details: the log */
				LOG_WARN("reload: %s", why);
		}
		if (cp_now_ms() >= next_tick) {
			cp_sessions_tick(cp);
			next_tick += 1000;
		}
		if (app_dump) {
			app_dump = 0;
			if (cp_collect_stats(cp, 0) == 0) {
				cp_sip_print_stats(sip, stdout);
				cp_print_stats(cp, stdout, "signal");
			}
		}
	}
}

static int app_serve(struct cfg *cfg, const char *cfg_path)
{
	struct app_reload_ctx rl = { .cfg = cfg, .path = cfg_path };
	struct app_ops *ops = NULL;
	struct dp_ctx *dp = NULL;
	struct rec_ctx *rec = NULL;
	struct cp_ctx *cp = NULL;
	struct cp_sip *sip = NULL;
	struct rte_ring *rings[CFG_MAX_WORKERS * CFG_MAX_REC_THREADS];
	struct rec_params rp;
	int rc = cp_mkdir_p(cfg->recording.dir, cfg->recording.dir_mode_bits);

	if (rc != 0) {
		LOG_ERR("recording.dir %s: %s", cfg->recording.dir, strerror(-rc));
		return 1;
	}
	/* a pcap per session (two fds of headroom each) and per static flow, reloads included */
	rec_raise_nofile(2ull * cfg->sip.max_sessions + cfg_flow_rec_slots(cfg) + 256);
	rc = dp_create(cfg, &dp);
	if (rc != 0)
		return 1;
	rec_params_from_cfg(&rp, cfg);
	for (unsigned w = 0; w < dp_worker_count(dp); w++)
		for (unsigned t = 0; t < rp.threads; t++)
			rings[w * rp.threads + t] = dp_record_ring(dp, w, t);
	rec = rec_create(&rp, rings, dp_worker_count(dp));
	cp = rec ? cp_create(cfg, dp, rec) : NULL;
	if (cp == NULL || cp_open_recordings(cp) != 0 || rec_start(rec) != 0 ||
	    cp_sessions_create(cp) != 0) {
		LOG_ERR("cannot start the recorder or the session table");
		rc = 1;
		goto out;
	}
	if (cp_sip_create(cfg, cp_sessions_app(cp), &sip) != 0) {
		rc = 1;
		goto out;
	}
	dp_launch(dp);
	rl.sip = sip;
	rl.cp = cp;
	ops = app_ops_create(cfg, app_reload, &rl);
	app_ops_telemetry();
	if (cp_program_static_flows(cp) != 0 || cp_start_rx(cp) != 0 ||
	    app_drop_privileges(cfg) != 0) {
		rc = 1;
		app_quit = 2;
	} else {
		cp_print_ready(cp, stdout);
		LOG_INFO("ready: %u ports, %u workers, %u flows; recordings in %s",
			 dp_port_count(dp), dp_worker_count(dp), cfg->flows_count,
			 cfg->recording.dir);
	}
	app_run(cp, sip, ops, &rl, cfg->shutdown.drain_s);
	app_ops_free(ops);
	LOG_INFO("stopping");
	cp_sessions_shutdown(cp, 5000);
	cp_sip_poll(sip, 0);
	if (cp_collect_stats(cp, 1) != 0)
		rc = 1;
	dp_wait(dp);
	rec_stop(rec);
	cp_sip_print_stats(sip, stdout);
	cp_print_stats(cp, stdout, "exit");
out:
	if (cp != NULL)
		cp_sessions_free(cp);
	cp_sip_free(sip);
	cp_free(cp);
	rec_free(rec);
	dp_destroy(dp);
	return rc;
}

int main(int argc, char **argv)
{
	struct app_args args;
	struct cfg *cfg = NULL;
	int n_err, rc;

	rc = app_args_parse(argc, argv, &args);
	if (rc >= 0)
		return rc; /* --help, --version, or a usage error */
	if (args.print_default) {
		fputs(cfg_default_yaml(), stdout);
		return 0;
	}
	if (args.config != NULL)
		n_err = cfg_load_file(args.config, &cfg, stderr);
	else
		n_err = cfg_load_string("<default>", cfg_default_yaml(), strlen(cfg_default_yaml()),
					&cfg, stderr);
	if (n_err != 0) {
		fprintf(stderr, "rtprec: %d configuration error%s\n", n_err, n_err == 1 ? "" : "s");
		return 2;
	}
	cfg_log_setup(&cfg->log);
	uint64_t wanted = cfg_mbufs_wanted(cfg);
	if (cfg->dataplane.mbufs < wanted)
		LOG_WARN("dataplane.mbufs %u is less than the %llu that the ports' descriptors and "
			 "full record rings can hold: a recorder that falls behind would leave RX "
			 "without mbufs (nic_rx_nombuf); raise it or lower dataplane.record_ring_size",
			 cfg->dataplane.mbufs, (unsigned long long)wanted);
	if (args.check) {
		fprintf(stderr, "%s: OK\n", args.config ? args.config : "<default>");
		cfg_free(cfg);
		return 0;
	}
	app_signals();
	rc = app_eal_init(cfg, &args);
	if (rc == 0) {
		rc = app_serve(cfg, args.config);
		rte_eal_cleanup();
	} else {
		rc = 1;
	}
	app_args_free(&args);
	cfg_free(cfg);
	return rc;
}
