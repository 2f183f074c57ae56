#!/usr/bin/python3
"""The SRC's RTP in the NAT matrix, run inside a namespace with `ip netns exec`:
COUNT G.711 packets (160-byte payloads, 20 ms of timestamp each, paced 4 ms) on each
stream, from BIND (the SRC's own address) to DST.

usage: rtp_src.py BIND DST SEQ0 COUNT DPORT:SPORT:SSRC [DPORT:SPORT:SSRC ...]
SPORT 0 takes an ephemeral source port; SSRC in hex. Sequence numbers start at SEQ0
(timestamps at SEQ0*160), so a second batch continues a stream."""
import socket
import struct
import sys
import time


def main(argv):
    bind, dst, seq0, count = argv[1], argv[2], int(argv[3]), int(argv[4])
    streams = []
    for spec in argv[5:]:
        dport, sport, ssrc = spec.split(":")
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((bind, int(sport)))
        streams.append((s, int(dport), int(ssrc, 16)))
    for n in range(seq0, seq0 + count):
        for s, dport, ssrc in streams:
            head = struct.pack("!BBHII", 0x80, 0, n & 0xFFFF, (n * 160) & 0xFFFFFFFF, ssrc)
            s.sendto(head + b"\xff" * 160, (dst, dport))
        time.sleep(0.004)


if __name__ == "__main__":
    main(sys.argv)
