"""From the clinic's configuration to the engine's inputs, validating the request on the way,
and choosing who takes a slot from what the calendars say."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from clinicflow.booking import errors
from clinicflow.booking.domain.appointment import SlotTimes
from clinicflow.booking.domain.availability import (
    Interval,
    PractitionerCalendar,
    Rejection,
    SlotRules,
    check_start,
)
from clinicflow.booking.domain.lifecycle import Action, opens_at
from clinicflow.catalog import Catalog, Practitioner, Service, ServicePolicy, VisitType
from clinicflow.shared.minutes import from_minute, to_minute, to_minute_ceil


@dataclass(frozen=True, slots=True)
class VisitRequest:
    """A validated request for a kind of visit: bookable service, known type, allowed length."""

    service: Service
    visit_type: VisitType
    duration: int

    def rules(self, now: datetime) -> SlotRules:
        policy = self.service.policy
        now_min = to_minute_ceil(now)
        return SlotRules(
            duration=self.duration,
            buffer_before=policy.buffer_before_min,
            buffer_after=policy.buffer_after_min,
            step=policy.slot_step_min,
            earliest_start=now_min + policy.min_notice_min,
            latest_start=now_min + policy.max_advance_days * 24 * 60,
        )

    def block(self, start: datetime) -> tuple[datetime, datetime]:
        """The time a visit at `start` occupies, buffers included."""
        policy = self.service.policy
        return (
            start - timedelta(minutes=policy.buffer_before_min),
            start + timedelta(minutes=self.duration + policy.buffer_after_min),
        )

    def times(self, start: datetime, practitioner: str) -> SlotTimes:
        """Where a visit at `start` with `practitioner` sits, in UTC."""
        block_start, block_end = self.block(start)
        return SlotTimes(
            practitioner=practitioner,
            duration_min=self.duration,
            start_at=start.astimezone(UTC),
            end_at=(start + timedelta(minutes=self.duration)).astimezone(UTC),
            block_start=block_start.astimezone(UTC),
            block_end=block_end.astimezone(UTC),
        )


@dataclass(frozen=True, slots=True)
class Placed:
    practitioner: str
    lapsed_holds: bool  # lapsed holds sit in the block: mark them expired before inserting


def resolve(catalog: Catalog, service_key: str, visit_type: str, duration: int) -> VisitRequest:
    service = catalog.services.get(service_key)
    if service is None:
        known = ", ".join(catalog.services)
        raise errors.UnknownService(f"no service {service_key!r}; choose one of: {known}")
    if not service.bookable:
        raise errors.ServiceNotBookable(
            f"{service.name} cannot be booked: {'; '.join(service.reasons)}",
            reasons=list(service.reasons),
        )
    vt = service.visit_types.get(visit_type)
    if vt is None:
        known = ", ".join(service.visit_types)
        raise errors.UnknownVisitType(
            f"{service.name} has no visit type {visit_type!r}; choose one of: {known}"
        )
    assert vt.durations is not None  # a bookable service has every duration decided
    if duration not in vt.durations:
        allowed = ", ".join(str(d) for d in vt.durations)
        raise errors.DurationNotAllowed(
            f"a {vt.key} {service.name} visit lasts {allowed} minutes, not {duration}",
            allowed=list(vt.durations),
        )
    return VisitRequest(service, vt, duration)


def eligible(catalog: Catalog, service: Service, practitioner: str | None) -> tuple[str, ...]:
    if practitioner is None:
        return service.calendars
    if practitioner not in catalog.practitioners:
        known = ", ".join(catalog.practitioners)
        raise errors.UnknownPractitioner(f"no practitioner {practitioner!r}; known: {known}")
    if practitioner not in service.calendars:
        offering = ", ".join(service.calendars)
        raise errors.PractitionerNotEligible(
            f"{practitioner} does not offer {service.name}; choose one of: {offering}"
        )
    return (practitioner,)


def calendar(practitioner: Practitioner, *busy: Iterable[Interval]) -> PractitionerCalendar:
    blocks: list[Interval] = []
    for source in busy:
        blocks.extend(source)
    return PractitionerCalendar(
        key=practitioner.key,
        weekly=practitioner.weekly_hours,
        exceptions=practitioner.exceptions,
        busy=blocks,
    )


def calendars(
    catalog: Catalog, keys: Sequence[str], *sources: Mapping[str, Sequence[Interval]]
) -> list[PractitionerCalendar]:
    return [
        calendar(catalog.practitioners[key], *(source.get(key, ()) for source in sources))
        for key in keys
    ]


def check_action_time(
    catalog: Catalog, action: Action, service: str, start: datetime, now: datetime
) -> None:
    """Refuse a life-cycle action before its time: check-in and completion open
    `check_in_opens_min` before the visit, a no-show only once the visit has started."""
    known = catalog.services.get(service)
    policy = known.policy if known is not None else ServicePolicy()
    opens = opens_at(action, start, policy.check_in_opens_min)
    if opens is None or now >= opens:
        return
    tz = catalog.clinic.tz
    if action is Action.NO_SHOW:
        raise errors.InvalidTransition(
            "a visit can be marked no-show only once its start time has passed "
            f"({start.astimezone(tz).isoformat()})"
        )
    raise errors.TooEarly(
        f"{action.value} is accepted from {policy.check_in_opens_min} minutes before the "
        f"visit, at {opens.astimezone(tz).isoformat()} (it starts at "
        f"{start.astimezone(tz).isoformat()}); try again then"
    )


def rejection_error(
    rejections: Sequence[Rejection],
    visit: VisitRequest,
    start: datetime,
    tz: ZoneInfo,
    rules: SlotRules,
) -> Exception:
    """One error for the caller from every eligible practitioner's reason; a start refused
    for its notice or its distance names the earliest or latest start allowed instead."""
    policy = visit.service.policy
    when = start.astimezone(tz).isoformat()
    if Rejection.TOO_LITTLE_NOTICE in rejections:
        earliest = from_minute(rules.earliest_start).astimezone(tz).isoformat()
        return errors.TooLittleNotice(
            f"{visit.service.name} needs {policy.min_notice_min} minutes' notice, so the "
            f"earliest start is {earliest}; choose that or later"
        )
    if Rejection.TOO_FAR_AHEAD in rejections:
        latest = from_minute(rules.latest_start).astimezone(tz).isoformat()
        return errors.TooFarAhead(
            f"{visit.service.name} can be booked at most {policy.max_advance_days} days ahead, "
            f"so the latest start is {latest}; choose that or earlier"
        )
    if Rejection.SLOT_UNAVAILABLE in rejections:
        return errors.SlotUnavailable(
            f"the {visit.duration}-minute slot at {when} is already taken; "
            "GET /v1/availability lists the open slots"
        )
    return errors.OutsideWorkingHours(
        f"a {visit.duration}-minute visit at {when} falls outside working hours; "
        "GET /v1/availability lists the open slots"
    )


def choose(
    catalog: Catalog,
    visit: VisitRequest,
    keys: Sequence[str],
    start: datetime,
    now: datetime,
    busy: Sequence[Mapping[str, Sequence[Interval]]],
    lapsed: Collection[str],
) -> Placed:
    """The first of `keys` (in order) who can take a visit at `start`, given each one's busy
    time (one mapping per source); raises the reason when nobody can."""
    tz = catalog.clinic.tz
    engine_rules = visit.rules(now)
    minute = to_minute(start)
    rejections = []
    for cal in calendars(catalog, keys, *busy):
        why = check_start(cal, engine_rules, minute, tz)
        if why is None:
            return Placed(cal.key, cal.key in lapsed)
        rejections.append(why)
    raise rejection_error(rejections, visit, start, tz, engine_rules)
