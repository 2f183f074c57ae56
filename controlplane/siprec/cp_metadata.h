/* SPDX-License-Identifier: BSD-3-Clause
 * RFC 7865 rs-metadata parser (libxml2) for the SIPREC session layer.
 * Tolerant (issue 10 point 2): roots `recording` and `recording_metadata`
 * in any of the recording namespaces (or none), element and attribute names
 * compared case-insensitively, unknown elements ignored, missing ids kept
 * as "". Safe: no network, no DTD (a document with <!DOCTYPE is refused),
 * no entity expansion. */
#ifndef CP_METADATA_H
#define CP_METADATA_H

#include <stddef.h>

#define CP_MD_MAX 16
#define CP_MD_ID 64
struct cp_md_participant { char id[CP_MD_ID]; char name[128]; char aor[256]; };
struct cp_md_stream { char id[CP_MD_ID]; char label[64]; char session_id[CP_MD_ID]; };
struct cp_md_assoc { char participant_id[CP_MD_ID]; char send[4][CP_MD_ID]; unsigned n_send; char recv[4][CP_MD_ID]; unsigned n_recv; };
/* RFC 7865 6.1 <dataMode>: a complete snapshot or a partial update. */
enum cp_md_mode { CP_MD_MODE_UNSET, CP_MD_MODE_COMPLETE, CP_MD_MODE_PARTIAL };
struct cp_metadata {
	enum cp_md_mode mode;
	char session_id[CP_MD_ID]; char group_id[CP_MD_ID];
	struct cp_md_participant participants[CP_MD_MAX]; unsigned n_participants;
	struct cp_md_stream streams[CP_MD_MAX]; unsigned n_streams;
	struct cp_md_assoc assocs[CP_MD_MAX]; unsigned n_assocs;
};
/* 0, or -1 with *why (static string) for XML that is not well formed or has no recording root. */
int cp_metadata_parse(const char *xml, size_t len, struct cp_metadata *md, const char **why);
/* Vendor extensions of a body, verbatim: every element under the root that RFC 7865 does
 * not define (e.g. <extensiondata>, vendor-named blocks) and every <extensiondata> inside
 * one it does, each handed to emit as serialised XML. Their count, or -1 (same refusals
 * as cp_metadata_parse). */
typedef void (*cp_md_ext_fn)(void *arg, const char *xml, size_t len);
int cp_metadata_extensions(const char *xml, size_t len, cp_md_ext_fn emit, void *arg);
/* Merge a partial update (RFC 7865 §6: elements by id replace or add) into dst. */
void cp_metadata_merge(struct cp_metadata *dst, const struct cp_metadata *upd);
/* A later body on the session: a "complete" snapshot replaces dst; a
 * "partial" update, or a body that does not say (SRCs that send only what
 * changed without <dataMode>), is merged. */
void cp_metadata_apply(struct cp_metadata *dst, const struct cp_metadata *upd);
/* The label of the stream whose id is stream_id / participants sending on it: helpers the session layer uses */
const struct cp_md_stream *cp_metadata_stream_by_label(const struct cp_metadata *md, const char *label);

/* Extra helpers (additive): the stream with that id; the first participant
 * that sends on a stream id (NULL if none). */
const struct cp_md_stream *cp_metadata_stream_by_id(const struct cp_metadata *md, const char *id);
const struct cp_md_participant *cp_metadata_sender(const struct cp_metadata *md, const char *stream_id);

#endif
