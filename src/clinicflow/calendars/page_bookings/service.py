"""Bookings made on Calendly pages, imported once each (`invitee.*` webhooks).

A delivery is verified (`InviteeWebhooks`), then claimed in `calendars_calendly_invitee`
by (invitee URI, event): a repeat, or the same delivery arriving twice at once, finds the
claim and changes nothing. The booking itself goes through booking's own use case
(`ImportDesk.book`, which matches or creates the patient) under an idempotency key made of
the invitee URI, so even a retry after a crash between the booking and the claim's outcome
makes no second visit. If the claim's handling fails (a database error, booking busy) the
claim is released and the delivery answered 5xx: Calendly delivers it again.

A page booking booking refuses (the slot is taken here, outside the clinic's hours, a
length or a notice the clinic does not allow …) is **flagged** for the front desk with
booking's reason, and its time still reaches the busy store (`BusyChanges`) so nobody is
offered it. `invitee.canceled` cancels the imported visit, or withdraws the flag.

While a page booking is being imported or is imported, the store leaves its Calendly event
out (calendars/repository.py): the booking itself holds the time, and the booking's live
check does not meet its own event. An imported visit cancelled or moved in clinicflow
(`PageBookingChanges`, subscribers.py) is `changed_here`: Calendly still holds the time, so
its event blocks again and the front desk sees it among the flags until it is cancelled on
Calendly too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta

from clinicflow.calendars.domain.busy import BusyInterval, Delta
from clinicflow.calendars.page_bookings.errors import CalendlyWebhookRefused
from clinicflow.calendars.page_bookings.ports import (
    BusyChanges,
    Delivery,
    ImportDesk,
    InviteeEvent,
    InviteeWebhooks,
    PageBookingsUnitOfWork,
    PageVisit,
    SignatureInvalid,
)
from clinicflow.catalog import Catalog
from clinicflow.infra.logging import get_logger
from clinicflow.infra.unit_of_work import UnitsOfWork
from clinicflow.patients import InvalidContact, PatientDetails, normalize_email, normalize_phone
from clinicflow.shared.actor import Actor, Role
from clinicflow.shared.clock import Clock
from clinicflow.shared.errors import DomainError, Forbidden, InvalidRequest, Unauthenticated

log = get_logger(__name__)

SOURCE = "calendly"
CREATED = "invitee.created"
CANCELED = "invitee.canceled"
FLAG_READERS = frozenset({Role.ADMIN, Role.FRONT_DESK})


class CalendlyImports:
    def __init__(
        self,
        *,
        uow: UnitsOfWork[PageBookingsUnitOfWork],
        catalog: Catalog,
        clock: Clock,
        desk: ImportDesk,
        webhooks: InviteeWebhooks | None,
        busy: BusyChanges | None = None,
        claim_ttl: timedelta = timedelta(minutes=2),
    ) -> None:
        """`webhooks` None: Calendly is not configured and every delivery is refused."""
        self._uow = uow
        self._clock = clock
        self._desk = desk
        self._webhooks = webhooks
        self._busy = busy
        self._claim_ttl = claim_ttl
        self._event_types: dict[str, tuple[str, str, str]] = {
            t.uri: (p.key, t.service, t.visit_type)
            for p in catalog.practitioners.values()
            if p.calendly is not None
            for t in p.calendly.event_types
        }

    async def receive(self, headers: Mapping[str, str], body: bytes) -> str:
        """What the delivery did: imported, flagged, cancelled, withdrawn, duplicate or
        ignored. Raises to refuse it (403 unsigned, 422 unreadable)."""
        event = self._verified(headers, body)
        if event is None:
            return "ignored"
        mapped = self._event_types.get(event.event_type)
        if mapped is None:
            return "ignored"  # an event type of nobody's here (or not imported)
        practitioner, service, visit_type = mapped
        now = self._clock.now()
        claim = Delivery(
            event.invitee,
            event.name,
            "received",
            now,
            practitioner=practitioner,
            service=service,
            visit_type=visit_type,
            start=event.start,
            end=event.end,
            scheduled_event=event.scheduled_event,
        )
        async with self._uow() as uow:
            claimed = await uow.deliveries.claim(claim, now - self._claim_ttl)
            await uow.commit()
        if not claimed:
            return "duplicate"
        try:
            settled = await (self._created if event.name == CREATED else self._canceled)(
                claim, event
            )
        except BaseException:
            async with self._uow() as uow:
                await uow.deliveries.release(claim.invitee, claim.event)
                await uow.commit()
            raise
        log.info("calendly_invitee", webhook=event.name, outcome=settled.outcome)
        return settled.outcome

    async def changed_here(self, booking_id: str, how: str) -> bool:
        """A visit imported from a Calendly page was cancelled or moved in clinicflow (`how`):
        Calendly still holds the page booking at its time, so that time blocks again (the
        store leaves out only page bookings that are clinicflow's own) and the front desk is
        asked to settle it on Calendly. Nothing when Calendly itself cancelled it first."""
        async with self._uow.reading() as uow:
            created = await uow.deliveries.of_booking(booking_id)
            if created is None or created.outcome != "imported":
                return False
            if await uow.deliveries.get(created.invitee, CANCELED) is not None:
                return False  # Calendly's own cancellation did this
        reason = f"{how} in clinicflow; Calendly still holds it: cancel it there too"
        await self._settle(created, "changed_here", reason=reason)
        log.info("calendly_booking_changed_here", practitioner=created.practitioner)
        return True

    async def flags(self, actor: Actor, limit: int = 100) -> list[Delivery]:
        """Page bookings that could not be imported, for the front desk to settle."""
        if actor.kind == "anonymous":
            raise Unauthenticated("sign in as front desk or admin to see Calendly's flags")
        if not (actor.is_staff and actor.role in FLAG_READERS):
            raise Forbidden("only the front desk and admins see Calendly's flagged bookings")
        async with self._uow.reading() as uow:
            return await uow.deliveries.flagged(limit)

    def _verified(self, headers: Mapping[str, str], body: bytes) -> InviteeEvent | None:
        if self._webhooks is None:
            raise CalendlyWebhookRefused(
                "Calendly webhooks are not configured here: set CLINICFLOW_CALENDLY_TOKEN "
                "and CLINICFLOW_CALENDLY_WEBHOOK_SIGNING_KEY"
            )
        try:
            return self._webhooks.parse(headers, body)
        except SignatureInvalid as exc:
            raise CalendlyWebhookRefused(f"{exc}; nothing was changed") from exc
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidRequest("the body is not a Calendly invitee event") from exc

    async def _created(self, claim: Delivery, event: InviteeEvent) -> Delivery:
        async with self._uow.reading() as uow:
            canceled = await uow.deliveries.get(event.invitee, CANCELED)
        if canceled is not None:  # the cancellation overtook the booking: nothing to import
            return await self._settle(claim, "withdrawn", reason="canceled on Calendly first")
        assert claim.practitioner is not None
        assert claim.service is not None
        assert claim.visit_type is not None
        minutes = int((event.end - event.start) / timedelta(minutes=1))
        visit = PageVisit(claim.service, claim.visit_type, claim.practitioner, event.start, minutes)
        try:
            booking_id = await self._desk.book(visit, _patient(event), _key(event.invitee))
        except DomainError as exc:
            if exc.status >= 500:  # booking busy: not the page booking's fault, deliver again
                raise
            await self._push_busy(claim)
            log.warning("calendly_booking_flagged", code=exc.code, practitioner=claim.practitioner)
            return await self._settle(claim, "flagged", reason=f"{exc.code}: {exc.detail}")
        return await self._settle(claim, "imported", booking_id=booking_id)

    async def _canceled(self, claim: Delivery, event: InviteeEvent) -> Delivery:
        async with self._uow.reading() as uow:
            created = await uow.deliveries.get(event.invitee, CREATED)
        if created is None or created.outcome not in ("imported", "flagged", "changed_here"):
            return await self._settle(claim, "ignored", reason="no imported booking")
        await self._push_busy(created, removed=True)
        if created.outcome in ("flagged", "changed_here"):
            await self._settle(created, "withdrawn", reason=created.reason)
            return await self._settle(claim, "withdrawn")
        assert created.booking_id is not None
        why = "rescheduled on Calendly" if event.rescheduled else "cancelled on Calendly"
        try:
            await self._desk.cancel(created.booking_id, why)
        except DomainError as exc:
            if exc.status >= 500:
                raise
            reason = f"{exc.code}: {exc.detail}"
            return await self._settle(
                claim, "flagged", booking_id=created.booking_id, reason=reason
            )
        return await self._settle(claim, "cancelled", booking_id=created.booking_id)

    async def _settle(
        self,
        claim: Delivery,
        outcome: str,
        *,
        booking_id: str | None = None,
        reason: str | None = None,
    ) -> Delivery:
        settled = replace(
            claim, outcome=outcome, booking_id=booking_id or claim.booking_id, reason=reason
        )
        async with self._uow() as uow:
            await uow.deliveries.settle(settled)
            await uow.commit()
        return settled

    async def _push_busy(self, delivery: Delivery, *, removed: bool = False) -> None:
        """The page booking's time to the busy store, when one is wired (its unbuffered
        times: the next poll brings the buffers)."""
        if self._busy is None or delivery.scheduled_event is None:
            return
        practitioner = delivery.practitioner or ""
        if removed:
            delta = Delta(SOURCE, practitioner, removed=(delivery.scheduled_event,))
        else:
            assert delivery.start is not None
            assert delivery.end is not None
            interval = BusyInterval(
                SOURCE, practitioner, delivery.scheduled_event, delivery.start, delivery.end
            )
            delta = Delta(SOURCE, practitioner, upserted=(interval,))
        await self._busy.apply(delta)


def _key(invitee: str) -> str:
    """Booking's idempotency key for the invitee (a URI can outgrow the key's column)."""
    return "calendly:" + hashlib.sha256(invitee.encode()).hexdigest()


def _patient(event: InviteeEvent) -> PatientDetails:
    try:
        email = normalize_email(event.email) if event.email else None
    except InvalidContact:
        email = None
    try:
        phone = normalize_phone(event.phone) if event.phone else None
    except InvalidContact:
        phone = None
    return PatientDetails(event.first_name, event.last_name, email, phone)
