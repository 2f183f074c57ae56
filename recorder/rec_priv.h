/* SPDX-License-Identifier: BSD-3-Clause
 * recorder/ internals: the pcap file writer (rec_file.c, no DPDK), the hook
 * runner (rec_hook.c) and what the threads (rec_thread.c) share with them. */
#ifndef RTPREC_REC_PRIV_H
#define RTPREC_REC_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "rec.h"

#define REC_PCAP_HDR 24u
#define REC_REC_HDR 16u
#define REC_BUF_MIN 4096u

struct rec_file;
struct rec_srtp;

/* What the files of one thread share: limits, clock, counters, callbacks. */
struct rec_wctx {
	enum cfg_rec_sync sync;
	uint64_t rotate_bytes;
	uint64_t rotate_tsc;   /* rotate_seconds in TSC cycles, 0: never */
	unsigned file_mode;
	uint32_t buf_max;      /* largest buffer per file */
	uint64_t buf_limit;    /* all buffers of the thread */
	uint64_t buf_bytes;    /* allocated now */
	uint64_t fd_budget;    /* open files before idle ones are parked, 0: no limit */
	/* too many open files: park idle ones */
	void (*make_room)(void *arg);
	struct rec_thread_stats c;
	/* a file was closed (rotation or close): path is the closed file */
	void (*file_closed)(void *arg, const struct rec_file *f, const char *path);
	/* an open/write/sync/close call failed with err */
	void (*failed)(void *arg, int err);
	void *arg;
};

/* One recording stream: its current file and the records not written yet,
 * always whole ones, so every write ends on a record boundary. */
struct rec_file {
	int fd;             /* -1 when the current file could not be opened, or parked */
	bool parked;        /* idle, descriptor closed: opened again on the next record */
	uint8_t retry;      /* REC_RETRY_*: the current part could not be opened */
	char *base;         /* path without ".pcap" */
	const char *ext;    /* ".pcap" or "" */
	unsigned part;      /* 0: <base>.pcap, n: <base>.n.pcap */
	unsigned flags;     /* REC_OPEN_* */
	uint32_t rec_id;
	uint32_t slot;      /* index in its thread's list of open files */
	uint64_t size;      /* bytes in the current file, whole records only */
	uint64_t first_tsc; /* first record of the current file, 0: none yet */
	uint8_t *buf;
	uint32_t len, cap;  /* bytes buffered / allocated */
	uint32_t nrec;      /* records buffered */
	uint64_t nbytes;    /* frame bytes buffered */
	bool unsynced;      /* written since the last fsync */
	bool active;        /* got a record since the last tick */
	bool logged;        /* an error was logged for the current file */
	struct rec_srtp *srtp; /* SRTP keys (rec_srtp.c), NULL: written as received */
	struct rec_report rep;
};

enum { REC_RETRY_NONE, REC_RETRY_CREATE, REC_RETRY_REOPEN };

void rec_wctx_init(struct rec_wctx *w, const struct rec_params *p, uint64_t tsc_hz);
/* Called on every tick: a part that could not be created (or opened again
 * after parking) is tried again; what arrived meanwhile was counted dropped. */
void rec_file_retry(struct rec_wctx *w, struct rec_file *f);
/* Close an idle file's descriptor (nothing buffered): true if it was parked. */
bool rec_file_park(struct rec_wctx *w, struct rec_file *f);

/* Set f up and create path: 0, or -errno (-ENOMEM: f is unusable; any other:
 * f exists without a file and counts what it cannot write). */
int rec_file_open(struct rec_wctx *w, struct rec_file *f, uint32_t rec_id, const char *path,
		  unsigned flags);
/* Buffer one record (rotating first when due); writes the buffer out when
 * it is full. data: caplen bytes of a frame of len bytes. */
void rec_file_append(struct rec_wctx *w, struct rec_file *f, uint64_t tsc, uint64_t ts_ns,
		     const void *data, uint32_t caplen, uint32_t len);
/* Where the next caplen frame bytes go (rotation and buffer handled); the
 * record is complete after rec_file_commit. NULL if it cannot be buffered. */
uint8_t *rec_file_reserve(struct rec_wctx *w, struct rec_file *f, uint64_t tsc, uint64_t ts_ns,
			  uint32_t caplen, uint32_t len);
void rec_file_commit(struct rec_file *f, uint32_t len);
/* Before rec_file_commit: the reserved record is len bytes long after all (<= caplen). */
void rec_file_resize(struct rec_file *f, uint32_t len);
/* Write the buffered records (one pwritev); with sync, fdatasync the file
 * if anything was written since the last sync. 0 or -errno. */
int rec_file_flush(struct rec_wctx *w, struct rec_file *f, bool sync);
/* Free the buffer of an idle file (nothing buffered). */
void rec_file_trim(struct rec_wctx *w, struct rec_file *f);
/* Flush, fsync unless sync is none, close, free the buffer; f->rep and
 * f->base stay (rec_file_free). */
void rec_file_close(struct rec_wctx *w, struct rec_file *f);
void rec_file_free(struct rec_file *f);
/* "<base>.pcap" or "<base>.<part>.pcap" into buf. */
void rec_file_path(const struct rec_file *f, unsigned part, char *buf, size_t len);

/* rec_srtp.c (no DPDK): one srtp_t (ssrc_any_inbound) per keyed media stream.
 * NULL only without memory; a key libsrtp refuses makes its packets count as errors. */
/* srtp_init once per process (libsrtp2 refuses a second one): 0 or -EIO. */
int rec_srtp_lib_init(void);
struct rec_srtp *rec_srtp_create(const struct rec_srtp_key *keys, unsigned n);
/* New keys, counters of the entries kept: 0 or -ENOMEM (old keys stay). */
int rec_srtp_set(struct rec_srtp *s, const struct rec_srtp_key *keys, unsigned n);
void rec_srtp_free(struct rec_srtp *s);
/* Unprotect frame (Ethernet/IPv4/UDP, len bytes) in place when its UDP destination port
 * is a keyed one: RTCP on the RTCP port, or with rtcp-mux when PT is 200..204, else RTP;
 * IPv4 total length and checksum, UDP length fixed, UDP checksum set to 0. Returns the
 * new length; len (frame untouched) for other frames and on failure (counted). */
uint32_t rec_srtp_frame(struct rec_srtp *s, uint8_t *frame, uint32_t len);
/* The counters, n entries; valid until the next rec_srtp_set / rec_srtp_free. */
const struct rec_srtp_count *rec_srtp_counts(const struct rec_srtp *s, unsigned *n);

/* rec_hook.c: runs the on_close command without a shell, never more than a
 * few at once, each killed after its timeout; reaped by its own thread. */
struct rec_hook;
struct rec_hook *rec_hook_create(const char *tmpl, unsigned timeout_s);
/* Queue one run with {dir} and {file} replaced (never blocks on the child). */
void rec_hook_run(struct rec_hook *h, const char *dir, const char *file);
/* Wait for queued and running hooks at most timeout_s, kill what is left,
 * reap, join the thread, free; counts gets the final started, failed, killed. */
void rec_hook_stop(struct rec_hook *h, uint64_t counts[3]);
void rec_hook_counts(const struct rec_hook *h, uint64_t *started, uint64_t *failed,
		     uint64_t *killed);

#endif
