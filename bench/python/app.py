"""Flask app using the decorator of Logto's Python API-protection guide; the
same /api/profile answer as the Rust example.
Run: gunicorn -w 5 -b 127.0.0.1:PORT app:APP (bench/run.sh does)."""

from flask import Flask, g, jsonify

from requires_auth import requires_auth

APP = Flask(__name__)


@APP.route("/api/profile")
@requires_auth
def profile():
    scope = g.payload.get("scope") or ""
    return jsonify(
        {
            "sub": g.user_id,
            "client_id": g.payload.get("client_id"),
            "scopes": [s for s in scope.split(" ") if s],
        }
    )


@APP.route("/health")
def health():
    return "ok"
