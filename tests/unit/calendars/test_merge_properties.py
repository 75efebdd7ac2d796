"""The busy store's merge rules, as properties over arbitrary stores and answers: the union
across sources, deltas in any order, a snapshot's window, nothing known lost by a delta."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from itertools import pairwise, permutations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clinicflow.calendars.domain.busy import BusyInterval, Delta, ShowAs, Snapshot
from clinicflow.calendars.domain.merge import Key, coalesce, key_of, merge, overlaps, plan_delta

modest = settings(max_examples=150, deadline=None)
BASE = datetime(2026, 11, 23, tzinfo=UTC)
SOURCES = ("calendly", "microsoft", "caldav")
PEOPLE = ("doctor1", "doctor2")


def when(minute: int) -> datetime:
    return BASE + timedelta(minutes=minute)


# The strategies each draw uses, made once: a strategy made inside a draw is made and
# validated again at every draw (a quarter of this module's time, by py-spy).
STARTS = st.integers(0, 7 * 24 * 60)
LENGTHS = st.integers(5, 8 * 60)
ANY_SOURCE = st.sampled_from(SOURCES)
ANY_PERSON = st.sampled_from(PEOPLE)
EXTERNAL_IDS = st.sampled_from([f"e{i}" for i in range(12)])
SHOWN_AS = st.sampled_from(list(ShowAs))
ETAGS = st.none() | st.sampled_from(["a", "b"])
WINDOW_STARTS = st.integers(0, 6 * 24 * 60)
WINDOW_LENGTHS = st.integers(60, 3 * 24 * 60)
REMOVED = st.lists(EXTERNAL_IDS, max_size=6)


@st.composite
def intervals(
    draw: st.DrawFn, source: str | None = None, person: str | None = None
) -> BusyInterval:
    start = draw(STARTS)
    length = draw(LENGTHS)
    return BusyInterval(
        source=source or draw(ANY_SOURCE),
        practitioner=person or draw(ANY_PERSON),
        external_id=draw(EXTERNAL_IDS),
        start=when(start),
        end=when(start + length),
        show_as=draw(SHOWN_AS),
        etag=draw(ETAGS),
    )


@functools.cache
def lists_of(source: str, person: str, most: int) -> st.SearchStrategy[list[BusyInterval]]:
    """Up to `most` of one source's intervals for one person (made once for each)."""
    return st.lists(intervals(source, person), max_size=most)


def stores() -> st.SearchStrategy[dict[Key, BusyInterval]]:
    return st.lists(intervals(), max_size=30).map(lambda found: {key_of(i): i for i in found})


@st.composite
def snapshots(draw: st.DrawFn, source: str = "microsoft", person: str = "doctor1") -> Snapshot:
    lo = draw(WINDOW_STARTS)
    hi = lo + draw(WINDOW_LENGTHS)
    listed = draw(lists_of(source, person, 12))
    unique = {i.external_id: i for i in listed}
    return Snapshot(source, person, when(lo), when(hi), tuple(unique.values()))


@st.composite
def deltas(draw: st.DrawFn, source: str = "microsoft", person: str = "doctor1") -> Delta:
    upserted = {i.external_id: i for i in draw(lists_of(source, person, 6))}
    removed = draw(REMOVED)
    return Delta(source, person, tuple(upserted.values()), tuple(removed), "next")


@modest
@given(store=stores(), snapshot=snapshots())
def test_a_snapshot_never_touches_outside_its_window(
    store: dict[Key, BusyInterval], snapshot: Snapshot
) -> None:
    after = merge(store, snapshot)
    listed = {i.external_id for i in snapshot.intervals}
    lo, hi = snapshot.window_start, snapshot.window_end
    for key, interval in store.items():
        mine = key[:2] == (snapshot.source, snapshot.practitioner)
        if not mine or (not overlaps(interval, lo, hi) and key[2] not in listed):
            assert after.get(key) == interval  # other sources, people and times: as they were
    for key, interval in after.items():
        if key not in store or store[key] != interval:
            assert overlaps(interval, lo, hi)  # whatever is new lies inside the window
    # Inside the window the store now says exactly what the snapshot says.
    inside = {
        k[2]
        for k, i in after.items()
        if k[:2] == (snapshot.source, snapshot.practitioner) and overlaps(i, lo, hi)
    }
    assert inside == {i.external_id for i in snapshot.intervals if overlaps(i, lo, hi)}


@modest
@given(store=stores(), delta=deltas())
def test_nothing_known_is_lost_by_a_delta(store: dict[Key, BusyInterval], delta: Delta) -> None:
    after = merge(store, delta)
    listed = {i.external_id: i for i in delta.upserted}
    for key, interval in store.items():
        ours = key[:2] == (delta.source, delta.practitioner)
        if ours and key[2] in listed:
            assert after[key] == listed[key[2]]
        elif ours and key[2] in delta.removed:
            assert key not in after
        else:
            assert after[key] == interval
    for eid, interval in listed.items():  # listed and removed at once: kept
        assert after[(delta.source, delta.practitioner, eid)] == interval


@modest
@given(store=stores(), data=st.data())
def test_deltas_on_different_ids_give_the_same_store_in_any_order(
    store: dict[Key, BusyInterval], data: st.DataObject
) -> None:
    ids = [f"e{i}" for i in range(12)]
    shuffled = data.draw(st.permutations(ids))
    parts = [shuffled[0:4], shuffled[4:8], shuffled[8:12]]
    made = []
    for part in parts:  # each delta touches its own ids only
        upserted = data.draw(lists_of("microsoft", "doctor1", 4))
        own = {
            part[n % len(part)]: BusyInterval(
                i.source, i.practitioner, part[n % len(part)], i.start, i.end, i.show_as, i.etag
            )
            for n, i in enumerate(upserted)
        }
        removed = data.draw(st.lists(st.sampled_from(part), max_size=3))
        made.append(Delta("microsoft", "doctor1", tuple(own.values()), tuple(removed)))
    results = []
    for order in permutations(made):
        state = dict(store)
        for delta in order:
            state = merge(state, delta)
        results.append(state)
    assert all(r == results[0] for r in results)


@modest
@given(
    answers=st.lists(
        st.sampled_from(SOURCES).flatmap(lambda s: snapshots(s, "doctor1")), min_size=1, max_size=6
    )
)
def test_the_store_is_the_union_of_what_each_source_said(answers: list[Snapshot]) -> None:
    """Sources never overwrite each other: after snapshots from several sources, the store
    holds, per source, what that source's snapshots left — the union of the sources."""
    together: dict[Key, BusyInterval] = {}
    for answer in answers:
        together = merge(together, answer)
    for source in SOURCES:
        alone: dict[Key, BusyInterval] = {}
        for answer in answers:
            if answer.source == source:
                alone = merge(alone, answer)
        assert {k: i for k, i in together.items() if k[0] == source} == alone


def test_a_repeated_answer_is_no_change() -> None:
    busy = BusyInterval("microsoft", "doctor1", "e1", when(60), when(120))
    delta = Delta("microsoft", "doctor1", (busy,))
    store = merge({}, delta)
    assert not plan_delta(store.values(), delta).changed
    assert plan_delta(store.values(), Delta("microsoft", "doctor1", removed=("e1",))).changed


def test_an_interval_of_someone_else_in_an_answer_is_refused() -> None:
    stray = BusyInterval("microsoft", "doctor2", "e1", when(60), when(120))
    with pytest.raises(ValueError, match="doctor2"):
        merge({}, Delta("microsoft", "doctor1", (stray,)))


spans = st.lists(
    st.tuples(st.integers(0, 500), st.integers(1, 120)).map(lambda t: (t[0], t[0] + t[1])),
    max_size=30,
)


@given(spans)
def test_coalescing_busy_spans_keeps_exactly_the_minutes_they_cover(
    given_spans: list[tuple[int, int]],
) -> None:
    joined = coalesce(given_spans)

    def covered(found: list[tuple[int, int]]) -> set[int]:
        return {m for lo, hi in found for m in range(lo, hi)}

    assert covered(joined) == covered(given_spans)
    # Sorted, and apart: no two blocks overlap or touch.
    assert all(a[1] < b[0] for a, b in pairwise(joined))
    assert all(lo < hi for lo, hi in joined)
