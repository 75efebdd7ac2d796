"""TOTP second factor (RFC 6238, 30 s steps, 6 digits); the caller supplies the time."""

from __future__ import annotations

import hmac
import re
from datetime import datetime

import pyotp

STEP_SECONDS = 30
# One step either side absorbs phone clock drift and the time it takes to type the code.
_DRIFT_STEPS = (0, -1, 1)
_CODE = re.compile(r"[0-9]{6}")


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer)


def step_at(at: datetime) -> int:
    if at.tzinfo is None:
        # A naive datetime's timestamp() silently uses the host's zone.
        raise ValueError("TOTP needs an aware datetime")
    return int(at.timestamp() // STEP_SECONDS)


def code_at(secret: str, at: datetime) -> str:
    # generate_otp takes the step counter directly, so pyotp never reads or guesses a zone.
    return pyotp.TOTP(secret).generate_otp(step_at(at))


def verify_code(secret: str, code: str, at: datetime, last_step: int | None) -> int | None:
    """The matched step, which the caller stores as `last_step` so the code cannot be replayed."""
    code = code.strip()
    if not _CODE.fullmatch(code):
        return None
    totp = pyotp.TOTP(secret)
    current = step_at(at)
    for offset in _DRIFT_STEPS:
        step = current + offset
        if step < 0 or (last_step is not None and step <= last_step):
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None
