"""A flag as the use cases answer it (and as the repository reads it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class FlagView:
    key: str
    enabled: bool
    percentage: int  # 0..100: the share of clients it reaches
    description: str
    updated_at: datetime | None  # None: never set, its default
    updated_by: str | None
