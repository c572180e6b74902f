-- wrk script of bench/soak.sh: every request gets a random method, a random path of 1 to 6
-- segments (letters, digits, percent-escapes, dots) with a random query, and a body of
-- 0..4 KiB for methods that carry one. HEAD is left out: wrk would wait for a body. Script arguments
-- (wrk ... -- GET PUT) replace the methods.
local methods = { "GET", "GET", "GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS" }
local alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~"

local function word(max)
  local n = math.random(1, max)
  local out = {}
  for i = 1, n do
    local r = math.random(1, #alphabet + 4)
    if r > #alphabet then
      out[i] = string.format("%%%02X", math.random(0, 255))
    else
      out[i] = alphabet:sub(r, r)
    end
  end
  return table.concat(out)
end

-- Status codes counted per thread, summed at the end ("status 200 1234" lines).
local threads = {}
statuses = {}

function setup(thread)
  table.insert(threads, thread)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + count
    end
  end
  for status, count in pairs(total) do
    io.write(string.format("status %d %d\n", status, count))
  end
end

function init(args)
  if #args > 0 then
    methods = args
  end
  math.randomseed(os.time() + (tonumber(tostring({}):match("0x(%x+)"), 16) or 0) % 100000)
end

function request()
  local method = methods[math.random(#methods)]
  local segments = {}
  for i = 1, math.random(1, 6) do
    segments[i] = word(12)
  end
  local path = "/" .. table.concat(segments, "/") .. "?q=" .. word(16)
  local body = nil
  local headers = {}
  if method == "POST" or method == "PUT" or method == "PATCH" then
    body = string.rep("x", math.random(0, 4096))
    headers["Content-Type"] = "text/plain"
  end
  return wrk.format(method, path, headers, body)
end
