"""The `retention:` section: optional, with defaults, and only whole positive periods."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from clinicflow.catalog.domain import RetentionPolicy, years_before
from clinicflow.catalog.errors import ConfigError
from clinicflow.catalog.service import check_config, load_catalog, load_catalog_from_text

CONFIG = Path(__file__).parents[3] / "config" / "clinic.yaml"

MINIMAL = """\
clinic: {name: Test clinic, timezone: America/Chicago, zip: "78701"}
services:
  checkup: {active: true, durations: {initial: [30]}, pricing: {initial: 50}, calendars: [doc]}
practitioners:
  doc: {name: Doc, title: MD, hours: {mon: ["09:00-17:00"]}}
"""


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
    assert load_catalog(CONFIG).retention == RetentionPolicy()


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
    data = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    data["retention"][key] = value
    path = tmp_path / "clinic.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    (problem,) = check_config(path)
    assert str(problem).startswith(f"{path}: retention.{key}: must be a "), problem
    assert words in str(problem)


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
