"""`clinicflow calendars status|sync` as an operator runs them, over a migrated SQLite file,
with the configured feeds replaced by in-memory ones (`BoardFeed`: our port)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

import clinicflow.bootstrap.calendars as wiring
from clinicflow.bootstrap.core import Core
from clinicflow.calendars.ports import BusyFeed
from clinicflow.cli import app
from support.calendar_feeds import BoardFeed
from support.cli_runner import migrated_cli, ok

SOON = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    return migrated_cli(tmp_path, monkeypatch)


@pytest.fixture
def feeds(monkeypatch: pytest.MonkeyPatch) -> list[BoardFeed]:
    outlook = BoardFeed("microsoft", ("doctor1", "doctor2"))
    outlook.add("doctor1", "m1", SOON, SOON + timedelta(hours=1))
    calendly = BoardFeed("calendly", ("doctor1",), cursors=False)
    made: list[BoardFeed] = [outlook, calendly]

    def configured(core: Core, *extra: BusyFeed | None) -> list[BusyFeed]:
        return list(made)

    monkeypatch.setattr(wiring, "configured_feeds", configured)
    return made


def test_with_no_calendar_configured_both_say_so(cli: CliRunner) -> None:
    assert "no external calendar is configured" in ok(cli.invoke(app, ["calendars", "status"]))
    assert "no external calendar is configured" in ok(cli.invoke(app, ["calendars", "sync"]))


def test_status_shows_unconfirmed_until_a_sync_then_fresh(
    cli: CliRunner, feeds: list[BoardFeed]
) -> None:
    before = cli.invoke(app, ["calendars", "status"])
    assert before.exit_code == 1, before.output
    assert "doctor1 microsoft stale age=never" in " ".join(before.output.split())
    assert "unconfirmed" in before.output

    synced = ok(cli.invoke(app, ["calendars", "sync", "--full"]))
    assert "doctor1 microsoft full changed" in synced
    assert "doctor2 microsoft full unchanged" in synced
    assert "doctor1 calendly full unchanged" in synced
    assert "calendars synced" in synced  # the progress bar

    after = ok(cli.invoke(app, ["calendars", "status"]))
    assert re.search(r"doctor1 microsoft fresh age=\d+s", after)
    assert "intervals=1" in after
    assert "breaker=closed" in after
    assert "every practitioner has a fresh source" in after


def test_sync_of_one_practitioner_and_a_failing_source(
    cli: CliRunner, feeds: list[BoardFeed]
) -> None:
    _outlook, calendly = feeds
    calendly.down = True

    result = cli.invoke(app, ["calendars", "sync", "--practitioner", "doctor1"])

    assert result.exit_code == 1, result.output
    out = " ".join(result.output.split())
    assert "doctor1 microsoft full changed" in out
    assert "doctor1 calendly failed calendly is down" in out
    assert "doctor2" not in out
    assert "1 failed" in out

    unknown = cli.invoke(app, ["calendars", "sync", "--practitioner", "nobody"])
    assert unknown.exit_code != 0
    assert "no such practitioner" in unknown.output
