"""A broken clinic.yaml is refused with every problem named by file, key path and what to change.

Each case loads the shipped config, breaks one thing, writes it back and checks it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from clinicflow.catalog.errors import ConfigError, ConfigProblem
from clinicflow.catalog.service import check_config, load_catalog, load_catalog_from_text
from support.clinic_config import (
    CLINIC_YAML,
    Config,
    assert_refused,
    only_problem,
    shipped,
    written,
)


@pytest.fixture
def config() -> Config:
    return shipped()


def _problems_in_text(text: str) -> list[ConfigProblem]:
    with pytest.raises(ConfigError) as refused:
        load_catalog_from_text(text, "clinic.yaml")
    return refused.value.problems


def _service(config: Config, key: str) -> Config:
    service: Config = config["services"][key]
    return service


def _practitioner(config: Config, key: str) -> Config:
    practitioner: Config = config["practitioners"][key]
    return practitioner


def test_unknown_key_in_a_service_is_named_with_the_allowed_keys(
    config: Config, tmp_path: Path
) -> None:
    _service(config, "alternative_medicine")["durattions"] = {"initial": [15]}
    assert_refused(
        config,
        tmp_path,
        "services.alternative_medicine.durattions",
        "unknown key 'durattions'; allowed: active, waitlist, launch_date, durations, pricing, "
        "calendars",
        "did you mean 'durations'?",
    )


@pytest.mark.parametrize(
    ("break_it", "key_path", "allowed"),
    [
        (lambda c: c.__setitem__("staff", {}), "staff", "clinic, services, policy_defaults"),
        (
            lambda c: c["practitioners"]["doctor1"]["hours"].__setitem__("monday", []),
            "practitioners.doctor1.hours.monday",
            "mon, tue, wed, thu, fri, sat, sun",
        ),
        (
            lambda c: c["clinic"].__setitem__("time_zone", "America/Chicago"),
            "clinic.time_zone",
            "name, timezone, zip, currency, hold_minutes",
        ),
    ],
)
def test_unknown_keys_are_refused_anywhere(
    config: Config,
    tmp_path: Path,
    break_it: Callable[[Config], None],
    key_path: str,
    allowed: str,
) -> None:
    break_it(config)
    assert_refused(config, tmp_path, key_path, "unknown key", allowed)


@pytest.mark.parametrize("length", [0, -15, 15.5, "fifteen"])
def test_a_visit_length_must_be_a_positive_whole_number_of_minutes(
    config: Config, tmp_path: Path, length: object
) -> None:
    _service(config, "alternative_medicine")["durations"]["initial"] = [length, 20]
    assert_refused(
        config,
        tmp_path,
        "services.alternative_medicine.durations.initial[0]",
        "must be a whole number of minutes greater than 0",
    )


def test_unknown_calendar_in_a_service_lists_the_defined_calendars(
    config: Config, tmp_path: Path
) -> None:
    _service(config, "alternative_medicine")["calendars"].append("doctor9")
    assert_refused(
        config,
        tmp_path,
        "services.alternative_medicine.calendars[3]",
        "unknown calendar 'doctor9'",
        "defined calendars: doctor1, doctor2, nurse, gaps_coach",
    )


def test_unknown_service_offered_by_a_practitioner_is_refused(
    config: Config, tmp_path: Path
) -> None:
    _practitioner(config, "nurse2")["services"].append("yoga")
    assert_refused(
        config,
        tmp_path,
        "practitioners.nurse2.services[2]",
        "unknown service 'yoga'",
        "services: alternative_medicine, gaps_coaching, weight_loss",
    )


def _set(key: str, value: object) -> Callable[[Config], None]:
    """The mistake of writing `value` at `key` (dotted; a number indexes a list)."""

    def mistake(config: Config) -> None:
        *parents, last = [int(k) if k.isdigit() else k for k in key.split(".")]
        node = config
        for k in parents:
            node = node[k]
        node[last] = value

    return mistake


# A value written where it does not belong: where the check names it, and what it says.
MISTAKES = {
    "settings-for-an-unknown-service": (
        _set("service_settings.yoga", {"name": "Yoga"}),
        "service_settings.yoga",
        ["unknown service 'yoga'"],
    ),
    "overlapping-hours-on-the-same-day": (
        _set("practitioners.doctor1.hours.mon", ["09:00-12:00", "11:30-17:00"]),
        "practitioners.doctor1.hours.mon[1]",
        ["11:30-17:00 overlaps 09:00-12:00", "merge them or make them not overlap"],
    ),
    "overlapping-hours-in-an-exception": (
        _set("practitioners.doctor1.exceptions.1.hours", ["10:00-12:00", "08:30-10:30"]),
        "practitioners.doctor1.exceptions[1].hours[1]",
        ["08:30-10:30 overlaps 10:00-12:00"],
    ),
    "hours-ending-before-they-start": (
        _set("practitioners.doctor2.hours.tue", ["13:00-09:00"]),
        "practitioners.doctor2.hours.tue[0]",
        ["end 09:00 is not after start 13:00"],
    ),
    "a-time-zone-not-iana": (
        _set("clinic.timezone", "America/Chicgo"),
        "clinic.timezone",
        ["'America/Chicgo' is not an IANA time zone", "did you mean America/Chicago?"],
    ),
    "a-price-below-zero": (
        _set("services.gaps_coaching.pricing.initial", -195),
        "services.gaps_coaching.pricing.initial",
        ["is below zero (-195)"],
    ),
    "a-price-with-fractions-of-a-cent": (
        _set("services.gaps_coaching.pricing.followup", 79.995),
        "services.gaps_coaching.pricing.followup",
        ["has more than 2 decimal places (79.995)", "round it to cents"],
    ),
    "a-price-naming-no-visit-type": (
        _set("services.gaps_coaching.pricing.group", 49),
        "services.gaps_coaching.pricing.group",
        ["'group' names no visit type", "initial, followup"],
    ),
    "time-off-ending-before-it-starts": (
        _set("practitioners.doctor1.time_off.0.end", "2026-12-10T11:00"),
        "practitioners.doctor1.time_off[0].end",
        ["end 2026-12-10T11:00 is not after start 2026-12-10T12:00"],
    ),
}


@pytest.mark.parametrize(("mistake", "key_path", "words"), MISTAKES.values(), ids=MISTAKES)
def test_a_value_that_breaks_a_rule_is_refused_with_what_to_change(
    config: Config,
    tmp_path: Path,
    mistake: Callable[[Config], None],
    key_path: str,
    words: list[str],
) -> None:
    mistake(config)
    assert_refused(config, tmp_path, key_path, *words)


@pytest.mark.parametrize("hours", ["9am-5pm", "09:00", "09:00-25:00", 540])
def test_hours_must_be_written_hh_mm_dash_hh_mm(
    config: Config, tmp_path: Path, hours: object
) -> None:
    _practitioner(config, "nurse")["hours"]["wed"] = [hours]
    path, message = only_problem(config, tmp_path)
    assert message.startswith(f"{path}: practitioners.nurse.hours.wed[0]: ")
    assert "09:00-12:00" in message or "hours run 00-23" in message


def test_a_visit_type_without_a_price_is_refused(config: Config, tmp_path: Path) -> None:
    del _service(config, "gaps_coaching")["pricing"]["followup"]
    assert_refused(
        config,
        tmp_path,
        "services.gaps_coaching.pricing",
        "visit type 'followup' has no price",
    )


@pytest.mark.parametrize("section", ["clinic", "services", "practitioners"])
def test_a_missing_required_section_is_refused(
    config: Config, tmp_path: Path, section: str
) -> None:
    del config[section]
    path, message = only_problem(config, tmp_path)
    assert message.startswith(f"{path}: missing required section '{section}'")


def test_a_key_given_twice_is_refused_with_both_lines() -> None:
    text = CLINIC_YAML.read_text(encoding="utf-8").replace(
        "  hold_minutes: 10", "  hold_minutes: 10\n  hold_minutes: 15"
    )
    with pytest.raises(ConfigError) as refused:
        load_catalog_from_text(text, "clinic.yaml")
    (problem,) = refused.value.problems
    assert problem.path == "clinic.hold_minutes"
    assert "is given twice" in problem.message
    assert problem.line is not None


def test_a_yaml_syntax_error_names_the_line() -> None:
    problems = _problems_in_text("clinic:\n  name: [Riverbend\nservices: {}\n")
    (problem,) = problems
    assert problem.message.startswith("not valid YAML")
    assert problem.line is not None
    assert str(problem).endswith(f"(line {problem.line})")


def test_an_empty_file_is_refused() -> None:
    (problem,) = _problems_in_text("")
    assert str(problem) == (
        "clinic.yaml: is empty; it needs the sections clinic, services and practitioners "
        "(optional: policy_defaults, service_settings)"
    )


def test_an_unreadable_file_is_a_problem_too(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.yaml"
    (problem,) = check_config(missing)
    assert str(problem).startswith(f"{missing}: cannot read the file")


def test_several_problems_are_all_reported_at_once(config: Config, tmp_path: Path) -> None:
    _service(config, "alternative_medicine")["durattions"] = {}
    _service(config, "alternative_medicine")["durations"]["followup"] = [0]
    _service(config, "weight_loss")["calendars"].append("doctor9")
    _practitioner(config, "doctor1")["hours"]["mon"] = ["09:00-12:00", "11:00-13:00"]
    config["clinic"]["timezone"] = "Mars/Olympus"
    _service(config, "gaps_coaching")["pricing"]["initial"] = -1
    path = written(config, tmp_path)
    with pytest.raises(ConfigError) as refused:
        load_catalog(path)
    assert {problem.path for problem in refused.value.problems} == {
        "services.alternative_medicine.durattions",
        "services.alternative_medicine.durations.followup[0]",
        "services.weight_loss.calendars[3]",
        "practitioners.doctor1.hours.mon[1]",
        "clinic.timezone",
        "services.gaps_coaching.pricing.initial",
    }
    lines = str(refused.value).splitlines()
    assert lines[0] == f"invalid clinic configuration in {path}: 6 problems"
    assert lines[1:] == [str(problem) for problem in refused.value.problems]
