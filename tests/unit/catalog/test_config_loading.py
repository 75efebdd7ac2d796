"""The shipped config/clinic.yaml loads, keeps the seed's services block and means what it says."""

from __future__ import annotations

from datetime import date, time, timedelta
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from clinicflow.catalog import Catalog, LocalInterval, ServicePolicy
from clinicflow.catalog.service import check_config, load_catalog, load_catalog_from_text
from support.clinic_config import CLINIC_YAML

# The "Service Configuration Management" block of seed/technical-architecture.md. The seed has
# trailing spaces on a few lines; they are left out here and compared line by line, stripped.
SEED_SERVICES = """\
services:
  alternative_medicine:
    active: true
    durations:
      initial: [15, 20]  # min
      followup: [10, 15]
    pricing:
      initial: 119
      followup: 79
    calendars: ["doctor1", "doctor2", "nurse"]

  gaps_coaching:
    active: true
    durations:
      initial: [60]
      followup: [15]
    pricing:
      initial: 195
      followup: 79
    calendars: ["gaps_coach"]

  weight_loss:
    active: true
    durations:
      initial: [TBD]
      followup: [TBD]
    pricing:
      initial: TBD
      followup: TBD
    calendars: ["doctor1", "doctor2", "nurse"]

  counseling:
    active: false
    waitlist: true
    launch_date: TBD

  equine_therapy:
    active: false
    waitlist: true
    launch_date: TBD
"""

MINIMAL = """\
clinic: {{name: Test clinic, timezone: America/Chicago, zip: "78701"}}
services:
  checkup:
    active: true
    durations: {{initial: [30]}}
    pricing: {{initial: {price}}}
    calendars: [doc]
practitioners:
  doc: {{name: Doc, title: MD, hours: {{mon: ["09:00-17:00"]}}}}
"""


def _stripped_lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines()]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(CLINIC_YAML)


def test_shipped_config_has_no_problems() -> None:
    assert check_config(CLINIC_YAML) == []


def test_services_block_is_the_seed_block_as_given() -> None:
    text = CLINIC_YAML.read_text(encoding="utf-8")
    assert yaml.safe_load(text)["services"] == yaml.safe_load(SEED_SERVICES)["services"]
    shipped, seed = _stripped_lines(text), _stripped_lines(SEED_SERVICES)
    start = shipped.index("services:")
    assert shipped[start : start + len(seed)] == seed  # same order, comments and spelling


def test_weight_loss_is_listed_but_not_bookable_until_lengths_and_prices_are_decided(
    catalog: Catalog,
) -> None:
    weight_loss = catalog.services["weight_loss"]
    assert weight_loss.active
    assert not weight_loss.bookable
    reasons = " ".join(weight_loss.reasons)
    assert "durations are not decided yet (TBD)" in reasons
    assert "price is not decided yet (TBD)" in reasons
    for visit_type in weight_loss.visit_types.values():
        assert (visit_type.durations, visit_type.price_cents) == (None, None)


@pytest.mark.parametrize("key", ["counseling", "equine_therapy"])
def test_services_not_launched_yet_take_waitlist_sign_ups_only(
    catalog: Catalog,
    key: str,
) -> None:
    service = catalog.services[key]
    assert not service.active
    assert service.waitlist
    assert service.launch_date is None
    assert not service.bookable
    assert any("join the waitlist" in reason for reason in service.reasons)


def test_alternative_medicine_is_bookable_at_the_seed_lengths_and_prices(
    catalog: Catalog,
) -> None:
    service = catalog.services["alternative_medicine"]
    assert service.bookable
    assert service.name == "Alternative medicine"
    assert service.visit_types["initial"].durations == (15, 20)
    assert service.visit_types["initial"].price_cents == 11900
    assert service.visit_types["followup"].durations == (10, 15)
    assert service.visit_types["followup"].price_cents == 7900


def test_gaps_coaching_has_one_length_per_visit_type(catalog: Catalog) -> None:
    visit_types = catalog.services["gaps_coaching"].visit_types
    assert visit_types["initial"].durations == (60,)
    assert visit_types["followup"].durations == (15,)
    assert visit_types["initial"].price_cents == 19500


def test_the_clinic_has_at_least_eight_calendars(catalog: Catalog) -> None:
    assert len(catalog.practitioners) >= 8


def test_doctor1_serves_alternative_medicine_and_weight_loss(
    catalog: Catalog,
) -> None:
    assert catalog.practitioners["doctor1"].services == ("alternative_medicine", "weight_loss")


def test_practitioners_listing_a_service_join_after_the_seed_calendars(
    catalog: Catalog,
) -> None:
    calendars = catalog.services["alternative_medicine"].calendars
    assert calendars[:3] == ("doctor1", "doctor2", "nurse")
    assert "nurse2" in calendars
    assert len(set(calendars)) == len(calendars)
    assert "alternative_medicine" in catalog.practitioners["nurse2"].services
    assert [p.key for p in catalog.practitioners_for("counseling")] == ["counselor1"]


def test_service_settings_override_the_policy_defaults(catalog: Catalog) -> None:
    gaps = catalog.services["gaps_coaching"].policy
    assert gaps == ServicePolicy(buffer_after_min=10, min_notice_min=120, max_advance_days=90)
    assert catalog.services["equine_therapy"].policy.slot_step_min == 30


def test_every_weekday_is_present_and_a_day_left_out_is_a_day_off(
    catalog: Catalog,
) -> None:
    weekly = catalog.practitioners["doctor1"].weekly_hours
    assert sorted(weekly) == list(range(7))
    assert weekly[0] == (LocalInterval(time(8, 30), time(12)), LocalInterval(time(13), time(17)))
    assert weekly[5] == ()


def test_holidays_replace_the_weekly_hours(catalog: Catalog) -> None:
    doctor1 = catalog.practitioners["doctor1"]
    assert doctor1.exceptions[date(2026, 12, 25)] == ()
    assert doctor1.exceptions[date(2026, 12, 24)] == (LocalInterval(time(8, 30), time(12)),)


def test_time_off_is_read_as_wall_time_in_the_clinic_zone(
    catalog: Catalog,
) -> None:
    (meeting,) = catalog.practitioners["doctor1"].time_off
    assert meeting.start.tzinfo == catalog.clinic.tz
    assert (meeting.start.hour, meeting.end.hour) == (12, 14)
    assert meeting.start.utcoffset() == timedelta(hours=-6)  # CST in December


def test_clinic_settings_are_read(catalog: Catalog) -> None:
    clinic = catalog.clinic
    assert (clinic.timezone, clinic.zip, clinic.currency, clinic.hold_minutes) == (
        "America/Chicago",
        "78701",
        "USD",
        10,
    )


def test_loading_from_text_gives_the_same_catalog(catalog: Catalog) -> None:
    assert load_catalog_from_text(CLINIC_YAML.read_text(encoding="utf-8")) == catalog


def test_tbd_without_brackets_also_means_undecided() -> None:
    text = MINIMAL.format(price="TBD").replace("initial: [30]", "initial: TBD")
    visit_type = load_catalog_from_text(text).services["checkup"].visit_types["initial"]
    assert (visit_type.durations, visit_type.price_cents) == (None, None)


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=10_000_000))
def test_dollar_prices_become_exact_cents(cents: int) -> None:
    price = f"{cents // 100}.{cents % 100:02d}"
    catalog = load_catalog_from_text(MINIMAL.format(price=price))
    assert catalog.services["checkup"].visit_types["initial"].price_cents == cents


def test_reminder_times_come_from_the_policy_and_a_service_may_change_them() -> None:
    catalog = load_catalog(CLINIC_YAML)
    assert catalog.services["alternative_medicine"].policy.reminder_minutes == (1440, 120)
    assert catalog.services["equine_therapy"].policy.reminder_minutes == (2880, 1440)


def test_a_reminder_time_must_be_whole_positive_minutes(tmp_path: Path) -> None:
    config = tmp_path / "clinic.yaml"
    config.write_text(
        CLINIC_YAML.read_text().replace(
            "reminder_minutes: [1440, 120]", "reminder_minutes: [1440, -5]"
        )
    )
    problems = check_config(config)
    assert any("reminder_minutes" in str(p) for p in problems), problems
