/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef RTPREC_REC_PRIV_H
#define RTPREC_REC_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <pcap/pcap.h>

/* One pcap file. */
struct rec_file {
	pcap_t *dead;
	pcap_dumper_t *dumper;
	FILE *fp;
	char *buf; /* stdio buffer: batched writes, no syscall per packet */
	bool dirty;
	bool error_logged;
};

int rec_file_open(struct rec_file *f, const char *path);
/* ts_ns: wall-clock nanoseconds. 0 or -1 on write error. */
int rec_file_write(struct rec_file *f, uint64_t ts_ns, const uint8_t *data, uint32_t caplen,
		   uint32_t len);
int rec_file_flush(struct rec_file *f);
void rec_file_close(struct rec_file *f);

#endif
