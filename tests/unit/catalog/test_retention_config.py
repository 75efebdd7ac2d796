"""The `retention:` section: optional, with defaults, and only whole positive periods."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from clinicflow.catalog.domain import RetentionPolicy, years_before
from clinicflow.catalog.errors import ConfigError
from clinicflow.catalog.service import load_catalog, load_catalog_from_text
from support.clinic_config import CLINIC_YAML, MINIMAL, only_problem, shipped


def test_without_a_retention_section_the_defaults_apply() -> None:
    policy = load_catalog_from_text(MINIMAL).retention
    assert policy == RetentionPolicy()
    assert (
        policy.audit_log_years,
        policy.patient_records_years_after_last_visit,
        policy.expired_holds_days,
        policy.cancelled_waitlist_entries_days,
    ) == (6, 7, 30, 365)


def test_keys_left_out_of_the_section_keep_their_defaults() -> None:
    policy = load_catalog_from_text(MINIMAL + "retention:\n  audit_log_years: 10\n").retention
    assert policy == RetentionPolicy(audit_log_years=10)


def test_the_shipped_configuration_states_the_defaults() -> None:
    assert load_catalog(CLINIC_YAML).retention == RetentionPolicy()


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("audit_log_years", 0, "whole number of years of at least 1, not 0"),
        ("patient_records_years_after_last_visit", -7, "of at least 1, not -7"),
        ("expired_holds_days", 2.5, "whole number of days of at least 1, not 2.5"),
        ("cancelled_waitlist_entries_days", "a year", "not 'a year'"),
    ],
)
def test_a_retention_period_must_be_a_positive_whole_number(
    tmp_path: Path, key: str, value: object, words: str
) -> None:
    data = shipped()
    data["retention"][key] = value
    path, problem = only_problem(data, tmp_path)
    assert problem.startswith(f"{path}: retention.{key}: must be a "), problem
    assert words in problem


def test_an_unknown_retention_key_is_named_with_the_allowed_ones() -> None:
    text = MINIMAL + "retention:\n  audit_logs_years: 6\n"
    with pytest.raises(ConfigError, match=r"retention\.audit_logs_years: unknown key") as refused:
        load_catalog_from_text(text)
    assert "did you mean 'audit_log_years'" in str(refused.value)


def test_years_are_calendar_years_and_a_leap_day_falls_back_to_the_28th() -> None:
    assert years_before(datetime(2026, 11, 24, 15, tzinfo=UTC), 6) == datetime(
        2020, 11, 24, 15, tzinfo=UTC
    )
    assert years_before(datetime(2028, 2, 29, tzinfo=UTC), 7) == datetime(2021, 2, 28, tzinfo=UTC)
