"""The Microsoft Graph adapter against a fake Graph on loopback (support/fake_graph.py):
the app-only token, getSchedule (mapping, the 20-schedule and 62-day splits), calendarView
delta (paging, removals, expired tokens), subscriptions (the validation handshake, clientState,
renewal), write-back (create, move, delete by booking id) and throttling (Retry-After, the
4-requests-per-mailbox limit)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from clinicflow.adapters.calendars._graph_http import GraphError, GraphThrottled
from clinicflow.adapters.calendars._graph_subscriptions import MAX_MINUTES
from clinicflow.adapters.calendars.microsoft import MicrosoftCalendar
from clinicflow.calendars.domain.busy import ShowAs
from clinicflow.calendars.domain.merge import merge
from clinicflow.calendars.ports import BusyFeed, CursorExpired, SourceUnavailable
from clinicflow.calendars.subscriptions.service import ChangeNotifications
from clinicflow.integrations.ports import CalendarSync, SyncedVisit
from clinicflow.shared.clock import FixedClock
from support.fake_graph import CLIENT_SECRET, FakeGraph
from support.fake_graph_calendar import parse_time
from support.graph_servers import (
    MAILBOXES,
    Sleeps,
    Triggered,
    calendar_on,
    graph_client,
    notification_route,
)

ELENA = MAILBOXES["doctor1"]
GRACE = MAILBOXES["nurse"]


@pytest.fixture
def fake(graph_server: FakeGraph) -> FakeGraph:
    return graph_server


@pytest.fixture
def calendar(
    fake: FakeGraph, http: httpx.AsyncClient, clock: FixedClock, sleeps: Sleeps
) -> MicrosoftCalendar:
    return calendar_on(fake, http, clock, sleeps)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def visit(booking_id: str, start: datetime, minutes: int = 60, who: str = "doctor1") -> SyncedVisit:
    end = start + timedelta(minutes=minutes)
    return SyncedVisit(booking_id, "acupuncture", "initial", who, start, end, "pat_secret_id")


def add(fake: FakeGraph, mailbox: str, start: datetime, hours: float = 1, **extra: object) -> str:
    box = fake.mailbox(mailbox)
    with fake.locked():
        return box.add("Outlook", start, start + timedelta(hours=hours), **extra).id


# -- the token ---------------------------------------------------------------------------------


async def test_the_token_is_fetched_once_and_again_shortly_before_it_expires(
    calendar: MicrosoftCalendar, fake: FakeGraph, clock: FixedClock
) -> None:
    await calendar.live("doctor1", at(25, 9), at(25, 17))
    await calendar.live("doctor1", at(25, 9), at(25, 17))
    assert fake.tokens_issued == 1

    clock.advance(timedelta(minutes=56))  # 3599 s tokens are refreshed 5 minutes early
    fake.now = clock.now()
    await calendar.live("doctor1", at(25, 9), at(25, 17))
    assert fake.tokens_issued == 2


async def test_a_token_graph_no_longer_accepts_is_fetched_again_once(
    calendar: MicrosoftCalendar, fake: FakeGraph
) -> None:
    await calendar.live("doctor1", at(25, 9), at(25, 17))
    fake.expire_tokens()  # Graph answers 401 InvalidAuthenticationToken

    await calendar.live("doctor1", at(25, 9), at(25, 17))

    assert fake.tokens_issued == 2


async def test_a_refused_app_is_an_error_that_never_shows_the_secret(
    fake: FakeGraph, http: httpx.AsyncClient, clock: FixedClock, sleeps: Sleeps
) -> None:
    graph = graph_client(fake, http, clock, sleeps, secret="wrong-secret-value")
    calendar = MicrosoftCalendar(graph, MAILBOXES, clock)

    with pytest.raises(GraphError) as refused:
        await calendar.live("doctor1", at(25, 9), at(25, 17))

    assert refused.value.code == "invalid_client"
    assert isinstance(refused.value, SourceUnavailable)
    assert "wrong-secret-value" not in str(refused.value)
    assert CLIENT_SECRET not in repr(graph._app)


# -- getSchedule -------------------------------------------------------------------------------


async def test_a_snapshot_of_every_practitioner_is_one_getschedule_call(
    calendar: MicrosoftCalendar, fake: FakeGraph
) -> None:
    feed: BusyFeed = calendar
    busy = add(fake, ELENA, at(25, 9))
    add(fake, ELENA, at(25, 11), show_as="tentative")
    add(fake, ELENA, at(26, 9), hours=8, show_as="oof")
    add(fake, ELENA, at(25, 14), show_as="free")
    add(fake, ELENA, at(25, 15), show_as="workingElsewhere")
    add(fake, GRACE, at(27, 10), hours=0.5)

    snapshots = await feed.snapshot(
        ["doctor1", "doctor2", "nurse", "dietitian"], at(24, 0), at(24, 0) + timedelta(days=60)
    )

    assert fake.calls("POST", "getSchedule") == 1
    by = {s.practitioner: s for s in snapshots}
    assert set(by) == {"doctor1", "doctor2", "nurse"}  # dietitian has no mailbox
    assert [(i.start, i.end, i.show_as) for i in by["doctor1"].intervals] == [
        (at(25, 9), at(25, 10), ShowAs.BUSY),
        (at(25, 11), at(25, 12), ShowAs.TENTATIVE),
        (at(26, 9), at(26, 17), ShowAs.OOF),
    ]
    assert by["doctor2"].intervals == ()
    assert [(i.start, i.end) for i in by["nurse"].intervals] == [(at(27, 10), at(27, 10, 30))]
    assert all(i.source == "microsoft" for i in by["doctor1"].intervals)
    assert busy not in {i.external_id for i in by["doctor1"].intervals}  # items carry no ids
    again = await feed.snapshot(["doctor1"], at(24, 0), at(24, 0) + timedelta(days=60))
    assert again[0].intervals == by["doctor1"].intervals  # the same digests each time


async def test_more_than_20_practitioners_or_62_days_are_split_across_calls(
    fake: FakeGraph, http: httpx.AsyncClient, clock: FixedClock, sleeps: Sleeps
) -> None:
    mailboxes = {f"p{i}": f"p{i}@clinic.example" for i in range(25)}
    for mailbox in mailboxes.values():
        fake.mailbox(mailbox)
    calendar = calendar_on(fake, http, clock, sleeps, mailboxes=mailboxes)
    # An out-of-office month across the 61-day boundary is reported by both calls.
    add(fake, "p3@clinic.example", at(24, 0) + timedelta(days=50), hours=24 * 20, show_as="oof")

    snapshots = await calendar.snapshot(list(mailboxes), at(24, 0), at(24, 0) + timedelta(days=100))

    assert fake.calls("POST", "getSchedule") == 4  # 2 batches (20 + 5) x 2 spans (61 + 39 days)
    assert len(snapshots) == 25
    [p3] = [s for s in snapshots if s.practitioner == "p3"]
    assert len(p3.intervals) == 1
    assert p3.window_end - p3.window_start == timedelta(days=100)


async def test_a_mailbox_graph_cannot_read_gives_no_snapshot_rather_than_an_empty_one(
    fake: FakeGraph, http: httpx.AsyncClient, clock: FixedClock, sleeps: Sleeps
) -> None:
    calendar = calendar_on(
        fake, http, clock, sleeps, mailboxes={**MAILBOXES, "dietitian": "gone@clinic.example"}
    )
    snapshots = await calendar.snapshot(["doctor1", "dietitian"], at(24, 0), at(30, 0))
    assert [s.practitioner for s in snapshots] == ["doctor1"]


async def test_the_live_check_fails_fast_when_graph_is_slow(
    fake: FakeGraph, http: httpx.AsyncClient, clock: FixedClock, sleeps: Sleeps
) -> None:
    calendar = calendar_on(fake, http, clock, sleeps, live_timeout=0.2)
    await calendar.live("doctor1", at(25, 9), at(25, 10))  # the token, fetched beforehand
    fake.latency = 1.0
    with pytest.raises(SourceUnavailable):
        await calendar.live("doctor1", at(25, 9), at(25, 10))


async def test_the_live_check_does_not_wait_on_throttling(
    calendar: MicrosoftCalendar, fake: FakeGraph, sleeps: Sleeps
) -> None:
    add(fake, ELENA, at(25, 9))
    assert [i.start for i in await calendar.live("doctor1", at(25, 0), at(26, 0))] == [at(25, 9)]
    fake.answers = [429]
    with pytest.raises(GraphThrottled):
        await calendar.live("doctor1", at(25, 0), at(26, 0))
    assert sleeps.asked == []


# -- calendarView delta ------------------------------------------------------------------------


async def test_delta_pages_are_followed_to_the_delta_link_which_is_the_cursor(
    calendar: MicrosoftCalendar, fake: FakeGraph
) -> None:
    ids = [add(fake, ELENA, at(25, 8) + timedelta(hours=i)) for i in range(7)]
    add(fake, ELENA, at(24, 0) + timedelta(days=90))  # outside the 60-day window
    fake.page_size = 3

    delta = await calendar.changes("doctor1", None)

    assert delta is not None
    assert sorted(i.external_id for i in delta.upserted) == sorted(ids)
    assert not set(delta.removed) & set(ids)  # only getSchedule's names for them (below)
    assert delta.next_cursor is not None
    assert delta.next_cursor.startswith(f"{fake.graph_url}/users/")
    assert "$deltatoken=" in delta.next_cursor
    assert fake.calls("GET", "calendarView/delta") == 3  # 3 + 3 + 1, by the next links
    assert all(i.etag for i in delta.upserted)


async def test_after_a_full_sync_and_the_first_delta_round_each_event_is_held_once(
    calendar: MicrosoftCalendar, fake: FakeGraph
) -> None:
    soon = add(fake, ELENA, at(25, 9))
    maybe = add(fake, ELENA, at(26, 9), show_as="tentative")
    later = at(24, 0) + timedelta(days=90)
    add(fake, ELENA, later)  # beyond the delta's 60 days: getSchedule's item only

    # A full sync as CalendarsService stores it: the snapshot, then the new cursor's round.
    (snapshot,) = await calendar.snapshot(["doctor1"], at(24, 0), at(24, 0) + timedelta(days=100))
    first = await calendar.changes("doctor1", None)
    assert first is not None
    held = merge(merge({}, snapshot), first)

    assert all(i.external_id.startswith("fb:") for i in snapshot.intervals)  # no ids
    assert sorted((i.start, i.external_id) for i in held.values()) == [
        (at(25, 9), soon),
        (at(26, 9), maybe),
        (later, snapshot.intervals[-1].external_id),
    ]

    # Deleted in Outlook: the next round drops it, and no copy of it stays behind.
    box = fake.mailbox(ELENA)
    with fake.locked():
        box.events[soon].deleted = True
        box.touch(box.events[soon])
    second = await calendar.changes("doctor1", first.next_cursor)
    assert second is not None
    assert sorted(i.start for i in merge(held, second).values()) == [at(26, 9), later]


async def test_times_graph_gives_in_a_zone_are_read_across_the_dst_change(
    fake: FakeGraph, http: httpx.AsyncClient, sleeps: Sleeps
) -> None:
    october = FixedClock(datetime(2026, 10, 27, 13, tzinfo=UTC))  # the delta window covers it
    calendar = calendar_on(fake, http, october, sleeps)
    # What Graph answers to `Prefer: outlook.timezone="America/Chicago"`: wall-clock pairs.
    fake.zone = "America/Chicago"
    chicago = ZoneInfo("America/Chicago")
    for day in (31, 1, 2):  # Saturday CDT, Sunday (the change, at 02:00), Monday CST
        month = 10 if day == 31 else 11
        start = datetime(2026, month, day, 9, tzinfo=chicago)
        add(fake, ELENA, start)
    assert fake.events(ELENA)[0]["start"]["timeZone"] == "UTC"  # the fake's own view
    expected = [
        (datetime(2026, 10, 31, 14, tzinfo=UTC), datetime(2026, 10, 31, 15, tzinfo=UTC)),
        (datetime(2026, 11, 1, 15, tzinfo=UTC), datetime(2026, 11, 1, 16, tzinfo=UTC)),
        (datetime(2026, 11, 2, 15, tzinfo=UTC), datetime(2026, 11, 2, 16, tzinfo=UTC)),
    ]
    window = (datetime(2026, 10, 30, tzinfo=UTC), datetime(2026, 11, 4, tzinfo=UTC))

    (snapshot,) = await calendar.snapshot(["doctor1"], *window)
    first = await calendar.changes("doctor1", None)

    assert [(i.start, i.end) for i in snapshot.intervals] == expected
    assert first is not None
    assert sorted((i.start, i.end) for i in first.upserted) == expected


async def test_a_second_round_brings_additions_changes_and_removals(
    calendar: MicrosoftCalendar, fake: FakeGraph
) -> None:
    kept = add(fake, ELENA, at(25, 8))
    moved = add(fake, ELENA, at(25, 10))
    deleted = add(fake, ELENA, at(25, 12))
    freed = add(fake, ELENA, at(25, 14))
    first = await calendar.changes("doctor1", None)
    assert first is not None

    box = fake.mailbox(ELENA)
    with fake.locked():
        box.events[moved].start, box.events[moved].end = at(26, 10), at(26, 11)
        box.touch(box.events[moved])
        box.events[deleted].deleted = True
        box.touch(box.events[deleted])
        box.events[freed].show_as = "free"
        box.touch(box.events[freed])
        far = box.add("far away", at(24, 0) + timedelta(days=200), at(24, 1) + timedelta(days=200))
        far.deleted = True
        box.touch(far)
    added = add(fake, ELENA, at(27, 9), show_as="oof")

    second = await calendar.changes("doctor1", first.next_cursor)

    assert second is not None
    assert {(i.external_id, i.start) for i in second.upserted} == {
        (moved, at(26, 10)),
        (added, at(27, 9)),
    }
    assert deleted in second.removed
    assert freed in second.removed
    assert kept not in second.removed
    assert second.next_cursor not in (None, first.next_cursor)
    third = await calendar.changes("doctor1", second.next_cursor)
    assert third is not None
    assert (third.upserted, third.removed) == ((), ())


@pytest.mark.parametrize("gone", [False, True], ids=["syncStateNotFound", "410 Gone"])
async def test_an_expired_delta_token_asks_for_a_full_resync(
    calendar: MicrosoftCalendar, fake: FakeGraph, gone: bool
) -> None:
    first = await calendar.changes("doctor1", None)
    assert first is not None
    fake.expire_delta_tokens()
    fake.gone = gone

    with pytest.raises(CursorExpired):
        await calendar.changes("doctor1", first.next_cursor)


async def test_a_cursor_pointing_off_graph_is_not_followed(
    calendar: MicrosoftCalendar, fake: FakeGraph
) -> None:
    before = len(fake.log)
    with pytest.raises(SourceUnavailable):
        await calendar.changes("doctor1", "https://evil.example/v1.0/users/x/calendarView/delta")
    assert len(fake.log) == before


# -- subscriptions and notifications -----------------------------------------------------------


async def test_subscriptions_are_made_after_the_handshake_and_renewed_before_they_expire(
    fake: FakeGraph, http: httpx.AsyncClient, clock: FixedClock, sleeps: Sleeps
) -> None:
    notifications = ChangeNotifications(keys=None)
    async with notification_route(notifications, clock) as url:
        calendar = calendar_on(fake, http, clock, sleeps, notification_url=url)
        notifications._keys = calendar  # the route checks clientStates with the adapter
        assert await calendar.keep_subscriptions(clock.now()) == 3

    assert fake.handshakes == [200] * 3  # notificationUrl = lifecycleNotificationUrl: one each
    subscriptions = list(fake.subscriptions.values())
    assert sorted(s["resource"] for s in subscriptions) == sorted(
        f"/users/{m}/events" for m in MAILBOXES.values()
    )
    for s in subscriptions:
        assert s["changeType"] == "created,updated,deleted"
        expires = datetime.fromisoformat(s["expirationDateTime"].replace("Z", "+00:00"))
        assert expires - clock.now() <= timedelta(minutes=MAX_MINUTES)
        assert calendar.practitioner_of(s["clientState"]) in MAILBOXES

    assert await calendar.keep_subscriptions(clock.now()) == 0  # nothing due
    clock.advance(timedelta(hours=60))
    fake.now = clock.now()
    assert await calendar.keep_subscriptions(clock.now()) == 3  # renewed (PATCH)
    assert fake.calls("PATCH", "/subscriptions/") == 3
    assert len(fake.subscriptions) == 3


async def test_a_subscription_is_not_made_when_the_handshake_fails(
    fake: FakeGraph, http: httpx.AsyncClient, clock: FixedClock, sleeps: Sleeps
) -> None:
    async with notification_route(ChangeNotifications(keys=None), clock) as url:
        calendar = calendar_on(fake, http, clock, sleeps, notification_url=url)
        assert await calendar.keep_subscriptions(clock.now()) == 0  # each one refused, logged
    assert fake.handshakes == [404] * 3  # notifications are off on that route
    assert fake.subscriptions == {}


async def test_duplicate_subscriptions_made_by_two_workers_are_pruned(
    calendar: MicrosoftCalendar, fake: FakeGraph, clock: FixedClock
) -> None:
    for n in range(2):
        fake.subscriptions.update(
            {
                f"dup-{n}-{k}": {
                    "id": f"dup-{n}-{k}",
                    "resource": f"/users/{m}/events",
                    "notificationUrl": "https://clinic.example/v1/webhooks/microsoft",
                    "expirationDateTime": (clock.now() + timedelta(hours=50)).isoformat(),
                    "clientState": "x",
                }
                for k, m in MAILBOXES.items()
            }
        )
    assert await calendar.keep_subscriptions(clock.now()) == 3
    assert len(fake.subscriptions) == 3


async def test_a_notification_triggers_a_delta_sync_of_that_practitioner(
    fake: FakeGraph, http: httpx.AsyncClient, clock: FixedClock, sleeps: Sleeps
) -> None:
    triggered = Triggered()
    notifications = ChangeNotifications(keys=None, on_change=triggered)
    async with notification_route(notifications, clock) as url:
        calendar = calendar_on(fake, http, clock, sleeps, notification_url=url)
        notifications._keys = calendar
        await calendar.keep_subscriptions(clock.now())
        event = add(fake, GRACE, at(25, 9))

        status = await asyncio.to_thread(fake.notify, GRACE, "created", event)
        forged = await asyncio.to_thread(
            fake.notify, ELENA, "created", event, client_state="doctor1.forged"
        )
        other = calendar.client_states.of("nurse") if calendar.client_states else ""
        borrowed = await asyncio.to_thread(fake.notify, ELENA, "created", event, client_state=other)
        await notifications.drain()

    assert status == 202
    assert forged == 403
    assert borrowed == 202  # a valid clientState is nurse's, whatever the resource says
    assert triggered.calls == [("microsoft", "nurse"), ("microsoft", "nurse")]


async def test_the_route_answers_the_handshake_in_plain_text(clock: FixedClock) -> None:
    class Keys:
        def practitioner_of(self, client_state: str) -> str | None:
            return None

    token = "Validation: Testing client application reachability for subscription 1"
    async with (
        notification_route(ChangeNotifications(keys=Keys()), clock) as url,
        httpx.AsyncClient(trust_env=False) as client,
    ):
        answer = await client.post(
            url, params={"validationToken": token}, headers={"Content-Type": "text/plain"}
        )
        junk = await client.post(url, json={"nope": 1})

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    assert answer.text == token
    assert junk.status_code == 422


# -- write-back --------------------------------------------------------------------------------


async def test_a_visit_is_created_moved_and_removed_in_the_practitioners_calendar(
    calendar: MicrosoftCalendar, fake: FakeGraph
) -> None:
    sync: CalendarSync = calendar
    await sync.upsert_visit(visit("bk_1", at(25, 9)))
    await sync.upsert_visit(visit("bk_1", at(25, 9)))  # delivered twice: nothing changes

    [event] = fake.events(ELENA)
    assert event["transactionId"] == "bk_1"
    assert event["subject"] == "clinicflow visit: Acupuncture"
    assert event["showAs"] == "busy"
    assert (parse_time(event["start"]), parse_time(event["end"])) == (at(25, 9), at(25, 10))
    assert "pat_secret_id" not in str(fake.mailbox(ELENA).events)  # no patient data
    assert fake.calls("PATCH", "/events/") == 0

    await sync.upsert_visit(visit("bk_1", at(26, 14)))  # rescheduled
    [moved] = fake.events(ELENA)
    assert moved["id"] == event["id"]
    assert (parse_time(moved["start"]), parse_time(moved["end"])) == (at(26, 14), at(26, 15))

    await sync.remove_visit("bk_1", "doctor1")
    assert fake.events(ELENA) == []
    await sync.remove_visit("bk_1", "doctor1")  # again: already gone is fine
    await sync.remove_visit("bk_2", "doctor1")  # never there


async def test_a_practitioner_without_a_mailbox_is_left_alone(
    calendar: MicrosoftCalendar, fake: FakeGraph
) -> None:
    await calendar.upsert_visit(visit("bk_1", at(25, 9), who="dietitian"))
    await calendar.remove_visit("bk_1", "dietitian")
    assert [m for m, _ in fake.log] == []


async def test_a_create_whose_answer_was_lost_is_not_made_twice(
    calendar: MicrosoftCalendar, fake: FakeGraph
) -> None:
    fake.lose_creates = 1  # created, answered 504, and not yet found by the property filter
    with pytest.raises(GraphError):
        await calendar.upsert_visit(visit("bk_1", at(25, 9)))

    await calendar.upsert_visit(visit("bk_1", at(25, 9)))  # the bus's retry

    assert len(fake.events(ELENA)) == 1  # transactionId: Graph returned the first one


async def test_a_reschedule_after_a_lost_create_moves_the_event_graph_gives_back(
    calendar: MicrosoftCalendar, fake: FakeGraph
) -> None:
    fake.lose_creates = 1
    with pytest.raises(GraphError):
        await calendar.upsert_visit(visit("bk_1", at(25, 9)))

    await calendar.upsert_visit(visit("bk_1", at(26, 15)))  # the reschedule, first found here

    [event] = fake.events(ELENA)
    assert parse_time(event["start"]) == at(26, 15)


# -- throttling --------------------------------------------------------------------------------


async def test_a_throttled_call_waits_as_long_as_graph_says_and_tries_again(
    calendar: MicrosoftCalendar, fake: FakeGraph, sleeps: Sleeps
) -> None:
    fake.retry_after = "2"
    fake.answers = [429, 429]
    await calendar.upsert_visit(visit("bk_1", at(25, 9)))
    assert sleeps.asked == [2.0, 2.0]
    assert len(fake.events(ELENA)) == 1


async def test_a_throttle_longer_than_the_budget_fails_so_the_outbox_retries_later(
    calendar: MicrosoftCalendar, fake: FakeGraph, sleeps: Sleeps
) -> None:
    fake.retry_after = "120"
    fake.answers = [429]
    with pytest.raises(GraphThrottled) as throttled:
        await calendar.upsert_visit(visit("bk_1", at(25, 9)))
    assert throttled.value.retry_after == 120
    assert throttled.value.code == "ApplicationThrottled"
    assert sleeps.asked == []


async def test_a_server_error_fails_at_once_for_the_outbox_to_retry(
    calendar: MicrosoftCalendar, fake: FakeGraph
) -> None:
    fake.answers = [503]
    with pytest.raises(GraphError) as failed:
        await calendar.upsert_visit(visit("bk_1", at(25, 9)))
    assert failed.value.status == 503
    await calendar.upsert_visit(visit("bk_1", at(25, 9)))
    assert len(fake.events(ELENA)) == 1


async def test_no_more_than_4_requests_are_in_flight_on_one_mailbox(
    calendar: MicrosoftCalendar, fake: FakeGraph
) -> None:
    await calendar.live("doctor1", at(25, 0), at(26, 0))  # the token, fetched beforehand
    fake.latency = 0.05
    visits = [visit(f"bk_{i}", at(25, 8) + timedelta(minutes=15 * i)) for i in range(12)]
    visits += [
        visit(f"bn_{i}", at(25, 8) + timedelta(minutes=15 * i), who="nurse") for i in range(4)
    ]

    await asyncio.gather(*(calendar.upsert_visit(v) for v in visits))

    assert fake.throttled == 0
    assert fake.most_in_flight[ELENA] == 4
    assert len(fake.events(ELENA)) == 12
    assert len(fake.events(GRACE)) == 4
