"""What the staff accounts' use-case tests (tests/unit/identity/test_users_*_service.py)
share: a password the policy takes, a wrong one, and an administrator's TOTP seed."""

from __future__ import annotations

import pyotp

from support.fake_identity import FakeIdentity

PASSWORD = "correct horse battery staple"
WRONG = "not the password at all"


async def admin_secret(identity: FakeIdentity, name: str = "boss") -> str:
    made = await identity.users.create(name, "admin", PASSWORD)
    assert made.totp_uri is not None
    secret: str = pyotp.parse_uri(made.totp_uri).secret
    return secret
