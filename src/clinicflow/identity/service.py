"""Credentials → an `Actor`. Whatever is presented must be valid: a bad credential is
refused (401), never treated as anonymous.

Accepted, in this order: `Authorization: Bearer` with an API key (`cfk_…`), a session
(`cfs_…`) or a JWT (ours from /v1/oauth/token, or the configured OpenID Connect
provider's); `X-API-Key`; the `cf_session` cookie. Nothing → anonymous.
"""

from __future__ import annotations

from dataclasses import dataclass

import jwt

from clinicflow.identity.api_keys.domain.keys import PREFIX as KEY_PREFIX
from clinicflow.identity.api_keys.service import ApiKeys
from clinicflow.identity.api_keys.views import ApiKeyView
from clinicflow.identity.errors import TokenInvalid
from clinicflow.identity.oauth.domain.jwt_keys import Claims
from clinicflow.identity.oauth.service import OidcVerifier, TokenService
from clinicflow.identity.sessions.domain.session import PREFIX as SESSION_PREFIX
from clinicflow.identity.sessions.service import SessionStore
from clinicflow.shared.actor import ANONYMOUS, STAFF_ROLES, Actor, Role
from clinicflow.shared.errors import Forbidden


@dataclass(kw_only=True, eq=False)
class Authenticator:
    keys: ApiKeys
    sessions: SessionStore
    tokens: TokenService
    oidc: OidcVerifier | None
    oidc_issuer: str | None = None
    role_claim: str = "clinicflow_role"
    practitioner_claim: str = "clinicflow_practitioner"

    async def actor_for(
        self, authorization: str | None, api_key: str | None, cookie: str | None
    ) -> Actor:
        if authorization:
            scheme, _, credential = authorization.partition(" ")
            if scheme.lower() != "bearer" or not credential.strip():
                raise TokenInvalid("send credentials as `Authorization: Bearer <token>`")
            return await self._bearer(credential.strip())
        if api_key:
            return _client(await self.keys.authenticate(api_key.strip()), None)
        if cookie:
            return await self._session(cookie)
        return ANONYMOUS

    async def _bearer(self, credential: str) -> Actor:
        if credential.startswith(KEY_PREFIX):
            return _client(await self.keys.authenticate(credential), None)
        if credential.startswith(SESSION_PREFIX):
            return await self._session(credential)
        if credential.count(".") == 2:
            return await self._jwt(credential)
        raise TokenInvalid("unrecognized bearer token")

    async def _session(self, token: str) -> Actor:
        owner = await self.sessions.resolve(token)
        if owner.kind == "patient" and owner.patient_id:
            return Actor(
                kind="patient",
                id=f"patient:{owner.patient_id}",
                role=Role.PATIENT,
                patient_id=owner.patient_id,
                tier="patient",
            )
        return Actor(
            kind="user",
            id=str(owner.user_id),
            role=Role(str(owner.role)),
            practitioner=owner.practitioner,
            tier="staff",
        )

    async def _jwt(self, token: str) -> Actor:
        try:
            issuer: object = jwt.decode(token, options={"verify_signature": False}).get("iss")
        except jwt.PyJWTError:
            raise TokenInvalid("malformed token") from None
        if issuer == self.tokens.issuer:
            claims, client = await self.tokens.verify(token)
            return _client(client, claims)
        if self.oidc is not None and issuer == self.oidc_issuer:
            return self._staff_from(await self.oidc.verify(token))
        raise TokenInvalid("token issuer is not one this clinic accepts")

    def _staff_from(self, claims: Claims) -> Actor:
        role = claims.get(self.role_claim)
        if not isinstance(role, str) or role not in {r.value for r in STAFF_ROLES}:
            raise Forbidden(
                f"the identity provider's token has no usable `{self.role_claim}` claim; "
                f"ask your administrator to map your account to one of "
                f"{', '.join(sorted(r.value for r in STAFF_ROLES))}"
            )
        practitioner = claims.get(self.practitioner_claim)
        return Actor(
            kind="user",
            id=f"oidc:{claims['sub']}"[:64],
            role=Role(role),
            practitioner=str(practitioner) if practitioner else None,
            tier="staff",
        )


def _client(key: ApiKeyView, claims: Claims | None) -> Actor:
    scopes = set(key.scopes)
    if claims is not None:  # a token carries at most what its client holds today
        scopes &= set(str(claims.get("scope", "")).split())
    return Actor(
        kind="client", id=key.id, role=Role.CLIENT, scopes=frozenset(scopes), tier=key.tier
    )
