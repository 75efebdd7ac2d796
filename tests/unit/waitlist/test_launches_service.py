"""Launching a service on in-memory units of work: refused (recording nothing) while the
catalog lacks what booking needs; then the waitlist invited in waves sized to capacity, in
priority order; the next wave once no link can still book; each invitation books once.
(The SQL, two claims at once and the funnel of a scripted launch through HTTP:
tests/integration/test_waitlist_launch.py.)"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from clinicflow.catalog.service import load_catalog
from clinicflow.shared.actor import ANONYMOUS
from clinicflow.shared.clock import FixedClock
from clinicflow.shared.errors import Forbidden, Unauthenticated
from clinicflow.waitlist.domain.slots import ClaimAsk
from clinicflow.waitlist.errors import AlreadyLive, InvalidEntry, LinkClosed, ServiceNotReady
from clinicflow.waitlist.launches.views import Wave
from support.fake_waitlist import (
    ADMIN,
    FRONT_DESK,
    FakeWaitlist,
    FreeSlot,
    SlotTaken,
    build,
    person,
)
from support.waitlist import clinic_yaml

# Interest levels in joining order, a minute apart: equal levels rank by the longer wait.
LEVELS = [2, 5, 1, 4, 3, 5]
RANKED = [2, 6, 4, 5, 1, 3]  # who is first in line, by person number
MON_10 = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)  # Monday 10:00 in Chicago
MONDAYS = [MON_10, MON_10 + timedelta(days=7)]


def open_mondays(fake: FakeWaitlist) -> None:
    """Counselor1's Mondays 10–12 for the next two weeks, as availability lists them: a
    50-minute visit may start every 30 minutes; with 10 minutes after each, two fit a day."""
    fake.desk.slots = [
        FreeSlot(day + timedelta(minutes=m), day + timedelta(minutes=m + 50), ("counselor1",))
        for day in MONDAYS
        for m in (0, 30, 60)
    ]


async def six_join(fake: FakeWaitlist, clock: FixedClock) -> dict[int, str]:
    ids = {}
    for n, level in enumerate(LEVELS, start=1):
        ids[n] = (await fake.waitlist.entries.join(ANONYMOUS, person(n, interest_level=level))).id
        clock.advance(timedelta(minutes=1))
    return ids


@pytest.fixture
async def joined(fake: FakeWaitlist, clock: FixedClock) -> dict[int, str]:
    """Six on counseling's list (`LEVELS`), Counselor1's Mondays open: person number → id."""
    ids = await six_join(fake, clock)
    open_mondays(fake)
    return ids


@pytest.fixture
async def launched(fake: FakeWaitlist, joined: dict[int, str]) -> dict[int, str]:
    """`joined`, and counseling launched: its first wave invited."""
    await fake.waitlist.launches.launch(ADMIN, "counseling")
    return joined


def statuses(fake: FakeWaitlist, ids: dict[int, str]) -> dict[int, str]:
    return {n: fake.state.entries[i].status for n, i in ids.items()}


def token(fake: FakeWaitlist, n: int) -> str:
    return fake.messenger.link(f"wren{n}@example.org", "invitations")


@pytest.mark.parametrize(
    ("actor", "key", "refusal"),
    [
        (ANONYMOUS, "counseling", Unauthenticated),
        (FRONT_DESK, "counseling", Forbidden),
        (ADMIN, "astrology", InvalidEntry),
        (ADMIN, "alternative_medicine", AlreadyLive),
        (ADMIN, "equine_therapy", ServiceNotReady),
    ],
)
async def test_a_refused_launch_records_nothing(
    fake: FakeWaitlist, joined: dict[int, str], actor: object, key: str, refusal: type[Exception]
) -> None:

    with pytest.raises(refusal):
        await fake.waitlist.launches.launch(actor, key)  # type: ignore[arg-type]

    assert fake.state.launched == set()
    assert fake.state.invitations == {}
    assert fake.ledger.types() == ["waitlist.joined"] * 6
    assert fake.desk.launches_seen == 0


async def test_a_launch_names_everything_booking_would_still_refuse(
    clock: FixedClock, tmp_path: Path
) -> None:
    tbd = build(clock, load_catalog(clinic_yaml(tmp_path, tbd=True)))

    with pytest.raises(ServiceNotReady) as refused:
        await tbd.waitlist.launches.launch(ADMIN, "counseling")
    with pytest.raises(ServiceNotReady) as bare:
        await tbd.waitlist.launches.launch(ADMIN, "equine_therapy")

    messages = [e["message"] for e in refused.value.extra["errors"]]
    assert "initial visit durations are not decided yet (TBD)" in messages
    assert "initial visit price is not decided yet (TBD)" in messages
    assert [e["item"] for e in bare.value.extra["errors"]] == ["durations", "pricing"]
    assert tbd.ledger.published == []


async def test_a_launch_records_it_and_invites_capacity_many_in_priority_order(
    fake: FakeWaitlist, clock: FixedClock, joined: dict[int, str]
) -> None:
    ids = joined
    done = await fake.waitlist.launches.launch(ADMIN, "counseling")

    assert done.wave == Wave("counseling", 1, capacity=4, invited=4)
    assert (fake.state.launched, fake.desk.launches_seen) == ({"counseling"}, 1)
    state = statuses(fake, ids)
    assert [n for n in RANKED if state[n] == "invited"] == RANKED[:4]
    assert [state[n] for n in RANKED[4:]] == ["waiting", "waiting"]
    assert len(fake.events("service.launched")) == 1
    invited = fake.events("waitlist.invited")
    assert [e["entry_id"] for e in invited] == [ids[n] for n in RANKED[:4]]
    expires = clock.now() + timedelta(hours=48)
    assert {e["expires_at"] for e in invited} == {expires.isoformat()}
    assert {i.expires_at for i in fake.state.invitations.values()} == {expires}
    assert all(fake.state.entries[ids[n]].notified_at == clock.now() for n in RANKED[:4])
    assert ("launch", "counseling", "") in fake.audited()
    assert sorted(to for to, _, _ in fake.messenger.sent) == sorted(
        f"wren{n}@example.org" for n in RANKED[:4]
    )  # one email each, with its own link
    assert len({token(fake, n) for n in RANKED[:4]}) == 4
    with pytest.raises(AlreadyLive):
        await fake.waitlist.launches.launch(ADMIN, "counseling")
    assert len(fake.events("service.launched")) == 1


async def test_a_wave_is_never_larger_than_the_list_and_none_goes_without_places(
    fake: FakeWaitlist, clock: FixedClock
) -> None:
    await fake.waitlist.entries.join(ANONYMOUS, person(1))

    nothing_open = await fake.waitlist.launches.launch(ADMIN, "counseling")
    open_mondays(fake)
    one = await fake.waitlist.launches.next_wave("counseling")

    assert nothing_open.wave is None  # launched all the same
    assert fake.state.launched == {"counseling"}
    assert one == Wave("counseling", 1, capacity=4, invited=1)


async def test_the_next_wave_goes_once_the_first_has_lapsed_and_goes_down_the_list_once(
    fake: FakeWaitlist, clock: FixedClock, launched: dict[int, str]
) -> None:
    ids = launched
    first = token(fake, RANKED[0])

    clock.advance(timedelta(hours=47))
    assert await fake.waitlist.launches.run_due(clock.now()) == 0  # links still open
    clock.advance(timedelta(hours=1, minutes=1))
    assert await fake.waitlist.launches.run_due(clock.now()) == 4 + 2  # closed, invited

    state = statuses(fake, ids)
    assert [state[n] for n in RANKED] == ["waiting"] * 4 + ["invited"] * 2
    assert len(fake.events("waitlist.invitation_expired")) == 4
    assert sorted((n, invited) for (_, n), (_, _, invited) in fake.state.waves.items()) == [
        (1, 4), (2, 2)
    ]  # fmt: skip
    with pytest.raises(LinkClosed, match="its time ran out"):
        await fake.waitlist.invitations.claim(ANONYMOUS, first, ClaimAsk(MON_10))
    clock.advance(timedelta(hours=49))
    assert await fake.waitlist.launches.run_due(clock.now()) == 2  # the second wave lapsed …
    assert len(fake.state.invitations) == 6  # … and nobody is invited twice


async def test_a_wave_another_process_sent_first_is_not_sent_again(
    fake: FakeWaitlist, clock: FixedClock, joined: dict[int, str]
) -> None:
    fake.state.waves["counseling", 1] = (clock.now(), 4, 4)  # committed just after we looked
    fake.hooks.stale_wave_once = True

    done = await fake.waitlist.launches.launch(ADMIN, "counseling")

    assert done.wave is None
    assert list(fake.state.waves) == [("counseling", 1)]
    assert fake.state.invitations == {}
    assert {e.status for e in fake.state.entries.values()} == {"waiting"}  # rolled back
    assert fake.events("waitlist.invited") == []
    assert fake.messenger.sent == []
    assert fake.state.launched == {"counseling"}


async def test_every_invitation_books_one_slot_and_a_claim_can_bring_the_next_wave(
    fake: FakeWaitlist, clock: FixedClock, launched: dict[int, str]
) -> None:
    ids = launched
    starts = [MON_10, MON_10 + timedelta(hours=1), MONDAYS[1], MONDAYS[1] + timedelta(hours=1)]

    booked = []
    for n, start in zip(RANKED[:3], starts, strict=False):
        done = await fake.waitlist.invitations.claim(ANONYMOUS, token(fake, n), ClaimAsk(start))
        booked.append(done.booking.id)
        assert (done.status, done.booking.start) == ("booked", start)
    assert len(fake.state.waves) == 1  # one link still open: no next wave yet
    last = await fake.waitlist.invitations.claim(
        ANONYMOUS, token(fake, RANKED[3]), ClaimAsk(starts[3])
    )
    booked.append(last.booking.id)

    assert [statuses(fake, ids)[n] for n in RANKED] == ["booked"] * 4 + ["invited"] * 2
    converted = fake.events("waitlist.converted")
    assert [e["via"] for e in converted] == ["invitation"] * 4
    assert [e["booking_id"] for e in converted] == booked
    assert all(e["patient_id"] for e in converted)
    assert {i.status for i in fake.state.invitations.values() if i.wave == 1} == {"claimed"}
    with pytest.raises(LinkClosed, match="already booked"):
        await fake.waitlist.invitations.claim(ANONYMOUS, token(fake, RANKED[0]), ClaimAsk(MON_10))
    assert len(fake.desk.booked) == 4
    (_, slot, patient, hold), *_ = fake.desk.booked
    assert (slot.visit_type, slot.duration, hold) == ("initial", 50, None)
    assert patient.email == f"wren{RANKED[0]}@example.org"


async def test_a_refused_booking_opens_the_invitation_again(
    fake: FakeWaitlist, clock: FixedClock, launched: dict[int, str]
) -> None:
    ids = launched
    first = token(fake, RANKED[0])
    fake.desk.refuse = SlotTaken("taken meanwhile")

    with pytest.raises(SlotTaken):
        await fake.waitlist.invitations.claim(ANONYMOUS, first, ClaimAsk(MON_10))
    with pytest.raises(InvalidEntry, match="visit_type"):
        await fake.waitlist.invitations.claim(ANONYMOUS, first, ClaimAsk(MON_10, visit_type="spa"))

    assert {i.status for i in fake.state.invitations.values()} == {"sent"}
    assert fake.state.entries[ids[RANKED[0]]].status == "invited"
    assert fake.events("waitlist.converted") == []
    done = await fake.waitlist.invitations.claim(ANONYMOUS, first, ClaimAsk(MON_10))
    assert done.status == "booked"


async def test_the_invitation_view_lists_the_open_slots_and_counts_one_click(
    fake: FakeWaitlist, clock: FixedClock, launched: dict[int, str]
) -> None:
    ids = launched
    link = token(fake, RANKED[0])

    view = await fake.waitlist.invitations.view(link)
    await fake.waitlist.invitations.view(link)

    assert (view.status, view.service_name) == ("sent", "Counseling")
    assert view.durations == {"initial": [50], "followup": [50]}
    assert [s.start for s in view.slots] == [MON_10 + timedelta(minutes=m) for m in (0, 30, 60)]
    assert len([e for e in fake.state.engagements if e[0] == ids[RANKED[0]]]) == 1
    assert fake.state.entries[ids[RANKED[0]]].clicked_at == clock.now()
    clock.advance(timedelta(hours=49))
    lapsed = await fake.waitlist.invitations.view(link)
    assert (lapsed.status, lapsed.slots) == ("expired", [])


async def test_a_claim_a_stopped_process_left_is_opened_again_by_the_job(
    fake: FakeWaitlist, clock: FixedClock, launched: dict[int, str]
) -> None:
    stuck = next(iter(fake.state.invitations.values()))
    fake.state.invitations[stuck.id] = replace(stuck, status="claiming")

    clock.advance(timedelta(minutes=6))
    await fake.waitlist.launches.run_due(clock.now())

    assert fake.state.invitations[stuck.id].status == "sent"
