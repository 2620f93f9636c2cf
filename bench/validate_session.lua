-- wrk script: WS-Trust Validate of one assertion (signature, time, store lookup), authenticated
-- with an OpenAM session token. Environment: STS_BENCH_SESSION, STS_BENCH_ASSERTION.
local token = os.getenv("STS_BENCH_SESSION") or ""
local assertion = os.getenv("STS_BENCH_ASSERTION") or ""
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/xml; charset=utf-8"
wrk.headers["SOAPAction"] = "\"http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Validate\""
wrk.body = '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header>'
  .. '<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">'
  .. '<wsse:BinarySecurityToken ValueType="http://schemas.forgerock.org/ws/securitypolicy#OpenAMSessionToken">'
  .. token .. '</wsse:BinarySecurityToken></wsse:Security></s:Header><s:Body>'
  .. '<wst:RequestSecurityToken xmlns:wst="http://docs.oasis-open.org/ws-sx/ws-trust/200512">'
  .. '<wst:RequestType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/Validate</wst:RequestType>'
  .. '<wst:ValidateTarget>' .. assertion .. '</wst:ValidateTarget>'
  .. '</wst:RequestSecurityToken></s:Body></s:Envelope>'
local bad = 0
function response(status, headers, body)
  if status ~= 200 or not body:find("status/valid<", 1, true) then
    bad = bad + 1
    if bad <= 3 then io.stderr:write("unexpected reply: " .. status .. " " .. body:sub(1, 600) .. "\n") end
  end
end
