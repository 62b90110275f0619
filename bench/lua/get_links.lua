-- wrk script: GET a customer's link page, each request from a client address of its own.
-- wrk -s get_links.lua URL -- PATHS_FILE FIRST_ADDRESS
-- PATHS_FILE holds one path a line (/l/<token>); request n of wrk thread t takes line n modulo their count
-- and sends X-Forwarded-For 10.x.y.z numbered from FIRST_ADDRESS + t * 1,000,000 + n (LinX behind
-- LINX_PROXY_HOPS=1 takes it as the customer's address, so its per-address limits see many customers).
-- done() prints "WRK_RESULT {json}" as post_numbered.lua does.

local thread_count = 0

function setup(thread)
  thread:set("thread_index", thread_count)
  thread_count = thread_count + 1
end

local paths, first, sent = {}, 0, 0

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then paths[#paths + 1] = line end
  end
  first = tonumber(args[2]) + thread_index * 1000000
end

function request()
  local path = paths[(sent + thread_index) % #paths + 1]
  local n = first + sent
  sent = sent + 1
  local address = string.format("10.%d.%d.%d", math.floor(n / 65536) % 256, math.floor(n / 256) % 256, n % 256)
  return wrk.format("GET", path, {["X-Forwarded-For"] = address})
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests": %d, "duration_us": %d, "status_errors": %d, "socket_errors": %d, ' ..
    '"p50_us": %d, "p99_us": %d, "mean_us": %.1f, "max_us": %d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean, latency.max))
end
