"""MSAL Python and ADAL Python against sts's AD FS endpoints, as the libraries run them.

usage:
  msal_adfs.py discover MEX_URL CAFILE
      msal.mex.send_request: prints the endpoint MSAL chose and every usernamemixed endpoint
      its parser accepts, as JSON.
  msal_adfs.py wstrust ADDRESS ACTION CAFILE USER PASSWORD AUDIENCE
      msal.wstrust_request.send_request: prints {"type", "token"} as MSAL parsed them.
  msal_adfs.py full MEX_URL CAFILE USER PASSWORD
      PublicClientApplication.acquire_token_by_username_password, with Entra ID faked on
      loopback by the http_client given to MSAL (authority discovery, user realm saying the
      account is Federated with federation_metadata_url = MEX_URL, the token endpoint) and
      every other request sent to sts for real. Prints MSAL's result and the SAML grant the
      token endpoint received.
  msal_adfs.py adal MEX_URL CAFILE USER PASSWORD AUDIENCE
      ADAL's Mex.discover and WSTrustRequest.acquire_token: prints the endpoint, WS-Trust
      version, token type and token.
  msal_adfs.py adal-wstrust ADDRESS 13|2005 CAFILE USER PASSWORD AUDIENCE
      ADAL's WSTrustRequest of that WS-Trust version: prints the token type and token.
Exits non-zero (with the reason on stderr) when the library refuses something.
"""
import base64
import json
import sys

import requests

ENTRA = "https://login.microsoftonline.com"


class Reply:
    """What MSAL reads of an HTTP response."""

    def __init__(self, status, text, headers=None):
        self.status_code = status
        self.text = text
        self.headers = headers or {}

    def raise_for_status(self):
        if self.status_code >= 400:
            raise RuntimeError("HTTP %d: %s" % (self.status_code, self.text))


class FakeEntra:
    """An http_client for MSAL: Entra ID's endpoints answered here, sts's reached for real."""

    def __init__(self, cafile, mex_url):
        self.session = session(cafile)
        self.mex_url = mex_url
        self.grants = []

    def get(self, url, params=None, headers=None, **kwargs):
        if url.startswith(ENTRA):
            if "/common/userrealm/" in url:
                return Reply(200, json.dumps({
                    "ver": "1.0",
                    "account_type": "Federated",
                    "domain_name": "example.com",
                    "federation_protocol": "WSTrust",
                    "federation_metadata_url": self.mex_url,
                    "cloud_audience_urn": "urn:federation:MicrosoftOnline",
                }))
            if url.endswith("/.well-known/openid-configuration"):
                base = ENTRA + "/contoso.onmicrosoft.com"
                return Reply(200, json.dumps({
                    "authorization_endpoint": base + "/oauth2/v2.0/authorize",
                    "token_endpoint": base + "/oauth2/v2.0/token",
                    "device_authorization_endpoint": base + "/oauth2/v2.0/devicecode",
                    "issuer": ENTRA + "/00000000-0000-0000-0000-000000000000/v2.0",
                }))
            return Reply(404, "not faked: GET " + url)
        r = self.session.get(url, params=params, headers=headers, timeout=60)
        return Reply(r.status_code, r.text, r.headers)

    def post(self, url, params=None, data=None, headers=None, **kwargs):
        if url.startswith(ENTRA):
            if url.endswith("/oauth2/v2.0/token"):
                self.grants.append(data)
                return Reply(200, json.dumps({
                    "token_type": "Bearer",
                    "scope": "User.Read",
                    "expires_in": 3600,
                    "access_token": "faked-access-token",
                }))
            return Reply(404, "not faked: POST " + url)
        r = self.session.post(url, params=params, data=data, headers=headers, timeout=60)
        return Reply(r.status_code, r.text, r.headers)

    def close(self):
        self.session.close()


def session(cafile):
    """A requests session trusting only the test CA (no CA bundle or proxy from the
    environment, which would override it)."""
    s = requests.Session()
    s.trust_env = False
    s.verify = cafile
    return s


def main(argv):
    mode = argv[1]
    if mode == "discover":
        import msal.mex
        mex_url, cafile = argv[2:4]
        http = session(cafile)
        chosen = msal.mex.send_request(mex_url, http)
        # Every usernamemixed endpoint MSAL's parser accepts (it returns the 1.3 one).
        m = msal.mex.Mex(http.get(mex_url).text)
        found = m._get_endpoints(m._get_bindings(), m._get_username_password_policy_ids())
        print(json.dumps({"chosen": chosen, "all": found}))
    elif mode == "wstrust":
        import msal.wstrust_request
        address, action, cafile, user, password, audience = argv[2:8]
        r = msal.wstrust_request.send_request(
            user, password, audience, address, action, session(cafile))
        print(json.dumps({"type": r["type"], "token": r["token"].decode("utf-8")}))
    elif mode == "full":
        import msal
        mex_url, cafile, user, password = argv[2:6]
        client = FakeEntra(cafile, mex_url)
        app = msal.PublicClientApplication(
            "11111111-1111-1111-1111-111111111111",
            authority=ENTRA + "/contoso.onmicrosoft.com",
            http_client=client)
        result = app.acquire_token_by_username_password(user, password, scopes=["User.Read"])
        grants = []
        for g in client.grants:
            g = dict(g)
            if "assertion" in g:
                raw = g["assertion"]
                raw = raw.decode("ascii") if isinstance(raw, bytes) else raw
                g["assertion"] = base64.urlsafe_b64decode(
                    raw + "=" * (-len(raw) % 4)).decode("utf-8")
            grants.append(g)
        print(json.dumps({"result": result, "grants": grants}))
        if "access_token" not in result:
            sys.exit("MSAL got no token: %s" % json.dumps(result))
    elif mode == "adal":
        from adal import log, mex, wstrust_request
        mex_url, cafile, user, password, audience = argv[2:7]
        ctx = {"log_context": log.create_log_context(), "verify_ssl": cafile}
        m = mex.Mex(ctx, mex_url)
        m.discover()
        policy = m.username_password_policy
        req = wstrust_request.WSTrustRequest(ctx, policy["url"], audience, policy["version"])
        resp = req.acquire_token(user, password)
        print(json.dumps({
            "url": policy["url"],
            "version": str(policy["version"]),
            "type": resp.token_type,
            "token": resp.token.decode("utf-8") if isinstance(resp.token, bytes) else resp.token,
        }))
    elif mode == "adal-wstrust":
        from adal import log, wstrust_request
        from adal.constants import WSTrustVersion
        address, version, cafile, user, password, audience = argv[2:8]
        ctx = {"log_context": log.create_log_context(), "verify_ssl": cafile}
        v = WSTrustVersion.WSTRUST2005 if version == "2005" else WSTrustVersion.WSTRUST13
        resp = wstrust_request.WSTrustRequest(ctx, address, audience, v).acquire_token(user, password)
        print(json.dumps({
            "type": resp.token_type,
            "token": resp.token.decode("utf-8") if isinstance(resp.token, bytes) else resp.token,
        }))
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main(sys.argv)
