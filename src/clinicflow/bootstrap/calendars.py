"""The calendars context's wiring: the busy-time store, the sync engine over the configured
feeds (each behind its own circuit breaker), `StoredBusy`, the booking calendar source
that reads the store, and `PractitionerFeeds`, clinicflow's own ICS feed per practitioner
over booking's visits.

No feed is configured by default: `configured_feeds` builds each source's adapter (CalDAV,
ICS; Microsoft 365 and Calendly come from their own wiring, which also writes back or
imports) from Settings and config/clinic.yaml. With none, nothing is polled and `StoredBusy`
answers at once without a query.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from clinicflow.adapters._resilience import CircuitBreaker
from clinicflow.adapters.calendars.caldav_feed import caldav_feed
from clinicflow.adapters.calendars.ics_feed import ics_feed
from clinicflow.adapters.calendars.resilient import ResilientFeed
from clinicflow.bootstrap._ports import BookingFeedVisits
from clinicflow.bootstrap.core import Core
from clinicflow.calendars.busy_time.service import StoredBusy
from clinicflow.calendars.domain.sync import Backoff, Freshness
from clinicflow.calendars.feeds.repository import SqlFeedsUnitOfWork
from clinicflow.calendars.feeds.service import PractitionerFeeds
from clinicflow.calendars.jobs import CalendarPoll
from clinicflow.calendars.ports import BusyFeed
from clinicflow.calendars.repository import SqlCalendarsUnitOfWork
from clinicflow.calendars.service import CalendarsService, Listeners
from clinicflow.infra.jobs import Job
from clinicflow.infra.unit_of_work import Factory


class UnsupportedSetting(ValueError):
    pass


@dataclass(frozen=True)
class Calendars:
    service: CalendarsService
    stored: StoredBusy  # booking's `CalendarSource` over the store
    feeds: tuple[ResilientFeed, ...]
    poll: Job | None  # None: no feed configured, nothing to poll
    # clinicflow's own ICS feed of each practitioner's bookings, and its tokens
    practitioner_feeds: PractitionerFeeds

    @property
    def breakers(self) -> list[CircuitBreaker]:
        return [feed.breaker for feed in self.feeds]


def configured_feeds(core: Core, *extra: BusyFeed | None) -> list[BusyFeed]:
    """The feeds the clinic's settings and config/clinic.yaml configure: CalDAV and ICS
    subscriptions here, and those built elsewhere because they do more than feed busy time
    (`extra`: Microsoft 365, which also writes bookings back). None when not configured."""
    settings, catalog = core.settings, core.loaded
    found = [
        caldav_feed(core.http, catalog, settings.caldav_passwords),
        ics_feed(core.http, catalog),
        *extra,
    ]
    return [feed for feed in found if feed is not None]


def wire_calendars(
    core: Core,
    *,
    feeds: Sequence[BusyFeed] | None = None,
    extra: Sequence[BusyFeed | None] = (),
    backoff: Backoff | None = None,
) -> Calendars:
    settings = core.settings
    if settings.calendar_unconfirmed == "hold":
        raise UnsupportedSetting(
            "calendar_unconfirmed=hold (offer an unconfirmed practitioner's times with a hold "
            "staff confirm) is not yet supported; use hide (the default)"
        )
    wrapped = tuple(
        ResilientFeed(
            feed,
            threshold=settings.calendar_breaker_threshold,
            reset_after=settings.calendar_breaker_reset_seconds,
        )
        for feed in (configured_feeds(core, *extra) if feeds is None else feeds)
    )
    units = Factory(core.db, SqlCalendarsUnitOfWork)
    catalog = core.loaded
    horizon = max((s.policy.max_advance_days for s in catalog.services.values()), default=90)
    service = CalendarsService(
        uow=units,
        clock=core.clock,
        feeds=wrapped,
        practitioners=list(catalog.practitioners),
        tz=catalog.clinic.tz,
        horizon_days=horizon,
        freshness=Freshness(
            timedelta(minutes=settings.calendar_staleness_minutes),
            {
                name: timedelta(minutes=minutes)
                for name, minutes in settings.calendar_staleness_budgets.items()
            },
        ),
        backoff=backoff,
        breakers={feed.name: feed.state for feed in wrapped},
        listeners=Listeners(),
    )
    stored = StoredBusy(
        uow=units,
        clock=core.clock,
        service=service,
        live_timeout=settings.calendar_live_timeout_seconds,
    )
    every = timedelta(seconds=settings.calendar_poll_seconds)
    poll = Job("calendar_poll", every, CalendarPoll(service).run) if wrapped else None
    practitioner_feeds = PractitionerFeeds(
        uow=Factory(core.db, partial(SqlFeedsUnitOfWork, bookings=BookingFeedVisits)),
        catalog=catalog,
        clock=core.clock,
        public_url=settings.public_url,
        past_days=settings.calendar_feed_past_days,
        future_days=settings.calendar_feed_future_days,
        cancelled_days=settings.calendar_feed_cancelled_days,
    )
    return Calendars(
        service=service,
        stored=stored,
        feeds=wrapped,
        poll=poll,
        practitioner_feeds=practitioner_feeds,
    )
