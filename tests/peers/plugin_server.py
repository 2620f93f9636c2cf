"""A custom token validator over HTTPS that requires a client certificate (mutual TLS).

Usage: plugin_server.py SERVER_CERT SERVER_KEY CLIENT_CA
Prints the port it listens on (127.0.0.1), then serves until killed. POST /validate with
the STS's validator JSON and the X-STS-Secret header answers the principal
`<client certificate CN>@tls` when input_token_state.extra_stuff is `very_useful_state`.
"""

import http.server
import json
import ssl
import sys

SECRET = "plugin-shared-secret"


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"null")
        if self.headers.get("X-STS-Secret") != SECRET:
            return self.answer(403, {"message": "wrong shared secret"})
        cert = self.connection.getpeercert()
        cn = next(v for rdn in cert["subject"] for (k, v) in rdn if k == "commonName")
        if body["input_token_state"].get("extra_stuff") != "very_useful_state":
            return self.answer(401, {"message": "unknown partner"})
        self.answer(200, {"principal": cn + "@tls"})


def main():
    cert, key, ca = sys.argv[1:4]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.load_verify_locations(ca)
    ctx.verify_mode = ssl.CERT_REQUIRED
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
