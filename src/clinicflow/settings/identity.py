"""The identity context's settings: sessions, sign-in back-off, the tokens issued here and
an external OpenID Connect provider."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings

from clinicflow.settings.completeness import all_or_none


class IdentitySettings(BaseSettings):
    """CLINICFLOW_SESSION_*, _SIGNIN_*, _OIDC_*, the tokens and the password hashing."""

    # Staff and patient sessions: idle timeout and absolute lifetime.
    session_idle_minutes: int = Field(default=15, gt=0)
    session_max_hours: int = Field(default=12, gt=0)
    patient_link_minutes: int = Field(default=15, gt=0)
    # Staff sign-in back-off, per (account name, client network: IPv4 address or IPv6 /64):
    # this many failures are free, then each attempt waits twice as long as the last, from
    # the base up to the cap.
    signin_free_failures: int = Field(default=5, gt=0)
    signin_backoff_seconds: int = Field(default=30, gt=0)
    signin_backoff_max_minutes: int = Field(default=15, gt=0)
    # And per account, over all networks it has not signed in from in the last
    # `signin_known_days`: this many failures (forgotten after the window passes with no
    # attempt), then new networks wait the same doubling steps; known networks never do.
    signin_account_failures: int = Field(default=20, gt=0)
    signin_account_window_minutes: int = Field(default=60, gt=0)
    signin_known_days: int = Field(default=30, gt=0)
    # OAuth 2.0 client-credentials tokens issued here (JWT, ES256).
    token_audience: str = "clinicflow-api"  # noqa: S105 (an audience name, not a secret)
    access_token_minutes: int = Field(default=15, gt=0)
    # Staff password hashes (identity/passwords.py): argon2id at RFC 9106's strength. The
    # test suite alone sets "insecure-fast"; a hash made that way is rehashed at sign-in.
    password_hashing: Literal["strong", "insecure-fast"] = "strong"  # noqa: S105 (a strength)
    # An external OpenID Connect provider whose tokens staff may use (all three, or none).
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_jwks_url: str | None = None
    oidc_role_claim: str = "clinicflow_role"
    oidc_practitioner_claim: str = "clinicflow_practitioner"

    @model_validator(mode="after")
    def _oidc_complete(self) -> Self:
        return all_or_none(self, "oidc_issuer", "oidc_audience", "oidc_jwks_url")
