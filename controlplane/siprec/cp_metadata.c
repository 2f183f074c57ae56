/* SPDX-License-Identifier: BSD-3-Clause
 * rs-metadata (RFC 7865) parsing and merging: see cp_metadata.h. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "cp_metadata.h"

#define CP_MD_MAX_XML (1u << 20)

static int name_is(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && n->name &&
	       strcasecmp((const char *)n->name, name) == 0;
}

static void trim_copy(char *dst, size_t dlen, const char *src, size_t n)
{
	while (n && (*src == ' ' || *src == '\t' || *src == '\r' || *src == '\n')) {
		src++;
		n--;
	}
	while (n && (src[n - 1] == ' ' || src[n - 1] == '\t' || src[n - 1] == '\r' ||
		     src[n - 1] == '\n'))
		n--;
	if (n >= dlen)
		n = dlen - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Text of the direct text/CDATA children only: entity references are never
 * followed (no expansion). */
static void node_text(const xmlNode *n, char *dst, size_t dlen)
{
	char buf[512];
	size_t o = 0;

	for (const xmlNode *c = n->children; c; c = c->next) {
		if ((c->type != XML_TEXT_NODE && c->type != XML_CDATA_SECTION_NODE) ||
		    !c->content)
			continue;
		size_t l = strlen((const char *)c->content);
		if (l > sizeof(buf) - 1 - o)
			l = sizeof(buf) - 1 - o;
		memcpy(buf + o, c->content, l);
		o += l;
	}
	trim_copy(dst, dlen, buf, o);
}

/* Attribute by (case-insensitive) local name; 1 if found. */
static int attr(const xmlNode *n, const char *name, char *dst, size_t dlen)
{
	for (const xmlAttr *a = n->properties; a; a = a->next) {
		if (!a->name || strcasecmp((const char *)a->name, name) != 0)
			continue;
		node_text((const xmlNode *)a, dst, dlen);
		return 1;
	}
	return 0;
}

static void attr2(const xmlNode *n, const char *a1, const char *a2, char *dst, size_t dlen)
{
	dst[0] = '\0';
	if (!attr(n, a1, dst, dlen) || !dst[0])
		attr(n, a2, dst, dlen);
}

static struct cp_md_assoc *assoc_for(struct cp_metadata *md, const char *pid)
{
	for (unsigned i = 0; i < md->n_assocs; i++)
		if (pid[0] && strcmp(md->assocs[i].participant_id, pid) == 0)
			return &md->assocs[i];
	if (md->n_assocs >= CP_MD_MAX)
		return NULL;
	struct cp_md_assoc *a = &md->assocs[md->n_assocs++];
	memset(a, 0, sizeof(*a));
	snprintf(a->participant_id, sizeof(a->participant_id), "%s", pid);
	return a;
}

/* <send>/<recv> children of n added to the association of pid. */
static void add_send_recv(struct cp_metadata *md, const xmlNode *n, const char *pid)
{
	struct cp_md_assoc *a = NULL;

	for (const xmlNode *c = n->children; c; c = c->next) {
		int send = name_is(c, "send"), recv = name_is(c, "recv");
		char id[CP_MD_ID];

		if (!send && !recv)
			continue;
		node_text(c, id, sizeof(id));
		if (!id[0])
			continue;
		if (!a && !(a = assoc_for(md, pid)))
			return;
		if (send && a->n_send < 4)
			snprintf(a->send[a->n_send++], CP_MD_ID, "%s", id);
		else if (recv && a->n_recv < 4)
			snprintf(a->recv[a->n_recv++], CP_MD_ID, "%s", id);
	}
}

static void parse_participant(struct cp_metadata *md, const xmlNode *n)
{
	struct cp_md_participant *p;

	if (md->n_participants >= CP_MD_MAX)
		return;
	p = &md->participants[md->n_participants++];
	memset(p, 0, sizeof(*p));
	attr2(n, "participant_id", "id", p->id, sizeof(p->id));
	for (const xmlNode *c = n->children; c; c = c->next) {
		if (name_is(c, "nameID")) {
			if (!p->aor[0])
				attr(c, "aor", p->aor, sizeof(p->aor));
			for (const xmlNode *g = c->children; g; g = g->next)
				if (name_is(g, "name") && !p->name[0])
					node_text(g, p->name, sizeof(p->name));
		} else if (name_is(c, "aor") && !p->aor[0]) {
			/* pre-RFC draft style: <aor> and <name> directly inside */
			node_text(c, p->aor, sizeof(p->aor));
		} else if (name_is(c, "name") && !p->name[0]) {
			node_text(c, p->name, sizeof(p->name));
		}
	}
	if (!p->aor[0])
		attr(n, "aor", p->aor, sizeof(p->aor));
	add_send_recv(md, n, p->id); /* draft style send/recv in participant */
}

static void parse_stream(struct cp_metadata *md, const xmlNode *n)
{
	struct cp_md_stream *s;

	if (md->n_streams >= CP_MD_MAX)
		return;
	s = &md->streams[md->n_streams++];
	memset(s, 0, sizeof(*s));
	attr2(n, "stream_id", "id", s->id, sizeof(s->id));
	attr2(n, "session_id", "session", s->session_id, sizeof(s->session_id));
	for (const xmlNode *c = n->children; c; c = c->next)
		if (name_is(c, "label") && !s->label[0])
			node_text(c, s->label, sizeof(s->label));
	if (!s->label[0])
		attr(n, "label", s->label, sizeof(s->label));
}

static void parse_root(struct cp_metadata *md, const xmlNode *root)
{
	char group_ref[CP_MD_ID] = "";

	for (const xmlNode *n = root->children; n; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (name_is(n, "session")) {
			if (!md->session_id[0])
				attr2(n, "session_id", "id", md->session_id, sizeof(md->session_id));
			for (const xmlNode *c = n->children; c; c = c->next)
				if ((name_is(c, "group-ref") || name_is(c, "groupref")) && !group_ref[0])
					node_text(c, group_ref, sizeof(group_ref));
		} else if (name_is(n, "datamode")) {
			char v[16];

			node_text(n, v, sizeof(v));
			if (strcasecmp(v, "complete") == 0)
				md->mode = CP_MD_MODE_COMPLETE;
			else if (strcasecmp(v, "partial") == 0)
				md->mode = CP_MD_MODE_PARTIAL;
		} else if (name_is(n, "group")) {
			if (!md->group_id[0])
				attr2(n, "group_id", "id", md->group_id, sizeof(md->group_id));
		} else if (name_is(n, "participant")) {
			parse_participant(md, n);
		} else if (name_is(n, "stream")) {
			parse_stream(md, n);
		} else if (name_is(n, "participantstreamassoc")) {
			char pid[CP_MD_ID];
			attr2(n, "participant_id", "participant", pid, sizeof(pid));
			add_send_recv(md, n, pid);
		}
		/* associations, extensiondata, vendor elements: ignored */
	}
	if (!md->group_id[0])
		snprintf(md->group_id, sizeof(md->group_id), "%s", group_ref);
}

static int has_doctype(const char *xml, size_t len)
{
	for (size_t i = 0; i + 9 <= len; i++)
		if (xml[i] == '<' && xml[i + 1] == '!' && strncasecmp(xml + i + 2, "DOCTYPE", 7) == 0)
			return 1;
	return 0;
}

/* The document with its recording root in *root, or NULL with *why. */
static xmlDoc *md_read(const char *xml, size_t len, xmlNode **root, const char **why)
{
	static int inited;
	xmlDoc *doc;

	/* blanks before the XML declaration (a blank line too many after the part's
	 * headers) would make libxml2 refuse it */
	while (xml && len && (*xml == ' ' || *xml == '\t' || *xml == '\r' || *xml == '\n')) {
		xml++;
		len--;
	}
	if (!xml || len == 0) {
		*why = "empty metadata";
		return NULL;
	}
	if (len > CP_MD_MAX_XML || len > (size_t)INT32_MAX) {
		*why = "metadata too large";
		return NULL;
	}
	if (memchr(xml, '\0', len)) {
		/* UTF-16/32 would hide a DOCTYPE from the scan below */
		*why = "metadata is not UTF-8 text";
		return NULL;
	}
	if (has_doctype(xml, len)) {
		*why = "DTD not allowed in metadata";
		return NULL;
	}
	if (!inited) {
		xmlInitParser();
		inited = 1;
	}
	doc = xmlReadMemory(xml, (int)len, "rs-metadata.xml", NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
			    XML_PARSE_NOCDATA);
	if (!doc) {
		*why = "metadata is not well-formed XML";
		return NULL;
	}
	if (doc->intSubset || doc->extSubset) {
		xmlFreeDoc(doc);
		*why = "DTD not allowed in metadata";
		return NULL;
	}
	*root = xmlDocGetRootElement(doc);
	if (!*root || (!name_is(*root, "recording") && !name_is(*root, "recording_metadata"))) {
		xmlFreeDoc(doc);
		*why = "no recording element in metadata";
		return NULL;
	}
	return doc;
}

int cp_metadata_parse(const char *xml, size_t len, struct cp_metadata *md, const char **why)
{
	const char *dummy;
	xmlDoc *doc;
	xmlNode *root = NULL;

	if (!why)
		why = &dummy;
	memset(md, 0, sizeof(*md));
	if ((doc = md_read(xml, len, &root, why)) == NULL)
		return -1;
	parse_root(md, root);
	xmlFreeDoc(doc);
	return 0;
}

/* RFC 7865's own top-level elements; anything else under the root is an extension. */
static int md_known(const xmlNode *n)
{
	static const char *const known[] = { "datamode", "session", "group", "participant",
					     "stream", "sessionrecordingassoc",
					     "participantsessionassoc", "participantstreamassoc" };

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (name_is(n, known[i]))
			return 1;
	return 0;
}

/* n as XML that stands alone: the namespaces it uses may be declared on an ancestor
 * (the SRC's <recording>), which xmlNodeDump leaves out; declared on n here (xmlNewNs
 * skips a prefix n declares itself). */
static unsigned md_emit(xmlDoc *doc, xmlNode *n, cp_md_ext_fn emit, void *arg)
{
	xmlBuffer *b = xmlBufferCreate();
	xmlNs **ns = xmlGetNsList(doc, n);

	for (size_t i = 0; ns != NULL && ns[i] != NULL; i++)
		(void)xmlNewNs(n, ns[i]->href, ns[i]->prefix);
	xmlFree(ns);
	if (b == NULL)
		return 0;
	if (xmlNodeDump(b, doc, n, 0, 0) > 0)
		emit(arg, (const char *)xmlBufferContent(b), (size_t)xmlBufferLength(b));
	xmlBufferFree(b);
	return 1;
}

int cp_metadata_extensions(const char *xml, size_t len, cp_md_ext_fn emit, void *arg)
{
	const char *why;
	xmlNode *root = NULL;
	xmlDoc *doc = md_read(xml, len, &root, &why);
	unsigned n = 0;

	if (doc == NULL)
		return -1;
	for (xmlNode *c = root->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (!md_known(c)) {
			n += md_emit(doc, c, emit, arg);
			continue;
		}
		for (xmlNode *g = c->children; g; g = g->next)
			if (name_is(g, "extensiondata"))
				n += md_emit(doc, g, emit, arg);
	}
	xmlFreeDoc(doc);
	return (int)n;
}

static void overlay(char *dst, const char *src, size_t n)
{
	if (src[0])
		snprintf(dst, n, "%s", src);
}

void cp_metadata_merge(struct cp_metadata *dst, const struct cp_metadata *upd)
{
	overlay(dst->session_id, upd->session_id, sizeof(dst->session_id));
	overlay(dst->group_id, upd->group_id, sizeof(dst->group_id));

	for (unsigned i = 0; i < upd->n_participants; i++) {
		const struct cp_md_participant *u = &upd->participants[i];
		struct cp_md_participant *d = NULL;

		/* by id; without one (SRCs that leave ids out), the same AoR is the same
		 * participant, so a repeated body does not list everyone twice */
		for (unsigned j = 0; j < dst->n_participants; j++)
			if (u->id[0] ? strcmp(dst->participants[j].id, u->id) == 0
				     : !dst->participants[j].id[0] && u->aor[0] &&
					       strcasecmp(dst->participants[j].aor, u->aor) == 0)
				d = &dst->participants[j];
		if (d) {
			overlay(d->name, u->name, sizeof(d->name));
			overlay(d->aor, u->aor, sizeof(d->aor));
		} else if (dst->n_participants < CP_MD_MAX) {
			dst->participants[dst->n_participants++] = *u;
		}
	}
	for (unsigned i = 0; i < upd->n_streams; i++) {
		const struct cp_md_stream *u = &upd->streams[i];
		struct cp_md_stream *d = NULL;

		for (unsigned j = 0; j < dst->n_streams; j++) /* by id, else by label */
			if (u->id[0] ? strcmp(dst->streams[j].id, u->id) == 0
				     : !dst->streams[j].id[0] && u->label[0] &&
					       strcmp(dst->streams[j].label, u->label) == 0)
				d = &dst->streams[j];
		if (d) {
			overlay(d->label, u->label, sizeof(d->label));
			overlay(d->session_id, u->session_id, sizeof(d->session_id));
		} else if (dst->n_streams < CP_MD_MAX) {
			dst->streams[dst->n_streams++] = *u;
		}
	}
	/* an association in an update replaces the participant's send/recv sets */
	for (unsigned i = 0; i < upd->n_assocs; i++) {
		const struct cp_md_assoc *u = &upd->assocs[i];
		struct cp_md_assoc *d = NULL;

		for (unsigned j = 0; u->participant_id[0] && j < dst->n_assocs; j++)
			if (strcmp(dst->assocs[j].participant_id, u->participant_id) == 0)
				d = &dst->assocs[j];
		if (d)
			*d = *u;
		else if (dst->n_assocs < CP_MD_MAX)
			dst->assocs[dst->n_assocs++] = *u;
	}
}

const struct cp_md_stream *cp_metadata_stream_by_label(const struct cp_metadata *md,
						       const char *label)
{
	if (!label || !label[0])
		return NULL;
	for (unsigned i = 0; i < md->n_streams; i++)
		if (strcmp(md->streams[i].label, label) == 0)
			return &md->streams[i];
	return NULL;
}

const struct cp_md_stream *cp_metadata_stream_by_id(const struct cp_metadata *md, const char *id)
{
	if (!id || !id[0])
		return NULL;
	for (unsigned i = 0; i < md->n_streams; i++)
		if (strcmp(md->streams[i].id, id) == 0)
			return &md->streams[i];
	return NULL;
}

const struct cp_md_participant *cp_metadata_sender(const struct cp_metadata *md,
						   const char *stream_id)
{
	if (!stream_id || !stream_id[0])
		return NULL;
	for (unsigned i = 0; i < md->n_assocs; i++) {
		const struct cp_md_assoc *a = &md->assocs[i];
		for (unsigned k = 0; k < a->n_send; k++) {
			if (strcmp(a->send[k], stream_id) != 0)
				continue;
			for (unsigned j = 0; j < md->n_participants; j++)
				if (strcmp(md->participants[j].id, a->participant_id) == 0)
					return &md->participants[j];
		}
	}
	return NULL;
}

void cp_metadata_apply(struct cp_metadata *dst, const struct cp_metadata *upd)
{
	if (upd->mode == CP_MD_MODE_COMPLETE)
		*dst = *upd;
	else
		cp_metadata_merge(dst, upd);
}
