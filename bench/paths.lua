-- wrk script: each thread sends its own share of the prepared requests, in turn.
-- BENCH_REQUESTS names a file of lines "METHOD<TAB>PATH<TAB>HEADER: value|HEADER: value<TAB>BODY".
local counter = 0
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end

local requests = {}
local i = 0
function init(args)
  local threads = tonumber(os.getenv("BENCH_THREADS") or "2")
  local n = 0
  for line in io.lines(os.getenv("BENCH_REQUESTS")) do
    if n % threads == tid then
      local method, path, headers, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
      local parsed = {}
      for name, value in headers:gmatch("([^:|]+): ([^|]*)") do parsed[name] = value end
      if body == "" then body = nil end
      requests[#requests + 1] = wrk.format(method, path, parsed, body)
    end
    n = n + 1
  end
end

function request()
  i = i % #requests + 1
  return requests[i]
end

-- BENCH_DELAY_MS paces each connection (a fixed rate, for the latency at half the maximum)
local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "0")
if pause > 0 then
  function delay()
    return pause
  end
end
