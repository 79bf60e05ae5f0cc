-- wrk script of the bench: GET /json/<ip> in the traffic shapes of geoip_load.c, which
-- it follows address for address where the shape allows (uniform, pool, same) and in law
-- where it does not (zipf, v6 draw from LuaJIT's math.random instead of splitmix64).
--
--   wrk -t 2 -c 50 -d 3s -s wrk_shapes.lua http://127.0.0.1:8080/ -- SHAPE SEED OFFSET 2 [ARG]
--
-- SHAPE: uniform | pool (ARG: the address file, one a line) | zipf (ARG: the number of
-- distinct addresses, default 1000000) | same (ARG: the address, default 81.2.69.142) | v6.
-- Thread t of T (the 4th argument: wrk's -t) asks address OFFSET + t + k*T of the shape.

local bit = require("bit")
local TWO32 = 4294967296

local threads = 0
function setup(thread)
  thread:set("thread_number", threads)
  threads = threads + 1
end

local function u32(x)
  return x % TWO32
end

-- a * b mod 2^32, exact in doubles (every product stays below 2^53).
local function mul32(a, b)
  local low = a * (b % 65536)
  local high = (a * math.floor(b / 65536)) % 65536
  return (low + high * 65536) % TWO32
end

local function lowbias32(x)
  x = u32(bit.bxor(x, bit.rshift(x, 16)))
  x = mul32(x, 0x7feb352d)
  x = u32(bit.bxor(x, bit.rshift(x, 15)))
  x = mul32(x, 0x846ca68b)
  x = u32(bit.bxor(x, bit.rshift(x, 16)))
  return x
end

-- Address i of a stream under a seed: the same bijection as mix32() in geoip_load.c.
local function mix32(i, seed, stream)
  local key = lowbias32(u32(mul32(seed, 0x9e3779b9) + mul32(stream, 0x85ebca6b) + 0x6a09e667))
  return lowbias32(u32(lowbias32(u32(bit.bxor(i, key))) + key))
end

local function ipv4(a)
  return string.format("%d.%d.%d.%d", math.floor(a / 16777216), math.floor(a / 65536) % 256,
    math.floor(a / 256) % 256, a % 256)
end

local V6_PREFIXES = { 0x2001, 0x2409, 0x240e, 0x2601, 0x2603, 0x2a01, 0x2a02, 0x2804 }

local shape, seed, counter, step
local pool, pool_count, cumulative, universe, address

function init(args)
  shape = args[1] or "uniform"
  seed = tonumber(args[2] or "1")
  step = tonumber(args[4] or "1")
  counter = tonumber(args[3] or "0") + thread_number
  math.randomseed(seed * 7919 + counter)
  if shape == "pool" then
    pool, pool_count = {}, 0
    for line in io.lines(args[5]) do
      if line ~= "" then
        pool_count = pool_count + 1
        pool[pool_count] = "/json/" .. line
      end
    end
  elseif shape == "zipf" then
    universe = tonumber(args[5] or "1000000")
    cumulative = {}
    local sum = 0
    for k = 1, universe do
      sum = sum + 1 / k
      cumulative[k] = sum
    end
  elseif shape == "same" then
    address = "/json/" .. (args[5] or "81.2.69.142")
  elseif shape ~= "uniform" and shape ~= "v6" then
    error("unknown shape " .. shape)
  end
end

local function zipf_rank()
  local u = math.random() * cumulative[universe]
  local low, high = 1, universe
  while low < high do
    local middle = math.floor((low + high) / 2)
    if cumulative[middle] > u then high = middle else low = middle + 1 end
  end
  return low - 1
end

local function v6()
  local groups = { string.format("%x", V6_PREFIXES[math.random(#V6_PREFIXES)]) }
  for g = 2, 8 do groups[g] = string.format("%x", math.random(0, 65535)) end
  return table.concat(groups, ":")
end

function request()
  local i = counter
  counter = counter + step
  local path
  if shape == "uniform" then
    path = "/json/" .. ipv4(mix32(i % TWO32, seed, 0))
  elseif shape == "pool" then
    path = pool[i % pool_count + 1]
  elseif shape == "zipf" then
    path = "/json/" .. ipv4(mix32(zipf_rank(), seed, 1))
  elseif shape == "same" then
    path = address
  else
    path = "/json/" .. v6()
  end
  return wrk.format("GET", path)
end
