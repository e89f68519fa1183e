-- wrk script: counts non-2xx responses and Connection: close responses over all threads and prints one
-- WRK line (bench/http-drain.sh and HttpInteropIT read it).
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) closes = 0; non2xx = 0 end
function response(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
  local c = headers["Connection"] or headers["connection"]
  if c and string.lower(c) == "close" then closes = closes + 1 end
end
function done(summary, latency, requests)
  local c, n = 0, 0
  for _, t in ipairs(threads) do c = c + t:get("closes"); n = n + t:get("non2xx") end
  io.write(string.format("WRK requests=%d read=%d timeout=%d non2xx=%d closes=%d write=%d connect=%d\n",
    summary.requests, summary.errors.read, summary.errors.timeout, n, c, summary.errors.write, summary.errors.connect))
end
