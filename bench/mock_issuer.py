"""A stand-in Logto tenant for the benchmark: serves the OpenID discovery
document and a JWKS with one ES384 key, and writes Logto-shaped `at+jwt`
access tokens signed with it. Only binds 127.0.0.1.

usage: mock_issuer.py PORT RESOURCE TOKEN_FILE [COUNT]
"""

import base64
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jose import jwt


def b64(n, size):
    return base64.urlsafe_b64encode(n.to_bytes(size, "big")).rstrip(b"=").decode()


def main():
    port, resource, token_file = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    count = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    endpoint = f"http://127.0.0.1:{port}"
    issuer = f"{endpoint}/oidc"
    key = ec.generate_private_key(ec.SECP384R1())
    numbers = key.public_key().public_numbers()
    kid = "bench-es384"
    jwks = json.dumps(
        {
            "keys": [
                {
                    "kty": "EC",
                    "crv": "P-384",
                    "x": b64(numbers.x, 48),
                    "y": b64(numbers.y, 48),
                    "kid": kid,
                    "alg": "ES384",
                    "use": "sig",
                }
            ]
        }
    ).encode()
    discovery = json.dumps({"issuer": issuer, "jwks_uri": f"{issuer}/jwks"}).encode()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    now = int(time.time())
    tokens = []
    for i in range(count):
        claims = {
            "jti": f"bench-{i}",
            "sub": f"user-{i}",
            "iat": now,
            "exp": now + 3600,
            "scope": "shopping:read shopping:write",
            "client_id": "web-app",
            "iss": issuer,
            "aud": resource,
        }
        tokens.append(
            jwt.encode(claims, pem, algorithm="ES384", headers={"kid": kid, "typ": "at+jwt"})
        )
    with open(token_file, "w") as f:
        f.write("\n".join(tokens) + "\n")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            body = {
                "/oidc/.well-known/openid-configuration": discovery,
                "/oidc/jwks": jwks,
            }.get(self.path)
            if body is None:
                self.send_response(404)
                self.send_header("content-length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print(f"mock issuer on {endpoint}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
