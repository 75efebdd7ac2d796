"""A fake OpenID Connect provider for tests: RSA signing keys and a JWKS endpoint on
loopback whose published keys a test can change, counting each fetch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from support.fake_http import LoopbackServer, Reply, Request, json_reply

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
        self.server = LoopbackServer(self._jwks)
        self.url = f"{self.server.url}/.well-known/jwks.json"

    def _jwks(self, request: Request) -> Reply:
        self.fetches += 1
        if self.failing:
            return Reply(503, {})
        return json_reply(200, {"keys": [k.jwk for k in self.published]})

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop()
