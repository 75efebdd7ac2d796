"""The entries' routes: parse → use case → schema. Access is decided in the use cases.

The person's own entry lives at /v1/waitlist/mine?token=…: a fixed word that no entry id can
be confused with, and a token in the query string, which request logs drop.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Response

from clinicflow.infra.error_responses import SIGNED_IN, documented
from clinicflow.infra.request_input import LARGEST_STORED_INT
from clinicflow.infra.web import CurrentActor, provided
from clinicflow.waitlist.domain.states import STATUSES
from clinicflow.waitlist.entries.schemas import (
    EntryListOut,
    EntryOut,
    JoinIn,
    JoinOut,
    PreferencesIn,
    StatusOut,
    entry_list_out,
    entry_out,
    join_out,
    status_out,
)
from clinicflow.waitlist.errors import EntryClosed, EntryNotFound, InvalidEntry
from clinicflow.waitlist.service import Waitlist

router = APIRouter(prefix="/v1/waitlist", tags=["waitlist"])
Token = Annotated[str, Query(min_length=1, max_length=128, description="your private token")]
Status = Annotated[str | None, Query(pattern=f"^({'|'.join(STATUSES)})$")]
WaitlistDep = Annotated[Waitlist, Depends(provided(Waitlist))]


@router.post(
    "",
    **documented(
        "joinWaitlist",
        "Join a service's waitlist",
        InvalidEntry,
        responses={200: {"description": "already on this list"}},
        status_code=201,
    ),
)
async def join(
    waitlist: WaitlistDep,
    response: Response,
    background: BackgroundTasks,
    actor: CurrentActor,
    body: JoinIn,
) -> JoinOut:
    result = await waitlist.entries.join(actor, body.request())
    if result.already_joined:
        response.status_code = 200
    if result.then is not None:
        background.add_task(result.then)
    url = waitlist.status_url(result.token) if result.token else None
    return join_out(result, url)


@router.get(
    "",
    **documented(
        "listWaitlistEntries", "List waitlist entries, best match first", *SIGNED_IN, InvalidEntry
    ),
)
async def entries(
    waitlist: WaitlistDep,
    actor: CurrentActor,
    service: Annotated[str | None, Query(max_length=64)] = None,
    status: Status = None,
    limit: Annotated[int, Query(gt=0, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=LARGEST_STORED_INT)] = 0,
) -> EntryListOut:
    found = await waitlist.entries.listed(actor, service, status, limit, offset)
    return entry_list_out(found)


@router.get(
    "/mine",
    **documented(
        "getMyWaitlistEntry", "Where the holder of a waitlist token stands", EntryNotFound
    ),
)
async def mine(waitlist: WaitlistDep, token: Token) -> StatusOut:
    return status_out(await waitlist.entries.by_token(token))


@router.patch(
    "/mine",
    **documented(
        "changeMyWaitlistEntry",
        "Change one's own waitlist preferences (by token)",
        EntryNotFound,
        InvalidEntry,
        EntryClosed,
    ),
)
async def change_mine(
    waitlist: WaitlistDep, actor: CurrentActor, token: Token, body: PreferencesIn
) -> StatusOut:
    view = await waitlist.entries.update_by_token(actor, token, body.preferences())
    return status_out(view)


@router.delete(
    "/mine",
    **documented(
        "withdrawMyWaitlistEntry", "Leave a waitlist (by token)", EntryNotFound, EntryClosed
    ),
)
async def withdraw_mine(waitlist: WaitlistDep, actor: CurrentActor, token: Token) -> StatusOut:
    return status_out(await waitlist.entries.withdraw_by_token(actor, token))


@router.patch(
    "/{entry_id}",
    **documented(
        "changeWaitlistEntry",
        "Change a waitlist entry's preferences",
        *SIGNED_IN,
        EntryNotFound,
        InvalidEntry,
        EntryClosed,
    ),
)
async def change(
    waitlist: WaitlistDep, actor: CurrentActor, entry_id: str, body: PreferencesIn
) -> EntryOut:
    view = await waitlist.entries.update(actor, entry_id, body.preferences())
    return entry_out(view)


@router.delete(
    "/{entry_id}",
    **documented(
        "withdrawWaitlistEntry",
        "Take an entry off a waitlist",
        *SIGNED_IN,
        EntryNotFound,
        EntryClosed,
    ),
)
async def withdraw(
    waitlist: WaitlistDep,
    actor: CurrentActor,
    entry_id: str,
    reason: Annotated[str | None, Query(max_length=500)] = None,
) -> EntryOut:
    return entry_out(await waitlist.entries.withdraw(actor, entry_id, reason))
