-- rate_sweep.lua: one point per rate in RTPREC_PG_RATES (packets/s), in range or
-- pcap mode (RTPREC_PG_MODE), each RTPREC_PG_SECONDS long; prints every point and
-- the highest rate whose loss stayed within RTPREC_PG_MAX_LOSS. See README.md.
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
local rt = dofile(here .. "rtprec.lua")

local c = rt.config()
local best = nil
pktgen.screen("off")
rt.setup(c)
for _, pps in ipairs(rt.rates(c)) do
  local r = rt.run_point(c, pps)
  rt.report(c, r)
  if r.sent > 0 and r.loss <= c.max_loss and (best == nil or r.tx_pps > best.tx_pps) then
    best = r
  end
end
if best then
  print(string.format("rtprec-pktgen: best %s streams=%d pps=%.0f tx_pps=%.0f loss=%.6g",
                      c.mode, c.streams, best.pps, best.tx_pps, best.loss))
else
  print(string.format("rtprec-pktgen: best %s streams=%d none within loss %.6g",
                      c.mode, c.streams, c.max_loss))
end
rt.finish(c)
