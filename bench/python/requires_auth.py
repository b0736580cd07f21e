"""The `requires_auth` decorator of Logto's Python API-protection guide,
as written, for the side-by-side benchmark (bench/run.sh).

Changes from the guide, none affecting the work done per request:
- `_request_ctx_stack` was removed in Flask 2.3: `flask.g` holds the user id.
- The guide's pseudo-code `raise Error({...})` becomes a JSON 401 answer.
- Endpoint and audience come from LOGTO_ENDPOINT / API_RESOURCE.
- JWKS_MODE=per-request (default, as the guide: the JWKS is downloaded on
  every request) or JWKS_MODE=startup (downloaded once: a fairer baseline).
"""

import json
import os
from functools import wraps
from urllib.request import urlopen

from flask import g, jsonify, request
from jose import jwt

ENDPOINT = os.environ["LOGTO_ENDPOINT"].rstrip("/")
AUDIENCE = os.environ["API_RESOURCE"]
JWKS_URI = f"{ENDPOINT}/oidc/jwks"
ISSUER = f"{ENDPOINT}/oidc"
JWKS_MODE = os.environ.get("JWKS_MODE", "per-request")
_STARTUP_JWKS = None


class AuthError(Exception):
    def __init__(self, code, status):
        super().__init__(code)
        self.code = code
        self.status = status


def auth_error_response(error):
    return jsonify({"code": error.code, "message": error.code}), error.status


def get_auth_token():
    auth = request.headers.get("Authorization", None)

    if not auth:
        raise AuthError("auth.authorization_header_missing", 401)

    contents = auth.split()

    if len(contents) < 2:
        raise AuthError("auth.authorization_token_invalid_format", 401)

    elif contents[0] != "Bearer":
        raise AuthError("auth.authorization_token_type_not_supported", 401)

    return contents[1]


def load_jwks():
    global _STARTUP_JWKS
    if JWKS_MODE == "startup":
        if _STARTUP_JWKS is None:
            _STARTUP_JWKS = json.loads(urlopen(JWKS_URI).read())
        return _STARTUP_JWKS
    # As the guide: fetched on every request.
    return json.loads(urlopen(JWKS_URI).read())


def requires_auth(f):
    @wraps(f)
    def decorated(*args, **kwargs):
        try:
            token = get_auth_token()
        except AuthError as e:
            return auth_error_response(e)

        jwks = load_jwks()

        try:
            payload = jwt.decode(
                token,
                jwks,
                # The guide takes the algorithm from the (unverified) token.
                algorithms=jwt.get_unverified_header(token).get("alg"),
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"verify_at_hash": False},
            )
        except Exception:
            return auth_error_response(AuthError("invalid_token", 401))

        g.user_id = payload.get("sub")
        g.payload = payload
        return f(*args, **kwargs)

    return decorated
