-- wrk script for the benchmark harness, configured by environment variables:
--   BENCH_METHOD        HTTP method (default GET)
--   BENCH_BODY_FILE     file whose content is the request body (optional)
--   BENCH_HEADERS_FILE  file of "Name: value" lines to send (optional)
--   BENCH_MAX_REQUESTS  requests after which each thread stops (0: no cap)
--   BENCH_REQUESTS_FILE lines of "METHOD<tab>PATH<tab>AUTHORIZATION<tab>BODY_FILE"
--                       (optional); each request is one of them at random,
--                       with the headers above, instead of the fixed request
-- done() prints one line, "BENCH_RESULT {json}", with latencies in
-- microseconds and the count of requests sent, for bench/load.py to parse.

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
local requests_file = os.getenv("BENCH_REQUESTS_FILE") or ""
local threads = {}
local choices = nil
sent = 0

local function split_tabs(line)
  local fields = {}
  for field in (line .. "\t"):gmatch("([^\t]*)\t") do
    fields[#fields + 1] = field
  end
  return fields
end

-- Formats every request of the requests file once, with the shared headers.
local function load_choices()
  local loaded = {}
  for line in io.lines(requests_file) do
    local fields = split_tabs(line)
    if #fields >= 3 then
      local headers = {}
      for name, value in pairs(wrk.headers) do
        headers[name] = value
      end
      headers["Authorization"] = fields[3]
      local body = nil
      if fields[4] and fields[4] ~= "" then
        body = read_file(fields[4])
      end
      loaded[#loaded + 1] = wrk.format(fields[1], fields[2], headers, body)
    end
  end
  assert(#loaded > 0, "no requests in " .. requests_file)
  return loaded
end

function setup(thread)
  threads[#threads + 1] = thread
end

function init(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
end

-- Returns the same prepared request every time, or a random one of the
-- requests file, and stops the thread once it has sent max_requests, so
-- every run is bounded in count as well as time.
function request()
  if choices == nil then
    if requests_file ~= "" then
      choices = load_choices()
    else
      choices = { wrk.format() }
    end
  end
  sent = sent + 1
  if max_requests > 0 and sent >= max_requests then
    wrk.thread:stop()
  end
  if #choices == 1 then
    return choices[1]
  end
  return choices[math.random(#choices)]
end

function done(summary, latency, requests)
  local errors = summary.errors
  local total_sent = 0
  for _, thread in ipairs(threads) do
    total_sent = total_sent + (tonumber(thread:get("sent")) or 0)
  end
  io.write(string.format(
    'BENCH_RESULT {"requests":%.0f,"sent":%.0f,"duration_us":%.0f,"bytes":%.0f,'
      .. '"errors":{"connect":%.0f,"read":%.0f,"write":%.0f,"status":%.0f,'
      .. '"timeout":%.0f},"latency_us":{"min":%.0f,"mean":%.1f,"stdev":%.1f,'
      .. '"max":%.0f,"p50":%.0f,"p90":%.0f,"p99":%.0f,"p999":%.0f}}\n',
    summary.requests, total_sent, summary.duration, summary.bytes,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    latency.min, latency.mean, latency.stdev, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9)))
end
