"""A staff account as stored, and the rules for a new one: a staff role, a practitioner's
calendar, a password the policy accepts, and a second factor for administrators."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from clinicflow.identity.users.domain.passwords import check_password_policy
from clinicflow.shared.actor import STAFF_ROLES, Role

USERNAME_LENGTH = 64
STAFF_ROLE_NAMES = frozenset(r.value for r in STAFF_ROLES)


@dataclass(frozen=True, slots=True)
class User:
    id: str
    username: str  # lower-cased
    role: str
    practitioner: str | None  # calendar key, for practitioners
    password_hash: str = field(repr=False)
    totp_secret_enc: str | None = field(repr=False)  # sealed with the key ring
    totp_confirmed_at: datetime | None
    totp_last_step: int | None  # a code is accepted once
    active: bool
    failed_logins: int  # failed sign-ins since the last success, from any address
    last_login_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @property
    def totp_enrolled(self) -> bool:
        return self.totp_secret_enc is not None


def normalize(username: str) -> str:
    return username.strip().lower()


def account_problems(
    username: str,
    role: str,
    password: str,
    practitioner: str | None,
    practitioners: Collection[str],
) -> list[str]:
    """What is wrong with a new account (`username` normalized); empty when nothing is."""
    problems = check_password_policy(password, username)
    if not username or len(username) > USERNAME_LENGTH:
        problems.append(f"username: 1 to {USERNAME_LENGTH} characters")
    if role not in STAFF_ROLE_NAMES:
        problems.append(f"role: one of {', '.join(sorted(STAFF_ROLE_NAMES))}")
    if role == Role.PRACTITIONER and practitioner not in practitioners:
        problems.append(
            "practitioner: a practitioner account needs the key of their calendar in "
            f"config/clinic.yaml (one of {', '.join(sorted(practitioners))})"
        )
    return problems


def needs_second_factor(role: str, asked: bool) -> bool:
    """Administrators always get a TOTP secret; others when asked."""
    return asked or role == Role.ADMIN
