"""A practitioner's optional Microsoft 365 mailbox in clinic.yaml: read lower-cased, refused
when it is not an address or when two practitioners share one."""

from __future__ import annotations

from pathlib import Path

import pytest

from clinicflow.catalog.errors import format_problems
from clinicflow.catalog.service import check_config, load_catalog
from support.app import CLINIC_YAML
from support.clinic_config import Config, shipped, written


@pytest.fixture
def config() -> Config:
    return shipped()


def test_a_practitioner_without_a_mailbox_has_none() -> None:
    catalog = load_catalog(CLINIC_YAML)
    assert {p.microsoft_mailbox for p in catalog.practitioners.values()} == {None}


def test_a_mailbox_is_read_lower_cased(config: Config, tmp_path: Path) -> None:
    config["practitioners"]["doctor1"]["microsoft"] = {"mailbox": " Elena.Marsh@Clinic.Example "}
    catalog = load_catalog(written(config, tmp_path))
    assert catalog.practitioners["doctor1"].microsoft_mailbox == "elena.marsh@clinic.example"
    assert catalog.practitioners["doctor2"].microsoft_mailbox is None


@pytest.mark.parametrize("given", ["elena", "elena@", "Dr Elena <elena@clinic.example>", 42])
def test_a_mailbox_that_is_not_an_address_is_refused(
    config: Config, tmp_path: Path, given: object
) -> None:
    config["practitioners"]["doctor1"]["microsoft"] = {"mailbox": given}
    path = written(config, tmp_path)
    [problem] = check_config(path)
    assert str(problem).startswith(f"{path}: practitioners.doctor1.microsoft.mailbox: ")
    assert "email address in Microsoft 365" in str(problem)


def test_an_unknown_key_under_microsoft_is_refused(config: Config, tmp_path: Path) -> None:
    config["practitioners"]["doctor1"]["microsoft"] = {"mailbox": "a@b.example", "user": "x"}
    problems = check_config(written(config, tmp_path))
    assert len(problems) == 1, format_problems(problems)
    assert "practitioners.doctor1.microsoft.user" in str(problems[0])


def test_two_practitioners_may_not_share_a_mailbox(config: Config, tmp_path: Path) -> None:
    config["practitioners"]["doctor1"]["microsoft"] = {"mailbox": "front@clinic.example"}
    config["practitioners"]["nurse"]["microsoft"] = {"mailbox": "FRONT@clinic.example"}
    path = written(config, tmp_path)
    [problem] = check_config(path)
    assert str(problem).startswith(f"{path}: practitioners.nurse.microsoft.mailbox: ")
    assert "already doctor1's" in str(problem)
