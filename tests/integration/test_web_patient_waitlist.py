"""The patient's waitlist entries on their area (`/me`), over HTTP and a real database: patient
A sees the entries joined with the email of A's record, with the place in line and the parts
of the score, and nothing of patient B's, whatever the query string says; each entry shown is
an audited read; signed out, or signed in as staff, the page shows no entry, and the use case
itself refuses staff and anonymous callers (leaving the refusal's audit row).

The clock stands at Tuesday 2026-11-24 09:00 in the clinic (America/Chicago).
"""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from clinicflow.bootstrap import Container
from clinicflow.infra.audit_tables import audit_log, audit_pending
from clinicflow.shared.actor import ANONYMOUS, Actor, Role
from clinicflow.shared.errors import Forbidden, Unauthenticated
from support.app import staff_session
from support.patient_area import SIGNED_OUT, book, signed_in
from support.waitlist import join, person

pytestmark = pytest.mark.both_databases

DESK = Actor(kind="user", id="desk-1", role=Role.FRONT_DESK)


async def _entry_reads(container: Container) -> list[tuple[str, str, str]]:
    """(role, resource id, outcome) of every audit row about a waitlist entry."""
    found = []
    async with container.db.read() as conn:
        for table in (audit_log, audit_pending):
            c = table.c
            query = select(c.role, c.resource_id, c.outcome, c.action).where(
                c.resource_type == "waitlist_entry"
            )
            found += [
                (r.role, r.resource_id, f"{r.action}:{r.outcome}")
                for r in await conn.execute(query)
            ]
    return found


async def test_patient_a_sees_their_entries_with_place_and_score_and_nothing_of_b(
    client: httpx.AsyncClient, container: Container
) -> None:
    await book(client, 1)  # A's record: pat1@example.com
    await book(client, 2, start="2026-11-25T11:00:00-06:00")  # B's: pat2@example.com
    # Each joins signed in, so the entries are linked to them.
    await signed_in(client, container, "pat2@example.com")
    b_first = await join(client, person(2, email="pat2@example.com", interest_level=5))
    b_other = await join(client, person(2, "equine_therapy", email="pat2@example.com"))
    client.cookies.clear()
    # An entry joined signed out with A's email is not shown to whoever holds that email on
    # their record (an email a patient may change to anyone's): only by its private link.
    stranger = await join(client, person(1, "equine_therapy", email="pat1@example.com"))
    await signed_in(client, container, "pat1@example.com")
    a_entry = await join(client, person(1, email="PAT1@example.com", interest_level=2))
    page = await client.get("/me", params={"email": "pat2@example.com"})  # ignored

    assert page.status_code == 200
    text = page.text
    assert "Counseling: on the waitlist" in text
    assert "number 2</strong> in line for Counseling" in text  # behind B, who is keener
    for part in ("How keen you said you are", "Time on the list", "How near you live"):
        assert part in text
    assert "use the private link in the email" in text
    assert f'id="wl-{a_entry["id"]}"' in text
    assert b_first["id"] not in text
    assert b_other["id"] not in text
    assert stranger["id"] not in text
    assert "Equine therapy" not in text
    reads = await _entry_reads(container)
    assert ("patient", a_entry["id"], "read:allowed") in reads
    assert all(
        r[1] not in (b_first["id"], b_other["id"], stranger["id"])
        for r in reads
        if r[0] == "patient" and r[2].startswith("read:")
    )

    client.cookies.clear()
    await signed_in(client, container, "pat2@example.com")
    theirs = (await client.get("/me")).text
    assert f'id="wl-{b_first["id"]}"' in theirs
    assert f'id="wl-{b_other["id"]}"' in theirs
    assert "number 1</strong> in line for Counseling" in theirs
    assert a_entry["id"] not in theirs


async def test_a_patient_on_no_waitlist_is_told_where_to_join(
    client: httpx.AsyncClient, container: Container
) -> None:
    await book(client, 1)
    await join(client, person(2, email="pat2@example.com"))  # someone else's
    await signed_in(client, container, "pat1@example.com")

    page = await client.get("/me")

    assert "You are on no waitlist." in page.text
    assert "in line for" not in page.text


async def test_signed_out_or_as_staff_the_page_shows_no_entry_and_the_read_is_refused(
    client: httpx.AsyncClient, container: Container
) -> None:
    await book(client, 1)
    entry = await join(client, person(1, email="pat1@example.com"))

    signed_out = await client.get("/me", params={"email": "pat1@example.com"})
    assert SIGNED_OUT in signed_out.text
    assert entry["id"] not in signed_out.text
    assert "in line for" not in signed_out.text
    as_staff = await client.get("/me", headers=await staff_session(container, "desk", "front_desk"))
    assert SIGNED_OUT in as_staff.text
    assert entry["id"] not in as_staff.text

    with pytest.raises(Unauthenticated):
        await container.waitlist.entries.of_patient(ANONYMOUS, "pat1@example.com", None)
    with pytest.raises(Forbidden):
        await container.waitlist.entries.of_patient(DESK, "pat1@example.com", None)
    reads = await _entry_reads(container)
    assert ("front_desk", "*", "own:denied") in reads
    assert all(outcome != "read:allowed" for _, _, outcome in reads)
