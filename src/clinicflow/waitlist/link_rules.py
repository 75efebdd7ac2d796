"""Rules every private link shares (invitations, offers): reading its token, its state as
of now, the answer when it can no longer book, and the first look at it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from clinicflow.waitlist import checks
from clinicflow.waitlist import repository as repo
from clinicflow.waitlist.errors import LinkClosed, no_such_link
from clinicflow.waitlist.reads import TOKEN_CHARS


def checked(token: str, kind: str) -> str:
    """The token's hash, or the one not-found answer for anything malformed."""
    if not 20 <= len(token) <= 128 or not set(token) <= TOKEN_CHARS:
        raise no_such_link(kind)
    return checks.token_hash(token)


def closed(kind: str, status: str) -> LinkClosed:
    why = {
        "claiming": "it is being used to book right now",
        "claimed": "it has already booked a visit",
        "expired": "its time ran out",
        "withdrawn": "it was withdrawn",
    }.get(status, f"it is {status}")
    return LinkClosed(f"this {kind} can no longer book: {why}", link_status=status)


def effective(link: Any, now: datetime) -> str:
    """A link past its time reads as expired before the job has closed it."""
    status = str(link.status)
    if status in ("sent", "made") and link.expires_at <= now:
        return "expired"
    return status


async def clicked(conn: Any, entry_id: str, ref: str, now: datetime) -> None:
    """The first look at a link: the clicked stage, and a click for the engagement score."""
    await repo.stamp(conn, entry_id, "clicked", now)
    await repo.add_engagement(conn, entry_id, "clicked", now, ref)
