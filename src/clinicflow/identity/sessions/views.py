"""What the session use cases answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal


@dataclass(frozen=True, slots=True)
class OpenSession:
    token: str  # shown once: only its digest is stored
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class SessionOwner:
    kind: Literal["staff", "patient"]
    user_id: str | None
    role: str | None
    practitioner: str | None
    patient_id: str | None
