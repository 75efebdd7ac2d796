"""Admin routes for feature flags."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field

from clinicflow.flags.service import FlagService, FlagView
from clinicflow.infra.error_responses import SIGNED_IN, errors
from clinicflow.infra.request_input import RequestModel
from clinicflow.infra.web import CurrentActor, provided
from clinicflow.shared.errors import InvalidRequest

router = APIRouter(prefix="/v1/flags", tags=["operations"])
Key = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{1,63}$")]
FlagsDep = Annotated[FlagService, Depends(provided(FlagService))]


class FlagIn(RequestModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool
    percentage: int = Field(default=100, ge=0, le=100)
    description: str | None = Field(default=None, max_length=300)


class FlagOut(BaseModel):
    key: str
    enabled: bool
    percentage: int
    description: str
    updated_at: datetime | None
    updated_by: str | None

    @classmethod
    def of(cls, view: FlagView) -> FlagOut:
        return cls(**{name: getattr(view, name) for name in cls.model_fields})


@router.get(
    "", operation_id="listFlags", summary="List the feature flags", responses=errors(*SIGNED_IN)
)
async def list_flags(flags: FlagsDep, actor: CurrentActor) -> list[FlagOut]:
    return [FlagOut.of(f) for f in await flags.list(actor)]


@router.put(
    "/{key}",
    operation_id="setFlag",
    summary="Turn a feature flag on or off, or roll it out to a share of callers",
    responses=errors(*SIGNED_IN, InvalidRequest),
)
async def set_flag(flags: FlagsDep, actor: CurrentActor, key: Key, body: FlagIn) -> FlagOut:
    view = await flags.set(actor, key, body.enabled, body.percentage, body.description)
    return FlagOut.of(view)
