"""The practitioner's ICS feed route. Calendar apps send no credentials, only the address:
the secret token rides in the query string (which request logs and traces drop), and the
use case decides, answering one 404 for every kind of wrong address."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from clinicflow.calendars.feeds.errors import FeedNotFound
from clinicflow.calendars.feeds.service import PATH, PractitionerFeeds
from clinicflow.infra.error_responses import documented
from clinicflow.infra.web import provided

CALENDAR = "text/calendar; charset=utf-8"
# Apps poll (REFRESH-INTERVAL says 15 minutes); a shared cache must never keep one.
CACHE_CONTROL = "private, max-age=300"

router = APIRouter(tags=["calendars"])
FeedsDep = Annotated[PractitionerFeeds, Depends(provided(PractitionerFeeds))]


class CalendarResponse(Response):
    media_type = CALENDAR


@router.get(
    PATH,
    response_class=CalendarResponse,
    **documented(
        "getPractitionerCalendar",
        "A practitioner's bookings as an iCalendar feed (no patient data), by secret token",
        FeedNotFound,
        responses={200: {"description": "the feed", "content": {CALENDAR: {}}}},
    ),
)
async def practitioner_calendar(
    feeds: FeedsDep,
    key: str,
    token: Annotated[str | None, Query(description="the feed's secret token")] = None,
) -> CalendarResponse:
    # The token is optional here so that a missing one is the same 404 as a wrong one.
    body = await feeds.feed(key, token)
    return CalendarResponse(body, headers={"Cache-Control": CACHE_CONTROL})
