#!/usr/bin/python3
"""Send RTP (G.711, 172-byte payloads) to one or two ports of a host, paced.

usage: rtp_send.py HOST PORT1 PORT2 COUNT SEQ0 [both|first|none2] [anyport]
Each stream has its own SSRC and source port (40000, 40002: the SDP's; ephemeral ones
with anyport, for calls that overlap); sequence numbers start at SEQ0 and timestamps at
SEQ0*160, so calls can continue a stream. Used from SIPp <exec> through
`ip netns exec`, so it must finish quickly and never hang."""
import socket
import struct
import sys
import time

SRC_PORT0 = 40000  # the ports the SIPp scenarios' SDP offers

def main():
    host, p1, p2, count, seq0 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    which = sys.argv[6] if len(sys.argv) > 6 else "both"
    ports = [(p1, 0x1111)] + ([(p2, 0x2222)] if which == "both" else [])
    # one socket per stream on a fixed port, as an SRC keeps its media ports across
    # re-INVITEs (rtprec latches on the source and holds it)
    socks = []
    for k in range(len(ports)):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("", 0 if "anyport" in sys.argv[7:] else SRC_PORT0 + 2 * k))
        socks.append(s)
    for i in range(count):
        seq = (seq0 + i) & 0xFFFF
        for (port, ssrc), s in zip(ports, socks):
            pkt = struct.pack("!BBHII", 0x80, 0, seq, (seq0 + i) * 160 & 0xFFFFFFFF, ssrc) + b"\xd5" * 160
            s.sendto(pkt, (host, port))
        time.sleep(0.004)


if __name__ == "__main__":
    main()
