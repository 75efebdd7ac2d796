"""A demo clinic: a few patients with visits booked over the coming days."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import func, select

from clinicflow.booking.commands import BookRequest, SlotRequest
from clinicflow.booking.tables import appointments
from clinicflow.bootstrap import Container
from clinicflow.patients import PatientDetails
from clinicflow.shared.actor import SYSTEM

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


DEMO_USER = "frontdesk"


async def demo_staff(container: Container) -> str | None:
    """A front-desk account for trying the staff side; its password, if it was made now."""
    if await container.users.list():
        return None
    given = container.settings.demo_password
    password = given.get_secret_value() if given else secrets.token_urlsafe(12)
    await container.users.create(DEMO_USER, "front_desk", password)
    return password


async def load_demo(container: Container) -> int:
    """Book demo visits unless the clinic already has bookings; returns how many were made."""
    async with container.db.read() as conn:
        existing = (await conn.execute(select(func.count()).select_from(appointments))).scalar()
    if existing:
        return 0
    now = container.clock.now()
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
