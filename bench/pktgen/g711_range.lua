-- g711_range.lua: RTPREC_PG_STREAMS G.711-sized UDP flows in Pktgen range mode
-- (source address or source port swept per flow) at RTPREC_PG_PPS for
-- RTPREC_PG_SECONDS, then TX/RX counters. See README.md.
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
dofile(here .. "rtprec.lua").single("range")
