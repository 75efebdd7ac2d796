"""HTTP shapes for sign-in, sessions and tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from clinicflow.infra.request_input import RequestModel


class _In(RequestModel):
    model_config = ConfigDict(extra="forbid")


class LoginIn(_In):
    username: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=1024)]
    totp_code: Annotated[str, StringConstraints(max_length=16)] | None = Field(
        default=None, description="6-digit code from the authenticator app (required for admins)"
    )


class PatientLinkIn(_In):
    email: Annotated[str, StringConstraints(min_length=3, max_length=254)]


class PatientSessionIn(_In):
    token: Annotated[str, StringConstraints(min_length=10, max_length=200)]


class SessionOut(BaseModel):
    token: str = Field(description="send as `Authorization: Bearer`, or rely on the cookie")
    expires_at: datetime
    idle_timeout_seconds: int
    role: str
    user_id: str | None = None
    patient_id: str | None = None


class AcceptedOut(BaseModel):
    detail: str


class MeOut(BaseModel):
    kind: str
    id: str
    role: str
    scopes: list[str]
    practitioner: str | None
    patient_id: str | None


class TokenOut(BaseModel):
    access_token: str
    token_type: str
    expires_in: int
    scope: str
