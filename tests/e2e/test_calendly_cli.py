"""`clinicflow calendly subscribe` as a clinic runs it once: against the fake Calendly it
subscribes the public webhook URL to invitee.created/canceled with the signing key, and a
second run finds that subscription instead of making another."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from clinicflow.cli import app
from support.cli_runner import migrated_cli, ok
from support.fake_calendly import SIGNING_KEY, TOKEN, FakeCalendly
from support.fake_calendly_wire import ORGANIZATION
from support.fake_vendor import serving


@pytest.fixture
def calendly() -> Iterator[FakeCalendly]:
    yield from serving(FakeCalendly())


def test_subscribe_makes_one_signed_subscription_for_the_public_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, calendly: FakeCalendly
) -> None:
    runner = migrated_cli(tmp_path, monkeypatch)
    monkeypatch.setenv("CLINICFLOW_CALENDLY_TOKEN", TOKEN)
    monkeypatch.setenv("CLINICFLOW_CALENDLY_WEBHOOK_SIGNING_KEY", SIGNING_KEY)
    monkeypatch.setenv("CLINICFLOW_CALENDLY_BASE_URL", calendly.url)
    monkeypatch.setenv("CLINICFLOW_PUBLIC_URL", "https://clinic.example.org/")

    first = ok(runner.invoke(app, ["calendly", "subscribe"]))
    second = ok(runner.invoke(app, ["calendly", "subscribe"]))

    (made,) = calendly.subscriptions.values()
    assert made.callback_url == "https://clinic.example.org/v1/webhooks/calendly"
    assert (made.scope, made.organization) == ("organization", ORGANIZATION)
    assert made.events == ["invitee.created", "invitee.canceled"]
    assert made.signing_key == SIGNING_KEY
    assert made.uri in first
    assert made.uri in second
    assert SIGNING_KEY not in first + second
    assert TOKEN not in first + second


def test_subscribe_without_a_token_says_what_to_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = migrated_cli(tmp_path, monkeypatch)
    result = runner.invoke(app, ["calendly", "subscribe"])
    assert result.exit_code == 2
    assert "CLINICFLOW_CALENDLY_TOKEN" in result.output
