"""Booking routes: parse → use case → schema."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from clinicflow.booking.availability.service import ASKED_STATE, CachedAvailability
from clinicflow.booking.commands import BookRequest, SlotQuestion, SlotRequest
from clinicflow.booking.domain.lifecycle import Action
from clinicflow.booking.errors import (
    BookingNotFound,
    DurationNotAllowed,
    HoldExpired,
    HoldMismatch,
    HoldNotFound,
    IdempotencyKeyReused,
    InvalidRange,
    InvalidTransition,
    OutsideWorkingHours,
    PatientUnavailable,
    PractitionerNotEligible,
    RangeTooLong,
    ServiceNotBookable,
    SlotUnavailable,
    TooEarly,
    TooFarAhead,
    TooLittleNotice,
    UnknownPractitioner,
    UnknownService,
    UnknownVisitType,
)
from clinicflow.booking.schemas import (
    ActionIn,
    AvailabilityOut,
    BookingIn,
    BookingList,
    BookingOut,
    HoldIn,
    PractitionerOut,
    RescheduleIn,
    ServiceOut,
    availability_json,
    bound,
)
from clinicflow.booking.service import BookingReader, BookingService
from clinicflow.catalog.api import CatalogDep, LaunchesDep
from clinicflow.infra.error_responses import SIGNED_IN, documented
from clinicflow.infra.request_input import DayOrInstant
from clinicflow.infra.web import ClockDep, CurrentActor, provided
from clinicflow.shared.errors import InvalidRequest

router = APIRouter(prefix="/v1", tags=["booking"])
# What a question about a slot can be refused for, and what taking one can also meet.
SLOT_QUESTION = (
    UnknownService,
    ServiceNotBookable,
    UnknownVisitType,
    DurationNotAllowed,
    UnknownPractitioner,
)
SLOT_RULES = (
    *SLOT_QUESTION,
    PractitionerNotEligible,
    OutsideWorkingHours,
    TooLittleNotice,
    TooFarAhead,
    SlotUnavailable,
)
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)]
BookingServiceDep = Annotated[BookingService, Depends(provided(BookingService))]
BookingReaderDep = Annotated[BookingReader, Depends(provided(BookingReader))]
# Answers cached per question, dropped when a booking commits.
AvailabilityDep = Annotated[CachedAvailability, Depends(provided(CachedAvailability))]


def _slot(body: HoldIn) -> SlotRequest:
    return SlotRequest(body.service, body.visit_type, body.duration, body.start, body.practitioner)


@router.get("/services", **documented("listServices", "List the services offered"))
async def services(launches: LaunchesDep, catalog: CatalogDep) -> list[ServiceOut]:
    await launches.refresh()  # launches from any replica
    return [ServiceOut.of(s) for s in catalog.services.values()]


@router.get("/practitioners", **documented("listPractitioners", "List the practitioners"))
async def practitioners(catalog: CatalogDep) -> list[PractitionerOut]:
    return [PractitionerOut.of(p) for p in catalog.practitioners.values()]


@router.get(
    "/availability",
    **documented(
        "listAvailability",
        "Find open slots for a visit",
        *SLOT_QUESTION,
        InvalidRange,
        RangeTooLong,
        response_model=AvailabilityOut,
    ),
)
async def availability(
    request: Request,
    catalog: CatalogDep,
    clock: ClockDep,
    finder: AvailabilityDep,
    service: str,
    visit_type: str,
    duration: Annotated[int, Query(gt=0, le=1440)],
    start: DayOrInstant | None = None,
    end: DayOrInstant | None = None,
    practitioner: str | None = None,
) -> Response:
    tz = catalog.clinic.tz
    # From now, to the minute (so repeated questions within a minute share a cached answer).
    now = clock.now().replace(second=0, microsecond=0).astimezone(tz)
    lo = bound(start, tz, inclusive_end=False) or now
    hi = bound(end, tz, inclusive_end=True) or lo + timedelta(days=7)
    render = partial(availability_json, service, visit_type, duration, str(tz), lo, hi)

    def asked(names: Sequence[str], minute: int) -> None:
        # For the gateway's fast path: what this raw query's answer depends on.
        setattr(request.state, ASKED_STATE, (tuple(names), minute))

    question = SlotQuestion(service, visit_type, duration, lo, hi, practitioner)
    body = await finder.answer(question, render, asked=asked)
    return Response(body, media_type="application/json")


@router.post(
    "/holds",
    **documented(
        "createHold",
        "Hold a slot for a few minutes while the patient books",
        *SLOT_RULES,
        status_code=201,
    ),
)
async def hold(bookings: BookingServiceDep, catalog: CatalogDep, body: HoldIn) -> BookingOut:
    view = await bookings.hold(_slot(body))
    return BookingOut.in_zone(view, catalog.clinic.tz)


@router.post(
    "/bookings",
    **documented(
        "createBooking",
        "Book a visit (from a hold or straight into a free slot)",
        *SLOT_RULES,
        PatientUnavailable,
        InvalidRequest,
        IdempotencyKeyReused,
        HoldNotFound,
        HoldExpired,
        HoldMismatch,
        status_code=201,
    ),
)
async def book(
    bookings: BookingServiceDep,
    catalog: CatalogDep,
    response: Response,
    actor: CurrentActor,
    body: BookingIn,
    key: IdempotencyKey = None,
) -> BookingOut:
    details = body.patient.details() if body.patient else None
    req = BookRequest(_slot(body), details, body.hold_id)
    view, replayed = await bookings.book(actor, req, key)
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return BookingOut.in_zone(view, catalog.clinic.tz)


@router.get(
    "/bookings", **documented("listBookings", "List the visits the caller may see", *SIGNED_IN)
)
async def list_bookings(
    reader: BookingReaderDep,
    catalog: CatalogDep,
    actor: CurrentActor,
    practitioner: str | None = None,
    from_: Annotated[DayOrInstant | None, Query(alias="from")] = None,
    to: DayOrInstant | None = None,
    limit: Annotated[int, Query(gt=0, le=1000)] = 200,
) -> BookingList:
    tz = catalog.clinic.tz
    lo, hi = bound(from_, tz, inclusive_end=False), bound(to, tz, inclusive_end=True)
    views = await reader.search(actor, practitioner, lo, hi, limit)
    return BookingList(bookings=[BookingOut.in_zone(v, tz) for v in views])


@router.get(
    "/bookings/{booking_id}",
    **documented("getBooking", "Read a visit", *SIGNED_IN, BookingNotFound),
)
async def get_booking(
    reader: BookingReaderDep, catalog: CatalogDep, actor: CurrentActor, booking_id: str
) -> BookingOut:
    return BookingOut.in_zone(await reader.get(actor, booking_id), catalog.clinic.tz)


@router.post(
    "/bookings/{booking_id}/reschedule",
    **documented(
        "rescheduleBooking",
        "Move a visit to another slot",
        *SIGNED_IN,
        BookingNotFound,
        *SLOT_RULES,
        PatientUnavailable,
        InvalidTransition,
    ),
)
async def reschedule(
    bookings: BookingServiceDep,
    catalog: CatalogDep,
    actor: CurrentActor,
    booking_id: str,
    body: RescheduleIn,
) -> BookingOut:
    view = await bookings.reschedule(
        actor, booking_id, body.start, body.practitioner, body.duration
    )
    return BookingOut.in_zone(view, catalog.clinic.tz)


def _action_route(action: Action) -> None:
    async def act(
        bookings: BookingServiceDep,
        catalog: CatalogDep,
        actor: CurrentActor,
        booking_id: str,
        body: ActionIn | None = None,
    ) -> BookingOut:
        reason = body.reason if body else None
        view = await bookings.act(actor, booking_id, action, reason)
        return BookingOut.in_zone(view, catalog.clinic.tz)

    act.__name__ = action.value.replace("-", "_")
    router.post(
        f"/bookings/{{booking_id}}/{action.value}",
        name=act.__name__,
        **documented(*ACTIONS[action], *SIGNED_IN, BookingNotFound, InvalidTransition, TooEarly),
    )(act)


ACTIONS = {
    Action.CANCEL: ("cancelBooking", "Cancel a visit"),
    Action.CHECK_IN: ("checkInBooking", "Check the patient in for a visit"),
    Action.COMPLETE: ("completeBooking", "Mark a visit done"),
    Action.NO_SHOW: ("markNoShow", "Mark a visit missed (the patient did not come)"),
}


for _action in (Action.CANCEL, Action.CHECK_IN, Action.COMPLETE, Action.NO_SHOW):
    _action_route(_action)
