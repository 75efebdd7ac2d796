"""The identity context's wiring: sign-in, sessions, API keys, tokens, authentication."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from clinicflow.bootstrap.core import Core
from clinicflow.identity.apikeys import ApiKeys
from clinicflow.identity.authenticate import Authenticator
from clinicflow.identity.domain.backoff import BackoffPolicy, SignInLimits
from clinicflow.identity.links import PatientLinks
from clinicflow.identity.mailer import Mailer
from clinicflow.identity.oauth import TokenService
from clinicflow.identity.oidc import OidcVerifier
from clinicflow.identity.passwords import Passwords
from clinicflow.identity.sessions import SessionStore
from clinicflow.identity.signin_backoff import BackoffStore
from clinicflow.identity.users import UserService
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
    settings, db, clock = core.settings, core.db, core.clock
    sessions = SessionStore(
        db=db,
        clock=clock,
        idle=timedelta(minutes=settings.session_idle_minutes),
        lifetime=timedelta(hours=settings.session_max_hours),
    )
    apikeys = ApiKeys(db=db, clock=clock)
    tokens = TokenService(
        db=db,
        clock=clock,
        keys=core.keys,
        clients=apikeys,
        issuer=settings.token_issuer,
        audience=settings.token_audience,
        ttl=timedelta(minutes=settings.access_token_minutes),
    )
    return IdentityParts(
        users=UserService(
            db=db,
            clock=clock,
            keys=core.keys,
            sessions=sessions,
            practitioners=set(core.loaded.practitioners),
            issuer_name=core.loaded.clinic.name,
            backoff=BackoffStore(db=db, limits=_signin_limits(settings), keys=core.keys),
            passwords=Passwords(settings.password_hashing),
        ),
        sessions=sessions,
        patient_links=PatientLinks(
            db=db,
            clock=clock,
            patients=patients,
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
            sessions_=sessions,
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
