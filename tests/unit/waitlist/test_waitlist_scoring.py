"""The priority score: the seed's weights on hand-computed examples, and properties that
hold for any entry, any time and any valid weights."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clinicflow.waitlist.domain.policy import COMPONENTS, PolicyError, WaitlistPolicy, Weights
from clinicflow.waitlist.domain.scoring import (
    Candidate,
    Engagement,
    combine,
    engagement,
    interest,
    location,
    score,
    wait_time,
)

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
SEED = WaitlistPolicy()


def entry(
    level: int = 3,
    days: float = 0.0,
    distance: float | None = 10.0,
    events: tuple[Engagement, ...] = (),
) -> Candidate:
    return Candidate("e", NOW - timedelta(days=days), level, distance, events)


def test_the_seed_weights_are_the_defaults() -> None:
    assert SEED.weights.as_dict() == {
        "interest": 0.3,
        "wait_time": 0.2,
        "engagement": 0.2,
        "location": 0.3,
    }


@pytest.mark.parametrize(
    ("candidate", "expected"),
    [
        # 0.75·0.3 + 0.5·0.2 + 0·0.2 + 1·0.3
        (entry(level=4, days=45, distance=10), 0.625),
        # 0·0.3 + 1·0.2 (capped) + (1 − e^−0.5)·0.2 + 0.5·0.3 (37.5 mi: half way 15→60)
        (
            entry(level=1, days=180, distance=37.5, events=(Engagement("clicked", NOW),)),
            0.2 + 0.2 * (1 - math.exp(-0.5)) + 0.15,
        ),
        # 1·0.3 + 0 + (1 − e^−0.25)·0.2 (a click one half-life old) + 0 (beyond 60 mi)
        (
            entry(
                level=5,
                distance=75,
                events=(Engagement("clicked", NOW - timedelta(days=30)),),
            ),
            0.3 + 0.2 * (1 - math.exp(-0.25)),
        ),
    ],
)
def test_the_seed_weights_reproduce_hand_computed_scores(
    candidate: Candidate, expected: float
) -> None:
    assert score(candidate, NOW, SEED).total == pytest.approx(expected, abs=1e-12)


def test_each_component_is_explained_with_its_weight() -> None:
    found = score(entry(level=4, days=45, distance=10), NOW, SEED)

    by_name = {c.name: c for c in found.components}
    assert list(by_name) == list(COMPONENTS)
    assert by_name["interest"].reason == "interest level 4 of 5"
    assert by_name["wait_time"].reason == "waited 45.0 of 90 days"
    assert by_name["location"].reason == "about 10 miles from the clinic: within 15 miles"
    assert sum(c.contribution for c in found.components) == pytest.approx(found.total)


def test_an_unknown_location_gets_the_documented_neutral_value_not_an_error() -> None:
    found = score(entry(distance=None), NOW, SEED)

    place = next(c for c in found.components if c.name == "location")
    assert place.value == 0.5  # neutral: halfway between near and far
    assert "not known" in place.reason
    stricter = WaitlistPolicy(unknown_location=0.0)
    assert location(None, stricter) == 0.0


def test_interest_is_level_minus_one_over_four() -> None:
    assert [interest(level) for level in range(1, 6)] == [0, 0.25, 0.5, 0.75, 1]
    with pytest.raises(ValueError, match=r"outside 1\.\.5"):
        interest(6)


def test_engagement_in_the_future_does_not_count_yet() -> None:
    later = entry(events=(Engagement("visited", NOW + timedelta(hours=1)),))

    assert next(c for c in score(later, NOW, SEED).components if c.name == "engagement").value == 0


@pytest.mark.parametrize(
    "weights",
    [
        {"interest": 0.5, "wait_time": 0.5, "engagement": 0.5, "location": 0.5},
        {"interest": 0.3, "wait_time": 0.2, "engagement": 0.2, "location": 0.2},
        {"interest": -0.1, "wait_time": 0.5, "engagement": 0.3, "location": 0.3},
    ],
)
def test_weights_must_each_be_within_0_and_1_and_add_up_to_1(weights: dict[str, float]) -> None:
    with pytest.raises(PolicyError, match="weights"):
        Weights(**weights)


def test_weights_written_in_tenths_add_up_despite_binary_fractions() -> None:
    assert Weights(0.1, 0.2, 0.3, 0.4).as_dict()["location"] == 0.4


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"horizon_days": 0}, "horizon_days"),
        ({"near_miles": 60, "far_miles": 15}, "near_miles"),
        ({"engagement_kinds": {"liked": 1.0}}, "liked"),
        ({"distance_bands": (30.0, 15.0)}, "distance_bands"),
    ],
)
def test_a_policy_that_cannot_work_is_refused_naming_the_key(
    change: dict[str, object], message: str
) -> None:
    with pytest.raises(PolicyError, match=message):
        WaitlistPolicy(**change)  # type: ignore[arg-type]


# --- properties ------------------------------------------------------------------------

unit = st.floats(0.0, 1.0, allow_nan=False)


@st.composite
def weights(draw: st.DrawFn) -> Weights:
    raw = [draw(st.integers(0, 100)) for _ in COMPONENTS]
    if sum(raw) == 0:
        raw[0] = 1
    parts = [r / sum(raw) for r in raw]
    parts[-1] = max(0.0, 1.0 - sum(parts[:-1]))  # exactly 1 up to rounding
    return Weights(*parts)


events = st.lists(
    st.builds(
        Engagement,
        st.sampled_from(["opened", "clicked", "visited"]),
        st.integers(-10 * 86_400, 400 * 86_400).map(lambda s: NOW - timedelta(seconds=s)),
    ),
    max_size=30,
).map(tuple)
candidates = st.builds(
    Candidate,
    st.just("e"),
    st.integers(-86_400, 1000 * 86_400).map(lambda s: NOW - timedelta(seconds=s)),
    st.integers(1, 5),
    st.none() | st.floats(0, 3000, allow_nan=False),
    events,
)
policies = st.builds(
    WaitlistPolicy,
    weights=weights(),
    horizon_days=st.floats(1, 365),
    half_life_days=st.floats(1, 365),
    near_miles=st.floats(0, 50),
    far_miles=st.floats(51, 200),
)


@given(candidates, policies)
def test_every_component_and_the_score_stay_within_0_and_1(
    candidate: Candidate, policy: WaitlistPolicy
) -> None:
    found = score(candidate, NOW, policy)

    assert all(0.0 <= c.value <= 1.0 for c in found.components)
    assert 0.0 <= found.total <= 1.0


@given(candidates, policies)
def test_more_interest_never_lowers_the_score(candidate: Candidate, policy: WaitlistPolicy) -> None:
    keener = Candidate(
        candidate.id,
        candidate.joined_at,
        min(5, candidate.interest_level + 1),
        candidate.distance_mi,
        candidate.engagement,
    )

    assert score(keener, NOW, policy).total >= score(candidate, NOW, policy).total


@given(candidates, policies, st.integers(0, 400 * 86_400))
def test_waiting_longer_never_lowers_the_wait_component(
    candidate: Candidate, policy: WaitlistPolicy, seconds: int
) -> None:
    later = NOW + timedelta(seconds=seconds)
    before = wait_time(candidate.joined_at, NOW, policy.horizon_days)

    assert wait_time(candidate.joined_at, later, policy.horizon_days) >= before


@given(candidates, policies, st.floats(0, 3000, allow_nan=False))
def test_living_closer_never_lowers_the_score(
    candidate: Candidate, policy: WaitlistPolicy, closer_by: float
) -> None:
    if candidate.distance_mi is None:
        return
    nearer = Candidate(
        candidate.id,
        candidate.joined_at,
        candidate.interest_level,
        max(0.0, candidate.distance_mi - closer_by),
        candidate.engagement,
    )

    assert score(nearer, NOW, policy).total >= score(candidate, NOW, policy).total


@given(candidates, policies, st.sampled_from(["opened", "clicked", "visited"]))
def test_another_engagement_never_lowers_the_score(
    candidate: Candidate, policy: WaitlistPolicy, kind: str
) -> None:
    more = Candidate(
        candidate.id,
        candidate.joined_at,
        candidate.interest_level,
        candidate.distance_mi,
        (*candidate.engagement, Engagement(kind, NOW)),
    )

    assert score(more, NOW, policy).total >= score(candidate, NOW, policy).total


@given(
    weights(),
    st.fixed_dictionaries({n: unit for n in COMPONENTS}),
    st.sampled_from(COMPONENTS),
    unit,
)
def test_raising_any_component_never_lowers_the_score(
    w: Weights, values: dict[str, float], name: str, raised: float
) -> None:
    higher = {**values, name: max(values[name], raised)}

    assert combine(w, higher) >= combine(w, values)
    assert 0.0 <= combine(w, higher) <= 1.0


@given(st.floats(0, 1000, allow_nan=False), st.floats(0, 1000, allow_nan=False))
def test_engagement_grows_with_the_decayed_sum(a: float, b: float) -> None:
    low, high = sorted((a, b))

    assert 0.0 <= engagement(low) <= engagement(high) <= 1.0
