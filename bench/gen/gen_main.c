/* SPDX-License-Identifier: BSD-3-Clause
 * rtprec-gen: N RTP streams to a DPDK port (paced or at full speed), loss,
 * reordering, duplicates and latency of what comes back; or the same traffic to
 * a pcap file. See bench/README.md. */
#include <signal.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_log.h>

#include "gen.h"

static void gen_on_signal(int sig)
{
	(void)sig;
	gen_stop = 1;
}

static int gen_main_pcap(struct gen_opts *o)
{
	struct gen_pkt_ctx pc;
	struct gen_totals t;
	int rc;

	memset(&t, 0, sizeof(t));
	if (gen_pkt_init(&pc, o) != 0) {
		fprintf(stderr, "rtprec-gen: out of memory for %u streams\n", o->streams);
		return 1;
	}
	rc = gen_pcap_write(o, &pc, &t);
	if (rc == 0)
		gen_report(stdout, o, &pc, NULL, &t, 0, 0);
	gen_pkt_free(&pc);
	return rc == 0 ? 0 : 1;
}

/* One run on open ports: fresh streams and counters, a summary line. */
static int gen_trial(const struct gen_opts *o, const struct gen_ports *ports)
{
	struct gen_pkt_ctx pc;
	struct gen_rx_ctx rx;
	struct gen_totals t;
	double elapsed = 0;
	int rc = 1;

	memset(&t, 0, sizeof(t));
	memset(&pc, 0, sizeof(pc));
	memset(&rx, 0, sizeof(rx));
	if (gen_pkt_init(&pc, o) != 0 || gen_rx_init(&rx, o->streams) != 0) {
		fprintf(stderr, "rtprec-gen: out of memory for %u streams\n", o->streams);
		goto out;
	}
	if (gen_run_ports(o, &pc, &rx, ports, &t, &elapsed) == 0) {
		gen_report(stdout, o, &pc, ports->has_rx ? &rx : NULL, &t, elapsed,
			   rte_get_tsc_hz());
		rc = 0;
	}
out:
	gen_rx_free(&rx);
	gen_pkt_free(&pc);
	return rc;
}

/* --trials: the port stays open (a memif peer is not disconnected between trials). */
static int gen_trials(struct gen_opts *o, const struct gen_ports *ports)
{
	char line[128];
	int rc = 0;

	while (rc == 0 && !gen_stop && fgets(line, sizeof(line), stdin) != NULL)
		rc = gen_args_trial(line, o) == 0 ? gen_trial(o, ports) : 2;
	return rc;
}

static int gen_main_ports(struct gen_opts *o)
{
	struct gen_ports ports;
	int rc;

	if (gen_ports_open(o, &ports) != 0)
		return 1;
	if (!o->src_mac_set) {
		struct rte_ether_addr mac;
		if (rte_eth_macaddr_get(ports.tx, &mac) == 0)
			memcpy(o->src_mac, mac.addr_bytes, 6);
	}
	rc = o->trials ? gen_trials(o, &ports) : gen_trial(o, &ports);
	gen_ports_close(&ports);
	return rc;
}

int main(int argc, char **argv)
{
	int dd = gen_args_split(argc, argv), rc;
	struct gen_opts o;

	/* gen options follow "--" (argv[dd] stands for the program name for getopt) */
	rc = dd >= 0 ? gen_args_parse(argc - dd, argv + dd, &o) : gen_args_parse(argc, argv, &o);
	if (rc != 0)
		return rc > 0 ? 0 : 2;
	signal(SIGINT, gen_on_signal);
	signal(SIGTERM, gen_on_signal);
	if (o.pcap_out != NULL)
		return gen_main_pcap(&o);
	if (dd < 0) {
		fprintf(stderr, "rtprec-gen: a port needs EAL arguments first, e.g.\n"
				"  rtprec-gen --no-pci --in-memory --file-prefix gen "
				"--vdev=net_ring0 -- --streams 10\n");
		return 2;
	}
	/* EAL logs to stdout by default: keep stdout for the JSON */
	rte_openlog_stream(stderr);
	if (rte_eal_init(dd, argv) < 0) {
		fprintf(stderr, "rtprec-gen: EAL init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	rc = gen_main_ports(&o);
	rte_eal_cleanup();
	return rc;
}
