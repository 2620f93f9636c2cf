-- wrk script: REST STS translate. Environment: STS_BENCH_BODY (the JSON request) and
-- STS_BENCH_ADMIN (an administrator's SSO token for the iPlanetDirectoryPro header).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["iPlanetDirectoryPro"] = os.getenv("STS_BENCH_ADMIN") or ""
wrk.body = os.getenv("STS_BENCH_BODY") or "{}"
local non200 = 0
function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
    if non200 <= 3 then io.stderr:write("non-200 reply: " .. status .. " " .. body:sub(1, 400) .. "\n") end
  end
end
