/* SPDX-License-Identifier: BSD-3-Clause
 * libpcap writer for one recording file: nanosecond-precision pcap through a
 * large stdio buffer, so the disk sees big writes, not one per packet. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rec_priv.h"

#define REC_FILE_BUF (256u * 1024u)
#define REC_SNAPLEN 65535

int rec_file_open(struct rec_file *f, const char *path)
{
	memset(f, 0, sizeof(*f));
	f->dead = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, REC_SNAPLEN,
						       PCAP_TSTAMP_PRECISION_NANO);
	if (f->dead == NULL)
		return -ENOMEM;
	f->fp = fopen(path, "wb");
	if (f->fp == NULL) {
		int err = -errno;
		pcap_close(f->dead);
		f->dead = NULL;
		return err;
	}
	f->buf = malloc(REC_FILE_BUF);
	if (f->buf != NULL)
		setvbuf(f->fp, f->buf, _IOFBF, REC_FILE_BUF);
	f->dumper = pcap_dump_fopen(f->dead, f->fp);
	if (f->dumper == NULL) {
		fclose(f->fp);
		free(f->buf);
		pcap_close(f->dead);
		memset(f, 0, sizeof(*f));
		return -EIO;
	}
	f->dirty = true; /* the file header */
	return 0;
}

int rec_file_write(struct rec_file *f, uint64_t ts_ns, const uint8_t *data, uint32_t caplen,
		   uint32_t len)
{
	struct pcap_pkthdr h;

	h.ts.tv_sec = (time_t)(ts_ns / 1000000000ull);
	/* with nanosecond precision libpcap stores tv_usec as nanoseconds */
	h.ts.tv_usec = (suseconds_t)(ts_ns % 1000000000ull);
	h.caplen = caplen;
	h.len = len;
	pcap_dump((u_char *)f->dumper, &h, data);
	f->dirty = true;
	return ferror(f->fp) ? -1 : 0;
}

int rec_file_flush(struct rec_file *f)
{
	if (f->dumper == NULL || !f->dirty)
		return 0;
	f->dirty = false;
	return pcap_dump_flush(f->dumper);
}

void rec_file_close(struct rec_file *f)
{
	if (f->dumper != NULL)
		pcap_dump_close(f->dumper); /* flushes and fcloses fp */
	if (f->dead != NULL)
		pcap_close(f->dead);
	free(f->buf);
	memset(f, 0, sizeof(*f));
}
