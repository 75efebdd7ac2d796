"""Bookings made on a practitioner's Calendly page, through the app over a real database:
Calendly's signed `invitee.*` webhooks become clinicflow bookings (the patient matched or
created), or flagged collisions the front desk lists; a repeat does nothing; a cancellation
cancels. Deliveries are built and signed as Calendly does by the fake Calendly
(support/fake_calendly.py), and the subscription is made against it.

The suite's clock stands at Tuesday 2026-11-24 09:00 in the clinic (America/Chicago)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import func, select

from clinicflow.booking.tables import appointments
from clinicflow.bootstrap import Container
from clinicflow.calendars.page_bookings.tables import calendly_invitees
from clinicflow.calendars.tables import busy_intervals as busy
from clinicflow.catalog import Catalog
from clinicflow.infra.db import Database
from clinicflow.settings import Settings
from clinicflow.shared.clock import FixedClock
from support.api import DOCTOR1_AVAILABILITY, app_over, assert_problem, booking
from support.app import CLINIC_YAML, build_for_test, clinic_settings, serving, staff_session
from support.fake_calendly import SIGNING_KEY, TOKEN, FakeCalendly
from support.fake_calendly_wire import Invitee, event_type_uri, user_uri
from support.fake_vendor import serving as running

DOCTOR1 = user_uri("doctor1")
INITIAL = event_type_uri("altinitial")  # 20 minutes, alternative medicine
UNMAPPED = event_type_uri("coffee")
WED_10 = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)  # 10:00 in Chicago
WED_10_LOCAL = "2026-11-25T10:00:00-06:00"
WEBHOOK = "/v1/webhooks/calendly"
pytestmark = pytest.mark.both_databases  # the claim is an INSERT … ON CONFLICT on each
FLAGS = "/v1/calendars/calendly/flags"


@pytest.fixture
def calendly() -> Iterator[FakeCalendly]:
    yield from running(FakeCalendly())


@functools.cache
def doctor1_on_calendly() -> str:
    """config/clinic.yaml with doctor1's Calendly page: made once per process (the YAML read
    and written again: ~25 ms of CPU a test)."""
    config: dict[str, Any] = yaml.safe_load(CLINIC_YAML.read_text(encoding="utf-8"))
    config["practitioners"]["doctor1"]["calendly"] = {
        "user": DOCTOR1,
        "event_types": [
            {"uri": INITIAL, "service": "alternative_medicine", "visit_type": "initial"}
        ],
    }
    return yaml.safe_dump(config, sort_keys=False)


@pytest.fixture
def settings(database_url: str, tmp_path: Path, calendly: FakeCalendly) -> Settings:
    path = tmp_path / "clinic.yaml"
    path.write_text(doctor1_on_calendly(), encoding="utf-8")
    return clinic_settings(
        database_url,
        tmp_path,
        config_path=path,
        calendly_token=TOKEN,
        calendly_webhook_signing_key=SIGNING_KEY,
        calendly_base_url=calendly.url,
    )


@pytest.fixture
async def container(
    open_database: Callable[[str], Database],
    settings: Settings,
    clock: FixedClock,
    clinic_catalog: Catalog,
    key_ring_file: Path,
) -> AsyncIterator[Container]:
    database = open_database(settings.database_url)  # the kept engine (support/kept_engine)
    built = build_for_test(
        settings, clock=clock, catalog=clinic_catalog, key_ring=key_ring_file, database=database
    )
    # Calendly is one of doctor1's busy sources: until its first full sync doctor1 is
    # unconfirmed and not offered (the poll job does this when the app starts).
    await built.calendars.service.sync_all(full=True)
    yield built
    await built.aclose()


@pytest.fixture
async def client(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    async with app_over(container) as http:
        yield http


def page_booking(calendly: FakeCalendly, start: datetime = WED_10, **who: str) -> Invitee:
    return calendly.invitee(DOCTOR1, INITIAL, start, 20, **who)


async def send(
    client: httpx.AsyncClient,
    calendly: FakeCalendly,
    name: str,
    invitee: Invitee,
    clock: FixedClock,
    **signing: Any,
) -> httpx.Response:
    headers, body = calendly.webhook(name, invitee, at=clock.now(), **signing)
    return await client.post(WEBHOOK, content=body, headers=headers)


async def bookings_of(container: Container) -> list[Any]:
    async with container.db.read() as conn:
        rows = await conn.execute(select(appointments).order_by(appointments.c.start_at))
        return list(rows)


async def starts(client: httpx.AsyncClient) -> list[str]:
    resp = await client.get(DOCTOR1_AVAILABILITY)
    assert resp.status_code == 200, resp.text
    return [s["start"] for s in resp.json()["slots"]]


async def held(container: Container) -> dict[tuple[str, str], int]:
    query = select(busy.c.source, busy.c.practitioner, func.count()).group_by(
        busy.c.source, busy.c.practitioner
    )
    async with container.db.read() as conn:
        return {(str(s), str(p)): int(n) for s, p, n in await conn.execute(query)}


async def deliveries(container: Container) -> int:
    async with container.db.read() as conn:
        query = select(func.count()).select_from(calendly_invitees)
        return int((await conn.execute(query)).scalar_one())


async def test_a_page_booking_becomes_a_clinicflow_booking_with_its_patient(
    client: httpx.AsyncClient, container: Container, calendly: FakeCalendly, clock: FixedClock
) -> None:
    invitee = page_booking(calendly, email="Casey@Example.com", phone="+15125550199")
    resp = await send(client, calendly, "invitee.created", invitee, clock)

    assert resp.status_code == 200, resp.text
    assert resp.json() == {"outcome": "imported"}
    (made,) = await bookings_of(container)
    assert (made.practitioner, made.service, made.visit_type) == (
        "doctor1",
        "alternative_medicine",
        "initial",
    )
    assert (made.start_at, made.end_at, made.status) == (
        WED_10,
        WED_10 + timedelta(minutes=20),
        "confirmed",
    )
    assert made.patient_id is not None
    # The same person booking again on the page is the same patient here.
    again = page_booking(calendly, WED_10 + timedelta(minutes=30), email="casey@example.com")
    resp = await send(client, calendly, "invitee.created", again, clock)
    assert resp.json() == {"outcome": "imported"}
    first, second = await bookings_of(container)
    assert second.patient_id == first.patient_id


async def test_a_page_booking_the_poll_saw_first_is_imported_and_offered_to_nobody(
    client: httpx.AsyncClient, container: Container, calendly: FakeCalendly, clock: FixedClock
) -> None:
    invitee = page_booking(calendly)
    await container.calendars.service.sync_all(full=True)  # the poll brings its event first
    assert WED_10_LOCAL not in await starts(client)

    resp = await send(client, calendly, "invitee.created", invitee, clock)

    assert resp.json() == {"outcome": "imported"}  # its own Calendly event was no conflict
    (made,) = await bookings_of(container)
    assert made.start_at == WED_10
    # Now the booking itself holds the time; the store still keeps the Calendly event.
    assert WED_10_LOCAL not in await starts(client)
    counts = await held(container)
    assert counts[("calendly", "doctor1")] == 1


async def test_a_page_booking_cancelled_here_blocks_until_calendly_cancels_it_too(
    client: httpx.AsyncClient, container: Container, calendly: FakeCalendly, clock: FixedClock
) -> None:
    invitee = page_booking(calendly)
    await send(client, calendly, "invitee.created", invitee, clock)
    await container.calendars.service.sync_all(full=True)
    (made,) = await bookings_of(container)
    desk = await staff_session(container, "desk", "front_desk")

    cancel = await client.post(f"/v1/bookings/{made.id}/cancel", headers=desk)
    assert cancel.status_code == 200, cancel.text
    await container.bus.run_once()

    # Calendly still holds the page booking: its time is offered to nobody, and the front
    # desk is asked to cancel it there too.
    assert WED_10_LOCAL not in await starts(client)
    (flag,) = (await client.get(FLAGS, headers=desk)).json()["flags"]
    assert (flag["invitee"], flag["booking_id"]) == (invitee.uri, made.id)
    assert flag["reason"].startswith("cancelled in clinicflow")
    # Cancelled on Calendly too: the flag goes and the time is free.
    calendly.busy.clear()
    resp = await send(client, calendly, "invitee.canceled", invitee, clock)
    assert resp.json() == {"outcome": "withdrawn"}
    assert (await client.get(FLAGS, headers=desk)).json()["flags"] == []
    assert WED_10_LOCAL in await starts(client)


async def test_the_same_webhook_twice_imports_once(
    client: httpx.AsyncClient, container: Container, calendly: FakeCalendly, clock: FixedClock
) -> None:
    invitee = page_booking(calendly)
    first = await send(client, calendly, "invitee.created", invitee, clock)
    clock.advance(timedelta(seconds=30))  # Calendly's retry: signed anew, same invitee
    second = await send(client, calendly, "invitee.created", invitee, clock)

    assert first.json() == {"outcome": "imported"}
    assert second.json() == {"outcome": "duplicate"}
    assert len(await bookings_of(container)) == 1


async def test_the_same_webhook_twice_at_once_imports_once(
    client: httpx.AsyncClient, container: Container, calendly: FakeCalendly, clock: FixedClock
) -> None:
    headers, body = calendly.webhook("invitee.created", page_booking(calendly), at=clock.now())
    answers = await asyncio.gather(
        *(client.post(WEBHOOK, content=body, headers=headers) for _ in range(2))
    )
    assert sorted(a.json()["outcome"] for a in answers) == ["duplicate", "imported"]
    assert len(await bookings_of(container)) == 1


@pytest.mark.parametrize(
    ("signing", "why"),
    [
        ({"key": "not-the-signing-key"}, "does not match"),
        ({"signed_at": int(datetime(2026, 11, 24, 14, 56, 59, tzinfo=UTC).timestamp())}, "180 s"),
    ],
    ids=["wrong key", "older than 3 minutes"],
)
async def test_a_bad_or_stale_signature_is_refused_and_changes_nothing(
    client: httpx.AsyncClient,
    container: Container,
    calendly: FakeCalendly,
    clock: FixedClock,
    signing: dict[str, Any],
    why: str,
) -> None:
    resp = await send(client, calendly, "invitee.created", page_booking(calendly), clock, **signing)
    problem = assert_problem(resp, 403, "webhook_not_authenticated")
    assert why in problem["detail"]
    assert await bookings_of(container) == []
    assert await deliveries(container) == 0


async def test_a_signature_within_three_minutes_is_accepted(
    client: httpx.AsyncClient, container: Container, calendly: FakeCalendly, clock: FixedClock
) -> None:
    signed = int((clock.now() - timedelta(seconds=170)).timestamp())
    resp = await send(
        client, calendly, "invitee.created", page_booking(calendly), clock, signed_at=signed
    )
    assert resp.json() == {"outcome": "imported"}


async def test_an_unsigned_delivery_is_refused(
    client: httpx.AsyncClient, calendly: FakeCalendly, clock: FixedClock
) -> None:
    headers, body = calendly.webhook("invitee.created", page_booking(calendly), at=clock.now())
    del headers["Calendly-Webhook-Signature"]
    resp = await client.post(WEBHOOK, content=body, headers=headers)
    assert_problem(resp, 403, "webhook_not_authenticated")


async def test_a_page_booking_that_collides_is_flagged_for_the_front_desk(
    client: httpx.AsyncClient, container: Container, calendly: FakeCalendly, clock: FixedClock
) -> None:
    taken = await client.post("/v1/bookings", json=booking("2026-11-25T10:10:00-06:00"))
    assert taken.status_code == 201, taken.text
    invitee = page_booking(calendly)

    resp = await send(client, calendly, "invitee.created", invitee, clock)

    assert resp.json() == {"outcome": "flagged"}
    assert len(await bookings_of(container)) == 1  # only the clinic's own
    desk = await staff_session(container, "desk", "front_desk")
    flags = (await client.get(FLAGS, headers=desk)).json()["flags"]
    assert [(f["invitee"], f["practitioner"], f["event"]) for f in flags] == [
        (invitee.uri, "doctor1", "invitee.created")
    ]
    assert flags[0]["reason"].startswith("slot_unavailable")
    assert flags[0]["start"].startswith("2026-11-25T16:00:00")
    assert flags[0]["scheduled_event"] == invitee.event_uri
    # A repeat of the delivery does not flag it twice.
    again = await send(client, calendly, "invitee.created", invitee, clock)
    assert again.json() == {"outcome": "duplicate"}
    assert len((await client.get(FLAGS, headers=desk)).json()["flags"]) == 1


async def test_only_the_front_desk_and_admins_see_the_flags(
    client: httpx.AsyncClient, container: Container
) -> None:
    assert_problem(await client.get(FLAGS), 401, "authentication_required")
    practitioner = await staff_session(container, "dr1", "practitioner", practitioner="doctor1")
    assert_problem(await client.get(FLAGS, headers=practitioner), 403, "forbidden")


async def test_a_cancellation_on_calendly_cancels_the_imported_booking_once(
    client: httpx.AsyncClient, container: Container, calendly: FakeCalendly, clock: FixedClock
) -> None:
    invitee = page_booking(calendly)
    await send(client, calendly, "invitee.created", invitee, clock)

    resp = await send(client, calendly, "invitee.canceled", invitee, clock)
    again = await send(client, calendly, "invitee.canceled", invitee, clock)

    assert resp.json() == {"outcome": "cancelled"}
    assert again.json() == {"outcome": "duplicate"}
    (made,) = await bookings_of(container)
    assert made.status == "cancelled"
    assert made.cancel_reason == "cancelled on Calendly"
    # Calendly cancelled it: nothing for the front desk to settle there.
    await container.bus.run_once()
    desk = await staff_session(container, "desk", "front_desk")
    assert (await client.get(FLAGS, headers=desk)).json()["flags"] == []
    # The slot is free again: the clinic can book it.
    retaken = await client.post("/v1/bookings", json=booking("2026-11-25T10:00:00-06:00", n=2))
    assert retaken.status_code == 201, retaken.text


async def test_cancelling_a_flagged_page_booking_withdraws_the_flag(
    client: httpx.AsyncClient, container: Container, calendly: FakeCalendly, clock: FixedClock
) -> None:
    await client.post("/v1/bookings", json=booking("2026-11-25T10:00:00-06:00"))
    invitee = page_booking(calendly)
    assert (await send(client, calendly, "invitee.created", invitee, clock)).json() == {
        "outcome": "flagged"
    }
    resp = await send(client, calendly, "invitee.canceled", invitee, clock)
    assert resp.json() == {"outcome": "withdrawn"}
    desk = await staff_session(container, "desk", "front_desk")
    assert (await client.get(FLAGS, headers=desk)).json() == {"flags": []}
    (clinics,) = await bookings_of(container)
    assert clinics.status == "confirmed"  # the clinic's own booking is untouched


async def test_a_cancellation_that_overtakes_its_booking_leaves_nothing_to_import(
    client: httpx.AsyncClient, container: Container, calendly: FakeCalendly, clock: FixedClock
) -> None:
    invitee = page_booking(calendly)
    canceled = await send(client, calendly, "invitee.canceled", invitee, clock)
    created = await send(client, calendly, "invitee.created", invitee, clock)
    assert canceled.json() == {"outcome": "ignored"}
    assert created.json() == {"outcome": "withdrawn"}
    assert await bookings_of(container) == []


async def test_an_event_type_nobody_maps_is_ignored(
    client: httpx.AsyncClient, container: Container, calendly: FakeCalendly, clock: FixedClock
) -> None:
    invitee = calendly.invitee(DOCTOR1, UNMAPPED, WED_10, 20)
    resp = await send(client, calendly, "invitee.created", invitee, clock)
    assert resp.json() == {"outcome": "ignored"}
    assert await bookings_of(container) == []


async def test_subscribing_then_a_delivery_from_calendly_books(
    container: Container, calendly: FakeCalendly, clock: FixedClock
) -> None:
    """The subscription made as `clinicflow calendly subscribe` makes it, then Calendly
    posts the signed delivery to the served app over HTTP."""
    subscriptions = container.calendly.subscriptions
    assert subscriptions is not None
    async with serving(container) as url:
        made = await subscriptions.subscribe(url + WEBHOOK, SIGNING_KEY)
        again = await subscriptions.subscribe(url + WEBHOOK, SIGNING_KEY)
        assert again == made  # one subscription per URL
        (subscription,) = calendly.subscriptions.values()
        assert subscription.events == ["invitee.created", "invitee.canceled"]
        assert subscription.scope == "organization"
        invitee = page_booking(calendly)
        # The fake posts from its own thread: the app answers in this loop meanwhile.
        answers = await asyncio.to_thread(calendly.deliver, "invitee.created", invitee, clock.now())
    assert answers == [200]
    assert len(await bookings_of(container)) == 1
