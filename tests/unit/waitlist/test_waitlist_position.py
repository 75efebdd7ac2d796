"""Positions: a total order by score, then join time, then id, the same for every reader."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from clinicflow.waitlist.domain.position import Ranked, order_key, positions

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def test_a_higher_score_comes_first_and_equal_scores_go_by_join_time() -> None:
    found = positions(
        [
            Ranked("late-high", 0.8, T0 + timedelta(days=3)),
            Ranked("early-low", 0.5, T0),
            Ranked("late-tie", 0.5, T0 + timedelta(days=1)),
        ]
    )

    assert found == {"late-high": 1, "early-low": 2, "late-tie": 3}


def test_the_same_score_and_join_time_fall_back_to_the_id() -> None:
    assert positions([Ranked("b", 0.5, T0), Ranked("a", 0.5, T0)]) == {"a": 1, "b": 2}


def test_scores_equal_but_for_floating_point_noise_tie() -> None:
    summed_one_way = 0.1 + 0.2  # 0.30000000000000004
    found = positions(
        [Ranked("later", summed_one_way, T0 + timedelta(1)), Ranked("first", 0.3, T0)]
    )

    assert found == {"first": 1, "later": 2}


items = st.lists(
    st.builds(
        Ranked,
        st.uuids().map(str),
        st.sampled_from([0.0, 0.25, 0.5, 1.0]) | st.floats(0, 1),
        st.integers(0, 5).map(lambda d: T0 + timedelta(days=d)),
    ),
    max_size=40,
    unique_by=lambda r: r.id,
)


@given(items)
def test_positions_are_a_permutation_of_1_to_n(found: list[Ranked]) -> None:
    assert sorted(positions(found).values()) == list(range(1, len(found) + 1))


@given(items)
def test_positions_agree_with_the_ordering(found: list[Ranked]) -> None:
    pos = positions(found)
    for a in found:
        for b in found:
            higher = round(a.score, 9) > round(b.score, 9)
            earlier_tie = round(a.score, 9) == round(b.score, 9) and a.joined_at < b.joined_at
            if higher or earlier_tie:
                assert pos[a.id] < pos[b.id]
            if pos[a.id] < pos[b.id]:
                assert order_key(a) < order_key(b)


@given(items, st.randoms())
def test_the_order_items_arrive_in_does_not_matter(found: list[Ranked], rnd: object) -> None:
    shuffled = list(found)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]

    assert positions(shuffled) == positions(found)
