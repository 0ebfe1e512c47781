"""A minimal OpenID Connect provider for tests: discovery document, JWKS, RS256 tokens.

Runs a standard-library HTTP server on 127.0.0.1 in a thread. Tokens carry the roles Feast
reads, in ``resource_access.<client_id>.roles``.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

CLIENT_ID = "feast-registry"
KEY_ID = "test-key"


class OidcProvider:
    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def discovery_url(self) -> str:
        return f"{self.url}/.well-known/openid-configuration"

    def __enter__(self) -> OidcProvider:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def token(self, user: str, roles: list[str], *, expires_in: float = 3600, key=None) -> str:
        now = int(time.time())
        claims = {
            "sub": user,
            "preferred_username": user,
            "iss": self.url,
            "iat": now,
            "exp": now + int(expires_in),
            "resource_access": {CLIENT_ID: {"roles": roles}},
        }
        signing_key = key or self.key
        return jwt.encode(claims, signing_key, algorithm="RS256", headers={"kid": KEY_ID})

    def forged_token(self, user: str, roles: list[str]) -> str:
        """Well-formed and signed, but with a key the provider never published."""
        stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return self.token(user, roles, key=stranger)

    def _documents(self) -> dict[str, dict]:
        public = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        public.update({"kid": KEY_ID, "use": "sig", "alg": "RS256"})
        return {
            "/.well-known/openid-configuration": {
                "issuer": self.url,
                "jwks_uri": f"{self.url}/jwks",
                "token_endpoint": f"{self.url}/token",
                "authorization_endpoint": f"{self.url}/auth",
                "id_token_signing_alg_values_supported": ["RS256"],
            },
            "/jwks": {"keys": [public]},
        }

    def _handler(self):
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                document = provider._documents().get(self.path)
                body = json.dumps(document or {"error": "not found"}).encode()
                self.send_response(200 if document else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        return Handler
