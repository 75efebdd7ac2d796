"""A practitioner's ICS feed, and the token that opens it.

`feed(practitioner, token)` answers the calendar text when the token matches the stored
digest (compared in constant time); an unknown practitioner and a missing, wrong, rotated or
revoked token all raise the same `FeedNotFound`, after the same work, so the address says
nothing about which it was. The feed holds the practitioner's bookings from `past_days`
back to `future_days` ahead, and those cancelled in the last `cancelled_days` as
STATUS:CANCELLED (calendars/domain/feed.py renders them: no patient data).

`issue(practitioner)` makes a new token (the old address stops working at once) and gives
the address once; `revoke(practitioner)` removes it. The token itself is never stored or
logged.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

from clinicflow.calendars.domain.feed import (
    FeedEntry,
    new_token,
    render,
    token_digest,
    token_matches,
)
from clinicflow.calendars.feeds.errors import FeedNotFound, UnknownPractitioner
from clinicflow.calendars.feeds.ports import FeedsUnitOfWork, FeedVisit
from clinicflow.calendars.feeds.views import IssuedFeed
from clinicflow.catalog import Catalog
from clinicflow.infra.logging import get_logger
from clinicflow.infra.unit_of_work import UnitsOfWork
from clinicflow.shared.clock import Clock

log = get_logger(__name__)

PATH = "/v1/practitioners/{key}/calendar.ics"
NOT_HERE = "no calendar feed at this address; ask the clinic for a new one"
# Compared against when a practitioner has no token, so that case costs what a wrong token
# costs: the digest of a random token nobody was given.
_NOBODY = token_digest(new_token())


class PractitionerFeeds:
    def __init__(
        self,
        *,
        uow: UnitsOfWork[FeedsUnitOfWork],
        catalog: Catalog,
        clock: Clock,
        public_url: str,
        past_days: int = 30,
        future_days: int = 180,
        cancelled_days: int = 14,
    ) -> None:
        self._uow = uow
        self._catalog = catalog
        self._clock = clock
        self._public_url = public_url.rstrip("/")
        self._past = timedelta(days=past_days)
        self._future = timedelta(days=future_days)
        self._cancelled = timedelta(days=cancelled_days)

    async def feed(self, practitioner: str, token: str | None) -> bytes:
        """The practitioner's feed as iCalendar text. Raises `FeedNotFound`."""
        now = self._clock.now()
        known = self._catalog.practitioners.get(practitioner)
        async with self._uow.reading() as uow:
            digest = await uow.tokens.digest(practitioner)
            matches = token_matches(token or "", digest or _NOBODY) and digest is not None
            if known is None or not matches:
                raise FeedNotFound(NOT_HERE)
            visits = await uow.bookings.of(
                practitioner, now - self._past, now + self._future, now - self._cancelled
            )
        entries = [self._entry(v) for v in visits]
        return render(known.name, entries, zone_name=self._catalog.clinic.timezone)

    async def issue(self, practitioner: str) -> IssuedFeed:
        """A new token for the practitioner, replacing any earlier one; its address, once.
        Raises `UnknownPractitioner`."""
        self._known(practitioner)
        token = new_token()
        async with self._uow() as uow:
            replaced = await uow.tokens.put(practitioner, token_digest(token), self._clock.now())
            await uow.commit()
        log.info("calendar_feed_token_issued", practitioner=practitioner, replaced=replaced)
        return IssuedFeed(practitioner, self.url(practitioner, token), replaced)

    async def revoke(self, practitioner: str) -> bool:
        """Removes the practitioner's token; whether there was one. Raises
        `UnknownPractitioner`."""
        self._known(practitioner)
        async with self._uow() as uow:
            removed = await uow.tokens.remove(practitioner)
            await uow.commit()
        log.info("calendar_feed_token_revoked", practitioner=practitioner, removed=removed)
        return removed

    def url(self, practitioner: str, token: str) -> str:
        path = PATH.format(key=quote(practitioner, safe=""))
        return f"{self._public_url}{path}?token={token}"

    def _known(self, practitioner: str) -> None:
        if practitioner not in self._catalog.practitioners:
            known = ", ".join(self._catalog.practitioners)
            raise UnknownPractitioner(f"{practitioner!r}: no such practitioner (known: {known})")

    def _entry(self, visit: FeedVisit) -> FeedEntry:
        service = self._catalog.services.get(visit.service)
        return FeedEntry(
            booking_id=visit.booking_id,
            service_name=service.name if service is not None else visit.service,
            start=visit.start,
            end=visit.end,
            cancelled=visit.cancelled,
            updated_at=visit.updated_at,
        )
