"""What the Microsoft Graph contract tests (tests/contract/microsoft_graph/) share: the two
mailboxes they read most, instants in November 2026, a visit to write back, and an event put
straight into a fake Graph mailbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from clinicflow.integrations.ports import SyncedVisit
from support.fake_graph import FakeGraph
from support.graph_servers import MAILBOXES

ELENA = MAILBOXES["doctor1"]
GRACE = MAILBOXES["nurse"]


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def visit(booking_id: str, start: datetime, minutes: int = 60, who: str = "doctor1") -> SyncedVisit:
    end = start + timedelta(minutes=minutes)
    return SyncedVisit(booking_id, "acupuncture", "initial", who, start, end, "pat_secret_id")


def add(fake: FakeGraph, mailbox: str, start: datetime, hours: float = 1, **extra: object) -> str:
    box = fake.mailbox(mailbox)
    with fake.locked():
        return box.add("Outlook", start, start + timedelta(hours=hours), **extra).id
