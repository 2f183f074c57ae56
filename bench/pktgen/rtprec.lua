-- rtprec.lua: what the rtprec Pktgen-DPDK scripts share (loaded with dofile by
-- g711_range.lua, pcap_replay.lua and rate_sweep.lua; see README.md).
-- Settings come from RTPREC_PG_* environment variables so one script serves any
-- bench without editing. The `pktgen` global is only touched inside functions,
-- so `luac -p` and a mock can load this file outside Pktgen.

local M = {}

-- G.711 20 ms RTP frame: 160 B payload + 12 RTP + 8 UDP + 20 IPv4 + 14 Ethernet = 214 B,
-- 218 B with the FCS (Pktgen's "size" counts the FCS), 238 B on the wire with
-- preamble and inter-frame gap.
M.G711_FRAME = 218
M.WIRE_OVERHEAD = 20

-- Payload pattern in range mode: an RTP v2 header (PT 8, PCMA) so the device under
-- test sees RTP, not Pktgen's "abcd..." fill. Pktgen copies it as a C string, hence
-- no zero byte; every packet of a stream carries the same sequence and timestamp.
M.RTP_PATTERN = "\x80\x08\x01\x01\x01\x01\x01\x01\x52\x54\x50\x01"

local function env(name, default)
  local v = os.getenv(name)
  if v == nil or v == "" then
    return default
  end
  return v
end

local function envnum(name, default)
  local s = env(name, tostring(default))
  local v = tonumber(s)
  if v == nil then
    error(name .. "=" .. s .. " is not a number")
  end
  return v
end

function M.ip2int(s)
  local a, b, c, d = s:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if a == nil then
    error("not an IPv4 address: " .. s)
  end
  return ((tonumber(a) * 256 + tonumber(b)) * 256 + tonumber(c)) * 256 + tonumber(d)
end

function M.int2ip(n)
  return string.format("%d.%d.%d.%d", (n >> 24) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255)
end

function M.config()
  local c = {
    tx = env("RTPREC_PG_TX", "0"),
    rx = env("RTPREC_PG_RX", "1"),
    streams = math.tointeger(envnum("RTPREC_PG_STREAMS", 1000)),
    sweep = env("RTPREC_PG_SWEEP", "ip"),
    src_ip = env("RTPREC_PG_SRC_IP", "100.64.0.1"),
    sport = math.tointeger(envnum("RTPREC_PG_SPORT", 4000)),
    dst_ip = env("RTPREC_PG_DST_IP", "192.0.2.10"),
    dport = math.tointeger(envnum("RTPREC_PG_DPORT", 30000)),
    dst_mac = env("RTPREC_PG_DST_MAC", "02:70:63:61:70:00"),
    src_mac = env("RTPREC_PG_SRC_MAC", nil),
    frame = math.tointeger(envnum("RTPREC_PG_FRAME", M.G711_FRAME)),
    link_mbps = envnum("RTPREC_PG_LINK_MBPS", 10000),
    seconds = envnum("RTPREC_PG_SECONDS", 10),
    drain_ms = math.tointeger(envnum("RTPREC_PG_DRAIN_MS", 1000)),
    mode = env("RTPREC_PG_MODE", "range"),
    rates = env("RTPREC_PG_RATES", "100000,500000,1000000,2000000,3000000,4000000,5000000,5252100"),
    max_loss = envnum("RTPREC_PG_MAX_LOSS", 0.0001),
    csv = env("RTPREC_PG_CSV", nil),
    quit = env("RTPREC_PG_QUIT", "0") == "1",
  }
  if c.streams == nil or c.streams < 1 then
    error("RTPREC_PG_STREAMS must be a positive integer")
  end
  c.pps = envnum("RTPREC_PG_PPS", c.streams * 50)
  if c.sweep ~= "ip" and c.sweep ~= "port" then
    error("RTPREC_PG_SWEEP must be ip or port, not " .. c.sweep)
  end
  if c.sweep == "port" and c.sport + 2 * (c.streams - 1) > 65535 then
    error("too many streams for one source address: use RTPREC_PG_SWEEP=ip")
  end
  return c
end

-- Pktgen's rate is a percentage of the link speed, counted on the wire.
function M.pps_to_pct(pps, frame, link_mbps)
  return pps * (frame + M.WIRE_OVERHEAD) * 8 * 100 / (link_mbps * 1e6)
end

function M.rates(c)
  local list = {}
  for item in c.rates:gmatch("[^,%s]+") do
    local v = tonumber(item)
    if v == nil or v <= 0 then
      error("RTPREC_PG_RATES: bad rate " .. item)
    end
    list[#list + 1] = v
  end
  return list
end

-- One range field: start = min, max, increment.
local function range_field(fn, port, first, last, inc)
  fn(port, "start", first)
  fn(port, "min", first)
  fn(port, "max", last)
  fn(port, "inc", inc)
end

-- Range mode: one G.711-sized UDP flow per source address (sweep "ip", like
-- rtprec-gen --src) or per even source port of one address (sweep "port").
function M.setup_range(c)
  local R = pktgen.range
  local p = c.tx
  local first = M.ip2int(c.src_ip)
  local n = c.streams - 1

  pktgen.set_type(p, "ipv4")
  pktgen.set_proto(p, "udp")
  R.dst_mac(p, "start", c.dst_mac)
  if c.src_mac then
    R.src_mac(p, "start", c.src_mac)
  end
  if c.sweep == "ip" then
    range_field(R.src_ip, p, c.src_ip, M.int2ip(first + n), "0.0.0.1")
    range_field(R.src_port, p, c.sport, c.sport, 0)
  else
    range_field(R.src_ip, p, c.src_ip, c.src_ip, "0.0.0.0")
    range_field(R.src_port, p, c.sport, c.sport + 2 * n, 2)
  end
  range_field(R.dst_ip, p, c.dst_ip, c.dst_ip, "0.0.0.0")
  range_field(R.dst_port, p, c.dport, c.dport, 0)
  range_field(R.pkt_size, p, c.frame, c.frame, 0)
  pktgen.pattern(p, "user")
  pktgen.userPattern(p, M.RTP_PATTERN)
  pktgen.set_range(p, "on")
end

-- Pcap mode: Pktgen was started with -s PORT:FILE (a pcap from rtprec-gen).
function M.setup_pcap(c)
  pktgen.pcap(c.tx, "on")
end

function M.setup(c)
  if c.mode == "range" then
    M.setup_range(c)
  elseif c.mode == "pcap" then
    M.setup_pcap(c)
  else
    error("RTPREC_PG_MODE must be range or pcap, not " .. c.mode)
  end
end

-- Port counters across Pktgen versions: portStats(list, "port") returned the
-- counters per port; newer ones take portStats(list) and nest them in "curr".
function M.counters(port)
  local ok, t = pcall(pktgen.portStats, port, "port")
  if not ok or type(t) ~= "table" then
    t = pktgen.portStats(port)
  end
  local e = t[tonumber(port)] or t[port]
  if e == nil then
    error("portStats has no entry for port " .. port)
  end
  e = e.curr or e
  return {
    ipackets = e.ipackets or 0, opackets = e.opackets or 0,
    ierrors = e.ierrors or 0, oerrors = e.oerrors or 0,
    imissed = e.imissed or 0, rx_nombuf = e.rx_nombuf or 0,
  }
end

-- Pktgen's own packet counters (tx_failed, dropped_pkts, ...), {} when absent.
function M.pkt_counters(port)
  local ok, t = pcall(pktgen.pktStats, port)
  if not ok or type(t) ~= "table" then
    return {}
  end
  return t[tonumber(port)] or t[port] or {}
end

local function delta(a, b, k)
  return (b[k] or 0) - (a[k] or 0)
end

-- One point: send at pps for c.seconds, wait c.drain_ms, and compare what the TX
-- port sent with what the RX port received.
function M.run_point(c, pps)
  local pct = M.pps_to_pct(pps, c.frame, c.link_mbps)
  if pct > 100 then
    pct = 100
  end
  pktgen.stop(c.tx)
  pktgen.set(c.tx, "count", 0)
  pktgen.set(c.tx, "rate", pct)
  local tx0, rx0 = M.counters(c.tx), M.counters(c.rx)
  local pk0 = M.pkt_counters(c.tx)
  pktgen.start(c.tx)
  pktgen.delay(math.floor(c.seconds * 1000))
  pktgen.stop(c.tx)
  pktgen.delay(c.drain_ms)
  local tx1, rx1 = M.counters(c.tx), M.counters(c.rx)
  local pk1 = M.pkt_counters(c.tx)
  local sent = delta(tx0, tx1, "opackets")
  local recv = delta(rx0, rx1, "ipackets")
  local lost = sent - recv
  return {
    pps = pps, pct = pct, seconds = c.seconds,
    sent = sent, received = recv, lost = lost,
    loss = sent > 0 and lost / sent or 0,
    tx_pps = sent / c.seconds, rx_pps = recv / c.seconds,
    imissed = delta(rx0, rx1, "imissed"), ierrors = delta(rx0, rx1, "ierrors"),
    oerrors = delta(tx0, tx1, "oerrors"), tx_failed = delta(pk0, pk1, "tx_failed"),
  }
end

-- Reported fields, in order; counts and rates print as integers, the rest with 6 digits.
local FIELDS = {"pps", "pct", "seconds", "sent", "received", "lost", "loss", "tx_pps",
                "rx_pps", "imissed", "ierrors", "oerrors", "tx_failed"}
local INTEGERS = {sent = true, received = true, lost = true, imissed = true, ierrors = true,
                  oerrors = true, tx_failed = true, pps = true, tx_pps = true, rx_pps = true}

local function fmt(k, v)
  if INTEGERS[k] then
    return string.format("%.0f", v)
  end
  return string.format("%.6g", v)
end

function M.report(c, r)
  local kv, vals = {}, {}
  for _, k in ipairs(FIELDS) do
    kv[#kv + 1] = k .. "=" .. fmt(k, r[k])
    vals[#vals + 1] = fmt(k, r[k])
  end
  print("rtprec-pktgen: " .. c.mode .. " streams=" .. c.streams .. " " .. table.concat(kv, " "))
  if c.csv then
    local f = io.open(c.csv, "a")
    if f == nil then
      error("cannot append to " .. c.csv)
    end
    if f:seek("end") == 0 then
      f:write("mode,streams," .. table.concat(FIELDS, ",") .. "\n")
    end
    f:write(c.mode .. "," .. c.streams .. "," .. table.concat(vals, ",") .. "\n")
    f:close()
  end
end

function M.finish(c)
  if c.quit then
    pktgen.quit()
  end
end

-- One point at RTPREC_PG_PPS in the given mode (g711_range.lua, pcap_replay.lua).
function M.single(mode)
  local c = M.config()
  c.mode = mode
  pktgen.screen("off")
  M.setup(c)
  M.report(c, M.run_point(c, c.pps))
  M.finish(c)
end

return M
