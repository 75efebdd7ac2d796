"""A demo clinic that makes every page show something real: patients with past visits (paid
in the clinic, one refunded after a cancellation) and upcoming ones across the bookable
services, waitlists for counseling and equine therapy that grew over the past weeks, and staff
accounts to sign in with.

Everything is made through the use cases, as a clinic would have made it, with the clock
moved back to the moment each thing happened (`MovableClock`): the payments land on the days
of their visits and the waitlist joins on their weeks, so the owner's dashboard has charts
and tables to show.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Protocol

from sqlalchemy import func, select

from clinicflow.booking.commands import BookRequest, SlotRequest
from clinicflow.booking.domain.lifecycle import Action
from clinicflow.booking.tables import appointments
from clinicflow.booking.views import SlotView
from clinicflow.bootstrap import Container
from clinicflow.patients import PatientDetails
from clinicflow.payments.checkout.commands import CheckoutRequest
from clinicflow.payments.refunds.commands import RefundRequest
from clinicflow.shared.actor import ANONYMOUS, SYSTEM, Actor, Role
from clinicflow.simulation.demand import Demand
from clinicflow.waitlist.entries.commands import Contact, JoinRequest

# Invented people (555-01xx numbers are reserved for fiction).
PEOPLE = [
    PatientDetails("Ada", "Quill", "ada.quill@example.com", "+15125550101"),
    PatientDetails("Bo", "Marsh", "bo.marsh@example.com", "+15125550102"),
    PatientDetails("Cy", "Fenn", "cy.fenn@example.com", "+15125550103"),
    PatientDetails("Di", "Rook", "di.rook@example.com", "+15125550104"),
    PatientDetails("Ed", "Vale", "ed.vale@example.com", "+15125550105"),
    PatientDetails("Flo", "Hart", "flo.hart@example.com", "+15125550106"),
]
VISITS = [
    ("alternative_medicine", "initial", 20),
    ("alternative_medicine", "followup", 15),
    ("gaps_coaching", "initial", 60),
    ("gaps_coaching", "followup", 15),
]
# Past visits: (days ago, person, visit), oldest first, at least 3 days apart (each is found
# within two days of its day, so they stay in order). All paid at the clinic.
PAST = [
    (84, 0, VISITS[0]), (70, 1, VISITS[2]), (56, 2, VISITS[0]), (42, 0, VISITS[1]),
    (35, 3, VISITS[0]), (28, 1, VISITS[3]), (24, 4, VISITS[0]), (21, 2, VISITS[1]),
    (17, 5, VISITS[2]), (14, 3, VISITS[1]), (10, 4, VISITS[1]), (7, 5, VISITS[3]),
    (4, 0, VISITS[1]),
]  # fmt: skip
# Paid in advance at the front desk, then cancelled in time and refunded by the policy.
REFUNDED = (12, 2, VISITS[2])
# Waitlist joins: (service, first, last, ZIP, interest 1-5, days ago).
JOINS = [
    ("counseling", "Gil", "Ames", "78701", 5, 66), ("counseling", "Hana", "Cole", "78704", 4, 59),
    ("equine_therapy", "Ivo", "Dunn", "78745", 3, 52), ("counseling", "Jo", "Eck", "78702", 5, 45),
    ("counseling", "Kai", "Ford", "78613", 2, 38), ("equine_therapy", "Lu", "Grey", "78660", 4, 31),
    ("counseling", "Mo", "Hale", "78731", 3, 24), ("equine_therapy", "Nia", "Ives", "78620", 5, 19),
    ("counseling", "Oz", "Jett", "78757", 4, 12), ("counseling", "Pia", "Kerr", "78741", 1, 8),
    ("equine_therapy", "Quin", "Lowe", "78703", 3, 5), ("counseling", "Rae", "Moss", "78723", 5, 2),
]  # fmt: skip
TENDERS = ("card_terminal", "cash")

# After the hand-made data, `clinicflow demo` simulates the last DEMO_DAYS through the same
# use cases (clinicflow.simulation), with fewer patients in care at the start so it loads fast.
DEMO_DAYS = 14
DEMO_SEED = 1
DEMO_DEMAND = Demand(established_per_practitioner=20)

DEMO_USER = "frontdesk"
DEMO_OWNER = "owner"  # an analyst: revenue and waitlist figures, no patient names


class MovableClock(Protocol):
    """A clock the demo may set to the moment each thing happened (FixedClock is one)."""

    def now(self) -> datetime: ...

    def set(self, at: datetime) -> None: ...


class DemoClock:
    """The system clock, unless set to a moment (then it stays there until set again)."""

    def __init__(self) -> None:
        self._at: datetime | None = None

    def now(self) -> datetime:
        return self._at if self._at is not None else datetime.now(UTC)

    def set(self, at: datetime) -> None:
        self._at = at.astimezone(UTC)


@dataclass
class DemoLoaded:
    """What the demo made: what the dashboard should show for it."""

    upcoming: int = 0
    past: int = 0
    paid_cents: int = 0
    refunded_cents: int = 0
    joined: dict[str, int] = field(default_factory=dict)  # service → waitlist joins

    @property
    def net_cents(self) -> int:
        return self.paid_cents - self.refunded_cents


async def demo_staff(container: Container) -> str | None:
    """A front-desk account for trying the staff side, and an analyst (`owner`) for the
    dashboard, with one password; that password, if they were made now."""
    if await container.identity.users.list():
        return None
    given = container.settings.demo_password
    password = given.get_secret_value() if given else secrets.token_urlsafe(12)
    await container.identity.users.create(DEMO_USER, "front_desk", password)
    await container.identity.users.create(DEMO_OWNER, "analyst", password)
    return password


async def front_desk(container: Container) -> Actor:
    """The demo's front desk (or the clinic's first front-desk or admin account), who checks
    patients in, takes payments at the desk and cancels."""
    for user in await container.identity.users.list():
        if user.active and user.role in (Role.FRONT_DESK, Role.ADMIN):
            return Actor(kind="user", id=user.id, role=Role(user.role), tier="staff")
    return Actor(kind="user", id="demo-front-desk", role=Role.FRONT_DESK, tier="staff")


async def load_demo(container: Container, clock: MovableClock) -> DemoLoaded:
    """The demo clinic's visits, payments and waitlists, unless the clinic already has
    bookings. `clock` must be the container's; it is moved back through the past and left
    at the moment the load began. The front desk does what staff do (`front_desk`)."""
    loaded = DemoLoaded()
    async with container.db.read() as conn:
        existing = (await conn.execute(select(func.count()).select_from(appointments))).scalar()
    if existing:
        return loaded
    now = clock.now()
    tz = container.catalog.clinic.tz
    today = now.astimezone(tz).date()

    def morning(days_ago: int) -> datetime:
        return datetime.combine(today - timedelta(days=days_ago), time(7), tz)

    desk = await front_desk(container)
    joins = sorted(JOINS, key=lambda j: -j[5])
    visits = sorted([(*p, False) for p in PAST] + [(*REFUNDED, True)], key=lambda v: -v[0])
    for days_ago, person, visit, refunded in visits:
        while joins and joins[0][5] >= days_ago:
            join = joins.pop(0)
            await _join(container, clock, loaded, join, morning(join[5]) - timedelta(hours=1))
        clock.set(morning(days_ago))
        if refunded:
            paid, back = await _cancelled_and_refunded(container, clock, desk, person, visit)
            loaded.paid_cents += paid
            loaded.refunded_cents += back
        else:
            paid = await _past_visit(container, clock, desk, person, visit, now, loaded.past)
            if paid:
                loaded.past += 1
                loaded.paid_cents += paid
    for join in joins:
        await _join(container, clock, loaded, join, morning(join[5]) + timedelta(hours=3))
    clock.set(now)
    loaded.upcoming = await _upcoming(container, now)
    return loaded


async def _join(
    container: Container,
    clock: MovableClock,
    loaded: DemoLoaded,
    join: tuple[str, str, str, str, int, int],
    at: datetime,
) -> None:
    service, first, last, zip5, interest, _ = join
    clock.set(at)
    email = f"{first.lower()}.{last.lower()}@example.com"
    contact = Contact(first, last, email, None)
    await container.waitlist.entries.join(
        ANONYMOUS, JoinRequest(service, contact, zip5, interest, campaign="demo")
    )
    loaded.joined[service] = loaded.joined.get(service, 0) + 1


async def _first_slot(
    container: Container, visit: tuple[str, str, int], lo: datetime, hi: datetime
) -> SlotView | None:
    service, visit_type, duration = visit
    slots = await container.availability.slots(service, visit_type, duration, lo, hi, None)
    return slots[0] if slots else None


async def _past_visit(
    container: Container,
    clock: MovableClock,
    desk: Actor,
    person: int,
    visit: tuple[str, str, int],
    now: datetime,
    n: int,
) -> int:
    """Booked on the morning, then checked in, paid at the desk and completed: the cents
    paid (0 when no time was free)."""
    at = clock.now()
    slot = await _first_slot(container, visit, at + timedelta(hours=3), at + timedelta(days=2))
    if slot is None or slot.end >= now:
        return 0
    service, visit_type, duration = visit
    request = SlotRequest(service, visit_type, duration, slot.start)
    booked, _ = await container.bookings.book(
        SYSTEM, BookRequest(request, PEOPLE[person]), idempotency_key=None
    )
    clock.set(slot.start - timedelta(minutes=10))
    await container.bookings.act(desk, booked.id, Action.CHECK_IN, None)
    paid = await _pay_at_desk(container, desk, booked.id, TENDERS[n % 2])
    clock.set(slot.end)
    await container.bookings.act(desk, booked.id, Action.COMPLETE, None)
    return paid


async def _pay_at_desk(container: Container, desk: Actor, booking_id: str, tender: str) -> int:
    request = CheckoutRequest(booking_ids=(booking_id,), method="in_clinic", tender=tender)
    made, _ = await container.payments.checkout.create(desk, request)
    return made.order.total_cents


async def _cancelled_and_refunded(
    container: Container,
    clock: MovableClock,
    desk: Actor,
    person: int,
    visit: tuple[str, str, int],
) -> tuple[int, int]:
    """Booked and paid a week ahead, cancelled the next day: the cents paid and refunded."""
    at = clock.now()
    slot = await _first_slot(container, visit, at + timedelta(days=7), at + timedelta(days=10))
    if slot is None:
        return 0, 0
    service, visit_type, duration = visit
    request = SlotRequest(service, visit_type, duration, slot.start)
    booked, _ = await container.bookings.book(
        SYSTEM, BookRequest(request, PEOPLE[person]), idempotency_key=None
    )
    made, _ = await container.payments.checkout.create(
        desk,
        CheckoutRequest(booking_ids=(booked.id,), method="in_clinic", tender="card_terminal"),
    )
    clock.set(at + timedelta(days=1))
    reason = "the patient cancelled by phone"
    await container.bookings.act(desk, booked.id, Action.CANCEL, reason)
    refund, _ = await container.payments.refunds.refund(
        desk, made.order.id, RefundRequest(booked.id, None, reason)
    )
    return made.order.total_cents, refund.amount_cents


async def _upcoming(container: Container, now: datetime) -> int:
    """Visits over the coming days, one per demo patient."""
    made = 0
    for i, person in enumerate(PEOPLE):
        service, visit_type, duration = VISITS[i % len(VISITS)]
        slots = await container.availability.slots(
            service,
            visit_type,
            duration,
            now + timedelta(days=1 + i),
            now + timedelta(days=8),
            None,
        )
        if not slots:
            continue
        slot = slots[min(3 * i, len(slots) - 1)]
        request = SlotRequest(service, visit_type, duration, slot.start)
        await container.bookings.book(SYSTEM, BookRequest(request, person), idempotency_key=None)
        made += 1
    return made
