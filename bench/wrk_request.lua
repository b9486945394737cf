-- wrk script for the benchmark harness, configured by environment variables:
--   BENCH_METHOD        HTTP method (default GET)
--   BENCH_BODY_FILE     file whose content is the request body (optional)
--   BENCH_HEADERS_FILE  file of "Name: value" lines to send (optional)
--   BENCH_MAX_REQUESTS  requests after which each thread stops (0: no cap)
-- done() prints one line, "BENCH_RESULT {json}", with latencies in
-- microseconds, for bench/load.py to parse.

local function read_file(path)
  local file = assert(io.open(path, "rb"))
  local content = file:read("*a")
  file:close()
  return content
end

wrk.method = os.getenv("BENCH_METHOD") or "GET"

local body_file = os.getenv("BENCH_BODY_FILE") or ""
if body_file ~= "" then
  wrk.body = read_file(body_file)
end

local headers_file = os.getenv("BENCH_HEADERS_FILE") or ""
if headers_file ~= "" then
  for line in io.lines(headers_file) do
    local name, value = line:match("^([^:]+):%s*(.-)%s*$")
    if name then
      wrk.headers[name] = value
    end
  end
end

local max_requests = tonumber(os.getenv("BENCH_MAX_REQUESTS") or "0") or 0
local sent = 0
local prepared = nil

-- Returns the same prepared request every time and stops the thread once
-- it has sent max_requests, so every run is bounded in count as well as time.
function request()
  if prepared == nil then
    prepared = wrk.format()
  end
  sent = sent + 1
  if max_requests > 0 and sent >= max_requests then
    wrk.thread:stop()
  end
  return prepared
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%.0f,"duration_us":%.0f,"bytes":%.0f,'
      .. '"errors":{"connect":%.0f,"read":%.0f,"write":%.0f,"status":%.0f,'
      .. '"timeout":%.0f},"latency_us":{"min":%.0f,"mean":%.1f,"stdev":%.1f,'
      .. '"max":%.0f,"p50":%.0f,"p90":%.0f,"p99":%.0f,"p999":%.0f}}\n',
    summary.requests, summary.duration, summary.bytes,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    latency.min, latency.mean, latency.stdev, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9)))
end
