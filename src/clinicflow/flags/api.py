"""Admin routes for feature flags."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from clinicflow.flags.schemas import FlagIn, FlagOut
from clinicflow.flags.service import FlagService
from clinicflow.infra.error_responses import SIGNED_IN, documented
from clinicflow.infra.web import CurrentActor, provided
from clinicflow.shared.errors import InvalidRequest

router = APIRouter(prefix="/v1/flags", tags=["operations"])
Key = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{1,63}$")]
FlagsDep = Annotated[FlagService, Depends(provided(FlagService))]


@router.get("", **documented("listFlags", "List the feature flags", *SIGNED_IN))
async def list_flags(flags: FlagsDep, actor: CurrentActor) -> list[FlagOut]:
    return [FlagOut.of(f) for f in await flags.list(actor)]


@router.put(
    "/{key}",
    **documented(
        "setFlag",
        "Turn a feature flag on or off, or roll it out to a share of callers",
        *SIGNED_IN,
        InvalidRequest,
    ),
)
async def set_flag(flags: FlagsDep, actor: CurrentActor, key: Key, body: FlagIn) -> FlagOut:
    view = await flags.set(actor, key, body.enabled, body.percentage, body.description)
    return FlagOut.of(view)
