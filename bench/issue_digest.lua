-- wrk script: WS-Trust Issue with a PasswordDigest UsernameToken, a distinct nonce per request.
-- Environment: STS_BENCH_USER, STS_BENCH_PASSWORD; STS_BENCH_TOKEN_TYPE, if set, is sent as
-- wst:TokenType (none by default: the instance's default, SAML 2.0).
local bit = require("bit")
local band, bor, bxor, bnot, lshift, rshift, rol, tobit =
  bit.band, bit.bor, bit.bxor, bit.bnot, bit.lshift, bit.rshift, bit.rol, bit.tobit

-- SHA-1 (FIPS 180-4) over a Lua string; returns the 20-byte digest.
local function sha1(msg)
  local h0, h1, h2, h3, h4 = 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0
  local ml = #msg * 8
  msg = msg .. "\128" .. string.rep("\0", (55 - #msg) % 64)
  local hi = math.floor(ml / 0x100000000)
  local lo = ml % 0x100000000
  msg = msg .. string.char(
    band(rshift(hi, 24), 255), band(rshift(hi, 16), 255), band(rshift(hi, 8), 255), band(hi, 255),
    band(rshift(lo, 24), 255), band(rshift(lo, 16), 255), band(rshift(lo, 8), 255), band(lo, 255))
  local w = {}
  for chunk = 1, #msg, 64 do
    for i = 0, 15 do
      local a, b, c, d = msg:byte(chunk + i * 4, chunk + i * 4 + 3)
      w[i] = bor(lshift(a, 24), lshift(b, 16), lshift(c, 8), d)
    end
    for i = 16, 79 do
      w[i] = rol(bxor(w[i - 3], w[i - 8], w[i - 14], w[i - 16]), 1)
    end
    local a, b, c, d, e = h0, h1, h2, h3, h4
    for i = 0, 79 do
      local f, k
      if i < 20 then f, k = bor(band(b, c), band(bnot(b), d)), 0x5A827999
      elseif i < 40 then f, k = bxor(b, c, d), 0x6ED9EBA1
      elseif i < 60 then f, k = bor(band(b, c), band(b, d), band(c, d)), 0x8F1BBCDC
      else f, k = bxor(b, c, d), 0xCA62C1D6 end
      local t = tobit(rol(a, 5) + f + e + k + w[i])
      e, d, c, b, a = d, c, rol(b, 30), a, t
    end
    h0, h1, h2, h3, h4 = tobit(h0 + a), tobit(h1 + b), tobit(h2 + c), tobit(h3 + d), tobit(h4 + e)
  end
  local out = {}
  for _, h in ipairs({ h0, h1, h2, h3, h4 }) do
    out[#out + 1] = string.char(band(rshift(h, 24), 255), band(rshift(h, 16), 255),
      band(rshift(h, 8), 255), band(h, 255))
  end
  return table.concat(out)
end

local b64chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local function base64(s)
  return ((s:gsub(".", function(x)
    local r, byte = "", x:byte()
    for i = 8, 1, -1 do r = r .. (byte % 2 ^ i - byte % 2 ^ (i - 1) > 0 and "1" or "0") end
    return r
  end) .. "0000"):gsub("%d%d%d?%d?%d?%d?", function(x)
    if #x < 6 then return "" end
    local c = 0
    for i = 1, 6 do c = c + (x:sub(i, i) == "1" and 2 ^ (6 - i) or 0) end
    return b64chars:sub(c + 1, c + 1)
  end) .. ({ "", "==", "=" })[#s % 3 + 1])
end

local user = os.getenv("STS_BENCH_USER") or "demo"
local password = os.getenv("STS_BENCH_PASSWORD") or "changeit"
local token_type = os.getenv("STS_BENCH_TOKEN_TYPE")
local token_type_element = token_type and ('<wst:TokenType>' .. token_type .. '</wst:TokenType>') or ''
local counter = 0
-- Lua's generator is not seeded: two wrk processes started in the same second would send the
-- same nonces (and a cluster refuses the second as a replay). STS_BENCH_SEED tells them apart.
local seed = tostring(os.time()) .. (os.getenv("STS_BENCH_SEED") or "") .. tostring(math.random(1, 1e9))

function setup(thread)
  thread:set("thread_seed", seed .. "-" .. tostring(math.random(1, 1e9)))
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "text/xml; charset=utf-8"
wrk.headers["SOAPAction"] = "\"http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Issue\""

function request()
  counter = counter + 1
  local nonce = sha1((thread_seed or seed) .. ":" .. counter):sub(1, 16)
  local created = os.date("!%Y-%m-%dT%H:%M:%SZ")
  local digest = base64(sha1(nonce .. created .. password))
  local body = '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header>'
    .. '<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">'
    .. '<wsse:UsernameToken><wsse:Username>' .. user .. '</wsse:Username>'
    .. '<wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest">' .. digest .. '</wsse:Password>'
    .. '<wsse:Nonce EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary">' .. base64(nonce) .. '</wsse:Nonce>'
    .. '<wsu:Created>' .. created .. '</wsu:Created></wsse:UsernameToken></wsse:Security></s:Header>'
    .. '<s:Body><wst:RequestSecurityToken xmlns:wst="http://docs.oasis-open.org/ws-sx/ws-trust/200512">'
    .. '<wst:RequestType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/Issue</wst:RequestType>'
    .. token_type_element
    .. '<wsp:AppliesTo xmlns:wsp="http://schemas.xmlsoap.org/ws/2004/09/policy"><wsa:EndpointReference xmlns:wsa="http://www.w3.org/2005/08/addressing"><wsa:Address>urn:bench:rp</wsa:Address></wsa:EndpointReference></wsp:AppliesTo>'
    .. '</wst:RequestSecurityToken></s:Body></s:Envelope>'
  return wrk.format(nil, nil, nil, body)
end

local non200 = 0
function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
    if non200 <= 3 then io.stderr:write("non-200 reply: " .. status .. " " .. body:sub(1, 400) .. "\n") end
  end
end
