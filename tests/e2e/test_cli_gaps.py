"""The CLI gaps a clinic meets in its first week: a staff password reset (`users
reset-password`), an API key tier that does not exist, and progress on the long commands."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clinicflow.bootstrap import build
from clinicflow.cli import app
from clinicflow.identity.errors import TokenInvalid
from clinicflow.settings import Settings
from support.cli_runner import migrated_cli, ok

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a brand new front desk phrase"
CREATE_KEY = ["apikeys", "create", "--name", "EHR sync", "--owner", "it@example.com"]
CREATE_KEY += ["--scope", "bookings:read"]


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    return migrated_cli(tmp_path, monkeypatch)


def _sign_in(username: str, password: str) -> str:
    async def go() -> str:
        container = build(Settings())
        try:
            opened, _ = await container.identity.users.login(username, password, None)
            return opened.token
        finally:
            await container.aclose()

    return asyncio.run(go())


def _session_works(token: str) -> bool:
    async def go() -> bool:
        container = build(Settings())
        try:
            await container.identity.sessions.resolve(token)
        except TokenInvalid:
            return False
        finally:
            await container.aclose()
        return True

    return asyncio.run(go())


def _front_desk(cli: CliRunner) -> str:
    args = ["users", "create", "ana", "--role", "front_desk", "--password-stdin"]
    ok(cli.invoke(app, args, input=f"{PASSWORD}\n"))
    return _sign_in("ana", PASSWORD)


def test_reset_password_prints_a_new_one_once_and_ends_the_sessions(cli: CliRunner) -> None:
    session = _front_desk(cli)

    reset = cli.invoke(app, ["users", "reset-password", "ana"])

    out = ok(reset)
    assert "shown once" in out
    new_password = reset.stdout.strip().splitlines()[-1]
    assert len(new_password) >= 16
    assert not _session_works(session)
    with pytest.raises(TokenInvalid):
        _sign_in("ana", PASSWORD)
    assert _session_works(_sign_in("ana", new_password))


def test_reset_password_reads_the_new_one_from_stdin(cli: CliRunner) -> None:
    session = _front_desk(cli)

    reset = cli.invoke(
        app, ["users", "reset-password", "ana", "--password-stdin"], input=f"{NEW_PASSWORD}\n"
    )

    out = ok(reset)
    assert NEW_PASSWORD not in out  # the caller knows it: never echoed
    assert not _session_works(session)
    assert _session_works(_sign_in("ana", NEW_PASSWORD))


def test_reset_password_of_nobody_or_too_short_is_refused(cli: CliRunner) -> None:
    _front_desk(cli)

    nobody = cli.invoke(app, ["users", "reset-password", "bob"])
    short = cli.invoke(app, ["users", "reset-password", "ana", "--password-stdin"], input="abc\n")

    assert nobody.exit_code == 1
    assert "no user named 'bob'" in nobody.output
    assert short.exit_code == 1
    assert "at least" in short.output
    assert _session_works(_sign_in("ana", PASSWORD))  # nothing changed


def test_an_unknown_api_key_tier_is_refused_naming_the_tiers(cli: CliRunner) -> None:
    typo = cli.invoke(app, [*CREATE_KEY, "--tier", "parnter"])

    assert typo.exit_code == 2
    out = " ".join(typo.output.split())
    assert "tier 'parnter' is not configured; use one of partner, standard" in out
    assert "cfk_" not in typo.output  # no key was issued
    assert "cfk_" in ok(cli.invoke(app, [*CREATE_KEY, "--tier", "partner"]))


def test_long_commands_show_a_progress_bar(cli: CliRunner) -> None:
    _front_desk(cli)  # an encrypted TOTP-less user: the key ring exists

    retention = ok(cli.invoke(app, ["retention", "run", "--apply"]))
    relay = ok(cli.invoke(app, ["events", "relay", "--once"]))
    ok(cli.invoke(app, ["keys", "rotate"]))
    reseal = ok(cli.invoke(app, ["keys", "reseal"]))

    assert re.search(r"retention: audit log .* 5/5", retention)
    assert re.search(r"events published .* \d+/\d+", relay)
    assert re.search(r"re-encrypting .* 0/0", reseal)  # rotate re-encrypted everything
