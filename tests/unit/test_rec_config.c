/* SPDX-License-Identifier: BSD-3-Clause
 * recording: keys of the config: defaults, every error as the user sees it
 * ("FILE:LINE:COL: message", "env:NAME: message"), environment overrides,
 * and the recorder parameters derived from them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/cfg.h"
#include "recorder/rec.h"

#include "ut_cfg.h"

/* One port, lines 1-4; the recording: mapping starts at line 5. */
#define P "ports:\n  - name: media0\n    device: net_tap0\n    ipv4: 192.0.2.10/24\n"

static void test_defaults(void **state)
{
	struct cfg *c = expect_ok(P);
	struct rec_params p;

	(void)state;
	assert_string_equal(c->recording.dir, "./recordings");
	assert_int_equal(c->recording.threads, 1);
	assert_int_equal(c->recording.sync_mode, CFG_REC_SYNC_INTERVAL);
	assert_int_equal(c->recording.sync_interval_ms, 1000);
	assert_int_equal(c->recording.rotate_bytes, 0);
	assert_int_equal(c->recording.rotate_seconds, 0);
	assert_int_equal(c->recording.file_mode_bits, 0644);
	assert_int_equal(c->recording.dir_mode_bits, 0755);
	assert_false(c->recording.refuse_when_full);
	assert_null(c->recording.on_close);
	assert_int_equal(c->recording.on_close_timeout_s, 60);
	rec_params_from_cfg(&p, c);
	assert_int_equal(p.threads, 1);
	assert_int_equal(p.max_streams, CFG_FLOW_RELOAD_SPARE + 2 * 1000); /* 2 per session */
	assert_int_equal(p.write_buffer, 256 * 1024);
	assert_int_equal(p.buffer_limit, 512ull << 20);
	assert_null(p.on_close);
	cfg_free(c);
}

static void test_all_keys(void **state)
{
	struct cfg *c = expect_ok(P "recording:\n  dir: /srv/rec\n  threads: 4\n  sync: CLOSE\n"
				    "  sync_interval_ms: 250\n  rotate_bytes: 10000000000\n"
				    "  rotate_seconds: 3600\n  file_mode: \"0600\"\n  dir_mode: 0750\n"
				    "  refuse_when_full: true\n  on_close: /bin/true {dir} x{file}\n"
				    "  on_close_timeout_s: 5\n  write_buffer_kb: 64\n  buffer_mb: 8\n");
	struct rec_params p;

	(void)state;
	assert_int_equal(c->recording.threads, 4);
	assert_int_equal(c->recording.sync_mode, CFG_REC_SYNC_CLOSE);
	assert_int_equal(c->recording.sync_interval_ms, 250);
	assert_int_equal(c->recording.rotate_bytes, 10000000000ull);
	assert_int_equal(c->recording.rotate_seconds, 3600);
	assert_int_equal(c->recording.file_mode_bits, 0600);
	assert_int_equal(c->recording.dir_mode_bits, 0750);
	assert_true(c->recording.refuse_when_full);
	rec_params_from_cfg(&p, c);
	assert_int_equal(p.sync, CFG_REC_SYNC_CLOSE);
	assert_int_equal(p.rotate_bytes, 10000000000ull);
	assert_int_equal(p.file_mode, 0600);
	assert_int_equal(p.write_buffer, 64 * 1024);
	assert_int_equal(p.buffer_limit, 8ull << 20);
	assert_string_equal(p.on_close, "/bin/true {dir} x{file}");
	assert_int_equal(p.on_close_timeout_s, 5);
	cfg_free(c);
}

static void test_errors(void **state)
{
	(void)state;
	expect_errors(P "recording:\n  threads: 17\n  sync: sometimes\n  sync_interval_ms: 5\n", 3,
		      "t.yaml:6:12: recording.threads: 17 is out of range (1..16)\n"
		      "t.yaml:7:9: recording.sync: 'sometimes' is not one of none, interval, close\n"
		      "t.yaml:8:21: recording.sync_interval_ms: 5 is out of range (10..3600000)\n");
	expect_errors(P "recording:\n  rotate_bytes: 100\n  rotate_seconds: 700000\n", 2,
		      "t.yaml:6:17: recording.rotate_bytes: 100 is out of range (0 = never, or "
		      "1024..1099511627776)\n"
		      "t.yaml:7:19: recording.rotate_seconds: 700000 is out of range (0..604800)\n");
	expect_errors(P "recording: {file_mode: \"0999\", dir_mode: \"0644\"}\n", 2,
		      "t.yaml:5:24: recording.file_mode: '0999' is not an octal mode like \"0640\"\n"
		      "t.yaml:5:42: recording.dir_mode: '0644' leaves the owner unable to write "
		      "into or enter the directories\n");
	expect_errors(P "recording: {file_mode: \"4755\", dir_mode: \"\"}\n", 2,
		      "t.yaml:5:24: recording.file_mode: '4755' sets bits above 0777 (setuid, "
		      "setgid, sticky)\n"
		      "t.yaml:5:42: recording.dir_mode: must not be empty\n");
	expect_errors(P "recording:\n  refuse_when_full: maybe\n", 1,
		      "t.yaml:6:21: recording.refuse_when_full: 'maybe' is not a boolean (true or "
		      "false)\n");
	expect_errors(P "recording:\n  on_close: upload.sh {dir}\n", 1,
		      "t.yaml:6:13: recording.on_close: 'upload.sh' is not an absolute path (no "
		      "shell runs the command)\n");
	expect_errors(P "recording:\n  on_close: /nonexistent/upload {dir} {when}\n", 2,
		      "t.yaml:6:13: recording.on_close: '/nonexistent/upload' is not an executable "
		      "file\n"
		      "t.yaml:6:13: recording.on_close: unknown placeholder at '{when}' (only {dir} "
		      "and {file})\n");
	expect_errors(P "recording:\n  on_close_timeout_s: 0\n  write_buffer_kb: 2\n"
			"  buffer_mb: 0\n", 3,
		      "t.yaml:6:23: recording.on_close_timeout_s: 0 is out of range (1..86400)\n"
		      "t.yaml:7:20: recording.write_buffer_kb: 2 is out of range (4..65536)\n"
		      "t.yaml:8:14: recording.buffer_mb: 0 is out of range (1..1048576)\n");
}

static void test_env(void **state)
{
	struct cfg *c;

	(void)state;
	setenv("RTPREC_RECORDING_THREADS", "2", 1);
	setenv("RTPREC_RECORDING_SYNC", "none", 1);
	setenv("RTPREC_RECORDING_FILE_MODE", "0640", 1);
	setenv("RTPREC_RECORDING_REFUSE_WHEN_FULL", "yes", 1);
	setenv("RTPREC_RECORDING_ROTATE_BYTES", "1048576", 1);
	c = expect_ok(P "recording: {dir: /tmp}\n");
	assert_int_equal(c->recording.threads, 2);
	assert_int_equal(c->recording.sync_mode, CFG_REC_SYNC_NONE);
	assert_int_equal(c->recording.file_mode_bits, 0640);
	assert_true(c->recording.refuse_when_full);
	assert_int_equal(c->recording.rotate_bytes, 1048576);
	cfg_free(c);
	setenv("RTPREC_RECORDING_SYNC", "always", 1);
	expect_errors(P "recording: {dir: /tmp}\n", 1,
		      "env:RTPREC_RECORDING_SYNC: recording.sync: 'always' is not one of none, "
		      "interval, close\n");
	unsetenv("RTPREC_RECORDING_THREADS");
	unsetenv("RTPREC_RECORDING_SYNC");
	unsetenv("RTPREC_RECORDING_FILE_MODE");
	unsetenv("RTPREC_RECORDING_REFUSE_WHEN_FULL");
	unsetenv("RTPREC_RECORDING_ROTATE_BYTES");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_all_keys),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_env),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
