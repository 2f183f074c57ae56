/* SPDX-License-Identifier: BSD-3-Clause
 * Recorder: recording.threads threads drain the workers' record rings
 * (dp_rec_item; worker w hands rec_id to ring w * threads + rec_id % threads)
 * and write one libpcap file (nanosecond timestamps) per recording stream:
 * whole records batched per file in one buffer and written with one pwritev,
 * a sync policy, rotation by size and duration, and a post-close hook. */
#ifndef RTPREC_REC_H
#define RTPREC_REC_H

#include <stdbool.h>
#include <stdint.h>

#include "config/cfg.h"

struct rte_ring;
struct rec_ctx;

struct rec_params {
	unsigned threads;          /* 1..CFG_MAX_REC_THREADS */
	uint32_t max_streams;      /* every rec_id stays below it */
	enum cfg_rec_sync sync;
	unsigned sync_interval_ms;
	uint64_t rotate_bytes;     /* 0: never */
	unsigned rotate_seconds;   /* 0: never */
	unsigned file_mode;        /* e.g. 0644, applied with fchmod (umask ignored) */
	uint32_t write_buffer;     /* bytes: largest buffer (one write) per file */
	uint64_t buffer_limit;     /* bytes of buffers per thread */
	const char *dir;           /* statvfs'ed to see space come back; may be NULL */
	const char *on_close;      /* "/prog args {dir} {file}", NULL: no hook */
	unsigned on_close_timeout_s;
};

/* Parameters from the config: max_streams = cfg_flow_rec_slots + CFG_SESS_REC_IDS. */
void rec_params_from_cfg(struct rec_params *p, const struct cfg *cfg);

/* rings[w * p->threads + t]: worker w's ring for recorder thread t (read by
 * that thread only). NULL on failure (errno set). */
struct rec_ctx *rec_create(const struct rec_params *p, struct rte_ring *const *rings,
			   unsigned n_workers);

/* rec_open flags */
#define REC_OPEN_SESSION 1u /* the hook runs once, at rec_session_close; else per file closed */

/* Open stream rec_id writing to path ("<base>.pcap"; rotation makes
 * "<base>.1.pcap", "<base>.2.pcap", ...). Before rec_start: done at once
 * (0 or -errno); after: queued for the stream's thread (0, or -ENOMEM),
 * an open error then shows in the stream's report and the counters. */
int rec_stream_open(struct rec_ctx *r, uint32_t rec_id, const char *path, unsigned flags);
/* Flush and close; for streams opened without REC_OPEN_SESSION the hook runs
 * for the file. 0 or -errno. */
int rec_stream_close(struct rec_ctx *r, uint32_t rec_id);

/* SRTP (SDES) keys of one media stream of a recording stream: its packets,
 * matched by UDP destination port, are written decrypted. */
#define REC_SRTP_MAX 8
enum rec_srtp_suite { REC_SRTP_NONE = 0, REC_SRTP_AES128_SHA1_80, REC_SRTP_AES128_SHA1_32 };
struct rec_srtp_key {
	enum rec_srtp_suite suite; /* NONE: this entry is not SRTP */
	uint16_t rtp_port;         /* our UDP port for RTP (and RTCP with rtcp-mux) */
	uint16_t rtcp_port;        /* our UDP port for RTCP, 0 with rtcp-mux */
	uint8_t key[30];           /* master key (16) || salt (14) */
	uint8_t mki_len;           /* 0: no MKI (RFC 3711) in the packets */
	uint8_t mki[8];            /* its value, mki_len bytes */
};
/* What decryption did for entry i of the keys. */
struct rec_srtp_count {
	uint16_t rtp_port;
	uint64_t decrypted;   /* RTP and RTCP packets written decrypted */
	uint64_t srtp_errors; /* failed authentication/replay/bad key: written as received */
};

/* Decrypt stream rec_id's SRTP with keys[0..n) (entry i = media stream i; replaces the
 * keys given before, counters kept per entry; n = 0: none). Queued like rec_stream_open,
 * after it. 0 or -errno. */
int rec_stream_srtp(struct rec_ctx *r, uint32_t rec_id, const struct rec_srtp_key *keys,
		    unsigned n);

/* What one stream wrote, handed to rec_done_fn. */
struct rec_report {
	uint64_t packets;      /* records written */
	uint64_t bytes;        /* frame bytes written */
	uint64_t dropped;      /* records taken from the ring but lost to write errors */
	uint64_t write_errors; /* failed open, write, sync or close calls */
	int error;             /* first errno, 0 if none */
	unsigned files;        /* <base>.pcap, <base>.1.pcap, ... <base>.(files-1).pcap */
	const char *path;      /* the first file's path */
	unsigned n_srtp;       /* entries of srtp (rec_stream_srtp's n), 0: no SRTP keys */
	const struct rec_srtp_count *srtp;
};
typedef void (*rec_done_fn)(void *arg, const struct rec_report *rep);

/* End a session's recording: once the stream's queued packets are written
 * and its files closed, the stream's thread calls done(arg, report) (if
 * done is not NULL; it owns arg), then starts the hook with {dir} = dir.
 * 0 or -errno (then done is not called). */
int rec_session_close(struct rec_ctx *r, uint32_t rec_id, const char *dir, rec_done_fn done,
		      void *arg);

/* True from the moment a close of rec_id is posted until its thread has closed the
 * files: packets recorded under rec_id meanwhile could still go into them (or a
 * close's drain of the rings), so the id must not be given to a new stream yet. */
bool rec_stream_closing(const struct rec_ctx *r, uint32_t rec_id);

int rec_start(struct rec_ctx *r);
/* Workers must be stopped first: drain every ring, run the queued commands,
 * flush, sync and close every file, join the threads, then wait for running
 * hooks (at most on_close_timeout_s, then they are killed). */
void rec_stop(struct rec_ctx *r);
void rec_free(struct rec_ctx *r);

struct rec_thread_stats {
	uint64_t packets;      /* records written */
	uint64_t bytes;        /* frame bytes written */
	uint64_t dropped;      /* records taken but not written (write error, no open file) */
	uint64_t write_errors;
	uint64_t writes;       /* pwritev calls */
	uint64_t syncs;        /* fdatasync/fsync calls */
	uint64_t files_opened;
	uint64_t open_files;
	uint64_t parked;       /* idle files whose descriptor was closed (fd budget) */
	uint64_t reopens;      /* parked files opened again for new records */
	uint64_t buffer_bytes; /* memory held by the thread's file buffers */
};

struct rec_totals {
	uint64_t packets;
	uint64_t bytes;
	uint64_t dropped;
	uint64_t write_errors;
	uint64_t open_files;
	uint64_t parked;
	uint64_t reopens;
	uint64_t buffer_bytes;
	uint64_t hooks_started;
	uint64_t hooks_failed;  /* not started, or exited non-zero */
	uint64_t hooks_killed;  /* past on_close_timeout_s */
	int storage_error;      /* errno of the failure that still holds, 0 if none */
};

unsigned rec_thread_count(const struct rec_ctx *r);
void rec_get_thread_stats(const struct rec_ctx *r, unsigned t, struct rec_thread_stats *s);
void rec_get_totals(const struct rec_ctx *r, struct rec_totals *t);

/* Non-zero (an errno) while storage is failing: set by any open/write/sync
 * error, cleared once no error came for a flush interval and the recording
 * directory has free space again (5 % of the file system, at most 64 MiB). */
int rec_storage_error(const struct rec_ctx *r);

/* pwrite all of buf at off (retrying short writes). len or -errno. */
long rec_pwrite_all(int fd, const void *buf, unsigned long len, long off);

/* Raise RLIMIT_NOFILE (soft, and hard when allowed) to at least want.
 * 0, or -errno with the limit left as high as it could go (logged). */
int rec_raise_nofile(uint64_t want);

#endif
