"""`clinicflow calendars feed-token KEY [--revoke]` as an operator runs it, over a migrated
SQLite file: the address is printed once, whole, under CLINICFLOW_PUBLIC_URL; a second run
replaces it and says so; --revoke removes it; an unknown practitioner exits 2. Each address
is then asked of an app over the same database."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clinicflow.bootstrap import build
from clinicflow.cli import app
from clinicflow.settings import Settings
from support.api import app_over
from support.cli_runner import migrated_cli, ok

PUBLIC = "https://clinic.example.org"
TOKEN = r"[\w-]{43}"  # 256 bits, URL-safe base64
URL = re.compile(rf"{re.escape(PUBLIC)}(/v1/practitioners/doctor1/calendar\.ics\?token={TOKEN})")


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("CLINICFLOW_PUBLIC_URL", PUBLIC)
    return migrated_cli(tmp_path, monkeypatch)


def status_of(path: str) -> int:
    """What an app over the CLI's database answers the feed's address."""

    async def ask() -> int:
        container = build(Settings())  # the environment migrated_cli set
        try:
            async with app_over(container) as http:
                return (await http.get(path)).status_code
        finally:
            await container.aclose()

    assert os.environ["CLINICFLOW_DATABASE_URL"].startswith("sqlite")
    return asyncio.run(ask())


def test_feed_token_prints_the_address_once_and_rotates_and_revokes(cli: CliRunner) -> None:
    first = cli.invoke(app, ["calendars", "feed-token", "doctor1"])
    assert first.exit_code == 0, first.output
    old = URL.search(first.output)
    assert old, first.output  # on one line, whole: copied as it is
    assert "Shown once" in first.output
    assert "stopped working" not in first.output  # there was no earlier address
    assert status_of(old.group(1)) == 200

    again = ok(cli.invoke(app, ["calendars", "feed-token", "doctor1"]))
    new = URL.search(again)
    assert new, again
    assert new.group(1) != old.group(1)
    assert "The previous address of this feed stopped working" in again
    assert status_of(old.group(1)) == 404
    assert status_of(new.group(1)) == 200

    revoked = ok(cli.invoke(app, ["calendars", "feed-token", "doctor1", "--revoke"]))
    assert "doctor1's calendar feed is revoked" in revoked
    assert status_of(new.group(1)) == 404
    nothing = ok(cli.invoke(app, ["calendars", "feed-token", "doctor1", "--revoke"]))
    assert "had no calendar feed; nothing changed" in nothing


def test_an_unknown_practitioner_exits_2_naming_the_known_ones(cli: CliRunner) -> None:
    for args in (["nobody"], ["nobody", "--revoke"]):
        result = cli.invoke(app, ["calendars", "feed-token", *args])
        assert result.exit_code == 2, result.output
        assert "'nobody': no such practitioner (known: doctor1, doctor2" in result.output
