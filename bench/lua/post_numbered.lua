-- wrk script: POST a JSON body whose phone number is new on every request.
-- wrk -s post_numbered.lua URL -- PATH BODY_FILE FIRST_NUMBER [AUTHORIZATION]
-- BODY_FILE holds the body once, with +16471234567 where the number goes; request n of wrk thread t
-- sends to +1647 followed by FIRST_NUMBER + t * 100,000 + n on 7 digits, so no two requests of a
-- run (and of runs given FIRST_NUMBERs far enough apart) share a recipient. No Idempotency-Key.
-- done() prints one line, "WRK_RESULT {json}", that bench/wrk.py reads.

local thread_count = 0

function setup(thread)
  thread:set("thread_index", thread_count)
  thread_count = thread_count + 1
end

local head, tail, first, sent = nil, nil, 0, 0
local headers = {["Content-Type"] = "application/json"}

function init(args)
  path = args[1]
  local file = assert(io.open(args[2], "rb"))
  local text = file:read("*a")
  file:close()
  local at = assert(string.find(text, "+16471234567", 1, true), "the body names +16471234567")
  head, tail = string.sub(text, 1, at - 1), string.sub(text, at + 12)
  first = tonumber(args[3]) + thread_index * 100000
  if args[4] then headers["Authorization"] = args[4] end
end

function request()
  local number = string.format("+1647%07d", (first + sent) % 10000000)
  sent = sent + 1
  return wrk.format("POST", path, headers, head .. number .. tail)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests": %d, "duration_us": %d, "status_errors": %d, "socket_errors": %d, ' ..
    '"p50_us": %d, "p99_us": %d, "mean_us": %.1f, "max_us": %d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean, latency.max))
end
