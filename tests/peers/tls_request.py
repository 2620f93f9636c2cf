"""Sends one HTTPS request with Python's ssl module (OpenSSL), optionally with a client
certificate, and prints the status line and body.

usage: tls_request.py URL CAFILE CERTFILE|- KEYFILE|- BODY [HEADER:VALUE]...
The server certificate is verified against CAFILE, host name included.
"""
import http.client
import ssl
import sys
import urllib.parse

url, cafile, certfile, keyfile, body = sys.argv[1:6]
headers = dict(h.split(":", 1) for h in sys.argv[6:])
ctx = ssl.create_default_context(cafile=cafile)
if certfile != "-":
    ctx.load_cert_chain(certfile, keyfile)
u = urllib.parse.urlsplit(url)
conn = http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=30)
path = u.path + ("?" + u.query if u.query else "")
conn.request("POST", path, body=body.encode(), headers=headers)
resp = conn.getresponse()
print(resp.status)
print(resp.read().decode())
