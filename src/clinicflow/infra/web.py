"""What every context's routes read from a request the gateway has already authenticated."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from clinicflow.shared.actor import ANONYMOUS, Actor


async def current_actor(request: Request) -> Actor:
    """Set by the gateway's authentication dependency before any route runs. (`async`:
    FastAPI would run a plain function on a worker thread, a thread hop per request.)"""
    actor = getattr(request.state, "actor", None)
    return actor if isinstance(actor, Actor) else ANONYMOUS


def part(request: Request, name: str) -> Any:
    """A wired component from the container the app was built over."""
    return getattr(request.app.state.container, name)


CurrentActor = Annotated[Actor, Depends(current_actor)]
