-- wrk script for benchmarks/http_load.py. What to send comes from the environment, read
-- when each Lua state loads the script (wrk gives one to every thread, and one more to
-- setup and done):
--
--   HTTP_LOAD_MODE=fixed   (or unset) wrk's own static request: the URL, every time.
--   HTTP_LOAD_MODE=window  GET HTTP_LOAD_PATH&start=..&end=.., a different start minute on
--                          every request: HTTP_LOAD_START (epoch seconds) + k minutes, k
--                          taken in turn by the threads modulo HTTP_LOAD_SPAN; the end is
--                          HTTP_LOAD_DAYS days later. No two requests of a run repeat a
--                          query until SPAN of them were sent.
--   HTTP_LOAD_MODE=post    POST each line of HTTP_LOAD_FILE (a JSON body) to
--                          HTTP_LOAD_PATH once: thread t of HTTP_LOAD_THREADS sends lines
--                          t+1, t+1+THREADS, ... A thread that has sent its share stops and
--                          reports itself exhausted; response codes are counted. A thread's
--                          first request, and the one it makes when stopping, is a GET
--                          /healthz (see request()), answered 200 and not a booking.
--
-- done() prints one line, "HTTP_LOAD_JSON {...}", which http_load.py parses.

local mode = os.getenv("HTTP_LOAD_MODE") or "fixed"
local nthreads = tonumber(os.getenv("HTTP_LOAD_THREADS") or "1")
local threads = {}

-- Set by setup() before init() runs in the thread's own state.
tid = 0
statuses = {}
exhausted = false
sent = 0

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

if mode == "window" then
  local path = os.getenv("HTTP_LOAD_PATH")
  local base = tonumber(os.getenv("HTTP_LOAD_START"))
  local span = tonumber(os.getenv("HTTP_LOAD_SPAN"))
  local days = tonumber(os.getenv("HTTP_LOAD_DAYS") or "60")
  local k = nil

  local function stamp(t)
    return os.date("!%Y-%m-%dT%H:%M:%SZ", t)
  end

  function request()
    if k == nil then
      k = tid
    end
    local start = base + (k % span) * 60
    k = k + nthreads
    sent = sent + 1
    local query = "&start=" .. stamp(start) .. "&end=" .. stamp(start + days * 86400)
    return wrk.format("GET", path .. query)
  end
elseif mode == "post" then
  local path = os.getenv("HTTP_LOAD_PATH")
  local file = os.getenv("HTTP_LOAD_FILE")
  local requests = nil
  local i = 0
  local spare = nil

  local function load()
    requests = {}
    local n = 0
    local headers = { ["Content-Type"] = "application/json" }
    for line in io.lines(file) do
      if n % nthreads == tid and #line > 0 then
        table.insert(requests, wrk.format("POST", path, headers, line))
      end
      n = n + 1
    end
    spare = wrk.format("GET", "/healthz")
  end

  function request()
    if requests == nil then
      -- The first call in each thread's state answers a harmless read: wrk calls request()
      -- once in thread 0's state to check it and never sends that one, and no body may be
      -- lost to it. Where it is sent, it is counted apart (a 200, not a booking).
      load()
      return spare
    end
    i = i + 1
    if i > #requests then
      -- Nothing distinct left to book: stop this thread; the request it is made to send
      -- meanwhile is a harmless read, counted apart from the bookings.
      exhausted = true
      wrk.thread:stop()
      return spare
    end
    sent = sent + 1
    return requests[i]
  end

  function response(status, headers, body)
    local key = tostring(status)
    statuses[key] = (statuses[key] or 0) + 1
  end
end

local function json_counts(counts)
  local parts = {}
  for code, n in pairs(counts) do
    table.insert(parts, string.format('"%s": %d', code, n))
  end
  return "{" .. table.concat(parts, ", ") .. "}"
end

function done(summary, latency, requests)
  local total = {}
  local any_exhausted = false
  local total_sent = 0
  for _, thread in ipairs(threads) do
    for code, n in pairs(thread:get("statuses") or {}) do
      total[code] = (total[code] or 0) + n
    end
    if thread:get("exhausted") then
      any_exhausted = true
    end
    total_sent = total_sent + (thread:get("sent") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'HTTP_LOAD_JSON {"mode": "%s", "requests": %d, "duration_us": %d, "bytes": %d, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, '
      .. '"latency_us": {"min": %d, "mean": %.1f, "max": %d, "p50": %d, "p90": %d, "p99": %d}, '
      .. '"statuses": %s, "exhausted": %s, "sent": %d}\n',
    mode, summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.max,
    latency:percentile(50.0), latency:percentile(90.0), latency:percentile(99.0),
    json_counts(total), tostring(any_exhausted), total_sent
  ))
end
