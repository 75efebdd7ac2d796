"""What the staff-account use cases answer: an account as staff may see it (no secrets)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from clinicflow.identity.users.domain.accounts import User
from clinicflow.shared.records import from_attributes


@dataclass(frozen=True, slots=True)
class UserView:
    id: str
    username: str
    role: str
    practitioner: str | None
    active: bool
    totp_enrolled: bool
    created_at: datetime
    last_login_at: datetime | None
    failed_logins: int  # failed sign-ins since the last success, from any address

    @classmethod
    def of(cls, user: User) -> UserView:
        return from_attributes(cls, user)


@dataclass(frozen=True, slots=True)
class NewUser:
    user: UserView
    totp_uri: str | None  # shown once, for the authenticator app
