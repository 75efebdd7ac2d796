"""A fake OpenID Connect provider for tests: RSA signing keys and a JWKS endpoint on
loopback whose published keys a test can change, counting each fetch."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ISSUER = "https://login.idp.example/tenant"
AUDIENCE = "clinicflow"
NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # the tests' clock


class ProviderKey:
    def __init__(self, kid: str) -> None:
        self.kid = kid
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.jwk: dict[str, Any] = RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        self.jwk.update(kid=kid, alg="RS256", use="sig")

    def sign(
        self,
        *,
        audience: str = AUDIENCE,
        now: datetime = NOW,
        kid: str | None = None,
        **overrides: Any,
    ) -> str:
        """A token from the provider; an override of None leaves that claim out."""
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": audience,
            "sub": "user-1",
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(hours=1)).timestamp()),
        } | overrides
        claims = {name: value for name, value in claims.items() if value is not None}
        return jwt.encode(claims, self.private, algorithm="RS256", headers={"kid": kid or self.kid})


class FakeProvider:
    def __init__(self, keys: list[ProviderKey]) -> None:
        self.published = keys
        self.fetches = 0
        self.failing = False
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                provider.fetches += 1
                if provider.failing:
                    self.send_error(503)
                    return
                body = json.dumps({"keys": [k.jwk for k in provider.published]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/.well-known/jwks.json"
        # A short poll interval keeps shutdown() at teardown from waiting half a second.
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()
