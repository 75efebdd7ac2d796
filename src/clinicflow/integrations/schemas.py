"""The integrations API's response models."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from clinicflow.infra.response_model import ResponseModel
from clinicflow.integrations.views import ConflictView


class ConflictOut(ResponseModel[ConflictView]):
    id: str
    patient_id: str
    remote_id: str | None
    kind: str  # edited_both_sides | ambiguous_match | refused
    fields: list[str]  # which fields differ; the values are in each system's record
    remote_version: str | None
    detail: str | None
    detected_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None


class ResolvedOut(BaseModel):
    id: str
    patient_id: str


class WebhookTakenOut(BaseModel):
    queued: int  # patient changes queued for the sync (0: this webhook was taken before)
