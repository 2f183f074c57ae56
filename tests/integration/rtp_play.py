#!/usr/bin/python3
"""Send RTP of any payload type and size from a network namespace, then tell SIPp.

usage: ip netns exec NS rtp_play.py --dst HOST [--fence PORT] [--notify PATH --call-id ID] SPEC...
SPEC: DPORT:SPORT:PT:SIZE:COUNT:SSRC:SEQ0[:ev]
  DPORT, SPORT  destination port (rtprec's answer) and source port (the SDP's);
  PT, SIZE      payload type and payload bytes (PCMU 0 / PCMA 8 / G.722 9: 160;
                G.729 18: 20; RFC 2833 events: 4, with `ev`);
  COUNT         packets; SSRC (hex or decimal); SEQ0 the first sequence number
                (timestamps follow it, so a stream continues across calls of this);
  ev            RFC 4733 telephone-events: one digit per 8 packets, the marker bit on
                an event's first packet, the E bit on its last, one timestamp per event.
The specs are sent round-robin, 1 ms apart. Once every packet is out (and the --fence
datagram after them) it sends an INFO with the call's Call-ID to the Unix datagram socket
PATH (a file, so it is reached from any network namespace): the test's relay passes it on
to SIPp once rtprec has counted the fence, and the scenario waits for it
(`<recv request="INFO">`) instead of sleeping.
Bounded: at most a few seconds for any sane SPEC."""
import argparse
import os
import socket
import struct
import time

CODEC_FILL = {0: b"\xff", 8: b"\xd5", 9: b"\x55", 18: b"\x0a"}


def packets(spec):
    """(dport, sport, [bytes, ...]) for one SPEC."""
    f = spec.split(":")
    dport, sport, pt, size, count = (int(x) for x in f[:5])
    ssrc, seq0 = int(f[5], 0), int(f[6])
    ev = len(f) > 7 and f[7] == "ev"
    out = []
    for i in range(count):
        seq = (seq0 + i) & 0xFFFF
        if ev:
            k = i % 8                      # packet k of the event (i // 8)
            ts = (seq0 + i - k) * 160
            marker = 0x80 if k == 0 else 0
            end = 0x80 if k == 7 or i == count - 1 else 0
            payload = struct.pack("!BBH", (i // 8) % 16, end | 10, (k + 1) * 160)
        else:
            ts, marker = (seq0 + i) * 160, 0
            payload = CODEC_FILL.get(pt, b"\x00") * size
        out.append(struct.pack("!BBHII", 0x80, marker | pt, seq, ts & 0xFFFFFFFF, ssrc)
                   + payload[:size])
    return dport, sport, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dst", required=True)
    ap.add_argument("--notify")
    ap.add_argument("--call-id", default="")
    ap.add_argument("--fence", type=int, default=0, help="then one datagram to this port")
    ap.add_argument("specs", nargs="*")
    a = ap.parse_args()
    streams, socks = [packets(s) for s in a.specs], {}
    for _, sport, _ in streams:
        if sport not in socks:
            s = socks[sport] = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("", sport))
    for i in range(max((len(p) for _, _, p in streams), default=0)):
        for dport, sport, pkts in streams:
            if i < len(pkts):
                socks[sport].sendto(pkts[i], (a.dst, dport))
        time.sleep(0.001)
    if a.fence:
        # to a port no flow holds: once rtprec counts it (no_flow), every packet
        # before it has been through the worker
        socks[streams[0][1]].sendto(b"fence", (a.dst, a.fence))
    if a.notify:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as note:
            note.sendto((f"INFO sip:src@127.0.0.1 SIP/2.0\r\n"
                         f"Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKrtp{os.getpid()}\r\n"
                         f"From: <sip:rtp@127.0.0.1>;tag=rtp{os.getpid()}\r\n"
                         f"To: <sip:src@127.0.0.1>\r\nCall-ID: {a.call_id}\r\nCSeq: 1 INFO\r\n"
                         "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n").encode(), a.notify)


if __name__ == "__main__":
    main()
