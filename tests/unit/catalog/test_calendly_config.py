"""A practitioner's optional `calendly:` block in clinic.yaml: read into the catalog, and
refused with the key path and what to write when it is wrong (`clinicflow config check`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from clinicflow.catalog.domain import CalendlyEventType, CalendlyLink
from clinicflow.catalog.errors import format_problems
from clinicflow.catalog.service import check_config, load_catalog
from support.clinic_config import shipped

CONFIG = Path(__file__).parents[3] / "config" / "clinic.yaml"
USER = "https://api.calendly.com/users/AAAAAAAAAAAAAAAA"
INITIAL = "https://api.calendly.com/event_types/BBBBBBBBBBBBBBBB"
FOLLOWUP = "https://api.calendly.com/event_types/CCCCCCCCCCCCCCCC"

Config = dict[str, Any]


@pytest.fixture
def config() -> Config:
    data = shipped()
    data["practitioners"]["doctor1"]["calendly"] = {
        "user": USER,
        "event_types": [
            {"uri": INITIAL, "service": "alternative_medicine", "visit_type": "initial"},
            {"uri": FOLLOWUP, "service": "alternative_medicine", "visit_type": "followup"},
        ],
    }
    return data


def _write(config: Config, tmp_path: Path) -> Path:
    path = tmp_path / "clinic.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def _only_problem(config: Config, tmp_path: Path) -> str:
    problems = check_config(_write(config, tmp_path))
    assert len(problems) == 1, format_problems(problems)
    return str(problems[0])


def _calendly(config: Config, key: str = "doctor1") -> Config:
    block: Config = config["practitioners"][key]["calendly"]
    return block


def test_the_block_is_read_into_the_practitioner(config: Config, tmp_path: Path) -> None:
    catalog = load_catalog(_write(config, tmp_path))
    assert catalog.practitioners["doctor1"].calendly == CalendlyLink(
        USER,
        (
            CalendlyEventType(INITIAL, "alternative_medicine", "initial"),
            CalendlyEventType(FOLLOWUP, "alternative_medicine", "followup"),
        ),
    )
    assert catalog.practitioners["nurse"].calendly is None


def test_the_shipped_file_has_no_calendly_block_and_still_loads() -> None:
    catalog = load_catalog(CONFIG)
    assert all(p.calendly is None for p in catalog.practitioners.values())


def test_a_user_that_is_not_a_calendly_user_uri_is_refused(config: Config, tmp_path: Path) -> None:
    _calendly(config)["user"] = "AAAAAAAAAAAAAAAA"
    message = _only_problem(config, tmp_path)
    assert "practitioners.doctor1.calendly.user: " in message
    assert "https://api.calendly.com/users/" in message


def test_an_event_type_uri_must_name_an_event_type(config: Config, tmp_path: Path) -> None:
    _calendly(config)["event_types"][1]["uri"] = USER
    message = _only_problem(config, tmp_path)
    assert "practitioners.doctor1.calendly.event_types[1].uri: " in message
    assert "not a Calendly event_types URI" in message


def test_an_event_type_for_a_service_the_practitioner_does_not_offer_is_refused(
    config: Config, tmp_path: Path
) -> None:
    _calendly(config)["event_types"][0]["service"] = "gaps_coaching"
    message = _only_problem(config, tmp_path)
    assert "practitioners.doctor1.calendly.event_types[0].service: " in message
    assert "doctor1 does not offer gaps_coaching" in message


def test_an_unknown_service_or_visit_type_is_refused(config: Config, tmp_path: Path) -> None:
    _calendly(config)["event_types"][0]["service"] = "yoga"
    assert "unknown service 'yoga'" in _only_problem(config, tmp_path)
    _calendly(config)["event_types"][0]["service"] = "alternative_medicine"
    _calendly(config)["event_types"][0]["visit_type"] = "third"
    message = _only_problem(config, tmp_path)
    assert "event_types[0].visit_type: 'third' is not a visit type of alternative_medicine" in (
        message
    )


def test_a_calendly_user_belongs_to_one_practitioner(config: Config, tmp_path: Path) -> None:
    config["practitioners"]["nurse"]["calendly"] = {"user": USER}
    message = _only_problem(config, tmp_path)
    assert "practitioners.nurse.calendly.user: " in message
    assert "doctor1's already" in message


def test_an_event_type_listed_twice_is_refused(config: Config, tmp_path: Path) -> None:
    _calendly(config)["event_types"][1]["uri"] = INITIAL
    _calendly(config)["event_types"][1]["visit_type"] = "initial"
    problems = check_config(_write(config, tmp_path))
    assert any("is listed twice" in str(p) for p in problems), format_problems(problems)


def test_unknown_keys_in_the_block_are_refused(config: Config, tmp_path: Path) -> None:
    _calendly(config)["token"] = "secret"
    message = _only_problem(config, tmp_path)
    assert "practitioners.doctor1.calendly.token" in message
