"""The flags API's request and response models."""

from __future__ import annotations

from datetime import datetime

from pydantic import ConfigDict, Field

from clinicflow.flags.views import FlagView
from clinicflow.infra.request_input import RequestModel
from clinicflow.infra.response_model import ResponseModel


class FlagIn(RequestModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool
    percentage: int = Field(default=100, ge=0, le=100)
    description: str | None = Field(default=None, max_length=300)


class FlagOut(ResponseModel[FlagView]):
    key: str
    enabled: bool
    percentage: int
    description: str
    updated_at: datetime | None
    updated_by: str | None
