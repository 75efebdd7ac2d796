"""The nurture messages' tracking link: a path (it only records a click), not a query."""

from __future__ import annotations

from fastapi import APIRouter

from clinicflow.infra.error_responses import documented
from clinicflow.waitlist.entries.api import WaitlistDep
from clinicflow.waitlist.errors import LinkNotFound
from clinicflow.waitlist.nurture.schemas import ClickOut

router = APIRouter(tags=["waitlist"])


@router.get(
    "/v1/waitlist/t/{token}",
    **documented(
        "followTrackedLink", "Record a click on a link in a waitlist message", LinkNotFound
    ),
)
async def tracked(waitlist: WaitlistDep, token: str) -> ClickOut:
    return ClickOut.of(await waitlist.nurture.click(token))
