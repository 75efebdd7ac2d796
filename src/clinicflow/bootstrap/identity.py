"""The identity context's wiring: sign-in, sessions, API keys, tokens, authentication."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import timedelta

from clinicflow.bootstrap.core import Core
from clinicflow.identity import (
    ApiKeys,
    Authenticator,
    Mailer,
    PatientLinks,
    SessionStore,
    SqlIdentityUnitOfWork,
    TokenService,
    UserService,
)
from clinicflow.identity.oauth.service import OidcVerifier
from clinicflow.identity.users.domain.backoff import BackoffPolicy, SignInLimits
from clinicflow.identity.users.domain.passwords import Passwords
from clinicflow.infra.unit_of_work import Factory
from clinicflow.patients import PatientDirectory
from clinicflow.settings import Settings


@dataclass(frozen=True)
class IdentityParts:
    users: UserService
    sessions: SessionStore
    patient_links: PatientLinks
    apikeys: ApiKeys
    tokens: TokenService
    authenticator: Authenticator


def wire_identity(core: Core, *, patients: PatientDirectory, mailer: Mailer) -> IdentityParts:
    settings, clock = core.settings, core.clock
    uow = Factory(core.db, functools.partial(SqlIdentityUnitOfWork, patients=patients))
    sessions = SessionStore(
        uow=uow,
        clock=clock,
        idle=timedelta(minutes=settings.session_idle_minutes),
        lifetime=timedelta(hours=settings.session_max_hours),
    )
    apikeys = ApiKeys(uow=uow, clock=clock)
    tokens = TokenService(
        uow=uow,
        clock=clock,
        keys=core.keys,
        clients=apikeys,
        issuer=settings.token_issuer,
        audience=settings.token_audience,
        ttl=timedelta(minutes=settings.access_token_minutes),
    )
    return IdentityParts(
        users=UserService(
            uow=uow,
            clock=clock,
            keys=core.keys,
            sessions=sessions,
            practitioners=set(core.loaded.practitioners),
            issuer_name=core.loaded.clinic.name,
            limits=_signin_limits(settings),
            passwords=Passwords(settings.password_hashing),
        ),
        sessions=sessions,
        patient_links=PatientLinks(
            uow=uow,
            clock=clock,
            sessions=sessions,
            mailer=mailer,
            lifetime=timedelta(minutes=settings.patient_link_minutes),
            public_url=settings.public_url,
            clinic_name=core.loaded.clinic.name,
        ),
        apikeys=apikeys,
        tokens=tokens,
        authenticator=Authenticator(
            keys=apikeys,
            sessions=sessions,
            tokens=tokens,
            oidc=_oidc(core),
            oidc_issuer=settings.oidc_issuer,
            role_claim=settings.oidc_role_claim,
            practitioner_claim=settings.oidc_practitioner_claim,
        ),
    )


def _oidc(core: Core) -> OidcVerifier | None:
    settings = core.settings
    if not (settings.oidc_issuer and settings.oidc_audience and settings.oidc_jwks_url):
        return None
    return OidcVerifier(
        issuer=settings.oidc_issuer,
        audience=settings.oidc_audience,
        jwks_url=settings.oidc_jwks_url,
        http=core.http,
        clock=core.clock,
    )


def _signin_limits(settings: Settings) -> SignInLimits:
    base = timedelta(seconds=settings.signin_backoff_seconds)
    cap = timedelta(minutes=settings.signin_backoff_max_minutes)
    return SignInLimits(
        address=BackoffPolicy(free_failures=settings.signin_free_failures, base=base, cap=cap),
        account=BackoffPolicy(
            free_failures=settings.signin_account_failures,
            base=base,
            cap=cap,
            forget_after=timedelta(minutes=settings.signin_account_window_minutes),
        ),
        known_for=timedelta(days=settings.signin_known_days),
    )
