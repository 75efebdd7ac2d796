"""The waitlist API: joining without an account, the private token view, the staff list,
preferences, withdrawal, events — PHI sealed at rest. (The rules behind them, on in-memory
units of work: tests/unit/waitlist/test_entries_*_service.py.)"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from clinicflow.bootstrap import Container
from clinicflow.infra.audit import search
from clinicflow.infra.outbox import outbox
from clinicflow.infra.rekey import reseal_all
from clinicflow.sealed import SEALED
from clinicflow.shared.clock import FixedClock
from clinicflow.waitlist.guard import WaitlistCipher
from clinicflow.waitlist.tables import entries
from support.waitlist import mailbox, person

PUBLIC_FIELDS = {
    "service",
    "status",
    "joined_at",
    "position",
    "priority_score",
    "components",
    "weights",
}


async def join(client: httpx.AsyncClient, body: dict[str, Any], status: int = 201) -> Any:
    resp = await client.post("/v1/waitlist", json=body)
    assert resp.status_code == status, resp.text
    return resp.json()


async def mine(client: httpx.AsyncClient, token: str) -> Any:
    resp = await client.get("/v1/waitlist/mine", params={"token": token})
    assert resp.status_code == 200, resp.text
    return resp.json()


async def staff_list(client: httpx.AsyncClient, headers: dict[str, str], **params: str) -> Any:
    resp = await client.get("/v1/waitlist", params=params, headers=headers)
    assert resp.status_code == 200, resp.text
    return resp.json()


def component(body: dict[str, Any], name: str) -> Any:
    return next(c for c in body["components"] if c["name"] == name)


async def test_anyone_can_join_and_gets_score_position_and_a_private_link(
    client: httpx.AsyncClient,
) -> None:
    made = await join(client, person(1, interest_level=4, phone="(512) 555-0142"))

    assert made["status"] == "waiting"
    assert made["position"] == 1
    assert made["already_joined"] is False
    # 0.75·0.3 + 0·0.2 (just joined) + 0·0.2 + 1·0.3 (same ZIP as the clinic)
    assert made["priority_score"] == 0.525
    assert made["weights"] == {
        "interest": 0.3,
        "wait_time": 0.2,
        "engagement": 0.2,
        "location": 0.3,
    }
    assert [c["name"] for c in made["components"]] == list(made["weights"])
    assert len(made["token"]) >= 40
    assert made["status_url"].endswith(f"/waitlist/mine?token={made['token']}")


async def test_the_token_view_shows_the_standing_and_nothing_that_identifies(
    client: httpx.AsyncClient, front_desk: dict[str, str]
) -> None:
    await join(client, person(1, interest_level=5))
    made = await join(client, person(2, phone="+1 512 555 0199", zip="78613"))

    seen = await mine(client, made["token"])

    assert set(seen) == PUBLIC_FIELDS
    assert seen["position"] == 2
    assert seen["service"] == "counseling"
    for secret in ("Wren2", "Halloway", "wren2@example.org", "5550199", "78613", made["id"]):
        assert secret not in str(seen)
    # The list staff see agrees with it.
    listed = await staff_list(client, front_desk, service="counseling")
    row = next(e for e in listed["entries"] if e["id"] == made["id"])
    assert (row["position"], row["priority_score"]) == (seen["position"], seen["priority_score"])
    assert row["components"] == seen["components"]


async def test_an_unknown_token_answers_404_without_telling_why(client: httpx.AsyncClient) -> None:
    resp = await client.get("/v1/waitlist/mine", params={"token": "x" * 43})

    assert resp.status_code == 404
    assert resp.json()["code"] == "waitlist_entry_not_found"


@pytest.mark.both_databases
async def test_a_repeat_join_by_staff_returns_the_existing_entry_without_its_token(
    client: httpx.AsyncClient, container: Container, front_desk: dict[str, str]
) -> None:
    made = await join(client, person(1))

    again = await client.post(
        "/v1/waitlist",
        json=person(1, email=" WREN1@Example.org ", interest_level=5),
        headers=front_desk,
    )

    assert again.status_code == 200, again.text
    body = again.json()
    assert body["id"] == made["id"]
    assert body["already_joined"] is True
    assert body["token"] is None
    assert body["status_url"] is None
    assert body["priority_score"] == made["priority_score"]  # the first join's answers stand
    other_service = await join(client, person(1, service="equine_therapy"))
    assert other_service["id"] != made["id"]
    async with container.db.read() as conn:
        count = (await conn.execute(select(func.count()).select_from(entries))).scalar_one()
    assert count == 2


def _as_seen(resp: httpx.Response) -> tuple[int, dict[str, Any], dict[str, str]]:
    """The answer less the values that are fresh on every join (id, token, link)."""
    body = resp.json()
    fresh = {"id", "token", "status_url"}
    per_request = {"date", "x-request-id", "ratelimit-remaining"}  # counted per caller
    headers = {k: v for k, v in resp.headers.items() if k not in per_request}
    return resp.status_code, {k: v for k, v in body.items() if k not in fresh}, headers


async def test_an_anonymous_repeat_join_answers_exactly_as_a_new_join_and_mails_the_person(
    client: httpx.AsyncClient, container: Container, clock: FixedClock
) -> None:
    made = await join(client, person(1, interest_level=4))
    clock.advance(timedelta(days=3))
    listed_before = await mine(client, made["token"])

    repeat = await client.post("/v1/waitlist", json=person(1, interest_level=2))
    new = await client.post("/v1/waitlist", json=person(2, interest_level=2))

    assert _as_seen(repeat) == _as_seen(new)
    for field in ("id", "token", "status_url"):  # fresh values of the same form, not the entry's
        assert type(repeat.json()[field]) is type(new.json()[field])
        assert len(repeat.json()[field]) == len(new.json()[field])
    assert repeat.json()["id"] != made["id"]
    assert made["id"] not in repeat.text
    assert made["joined_at"] not in repeat.text
    # The stand-in token reaches nothing; the real entry is untouched.
    unknown = await client.get("/v1/waitlist/mine", params={"token": repeat.json()["token"]})
    assert unknown.status_code == 404
    assert await mine(client, made["token"]) == listed_before
    # The person, not the caller, hears that they were already listed.
    repeats = [m for m in mailbox(container) if "already listed" in str(m["Subject"])]
    assert [str(m["To"]) for m in repeats] == ["wren1@example.org"]


@pytest.mark.both_databases
async def test_a_phone_only_duplicate_is_found_by_phone(
    client: httpx.AsyncClient, front_desk: dict[str, str]
) -> None:
    body = person(1, email=None, phone="512-555-0142")
    made = await join(client, body)

    again = await client.post(
        "/v1/waitlist", json=body | {"phone": "+15125550142"}, headers=front_desk
    )

    assert again.status_code == 200, again.text
    assert again.json()["id"] == made["id"]


@pytest.mark.both_databases
async def test_after_withdrawing_joining_again_makes_a_new_entry(
    client: httpx.AsyncClient,
) -> None:
    made = await join(client, person(1))
    gone = await client.delete("/v1/waitlist/mine", params={"token": made["token"]})
    assert gone.status_code == 200

    again = await join(client, person(1))

    assert again["id"] != made["id"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"zip": "ABCDE"}, "zip"),
        ({"zip": "7870"}, "zip"),
        ({"interest_level": 6}, "interest_level"),
        ({"interest_level": 0}, "interest_level"),
        ({"email": "not-an-email"}, "email"),
        ({"email": None}, "email"),
        ({"service": "astrology"}, "service"),
        ({"channels": ["sms"], "phone": "5125550142"}, "sms_consent"),
        ({"channels": ["sms"]}, "channels"),
        ({"preferred_practitioner": "doctor1"}, "preferred_practitioner"),
        (
            {"preferred_times": [{"weekday": "tue", "start": "18:00", "end": "17:00"}]},
            "preferred_times",
        ),
    ],
)
async def test_bad_input_is_a_422_problem_naming_the_field(
    client: httpx.AsyncClient, change: dict[str, Any], field: str
) -> None:
    resp = await client.post("/v1/waitlist", json=person(1) | change)

    assert resp.status_code == 422
    assert resp.headers["content-type"] == "application/problem+json"
    problem = resp.json()
    assert problem["code"] == "validation_error"
    assert any(e["field"].startswith(field) for e in problem["errors"]), problem
    assert problem["detail"].startswith(field)


async def test_a_live_service_takes_a_cancellation_list_with_practitioner_and_times(
    client: httpx.AsyncClient, front_desk: dict[str, str]
) -> None:
    times = [{"weekday": "tue", "start": "17:00", "end": "19:00"}]
    body = person(
        1,
        service="alternative_medicine",
        phone="5125550142",
        channels=["email", "sms"],
        sms_consent=True,
        preferred_practitioner="doctor1",
        preferred_times=times,
        source={"campaign": "spring-fair", "referrer": "https://example.org/blog"},
    )
    made = await join(client, body)

    row = (await staff_list(client, front_desk, service="alternative_medicine"))["entries"][0]

    assert row["id"] == made["id"]
    assert row["preferred_practitioner"] == "doctor1"
    assert row["preferred_times"] == times
    assert row["channels"]["sms"]["opt_in"] is True
    assert row["channels"]["sms"]["consent_at"].startswith("2026-11-24T15:00")
    assert row["source"] == {"campaign": "spring-fair", "referrer": "https://example.org/blog"}
    assert (row["email"], row["phone"], row["zip"]) == (
        "wren1@example.org",
        "+15125550142",
        "78701",
    )


@pytest.mark.both_databases
async def test_details_are_sealed_at_rest_and_only_zip3_and_distance_are_clear(
    client: httpx.AsyncClient, container: Container
) -> None:
    await join(client, person(1, phone="5125550142", zip="78613"))

    async with container.db.read() as conn:
        row = (await conn.execute(select(entries))).one()
    stored = str(row._asdict())
    for secret in ("Wren1", "Halloway", "wren1@example.org", "5125550142", "78613"):
        assert secret not in stored
    assert (row.zip3, row.distance_mi) == ("786", 17)


async def test_the_person_changes_preferences_and_withdraws_by_token(
    client: httpx.AsyncClient, container: Container
) -> None:
    ahead = await join(client, person(1, interest_level=4))
    made = await join(client, person(2, interest_level=1))
    token = {"token": made["token"]}

    keener = await client.patch("/v1/waitlist/mine", params=token, json={"interest_level": 5})
    assert keener.status_code == 200
    assert keener.json()["position"] == 1
    refused = await client.patch("/v1/waitlist/mine", params=token, json={"channels": ["sms"]})
    assert refused.status_code == 422

    gone = await client.delete("/v1/waitlist/mine", params=token)
    assert gone.json()["status"] == "withdrawn"
    assert gone.json()["position"] is None
    assert (await mine(client, ahead["token"]))["position"] == 1
    twice = await client.delete("/v1/waitlist/mine", params=token)
    assert twice.status_code == 200
    closed = await client.patch("/v1/waitlist/mine", params=token, json={"interest_level": 2})
    assert closed.status_code == 409
    assert closed.json()["code"] == "waitlist_entry_closed"
    async with container.db.read() as conn:
        types = (await conn.execute(select(outbox.c.type).order_by(outbox.c.id))).scalars()
        assert list(types) == ["waitlist.joined", "waitlist.joined", "waitlist.withdrawn"]


async def test_events_carry_ids_and_the_service_never_contact_details(
    client: httpx.AsyncClient, container: Container
) -> None:
    made = await join(client, person(1, phone="5125550142", source={"campaign": "fair"}))

    async with container.db.read() as conn:
        event = (await conn.execute(select(outbox))).one()

    assert event.type == "waitlist.joined"
    assert event.aggregate_id == made["id"]
    assert event.payload["service"] == "counseling"
    assert event.payload["campaign"] == "fair"
    for secret in ("Wren1", "wren1@example.org", "5125550142", "78701"):
        assert secret not in str(event.payload)


@pytest.mark.both_databases
async def test_staff_reading_the_list_leave_an_audit_row_per_entry(
    client: httpx.AsyncClient, container: Container, front_desk: dict[str, str]
) -> None:
    ids = {(await join(client, person(n)))["id"] for n in (1, 2)}
    me = (await client.get("/v1/auth/me", headers=front_desk)).json()

    await staff_list(client, front_desk)

    async with container.db.read() as conn:
        rows = await search(conn, actor_id=me["id"], resource_type="waitlist_entry")
    assert {r.resource_id for r in rows if r.action == "read"} == ids


async def test_staff_change_and_withdraw_an_entry_by_id(
    client: httpx.AsyncClient, container: Container, front_desk: dict[str, str]
) -> None:
    made = await join(client, person(1))
    url = f"/v1/waitlist/{made['id']}"

    changed = await client.patch(url, json={"interest_level": 5}, headers=front_desk)
    assert changed.json()["interest_level"] == 5
    gone = await client.delete(url, params={"reason": "asked by phone"}, headers=front_desk)
    assert gone.json()["status"] == "withdrawn"
    withdrawn = await staff_list(client, front_desk, status="withdrawn")
    assert [(e["id"], e["position"]) for e in withdrawn["entries"]] == [(made["id"], None)]
    missing = await client.delete("/v1/waitlist/no-such-entry", headers=front_desk)
    assert missing.status_code == 404
    async with container.db.read() as conn:
        event = (
            await conn.execute(
                select(outbox.c.payload).where(outbox.c.type == "waitlist.withdrawn")
            )
        ).scalar_one()
        rows = await search(conn, resource_type="waitlist_entry")
    assert event["by"] == "staff"
    assert next(r for r in rows if r.action == "withdraw").reason == "asked by phone"


async def test_openapi_describes_the_waitlist_api(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]

    assert set(paths["/v1/waitlist"]) == {"get", "post"}
    assert set(paths["/v1/waitlist/mine"]) == {"get", "patch", "delete"}
    assert set(paths["/v1/waitlist/{entry_id}"]) == {"patch", "delete"}
    assert "get" in paths["/v1/waitlist/stats"]


@pytest.mark.both_databases
async def test_key_rotation_reseals_entries_and_staff_still_read_them(
    client: httpx.AsyncClient, container: Container
) -> None:
    await join(client, person(1, zip="78613"))
    rotated = container.keys.with_new_active_key()

    report = await reseal_all(container.db, SEALED, rotated)

    assert report.undecryptable == ()
    assert report.values_by_table["waitlist_entry"] == 4  # names, email, ZIP (no phone)
    reader = WaitlistCipher(rotated)
    async with container.db.read() as conn:
        row = (await conn.execute(select(entries))).one()
    assert reader.open(row.zip_enc, "zip", row.id) == "78613"
    assert row.email_enc.startswith(f"{rotated.active}:")


async def test_a_zip_missing_from_the_offline_data_joins_with_the_neutral_location(
    client: httpx.AsyncClient,
) -> None:
    made = await join(client, person(1, zip="00000"))  # well-formed, in no ZIP database

    place = next(c for c in made["components"] if c["name"] == "location")
    assert place["value"] == 0.5
    assert "not known" in place["reason"]
