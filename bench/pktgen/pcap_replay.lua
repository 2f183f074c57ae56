-- pcap_replay.lua: replays the pcap Pktgen loaded with -s PORT:FILE (written by
-- rtprec-gen --pcap-out: real RTP sequence numbers, timestamps and SSRCs) at
-- RTPREC_PG_PPS for RTPREC_PG_SECONDS, then TX/RX counters. See README.md.
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
dofile(here .. "rtprec.lua").single("pcap")
