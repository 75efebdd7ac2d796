"""The `waitlist:` section of the clinic's YAML: defaults when absent, problems named."""

from __future__ import annotations

from pathlib import Path

import pytest

from clinicflow.bootstrap.waitlist import WaitlistConfigError, load_policy, policy_from
from clinicflow.waitlist.domain.policy import WaitlistPolicy


def test_without_a_waitlist_section_the_defaults_apply(tmp_path: Path) -> None:
    path = tmp_path / "clinic.yaml"
    path.write_text("clinic: {name: X}\n")

    assert load_policy(path) == WaitlistPolicy()


def test_a_waitlist_section_sets_weights_horizon_decay_and_radii(tmp_path: Path) -> None:
    path = tmp_path / "clinic.yaml"
    path.write_text(
        "waitlist:\n"
        "  weights: {interest: 0.4, wait_time: 0.1, engagement: 0.2, location: 0.3}\n"
        "  horizon_days: 60\n"
        "  engagement: {half_life_days: 14, kinds: {clicked: 1.0}}\n"
        "  location: {near_miles: 10, far_miles: 40, unknown: 0.5}\n"
        "  distance_bands_miles: [10, 40]\n"
    )

    policy = load_policy(path)

    assert policy.weights.as_dict()["interest"] == 0.4
    assert (policy.horizon_days, policy.half_life_days) == (60, 14)
    assert dict(policy.engagement_kinds) == {"clicked": 1.0}
    assert (policy.near_miles, policy.far_miles, policy.unknown_location) == (10, 40, 0.5)
    assert policy.distance_bands == (10.0, 40.0)


@pytest.mark.parametrize(
    ("section", "named"),
    [
        (
            {"weights": {"interest": 0.9, "wait_time": 0.2, "engagement": 0.2, "location": 0.3}},
            "waitlist.weights: they add up to 1.6; make them add up to 1",
        ),
        ({"weights": {"interest": 1.0}}, "waitlist.weights.wait_time: Field required"),
        ({"weights": {"distance": 0.3}}, "waitlist.weights.distance: Extra inputs"),
        ({"horizon_days": "soon"}, "waitlist.horizon_days"),
        ({"location": {"near_miles": 50, "far_miles": 20}}, "near_miles"),
        ({"colour": "blue"}, "waitlist.colour"),
    ],
)
def test_a_bad_section_is_refused_naming_the_key(section: object, named: str) -> None:
    with pytest.raises(WaitlistConfigError, match=named):
        policy_from(section)
