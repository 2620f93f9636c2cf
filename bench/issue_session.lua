-- wrk script: WS-Trust Issue with an OpenAM session token (OPENAM input) in a
-- wsse:BinarySecurityToken. Environment: STS_BENCH_SESSION (from /json/authenticate).
local token = os.getenv("STS_BENCH_SESSION") or ""
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/xml; charset=utf-8"
wrk.headers["SOAPAction"] = "\"http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Issue\""
wrk.body = '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header>'
  .. '<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">'
  .. '<wsse:BinarySecurityToken ValueType="http://schemas.forgerock.org/ws/securitypolicy#OpenAMSessionToken">'
  .. token .. '</wsse:BinarySecurityToken></wsse:Security></s:Header><s:Body>'
  .. '<wst:RequestSecurityToken xmlns:wst="http://docs.oasis-open.org/ws-sx/ws-trust/200512">'
  .. '<wst:RequestType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/Issue</wst:RequestType>'
  .. '</wst:RequestSecurityToken></s:Body></s:Envelope>'
local non200 = 0
function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
    if non200 <= 3 then io.stderr:write("non-200 reply: " .. status .. " " .. body:sub(1, 400) .. "\n") end
  end
end
