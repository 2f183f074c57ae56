/* SPDX-License-Identifier: BSD-3-Clause
 * cp_metadata: RFC 7865 rs-metadata as SRCs send it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "ut_data.h"

#include "controlplane/siprec/cp_metadata.h"


static struct cp_metadata md; /* big: keep it off the stack */
static struct cp_metadata md2;

static int parse(const char *xml, struct cp_metadata *m, const char **why)
{
	return cp_metadata_parse(xml, strlen(xml), m, why);
}

static void check_snapshot(const struct cp_metadata *m)
{
	assert_string_equal(m->session_id, "Tz3Xq0y1SpqkU9uf2mRZrw==");
	assert_string_equal(m->group_id, "Gq7vM2lLSqe8c0EYPZwVBA==");
	assert_int_equal(m->n_participants, 2);
	assert_string_equal(m->participants[0].id, "pA1cE7u0QyGmQ3tHbFh6ZA==");
	assert_string_equal(m->participants[0].name, "Alice Liddell");
	assert_string_equal(m->participants[0].aor, "sip:alice@atlanta.example.com");
	assert_string_equal(m->participants[1].id, "pB0bK2d9RkWn5sLqJcX4Ug==");
	assert_string_equal(m->participants[1].name, "Bob");
	assert_string_equal(m->participants[1].aor, "sip:+15551230002@biloxi.example.com");
	assert_int_equal(m->n_streams, 2);
	assert_string_equal(m->streams[0].id, "sT1mN4xYQe2kP8vR0aBcDw==");
	assert_string_equal(m->streams[0].label, "1");
	assert_string_equal(m->streams[0].session_id, "Tz3Xq0y1SpqkU9uf2mRZrw==");
	assert_string_equal(m->streams[1].id, "sT2pQ6zWRf3lS9wT1bCdEx==");
	assert_string_equal(m->streams[1].label, "2");
	assert_int_equal(m->n_assocs, 2);
	assert_string_equal(m->assocs[0].participant_id, "pA1cE7u0QyGmQ3tHbFh6ZA==");
	assert_int_equal(m->assocs[0].n_send, 1);
	assert_string_equal(m->assocs[0].send[0], "sT1mN4xYQe2kP8vR0aBcDw==");
	assert_int_equal(m->assocs[0].n_recv, 1);
	assert_string_equal(m->assocs[0].recv[0], "sT2pQ6zWRf3lS9wT1bCdEx==");
	assert_string_equal(m->assocs[1].participant_id, "pB0bK2d9RkWn5sLqJcX4Ug==");
	assert_string_equal(m->assocs[1].send[0], "sT2pQ6zWRf3lS9wT1bCdEx==");
	assert_string_equal(m->assocs[1].recv[0], "sT1mN4xYQe2kP8vR0aBcDw==");
}

static void test_snapshot(void **state)
{
	const char *why = NULL;
	size_t len;
	char *xml = ut_slurp("metadata_snapshot.xml", &len);
	(void)state;

	assert_int_equal(cp_metadata_parse(xml, len, &md, &why), 0);
	check_snapshot(&md);

	const struct cp_md_stream *s = cp_metadata_stream_by_label(&md, "2");
	assert_non_null(s);
	assert_string_equal(s->id, "sT2pQ6zWRf3lS9wT1bCdEx==");
	assert_null(cp_metadata_stream_by_label(&md, "3"));
	assert_null(cp_metadata_stream_by_label(&md, ""));
	assert_ptr_equal(cp_metadata_stream_by_id(&md, "sT1mN4xYQe2kP8vR0aBcDw=="), &md.streams[0]);
	assert_ptr_equal(cp_metadata_sender(&md, "sT1mN4xYQe2kP8vR0aBcDw=="), &md.participants[0]);
	assert_ptr_equal(cp_metadata_sender(&md, "sT2pQ6zWRf3lS9wT1bCdEx=="), &md.participants[1]);
	assert_null(cp_metadata_sender(&md, "nope"));
	free(xml);
}

/* The same snapshot under each namespace SRCs use, prefixed or not. */
static void test_namespaces(void **state)
{
	static const char *const roots[][2] = {
		{ "<recording xmlns=\"urn:ietf:params:xml:ns:recording:1\">", "</recording>" },
		{ "<recording xmlns=\"urn:ietf:params:xml:ns:recording\">", "</recording>" },
		{ "<recording>", "</recording>" },
		{ "<rs:recording xmlns:rs=\"urn:ietf:params:xml:ns:recording:1\">", "</rs:recording>" },
		{ "<Recording xmlns='urn:ietf:params:xml:ns:siprec'>", "</Recording>" },
	};
	static const char inner[] =
		"<session session_id=\"S1\"/>"
		"<participant participant_id=\"P1\"><nameID aor=\"sip:a@x\"><name>A</name></nameID></participant>"
		"<stream stream_id=\"T1\" session_id=\"S1\"><label>7</label></stream>";
	(void)state;

	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		char xml[1024], pre[256];
		const char *why = NULL;

		/* the prefixed root needs prefixed children to stay in its namespace;
		 * names are compared by local name anyway */
		snprintf(pre, sizeof(pre), "%s", roots[i][0]);
		snprintf(xml, sizeof(xml), "<?xml version='1.0'?>%s%s%s", pre, inner, roots[i][1]);
		assert_int_equal(parse(xml, &md, &why), 0);
		assert_string_equal(md.session_id, "S1");
		assert_int_equal(md.n_participants, 1);
		assert_string_equal(md.participants[0].aor, "sip:a@x");
		assert_string_equal(md.participants[0].name, "A");
		assert_int_equal(md.n_streams, 1);
		assert_string_equal(md.streams[0].label, "7");
	}
	const char *why = NULL;
	assert_int_equal(parse("<rs:recording xmlns:rs='urn:ietf:params:xml:ns:recording:1'>"
			       "<rs:participant participant_id='P9'><rs:nameID aor='sip:p@q'/>"
			       "</rs:participant></rs:recording>", &md, &why), 0);
	assert_string_equal(md.participants[0].id, "P9");
	assert_string_equal(md.participants[0].aor, "sip:p@q");
}

/* Vendor root recording_metadata, draft-era layout: id/session attributes,
 * <aor>/<name> and <send>/<recv> directly in <participant>, dataMode. */
static void test_vendor_root(void **state)
{
	static const char xml[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n"
		"<recording_metadata xmlns=\"urn:ietf:params:xml:ns:siprec\">\r\n"
		"  <dataMode>complete</dataMode>\r\n"
		"  <session id=\"0000-1111-2222\">\r\n"
		"    <ExtensionData xmlns:v=\"http://vendor.example/xml\">\r\n"
		"      <v:ucid>00001234561732528800</v:ucid>\r\n"
		"    </ExtensionData>\r\n"
		"  </session>\r\n"
		"  <participant id=\"part-1\" session=\"0000-1111-2222\">\r\n"
		"    <aor>sip:4000@pbx.example.net</aor>\r\n"
		"    <name>Front Desk</name>\r\n"
		"    <send>st-1</send>\r\n"
		"    <recv>st-2</recv>\r\n"
		"  </participant>\r\n"
		"  <participant id=\"part-2\" session=\"0000-1111-2222\">\r\n"
		"    <aor>tel:+4930123456</aor>\r\n"
		"    <send>st-2</send>\r\n"
		"  </participant>\r\n"
		"  <stream id=\"st-1\" session=\"0000-1111-2222\">\r\n"
		"    <label>1001</label><mode>separate</mode>\r\n"
		"  </stream>\r\n"
		"  <stream id=\"st-2\" session=\"0000-1111-2222\">\r\n"
		"    <label>1002</label><mode>separate</mode>\r\n"
		"  </stream>\r\n"
		"</recording_metadata>\r\n";
	const char *why = NULL;
	(void)state;

	assert_int_equal(parse(xml, &md, &why), 0);
	assert_string_equal(md.session_id, "0000-1111-2222");
	assert_string_equal(md.group_id, "");
	assert_int_equal(md.n_participants, 2);
	assert_string_equal(md.participants[0].id, "part-1");
	assert_string_equal(md.participants[0].aor, "sip:4000@pbx.example.net");
	assert_string_equal(md.participants[0].name, "Front Desk");
	assert_string_equal(md.participants[1].aor, "tel:+4930123456");
	assert_string_equal(md.participants[1].name, "");
	assert_int_equal(md.n_streams, 2);
	assert_string_equal(md.streams[0].id, "st-1");
	assert_string_equal(md.streams[0].label, "1001");
	assert_string_equal(md.streams[1].session_id, "0000-1111-2222");
	assert_int_equal(md.n_assocs, 2);
	assert_string_equal(md.assocs[0].participant_id, "part-1");
	assert_int_equal(md.assocs[0].n_send, 1);
	assert_string_equal(md.assocs[0].send[0], "st-1");
	assert_string_equal(md.assocs[0].recv[0], "st-2");
	assert_string_equal(md.assocs[1].participant_id, "part-2");
	assert_int_equal(md.assocs[1].n_recv, 0);
	assert_ptr_equal(cp_metadata_sender(&md, "st-2"), &md.participants[1]);
}

/* dataMode vs datamode, upper-case element and attribute names. */
static void test_case_insensitive(void **state)
{
	static const char a[] =
		"<recording xmlns='urn:ietf:params:xml:ns:recording:1'><datamode>partial</datamode>"
		"<group group_id='G'/><session session_id='S'/>"
		"<participant participant_id='P'><nameID aor='sip:x@y'><name>X</name></nameID></participant>"
		"<stream stream_id='T' session_id='S'><label>5</label></stream>"
		"<participantstreamassoc participant_id='P'><send>T</send></participantstreamassoc>"
		"</recording>";
	static const char b[] =
		"<recording xmlns='urn:ietf:params:xml:ns:recording:1'><dataMode>partial</dataMode>"
		"<Group Group_ID='G'/><Session Session_Id='S'/>"
		"<Participant PARTICIPANT_ID='P'><NameId AoR='sip:x@y'><Name>X</Name></NameId></Participant>"
		"<Stream Stream_Id='T' Session_Id='S'><Label>5</Label></Stream>"
		"<participantStreamAssoc participant_id='P'><Send>T</Send></participantStreamAssoc>"
		"</recording>";
	const char *why = NULL;
	(void)state;

	assert_int_equal(parse(a, &md, &why), 0);
	assert_int_equal(parse(b, &md2, &why), 0);
	assert_memory_equal(&md, &md2, sizeof(md));
	assert_string_equal(md2.group_id, "G");
	assert_string_equal(md2.participants[0].aor, "sip:x@y");
	assert_string_equal(md2.streams[0].label, "5");
	assert_string_equal(md2.assocs[0].send[0], "T");
}

static void test_missing_ids_unknown_elements(void **state)
{
	static const char xml[] =
		"<recording xmlns='urn:ietf:params:xml:ns:recording:1'>"
		"<vendor:callinfo xmlns:vendor='urn:x-vendor'><vendor:id>42</vendor:id></vendor:callinfo>"
		"<session><sipSessionID>abc</sipSessionID><group-ref>GR1</group-ref></session>"
		"<participant><nameID aor='sip:anon@x'><name>  Anon  </name></nameID><foo/></participant>"
		"<participant participant_id=''/>"
		"<stream stream_id=''><label> 3 </label><unknown>u</unknown></stream>"
		"<stream/>"
		"<participantstreamassoc><send></send><recv>x</recv></participantstreamassoc>"
		"<extensiondata><anything><deep><deeper/></deep></anything></extensiondata>"
		"</recording>";
	const char *why = NULL;
	(void)state;

	assert_int_equal(parse(xml, &md, &why), 0);
	assert_string_equal(md.session_id, "");
	assert_string_equal(md.group_id, "GR1"); /* from the session's group-ref */
	assert_int_equal(md.n_participants, 2);
	assert_string_equal(md.participants[0].id, "");
	assert_string_equal(md.participants[0].name, "Anon");
	assert_string_equal(md.participants[0].aor, "sip:anon@x");
	assert_string_equal(md.participants[1].aor, "");
	assert_int_equal(md.n_streams, 2);
	assert_string_equal(md.streams[0].id, "");
	assert_string_equal(md.streams[0].label, "3");
	assert_string_equal(md.streams[1].label, "");
	assert_int_equal(md.n_assocs, 1);
	assert_string_equal(md.assocs[0].participant_id, "");
	assert_int_equal(md.assocs[0].n_send, 0);
	assert_int_equal(md.assocs[0].n_recv, 1);
	assert_null(cp_metadata_stream_by_id(&md, ""));
}

static void test_limits(void **state)
{
	char xml[16384];
	size_t o = 0;
	const char *why = NULL;
	(void)state;

	o += (size_t)snprintf(xml + o, sizeof(xml) - o, "<recording>");
	for (int i = 0; i < 20; i++)
		o += (size_t)snprintf(xml + o, sizeof(xml) - o,
				      "<participant participant_id='p%d'/><stream stream_id='s%d'/>", i, i);
	o += (size_t)snprintf(xml + o, sizeof(xml) - o,
			      "<participantstreamassoc participant_id='p0'>"
			      "<send>1</send><send>2</send><send>3</send><send>4</send><send>5</send>"
			      "</participantstreamassoc><session session_id='");
	for (int i = 0; i < 100; i++)
		xml[o++] = 'x';
	o += (size_t)snprintf(xml + o, sizeof(xml) - o, "'/></recording>");
	assert_int_equal(cp_metadata_parse(xml, o, &md, &why), 0);
	assert_int_equal(md.n_participants, CP_MD_MAX);
	assert_int_equal(md.n_streams, CP_MD_MAX);
	assert_string_equal(md.streams[15].id, "s15");
	assert_int_equal(md.assocs[0].n_send, 4);
	assert_string_equal(md.assocs[0].send[3], "4");
	assert_int_equal(strlen(md.session_id), CP_MD_ID - 1);
}

static void test_malformed(void **state)
{
	const char *why = NULL;
	(void)state;

	assert_int_equal(parse("<recording><participant></recording>", &md, &why), -1);
	assert_string_equal(why, "metadata is not well-formed XML");
	assert_int_equal(parse("not xml at all", &md, &why), -1);
	assert_string_equal(why, "metadata is not well-formed XML");
	assert_int_equal(parse("<html><body/></html>", &md, &why), -1);
	assert_string_equal(why, "no recording element in metadata");
	assert_int_equal(cp_metadata_parse("", 0, &md, &why), -1);
	assert_string_equal(why, "empty metadata");
	/* XXE and entity bombs: no DTD at all */
	assert_int_equal(parse("<?xml version='1.0'?><!DOCTYPE r [<!ENTITY x SYSTEM "
			       "'file:///etc/passwd'>]><recording><session session_id='&x;'/>"
			       "</recording>", &md, &why), -1);
	assert_string_equal(why, "DTD not allowed in metadata");
	assert_int_equal(parse("<!doctype recording><recording/>", &md, &why), -1);
	assert_string_equal(why, "DTD not allowed in metadata");
	/* UTF-16 (here with a BOM) cannot hide one either */
	static const char u16[] = "\xff\xfe<\0r\0/\0>\0";
	assert_int_equal(cp_metadata_parse(u16, sizeof(u16) - 1, &md, &why), -1);
	assert_string_equal(why, "metadata is not UTF-8 text");
	/* an undeclared entity is not well-formed */
	assert_int_equal(parse("<recording><session session_id='&x;'/></recording>", &md, &why), -1);
	/* predefined entities are fine */
	assert_int_equal(parse("<recording><participant participant_id='a&amp;b'>"
			       "<nameID><name>A &lt;B&gt;</name></nameID></participant></recording>",
			       &md, &why), 0);
	assert_string_equal(md.participants[0].id, "a&b");
	assert_string_equal(md.participants[0].name, "A <B>");
	assert_int_equal(parse("<recording/>", &md, NULL), 0);
	assert_int_equal(md.n_participants, 0);
}

/* A blank line too many after the part's headers (so blanks before the XML
 * declaration, which libxml2 refuses) is no reason to refuse the call. */
static void test_leading_blanks(void **state)
{
	const char *why = NULL;
	(void)state;

	assert_int_equal(parse("\r\n \t<?xml version='1.0' encoding='UTF-8'?>\r\n<recording>"
			       "<datamode>complete</datamode></recording>", &md, &why), 0);
	assert_int_equal(md.mode, CP_MD_MODE_COMPLETE);
	assert_int_equal(parse("\r\n\r\n", &md, &why), -1);
	assert_string_equal(why, "empty metadata");
}

/* RFC 7865 section 6: a partial update replaces or adds elements by id;
 * placeholder participants get their real names. */
static void test_merge(void **state)
{
	static const char upd[] =
		"<recording xmlns='urn:ietf:params:xml:ns:recording:1'><datamode>partial</datamode>"
		"<participant participant_id='pB0bK2d9RkWn5sLqJcX4Ug=='>"
		"<nameID aor='sip:bob.real@biloxi.example.com'><name>Bob Real</name></nameID></participant>"
		"<participant participant_id='pC'><nameID aor='sip:carol@chicago.example.com'/></participant>"
		"<participant participant_id='pA1cE7u0QyGmQ3tHbFh6ZA=='><nameID/></participant>"
		"<stream stream_id='sT3' session_id='Tz3Xq0y1SpqkU9uf2mRZrw=='><label>3</label></stream>"
		"<stream stream_id='sT2pQ6zWRf3lS9wT1bCdEx=='><label>22</label></stream>"
		"<participantstreamassoc participant_id='pC'><send>sT3</send></participantstreamassoc>"
		"<participantstreamassoc participant_id='pB0bK2d9RkWn5sLqJcX4Ug=='>"
		"<recv>sT3</recv></participantstreamassoc>"
		"</recording>";
	const char *why = NULL;
	size_t len;
	char *xml = ut_slurp("metadata_snapshot.xml", &len);
	(void)state;

	assert_int_equal(cp_metadata_parse(xml, len, &md, &why), 0);
	assert_int_equal(parse(upd, &md2, &why), 0);
	cp_metadata_merge(&md, &md2);

	assert_string_equal(md.session_id, "Tz3Xq0y1SpqkU9uf2mRZrw==");
	assert_string_equal(md.group_id, "Gq7vM2lLSqe8c0EYPZwVBA==");
	assert_int_equal(md.n_participants, 3);
	assert_string_equal(md.participants[0].name, "Alice Liddell"); /* empty fields keep */
	assert_string_equal(md.participants[0].aor, "sip:alice@atlanta.example.com");
	assert_string_equal(md.participants[1].name, "Bob Real");
	assert_string_equal(md.participants[1].aor, "sip:bob.real@biloxi.example.com");
	assert_string_equal(md.participants[2].id, "pC");
	assert_string_equal(md.participants[2].aor, "sip:carol@chicago.example.com");
	assert_int_equal(md.n_streams, 3);
	assert_string_equal(md.streams[1].label, "22");
	assert_string_equal(md.streams[1].session_id, "Tz3Xq0y1SpqkU9uf2mRZrw==");
	assert_string_equal(md.streams[2].id, "sT3");
	assert_string_equal(md.streams[2].label, "3");
	assert_int_equal(md.n_assocs, 3);
	/* Bob's association replaced as a whole */
	assert_int_equal(md.assocs[1].n_send, 0);
	assert_int_equal(md.assocs[1].n_recv, 1);
	assert_string_equal(md.assocs[1].recv[0], "sT3");
	assert_string_equal(md.assocs[2].participant_id, "pC");
	assert_ptr_equal(cp_metadata_sender(&md, "sT3"), &md.participants[2]);
	assert_ptr_equal(cp_metadata_stream_by_label(&md, "22"), &md.streams[1]);

	/* merging a snapshot into an empty state gives the snapshot */
	assert_int_equal(cp_metadata_parse(xml, len, &md2, &why), 0);
	memset(&md, 0, sizeof(md));
	cp_metadata_merge(&md, &md2);
	check_snapshot(&md);
	/* merging it again changes nothing */
	cp_metadata_merge(&md, &md2);
	check_snapshot(&md);
	free(xml);
}

/* <dataMode>: complete replaces the state, partial (or none) merges. */
static void test_datamode(void **state)
{
	static const char partial[] =
		"<recording xmlns='urn:ietf:params:xml:ns:recording:1'><dataMode>partial</dataMode>"
		"<participant participant_id='pC'><nameID aor='sip:carol@chicago.example.com'/></participant>"
		"</recording>";
	static const char bare[] =
		"<recording xmlns='urn:ietf:params:xml:ns:recording:1'>"
		"<participant participant_id='pD'><nameID aor='sip:dave@example.com'/></participant>"
		"</recording>";
	static const char complete[] =
		"<recording xmlns='urn:ietf:params:xml:ns:recording:1'><datamode>COMPLETE</datamode>"
		"<session session_id='s2'/>"
		"<participant participant_id='pE'><nameID aor='sip:erin@example.com'/></participant>"
		"</recording>";
	const char *why = NULL;
	size_t len;
	char *xml = ut_slurp("metadata_snapshot.xml", &len);
	(void)state;

	assert_int_equal(cp_metadata_parse(xml, len, &md, &why), 0);
	assert_int_equal(md.mode, CP_MD_MODE_COMPLETE);
	assert_int_equal(parse(partial, &md2, &why), 0);
	assert_int_equal(md2.mode, CP_MD_MODE_PARTIAL);
	cp_metadata_apply(&md, &md2);
	assert_int_equal(md.n_participants, 3);
	assert_int_equal(parse(bare, &md2, &why), 0);
	assert_int_equal(md2.mode, CP_MD_MODE_UNSET);
	cp_metadata_apply(&md, &md2);
	assert_int_equal(md.n_participants, 4);
	assert_int_equal(md.n_streams, 2);
	assert_int_equal(parse(complete, &md2, &why), 0);
	cp_metadata_apply(&md, &md2);
	assert_int_equal(md.n_participants, 1);
	assert_string_equal(md.participants[0].id, "pE");
	assert_string_equal(md.session_id, "s2");
	assert_int_equal(md.n_streams, 0);
	assert_int_equal(md.n_assocs, 0);
	free(xml);
}

/* Participants and streams without ids (an SRC that leaves them out) repeated in a later
 * body are the same ones: matched by AoR and by label, not listed twice. */
static void test_merge_without_ids(void **state)
{
	static const char xml[] =
		"<recording xmlns=\"urn:ietf:params:xml:ns:recording:1\">"
		"<participant><nameID aor=\"sip:a@x\"><name>A</name></nameID></participant>"
		"<participant><nameID aor=\"sip:b@x\"/></participant>"
		"<stream><label>1</label></stream></recording>";
	struct cp_metadata acc, md;
	(void)state;

	assert_int_equal(cp_metadata_parse(xml, sizeof(xml) - 1, &acc, NULL), 0);
	assert_int_equal(cp_metadata_parse(xml, sizeof(xml) - 1, &md, NULL), 0);
	cp_metadata_apply(&acc, &md);
	assert_int_equal(acc.n_participants, 2);
	assert_int_equal(acc.n_streams, 1);
	assert_string_equal(acc.participants[0].name, "A");
}

struct ext_seen {
	char xml[4][256];
	unsigned n;
};

static void ext_collect(void *arg, const char *xml, size_t len)
{
	struct ext_seen *e = arg;

	assert_true(e->n < 4 && len < sizeof(e->xml[0]));
	memcpy(e->xml[e->n], xml, len);
	e->xml[e->n++][len] = '\0';
}

/* Vendor blocks come back verbatim: unknown top-level elements and <extensiondata>
 * inside known ones; RFC 7865's own elements do not. */
static void test_extensions(void **state)
{
	static const char xml[] =
		"<?xml version=\"1.0\"?>"
		"<recording xmlns=\"urn:ietf:params:xml:ns:recording:1\">"
		"<datamode>complete</datamode>"
		"<session session_id=\"s1\"><extensiondata xmlns:apkt=\"http://acme/x\">"
		"<apkt:ucid>00FA080018803B69</apkt:ucid></extensiondata></session>"
		"<participant participant_id=\"p1\"><nameID aor=\"sip:a@x\"/></participant>"
		"<callData xmlns=\"http://vendor.example/cd\"><trunk>7</trunk></callData>"
		"</recording>";
	struct ext_seen e = { .n = 0 };
	(void)state;

	assert_int_equal(cp_metadata_extensions(xml, sizeof(xml) - 1, ext_collect, &e), 2);
	assert_non_null(strstr(e.xml[0], "<extensiondata"));
	assert_non_null(strstr(e.xml[0], "00FA080018803B69"));
	assert_non_null(strstr(e.xml[1], "<callData"));
	assert_non_null(strstr(e.xml[1], "<trunk>7</trunk>"));
	assert_int_equal(cp_metadata_extensions("<x/>", 4, ext_collect, &e), -1);
}

/* A vendor prefix declared on <recording> (not on the block itself) is declared in the
 * block as given back, and so is the recording namespace of an <extensiondata>: each
 * block parses on its own. */
static void test_extension_namespaces(void **state)
{
	static const char xml[] =
		"<?xml version=\"1.0\"?>"
		"<recording xmlns=\"urn:ietf:params:xml:ns:recording:1\" xmlns:v=\"urn:x\">"
		"<datamode>partial</datamode>"
		"<v:info v:k=\"1\">2</v:info>"
		"<session session_id=\"s1\"><extensiondata><v:id>3</v:id></extensiondata></session>"
		"</recording>";
	struct ext_seen e = { .n = 0 };
	(void)state;

	assert_int_equal(cp_metadata_extensions(xml, sizeof(xml) - 1, ext_collect, &e), 2);
	for (unsigned i = 0; i < 2; i++) {
		xmlDoc *d = xmlReadMemory(e.xml[i], (int)strlen(e.xml[i]), NULL, NULL,
					  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);

		assert_non_null(strstr(e.xml[i], "xmlns:v=\"urn:x\""));
		assert_non_null(d);
		assert_string_equal((const char *)xmlDocGetRootElement(d)->ns->href,
				    i ? "urn:ietf:params:xml:ns:recording:1" : "urn:x");
		xmlFreeDoc(d);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snapshot),
		cmocka_unit_test(test_namespaces),
		cmocka_unit_test(test_extension_namespaces),
		cmocka_unit_test(test_vendor_root),
		cmocka_unit_test(test_case_insensitive),
		cmocka_unit_test(test_missing_ids_unknown_elements),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_leading_blanks),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_datamode),
		cmocka_unit_test(test_extensions),
		cmocka_unit_test(test_merge_without_ids),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
