/* SPDX-License-Identifier: BSD-3-Clause
 * rtprec-export: the command line. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exp.h"

static void exp_usage(FILE *out)
{
	fprintf(out,
		"usage: rtprec-export [OPTIONS] DIR\n"
		"\n"
		"Turn one call recorded by rtprec into WAV files (16-bit PCM).\n"
		"DIR holds media.pcap (and the rotation files media.1.pcap, media.2.pcap, ...,\n"
		"read in that order) and, if present, session.json.\n"
		"\n"
		"  -o, --output OUTDIR     write the WAV files there (created if missing)\n"
		"                          instead of DIR\n"
		"  -c, --channels L,R      streams for the left and right channel of call.wav,\n"
		"                          by file name without .wav (e.g. -c 2,1)\n"
		"  -q, --quiet             report errors only\n"
		"  -V, --version           print the version and exit\n"
		"  -h, --help              print this help and exit\n"
		"\n"
		"Streams: a packet belongs to the session.json stream whose local_port is its\n"
		"UDP destination port, else whose latched, else whose negotiated address is\n"
		"its source; the codecs come from that stream's rtpmap lines. Packets of no\n"
		"such stream (or all, without session.json) are grouped by SSRC, with the\n"
		"static payload types 0 PCMU, 8 PCMA, 9 G722.\n"
		"Decoded: PCMU and PCMA (8000 Hz), G722 (16000 Hz). Skipped and reported on\n"
		"stderr: RTCP, comfort noise (CN, 13), telephone-event, other codecs, UDP\n"
		"that is not RTP, and SRTP the recorder did not decrypt (session.json's\n"
		"\"srtp\" mode keep, or packets that failed authentication).\n"
		"\n"
		"Output: OUTDIR/<label>.wav per stream with audio, mono at its codec's rate\n"
		"(the label made file-safe; ssrc-XXXXXXXX.wav for streams grouped by SSRC),\n"
		"and OUTDIR/call.wav, stereo: left = the first stream, right = the second,\n"
		"in session.json order (the order of the SRC's m= lines; a SIPREC stream\n"
		"usually carries one participant), then streams grouped by SSRC in order of\n"
		"their first packet. -c chooses others; with one stream the right channel\n"
		"is silent.\n"
		"session.json does not say which participant sends which stream, so the\n"
		"channels are named by stream, not by participant.\n"
		"call.wav runs at the higher rate of its two streams; an 8000 Hz stream is\n"
		"brought to 16000 Hz by linear interpolation. The written paths are printed\n"
		"on stdout, one per line.\n"
		"\n"
		"Timing: samples are placed by RTP timestamp (wrap, out-of-order and\n"
		"duplicate packets handled); lost packets and pauses become silence. When the\n"
		"timestamps and the pcap arrival times disagree by more than %lld ms (a\n"
		"pause whose timestamps did not advance, a timestamp jump), and at an SSRC\n"
		"change, the stream goes on at its arrival time. A stream's file starts at\n"
		"its first sample; in call.wav the two streams are aligned on the pcap\n"
		"arrival time of their first packets.\n"
		"\n"
		"A pcap file that cannot be opened is reported and skipped; one that ends\n"
		"early (e.g. cut by kill -9) is used up to there.\n"
		"\n"
		"Exit status: 0 written, 1 nothing to export (no decodable audio),\n"
		"2 usage or I/O error (no readable media.pcap, a WAV not written).\n",
		EXP_TOLERANCE_NS / 1000000);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"output", required_argument, NULL, 'o'},
		{"channels", required_argument, NULL, 'c'},
		{"quiet", no_argument, NULL, 'q'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct exp_opts o = {0};
	char *channels = NULL, *comma;
	int c, rc;

	while ((c = getopt_long(argc, argv, "o:c:qVh", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			o.outdir = optarg;
			break;
		case 'c':
			channels = optarg;
			break;
		case 'q':
			o.quiet = 1;
			break;
		case 'V':
			printf("rtprec-export %s\n", RTPREC_VERSION);
			return 0;
		case 'h':
			exp_usage(stdout);
			return 0;
		default:
			exp_usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "rtprec-export: expected one call directory (see --help)\n");
		return 2;
	}
	o.dir = argv[optind];
	if (channels) {
		comma = strchr(channels, ',');
		if (comma == NULL || comma == channels || comma[1] == '\0' ||
		    strchr(comma + 1, ',')) {
			fprintf(stderr, "rtprec-export: --channels wants LEFT,RIGHT\n");
			return 2;
		}
		*comma = '\0';
		o.left = channels;
		o.right = comma + 1;
	}
	rc = exp_run(&o);
	if (fflush(stdout) != 0 && rc == 0)
		rc = 2;
	return rc;
}
