/* SPDX-License-Identifier: BSD-3-Clause
 * One recording stream's pcap files (nanosecond libpcap format, host byte
 * order, like libpcap writes them). Records are buffered whole, and a buffer
 * goes to the kernel in one pwritev at the file's committed size: a write that
 * fails half-way is cut back with ftruncate, so a file always ends on a
 * record boundary. Rotation by size and by duration of the recorded packets. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "config/cfg_log.h"
#include "rec_priv.h"

#define REC_SNAPLEN 262144u
#define REC_LINKTYPE_ETHERNET 1u
#define REC_MAGIC_NS 0xa1b23c4du

void rec_wctx_init(struct rec_wctx *w, const struct rec_params *p, uint64_t tsc_hz)
{
	memset(w, 0, sizeof(*w));
	w->sync = p->sync;
	w->rotate_bytes = p->rotate_bytes;
	w->rotate_tsc = (uint64_t)p->rotate_seconds * tsc_hz;
	w->file_mode = p->file_mode;
	w->buf_max = p->write_buffer < REC_BUF_MIN ? REC_BUF_MIN : p->write_buffer;
	w->buf_limit = p->buffer_limit;
}

void rec_file_path(const struct rec_file *f, unsigned part, char *buf, size_t len)
{
	if (part == 0)
		snprintf(buf, len, "%s%s", f->base, f->ext);
	else
		snprintf(buf, len, "%s.%u%s", f->base, part, f->ext);
}

static void rec_file_fail(struct rec_wctx *w, struct rec_file *f, int err, const char *what)
{
	char path[PATH_MAX];

	f->rep.write_errors++;
	w->c.write_errors++;
	if (f->rep.error == 0)
		f->rep.error = err;
	if (!f->logged) {
		f->logged = true;
		rec_file_path(f, f->part, path, sizeof(path));
		LOG_ERR("recorder: cannot %s %s: %s (further errors on this file are counted, "
			"not logged)", what, path, strerror(err));
	}
	if (w->failed != NULL)
		w->failed(w->arg, err);
}

/* Every byte of iov at off, retrying short writes. Bytes written or -errno. */
static ssize_t rec_pwritev_all(int fd, struct iovec *iov, int n, off_t off)
{
	size_t done = 0;

	while (n > 0) {
		ssize_t k = pwritev(fd, iov, n, off + (off_t)done);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			return -EIO;
		done += (size_t)k;
		while (n > 0 && (size_t)k >= iov->iov_len) {
			k -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + k;
			iov->iov_len -= (size_t)k;
		}
	}
	return (ssize_t)done;
}

long rec_pwrite_all(int fd, const void *buf, unsigned long len, long off)
{
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};

	return rec_pwritev_all(fd, &iov, 1, off);
}

static void rec_pcap_header(uint8_t h[REC_PCAP_HDR])
{
	const uint32_t magic = REC_MAGIC_NS, zero = 0, snap = REC_SNAPLEN,
		       link = REC_LINKTYPE_ETHERNET;
	const uint16_t major = 2, minor = 4;

	memcpy(h, &magic, 4);
	memcpy(h + 4, &major, 2);
	memcpy(h + 6, &minor, 2);
	memcpy(h + 8, &zero, 4);  /* thiszone */
	memcpy(h + 12, &zero, 4); /* sigfigs */
	memcpy(h + 16, &snap, 4);
	memcpy(h + 20, &link, 4);
}

/* open(path, flags) within the descriptor budget: idle files are parked first
 * when it is used up, and again when the process is out of descriptors. */
static int rec_open_room(struct rec_wctx *w, const char *path, int flags)
{
	int fd;

	if (w->fd_budget != 0 && w->c.open_files >= w->fd_budget && w->make_room != NULL)
		w->make_room(w->arg);
	fd = open(path, flags, w->file_mode);
	if (fd < 0 && (errno == EMFILE || errno == ENFILE) && w->make_room != NULL) {
		w->make_room(w->arg);
		fd = open(path, flags, w->file_mode);
	}
	return fd;
}

/* Open part f->part; the file header is written at once (and again in
 * front of the first records if that failed). */
static int rec_open_part(struct rec_wctx *w, struct rec_file *f)
{
	char path[PATH_MAX];
	uint8_t h[REC_PCAP_HDR];
	struct iovec iov = {.iov_base = h, .iov_len = sizeof(h)};
	struct stat st;
	ssize_t k;
	int fd;

	f->size = 0;
	f->first_tsc = 0;
	f->unsynced = false;
	f->parked = false;
	f->retry = REC_RETRY_NONE;
	rec_file_path(f, f->part, path, sizeof(path));
	fd = rec_open_room(w, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;
		f->fd = -1;
		f->retry = REC_RETRY_CREATE;
		rec_file_fail(w, f, err, "create");
		return -err;
	}
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		(void)fchmod(fd, w->file_mode); /* the configured mode, whatever the umask */
	f->fd = fd;
	f->rep.files = f->part + 1;
	w->c.files_opened++;
	w->c.open_files++;
	rec_pcap_header(h);
	k = rec_pwritev_all(fd, &iov, 1, 0);
	if (k == (ssize_t)sizeof(h)) {
		f->size = sizeof(h);
		f->unsynced = true;
	} else {
		if (ftruncate(fd, 0) != 0) {
			/* nothing more to do: the next write starts at 0 again */
		}
		rec_file_fail(w, f, k < 0 ? (int)-k : EIO, "write");
	}
	return 0;
}

int rec_file_open(struct rec_wctx *w, struct rec_file *f, uint32_t rec_id, const char *path,
		  unsigned flags)
{
	size_t n = strlen(path);

	memset(f, 0, sizeof(*f));
	f->fd = -1;
	f->rec_id = rec_id;
	f->flags = flags;
	f->ext = n > 5 && strcmp(path + n - 5, ".pcap") == 0 ? ".pcap" : "";
	f->base = strndup(path, n - strlen(f->ext));
	if (f->base == NULL)
		return -ENOMEM;
	f->rep.files = 1;
	return rec_open_part(w, f);
}

bool rec_file_park(struct rec_wctx *w, struct rec_file *f)
{
	if (f->fd < 0 || f->len != 0)
		return false;
	if (w->sync != CFG_REC_SYNC_NONE && f->unsynced) {
		/* sync close promises the data is on disk once the file is done
		 * with: a parked file may never get a descriptor again */
		w->c.syncs++;
		if (fdatasync(f->fd) != 0)
			rec_file_fail(w, f, errno, "sync");
	}
	f->unsynced = false;
	if (close(f->fd) != 0)
		rec_file_fail(w, f, errno, "close");
	f->fd = -1;
	f->parked = true;
	w->c.open_files--;
	w->c.parked++;
	return true;
}

/* A parked file gets a descriptor again (its contents and size are as left). */
static void rec_unpark(struct rec_wctx *w, struct rec_file *f)
{
	char path[PATH_MAX];
	int fd;

	if (!f->parked)
		return;
	f->parked = false;
	rec_file_path(f, f->part, path, sizeof(path));
	fd = rec_open_room(w, path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		f->retry = REC_RETRY_REOPEN;
		rec_file_fail(w, f, errno, "reopen");
		return;
	}
	f->fd = fd;
	f->retry = REC_RETRY_NONE;
	w->c.open_files++;
	w->c.reopens++;
}

void rec_file_retry(struct rec_wctx *w, struct rec_file *f)
{
	char path[PATH_MAX];

	if (f->fd >= 0 || f->retry == REC_RETRY_NONE)
		return;
	if (f->retry == REC_RETRY_CREATE) {
		rec_open_part(w, f);
	} else {
		f->parked = true; /* its contents and size are as they were left */
		rec_unpark(w, f);
	}
	if (f->fd >= 0) {
		rec_file_path(f, f->part, path, sizeof(path));
		LOG_INFO("recorder: %s open again after an error: recording goes on", path);
	}
}

static void rec_buf_reset(struct rec_file *f)
{
	f->len = 0;
	f->nrec = 0;
	f->nbytes = 0;
}

static void rec_drop_buffered(struct rec_wctx *w, struct rec_file *f)
{
	f->rep.dropped += f->nrec;
	w->c.dropped += f->nrec;
	rec_buf_reset(f);
}

int rec_file_flush(struct rec_wctx *w, struct rec_file *f, bool sync)
{
	uint8_t h[REC_PCAP_HDR];
	struct iovec iov[2];
	int n = 0, rc = 0;
	ssize_t k;

	if (f->len != 0)
		rec_unpark(w, f);
	if (f->len != 0 && f->fd < 0) {
		rec_drop_buffered(w, f);
		rc = -EBADF;
	} else if (f->len != 0) {
		if (f->size == 0) { /* the header write had failed */
			rec_pcap_header(h);
			iov[n++] = (struct iovec){.iov_base = h, .iov_len = sizeof(h)};
		}
		iov[n++] = (struct iovec){.iov_base = f->buf, .iov_len = f->len};
		k = rec_pwritev_all(f->fd, iov, n, (off_t)f->size);
		w->c.writes++;
		if (k >= 0) {
			f->size += (uint64_t)k;
			f->rep.packets += f->nrec;
			f->rep.bytes += f->nbytes;
			w->c.packets += f->nrec;
			w->c.bytes += f->nbytes;
			f->unsynced = true;
			rec_buf_reset(f);
		} else {
			/* cut what went in back to the last whole record */
			if (ftruncate(f->fd, (off_t)f->size) != 0) {
				/* the next write still starts at f->size and overwrites it */
			}
			rec_file_fail(w, f, (int)-k, "write");
			rec_drop_buffered(w, f);
			rc = (int)k;
		}
	}
	if (sync && f->unsynced && f->fd >= 0) {
		w->c.syncs++;
		f->unsynced = false;
		if (fdatasync(f->fd) != 0) {
			rc = -errno;
			rec_file_fail(w, f, errno, "sync");
		}
	}
	return rc;
}

/* Sync (unless sync is none) and close the current part. */
static void rec_close_part(struct rec_wctx *w, struct rec_file *f)
{
	char path[PATH_MAX];

	if (f->fd < 0 && !f->parked && f->retry != REC_RETRY_REOPEN)
		return; /* no file */
	if (f->fd >= 0) {
		if (w->sync != CFG_REC_SYNC_NONE && f->unsynced) {
			w->c.syncs++;
			if (fsync(f->fd) != 0)
				rec_file_fail(w, f, errno, "sync");
		}
		if (close(f->fd) != 0)
			rec_file_fail(w, f, errno, "close");
		w->c.open_files--;
	}
	f->fd = -1;
	f->parked = false;
	f->retry = REC_RETRY_NONE;
	f->unsynced = false;
	if (w->file_closed != NULL) {
		rec_file_path(f, f->part, path, sizeof(path));
		w->file_closed(w->arg, f, path);
	}
}

static void rec_file_rotate(struct rec_wctx *w, struct rec_file *f)
{
	rec_file_flush(w, f, false);
	rec_close_part(w, f);
	f->part++;
	f->logged = false; /* a new file: its first error is logged */
	rec_open_part(w, f);
}

/* Room for need more bytes: grow (doubling, up to buf_max, within the
 * thread's budget) or write the buffer out first. */
static bool rec_buf_room(struct rec_wctx *w, struct rec_file *f, uint32_t need)
{
	uint64_t want = f->cap ? f->cap : REC_BUF_MIN;
	uint8_t *p;

	if ((uint64_t)f->len + need <= f->cap)
		return true;
	while (want < (uint64_t)f->len + need && want < w->buf_max)
		want *= 2;
	if (want > w->buf_max)
		want = w->buf_max;
	if ((uint64_t)f->len + need > want || w->buf_bytes - f->cap + want > w->buf_limit) {
		rec_file_flush(w, f, false);
		if (need <= f->cap)
			return true;
		for (want = REC_BUF_MIN; want < need; want *= 2)
			;
	}
	p = realloc(f->buf, want);
	if (p == NULL)
		return false;
	w->buf_bytes = w->buf_bytes - f->cap + want;
	f->buf = p;
	f->cap = (uint32_t)want;
	return true;
}

uint8_t *rec_file_reserve(struct rec_wctx *w, struct rec_file *f, uint64_t tsc, uint64_t ts_ns,
			  uint32_t caplen, uint32_t len)
{
	uint32_t need = REC_REC_HDR + caplen, hdr[4];
	uint64_t size = f->size > REC_PCAP_HDR ? f->size : REC_PCAP_HDR;
	bool has_records = f->size > REC_PCAP_HDR || f->len != 0;

	rec_unpark(w, f);
	if (has_records &&
	    ((w->rotate_bytes != 0 && size + f->len + need > w->rotate_bytes) ||
	     (w->rotate_tsc != 0 && tsc > f->first_tsc && tsc - f->first_tsc >= w->rotate_tsc)))
		rec_file_rotate(w, f);
	if (f->fd < 0 || !rec_buf_room(w, f, need)) {
		f->rep.dropped++;
		w->c.dropped++;
		return NULL;
	}
	if (f->first_tsc == 0)
		f->first_tsc = tsc ? tsc : 1;
	hdr[0] = (uint32_t)(ts_ns / 1000000000ull);
	hdr[1] = (uint32_t)(ts_ns % 1000000000ull);
	hdr[2] = caplen;
	hdr[3] = len;
	memcpy(f->buf + f->len, hdr, sizeof(hdr));
	return f->buf + f->len + REC_REC_HDR;
}

void rec_file_commit(struct rec_file *f, uint32_t len)
{
	uint32_t caplen;

	memcpy(&caplen, f->buf + f->len + 8, 4);
	f->len += REC_REC_HDR + caplen;
	f->nrec++;
	f->nbytes += len;
	f->active = true;
}

void rec_file_resize(struct rec_file *f, uint32_t len)
{
	memcpy(f->buf + f->len + 8, &len, 4);
	memcpy(f->buf + f->len + 12, &len, 4);
}

void rec_file_append(struct rec_wctx *w, struct rec_file *f, uint64_t tsc, uint64_t ts_ns,
		     const void *data, uint32_t caplen, uint32_t len)
{
	uint8_t *p = rec_file_reserve(w, f, tsc, ts_ns, caplen, len);

	if (p == NULL)
		return;
	memcpy(p, data, caplen);
	rec_file_commit(f, len);
}

void rec_file_trim(struct rec_wctx *w, struct rec_file *f)
{
	if (f->len != 0 || f->buf == NULL)
		return;
	free(f->buf);
	w->buf_bytes -= f->cap;
	f->buf = NULL;
	f->cap = 0;
}

void rec_file_close(struct rec_wctx *w, struct rec_file *f)
{
	rec_file_flush(w, f, false);
	rec_close_part(w, f);
	rec_file_trim(w, f);
}

void rec_file_free(struct rec_file *f)
{
	free(f->base);
	f->base = NULL;
}
