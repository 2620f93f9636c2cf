-- wrk script: REST STS translate with an optional client certificate header (as a TLS
-- offload engine sets it). Environment: STS_BENCH_BODY (the JSON request), STS_BENCH_CERT
-- (base64 DER for X-Client-Cert, optional). Every answer must be 200.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local cert = os.getenv("STS_BENCH_CERT")
if cert and cert ~= "" then wrk.headers["X-Client-Cert"] = cert end
wrk.body = os.getenv("STS_BENCH_BODY") or "{}"
local bad = 0
function response(status, headers, body)
  if status ~= 200 then
    bad = bad + 1
    if bad <= 3 then io.stderr:write("non-200 reply: " .. status .. " " .. body:sub(1, 400) .. "\n") end
  end
end
