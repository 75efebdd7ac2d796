"""Authentication at the edge: every request gets an `Actor` before its route runs.

Authorization is not decided here: the use cases decide, with the actor, what it may see.
"""

from __future__ import annotations

from dataclasses import replace
from typing import cast

from fastapi import Request

from clinicflow.identity.api import COOKIE
from clinicflow.identity.authenticate import Authenticator

BREAK_GLASS_HEADER = "x-break-glass-reason"


async def authenticate(request: Request) -> None:
    authenticator = cast(Authenticator, request.app.state.container.authenticator)
    actor = await authenticator.actor_for(
        request.headers.get("authorization"),
        request.headers.get("x-api-key"),
        request.cookies.get(COOKIE),
    )
    actor = actor.at(
        request.client.host if request.client else None,
        getattr(request.state, "request_id", None),
    )
    reason = request.headers.get(BREAK_GLASS_HEADER, "").strip()
    if reason:
        actor = replace(actor, break_glass_reason=reason[:500])
    request.state.actor = actor
