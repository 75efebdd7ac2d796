"""What the FHIR tests share: SMART clients with their own signing keys (ES384 and RS384),
their signed assertions, a JWKS endpoint on loopback, and FHIR validation by the R4B models
of fhir.resources."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fhir.resources.R4B import get_fhir_model_class
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from clinicflow.bootstrap import Container
from support.fake_http import LoopbackServer, Reply, Request, json_reply

FHIR = "/fhir/R4"
TOKEN = "/fhir/auth/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALL_SCOPES = "system/Appointment.read system/Appointment.write system/Slot.read system/Patient.read"


class SigningKey:
    """A client's key pair: ES384 (P-384) or RS384."""

    def __init__(self, alg: str = "ES384", kid: str | None = None) -> None:
        self.alg = alg
        self.kid = kid or uuid.uuid4().hex[:12]
        if alg.startswith("ES"):
            self.private: Any = ec.generate_private_key(ec.SECP384R1())
            public = ECAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        else:
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            public = RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        self.jwk: dict[str, Any] = {**public, "kid": self.kid, "alg": alg, "use": "sig"}

    def jwks(self) -> str:
        return json.dumps({"keys": [self.jwk]})


class SmartClient:
    """A registered client: its id, its key, and how it asks for tokens."""

    def __init__(self, client_id: str, key: SigningKey, token_url: str) -> None:
        self.id = client_id
        self.key = key
        self.token_url = token_url

    def assertion(
        self,
        now: datetime,
        *,
        lifetime: timedelta = timedelta(minutes=4),
        key: SigningKey | None = None,
        **claims: Any,
    ) -> str:
        """A signed assertion; a claim given as None is left out."""
        signer = key or self.key
        body: dict[str, Any] = {
            "iss": self.id,
            "sub": self.id,
            "aud": self.token_url,
            "exp": int((now + lifetime).timestamp()),
            "iat": int(now.timestamp()),
            "jti": uuid.uuid4().hex,
        } | claims
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(body, signer.private, algorithm=signer.alg, headers={"kid": signer.kid})

    @staticmethod
    def form(assertion: str, scope: str = ALL_SCOPES) -> dict[str, str]:
        return {
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
            "scope": scope,
        }


async def smart_client(
    container: Container,
    scopes: str = ALL_SCOPES,
    *,
    key: SigningKey | None = None,
    jwks_url: str | None = None,
) -> SmartClient:
    key = key or SigningKey()
    registered = await container.smart.clients.add(
        "partner EHR", scopes, jwks_url=jwks_url, jwks=None if jwks_url else key.jwks()
    )
    return SmartClient(registered.id, key, container.smart.tokens.token_url)


async def smart_headers(
    http: httpx.AsyncClient, container: Container, scopes: str = ALL_SCOPES
) -> dict[str, str]:
    """A new SMART client with these scopes, and a bearer token it got from the endpoint."""
    client = await smart_client(container, scopes)
    form = client.form(client.assertion(container.clock.now()), scopes)
    resp = await http.post(TOKEN, data=form)
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


class JwksHost:
    """A client's JWKS URL on loopback; the published keys can change between requests."""

    def __init__(self, keys: list[SigningKey]) -> None:
        self.keys = keys
        self.fetches = 0
        self.server = LoopbackServer(self._serve)
        self.url = f"{self.server.url}/jwks.json"

    def _serve(self, request: Request) -> Reply:
        self.fetches += 1
        return json_reply(200, {"keys": [k.jwk for k in self.keys]})


def validated(resource: dict[str, Any]) -> Any:
    """The resource parsed and validated by its fhir.resources R4B model (raises if invalid)."""
    model = get_fhir_model_class(resource["resourceType"])
    return model.model_validate(resource)


def assert_outcome(resp: httpx.Response, status: int, issue: str | None = None) -> dict[str, Any]:
    """An OperationOutcome answer, valid R4B, with this status (and issue type)."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/fhir+json"), resp.headers
    body: dict[str, Any] = resp.json()
    assert body["resourceType"] == "OperationOutcome"
    validated(body)
    if issue is not None:
        assert body["issue"][0]["code"] == issue, body
    assert body["issue"][0]["diagnostics"]
    return body
