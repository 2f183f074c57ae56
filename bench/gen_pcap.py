#!/usr/bin/python3
"""Write a pcap of FLOWS RTP flows: G.711 20 ms frames (160-byte payload, 214 bytes
captured = 218 on the wire with FCS), src IP = BASE + i (one flow per source), same dst.
--packets P (default FLOWS) writes P packets going round the flows, each flow's RTP
sequence and timestamp advancing per round: benchmarks of different flow counts can then
replay inputs of one size. Checksums (IPv4 and UDP) are computed incrementally.

usage: gen_pcap.py FLOWS OUT.pcap [--packets P] [--src 100.64.0.1] [--sport 4000]
                   [--dst 192.0.2.10] [--dport 30000] [--dst-mac 02:70:63:61:70:00]
"""
import argparse
import ipaddress
import struct
import sys


def fold(s):
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def words_sum(b):
    return sum(struct.unpack("!%dH" % (len(b) // 2), b))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("flows", type=int)
    ap.add_argument("out")
    ap.add_argument("--packets", type=int, default=0)
    ap.add_argument("--src", default="100.64.0.1")
    ap.add_argument("--sport", type=int, default=4000)
    ap.add_argument("--dst", default="192.0.2.10")
    ap.add_argument("--dport", type=int, default=30000)
    ap.add_argument("--dst-mac", default="02:70:63:61:70:00")
    ap.add_argument("--src-mac", default="02:00:00:00:00:01")
    a = ap.parse_args()
    n = a.flows
    total = a.packets or n
    src0 = int(ipaddress.IPv4Address(a.src))
    if src0 + n - 1 > 0xFFFFFFFF:
        sys.exit("too many flows for that base address")
    dst = ipaddress.IPv4Address(a.dst).packed
    payload_len = 160
    rtp_len = 12 + payload_len
    udp_len = 8 + rtp_len
    ip_len = 20 + udp_len
    frame_len = 14 + ip_len  # 214: 218 on the wire with the FCS

    eth = bytes.fromhex(a.dst_mac.replace(":", "")) + bytes.fromhex(a.src_mac.replace(":", "")) + b"\x08\x00"
    # template with src ip 0, ssrc 0, checksums 0
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0xB8, ip_len, 0, 0, 64, 17, 0, b"\0\0\0\0", dst)
    # seq and timestamp 0 in the template: each packet adds its own to the checksum
    rtp = struct.pack("!BBHII", 0x80, 0, 0, 0, 0) + b"\xd5" * payload_len  # PCMU silence
    udp = struct.pack("!HHHH", a.sport, a.dport, udp_len, 0)
    ip_base = words_sum(ip)
    udp_base = words_sum(dst + b"\0\0") + 17 + udp_len + words_sum(udp) + words_sum(rtp)

    rec_hdr = struct.pack("<IIII", 1_700_000_000, 0, frame_len, frame_len)
    rec = rec_hdr + eth + ip + udp + rtp
    rl = len(rec)
    buf = bytearray(rec * total)
    o_ipck = 16 + 14 + 10
    o_src = 16 + 14 + 12
    o_udpck = 16 + 34 + 6
    o_ssrc = 16 + 42 + 8
    o_seq = 16 + 42 + 2
    o_usec = 4
    pack_into = struct.pack_into
    for j in range(total):
        i = j % n
        seq = (1 + j // n) & 0xFFFF
        ts = (160 * (1 + j // n)) & 0xFFFFFFFF
        s = src0 + i
        hi, lo = s >> 16, s & 0xFFFF
        ssrc = 0x10000000 + i
        ipck = (~fold(ip_base + hi + lo)) & 0xFFFF
        uck = (~fold(udp_base + hi + lo + (ssrc >> 16) + (ssrc & 0xFFFF) + seq + (ts >> 16)
                     + (ts & 0xFFFF))) & 0xFFFF
        if uck == 0:
            uck = 0xFFFF
        base = j * rl
        pack_into("<I", buf, base + o_usec, (j * 20) % 1_000_000)
        pack_into("!HI", buf, base + o_ipck, ipck, s)
        pack_into("!H", buf, base + o_udpck, uck)
        pack_into("!HII", buf, base + o_seq, seq, ts, ssrc)
    with open(a.out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        f.write(buf)
    print(f"{a.out}: {total} packets of {frame_len} bytes, {n} flows", file=sys.stderr)


if __name__ == "__main__":
    main()
