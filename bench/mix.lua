-- wrk script for bench/load.py: the request mix of issue 5, and per-status counts.
--
--   wrk -s bench/mix.lua URL -- MIX PREFIX NITEMS SEED STOCKITEMS [TOKEN]
--
-- MIX: "mix" (GET one item, GET a page of 20, POST one item, PATCH one item, POST an order of
-- two lines; a fifth each), or one of "get", "list", "post", "patch", "order" alone. PREFIX
-- makes POSTed names unique per run; NITEMS is the id range of the seeded items that GET and
-- PATCH use; orders take one unit each of two of the STOCKITEMS items seeded after them (ids
-- NITEMS + 1 ...), whose stock no PATCH touches and no run exhausts. TOKEN, when given and not
-- empty, goes on every request as "Authorization: Bearer TOKEN" (bench/identity.py). Prints
-- one line "BENCHJSON {...}" at the end.
--
-- Two request shapes for bench/paired.py's same-build pairs (issue 23): "order-keyed" is "order"
-- with an Idempotency-Key new on every request (PREFIX, which is new per run, the thread and a
-- counter), so each is a first claim, never a replay; an answer marked Idempotent-Replayed
-- counts as status "replayed" and fails the run. "get-304" is "get" with If-None-Match of the
-- seeded rows' tag, "1": no scenario of such a run writes those rows (orders take stock items),
-- so every answer should be a 304 and any 200 is counted as one.

local threads = {}
local next_tid = 0

function setup(thread)
  next_tid = next_tid + 1
  thread:set("tid", next_tid)
  table.insert(threads, thread)
end

local kinds_of = {
  mix = { "get", "list", "post", "patch", "order" },
  get = { "get" },
  list = { "list" },
  post = { "post" },
  patch = { "patch" },
  order = { "order" },
  ["order-keyed"] = { "order-keyed" },
  ["get-304"] = { "get-304" },
}
local plain_headers = {}
local json_headers = { ["Content-Type"] = "application/json" }
local conditional_headers = { ["If-None-Match"] = '"1"' }
local kinds, prefix, nitems, pages, stock_items
local counter = 0

function init(args)
  kinds = kinds_of[args[1] or "mix"]
  prefix = (args[2] or "w") .. "-" .. tid .. "-"
  nitems = tonumber(args[3] or "10000")
  pages = math.floor(nitems / 20)
  stock_items = tonumber(args[5] or "100")
  math.randomseed(tonumber(args[4] or "1") * 1000 + tid)
  local token = args[6] or ""
  if token ~= "" then
    plain_headers["Authorization"] = "Bearer " .. token
    json_headers["Authorization"] = "Bearer " .. token
    conditional_headers["Authorization"] = "Bearer " .. token
  end
  statuses = {}
  sent = {}
end

function request()
  local kind = kinds[math.random(#kinds)]
  sent[kind] = (sent[kind] or 0) + 1
  if kind == "get" then
    return wrk.format("GET", "/items/" .. math.random(nitems), plain_headers)
  elseif kind == "get-304" then
    return wrk.format("GET", "/items/" .. math.random(nitems), conditional_headers)
  elseif kind == "list" then
    return wrk.format("GET", "/items?page=" .. math.random(pages) .. "&page_size=20", plain_headers)
  elseif kind == "post" then
    counter = counter + 1
    local body = '{"name":"' .. prefix .. counter .. '","quantity":' .. math.random(0, 1000) .. '}'
    return wrk.format("POST", "/items", json_headers, body)
  elseif kind == "patch" then
    local body = '{"quantity":' .. math.random(0, 1000) .. '}'
    return wrk.format("PATCH", "/items/" .. math.random(nitems), json_headers, body)
  else
    -- two different stock items, in random order: orders that share items lock them in turn
    local first = math.random(stock_items)
    local second = (first + math.random(stock_items - 1) - 1) % stock_items + 1
    local body = string.format(
      '{"lines":[{"item_id":%d,"quantity":1},{"item_id":%d,"quantity":1}]}',
      nitems + first, nitems + second)
    if kind == "order" then
      return wrk.format("POST", "/orders", json_headers, body)
    end
    counter = counter + 1
    json_headers["Idempotency-Key"] = prefix .. counter
    local request = wrk.format("POST", "/orders", json_headers, body)
    json_headers["Idempotency-Key"] = nil
    return request
  end
end

function response(status, headers, body)
  -- uvicorn sends header names in lower case; the other spelling in case a proxy changes them
  if headers["idempotent-replayed"] or headers["Idempotent-Replayed"] then
    status = "replayed"
  end
  statuses[status] = (statuses[status] or 0) + 1
end

local function merged(name)
  local total = {}
  for _, thread in ipairs(threads) do
    for key, value in pairs(thread:get(name)) do
      total[key] = (total[key] or 0) + value
    end
  end
  local parts = {}
  for key, value in pairs(total) do
    table.insert(parts, string.format('"%s":%d', tostring(key), value))
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f},' ..
    '"statuses":%s,"sent":%s}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean, merged("statuses"), merged("sent")))
end
