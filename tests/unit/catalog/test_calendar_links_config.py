"""A practitioner's CalDAV calendar and ICS subscriptions in clinic.yaml: read into the
catalog, with the address checked and a password in the file refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from clinicflow.catalog.domain.calendar_links import CalDavLink
from clinicflow.catalog.errors import format_problems
from clinicflow.catalog.service import check_config, load_catalog
from support.clinic_config import shipped


@pytest.fixture
def config() -> dict[str, Any]:
    return shipped()


def _write(config: dict[str, Any], tmp_path: Path) -> Path:
    path = tmp_path / "clinic.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def test_a_caldav_calendar_and_ics_feeds_are_read_into_the_practitioner(
    config: dict[str, Any], tmp_path: Path
) -> None:
    doctor = config["practitioners"]["doctor1"]
    doctor["caldav"] = {"url": "https://dav.example.com/cal/elena/work/", "username": "elena"}
    doctor["ics"] = [
        "https://calendar.example.com/ical/secret/basic.ics",
        "webcal://school.example/h.ics",
    ]
    config["practitioners"]["nurse"]["caldav"] = {
        "url": "http://127.0.0.1:5232/grace/work/",
        "read": "freebusy",
    }

    catalog = load_catalog(_write(config, tmp_path))

    elena = catalog.practitioners["doctor1"]
    assert elena.caldav == CalDavLink("https://dav.example.com/cal/elena/work/", "elena", "events")
    assert elena.ics == (
        "https://calendar.example.com/ical/secret/basic.ics",
        "webcal://school.example/h.ics",
    )
    assert catalog.practitioners["nurse"].caldav == CalDavLink(
        "http://127.0.0.1:5232/grace/work/", None, "freebusy"
    )
    assert catalog.practitioners["doctor2"].caldav is None
    assert catalog.practitioners["doctor2"].ics == ()


@pytest.mark.parametrize(
    ("entry", "where", "words"),
    [
        (
            {"caldav": {"url": "https://dav.example.com/c/", "password": "hunter2"}},
            "caldav.password",
            ("never kept in this file", "CLINICFLOW_CALDAV_PASSWORDS"),
        ),
        ({"caldav": {"url": "http://dav.example.com/c/"}}, "caldav.url", ("https",)),
        ({"caldav": {"url": "ftp://dav.example.com/c/"}}, "caldav.url", ("https",)),
        ({"caldav": {"url": "https://d.example/c/", "read": "all"}}, "caldav.read", ("freebusy",)),
        ({"ics": ["https://a.example/x.ics", "https://a.example/x.ics"]}, "ics[1]", ("twice",)),
    ],
)
def test_a_wrong_calendar_entry_is_refused_saying_what_to_write(
    config: dict[str, Any],
    tmp_path: Path,
    entry: dict[str, Any],
    where: str,
    words: tuple[str, ...],
) -> None:
    config["practitioners"]["doctor1"].update(entry)
    path = _write(config, tmp_path)

    problems = check_config(path)

    assert len(problems) == 1, format_problems(problems)
    message = str(problems[0])
    assert f"practitioners.doctor1.{where}: " in message, message
    for word in words:
        assert word in message
    assert "hunter2" not in message
