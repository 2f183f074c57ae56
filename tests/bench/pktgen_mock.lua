-- pktgen_mock.lua SCRIPT: runs a bench/pktgen script under plain Lua 5.3 with a
-- stand-in `pktgen` global that checks each call against Pktgen-DPDK's Lua API
-- (names, argument counts, value formats) and simulates port counters: the TX
-- port sends at the set rate, the RX port receives at most MOCK_CAPACITY_PPS.
-- MOCK_PORTSTATS=new answers portStats like newer Pktgen (one argument, "curr").
-- Any misuse raises an error, so the process exits non-zero.

local script = arg[1]
if script == nil then
  io.stderr:write("usage: lua5.3 pktgen_mock.lua SCRIPT.lua\n")
  os.exit(2)
end

local capacity = tonumber(os.getenv("MOCK_CAPACITY_PPS") or "3000000")
local new_api = os.getenv("MOCK_PORTSTATS") == "new"
local link_mbps = tonumber(os.getenv("RTPREC_PG_LINK_MBPS") or "10000")
local calls = 0

local ports = {}
local function port(pl)
  local pid = tonumber(pl)
  if pid == nil or math.type(pid) ~= "integer" or pid < 0 or pid > 31 then
    error("mock: bad port list '" .. tostring(pl) .. "' (use one port number)", 3)
  end
  ports[pid] = ports[pid] or {ipackets = 0, opackets = 0, rate = 100, on = false,
                              size = tonumber(os.getenv("RTPREC_PG_FRAME") or "218")}
  return ports[pid]
end

local function nargs(name, n, ...)
  calls = calls + 1
  if select("#", ...) ~= n then
    error(string.format("mock: pktgen.%s takes %d arguments, got %d", name, n,
                        select("#", ...)), 3)
  end
end

local function oneof(name, v, set)
  for _, s in ipairs(set) do
    if v == s then
      return
    end
  end
  error("mock: pktgen." .. name .. ": unexpected value '" .. tostring(v) .. "'", 3)
end

local function is_ip(v)
  return type(v) == "string" and v:match("^%d+%.%d+%.%d+%.%d+$") ~= nil
end

local function is_mac(v)
  return type(v) == "string" and
         (v:match("^%x%x:%x%x:%x%x:%x%x:%x%x:%x%x$") or
          v:match("^%x%x%x%x:%x%x%x%x:%x%x%x%x$"))
end

local function int_in(name, v, lo, hi)
  if math.type(tonumber(v)) ~= "integer" or tonumber(v) < lo or tonumber(v) > hi then
    error("mock: pktgen." .. name .. ": " .. tostring(v) .. " not in " .. lo .. ".." .. hi, 3)
  end
end

-- range.FIELD(portlist, "start"|"min"|"max"|"inc", value)
local function range_fn(name, check)
  return function(...)
    nargs("range." .. name, 3, ...)
    local pl, what, v = ...
    local p = port(pl)
    oneof("range." .. name, what, {"start", "min", "max", "inc"})
    check(name, v)
    if name == "pkt_size" and what == "start" then
      p.size = v
    end
  end
end

-- FN(portlist, value) with value one of set
local function port_choice(name, set)
  return function(...)
    nargs(name, 2, ...)
    local pl, v = ...
    port(pl)
    oneof(name, v, set)
  end
end

local function ip_value(name, v)
  if not is_ip(v) then
    error("mock: range." .. name .. ": not an IPv4 address: " .. tostring(v), 4)
  end
end
local function mac_value(name, v)
  if not is_mac(v) then
    error("mock: range." .. name .. ": not a MAC: " .. tostring(v), 4)
  end
end
local function port_value(name, v) int_in("range." .. name, v, 0, 65535) end
local function size_value(name, v) int_in("range." .. name, v, 0, 9216) end

local function advance(ms)
  for _, p in pairs(ports) do
    if p.on then
      local pps = p.rate / 100 * link_mbps * 1e6 / ((p.size + 20) * 8)
      local n = math.floor(pps * ms / 1000)
      p.opackets = p.opackets + n
      local rx = ports[tonumber(os.getenv("RTPREC_PG_RX") or "1")] or p
      rx.ipackets = rx.ipackets + math.floor(math.min(pps, capacity) * ms / 1000)
    end
  end
end

local function stats_entry(p)
  local e = {ipackets = p.ipackets, opackets = p.opackets, ibytes = 0, obytes = 0,
             ierrors = 0, oerrors = 0, rx_nombuf = 0, imissed = 0}
  return new_api and {curr = e, sizes = {}, qstats = {}} or e
end

local api = {
  set = function(...)
    nargs("set", 3, ...)
    local pl, what, v = ...
    local p = port(pl)
    oneof("set", what, {"count", "size", "rate", "burst", "sport", "dport", "ttl", "prime"})
    if what == "rate" then
      if type(v) ~= "number" or v < 0 or v > 100 then error("mock: rate is a percentage", 2) end
      p.rate = v
    elseif what == "size" then
      p.size = v
    end
  end,
  start = function(...) nargs("start", 1, ...); port(...).on = true end,
  stop = function(...) nargs("stop", 1, ...); port(...).on = false end,
  set_mac = function(...)
    nargs("set_mac", 3, ...)
    local pl, which, mac = ...
    port(pl); oneof("set_mac", which, {"src", "dst"})
    if not is_mac(mac) then error("mock: set_mac: bad MAC", 2) end
  end,
  set_ipaddr = function(...)
    nargs("set_ipaddr", 3, ...)
    local pl, which, ip = ...
    port(pl); oneof("set_ipaddr", which, {"src", "dst"})
    if not is_ip((ip:gsub("/%d+$", ""))) then error("mock: set_ipaddr: bad address", 2) end
  end,
  set_proto = port_choice("set_proto", {"udp", "tcp", "icmp"}),
  set_type = port_choice("set_type", {"ipv4", "ipv6"}),
  pcap = port_choice("pcap", {"on", "off"}),
  set_range = port_choice("set_range", {"on", "off"}),
  pattern = port_choice("pattern", {"abc", "none", "zero", "user"}),
  userPattern = function(...)
    nargs("userPattern", 2, ...)
    local pl, s = ...
    port(pl)
    if type(s) ~= "string" or s:find("\0", 1, true) then
      error("mock: userPattern: Pktgen copies a C string", 2)
    end
  end,
  screen = function(...) nargs("screen", 1, ...); oneof("screen", ..., {"on", "off"}) end,
  delay = function(...) nargs("delay", 1, ...); int_in("delay", ..., 0, 3600000); advance(...) end,
  clr = function(...) nargs("clr", 0, ...) end,
  quit = function(...) nargs("quit", 0, ...) end,
  pktStats = function(...)
    nargs("pktStats", 1, ...)
    local pid = tonumber(...)
    port(pid)
    local e = {arp_pkts = 0, echo_pkts = 0, ip_pkts = 0, dropped_pkts = 0, tx_failed = 0}
    return {[pid] = e, n = 1}
  end,
  portStats = function(...)
    local n = select("#", ...)
    if new_api and n ~= 1 then error("portStats, wrong number of arguments", 2) end
    if not new_api then nargs("portStats", 2, ...) else calls = calls + 1 end
    local pl, kind = ...
    if not new_api then oneof("portStats", kind, {"port", "rate"}) end
    local pid = tonumber(pl)
    return {[pid] = stats_entry(port(pid)), n = 1}
  end,
  range = setmetatable({
    dst_mac = range_fn("dst_mac", mac_value),
    src_mac = range_fn("src_mac", mac_value),
    src_ip = range_fn("src_ip", ip_value),
    dst_ip = range_fn("dst_ip", ip_value),
    src_port = range_fn("src_port", port_value),
    dst_port = range_fn("dst_port", port_value),
    pkt_size = range_fn("pkt_size", size_value),
    ttl = range_fn("ttl", size_value),
  }, {__index = function(_, k) error("mock: no pktgen.range." .. tostring(k), 2) end}),
}

pktgen = setmetatable(api, {
  __index = function(_, k) error("mock: no pktgen." .. tostring(k) .. " in the API", 2) end,
})

dofile(script)
io.stderr:write(string.format("mock: %s made %d pktgen calls\n", script, calls))
