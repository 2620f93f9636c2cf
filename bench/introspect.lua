-- wrk script: RFC 7662 introspection. Environment: STS_BENCH_FORM (the form body) and
-- STS_BENCH_AUTH (the Authorization header). Every answer must be 200 with "active":true.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = os.getenv("STS_BENCH_AUTH") or ""
wrk.body = os.getenv("STS_BENCH_FORM") or ""
local bad = 0
function response(status, headers, body)
  if status ~= 200 or not body:find('"active":true', 1, true) then
    bad = bad + 1
    if bad <= 3 then io.stderr:write("unexpected reply: " .. status .. " " .. body:sub(1, 300) .. "\n") end
  end
end
