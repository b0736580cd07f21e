#!/usr/bin/env python3
"""Writes the seed corpus of every target (fuzz/corpus/<target>/): valid inputs in the shapes
Logto 1.37 sends (discovery and JWKS of a real instance in fuzz/fixtures, claims from Logto's
scope.ts as the SDK's tests pin them), signed where needed with the fixed keys of src/lib.rs
(openssl). Run it from anywhere: python3 fuzz/corpus/generate.py"""

import base64
import json
import os
import re
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
FUZZ = os.path.dirname(HERE)
LIB = open(os.path.join(FUZZ, "src", "lib.rs")).read()
ES384_PKCS8 = base64.b64decode(re.search(r'const ES384_PKCS8: &str = "([^"]+)"', LIB).group(1))
ED25519_SEED = re.search(r'const ED25519_SEED: &\[u8; 32\] = b"([^"]+)"', LIB).group(1).replace("\\'", "'").encode()
assert len(ED25519_SEED) == 32
ES384_KID = re.search(r'pub const ES384_KID: &str = "([^"]+)"', LIB).group(1)
EDDSA_KID = re.search(r'pub const EDDSA_KID: &str = "([^"]+)"', LIB).group(1)
API = re.search(r'pub const API: &str = "([^"]+)"', LIB).group(1)
API_ISSUER = re.search(r'pub const API_ISSUER: &str = "([^"]+)"', LIB).group(1)
APP_ID = re.search(r'pub const APP_ID: &str = "([^"]+)"', LIB).group(1)

FAR = 4102444800  # 2100-01-01
IAT = 1700000000


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def js(value) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def der_to_raw(der: bytes, size: int) -> bytes:
    # ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }
    assert der[0] == 0x30
    i = 2 if der[1] < 0x80 else 2 + (der[1] & 0x7F)
    out = b""
    for _ in range(2):
        assert der[i] == 0x02
        n = der[i + 1]
        out += der[i + 2 : i + 2 + n].lstrip(b"\x00").rjust(size, b"\x00")
        i += 2 + n
    return out


def sign(header: dict, payload: dict, alg: str) -> str:
    signing_input = f"{b64u(js(header))}.{b64u(js(payload))}".encode()
    with tempfile.TemporaryDirectory() as tmp:
        key = os.path.join(tmp, "key.der")
        msg = os.path.join(tmp, "msg")
        open(msg, "wb").write(signing_input)
        if alg == "ES384":
            open(key, "wb").write(ES384_PKCS8)
            der = subprocess.run(
                ["openssl", "dgst", "-sha384", "-keyform", "DER", "-sign", key, msg],
                check=True, capture_output=True).stdout
            signature = der_to_raw(der, 48)
        else:
            open(key, "wb").write(bytes.fromhex("302e020100300506032b657004220420") + ED25519_SEED)
            signature = subprocess.run(
                ["openssl", "pkeyutl", "-sign", "-keyform", "DER", "-inkey", key, "-rawin", "-in", msg],
                check=True, capture_output=True).stdout
    return f"{signing_input.decode()}.{b64u(signature)}"


ES_HEADER_ID = {"alg": "ES384", "typ": "JWT", "kid": ES384_KID}
ED_HEADER = {"alg": "EdDSA", "kid": EDDSA_KID}
ES_HEADER_AT = {"alg": "ES384", "typ": "at+jwt", "kid": ES384_KID}

# What Logto puts in an ID token for the scopes openid profile email (scope.ts; Logto's
# oidc-provider adds at_hash, aud, exp, iat, iss, nonce).
ID_CLAIMS = {
    "sub": "9x7q2hlqnmbv", "name": None, "picture": None, "updated_at": 1717200000123,
    "username": "bob", "created_at": 1704164645678, "email": "bob@example.com",
    "email_verified": True, "at_hash": "x3ZbD8uHOXkJ4mcm0bA7p7lwOlCvd9Pm", "aud": APP_ID,
    "exp": FAR, "iat": IAT, "iss": "$ISS", "nonce": "n-0S6_WzA2Mj",
}
# A Logto access token for an API resource (oidc-provider: jti sub iat exp scope client_id iss aud).
AT_CLAIMS = {
    "jti": "Kg7B3RtI8cWZt5lJ0pD2m", "sub": "9x7q2hlqnmbv", "iat": IAT, "exp": FAR,
    "scope": "read:items write:items", "client_id": APP_ID, "iss": API_ISSUER, "aud": API,
}
ORG_AT_CLAIMS = dict(AT_CLAIMS, aud="urn:logto:organization:k8n2ybq5mdl1", scope="read:members")
M2M_AT_CLAIMS = dict(AT_CLAIMS, sub=APP_ID, scope="read:items")

USERINFO = {
    "sub": "9x7q2hlqnmbv", "name": None, "username": "bob", "picture": None,
    "created_at": 1704164645678, "updated_at": 1717200000123, "email": None,
    "email_verified": False,
    "address": {"formatted": "1 Main St", "postalCode": "12345", "floor": 3},
    "custom_data": {"plan": "pro", "nested": {"deep": [1, None]}},
    "identities": {
        "github": {"userId": "gh-1", "details": {"email": "x@gh.test"}},
        "google": {"userId": "g-1"},
    },
    "sso_identities": [{"issuer": "https://sso.test", "identityId": "i1", "detail": {}}],
    "roles": [], "organizations": ["k8n2ybq5mdl1"],
    "organization_roles": ["k8n2ybq5mdl1:admin"],
    "organization_data": [{"id": "k8n2ybq5mdl1", "name": "Acme", "description": None}],
}

STATE = "ZtQ8bQq6uF2rU3mGz4xLkA"
CODE = "mV4GgYk7bM1pX3oN8cQ2rT6uW9yA0sD5fH_jL-zKxE"
ISS = "http%3A%2F%2Flocalhost%3A3001%2Foidc"
OPAQUE = "tK3z7bQ1vY8mN4pR6sW2xA9cE0gH5jL_uI-oF3dZkB"
REFRESH = "r8Wq3Lm2Nv5Bx7Cz1Dk4Fj6Gh9Tp0Ys_Ua-Ie3OoPq"


def files():
    m2m = json.load(open(os.path.join(FUZZ, "fixtures", "logto-m2m-token-response.json")))
    # Logto's own header and claims, re-signed with the fixture key (same kid as Logto's).
    logto_at = sign(m2m["header"], m2m["claims"], "ES384")
    logto_response = json.dumps(dict(access_token=logto_at, **m2m["response"])).encode()
    id_token = sign(ES_HEADER_ID, dict(ID_CLAIMS, iss="http://localhost:3001/oidc"), "ES384")
    at = sign(ES_HEADER_AT, AT_CLAIMS, "ES384")
    org_at = sign(ES_HEADER_AT, ORG_AT_CLAIMS, "ES384")
    ed_at = sign(dict(ED_HEADER, typ="at+jwt"), M2M_AT_CLAIMS, "EdDSA")
    hs256 = f"{b64u(js({'alg': 'HS256', 'typ': 'JWT'}))}.{b64u(js(AT_CLAIMS))}.c2lnbmF0dXJl"
    none = f"{b64u(js({'alg': 'none'}))}.{b64u(js(AT_CLAIMS))}."
    jku = f"{b64u(js(dict(ES_HEADER_AT, jku='https://evil.test/jwks')))}.{b64u(js(AT_CLAIMS))}.c2ln"

    def structured(flags, header, payload):
        return bytes([flags]) + js(header) + b"\n" + js(payload)

    def raw(flags, token):
        return bytes([flags]) + token.encode()

    yield "callback_url", {
        "code": f"http://localhost:3000/callback?code={CODE}&state={STATE}&iss={ISS}",
        "code-no-iss": f"http://localhost:3000/callback?code={CODE}&state={STATE}",
        "code-port": f"http://localhost:3000/callback?state={STATE}&iss=http://localhost:3001/oidc&code={CODE}",
        "error": f"http://localhost:3000/callback?error=access_denied&error_description=User+cancelled&state={STATE}&iss={ISS}",
        "wrong-state": f"http://localhost:3000/callback?code={CODE}&state=other&iss={ISS}",
        "repeated": f"http://localhost:3000/callback?code={CODE}&state={STATE}&state={STATE}&iss={ISS}",
        "other-host": f"http://127.0.0.1:3000/callback?code={CODE}&state={STATE}&iss={ISS}",
        "encoded": f"http://localhost:3000/%63allback?code={CODE}&st%61te={STATE}&iss={ISS}#frag",
    }
    yield "token_response", {
        "authorization-code": js({"access_token": OPAQUE, "expires_in": 3600, "id_token": id_token,
                                  "refresh_token": REFRESH, "scope": "openid offline_access profile email",
                                  "token_type": "Bearer"}),
        "refresh-resource": js({"access_token": at, "expires_in": 3600, "refresh_token": REFRESH,
                                "scope": "read:items write:items", "token_type": "Bearer"}),
        "refresh-organization": js({"access_token": org_at, "expires_in": 3600,
                                    "scope": "read:members", "token_type": "Bearer"}),
        "logto-client-credentials": logto_response,
        "short-lived": js({"access_token": OPAQUE, "expires_in": 1, "token_type": "bearer"}),
        "huge": js({"access_token": OPAQUE, "expires_in": 18446744073709551615, "token_type": "BEARER", "id_token": None}),
        "no-type": js({"access_token": OPAQUE, "expires_in": 3600}),
        "dpop": js({"access_token": OPAQUE, "expires_in": 3600, "token_type": "DPoP"}),
    }
    def answer(status, body):
        return (status - 100).to_bytes(2, "big") + body

    yield "backend_answers", {
        "m2m-token": answer(200, b'{"access_token":"eyJhbGciOiJFUzM4NCJ9.e30.sig","expires_in":3600,"token_type":"Bearer","scope":"all"}'),
        "huge-expires-in": answer(200, b'{"access_token":"t","expires_in":18446744073709551615,"token_type":"Bearer"}'),
        "no-expires-in": answer(200, b'{"access_token":"t","token_type":"Bearer","scope":""}'),
        "invalid-client": answer(401, b'{"error":"invalid_client","error_description":"client authentication failed"}'),
        "grant-not-allowed": answer(400, b'{"error":"invalid_request","error_description":"requested grant type is not allowed for this client"}'),
        "management-not-found": answer(404, b'{"code":"entity.not_exists_with_id","message":"The user with ID `u1` does not exist.","data":null}'),
        "management-rejected": answer(422, b'{"code":"user.username_already_in_use","message":"This username is already in use.","details":"x"}'),
        "server-error": answer(500, b"<html>bad gateway</html>"),
    }
    yield "userinfo", {
        "full": js(USERINFO),
        "minimal": js({"sub": "9x7q2hlqnmbv"}),
        "odd-shapes": js({"sub": "u1", "identities": ["github"], "organization_data": [{"id": "o1"}],
                          "custom_data": "plan=pro", "address": "1 Main St", "email_verified": "yes",
                          "created_at": "2024-01-01", "roles": "admin", "unrelated": 1}),
        "id-token-claims": js(dict(ID_CLAIMS, iss="http://localhost:3001/oidc", aud=[APP_ID], azp=APP_ID,
                                   organizations=["o1"], roles=["admin"], sid="s1", auth_time=IAT)),
        "access-token-claims": js(dict(AT_CLAIMS, organization_id="o1", cnf={"jkt": "t"})),
    }
    yield "id_token", {
        "signed-es384": structured(0x05, ES_HEADER_ID, ID_CLAIMS),
        "signed-eddsa": structured(0x03, ED_HEADER, dict(ID_CLAIMS, nonce=None)),
        "signed-azp": structured(0x01, ES_HEADER_ID, dict(ID_CLAIMS, aud=[APP_ID], azp=APP_ID, sid="s1", auth_time=IAT)),
        "signed-expired": structured(0x01, ES_HEADER_ID, dict(ID_CLAIMS, exp=IAT + 3600)),
        "raw-es384": raw(0x04, id_token),
        "raw-hs256": raw(0x00, hs256),
        "raw-none": raw(0x00, none),
    }
    yield "access_token", {
        "signed-resource": structured(0x09, ES_HEADER_AT, AT_CLAIMS),
        "signed-organization": structured(0x05, ES_HEADER_AT, ORG_AT_CLAIMS),
        "signed-eddsa-m2m": structured(0x03, dict(ED_HEADER, typ="at+jwt"), M2M_AT_CLAIMS),
        "signed-org-resource": structured(0x01, ES_HEADER_AT, dict(AT_CLAIMS, organization_id="k8n2ybq5mdl1")),
        "raw-resource": raw(0x08, at),
        "raw-organization": raw(0x04, org_at),
        "raw-eddsa": raw(0x00, ed_at),
        "raw-jku": raw(0x00, jku),
        "signed-logto-m2m": structured(0x01, m2m["header"], dict(m2m["claims"], iss=API_ISSUER, aud=API, exp=FAR)),
    }
    yield "jwt", {
        "raw-es384": raw(0x00, at),
        "raw-eddsa": raw(0x00, ed_at),
        "raw-id-token": raw(0x00, id_token),
        "raw-hs256": raw(0x00, hs256),
        "raw-none": raw(0x00, none),
        "raw-jku": raw(0x00, jku),
        "raw-logto-m2m": raw(0x00, logto_at),
        "signed-es384": structured(0x01, ES_HEADER_AT, AT_CLAIMS),
        "signed-eddsa": structured(0x03, ED_HEADER, dict(AT_CLAIMS, nbf=IAT, exp=1.7e9)),
    }
    logto_jwks = open(os.path.join(FUZZ, "fixtures", "logto-jwks.json"), "rb").read()
    yield "jwks", {
        "logto": logto_jwks,
        "rsa": js({"keys": [{"kty": "RSA", "use": "sig", "kid": "r1", "alg": "RS256", "e": "AQAB",
                             "n": "4ut5YFj8eoVPAaYi5_i5RqBSuo37Fkj7qZQMOQY7EvUq6V2tkv4Hz-doiihTUGlTcdC4VWr0u0m87rIXjVWjgZVjCResK4JcPPgVvUpPxhmEgzY-4mUc1tAB92WV9rLAIA2eVJfsNhLyAEgQn3FoVjrCjZWL2NbhYl6lrqCGvicwtFbwvoMwM1hfeXlF9PO3F0oLtOTidnjaScm9iGooEXSIyCPVV6tC6lMjpcTL0bZx1rHkq13Fmod2cy4gS4FS7AQKx_2NoPuFrSENMgSRCsj8T-huJORmzTaEGeRXf949CkcaptlMByIhL0ZtOCLqd2UgGgllbgvYpi8jy7mvIQ"},
                            {"kty": "RSA", "kid": "r2", "e": "AQAB", "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"}]}),
        "okp-and-ec": js({"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "e1", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
                                   {"kty": "EC", "crv": "P-256", "kid": "p256", "alg": "ES256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
                                   {"kty": "oct", "k": "c2VjcmV0", "kid": "h1", "alg": "HS256"}]}),
        "empty": b'{"keys":[]}',
    }
    yield "authorization_header", {
        "bearer": f"Bearer {at}".encode(),
        "bearer-organization": f"bearer {org_at}".encode(),
        "bearer-padded": b"BEARER   abc.def-ghi_jkl~mno+pqr/stu==",
        "basic": b"Basic dXNlcjpwYXNzd29yZA==",
        "three-parts": b"Bearer abc def",
        "two-headers": f"Bearer {at}\nBearer {at}".encode(),
        "empty": b" \t",
    }
    yield "return_to", {
        "path": b"/orders?id=1",
        "prefixed": b"/shop/items/42#reviews",
        "root": b"/",
        "scheme-relative": b"//evil.test/x",
        "backslash": b"/\\evil.test",
        "absolute": b"https://evil.test/",
        "dots": b"/./..//evil.test",
        "encoded": b"/%2F%2Fevil.test?next=%2F%2Fx",
        "tab": b"/\t/evil.test",
        "callback": b"/shop/callback?code=spent&state=s",
    }
    yield "session_cookie", {
        "me": b"/shop/me\nCookie: logto_session=$SID",
        "callback": f"/shop/callback?code={CODE}&state={STATE}&iss={ISS}\nCookie: logto_session=$SID\nAccept: text/html".encode(),
        "sign-out-cross-site": b"POST\nCookie: logto_session=$SID\nSec-Fetch-Site: cross-site\nAccept: application/json",
        "sign-out-origin": b"/shop/sign-out\nCookie: logto_session=$SID\nOrigin: https://evil.test",
        "sign-out-referer": b"/shop/sign-out\nCookie: other=1; logto_session=$SID\nReferer: https://app.fuzz.test/shop/orders",
        "planted": b"/shop/me\nCookie: logto_session=AAAAAAAAAAAAAAAAAAAAAA; theme=dark",
        "private-json": b"/shop/orders?id=1\nAccept: application/json\nCookie: logto_session=$SID",
        "sign-in": b"/shop/sign-in?return_to=%2Fshop%2Forders&interaction_mode=signUp&first_screen=register\nCookie: logto_session=$SID",
        "two-cookies": b"/shop/me\nCookie: logto_session=$SID\nCookie: logto_session=BBBBBBBBBBBBBBBBBBBBBB",
    }


def main():
    for target, entries in files():
        folder = os.path.join(HERE, target)
        os.makedirs(folder, exist_ok=True)
        # Inputs the fuzzer found (`found-*`) stay; the seeds are written anew.
        for name in os.listdir(folder):
            if not name.startswith("found-"):
                os.remove(os.path.join(folder, name))
        for name, content in entries.items():
            if isinstance(content, str):
                content = content.encode()
            open(os.path.join(folder, name), "wb").write(content)
        print(f"{target}: {len(entries)} inputs")


if __name__ == "__main__":
    main()
