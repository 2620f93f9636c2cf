-- wrk script: REST STS translate with an optional client certificate header (as a TLS
-- offload engine sets it). Environment: STS_BENCH_BODY (the JSON request), STS_BENCH_CERT
-- (base64 DER for X-Client-Cert, optional), STS_BENCH_EXPECT (a string every good reply body
-- holds; default `"issued_token"`). A reply is good when it is 200 and holds that string; the
-- others are counted, the first three of each thread shown on stderr, and done() prints one
-- line `checked: <good> good, <bad> bad replies, <n> socket errors` for bench/matrix.sh.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local cert = os.getenv("STS_BENCH_CERT")
if cert and cert ~= "" then wrk.headers["X-Client-Cert"] = cert end
wrk.body = os.getenv("STS_BENCH_BODY") or "{}"
local expect = os.getenv("STS_BENCH_EXPECT") or '"issued_token"'

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

-- Globals, so that done() can read them from each thread with thread:get().
good = 0
bad = 0
function response(status, headers, body)
  if status == 200 and body:find(expect, 1, true) then
    good = good + 1
  else
    bad = bad + 1
    if bad <= 3 then
      io.stderr:write("bad reply: " .. status .. " " .. body:sub(1, 400) .. "\n")
    end
  end
end

function done(summary, latency, requests)
  local g, b = 0, 0
  for _, t in ipairs(threads) do
    g = g + (t:get("good") or 0)
    b = b + (t:get("bad") or 0)
  end
  local e = summary.errors
  io.write(string.format("checked: %d good, %d bad replies, %d socket errors\n",
    g, b, e.connect + e.read + e.write + e.timeout))
end
