"""What the integrations' use cases hand back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class ConflictView:
    """A patient changed on both sides since the last sync (or matched ambiguously, or a
    change the record refused): staff compare the two records and settle it by hand."""

    id: str
    patient_id: str
    remote_id: str | None
    kind: str
    fields: list[str]
    remote_version: str | None
    detail: str | None
    detected_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
